/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Executes one decoded instruction against a private copy of the registers;
 * hvabs_x86emu_run() writes them back only when the instruction (or a REP
 * string, up to where it stopped) completed. Memory goes through the
 * caller's ops, by linear address.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvabs/le.h"
#include "x86emu_priv.h"

struct emu {
	const struct hvabs_x86emu_ops *ops;
	struct hvabs_sregs sregs;
	uint64_t gpr[16]; /* in encoding order: RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8.. */
	uint64_t rip;
	uint64_t rflags;
	enum hvabs_x86emu_mode mode;
	struct x86_insn in;
	struct hvabs_x86emu_result res;
	unsigned next_slot; /* next access stream of a non-string instruction */
};

/* Optional ops must lie inside the caller's table and be set (STYLE: SQLite VFS). */
#define OPS_HAS(ops, op)                                                                           \
	((ops)->hdr.struct_size >= offsetof(struct hvabs_x86emu_ops, op) + sizeof((ops)->op) &&    \
	 (ops)->op != NULL)

static void regs_load(struct emu *e, const struct hvabs_regs *r)
{
	const uint64_t v[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				r->r8,	r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};

	memcpy(e->gpr, v, sizeof(v));
	e->rip = r->rip;
	e->rflags = r->rflags;
}

static void regs_store(const struct emu *e, struct hvabs_regs *r)
{
	const uint64_t *g = e->gpr;

	r->rax = g[0], r->rcx = g[1], r->rdx = g[2], r->rbx = g[3];
	r->rsp = g[4], r->rbp = g[5], r->rsi = g[6], r->rdi = g[7];
	r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11];
	r->r12 = g[12], r->r13 = g[13], r->r14 = g[14], r->r15 = g[15];
	r->rip = e->rip;
	r->rflags = e->rflags;
}

static uint64_t reg_get(const struct emu *e, uint8_t reg, unsigned size)
{
	if (reg >= HVABS_X86EMU_AH && reg <= HVABS_X86EMU_BH)
		return (e->gpr[reg - HVABS_X86EMU_AH] >> 8) & 0xff;
	return e->gpr[reg & 15] & x86_mask(size);
}

/* 8- and 16-bit writes keep the rest; 32-bit writes zero-extend (SDM vol. 1 §3.4.1.1). */
static void reg_set(struct emu *e, uint8_t reg, unsigned size, uint64_t v)
{
	if (reg >= HVABS_X86EMU_AH && reg <= HVABS_X86EMU_BH) {
		uint64_t *g = &e->gpr[reg - HVABS_X86EMU_AH];
		*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
		return;
	}
	uint64_t *g = &e->gpr[reg & 15];
	if (size >= 4)
		*g = v & x86_mask(size);
	else
		*g = (*g & ~x86_mask(size)) | (v & x86_mask(size));
}

/* In 64-bit mode only FS and GS have a base (SDM vol. 1 §3.4.2.1). */
static uint64_t seg_base(const struct emu *e, unsigned seg)
{
	const struct hvabs_segment *s[6] = {&e->sregs.es, &e->sregs.cs, &e->sregs.ss,
					    &e->sregs.ds, &e->sregs.fs, &e->sregs.gs};

	if (seg > HVABS_X86EMU_GS)
		return 0;
	if (e->mode == HVABS_X86EMU_MODE_64 && seg < HVABS_X86EMU_FS)
		return 0;
	return s[seg]->base;
}

/* Segment base + effective address; canonical check in 64-bit mode (vol. 1 §3.3.7.1). */
static int linear(const struct emu *e, unsigned seg, uint64_t ea, uint64_t *out)
{
	uint64_t lin = seg_base(e, seg) + (ea & x86_mask(e->in.pub.addr_size));

	if (e->mode != HVABS_X86EMU_MODE_64) {
		*out = lin & 0xffffffffull;
		return 0;
	}
	unsigned bits = (e->sregs.cr4 & (1ull << 12)) ? 57 : 48; /* CR4.LA57 */
	if ((uint64_t)((int64_t)(lin << (64 - bits)) >> (64 - bits)) != lin)
		return -EFAULT;
	*out = lin;
	return 0;
}

/* The ModRM/moffs memory operand's linear address. */
static int mem_linear(const struct emu *e, uint64_t *out)
{
	const struct hvabs_x86emu_insn *p = &e->in.pub;
	uint64_t ea = (uint64_t)p->disp;

	if (p->base == HVABS_X86EMU_RIP)
		ea += e->rip + p->length; /* relative to the next instruction */
	else if (p->base != HVABS_X86EMU_NOREG)
		ea += e->gpr[p->base & 15];
	if (p->index != HVABS_X86EMU_NOREG)
		ea += e->gpr[p->index & 15] * p->scale;
	return linear(e, p->seg, ea, out);
}

/*
 * One element of access stream `slot`: the stream's first element is
 * translated (when the caller can) and recorded with its data.
 */
static int mem_access(struct emu *e, unsigned slot, uint64_t lin, unsigned size, bool write,
		      uint64_t *val)
{
	const struct hvabs_x86emu_ops *ops = e->ops;
	struct hvabs_x86emu_access *a;
	uint8_t buf[8];
	uint64_t gpa = 0;
	int rc;

	/* No supported instruction has more than two streams; stay in bounds regardless. */
	if (slot >= HVABS_X86EMU_MAX_ACCESSES)
		return -ENOTSUP;
	a = &e->res.access[slot];
	if (a->count == 0 && OPS_HAS(ops, translate_gva)) {
		rc = ops->translate_gva(ops->opaque, lin, write, &gpa);
		if (rc)
			return rc;
	}
	if (write) {
		hvabs_le_store(buf, size, *val);
		rc = ops->write_gva(ops->opaque, lin, buf, size);
	} else {
		memset(buf, 0, sizeof(buf));
		rc = ops->read_gva(ops->opaque, lin, buf, size);
		*val = hvabs_le_load(buf, size);
	}
	if (rc)
		return rc;
	if (a->count++ == 0) {
		a->gva = lin;
		a->gpa = gpa;
		a->gpa_valid = OPS_HAS(ops, translate_gva);
		a->size = size;
		a->is_write = write;
		a->df = e->in.string && (e->rflags & X86_DF);
		memcpy(a->data, buf, size);
		if (e->res.naccesses < slot + 1)
			e->res.naccesses = slot + 1;
	}
	return 0;
}

static int opnd_read(struct emu *e, unsigned kind, unsigned size, uint64_t *v)
{
	const struct hvabs_x86emu_insn *p = &e->in.pub;
	uint64_t lin;
	int rc;

	switch (kind) {
	case OPK_G:
		*v = reg_get(e, p->reg, size);
		return 0;
	case OPK_ACC:
		*v = reg_get(e, HVABS_X86EMU_RAX, size);
		return 0;
	case OPK_IMM:
		*v = p->imm;
		return 0;
	default:
		if (p->rm_reg != HVABS_X86EMU_NOREG) {
			*v = reg_get(e, p->rm_reg, size);
			return 0;
		}
		rc = mem_linear(e, &lin);
		if (rc)
			return rc;
		return mem_access(e, e->next_slot++, lin, size, false, v);
	}
}

static int opnd_write(struct emu *e, unsigned kind, unsigned size, uint64_t v)
{
	const struct hvabs_x86emu_insn *p = &e->in.pub;
	uint64_t lin;
	int rc;

	if (kind == OPK_G || kind == OPK_ACC) {
		reg_set(e, kind == OPK_G ? p->reg : HVABS_X86EMU_RAX, size, v);
		return 0;
	}
	if (p->rm_reg != HVABS_X86EMU_NOREG) {
		reg_set(e, p->rm_reg, size, v);
		return 0;
	}
	rc = mem_linear(e, &lin);
	if (rc)
		return rc;
	return mem_access(e, e->next_slot++, lin, size, true, &v);
}

static int exec_plain(struct emu *e)
{
	const struct x86_insn *in = &e->in;
	unsigned mn = in->pub.mnemonic, sz = in->pub.op_size;
	uint64_t d = 0, s;
	int rc;

	/* MOV and the extending loads never read their destination. */
	if (mn != HVABS_X86EMU_MOV && mn != HVABS_X86EMU_MOVZX && mn != HVABS_X86EMU_MOVSX &&
	    mn != HVABS_X86EMU_MOVSXD) {
		rc = opnd_read(e, in->dst, sz, &d);
		if (rc)
			return rc;
	}
	rc = opnd_read(e, in->src, in->src_size, &s);
	if (rc)
		return rc;
	switch (mn) {
	case HVABS_X86EMU_MOV:
	case HVABS_X86EMU_MOVZX:
		return opnd_write(e, in->dst, sz, s);
	case HVABS_X86EMU_MOVSX:
	case HVABS_X86EMU_MOVSXD:
		return opnd_write(e, in->dst, sz, x86_sext(s, in->src_size));
	case HVABS_X86EMU_XCHG:
		/* The r/m side first: if a memory write fails, the register is untouched. */
		rc = opnd_write(e, in->dst, sz, s);
		if (rc)
			return rc;
		return opnd_write(e, in->src, sz, d);
	case HVABS_X86EMU_CMP:
	case HVABS_X86EMU_TEST:
		x86_alu(mn, sz, d, s, &e->rflags);
		return 0;
	default:
		/* On a failed write the caller never sees these flags: no set_regs. */
		return opnd_write(e, in->dst, sz, x86_alu(mn, sz, d, s, &e->rflags));
	}
}

/* rSI/rDI/rCX updates use the address size; 32-bit ones zero-extend (SDM vol. 1 §3.3.7). */
static void areg_set(struct emu *e, unsigned reg, uint64_t v)
{
	reg_set(e, (uint8_t)reg, e->in.pub.addr_size, v);
}

/* One element of a string instruction; registers change only if it succeeds. */
static int string_elem(struct emu *e)
{
	const struct hvabs_x86emu_insn *p = &e->in.pub;
	unsigned sz = p->op_size, asz = p->addr_size, mn = p->mnemonic;
	uint64_t am = x86_mask(asz), si = e->gpr[6] & am, di = e->gpr[7] & am;
	uint64_t step = (e->rflags & X86_DF) ? (uint64_t) - (int64_t)sz : sz;
	uint64_t src = 0, dst = 0, a = 0, b = 0, fl = e->rflags;
	bool use_si = mn == HVABS_X86EMU_MOVS || mn == HVABS_X86EMU_CMPS || mn == HVABS_X86EMU_LODS;
	bool use_di = mn != HVABS_X86EMU_LODS;
	int rc;

	if (use_si && (rc = linear(e, p->seg, si, &src)))
		return rc;
	if (use_di && (rc = linear(e, HVABS_X86EMU_ES, di, &dst)))
		return rc;
	switch (mn) {
	case HVABS_X86EMU_MOVS:
		rc = mem_access(e, 0, src, sz, false, &a);
		if (!rc)
			rc = mem_access(e, 1, dst, sz, true, &a);
		break;
	case HVABS_X86EMU_STOS:
		a = reg_get(e, HVABS_X86EMU_RAX, sz);
		rc = mem_access(e, 0, dst, sz, true, &a);
		break;
	case HVABS_X86EMU_LODS:
		rc = mem_access(e, 0, src, sz, false, &a);
		break;
	case HVABS_X86EMU_CMPS:
		rc = mem_access(e, 0, src, sz, false, &a);
		if (!rc)
			rc = mem_access(e, 1, dst, sz, false, &b);
		if (!rc)
			x86_alu(HVABS_X86EMU_CMP, sz, a, b, &fl);
		break;
	default: /* SCAS */
		rc = mem_access(e, 0, dst, sz, false, &b);
		if (!rc)
			x86_alu(HVABS_X86EMU_CMP, sz, reg_get(e, HVABS_X86EMU_RAX, sz), b, &fl);
		break;
	}
	if (rc)
		return rc;
	if (mn == HVABS_X86EMU_LODS)
		reg_set(e, HVABS_X86EMU_RAX, sz, a);
	e->rflags = fl;
	if (use_si)
		areg_set(e, HVABS_X86EMU_RSI, si + step);
	if (use_di)
		areg_set(e, HVABS_X86EMU_RDI, di + step);
	return 0;
}

/*
 * REP/REPE/REPNE loop (SDM vol. 2 "REP/REPE/REPZ/REPNE/REPNZ"): test rCX,
 * do one element, decrement rCX, and for CMPS/SCAS stop on the ZF condition.
 * Returns 1 when the instruction stopped early and must not retire.
 */
static int exec_string(struct emu *e)
{
	const struct hvabs_x86emu_insn *p = &e->in.pub;
	uint32_t rep = p->prefixes & (HVABS_X86EMU_PFX_REP | HVABS_X86EMU_PFX_REPNE);
	bool cond = p->mnemonic == HVABS_X86EMU_CMPS || p->mnemonic == HVABS_X86EMU_SCAS;
	uint64_t am = x86_mask(p->addr_size);
	uint32_t max = e->ops->max_reps ? e->ops->max_reps : HVABS_X86EMU_DEFAULT_MAX_REPS;
	int rc;

	if (!rep)
		return string_elem(e);
	for (uint32_t n = 0;; n++) {
		uint64_t cx = e->gpr[1] & am;
		if (cx == 0)
			return 0;
		if (n == max)
			return 1;
		rc = string_elem(e);
		if (rc)
			return n ? 1 : rc; /* earlier elements stand; retry this one later */
		areg_set(e, HVABS_X86EMU_RCX, cx - 1);
		if (cond && !!(e->rflags & X86_ZF) != (rep == HVABS_X86EMU_PFX_REP))
			return 0;
	}
}

static void log_refusal(const struct hvabs_x86emu_ops *ops, int rc, uint64_t rip, const uint8_t *b,
			size_t n)
{
	char msg[160];
	int off;

	if (!OPS_HAS(ops, log))
		return;
	off = snprintf(msg, sizeof(msg), "x86emu: %s instruction at rip 0x%llx:",
		       rc == -ENOTSUP		       ? "unsupported"
		       : rc == HVABS_X86EMU_ETRUNCATED ? "truncated"
		       : rc == -EFAULT		       ? "non-canonical address in"
						       : "invalid",
		       (unsigned long long)rip);
	for (size_t i = 0; i < n && off > 0 && (size_t)off < sizeof(msg) - 4; i++)
		off += snprintf(msg + off, sizeof(msg) - (size_t)off, " %02x", b[i]);
	ops->log(ops->opaque, HVABS_LOG_WARN, msg);
}

/* Linear address of instruction byte `off`; IP wraps at the mode's width. */
static uint64_t fetch_linear(const struct emu *e, size_t off)
{
	if (e->mode == HVABS_X86EMU_MODE_64)
		return e->rip + off;
	uint64_t ip = (e->rip + off) & (e->mode == HVABS_X86EMU_MODE_16 ? 0xffffu : 0xffffffffu);
	return (e->sregs.cs.base + ip) & 0xffffffffull;
}

/* Decodes, fetching more bytes (never across a page boundary per call) as needed. */
static int fetch_decode(struct emu *e, const void *bytes, size_t len, uint8_t *buf, size_t *have)
{
	const struct hvabs_x86emu_ops *ops = e->ops;
	int rc;

	*have = len < HVABS_X86EMU_MAX_INSN ? len : HVABS_X86EMU_MAX_INSN;
	if (*have)
		memcpy(buf, bytes, *have);
	for (;;) {
		rc = x86_decode(e->mode, buf, *have, &e->in);
		if (rc != HVABS_X86EMU_ETRUNCATED || !OPS_HAS(ops, fetch))
			return rc;
		uint64_t lin = fetch_linear(e, *have);
		uint64_t chunk = 4096 - (lin & 4095);
		if (chunk > HVABS_X86EMU_MAX_INSN - *have)
			chunk = HVABS_X86EMU_MAX_INSN - *have;
		rc = ops->fetch(ops->opaque, lin, buf + *have, (uint32_t)chunk);
		if (rc)
			return rc;
		*have += chunk;
	}
}

static bool ops_ok(const struct hvabs_x86emu_ops *ops)
{
	return ops && ops->hdr.struct_size >= offsetof(struct hvabs_x86emu_ops, fetch) &&
	       ops->get_regs && ops->set_regs && ops->get_sregs && OPS_HAS(ops, read_gva) &&
	       OPS_HAS(ops, write_gva);
}

int hvabs_x86emu_run(const struct hvabs_x86emu_ops *ops, const void *bytes, size_t len,
		     struct hvabs_x86emu_result *res)
{
	struct emu e;
	struct hvabs_regs regs;
	uint8_t buf[HVABS_X86EMU_MAX_INSN];
	size_t have;
	int rc;

	if (!ops_ok(ops) || (!bytes && len) || !res)
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	memset(&regs, 0, sizeof(regs));
	e.ops = ops;
	regs.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	e.sregs.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	rc = ops->get_regs(ops->opaque, &regs);
	if (!rc)
		rc = ops->get_sregs(ops->opaque, &e.sregs);
	if (!rc)
		rc = hvabs_x86emu_mode_get(&e.sregs, regs.rflags, &e.mode);
	if (rc)
		return rc;
	regs_load(&e, &regs);
	rc = fetch_decode(&e, bytes, len, buf, &have);
	if (rc) {
		if (rc == -EINVAL || rc == -ENOTSUP || rc == HVABS_X86EMU_ETRUNCATED)
			log_refusal(ops, rc, e.rip, buf, have);
		return rc;
	}
	e.res.insn = e.in.pub;
	rc = e.in.string ? exec_string(&e) : exec_plain(&e);
	if (rc < 0) {
		if (rc == -EFAULT)
			log_refusal(ops, rc, e.rip, buf, e.in.pub.length);
		return rc;
	}
	if (rc == 1) {
		e.res.flags |= HVABS_X86EMU_RES_INCOMPLETE;
	} else if (e.mode == HVABS_X86EMU_MODE_64) {
		e.rip += e.in.pub.length;
	} else {
		/* EIP wraps at 32 bits, IP at 16 (SDM vol. 1 §3.5). */
		e.rip = (e.rip + e.in.pub.length) &
			(e.mode == HVABS_X86EMU_MODE_16 ? 0xffffu : 0xffffffffu);
	}
	regs_store(&e, &regs);
	rc = ops->set_regs(ops->opaque, &regs);
	if (rc)
		return rc;
	*res = e.res;
	return 0;
}

int hvabs_x86emu_mode_get(const struct hvabs_sregs *sregs, uint64_t rflags,
			  enum hvabs_x86emu_mode *mode)
{
	if (!sregs || !mode)
		return -EINVAL;
	/* SDM vol. 3 §2.2: real mode (CR0.PE clear) and virtual-8086 are 16-bit. */
	if (!(sregs->cr0 & 1) || (rflags & X86_VM)) {
		*mode = HVABS_X86EMU_MODE_16;
		return 0;
	}
	/* IA-32e mode (EFER.LMA) with CS.L is 64-bit; CS.L with CS.D is reserved. */
	if ((sregs->efer & (1ull << 10)) && sregs->cs.l) {
		if (sregs->cs.db)
			return -EINVAL;
		*mode = HVABS_X86EMU_MODE_64;
		return 0;
	}
	*mode = sregs->cs.db ? HVABS_X86EMU_MODE_32 : HVABS_X86EMU_MODE_16;
	return 0;
}
