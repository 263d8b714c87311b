/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny emitter of 16-bit real-mode x86 code for tests that run real guest
 * instructions on KVM (the contract driver, the integration tests and the
 * exit benchmark). Encodings follow the Intel SDM vol. 2; every helper
 * appends to a buffer and remembers overflow in `err` so callers check once.
 *
 * Conventions: DS = SS = 0 and CS:IP = 0:addr; ES is the scratch segment for
 * memory-mapped I/O; AL/AX/EAX ("acc") carries data, DX the port.
 */
#ifndef HVABS_TEST_KVM_RMCODE_H
#define HVABS_TEST_KVM_RMCODE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hvabs/hvabs.h>

struct rm_code {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err; /* -E2BIG once the buffer overflowed, -EINVAL for an impossible request */
};

static inline void rm_init(struct rm_code *c, uint8_t *buf, size_t cap)
{
	c->buf = buf;
	c->len = 0;
	c->cap = cap;
	c->err = 0;
}

static inline void rm_b(struct rm_code *c, uint8_t b)
{
	if (c->len < c->cap)
		c->buf[c->len++] = b;
	else
		c->err = -E2BIG;
}

static inline void rm_w(struct rm_code *c, uint16_t w)
{
	rm_b(c, (uint8_t)w);
	rm_b(c, (uint8_t)(w >> 8));
}

static inline void rm_d(struct rm_code *c, uint32_t d)
{
	rm_w(c, (uint16_t)d);
	rm_w(c, (uint16_t)(d >> 16));
}

static inline int rm_size_ok(struct rm_code *c, uint32_t size)
{
	if (size == 1 || size == 2 || size == 4)
		return 1;
	c->err = -EINVAL;
	return 0;
}

/* 32-bit operand size in 16-bit code: the 0x66 prefix. */
static inline void rm_opsize(struct rm_code *c, uint32_t size)
{
	if (size == 4)
		rm_b(c, 0x66);
}

/* mov dx, imm16 */
static inline void rm_mov_dx(struct rm_code *c, uint16_t v)
{
	rm_b(c, 0xba);
	rm_w(c, v);
}

/* mov al/ax/eax, imm */
static inline void rm_mov_acc(struct rm_code *c, uint32_t size, uint32_t v)
{
	if (!rm_size_ok(c, size))
		return;
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xb0 : 0xb8);
	if (size == 1)
		rm_b(c, (uint8_t)v);
	else if (size == 2)
		rm_w(c, (uint16_t)v);
	else
		rm_d(c, v);
}

/* out dx, al/ax/eax */
static inline void rm_out_dx(struct rm_code *c, uint32_t size)
{
	if (!rm_size_ok(c, size))
		return;
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xee : 0xef);
}

/* out imm8, al */
static inline void rm_out_imm_al(struct rm_code *c, uint8_t port, uint8_t val)
{
	rm_b(c, 0xb0);
	rm_b(c, val);
	rm_b(c, 0xe6);
	rm_b(c, port);
}

/* in al/ax/eax, dx */
static inline void rm_in_dx(struct rm_code *c, uint32_t size)
{
	if (!rm_size_ok(c, size))
		return;
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xec : 0xed);
}

/* mov [ds:off], al/ax/eax */
static inline void rm_store_acc(struct rm_code *c, uint32_t size, uint16_t off)
{
	if (!rm_size_ok(c, size))
		return;
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xa2 : 0xa3);
	rm_w(c, off);
}

/* mov ax, seg; mov es, ax */
static inline void rm_set_es(struct rm_code *c, uint16_t seg)
{
	rm_b(c, 0xb8);
	rm_w(c, seg);
	rm_b(c, 0x8e);
	rm_b(c, 0xc0);
}

/* mov byte/word/dword [es:off], imm */
static inline void rm_es_store_imm(struct rm_code *c, uint32_t size, uint16_t off, uint32_t v)
{
	if (!rm_size_ok(c, size))
		return;
	rm_b(c, 0x26);
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xc6 : 0xc7);
	rm_b(c, 0x06); /* ModRM: [disp16] */
	rm_w(c, off);
	if (size == 1)
		rm_b(c, (uint8_t)v);
	else if (size == 2)
		rm_w(c, (uint16_t)v);
	else
		rm_d(c, v);
}

/* mov al/ax/eax, [es:off] */
static inline void rm_es_load_acc(struct rm_code *c, uint32_t size, uint16_t off)
{
	if (!rm_size_ok(c, size))
		return;
	rm_b(c, 0x26);
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0xa0 : 0xa1);
	rm_w(c, off);
}

/*
 * 8-byte accesses through MMX: movq mm0, [seg:off] / movq [seg:off], mm0.
 * No EMMS follows: KVM's instruction emulator has none, and hosts that
 * emulate real mode (kvm_pvm) fail on it.
 */
static inline void rm_movq(struct rm_code *c, int es, int store, uint16_t off)
{
	if (es)
		rm_b(c, 0x26);
	rm_b(c, 0x0f);
	rm_b(c, store ? 0x7f : 0x6f);
	rm_b(c, 0x06);
	rm_w(c, off);
}

/* mov si, src; mov cx, count; mov dx, port; cld; rep outsb/outsw/outsd */
static inline void rm_rep_outs(struct rm_code *c, uint32_t size, uint16_t src, uint16_t count,
			       uint16_t port)
{
	if (!rm_size_ok(c, size))
		return;
	rm_b(c, 0xbe);
	rm_w(c, src);
	rm_b(c, 0xb9);
	rm_w(c, count);
	rm_mov_dx(c, port);
	rm_b(c, 0xfc);
	rm_b(c, 0xf3);
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0x6e : 0x6f);
}

/* mov di, dst; mov cx, count; mov dx, port; cld; rep insb/insw/insd (ES = 0) */
static inline void rm_rep_ins(struct rm_code *c, uint32_t size, uint16_t dst, uint16_t count,
			      uint16_t port)
{
	if (!rm_size_ok(c, size))
		return;
	rm_b(c, 0xbf);
	rm_w(c, dst);
	rm_b(c, 0xb9);
	rm_w(c, count);
	rm_mov_dx(c, port);
	rm_b(c, 0xfc);
	rm_b(c, 0xf3);
	rm_opsize(c, size);
	rm_b(c, size == 1 ? 0x6c : 0x6d);
}

static inline void rm_cli(struct rm_code *c)
{
	rm_b(c, 0xfa);
}

static inline void rm_sti(struct rm_code *c)
{
	rm_b(c, 0xfb);
}

static inline void rm_hlt(struct rm_code *c)
{
	rm_b(c, 0xf4);
}

/* jmp $ */
static inline void rm_spin(struct rm_code *c)
{
	rm_b(c, 0xeb);
	rm_b(c, 0xfe);
}

/* jmp short back to @p target (an offset in the same buffer). */
static inline void rm_jmp_back(struct rm_code *c, size_t target)
{
	long rel = (long)target - (long)(c->len + 2);

	if (rel < -128) {
		c->err = -EINVAL;
		return;
	}
	rm_b(c, 0xeb);
	rm_b(c, (uint8_t)(int8_t)rel);
}

/* jmp far seg:off */
static inline void rm_jmp_far(struct rm_code *c, uint16_t seg, uint16_t off)
{
	rm_b(c, 0xea);
	rm_w(c, off);
	rm_w(c, seg);
}

/* jmp near rel16 to an absolute address, the code itself being at @p base. */
static inline void rm_jmp_near(struct rm_code *c, uint16_t base, uint16_t target)
{
	rm_b(c, 0xe9);
	rm_w(c, (uint16_t)(target - (base + c->len + 2)));
}

/* iret */
static inline void rm_iret(struct rm_code *c)
{
	rm_b(c, 0xcf);
}

/*
 * A triple fault: an empty IDT (6 zero bytes at @p zero_desc), protected mode
 * with the real-mode code segment still cached, then ud2: #UD cannot be
 * delivered, nor can the #GP and #DF that follow (SDM vol. 3A 6.15), and the
 * processor shuts down.
 */
static inline void rm_triple_fault(struct rm_code *c, uint16_t zero_desc)
{
	rm_b(c, 0x0f); /* lidt [zero_desc] */
	rm_b(c, 0x01);
	rm_b(c, 0x1e);
	rm_w(c, zero_desc);
	rm_b(c, 0x0f); /* mov eax, cr0 */
	rm_b(c, 0x20);
	rm_b(c, 0xc0);
	rm_b(c, 0x0c); /* or al, 1 */
	rm_b(c, 0x01);
	rm_b(c, 0x0f); /* mov cr0, eax */
	rm_b(c, 0x22);
	rm_b(c, 0xc0);
	rm_b(c, 0x0f); /* ud2 */
	rm_b(c, 0x0b);
}

/*
 * An interrupt observer in guest RAM. Every vector from @p vec_base up has a
 * stub at RM_OBS_STUBS that loads its number into AL and jumps to a common
 * handler, which writes AL to @p port, sends the PICs a non-specific EOI and
 * returns. The main loop at RM_OBS_MAIN optionally programs both 8259As
 * (ICW1-4, vectors vec_base and vec_base + 8, every line unmasked), then
 * optionally writes 1 to @p port + 1 to say it is ready, then runs
 * `sti; hlt` forever. Uses 0x4000-0x46ff and the IVT.
 */
#define RM_OBS_STUBS  0x4000u
#define RM_OBS_COMMON 0x4500u
#define RM_OBS_MAIN   0x4600u

static inline int rm_observer_install(struct hvabs_mem *mem, uint8_t vec_base, int init_pic,
				      int ready, uint16_t port)
{
	uint8_t buf[0x100];
	struct rm_code c;
	int rc = 0;

	for (uint32_t v = vec_base; v < 0x100 && !rc; v++) {
		uint16_t at = (uint16_t)(RM_OBS_STUBS + (v - vec_base) * 5);
		rm_init(&c, buf, sizeof(buf));
		rm_b(&c, 0xb0); /* mov al, v */
		rm_b(&c, (uint8_t)v);
		rm_jmp_near(&c, at, RM_OBS_COMMON);
		rc = hvabs_mem_write(mem, at, buf, c.len);
		if (!rc) /* IVT entry: offset, then segment 0 */
			rc = hvabs_mem_write_u32(mem, v * 4, at);
	}
	rm_init(&c, buf, sizeof(buf));
	rm_mov_dx(&c, port);
	rm_out_dx(&c, 1);
	rm_out_imm_al(&c, 0xa0, 0x20);
	rm_out_imm_al(&c, 0x20, 0x20);
	rm_iret(&c);
	if (!rc)
		rc = hvabs_mem_write(mem, RM_OBS_COMMON, buf, c.len);
	rm_init(&c, buf, sizeof(buf));
	if (init_pic) {
		const uint8_t init[][2] = {
		    {0x20, 0x11},
		    {0x21, vec_base},
		    {0x21, 0x04},
		    {0x21, 0x01},
		    {0x21, 0x00},
		    {0xa0, 0x11},
		    {0xa1, (uint8_t)(vec_base + 8)},
		    {0xa1, 0x02},
		    {0xa1, 0x01},
		    {0xa1, 0x00},
		};
		for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++)
			rm_out_imm_al(&c, init[i][0], init[i][1]);
	}
	if (ready) {
		rm_mov_dx(&c, (uint16_t)(port + 1));
		rm_mov_acc(&c, 1, 1);
		rm_out_dx(&c, 1);
	}
	size_t loop = c.len;
	rm_sti(&c);
	rm_hlt(&c);
	rm_jmp_back(&c, loop);
	if (!rc)
		rc = c.err;
	if (!rc)
		rc = hvabs_mem_write(mem, RM_OBS_MAIN, buf, c.len);
	return rc;
}

/* One real-mode segment register as the processor holds it after reset. */
static inline struct hvabs_segment rm_segment(uint16_t sel, uint8_t type)
{
	struct hvabs_segment s;

	memset(&s, 0, sizeof(s));
	s.selector = sel;
	s.base = (uint64_t)sel << 4;
	s.limit = 0xffff;
	s.type = type;
	s.present = 1;
	s.s = 1;
	return s;
}

/* Puts @p cpu in real mode at 0:@p ip with the stack at 0:@p sp, interrupts off. */
static inline int rm_cpu_setup(struct hvabs_vcpu *cpu, uint16_t ip, uint16_t sp)
{
	struct hvabs_sregs s;
	struct hvabs_regs r;
	int rc = hvabs_vcpu_get_sregs(cpu, &s);

	if (rc)
		return rc;
	s.cs = rm_segment(0, 0x0b);				/* code, read, accessed */
	s.ds = s.es = s.fs = s.gs = s.ss = rm_segment(0, 0x03); /* data, write, accessed */
	s.idt.base = 0;
	s.idt.limit = 0x3ff;
	s.cr0 &= ~(uint64_t)0x80000001u; /* no PG, no PE */
	s.cr4 = 0;
	s.efer = 0;
	rc = hvabs_vcpu_set_sregs(cpu, &s);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rip = ip;
	r.rsp = sp;
	r.rflags = 2;
	return hvabs_vcpu_set_regs(cpu, &r);
}

#endif
