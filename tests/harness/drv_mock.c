/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the mock backend: guest actions become scripted exits,
 * and what the "hypervisor" saw (line changes, irqfd pulses, MSIs, completed
 * reads) is the mock's event stream. The mock can show everything, so it
 * lacks nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/mock.h>

#include "driver.h"

#define NLINES 64
#define NSEEN  256

struct mock_drv {
	struct hvabs_mock m;
	/* events not yet asked for by observe_irq() */
	struct hvabs_mock_event seen[NSEEN];
	unsigned nseen;
	int level[NLINES];  /* last level seen in the event stream, -1 never */
	int raises[NLINES]; /* rising edges and irqfd pulses not yet counted by irqs() */
	/* values of the completed reads of the current program, in order */
	uint64_t reads[64];
	unsigned nreads;
};

static int mock_attach(struct hvt_env *env)
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

static void mock_detach(struct hvt_env *env)
{
	free(env->priv);
	env->priv = NULL;
}

/* Takes one event, waiting up to @p timeout_ms: counts it and keeps it for observe_irq(). */
static int take(struct mock_drv *d, int timeout_ms)
{
	struct hvabs_mock_event ev;

	if (hvabs_mock_next_event(&d->m, &ev, timeout_ms))
		return -ETIMEDOUT;
	if (ev.kind == HVABS_MOCK_EV_IRQ_LINE && ev.addr < NLINES) {
		if (ev.value && d->level[ev.addr] != 1)
			d->raises[ev.addr]++;
		d->level[ev.addr] = ev.value ? 1 : 0;
	} else if (ev.kind == HVABS_MOCK_EV_IRQFD && ev.space == HVABS_IRQ_ROUTE_GSI &&
		   ev.addr < NLINES) {
		d->raises[ev.addr]++;
	} else if (ev.kind == HVABS_MOCK_EV_READ) {
		if (d->nreads < sizeof(d->reads) / sizeof(d->reads[0]))
			d->reads[d->nreads] = ev.value;
		d->nreads++;
	}
	if (d->nseen < NSEEN)
		d->seen[d->nseen++] = ev;
	return 0;
}

static void drain(struct mock_drv *d)
{
	while (take(d, 0) == 0)
		;
}

static int push_action(struct mock_drv *d, uint32_t cpu, const struct hvt_action *a)
{
	struct hvabs_mock_step s = {0};

	switch (a->kind) {
	case HVT_OUT:
	case HVT_IN:
	case HVT_MMIO_WRITE:
	case HVT_MMIO_READ:
		s.kind = a->kind == HVT_OUT || a->kind == HVT_IN ? HVABS_EXIT_IO : HVABS_EXIT_MMIO;
		s.is_write = a->kind == HVT_OUT || a->kind == HVT_MMIO_WRITE;
		s.addr = a->addr;
		s.size = a->size;
		s.data = a->value;
		break;
	case HVT_HLT:
		s.kind = HVABS_EXIT_HLT;
		break;
	case HVT_TRIPLE_FAULT:
		s.kind = HVABS_EXIT_SHUTDOWN;
		break;
	case HVT_SPIN:
		return 0; /* an empty script blocks until kicked, like a spinning guest */
	case HVT_RESET:
		s.kind = HVABS_EXIT_RESET;
		break;
	case HVT_SYSTEM_EVENT:
		s.kind = HVABS_EXIT_SYSTEM_EVENT;
		s.arg[0] = a->value;
		break;
	case HVT_HYPERCALL:
		s.kind = HVABS_EXIT_HYPERCALL;
		s.arg[0] = a->value;
		break;
	case HVT_EOI:
		s.kind = HVABS_EXIT_IOAPIC_EOI;
		s.arg[0] = a->value;
		break;
	case HVT_INTERNAL_ERROR:
		s.kind = HVABS_EXIT_INTERNAL_ERROR;
		s.arg[0] = 1;
		s.arg[1] = 17;
		break;
	case HVT_UNKNOWN:
		s.kind = HVABS_EXIT_UNKNOWN;
		s.arg[0] = 0xabc;
		break;
	default:
		return -EINVAL;
	}
	return hvabs_mock_push(&d->m, cpu, &s);
}

/* The mock has no guest to read RAM: rep outs carries the bytes in its step. */
static int push_outs(struct hvt_env *env, struct mock_drv *d, uint32_t cpu,
		     const struct hvt_action *a)
{
	uint8_t buf[4096];
	size_t len = (size_t)a->size * a->count;
	struct hvabs_mock_step s = {.kind = HVABS_EXIT_IO,
				    .is_write = 1,
				    .addr = a->addr,
				    .size = a->size,
				    .count = a->count,
				    .buf = buf};

	if (len > sizeof(buf) || hvabs_mem_read(hvabs_vm_mem(env->vm), env->data_gpa, buf, len))
		return -EINVAL;
	return hvabs_mock_push(&d->m, cpu, &s);
}

static int mock_program(struct hvt_env *env, struct hvabs_vcpu *cpu, const struct hvt_action *acts,
			size_t n)
{
	struct mock_drv *d = env->priv;
	uint32_t idx = hvabs_vcpu_index(cpu);

	drain(d); /* reads before this program are not its own */
	d->nreads = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = acts[i].kind == HVT_OUTS ? push_outs(env, d, idx, &acts[i])
						  : push_action(d, idx, &acts[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Completed reads are recorded in order when the next run picks them up. */
static int mock_reads(struct hvt_env *env, struct hvabs_vcpu *cpu, uint64_t *vals, size_t max)
{
	struct mock_drv *d = env->priv;
	unsigned kept = sizeof(d->reads) / sizeof(d->reads[0]);

	(void)cpu;
	drain(d);
	for (unsigned i = 0; i < d->nreads && i < kept && i < max; i++)
		vals[i] = d->reads[i];
	return d->nreads > kept ? -E2BIG : (int)d->nreads;
}

static int seen_irq(const struct hvabs_mock_event *e, int kind, uint64_t v)
{
	if (!kind)
		return (e->kind == HVABS_MOCK_EV_IRQ_LINE && e->addr == v && e->value == 1) ||
		       (e->kind == HVABS_MOCK_EV_IRQFD && e->space == HVABS_IRQ_ROUTE_GSI &&
			e->addr == v);
	return (e->kind == HVABS_MOCK_EV_MSI ||
		(e->kind == HVABS_MOCK_EV_IRQFD && e->space == HVABS_IRQ_ROUTE_MSI)) &&
	       e->value == v;
}

static int mock_observe_irq(struct hvt_env *env, int kind, uint32_t v, int timeout_ms)
{
	struct mock_drv *d = env->priv;

	for (;;) {
		for (unsigned i = 0; i < d->nseen; i++)
			if (seen_irq(&d->seen[i], kind, v)) {
				d->seen[i] = d->seen[--d->nseen];
				return 0;
			}
		if (take(d, timeout_ms))
			return -ETIMEDOUT;
	}
}

static int mock_irqs(struct hvt_env *env, uint32_t gsi, int min, int timeout_ms)
{
	struct mock_drv *d = env->priv;

	if (gsi >= NLINES)
		return -EINVAL;
	drain(d);
	while (d->raises[gsi] < min && take(d, timeout_ms) == 0)
		;
	int n = d->raises[gsi];
	d->raises[gsi] = 0;
	return n;
}

static int mock_line_level(struct hvt_env *env, uint32_t gsi)
{
	struct mock_drv *d = env->priv;

	return d->m.ops->line_level(d->m.ctx, gsi);
}

static int mock_clock_set(struct hvt_env *env, uint64_t ns)
{
	struct mock_drv *d = env->priv;

	d->m.ops->clock_set(d->m.ctx, ns);
	return 0;
}

const struct hvt_driver hvt_drv_mock = {
    .name = "mock",
    .backend = "mock",
    .attach = mock_attach,
    .detach = mock_detach,
    .program = mock_program,
    .reads = mock_reads,
    .observe_irq = mock_observe_irq,
    .irqs = mock_irqs,
    .line_level = mock_line_level,
    .clock_set = mock_clock_set,
};

/* Same backend with its kernel-side irqfd/ioeventfd/MSI turned off: the core's fallbacks run. */
const struct hvt_driver hvt_drv_mock_nofd = {
    .name = "mock-nofd",
    .backend = "mock",
    .vm_options = "noirqfd,noioeventfd,nomsi",
    .attach = mock_attach,
    .detach = mock_detach,
    .program = mock_program,
    .reads = mock_reads,
    .observe_irq = mock_observe_irq,
    .irqs = mock_irqs,
    .line_level = mock_line_level,
    .clock_set = mock_clock_set,
};
