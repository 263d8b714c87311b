/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PCI segment as a guest driver sees it: the same configuration space
 * through ECAM and through 0xCF8/0xCFC, the BAR sizing protocol, BARs that
 * appear on the bus only with Memory Space enabled and follow the address
 * the driver writes, the capability list, and MSI-X masking, pending bits
 * and delivery. The accesses that matter for the hypervisor (ECAM and a
 * BAR register written by vCPU 0) go through the run loop of each backend,
 * so on Xen the ranges must have been claimed for the ioreqs to arrive.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/pci.h>

#include "vt_harness.h"

#define ECAM	0xe0000000ull
#define MMIO32	0xc0000000ull
#define MMIO64	0x4000000000ull
#define SLOT	3u
#define CFG(r)	(ECAM + (SLOT << 15) + (r))
#define MSIX_AT 0x2000u

struct fx {
	struct vt_env *env;
	struct hvabs_pci_host *host;
	struct hvabs_pci_dev *dev;
	uint64_t reads, writes, last_off, last_val;
	int moves;
	uint64_t moved_to[HVABS_PCI_BARS];
};

static struct fx fx;

static int dev_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct fx *f = opaque;

	(void)size;
	f->reads++;
	*val = 0xab000000u | (uint32_t)off;
	return 0;
}

static int dev_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct fx *f = opaque;

	(void)size;
	f->writes++;
	f->last_off = off;
	f->last_val = val;
	return 0;
}

static const struct hvabs_bus_ops dev_ops = {.read = dev_read, .write = dev_write};

static void moved(void *opaque, uint32_t bar, uint64_t gpa)
{
	struct fx *f = opaque;

	f->moves++;
	f->moved_to[bar] = gpa;
}

static int setup(void **state)
{
	struct hvabs_pci_host_params hp = {.ecam_base = ECAM,
					   .mmio32_base = MMIO32,
					   .mmio32_size = 0x4000000,
					   .mmio64_base = MMIO64,
					   .mmio64_size = 0x100000000};
	struct hvabs_pci_dev_params dp = {
	    .vendor_id = 0x1af4,
	    .device_id = 0x1044,
	    .subsys_vendor_id = 0x1af4,
	    .subsys_id = 0x0040,
	    .class_code = 0x00ff00,
	    .revision = 1,
	    .slot = SLOT,
	    .bars = {[0] = {.size = 0x4000,
			    .flags = HVABS_PCI_BAR_F_64,
			    .ops = &dev_ops,
			    .opaque = &fx},
		     [2] = {.size = 0x1000, .ops = &dev_ops, .opaque = &fx}},
	    .bar_moved = moved,
	    .opaque = &fx,
	    .name = "t"};

	if (vt_setup(state))
		return -1;
	memset(&fx, 0, sizeof(fx));
	fx.env = *state;
	if (hvabs_pci_host_create(fx.env->vm, &hp, &fx.host) ||
	    hvabs_pci_dev_create(fx.host, &dp, &fx.dev))
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_pci_dev_destroy(f->dev);
	hvabs_pci_host_destroy(f->host);
	*state = f->env;
	return vt_teardown(state);
}

static uint32_t ecam_rd(struct fx *f, uint32_t reg, uint32_t size)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, CFG(reg), size, &v), 0);
	return (uint32_t)v;
}

static void ecam_wr(struct fx *f, uint32_t reg, uint32_t size, uint32_t val)
{
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_MMIO, CFG(reg), size, val), 0);
}

/* Configuration mechanism #1: latch bus 0, slot, register; then the data port. */
static uint32_t cf8_rd(struct fx *f, uint32_t slot, uint32_t reg, uint32_t size)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_PIO, 0xcf8, 4,
					 0x80000000u | slot << 11 | (reg & 0xfc)),
			 0);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_PIO, 0xcfc + (reg & 3), size, &v),
			 0);
	return (uint32_t)v;
}

static void cf8_wr(struct fx *f, uint32_t reg, uint32_t size, uint32_t val)
{
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_PIO, 0xcf8, 4,
					 0x80000000u | SLOT << 11 | (reg & 0xfc)),
			 0);
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_PIO, 0xcfc + (reg & 3), size, val),
			 0);
}

static void both_mechanisms(void **state)
{
	struct fx *f = *state;
	uint64_t v;

	assert_int_equal(ecam_rd(f, 0, 4), 0x10441af4);
	assert_int_equal(cf8_rd(f, SLOT, 0, 4), 0x10441af4);
	assert_int_equal(cf8_rd(f, SLOT, 2, 2), 0x1044);
	assert_int_equal(cf8_rd(f, SLOT, 0x0b, 1), 0x00);  /* base class */
	assert_int_equal(ecam_rd(f, 0x08, 4), 0x00ff0001); /* class, revision */
	assert_int_equal(ecam_rd(f, 0x2c, 4), 0x00401af4);
	/* a write through one mechanism is read back through the other */
	cf8_wr(f, HVABS_PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(ecam_rd(f, HVABS_PCI_INTERRUPT_LINE, 1), 0x5a);
	ecam_wr(f, HVABS_PCI_INTERRUPT_LINE, 1, 0x21);
	assert_int_equal(cf8_rd(f, SLOT, HVABS_PCI_INTERRUPT_LINE, 1), 0x21);
	/* read-only identification and no INTx pin */
	cf8_wr(f, 0, 4, 0xffffffff);
	ecam_wr(f, HVABS_PCI_INTERRUPT_PIN, 1, 1);
	assert_int_equal(ecam_rd(f, 0, 4), 0x10441af4);
	assert_int_equal(ecam_rd(f, HVABS_PCI_INTERRUPT_PIN, 1), 0);
	/* an empty slot, function 1, and a misaligned access read all ones */
	assert_int_equal(cf8_rd(f, 7, 0, 4), 0xffffffff);
	assert_int_equal(ecam_rd(f, (7u << 15) - (SLOT << 15), 4), 0xffffffff);
	assert_int_equal(ecam_rd(f, 1u << 12, 4), 0xffffffff);
	assert_int_equal(ecam_rd(f, 2, 4), 0xffffffff);
	/* ECAM's extended space exists and holds no capability */
	assert_int_equal(ecam_rd(f, 0x100, 4), 0);
	/* the address latch: reserved bits drop; without bit 31 the data port reads nothing */
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_PIO, 0xcf8, 4, 0x7f001803), 0);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_PIO, 0xcf8, 4, &v), 0);
	assert_int_equal(v, 0x00001800);
	/* port 0xCF9 is the PC's reset register, not the bridge's: a byte there misses us */
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_PIO, 0xcf9, 1, 0x06), -ENOENT);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_PIO, 0xcf8, 4, &v), 0);
	assert_int_equal(v, 0x00001800);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_PIO, 0xcfc, 4, &v), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(hvabs_pci_config_read(f->host, SLOT, 0, 4, (uint32_t *)&v), 0);
	assert_int_equal((uint32_t)v, 0x10441af4);
}

static void bar_sizing(void **state)
{
	struct fx *f = *state;
	uint32_t lo = ecam_rd(f, 0x10, 4), hi = ecam_rd(f, 0x14, 4), b2 = ecam_rd(f, 0x18, 4);

	/* firmware-style assignment: 64-bit BAR in the high window, 32-bit one below 4 GiB */
	assert_int_equal(lo, (uint32_t)MMIO64 | HVABS_PCI_BAR_MEM_64);
	assert_int_equal(hi, MMIO64 >> 32);
	assert_int_equal(b2, (uint32_t)MMIO32);
	ecam_wr(f, 0x10, 4, 0xffffffff);
	ecam_wr(f, 0x14, 4, 0xffffffff);
	cf8_wr(f, 0x18, 4, 0xffffffff);
	assert_int_equal(ecam_rd(f, 0x10, 4), 0xffffc004); /* 16 KiB, 64-bit */
	assert_int_equal(ecam_rd(f, 0x14, 4), 0xffffffff);
	assert_int_equal(cf8_rd(f, SLOT, 0x18, 4), 0xfffff000); /* 4 KiB, 32-bit */
	/* unimplemented BARs and the expansion ROM size to 0 */
	ecam_wr(f, 0x1c, 4, 0xffffffff);
	ecam_wr(f, 0x30, 4, 0xffffffff);
	assert_int_equal(ecam_rd(f, 0x1c, 4), 0);
	assert_int_equal(ecam_rd(f, 0x30, 4), 0);
	/* decode is off: sizing never put anything on the bus */
	assert_int_equal(f->moves, 0);
	ecam_wr(f, 0x10, 4, lo);
	ecam_wr(f, 0x14, 4, hi);
	ecam_wr(f, 0x18, 4, b2);
	assert_int_equal(ecam_rd(f, 0x10, 4), lo);
}

static void decode_follows_command_and_address(void **state)
{
	struct fx *f = *state;
	uint64_t v;

	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO32 + 8, 4, &v), -ENOENT);
	assert_int_equal(hvabs_pci_bar_address(f->dev, 2), HVABS_PCI_BAR_UNMAPPED);
	/* the guest enables Memory Space with a store to ECAM, through its vCPU */
	vt_store(f->env, CFG(HVABS_PCI_COMMAND), HVABS_PCI_CMD_MEMORY | HVABS_PCI_CMD_MASTER);
	assert_int_equal(ecam_rd(f, HVABS_PCI_COMMAND, 2), 6);
	assert_int_equal(f->moved_to[0], MMIO64);
	assert_int_equal(f->moved_to[2], MMIO32);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO32 + 8, 4, &v), 0);
	assert_int_equal(v, 0xab000008);
	/* a store by the vCPU into the BAR reaches the device at its offset */
	vt_store(f->env, MMIO64 + 0x40, 0x1234);
	assert_int_equal(f->writes, 1);
	assert_int_equal(f->last_off, 0x40);
	assert_int_equal(f->last_val, 0x1234);
	/* the driver moves BAR 2: the old address is gone, the new one decodes */
	cf8_wr(f, 0x18, 4, (uint32_t)MMIO32 + 0x10000);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO32 + 8, 4, &v), -ENOENT);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO32 + 0x10008, 4, &v), 0);
	assert_int_equal(hvabs_pci_bar_address(f->dev, 2), MMIO32 + 0x10000);
	/* turning Memory Space off takes every BAR off the bus */
	ecam_wr(f, HVABS_PCI_COMMAND, 2, 0);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO32 + 0x10008, 4, &v),
			 -ENOENT);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO64, 4, &v), -ENOENT);
	assert_int_equal(f->moved_to[0], HVABS_PCI_BAR_UNMAPPED);
}

static void capability_walk(void **state)
{
	struct fx *f = *state;
	uint8_t a[6] = {1, 2, 3, 4, 5, 6}, wm[6] = {0, 0, 0, 0, 0, 0xff};
	uint32_t off1, off2, msix, ids[8], n = 0;

	assert_int_equal(ecam_rd(f, HVABS_PCI_STATUS, 2) & HVABS_PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(hvabs_pci_cap_add(f->dev, HVABS_PCI_CAP_ID_VNDR, a, wm, 6, &off1), 0);
	assert_int_equal(hvabs_pci_msix_init(f->dev, 4, 0, MSIX_AT), 0);
	assert_int_equal(hvabs_pci_cap_add(f->dev, HVABS_PCI_CAP_ID_VNDR, a, NULL, 3, &off2), 0);
	assert_true(ecam_rd(f, HVABS_PCI_STATUS, 2) & HVABS_PCI_STATUS_CAP_LIST);
	/* walk the list as Linux does, through the ports */
	for (uint32_t p = cf8_rd(f, SLOT, HVABS_PCI_CAP_PTR, 1); p; p = cf8_rd(f, SLOT, p + 1, 1)) {
		assert_true(p >= 0x40 && p < 0x100 && !(p & 3) && n < 8);
		ids[n++] = cf8_rd(f, SLOT, p, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], HVABS_PCI_CAP_ID_VNDR);
	assert_int_equal(ids[1], HVABS_PCI_CAP_ID_MSIX);
	assert_int_equal(ids[2], HVABS_PCI_CAP_ID_VNDR);
	assert_int_equal(ecam_rd(f, off1 + 2, 2), 0x0201);
	assert_int_equal(ecam_rd(f, off1 + 4, 4), 0x06050403);
	/* only the bits the mask allows change; the header bytes never do */
	msix = ecam_rd(f, off1 + 1, 1);
	ecam_wr(f, off1, 4, 0);
	ecam_wr(f, off1 + 4, 4, 0xeeeeeeee);
	assert_int_equal(ecam_rd(f, off1, 4), 0x02010000u | msix << 8 | HVABS_PCI_CAP_ID_VNDR);
	assert_int_equal(ecam_rd(f, off1 + 4, 4), 0xee050403);
	assert_int_equal(ecam_rd(f, off2 + 2, 2), 0x0201);
	/* MSI-X: 4 vectors (N-1), table in BAR 0 at 0x2000, PBA right after it */
	assert_int_equal(ecam_rd(f, msix + 2, 2), 3);
	assert_int_equal(ecam_rd(f, msix + 4, 4), MSIX_AT | 0);
	assert_int_equal(ecam_rd(f, msix + 8, 4), (MSIX_AT + 64) | 0);
	assert_int_equal(hvabs_pci_msix_init(f->dev, 4, 0, MSIX_AT), -EEXIST);
}

static uint64_t bar0_rd(struct fx *f, uint64_t off, uint32_t size)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, MMIO64 + off, size, &v), 0);
	return v;
}

static void bar0_wr(struct fx *f, uint64_t off, uint32_t size, uint64_t val)
{
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_MMIO, MMIO64 + off, size, val), 0);
}

/* MSI-X with 4 vectors; Memory Space on; returns the capability's offset. */
static uint32_t msix_on(struct fx *f)
{
	uint32_t cap;

	assert_int_equal(hvabs_pci_msix_init(f->dev, 4, 0, MSIX_AT), 0);
	cap = ecam_rd(f, HVABS_PCI_CAP_PTR, 1);
	ecam_wr(f, HVABS_PCI_COMMAND, 2, HVABS_PCI_CMD_MEMORY | HVABS_PCI_CMD_MASTER);
	/* vector v: address 0xfee00000, data 0xb0 + v */
	for (uint32_t v = 0; v < 4; v++) {
		bar0_wr(f, MSIX_AT + 16 * v, 8, 0xfee00000ull);
		bar0_wr(f, MSIX_AT + 16 * v + 8, 4, 0xb0 + v);
	}
	return cap;
}

static int notify(struct fx *f, uint32_t vec)
{
	int rc;

	hvabs_pci_dev_lock(f->dev);
	rc = hvabs_pci_msix_notify(f->dev, vec);
	hvabs_pci_dev_unlock(f->dev);
	return rc;
}

static void msix_table_and_masks(void **state)
{
	struct fx *f = *state;
	uint32_t cap = msix_on(f);

	/* the table reads back; every vector starts masked, the array clear */
	assert_int_equal(bar0_rd(f, MSIX_AT + 16, 8), 0xfee00000ull);
	assert_int_equal(bar0_rd(f, MSIX_AT + 24, 4), 0xb1);
	assert_int_equal(bar0_rd(f, MSIX_AT + 28, 4), 1);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 0);
	/* the array is read-only; bytes of the table are not how drivers access it */
	bar0_wr(f, MSIX_AT + 64, 8, ~0ull);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 0);
	bar0_wr(f, MSIX_AT + 16, 1, 0x77);
	assert_int_equal(bar0_rd(f, MSIX_AT + 16, 4), 0xfee00000u);
	/* the rest of the BAR is the device's */
	assert_int_equal(bar0_rd(f, 0x100, 4), 0xab000100);
	assert_int_equal(bar0_rd(f, MSIX_AT + 72, 4), 0xab000000 | (MSIX_AT + 72));
	/* disabled: nothing is sent and nothing pends */
	assert_int_equal(notify(f, 1), -EAGAIN);
	assert_int_equal(notify(f, 4), -EINVAL);
	ecam_wr(f, cap + 2, 2, 0x8000); /* MSI-X Enable */
	assert_int_equal(ecam_rd(f, cap + 2, 2), 0x8003);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 0);
}

static void msix_pending_and_delivery(void **state)
{
	struct fx *f = *state;
	uint32_t cap = msix_on(f);

	ecam_wr(f, cap + 2, 2, 0x8000);
	/* masked vector: the message waits in the pending bit array */
	assert_int_equal(notify(f, 1), 0);
	assert_int_equal(notify(f, 1), 0);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 1u << 1);
	assert_int_equal(vt_msis(f->env, 0xb1, 0), 0);
	/* unmasking sends it once and clears the bit */
	bar0_wr(f, MSIX_AT + 16 + 12, 4, 0);
	assert_int_equal(vt_msis(f->env, 0xb1, 1), 1);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 0);
	/* unmasked: sent at once */
	assert_int_equal(notify(f, 1), 0);
	assert_int_equal(vt_msis(f->env, 0xb1, 1), 1);
	/* Function Mask holds every vector, whatever its own mask */
	ecam_wr(f, cap + 2, 2, 0xc000);
	assert_int_equal(notify(f, 1), 0);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 1u << 1);
	assert_int_equal(vt_msis(f->env, 0xb1, 0), 0);
	ecam_wr(f, cap + 2, 2, 0x8000);
	assert_int_equal(vt_msis(f->env, 0xb1, 1), 1);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 0);
	/* a vector still masked by its own bit keeps pending after the function unmasks */
	ecam_wr(f, cap + 2, 2, 0xc000);
	assert_int_equal(notify(f, 2), 0);
	ecam_wr(f, cap + 2, 2, 0x8000);
	assert_int_equal(bar0_rd(f, MSIX_AT + 64, 8), 1u << 2);
	assert_int_equal(vt_msis(f->env, 0xb2, 0), 0);
	/* the address and data sent are the entry's at the time of sending */
	bar0_wr(f, MSIX_AT + 32 + 8, 4, 0xc2);
	bar0_wr(f, MSIX_AT + 32 + 12, 4, 0);
	assert_int_equal(vt_msis(f->env, 0xc2, 1), 1);
	assert_int_equal(vt_msis(f->env, 0xb2, 0), 0);
}

/* What the loader will describe: the host's ECAM and windows, through the machine layer. */
static void announced_to_the_machine(void **state)
{
	struct fx *f = *state;
	struct hvabs_machine_config mc = {.ram_size = 16 << 20, .nr_cpus = 1};
	struct hvabs_machine *m;
	struct hvabs_platform p;

	assert_int_equal(hvabs_machine_create(&mc, &m), 0);
	assert_int_equal(hvabs_pci_host_announce(f->host, m), 0);
	assert_int_equal(hvabs_pci_host_announce(f->host, m), -EEXIST);
	hvabs_machine_platform(m, &p);
	assert_non_null(p.pci);
	assert_int_equal(p.pci->ecam_base, ECAM);
	assert_int_equal(p.pci->mmio32_base, MMIO32);
	assert_int_equal(p.pci->mmio32_size, 0x4000000);
	assert_int_equal(p.pci->mmio64_base, MMIO64);
	assert_int_equal(p.pci->mmio64_size, 0x100000000);
	assert_int_equal(p.pci->bus_start, 0);
	assert_int_equal(p.pci->bus_end, 0);
	hvabs_machine_destroy(m);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    T(both_mechanisms),
	    T(bar_sizing),
	    T(decode_follows_command_and_address),
	    T(capability_walk),
	    T(msix_table_and_masks),
	    T(msix_pending_and_delivery),
	    T(announced_to_the_machine),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
