/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the MSHV backend over the fake /dev/mshv
 * (tests/fixtures/fake_mshv.h, loaded through HVABS_MSHV_FAKE): guest
 * actions become scripted intercept messages of a flat 64-bit guest, and the
 * fake checks how the backend completes each of them (an IN's value is what
 * it saw merged into RAX; an MMIO store without a kernel ioeventfd is an
 * unmapped-GPA intercept with the instruction's bytes, which the backend
 * completes with the shared x86 emulator).
 *
 * MSHV emulates local APICs only, so the driver builds the machine as
 * hvabs-vmm does: a userspace I/O APIC attached to the backend's line-sink
 * extension, pin n edge-triggered, fixed, to vector 0x30 + n on APIC 0. A
 * line is observed where MSHV puts it: the pin's level, and one interrupt
 * per rising edge that the fake saw the backend assert with that vector.
 *
 * With "noioeventfd" among the test's options the fake is a /dev/mshv
 * without MSHV_IOEVENTFD, so the core's ioeventfd fallback serves the run.
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

#include "driver.h"
#include "fake_mshv.h"

#define VEC_BASE 0x30 /* I/O APIC pin n -> vector VEC_BASE + n */

static const struct hvt_lack mshv_lacks[] = {
    {HVT_EXIT_RESET, "x86 MSHV has no reset message: a VMM sees resets from its own devices"},
    {HVT_EXIT_SYSTEM_EVENT, "x86 MSHV has no platform-event message (power-off is ACPI's)"},
    {HVT_CLOCK_SET, "MSHV gives a VM no clock of its own"},
    {0, NULL},
};

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

/*
 * Before the backend first probes: HVABS_MSHV_FAKE names the fake, or it is
 * $HVABS_TEST_PLUGIN_DIR/fake_mshv.so (CTest sets that) and the variable is
 * set for the backend. The same dlopen shares the backend's instance.
 */
static void mshv_prepare(int argc, char **argv)
{
	char path[4096];
	const char *dir = getenv("HVABS_TEST_PLUGIN_DIR");
	const char *set = getenv("HVABS_MSHV_FAKE");

	(void)argc;
	(void)argv;
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

/* As hvabs-vmm: a userspace I/O APIC when the hypervisor has none and takes lines to one. */
static int make_ioapic(struct hvt_env *env, struct mshv_drv *d)
{
	struct hvabs_caps caps;
	const void *sink;
	void *sink_ctx;
	int rc = hvabs_vm_get_caps(env->vm, &caps);

	if (rc)
		return rc;
	if (caps.irqchip & HVABS_IRQCHIP_IOAPIC)
		return -EINVAL; /* not MSHV as this driver knows it */
	rc = hvabs_vm_get_ext(env->vm, HVABS_IRQ_SINK_EXT_NAME, &sink, &sink_ctx);
	if (!rc)
		rc = hvabs_ioapic_create(env->vm, NULL, &d->ioapic);
	/* Edge-triggered, fixed, physical destination 0: one interrupt per rising edge. */
	for (uint32_t pin = 0; !rc && pin < HVABS_IOAPIC_PINS; pin++) {
		rc = io_write(env->vm, 0x10 + 2 * pin, VEC_BASE + pin);
		if (!rc)
			rc = io_write(env->vm, 0x11 + 2 * pin, 0);
	}
	return rc;
}

static int mshv_attach(struct hvt_env *env)
{
	struct mshv_drv *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	if (!fake) {
		free(d);
		return -ENOENT;
	}
	/* Before any device exists: a transport registers its ioeventfds later. */
	fake->set_options(
	    env->options && strstr(env->options, "noioeventfd") ? FAKE_MSHV_OPT_NO_IOEVENTFD : 0);
	d->pt = fake->last_partition();
	d->violations = fake->violations(NULL, 0);
	rc = make_ioapic(env, d);
	if (rc) {
		hvabs_ioapic_destroy(d->ioapic);
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void mshv_detach(struct hvt_env *env)
{
	struct mshv_drv *d = env->priv;
	char why[1024];

	if (!d)
		return;
	hvabs_ioapic_destroy(d->ioapic);
	uint32_t n = fake->violations(why, sizeof(why));
	uint32_t before = d->violations;
	free(d);
	env->priv = NULL;
	/* What the fake caught the backend doing wrong fails the test. */
	if (n != before)
		fail_msg("the fake /dev/mshv saw %u violation(s): %s", n - before, why);
}

/* Flat 64-bit mode: CS.L, EFER.LME|LMA, CR0.PE|PG, CR4.PAE. */
int hvt_mshv_long_mode(struct hvabs_vcpu *cpu)
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

static int to_step(struct hvt_env *env, const struct hvt_action *a, struct fake_mshv_step *s)
{
	switch (a->kind) {
	case HVT_OUT:
		*s = fake_mshv_out((uint16_t)a->addr, (uint8_t)a->size, a->value);
		return 0;
	case HVT_IN:
		*s = fake_mshv_in((uint16_t)a->addr, (uint8_t)a->size);
		return 0;
	case HVT_OUTS:
		*s = fake_mshv_rep_string((uint16_t)a->addr, (uint8_t)a->size, 1, a->count,
					  env->data_gpa);
		return 0;
	case HVT_MMIO_WRITE:
		*s = fake_mshv_mmio_store(a->addr, (uint8_t)a->size, a->value);
		return 0;
	case HVT_MMIO_READ:
		*s = fake_mshv_mmio_load(a->addr, (uint8_t)a->size);
		return 0;
	case HVT_HLT:
		*s = fake_mshv_simple(FAKE_MSHV_HALT);
		return 0;
	case HVT_TRIPLE_FAULT:
		*s = fake_mshv_simple(FAKE_MSHV_TRIPLE_FAULT);
		return 0;
	case HVT_SPIN:
		*s = fake_mshv_simple(FAKE_MSHV_SPIN);
		return 0;
	case HVT_HYPERCALL:
		*s = fake_mshv_simple(FAKE_MSHV_HYPERCALL);
		fake_mshv_preset(s, FAKE_RAX, a->value);
		return 0;
	case HVT_EOI:
		*s = fake_mshv_eoi((uint32_t)a->value);
		return 0;
	case HVT_INTERNAL_ERROR: /* the hypervisor refuses a VP register value */
		*s = fake_mshv_simple(FAKE_MSHV_RAW);
		s->msg_type = 0x80000020u;
		return 0;
	case HVT_UNKNOWN: /* a message the backend has no mapping for */
		*s = fake_mshv_simple(FAKE_MSHV_RAW);
		s->msg_type = 0x80010005u;
		return 0;
	default:
		return -EINVAL; /* declared in mshv_lacks: never asked for */
	}
}

static int mshv_program(struct hvt_env *env, struct hvabs_vcpu *cpu, const struct hvt_action *acts,
			size_t n)
{
	struct mshv_drv *d = env->priv;
	uint32_t idx = hvabs_vcpu_index(cpu);
	struct fake_mshv_step steps[64];

	if (n > 64 || idx > 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int rc = to_step(env, &acts[i], &steps[i]);
		if (rc)
			return rc;
	}
	int rc = hvt_mshv_long_mode(cpu);
	if (rc)
		return rc;
	fake->clear(d->pt, idx);
	d->rbase[idx] = fake->nresults(d->pt, idx);
	for (size_t i = 0; i < n; i++)
		if ((rc = fake->push(d->pt, idx, &steps[i])))
			return rc;
	return 0;
}

static int mshv_reads(struct hvt_env *env, struct hvabs_vcpu *cpu, uint64_t *vals, size_t max)
{
	struct mshv_drv *d = env->priv;
	uint32_t idx = hvabs_vcpu_index(cpu);
	uint32_t got = fake->nresults(d->pt, idx) - d->rbase[idx];

	for (uint32_t i = 0; i < got && i < max; i++)
		if (fake->result(d->pt, idx, d->rbase[idx] + i, &vals[i]))
			return -EIO;
	return (int)got;
}

static int mshv_observe_irq(struct hvt_env *env, int kind, uint32_t gsi_or_data, int timeout_ms)
{
	struct mshv_drv *d = env->priv;
	int vector = kind == 0 ? VEC_BASE + (int)gsi_or_data : (int)(gsi_or_data & 0xff);

	return fake->wait_irq(d->pt, vector, timeout_ms, NULL);
}

static int mshv_irqs(struct hvt_env *env, uint32_t gsi, int min, int timeout_ms)
{
	struct mshv_drv *d = env->priv;

	if (gsi >= HVABS_IOAPIC_PINS)
		return -EINVAL;
	int vector = VEC_BASE + (int)gsi;
	int n = (int)fake->take_irqs(d->pt, vector);
	while (n < min && fake->wait_irq(d->pt, vector, timeout_ms, NULL) == 0)
		n++;
	return n;
}

static int mshv_line_level(struct hvt_env *env, uint32_t gsi)
{
	struct mshv_drv *d = env->priv;

	return hvabs_ioapic_get_pin(d->ioapic, gsi);
}

const struct hvt_driver hvt_drv_mshv = {
    .name = "mshv",
    .backend = "mshv",
    .require_env = "HVABS_REQUIRE_MSHV_FAKE",
    .lacks = mshv_lacks,
    .prepare = mshv_prepare,
    .attach = mshv_attach,
    .detach = mshv_detach,
    .program = mshv_program,
    .reads = mshv_reads,
    .observe_irq = mshv_observe_irq,
    .irqs = mshv_irqs,
    .line_level = mshv_line_level,
};
