/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Contract driver for the MSHV backend, over the fake /dev/mshv
 * (tests/fixtures/fake_mshv.c): guest actions become scripted intercept
 * messages of a 64-bit guest, and the fake checks how the backend completes
 * each of them. Interrupt lines go through the userspace I/O APIC, as on a
 * real MSHV host, programmed so pin n sends vector 0x30 + n; the fake
 * records the interrupts the backend asserts.
 *
 * main() probes the backend before any driver hook runs, so the fake is
 * found from a constructor: with "mshv" as the program's argument and
 * HVABS_TEST_PLUGIN_DIR set (CTest does), HVABS_MSHV_FAKE is pointed at
 * $HVABS_TEST_PLUGIN_DIR/fake_mshv.so unless it is set already. Without the
 * fake the backend probes the real /dev/mshv and the suite skips.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>

#include "contract.h"
#include "fake_mshv.h"

#define VEC_BASE 0x30 /* I/O APIC pin n -> vector VEC_BASE + n */

static const struct fake_mshv_api *fake;

struct mshv_drv {
	int pt;
	uint32_t violations;
	uint32_t rbase[2]; /* fake results of each vCPU before the last program */
	struct hvabs_ioapic *ioapic;
};

static const struct fake_mshv_api *load_fake(const char *path)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	fake_mshv_api_fn fn;

	if (!dl)
		return NULL;
	*(void **)&fn = dlsym(dl, FAKE_MSHV_API_SYMBOL);
	return fn ? fn() : NULL;
}

__attribute__((constructor)) static void drv_mshv_init(int argc, char **argv)
{
	char path[4096];
	const char *dir = getenv("HVABS_TEST_PLUGIN_DIR");
	const char *set = getenv("HVABS_MSHV_FAKE");

	if (argc < 2 || strcmp(argv[1], "mshv"))
		return;
	if (set && *set) {
		fake = load_fake(set);
		return;
	}
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/fake_mshv.so", dir);
	fake = load_fake(path);
	if (fake)
		setenv("HVABS_MSHV_FAKE", path, 1);
}

static int io_write(struct hvabs_vm *vm, uint32_t reg, uint32_t val)
{
	int rc = hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR, 4, reg);
	return rc ? rc : hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR + 0x10, 4, val);
}

static int mshv_setup(struct ct_env *env)
{
	struct mshv_drv *d = calloc(1, sizeof(*d));

	if (!d || !fake)
		return -1;
	env->drv_priv = d;
	d->pt = fake->last_partition();
	d->violations = fake->violations(NULL, 0);
	if (hvabs_ioapic_create(env->vm, NULL, &d->ioapic))
		return -1;
	/* Edge-triggered, fixed, physical destination 0: one interrupt per rising edge. */
	for (uint32_t pin = 0; pin < HVABS_IOAPIC_PINS; pin++)
		if (io_write(env->vm, 0x10 + 2 * pin, VEC_BASE + pin) ||
		    io_write(env->vm, 0x11 + 2 * pin, 0))
			return -1;
	return 0;
}

static void mshv_teardown(struct ct_env *env)
{
	struct mshv_drv *d = env->drv_priv;
	char why[1024];

	if (!d)
		return;
	hvabs_ioapic_destroy(d->ioapic);
	uint32_t n = fake->violations(why, sizeof(why));
	uint32_t before = d->violations;
	free(d);
	env->drv_priv = NULL;
	if (n != before)
		fail_msg("the fake /dev/mshv saw %u violation(s): %s", n - before, why);
}

/* Flat 64-bit mode: CS.L, EFER.LME|LMA, CR0.PE|PG, CR4.PAE. */
static int long_mode(struct hvabs_vcpu *cpu)
{
	struct hvabs_sregs s;
	int rc = hvabs_vcpu_get_sregs(cpu, &s);

	if (rc)
		return rc;
	struct hvabs_segment code = {
	    .limit = 0xffffffff, .selector = 8, .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1};
	struct hvabs_segment data = {.limit = 0xffffffff,
				     .selector = 0x10,
				     .type = 3,
				     .present = 1,
				     .s = 1,
				     .db = 1,
				     .g = 1};
	s.cs = code;
	s.ds = s.es = s.ss = s.fs = s.gs = data;
	s.cr0 = 0x80000011;
	s.cr4 = 0x20;
	s.efer = 0x500;
	return hvabs_vcpu_set_sregs(cpu, &s);
}

static int to_step(const struct ct_action *a, struct fake_mshv_step *s)
{
	switch (a->kind) {
	case CT_OUT:
		*s = fake_mshv_out((uint16_t)a->addr, (uint8_t)a->size, a->value);
		return 0;
	case CT_IN:
		*s = fake_mshv_in((uint16_t)a->addr, (uint8_t)a->size);
		return 0;
	case CT_OUTS:
		*s = fake_mshv_rep_string((uint16_t)a->addr, (uint8_t)a->size, 1, a->count,
					  CT_DATA_GPA);
		return 0;
	case CT_MMIO_WRITE:
		*s = fake_mshv_mmio_store(a->addr, (uint8_t)a->size, a->value);
		return 0;
	case CT_MMIO_READ:
		*s = fake_mshv_mmio_load(a->addr, (uint8_t)a->size);
		return 0;
	case CT_HLT:
		*s = fake_mshv_simple(FAKE_MSHV_HALT);
		return 0;
	case CT_TRIPLE_FAULT:
		*s = fake_mshv_simple(FAKE_MSHV_TRIPLE_FAULT);
		return 0;
	case CT_SPIN:
		*s = fake_mshv_simple(FAKE_MSHV_SPIN);
		return 0;
	case CT_HYPERCALL:
		*s = fake_mshv_simple(FAKE_MSHV_HYPERCALL);
		fake_mshv_preset(s, FAKE_RAX, a->value);
		return 0;
	case CT_EOI:
		*s = fake_mshv_eoi((uint32_t)a->value);
		return 0;
	case CT_INTERNAL_ERROR: /* the hypervisor refuses a VP register value */
		*s = fake_mshv_simple(FAKE_MSHV_RAW);
		s->msg_type = 0x80000020u;
		return 0;
	case CT_UNKNOWN: /* a message the backend has no mapping for */
		*s = fake_mshv_simple(FAKE_MSHV_RAW);
		s->msg_type = 0x80010005u;
		return 0;
	default:
		/* x86 MSHV has no reset or platform-event message: a VMM sees those from
		 * its own devices (i8042, ACPI PM), never from the hypervisor. */
		return -ENOTSUP;
	}
}

static int mshv_program(struct ct_env *env, struct hvabs_vcpu *cpu, const struct ct_action *acts,
			size_t n)
{
	struct mshv_drv *d = env->drv_priv;
	uint32_t idx = hvabs_vcpu_index(cpu);
	struct fake_mshv_step steps[32];

	if (n > 32 || idx > 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int rc = to_step(&acts[i], &steps[i]);
		if (rc)
			return rc;
	}
	int rc = long_mode(cpu);
	if (rc)
		return rc;
	fake->clear(d->pt, idx);
	d->rbase[idx] = fake->nresults(d->pt, idx);
	for (size_t i = 0; i < n; i++)
		if ((rc = fake->push(d->pt, idx, &steps[i])))
			return rc;
	return 0;
}

static int mshv_observe_irq(struct ct_env *env, int kind, uint32_t gsi_or_data, int timeout_ms)
{
	struct mshv_drv *d = env->drv_priv;
	int vector = kind == 0 ? VEC_BASE + (int)gsi_or_data : (int)(gsi_or_data & 0xff);

	return fake->wait_irq(d->pt, vector, timeout_ms, NULL);
}

static int mshv_read_result(struct ct_env *env, struct hvabs_vcpu *cpu, unsigned nth,
			    uint64_t *value)
{
	struct mshv_drv *d = env->drv_priv;
	uint32_t idx = hvabs_vcpu_index(cpu);

	return fake->result(d->pt, idx, d->rbase[idx] + nth, value);
}

const struct ct_driver ct_driver_mshv = {
    .backend = "mshv",
    .vm_options = NULL,
    .vm_flags = 0,
    .setup = mshv_setup,
    .teardown = mshv_teardown,
    .program = mshv_program,
    .observe_irq = mshv_observe_irq,
    .read_result = mshv_read_result,
};
