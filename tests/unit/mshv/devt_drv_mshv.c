/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-test driver (tests/unit/devices/harness.h) for the MSHV backend
 * over the fake /dev/mshv: a guest port access is a scripted port-I/O
 * intercept, an IN's value is what the fake saw merged into RAX, and an
 * interrupt line is observed where MSHV puts it, at the userspace I/O APIC:
 * its pin level, and one interrupt per rising edge (every pin is programmed
 * edge-triggered to vector 0x30 + pin). MSHV gives a VM no clock of its own,
 * so clock_set is not supported.
 *
 * harness.c finds this driver through a weak reference to devt_mshv_driver
 * when argv[1] is "mshv" (tests/unit/mshv/CMakeLists.txt links it in).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>

#include "fake_mshv.h"
#include "harness.h"

#define VEC_BASE 0x30

struct mshv_devt {
	const struct fake_mshv_api *f;
	int pt;
	uint32_t violations;
	struct hvabs_ioapic *io;
};

static int reg_write(struct hvabs_vm *vm, uint32_t reg, uint32_t val)
{
	int rc = hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR, 4, reg);
	return rc ? rc : hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR + 0x10, 4, val);
}

static int mshv_attach(struct devt_env *env)
{
	struct mshv_devt *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->f = fake_mshv_api_v1();
	d->pt = d->f->last_partition();
	d->violations = d->f->violations(NULL, 0);
	rc = hvabs_ioapic_create(env->vm, NULL, &d->io);
	for (uint32_t pin = 0; !rc && pin < HVABS_IOAPIC_PINS; pin++)
		rc = reg_write(env->vm, 0x10 + 2 * pin, VEC_BASE + pin);
	if (rc) {
		hvabs_ioapic_destroy(d->io);
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void mshv_detach(struct devt_env *env)
{
	struct mshv_devt *d = env->priv;
	char why[1024];

	hvabs_ioapic_destroy(d->io);
	uint32_t n = d->f->violations(why, sizeof(why)), before = d->violations;
	free(d);
	env->priv = NULL;
	if (n != before)
		fail_msg("the fake /dev/mshv saw %u violation(s): %s", n - before, why);
}

static int mshv_guest_io(struct devt_env *env, struct devt_io *ios, size_t n,
			 struct hvabs_exit *exit)
{
	struct mshv_devt *d = env->priv;
	uint32_t vp = hvabs_vcpu_index(env->cpu);
	size_t nr = 0;

	d->f->clear(d->pt, vp);
	uint32_t base = d->f->nresults(d->pt, vp);
	for (size_t i = 0; i < n; i++) {
		struct fake_mshv_step s =
		    ios[i].write ? fake_mshv_out(ios[i].port, ios[i].size, ios[i].value)
				 : fake_mshv_in(ios[i].port, ios[i].size);
		int rc = d->f->push(d->pt, vp, &s);
		if (rc)
			return rc;
		nr += !ios[i].write;
	}
	/* The HLT's run also completes the last IN, as the hypervisor requires. */
	struct fake_mshv_step h = fake_mshv_simple(FAKE_MSHV_HALT);
	int rc = d->f->push(d->pt, vp, &h);
	if (!rc)
		rc = hvabs_vcpu_run_loop(env->cpu, exit);
	if (rc)
		return rc;
	uint32_t got = d->f->nresults(d->pt, vp) - base;
	if (exit->kind == HVABS_EXIT_HLT && got != nr)
		return -EIO;
	for (size_t i = 0, r = 0; i < n && r < got; i++)
		if (!ios[i].write && d->f->result(d->pt, vp, base + (uint32_t)r++, &ios[i].value))
			return -EIO;
	if (exit->kind != HVABS_EXIT_HLT)
		d->f->clear(d->pt, vp); /* a device stopped the VM before the script ended */
	return 0;
}

static int mshv_line_level(struct devt_env *env, uint32_t gsi)
{
	struct mshv_devt *d = env->priv;

	return hvabs_ioapic_get_pin(d->io, gsi);
}

static int mshv_line_raises(struct devt_env *env, uint32_t gsi)
{
	struct mshv_devt *d = env->priv;

	if (gsi >= HVABS_IOAPIC_PINS)
		return -EINVAL;
	return (int)d->f->take_irqs(d->pt, VEC_BASE + (int)gsi);
}

static int mshv_clock_set(struct devt_env *env, uint64_t ns)
{
	(void)env;
	(void)ns;
	return -ENOTSUP;
}

const struct devt_driver devt_mshv_driver = {
    .backend = "mshv",
    .vm_options = NULL,
    .attach = mshv_attach,
    .detach = mshv_detach,
    .guest_io = mshv_guest_io,
    .line_level = mshv_line_level,
    .line_raises = mshv_line_raises,
    .clock_set = mshv_clock_set,
};
