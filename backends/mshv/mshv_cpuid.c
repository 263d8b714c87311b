/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID and MSR intercepts.
 *
 * CPUID: a VMM that calls set_cpuid gets a global CPUID intercept on the
 * partition, and every CPUID the guest executes comes here. The answer is
 * the VMM's entry for the leaf (and sub-leaf, when indexed), else the answer
 * the hypervisor put in the message; the bits only the hypervisor knows are
 * always taken from its answer: the APIC IDs (leaf 1 EBX[31:24], x2APIC ID
 * in leaves 0xB and 0x1F EDX) and the bits that mirror CR4 (OSXSAVE, OSPKE).
 *
 * MSR: the partition is created with unimplemented MSRs reading zero, so
 * intercepts are rare; an RDMSR answers what the guest last wrote through an
 * intercept (0 at first), a WRMSR is remembered.
 *
 * Both advance RIP by the instruction length the message gives.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mshv_priv.h"

/* ---- what the hypervisor can offer ---- */

struct cpuid_buf {
	struct hvabs_cpuid_entry *e;
	uint32_t cap, n;
};

static void put(struct cpuid_buf *b, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a,
		uint32_t bx, uint32_t c, uint32_t d)
{
	if (b->n < b->cap) {
		struct hvabs_cpuid_entry *x = &b->e[b->n];
		memset(x, 0, sizeof(*x));
		x->function = fn;
		x->index = idx;
		x->flags = flags;
		x->eax = a;
		x->ebx = bx;
		x->ecx = c;
		x->edx = d;
	}
	b->n++;
}

/* Leaves with sub-leaves, and how many to report of each (SDM vol. 2A, CPUID). */
static uint32_t subleaves(uint32_t fn, uint32_t sub, uint32_t a, uint32_t bx, uint32_t c,
			  uint32_t max7)
{
	switch (fn) {
	case 4: /* deterministic cache parameters: until the cache type is 0 */
		return (a & 0x1f) ? sub + 2 : 0;
	case 7:
		return max7 + 1;
	case 0xb:
	case 0x1f: /* topology: until the level type is 0 */
		return ((c >> 8) & 0xff) ? sub + 2 : 0;
	case 0xd: /* XSAVE components 0-63 */
		return 64;
	default:
		(void)bx;
		return 1;
	}
}

static int indexed(uint32_t fn)
{
	return fn == 4 || fn == 7 || fn == 0xb || fn == 0xd || fn == 0xf || fn == 0x10 ||
	       fn == 0x12 || fn == 0x14 || fn == 0x17 || fn == 0x18 || fn == 0x1d || fn == 0x1e ||
	       fn == 0x1f;
}

static void host_range(struct cpuid_buf *b, uint32_t first, uint32_t last_cap)
{
	unsigned a, bx, c, d;

	__cpuid_count(first, 0, a, bx, c, d);
	uint32_t last = a < last_cap ? a : last_cap;
	if (a < first)
		return;
	for (uint32_t fn = first; fn <= last; fn++) {
		if (!indexed(fn)) {
			__cpuid_count(fn, 0, a, bx, c, d);
			/* SDM vol. 3 §25.x / §2.x: no VMX, SMX, MONITOR or SVM inside; a hypervisor is present. */
			if (fn == 1)
				c = (c & ~((1u << 3) | (1u << 5) | (1u << 6))) | (1u << 31);
			if (fn == 0x80000001)
				c &= ~(1u << 2);
			put(b, fn, 0, 0, a, bx, c, d);
			continue;
		}
		__cpuid_count(fn, 0, a, bx, c, d);
		uint32_t max7 = fn == 7 ? (a < 8 ? a : 8) : 0;
		uint32_t limit = 1;
		for (uint32_t sub = 0; sub < limit && sub < 64; sub++) {
			__cpuid_count(fn, sub, a, bx, c, d);
			uint32_t more = subleaves(fn, sub, a, bx, c, max7);
			if (fn == 0xd && sub > 1 && !(a | bx | c | d))
				continue;
			if ((fn == 4 || fn == 0xb || fn == 0x1f) && sub > 0 && !more)
				break;
			put(b, fn, sub, HVABS_CPUID_F_INDEXED, a, bx, c, d);
			if (more > limit)
				limit = more;
		}
	}
}

/*
 * The host's CPUID as the root partition sees it, filtered, plus the
 * hypervisor leaves a guest of Microsoft Hypervisor finds (TLFS §2.4):
 * 0x40000000 with the vendor "Microsoft Hv" and 0x40000001 with "Hv#1".
 * The other hypervisor leaves are the hypervisor's to answer.
 */
int mshv_get_supported_cpuid(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *e, uint32_t *n)
{
	struct cpuid_buf b = {e, *n, 0};

	(void)vm;
	host_range(&b, 0, 0x1f);
	put(&b, 0x40000000, 0, 0, 0x40000005, 0x7263694d, 0x666f736f, 0x76482074);
	put(&b, 0x40000001, 0, 0, 0x31237648, 0, 0, 0);
	host_range(&b, 0x80000000, 0x80000021);
	if (b.n > *n)
		return -E2BIG;
	*n = b.n;
	return 0;
}

int mshv_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n)
{
	struct hvabs_be_vm *vm = v->vm;
	struct hvabs_cpuid_entry *copy = NULL;
	int rc = 0;

	if (n > 1024)
		return -E2BIG;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, e, n * sizeof(*copy));
	}
	pthread_mutex_lock(&vm->lock);
	if (n && !vm->cpuid_intercept) {
		struct mshv_in_install_intercept in = {
		    .access_mask = MSHV_INTERCEPT_ACCESS_MASK_EXECUTE,
		    .type = MSHV_INTERCEPT_X64_GLOBAL_CPUID,
		};
		rc = mshv_hvcall(vm->sys, vm->pt_fd, MSHV_HVCALL_INSTALL_INTERCEPT, 0, &in,
				 sizeof(in), NULL, 0);
		if (rc)
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV,
					"installing the CPUID intercept: %s", strerror(-rc));
		vm->cpuid_intercept = rc == 0;
	}
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		free(copy);
		return rc;
	}
	free(v->cpuid);
	v->cpuid = copy;
	v->ncpuid = n;
	return 0;
}

/* ---- intercepts ---- */

static const struct hvabs_cpuid_entry *find_leaf(const struct hvabs_be_vcpu *v, uint32_t fn,
						 uint32_t idx)
{
	for (uint32_t i = 0; i < v->ncpuid; i++) {
		const struct hvabs_cpuid_entry *x = &v->cpuid[i];
		if (x->function == fn && (!(x->flags & HVABS_CPUID_F_INDEXED) || x->index == idx))
			return x;
	}
	return NULL;
}

int mshv_handle_cpuid(struct hvabs_be_vcpu *v, const struct mshv_msg_cpuid *m)
{
	uint32_t fn = (uint32_t)m->rax, idx = (uint32_t)m->rcx;
	uint32_t a = (uint32_t)m->default_rax, b = (uint32_t)m->default_rbx;
	uint32_t c = (uint32_t)m->default_rcx, d = (uint32_t)m->default_rdx;
	const struct hvabs_cpuid_entry *x = find_leaf(v, fn, idx);
	struct hvabs_regs r;

	if (x) {
		a = x->eax;
		b = x->ebx;
		c = x->ecx;
		d = x->edx;
		if (fn == 1) {
			b = (b & 0x00ffffffu) | ((uint32_t)m->default_rbx & 0xff000000u);
			c = (c & ~(1u << 27)) | ((uint32_t)m->default_rcx & (1u << 27));
		} else if (fn == 7 && idx == 0) {
			c = (c & ~(1u << 4)) | ((uint32_t)m->default_rcx & (1u << 4));
		} else if (fn == 0xb || fn == 0x1f) {
			d = (uint32_t)m->default_rdx;
		}
	}
	int rc = mshv_get_regs(v, &r);
	if (rc)
		return rc;
	r.rax = a;
	r.rbx = b;
	r.rcx = c;
	r.rdx = d;
	r.rip += MSHV_HDR_INSN_LEN(&m->hdr);
	return mshv_set_regs(v, &r);
}

int mshv_handle_msr(struct hvabs_be_vcpu *v, const struct mshv_msg_msr *m)
{
	struct mshv_msr_value *slot = NULL;
	struct hvabs_regs r;

	for (uint32_t i = 0; i < v->nmsrs; i++)
		if (v->msrs[i].index == m->msr)
			slot = &v->msrs[i];
	int rc = mshv_get_regs(v, &r);
	if (rc)
		return rc;
	if (m->hdr.access_type == MSHV_ACCESS_WRITE) {
		uint64_t val = (m->rdx << 32) | (m->rax & 0xffffffffull);
		if (!slot && v->nmsrs < MSHV_MSR_STORE) {
			slot = &v->msrs[v->nmsrs++];
			slot->index = m->msr;
		}
		if (slot)
			slot->value = val;
		else
			mshv_log_guest(v->vm,
				       "vcpu%u: WRMSR 0x%x: too many intercepted MSRs, dropped",
				       v->index, m->msr);
	} else if (m->hdr.access_type == MSHV_ACCESS_READ) {
		uint64_t val = slot ? slot->value : 0;
		r.rax = val & 0xffffffffull;
		r.rdx = val >> 32;
	} else {
		return -EINVAL;
	}
	hvabs_host_logf(v->vm->host, HVABS_LOG_DEBUG, MSHV, "vcpu%u: %s 0x%x intercepted", v->index,
			m->hdr.access_type == MSHV_ACCESS_WRITE ? "WRMSR" : "RDMSR", m->msr);
	r.rip += MSHV_HDR_INSN_LEN(&m->hdr);
	return mshv_set_regs(v, &r);
}
