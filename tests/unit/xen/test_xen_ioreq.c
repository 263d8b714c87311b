/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Xen backend's ioreq decoder (backends/xen/xen_ioreq.c) on its own:
 * hand-made slots for each kind of request, then a few hundred thousand
 * random ones. A slot is what Xen shares with the device model, filled from
 * what the guest did, so every field is hostile here: the decoder must turn
 * valid requests into exactly the exit a VMM expects, answer everything
 * READY exactly once, leave other states alone, and never touch memory
 * outside guest RAM (ASan watches in the sanitizer build).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xen_priv.h"

/* Guest RAM: two adjacent regions, a hole, a third region. */
#define A_GPA  0x1000u
#define A_SIZE 0x2000u
#define B_GPA  0x3000u
#define B_SIZE 0x2000u
#define C_GPA  0x8000u
#define C_SIZE 0x1000u

struct env {
	struct xen_ram ram;
	uint8_t *a, *b, *c;
	struct xen_iobuf buf;
	ioreq_t slot;
	struct hvabs_exit e;
	char why[256];
};

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));

	if (!v)
		return -1;
	xen_ram_init(&v->ram);
	v->a = malloc(A_SIZE);
	v->b = malloc(B_SIZE);
	v->c = malloc(C_SIZE);
	v->buf.cap = XEN_MAX_IO_BYTES;
	v->buf.p = malloc(v->buf.cap);
	if (!v->a || !v->b || !v->c || !v->buf.p)
		return -1;
	for (uint32_t i = 0; i < A_SIZE; i++)
		v->a[i] = (uint8_t)i;
	memset(v->b, 0, B_SIZE);
	memset(v->c, 0, C_SIZE);
	v->ram.r[0] = (struct xen_region){A_GPA, A_SIZE, v->a, 0};
	v->ram.r[1] = (struct xen_region){B_GPA, B_SIZE, v->b, 0};
	v->ram.r[2] = (struct xen_region){C_GPA, C_SIZE, v->c, 0};
	v->ram.n = 3;
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;

	xen_ram_fini(&v->ram);
	free(v->a);
	free(v->b);
	free(v->c);
	free(v->buf.p);
	free(v);
	return 0;
}

static void fill(ioreq_t *s, uint8_t type, uint64_t addr, uint32_t size, uint32_t count, int dir,
		 int ptr, int df, uint64_t data)
{
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->addr = addr;
	s->size = size;
	s->count = count;
	s->dir = (uint8_t)dir;
	s->data_is_ptr = (uint8_t)ptr;
	s->df = (uint8_t)df;
	s->data = data;
	s->vp_eport = 7;
	s->state = STATE_IOREQ_READY;
}

/* Load, take and decode the slot, as the vCPU loop does. */
static int decode(struct env *v, struct xen_req *r)
{
	xen_req_load(&v->slot, r);
	if (r->state == STATE_IOREQ_READY)
		xen_req_take(&v->slot);
	return xen_req_decode(r, &v->ram, &v->buf, &v->e, v->why, sizeof(v->why));
}

static int answer(struct env *v, const struct xen_req *r, int served)
{
	return xen_req_answer(&v->slot, r, served ? v->buf.p : NULL, served, &v->ram, v->why,
			      sizeof(v->why));
}

static void pio_write(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	fill(&v->slot, IOREQ_TYPE_PIO, 0x3f8, 2, 1, IOREQ_WRITE, 0, 0, 0xbeef);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	assert_int_equal(v->slot.state, STATE_IOREQ_INPROCESS);
	assert_int_equal(v->e.kind, HVABS_EXIT_IO);
	assert_int_equal(v->e.u.io.addr, 0x3f8);
	assert_int_equal(v->e.u.io.size, 2);
	assert_int_equal(v->e.u.io.count, 1);
	assert_int_equal(v->e.u.io.is_write, 1);
	assert_int_equal(v->e.u.io.data[0], 0xef);
	assert_int_equal(v->e.u.io.data[1], 0xbe);
	assert_int_equal(answer(v, &r, 1), 0);
	assert_int_equal(v->slot.state, STATE_IORESP_READY);
	assert_int_equal(v->slot.data, 0xbeef); /* a write's data is Xen's, untouched */
	assert_int_equal(v->slot.vp_eport, 7);
}

static void pio_read(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	fill(&v->slot, IOREQ_TYPE_PIO, 0x71, 1, 1, IOREQ_READ, 0, 0, 0x55);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	assert_int_equal(v->e.u.io.is_write, 0);
	v->e.u.io.data[0] = 0x26;
	assert_int_equal(answer(v, &r, 1), 0);
	assert_int_equal(v->slot.state, STATE_IORESP_READY);
	assert_int_equal(v->slot.data, 0x26);
}

static void mmio_read_write(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	fill(&v->slot, IOREQ_TYPE_COPY, 0xd0000008, 8, 1, IOREQ_WRITE, 0, 0, 0x1122334455667788);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	assert_int_equal(v->e.kind, HVABS_EXIT_MMIO);
	assert_int_equal(v->e.u.mmio.addr, 0xd0000008);
	assert_int_equal(v->e.u.mmio.data[7], 0x11);
	assert_int_equal(answer(v, &r, 1), 0);
	fill(&v->slot, IOREQ_TYPE_COPY, 0xfec00010, 4, 1, IOREQ_READ, 0, 0, 0);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	memcpy(v->e.u.mmio.data, "\x01\x02\x03\x04", 4);
	assert_int_equal(answer(v, &r, 1), 0);
	assert_int_equal(v->slot.data, 0x04030201);
}

/* A string write takes element i from data + i*size, or data - i*size with df. */
static void string_write_both_directions(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	for (int df = 0; df < 2; df++) {
		uint64_t base = df ? A_GPA + 0x106 : A_GPA + 0x100;
		fill(&v->slot, IOREQ_TYPE_PIO, 0x3e0, 2, 4, IOREQ_WRITE, 1, df, base);
		assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
		assert_int_equal(v->e.u.io.count, 4);
		for (int i = 0; i < 4; i++) {
			uint32_t off = df ? 0x106 - 2 * i : 0x100 + 2 * i;
			assert_int_equal(v->e.u.io.data[2 * i], v->a[off]);
			assert_int_equal(v->e.u.io.data[2 * i + 1], v->a[off + 1]);
		}
		assert_int_equal(answer(v, &r, 1), 0);
		assert_int_equal(v->slot.state, STATE_IORESP_READY);
	}
	/* MMIO: the exit says the MMIO side descends too. */
	fill(&v->slot, IOREQ_TYPE_COPY, 0xd0000100, 4, 3, IOREQ_WRITE, 1, 1, C_GPA + 8);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	assert_int_equal(v->e.u.mmio.df, 1);
	assert_int_equal(v->e.u.mmio.count, 3);
}

/* A string read lands element i at data +/- i*size, across adjacent regions too. */
static void string_read_both_directions(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	for (int df = 0; df < 2; df++) {
		/* Straddles the A/B boundary at 0x3000 either way. */
		uint64_t base = df ? B_GPA + 4 : A_GPA + A_SIZE - 8;
		memset(v->a, 0, A_SIZE);
		memset(v->b, 0, B_SIZE);
		fill(&v->slot, IOREQ_TYPE_COPY, 0xd0000000, 4, 4, IOREQ_READ, 1, df, base);
		assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
		for (int i = 0; i < 16; i++)
			v->e.u.mmio.data[i] = (uint8_t)(0xa0 + i);
		assert_int_equal(answer(v, &r, 1), 0);
		for (int i = 0; i < 4; i++) {
			uint8_t got[4];
			uint64_t gpa = df ? base - 4 * i : base + 4 * i;
			assert_int_equal(xen_ram_copy(&v->ram, gpa, got, 4, 0), 0);
			assert_int_equal(got[0], 0xa0 + 4 * i);
			assert_int_equal(got[3], 0xa3 + 4 * i);
		}
	}
}

/* Refused: answered at once, reads get all-ones, the reason is given. */
static void refused_requests(void **state)
{
	struct env *v = *state;
	struct xen_req r;
	static const struct {
		uint8_t type;
		uint64_t addr;
		uint32_t size, count;
		int ptr, df;
		uint64_t data;
	} bad[] = {
	    {IOREQ_TYPE_PIO, 0x3f8, 3, 1, 0, 0, 0},		     /* size 3 */
	    {IOREQ_TYPE_PIO, 0x3f8, 8, 1, 0, 0, 0},		     /* no 8-byte port I/O */
	    {IOREQ_TYPE_COPY, 0xd0000000, 16, 1, 0, 0, 0},	     /* size 16 */
	    {IOREQ_TYPE_COPY, 0xd0000000, 0, 1, 0, 0, 0},	     /* size 0 */
	    {IOREQ_TYPE_PIO, 0x3f8, 1, 0, 0, 0, 0},		     /* count 0 */
	    {IOREQ_TYPE_PIO, 0x3f8, 1, 2, 0, 0, 0},		     /* count 2 without a buffer */
	    {IOREQ_TYPE_PIO, 0x3f8, 4, 0xffffffff, 1, 0, A_GPA},     /* count huge */
	    {IOREQ_TYPE_PIO, 0xffff, 2, 1, 0, 0, 0},		     /* past port 0xffff */
	    {IOREQ_TYPE_PIO, 0x3f8, 1, 4, 1, 0, 0x6000},	     /* buffer in the hole */
	    {IOREQ_TYPE_PIO, 0x3f8, 1, 4, 1, 0, C_GPA + C_SIZE - 2}, /* runs off RAM */
	    {IOREQ_TYPE_PIO, 0x3f8, 4, 4, 1, 1, 8},		     /* df below address 0 */
	    {IOREQ_TYPE_COPY, ~0ull - 4, 4, 4, 1, 0, A_GPA},	     /* MMIO wraps */
	    {IOREQ_TYPE_PCI_CONFIG, 0x80000000, 4, 1, 0, 0, 0},	     /* never claimed */
	    {5, 0x3f8, 1, 1, 0, 0, 0},				     /* unknown type */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fill(&v->slot, bad[i].type, bad[i].addr, bad[i].size, bad[i].count, IOREQ_READ,
		     bad[i].ptr, bad[i].df, bad[i].data);
		uint8_t before[C_SIZE];
		memcpy(before, v->c, C_SIZE);
		assert_int_equal(decode(v, &r), XEN_REQ_ANSWER);
		assert_true(v->why[0] != '\0');
		assert_int_equal(answer(v, &r, 0), 0);
		assert_int_equal(v->slot.state, STATE_IORESP_READY);
		if (!bad[i].ptr)
			assert_true(v->slot.data == ~0ull);
		assert_memory_equal(before, v->c, C_SIZE); /* nothing written */
	}
}

/* A map-cache flush is answered without an exit and without a complaint. */
static void invalidate(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	fill(&v->slot, IOREQ_TYPE_INVALIDATE, 0, 4, 1, IOREQ_WRITE, 0, 0, ~0ull);
	assert_int_equal(decode(v, &r), XEN_REQ_ANSWER);
	assert_string_equal(v->why, "");
	assert_int_equal(answer(v, &r, 0), 0);
	assert_int_equal(v->slot.state, STATE_IORESP_READY);
}

/* Only READY is ours: other states are left alone; unknown ones are reported. */
static void states(void **state)
{
	struct env *v = *state;
	struct xen_req r;

	for (uint8_t st = 0; st < 16; st++) {
		if (st == STATE_IOREQ_READY)
			continue;
		fill(&v->slot, IOREQ_TYPE_PIO, 0x3f8, 1, 1, IOREQ_WRITE, 0, 0, 1);
		v->slot.state = st;
		assert_int_equal(decode(v, &r), XEN_REQ_NONE);
		assert_int_equal(v->slot.state, st);
		assert_int_equal(v->why[0] != '\0', st > STATE_IORESP_READY);
	}
	/* Answering a slot that is no longer in flight would crash the domain: refused. */
	fill(&v->slot, IOREQ_TYPE_PIO, 0x3f8, 1, 1, IOREQ_READ, 0, 0, 0);
	assert_int_equal(decode(v, &r), XEN_REQ_EXIT);
	v->slot.state = STATE_IOREQ_NONE;
	assert_int_equal(answer(v, &r, 1), -ESTALE);
	assert_int_equal(v->slot.state, STATE_IOREQ_NONE);
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	/* splitmix64: fixed seed, same sequence every run */
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t pick_addr(void)
{
	static const uint64_t near[] = {
	    0,	    A_GPA,    A_GPA + A_SIZE - 1, B_GPA,  B_GPA + B_SIZE,
	    0x6000, C_GPA,    C_GPA + C_SIZE - 1, 0xffff, 0x10000,
	    ~0ull,  ~0ull - 7};
	uint64_t r = rnd();

	switch (r & 3) {
	case 0:
		return rnd();
	case 1:
		return near[(r >> 2) % (sizeof(near) / sizeof(near[0]))];
	default:
		return near[(r >> 2) % (sizeof(near) / sizeof(near[0]))] + ((r >> 8) & 0x3f) - 0x20;
	}
}

/* Random slots: every property a device model must keep, on each one. */
static void fuzz(void **state)
{
	struct env *v = *state;
	struct xen_req r;
	unsigned exits = 0, answers = 0;

	rnd_state = 0x1234abcd;
	for (int n = 0; n < 300000; n++) {
		uint8_t *raw = (uint8_t *)&v->slot;
		for (size_t i = 0; i < sizeof(v->slot); i += 8) {
			uint64_t x = rnd();
			memcpy(raw + i, &x, 8);
		}
		uint64_t k = rnd();
		/* Bias toward requests that get far into the decoder. */
		if (k & 1)
			v->slot.state = STATE_IOREQ_READY;
		if (k & 2)
			v->slot.type = (k >> 8) & 1 ? IOREQ_TYPE_COPY : IOREQ_TYPE_PIO;
		if (k & 4)
			v->slot.size = 1u << ((k >> 9) & 3);
		if (k & 8)
			v->slot.count = (uint32_t)((k >> 12) & 0x1f);
		if (k & 64)
			v->slot.count = 1;
		if (k & 16)
			v->slot.addr = pick_addr();
		if (k & 32)
			v->slot.data = pick_addr();
		if (k & 128)
			v->slot.data_is_ptr = 0;
		if (k & 256)
			v->slot.addr &= 0xfff0;
		uint8_t st = v->slot.state;
		uint8_t c_before[64];
		memcpy(c_before, v->c + C_SIZE - 64, 64);
		int verdict = decode(v, &r);
		if (st != STATE_IOREQ_READY) {
			assert_int_equal(verdict, XEN_REQ_NONE);
			assert_int_equal(v->slot.state, st);
			continue;
		}
		assert_int_not_equal(verdict, XEN_REQ_NONE);
		if (verdict == XEN_REQ_EXIT) {
			exits++;
			const struct hvabs_exit_access *a =
			    v->e.kind == HVABS_EXIT_IO ? &v->e.u.io : &v->e.u.mmio;
			assert_true(r.type == IOREQ_TYPE_PIO || r.type == IOREQ_TYPE_COPY);
			assert_int_equal(v->e.kind, r.type == IOREQ_TYPE_PIO ? HVABS_EXIT_IO
									     : HVABS_EXIT_MMIO);
			assert_true(a->size == 1 || a->size == 2 || a->size == 4 ||
				    (a->size == 8 && v->e.kind == HVABS_EXIT_MMIO));
			assert_true(a->count >= 1 && a->count <= XEN_MAX_REPS);
			assert_true((uint64_t)a->size * a->count <= v->buf.cap);
			if (v->e.kind == HVABS_EXIT_IO)
				assert_true(a->addr + a->size <= 0x10000);
			if (r.data_is_ptr)
				for (uint32_t i = 0; i < a->count; i++) {
					uint8_t t[8];
					uint64_t s = (uint64_t)i * a->size;
					assert_int_equal(
					    xen_ram_copy(&v->ram, r.df ? r.data - s : r.data + s, t,
							 a->size, 0),
					    0);
				}
			for (size_t i = 0; i < (size_t)a->size * a->count; i++)
				a->data[i] = (uint8_t)rnd();
			assert_int_equal(answer(v, &r, 1), 0);
		} else {
			answers++;
			assert_int_equal(answer(v, &r, 0), 0);
			if (r.dir == IOREQ_READ && !r.data_is_ptr &&
			    r.type != IOREQ_TYPE_INVALIDATE)
				assert_true(v->slot.data == ~0ull);
			/* A refused request writes no guest RAM. */
			assert_memory_equal(c_before, v->c + C_SIZE - 64, 64);
		}
		assert_int_equal(v->slot.state, STATE_IORESP_READY);
	}
	/* The bias must reach both outcomes, or the run proves little. */
	print_message("%u exits, %u answered at once\n", exits, answers);
	assert_true(exits > 5000);
	assert_true(answers > 5000);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(pio_write),
	    T(pio_read),
	    T(mmio_read_write),
	    T(string_write_both_directions),
	    T(string_read_both_directions),
	    T(refused_requests),
	    T(invalidate),
	    T(states),
	    T(fuzz),
	};
	return cmocka_run_group_tests_name("xen_ioreq", tests, NULL, NULL);
}
