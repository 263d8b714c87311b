/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Register state: hvabs structs <-> KVM structs, field by field (the two
 * layouts agree today but are separate ABIs, so nothing is cast). MSRs,
 * CPUID and the local APIC page are here too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"

/* KVM_MAX_CPUID_ENTRIES is 256 today; leave room for it to grow. */
#define MAX_CPUID 4096u
#define MAX_MSRS  4096u

_Static_assert(sizeof(((struct kvm_lapic_state *)0)->regs) ==
		   sizeof(((struct hvabs_lapic *)0)->regs),
	       "LAPIC page sizes differ");
_Static_assert(sizeof(((struct kvm_fpu *)0)->xmm) == sizeof(((struct hvabs_fpu *)0)->xmm),
	       "XMM sizes differ");

int kvm_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r)
{
	struct kvm_regs k;
	int rc = kvm_vcpu_ioctl(v, KVM_GET_REGS, &k);

	if (rc)
		return rc;
	r->rax = k.rax;
	r->rbx = k.rbx;
	r->rcx = k.rcx;
	r->rdx = k.rdx;
	r->rsi = k.rsi;
	r->rdi = k.rdi;
	r->rsp = k.rsp;
	r->rbp = k.rbp;
	r->r8 = k.r8;
	r->r9 = k.r9;
	r->r10 = k.r10;
	r->r11 = k.r11;
	r->r12 = k.r12;
	r->r13 = k.r13;
	r->r14 = k.r14;
	r->r15 = k.r15;
	r->rip = k.rip;
	r->rflags = k.rflags;
	return 0;
}

int kvm_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r)
{
	struct kvm_regs k = {
	    .rax = r->rax,
	    .rbx = r->rbx,
	    .rcx = r->rcx,
	    .rdx = r->rdx,
	    .rsi = r->rsi,
	    .rdi = r->rdi,
	    .rsp = r->rsp,
	    .rbp = r->rbp,
	    .r8 = r->r8,
	    .r9 = r->r9,
	    .r10 = r->r10,
	    .r11 = r->r11,
	    .r12 = r->r12,
	    .r13 = r->r13,
	    .r14 = r->r14,
	    .r15 = r->r15,
	    .rip = r->rip,
	    .rflags = r->rflags,
	};

	return kvm_vcpu_ioctl(v, KVM_SET_REGS, &k);
}

static void seg_from_kvm(struct hvabs_segment *h, const struct kvm_segment *k)
{
	h->base = k->base;
	h->limit = k->limit;
	h->selector = k->selector;
	h->type = k->type;
	h->present = k->present;
	h->dpl = k->dpl;
	h->db = k->db;
	h->s = k->s;
	h->l = k->l;
	h->g = k->g;
	h->avl = k->avl;
	h->unusable = k->unusable;
	h->pad = 0;
}

static void seg_to_kvm(struct kvm_segment *k, const struct hvabs_segment *h)
{
	k->base = h->base;
	k->limit = h->limit;
	k->selector = h->selector;
	k->type = h->type;
	k->present = h->present;
	k->dpl = h->dpl;
	k->db = h->db;
	k->s = h->s;
	k->l = h->l;
	k->g = h->g;
	k->avl = h->avl;
	k->unusable = h->unusable;
	k->padding = 0;
}

int kvm_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s)
{
	struct kvm_sregs k;
	int rc = kvm_vcpu_ioctl(v, KVM_GET_SREGS, &k);

	if (rc)
		return rc;
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct hvabs_dtable){.base = k.gdt.base, .limit = k.gdt.limit};
	s->idt = (struct hvabs_dtable){.base = k.idt.base, .limit = k.idt.limit};
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

int kvm_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s)
{
	struct kvm_sregs k;
	/*
	 * Read first: interrupt_bitmap carries an external interrupt KVM has
	 * accepted but not yet delivered, and writing zeros there would drop
	 * it (api.rst 4.13).
	 */
	int rc = kvm_vcpu_ioctl(v, KVM_GET_SREGS, &k);

	if (rc)
		return rc;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	k.apic_base = s->apic_base;
	return kvm_vcpu_ioctl(v, KVM_SET_SREGS, &k);
}

/*
 * x87/SSE state. KVM_GET_FPU and KVM_SET_FPU leave MXCSR out (the kernel
 * neither reports nor loads it), so with KVM_CAP_XSAVE the state goes through
 * the legacy region of KVM_GET/SET_XSAVE instead, whose first 512 bytes are
 * the FXSAVE image (SDM vol. 1 table 10-2); AVX and later state is kept.
 */
#define FX_FCW	       0
#define FX_FSW	       2
#define FX_FTW	       4
#define FX_FOP	       6
#define FX_FIP	       8
#define FX_FDP	       16
#define FX_MXCSR       24
#define FX_ST	       32
#define FX_XMM	       160
#define XSTATE_BV      512
#define XFEATURE_FPSSE 3ull /* x87 | SSE: the legacy region is live */

static int fpu_get_legacy(struct hvabs_be_vcpu *v, struct hvabs_fpu *f)
{
	struct kvm_fpu k;
	int rc = kvm_vcpu_ioctl(v, KVM_GET_FPU, &k);

	if (rc)
		return rc;
	memcpy(f->fpr, k.fpr, sizeof(f->fpr));
	f->fcw = k.fcw;
	f->fsw = k.fsw;
	f->ftwx = k.ftwx;
	f->pad1 = 0;
	f->last_opcode = k.last_opcode;
	f->last_ip = k.last_ip;
	f->last_dp = k.last_dp;
	memcpy(f->xmm, k.xmm, sizeof(f->xmm));
	f->mxcsr = k.mxcsr;
	f->pad2 = 0;
	return 0;
}

static int fpu_set_legacy(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f)
{
	struct kvm_fpu k;

	memset(&k, 0, sizeof(k));
	memcpy(k.fpr, f->fpr, sizeof(k.fpr));
	k.fcw = f->fcw;
	k.fsw = f->fsw;
	k.ftwx = f->ftwx;
	k.last_opcode = f->last_opcode;
	k.last_ip = f->last_ip;
	k.last_dp = f->last_dp;
	memcpy(k.xmm, f->xmm, sizeof(k.xmm));
	k.mxcsr = f->mxcsr;
	return kvm_vcpu_ioctl(v, KVM_SET_FPU, &k);
}

int kvm_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f)
{
	if (!v->vm->has_xsave)
		return fpu_get_legacy(v, f);
	struct kvm_xsave *x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	int rc = kvm_vcpu_ioctl(v, KVM_GET_XSAVE, x);
	if (!rc) {
		const uint8_t *p = (const uint8_t *)x->region;
		memcpy(&f->fcw, p + FX_FCW, 2);
		memcpy(&f->fsw, p + FX_FSW, 2);
		f->ftwx = p[FX_FTW];
		f->pad1 = 0;
		memcpy(&f->last_opcode, p + FX_FOP, 2);
		memcpy(&f->last_ip, p + FX_FIP, 8);
		memcpy(&f->last_dp, p + FX_FDP, 8);
		memcpy(&f->mxcsr, p + FX_MXCSR, 4);
		f->pad2 = 0;
		memcpy(f->fpr, p + FX_ST, sizeof(f->fpr));
		memcpy(f->xmm, p + FX_XMM, sizeof(f->xmm));
	}
	free(x);
	return rc;
}

int kvm_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f)
{
	if (!v->vm->has_xsave)
		return fpu_set_legacy(v, f);
	struct kvm_xsave *x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	int rc = kvm_vcpu_ioctl(v, KVM_GET_XSAVE, x);
	if (!rc) {
		uint8_t *p = (uint8_t *)x->region;
		uint64_t bv;
		memcpy(p + FX_FCW, &f->fcw, 2);
		memcpy(p + FX_FSW, &f->fsw, 2);
		p[FX_FTW] = f->ftwx;
		memcpy(p + FX_FOP, &f->last_opcode, 2);
		memcpy(p + FX_FIP, &f->last_ip, 8);
		memcpy(p + FX_FDP, &f->last_dp, 8);
		memcpy(p + FX_MXCSR, &f->mxcsr, 4);
		memcpy(p + FX_ST, f->fpr, sizeof(f->fpr));
		memcpy(p + FX_XMM, f->xmm, sizeof(f->xmm));
		/* A component whose XSTATE_BV bit is clear would be loaded in its init state. */
		memcpy(&bv, p + XSTATE_BV, 8);
		bv |= XFEATURE_FPSSE;
		memcpy(p + XSTATE_BV, &bv, 8);
		rc = kvm_vcpu_ioctl(v, KVM_SET_XSAVE, x);
	}
	free(x);
	return rc;
}

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *k = calloc(1, sizeof(*k) + (size_t)n * sizeof(k->entries[0]));

	if (k)
		k->nmsrs = n;
	return k;
}

/*
 * KVM_GET/SET_MSRS return how many entries they processed and stop at the
 * first MSR they refuse (api.rst 4.18, 4.19). Here that becomes 0 when all
 * @p n went through and -EINVAL otherwise, with the refused MSR logged. A
 * read writes nothing back unless all succeeded; a write that fails at entry
 * k has already written entries 0 .. k-1.
 */
static int msrs_xfer(struct hvabs_be_vcpu *v, struct kvm_msrs *k, unsigned long req,
		     const char *what)
{
	int rc = kvm_vcpu_ioctl(v, req, k);

	if (rc < 0)
		return rc;
	if ((uint32_t)rc < k->nmsrs) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, KVM,
				"vcpu%u: %s: MSR 0x%x (entry %d of %u) refused", v->index, what,
				k->entries[rc].index, rc, k->nmsrs);
		return -EINVAL;
	}
	return 0;
}

int kvm_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n)
{
	if (n > MAX_MSRS)
		return -E2BIG;
	if (n == 0)
		return 0;
	struct kvm_msrs *k = msrs_alloc(n);
	if (!k)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		k->entries[i].index = m[i].index;
	int rc = msrs_xfer(v, k, KVM_GET_MSRS, "KVM_GET_MSRS");
	if (!rc)
		for (uint32_t i = 0; i < n; i++)
			m[i].data = k->entries[i].data;
	free(k);
	return rc;
}

int kvm_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n)
{
	if (n > MAX_MSRS)
		return -E2BIG;
	if (n == 0)
		return 0;
	struct kvm_msrs *k = msrs_alloc(n);
	if (!k)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		k->entries[i].index = m[i].index;
		k->entries[i].data = m[i].data;
	}
	int rc = msrs_xfer(v, k, KVM_SET_MSRS, "KVM_SET_MSRS");
	free(k);
	return rc;
}

/*
 * What KVM can offer a guest, hypervisor leaves 0x40000000 ("KVMKVMKVM") and
 * 0x40000001 (paravirtual features) included: they are passed on as KVM
 * reports them for the VMM to filter and hand to set_cpuid.
 */
int kvm_get_supported_cpuid(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *e, uint32_t *n)
{
	struct kvm_cpuid2 *c = NULL;
	int rc = -E2BIG;

	/* KVM says E2BIG until the buffer is large enough (api.rst 4.46). */
	for (uint32_t cap = 256; cap <= MAX_CPUID && rc == -E2BIG; cap *= 2) {
		free(c);
		c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = cap;
		rc = kvm_dev_ioctl(vm, KVM_GET_SUPPORTED_CPUID, c);
	}
	if (!rc && c->nent > *n)
		rc = -E2BIG;
	if (!rc) {
		for (uint32_t i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *k = &c->entries[i];
			e[i] = (struct hvabs_cpuid_entry){
			    .function = k->function,
			    .index = k->index,
			    .flags = (k->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
					 ? HVABS_CPUID_F_INDEXED
					 : 0,
			    .eax = k->eax,
			    .ebx = k->ebx,
			    .ecx = k->ecx,
			    .edx = k->edx,
			};
		}
		*n = c->nent;
	}
	free(c);
	return rc;
}

int kvm_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n)
{
	if (n > MAX_CPUID)
		return -E2BIG;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = n;
	for (uint32_t i = 0; i < n; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){
		    .function = e[i].function,
		    .index = e[i].index,
		    .flags =
			(e[i].flags & HVABS_CPUID_F_INDEXED) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
		    .eax = e[i].eax,
		    .ebx = e[i].ebx,
		    .ecx = e[i].ecx,
		    .edx = e[i].edx,
		};
	/* Since Linux 5.16 KVM refuses a different CPUID after the first KVM_RUN (-EINVAL). */
	int rc = kvm_vcpu_ioctl(v, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

int kvm_get_lapic(struct hvabs_be_vcpu *v, struct hvabs_lapic *l)
{
	struct kvm_lapic_state k;

	if (!v->vm->irqchip)
		return -ENOTSUP; /* no in-kernel LAPIC without the irqchip */
	int rc = kvm_vcpu_ioctl(v, KVM_GET_LAPIC, &k);
	if (!rc)
		memcpy(l->regs, k.regs, sizeof(l->regs));
	return rc;
}

int kvm_set_lapic(struct hvabs_be_vcpu *v, const struct hvabs_lapic *l)
{
	struct kvm_lapic_state k;

	if (!v->vm->irqchip)
		return -ENOTSUP;
	memcpy(k.regs, l->regs, sizeof(k.regs));
	return kvm_vcpu_ioctl(v, KVM_SET_LAPIC, &k);
}
