/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU register state through the domain's HVM context (xen/hvm/save.h): a
 * stream of records, each a descriptor and a body, starting with a HEADER and
 * ending with END. Registers live in one CPU record per vCPU (struct
 * hvm_hw_cpu), the x87/SSE state in its FXSAVE image.
 *
 * Writing is the recipe of libxc's PVH builder (vcpu_hvm() in xc_dom_x86.c):
 * send the HEADER, the changed CPU record, and END. One catch: hvm_load()
 * downs every vCPU and brings up only those with a CPU record in the stream
 * (xen/arch/x86/hvm/save.c), so the records of all vCPUs that are up go along
 * unchanged, and a vCPU whose record is written comes up. That is how a VMM
 * starts the boot vCPU in direct mode. The domain is held paused from read to
 * write so no vCPU runs on stale state.
 *
 * A vCPU that is down has no CPU record at all (hvm_save_cpu_ctxt skips it):
 * it reads as the INIT state, and writing it brings it up.
 *
 * Not representable here: CR8 (the LAPIC's TPR) and IA32_APIC_BASE, which
 * live in Xen's LAPIC records; they are reported from those and not written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xen_priv.h"

#include <xen/hvm/save.h>

#define CODE_HEADER	HVM_SAVE_CODE(HEADER)
#define CODE_CPU	HVM_SAVE_CODE(CPU)
#define CODE_LAPIC	HVM_SAVE_CODE(LAPIC)
#define CODE_LAPIC_REGS HVM_SAVE_CODE(LAPIC_REGS)
#define CODE_MTRR	HVM_SAVE_CODE(MTRR)
#define MTRR_DEF_WB_ON	0x806ull /* write-back, MTRRs enabled (libxc's PVH default) */
#define MTRR_DEF_E	(1ull << 11)
#define APIC_BASE_ADDR	0xfee00000ull
#define APIC_BASE_EN	(1ull << 11)
#define APIC_BASE_BSP	(1ull << 8)
#define FCW_RESET	0x37f
#define MXCSR_RESET	0x1f80

struct ctx {
	uint8_t *blob;
	uint32_t len;
};

struct rec {
	struct hvm_save_descriptor d;
	const uint8_t *body;
};

static int ctx_fetch(struct hvabs_be_vm *vm, struct ctx *c)
{
	const struct xen_lib *x = vm->x;
	int rc = 0;

	c->blob = NULL;
	pthread_mutex_lock(&vm->xc_lock);
	int n = x->xc_domain_hvm_getcontext(vm->xch, vm->domid, NULL, 0);
	if (n <= 0) {
		rc = n < 0 ? xen_errno() : -EIO;
	} else if (!(c->blob = malloc((size_t)n))) {
		rc = -ENOMEM;
	} else {
		int got = x->xc_domain_hvm_getcontext(vm->xch, vm->domid, c->blob, (uint32_t)n);
		if (got < 0)
			rc = xen_errno();
		else
			c->len = (uint32_t)(got < n ? got : n);
	}
	pthread_mutex_unlock(&vm->xc_lock);
	if (rc) {
		free(c->blob);
		c->blob = NULL;
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot read the HVM context: %s", vm->domid, strerror(-rc));
	}
	return rc;
}

/* Steps to the next record: 1 with @p r filled, 0 at the end, -EIO if the stream is bad. */
static int ctx_next(const struct ctx *c, uint32_t *off, struct rec *r)
{
	if (c->len - *off < sizeof(r->d))
		return 0;
	memcpy(&r->d, c->blob + *off, sizeof(r->d));
	if (r->d.length > c->len - *off - sizeof(r->d))
		return -EIO;
	r->body = c->blob + *off + sizeof(r->d);
	*off += (uint32_t)sizeof(r->d) + r->d.length;
	return r->d.typecode != 0;
}

/* Copies record (@p code, @p inst) into @p out, zero-extended as Xen loads old records. */
static int ctx_find(const struct ctx *c, uint16_t code, uint16_t inst, void *out, size_t size)
{
	struct rec r;
	uint32_t off = 0;
	int k;

	while ((k = ctx_next(c, &off, &r)) > 0)
		if (r.d.typecode == code && r.d.instance == inst) {
			memset(out, 0, size);
			memcpy(out, r.body, r.d.length < size ? r.d.length : size);
			return 0;
		}
	return k < 0 ? -EIO : -ENOENT;
}

static int vcpu_up(struct hvabs_be_vm *vm, uint32_t idx)
{
	xc_vcpuinfo_t info;

	memset(&info, 0, sizeof(info));
	pthread_mutex_lock(&vm->xc_lock);
	int rc = vm->x->xc_vcpu_getinfo(vm->xch, vm->domid, idx, &info);
	pthread_mutex_unlock(&vm->xc_lock);
	return rc == 0 && info.online;
}

static uint8_t *put_rec(uint8_t *p, uint16_t code, uint16_t inst, const void *body, uint32_t len)
{
	struct hvm_save_descriptor d = {.typecode = code, .instance = inst, .length = len};

	memcpy(p, &d, sizeof(d));
	memcpy(p + sizeof(d), body, len);
	return p + sizeof(d) + len;
}

/* Writes @p cpu as vCPU @p idx's record, with the records of every vCPU that is up. */
static int ctx_put(struct hvabs_be_vm *vm, const struct ctx *c, uint32_t idx,
		   const struct hvm_hw_cpu *cpu)
{
	uint8_t *out =
	    malloc((size_t)c->len + sizeof(*cpu) + 4 * sizeof(struct hvm_save_descriptor));
	uint8_t *p = out;
	uint32_t off = 0;
	struct rec r;
	int k, have_hdr = 0, have_cpu = 0, rc = 0;

	if (!out)
		return -ENOMEM;
	while ((k = ctx_next(c, &off, &r)) > 0) {
		if (r.d.typecode == CODE_HEADER && !have_hdr) {
			p = put_rec(p, r.d.typecode, r.d.instance, r.body, r.d.length);
			have_hdr = 1;
		} else if (r.d.typecode == CODE_CPU && r.d.instance == idx) {
			p = put_rec(p, CODE_CPU, (uint16_t)idx, cpu, sizeof(*cpu));
			have_cpu = 1;
		} else if (r.d.typecode == CODE_CPU && vcpu_up(vm, r.d.instance)) {
			p = put_rec(p, r.d.typecode, r.d.instance, r.body, r.d.length);
		} else if (r.d.typecode == CODE_MTRR && r.d.instance == idx && vm->created &&
			   r.d.length >= sizeof(struct hvm_hw_mtrr)) {
			/* We are the firmware: memory is write-back, not the reset's UC. */
			struct hvm_hw_mtrr m;
			memcpy(&m, r.body, sizeof(m));
			if (!(m.msr_mtrr_def_type & MTRR_DEF_E)) {
				m.msr_mtrr_def_type = MTRR_DEF_WB_ON;
				p = put_rec(p, CODE_MTRR, (uint16_t)idx, &m, sizeof(m));
			}
		}
	}
	if (k < 0 || !have_hdr)
		rc = -EIO;
	if (!rc && !have_cpu) /* it was down: this record brings it up */
		p = put_rec(p, CODE_CPU, (uint16_t)idx, cpu, sizeof(*cpu));
	if (!rc) {
		struct hvm_save_descriptor end = {0, 0, 0};
		memcpy(p, &end, sizeof(end));
		p += sizeof(end);
		pthread_mutex_lock(&vm->xc_lock);
		if (vm->x->xc_domain_hvm_setcontext(vm->xch, vm->domid, out, (uint32_t)(p - out)))
			rc = xen_errno();
		pthread_mutex_unlock(&vm->xc_lock);
	}
	if (rc)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot write vCPU %u's HVM context: %s", vm->domid, idx,
				strerror(-rc));
	free(out);
	return rc;
}

/* What INIT leaves in a vCPU (SDM vol. 3A table 9-1): real mode at the reset vector. */
static void init_state(struct hvm_hw_cpu *c)
{
	memset(c, 0, sizeof(*c));
	c->rip = 0xfff0;
	c->rflags = 2;
	c->cr0 = 0x60000010; /* CD, NW, ET */
	c->dr6 = 0xffff0ff0;
	c->dr7 = 0x400;
	c->cs_sel = 0xf000;
	c->cs_base = 0xffff0000;
	c->cs_limit = c->ds_limit = c->es_limit = c->fs_limit = c->gs_limit = c->ss_limit = 0xffff;
	c->cs_arbytes = 0x9b;
	c->ds_arbytes = c->es_arbytes = c->fs_arbytes = c->gs_arbytes = c->ss_arbytes = 0x93;
	c->tr_limit = c->ldtr_limit = 0xffff;
	c->tr_arbytes = 0x8b;
	c->ldtr_arbytes = 0x82;
	c->gdtr_limit = c->idtr_limit = 0xffff;
}

/* Reads vCPU @p v's CPU record (and leaves the context in @p c for a write). */
static int cpu_get(struct hvabs_be_vcpu *v, struct ctx *c, struct hvm_hw_cpu *cpu)
{
	int rc = ctx_fetch(v->vm, c);

	if (!rc)
		rc = ctx_find(c, CODE_CPU, (uint16_t)v->index, cpu, sizeof(*cpu));
	if (rc == -ENOENT) {
		init_state(cpu); /* down: Xen saves nothing for it */
		rc = 0;
	}
	if (rc && c->blob) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: the HVM context is malformed (vCPU %u)", v->vm->domid,
				v->index);
		free(c->blob);
		c->blob = NULL;
	}
	return rc;
}

typedef void (*cpu_edit_fn)(struct hvm_hw_cpu *cpu, const void *arg);

/* Read, edit, write vCPU @p v's record with the domain held still. */
static int cpu_update(struct hvabs_be_vcpu *v, cpu_edit_fn edit, const void *arg)
{
	struct hvm_hw_cpu cpu;
	struct ctx c;
	int held;
	int rc = xen_hold(v->vm, &held);

	if (rc)
		return rc;
	rc = cpu_get(v, &c, &cpu);
	if (!rc) {
		edit(&cpu, arg);
		rc = ctx_put(v->vm, &c, v->index, &cpu);
		free(c.blob);
	}
	xen_release(v->vm, held);
	return rc;
}

int xen_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r)
{
	struct hvm_hw_cpu cpu;
	struct ctx c;
	int rc = cpu_get(v, &c, &cpu);

	if (rc)
		return rc;
	free(c.blob);
	r->rax = cpu.rax;
	r->rbx = cpu.rbx;
	r->rcx = cpu.rcx;
	r->rdx = cpu.rdx;
	r->rsi = cpu.rsi;
	r->rdi = cpu.rdi;
	r->rsp = cpu.rsp;
	r->rbp = cpu.rbp;
	r->r8 = cpu.r8;
	r->r9 = cpu.r9;
	r->r10 = cpu.r10;
	r->r11 = cpu.r11;
	r->r12 = cpu.r12;
	r->r13 = cpu.r13;
	r->r14 = cpu.r14;
	r->r15 = cpu.r15;
	r->rip = cpu.rip;
	r->rflags = cpu.rflags;
	return 0;
}

static void edit_regs(struct hvm_hw_cpu *cpu, const void *arg)
{
	const struct hvabs_regs *r = arg;

	cpu->rax = r->rax;
	cpu->rbx = r->rbx;
	cpu->rcx = r->rcx;
	cpu->rdx = r->rdx;
	cpu->rsi = r->rsi;
	cpu->rdi = r->rdi;
	cpu->rsp = r->rsp;
	cpu->rbp = r->rbp;
	cpu->r8 = r->r8;
	cpu->r9 = r->r9;
	cpu->r10 = r->r10;
	cpu->r11 = r->r11;
	cpu->r12 = r->r12;
	cpu->r13 = r->r13;
	cpu->r14 = r->r14;
	cpu->r15 = r->r15;
	cpu->rip = r->rip;
	cpu->rflags = r->rflags;
}

int xen_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r)
{
	return cpu_update(v, edit_regs, r);
}

/* Xen's segment attributes: type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1 (struct segment_register). */
static void seg_get(struct hvabs_segment *s, uint32_t sel, uint32_t limit, uint64_t base,
		    uint32_t attr)
{
	memset(s, 0, sizeof(*s));
	s->selector = (uint16_t)sel;
	s->limit = limit;
	s->base = base;
	s->type = attr & 0xf;
	s->s = (attr >> 4) & 1;
	s->dpl = (attr >> 5) & 3;
	s->present = (attr >> 7) & 1;
	s->avl = (attr >> 8) & 1;
	s->l = (attr >> 9) & 1;
	s->db = (attr >> 10) & 1;
	s->g = (attr >> 11) & 1;
	s->unusable = !s->present;
}

static void seg_set(const struct hvabs_segment *s, uint32_t *sel, uint32_t *limit, uint64_t *base,
		    uint32_t *attr)
{
	*sel = s->selector;
	*limit = s->limit;
	*base = s->base;
	*attr = (uint32_t)(s->type & 0xf) | (uint32_t)(s->s & 1) << 4 |
		(uint32_t)(s->dpl & 3) << 5 | (uint32_t)(s->present && !s->unusable) << 7 |
		(uint32_t)(s->avl & 1) << 8 | (uint32_t)(s->l & 1) << 9 |
		(uint32_t)(s->db & 1) << 10 | (uint32_t)(s->g & 1) << 11;
}

#define SEGS(X) X(cs) X(ds) X(es) X(fs) X(gs) X(ss) X(tr)

int xen_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s)
{
	struct hvm_hw_cpu cpu;
	struct hvm_hw_lapic lapic;
	struct hvm_hw_lapic_regs *regs = malloc(sizeof(*regs));
	struct ctx c;
	int rc = regs ? cpu_get(v, &c, &cpu) : -ENOMEM;

	if (rc) {
		free(regs);
		return rc;
	}
#define GET(n) seg_get(&s->n, cpu.n##_sel, cpu.n##_limit, cpu.n##_base, cpu.n##_arbytes);
	SEGS(GET)
#undef GET
	seg_get(&s->ldt, cpu.ldtr_sel, cpu.ldtr_limit, cpu.ldtr_base, cpu.ldtr_arbytes);
	memset(&s->gdt, 0, sizeof(s->gdt));
	memset(&s->idt, 0, sizeof(s->idt));
	s->gdt.base = cpu.gdtr_base;
	s->gdt.limit = (uint16_t)cpu.gdtr_limit;
	s->idt.base = cpu.idtr_base;
	s->idt.limit = (uint16_t)cpu.idtr_limit;
	s->cr0 = cpu.cr0;
	s->cr2 = cpu.cr2;
	s->cr3 = cpu.cr3;
	s->cr4 = cpu.cr4;
	s->efer = cpu.msr_efer;
	s->apic_base = APIC_BASE_ADDR | APIC_BASE_EN | (v->index == 0 ? APIC_BASE_BSP : 0);
	if (!ctx_find(&c, CODE_LAPIC, (uint16_t)v->index, &lapic, sizeof(lapic)))
		s->apic_base = lapic.apic_base_msr;
	s->cr8 = 0;
	if (!ctx_find(&c, CODE_LAPIC_REGS, (uint16_t)v->index, regs, sizeof(*regs)))
		s->cr8 = regs->data[0x80] >> 4; /* TPR bits 7:4 */
	free(regs);
	free(c.blob);
	return 0;
}

static void edit_sregs(struct hvm_hw_cpu *cpu, const void *arg)
{
	const struct hvabs_sregs *s = arg;

#define SET(n) seg_set(&s->n, &cpu->n##_sel, &cpu->n##_limit, &cpu->n##_base, &cpu->n##_arbytes);
	SEGS(SET)
#undef SET
	seg_set(&s->ldt, &cpu->ldtr_sel, &cpu->ldtr_limit, &cpu->ldtr_base, &cpu->ldtr_arbytes);
	cpu->gdtr_base = s->gdt.base;
	cpu->gdtr_limit = s->gdt.limit;
	cpu->idtr_base = s->idt.base;
	cpu->idtr_limit = s->idt.limit;
	cpu->cr0 = s->cr0;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->msr_efer = s->efer;
}

int xen_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s)
{
	return cpu_update(v, edit_sregs, s);
}

/* The FXSAVE image (SDM vol. 1 table 10-2, 64-bit layout) as struct hvabs_fpu. */
int xen_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f)
{
	struct hvm_hw_cpu cpu;
	struct ctx c;
	int rc = cpu_get(v, &c, &cpu);

	if (rc)
		return rc;
	free(c.blob);
	const uint8_t *x = cpu.fpu_regs;
	memset((char *)f + sizeof(f->hdr), 0, sizeof(*f) - sizeof(f->hdr));
	if (!(cpu.flags & XEN_X86_FPU_INITIALISED)) {
		/* Never used: what Xen loads on first use (vcpu_setup_fpu, FCW_RESET). */
		f->fcw = FCW_RESET;
		f->mxcsr = MXCSR_RESET;
		return 0;
	}
	memcpy(&f->fcw, x + 0, 2);
	memcpy(&f->fsw, x + 2, 2);
	f->ftwx = x[4];
	memcpy(&f->last_opcode, x + 6, 2);
	memcpy(&f->last_ip, x + 8, 8);
	memcpy(&f->last_dp, x + 16, 8);
	memcpy(&f->mxcsr, x + 24, 4);
	memcpy(f->fpr, x + 32, sizeof(f->fpr));
	memcpy(f->xmm, x + 160, sizeof(f->xmm));
	return 0;
}

static void edit_fpu(struct hvm_hw_cpu *cpu, const void *arg)
{
	const struct hvabs_fpu *f = arg;
	uint8_t *x = cpu->fpu_regs;

	if (!(cpu->flags & XEN_X86_FPU_INITIALISED)) {
		memset(x, 0, sizeof(cpu->fpu_regs));
		uint32_t mask = 0xffff; /* MXCSR_MASK: the bits a modern CPU accepts */
		memcpy(x + 28, &mask, 4);
	}
	memcpy(x + 0, &f->fcw, 2);
	memcpy(x + 2, &f->fsw, 2);
	x[4] = f->ftwx;
	memcpy(x + 6, &f->last_opcode, 2);
	memcpy(x + 8, &f->last_ip, 8);
	memcpy(x + 16, &f->last_dp, 8);
	memcpy(x + 24, &f->mxcsr, 4);
	memcpy(x + 32, f->fpr, sizeof(f->fpr));
	memcpy(x + 160, f->xmm, sizeof(f->xmm));
	cpu->flags |= XEN_X86_FPU_INITIALISED;
}

int xen_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f)
{
	return cpu_update(v, edit_fpu, f);
}
