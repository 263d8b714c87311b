/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The userspace I/O APIC on the mock backend: registers as the 82093AA
 * datasheet gives them, edge and level delivery, Remote IRR and EOI
 * (directly, through the 0x40 register, and through an EOI exit of the run
 * loop), masking, the MSI format, and refusing bad arguments. MSIs are
 * observed in the mock's event stream.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>
#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

#define BASE	  HVABS_IOAPIC_ADDR

#define RTE_MASK  (1u << 16)
#define RTE_LEVEL (1u << 15)
#define RTE_RIRR  (1u << 14)
#define RTE_LOGIC (1u << 11)

struct fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_mock m;
	struct hvabs_ioapic *io;
};

static int open_fx(struct fx *f, const char *opts)
{
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = opts};
	struct hvabs_backend_opts bo = {.no_install_dir = 1};
	struct hvabs_ioapic_config ic = {.id = 5};

	if (hvabs_backend_open("mock", &bo, &f->be) || hvabs_vm_create(f->be, &cfg, &f->vm) ||
	    hvabs_mock_attach(f->vm, &f->m) || hvabs_ioapic_create(f->vm, &ic, &f->io))
		return -1;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || open_fx(f, NULL)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_nomsi(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || open_fx(f, "nomsi")) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_ioapic_destroy(f->io);
	hvabs_vm_destroy(f->vm);
	hvabs_backend_close(f->be);
	free(f);
	return 0;
}

static uint32_t rd(struct fx *f, uint32_t reg)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_MMIO, BASE, 4, reg), 0);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, BASE + 0x10, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, uint32_t reg, uint32_t val)
{
	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_MMIO, BASE, 4, reg), 0);
	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_MMIO, BASE + 0x10, 4, val), 0);
}

static void program(struct fx *f, uint32_t pin, uint32_t low, uint8_t dest)
{
	wr(f, 0x11 + 2 * pin, (uint32_t)dest << 24);
	wr(f, 0x10 + 2 * pin, low);
}

/* Takes the next MSI the mock recorded; returns 0 when there was none. */
static int next_msi(struct fx *f, uint64_t *addr, uint32_t *data)
{
	struct hvabs_mock_event ev;

	while (hvabs_mock_next_event(&f->m, &ev, 0) == 0)
		if (ev.kind == HVABS_MOCK_EV_MSI) {
			*addr = ev.addr;
			*data = (uint32_t)ev.value;
			return 1;
		}
	return 0;
}

static int count_msis(struct fx *f)
{
	uint64_t a;
	uint32_t d;
	int n = 0;

	while (next_msi(f, &a, &d))
		n++;
	return n;
}

/* ---- registers ---- */

static void registers_after_reset(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, 0x00), 5u << 24);
	assert_int_equal(rd(f, 0x01), 0x00170011); /* version 0x11, 24 entries */
	assert_int_equal(rd(f, 0x02), 5u << 24);
	for (uint32_t pin = 0; pin < HVABS_IOAPIC_PINS; pin++) {
		assert_int_equal(rd(f, 0x10 + 2 * pin), RTE_MASK);
		assert_int_equal(rd(f, 0x11 + 2 * pin), 0);
	}
	assert_int_equal(rd(f, 0x03), 0);
	assert_int_equal(rd(f, 0x40), 0); /* past the table */
	uint64_t sel = 0;
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, BASE, 4, &sel), 0);
	assert_int_equal(sel, 0x40);
}

static void id_and_readonly_bits(void **state)
{
	struct fx *f = *state;

	wr(f, 0x00, 0xff000000);
	assert_int_equal(rd(f, 0x00), 0x0f000000);
	wr(f, 0x01, 0);
	assert_int_equal(rd(f, 0x01), 0x00170011);
	/* Delivery status, Remote IRR and reserved bits are not the guest's to set. */
	wr(f, 0x10, 0xffffffff);
	assert_int_equal(rd(f, 0x10), 0x1afff);
	wr(f, 0x11, 0xffffffff);
	assert_int_equal(rd(f, 0x11), 0xff000000);
	assert_int_equal(count_msis(f), 0);
}

/* ---- delivery ---- */

static void edge_one_msi_per_rising_edge(void **state)
{
	struct fx *f = *state;
	uint64_t addr;
	uint32_t data;

	program(f, 3, 0x33, 1);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 3, 1), 0);
	assert_true(next_msi(f, &addr, &data));
	assert_int_equal(addr, 0xfee01000);
	assert_int_equal(data, 0x4033);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 3, 1), 0); /* held high: no new edge */
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 3, 0), 0);
	assert_int_equal(count_msis(f), 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 3, 1), 0);
	assert_int_equal(count_msis(f), 1);
	assert_int_equal(hvabs_ioapic_get_pin(f->io, 3), 1);
}

static void masked_edge_waits_for_unmask(void **state)
{
	struct fx *f = *state;

	program(f, 7, 0x37 | RTE_MASK, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 7, 1), 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 7, 0), 0);
	assert_int_equal(count_msis(f), 0);
	wr(f, 0x10 + 2 * 7, 0x37);
	assert_int_equal(count_msis(f), 1);
	wr(f, 0x10 + 2 * 7, 0x37 | RTE_MASK);
	wr(f, 0x10 + 2 * 7, 0x37);
	assert_int_equal(count_msis(f), 0); /* the latched edge was delivered once */
}

static void level_remote_irr_and_eoi(void **state)
{
	struct fx *f = *state;
	uint64_t addr;
	uint32_t data;

	program(f, 5, 0x45 | RTE_LEVEL, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 5, 1), 0);
	assert_true(next_msi(f, &addr, &data));
	assert_int_equal(data, 0xc045); /* level trigger, assert */
	assert_true(rd(f, 0x10 + 2 * 5) & RTE_RIRR);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 5, 1), 0);
	assert_int_equal(count_msis(f), 0);
	hvabs_ioapic_eoi(f->io, 0x99); /* not its vector */
	assert_int_equal(count_msis(f), 0);
	hvabs_ioapic_eoi(f->io, 0x45); /* still high: again */
	assert_int_equal(count_msis(f), 1);
	assert_true(rd(f, 0x10 + 2 * 5) & RTE_RIRR);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 5, 0), 0);
	hvabs_ioapic_eoi(f->io, 0x45);
	assert_int_equal(count_msis(f), 0);
	assert_false(rd(f, 0x10 + 2 * 5) & RTE_RIRR);
}

static void level_masked_then_unmasked(void **state)
{
	struct fx *f = *state;

	program(f, 10, 0x4a | RTE_LEVEL | RTE_MASK, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 10, 1), 0);
	assert_int_equal(count_msis(f), 0);
	wr(f, 0x10 + 2 * 10, 0x4a | RTE_LEVEL);
	assert_int_equal(count_msis(f), 1);
	/* Switching to edge drops Remote IRR. */
	wr(f, 0x10 + 2 * 10, 0x4a);
	assert_false(rd(f, 0x10 + 2 * 10) & RTE_RIRR);
	assert_int_equal(count_msis(f), 0);
}

/* The EOI register at offset 0x40 of later I/O APIC versions works too. */
static void eoi_register(void **state)
{
	struct fx *f = *state;

	program(f, 2, 0x52 | RTE_LEVEL, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 2, 1), 0);
	assert_int_equal(count_msis(f), 1);
	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_MMIO, BASE + 0x40, 4, 0x52), 0);
	assert_int_equal(count_msis(f), 1);
}

/* An EOI exit the run loop receives reaches the I/O APIC it installed as handler. */
static void eoi_exit_through_run_loop(void **state)
{
	struct fx *f = *state;
	struct hvabs_vcpu *cpu;
	struct hvabs_mock_step eoi = {.kind = HVABS_EXIT_IOAPIC_EOI, .arg = {0x61}};
	struct hvabs_exit e;

	assert_int_equal(hvabs_vcpu_create(f->vm, 0, &cpu), 0);
	program(f, 1, 0x61 | RTE_LEVEL, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 1, 1), 0);
	assert_int_equal(count_msis(f), 1);
	assert_int_equal(hvabs_mock_push(&f->m, 0, &eoi), 0);
	assert_int_equal(hvabs_mock_push_simple(&f->m, 0, HVABS_EXIT_HLT), 0);
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(count_msis(f), 1);
}

static void msi_format(void **state)
{
	struct fx *f = *state;
	uint64_t addr;
	uint32_t data;

	/* Lowest priority (1), logical destination 0x0f. */
	program(f, 4, 0x64 | (1u << 8) | RTE_LOGIC, 0x0f);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 4, 1), 0);
	assert_true(next_msi(f, &addr, &data));
	assert_int_equal(addr, 0xfee0f004);
	assert_int_equal(data, 0x4164);
	/* NMI (4) to APIC 0xff. */
	program(f, 6, (4u << 8), 0xff);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 6, 1), 0);
	assert_true(next_msi(f, &addr, &data));
	assert_int_equal(addr, 0xfeeff000);
	assert_int_equal(data, 0x4400);
}

/* A delivery the backend refuses leaves Remote IRR clear, so the pin is not wedged. */
static void failed_delivery_not_latched(void **state)
{
	struct fx *f = *state;

	program(f, 8, 0x58 | RTE_LEVEL, 0);
	assert_int_equal(hvabs_ioapic_set_irq(f->io, 8, 1), 0);
	assert_false(rd(f, 0x10 + 2 * 8) & RTE_RIRR);
}

static void bad_arguments(void **state)
{
	struct fx *f = *state;
	struct hvabs_ioapic *io;
	struct hvabs_ioapic_config bad_id = {.id = 16}, bad_base = {.base = 0xfec00100},
				   bad_flags = {.flags = 1u << 7},
				   taken = {.flags = HVABS_IOAPIC_F_NO_EOI_HANDLER};

	assert_int_equal(hvabs_ioapic_set_irq(f->io, HVABS_IOAPIC_PINS, 1), -EINVAL);
	assert_int_equal(hvabs_ioapic_get_pin(f->io, HVABS_IOAPIC_PINS), -EINVAL);
	assert_int_equal(hvabs_ioapic_create(f->vm, &bad_id, &io), -EINVAL);
	assert_int_equal(hvabs_ioapic_create(f->vm, &bad_base, &io), -EINVAL);
	assert_int_equal(hvabs_ioapic_create(f->vm, &bad_flags, &io), -EINVAL);
	assert_int_equal(hvabs_ioapic_create(f->vm, &taken, &io), -EEXIST);
	hvabs_ioapic_destroy(NULL);
	hvabs_ioapic_eoi(NULL, 0x20);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TN(fn) cmocka_unit_test_setup_teardown(fn, setup_nomsi, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(registers_after_reset),
	    T(id_and_readonly_bits),
	    T(edge_one_msi_per_rising_edge),
	    T(masked_edge_waits_for_unmask),
	    T(level_remote_irr_and_eoi),
	    T(level_masked_then_unmasked),
	    T(eoi_register),
	    T(eoi_exit_through_run_loop),
	    T(msi_format),
	    TN(failed_delivery_not_latched),
	    T(bad_arguments),
	};

	return cmocka_run_group_tests_name("ioapic.mock", tests, NULL, NULL);
}
