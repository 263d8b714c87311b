/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtio-test driver (vt_harness.h) for the MSHV backend over the fake
 * /dev/mshv (tests/fixtures/fake_mshv.h, loaded through HVABS_MSHV_FAKE).
 *
 * The guest's MMIO write is vCPU 0 executing `mov [rbx], eax` in flat 64-bit
 * mode, then HLT. With a kernel ioeventfd on the address and value (the
 * MSHV backend registers one for each QueueNotify), the fake, as the
 * hypervisor and the mshv driver would, signals the eventfd and the vCPU
 * never exits for the store. With "noioeventfd" among the test's options
 * the fake is a /dev/mshv without MSHV_IOEVENTFD: the store is an
 * unmapped-GPA intercept with the instruction's bytes, which the backend
 * completes with the shared x86 emulator, and the core's ioeventfd fallback
 * in the run loop takes the QueueNotify.
 *
 * MSHV emulates local APICs only, so the driver builds the machine as
 * hvabs-vmm does: a userspace I/O APIC attached to the backend's line-sink
 * extension, pin n programmed edge-triggered, fixed, to vector 0x30 + n on
 * APIC 0. A device's line (the core's irqfd fallback pulses it: MSHV has no
 * irqfd here) goes through the backend's irq_line to that I/O APIC, which
 * sends an MSI; the interrupts counted are the ones the fake saw the backend
 * assert with that vector. The line level is the I/O APIC pin's, the only
 * place a line exists on MSHV.
 *
 * vt_harness.c finds this driver through a weak reference to vt_mshv_driver
 * when argv[1] is "mshv" (tests/unit/virtio/CMakeLists.txt links it in).
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>

#include "fake_mshv.h"
#include "vt_harness.h"

#define VEC_BASE 0x30
/* Hang guard while waiting for an interrupt: generous, never the thing under test. */
#define WAIT_MS 20000

struct mshv_vt {
	const struct fake_mshv_api *f;
	int pt;
	uint32_t violations;
	struct hvabs_ioapic *io;
};

/* The backend loaded the fake from HVABS_MSHV_FAKE; the same dlopen shares its instance. */
static const struct fake_mshv_api *fake_api(void)
{
	const char *path = getenv("HVABS_MSHV_FAKE");
	void *h = path && *path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
	fake_mshv_api_fn fn = NULL;

	if (!h)
		return NULL;
	*(void **)&fn = dlsym(h, FAKE_MSHV_API_SYMBOL);
	return fn ? fn() : NULL;
}

static int ioapic_write(struct hvabs_vm *vm, uint32_t reg, uint32_t val)
{
	int rc = hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR, 4, reg);
	return rc ? rc : hvabs_bus_write(vm, HVABS_SPACE_MMIO, HVABS_IOAPIC_ADDR + 0x10, 4, val);
}

/* As hvabs-vmm: a userspace I/O APIC when the hypervisor has none and takes lines to one. */
static int make_ioapic(struct vt_env *env, struct mshv_vt *d)
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
		rc = hvabs_ioapic_create(env->vm, NULL, &d->io);
	/* Edge-triggered, fixed, physical destination 0: one interrupt per rising edge. */
	for (uint32_t pin = 0; !rc && pin < HVABS_IOAPIC_PINS; pin++) {
		rc = ioapic_write(env->vm, 0x10 + 2 * pin, VEC_BASE + pin);
		if (!rc)
			rc = ioapic_write(env->vm, 0x11 + 2 * pin, 0);
	}
	return rc;
}

/* Flat 64-bit mode, so the emulator decodes the store as the 64-bit guest's. */
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
	s.cr0 = 0x80000011; /* PG, ET, PE */
	s.cr4 = 0x20;	    /* PAE */
	s.efer = 0x500;	    /* LMA, LME */
	return hvabs_vcpu_set_sregs(cpu, &s);
}

static int mshv_attach(struct vt_env *env)
{
	struct mshv_vt *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->f = fake_api();
	if (!d->f) {
		free(d);
		return -ENOENT;
	}
	/* Before any device exists: the transport registers its ioeventfds later. */
	d->f->set_options(
	    env->options && strstr(env->options, "noioeventfd") ? FAKE_MSHV_OPT_NO_IOEVENTFD : 0);
	d->pt = d->f->last_partition();
	d->violations = d->f->violations(NULL, 0);
	rc = make_ioapic(env, d);
	if (!rc)
		rc = long_mode(env->cpu);
	if (rc) {
		hvabs_ioapic_destroy(d->io);
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void mshv_detach(struct vt_env *env)
{
	struct mshv_vt *d = env->priv;
	char why[1024];

	hvabs_ioapic_destroy(d->io);
	uint32_t n = d->f->violations(why, sizeof(why)), before = d->violations;
	free(d);
	env->priv = NULL;
	/* What the fake caught the backend doing wrong fails the test. */
	if (n != before)
		fail_msg("the fake /dev/mshv saw %u violation(s): %s", n - before, why);
}

static int mshv_mmio_write(struct vt_env *env, uint64_t addr, uint32_t val)
{
	struct mshv_vt *d = env->priv;
	uint32_t vp = hvabs_vcpu_index(env->cpu);
	struct fake_mshv_step st = fake_mshv_mmio_store(addr, 4, val);
	struct fake_mshv_step hlt = fake_mshv_simple(FAKE_MSHV_HALT);
	struct hvabs_exit ex;

	d->f->clear(d->pt, vp);
	int rc = d->f->push(d->pt, vp, &st);
	if (!rc)
		rc = d->f->push(d->pt, vp, &hlt);
	if (!rc)
		rc = hvabs_vcpu_run_loop(env->cpu, &ex);
	if (!rc && ex.kind != HVABS_EXIT_HLT)
		rc = -EIO;
	/* The script ran to its end: nothing of it is left for the next write. */
	if (!rc && d->f->pending(d->pt, vp))
		rc = -EIO;
	return rc;
}

static int mshv_irqs(struct vt_env *env, uint32_t gsi, int min)
{
	struct mshv_vt *d = env->priv;

	if (gsi >= HVABS_IOAPIC_PINS)
		return -EINVAL;
	int vector = VEC_BASE + (int)gsi;
	int n = (int)d->f->take_irqs(d->pt, vector);
	while (n < min && d->f->wait_irq(d->pt, vector, WAIT_MS, NULL) == 0)
		n++;
	return n;
}

static int mshv_line_level(struct vt_env *env, uint32_t gsi)
{
	struct mshv_vt *d = env->priv;

	return hvabs_ioapic_get_pin(d->io, gsi);
}

const struct vt_driver vt_mshv_driver = {
    .backend = "mshv",
    .attach = mshv_attach,
    .detach = mshv_detach,
    .mmio_write = mshv_mmio_write,
    .irqs = mshv_irqs,
    .line_level = mshv_line_level,
};
