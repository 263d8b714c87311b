/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Contract driver for the Xen backend over the fake Xen
 * (tests/fixtures/fake_xen.h): each guest action becomes a step of the
 * domain's vCPU script, which the fake turns into ioreqs in the shared page
 * as Xen does. The backend under test is the real plugin; only the four Xen
 * libraries are replaced.
 *
 * What Xen cannot show a device model, the driver refuses (-ENOTSUP, so the
 * test is skipped with that reason): port accesses outside claimed ranges
 * never reach it (Xen answers them itself), and Xen has no hypercall, EOI,
 * internal-error or "unknown" exits for an ioreq server. HLT is `cli; hlt`,
 * which takes a Xen vCPU down; the backend reports that as HVABS_EXIT_HLT.
 * A triple fault, a reset and a power-off are the domain's shutdown with
 * reason crash, reboot and poweroff.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xenctrl.h>

#include "contract.h"
#include "fake_xen.h"

#define MAX_ACTS 64

/* Before main(): the backend must load the fake, not look for Xen. */
__attribute__((constructor)) static void xen_drv_seam(void)
{
	fake_xen_seam();
}

struct xen_drv {
	const struct fake_xen_ctl *ctl;
	uint32_t domid;
};

static int xen_setup(struct ct_env *env)
{
	struct xen_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ctl = fake_xen_open();
	if (!d->ctl) {
		free(d);
		return -ENOENT;
	}
	/* Programs end in `cli; hlt` and the next one brings the vCPU back
	 * (as INIT/SIPI would); Xen would power the domain off in between. */
	d->ctl->set_all_down_poweroff(0);
	d->domid = d->ctl->last_domid();
	env->drv_priv = d;
	return 0;
}

static void xen_teardown(struct ct_env *env)
{
	struct xen_drv *d = env->drv_priv;
	char v[512];

	if (!d)
		return;
	int n = d->ctl->violations(v, sizeof(v));
	free(d);
	env->drv_priv = NULL;
	/* What the fake caught the backend doing wrong fails the test. */
	if (n)
		fail_msg("fake Xen saw %d protocol violation(s): %s", n, v);
}

static int to_fake(struct xen_drv *d, const struct ct_action *a, struct fake_act *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = a->addr;
	f->size = a->size;
	f->count = 1;
	f->value = a->value;
	switch (a->kind) {
	case CT_OUT:
	case CT_IN:
	case CT_OUTS:
		if (!d->ctl->claimed(d->domid, 0, a->addr, a->size))
			return -ENOTSUP; /* Xen answers unclaimed ports itself */
		f->kind = a->kind == CT_OUT  ? FAKE_PIO_OUT
			  : a->kind == CT_IN ? FAKE_PIO_IN
					     : FAKE_PIO_OUTS;
		if (a->kind == CT_OUTS) {
			f->count = a->count;
			f->buf = CT_DATA_GPA;
		}
		return 0;
	case CT_MMIO_WRITE:
	case CT_MMIO_READ:
		if (!d->ctl->claimed(d->domid, 1, a->addr, a->size))
			return -ENOTSUP;
		f->kind = a->kind == CT_MMIO_WRITE ? FAKE_MMIO_WRITE : FAKE_MMIO_READ;
		return 0;
	case CT_HLT:
		f->kind = FAKE_HLT;
		return 0;
	case CT_SPIN:
		f->kind = FAKE_SPIN;
		return 0;
	case CT_TRIPLE_FAULT:
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_crash; /* the backend sets HVM_PARAM_TRIPLE_FAULT_REASON */
		return 0;
	case CT_RESET:
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_reboot;
		return 0;
	case CT_SYSTEM_EVENT:
		if (a->value != HVABS_SYSTEM_EVENT_POWEROFF)
			return -ENOTSUP;
		f->kind = FAKE_SHUTDOWN;
		f->value = SHUTDOWN_poweroff;
		return 0;
	default:
		return -ENOTSUP; /* hypercall, EOI, internal error, unknown */
	}
}

static int xen_program(struct ct_env *env, struct hvabs_vcpu *cpu, const struct ct_action *acts,
		       size_t n)
{
	struct xen_drv *d = env->drv_priv;
	struct fake_act f[MAX_ACTS];

	if (n > MAX_ACTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		int rc = to_fake(d, &acts[i], &f[i]);
		if (rc)
			return rc;
	}
	return d->ctl->program(d->domid, hvabs_vcpu_index(cpu), f, n);
}

static int xen_observe_irq(struct ct_env *env, int kind, uint32_t v, int timeout_ms)
{
	struct xen_drv *d = env->drv_priv;

	return d->ctl->wait_irq(d->domid, kind, v, timeout_ms);
}

static int xen_read_result(struct ct_env *env, struct hvabs_vcpu *cpu, unsigned nth,
			   uint64_t *value)
{
	struct xen_drv *d = env->drv_priv;
	uint64_t vals[64];
	uint32_t idx = hvabs_vcpu_index(cpu);

	/* The reads are the guest's: complete once its script got past them. */
	if (d->ctl->wait_done(d->domid, idx, 5000))
		return -ETIMEDOUT;
	int n = d->ctl->reads(d->domid, idx, vals, 64);
	if (n < 0)
		return n;
	if (nth >= (unsigned)n || nth >= 64)
		return -ERANGE;
	*value = vals[nth];
	return 0;
}

const struct ct_driver ct_driver_xen = {
    .backend = "xen",
    .vm_options = "poll_ms=5",
    .vm_flags = HVABS_VM_IRQCHIP,
    .setup = xen_setup,
    .teardown = xen_teardown,
    .program = xen_program,
    .observe_irq = xen_observe_irq,
    .read_result = xen_read_result,
};
