/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The length of any x86 instruction, and a name for its opcode, for the
 * emulator cross-check. KVM reports an MMIO write after the instruction has
 * retired, with RIP already past it, so the cross-check has to find where the
 * instruction began by decoding backwards; for instructions the x86 emulator
 * does not support it needs their length from somewhere else, and this is it.
 *
 * Encoding facts are from the Intel SDM vol. 2: prefixes and REX (§2.1-2.2),
 * ModRM/SIB/displacement (tables 2-1 to 2-3), VEX and EVEX (§2.3, §2.7), and
 * the opcode maps of appendix A, whose operand-type letters name the
 * immediate sizes below (Ib, Iw, Iz, Iv, Ap, Jz, Ob). AMD's XOP (8F with
 * ModRM.reg != 0) is not decoded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kvm_priv.h"

enum imm_kind {
	IMM_NONE = 0,
	IMM_B,	  /* Ib: one byte */
	IMM_W,	  /* Iw: two bytes */
	IMM_Z,	  /* Iz: two or four bytes by operand size */
	IMM_V,	  /* Iv: two, four or eight bytes (MOV r, imm) */
	IMM_ADDR, /* Ob: an address-size offset (moffs) */
	IMM_REL,  /* Jz: rel16/rel32; always rel32 in 64-bit mode */
	IMM_FAR,  /* Ap: offset of the operand size plus a selector */
	IMM_WB,	  /* ENTER: Iw then Ib */
};

struct form {
	int modrm;
	int imm;     /* enum imm_kind */
	int mem;     /* touches memory without ModRM: string, moffs, XLAT */
	int imm_reg; /* F6/F7: the immediate exists only for ModRM.reg 0 and 1 */
};

/* The one-byte map (SDM vol. 2 table A-2). Prefixes never get here. */
static struct form map0(uint8_t op)
{
	struct form f = {0, IMM_NONE, 0, 0};

	if (op < 0x40) {
		/* Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz, then PUSH/POP seg or BCD. */
		static const struct form alu[8] = {
		    {1, IMM_NONE, 0, 0}, {1, IMM_NONE, 0, 0}, {1, IMM_NONE, 0, 0},
		    {1, IMM_NONE, 0, 0}, {0, IMM_B, 0, 0},    {0, IMM_Z, 0, 0},
		    {0, IMM_NONE, 0, 0}, {0, IMM_NONE, 0, 0},
		};
		return alu[op & 7];
	}
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xb0 && op <= 0xb7) ||
	    (op >= 0xe0 && op <= 0xe7) || op == 0x6a || op == 0xa8 || op == 0xcd || op == 0xd4 ||
	    op == 0xd5 || op == 0xeb)
		f.imm = IMM_B;
	else if (op == 0x68 || op == 0xa9)
		f.imm = IMM_Z;
	else if (op >= 0xb8 && op <= 0xbf)
		f.imm = IMM_V;
	else if (op == 0xc2 || op == 0xca)
		f.imm = IMM_W;
	else if (op == 0xe8 || op == 0xe9)
		f.imm = IMM_REL;
	else if (op == 0x9a || op == 0xea)
		f.imm = IMM_FAR;
	else if (op == 0xc8)
		f.imm = IMM_WB;
	else if (op >= 0xa0 && op <= 0xa3)
		f.imm = IMM_ADDR, f.mem = 1;
	else if ((op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xaf) || op == 0xd7)
		f.mem = 1; /* INS/OUTS, MOVS..SCAS (A8/A9 taken above), XLAT */
	/* ModRM forms, some with an immediate. */
	if (op == 0x62 || op == 0x63 || op == 0x69 || op == 0x6b || (op >= 0x80 && op <= 0x8f) ||
	    (op >= 0xc0 && op <= 0xc1) || (op >= 0xc4 && op <= 0xc7) ||
	    (op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf) || op >= 0xf6) {
		if (op < 0xf8 || op >= 0xfe)
			f.modrm = 1;
	}
	if (op == 0x69 || op == 0x81 || op == 0xc7)
		f.imm = IMM_Z;
	else if (op == 0x6b || op == 0x80 || op == 0x82 || op == 0x83 || op == 0xc0 || op == 0xc1 ||
		 op == 0xc6)
		f.imm = IMM_B;
	else if (op == 0xf6 || op == 0xf7)
		f.imm = op == 0xf6 ? IMM_B : IMM_Z, f.imm_reg = 1;
	return f;
}

/* The two-byte map 0F xx (SDM vol. 2 table A-3). */
static struct form map1(uint8_t op)
{
	struct form f = {1, IMM_NONE, 0, 0};

	switch (op) {
	case 0x05: /* SYSCALL, CLTS, SYSRET, INVD, WBINVD, UD2, FEMMS */
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
	case 0x0b:
	case 0x0e:
	case 0x77: /* EMMS */
	case 0xa0: /* PUSH/POP FS, CPUID, PUSH/POP GS, RSM */
	case 0xa1:
	case 0xa2:
	case 0xa8:
	case 0xa9:
	case 0xaa:
		f.modrm = 0;
		return f;
	case 0x0f: /* 3DNow!: ModRM, then the opcode as an Ib */
	case 0x70:
	case 0x71:
	case 0x72:
	case 0x73:
	case 0xa4:
	case 0xac:
	case 0xba:
	case 0xc2:
	case 0xc4:
	case 0xc5:
	case 0xc6:
		f.imm = IMM_B;
		return f;
	default:
		break;
	}
	if (op >= 0x30 && op <= 0x37) /* WRMSR..GETSEC */
		f.modrm = 0;
	else if (op >= 0x80 && op <= 0x8f) /* Jcc Jz */
		f.modrm = 0, f.imm = IMM_REL;
	else if (op >= 0xc8 && op <= 0xcf) /* BSWAP */
		f.modrm = 0;
	return f;
}

/* VEX and EVEX maps: everything has ModRM but VZEROUPPER/VZEROALL (VEX 0F 77). */
static struct form map_vex(unsigned map, uint8_t op)
{
	struct form f = {1, IMM_NONE, 0, 0};

	if (map == 1 && op == 0x77)
		f.modrm = 0;
	if (map == 3 ||
	    (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6))))
		f.imm = IMM_B;
	return f;
}

struct lstate {
	const uint8_t *b;
	size_t n;
	size_t pos;
	unsigned o16, a16; /* 66 and 67 seen */
	uint8_t rex;	   /* REX (or VEX/EVEX R, X, B un-inverted) in effect */
	uint8_t seg;	   /* segment override, KVM_INSN_NOREG for none */
};

static int take(struct lstate *s, size_t k)
{
	if (s->pos + k > HVABS_X86EMU_MAX_INSN)
		return -EINVAL; /* longer than 15 bytes: #GP, not an instruction */
	if (s->pos + k > s->n)
		return -ENODATA;
	s->pos += k;
	return 0;
}

/* Takes a k-byte displacement, sign-extended (k = 0 takes nothing). */
static int take_disp(struct lstate *s, unsigned k, int64_t *disp)
{
	int rc = take(s, k);
	uint64_t v = 0;

	if (rc || !k)
		return rc;
	for (unsigned i = 0; i < k; i++)
		v |= (uint64_t)s->b[s->pos - k + i] << (8 * i);
	*disp = k == 1 ? (int8_t)v : k == 2 ? (int16_t)v : (int32_t)v;
	return 0;
}

/* 16-bit memory forms (SDM vol. 2 table 2-1): BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP, BX. */
static int modrm16(struct lstate *s, unsigned mod, unsigned rm, struct kvm_insn_info *in)
{
	static const uint8_t base[8] = {3, 3, 5, 5, KVM_INSN_NOREG, KVM_INSN_NOREG, 5, 3};
	static const uint8_t index[8] = {6, 7, 6, 7, 6, 7, KVM_INSN_NOREG, KVM_INSN_NOREG};

	if (mod == 0 && rm == 6)
		return take_disp(s, 2, &in->disp);
	in->base = base[rm];
	in->index = index[rm];
	return take_disp(s, mod == 1 ? 1 : mod == 2 ? 2 : 0, &in->disp);
}

/* 32/64-bit memory forms with SIB (SDM vol. 2 tables 2-2, 2-3; RIP-relative §2.2.1.6). */
static int modrm32(struct lstate *s, unsigned mod, unsigned rm, unsigned mode,
		   struct kvm_insn_info *in)
{
	unsigned disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	int rc;

	if (rm == 4) {
		if (s->pos >= s->n)
			return take(s, 1);
		uint8_t sib = s->b[s->pos];
		if ((rc = take(s, 1)))
			return rc;
		unsigned idx = ((sib >> 3) & 7) | ((s->rex & 2u) << 2);
		if (idx != 4) {
			in->index = (uint8_t)idx;
			in->scale = (uint8_t)(1u << (sib >> 6));
		}
		if (mod == 0 && (sib & 7) == 5)
			disp = 4;
		else
			in->base = (uint8_t)((sib & 7) | ((s->rex & 1u) << 3));
	} else if (mod == 0 && rm == 5) {
		disp = 4;
		if (mode == 64)
			in->base = KVM_INSN_RIP;
	} else {
		in->base = (uint8_t)(rm | ((s->rex & 1u) << 3));
	}
	return take_disp(s, disp, &in->disp);
}

/* ModRM, SIB and displacement, and the memory operand they name. */
static int modrm_len(struct lstate *s, unsigned mode, unsigned addr_size, struct kvm_insn_info *in)
{
	uint8_t m;
	int rc;

	if (s->pos >= s->n)
		return take(s, 1);
	m = s->b[s->pos];
	rc = take(s, 1);
	if (rc)
		return rc;
	in->has_modrm = 1;
	in->modrm = m;
	unsigned mod = m >> 6, rm = m & 7;
	/* MOV to/from CR, DR and TR (0F 20-27) ignore ModRM.mod: always registers. */
	if (mod == 3 || (in->map == 1 && (in->opcode & 0xf8) == 0x20))
		return 0;
	in->mem = 1;
	rc = addr_size == 2 ? modrm16(s, mod, rm, in) : modrm32(s, mod, rm, mode, in);
	/* rBP and rSP as base address the stack segment (SDM vol. 1 §3.7.4). */
	if (in->base == 4 || in->base == 5)
		in->seg = 2;
	if (s->seg != KVM_INSN_NOREG)
		in->seg = s->seg;
	return rc;
}

static unsigned imm_len(int kind, unsigned mode, unsigned op_size, unsigned addr_size,
			unsigned rex_w)
{
	switch (kind) {
	case IMM_B:
		return 1;
	case IMM_W:
		return 2;
	case IMM_Z:
		return op_size == 2 ? 2 : 4;
	case IMM_V:
		return rex_w ? 8 : op_size == 2 ? 2 : 4;
	case IMM_ADDR:
		return addr_size;
	case IMM_REL:
		return mode == 64 ? 4 : op_size == 2 ? 2 : 4;
	case IMM_FAR:
		return (op_size == 2 ? 2 : 4) + 2;
	case IMM_WB:
		return 3;
	default:
		return 0;
	}
}

/*
 * VEX (C4/C5) and EVEX (62): in 64-bit mode always; in 32-bit mode only when
 * the next byte has both top bits set, which LES/LDS/BOUND cannot (they need
 * a memory operand); never in 16-bit code, which is what real mode runs.
 * Their R, X and B bits are stored inverted.
 */
static int vex_prefix(struct lstate *s, unsigned mode, uint8_t op, struct kvm_insn_info *in)
{
	size_t pre = op == 0xc5 ? 2 : op == 0xc4 ? 3 : 4;
	int rc;

	if (mode == 16)
		return 0;
	if (mode == 32 && (s->pos >= s->n || (s->b[s->pos] & 0xc0) != 0xc0))
		return 0;
	rc = take(s, pre - 1);
	if (rc)
		return rc;
	const uint8_t *p = s->b + s->pos - (pre - 1);
	if (op == 0xc5)
		in->map = 1;
	else if (op == 0xc4)
		in->map = p[0] & 0x1f;
	else
		in->map = p[0] & 0x07;
	if (in->map < 1 || in->map > 7)
		return -EINVAL;
	in->map |= op == 0x62 ? KVM_INSN_EVEX : KVM_INSN_VEX;
	s->rex = (mode == 64 && op != 0xc5) ? (uint8_t)((~p[0] >> 5) & 3) : 0;
	return 1;
}

/* Prefixes, up to the opcode byte (SDM vol. 2 §2.1.1, §2.2.1). */
static int prefixes(struct lstate *s, unsigned mode)
{
	static const uint8_t segs[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65}; /* ES CS SS DS FS GS */

	for (;;) {
		if (s->pos >= s->n)
			return take(s, 1);
		uint8_t c = s->b[s->pos];
		int rex = mode == 64 && (c & 0xf0) == 0x40, known = 1;
		if (c == 0x66)
			s->o16 = 1;
		else if (c == 0x67)
			s->a16 = 1;
		else if (memchr(segs, c, sizeof(segs)))
			s->seg = (uint8_t)((const uint8_t *)memchr(segs, c, sizeof(segs)) - segs);
		else if (!rex && c != 0xf0 && c != 0xf2 && c != 0xf3)
			known = 0;
		if (!known)
			return 0;
		s->rex = rex ? c : 0; /* a REX before a legacy prefix is ignored */
		int rc = take(s, 1);
		if (rc)
			return rc;
	}
}

int kvm_insn_length(unsigned mode, const uint8_t *b, size_t n, struct kvm_insn_info *out)
{
	struct lstate s = {.b = b, .n = n, .pos = 0, .seg = KVM_INSN_NOREG};
	struct kvm_insn_info in;
	struct form f;
	int rc;

	memset(&in, 0, sizeof(in));
	in.base = in.index = KVM_INSN_NOREG;
	in.scale = 1;
	in.seg = 3; /* DS */
	rc = prefixes(&s, mode);
	if (rc)
		return rc;
	unsigned rexw = (s.rex >> 3) & 1;
	unsigned op_size = rexw ? 8 : mode == 16 ? (s.o16 ? 4 : 2) : (s.o16 ? 2 : 4);
	unsigned addr_size = mode == 64 ? (s.a16 ? 4 : 8) : (mode == 32) != !!s.a16 ? 4 : 2;
	in.addr_size = (uint8_t)addr_size;
	uint8_t op = b[s.pos];
	if ((rc = take(&s, 1)))
		return rc;
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		rc = vex_prefix(&s, mode, op, &in);
		if (rc < 0)
			return rc;
		if (rc) {
			if (s.pos >= s.n)
				return take(&s, 1);
			op = b[s.pos];
			if ((rc = take(&s, 1)))
				return rc;
		}
	}
	if (in.map) {
		f = map_vex(in.map & 7, op);
	} else if (op == 0x0f) {
		if (s.pos >= s.n)
			return take(&s, 1);
		op = b[s.pos];
		if ((rc = take(&s, 1)))
			return rc;
		in.map = 1;
		if (op == 0x38 || op == 0x3a) {
			in.map = op == 0x38 ? 2 : 3;
			if (s.pos >= s.n)
				return take(&s, 1);
			op = b[s.pos];
			if ((rc = take(&s, 1)))
				return rc;
			f = map_vex(in.map, op);
		} else {
			f = map1(op);
		}
	} else {
		if (op == 0x8f && s.pos < s.n && (b[s.pos] & 0x38))
			return -EINVAL; /* AMD XOP */
		f = map0(op);
	}
	in.opcode = op;
	in.mem = (uint8_t)f.mem;
	/* (modrm_len() looks at map and opcode: set above.) */
	if (f.modrm && (rc = modrm_len(&s, mode, addr_size, &in)))
		return rc;
	/* LEA and the hint NOPs (prefetch, NOP Ev, BND) have a ModRM address but no access. */
	if ((in.map == 0 && op == 0x8d) ||
	    (in.map == 1 && (op == 0x0d || (op >= 0x18 && op <= 0x1f))))
		in.mem = 0;
	if (f.imm_reg && ((in.modrm >> 3) & 7) > 1)
		f.imm = IMM_NONE;
	if ((rc = take(&s, imm_len(f.imm, mode, op_size, addr_size, rexw))))
		return rc;
	in.len = (uint8_t)s.pos;
	*out = in;
	return 0;
}

/* One-byte and 0F opcodes whose ModRM.reg selects the operation. */
static int is_group(const struct kvm_insn_info *in)
{
	uint8_t op = in->opcode;

	if (!in->has_modrm || (in->map & (KVM_INSN_VEX | KVM_INSN_EVEX)))
		return 0;
	if (in->map == 0)
		return (op >= 0x80 && op <= 0x83) || op == 0x8f || op == 0xc0 || op == 0xc1 ||
		       op == 0xc6 || op == 0xc7 || (op >= 0xd0 && op <= 0xd3) || op == 0xf6 ||
		       op == 0xf7 || op == 0xfe || op == 0xff;
	if (in->map == 1)
		return op == 0x00 || op == 0x01 || op == 0x0d || op == 0x18 ||
		       (op >= 0x71 && op <= 0x73) || op == 0xae || op == 0xba || op == 0xc7;
	return 0;
}

void kvm_insn_name(const struct kvm_insn_info *in, char *buf, size_t len)
{
	static const char *const maps[8] = {"",	     "0f ",   "0f 38 ", "0f 3a ",
					    "map4 ", "map5 ", "map6 ",	"map7 "};
	const char *kind = (in->map & KVM_INSN_EVEX)  ? "evex "
			   : (in->map & KVM_INSN_VEX) ? "vex "
						      : "";
	int n = snprintf(buf, len, "%s%s%02x", kind, maps[in->map & 7], in->opcode);

	if (n > 0 && (size_t)n < len && is_group(in))
		snprintf(buf + n, len - (size_t)n, " /%u", (in->modrm >> 3) & 7);
}
