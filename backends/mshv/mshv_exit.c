/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intercept messages into exits, and the completion of the exits the core
 * handles (a port read's data, a hypercall's result) on the next run.
 *
 * MSHV leaves every intercepted instruction to the VMM: for port I/O the
 * message is decoded but the VMM must merge the data of an IN into RAX and
 * advance RIP by the instruction length the message gives; for an access to
 * unmapped guest memory it gets the instruction bytes and must emulate the
 * instruction; CPUID and MSR intercepts it must answer itself. HLT, the
 * EOI of a level-triggered interrupt and an unrecoverable exception (triple
 * fault) need no completion.
 */
#include <errno.h>
#include <string.h>

#include "mshv_priv.h"

/* Adds the instruction length to RIP and, for an IN, merges the data into RAX. */
static int complete_io(struct hvabs_be_vcpu *v, int is_in, uint32_t size, uint32_t len,
		       uint64_t value, int set_rax)
{
	struct hvabs_regs r;
	int rc = mshv_get_regs(v, &r);

	if (rc)
		return rc;
	if (set_rax) {
		r.rax = value;
	} else if (is_in) {
		/* SDM vol. 1 §3.4.1.1: a 32-bit destination zero-extends into RAX,
		 * an 8- or 16-bit one leaves the rest of RAX alone. */
		if (size == 4)
			r.rax = value & 0xffffffffull;
		else if (size == 2)
			r.rax = (r.rax & ~0xffffull) | (value & 0xffff);
		else
			r.rax = (r.rax & ~0xffull) | (value & 0xff);
	}
	r.rip += len;
	return mshv_set_regs(v, &r);
}

/*
 * Completes what the exit returned last asked for; called at the start of
 * each run with the caller's exit, where a hypercall's result is.
 */
int mshv_complete(struct hvabs_be_vcpu *v, const struct hvabs_exit *e)
{
	uint32_t pend = v->pend;
	uint64_t val = 0;
	int rc = 0;

	if (pend == MSHV_PEND_NONE)
		return 0;
	v->pend = MSHV_PEND_NONE;
	for (uint32_t i = 0; i < v->pend_size && i < 8; i++)
		val |= (uint64_t)v->io_data[i] << (8 * i);
	switch (pend) {
	case MSHV_PEND_IO_OUT:
		rc = complete_io(v, 0, v->pend_size, v->pend_insn_len, 0, 0);
		break;
	case MSHV_PEND_IO_IN:
		rc = complete_io(v, 1, v->pend_size, v->pend_insn_len, val, 0);
		break;
	case MSHV_PEND_HYPERCALL:
		rc = complete_io(v, 0, 8, v->pend_insn_len, e->u.hypercall.ret, 1);
		break;
	default:
		break;
	}
	return rc;
}

void mshv_internal_error(struct hvabs_be_vcpu *v, struct hvabs_exit *e, uint32_t suberror, int err,
			 uint64_t detail)
{
	const struct mshv_message *m = &v->buf.msg;
	struct mshv_intercept_header h;

	memcpy(&h, m->payload, sizeof(h));
	memset(&e->u, 0, sizeof(e->u));
	e->kind = HVABS_EXIT_INTERNAL_ERROR;
	e->raw_reason = m->type;
	e->u.internal.suberror = suberror;
	e->u.internal.ndata = 4;
	e->u.internal.data[0] = m->type;
	e->u.internal.data[1] = h.rip;
	e->u.internal.data[2] = (uint64_t)(int64_t)err;
	e->u.internal.data[3] = detail;
}

static int hypercall_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	struct mshv_msg_hypercall m;

	memcpy(&m, v->buf.msg.payload, sizeof(m));
	e->kind = HVABS_EXIT_HYPERCALL;
	/* The KVM convention (number in RAX, arguments in RBX, RCX, RDX, RSI),
	 * so a guest that makes such calls behaves the same on both. */
	e->u.hypercall.nr = m.rax;
	e->u.hypercall.args[0] = m.rbx;
	e->u.hypercall.args[1] = m.rcx;
	e->u.hypercall.args[2] = m.rdx;
	e->u.hypercall.args[3] = m.rsi;
	e->u.hypercall.args[4] = m.rdi;
	e->u.hypercall.args[5] = m.r8;
	e->u.hypercall.ret = 0;
	v->pend = MSHV_PEND_HYPERCALL;
	v->pend_size = 8;
	v->pend_insn_len = MSHV_HDR_INSN_LEN(&m.hdr);
	return 0;
}

static int eoi_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	struct mshv_msg_apic_eoi m;

	memcpy(&m, v->buf.msg.payload, sizeof(m));
	if (m.vector > 0xff) {
		mshv_internal_error(v, e, MSHV_ERR_HYPERVISOR, -EINVAL, m.vector);
		return 0;
	}
	e->kind = HVABS_EXIT_IOAPIC_EOI;
	e->u.eoi.vector = m.vector;
	return 0;
}

/* A failure the hypervisor reports about the guest: keep the message words for diagnosis. */
static int failure_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct mshv_message *m = &v->buf.msg;

	memset(&e->u, 0, sizeof(e->u));
	e->kind = HVABS_EXIT_INTERNAL_ERROR;
	e->u.internal.suberror = MSHV_ERR_HYPERVISOR;
	e->u.internal.ndata = 8;
	e->u.internal.data[0] = m->type;
	memcpy(&e->u.internal.data[1], m->payload, 7 * sizeof(uint64_t));
	mshv_log_guest(v->vm, "vcpu%u: hypervisor message 0x%x: the guest cannot continue",
		       v->index, m->type);
	return 0;
}

/*
 * Turns the message MSHV_RUN_VP returned into an exit (0), or handles it
 * and asks to run on (1), or fails (negative errno).
 */
int mshv_handle_message(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	const struct mshv_message *m = &v->buf.msg;
	int rc;

	memset(&e->u, 0, sizeof(e->u));
	e->flags = 0;
	e->raw_reason = m->type;
	switch (m->type) {
	case MSHV_MSG_X64_IO_PORT_INTERCEPT: {
		struct mshv_msg_io_port io;
		memcpy(&io, m->payload, sizeof(io));
		return mshv_handle_io(v, &io, e);
	}
	case MSHV_MSG_UNMAPPED_GPA:
	case MSHV_MSG_GPA_INTERCEPT: {
		struct mshv_msg_memory mem;
		memcpy(&mem, m->payload, sizeof(mem));
		return mshv_emulate_mmio(v, &mem, e);
	}
	case MSHV_MSG_X64_CPUID_INTERCEPT: {
		struct mshv_msg_cpuid c;
		memcpy(&c, m->payload, sizeof(c));
		rc = mshv_handle_cpuid(v, &c);
		if (!rc)
			return 1;
		mshv_internal_error(v, e, MSHV_ERR_INTERCEPT, rc, c.rax);
		return 0;
	}
	case MSHV_MSG_X64_MSR_INTERCEPT: {
		struct mshv_msg_msr msr;
		memcpy(&msr, m->payload, sizeof(msr));
		rc = mshv_handle_msr(v, &msr);
		if (!rc)
			return 1;
		mshv_internal_error(v, e, MSHV_ERR_INTERCEPT, rc, msr.msr);
		return 0;
	}
	case MSHV_MSG_X64_HALT:
		e->kind = HVABS_EXIT_HLT;
		return 0;
	case MSHV_MSG_UNRECOVERABLE_EXCEPTION:
		e->kind = HVABS_EXIT_SHUTDOWN;
		return 0;
	case MSHV_MSG_X64_APIC_EOI:
		return eoi_exit(v, e);
	case MSHV_MSG_HYPERCALL_INTERCEPT:
		return hypercall_exit(v, e);
	case MSHV_MSG_INVALID_VP_REGISTER_VALUE:
	case MSHV_MSG_UNSUPPORTED_FEATURE:
		return failure_exit(v, e);
	case MSHV_MSG_UNACCEPTED_GPA: {
		struct mshv_msg_memory mem;
		memcpy(&mem, m->payload, sizeof(mem));
		mshv_internal_error(v, e, MSHV_ERR_UNACCEPTED, -EFAULT, mem.gpa);
		return 0;
	}
	case MSHV_MSG_NONE:
		return 1; /* nothing to report: the dispatch ended without an intercept */
	default:
		e->kind = HVABS_EXIT_UNKNOWN;
		hvabs_host_logf(v->vm->host, HVABS_LOG_DEBUG, MSHV,
				"vcpu%u: unhandled hypervisor message 0x%x", v->index, m->type);
		return 0;
	}
}
