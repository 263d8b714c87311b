/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device-test driver (tests/unit/devices/harness.h) for the Xen backend over
 * the fake Xen: guest port accesses become the vCPU's script, which the fake
 * sends as ioreqs; interrupt lines are what Xen heard through
 * set_isa_irq_level. Xen's RTC reads the host clock, so clock_set is not
 * supported and the tests that need it are skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_xen.h"
#include "harness.h"

struct xen_drv {
	const struct fake_xen_ctl *ctl;
	uint32_t domid;
};

static int xen_attach(struct devt_env *env)
{
	struct xen_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ctl = fake_xen_open();
	if (!d->ctl) {
		free(d);
		return -ENOENT;
	}
	/* Each script ends in `cli; hlt`; the next one brings the vCPU back up. */
	d->ctl->set_all_down_poweroff(0);
	d->domid = d->ctl->last_domid();
	env->priv = d;
	return 0;
}

static void xen_detach(struct devt_env *env)
{
	struct xen_drv *d = env->priv;
	char v[512];

	int n = d->ctl->violations(v, sizeof(v));
	free(d);
	env->priv = NULL;
	if (n)
		fail_msg("fake Xen saw %d protocol violation(s): %s", n, v);
}

static int xen_guest_io(struct devt_env *env, struct devt_io *ios, size_t n,
			struct hvabs_exit *exit)
{
	struct xen_drv *d = env->priv;
	struct fake_act *acts = calloc(n + 1, sizeof(*acts));
	uint64_t *vals = calloc(n + 1, sizeof(*vals));
	size_t nr = 0;
	int rc = acts && vals ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !rc; i++) {
		acts[i].kind = ios[i].write ? FAKE_PIO_OUT : FAKE_PIO_IN;
		acts[i].addr = ios[i].port;
		acts[i].size = ios[i].size;
		acts[i].count = 1;
		acts[i].value = ios[i].value;
		nr += !ios[i].write;
	}
	if (!rc) {
		acts[n].kind = FAKE_HLT;
		rc = d->ctl->program(d->domid, 0, acts, n + 1);
	}
	if (!rc)
		rc = hvabs_vcpu_run_loop(env->cpu, exit);
	/* A device may stop the VM mid-script; what the guest read so far counts. */
	int got = rc ? 0 : d->ctl->reads(d->domid, 0, vals, n + 1);
	if (!rc && exit->kind == HVABS_EXIT_HLT && (size_t)got != nr)
		rc = -EIO;
	for (size_t i = 0, r = 0; !rc && i < n; i++)
		if (!ios[i].write && (int)r < got)
			ios[i].value = vals[r++];
	free(acts);
	free(vals);
	return rc;
}

static int xen_line_level(struct devt_env *env, uint32_t gsi)
{
	struct xen_drv *d = env->priv;

	return d->ctl->line_level(d->domid, gsi);
}

static int xen_line_raises(struct devt_env *env, uint32_t gsi)
{
	struct xen_drv *d = env->priv;

	return d->ctl->line_raises(d->domid, gsi);
}

static int xen_clock_set(struct devt_env *env, uint64_t ns)
{
	(void)env;
	(void)ns;
	return -ENOTSUP;
}

const struct devt_driver devt_xen_driver = {
    .backend = "xen",
    .vm_options = "poll_ms=5",
    .attach = xen_attach,
    .detach = xen_detach,
    .guest_io = xen_guest_io,
    .line_level = xen_line_level,
    .line_raises = xen_line_raises,
    .clock_set = xen_clock_set,
};
