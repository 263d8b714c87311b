/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The userspace I/O APIC on MSHV, end to end over the fake /dev/mshv: the
 * guest programs it with MMIO stores the backend emulates, a device raises
 * a line through hvabs_irq_line() (backend irq_line -> line sink -> I/O
 * APIC -> hvabs_irq_msi() -> HvCallAssertVirtualInterrupt), and the guest's
 * EOI intercept comes back through the run loop to the I/O APIC, which
 * delivers a still-asserted level-triggered line again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>

#include "mshv_test.h"

#define PIN 9
#define VEC 0x39

struct fx {
	struct t_vm t;
	struct hvabs_ioapic *io;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || t_open(&f->t, NULL, 0) || hvabs_ioapic_create(f->t.vm, NULL, &f->io)) {
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
	t_close(&f->t);
	free(f);
	return 0;
}

/* The guest selects register @p reg, then stores @p val in the window. */
static void guest_write(struct t_vm *t, uint32_t reg, uint32_t val)
{
	struct fake_mshv_step sel = fake_mshv_mmio_store(HVABS_IOAPIC_ADDR, 4, reg);
	struct fake_mshv_step win = fake_mshv_mmio_store(HVABS_IOAPIC_ADDR + 0x10, 4, val);

	t_push(t, &sel);
	t_push(t, &win);
}

static void guest_read(struct t_vm *t, uint32_t reg)
{
	struct fake_mshv_step sel = fake_mshv_mmio_store(HVABS_IOAPIC_ADDR, 4, reg);
	struct fake_mshv_step win = fake_mshv_mmio_load(HVABS_IOAPIC_ADDR + 0x10, 4);

	t_push(t, &sel);
	t_push(t, &win);
}

static void run_to_hlt(struct t_vm *t)
{
	struct fake_mshv_step h = fake_mshv_simple(FAKE_MSHV_HALT);

	t_push(t, &h);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
}

static void level_line_eoi_cycle(void **state)
{
	struct fx *f = *state;
	struct t_vm *t = &f->t;
	struct fake_mshv_irq q;
	uint32_t r = t->f->nresults(t->pt, 0);

	t_long_mode(t);
	guest_read(t, 0x01);
	guest_write(t, 0x10 + 2 * PIN, VEC | (1u << 15)); /* level, fixed, physical */
	guest_write(t, 0x11 + 2 * PIN, 2u << 24);	  /* destination APIC 2 */
	run_to_hlt(t);
	assert_int_equal(t_result(t, r), 0x00170011); /* 82093AA, 24 entries */

	/* A device raises the line: one level-triggered interrupt. */
	assert_int_equal(hvabs_irq_line(t->vm, PIN, 1), 0);
	assert_int_equal(t->f->wait_irq(t->pt, VEC, 0, &q), 0);
	assert_true(q.level_triggered);
	assert_int_equal(q.dest, 2);
	assert_int_equal(hvabs_irq_line(t->vm, PIN, 1), 0);
	assert_int_equal(t->f->take_irqs(t->pt, VEC), 0); /* Remote IRR holds it */
	guest_read(t, 0x10 + 2 * PIN);
	run_to_hlt(t);
	assert_true(t_result(t, r + 1) & (1u << 14));

	/* The guest's EOI while the line is still high: delivered again. */
	struct fake_mshv_step eoi = fake_mshv_eoi(VEC);
	t_push(t, &eoi);
	run_to_hlt(t);
	assert_int_equal(t->f->take_irqs(t->pt, VEC), 1);

	/* Line low, EOI: nothing more, and Remote IRR is clear. */
	assert_int_equal(hvabs_irq_line(t->vm, PIN, 0), 0);
	t_push(t, &eoi);
	guest_read(t, 0x10 + 2 * PIN);
	run_to_hlt(t);
	assert_int_equal(t->f->take_irqs(t->pt, VEC), 0);
	assert_false(t_result(t, r + 2) & (1u << 14));
}

/* An edge-triggered line on MSHV: each rising edge one interrupt, a pulse included. */
static void edge_line_pulses(void **state)
{
	struct fx *f = *state;
	struct t_vm *t = &f->t;

	t_long_mode(t);
	guest_write(t, 0x10 + 2 * 4, 0x44);
	run_to_hlt(t);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hvabs_irq_pulse(t->vm, 4), 0);
	assert_int_equal(t->f->take_irqs(t->pt, 0x44), 3);
	assert_int_equal(hvabs_ioapic_get_pin(f->io, 4), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(level_line_eoi_cycle),
	    T(edge_line_pulses),
	};

	return cmocka_run_group_tests_name("mshv.ioapic", tests, NULL, NULL);
}
