/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Xen backend's ioreq decoder
 * (backends/xen/xen_ioreq.c): a whole fuzzed ioreq slot, as Xen fills it
 * from what the guest did, decoded and answered as the vCPU loop does, with
 * guest RAM of two adjacent regions, a hole and a third region. Traps on a
 * broken promise of the decoder (the properties tests/unit/xen's random test
 * checks): a slot not READY is left alone; a READY one becomes an exit of a
 * valid shape whose data fits the buffer, or an answer that writes no guest
 * RAM; either way the slot ends IORESP_READY.
 *
 * Input: [bias][ioreq slot][the VMM's answer bytes...]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xen_priv.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define A_GPA  0x1000u
#define A_SIZE 0x2000u
#define B_GPA  0x3000u
#define B_SIZE 0x2000u
#define C_GPA  0x8000u
#define C_SIZE 0x1000u

static struct xen_ram ram;
static uint8_t a[A_SIZE], b[B_SIZE], c[C_SIZE], c_before[C_SIZE];
static struct xen_iobuf buf;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	xen_ram_init(&ram);
	ram.r[0] = (struct xen_region){A_GPA, A_SIZE, a, 0};
	ram.r[1] = (struct xen_region){B_GPA, B_SIZE, b, 0};
	ram.r[2] = (struct xen_region){C_GPA, C_SIZE, c, 0};
	ram.n = 3;
	buf.cap = XEN_MAX_IO_BYTES;
	buf.p = malloc(buf.cap);
	if (!buf.p)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ioreq_t slot;
	struct xen_req r;
	struct hvabs_exit e;
	char why[256];

	if (size < 1 + sizeof(slot))
		return 0;
	memcpy(&slot, data + 1, sizeof(slot));
	const uint8_t *ans = data + 1 + sizeof(slot);
	size_t nans = size - 1 - sizeof(slot);
	/* Bias toward requests that get far into the decoder. */
	if (data[0] & 1)
		slot.state = STATE_IOREQ_READY;
	if (data[0] & 2)
		slot.type = data[0] & 4 ? IOREQ_TYPE_COPY : IOREQ_TYPE_PIO;
	if (data[0] & 8)
		slot.size = 1u << ((data[0] >> 4) & 3);
	memset(a, 0x5a, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	memcpy(c_before, c, sizeof(c));
	uint8_t st = slot.state;

	xen_req_load(&slot, &r);
	if (r.state == STATE_IOREQ_READY)
		xen_req_take(&slot);
	int verdict = xen_req_decode(&r, &ram, &buf, &e, why, sizeof(why));
	if (st != STATE_IOREQ_READY) {
		CHECK(verdict == XEN_REQ_NONE && slot.state == st);
		return 0;
	}
	CHECK(verdict == XEN_REQ_EXIT || verdict == XEN_REQ_ANSWER);
	if (verdict == XEN_REQ_EXIT) {
		struct hvabs_exit_access *x = e.kind == HVABS_EXIT_IO ? &e.u.io : &e.u.mmio;
		CHECK(e.kind == (r.type == IOREQ_TYPE_PIO ? HVABS_EXIT_IO : HVABS_EXIT_MMIO));
		CHECK(x->size == 1 || x->size == 2 || x->size == 4 ||
		      (x->size == 8 && e.kind == HVABS_EXIT_MMIO));
		CHECK(x->count >= 1 && x->count <= XEN_MAX_REPS);
		CHECK((uint64_t)x->size * x->count <= buf.cap);
		CHECK(e.kind != HVABS_EXIT_IO || x->addr + x->size <= 0x10000);
		for (size_t i = 0; i < (size_t)x->size * x->count; i++)
			x->data[i] = nans ? ans[i % nans] : (uint8_t)i;
		CHECK(xen_req_answer(&slot, &r, buf.p, 1, &ram, why, sizeof(why)) == 0);
	} else {
		CHECK(xen_req_answer(&slot, &r, NULL, 0, &ram, why, sizeof(why)) == 0);
		if (r.dir == IOREQ_READ && !r.data_is_ptr && r.type != IOREQ_TYPE_INVALIDATE)
			CHECK(slot.data == ~0ull);
		CHECK(!memcmp(c_before, c, sizeof(c))); /* a refused request writes no RAM */
	}
	CHECK(slot.state == STATE_IORESP_READY);
	return 0;
}
