/* SPDX-License-Identifier: Apache-2.0 */
/* vCPUs: lifetime, register access, the dispatching run loop and statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

static const char *const exit_names[HVABS_EXIT_KIND_COUNT] = {
    "none",	    "io",	 "mmio",       "hlt",	   "shutdown",	     "reset",
    "system-event", "hypercall", "ioapic-eoi", "canceled", "internal-error", "unknown",
};

const char *hvabs_exit_kind_name(uint32_t kind)
{
	return kind < HVABS_EXIT_KIND_COUNT ? exit_names[kind] : "invalid";
}

int hvabs_vcpu_create(struct hvabs_vm *vm, uint32_t index, struct hvabs_vcpu **out)
{
	struct hvabs_vcpu *v;
	int rc;

	if (!vm || !out || index >= vm->max_vcpus)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->index = index;
	pthread_mutex_lock(&vm->lock);
	if (vm->vcpus[index]) {
		rc = -EEXIST;
		goto err;
	}
	rc = vm->be->ops->vcpu_create(vm->bvm, index, &v->bvcpu);
	if (rc)
		goto err;
	vm->vcpus[index] = v;
	pthread_mutex_unlock(&vm->lock);
	*out = v;
	return 0;
err:
	pthread_mutex_unlock(&vm->lock);
	free(v);
	return rc;
}

void hvabs_vcpu_destroy(struct hvabs_vcpu *v)
{
	if (!v)
		return;
	struct hvabs_vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	vm->vcpus[v->index] = NULL;
	pthread_mutex_unlock(&vm->lock);
	vm->be->ops->vcpu_destroy(v->bvcpu);
	free(v);
}

uint32_t hvabs_vcpu_index(const struct hvabs_vcpu *v)
{
	return v->index;
}

struct hvabs_vm *hvabs_vcpu_vm(const struct hvabs_vcpu *v)
{
	return v->vm;
}

int hvabs_vcpu_run(struct hvabs_vcpu *v, struct hvabs_exit *exit)
{
	if (!exit)
		return -EINVAL;
	exit->hdr = HVABS_HDR_INIT(struct hvabs_exit);
	exit->kind = HVABS_EXIT_NONE;
	stat_inc(&v->stats.runs);
	int rc = v->vm->be->ops->vcpu_run(v->bvcpu, exit);
	if (rc)
		return rc;
	if (exit->kind == HVABS_EXIT_NONE || exit->kind >= HVABS_EXIT_KIND_COUNT)
		exit->kind = HVABS_EXIT_UNKNOWN;
	stat_inc(&v->stats.exits[exit->kind]);
	return 0;
}

static int valid_size(uint32_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static const struct hvabs_exit_access *exit_access(const struct hvabs_exit *exit)
{
	if (!exit)
		return NULL;
	return exit->kind == HVABS_EXIT_IO     ? &exit->u.io
	       : exit->kind == HVABS_EXIT_MMIO ? &exit->u.mmio
					       : NULL;
}

uint32_t hvabs_exit_access_count(const struct hvabs_exit *exit)
{
	const struct hvabs_exit_access *a = exit_access(exit);
	uint32_t count = a && a->count ? a->count : 1;

	if (!a || !valid_size(a->size) || !a->data || count > (1u << 20))
		return 0;
	return count;
}

int hvabs_exit_access_element(const struct hvabs_exit *exit, uint32_t index,
			      struct hvabs_exit_element *out)
{
	const struct hvabs_exit_access *a = exit_access(exit);

	if (!out || index >= hvabs_exit_access_count(exit))
		return -EINVAL;
	out->addr = a->addr;
	/* Port string I/O repeats one port; memory string operands move with DF (SDM vol. 2, MOVS). */
	if (exit->kind == HVABS_EXIT_MMIO)
		out->addr = a->df ? a->addr - (uint64_t)index * a->size
				  : a->addr + (uint64_t)index * a->size;
	out->value = hvabs_le_load(a->data + (size_t)index * a->size, a->size);
	out->size = a->size;
	out->is_write = a->is_write ? 1 : 0;
	return 0;
}

/* Sends every element of an I/O or MMIO exit to the bus, in guest order. */
static void dispatch_access(struct hvabs_vcpu *v, struct hvabs_exit *exit)
{
	struct hvabs_vm *vm = v->vm;
	uint32_t space = exit->kind == HVABS_EXIT_IO ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO;
	struct hvabs_exit_access *a = exit->kind == HVABS_EXIT_IO ? &exit->u.io : &exit->u.mmio;
	uint32_t count = hvabs_exit_access_count(exit);
	struct hvabs_exit_element el;

	if (!count) {
		uint32_t n = a->count ? a->count : 1;
		hvabs_log_ratelimited(&vm->be->logger, &vm->unhandled_rl, HVABS_LOG_WARN, CORE,
				      "vcpu%u: %s access of size %u x %u at 0x%llx refused",
				      v->index, space == HVABS_SPACE_PIO ? "port" : "MMIO", a->size,
				      n, (unsigned long long)a->addr);
		if (!a->is_write && a->data && a->size <= 8 && n <= (1u << 20))
			memset(a->data, 0xff, (size_t)a->size * n);
		return;
	}
	for (uint32_t i = 0; i < count && hvabs_exit_access_element(exit, i, &el) == 0; i++) {
		uint64_t val = el.is_write ? el.value : 0;
		if (el.is_write && core_ioev_fallback(vm, space, el.addr, el.size, val) == 0) {
			stat_inc(&v->stats.ioeventfd_fallback);
			continue;
		}
		if (core_bus_dispatch(vm, space, el.addr, el.size, el.is_write, &val) < 0) {
			stat_inc(space == HVABS_SPACE_PIO ? &v->stats.io_unhandled
							  : &v->stats.mmio_unhandled);
			hvabs_log_ratelimited(&vm->be->logger, &vm->unhandled_rl, HVABS_LOG_DEBUG,
					      CORE, "vcpu%u: unhandled %s %s of size %u at 0x%llx",
					      v->index, space == HVABS_SPACE_PIO ? "port" : "MMIO",
					      el.is_write ? "write" : "read", el.size,
					      (unsigned long long)el.addr);
			val = ~0ull;
		}
		if (!el.is_write)
			hvabs_le_store(a->data + (size_t)i * el.size, el.size, val);
	}
}

/* Turns a device's stop request into the exit the run loop reports. */
static void stop_exit(struct hvabs_exit *exit, int reason)
{
	memset(&exit->u, 0, sizeof(exit->u));
	exit->raw_reason = 0;
	switch (reason) {
	case HVABS_STOP_RESET:
		exit->kind = HVABS_EXIT_RESET;
		break;
	case HVABS_STOP_POWEROFF:
	case HVABS_STOP_CRASH:
		exit->kind = HVABS_EXIT_SYSTEM_EVENT;
		exit->u.system_event.type = reason == HVABS_STOP_POWEROFF
						? HVABS_SYSTEM_EVENT_POWEROFF
						: HVABS_SYSTEM_EVENT_CRASH;
		break;
	default:
		exit->kind = HVABS_EXIT_CANCELED;
		break;
	}
}

int hvabs_vcpu_run_loop(struct hvabs_vcpu *v, struct hvabs_exit *exit)
{
	struct hvabs_vm *vm = v->vm;

	if (!exit)
		return -EINVAL;
	for (;;) {
		int stop = atomic_load_explicit(&vm->stop_reason, memory_order_acquire);
		if (stop) {
			stop_exit(exit, stop);
			if (v->trace)
				v->trace(v->trace_opaque, v, exit);
			return 0;
		}
		int rc = hvabs_vcpu_run(v, exit);
		if (rc)
			return rc;
		switch (exit->kind) {
		case HVABS_EXIT_IO:
		case HVABS_EXIT_MMIO:
			dispatch_access(v, exit);
			break;
		case HVABS_EXIT_IOAPIC_EOI:
			if (vm->eoi_fn)
				vm->eoi_fn(vm->eoi_opaque, exit->u.eoi.vector);
			break;
		case HVABS_EXIT_CANCELED:
			if (atomic_load(&vm->stop_reason)) {
				atomic_store(&v->stop_kick, 0);
				continue; /* reported at the top of the loop */
			}
			if (atomic_exchange(&v->stop_kick, 0))
				continue; /* the kick of a stop that was cleared since */
			break;
		default:
			break;
		}
		if (v->trace)
			v->trace(v->trace_opaque, v, exit);
		if (exit->kind != HVABS_EXIT_IO && exit->kind != HVABS_EXIT_MMIO &&
		    exit->kind != HVABS_EXIT_IOAPIC_EOI)
			return 0;
	}
}

void hvabs_vcpu_set_trace(struct hvabs_vcpu *v, hvabs_trace_fn fn, void *opaque)
{
	v->trace = NULL;
	v->trace_opaque = opaque;
	v->trace = fn;
}

int hvabs_vcpu_kick(struct hvabs_vcpu *v)
{
	if (!v)
		return -EINVAL;
	return v->vm->be->ops->vcpu_kick(v->bvcpu);
}

/*
 * Register accessors. The core stamps the header so users never see it, and
 * for writes copies the caller's struct so a const argument stays untouched.
 */
#define OPS(v) ((v)->vm->be->ops)

int hvabs_vcpu_get_regs(struct hvabs_vcpu *v, struct hvabs_regs *r)
{
	if (!r)
		return -EINVAL;
	r->hdr = HVABS_HDR_INIT(struct hvabs_regs);
	return OPS(v)->get_regs(v->bvcpu, r);
}

int hvabs_vcpu_set_regs(struct hvabs_vcpu *v, const struct hvabs_regs *r)
{
	if (!r)
		return -EINVAL;
	struct hvabs_regs c = *r;
	c.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	return OPS(v)->set_regs(v->bvcpu, &c);
}

int hvabs_vcpu_get_sregs(struct hvabs_vcpu *v, struct hvabs_sregs *s)
{
	if (!s)
		return -EINVAL;
	s->hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	return OPS(v)->get_sregs(v->bvcpu, s);
}

int hvabs_vcpu_set_sregs(struct hvabs_vcpu *v, const struct hvabs_sregs *s)
{
	if (!s)
		return -EINVAL;
	struct hvabs_sregs c = *s;
	c.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	return OPS(v)->set_sregs(v->bvcpu, &c);
}

int hvabs_vcpu_get_fpu(struct hvabs_vcpu *v, struct hvabs_fpu *f)
{
	if (!f)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, get_fpu))
		return -ENOTSUP;
	f->hdr = HVABS_HDR_INIT(struct hvabs_fpu);
	return OPS(v)->get_fpu(v->bvcpu, f);
}

int hvabs_vcpu_set_fpu(struct hvabs_vcpu *v, const struct hvabs_fpu *f)
{
	if (!f)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, set_fpu))
		return -ENOTSUP;
	struct hvabs_fpu c = *f;
	c.hdr = HVABS_HDR_INIT(struct hvabs_fpu);
	return OPS(v)->set_fpu(v->bvcpu, &c);
}

int hvabs_vcpu_get_msrs(struct hvabs_vcpu *v, struct hvabs_msr_entry *m, uint32_t count)
{
	if (!m && count)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, get_msrs))
		return -ENOTSUP;
	return OPS(v)->get_msrs(v->bvcpu, m, count);
}

int hvabs_vcpu_set_msrs(struct hvabs_vcpu *v, const struct hvabs_msr_entry *m, uint32_t count)
{
	if (!m && count)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, set_msrs))
		return -ENOTSUP;
	return OPS(v)->set_msrs(v->bvcpu, m, count);
}

int hvabs_vcpu_set_cpuid(struct hvabs_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t count)
{
	if (!e && count)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, set_cpuid))
		return -ENOTSUP;
	return OPS(v)->set_cpuid(v->bvcpu, e, count);
}

int hvabs_vcpu_get_lapic(struct hvabs_vcpu *v, struct hvabs_lapic *l)
{
	if (!l)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, get_lapic))
		return -ENOTSUP;
	l->hdr = HVABS_HDR_INIT(struct hvabs_lapic);
	return OPS(v)->get_lapic(v->bvcpu, l);
}

int hvabs_vcpu_set_lapic(struct hvabs_vcpu *v, const struct hvabs_lapic *l)
{
	if (!l)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, set_lapic))
		return -ENOTSUP;
	struct hvabs_lapic *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *l;
	c->hdr = HVABS_HDR_INIT(struct hvabs_lapic);
	int rc = OPS(v)->set_lapic(v->bvcpu, c);
	free(c);
	return rc;
}

int hvabs_vcpu_get_state(struct hvabs_vcpu *v, void *buf, size_t *len)
{
	if (!len)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, vcpu_get_state))
		return -ENOTSUP;
	return OPS(v)->vcpu_get_state(v->bvcpu, buf, len);
}

int hvabs_vcpu_set_state(struct hvabs_vcpu *v, const void *buf, size_t len)
{
	if (!buf)
		return -EINVAL;
	if (!BE_HAS(v->vm->be, vcpu_set_state))
		return -ENOTSUP;
	return OPS(v)->vcpu_set_state(v->bvcpu, buf, len);
}

static void add_stats(const struct stats *s, struct hvabs_stats *out)
{
	out->runs += atomic_load_explicit(&s->runs, memory_order_relaxed);
	for (int k = 0; k < HVABS_EXIT_KIND_COUNT; k++)
		out->exits[k] += atomic_load_explicit(&s->exits[k], memory_order_relaxed);
	out->io_unhandled += atomic_load_explicit(&s->io_unhandled, memory_order_relaxed);
	out->mmio_unhandled += atomic_load_explicit(&s->mmio_unhandled, memory_order_relaxed);
	out->ioeventfd_fallback +=
	    atomic_load_explicit(&s->ioeventfd_fallback, memory_order_relaxed);
}

void hvabs_vcpu_get_stats(const struct hvabs_vcpu *v, struct hvabs_stats *out)
{
	memset(out, 0, sizeof(*out));
	add_stats(&v->stats, out);
}

void hvabs_vm_get_stats(const struct hvabs_vm *vm, struct hvabs_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&((struct hvabs_vm *)vm)->lock);
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		if (vm->vcpus[i])
			add_stats(&vm->vcpus[i]->stats, out);
	pthread_mutex_unlock(&((struct hvabs_vm *)vm)->lock);
}
