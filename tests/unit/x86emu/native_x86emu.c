/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Native cross-check: each instruction below is assembled by the host `as`
 * into a small function that loads registers and RFLAGS from a state block,
 * runs the instruction on this CPU, and stores them back. The emulator gets
 * the very bytes `as` produced and the same state and memory (host buffers,
 * addressed by their host addresses); registers, the six status flags, DF
 * and both buffers must come out identical. Many random states per
 * instruction, biased towards the values where flags change.
 *
 * Instructions avoid RSP and R15 (R15 holds the state block), never use an
 * address that is not rSI/rDI + small displacement, and keep string counts
 * small, so every access stays inside the two buffers.
 */
#if defined(__x86_64__)
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "x86emu_test.h"

/* Kinds of native case: how the harness picks registers and memory. */
#define K_PLAIN	 0 /* rSI/rDI point into the buffers, everything else random */
#define K_STRING 1 /* also a small rCX */
#define K_CMPSTR 2 /* also nearly equal buffers, so REPE/REPNE run a while */

struct nstate {
	uint64_t g[16]; /* encoding order, as struct emu in the emulator */
	uint64_t fl;
};

struct native_case {
	void (*fn)(struct nstate *);
	const uint8_t *start, *end;
	const char *text;
	uint64_t kind;
};

extern const struct native_case x86emu_native_table[];
extern const struct native_case x86emu_native_table_end[];

/* clang-format off */
__asm__(
".macro NCASE kind, insn:vararg\n"
"	.pushsection .text\n"
"	.p2align 4\n"
"1:	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
"	mov %rdi, %r15\n"
"	pushq 128(%r15); popfq\n"
"	mov 0(%r15), %rax; mov 8(%r15), %rcx; mov 16(%r15), %rdx; mov 24(%r15), %rbx\n"
"	mov 40(%r15), %rbp; mov 48(%r15), %rsi; mov 56(%r15), %rdi\n"
"	mov 64(%r15), %r8; mov 72(%r15), %r9; mov 80(%r15), %r10; mov 88(%r15), %r11\n"
"	mov 96(%r15), %r12; mov 104(%r15), %r13; mov 112(%r15), %r14\n"
"2:	\\insn\n"
"3:	pushfq; popq 128(%r15)\n"
"	mov %rax, 0(%r15); mov %rcx, 8(%r15); mov %rdx, 16(%r15); mov %rbx, 24(%r15)\n"
"	mov %rbp, 40(%r15); mov %rsi, 48(%r15); mov %rdi, 56(%r15)\n"
"	mov %r8, 64(%r15); mov %r9, 72(%r15); mov %r10, 80(%r15); mov %r11, 88(%r15)\n"
"	mov %r12, 96(%r15); mov %r13, 104(%r15); mov %r14, 112(%r15)\n"
"	cld\n"
"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
"	ret\n"
"	.popsection\n"
"	.pushsection .rodata.x86emu_native_names, \"a\"\n"
"4:	.asciz \"\\insn\"\n"
"	.popsection\n"
"	.quad 1b, 2b, 3b, 4b, \\kind\n"
".endm\n"
"	.pushsection .data.x86emu_native, \"aw\"\n"
"	.p2align 3\n"
"	.globl x86emu_native_table\n"
"x86emu_native_table:\n"
/* register-register ALU, every size */
"NCASE 0, add %ecx, %eax\n"
"NCASE 0, add %cl, %al\n"
"NCASE 0, add %cx, %ax\n"
"NCASE 0, add %rcx, %rax\n"
"NCASE 0, add %ah, %bl\n"
"NCASE 0, adc %ecx, %eax\n"
"NCASE 0, adc %cl, %dl\n"
"NCASE 0, adc %rcx, %rax\n"
"NCASE 0, adc %dx, %bx\n"
"NCASE 0, sbb %ecx, %eax\n"
"NCASE 0, sbb %cl, %al\n"
"NCASE 0, sbb %rcx, %rdx\n"
"NCASE 0, sbb %dx, %ax\n"
"NCASE 0, sub %ecx, %eax\n"
"NCASE 0, sub %bh, %al\n"
"NCASE 0, sub %r8, %r9\n"
"NCASE 0, sub %cx, %ax\n"
"NCASE 0, and %ecx, %eax\n"
"NCASE 0, and %dil, %sil\n"
"NCASE 0, and %r10, %r11\n"
"NCASE 0, and %cx, %ax\n"
"NCASE 0, or %ecx, %eax\n"
"NCASE 0, or %cl, %ch\n"
"NCASE 0, or %rcx, %rax\n"
"NCASE 0, or %r12w, %r13w\n"
"NCASE 0, xor %ecx, %eax\n"
"NCASE 0, xor %cl, %al\n"
"NCASE 0, xor %rcx, %rax\n"
"NCASE 0, xor %cx, %ax\n"
"NCASE 0, cmp %ecx, %eax\n"
"NCASE 0, cmp %cl, %al\n"
"NCASE 0, cmp %rcx, %rax\n"
"NCASE 0, cmp %cx, %ax\n"
"NCASE 0, test %ecx, %eax\n"
"NCASE 0, test %cl, %al\n"
"NCASE 0, test %rcx, %rax\n"
"NCASE 0, test %cx, %ax\n"
/* immediates: 04/05-style, 80, 81, 83, A8/A9, F6/F7 */
"NCASE 0, add $0x7f, %al\n"
"NCASE 0, add $0x12345678, %eax\n"
"NCASE 0, add $-1, %rax\n"
"NCASE 0, adc $1, %ecx\n"
"NCASE 0, sbb $0x80, %cl\n"
"NCASE 0, sub $0x7fffffff, %rax\n"
"NCASE 0, sub $-0x80000000, %rbx\n"
"NCASE 0, and $0xf0, %eax\n"
"NCASE 0, or $0x8000, %ax\n"
"NCASE 0, xor $-2, %edx\n"
"NCASE 0, cmp $0x80, %al\n"
"NCASE 0, cmp $-1, %rbx\n"
"NCASE 0, cmp $0x7fff, %dx\n"
"NCASE 0, test $0x80, %al\n"
"NCASE 0, test $0x80000000, %eax\n"
"NCASE 0, testb $1, %cl\n"
"NCASE 0, testl $0xffff, %edx\n"
"NCASE 0, testq $-0x100, %r9\n"
/* memory operands */
"NCASE 0, add %eax, (%rsi)\n"
"NCASE 0, add (%rsi), %eax\n"
"NCASE 0, addb $0x7f, (%rsi)\n"
"NCASE 0, addl $-1, (%rsi)\n"
"NCASE 0, addq $0x12345678, (%rsi)\n"
"NCASE 0, adc %ax, (%rsi)\n"
"NCASE 0, adc (%rsi), %rcx\n"
"NCASE 0, sbb (%rsi), %al\n"
"NCASE 0, sbbl $3, (%rsi)\n"
"NCASE 0, or %ah, (%rsi)\n"
"NCASE 0, or (%rsi), %r8\n"
"NCASE 0, and %rax, (%rsi)\n"
"NCASE 0, andw $0xff0, (%rsi)\n"
"NCASE 0, sub %ecx, (%rsi)\n"
"NCASE 0, sub (%rsi), %rdx\n"
"NCASE 0, xor %edx, (%rsi)\n"
"NCASE 0, xorb $0x55, (%rsi)\n"
"NCASE 0, cmp %eax, (%rsi)\n"
"NCASE 0, cmpb $0x80, (%rsi)\n"
"NCASE 0, cmp (%rsi), %rax\n"
"NCASE 0, cmpw $-3, 6(%rdi)\n"
"NCASE 0, test %eax, (%rsi)\n"
"NCASE 0, testb $0x81, (%rsi)\n"
"NCASE 0, testq $-1, (%rsi)\n"
"NCASE 0, lock add %eax, (%rsi)\n"
"NCASE 0, lock orl $1, 4(%rdi)\n"
"NCASE 0, lock sbb %bl, (%rsi)\n"
/* moves and extensions */
"NCASE 0, mov (%rsi), %eax\n"
"NCASE 0, mov %rax, (%rsi)\n"
"NCASE 0, movb $0x12, (%rsi)\n"
"NCASE 0, mov %cx, (%rsi)\n"
"NCASE 0, mov (%rsi), %ah\n"
"NCASE 0, movq $-5, (%rsi)\n"
"NCASE 0, mov 8(%rsi), %edx\n"
"NCASE 0, mov -8(%rdi), %r9\n"
"NCASE 0, mov %sil, 1(%rdi)\n"
"NCASE 0, movzbl (%rsi), %eax\n"
"NCASE 0, movzwl (%rsi), %ecx\n"
"NCASE 0, movsbl (%rsi), %edx\n"
"NCASE 0, movswq (%rsi), %rax\n"
"NCASE 0, movsbw (%rsi), %ax\n"
"NCASE 0, movzbw (%rsi), %r10w\n"
"NCASE 0, movslq (%rsi), %rax\n"
"NCASE 0, movzbl %ah, %eax\n"
"NCASE 0, movsbq %bpl, %r11\n"
"NCASE 0, xchg %eax, (%rsi)\n"
"NCASE 0, xchg %al, (%rsi)\n"
"NCASE 0, xchg %rbx, (%rsi)\n"
"NCASE 0, xchg %cx, (%rsi)\n"
"NCASE 0, xchg %ecx, %edx\n"
/* strings */
"NCASE 1, movsb\n"
"NCASE 1, movsl\n"
"NCASE 1, movsq\n"
"NCASE 1, movsw\n"
"NCASE 1, rep movsb\n"
"NCASE 1, rep movsl\n"
"NCASE 1, rep movsq\n"
"NCASE 1, stosb\n"
"NCASE 1, rep stosb\n"
"NCASE 1, rep stosl\n"
"NCASE 1, rep stosq\n"
"NCASE 1, rep stosw\n"
"NCASE 1, lodsb\n"
"NCASE 1, lodsl\n"
"NCASE 1, rep lodsb\n"
"NCASE 2, cmpsb\n"
"NCASE 2, repe cmpsb\n"
"NCASE 2, repne cmpsb\n"
"NCASE 2, repe cmpsl\n"
"NCASE 2, repe cmpsq\n"
"NCASE 2, scasb\n"
"NCASE 2, repne scasb\n"
"NCASE 2, repe scasl\n"
"NCASE 2, repe scasw\n"
"	.globl x86emu_native_table_end\n"
"x86emu_native_table_end:\n"
"	.popsection\n"
);
/* clang-format on */

#define ITERS 300
#define BUF   256

static uint8_t buf_a[BUF] __attribute__((aligned(64)));
static uint8_t buf_b[BUF] __attribute__((aligned(64)));

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random values, a third of them from where the flags change. */
static uint64_t rnd_val(void)
{
	static const uint64_t edge[] = {0,
					1,
					0x7f,
					0x80,
					0xff,
					0x7fff,
					0x8000,
					0xffff,
					0x7fffffff,
					0x80000000,
					0xffffffff,
					0x7fffffffffffffff,
					0x8000000000000000,
					~0ull,
					0xf,
					0x10};
	uint64_t r = rnd();

	if (r % 3 == 0)
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	if (r % 3 == 1)
		return rnd() & 0xff;
	return rnd();
}

struct host_env {
	struct nstate st;
	struct hvabs_regs out;
	int sets;
};

static bool in_bufs(uint64_t lin, uint32_t size)
{
	uint64_t a = (uintptr_t)buf_a, b = (uintptr_t)buf_b;

	return (lin >= a && lin + size <= a + BUF) || (lin >= b && lin + size <= b + BUF);
}

static int h_get_regs(void *o, struct hvabs_regs *r)
{
	const struct host_env *h = o;
	const uint64_t *g = h->st.g;

	r->rax = g[0], r->rcx = g[1], r->rdx = g[2], r->rbx = g[3];
	r->rsp = g[4], r->rbp = g[5], r->rsi = g[6], r->rdi = g[7];
	r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11];
	r->r12 = g[12], r->r13 = g[13], r->r14 = g[14], r->r15 = g[15];
	r->rip = 0x1000;
	r->rflags = h->st.fl;
	return 0;
}

static int h_set_regs(void *o, const struct hvabs_regs *r)
{
	struct host_env *h = o;

	h->out = *r;
	h->sets++;
	return 0;
}

static int h_get_sregs(void *o, struct hvabs_sregs *s)
{
	(void)o;
	memset(s, 0, sizeof(*s));
	s->cr0 = 0x80000001;
	s->cr4 = 0x20;
	s->efer = 0x500;
	s->cs.l = 1;
	return 0;
}

static int h_read(void *o, uint64_t lin, void *buf, uint32_t size)
{
	(void)o;
	if (!in_bufs(lin, size))
		return -EFAULT;
	memcpy(buf, (const void *)(uintptr_t)lin, size);
	return 0;
}

static int h_write(void *o, uint64_t lin, const void *buf, uint32_t size)
{
	(void)o;
	if (!in_bufs(lin, size))
		return -EFAULT;
	memcpy((void *)(uintptr_t)lin, buf, size);
	return 0;
}

static void make_state(const struct native_case *c, struct nstate *st, uint8_t *a, uint8_t *b)
{
	for (int i = 0; i < 16; i++)
		st->g[i] = rnd_val();
	st->g[6] = (uintptr_t)buf_a + 128;
	st->g[7] = (uintptr_t)buf_b + 128;
	/* Random status flags and DF; bit 1 is always set, IF/TF never. */
	st->fl = 0x2 | (rnd() & (0x8d5 | 0x400));
	for (int i = 0; i < BUF; i++)
		a[i] = (uint8_t)rnd_val();
	memcpy(b, a, BUF);
	if (c->kind == K_PLAIN) {
		for (int i = 0; i < BUF; i++)
			b[i] = (uint8_t)rnd_val();
		uint64_t v = rnd_val();
		memcpy(a + 128, &v, 8); /* edge values at (%rsi) too */
		return;
	}
	st->g[1] = rnd() % 9;
	if (c->kind == K_CMPSTR) {
		b[128 + (int)(rnd() % 80) - 40] ^= (uint8_t)(1 + rnd() % 255);
		if (rnd() & 1)
			memcpy(&st->g[0], b + 128 + (int)(rnd() % 16) - 8, 8);
	} else {
		for (int i = 0; i < BUF; i++)
			b[i] = (uint8_t)rnd_val();
	}
}

static void check_one(const struct native_case *c, unsigned iter)
{
	const struct hvabs_x86emu_ops ops = {
	    .hdr = HVABS_HDR_INIT(struct hvabs_x86emu_ops),
	    .get_regs = h_get_regs,
	    .set_regs = h_set_regs,
	    .get_sregs = h_get_sregs,
	    .read_gva = h_read,
	    .write_gva = h_write,
	};
	struct hvabs_x86emu_ops o = ops;
	struct host_env h = {0};
	struct hvabs_x86emu_result res;
	uint8_t a0[BUF], b0[BUF], a1[BUF], b1[BUF];
	struct nstate nat;
	size_t len = (size_t)(c->end - c->start);
	int rc;

	make_state(c, &h.st, a0, b0);
	nat = h.st;
	o.opaque = &h;
	memcpy(buf_a, a0, BUF);
	memcpy(buf_b, b0, BUF);
	rc = hvabs_x86emu_run(&o, c->start, len, &res);
	if (rc) {
		print_error("native %s: emulator rc %d\n", c->text, rc);
		fail();
	}
	memcpy(a1, buf_a, BUF);
	memcpy(b1, buf_b, BUF);
	memcpy(buf_a, a0, BUF);
	memcpy(buf_b, b0, BUF);
	c->fn(&nat);

	const uint64_t e[16] = {h.out.rax, h.out.rcx, h.out.rdx, h.out.rbx, h.out.rsp, h.out.rbp,
				h.out.rsi, h.out.rdi, h.out.r8,	 h.out.r9,  h.out.r10, h.out.r11,
				h.out.r12, h.out.r13, h.out.r14, h.out.r15};
	bool bad = h.sets != 1 || h.out.rip != 0x1000 + len;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 15)
			continue; /* the native stub neither loads nor stores RSP and R15 */
		if (e[i] != nat.g[i]) {
			print_error("native %s (iteration %u): reg %d emu %#llx cpu %#llx\n",
				    c->text, iter, i, (unsigned long long)e[i],
				    (unsigned long long)nat.g[i]);
			bad = true;
		}
	}
	if ((h.out.rflags ^ nat.fl) & (0x8d5 | 0x400)) {
		print_error("native %s (iteration %u): flags in %#llx emu %#llx cpu %#llx\n",
			    c->text, iter, (unsigned long long)h.st.fl,
			    (unsigned long long)h.out.rflags, (unsigned long long)nat.fl);
		bad = true;
	}
	if (memcmp(a1, buf_a, BUF) || memcmp(b1, buf_b, BUF)) {
		print_error("native %s (iteration %u): memory differs\n", c->text, iter);
		bad = true;
	}
	assert_false(bad);
}

void x86emu_native_test(void **state)
{
	size_t n = (size_t)(x86emu_native_table_end - x86emu_native_table);

	(void)state;
	assert_true(n >= 100);
	for (size_t i = 0; i < n; i++)
		for (unsigned it = 0; it < ITERS; it++)
			check_one(&x86emu_native_table[i], it);
}
#endif
