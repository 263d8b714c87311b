/* SPDX-License-Identifier: Apache-2.0 */
/* Contract driver for the mock backend: guest actions become scripted exits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/mock.h>

#include "contract.h"

struct mock_drv {
	struct hvabs_mock m;
	/* events seen while looking for something else, kept for later questions */
	struct hvabs_mock_event seen[256];
	unsigned nseen;
	/* values of the completed reads of the current program, in order */
	uint64_t reads[64];
	unsigned nreads;
};

static int mock_setup(struct ct_env *env)
{
	struct mock_drv *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	int rc = hvabs_mock_attach(env->vm, &d->m);
	if (rc) {
		free(d);
		return rc;
	}
	env->drv_priv = d;
	return 0;
}

static void mock_teardown(struct ct_env *env)
{
	free(env->drv_priv);
	env->drv_priv = NULL;
}

static int push_action(struct mock_drv *d, uint32_t cpu, const struct ct_action *a)
{
	struct hvabs_mock_step s = {0};

	switch (a->kind) {
	case CT_OUT:
	case CT_IN:
	case CT_MMIO_WRITE:
	case CT_MMIO_READ:
		s.kind = a->kind == CT_OUT || a->kind == CT_IN ? HVABS_EXIT_IO : HVABS_EXIT_MMIO;
		s.is_write = a->kind == CT_OUT || a->kind == CT_MMIO_WRITE;
		s.addr = a->addr;
		s.size = a->size;
		s.data = a->value;
		break;
	case CT_HLT:
		s.kind = HVABS_EXIT_HLT;
		break;
	case CT_TRIPLE_FAULT:
		s.kind = HVABS_EXIT_SHUTDOWN;
		break;
	case CT_SPIN:
		return 0; /* an empty script blocks until kicked, like a spinning guest */
	case CT_RESET:
		s.kind = HVABS_EXIT_RESET;
		break;
	case CT_SYSTEM_EVENT:
		s.kind = HVABS_EXIT_SYSTEM_EVENT;
		s.arg[0] = a->value;
		break;
	case CT_HYPERCALL:
		s.kind = HVABS_EXIT_HYPERCALL;
		s.arg[0] = a->value;
		break;
	case CT_EOI:
		s.kind = HVABS_EXIT_IOAPIC_EOI;
		s.arg[0] = a->value;
		break;
	case CT_INTERNAL_ERROR:
		s.kind = HVABS_EXIT_INTERNAL_ERROR;
		s.arg[0] = 1;
		s.arg[1] = 17;
		break;
	case CT_UNKNOWN:
		s.kind = HVABS_EXIT_UNKNOWN;
		s.arg[0] = 0xabc;
		break;
	default:
		return -ENOTSUP;
	}
	return hvabs_mock_push(&d->m, cpu, &s);
}

static int mock_program(struct ct_env *env, struct hvabs_vcpu *cpu, const struct ct_action *acts,
			size_t n)
{
	struct mock_drv *d = env->drv_priv;
	uint32_t idx = hvabs_vcpu_index(cpu);

	d->nreads = 0;
	for (size_t i = 0; i < n; i++) {
		if (acts[i].kind == CT_OUTS) {
			/* The mock has no guest to read RAM: copy it into the step now. */
			uint8_t buf[4096];
			size_t len = (size_t)acts[i].size * acts[i].count;
			struct hvabs_mock_step s = {.kind = HVABS_EXIT_IO,
						    .is_write = 1,
						    .addr = acts[i].addr,
						    .size = acts[i].size,
						    .count = acts[i].count,
						    .buf = buf};
			if (len > sizeof(buf) ||
			    hvabs_mem_read(hvabs_vm_mem(env->vm), CT_DATA_GPA, buf, len))
				return -EINVAL;
			int rc = hvabs_mock_push(&d->m, idx, &s);
			if (rc)
				return rc;
			continue;
		}
		int rc = push_action(d, idx, &acts[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Finds (and consumes) a recorded event that satisfies @p match, waiting for new ones. */
static int find_event(struct mock_drv *d, int (*match)(const struct hvabs_mock_event *, uint64_t),
		      uint64_t arg, int timeout_ms, struct hvabs_mock_event *out)
{
	for (unsigned i = 0; i < d->nseen; i++)
		if (match(&d->seen[i], arg)) {
			if (out)
				*out = d->seen[i];
			d->seen[i] = d->seen[--d->nseen];
			return 0;
		}
	for (;;) {
		struct hvabs_mock_event ev;
		if (hvabs_mock_next_event(&d->m, &ev, timeout_ms))
			return -ETIMEDOUT;
		if (match(&ev, arg)) {
			if (out)
				*out = ev;
			return 0;
		}
		if (d->nseen < sizeof(d->seen) / sizeof(d->seen[0]))
			d->seen[d->nseen++] = ev;
	}
}

static int match_line(const struct hvabs_mock_event *e, uint64_t gsi)
{
	return (e->kind == HVABS_MOCK_EV_IRQ_LINE && e->addr == gsi && e->value == 1) ||
	       (e->kind == HVABS_MOCK_EV_IRQFD && e->space == HVABS_IRQ_ROUTE_GSI &&
		e->addr == gsi);
}

static int match_msi(const struct hvabs_mock_event *e, uint64_t data)
{
	return (e->kind == HVABS_MOCK_EV_MSI ||
		(e->kind == HVABS_MOCK_EV_IRQFD && e->space == HVABS_IRQ_ROUTE_MSI)) &&
	       e->value == data;
}

static int match_read(const struct hvabs_mock_event *e, uint64_t unused)
{
	(void)unused;
	return e->kind == HVABS_MOCK_EV_READ;
}

static int mock_observe_irq(struct ct_env *env, int kind, uint32_t v, int timeout_ms)
{
	return find_event(env->drv_priv, kind ? match_msi : match_line, v, timeout_ms, NULL);
}

static int mock_read_result(struct ct_env *env, struct hvabs_vcpu *cpu, unsigned nth,
			    uint64_t *value)
{
	struct mock_drv *d = env->drv_priv;
	struct hvabs_mock_event ev;

	(void)cpu;
	/* Completed reads are recorded in order. */
	while (d->nreads <= nth && d->nreads < 64) {
		if (find_event(d, match_read, 0, 1000, &ev))
			return -ETIMEDOUT;
		d->reads[d->nreads++] = ev.value;
	}
	if (nth >= d->nreads)
		return -ERANGE;
	*value = d->reads[nth];
	return 0;
}

const struct ct_driver ct_driver_mock = {
    .backend = "mock",
    .vm_options = NULL,
    .setup = mock_setup,
    .teardown = mock_teardown,
    .program = mock_program,
    .observe_irq = mock_observe_irq,
    .read_result = mock_read_result,
};

/* Same backend with its kernel-side irqfd/ioeventfd/MSI turned off: the core's fallbacks run. */
const struct ct_driver ct_driver_mock_nofd = {
    .backend = "mock",
    .vm_options = "noirqfd,noioeventfd,nomsi",
    .setup = mock_setup,
    .teardown = mock_teardown,
    .program = mock_program,
    .observe_irq = mock_observe_irq,
    .read_result = mock_read_result,
};
