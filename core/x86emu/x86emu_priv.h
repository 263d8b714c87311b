/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface between the x86 decoder, the ALU and the executor. */
#ifndef HVABS_X86EMU_PRIV_H
#define HVABS_X86EMU_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "hvabs/x86emu.h"

/* RFLAGS bits the emulator reads or writes (Intel SDM vol. 1 §3.4.3). */
#define X86_CF		(1ull << 0)
#define X86_PF		(1ull << 2)
#define X86_AF		(1ull << 4)
#define X86_ZF		(1ull << 6)
#define X86_SF		(1ull << 7)
#define X86_DF		(1ull << 10)
#define X86_OF		(1ull << 11)
#define X86_VM		(1ull << 17)
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Where an operand of a non-string instruction comes from. */
enum x86_opk {
	OPK_NONE = 0,
	OPK_E,	 /* ModRM r/m or moffs: insn.rm_reg, or memory when that is NOREG */
	OPK_G,	 /* ModRM reg: insn.reg */
	OPK_ACC, /* AL/AX/EAX/RAX */
	OPK_IMM, /* insn.imm */
};

/* The public decoded instruction plus what the executor needs to run it. */
struct x86_insn {
	struct hvabs_x86emu_insn pub;
	uint8_t dst;	  /* enum x86_opk */
	uint8_t src;	  /* enum x86_opk */
	uint8_t src_size; /* bytes of the source (differs from op_size for MOVZX/MOVSX/MOVSXD) */
	bool string;
};

/* Decodes at most min(len, 15) bytes of b; 0, -EINVAL, -ENOTSUP or HVABS_X86EMU_ETRUNCATED. */
int x86_decode(enum hvabs_x86emu_mode mode, const uint8_t *b, size_t len, struct x86_insn *out);

/* Size-masked helpers shared by the ALU and the executor. */
static inline uint64_t x86_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t x86_sext(uint64_t v, unsigned from)
{
	unsigned shift = 64 - from * 8;

	return from >= 8 ? v : (uint64_t)((int64_t)(v << shift) >> shift);
}

/*
 * Runs an arithmetic or logical mnemonic on size-byte operands; returns the
 * result and replaces the six status flags in *rflags.
 */
uint64_t x86_alu(unsigned mnemonic, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags);

#endif
