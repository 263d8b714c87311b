/* SPDX-License-Identifier: Apache-2.0 */
/* Mock vCPUs: the exit script, completion recording, kick, and stored register state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvabs/le.h"
#include "mock_priv.h"
#include "vcpu_table.h"

#define MAX_COUNT 4096u

static int vcpu_init(struct hvabs_be_vm *vm, struct hvabs_be_vcpu *v, uint32_t index)
{
	v->vm = vm;
	v->index = index;
	/* Power-on state as the SDM gives it (vol. 3A 9.1.1): enough for tests to read back. */
	v->regs.rflags = 2;
	v->regs.rip = 0xfff0;
	v->sregs.cs.selector = 0xf000;
	v->sregs.cs.base = 0xffff0000;
	v->sregs.cr0 = 0x60000010;
	return 0;
}

/* A script's steps for this vCPU become its queue (vm->lock held). */
static int vcpu_attach(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	uint32_t i = v->index;

	v->head = vm->pre_head[i];
	v->tail = vm->pre_tail[i];
	v->pending = vm->pre_count[i];
	vm->pre_head[i] = vm->pre_tail[i] = NULL;
	vm->pre_count[i] = 0;
	return 0;
}

/* Nothing to discard: init takes nothing and attach cannot fail. */
static const struct vcpu_table_ops vcpu_ops = {
    .size = sizeof(struct hvabs_be_vcpu), .init = vcpu_init, .attach = vcpu_attach};

int mock_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out)
{
	struct vcpu_table t = {&vm->lock, vm->vcpus, vm->max_vcpus};
	int rc = mock_count(vm, OP_VCPU_CREATE);

	return rc ? rc : vcpu_table_create(&t, vm, index, &vcpu_ops, out);
}

void mock_steps_free(struct mock_step *s)
{
	while (s) {
		struct mock_step *n = s->next;
		free(s->buf);
		free(s);
		s = n;
	}
}

void mock_vcpu_destroy(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	struct vcpu_table t = {&vm->lock, vm->vcpus, vm->max_vcpus};

	vcpu_table_remove(&t, v->index, v);
	mock_steps_free(v->head);
	free(v->iobuf);
	free(v);
}

static int valid_step(const struct hvabs_mock_step *s)
{
	if (s->kind == HVABS_EXIT_NONE || s->kind >= HVABS_EXIT_KIND_COUNT)
		return 0;
	if (s->kind != HVABS_EXIT_IO && s->kind != HVABS_EXIT_MMIO)
		return 1;
	uint32_t count = s->count ? s->count : 1;
	if (!(s->size == 1 || s->size == 2 || s->size == 4 || s->size == 8) || count > MAX_COUNT)
		return 0;
	if (s->kind == HVABS_EXIT_IO && s->addr > 0xffff)
		return 0;
	return !(count > 1 && s->is_write && !s->buf);
}

static struct mock_step *new_step(const struct mock_step *proto)
{
	const struct hvabs_mock_step *step = &proto->s;
	struct mock_step *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	*s = *proto;
	s->next = NULL;
	s->buf = NULL;
	s->left = step->repeat ? step->repeat : 1;
	if (step->buf && step->is_write) {
		size_t n = (size_t)step->size * (step->count ? step->count : 1);
		s->buf = malloc(n);
		if (!s->buf) {
			free(s);
			return NULL;
		}
		memcpy(s->buf, step->buf, n);
	}
	s->s.buf = NULL;
	return s;
}

int mock_script_add_op(struct hvabs_be_vm *vm, uint32_t vcpu, const struct mock_step *proto)
{
	if ((proto->op == STEP_EXIT && !valid_step(&proto->s)) || vcpu >= MOCK_MAX_VCPUS)
		return -EINVAL;
	struct mock_step *s = new_step(proto);
	if (!s)
		return -ENOMEM;
	if (vm->pre_tail[vcpu])
		vm->pre_tail[vcpu]->next = s;
	else
		vm->pre_head[vcpu] = s;
	vm->pre_tail[vcpu] = s;
	vm->pre_count[vcpu] += s->left;
	return 0;
}

int mock_script_add(struct hvabs_be_vm *vm, uint32_t vcpu, const struct hvabs_mock_step *step)
{
	struct mock_step proto = {.s = *step};

	return mock_script_add_op(vm, vcpu, &proto);
}

int mock_push(void *ctx, uint32_t vcpu, const struct hvabs_mock_step *step)
{
	struct hvabs_be_vm *vm = ctx;

	if (!step || !valid_step(step) || vcpu >= vm->max_vcpus)
		return -EINVAL;
	struct mock_step proto = {.s = *step};
	struct mock_step *s = new_step(&proto);
	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&vm->lock);
	struct hvabs_be_vcpu *v = vm->vcpus[vcpu];
	if (!v) {
		pthread_mutex_unlock(&vm->lock);
		free(s->buf);
		free(s);
		return -ENOENT;
	}
	if (v->tail)
		v->tail->next = s;
	else
		v->head = s;
	v->tail = s;
	v->pending += s->left;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

uint64_t mock_pending(void *ctx, uint32_t vcpu)
{
	struct hvabs_be_vm *vm = ctx;
	uint64_t n = 0;

	if (vcpu >= MOCK_MAX_VCPUS)
		return 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->vcpus[vcpu])
		n = vm->vcpus[vcpu]->pending;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

/*
 * Records what the VMM answered to the previous exit (read data, hypercall
 * result) and checks a recorded read against the recording.
 */
static int complete_previous(struct hvabs_be_vcpu *v, const struct hvabs_exit *exit)
{
	struct hvabs_be_vm *vm = v->vm;
	const struct hvabs_exit *l = &v->last;
	int rc = 0;

	if ((l->kind == HVABS_EXIT_IO || l->kind == HVABS_EXIT_MMIO) && !l->u.io.is_write)
		rc = mock_check_expected(v);

	if ((l->kind == HVABS_EXIT_IO || l->kind == HVABS_EXIT_MMIO) && !l->u.io.is_write &&
	    vm->record_reads) {
		struct hvabs_mock_event ev = {
		    .kind = HVABS_MOCK_EV_READ,
		    .vcpu = v->index,
		    .addr = l->u.io.addr,
		    .value = hvabs_le_load(v->iobuf, l->u.io.size),
		    .size = l->u.io.size,
		    .space = l->kind == HVABS_EXIT_IO ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO,
		};
		mock_record(vm, &ev);
	} else if (l->kind == HVABS_EXIT_HYPERCALL) {
		mock_record(vm, &(struct hvabs_mock_event){.kind = HVABS_MOCK_EV_HYPERCALL,
							   .vcpu = v->index,
							   .addr = l->u.hypercall.nr,
							   .value = exit->u.hypercall.ret});
	}
	v->last.kind = HVABS_EXIT_NONE;
	v->last_expect = 0;
	return rc;
}

static int ensure_iobuf(struct hvabs_be_vcpu *v, size_t n)
{
	if (v->iobuf_len >= n)
		return 0;
	uint8_t *p = realloc(v->iobuf, n);
	if (!p)
		return -ENOMEM;
	v->iobuf = p;
	v->iobuf_len = n;
	return 0;
}

/* Turns one element of a step into an exit. */
static int fill_exit(struct hvabs_be_vcpu *v, const struct mock_step *st, struct hvabs_exit *e)
{
	const struct hvabs_mock_step *s = &st->s;

	e->kind = s->kind;
	e->flags = 0;
	e->raw_reason = 0;
	memset(&e->u, 0, sizeof(e->u));
	switch (s->kind) {
	case HVABS_EXIT_IO:
	case HVABS_EXIT_MMIO: {
		uint32_t count = s->count ? s->count : 1;
		size_t n = (size_t)s->size * count;
		if (ensure_iobuf(v, n))
			return -ENOMEM;
		memset(v->iobuf, 0, n);
		if (s->is_write && st->buf)
			memcpy(v->iobuf, st->buf, n);
		else if (s->is_write)
			hvabs_le_store(v->iobuf, s->size, s->data);
		e->u.io.addr = s->addr;
		e->u.io.size = s->size;
		e->u.io.count = count;
		e->u.io.is_write = (uint8_t)s->is_write;
		e->u.io.data = v->iobuf;
		break;
	}
	case HVABS_EXIT_SYSTEM_EVENT:
		e->u.system_event.type = (uint32_t)s->arg[0];
		e->u.system_event.ndata = 1;
		e->u.system_event.data[0] = s->arg[1];
		break;
	case HVABS_EXIT_HYPERCALL:
		e->u.hypercall.nr = s->arg[0];
		for (int i = 0; i < 3; i++)
			e->u.hypercall.args[i] = s->arg[i + 1];
		break;
	case HVABS_EXIT_IOAPIC_EOI:
		e->u.eoi.vector = (uint32_t)s->arg[0];
		break;
	case HVABS_EXIT_INTERNAL_ERROR:
		e->u.internal.suberror = (uint32_t)s->arg[0];
		e->raw_reason = s->arg[1];
		break;
	case HVABS_EXIT_UNKNOWN:
		e->raw_reason = s->arg[0];
		break;
	default:
		break;
	}
	return 0;
}

/* Takes the next exit step off the queue (the VM lock is held, and dropped). */
static int take_exit(struct hvabs_be_vcpu *v, struct mock_step *st, struct hvabs_exit *exit)
{
	int rc = fill_exit(v, st, exit);

	v->last_expect = st->has_expect;
	v->last_value = st->value;
	v->last_line = st->lineno;
	v->pending--;
	if (--st->left == 0) {
		v->head = st->next;
		if (!v->head)
			v->tail = NULL;
	} else {
		st = NULL;
	}
	pthread_mutex_unlock(&v->vm->lock);
	if (st) {
		free(st->buf);
		free(st);
	}
	return rc;
}

int mock_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc = mock_count(vm, OP_VCPU_RUN);

	if (rc)
		return rc;
	rc = complete_previous(v, exit);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		if (atomic_exchange(&v->kicked, 0)) {
			v->at_end = 0;
			pthread_mutex_unlock(&vm->lock);
			memset(&exit->u, 0, sizeof(exit->u));
			exit->kind = HVABS_EXIT_CANCELED;
			exit->raw_reason = 0;
			return 0;
		}
		rc = !vm->paused && v->head && v->head->op != STEP_EXIT
			 ? mock_script_step(v, v->head)
			 : -EAGAIN;
		if (rc == 1)
			continue;
		if (rc < 0 && rc != -EAGAIN) {
			pthread_mutex_unlock(&vm->lock);
			return rc;
		}
		if (rc == 0 || vm->paused || !v->head) {
			/* Like a halted CPU, an exhausted script waits: for more steps or a kick. */
			pthread_cond_wait(&vm->cond, &vm->lock);
			continue;
		}
		rc = take_exit(v, v->head, exit);
		if (rc)
			return rc;
		if ((exit->kind == HVABS_EXIT_IO || exit->kind == HVABS_EXIT_MMIO) &&
		    exit->u.io.is_write && exit->u.io.count == 1 &&
		    mock_ioev_match(
			vm, exit->kind == HVABS_EXIT_IO ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO,
			exit->u.io.addr, exit->u.io.size,
			hvabs_le_load(exit->u.io.data, exit->u.io.size))) {
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		v->last = *exit;
		return 0;
	}
}

int mock_vcpu_kick(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc = mock_count(vm, OP_VCPU_KICK);

	if (rc)
		return rc;
	atomic_store(&v->kicked, 1);
	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* Register state is stored and read back, under the VM lock like everything else. */
#define STATE_ACCESSORS(name, field, type, op_get, op_set)                                         \
	int mock_get_##name(struct hvabs_be_vcpu *v, type *out)                                    \
	{                                                                                          \
		int rc = op_get >= 0 ? mock_count(v->vm, (enum mock_op)op_get) : 0;                \
		if (rc)                                                                            \
			return rc;                                                                 \
		struct hvabs_hdr h = out->hdr;                                                     \
		pthread_mutex_lock(&v->vm->lock);                                                  \
		*out = v->field;                                                                   \
		pthread_mutex_unlock(&v->vm->lock);                                                \
		out->hdr = h;                                                                      \
		return 0;                                                                          \
	}                                                                                          \
	int mock_set_##name(struct hvabs_be_vcpu *v, const type *in)                               \
	{                                                                                          \
		int rc = op_set >= 0 ? mock_count(v->vm, (enum mock_op)op_set) : 0;                \
		if (rc)                                                                            \
			return rc;                                                                 \
		pthread_mutex_lock(&v->vm->lock);                                                  \
		v->field = *in;                                                                    \
		pthread_mutex_unlock(&v->vm->lock);                                                \
		return 0;                                                                          \
	}
STATE_ACCESSORS(regs, regs, struct hvabs_regs, OP_GET_REGS, OP_SET_REGS)
STATE_ACCESSORS(sregs, sregs, struct hvabs_sregs, OP_GET_SREGS, OP_SET_SREGS)
STATE_ACCESSORS(fpu, fpu, struct hvabs_fpu, -1, -1)
STATE_ACCESSORS(lapic, lapic, struct hvabs_lapic, -1, -1)

int mock_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n)
{
	pthread_mutex_lock(&v->vm->lock);
	for (uint32_t i = 0; i < n; i++) {
		m[i].data = 0;
		for (uint32_t k = 0; k < v->nmsrs; k++)
			if (v->msrs[k].index == m[i].index)
				m[i].data = v->msrs[k].data;
	}
	pthread_mutex_unlock(&v->vm->lock);
	return 0;
}

int mock_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n)
{
	int rc = 0;

	pthread_mutex_lock(&v->vm->lock);
	for (uint32_t i = 0; i < n && !rc; i++) {
		uint32_t k = 0;
		while (k < v->nmsrs && v->msrs[k].index != m[i].index)
			k++;
		if (k == v->nmsrs) {
			if (v->nmsrs == sizeof(v->msrs) / sizeof(v->msrs[0])) {
				rc = -ENOSPC;
				break;
			}
			v->nmsrs++;
		}
		v->msrs[k] = m[i];
	}
	pthread_mutex_unlock(&v->vm->lock);
	return rc;
}

int mock_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n)
{
	(void)e;
	pthread_mutex_lock(&v->vm->lock);
	v->ncpuid = n;
	pthread_mutex_unlock(&v->vm->lock);
	return 0;
}

/* vCPU state blob: a version word, then regs and sregs. */
struct mock_vcpu_state {
	uint32_t version;
	uint32_t pad;
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
};

int mock_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len)
{
	struct mock_vcpu_state st = {.version = 1};

	if (!buf || *len < sizeof(st)) {
		*len = sizeof(st);
		return -ENOSPC;
	}
	pthread_mutex_lock(&v->vm->lock);
	st.regs = v->regs;
	st.sregs = v->sregs;
	pthread_mutex_unlock(&v->vm->lock);
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

int mock_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len)
{
	struct mock_vcpu_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.version != 1)
		return -EINVAL;
	pthread_mutex_lock(&v->vm->lock);
	v->regs = st.regs;
	v->sregs = st.sregs;
	pthread_mutex_unlock(&v->vm->lock);
	return 0;
}
