/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU register state. General-purpose registers, RIP and RFLAGS go through
 * the VP register page while the hypervisor marks it valid (the page is
 * refreshed on every intercept; a write sets the class's dirty bit and the
 * hypervisor loads it on the next dispatch), else through
 * HvCallGet/SetVpRegisters. Everything else always uses the hypercalls.
 * Using the page for both reads and writes of those classes keeps it and
 * the hypervisor's copy from disagreeing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mshv_priv.h"

/* ---- the register hypercalls ---- */

int mshv_get_vp_regs(struct hvabs_be_vcpu *v, const uint32_t *names, struct mshv_reg_value *vals,
		     uint32_t n)
{
	union {
		struct mshv_in_vp_registers head;
		uint8_t raw[sizeof(struct mshv_in_vp_registers) + MSHV_REGS_PER_CALL * 4];
	} in;

	for (uint32_t done = 0; done < n;) {
		uint32_t c = n - done < MSHV_REGS_PER_CALL ? n - done : MSHV_REGS_PER_CALL;
		memset(&in.head, 0, sizeof(in.head));
		in.head.vp_index = v->index;
		memcpy(in.raw + sizeof(in.head), names + done, c * sizeof(uint32_t));
		int rc = mshv_hvcall(v->vm->sys, v->fd, MSHV_HVCALL_GET_VP_REGISTERS, (uint16_t)c,
				     &in, sizeof(in.head) + c * sizeof(uint32_t), vals + done,
				     c * sizeof(*vals));
		if (rc) {
			hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MSHV,
					"vcpu%u: HvCallGetVpRegisters (0x%x, ...): %s", v->index,
					names[done], strerror(-rc));
			return rc;
		}
		done += c;
	}
	return 0;
}

int mshv_set_vp_regs(struct hvabs_be_vcpu *v, const uint32_t *names,
		     const struct mshv_reg_value *vals, uint32_t n)
{
	union {
		struct mshv_in_vp_registers head;
		uint8_t raw[sizeof(struct mshv_in_vp_registers) +
			    MSHV_REGS_PER_CALL * sizeof(struct mshv_reg_assoc)];
	} in;

	for (uint32_t done = 0; done < n;) {
		uint32_t c = n - done < MSHV_REGS_PER_CALL ? n - done : MSHV_REGS_PER_CALL;
		memset(&in, 0, sizeof(in));
		in.head.vp_index = v->index;
		for (uint32_t i = 0; i < c; i++) {
			struct mshv_reg_assoc a = {.name = names[done + i],
						   .value = vals[done + i]};
			memcpy(in.raw + sizeof(in.head) + i * sizeof(a), &a, sizeof(a));
		}
		int rc =
		    mshv_hvcall(v->vm->sys, v->fd, MSHV_HVCALL_SET_VP_REGISTERS, (uint16_t)c, &in,
				sizeof(in.head) + c * sizeof(struct mshv_reg_assoc), NULL, 0);
		if (rc) {
			hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MSHV,
					"vcpu%u: HvCallSetVpRegisters (0x%x, ...): %s", v->index,
					names[done], strerror(-rc));
			return rc;
		}
		done += c;
	}
	return 0;
}

/* ---- general-purpose registers ---- */

static const uint32_t gp_names[18] = {
    MSHV_REG_RAX,    MSHV_REG_RBX,    MSHV_REG_RCX,    MSHV_REG_RDX,	MSHV_REG_RSI,
    MSHV_REG_RDI,    MSHV_REG_RSP,    MSHV_REG_RBP,    MSHV_REG_R8,	MSHV_REG_R8 + 1,
    MSHV_REG_R8 + 2, MSHV_REG_R8 + 3, MSHV_REG_R8 + 4, MSHV_REG_R8 + 5, MSHV_REG_R8 + 6,
    MSHV_REG_R15,    MSHV_REG_RIP,    MSHV_REG_RFLAGS,
};

/* The hvabs_regs fields in gp_names order. */
static uint64_t *gp_field(struct hvabs_regs *r, unsigned i)
{
	uint64_t *f[18] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi,
			   &r->rsp, &r->rbp, &r->r8,  &r->r9,  &r->r10, &r->r11,
			   &r->r12, &r->r13, &r->r14, &r->r15, &r->rip, &r->rflags};
	return f[i];
}

int mshv_regpage_valid(const struct hvabs_be_vcpu *v)
{
	return v->regpage && v->vm->use_regpage &&
	       __atomic_load_n(&v->regpage->isvalid, __ATOMIC_ACQUIRE);
}

int mshv_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r)
{
	struct mshv_reg_value vals[18];

	if (mshv_regpage_valid(v)) {
		const struct mshv_vp_register_page *p = v->regpage;
		for (unsigned i = 0; i < 16; i++)
			*gp_field(r, i) = p->gp[gp_names[i] - MSHV_REG_RAX];
		r->rip = p->rip;
		r->rflags = p->rflags;
		return 0;
	}
	int rc = mshv_get_vp_regs(v, gp_names, vals, 18);
	if (rc)
		return rc;
	for (unsigned i = 0; i < 18; i++)
		*gp_field(r, i) = vals[i].low;
	return 0;
}

int mshv_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r)
{
	struct mshv_reg_value vals[18];
	struct hvabs_regs c = *r;

	if (mshv_regpage_valid(v)) {
		struct mshv_vp_register_page *p = v->regpage;
		for (unsigned i = 0; i < 16; i++)
			p->gp[gp_names[i] - MSHV_REG_RAX] = *gp_field(&c, i);
		p->rip = c.rip;
		p->rflags = c.rflags;
		__atomic_fetch_or(&p->dirty,
				  (1u << MSHV_REGPAGE_CLASS_GENERAL) |
				      (1u << MSHV_REGPAGE_CLASS_IP) |
				      (1u << MSHV_REGPAGE_CLASS_FLAGS),
				  __ATOMIC_RELEASE);
		return 0;
	}
	memset(vals, 0, sizeof(vals));
	for (unsigned i = 0; i < 18; i++)
		vals[i].low = *gp_field(&c, i);
	return mshv_set_vp_regs(v, gp_names, vals, 18);
}

/* ---- segment and control registers ---- */

static const uint32_t sreg_names[17] = {
    MSHV_REG_CS,  MSHV_REG_DS,	 MSHV_REG_ES,	MSHV_REG_FS,   MSHV_REG_GS,	   MSHV_REG_SS,
    MSHV_REG_TR,  MSHV_REG_LDTR, MSHV_REG_GDTR, MSHV_REG_IDTR, MSHV_REG_CR0,	   MSHV_REG_CR2,
    MSHV_REG_CR3, MSHV_REG_CR4,	 MSHV_REG_CR8,	MSHV_REG_EFER, MSHV_REG_APIC_BASE,
};

void mshv_seg_from_hv(struct hvabs_segment *s, const struct mshv_segment *h)
{
	uint16_t a = h->attributes;

	memset(s, 0, sizeof(*s));
	s->base = h->base;
	s->limit = h->limit;
	s->selector = h->selector;
	s->type = (uint8_t)MSHV_SEG_TYPE(a);
	s->s = !!(a & MSHV_SEG_S);
	s->dpl = (uint8_t)MSHV_SEG_DPL(a);
	s->present = !!(a & MSHV_SEG_P);
	s->avl = !!(a & MSHV_SEG_AVL);
	s->l = !!(a & MSHV_SEG_L);
	s->db = !!(a & MSHV_SEG_DB);
	s->g = !!(a & MSHV_SEG_G);
	s->unusable = !s->present;
}

static void seg_to_hv(struct mshv_reg_value *v, const struct hvabs_segment *s)
{
	struct mshv_segment h = {
	    .base = s->base,
	    .limit = s->limit,
	    .selector = s->selector,
	};
	uint16_t a = (uint16_t)((s->type & 0xfu) | ((s->dpl & 3u) << 5));

	if (s->s)
		a |= MSHV_SEG_S;
	if (s->present && !s->unusable)
		a |= MSHV_SEG_P;
	if (s->avl)
		a |= MSHV_SEG_AVL;
	if (s->l)
		a |= MSHV_SEG_L;
	if (s->db)
		a |= MSHV_SEG_DB;
	if (s->g)
		a |= MSHV_SEG_G;
	h.attributes = a;
	memcpy(v, &h, sizeof(h));
}

static void table_from_hv(struct hvabs_dtable *t, const struct mshv_reg_value *v)
{
	struct mshv_table_reg h;

	memcpy(&h, v, sizeof(h));
	memset(t, 0, sizeof(*t));
	t->base = h.base;
	t->limit = h.limit;
}

static void table_to_hv(struct mshv_reg_value *v, const struct hvabs_dtable *t)
{
	struct mshv_table_reg h = {.limit = t->limit, .base = t->base};

	memcpy(v, &h, sizeof(h));
}

int mshv_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s)
{
	struct mshv_reg_value vals[17];
	struct hvabs_segment *segs[8] = {&s->cs, &s->ds, &s->es, &s->fs,
					 &s->gs, &s->ss, &s->tr, &s->ldt};
	int rc = mshv_get_vp_regs(v, sreg_names, vals, 17);

	if (rc)
		return rc;
	for (unsigned i = 0; i < 8; i++) {
		struct mshv_segment h;
		memcpy(&h, &vals[i], sizeof(h));
		mshv_seg_from_hv(segs[i], &h);
	}
	table_from_hv(&s->gdt, &vals[8]);
	table_from_hv(&s->idt, &vals[9]);
	s->cr0 = vals[10].low;
	s->cr2 = vals[11].low;
	s->cr3 = vals[12].low;
	s->cr4 = vals[13].low;
	s->cr8 = vals[14].low;
	s->efer = vals[15].low;
	s->apic_base = vals[16].low;
	return 0;
}

int mshv_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s)
{
	struct mshv_reg_value vals[17];
	const struct hvabs_segment *segs[8] = {&s->cs, &s->ds, &s->es, &s->fs,
					       &s->gs, &s->ss, &s->tr, &s->ldt};

	memset(vals, 0, sizeof(vals));
	for (unsigned i = 0; i < 8; i++)
		seg_to_hv(&vals[i], segs[i]);
	table_to_hv(&vals[8], &s->gdt);
	table_to_hv(&vals[9], &s->idt);
	vals[10].low = s->cr0;
	vals[11].low = s->cr2;
	vals[12].low = s->cr3;
	vals[13].low = s->cr4;
	vals[14].low = s->cr8;
	vals[15].low = s->efer;
	vals[16].low = s->apic_base;
	return mshv_set_vp_regs(v, sreg_names, vals, 17);
}

/*
 * What the instruction emulator needs (segments, CR0, CR4, EFER): from the
 * register page right after an intercept, which saves a hypercall per MMIO
 * access, else from the hypercall.
 */
int mshv_get_emul_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s)
{
	if (!mshv_regpage_valid(v))
		return mshv_get_sregs(v, s);
	const struct mshv_vp_register_page *p = v->regpage;
	struct hvabs_segment *segs[MSHV_SEGI_COUNT] = {&s->es, &s->cs, &s->ss,
						       &s->ds, &s->fs, &s->gs};
	struct hvabs_hdr hdr = s->hdr;
	memset(s, 0, sizeof(*s));
	s->hdr = hdr;
	for (unsigned i = 0; i < MSHV_SEGI_COUNT; i++)
		mshv_seg_from_hv(segs[i], &p->seg[i]);
	s->cr0 = p->cr0;
	s->cr3 = p->cr3;
	s->cr4 = p->cr4;
	s->cr8 = p->cr8;
	s->efer = p->efer;
	return 0;
}

/* ---- x87 and SSE ---- */

#define FPU_NREGS 26 /* FP_MMX0-7, the two control registers, XMM0-15 */

static void fpu_names(uint32_t *n)
{
	for (unsigned i = 0; i < 8; i++)
		n[i] = MSHV_REG_FP_MMX0 + i;
	n[8] = MSHV_REG_FP_CONTROL_STATUS;
	n[9] = MSHV_REG_XMM_CONTROL_STATUS;
	for (unsigned i = 0; i < 16; i++)
		n[10 + i] = MSHV_REG_XMM0 + i;
}

int mshv_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f)
{
	uint32_t names[FPU_NREGS];
	struct mshv_reg_value vals[FPU_NREGS];
	struct mshv_fp_control_status fcs;
	struct mshv_xmm_control_status xcs;

	fpu_names(names);
	int rc = mshv_get_vp_regs(v, names, vals, FPU_NREGS);
	if (rc)
		return rc;
	struct hvabs_hdr hdr = f->hdr;
	memset(f, 0, sizeof(*f));
	f->hdr = hdr;
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->fpr[i], &vals[i], 10); /* the 80-bit value; the rest is reserved */
	memcpy(&fcs, &vals[8], sizeof(fcs));
	memcpy(&xcs, &vals[9], sizeof(xcs));
	f->fcw = fcs.fcw;
	f->fsw = fcs.fsw;
	f->ftwx = fcs.ftw;
	f->last_opcode = fcs.last_op;
	f->last_ip = fcs.last_rip;
	f->last_dp = xcs.last_rdp;
	f->mxcsr = xcs.mxcsr;
	for (unsigned i = 0; i < 16; i++)
		memcpy(f->xmm[i], &vals[10 + i], 16);
	return 0;
}

int mshv_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f)
{
	uint32_t names[FPU_NREGS];
	struct mshv_reg_value vals[FPU_NREGS];
	struct mshv_fp_control_status fcs = {0};
	struct mshv_xmm_control_status xcs;

	fpu_names(names);
	/* MXCSR_MASK is read-only: keep what the hypervisor reports. */
	int rc = mshv_get_vp_regs(v, &names[9], &vals[9], 1);
	if (rc)
		return rc;
	memcpy(&xcs, &vals[9], sizeof(xcs));
	memset(vals, 0, sizeof(vals));
	for (unsigned i = 0; i < 8; i++)
		memcpy(&vals[i], f->fpr[i], 10);
	fcs.fcw = f->fcw;
	fcs.fsw = f->fsw;
	fcs.ftw = f->ftwx;
	fcs.last_op = f->last_opcode;
	fcs.last_rip = f->last_ip;
	xcs.last_rdp = f->last_dp;
	xcs.mxcsr = f->mxcsr;
	memcpy(&vals[8], &fcs, sizeof(fcs));
	memcpy(&vals[9], &xcs, sizeof(xcs));
	for (unsigned i = 0; i < 16; i++)
		memcpy(&vals[10 + i], f->xmm[i], 16);
	return mshv_set_vp_regs(v, names, vals, FPU_NREGS);
}

/* ---- MSRs ---- */

/* The hypervisor register behind an architectural MSR, or 0 when there is none. */
static uint32_t msr_reg(uint32_t msr)
{
	static const struct {
		uint32_t msr, reg;
	} map[] = {
	    {0x10, MSHV_REG_TSC},
	    {0x1b, MSHV_REG_APIC_BASE},
	    {0x3b, MSHV_REG_TSC_ADJUST},
	    {0x48, MSHV_REG_SPEC_CTRL},
	    {0xfe, MSHV_REG_MTRR_CAP},
	    {0x174, MSHV_REG_SYSENTER_CS},
	    {0x175, MSHV_REG_SYSENTER_ESP},
	    {0x176, MSHV_REG_SYSENTER_EIP},
	    {0x1a0, MSHV_REG_MISC_ENABLE},
	    {0x1d9, MSHV_REG_DEBUG_CTL},
	    {0x250, MSHV_REG_MTRR_FIX64K_00000},
	    {0x258, MSHV_REG_MTRR_FIX16K_80000},
	    {0x259, MSHV_REG_MTRR_FIX16K_A0000},
	    {0x277, MSHV_REG_PAT},
	    {0x2ff, MSHV_REG_MTRR_DEF_TYPE},
	    {0xc0000080, MSHV_REG_EFER},
	    {0xc0000081, MSHV_REG_STAR},
	    {0xc0000082, MSHV_REG_LSTAR},
	    {0xc0000083, MSHV_REG_CSTAR},
	    {0xc0000084, MSHV_REG_SFMASK},
	    {0xc0000102, MSHV_REG_KERNEL_GS_BASE},
	    {0xc0000103, MSHV_REG_TSC_AUX},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].msr == msr)
			return map[i].reg;
	/* Variable-range MTRRs: base/mask pairs 0x200-0x21f (SDM vol. 3 §12.11.2.3). */
	if (msr >= 0x200 && msr < 0x220)
		return (msr & 1 ? MSHV_REG_MTRR_PHYS_MASK0 : MSHV_REG_MTRR_PHYS_BASE0) +
		       ((msr - 0x200) >> 1);
	/* Fixed-range 4K MTRRs 0x268-0x26f. */
	if (msr >= 0x268 && msr <= 0x26f)
		return MSHV_REG_MTRR_FIX4K_C0000 + (msr - 0x268);
	return 0;
}

static int msr_names(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n,
		     uint32_t *names)
{
	for (uint32_t i = 0; i < n; i++) {
		names[i] = msr_reg(m[i].index);
		if (!names[i]) {
			hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MSHV,
					"vcpu%u: MSR 0x%x has no hypervisor register", v->index,
					m[i].index);
			return -EINVAL;
		}
	}
	return 0;
}

#define MAX_MSRS 256u

int mshv_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n)
{
	if (n > MAX_MSRS)
		return -E2BIG;
	if (!n)
		return 0;
	uint32_t *names = calloc(n, sizeof(*names));
	struct mshv_reg_value *vals = calloc(n, sizeof(*vals));
	int rc = names && vals ? msr_names(v, m, n, names) : -ENOMEM;
	if (!rc)
		rc = mshv_get_vp_regs(v, names, vals, n);
	for (uint32_t i = 0; !rc && i < n; i++)
		m[i].data = vals[i].low;
	free(names);
	free(vals);
	return rc;
}

int mshv_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n)
{
	if (n > MAX_MSRS)
		return -E2BIG;
	if (!n)
		return 0;
	uint32_t *names = calloc(n, sizeof(*names));
	struct mshv_reg_value *vals = calloc(n, sizeof(*vals));
	int rc = names && vals ? msr_names(v, m, n, names) : -ENOMEM;
	for (uint32_t i = 0; !rc && i < n; i++)
		vals[i].low = m[i].data;
	if (!rc)
		rc = mshv_set_vp_regs(v, names, vals, n);
	free(names);
	free(vals);
	return rc;
}

/* ---- local APIC (MSHV_VP_STATE_LAPIC) ---- */

/* Offsets in the APIC register page (SDM vol. 3 §11.4.1, table 11-1). */
#define APIC_ID	     0x20
#define APIC_VERSION 0x30
#define APIC_TPR     0x80
#define APIC_PPR     0xa0
#define APIC_RRD     0xc0
#define APIC_LDR     0xd0
#define APIC_DFR     0xe0
#define APIC_SVR     0xf0
#define APIC_ISR     0x100
#define APIC_TMR     0x180
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_CMCI    0x2f0
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define APIC_LVT_TMR 0x320
#define APIC_LVT_THM 0x330
#define APIC_LVT_PMC 0x340
#define APIC_LINT0   0x350
#define APIC_LINT1   0x360
#define APIC_LVT_ERR 0x370
#define APIC_TMICT   0x380
#define APIC_TMCCT   0x390
#define APIC_TDCR    0x3e0

/* Fields of struct mshv_lapic_state and where each lives in the APIC page. */
#define LAPIC_FIELD(f, off)                                                                        \
	{                                                                                          \
		offsetof(struct mshv_lapic_state, f), off                                          \
	}
static const struct {
	uint16_t state, page;
} lapic_map[] = {
    LAPIC_FIELD(apic_id, APIC_ID),
    LAPIC_FIELD(apic_version, APIC_VERSION),
    LAPIC_FIELD(apic_ldr, APIC_LDR),
    LAPIC_FIELD(apic_dfr, APIC_DFR),
    LAPIC_FIELD(apic_spurious, APIC_SVR),
    LAPIC_FIELD(apic_esr, APIC_ESR),
    LAPIC_FIELD(apic_icr_high, APIC_ICR_HI),
    LAPIC_FIELD(apic_icr_low, APIC_ICR_LO),
    LAPIC_FIELD(apic_lvt_timer, APIC_LVT_TMR),
    LAPIC_FIELD(apic_lvt_thermal, APIC_LVT_THM),
    LAPIC_FIELD(apic_lvt_perfmon, APIC_LVT_PMC),
    LAPIC_FIELD(apic_lvt_lint0, APIC_LINT0),
    LAPIC_FIELD(apic_lvt_lint1, APIC_LINT1),
    LAPIC_FIELD(apic_lvt_error, APIC_LVT_ERR),
    LAPIC_FIELD(apic_lvt_cmci, APIC_CMCI),
    LAPIC_FIELD(apic_initial_count, APIC_TMICT),
    LAPIC_FIELD(apic_counter_value, APIC_TMCCT),
    LAPIC_FIELD(apic_divide_configuration, APIC_TDCR),
    LAPIC_FIELD(apic_remote_read, APIC_RRD),
};

static int lapic_xfer(struct hvabs_be_vcpu *v, void *page, int set)
{
	struct mshv_get_set_vp_state_args a = {
	    .type = MSHV_VP_STATE_LAPIC,
	    .buf_sz = MSHV_PAGE_SIZE,
	    .buf_ptr = (uint64_t)(uintptr_t)page,
	};
	int rc =
	    mshv_ioctl(v->vm->sys, v->fd, set ? MSHV_IOC_SET_VP_STATE : MSHV_IOC_GET_VP_STATE, &a);

	if (rc < 0)
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MSHV, "vcpu%u: MSHV_%s_VP_STATE: %s",
				v->index, set ? "SET" : "GET", strerror(-rc));
	return rc < 0 ? rc : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return x;
}

static void wr32(uint8_t *p, uint32_t x)
{
	memcpy(p, &x, 4);
}

int mshv_get_lapic(struct hvabs_be_vcpu *v, struct hvabs_lapic *l)
{
	uint8_t *st = aligned_alloc(MSHV_PAGE_SIZE, MSHV_PAGE_SIZE);
	uint32_t cr8_name = MSHV_REG_CR8;
	struct mshv_reg_value cr8;

	if (!st)
		return -ENOMEM;
	memset(st, 0, MSHV_PAGE_SIZE);
	int rc = lapic_xfer(v, st, 0);
	if (!rc)
		rc = mshv_get_vp_regs(v, &cr8_name, &cr8, 1);
	if (rc) {
		free(st);
		return rc;
	}
	memset(l->regs, 0, sizeof(l->regs));
	for (size_t i = 0; i < sizeof(lapic_map) / sizeof(lapic_map[0]); i++)
		wr32(l->regs + lapic_map[i].page, rd32(st + lapic_map[i].state));
	uint32_t isrv = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint32_t isr = rd32(st + offsetof(struct mshv_lapic_state, apic_isr) + 4 * i);
		wr32(l->regs + APIC_ISR + 16 * i, isr);
		wr32(l->regs + APIC_TMR + 16 * i,
		     rd32(st + offsetof(struct mshv_lapic_state, apic_tmr) + 4 * i));
		wr32(l->regs + APIC_IRR + 16 * i,
		     rd32(st + offsetof(struct mshv_lapic_state, apic_irr) + 4 * i));
		if (isr)
			isrv = 32 * i + 31 - (uint32_t)__builtin_clz(isr);
	}
	/* The task priority lives in CR8; PPR follows from it (SDM vol. 3 §11.8.3.1). */
	uint32_t tpr = (uint32_t)(cr8.low & 0xf) << 4;
	wr32(l->regs + APIC_TPR, tpr);
	wr32(l->regs + APIC_PPR, (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : (isrv & 0xf0));
	free(st);
	return 0;
}

int mshv_set_lapic(struct hvabs_be_vcpu *v, const struct hvabs_lapic *l)
{
	uint8_t *st = aligned_alloc(MSHV_PAGE_SIZE, MSHV_PAGE_SIZE);
	uint32_t cr8_name = MSHV_REG_CR8;
	struct mshv_reg_value cr8 = {0};

	if (!st)
		return -ENOMEM;
	memset(st, 0, MSHV_PAGE_SIZE);
	/* Start from the current state so fields with no place in the page survive. */
	int rc = lapic_xfer(v, st, 0);
	if (rc) {
		free(st);
		return rc;
	}
	for (size_t i = 0; i < sizeof(lapic_map) / sizeof(lapic_map[0]); i++)
		wr32(st + lapic_map[i].state, rd32(l->regs + lapic_map[i].page));
	for (unsigned i = 0; i < 8; i++) {
		wr32(st + offsetof(struct mshv_lapic_state, apic_isr) + 4 * i,
		     rd32(l->regs + APIC_ISR + 16 * i));
		wr32(st + offsetof(struct mshv_lapic_state, apic_tmr) + 4 * i,
		     rd32(l->regs + APIC_TMR + 16 * i));
		wr32(st + offsetof(struct mshv_lapic_state, apic_irr) + 4 * i,
		     rd32(l->regs + APIC_IRR + 16 * i));
	}
	rc = lapic_xfer(v, st, 1);
	free(st);
	cr8.low = (rd32(l->regs + APIC_TPR) >> 4) & 0xf;
	return rc ? rc : mshv_set_vp_regs(v, &cr8_name, &cr8, 1);
}
