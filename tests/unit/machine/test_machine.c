/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine layer: layout checks, the memory map around the 32-bit hole,
 * window and GSI allocation with exhaustion and overlaps, and what a guest
 * sees of the announcements (command line, e820 map, DSDT entries) after the
 * example of docs/machine.md has built and loaded it on the mock backend.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/pci.h>
#include <hvabs/devices/virtio_rng.h>
#include <hvabs/event.h>
#include <hvabs/machine.h>
#include <hvabs/vm.h>

#include "loader_test.h"

/* build_guest(): the code block of docs/machine.md, extracted at configure time. */
#include "machine_example.inc"

#define GIB (1ull << 30)

static struct hvabs_machine *make(uint64_t ram, uint64_t mmio_size)
{
	struct hvabs_machine_config c = {.ram_size = ram, .nr_cpus = 1, .mmio_size = mmio_size};
	struct hvabs_machine *m = NULL;

	assert_int_equal(hvabs_machine_create(&c, &m), 0);
	return m;
}

static void bad_layouts(void **state)
{
	struct hvabs_machine *m = NULL;
	const struct hvabs_machine_config bad[] = {
	    {.ram_size = 0, .nr_cpus = 1},
	    {.ram_size = GIB + 1, .nr_cpus = 1}, /* not whole pages */
	    {.ram_size = GIB, .nr_cpus = 0},	 /* no vCPU */
	    {.ram_size = GIB, .nr_cpus = HVABS_PLATFORM_MAX_CPUS + 1},
	    {.ram_size = GIB, .nr_cpus = 1, .low_ram_max = 0xe0000000},	  /* RAM in the window */
	    {.ram_size = GIB, .nr_cpus = 1, .mmio_base = 0xfed00000},	  /* window in the APICs */
	    {.ram_size = GIB, .nr_cpus = 1, .mmio_size = 0x30000000},	  /* reaches the I/O APIC */
	    {.ram_size = GIB, .nr_cpus = 1, .high_ram_base = 3 * GIB},	  /* high RAM in the hole */
	    {.ram_size = 4 * GIB, .nr_cpus = 1, .mmio_base = 0x80000000}, /* 3 GiB of RAM there */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hvabs_machine_create(&bad[i], &m), -EINVAL);
		assert_null(m);
	}
	assert_int_equal(hvabs_machine_create(NULL, &m), -EINVAL);
	hvabs_machine_destroy(NULL);
}

static void memory_map_small(void **state)
{
	struct hvabs_machine *m = make(256ull << 20, 0);
	struct hvabs_machine_range r[HVABS_MACHINE_MAX_RANGES];
	size_t n = 1;
	uint64_t lo, hi;

	(void)state;
	/* Too small an array: says how many it needs, writes nothing. */
	memset(r, 0xee, sizeof(r));
	assert_int_equal(hvabs_machine_memory_map(m, r, &n), -ENOSPC);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].kind, 0xeeeeeeee);
	n = HVABS_MACHINE_MAX_RANGES;
	assert_int_equal(hvabs_machine_memory_map(m, r, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].kind, HVABS_MACHINE_RANGE_RAM);
	assert_int_equal(r[0].base, 0);
	assert_int_equal(r[0].size, 256ull << 20);
	assert_int_equal(r[1].kind, HVABS_MACHINE_RANGE_DEVICES);
	assert_int_equal(r[1].base, 0xd0000000);
	assert_int_equal(r[1].base + r[1].size, 0xfec00000);
	assert_int_equal(r[2].kind, HVABS_MACHINE_RANGE_PLATFORM);
	assert_int_equal(r[2].base + r[2].size, 4 * GIB);
	hvabs_machine_ram_split(m, &lo, &hi);
	assert_int_equal(lo, 256ull << 20);
	assert_int_equal(hi, 0);
	hvabs_machine_destroy(m);
}

/* 5 GiB: 3 below the hole, 2 above 4 GiB, and the VM's RAM has exactly that shape. */
static void memory_map_around_hole(void **state)
{
	struct hvabs_machine *m = make(5 * GIB, 0);
	struct hvabs_machine_range r[HVABS_MACHINE_MAX_RANGES];
	size_t n = HVABS_MACHINE_MAX_RANGES;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vm_config vc = {.max_vcpus = 1};
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(hvabs_machine_memory_map(m, r, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].size, 3 * GIB);
	assert_int_equal(r[3].kind, HVABS_MACHINE_RANGE_RAM);
	assert_int_equal(r[3].base, 4 * GIB);
	assert_int_equal(r[3].size, 2 * GIB);
	for (size_t i = 1; i < n; i++)
		assert_true(r[i - 1].base + r[i - 1].size <= r[i].base);
	hvabs_machine_ram_split(m, &lo, &hi);
	assert_int_equal(lo, 3 * GIB);
	assert_int_equal(hi, 2 * GIB);

	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	assert_int_equal(hvabs_vm_create(be, &vc, &vm), 0);
	assert_int_equal(hvabs_machine_add_ram(m, vm), 0);
	struct hvabs_mem *mem = hvabs_vm_mem(vm);
	assert_int_equal(hvabs_mem_region_count(mem), 2);
	assert_non_null(hvabs_mem_ptr(mem, 3 * GIB - 4096, 4096));
	assert_null(hvabs_mem_ptr(mem, 3 * GIB, 1));
	assert_null(hvabs_mem_ptr(mem, 0xd0000000, 1));
	assert_non_null(hvabs_mem_ptr(mem, 4 * GIB, 4096));
	assert_non_null(hvabs_mem_ptr(mem, 6 * GIB - 4096, 4096));
	assert_null(hvabs_mem_ptr(mem, 6 * GIB, 1));
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	hvabs_machine_destroy(m);
}

/* The PC's ISA lines are never handed out; the rest come lowest first, then run out. */
static void gsi_allocation(void **state)
{
	static const uint32_t order[] = {5, 6, 7, 10, 11, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23};
	struct hvabs_machine *m = make(GIB, 0);
	uint32_t gsi = 99;

	(void)state;
	for (uint32_t legacy = 0; legacy <= 12; legacy++)
		if (legacy <= 4 || legacy == 8 || legacy == 9 || legacy == 12)
			assert_int_equal(hvabs_machine_reserve_gsi(m, legacy), -EEXIST);
	assert_int_equal(hvabs_machine_reserve_gsi(m, HVABS_IOAPIC_PINS), -ERANGE);
	assert_int_equal(hvabs_machine_reserve_gsi(m, 20), 0);
	assert_int_equal(hvabs_machine_reserve_gsi(m, 20), -EEXIST);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		assert_int_equal(hvabs_machine_alloc_gsi(m, &gsi), 0);
		assert_int_equal(gsi, order[i]);
	}
	gsi = 99;
	assert_int_equal(hvabs_machine_alloc_gsi(m, &gsi), -ENOSPC);
	assert_int_equal(gsi, 99);
	hvabs_machine_destroy(m);
}

static void mmio_allocation(void **state)
{
	/* A window of 6 pages: 0xd0000000 .. 0xd0006000. */
	struct hvabs_machine *m = make(GIB, 0x6000);
	uint64_t a = 0, b = 0, c = 0;

	(void)state;
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0, &a), 0);
	assert_int_equal(a, 0xd0000000);
	/* 8 KiB aligned: skips the page at 0xd0001000 and leaves it free. */
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0x2000, &b), 0);
	assert_int_equal(b, 0xd0002000);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x100, 0x100, &c), 0);
	assert_int_equal(c, 0xd0001000);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 3, &c), -EINVAL);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0, 0, &c), -EINVAL);
	/* Fixed ranges: outside the window, overlapping, and a good one. */
	assert_int_equal(hvabs_machine_reserve_mmio(m, 0xcffff000, 0x1000), -ERANGE);
	assert_int_equal(hvabs_machine_reserve_mmio(m, 0xd0005000, 0x2000), -ERANGE);
	assert_int_equal(hvabs_machine_reserve_mmio(m, 0xd0002800, 0x1000), -EEXIST);
	assert_int_equal(hvabs_machine_reserve_mmio(m, 0xd0000f00, 0x200), -EEXIST);
	assert_int_equal(hvabs_machine_reserve_mmio(m, 0xd0004000, 0x1000), 0);
	/* Whole pages left: 0xd0003000 and 0xd0005000, apart; two pages do not fit. */
	c = 1;
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x2000, 0, &c), -ENOSPC);
	assert_int_equal(c, 1);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0, &c), 0);
	assert_int_equal(c, 0xd0003000);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0, &c), 0);
	assert_int_equal(c, 0xd0005000);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0, &c), -ENOSPC);
	/* The tail of the page at 0xd0001000 is still free for a small window. */
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x10, 0x10, &c), 0);
	assert_int_equal(c, 0xd0001100);
	hvabs_machine_destroy(m);
}

/* Consecutive windows and lines; when the lines run out the window is given back. */
static void place_virtio(void **state)
{
	static const uint32_t order[] = {5,  6,	 7,  10, 11, 13, 14, 15,
					 16, 17, 18, 19, 20, 21, 22, 23};
	struct hvabs_machine *m = make(GIB, 0);
	struct hvabs_virtio_mmio_params p;
	uint64_t next;

	(void)state;
	for (uint32_t i = 0; i < 16; i++) {
		memset(&p, 0, sizeof(p));
		p.name = "dev";
		assert_int_equal(hvabs_virtio_mmio_place(m, &p), 0);
		assert_int_equal(p.base, 0xd0000000ull + i * 0x1000ull);
		assert_int_equal(p.gsi, order[i]);
		assert_string_equal(p.name, "dev");
	}
	memset(&p, 0, sizeof(p));
	assert_int_equal(hvabs_virtio_mmio_place(m, &p), -ENOSPC);
	assert_int_equal(p.base, 0);
	assert_int_equal(hvabs_machine_alloc_mmio(m, 0x1000, 0, &next), 0);
	assert_int_equal(next, 0xd0010000);
	hvabs_machine_destroy(m);

	/* Sizes that are no power of two, or under a page, are refused. */
	m = make(GIB, 0);
	uint64_t gpa = 0;
	uint32_t line = 0;
	assert_int_equal(hvabs_machine_place(m, 0x1800, &gpa, &line), -EINVAL);
	assert_int_equal(hvabs_machine_place(m, 0x800, &gpa, &line), -EINVAL);
	assert_int_equal(hvabs_machine_place(m, 0x2000, &gpa, &line), 0);
	assert_int_equal(gpa, 0xd0000000ull);
	assert_int_equal(line, 5);
	hvabs_machine_destroy(m);

	/* Two windows only: the third placement fails and gives its line (7) back. */
	m = make(GIB, 0x2000);
	assert_int_equal(hvabs_virtio_mmio_place(m, &p), 0);
	assert_int_equal(hvabs_virtio_mmio_place(m, &p), 0);
	assert_int_equal(hvabs_virtio_mmio_place(m, &p), -ENOSPC);
	uint32_t gsi;
	assert_int_equal(hvabs_machine_alloc_gsi(m, &gsi), 0);
	assert_int_equal(gsi, 7);
	hvabs_machine_destroy(m);
}

/* PCI windows: ECAM and the 32-bit window in the device window, the 64-bit one above the RAM. */
static void place_pci(void **state)
{
	struct hvabs_machine *m = make(5 * GIB, 0);
	struct hvabs_virtio_mmio_params vp = {0};
	struct hvabs_pci_host_params hp = {0};
	struct hvabs_acpi_pci_host desc = {.ecam_base = 0xe0000000, .mmio32_size = 1};
	struct hvabs_platform plat;
	uint64_t gpa;

	(void)state;
	assert_int_equal(hvabs_virtio_mmio_place(m, &vp), 0);
	assert_int_equal(hvabs_pci_host_place(m, &hp), 0);
	assert_int_equal(hp.ecam_base, 0xd0100000ull); /* 1 MiB aligned, after the virtio window */
	assert_int_equal(hp.mmio32_size, HVABS_PCI_MMIO32_DEFAULT);
	assert_int_equal(hp.mmio32_base, 0xd4000000ull); /* aligned to its size */
	assert_int_equal(hp.mmio64_size, HVABS_PCI_MMIO64_DEFAULT);
	/* RAM ends at 6 GiB; the 8 GiB window is aligned to its size */
	assert_int_equal(hp.mmio64_base, 8 * GIB);
	assert_int_equal(hvabs_machine_alloc_mmio64(m, GIB, 0, &gpa), 0);
	assert_int_equal(gpa, 16 * GIB);
	assert_int_equal(hvabs_machine_alloc_mmio64(m, HVABS_MACHINE_HIGH_MMIO_END, 0, &gpa),
			 -ENOSPC);
	assert_int_equal(hvabs_machine_alloc_mmio64(m, GIB, 3, &gpa), -EINVAL);
	hp.mmio32_size = 3 << 20;
	assert_int_equal(hvabs_pci_host_place(m, &hp), -EINVAL);
	/* the platform description carries the announced host bridge */
	hvabs_machine_platform(m, &plat);
	assert_null(plat.pci);
	assert_int_equal(hvabs_machine_set_pci(m, &desc), 0);
	assert_int_equal(hvabs_machine_set_pci(m, &desc), -EEXIST);
	hvabs_machine_platform(m, &plat);
	assert_non_null(plat.pci);
	assert_int_equal(plat.pci->ecam_base, 0xe0000000);
	hvabs_machine_destroy(m);

	/* without high RAM the 64-bit windows start at 4 GiB */
	m = make(GIB, 0);
	assert_int_equal(hvabs_machine_alloc_mmio64(m, 0x1000, 0, &gpa), 0);
	assert_int_equal(gpa, 4 * GIB);
	hvabs_machine_destroy(m);
}

struct guest_fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_event_loop *loop;
	struct hvabs_virtio_rng *rng;
	struct hvabs_linux_boot boot;
	uint8_t *image;
	size_t image_size;
};

static void boot_example(struct guest_fx *f, uint64_t ram)
{
	struct hvabs_vm_config vc = {.max_vcpus = 1};
	struct bz_opts o = bz_defaults();

	memset(f, 0, sizeof(*f));
	f->image = calloc(1, 8192 + o.payload);
	assert_non_null(f->image);
	f->image_size = bz_build(f->image, &o);
	assert_int_equal(hvabs_backend_open("mock", NULL, &f->be), 0);
	assert_int_equal(hvabs_vm_create(f->be, &vc, &f->vm), 0);
	assert_int_equal(hvabs_event_loop_create(&f->loop), 0);
	assert_int_equal(
	    build_guest(f->vm, f->loop, ram, f->image, f->image_size, &f->rng, &f->boot), 0);
}

static void unboot(struct guest_fx *f)
{
	hvabs_virtio_rng_destroy(f->rng);
	hvabs_vm_destroy(f->vm);
	hvabs_event_loop_destroy(f->loop);
	hvabs_backend_close(f->be);
	free(f->image);
}

/* The command line and e820 map the kernel finds in guest memory. */
static void guest_sees_cmdline_and_e820(void **state)
{
	struct guest_fx f;
	char cmdline[256];
	uint8_t zp[4096];

	(void)state;
	boot_example(&f, 5 * GIB);
	struct hvabs_mem *mem = hvabs_vm_mem(f.vm);
	assert_int_equal(hvabs_mem_read(mem, f.boot.cmdline, cmdline, f.boot.cmdline_size), 0);
	assert_string_equal(cmdline, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5");
	assert_int_equal(hvabs_mem_read(mem, f.boot.boot_info, zp, sizeof(zp)), 0);
	uint32_t n = zp[0x1e8];
	uint64_t ram = 0, last_end = 0;
	assert_true(n >= 2);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		uint64_t addr = rd64(e), size = rd64(e + 8);
		assert_true(addr >= last_end);
		last_end = addr + size;
		/* Nothing of the hole is RAM. */
		assert_true(addr + size <= 3 * GIB || addr >= 4 * GIB);
		if (rd32(e + 16) == 1)
			ram += size;
	}
	const uint8_t *top = zp + 0x2d0 + 20 * (n - 1);
	assert_int_equal(rd64(top), 4 * GIB);
	assert_int_equal(rd64(top + 8), 2 * GIB);
	assert_int_equal(rd32(top + 16), 1);
	/* All RAM but the BIOS area 0x9fc00-0xfffff. */
	assert_int_equal(ram, 5 * GIB - (0x100000 - 0x9fc00));
	unboot(&f);
}

/* The DSDT the guest finds from the RSDP: one LNRO0005 device at the placed window and line. */
static void guest_sees_dsdt(void **state)
{
	struct guest_fx f;
	uint8_t rsdp[36], hdr[36], xsdt[36 + 8 * 11], fadt[64];
	/* _CRS: Memory32Fixed(ReadWrite, 0xd0000000, 0x1000), Interrupt(edge) {5} */
	static const uint8_t crs[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00,
				      0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05};

	(void)state;
	boot_example(&f, 256ull << 20);
	struct hvabs_mem *mem = hvabs_vm_mem(f.vm);
	assert_int_equal(hvabs_mem_read(mem, f.boot.rsdp, rsdp, sizeof(rsdp)), 0);
	assert_int_equal(hvabs_mem_read(mem, rd64(rsdp + 24), xsdt, sizeof(xsdt)), 0);
	uint32_t entries = (rd32(xsdt + 4) - 36) / 8;
	uint64_t dsdt = 0;
	for (uint32_t i = 0; i < entries && i < 11; i++) {
		assert_int_equal(hvabs_mem_read(mem, rd64(xsdt + 36 + 8 * i), fadt, sizeof(fadt)),
				 0);
		if (!memcmp(fadt, "FACP", 4))
			dsdt = rd32(fadt + 40);
	}
	assert_int_not_equal(dsdt, 0);
	assert_int_equal(hvabs_mem_read(mem, dsdt, hdr, sizeof(hdr)), 0);
	uint32_t len = rd32(hdr + 4);
	uint8_t *body = malloc(len);
	assert_non_null(body);
	assert_int_equal(hvabs_mem_read(mem, dsdt, body, len), 0);
	unsigned lnro = 0, crs_found = 0;
	for (uint32_t i = 0; i + sizeof(crs) <= len; i++) {
		lnro += !memcmp(body + i, "LNRO0005", 8);
		crs_found += !memcmp(body + i, crs, sizeof(crs));
	}
	assert_int_equal(lnro, 1);
	assert_int_equal(crs_found, 1);
	free(body);
	unboot(&f);
}

/* Two devices announced: both words in order, and the platform lists both. */
static void announce_order_and_size(void **state)
{
	struct hvabs_machine *m = make(GIB, 0);
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_event_loop *loop;
	struct hvabs_vm_config vc = {.max_vcpus = 1};
	struct hvabs_virtio_rng *rng[2];
	struct hvabs_platform p;
	char buf[200];
	size_t len = 10;
	const char *want = "quiet virtio_mmio.device=4K@0xd0000000:5 "
			   "virtio_mmio.device=4K@0xd0001000:6";

	(void)state;
	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	assert_int_equal(hvabs_vm_create(be, &vc, &vm), 0);
	assert_int_equal(hvabs_event_loop_create(&loop), 0);
	for (int i = 0; i < 2; i++) {
		struct hvabs_virtio_rng_config rc = {.mmio = {.loop = loop}};
		assert_int_equal(hvabs_virtio_mmio_place(m, &rc.mmio), 0);
		assert_int_equal(hvabs_virtio_rng_create(vm, &rc, &rng[i]), 0);
		assert_int_equal(hvabs_virtio_mmio_announce(hvabs_virtio_rng_transport(rng[i]), m),
				 0);
	}
	assert_int_equal(hvabs_machine_device_count(m), 2);
	assert_int_equal(hvabs_machine_cmdline(m, "quiet", buf, &len), -ENOSPC);
	assert_int_equal(len, strlen(want) + 1);
	assert_int_equal(hvabs_machine_cmdline(m, "quiet", buf, &len), 0);
	assert_string_equal(buf, want);
	hvabs_machine_platform(m, &p);
	assert_int_equal(p.nr_devices, 2);
	assert_int_equal(p.nr_cpus, 1);
	assert_int_equal(p.devices[1].base, 0xd0001000);
	assert_int_equal(p.devices[1].irq, 6);
	assert_int_equal(hvabs_platform_check(hvabs_vm_mem(vm), &p, NULL, 0), 0);
	for (int i = 0; i < 2; i++)
		hvabs_virtio_rng_destroy(rng[i]);
	hvabs_vm_destroy(vm);
	hvabs_event_loop_destroy(loop);
	hvabs_backend_close(be);
	hvabs_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bad_layouts),
	    cmocka_unit_test(memory_map_small),
	    cmocka_unit_test(memory_map_around_hole),
	    cmocka_unit_test(gsi_allocation),
	    cmocka_unit_test(mmio_allocation),
	    cmocka_unit_test(place_virtio),
	    cmocka_unit_test(place_pci),
	    cmocka_unit_test(guest_sees_cmdline_and_e820),
	    cmocka_unit_test(guest_sees_dsdt),
	    cmocka_unit_test(announce_order_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
