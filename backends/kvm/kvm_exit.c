/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Translation of struct kvm_run exits (api.rst 5) into struct hvabs_exit.
 * Port and MMIO data stay in the kvm_run page: a read's data written by the
 * VMM there is what KVM hands the guest on the next KVM_RUN, so no copy is
 * needed in either direction.
 */
#include <errno.h>
#include <string.h>

#include "kvm_priv.h"

static int exit_io(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct kvm_run *run = v->run;
	size_t run_size = v->vm->run_size;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;

	/* String I/O: `count` elements one after the other at data_offset (api.rst 5). */
	if (!(size == 1 || size == 2 || size == 4) || count == 0 || off > run_size ||
	    (uint64_t)size * count > run_size - off) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, KVM,
				"vcpu%u: malformed KVM_EXIT_IO (size %u count %u offset %llu)",
				v->index, size, count, (unsigned long long)off);
		return -EIO;
	}
	e->kind = HVABS_EXIT_IO;
	e->u.io.addr = run->io.port;
	e->u.io.size = size;
	e->u.io.count = count;
	e->u.io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
	e->u.io.data = (uint8_t *)v->run + off;
	return 0;
}

/*
 * Every MMIO exit passes here, and only here. With the backend option
 * crosscheck=1 the x86 emulator checks KVM's decoding of each one
 * (kvm_xcheck.c); without it the cross-check costs one pointer test.
 *
 * KVM splits an access that crosses a page into two exits, so `len` can be
 * 3, 5, 6 or 7; it is reported as is and the core refuses sizes its buses
 * cannot take.
 */
static int exit_mmio(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	struct kvm_run *run = v->run;

	if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data)) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, KVM,
				"vcpu%u: malformed KVM_EXIT_MMIO (len %u)", v->index,
				run->mmio.len);
		return -EIO;
	}
	e->kind = HVABS_EXIT_MMIO;
	e->u.mmio.addr = run->mmio.phys_addr;
	e->u.mmio.size = run->mmio.len;
	e->u.mmio.count = 1;
	e->u.mmio.is_write = run->mmio.is_write != 0;
	e->u.mmio.data = run->mmio.data;
	if (v->xc)
		kvm_xcheck_mmio(v);
	return 0;
}

static void exit_system_event(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct kvm_run *run = v->run;
	struct hvabs_exit_system_event *se = &e->u.system_event;
	uint32_t first = 0;

	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		e->kind = HVABS_EXIT_RESET;
		return;
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		se->type = HVABS_SYSTEM_EVENT_POWEROFF;
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		se->type = HVABS_SYSTEM_EVENT_CRASH;
		break;
	default:
		se->type = HVABS_SYSTEM_EVENT_OTHER;
		se->data[0] = run->system_event.type;
		first = 1;
		break;
	}
	e->kind = HVABS_EXIT_SYSTEM_EVENT;
	/* Before KVM_CAP_SYSTEM_EVENT_DATA there was one "flags" word and no ndata. */
	uint32_t n = run->system_event.ndata ? run->system_event.ndata : 1;
	for (uint32_t i = 0; i < n && first + i < 4 && i < 16; i++)
		se->data[first + i] = run->system_event.data[i];
	se->ndata = first + (n < 4 - first ? n : 4 - first);
}

static void exit_internal(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct kvm_run *run = v->run;
	struct hvabs_exit_internal *in = &e->u.internal;

	e->kind = HVABS_EXIT_INTERNAL_ERROR;
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		/* The hardware refused VM entry: keep its reason and the host CPU. */
		in->suberror = 0;
		in->ndata = 2;
		in->data[0] = run->fail_entry.hardware_entry_failure_reason;
		in->data[1] = run->fail_entry.cpu;
		kvm_log_guest(v->vm, "vcpu%u: VM entry failed, hardware reason 0x%llx", v->index,
			      (unsigned long long)in->data[0]);
		return;
	}
	in->suberror = run->internal.suberror;
	in->ndata = run->internal.ndata < 8 ? run->internal.ndata : 8;
	for (uint32_t i = 0; i < in->ndata; i++)
		in->data[i] = run->internal.data[i];
	kvm_log_guest(v->vm, "vcpu%u: KVM internal error, suberror %u", v->index, in->suberror);
}

int kvm_map_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct kvm_run *run = v->run;

	memset(&e->u, 0, sizeof(e->u));
	e->flags = 0;
	e->raw_reason = run->exit_reason;
	v->last_reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_io(v, e);
	case KVM_EXIT_MMIO:
		return exit_mmio(v, e);
	case KVM_EXIT_HLT:
		e->kind = HVABS_EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		e->kind = HVABS_EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		exit_system_event(v, e);
		return 0;
	case KVM_EXIT_HYPERCALL:
		e->kind = HVABS_EXIT_HYPERCALL;
		e->u.hypercall.nr = run->hypercall.nr;
		for (int i = 0; i < 6; i++)
			e->u.hypercall.args[i] = run->hypercall.args[i];
		return 0;
	case KVM_EXIT_IOAPIC_EOI:
		e->kind = HVABS_EXIT_IOAPIC_EOI;
		e->u.eoi.vector = run->eoi.vector;
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_FAIL_ENTRY:
		exit_internal(v, e);
		return 0;
	case KVM_EXIT_UNKNOWN:
		/* Keep the hardware's exit code too; raw_reason says it was KVM_EXIT_UNKNOWN. */
		e->u.internal.ndata = 1;
		e->u.internal.data[0] = run->hw.hardware_exit_reason;
		kvm_log_guest(v->vm, "vcpu%u: unknown exit, hardware reason 0x%llx", v->index,
			      (unsigned long long)run->hw.hardware_exit_reason);
		break;
	default:
		kvm_log_guest(v->vm, "vcpu%u: unexpected KVM exit reason %u", v->index,
			      run->exit_reason);
		break;
	}
	e->kind = HVABS_EXIT_UNKNOWN;
	return 0;
}

/* Hands KVM what the VMM answered to the previous exit, before the next KVM_RUN. */
void kvm_complete_exit(struct hvabs_be_vcpu *v, const struct hvabs_exit *e)
{
	if (v->last_reason == KVM_EXIT_HYPERCALL)
		v->run->hypercall.ret = e->u.hypercall.ret;
	else if (v->last_reason == KVM_EXIT_MMIO && v->xc)
		kvm_xcheck_complete(v); /* the VMM's answer to a read, for the write that follows */
	v->last_reason = 0;
}
