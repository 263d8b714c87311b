/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtio-test driver (vt_harness.h) for the Xen backend over the fake Xen
 * (tests/fixtures/fake_xen.h, loaded through HVABS_XEN_LIBS). The guest's
 * MMIO write is the script of vCPU 0: one store, which the fake sends as an
 * MMIO copy ioreq to the backend's ioreq server (the transport's window is
 * claimed when it registers on the bus), then `cli; hlt`. Xen offers no
 * ioeventfd or irqfd, so a QueueNotify reaches the core's ioeventfd fallback
 * in the run loop, and an interrupt is the core's irqfd fallback calling the
 * backend's irq_line: what counts is what the fake heard through
 * set_isa_irq_level (GSIs 0-15, so VT_GSI) or set_pci_intx_level. Guest RAM
 * is the domain's memfd-backed RAM that the backend mapped; attach checks
 * that the harness's view of RAM and the fake's are the same memory.
 *
 * vt_harness.c finds this driver through a weak reference to vt_xen_driver
 * when argv[1] is "xen" (tests/unit/virtio/CMakeLists.txt links it in).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_xen.h"
#include "vt_harness.h"

/* Hang guard while waiting for an interrupt: generous, never the thing under test. */
#define WAIT_MS 20000

struct xen_vt {
	const struct fake_xen_ctl *ctl;
	uint32_t domid;
};

/* The harness's RAM and the fake's are one: a byte written by either is read by the other. */
static int same_ram(struct vt_env *env, struct xen_vt *d)
{
	uint8_t *xen = d->ctl->ram(d->domid, 0, VT_RAM_SIZE);
	const uint64_t probe = VT_RAM_SIZE - 1;

	if (!xen || !env->ram)
		return -EFAULT;
	env->ram[probe] = 0xa5;
	int ok = xen[probe] == 0xa5;
	xen[probe] = 0;
	ok = ok && env->ram[probe] == 0;
	return ok ? 0 : -EFAULT;
}

static int xen_attach(struct vt_env *env)
{
	struct xen_vt *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ctl = fake_xen_open();
	if (!d->ctl) {
		free(d);
		return -ENOENT;
	}
	/* Each write ends in `cli; hlt`; the next script brings the vCPU back up. */
	d->ctl->set_all_down_poweroff(0);
	d->domid = d->ctl->last_domid();
	int rc = same_ram(env, d);
	if (rc) {
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void xen_detach(struct vt_env *env)
{
	struct xen_vt *d = env->priv;
	char v[512];

	int n = d->ctl->violations(v, sizeof(v));
	free(d);
	env->priv = NULL;
	/* What the fake caught the backend doing wrong fails the test. */
	if (n)
		fail_msg("fake Xen saw %d protocol violation(s): %s", n, v);
}

static int xen_mmio_write(struct vt_env *env, uint64_t addr, uint32_t val)
{
	struct xen_vt *d = env->priv;
	struct fake_act acts[2];
	struct hvabs_exit ex;

	memset(acts, 0, sizeof(acts));
	acts[0].kind = FAKE_MMIO_WRITE;
	acts[0].addr = addr;
	acts[0].size = 4;
	acts[0].count = 1;
	acts[0].value = val;
	acts[1].kind = FAKE_HLT;
	/* Xen sends only claimed ranges to an ioreq server; the rest it answers itself. */
	if (!d->ctl->claimed(d->domid, 1, addr, 4))
		return -ENXIO;
	int rc = d->ctl->program(d->domid, 0, acts, 2);
	if (!rc)
		rc = hvabs_vcpu_run_loop(env->cpu, &ex);
	if (!rc && ex.kind != HVABS_EXIT_HLT)
		rc = -EIO;
	return rc;
}

/*
 * The fake keeps two counters per line: raises not yet reported by
 * line_raises, and raises not yet consumed by wait_irq. The first is the
 * answer; the second only paces the wait, so a wait that returns at once on
 * a raise counted before just goes round again.
 */
static int xen_irqs(struct vt_env *env, uint32_t gsi, int min)
{
	struct xen_vt *d = env->priv;
	int n = d->ctl->line_raises(d->domid, gsi);

	while (n >= 0 && n < min) {
		int w = d->ctl->wait_irq(d->domid, 0, gsi, WAIT_MS);
		int more = d->ctl->line_raises(d->domid, gsi);
		if (more < 0)
			return more;
		n += more;
		if (w)
			break;
	}
	return n;
}

static int xen_line_level(struct vt_env *env, uint32_t gsi)
{
	struct xen_vt *d = env->priv;

	return d->ctl->line_level(d->domid, gsi);
}

const struct vt_driver vt_xen_driver = {
    .backend = "xen",
    .attach = xen_attach,
    .detach = xen_detach,
    .mmio_write = xen_mmio_write,
    .irqs = xen_irqs,
    .line_level = xen_line_level,
};
