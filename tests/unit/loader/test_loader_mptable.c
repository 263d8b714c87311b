/* SPDX-License-Identifier: Apache-2.0 */
/* MP table (MP spec 1.4): floating pointer, configuration table, entries, checksums, refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader_test.h"

#define BASE 0xf0000u

struct fx {
	struct guest g;
	struct hvabs_acpi_device dev[2];
	struct hvabs_platform p;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || guest_init(&f->g, 2 * MIB, 0))
		return -1;
	f->dev[0] = (struct hvabs_acpi_device){
	    .base = 0xd0000000, .size = 0x1000, .irq = 5, .flags = HVABS_ACPI_DEV_LEVEL};
	f->dev[1] = (struct hvabs_acpi_device){.base = 0xd0001000, .size = 0x1000, .irq = 17};
	f->p.nr_cpus = 3;
	f->p.devices = f->dev;
	f->p.nr_devices = 2;
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

static int build(struct fx *f)
{
	f->err[0] = 0;
	return hvabs_mptable_build(f->g.mem, &f->p, BASE, HVABS_MPTABLE_DEFAULT_SIZE, f->err,
				   sizeof(f->err));
}

struct counts {
	unsigned cpus, bsp, buses, ioapics, ints, lints;
	int pin_of_irq[24]; /* -1: no entry */
	uint16_t flags_of[24];
};

static const uint8_t *config(struct fx *f)
{
	const uint8_t *mpf = f->g.low + BASE, *mpc;

	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(mpf[8], 1);
	assert_int_equal(mpf[9], 4);
	assert_int_equal(sum8(mpf, 16), 0);
	assert_int_equal(mpf[11], 0); /* feature byte 1: a table follows, no default config */
	mpc = f->g.low + rd32(mpf + 4);
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(sum8(mpc, rd16(mpc + 4)), 0);
	assert_int_equal(rd32(mpc + 36), 0xfee00000u);
	return mpc;
}

static void walk(const uint8_t *mpc, struct counts *c)
{
	const uint8_t *e = mpc + 44, *end = mpc + rd16(mpc + 4);
	unsigned n = 0;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 24; i++)
		c->pin_of_irq[i] = -1;
	while (e < end) {
		n++;
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], c->cpus);
			assert_true(e[3] & 1);
			c->bsp += (e[3] & 2) ? 1 : 0;
			c->cpus++;
			e += 20;
			break;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			c->buses++;
			e += 8;
			break;
		case 2:
			assert_int_equal(rd32(e + 4), 0xfec00000u);
			assert_int_equal(e[3] & 1, 1);
			c->ioapics++;
			e += 8;
			break;
		case 3:
			assert_true(e[5] < 24);
			assert_int_equal(c->pin_of_irq[e[5]], -1); /* one entry per IRQ */
			c->pin_of_irq[e[5]] = e[7];
			c->flags_of[e[5]] = rd16(e + 2);
			c->ints++;
			e += 8;
			break;
		case 4:
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[1],
					 c->lints == 0 ? 3 : 1); /* ExtINT on LINT0, NMI on LINT1 */
			assert_int_equal(e[7], c->lints);
			c->lints++;
			e += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(rd16(mpc + 34), n);
}

static void structure(void **state)
{
	struct fx *f = *state;
	struct counts c;
	const uint8_t *mpc;

	assert_int_equal(build(f), 0);
	mpc = config(f);
	walk(mpc, &c);
	assert_int_equal(c.cpus, 3);
	assert_int_equal(c.bsp, 1);
	assert_int_equal(mpc[44 + 3] & 2, 2); /* vCPU 0 is the bootstrap processor */
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.lints, 2);
	assert_int_equal(c.ints, 16); /* ISA 0-15 but 2, and the device on 17 */
}

static void interrupt_routing(void **state)
{
	struct fx *f = *state;
	struct counts c;

	assert_int_equal(build(f), 0);
	walk(config(f), &c);
	assert_int_equal(c.pin_of_irq[0], 2); /* the PIT's IRQ0 at pin 2 */
	assert_int_equal(c.pin_of_irq[2], -1);
	for (int irq = 1; irq < 16; irq++)
		if (irq != 2)
			assert_int_equal(c.pin_of_irq[irq], irq);
	assert_int_equal(c.flags_of[4], 0);	/* ISA default */
	assert_int_equal(c.flags_of[5], 0xd);	/* the level device */
	assert_int_equal(c.pin_of_irq[17], 17); /* a pin above 15 is listed for its device */
	assert_int_equal(c.flags_of[17], 0x5);
	assert_int_equal(c.pin_of_irq[18], -1);
}

static void irq0_at_pin0(void **state)
{
	struct fx *f = *state;
	struct counts c;

	f->p.flags = HVABS_PLATFORM_IRQ0_PIN0;
	assert_int_equal(build(f), 0);
	walk(config(f), &c);
	assert_int_equal(c.pin_of_irq[0], 0);
	assert_int_equal(c.pin_of_irq[2], -1);
	assert_int_equal(c.ints, 16);
}

static void ioapic_id_follows_cpus(void **state)
{
	struct fx *f = *state;
	const uint8_t *mpc, *e;

	f->p.nr_cpus = HVABS_PLATFORM_MAX_CPUS;
	assert_int_equal(build(f), 0);
	mpc = config(f);
	e = mpc + 44 + 20 * HVABS_PLATFORM_MAX_CPUS + 8;
	assert_int_equal(e[0], 2);
	assert_int_equal(e[1], HVABS_PLATFORM_MAX_CPUS);
}

static void refusals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    hvabs_mptable_build(f->g.mem, &f->p, BASE + 4, 0x10000, f->err, sizeof(f->err)),
	    -EINVAL);
	assert_int_equal(hvabs_mptable_build(f->g.mem, &f->p, BASE, 64, f->err, sizeof(f->err)),
			 -ENOSPC);
	assert_int_equal(
	    hvabs_mptable_build(f->g.mem, &f->p, 2 * MIB - 32, 0x10000, f->err, sizeof(f->err)),
	    -EFAULT);
	assert_non_null(strstr(f->err, "not guest RAM"));
	assert_int_equal(hvabs_mptable_build(NULL, &f->p, BASE, 0x10000, NULL, 0), -EINVAL);
	f->p.nr_cpus = 0;
	assert_int_equal(build(f), -EINVAL);
	assert_non_null(strstr(f->err, "nr_cpus"));
	/* nothing was written by any of these */
	assert_int_equal(rd32(f->g.low + BASE), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(structure), T(interrupt_routing), T(irq0_at_pin0), T(ioapic_id_follows_cpus),
	    T(refusals),
	};
	return cmocka_run_group_tests_name("loader.mptable", tests, NULL, NULL);
}
