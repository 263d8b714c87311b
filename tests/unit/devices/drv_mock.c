/* SPDX-License-Identifier: Apache-2.0 */
/* Device-test driver for the mock backend: guest accesses become scripted exits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/mock.h>

#include "harness.h"

#define NLINES 64

struct mock_drv {
	struct hvabs_mock m;
	int level[NLINES];  /* last level seen in the event stream */
	int raises[NLINES]; /* low-to-high transitions not yet reported */
	uint64_t *reads;    /* completed read values of the running script */
	size_t nreads, cap;
};

static int mock_attach(struct devt_env *env)
{
	struct mock_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	int rc = hvabs_mock_attach(env->vm, &d->m);
	if (rc) {
		free(d);
		return rc;
	}
	for (int i = 0; i < NLINES; i++)
		d->level[i] = -1;
	env->priv = d;
	return 0;
}

static void mock_detach(struct devt_env *env)
{
	struct mock_drv *d = env->priv;

	free(d->reads);
	free(d);
	env->priv = NULL;
}

/* Takes every recorded event: line changes are counted, read values kept. */
static void drain(struct mock_drv *d)
{
	struct hvabs_mock_event ev;

	while (hvabs_mock_next_event(&d->m, &ev, 0) == 0) {
		if (ev.kind == HVABS_MOCK_EV_IRQ_LINE && ev.addr < NLINES) {
			if (ev.value && d->level[ev.addr] != 1)
				d->raises[ev.addr]++;
			d->level[ev.addr] = ev.value ? 1 : 0;
		} else if (ev.kind == HVABS_MOCK_EV_READ && d->reads) {
			if (d->nreads < d->cap)
				d->reads[d->nreads] = ev.value;
			d->nreads++;
		}
	}
}

static int mock_guest_io(struct devt_env *env, struct devt_io *ios, size_t n,
			 struct hvabs_exit *exit)
{
	struct mock_drv *d = env->priv;
	size_t nr = 0;
	int rc = 0;

	drain(d); /* earlier events are not this script's */
	for (size_t i = 0; i < n && !rc; i++) {
		rc = hvabs_mock_push_access(&d->m, 0, HVABS_SPACE_PIO, ios[i].port, ios[i].size,
					    ios[i].write, ios[i].value);
		nr += !ios[i].write;
	}
	/* The HLT also completes the last read: the mock records a read when
	 * the next run picks it up, as a hypervisor completes it on re-entry. */
	if (!rc)
		rc = hvabs_mock_push_simple(&d->m, 0, HVABS_EXIT_HLT);
	if (rc)
		return rc;
	d->reads = calloc(nr ? nr : 1, sizeof(*d->reads));
	if (!d->reads)
		return -ENOMEM;
	d->cap = nr;
	d->nreads = 0;
	rc = hvabs_vcpu_run_loop(env->cpu, exit);
	drain(d);
	if (!rc && exit->kind == HVABS_EXIT_HLT && d->nreads != nr)
		rc = -EIO;
	for (size_t i = 0, r = 0; !rc && i < n; i++)
		if (!ios[i].write && r < d->nreads)
			ios[i].value = d->reads[r++];
	free(d->reads);
	d->reads = NULL;
	return rc;
}

static int mock_line_level(struct devt_env *env, uint32_t gsi)
{
	struct mock_drv *d = env->priv;

	return d->m.ops->line_level(d->m.ctx, gsi);
}

static int mock_line_raises(struct devt_env *env, uint32_t gsi)
{
	struct mock_drv *d = env->priv;

	if (gsi >= NLINES)
		return -EINVAL;
	drain(d);
	int n = d->raises[gsi];
	d->raises[gsi] = 0;
	return n;
}

static int mock_clock_set(struct devt_env *env, uint64_t ns)
{
	struct mock_drv *d = env->priv;

	d->m.ops->clock_set(d->m.ctx, ns);
	return 0;
}

const struct devt_driver devt_mock_driver = {
    .backend = "mock",
    .vm_options = NULL,
    .attach = mock_attach,
    .detach = mock_detach,
    .guest_io = mock_guest_io,
    .line_level = mock_line_level,
    .line_raises = mock_line_raises,
    .clock_set = mock_clock_set,
};
