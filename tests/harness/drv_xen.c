/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the Xen backend over the fake Xen (tests/fixtures/fake_xen.h,
 * loaded through HVABS_XEN_LIBS): each guest action becomes a step of the
 * domain's vCPU script, which the fake turns into ioreqs in the shared page
 * as Xen does. The backend under test is the real plugin; only the four Xen
 * libraries are replaced. Interrupt lines are what Xen heard through
 * set_isa_irq_level / set_pci_intx_level, MSIs what it got through
 * inject_msi.
 *
 * HLT is `cli; hlt`, which takes a Xen vCPU down; the backend reports that
 * as HVABS_EXIT_HLT, and the next program brings the vCPU back (as INIT/SIPI
 * would; Xen would power the domain off in between). A triple fault, a
 * reset and a power-off are the domain's shutdown with reason crash, reboot
 * and poweroff.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xenctrl.h>

#include "driver.h"
#include "fake_xen.h"

#define MAX_ACTS 64

static const struct hvt_lack xen_lacks[] = {
    {HVT_UNCLAIMED_IO, "Xen answers accesses outside the ioreq server's claimed ranges itself"},
    {HVT_EXIT_HYPERCALL, "Xen handles hypercalls; an ioreq server never sees one"},
    {HVT_EXIT_EOI, "Xen's own I/O APIC takes EOIs; an ioreq server never sees one"},
    {HVT_EXIT_INTERNAL_ERROR, "Xen crashes the domain instead of reporting an internal error"},
    {HVT_EXIT_UNKNOWN, "every ioreq and domain state maps to a known exit"},
    {0, NULL},
};

/* Before the backend first loads: it must load the fake, not look for Xen. */
static void xen_prepare(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fake_xen_seam();
}

struct xen_drv {
	const struct fake_xen_ctl *ctl;
	uint32_t domid;
};

/* The env's RAM and the fake's are one: a byte written by either is read by the other. */
static int same_ram(struct hvt_env *env, struct xen_drv *d)
{
	uint8_t *ram = env->ram;
	uint8_t *xen = d->ctl->ram(d->domid, 0, env->ram_size);
	uint64_t probe = env->ram_size - 1;

	if (!xen)
		return -EFAULT;
	ram[probe] = 0xa5;
	int ok = xen[probe] == 0xa5;
	xen[probe] = 0;
	ok = ok && ram[probe] == 0;
	return ok ? 0 : -EFAULT;
}

static int xen_attach(struct hvt_env *env)
{
	struct xen_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ctl = fake_xen_open();
	if (!d->ctl) {
		free(d);
		return -ENOENT;
	}
	d->ctl->set_all_down_poweroff(0);
	d->domid = d->ctl->last_domid();
	int rc = env->ram ? same_ram(env, d) : 0;
	if (rc) {
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void xen_detach(struct hvt_env *env)
{
	struct xen_drv *d = env->priv;
	char v[512];

	if (!d)
		return;
	int n = d->ctl->violations(v, sizeof(v));
	free(d);
	env->priv = NULL;
	/* What the fake caught the backend doing wrong fails the test. */
	if (n)
		fail_msg("fake Xen saw %d protocol violation(s): %s", n, v);
}

static int xen_claimed(struct hvt_env *env, enum hvabs_space space, uint64_t base, uint64_t len)
{
	struct xen_drv *d = env->priv;

	/* First and last byte: a claim covers a range or does not. */
	int mmio = space == HVABS_SPACE_MMIO;
	return d->ctl->claimed(d->domid, mmio, base, 1) &&
	       d->ctl->claimed(d->domid, mmio, base + len - 1, 1);
}

static int to_fake(struct hvt_env *env, const struct hvt_action *a, struct fake_act *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = a->addr;
	f->size = a->size;
	f->count = 1;
	f->value = a->value;
	switch (a->kind) {
	case HVT_OUT:
	case HVT_IN:
	case HVT_OUTS:
		f->kind = a->kind == HVT_OUT  ? FAKE_PIO_OUT
			  : a->kind == HVT_IN ? FAKE_PIO_IN
					      : FAKE_PIO_OUTS;
		if (a->kind == HVT_OUTS) {
			f->count = a->count;
			f->buf = env->data_gpa;
		}
		return 0;
	case HVT_MMIO_WRITE:
	case HVT_MMIO_READ:
		f->kind = a->kind == HVT_MMIO_WRITE ? FAKE_MMIO_WRITE : FAKE_MMIO_READ;
		return 0;
	case HVT_HLT:
		f->kind = FAKE_HLT;
		return 0;
	case HVT_SPIN:
		f->kind = FAKE_SPIN;
		return 0;
	case HVT_TRIPLE_FAULT:
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_crash; /* the backend sets HVM_PARAM_TRIPLE_FAULT_REASON */
		return 0;
	case HVT_RESET:
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_reboot;
		return 0;
	case HVT_SYSTEM_EVENT:
		if (a->value != HVABS_SYSTEM_EVENT_POWEROFF)
			return -EINVAL;
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_poweroff;
		return 0;
	default:
		return -EINVAL; /* declared in xen_lacks: never asked for */
	}
}

static int xen_program(struct hvt_env *env, struct hvabs_vcpu *cpu, const struct hvt_action *acts,
		       size_t n)
{
	struct xen_drv *d = env->priv;
	struct fake_act f[MAX_ACTS];

	if (n > MAX_ACTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		int rc = to_fake(env, &acts[i], &f[i]);
		if (rc)
			return rc;
	}
	return d->ctl->program(d->domid, hvabs_vcpu_index(cpu), f, n);
}

/* The guest's reads are recorded before its vCPU goes down for the HLT exit. */
static int xen_reads(struct hvt_env *env, struct hvabs_vcpu *cpu, uint64_t *vals, size_t max)
{
	struct xen_drv *d = env->priv;

	return d->ctl->reads(d->domid, hvabs_vcpu_index(cpu), vals, max);
}

static int xen_observe_irq(struct hvt_env *env, int kind, uint32_t v, int timeout_ms)
{
	struct xen_drv *d = env->priv;

	return d->ctl->wait_irq(d->domid, kind, v, timeout_ms);
}

/*
 * The fake keeps two counters per line: raises not yet reported by
 * line_raises, and raises not yet consumed by wait_irq. The first is the
 * answer; the second only paces the wait, so a wait that returns at once on
 * a raise counted before just goes round again.
 */
static int xen_irqs(struct hvt_env *env, uint32_t gsi, int min, int timeout_ms)
{
	struct xen_drv *d = env->priv;
	int n = d->ctl->line_raises(d->domid, gsi);

	while (n >= 0 && n < min) {
		int w = d->ctl->wait_irq(d->domid, 0, gsi, timeout_ms);
		int more = d->ctl->line_raises(d->domid, gsi);
		if (more < 0)
			return more;
		n += more;
		if (w)
			break;
	}
	return n;
}

static int xen_line_level(struct hvt_env *env, uint32_t gsi)
{
	struct xen_drv *d = env->priv;

	return d->ctl->line_level(d->domid, gsi);
}

/* The backend reads the domain's wall clock from Xen: here, the fake's. */
static int xen_clock_set(struct hvt_env *env, uint64_t ns)
{
	struct xen_drv *d = env->priv;

	d->ctl->clock_set(ns);
	return 0;
}

const struct hvt_driver hvt_drv_xen = {
    .name = "xen",
    .backend = "xen",
    .vm_options = "poll_ms=5",
    .vm_flags = HVABS_VM_IRQCHIP,
    .require_env = "HVABS_REQUIRE_XEN_FAKE",
    .lacks = xen_lacks,
    .prepare = xen_prepare,
    .attach = xen_attach,
    .detach = xen_detach,
    .claimed = xen_claimed,
    .program = xen_program,
    .reads = xen_reads,
    .observe_irq = xen_observe_irq,
    .irqs = xen_irqs,
    .line_level = xen_line_level,
    .clock_set = xen_clock_set,
};
