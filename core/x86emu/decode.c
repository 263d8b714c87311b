/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86 decoder for the instructions guests use on MMIO. Encoding facts are
 * from the Intel SDM vol. 2 ch. 2 (prefixes, REX, ModRM/SIB, the 16-bit
 * addressing table 2-1) and the opcode map in vol. 2 appendix A.
 *
 * Every byte goes through next(), which refuses to read past the caller's
 * length or past the 15-byte architectural limit, so no input can make the
 * decoder read outside the buffer.
 */
#include <errno.h>
#include <string.h>

#include "x86emu_priv.h"

struct dec {
	const uint8_t *b;
	size_t len;
	size_t pos;
	enum hvabs_x86emu_mode mode;
	struct x86_insn *in;
};

static int next(struct dec *d, uint8_t *out)
{
	/* SDM vol. 2 §2.3.11: an instruction longer than 15 bytes raises #GP. */
	if (d->pos >= HVABS_X86EMU_MAX_INSN)
		return -EINVAL;
	if (d->pos >= d->len)
		return HVABS_X86EMU_ETRUNCATED;
	*out = d->b[d->pos++];
	return 0;
}

/* Reads an n-byte little-endian field. */
static int next_n(struct dec *d, unsigned n, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t c;
		int rc = next(d, &c);

		if (rc)
			return rc;
		v |= (uint64_t)c << (8 * i);
	}
	*out = v;
	return 0;
}

/* Without REX, byte registers 4-7 are AH, CH, DH, BH (SDM vol. 2 §2.2.1.2). */
static uint8_t reg_for_size(uint8_t r, unsigned size, uint8_t rex)
{
	if (size == 1 && !rex && r >= 4 && r < 8)
		return (uint8_t)(HVABS_X86EMU_AH + (r - 4));
	return r;
}

/* 16-bit ModRM memory forms, SDM vol. 2 table 2-1. */
static int modrm_mem16(struct dec *d, unsigned mod, unsigned rm)
{
	static const uint8_t base16[8] = {
	    HVABS_X86EMU_RBX,	HVABS_X86EMU_RBX,   HVABS_X86EMU_RBP, HVABS_X86EMU_RBP,
	    HVABS_X86EMU_NOREG, HVABS_X86EMU_NOREG, HVABS_X86EMU_RBP, HVABS_X86EMU_RBX,
	};
	static const uint8_t index16[8] = {
	    HVABS_X86EMU_RSI, HVABS_X86EMU_RDI, HVABS_X86EMU_RSI,   HVABS_X86EMU_RDI,
	    HVABS_X86EMU_RSI, HVABS_X86EMU_RDI, HVABS_X86EMU_NOREG, HVABS_X86EMU_NOREG,
	};
	struct hvabs_x86emu_insn *p = &d->in->pub;
	uint64_t v;
	int rc;

	if (mod == 0 && rm == 6) {
		rc = next_n(d, 2, &v);
		if (rc)
			return rc;
		p->disp = (int64_t)x86_sext(v, 2);
		return 0;
	}
	p->base = base16[rm];
	p->index = index16[rm];
	if (p->base == HVABS_X86EMU_RBP)
		p->seg = HVABS_X86EMU_SS;
	if (mod == 0)
		return 0;
	rc = next_n(d, mod == 1 ? 1 : 2, &v);
	if (rc)
		return rc;
	p->disp = (int64_t)x86_sext(v, mod == 1 ? 1 : 2);
	return 0;
}

/* 32/64-bit ModRM memory forms with SIB, SDM vol. 2 tables 2-2, 2-3 and §2.2.1. */
static int modrm_mem32(struct dec *d, unsigned mod, unsigned rm, uint8_t rex)
{
	struct hvabs_x86emu_insn *p = &d->in->pub;
	unsigned disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	uint8_t sib;
	uint64_t v;
	int rc;

	if (rm == 4) {
		rc = next(d, &sib);
		if (rc)
			return rc;
		p->has_sib = 1;
		p->sib = sib;
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2u) << 2);
		unsigned b = sib & 7;
		/* Index 100b without REX.X means "no index". */
		if (idx != 4) {
			p->index = (uint8_t)idx;
			p->scale = (uint8_t)(1u << (sib >> 6));
		}
		if (b == 5 && mod == 0)
			disp_size = 4; /* no base, disp32, whatever REX.B says */
		else
			p->base = (uint8_t)(b | ((rex & 1u) << 3));
	} else if (rm == 5 && mod == 0) {
		/* 64-bit mode: RIP-relative (EIP-relative with 67, §2.2.1.6). */
		if (d->mode == HVABS_X86EMU_MODE_64)
			p->base = HVABS_X86EMU_RIP;
		disp_size = 4;
	} else {
		p->base = (uint8_t)(rm | ((rex & 1u) << 3));
	}
	/* ESP/EBP as base select SS by default (vol. 1 §3.7.4). */
	if (p->base == HVABS_X86EMU_RSP || p->base == HVABS_X86EMU_RBP)
		p->seg = HVABS_X86EMU_SS;
	if (!disp_size)
		return 0;
	rc = next_n(d, disp_size, &v);
	if (rc)
		return rc;
	p->disp = (int64_t)x86_sext(v, disp_size);
	return 0;
}

/* Reads ModRM and its memory operand; e_size is the size of the r/m operand. */
static int decode_modrm(struct dec *d, uint8_t rex, unsigned g_size, unsigned e_size)
{
	struct hvabs_x86emu_insn *p = &d->in->pub;
	uint8_t m;
	int rc = next(d, &m);

	if (rc)
		return rc;
	p->has_modrm = 1;
	p->modrm = m;
	unsigned mod = m >> 6, rm = m & 7;
	p->reg = reg_for_size((uint8_t)(((m >> 3) & 7) | ((rex & 4u) << 1)), g_size, rex);
	if (mod == 3) {
		p->rm_reg = reg_for_size((uint8_t)(rm | ((rex & 1u) << 3)), e_size, rex);
		return 0;
	}
	p->mem_size = (uint8_t)e_size;
	if (p->addr_size == 2)
		return modrm_mem16(d, mod, rm);
	return modrm_mem32(d, mod, rm, rex);
}

static int decode_imm(struct dec *d, unsigned enc, unsigned size)
{
	struct hvabs_x86emu_insn *p = &d->in->pub;
	uint64_t v;
	int rc = next_n(d, enc, &v);

	if (rc)
		return rc;
	p->imm_size = (uint8_t)enc;
	p->imm = x86_sext(v, enc) & x86_mask(size);
	return 0;
}

/* Iz: an immediate of the operand size, but at most 32 bits, sign-extended. */
static unsigned iz(unsigned op_size)
{
	return op_size == 2 ? 2 : 4;
}

static const uint8_t alu_mnemonic[8] = {
    HVABS_X86EMU_ADD, HVABS_X86EMU_OR,	HVABS_X86EMU_ADC, HVABS_X86EMU_SBB,
    HVABS_X86EMU_AND, HVABS_X86EMU_SUB, HVABS_X86EMU_XOR, HVABS_X86EMU_CMP,
};

static void set_form(struct x86_insn *in, unsigned mn, unsigned dst, unsigned src)
{
	in->pub.mnemonic = (uint16_t)mn;
	in->dst = (uint8_t)dst;
	in->src = (uint8_t)src;
}

/* 00-3D: the eight ALU operations in their six forms each. */
static int decode_alu(struct dec *d, uint8_t op, uint8_t rex)
{
	struct x86_insn *in = d->in;
	unsigned mn = alu_mnemonic[op >> 3];
	unsigned sz = (op & 1) ? in->pub.op_size : 1;

	in->pub.op_size = (uint8_t)sz;
	switch (op & 7) {
	case 0:
	case 1:
		set_form(in, mn, OPK_E, OPK_G);
		return decode_modrm(d, rex, sz, sz);
	case 2:
	case 3:
		set_form(in, mn, OPK_G, OPK_E);
		return decode_modrm(d, rex, sz, sz);
	case 4:
	case 5:
		set_form(in, mn, OPK_ACC, OPK_IMM);
		return decode_imm(d, sz == 1 ? 1 : iz(sz), sz);
	default:
		return -ENOTSUP; /* PUSH/POP seg, DAA, DAS, AAA, AAS */
	}
}

/* 80-83, C6/C7, F6/F7: the r/m-and-immediate groups, selected by ModRM.reg. */
static int decode_group(struct dec *d, uint8_t op, uint8_t rex)
{
	struct x86_insn *in = d->in;
	unsigned sz = (op & 1) ? in->pub.op_size : 1;
	unsigned enc = op == 0x83 ? 1 : (op & 1) ? iz(sz) : 1;
	int rc;

	in->pub.op_size = (uint8_t)sz;
	rc = decode_modrm(d, rex, sz, sz);
	if (rc)
		return rc;
	unsigned r = (in->pub.modrm >> 3) & 7;
	in->pub.reg = HVABS_X86EMU_NOREG; /* ModRM.reg is an opcode extension here */
	switch (op) {
	case 0x80:
	case 0x81:
	case 0x82:
	case 0x83:
		set_form(in, alu_mnemonic[r], OPK_E, OPK_IMM);
		break;
	case 0xc6:
	case 0xc7:
		if (in->pub.modrm == 0xf8)
			return -ENOTSUP; /* XABORT / XBEGIN */
		if (r != 0)
			return -EINVAL;
		set_form(in, HVABS_X86EMU_MOV, OPK_E, OPK_IMM);
		break;
	default: /* F6/F7: /1 is an undocumented alias of TEST that CPUs accept */
		if (r > 1)
			return -ENOTSUP; /* NOT, NEG, MUL, IMUL, DIV, IDIV */
		set_form(in, HVABS_X86EMU_TEST, OPK_E, OPK_IMM);
		break;
	}
	return decode_imm(d, enc, sz);
}

/* A0-A3: MOV between the accumulator and a memory offset of the address size. */
static int decode_moffs(struct dec *d, uint8_t op)
{
	struct x86_insn *in = d->in;
	unsigned sz = (op & 1) ? in->pub.op_size : 1;
	uint64_t v;
	int rc;

	in->pub.op_size = (uint8_t)sz;
	if (op & 2)
		set_form(in, HVABS_X86EMU_MOV, OPK_E, OPK_ACC);
	else
		set_form(in, HVABS_X86EMU_MOV, OPK_ACC, OPK_E);
	rc = next_n(d, in->pub.addr_size, &v);
	if (rc)
		return rc;
	in->pub.disp = (int64_t)v;
	in->pub.mem_size = (uint8_t)sz;
	return 0;
}

/* A4-AF except A8/A9: the string instructions on rSI and ES:rDI. */
static int decode_string(struct dec *d, uint8_t op)
{
	static const uint8_t mn[6] = {
	    HVABS_X86EMU_MOVS, HVABS_X86EMU_CMPS, 0,
	    HVABS_X86EMU_STOS, HVABS_X86EMU_LODS, HVABS_X86EMU_SCAS,
	};
	struct x86_insn *in = d->in;
	struct hvabs_x86emu_insn *p = &in->pub;
	unsigned m = mn[(op - 0xa4) >> 1];

	p->op_size = (uint8_t)((op & 1) ? p->op_size : 1);
	p->mnemonic = (uint16_t)m;
	p->mem_size = p->op_size;
	in->string = true;
	/* STOS and SCAS only touch ES:rDI, which no override can change (vol. 1 §3.7.5). */
	if (m == HVABS_X86EMU_STOS || m == HVABS_X86EMU_SCAS) {
		p->base = HVABS_X86EMU_RDI;
		p->seg = HVABS_X86EMU_ES;
	} else {
		p->base = HVABS_X86EMU_RSI;
	}
	return 0;
}

static int decode_0f(struct dec *d, uint8_t rex)
{
	struct x86_insn *in = d->in;
	uint8_t op;
	int rc = next(d, &op);

	if (rc)
		return rc;
	in->pub.opcode = (uint16_t)(0x0f00 | op);
	switch (op) {
	case 0xb6:
	case 0xb7:
		set_form(in, HVABS_X86EMU_MOVZX, OPK_G, OPK_E);
		break;
	case 0xbe:
	case 0xbf:
		set_form(in, HVABS_X86EMU_MOVSX, OPK_G, OPK_E);
		break;
	default:
		return -ENOTSUP;
	}
	in->src_size = (op & 1) ? 2 : 1;
	return decode_modrm(d, rex, in->pub.op_size, in->src_size);
}

static int decode_opcode(struct dec *d, uint8_t op, uint8_t rex)
{
	struct x86_insn *in = d->in;
	unsigned sz = (op & 1) ? in->pub.op_size : 1;

	if (op == 0x0f)
		return decode_0f(d, rex);
	if (op < 0x40)
		return decode_alu(d, op, rex);
	switch (op) {
	case 0x63:
		if (d->mode != HVABS_X86EMU_MODE_64)
			return -ENOTSUP; /* ARPL */
		set_form(in, HVABS_X86EMU_MOVSXD, OPK_G, OPK_E);
		in->src_size = in->pub.op_size < 4 ? in->pub.op_size : 4;
		return decode_modrm(d, rex, in->pub.op_size, in->src_size);
	case 0x82:
		if (d->mode == HVABS_X86EMU_MODE_64)
			return -EINVAL; /* #UD in 64-bit mode (SDM vol. 2 table A-2) */
					/* fallthrough */
	case 0x80:
	case 0x81:
	case 0x83:
	case 0xc6:
	case 0xc7:
	case 0xf6:
	case 0xf7:
		return decode_group(d, op, rex);
	case 0x84:
	case 0x85:
	case 0x86:
	case 0x87:
	case 0x88:
	case 0x89:
		in->pub.op_size = (uint8_t)sz;
		set_form(in,
			 op < 0x86   ? HVABS_X86EMU_TEST
			 : op < 0x88 ? HVABS_X86EMU_XCHG
				     : HVABS_X86EMU_MOV,
			 OPK_E, OPK_G);
		return decode_modrm(d, rex, sz, sz);
	case 0x8a:
	case 0x8b:
		in->pub.op_size = (uint8_t)sz;
		set_form(in, HVABS_X86EMU_MOV, OPK_G, OPK_E);
		return decode_modrm(d, rex, sz, sz);
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		return decode_moffs(d, op);
	case 0xa8:
	case 0xa9:
		in->pub.op_size = (uint8_t)sz;
		set_form(in, HVABS_X86EMU_TEST, OPK_ACC, OPK_IMM);
		return decode_imm(d, sz == 1 ? 1 : iz(sz), sz);
	default:
		if (op >= 0xa4 && op <= 0xaf)
			return decode_string(d, op);
		return -ENOTSUP;
	}
}

/* Which memory directions an instruction has, from its mnemonic and form. */
static uint8_t mem_dir(const struct x86_insn *in)
{
	const struct hvabs_x86emu_insn *p = &in->pub;

	if (!p->mem_size)
		return 0;
	switch (p->mnemonic) {
	case HVABS_X86EMU_MOV:
		return in->dst == OPK_E ? HVABS_X86EMU_MEM_WRITE : HVABS_X86EMU_MEM_READ;
	case HVABS_X86EMU_STOS:
		return HVABS_X86EMU_MEM_WRITE;
	case HVABS_X86EMU_MOVS:
		return HVABS_X86EMU_MEM_READ | HVABS_X86EMU_MEM_WRITE;
	case HVABS_X86EMU_XCHG:
		return HVABS_X86EMU_MEM_READ | HVABS_X86EMU_MEM_WRITE;
	case HVABS_X86EMU_ADD:
	case HVABS_X86EMU_OR:
	case HVABS_X86EMU_ADC:
	case HVABS_X86EMU_SBB:
	case HVABS_X86EMU_AND:
	case HVABS_X86EMU_SUB:
	case HVABS_X86EMU_XOR:
		if (in->dst == OPK_E)
			return HVABS_X86EMU_MEM_READ | HVABS_X86EMU_MEM_WRITE;
		return HVABS_X86EMU_MEM_READ;
	default:
		return HVABS_X86EMU_MEM_READ;
	}
}

/*
 * LOCK is legal only on a read-modify-write of a memory destination: the
 * ALU operations but CMP, and XCHG (SDM vol. 2 "LOCK"). Anything else is #UD.
 */
static bool lock_ok(const struct x86_insn *in)
{
	const struct hvabs_x86emu_insn *p = &in->pub;

	if (in->dst != OPK_E || !p->mem_size || in->string)
		return false;
	switch (p->mnemonic) {
	case HVABS_X86EMU_ADD:
	case HVABS_X86EMU_OR:
	case HVABS_X86EMU_ADC:
	case HVABS_X86EMU_SBB:
	case HVABS_X86EMU_AND:
	case HVABS_X86EMU_SUB:
	case HVABS_X86EMU_XOR:
	case HVABS_X86EMU_XCHG:
		return true;
	default:
		return false;
	}
}

/* Legacy prefixes and REX; returns the opcode byte that follows them. */
static int decode_prefixes(struct dec *d, uint8_t *rex_out, uint8_t *op_out)
{
	struct hvabs_x86emu_insn *p = &d->in->pub;
	uint8_t rex = 0, c;
	int rc;

	for (;;) {
		rc = next(d, &c);
		if (rc)
			return rc;
		/* A REX not directly before the opcode is ignored (SDM vol. 2 §2.2.1). */
		if (d->mode == HVABS_X86EMU_MODE_64 && (c & 0xf0) == 0x40) {
			rex = c;
			continue;
		}
		switch (c) {
		case 0xf0:
			p->prefixes |= HVABS_X86EMU_PFX_LOCK;
			break;
		case 0xf2:
			p->prefixes =
			    (p->prefixes & ~HVABS_X86EMU_PFX_REP) | HVABS_X86EMU_PFX_REPNE;
			break;
		case 0xf3:
			p->prefixes =
			    (p->prefixes & ~HVABS_X86EMU_PFX_REPNE) | HVABS_X86EMU_PFX_REP;
			break;
		case 0x66:
			p->prefixes |= HVABS_X86EMU_PFX_OPSIZE;
			break;
		case 0x67:
			p->prefixes |= HVABS_X86EMU_PFX_ADDRSIZE;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
		case 0x64:
		case 0x65:
			p->prefixes |= HVABS_X86EMU_PFX_SEG;
			p->seg = (uint8_t)(c >= 0x64 ? c - 0x64 + HVABS_X86EMU_FS : (c >> 3) & 3);
			break;
		default:
			*rex_out = rex;
			*op_out = c;
			return 0;
		}
		rex = 0;
	}
}

/* Operand and address sizes from the mode and prefixes (SDM vol. 1 §3.6, table 3-4). */
static void set_sizes(struct dec *d, uint8_t rex)
{
	struct hvabs_x86emu_insn *p = &d->in->pub;
	bool o16 = p->prefixes & HVABS_X86EMU_PFX_OPSIZE;
	bool a16 = p->prefixes & HVABS_X86EMU_PFX_ADDRSIZE;

	switch (d->mode) {
	case HVABS_X86EMU_MODE_64:
		p->op_size = (rex & 8) ? 8 : o16 ? 2 : 4;
		p->addr_size = a16 ? 4 : 8;
		break;
	case HVABS_X86EMU_MODE_32:
		p->op_size = o16 ? 2 : 4;
		p->addr_size = a16 ? 2 : 4;
		break;
	default:
		p->op_size = o16 ? 4 : 2;
		p->addr_size = a16 ? 4 : 2;
		break;
	}
}

int x86_decode(enum hvabs_x86emu_mode mode, const uint8_t *b, size_t len, struct x86_insn *out)
{
	struct x86_insn in;
	struct dec d = {.b = b, .len = len, .mode = mode, .in = &in};
	uint8_t rex, op;
	int rc;

	memset(&in, 0, sizeof(in));
	in.pub.mode = (uint8_t)mode;
	in.pub.seg = 0xff; /* no override yet */
	in.pub.reg = in.pub.rm_reg = in.pub.base = in.pub.index = HVABS_X86EMU_NOREG;
	in.pub.scale = 1;
	rc = decode_prefixes(&d, &rex, &op);
	if (rc)
		return rc;
	uint8_t override = in.pub.seg;
	in.pub.seg = HVABS_X86EMU_DS;
	in.pub.rex = rex;
	if (rex)
		in.pub.prefixes |= HVABS_X86EMU_PFX_REX;
	in.pub.opcode = op;
	set_sizes(&d, rex);
	rc = decode_opcode(&d, op, rex);
	if (rc)
		return rc;
	if (!in.src_size)
		in.src_size = in.pub.op_size;
	/* An override replaces DS or SS, but never the ES of STOS/SCAS. */
	if (override != 0xff && !(in.string && in.pub.base == HVABS_X86EMU_RDI))
		in.pub.seg = override;
	if ((in.pub.prefixes & HVABS_X86EMU_PFX_LOCK) && !lock_ok(&in))
		return -EINVAL;
	in.pub.mem_dir = mem_dir(&in);
	in.pub.length = (uint8_t)d.pos;
	*out = in;
	return 0;
}

int hvabs_x86emu_decode(enum hvabs_x86emu_mode mode, const void *bytes, size_t len,
			struct hvabs_x86emu_insn *insn)
{
	struct x86_insn in;
	int rc;

	if ((!bytes && len) || !insn)
		return -EINVAL;
	if (mode != HVABS_X86EMU_MODE_16 && mode != HVABS_X86EMU_MODE_32 &&
	    mode != HVABS_X86EMU_MODE_64)
		return -EINVAL;
	rc = x86_decode(mode, bytes, len, &in);
	if (rc)
		return rc;
	*insn = in.pub;
	return 0;
}

const char *hvabs_x86emu_mnemonic_name(uint32_t mnemonic)
{
	static const char *const names[HVABS_X86EMU_MNEMONIC_COUNT] = {
	    [HVABS_X86EMU_MOV] = "mov",	    [HVABS_X86EMU_MOVZX] = "movzx",
	    [HVABS_X86EMU_MOVSX] = "movsx", [HVABS_X86EMU_MOVSXD] = "movsxd",
	    [HVABS_X86EMU_XCHG] = "xchg",   [HVABS_X86EMU_ADD] = "add",
	    [HVABS_X86EMU_OR] = "or",	    [HVABS_X86EMU_ADC] = "adc",
	    [HVABS_X86EMU_SBB] = "sbb",	    [HVABS_X86EMU_AND] = "and",
	    [HVABS_X86EMU_SUB] = "sub",	    [HVABS_X86EMU_XOR] = "xor",
	    [HVABS_X86EMU_CMP] = "cmp",	    [HVABS_X86EMU_TEST] = "test",
	    [HVABS_X86EMU_MOVS] = "movs",   [HVABS_X86EMU_CMPS] = "cmps",
	    [HVABS_X86EMU_STOS] = "stos",   [HVABS_X86EMU_LODS] = "lods",
	    [HVABS_X86EMU_SCAS] = "scas",
	};

	if (mnemonic >= HVABS_X86EMU_MNEMONIC_COUNT || !names[mnemonic])
		return "?";
	return names[mnemonic];
}
