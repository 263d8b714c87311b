/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table-driven tests of the x86 emulator: each case gives instruction bytes,
 * the registers and memory before, and what must happen: the return code,
 * the instruction length, every memory access in order, and every register
 * that changes (all others, and RFLAGS unless listed, must stay the same).
 */
#ifndef X86EMU_TEST_H
#define X86EMU_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvabs/x86emu.h"

/* Register ids in cases; 0 ends a list. GPRs are 1 + their encoding. */
enum {
	tEND = 0,
	tRAX,
	tRCX,
	tRDX,
	tRBX,
	tRSP,
	tRBP,
	tRSI,
	tRDI,
	tR8,
	tR9,
	tR10,
	tR11,
	tR12,
	tR13,
	tR14,
	tR15,
	tRIP,
	tFLAGS,
	tES,
	tCS,
	tSS,
	tDS,
	tFS,
	tGS, /* segment bases */
	tCR4,
	tMAXREPS, /* hvabs_x86emu_ops::max_reps */
};

/* Every GPR starts with a distinct pattern so partial writes show: RAX 0x0101.., R15 0x1010... */
#define P(t) (0x0101010101010101ull * (uint64_t)(t))
/* Pattern with the low `bits` replaced by v. */
#define PLO(t, bits, v) ((P(t) & ~((1ull << (bits)) - 1)) | (uint64_t)(v))

#define RIP64		0x1000ull /* default RIP in 32- and 64-bit cases */
#define RIP16		0x0100ull /* default IP in 16-bit cases */

struct treg {
	uint8_t id;
	uint64_t val;
};

struct tmem {
	uint64_t addr;
	uint64_t val;
	uint8_t size; /* 0 ends the list; 1-8 */
};

struct tacc {
	uint64_t addr;
	uint64_t val;
	uint8_t size; /* 0 ends the list */
	uint8_t write;
};

/* tcase::opt bits */
#define T_FETCH	     (1u << 0) /* bytes live in memory at CS:RIP; only `given` are passed */
#define T_INCOMPLETE (1u << 1) /* expect HVABS_X86EMU_RES_INCOMPLETE (RIP unchanged) */
#define T_PROT16     (1u << 2) /* mode 16 as 16-bit protected mode rather than real mode */
#define T_VM86	     (1u << 3) /* mode 16 as virtual-8086 mode */
#define T_NODECODE   (1u << 4) /* skip the hvabs_x86emu_decode() consistency check */

struct tcase {
	const char *name;
	uint8_t mode; /* 16, 32, or 0/64 */
	uint8_t len;
	uint8_t bytes[16];
	uint8_t given; /* with T_FETCH: bytes passed directly */
	uint32_t opt;
	struct treg in[8];
	struct tmem mem[6];
	uint64_t fault_lo, fault_hi;   /* reads and writes in [lo, hi) fail with -EIO */
	uint64_t wfault_lo, wfault_hi; /* writes in [lo, hi) fail with -EIO */
	int rc;
	uint8_t ilen;
	uint16_t mn; /* expected mnemonic, or 0 to skip the check */
	struct tacc acc[10];
	uint32_t streams[2]; /* string cases: element count of each access stream */
	struct treg out[8];
};

#define B(...)	 .bytes = {__VA_ARGS__}, .len = sizeof((uint8_t[]){__VA_ARGS__})
#define IN(...)	 .in = {__VA_ARGS__}
#define OUT(...) .out = {__VA_ARGS__}
#define MEM(...) .mem = {__VA_ARGS__}
#define ACC(...) .acc = {__VA_ARGS__}
#define R(id, v)                                                                                   \
	{                                                                                          \
		id, (uint64_t)(v)                                                                  \
	}
#define M(a, s, v)                                                                                 \
	{                                                                                          \
		(uint64_t)(a), (uint64_t)(v), s                                                    \
	}
#define RD(a, s, v)                                                                                \
	{                                                                                          \
		(uint64_t)(a), (uint64_t)(v), s, 0                                                 \
	}
#define WR(a, s, v)                                                                                \
	{                                                                                          \
		(uint64_t)(a), (uint64_t)(v), s, 1                                                 \
	}
#define FL(v) R(tFLAGS, v)

extern const struct tcase x86emu_cases_mov[];
extern const size_t x86emu_ncases_mov;
extern const struct tcase x86emu_cases_alu[];
extern const size_t x86emu_ncases_alu;
extern const struct tcase x86emu_cases_string[];
extern const size_t x86emu_ncases_string;
extern const struct tcase x86emu_cases_modes[];
extern const size_t x86emu_ncases_modes;
extern const struct tcase x86emu_cases_invalid[];
extern const size_t x86emu_ncases_invalid;

/* Native cross-check (x86-64 hosts only); returns the number of cmocka tests. */
void x86emu_native_test(void **state);

#endif
