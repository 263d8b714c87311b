/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MSHV intercepts and how the backend completes them, over the fake
 * /dev/mshv: port I/O (RAX merge, RIP), INS/OUTS with translation, address
 * size, segment override, direction and chunking, MMIO through the x86
 * emulator (MOV, MOVZX, STOS, MOVS, read-only RAM, fetching missing bytes,
 * refusal), CPUID and MSR intercepts, and the exits mapped one to one. Each
 * test runs twice: with the VP register page, and with hypercalls only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mshv_test.h"

static uint32_t fake_opts; /* FAKE_MSHV_OPT_NO_REGPAGE for the second group */

static int setup(void **state)
{
	struct t_vm *t = calloc(1, sizeof(*t));

	if (!t || t_open(t, NULL, fake_opts)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int setup_reps3(void **state)
{
	struct t_vm *t = calloc(1, sizeof(*t));

	if (!t || t_open(t, "max_reps=3", fake_opts)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int setup_pagegpa(void **state)
{
	struct t_vm *t = calloc(1, sizeof(*t));

	if (!t || t_open(t, NULL, fake_opts | FAKE_MSHV_OPT_PAGE_GPA)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t_vm *t = *state;

	t_close(t);
	free(t);
	return 0;
}

static void halt(struct t_vm *t)
{
	struct fake_mshv_step h = fake_mshv_simple(FAKE_MSHV_HALT);

	t_push(t, &h);
}

/* ---- port I/O ---- */

static void in_merges_into_rax(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_stats st;

	t->pio.read_value = 0x87654321;
	for (uint8_t size = 1; size <= 4; size *= 2) {
		struct fake_mshv_step s = fake_mshv_in(T_PORT, size);
		t_push(t, &s);
	}
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	/* The fake checked RIP and the bits of RAX the IN must keep or clear. */
	assert_int_equal(t_result(t, 0), 0x21);
	assert_int_equal(t_result(t, 1), 0x4321);
	assert_int_equal(t_result(t, 2), 0x87654321);
	assert_int_equal(t_reg(t, MSHV_REG_RAX), 0x87654321);
	hvabs_vcpu_get_stats(t->cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_IO], 3);
}

static void out_reaches_device(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step a = fake_mshv_out(T_PORT + 1, 1, 0xffffff5a);
	struct fake_mshv_step b = fake_mshv_out(T_PORT + 2, 2, 0xbeef);
	struct fake_mshv_step c = fake_mshv_out(T_PORT + 4, 4, 0xcafef00d);

	t_push(t, &a);
	t_push(t, &b);
	t_push(t, &c);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 3);
	assert_int_equal(t->pio.log[0].off, 1);
	assert_int_equal(t->pio.log[0].value, 0x5a);
	assert_int_equal(t->pio.log[1].value, 0xbeef);
	assert_int_equal(t->pio.log[2].off, 4);
	assert_int_equal(t->pio.log[2].value, 0xcafef00d);
	assert_int_equal(t_reg(t, MSHV_REG_RIP), 0xfff0 + 1 + 2 + 1);
}

/* REP OUTSB reads guest-virtual memory: the translation decides which bytes. */
static void rep_outs_translates(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 5, 0x40000);

	t_long_mode(t);
	memcpy(t->ram + 0x5000, "hvabs", 5);
	assert_int_equal(t->f->map_gva(t->pt, 0x40000, 0x5000), 0);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(t->pio.log[i].value, (uint8_t) "hvabs"[i]);
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x40005);
	assert_int_equal(t_reg(t, MSHV_REG_RCX), 0);
}

static void rep_insw_fills_ram(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 2, 0, 4, 0x6000);
	uint16_t got[4];

	t_long_mode(t);
	t->pio.read_value = 0xbeef;
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	memcpy(got, t->ram + 0x6000, sizeof(got));
	for (int i = 0; i < 4; i++)
		assert_int_equal(got[i], 0xbeef);
	assert_int_equal(t->pio.n, 4);
	assert_int_equal(t_reg(t, MSHV_REG_RDI), 0x6008);
}

/* DF set: elements descend. */
static void rep_outs_backwards(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 3, 0x5002);

	t_long_mode(t);
	memcpy(t->ram + 0x5000, "abc", 3);
	fake_mshv_preset(&s, FAKE_RFLAGS, 0x402);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 3);
	assert_int_equal(t->pio.log[0].value, 'c');
	assert_int_equal(t->pio.log[2].value, 'a');
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x4fff);
}

/* 0x67 in 64-bit mode: ECX counts, ESI addresses, both written zero-extended. */
static void outs_address_size_32(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 0, 0);
	static const uint8_t insn[] = {0x67, 0xf3, 0x6e};

	t_long_mode(t);
	memcpy(t->ram + 0x5000, "xy", 2);
	fake_mshv_insn(&s, insn, 3);
	s.addr_size = 4;
	fake_mshv_preset(&s, FAKE_RCX, 0xdead000000000002ull);
	fake_mshv_preset(&s, FAKE_RSI, 0xffffffff00005000ull);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 2);
	assert_int_equal(t->pio.log[1].value, 'y');
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x5002);
	assert_int_equal(t_reg(t, MSHV_REG_RCX), 0);
}

/* A segment override on OUTS: FS has a base even in 64-bit mode. */
static void outs_segment_override(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 1, 0x10);
	static const uint8_t insn[] = {0x64, 0xf3, 0x6e};
	struct hvabs_sregs sr;

	t_long_mode(t);
	assert_int_equal(hvabs_vcpu_get_sregs(t->cpu, &sr), 0);
	sr.fs.base = 0x7000;
	assert_int_equal(hvabs_vcpu_set_sregs(t->cpu, &sr), 0);
	t->ram[0x7010] = 0x99;
	t->ram[0x10] = 0x11;
	fake_mshv_insn(&s, insn, 3);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 1);
	assert_int_equal(t->pio.log[0].value, 0x99);
}

/* Real mode: DS:SI with a 16-bit SI that wraps and keeps the upper bits of RSI. */
static void outs_real_mode(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 2, 0x1234ffffull);
	struct hvabs_sregs sr;

	assert_int_equal(hvabs_vcpu_get_sregs(t->cpu, &sr), 0);
	sr.ds.selector = 0x500;
	sr.ds.base = 0x5000;
	assert_int_equal(hvabs_vcpu_set_sregs(t->cpu, &sr), 0);
	t->ram[0x5000 + 0xffff] = 'p';
	t->ram[0x5000] = 'q';
	s.addr_size = 2;
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 2);
	assert_int_equal(t->pio.log[0].value, 'p');
	assert_int_equal(t->pio.log[1].value, 'q');
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x12340001ull);
}

/* At most max_reps elements per run: the guest re-executes the rest. */
static void rep_outs_chunked(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 7, 0x5000);

	t_long_mode(t);
	memcpy(t->ram + 0x5000, "0123456", 7);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(t->pio.log[i].value, '0' + i);
	assert_int_equal(t_reg(t, MSHV_REG_RCX), 0);
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x5007);
}

static void rep_count_zero(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_rep_string(T_PORT, 1, 1, 0, 0x5000);

	t_long_mode(t);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->pio.n, 0);
	assert_int_equal(t_reg(t, MSHV_REG_RSI), 0x5000);
}

/* ---- MMIO through the emulator ---- */

static void mmio_store_sizes(void **state)
{
	struct t_vm *t = *state;
	static const uint8_t sizes[] = {1, 2, 4, 8};

	t_long_mode(t);
	for (int i = 0; i < 4; i++) {
		struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO + 0x10 * (uint64_t)(i + 1),
							       sizes[i], 0x1122334455667788ull);
		t_push(t, &s);
	}
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->mmio.n, 4);
	assert_int_equal(t->mmio.log[0].off, 0x10);
	assert_int_equal(t->mmio.log[0].value, 0x88);
	assert_int_equal(t->mmio.log[1].size, 2);
	assert_int_equal(t->mmio.log[1].value, 0x7788);
	assert_int_equal(t->mmio.log[2].value, 0x55667788);
	assert_int_equal(t->mmio.log[3].off, 0x40);
	assert_int_equal(t->mmio.log[3].value, 0x1122334455667788ull);
	/* The message's GVA/GPA pair made every translation hypercall unnecessary. */
	assert_int_equal(t->f->hvcalls(t->pt, MSHV_HVCALL_TRANSLATE_VIRTUAL_ADDRESS), 0);
}

static void mmio_load_sizes(void **state)
{
	struct t_vm *t = *state;
	static const uint8_t sizes[] = {1, 2, 4, 8};

	t_long_mode(t);
	t->mmio.read_value = 0x0102030405060708ull;
	for (int i = 0; i < 4; i++) {
		struct fake_mshv_step s = fake_mshv_mmio_load(T_MMIO + 0x20, sizes[i]);
		fake_mshv_preset(&s, FAKE_RAX, 0xffffffffffffffffull);
		t_push(t, &s);
	}
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t_result(t, 0), 0x08);
	assert_int_equal(t_result(t, 1), 0x0708);
	assert_int_equal(t_result(t, 2), 0x05060708);
	assert_int_equal(t_result(t, 3), 0x0102030405060708ull);
	/* MOV to EAX zero-extends; MOV to AL/AX keeps the rest (SDM vol. 1 §3.4.1.1). */
	assert_int_equal(t_reg(t, MSHV_REG_RAX), 0x0102030405060708ull);
}

/* MOVZX EAX, WORD [RBX]: the destination is zero-extended to 64 bits. */
static void mmio_movzx(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_mmio_load(T_MMIO + 0x30, 2);
	static const uint8_t insn[] = {0x0f, 0xb7, 0x03};

	t_long_mode(t);
	t->mmio.read_value = 0xffff;
	fake_mshv_insn(&s, insn, 3);
	s.result_size = 8;
	fake_mshv_preset(&s, FAKE_RAX, 0xdeadbeefdeadbeefull);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t_result(t, 0), 0xffff);
}

/* REP STOSD into MMIO: every element reaches the device, RCX/RDI follow. */
static void mmio_rep_stos(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_step_init(FAKE_MSHV_MEM);
	static const uint8_t insn[] = {0xf3, 0xab};

	t_long_mode(t);
	fake_mshv_insn(&s, insn, 2);
	s.gpa = T_MMIO + 0x100;
	s.size = 4;
	s.is_write = 1;
	fake_mshv_preset(&s, FAKE_RDI, T_MMIO + 0x100);
	fake_mshv_preset(&s, FAKE_RCX, 4);
	fake_mshv_preset(&s, FAKE_RAX, 0x11223344);
	fake_mshv_preset(&s, FAKE_RFLAGS, 0x2);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->mmio.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(t->mmio.log[i].off, 0x100 + 4 * i);
		assert_int_equal(t->mmio.log[i].value, 0x11223344);
	}
	assert_int_equal(t_reg(t, MSHV_REG_RCX), 0);
	assert_int_equal(t_reg(t, MSHV_REG_RDI), T_MMIO + 0x110);
}

/* MOVSD from MMIO into RAM: one access goes to the device, the other to guest RAM. */
static void mmio_movs_to_ram(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_step_init(FAKE_MSHV_MEM);
	static const uint8_t insn[] = {0xa5};
	uint32_t got;

	t_long_mode(t);
	t->mmio.read_value = 0xa1b2c3d4;
	fake_mshv_insn(&s, insn, 1);
	s.gpa = T_MMIO + 0x8;
	s.size = 4;
	fake_mshv_preset(&s, FAKE_RSI, T_MMIO + 0x8);
	fake_mshv_preset(&s, FAKE_RDI, 0x3000);
	fake_mshv_preset(&s, FAKE_RFLAGS, 0x2);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	memcpy(&got, t->ram + 0x3000, 4);
	assert_int_equal(got, 0xa1b2c3d4);
	assert_int_equal(t_reg(t, MSHV_REG_RDI), 0x3004);
}

/* The hypervisor may report a page-aligned GPA: the offset comes from the GVA. */
static void mmio_page_aligned_gpa(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO + 0x34, 4, 7);

	t_long_mode(t);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->mmio.n, 1);
	assert_int_equal(t->mmio.log[0].off, 0x34);
}

/* Without the message's GVA/GPA pair the backend translates the GVA itself. */
static void mmio_translated(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO + 0x18, 4, 0x55);

	t_long_mode(t);
	assert_int_equal(t->f->map_gva(t->pt, 0x80000000ull, T_MMIO), 0);
	s.gva = 0x80000018ull;
	s.no_hint = 1;
	fake_mshv_preset(&s, FAKE_RBX, 0x80000018ull);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->mmio.n, 1);
	assert_int_equal(t->mmio.log[0].off, 0x18);
	assert_int_equal(t->mmio.log[0].value, 0x55);
	assert_int_equal(t->f->hvcalls(t->pt, MSHV_HVCALL_TRANSLATE_VIRTUAL_ADDRESS), 1);
}

/* A store to read-only RAM is a GPA intercept whose write goes to the MMIO bus. */
static void mmio_readonly_ram(void **state)
{
	struct t_vm *t = *state;
	struct t_dev *rom = calloc(1, sizeof(*rom));
	struct fake_mshv_step s = fake_mshv_mmio_store(0x200010, 4, 0xabcd);
	uint64_t start, size;
	uint32_t flags, v = 1;
	void *hva;
	struct hvabs_bus_dev *reg;

	assert_non_null(rom);
	t_long_mode(t);
	assert_int_equal(hvabs_vm_add_ram(t->vm, 0x200000, 0x1000, HVABS_MEM_READONLY, &hva), 0);
	assert_int_equal(t_add_dev(t, HVABS_SPACE_MMIO, 0x200000, 0x1000, rom, &reg), 0);
	assert_int_equal(t->f->region(t->pt, 0x200000, &start, &size, &flags), 0);
	assert_int_equal(flags & (1u << MSHV_SET_MEM_BIT_WRITABLE), 0);
	s.gpa_intercept = 1;
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(rom->n, 1);
	assert_int_equal(rom->log[0].off, 0x10);
	assert_int_equal(rom->log[0].value, 0xabcd);
	assert_int_equal(hvabs_mem_read_u32(hvabs_vm_mem(t->vm), 0x200010, &v), 0);
	assert_int_equal(v, 0); /* RAM untouched */
	hvabs_bus_unregister(reg);
	free(rom);
}

/* The message carries only part of the instruction: the rest is fetched at RIP. */
static void mmio_fetches_missing_bytes(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO + 0x44, 4, 0x600d);

	t_long_mode(t);
	t->ram[0x1000] = 0x89;
	t->ram[0x1001] = 0x03;
	s.insn_count = 1;
	fake_mshv_preset(&s, FAKE_RIP, 0x1000);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t->mmio.n, 1);
	assert_int_equal(t->mmio.log[0].value, 0x600d);
	assert_int_equal(t_reg(t, MSHV_REG_RIP), 0x1002);
}

/* An instruction the emulator refuses: a clean internal error, RIP untouched. */
static void mmio_refused(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO, 4, 0);
	static const uint8_t ud2[] = {0x0f, 0x0b};
	struct hvabs_exit e;

	t_long_mode(t);
	fake_mshv_insn(&s, ud2, 2);
	fake_mshv_preset(&s, FAKE_RIP, 0x2000);
	t_push(t, &s);
	assert_int_equal(t_run(t, &e), HVABS_EXIT_INTERNAL_ERROR);
	assert_int_equal(e.u.internal.suberror, 1);
	assert_int_equal(e.u.internal.data[0], MSHV_MSG_UNMAPPED_GPA);
	assert_int_equal(e.u.internal.data[1], 0x2000);
	assert_int_equal(e.u.internal.data[3], T_MMIO);
	assert_int_equal(t->mmio.n, 0);
	assert_int_equal(t_reg(t, MSHV_REG_RIP), 0x2000);
	t->f->clear(t->pt, 0); /* the guest is stuck on that instruction */
}

/* ---- CPUID and MSR intercepts ---- */

static void cpuid_answers_from_table(void **state)
{
	struct t_vm *t = *state;
	const struct hvabs_cpuid_entry ids[] = {
	    {.function = 1,
	     .eax = 0x806f8,
	     .ebx = 0x00010800,
	     .ecx = 0x80000201,
	     .edx = 0x178bfbff},
	    {.function = 7, .index = 0, .flags = HVABS_CPUID_F_INDEXED, .ebx = 0x209c01a9},
	};
	struct fake_mshv_step a = fake_mshv_step_init(FAKE_MSHV_CPUID);
	struct fake_mshv_step b = fake_mshv_step_init(FAKE_MSHV_CPUID);

	assert_int_equal(hvabs_vcpu_set_cpuid(t->cpu, ids, 2), 0);
	assert_true(t->f->intercepts(t->pt) & (1u << MSHV_INTERCEPT_X64_GLOBAL_CPUID));
	a.leaf = 1;
	a.def[1] = 0x07000000; /* the hypervisor's APIC ID for this VP */
	a.def[2] = 1u << 27;   /* OSXSAVE, as CR4 says */
	b.leaf = 0x80000008;   /* not in the table: the hypervisor's answer */
	b.def[0] = 0x3030;
	t_push(t, &a);
	t_push(t, &b);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t_result(t, 0), 0x806f8);
	assert_int_equal(t_result(t, 1), 0x07010800);
	assert_int_equal(t_result(t, 2), 0x80000201 | (1u << 27));
	assert_int_equal(t_result(t, 3), 0x178bfbff);
	assert_int_equal(t_result(t, 4), 0x3030);
}

static void msr_write_then_read(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step w = fake_mshv_step_init(FAKE_MSHV_MSR);
	struct fake_mshv_step r = fake_mshv_step_init(FAKE_MSHV_MSR);
	struct fake_mshv_step other = fake_mshv_step_init(FAKE_MSHV_MSR);

	w.msr = r.msr = 0x4b564d00;
	w.is_write = 1;
	w.value = 0x1234567890ull;
	other.msr = 0xc0011029;
	fake_mshv_preset(&other, FAKE_RAX, ~0ull);
	fake_mshv_preset(&other, FAKE_RDX, ~0ull);
	t_push(t, &w);
	t_push(t, &r);
	t_push(t, &other);
	halt(t);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(t_result(t, 0), 0x1234567890ull);
	assert_int_equal(t_result(t, 1), 0);
}

/* ---- exits mapped one to one ---- */

static void hypercall_result_in_rax(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_simple(FAKE_MSHV_HYPERCALL);
	struct hvabs_exit e;

	fake_mshv_preset(&s, FAKE_RAX, 12);
	fake_mshv_preset(&s, FAKE_RBX, 0xaa);
	fake_mshv_preset(&s, FAKE_RSI, 0xbb);
	t_push(t, &s);
	halt(t);
	assert_int_equal(t_run(t, &e), HVABS_EXIT_HYPERCALL);
	assert_int_equal(e.u.hypercall.nr, 12);
	assert_int_equal(e.u.hypercall.args[0], 0xaa);
	assert_int_equal(e.u.hypercall.args[3], 0xbb);
	e.u.hypercall.ret = 0x42;
	assert_int_equal(hvabs_vcpu_run_loop(t->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(t_result(t, 0), 0x42);
}

static void eoi_goes_to_handler(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_eoi(0x41);
	uint32_t seen = 0;

	t_push(t, &s);
	halt(t);
	struct hvabs_exit e;
	assert_int_equal(hvabs_vcpu_run(t->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_IOAPIC_EOI);
	seen = e.u.eoi.vector;
	assert_int_equal(seen, 0x41);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
}

static void shutdown_and_failures(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step tf = fake_mshv_simple(FAKE_MSHV_TRIPLE_FAULT);
	struct fake_mshv_step uf = fake_mshv_simple(FAKE_MSHV_RAW);
	struct fake_mshv_step unk = fake_mshv_simple(FAKE_MSHV_RAW);
	struct hvabs_exit e;

	uf.msg_type = MSHV_MSG_UNSUPPORTED_FEATURE;
	uf.payload[0] = 0x0000000200000000ull; /* feature code 2: task switch */
	unk.msg_type = 0x8001ff00;
	t_push(t, &tf);
	t_push(t, &uf);
	t_push(t, &unk);
	assert_int_equal(t_run(t, &e), HVABS_EXIT_SHUTDOWN);
	assert_int_equal(t_run(t, &e), HVABS_EXIT_INTERNAL_ERROR);
	assert_int_equal(e.u.internal.data[0], MSHV_MSG_UNSUPPORTED_FEATURE);
	assert_int_equal(e.u.internal.data[1], 0x0000000200000000ull);
	assert_int_equal(t_run(t, &e), HVABS_EXIT_UNKNOWN);
	assert_int_equal(e.raw_reason, 0x8001ff00);
}

/* A kick before the run: the vCPU does not enter the guest at all. */
static void kick_before_run(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_step s = fake_mshv_out(T_PORT, 1, 1);

	t_push(t, &s);
	assert_int_equal(hvabs_vcpu_kick(t->cpu), 0);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_CANCELED);
	assert_int_equal(t->f->pending(t->pt, 0), 1);
	assert_int_equal(t->pio.n, 0);
	t->f->clear(t->pt, 0);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T3(fn) cmocka_unit_test_setup_teardown(fn, setup_reps3, teardown)
#define TP(fn) cmocka_unit_test_setup_teardown(fn, setup_pagegpa, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(in_merges_into_rax),
	    T(out_reaches_device),
	    T(rep_outs_translates),
	    T(rep_insw_fills_ram),
	    T(rep_outs_backwards),
	    T(outs_address_size_32),
	    T(outs_segment_override),
	    T(outs_real_mode),
	    T3(rep_outs_chunked),
	    T(rep_count_zero),
	    T(mmio_store_sizes),
	    T(mmio_load_sizes),
	    T(mmio_movzx),
	    T(mmio_rep_stos),
	    T(mmio_movs_to_ram),
	    TP(mmio_page_aligned_gpa),
	    T(mmio_translated),
	    T(mmio_readonly_ram),
	    T(mmio_fetches_missing_bytes),
	    T(mmio_refused),
	    T(cpuid_answers_from_table),
	    T(msr_write_then_read),
	    T(hypercall_result_in_rax),
	    T(eoi_goes_to_handler),
	    T(shutdown_and_failures),
	    T(kick_before_run),
	};
	int rc;

	fake_opts = 0;
	rc = cmocka_run_group_tests_name("mshv.exits.regpage", tests, NULL, NULL);
	fake_opts = FAKE_MSHV_OPT_NO_REGPAGE;
	rc |= cmocka_run_group_tests_name("mshv.exits.hypercalls", tests, NULL, NULL);
	return rc;
}
