/* SPDX-License-Identifier: Apache-2.0 */
/* Virtio-test driver for the mock backend: guest writes become scripted exits. */
#include <errno.h>
#include <stdlib.h>

#include <hvabs/mock.h>

#include "vt_harness.h"

/* Hang guard for the mock's irqfd thread: generous, never the thing under test. */
#define WAIT_MS 20000

struct mock_drv {
	struct hvabs_mock m;
	int level[64];
	int pending[64]; /* interrupts seen, not yet reported */
};

static int mock_attach(struct vt_env *env)
{
	struct mock_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	int rc = hvabs_mock_attach(env->vm, &d->m);
	if (rc) {
		free(d);
		return rc;
	}
	env->priv = d;
	return 0;
}

static void mock_detach(struct vt_env *env)
{
	free(env->priv);
	env->priv = NULL;
}

/* Kernel irqfds show up as IRQFD events; the core's fallback pulses the line. */
static void take(struct mock_drv *d, const struct hvabs_mock_event *ev)
{
	if (ev->addr >= 64)
		return;
	if (ev->kind == HVABS_MOCK_EV_IRQFD && ev->space == HVABS_IRQ_ROUTE_GSI) {
		d->pending[ev->addr]++;
	} else if (ev->kind == HVABS_MOCK_EV_IRQ_LINE) {
		if (ev->value && !d->level[ev->addr])
			d->pending[ev->addr]++;
		d->level[ev->addr] = ev->value != 0;
	}
}

static int mock_irqs(struct vt_env *env, uint32_t gsi, int min)
{
	struct mock_drv *d = env->priv;
	struct hvabs_mock_event ev;

	if (gsi >= 64)
		return -EINVAL;
	while (hvabs_mock_next_event(&d->m, &ev, 0) == 0)
		take(d, &ev);
	while (d->pending[gsi] < min && hvabs_mock_next_event(&d->m, &ev, WAIT_MS) == 0)
		take(d, &ev);
	int n = d->pending[gsi];
	d->pending[gsi] = 0;
	return n;
}

static int mock_mmio_write(struct vt_env *env, uint64_t addr, uint32_t val)
{
	struct mock_drv *d = env->priv;
	struct hvabs_exit ex;
	int rc = hvabs_mock_push_access(&d->m, 0, HVABS_SPACE_MMIO, addr, 4, 1, val);

	if (!rc)
		rc = hvabs_mock_push_simple(&d->m, 0, HVABS_EXIT_HLT);
	if (!rc)
		rc = hvabs_vcpu_run_loop(env->cpu, &ex);
	if (!rc && ex.kind != HVABS_EXIT_HLT)
		rc = -EIO;
	return rc;
}

static int mock_line_level(struct vt_env *env, uint32_t gsi)
{
	struct mock_drv *d = env->priv;

	return d->m.ops->line_level(d->m.ctx, gsi);
}

const struct vt_driver vt_mock_driver = {
    .backend = "mock",
    .attach = mock_attach,
    .detach = mock_detach,
    .mmio_write = mock_mmio_write,
    .irqs = mock_irqs,
    .line_level = mock_line_level,
};
