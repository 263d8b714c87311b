/* SPDX-License-Identifier: Apache-2.0 */
/* unit.x86emu: the table-driven cases, the emulator's edge behaviours, and the native cross-check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86emu_test.h"

#define GPA_OFF 0x100000000ull /* the fake page walk: gpa = linear + GPA_OFF */

struct fake {
	struct hvabs_regs regs, out;
	struct hvabs_sregs sregs;
	int set_calls;
	int get_regs_rc;
	struct {
		uint64_t a;
		uint8_t v;
	} mem[1024];
	size_t nmem;
	struct tacc log[64];
	size_t nlog;
	uint64_t fault_lo, fault_hi, wfault_lo, wfault_hi;
	uint64_t fetch_addr[8];
	uint32_t fetch_len[8];
	size_t nfetch;
	int translate_rc;
	int translate_calls;
	int nmsg;
	char msg[256];
};

static uint8_t mem_get(const struct fake *f, uint64_t a)
{
	for (size_t i = 0; i < f->nmem; i++)
		if (f->mem[i].a == a)
			return f->mem[i].v;
	return 0;
}

static void mem_set(struct fake *f, uint64_t a, uint8_t v)
{
	for (size_t i = 0; i < f->nmem; i++)
		if (f->mem[i].a == a) {
			f->mem[i].v = v;
			return;
		}
	assert_true(f->nmem < sizeof(f->mem) / sizeof(f->mem[0]));
	f->mem[f->nmem].a = a;
	f->mem[f->nmem++].v = v;
}

static bool in_range(uint64_t a, uint32_t n, uint64_t lo, uint64_t hi)
{
	return a + n > lo && a < hi;
}

static int f_get_regs(void *o, struct hvabs_regs *r)
{
	struct fake *f = o;

	if (f->get_regs_rc)
		return f->get_regs_rc;
	*r = f->regs;
	return 0;
}

static int f_set_regs(void *o, const struct hvabs_regs *r)
{
	struct fake *f = o;

	f->out = *r;
	f->set_calls++;
	return 0;
}

static int f_get_sregs(void *o, struct hvabs_sregs *s)
{
	*s = ((struct fake *)o)->sregs;
	return 0;
}

static int f_fetch(void *o, uint64_t lin, void *buf, uint32_t len)
{
	struct fake *f = o;

	if (f->nfetch < 8) {
		f->fetch_addr[f->nfetch] = lin;
		f->fetch_len[f->nfetch] = len;
	}
	f->nfetch++;
	if (in_range(lin, len, f->fault_lo, f->fault_hi))
		return -EFAULT;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = mem_get(f, lin + i);
	return 0;
}

static int f_read(void *o, uint64_t lin, void *buf, uint32_t size)
{
	struct fake *f = o;
	uint64_t v = 0;

	if (in_range(lin, size, f->fault_lo, f->fault_hi))
		return -EIO;
	for (uint32_t i = 0; i < size; i++) {
		((uint8_t *)buf)[i] = mem_get(f, lin + i);
		v |= (uint64_t)mem_get(f, lin + i) << (8 * i);
	}
	assert_true(f->nlog < 64);
	f->log[f->nlog++] = (struct tacc){lin, v, (uint8_t)size, 0};
	return 0;
}

static int f_write(void *o, uint64_t lin, const void *buf, uint32_t size)
{
	struct fake *f = o;
	uint64_t v = 0;

	if (in_range(lin, size, f->fault_lo, f->fault_hi) ||
	    in_range(lin, size, f->wfault_lo, f->wfault_hi))
		return -EIO;
	for (uint32_t i = 0; i < size; i++) {
		mem_set(f, lin + i, ((const uint8_t *)buf)[i]);
		v |= (uint64_t)((const uint8_t *)buf)[i] << (8 * i);
	}
	assert_true(f->nlog < 64);
	f->log[f->nlog++] = (struct tacc){lin, v, (uint8_t)size, 1};
	return 0;
}

static int f_translate(void *o, uint64_t lin, int is_write, uint64_t *gpa)
{
	struct fake *f = o;

	(void)is_write;
	f->translate_calls++;
	if (f->translate_rc)
		return f->translate_rc;
	*gpa = lin + GPA_OFF;
	return 0;
}

static void f_log(void *o, enum hvabs_log_level level, const char *msg)
{
	struct fake *f = o;

	(void)level;
	f->nmsg++;
	snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

static struct hvabs_x86emu_ops fake_ops(struct fake *f)
{
	struct hvabs_x86emu_ops ops = {
	    .hdr = HVABS_HDR_INIT(struct hvabs_x86emu_ops),
	    .opaque = f,
	    .get_regs = f_get_regs,
	    .set_regs = f_set_regs,
	    .get_sregs = f_get_sregs,
	    .fetch = f_fetch,
	    .read_gva = f_read,
	    .write_gva = f_write,
	    .translate_gva = f_translate,
	    .log = f_log,
	};
	return ops;
}

static uint64_t *gpr_of(struct hvabs_regs *r, unsigned id)
{
	uint64_t *p[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			   &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};

	return p[id - tRAX];
}

static struct hvabs_segment *seg_of(struct hvabs_sregs *s, unsigned id)
{
	struct hvabs_segment *p[6] = {&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs};

	return p[id - tES];
}

/* Sets up the vCPU for a mode: 64-bit long mode, 32-bit protected, or 16-bit. */
static void set_mode(struct fake *f, unsigned mode, uint32_t opt)
{
	struct hvabs_sregs *s = &f->sregs;

	switch (mode) {
	case 16:
		s->cr0 = (opt & (T_PROT16 | T_VM86)) ? 1 : 0;
		if (opt & T_VM86)
			f->regs.rflags |= 1ull << 17;
		f->regs.rip = RIP16;
		break;
	case 32:
		s->cr0 = 1;
		s->cs.db = 1;
		f->regs.rip = RIP64;
		break;
	default:
		s->cr0 = 0x80000001;
		s->cr4 = 0x20;
		s->efer = 0x500;
		s->cs.l = 1;
		f->regs.rip = RIP64;
		break;
	}
}

static void fake_init(struct fake *f, const struct tcase *c)
{
	memset(f, 0, sizeof(*f));
	f->regs.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	f->sregs.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	for (unsigned id = tRAX; id <= tR15; id++)
		*gpr_of(&f->regs, id) = P(id);
	f->regs.rflags = 0x2;
	set_mode(f, c->mode, c->opt);
	f->fault_lo = c->fault_lo;
	f->fault_hi = c->fault_hi;
	f->wfault_lo = c->wfault_lo;
	f->wfault_hi = c->wfault_hi;
	for (const struct treg *r = c->in; r->id; r++) {
		if (r->id <= tR15)
			*gpr_of(&f->regs, r->id) = r->val;
		else if (r->id == tRIP)
			f->regs.rip = r->val;
		else if (r->id == tFLAGS)
			f->regs.rflags = r->val | (f->regs.rflags & (1ull << 17));
		else if (r->id >= tES && r->id <= tGS)
			seg_of(&f->sregs, r->id)->base = r->val;
		else if (r->id == tCR4)
			f->sregs.cr4 = r->val;
	}
	for (const struct tmem *m = c->mem; m->size; m++)
		for (unsigned i = 0; i < m->size; i++)
			mem_set(f, m->addr + i, (uint8_t)(m->val >> (8 * i)));
}

static uint32_t case_max_reps(const struct tcase *c)
{
	for (const struct treg *r = c->in; r->id; r++)
		if (r->id == tMAXREPS)
			return (uint32_t)r->val;
	return 0;
}

static struct hvabs_regs expected_regs(const struct fake *f, const struct tcase *c)
{
	struct hvabs_regs e = f->regs;
	bool rip_set = false;

	for (const struct treg *r = c->out; r->id; r++) {
		if (r->id <= tR15)
			*gpr_of(&e, r->id) = r->val;
		else if (r->id == tRIP)
			e.rip = r->val, rip_set = true;
		else if (r->id == tFLAGS)
			e.rflags = r->val | (f->regs.rflags & (1ull << 17));
	}
	if (!rip_set && !(c->opt & T_INCOMPLETE)) {
		uint64_t m = c->mode == 16 ? 0xffff : c->mode == 32 ? 0xffffffff : ~0ull;
		e.rip = (f->regs.rip + c->ilen) & m;
	}
	return e;
}

static void check_regs(const struct tcase *c, const struct hvabs_regs *want,
		       const struct hvabs_regs *got)
{
	static const char *const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
					      "rsi", "rdi", "r8",  "r9",  "r10", "r11",
					      "r12", "r13", "r14", "r15"};
	struct hvabs_regs w = *want, g = *got;
	bool bad = false;

	for (unsigned id = tRAX; id <= tR15; id++)
		if (*gpr_of(&w, id) != *gpr_of(&g, id)) {
			print_error("%s: %s = %#llx, want %#llx\n", c->name, names[id - 1],
				    (unsigned long long)*gpr_of(&g, id),
				    (unsigned long long)*gpr_of(&w, id));
			bad = true;
		}
	if (w.rip != g.rip || w.rflags != g.rflags) {
		print_error("%s: rip %#llx rflags %#llx, want rip %#llx rflags %#llx\n", c->name,
			    (unsigned long long)g.rip, (unsigned long long)g.rflags,
			    (unsigned long long)w.rip, (unsigned long long)w.rflags);
		bad = true;
	}
	assert_false(bad);
}

static void check_log(const struct tcase *c, const struct fake *f)
{
	size_t n = 0;

	while (n < 10 && c->acc[n].size)
		n++;
	for (size_t i = 0; i < f->nlog || i < n; i++) {
		const struct tacc *g = i < f->nlog ? &f->log[i] : NULL;
		const struct tacc *w = i < n ? &c->acc[i] : NULL;
		if (g && w && g->addr == w->addr && g->size == w->size && g->write == w->write &&
		    g->val == w->val)
			continue;
		print_error("%s: access %zu: got %s %#llx/%u = %#llx, want %s %#llx/%u = %#llx\n",
			    c->name, i, g ? (g->write ? "write" : "read") : "none",
			    g ? (unsigned long long)g->addr : 0ull, g ? g->size : 0,
			    g ? (unsigned long long)g->val : 0ull,
			    w ? (w->write ? "write" : "read") : "none",
			    w ? (unsigned long long)w->addr : 0ull, w ? w->size : 0,
			    w ? (unsigned long long)w->val : 0ull);
		fail();
	}
}

/* The result's access streams agree with what the ops saw. */
static void check_result(const struct tcase *c, const struct fake *f,
			 const struct hvabs_x86emu_result *res)
{
	bool string = c->streams[0] != 0;
	uint32_t n = string ? (c->streams[1] ? 2 : 1) : (uint32_t)f->nlog;

	assert_int_equal(res->insn.length, c->ilen);
	if (c->mn)
		assert_string_equal(hvabs_x86emu_mnemonic_name(res->insn.mnemonic),
				    hvabs_x86emu_mnemonic_name(c->mn));
	assert_int_equal(!!(res->flags & HVABS_X86EMU_RES_INCOMPLETE), !!(c->opt & T_INCOMPLETE));
	assert_int_equal(res->naccesses, n);
	for (uint32_t k = 0; k < n; k++) {
		const struct hvabs_x86emu_access *a = &res->access[k];
		uint64_t data = 0;
		for (unsigned i = 0; i < a->size; i++)
			data |= (uint64_t)a->data[i] << (8 * i);
		assert_int_equal(a->gva, f->log[k].addr);
		assert_int_equal(a->size, f->log[k].size);
		assert_int_equal(a->is_write, f->log[k].write);
		assert_int_equal(data, f->log[k].val);
		assert_int_equal(a->count, string ? c->streams[k] : 1);
		assert_true(a->gpa_valid);
		assert_int_equal(a->gpa, a->gva + GPA_OFF);
		assert_int_equal(a->df, string && (f->regs.rflags & (1u << 10)));
	}
}

/* hvabs_x86emu_decode() agrees with the run on validity and length. */
static void check_decode(const struct tcase *c)
{
	struct hvabs_x86emu_insn insn;
	int rc;

	if (c->opt & (T_FETCH | T_NODECODE))
		return;
	rc = hvabs_x86emu_decode(c->mode == 16	 ? HVABS_X86EMU_MODE_16
				 : c->mode == 32 ? HVABS_X86EMU_MODE_32
						 : HVABS_X86EMU_MODE_64,
				 c->bytes, c->len, &insn);
	if (c->rc == -EINVAL || c->rc == -ENOTSUP || c->rc == HVABS_X86EMU_ETRUNCATED) {
		assert_int_equal(rc, c->rc);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(insn.length, c->ilen);
}

static void run_case(void **state)
{
	const struct tcase *c = *state;
	struct hvabs_x86emu_result res;
	struct fake *f = calloc(1, sizeof(*f));
	struct hvabs_x86emu_ops ops;
	int rc;

	assert_non_null(f);
	fake_init(f, c);
	ops = fake_ops(f);
	ops.max_reps = case_max_reps(c);
	if (!(c->opt & T_FETCH))
		ops.fetch = NULL; /* truncated cases must say so, not read on */
	if (c->opt & T_FETCH) {
		uint64_t lin = f->sregs.cs.base + f->regs.rip;
		for (unsigned i = 0; i < c->len; i++)
			mem_set(f, lin + i, c->bytes[i]);
	}
	memset(&res, 0xa5, sizeof(res));
	rc = hvabs_x86emu_run(&ops, c->bytes, (c->opt & T_FETCH) ? c->given : c->len, &res);
	if (rc != c->rc)
		print_error("%s: rc %d, want %d\n", c->name, rc, c->rc);
	assert_int_equal(rc, c->rc);
	check_log(c, f);
	if (rc) {
		/* No register write at all on failure. */
		assert_int_equal(f->set_calls, 0);
	} else {
		struct hvabs_regs want = expected_regs(f, c);
		assert_int_equal(f->set_calls, 1);
		check_regs(c, &want, &f->out);
		check_result(c, f, &res);
	}
	check_decode(c);
	free(f);
}

static int run_table(const char *group, const struct tcase *cases, size_t n)
{
	struct CMUnitTest *t = calloc(n, sizeof(*t));
	int rc;

	if (!t)
		return 1;
	for (size_t i = 0; i < n; i++) {
		t[i].name = cases[i].name;
		t[i].test_func = run_case;
		t[i].initial_state = (void *)&cases[i];
	}
	rc = _cmocka_run_group_tests(group, t, n, NULL, NULL);
	free(t);
	return rc;
}

/* ---- behaviours a table cannot express ---- */

static struct fake *fake64(void)
{
	static const struct tcase none = {.name = "setup"};
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_init(f, &none);
	return f;
}

static void test_bad_args(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t mov[] = {0x8b, 0x07};

	(void)state;
	assert_int_equal(hvabs_x86emu_run(NULL, mov, 2, &res), -EINVAL);
	assert_int_equal(hvabs_x86emu_run(&ops, mov, 2, NULL), -EINVAL);
	assert_int_equal(hvabs_x86emu_run(&ops, NULL, 2, &res), -EINVAL);
	ops.read_gva = NULL;
	assert_int_equal(hvabs_x86emu_run(&ops, mov, 2, &res), -EINVAL);
	ops = fake_ops(f);
	ops.hdr.struct_size = offsetof(struct hvabs_x86emu_ops, read_gva);
	assert_int_equal(hvabs_x86emu_run(&ops, mov, 2, &res), -EINVAL);
	ops = fake_ops(f);
	ops.set_regs = NULL;
	assert_int_equal(hvabs_x86emu_run(&ops, mov, 2, &res), -EINVAL);
	assert_int_equal(f->nlog, 0);
	free(f);
}

static void test_get_regs_error(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t mov[] = {0x8b, 0x07};

	(void)state;
	f->get_regs_rc = -ESRCH;
	assert_int_equal(hvabs_x86emu_run(&ops, mov, 2, &res), -ESRCH);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->set_calls, 0);
	free(f);
}

/* Fetches stop at page boundaries: the next page may be unmapped. */
static void test_fetch_page_boundary(void **state)
{
	const uint8_t insn[] = {0x48, 0x8b, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00};
	struct hvabs_x86emu_result res;

	(void)state;
	for (unsigned given = 0; given <= 2; given++) {
		struct fake *f = fake64();
		struct hvabs_x86emu_ops ops = fake_ops(f);
		f->regs.rip = 0xffd;
		f->regs.rsp = 0x7000;
		for (unsigned i = 0; i < sizeof(insn); i++)
			mem_set(f, 0xffd + i, insn[i]);
		assert_int_equal(hvabs_x86emu_run(&ops, insn, given, &res), 0);
		assert_int_equal(res.insn.length, 8);
		assert_int_equal(f->out.rip, 0xffd + 8);
		assert_int_equal(f->log[0].addr, 0x7100);
		assert_int_equal(f->nfetch, 2);
		assert_int_equal(f->fetch_addr[0], 0xffd + given);
		assert_int_equal(f->fetch_len[0], 3 - given);
		assert_int_equal(f->fetch_addr[1], 0x1000);
		assert_int_equal(f->fetch_len[1], 15 - 3);
		free(f);
	}
}

static void test_fetch_error(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t part[] = {0x48, 0x8b};

	(void)state;
	f->fault_lo = 0x1000;
	f->fault_hi = 0x2000;
	assert_int_equal(hvabs_x86emu_run(&ops, part, 2, &res), -EFAULT);
	assert_int_equal(f->set_calls, 0);
	/* Without a fetch op the same bytes are "truncated". */
	ops.fetch = NULL;
	assert_int_equal(hvabs_x86emu_run(&ops, part, 2, &res), HVABS_X86EMU_ETRUNCATED);
	assert_int_equal(f->set_calls, 0);
	free(f);
}

/* A failed page walk stops the instruction before it touches memory. */
static void test_translate_error(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t store[] = {0x89, 0x07};

	(void)state;
	f->regs.rdi = 0x2000;
	f->translate_rc = -EFAULT;
	assert_int_equal(hvabs_x86emu_run(&ops, store, 2, &res), -EFAULT);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->set_calls, 0);
	/* Without translate_gva the access happens and reports no gpa. */
	f->translate_rc = 0;
	ops.translate_gva = NULL;
	assert_int_equal(hvabs_x86emu_run(&ops, store, 2, &res), 0);
	assert_int_equal(res.naccesses, 1);
	assert_false(res.access[0].gpa_valid);
	assert_int_equal(res.access[0].gva, 0x2000);
	/* An op beyond the caller's struct_size is not called. */
	ops = fake_ops(f);
	ops.hdr.struct_size = offsetof(struct hvabs_x86emu_ops, translate_gva);
	f->translate_calls = 0;
	assert_int_equal(hvabs_x86emu_run(&ops, store, 2, &res), 0);
	assert_int_equal(f->translate_calls, 0);
	free(f);
}

static void test_log_refusal(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t ud2[] = {0x0f, 0x0b};
	const uint8_t bad_lock[] = {0xf0, 0x89, 0x07};

	(void)state;
	assert_int_equal(hvabs_x86emu_run(&ops, ud2, 2, &res), -ENOTSUP);
	assert_int_equal(f->nmsg, 1);
	assert_non_null(strstr(f->msg, "unsupported"));
	assert_non_null(strstr(f->msg, "0f 0b"));
	assert_int_equal(hvabs_x86emu_run(&ops, bad_lock, 3, &res), -EINVAL);
	assert_int_equal(f->nmsg, 2);
	assert_non_null(strstr(f->msg, "invalid"));
	assert_non_null(strstr(f->msg, "f0 89 07"));
	/* No log op: still refused, nothing else happens. */
	ops.log = NULL;
	assert_int_equal(hvabs_x86emu_run(&ops, ud2, 2, &res), -ENOTSUP);
	assert_int_equal(f->nmsg, 2);
	free(f);
}

/* A long REP string runs in slices of max_reps; each run continues where the last stopped. */
static void test_rep_resume(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t rep_movsb[] = {0xf3, 0xa4};
	int runs = 0;

	(void)state;
	ops.max_reps = 4;
	f->regs.rcx = 10;
	f->regs.rsi = 0x2000;
	f->regs.rdi = 0x3000;
	for (unsigned i = 0; i < 10; i++)
		mem_set(f, 0x2000 + i, (uint8_t)(0x40 + i));
	do {
		assert_int_equal(hvabs_x86emu_run(&ops, rep_movsb, 2, &res), 0);
		f->regs = f->out;
		runs++;
		assert_true(runs <= 3);
	} while (res.flags & HVABS_X86EMU_RES_INCOMPLETE);
	assert_int_equal(runs, 3);
	/* One page walk per access stream per run, not one per element. */
	assert_int_equal(f->translate_calls, 2 * 3);
	assert_int_equal(res.access[0].count, 2);
	assert_int_equal(f->regs.rcx, 0);
	assert_int_equal(f->regs.rsi, 0x200a);
	assert_int_equal(f->regs.rdi, 0x300a);
	assert_int_equal(f->regs.rip, RIP64 + 2);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(mem_get(f, 0x3000 + i), 0x40 + i);
	free(f);
}

static int count_write(void *o, uint64_t lin, const void *buf, uint32_t size)
{
	struct fake *f = o;

	(void)buf;
	assert_int_equal(lin, 0x10000 + f->set_calls);
	assert_int_equal(size, 1);
	f->set_calls++; /* reused as a write counter; set_regs is not under test here */
	return 0;
}

static void test_default_max_reps(void **state)
{
	struct fake *f = fake64();
	struct hvabs_x86emu_ops ops = fake_ops(f);
	struct hvabs_x86emu_result res;
	const uint8_t rep_stosb[] = {0xf3, 0xaa};

	(void)state;
	ops.write_gva = count_write;
	f->regs.rcx = 5000;
	f->regs.rdi = 0x10000;
	assert_int_equal(hvabs_x86emu_run(&ops, rep_stosb, 2, &res), 0);
	assert_true(res.flags & HVABS_X86EMU_RES_INCOMPLETE);
	assert_int_equal(res.access[0].count, HVABS_X86EMU_DEFAULT_MAX_REPS);
	assert_int_equal(f->set_calls, HVABS_X86EMU_DEFAULT_MAX_REPS + 1);
	assert_int_equal(f->out.rcx, 5000 - HVABS_X86EMU_DEFAULT_MAX_REPS);
	assert_int_equal(f->out.rdi, 0x10000 + HVABS_X86EMU_DEFAULT_MAX_REPS);
	assert_int_equal(f->out.rip, RIP64);
	free(f);
}

static void test_mode_get(void **state)
{
	struct hvabs_sregs s;
	enum hvabs_x86emu_mode m;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_16); /* real mode */
	s.cs.db = 1;				   /* "unreal" CS.D is ignored in real mode */
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_16);
	s.cr0 = 1;
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_32);
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2 | (1u << 17), &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_16); /* virtual-8086 */
	s.cs.db = 0;
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_16); /* 16-bit protected */
	s.efer = 0x500;
	s.cr0 = 0x80000001;
	s.cs.db = 1;
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_32); /* compatibility mode */
	s.cs.db = 0;
	s.cs.l = 1;
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), 0);
	assert_int_equal(m, HVABS_X86EMU_MODE_64);
	s.cs.db = 1;
	m = HVABS_X86EMU_MODE_16;
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, &m), -EINVAL);
	assert_int_equal(m, HVABS_X86EMU_MODE_16); /* untouched on error */
	assert_int_equal(hvabs_x86emu_mode_get(NULL, 2, &m), -EINVAL);
	assert_int_equal(hvabs_x86emu_mode_get(&s, 2, NULL), -EINVAL);
}

static void test_decode_fields(void **state)
{
	/* mov r15, [r14 + r13*8 + 0x10] */
	const uint8_t sib[] = {0x4f, 0x8b, 0x7c, 0xee, 0x10};
	/* lock or dword gs:[rip + 0x20], 0x7f (83 /1 ib) */
	const uint8_t rip[] = {0x65, 0xf0, 0x83, 0x0d, 0x20, 0x00, 0x00, 0x00, 0x7f};
	/* rep movsw with a 67 prefix */
	const uint8_t str[] = {0xf3, 0x66, 0x67, 0xa5};
	struct hvabs_x86emu_insn in;

	(void)state;
	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, sib, sizeof(sib), &in), 0);
	assert_int_equal(in.length, 5);
	assert_int_equal(in.mnemonic, HVABS_X86EMU_MOV);
	assert_int_equal(in.opcode, 0x8b);
	assert_int_equal(in.op_size, 8);
	assert_int_equal(in.addr_size, 8);
	assert_int_equal(in.rex, 0x4f);
	assert_int_equal(in.prefixes, HVABS_X86EMU_PFX_REX);
	assert_int_equal(in.reg, HVABS_X86EMU_R15);
	assert_int_equal(in.rm_reg, HVABS_X86EMU_NOREG);
	assert_int_equal(in.base, HVABS_X86EMU_R14);
	assert_int_equal(in.index, HVABS_X86EMU_R13);
	assert_int_equal(in.scale, 8);
	assert_int_equal(in.disp, 0x10);
	assert_true(in.has_modrm && in.has_sib);
	assert_int_equal(in.sib, 0xee);
	assert_int_equal(in.mem_size, 8);
	assert_int_equal(in.mem_dir, HVABS_X86EMU_MEM_READ);
	assert_int_equal(in.seg, HVABS_X86EMU_DS);

	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, rip, sizeof(rip), &in), 0);
	assert_int_equal(in.length, 9);
	assert_int_equal(in.mnemonic, HVABS_X86EMU_OR);
	assert_int_equal(in.base, HVABS_X86EMU_RIP);
	assert_int_equal(in.index, HVABS_X86EMU_NOREG);
	assert_int_equal(in.seg, HVABS_X86EMU_GS);
	assert_int_equal(in.prefixes, HVABS_X86EMU_PFX_LOCK | HVABS_X86EMU_PFX_SEG);
	assert_int_equal(in.imm, 0x7f);
	assert_int_equal(in.imm_size, 1);
	assert_int_equal(in.reg, HVABS_X86EMU_NOREG);
	assert_int_equal(in.mem_dir, HVABS_X86EMU_MEM_READ | HVABS_X86EMU_MEM_WRITE);

	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, str, sizeof(str), &in), 0);
	assert_int_equal(in.mnemonic, HVABS_X86EMU_MOVS);
	assert_int_equal(in.op_size, 2);
	assert_int_equal(in.addr_size, 4);
	assert_int_equal(in.base, HVABS_X86EMU_RSI);
	assert_int_equal(in.prefixes, HVABS_X86EMU_PFX_REP | HVABS_X86EMU_PFX_OPSIZE |
					  HVABS_X86EMU_PFX_ADDRSIZE);

	/* A segment override never moves the ES:rDI of STOS. */
	const uint8_t stos_fs[] = {0x64, 0xaa};
	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, stos_fs, 2, &in), 0);
	assert_int_equal(in.seg, HVABS_X86EMU_ES);
	assert_int_equal(in.base, HVABS_X86EMU_RDI);
	assert_int_equal(in.mem_dir, HVABS_X86EMU_MEM_WRITE);
	const uint8_t lods_fs[] = {0x64, 0xac};
	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, lods_fs, 2, &in), 0);
	assert_int_equal(in.seg, HVABS_X86EMU_FS);

	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, NULL, 2, &in), -EINVAL);
	assert_int_equal(hvabs_x86emu_decode(HVABS_X86EMU_MODE_64, sib, 5, NULL), -EINVAL);
	assert_int_equal(hvabs_x86emu_decode((enum hvabs_x86emu_mode)8, sib, 5, &in), -EINVAL);
}

static void test_mnemonic_names(void **state)
{
	(void)state;
	assert_string_equal(hvabs_x86emu_mnemonic_name(HVABS_X86EMU_MOV), "mov");
	assert_string_equal(hvabs_x86emu_mnemonic_name(HVABS_X86EMU_SCAS), "scas");
	assert_string_equal(hvabs_x86emu_mnemonic_name(HVABS_X86EMU_INVALID), "?");
	assert_string_equal(hvabs_x86emu_mnemonic_name(HVABS_X86EMU_MNEMONIC_COUNT), "?");
	for (uint32_t m = 1; m < HVABS_X86EMU_MNEMONIC_COUNT; m++)
		assert_string_not_equal(hvabs_x86emu_mnemonic_name(m), "?");
}

int main(void)
{
	const struct CMUnitTest edge[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_get_regs_error),
		cmocka_unit_test(test_fetch_page_boundary),
		cmocka_unit_test(test_fetch_error),
		cmocka_unit_test(test_translate_error),
		cmocka_unit_test(test_log_refusal),
		cmocka_unit_test(test_rep_resume),
		cmocka_unit_test(test_default_max_reps),
		cmocka_unit_test(test_mode_get),
		cmocka_unit_test(test_decode_fields),
		cmocka_unit_test(test_mnemonic_names),
#if defined(__x86_64__)
		cmocka_unit_test(x86emu_native_test),
#endif
	};
	int rc = 0;

	rc |= run_table("x86emu.mov", x86emu_cases_mov, x86emu_ncases_mov);
	rc |= run_table("x86emu.alu", x86emu_cases_alu, x86emu_ncases_alu);
	rc |= run_table("x86emu.string", x86emu_cases_string, x86emu_ncases_string);
	rc |= run_table("x86emu.modes", x86emu_cases_modes, x86emu_ncases_modes);
	rc |= run_table("x86emu.invalid", x86emu_cases_invalid, x86emu_ncases_invalid);
	rc |= cmocka_run_group_tests_name("x86emu.edge", edge, NULL, NULL);
	return rc ? 1 : 0;
}
