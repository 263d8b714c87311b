/* SPDX-License-Identifier: Apache-2.0 */
/* bzImage loading: the zero page, e820, kernel/initrd/cmdline placement, page tables, bad images. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader_test.h"

#define IMG_MAX (16 * 512 + 0x20000)
#define ZP	0x7000

struct fx {
	struct guest g;
	uint8_t img[IMG_MAX];
	size_t len;
	uint8_t initrd[MIB];
	struct hvabs_acpi_device dev;
	struct hvabs_linux_config cfg;
	struct hvabs_linux_boot boot;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct bz_opts o = bz_defaults();

	if (!f || guest_init(&f->g, 64 * MIB, 0))
		return -1;
	f->len = bz_build(f->img, &o);
	for (size_t i = 0; i < sizeof(f->initrd); i++)
		f->initrd[i] = pattern(i, 0x5a);
	f->dev = (struct hvabs_acpi_device){.base = 0xd0000000, .size = 0x1000, .irq = 5};
	f->cfg.kernel = f->img;
	f->cfg.kernel_size = f->len;
	f->cfg.initrd = f->initrd;
	f->cfg.initrd_size = sizeof(f->initrd);
	f->cfg.cmdline = "console=ttyS0 panic=1";
	f->cfg.platform.nr_cpus = 2;
	f->cfg.platform.flags = HVABS_PLATFORM_COM1;
	f->cfg.platform.devices = &f->dev;
	f->cfg.platform.nr_devices = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	guest_fini(&f->g);
	free(f);
	return 0;
}

static int load(struct fx *f)
{
	f->err[0] = 0;
	return hvabs_linux_load(f->g.mem, &f->cfg, &f->boot, f->err, sizeof(f->err));
}

static void rebuild(struct fx *f, const struct bz_opts *o)
{
	f->len = bz_build(f->img, o);
	f->cfg.kernel_size = f->len;
}

/* The plan: where the kernel, initrd, command line and boot data went. */
static void plan_is_reported(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.entry_kind, HVABS_LINUX_ENTRY_BZIMAGE);
	assert_int_equal(f->boot.protocol, 0x020f);
	assert_int_equal(f->boot.entry, 0x100200);
	assert_int_equal(f->boot.boot_info, ZP);
	assert_int_equal(f->boot.kernel_start, 0x100000);
	/* relocatable: max(1 MiB rounded up to 2 MiB, pref 16 MiB) + init_size 8 MiB */
	assert_int_equal(f->boot.kernel_end, 0x1800000);
	/* initrd at the top of the 64 MiB of RAM, page aligned */
	assert_int_equal(f->boot.initrd_start, 64 * MIB - MIB);
	assert_int_equal(f->boot.initrd_size, MIB);
	assert_int_equal(f->boot.cmdline, HVABS_LINUX_CMDLINE_ADDR);
	assert_int_equal(f->boot.cmdline_size, strlen(f->cfg.cmdline) + 1);
	assert_int_equal(f->boot.rsdp, 0xe0000);
	assert_int_equal(f->boot.mptable, 0xf0000);
	assert_int_equal(f->boot.gdt, HVABS_LINUX_GDT_ADDR);
	assert_int_equal(f->boot.pml4, HVABS_LINUX_PML4_ADDR);
	assert_int_equal(f->boot.stack, HVABS_LINUX_STACK_TOP);
	assert_int_equal(f->boot.e820_entries, 5);
}

static void memory_contents(void **state)
{
	struct fx *f = *state;
	const uint8_t *ram = f->g.low;

	assert_int_equal(load(f), 0);
	for (size_t i = 0; i < 0x10000; i++)
		if (ram[0x100000 + i] != pattern(i, 0x11))
			fail_msg("kernel byte %zu differs", i);
	assert_memory_equal(ram + f->boot.initrd_start, f->initrd, sizeof(f->initrd));
	assert_string_equal((const char *)ram + HVABS_LINUX_CMDLINE_ADDR, f->cfg.cmdline);
	/* GDT: 64-bit code at 0x10 (__BOOT_CS), data at 0x18 (__BOOT_DS) */
	assert_int_equal(rd64(ram + 0x500 + 0x10), 0x00af9b000000ffffull);
	assert_int_equal(rd64(ram + 0x500 + 0x18), 0x00cf93000000ffffull);
	/* page tables: PML4 -> PDPT -> 4 PDs of 2 MiB pages, identity */
	assert_int_equal(rd64(ram + 0x9000), 0xa003);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd64(ram + 0xa000 + 8 * i), (0xb000u + 0x1000u * i) | 3);
	assert_int_equal(rd64(ram + 0xa000 + 8 * 4), 0);
	assert_int_equal(rd64(ram + 0xb000), 0x83);
	assert_int_equal(rd64(ram + 0xb000 + 8), 0x200083);
	assert_int_equal(rd64(ram + 0xe000 + 8 * 511), 0xffe00083ull);
}

static void zero_page(void **state)
{
	struct fx *f = *state;
	const uint8_t *zp;

	assert_int_equal(load(f), 0);
	zp = f->g.low + ZP;
	/* the setup header as the kernel had it */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(rd16(zp + 0x206), 0x020f);
	assert_int_equal(rd16(zp + 0x1fe), 0xaa55);
	assert_int_equal(zp[0x1f1], 4);
	assert_int_equal(rd16(zp + 0x1fa), 0xffff);
	assert_int_equal(rd32(zp + 0x260), 0x800000);
	/* and what the loader fills in */
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(rd32(zp + 0x228), HVABS_LINUX_CMDLINE_ADDR);
	assert_int_equal(rd32(zp + 0x218), f->boot.initrd_start);
	assert_int_equal(rd32(zp + 0x21c), MIB);
	assert_int_equal(rd64(zp + 0x70), 0xe0000);
	/* the rest of boot_params is zero: no stray data after the header */
	for (size_t i = 0x26c; i < 0x2d0; i++)
		assert_int_equal(zp[i], 0);
	assert_int_equal(zp[0x1ef], 0); /* sentinel */
}

static void check_e820(const uint8_t *zp, unsigned i, uint64_t addr, uint64_t end, uint32_t type)
{
	const uint8_t *e = zp + 0x2d0 + 20 * i;

	assert_int_equal(rd64(e), addr);
	assert_int_equal(rd64(e + 8), end - addr);
	assert_int_equal(rd32(e + 16), type);
}

static void e820_map(void **state)
{
	struct fx *f = *state;
	const uint8_t *zp = f->g.low + ZP;

	assert_int_equal(load(f), 0);
	assert_int_equal(zp[0x1e8], 5);
	check_e820(zp, 0, 0, 0x9fc00, 1);
	check_e820(zp, 1, 0x9fc00, 0xe0000, 2);
	check_e820(zp, 2, 0xe0000, 0xf0000, 3);
	check_e820(zp, 3, 0xf0000, 0x100000, 2);
	check_e820(zp, 4, 0x100000, 64 * MIB, 1);
}

/* RAM above 4 GiB is RAM; a read-only region is reserved; without ACPI the hole is one entry. */
static void e820_high_readonly_noacpi(void **state)
{
	struct fx *f = *state;
	const uint8_t *zp = f->g.low + ZP;
	uint8_t *rom = anon(0x10000);
	uint8_t *high = anon(2 * MIB);

	assert_non_null(rom);
	assert_non_null(high);
	assert_int_equal(
	    hvabs_mem_add_region(f->g.mem, 0xffff0000, 0x10000, rom, HVABS_REGION_READONLY), 0);
	assert_int_equal(hvabs_mem_add_region(f->g.mem, 1ull << 32, 2 * MIB, high, 0), 0);
	f->cfg.flags = HVABS_LINUX_NO_ACPI;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.rsdp, 0);
	assert_int_equal(rd64(zp + 0x70), 0);
	assert_int_equal(zp[0x1e8], 5);
	check_e820(zp, 0, 0, 0x9fc00, 1);
	check_e820(zp, 1, 0x9fc00, 0x100000, 2);
	check_e820(zp, 2, 0x100000, 64 * MIB, 1);
	check_e820(zp, 3, 0xffff0000, 1ull << 32, 2);
	check_e820(zp, 4, 1ull << 32, (1ull << 32) + 2 * MIB, 1);
	/* no ACPI tables were written, the MP table was */
	assert_int_equal(memcmp(f->g.low + 0xe0000, "RSD PTR ", 8) != 0, 1);
	assert_memory_equal(f->g.low + 0xf0000, "_MP_", 4);
	assert_int_equal(hvabs_mem_remove_region(f->g.mem, 0xffff0000), 0);
	assert_int_equal(hvabs_mem_remove_region(f->g.mem, 1ull << 32), 0);
	munmap(rom, 0x10000);
	munmap(high, 2 * MIB);
}

static void setup_sects_zero_means_four(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.setup_sects = 0;
	rebuild(f, &o);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->g.low[0x100000], pattern(0, 0x11));
	assert_int_equal(f->g.low[0x100000 + 0xffff], pattern(0xffff, 0x11));
}

static void initrd_below_initrd_addr_max(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.initrd_addr_max = 48 * MIB - 1;
	rebuild(f, &o);
	f->cfg.initrd_size = 12345;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.initrd_start % 4096, 0);
	assert_true(f->boot.initrd_start + 12345 - 1 <= 48 * MIB - 1);
	assert_true(f->boot.initrd_start + 12345 > 48 * MIB - 4096);
	assert_true(f->boot.initrd_start >= f->boot.kernel_end);
}

static void no_initrd_and_empty_cmdline(void **state)
{
	struct fx *f = *state;
	const uint8_t *zp = f->g.low + ZP;

	f->cfg.initrd = NULL;
	f->cfg.initrd_size = 0;
	f->cfg.cmdline = NULL;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.initrd_start, 0);
	assert_int_equal(rd32(zp + 0x218), 0);
	assert_int_equal(rd32(zp + 0x21c), 0);
	assert_int_equal(f->boot.cmdline_size, 1);
	assert_int_equal(f->g.low[HVABS_LINUX_CMDLINE_ADDR], 0);
}

/* A non-relocatable kernel runs at pref_address whatever the load address. */
static void non_relocatable_runs_at_pref(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.relocatable = 0;
	o.kernel_alignment = 3; /* ignored when not relocatable */
	o.pref_address = 0x2000000;
	rebuild(f, &o);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.kernel_end, 0x2000000 + 0x800000);
	o.pref_address = 0x80000; /* would decompress over the boot data */
	rebuild(f, &o);
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err, "below 1 MiB"));
}

/* boot.rst: the run-time start is max(load, pref_address) aligned up to kernel_alignment. */
static void runtime_start_aligned_up(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.pref_address = 0x1100000;
	rebuild(f, &o);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.kernel_end, 0x1200000 + 0x800000);
	o.pref_address = 0; /* falls back to the load address, 1 MiB, aligned to 2 MiB */
	rebuild(f, &o);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.kernel_end, 0x200000 + 0x800000);
}

#define EXPECT_FAIL(f, code, needle)                                                               \
	do {                                                                                       \
		struct hvabs_linux_boot before_ = (f)->boot;                                       \
		assert_int_equal(load(f), code);                                                   \
		if (!strstr((f)->err, needle))                                                     \
			fail_msg("error \"%s\" does not mention \"%s\"", (f)->err, needle);        \
		assert_memory_equal(&before_, &(f)->boot, sizeof(before_));                        \
	} while (0)

static void truncated_images(void **state)
{
	struct fx *f = *state;

	f->cfg.kernel_size = 0x100;
	EXPECT_FAIL(f, -ENOEXEC, "too short");
	f->cfg.kernel_size = 0x240; /* inside the setup header */
	EXPECT_FAIL(f, -ENOEXEC, "truncated");
	f->cfg.kernel_size = 5 * 512; /* setup code only */
	EXPECT_FAIL(f, -ENOEXEC, "truncated");
	f->cfg.kernel_size = f->len - 16; /* syssize promises more than is there */
	EXPECT_FAIL(f, -ENOEXEC, "truncated");
}

static void bad_magic(void **state)
{
	struct fx *f = *state;

	memcpy(f->img + 0x202, "HdrX", 4);
	EXPECT_FAIL(f, -ENOEXEC, "HdrS");
	memcpy(f->img + 0x202, "HdrS", 4);
	wr16(f->img + 0x1fe, 0x1234);
	EXPECT_FAIL(f, -ENOEXEC, "boot_flag");
}

static void old_protocol(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.version = 0x0205;
	rebuild(f, &o);
	EXPECT_FAIL(f, -EPROTONOSUPPORT, "2.05 is too old");
	o.version = 0x020b;
	rebuild(f, &o);
	EXPECT_FAIL(f, -EPROTONOSUPPORT, "2.11 is too old");
}

static void no_64bit_entry(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.xloadflags = 0x0002;
	rebuild(f, &o);
	EXPECT_FAIL(f, -EPROTONOSUPPORT, "XLF_KERNEL_64");
	o = bz_defaults();
	o.loadflags = 0;
	rebuild(f, &o);
	EXPECT_FAIL(f, -EPROTONOSUPPORT, "LOADED_HIGH");
}

static void bad_alignment(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.kernel_alignment = 0x300000;
	rebuild(f, &o);
	EXPECT_FAIL(f, -ENOEXEC, "kernel_alignment");
}

static void kernel_too_big(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();

	o.init_size = 56 * MIB; /* 16 + 56 MiB > 64 MiB of RAM */
	rebuild(f, &o);
	EXPECT_FAIL(f, -ENOSPC, "kernel needs guest RAM");
	o.init_size = 0xffffffffu;
	o.pref_address = 0xffffffff00000000ull; /* would wrap */
	rebuild(f, &o);
	EXPECT_FAIL(f, -ENOSPC, "beyond 4 GiB");
}

static void initrd_too_big(void **state)
{
	struct fx *f = *state;
	size_t big = 41 * MIB; /* 24 MiB of kernel + 41 MiB > 64 MiB */
	uint8_t *initrd = anon(big);

	assert_non_null(initrd);
	f->cfg.initrd = initrd;
	f->cfg.initrd_size = big;
	EXPECT_FAIL(f, -ENOSPC, "initrd of");
	f->cfg.initrd_size = SIZE_MAX;
	EXPECT_FAIL(f, -ENOSPC, "initrd of");
	/* 40 MiB just fits: [24 MiB, 64 MiB) */
	f->cfg.initrd_size = 40 * MIB;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.initrd_start, 24 * MIB);
	munmap(initrd, big);
}

static void cmdline_too_long(void **state)
{
	struct fx *f = *state;
	struct bz_opts o = bz_defaults();
	char *huge;

	o.cmdline_size = 16;
	rebuild(f, &o);
	f->cfg.cmdline = "0123456789abcdefX";
	EXPECT_FAIL(f, -E2BIG, "at most 16");
	f->cfg.cmdline = "0123456789abcdef"; /* cmdline_size excludes the NUL */
	assert_int_equal(load(f), 0);
	o.cmdline_size = 0xffffffffu;
	rebuild(f, &o);
	huge = malloc(HVABS_LINUX_CMDLINE_MAX + 1);
	assert_non_null(huge);
	memset(huge, 'x', HVABS_LINUX_CMDLINE_MAX);
	huge[HVABS_LINUX_CMDLINE_MAX] = 0;
	f->cfg.cmdline = huge;
	EXPECT_FAIL(f, -E2BIG, "command line");
	free(huge);
}

static void ram_must_start_at_zero(void **state)
{
	struct fx *f = *state;
	struct hvabs_mem *m;
	uint8_t *ram = anon(32 * MIB);
	char err[128];

	assert_non_null(ram);
	assert_int_equal(hvabs_mem_create(&m), 0);
	assert_int_equal(hvabs_mem_add_region(m, MIB, 32 * MIB, ram, 0), 0);
	assert_int_equal(hvabs_linux_load(m, &f->cfg, &f->boot, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "address 0"));
	hvabs_mem_destroy(m);
	/* half a MiB at 0 is not enough either */
	assert_int_equal(hvabs_mem_create(&m), 0);
	assert_int_equal(hvabs_mem_add_region(m, 0, MIB / 2, ram, 0), 0);
	assert_int_equal(hvabs_linux_load(m, &f->cfg, &f->boot, err, sizeof(err)), -ENOSPC);
	hvabs_mem_destroy(m);
	munmap(ram, 32 * MIB);
}

static void bad_arguments(void **state)
{
	struct fx *f = *state;
	char tiny[8];

	assert_int_equal(hvabs_linux_load(NULL, &f->cfg, &f->boot, NULL, 0), -EINVAL);
	assert_int_equal(hvabs_linux_load(f->g.mem, NULL, &f->boot, NULL, 0), -EINVAL);
	assert_int_equal(hvabs_linux_load(f->g.mem, &f->cfg, NULL, NULL, 0), -EINVAL);
	f->cfg.initrd = NULL;
	EXPECT_FAIL(f, -EINVAL, "initrd is NULL");
	f->cfg.initrd = f->initrd;
	f->cfg.flags = 0x80;
	EXPECT_FAIL(f, -EINVAL, "flags");
	f->cfg.flags = 0;
	f->cfg.platform.nr_cpus = 0;
	EXPECT_FAIL(f, -EINVAL, "nr_cpus");
	f->cfg.platform.nr_cpus = 1;
	f->cfg.kernel_size = 0;
	EXPECT_FAIL(f, -EINVAL, "no kernel");
	/* a short error buffer is truncated, not overrun */
	memset(tiny, 'Z', sizeof(tiny));
	assert_int_equal(hvabs_linux_load(f->g.mem, &f->cfg, &f->boot, tiny, 4), -EINVAL);
	assert_int_equal(tiny[3], 0);
	assert_int_equal(tiny[4], 'Z');
}

/* Every single-byte corruption of the header is refused or loaded, never a crash. */
static void corrupted_headers_never_crash(void **state)
{
	struct fx *f = *state;
	static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	unsigned ok = 0, refused = 0;

	f->cfg.initrd_size = 4096;
	for (size_t off = 0x1f0; off < 0x270; off++) {
		uint8_t keep = f->img[off];

		for (size_t v = 0; v < sizeof(vals); v++) {
			int rc;

			f->img[off] = vals[v];
			rc = hvabs_linux_load(f->g.mem, &f->cfg, &f->boot, NULL, 0);
			assert_true(rc <= 0);
			if (rc)
				refused++;
			else
				ok++;
		}
		f->img[off] = keep;
	}
	assert_true(ok > 0);
	assert_true(refused > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(plan_is_reported),
	    T(memory_contents),
	    T(zero_page),
	    T(e820_map),
	    T(e820_high_readonly_noacpi),
	    T(setup_sects_zero_means_four),
	    T(initrd_below_initrd_addr_max),
	    T(no_initrd_and_empty_cmdline),
	    T(non_relocatable_runs_at_pref),
	    T(runtime_start_aligned_up),
	    T(truncated_images),
	    T(bad_magic),
	    T(old_protocol),
	    T(no_64bit_entry),
	    T(bad_alignment),
	    T(kernel_too_big),
	    T(initrd_too_big),
	    T(cmdline_too_long),
	    T(ram_must_start_at_zero),
	    T(bad_arguments),
	    T(corrupted_headers_never_crash),
	};
	return cmocka_run_group_tests_name("loader.bzimage", tests, NULL, NULL);
}
