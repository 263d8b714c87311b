/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Arithmetic and status flags for ADD, ADC, SUB, SBB, CMP, AND, OR, XOR and
 * TEST, as the Intel SDM vol. 2 defines them per instruction and vol. 1
 * appendix A summarises. AF is "undefined" after the logical operations;
 * Intel and AMD processors clear it, and so do we, so the native cross-check
 * in the unit tests holds bit for bit.
 */
#include "x86emu_priv.h"

/* PF reflects only the low byte of the result: set when it has an even number of ones. */
static bool parity_even(uint64_t v)
{
	return !(__builtin_popcount((unsigned)(v & 0xff)) & 1);
}

uint64_t x86_alu(unsigned mnemonic, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags)
{
	uint64_t m = x86_mask(size), sign = 1ull << (size * 8 - 1);
	uint64_t cin = (*rflags & X86_CF) ? 1 : 0;
	uint64_t r, f = 0;

	a &= m;
	b &= m;
	switch (mnemonic) {
	case HVABS_X86EMU_ADD:
		cin = 0;
		/* fallthrough */
	case HVABS_X86EMU_ADC:
		r = (a + b + cin) & m;
		/* With a carry in, a result equal to a means the add wrapped all the way. */
		if (cin ? r <= a : r < a)
			f |= X86_CF;
		if ((a ^ r) & (b ^ r) & sign)
			f |= X86_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= X86_AF;
		break;
	case HVABS_X86EMU_SUB:
	case HVABS_X86EMU_CMP:
		cin = 0;
		/* fallthrough */
	case HVABS_X86EMU_SBB:
		r = (a - b - cin) & m;
		if (cin ? a <= b : a < b)
			f |= X86_CF;
		if ((a ^ b) & (a ^ r) & sign)
			f |= X86_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= X86_AF;
		break;
	case HVABS_X86EMU_AND:
	case HVABS_X86EMU_TEST:
		r = a & b;
		break;
	case HVABS_X86EMU_OR:
		r = a | b;
		break;
	default: /* XOR */
		r = a ^ b;
		break;
	}
	if (!r)
		f |= X86_ZF;
	if (r & sign)
		f |= X86_SF;
	if (parity_even(r))
		f |= X86_PF;
	*rflags = (*rflags & ~X86_ARITH_FLAGS) | f;
	return r;
}
