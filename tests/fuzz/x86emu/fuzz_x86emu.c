/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the x86 emulator: arbitrary instruction bytes,
 * registers, segment bases, mode and memory contents, with and without a
 * fetch op, with failing page walks and memory ops. Besides the sanitizers'
 * checks it traps on any broken promise of x86emu.h: registers written on
 * error or more than once, an instruction longer than 15 bytes or than the
 * bytes it had, a fetch that crosses a page, decode and run disagreeing,
 * RIP not advanced by the length, flags outside the six status flags
 * changed, an access of an odd size.
 *
 * Input: [config][given][given instruction bytes][state and memory bytes...]
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvabs/x86emu.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* config bits */
#define C_MODE	    0x03u /* 0, 3: 64-bit; 1: 32-bit; 2: 16-bit */
#define C_FETCH	    0x04u
#define C_XLATE	    0x08u
#define C_XLATE_ERR 0x10u
#define C_MEM_ERR   0x20u
#define C_LA57	    0x40u
#define C_REPS	    0x80u

struct env {
	uint32_t cfg;
	const uint8_t *tail; /* state, then memory contents, cycled */
	size_t ntail;
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
	int sets;
	struct hvabs_regs out;
	unsigned ops;
};

static uint8_t tail_byte(const struct env *e, uint64_t i)
{
	return e->ntail ? e->tail[i % e->ntail] : (uint8_t)i;
}

static uint64_t take64(const struct env *e, size_t *pos)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)tail_byte(e, (*pos)++) << (8 * i);
	return v;
}

static int get_regs(void *o, struct hvabs_regs *r)
{
	*r = ((struct env *)o)->regs;
	return 0;
}

static int set_regs(void *o, const struct hvabs_regs *r)
{
	struct env *e = o;

	e->sets++;
	e->out = *r;
	return 0;
}

static int get_sregs(void *o, struct hvabs_sregs *s)
{
	*s = ((struct env *)o)->sregs;
	return 0;
}

static int fetch(void *o, uint64_t lin, void *buf, uint32_t len)
{
	struct env *e = o;

	CHECK(len >= 1 && len <= HVABS_X86EMU_MAX_INSN);
	CHECK((lin & 4095) + len <= 4096);
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = tail_byte(e, (lin + i) * 7);
	return 0;
}

/* Some addresses fail, chosen by the data, so string ops stop part way. */
static int mem_fails(struct env *e, uint64_t lin)
{
	return (e->cfg & C_MEM_ERR) && (tail_byte(e, lin) & 7) == 0;
}

static int read_gva(void *o, uint64_t lin, void *buf, uint32_t size)
{
	struct env *e = o;

	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	e->ops++;
	if (mem_fails(e, lin))
		return -EIO;
	for (uint32_t i = 0; i < size; i++)
		((uint8_t *)buf)[i] = tail_byte(e, lin + i);
	return 0;
}

static int write_gva(void *o, uint64_t lin, const void *buf, uint32_t size)
{
	struct env *e = o;

	(void)buf;
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	e->ops++;
	return mem_fails(e, lin) ? -EIO : 0;
}

static int translate(void *o, uint64_t lin, int is_write, uint64_t *gpa)
{
	struct env *e = o;

	(void)is_write;
	if ((e->cfg & C_XLATE_ERR) && (lin & 0x1000))
		return -EFAULT;
	*gpa = lin ^ 0x5000;
	return 0;
}

static void log_line(void *o, enum hvabs_log_level level, const char *msg)
{
	(void)o;
	(void)level;
	CHECK(msg && strlen(msg) < 160);
}

static void setup(struct env *e)
{
	size_t pos = 0;
	uint64_t *g[16] = {&e->regs.rax, &e->regs.rcx, &e->regs.rdx, &e->regs.rbx,
			   &e->regs.rsp, &e->regs.rbp, &e->regs.rsi, &e->regs.rdi,
			   &e->regs.r8,	 &e->regs.r9,  &e->regs.r10, &e->regs.r11,
			   &e->regs.r12, &e->regs.r13, &e->regs.r14, &e->regs.r15};
	struct hvabs_segment *s[6] = {&e->sregs.es, &e->sregs.cs, &e->sregs.ss,
				      &e->sregs.ds, &e->sregs.fs, &e->sregs.gs};

	for (int i = 0; i < 16; i++)
		*g[i] = take64(e, &pos);
	e->regs.rip = take64(e, &pos);
	e->regs.rflags =
	    (take64(e, &pos) & 0x8d5 & ~0x400ull) | 0x2 | ((take64(e, &pos) & 1) ? 0x400 : 0);
	for (int i = 0; i < 6; i++)
		s[i]->base = take64(e, &pos);
	switch (e->cfg & C_MODE) {
	case 1:
		e->sregs.cr0 = 1;
		e->sregs.cs.db = 1;
		e->regs.rip &= 0xffffffff;
		break;
	case 2:
		e->regs.rip &= 0xffff;
		break;
	default:
		e->sregs.cr0 = 0x80000001;
		e->sregs.efer = 0x500;
		e->sregs.cs.l = 1;
		e->sregs.cr4 = (e->cfg & C_LA57) ? 0x1020 : 0x20;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env e;
	struct hvabs_x86emu_ops ops = {
	    .hdr = HVABS_HDR_INIT(struct hvabs_x86emu_ops),
	    .opaque = &e,
	    .get_regs = get_regs,
	    .set_regs = set_regs,
	    .get_sregs = get_sregs,
	    .read_gva = read_gva,
	    .write_gva = write_gva,
	    .log = log_line,
	};
	struct hvabs_x86emu_result res;
	struct hvabs_x86emu_insn insn;
	enum hvabs_x86emu_mode mode;
	uint8_t *bytes;
	size_t given;
	int rc, drc;

	if (size < 2)
		return 0;
	memset(&e, 0, sizeof(e));
	e.cfg = data[0];
	given = data[1] % 17u;
	if (given > size - 2)
		given = size - 2;
	e.tail = data + 2 + given;
	e.ntail = size - 2 - given;
	setup(&e);
	if (e.cfg & C_FETCH)
		ops.fetch = fetch;
	if (e.cfg & C_XLATE)
		ops.translate_gva = translate;
	ops.max_reps = (e.cfg & C_REPS) ? 3 : 64;
	/* An exact-size heap copy, so ASan sees any read past `given`. */
	bytes = malloc(given ? given : 1);
	if (!bytes)
		return 0;
	memcpy(bytes, data + 2, given);

	rc = hvabs_x86emu_run(&ops, given ? bytes : NULL, given, &res);
	CHECK(hvabs_x86emu_mode_get(&e.sregs, e.regs.rflags, &mode) == 0);
	drc = hvabs_x86emu_decode(mode, given ? bytes : NULL, given, &insn);
	if (rc) {
		CHECK(e.sets == 0);
		CHECK(rc == -EINVAL || rc == -ENOTSUP || rc == HVABS_X86EMU_ETRUNCATED ||
		      rc == -EFAULT || rc == -EIO);
		/* Without a fetch op, run and decode refuse the same bytes the same way. */
		if (!(e.cfg & C_FETCH) &&
		    (rc == -EINVAL || rc == -ENOTSUP || rc == HVABS_X86EMU_ETRUNCATED))
			CHECK(drc == rc);
	} else {
		uint64_t ipmask = mode == HVABS_X86EMU_MODE_64	 ? ~0ull
				  : mode == HVABS_X86EMU_MODE_32 ? 0xffffffffull
								 : 0xffffull;
		CHECK(e.sets == 1);
		CHECK(res.insn.length >= 1 && res.insn.length <= HVABS_X86EMU_MAX_INSN);
		CHECK(res.naccesses <= HVABS_X86EMU_MAX_ACCESSES);
		for (uint32_t i = 0; i < res.naccesses; i++) {
			uint32_t sz = res.access[i].size;
			CHECK(sz == 1 || sz == 2 || sz == 4 || sz == 8);
			CHECK(res.access[i].count >= 1);
			CHECK(res.access[i].gpa_valid == !!(e.cfg & C_XLATE));
		}
		if (!(e.cfg & C_FETCH)) {
			CHECK(res.insn.length <= given);
			CHECK(drc == 0 && insn.length == res.insn.length &&
			      insn.mnemonic == res.insn.mnemonic);
		}
		if (res.flags & HVABS_X86EMU_RES_INCOMPLETE)
			CHECK(e.out.rip == e.regs.rip);
		else
			CHECK(e.out.rip == ((e.regs.rip + res.insn.length) & ipmask));
		CHECK(((e.out.rflags ^ e.regs.rflags) & ~0x8d5ull) == 0);
	}
	free(bytes);
	return 0;
}
