/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the split virtqueue (devices/virtio/virtqueue.c): the
 * driver's descriptor table, available ring and buffers come from the input,
 * in guest memory made of two 4 KiB RAM regions with a hole between them
 * (gpa 0x0 and 0x2000), and a sequence of device operations (pop, read,
 * write, push one or many, hold, reset, notify) runs against them. Besides
 * the sanitizers' checks it traps on any broken promise of virtio_queue.h: a
 * popped segment outside guest RAM or empty, lengths that do not add up,
 * copies that go past a part, an iovec that differs from the segments, a
 * push after a reset that is not refused.
 *
 * Input: [features][size][desc][avail][used][nops][ops...][guest memory...]
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <hvabs/devices/virtio.h>
#include <hvabs/devices/virtio_queue.h>
#include <hvabs/log.h>
#include <hvabs/mem.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define REG	 0x1000u
#define REG_B	 0x2000u /* second region's gpa: [0x1000, 0x2000) is a hole */
#define MAX_Q	 64u
#define MAX_HELD 4

static uint8_t ram[2][REG];
static struct hvabs_mem *mem;
static uint8_t scratch[2 * REG];

static void quiet(void *o, enum hvabs_log_level l, const char *c, const char *m)
{
	(void)o, (void)l, (void)c, (void)m;
}

static const struct hvabs_logger logger = {.fn = quiet, .max_level = HVABS_LOG_DEBUG};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (hvabs_mem_create(&mem) || hvabs_mem_add_region(mem, 0, REG, ram[0], 0) ||
	    hvabs_mem_add_region(mem, REG_B, REG, ram[1], 0))
		abort();
	return 0;
}

/* A ring address from one input byte: 16-byte steps over both regions. */
static uint64_t ring_gpa(uint8_t v, uint8_t low)
{
	uint64_t off = (uint64_t)v * 16 + (low & 15);
	return off < REG ? off : REG_B + (off - REG);
}

/* The promises of a popped chain. */
static void check_chain(const struct hvabs_virtq_chain *c)
{
	uint64_t rd = 0, wr = 0;

	CHECK(c->nr_readable + c->nr_writable <= c->cap);
	CHECK(c->nr_desc >= c->nr_readable + c->nr_writable);
	for (uint32_t i = 0; i < c->nr_readable + c->nr_writable; i++) {
		const struct hvabs_virtq_seg *s = &c->seg[i];
		CHECK(s->len > 0);
		CHECK(hvabs_mem_ptr(mem, s->gpa, s->len) == s->hva);
		*(i < c->nr_readable ? &rd : &wr) += s->len;
	}
	CHECK(rd == c->readable_len && wr == c->writable_len);
	CHECK(hvabs_virtq_chain_read(c, 0, scratch, sizeof(scratch)) ==
	      (rd < sizeof(scratch) ? rd : sizeof(scratch)));
	CHECK(hvabs_virtq_chain_read(c, rd, scratch, 1) == 0);
	CHECK(hvabs_virtq_chain_write(c, wr, scratch, 1) == 0);

	struct iovec iov[MAX_Q];
	for (int part = 0; part < 2; part++) {
		uint64_t len = part ? wr : rd;
		int n = hvabs_virtq_chain_iov(c, part, 0, len, iov, MAX_Q);
		uint64_t sum = 0;
		CHECK(n >= 0);
		for (int i = 0; i < n; i++)
			sum += iov[i].iov_len;
		CHECK(sum == len);
		CHECK(hvabs_virtq_chain_iov(c, part, len, 1, iov, MAX_Q) == -ERANGE);
	}
}

struct held {
	struct hvabs_virtq_chain c;
	struct hvabs_virtq_seg seg[MAX_Q];
	uint32_t gen; /* resets since it was popped */
};

static struct held held[MAX_HELD];

static int pop(struct hvabs_virtq *q, struct held *h)
{
	hvabs_virtq_chain_init(&h->c, h->seg, MAX_Q);
	int rc = hvabs_virtq_pop(q, &h->c);
	CHECK(rc <= 0);
	if (!rc) {
		CHECK(h->c.head < hvabs_virtq_size(q));
		check_chain(&h->c);
	}
	return rc;
}

/* One device operation on the queue, chosen by @p op. */
static void step(struct hvabs_virtq *q, const struct hvabs_virtq_layout *l, uint8_t op, int *nheld,
		 int *resets)
{
	struct held *h;
	switch (op & 7) {
	case 0: /* pop, fill the writable part from the readable one, push */
	case 1:
		h = &held[MAX_HELD - 1];
		if (*nheld == MAX_HELD || pop(q, h))
			return;
		hvabs_virtq_chain_write(&h->c, op >> 3, scratch, h->c.readable_len);
		uint32_t w = h->c.writable_len ? (op >> 3) % (h->c.writable_len + 1) : 0;
		CHECK(hvabs_virtq_push(q, &h->c, w) == 0);
		CHECK(hvabs_virtq_push(q, &h->c, h->c.writable_len + 1) == -EINVAL ||
		      h->c.writable_len == UINT32_MAX);
		return;
	case 2: /* pop and hold */
		if (*nheld < MAX_HELD - 1 && !pop(q, &held[*nheld]))
			held[(*nheld)++].gen = 0;
		return;
	case 3: { /* push every held chain at once */
		const struct hvabs_virtq_chain *cs[MAX_HELD];
		uint32_t ws[MAX_HELD];
		int stale = 0;
		for (int i = 0; i < *nheld; i++) {
			cs[i] = &held[i].c;
			ws[i] = held[i].c.writable_len ? op % (held[i].c.writable_len + 1) : 0;
			stale |= held[i].gen != 0;
		}
		int prc = hvabs_virtq_push_many(q, cs, ws, (uint32_t)*nheld);
		CHECK(!stale || prc != 0);
		*nheld = 0;
		return;
	}
	case 4: /* push the oldest held chain */
		if (!*nheld)
			return;
		int rc = hvabs_virtq_push(q, &held[0].c, 0);
		CHECK(!held[0].gen || rc == -ESTALE || rc == -ENODEV);
		memmove(&held[0], &held[1], sizeof(held[0]) * (size_t)(*nheld - 1));
		for (int i = 0; i < *nheld - 1; i++)
			held[i].c.seg = held[i].seg;
		(*nheld)--;
		return;
	case 5: /* reset and enable again */
		hvabs_virtq_disable(q);
		for (int i = 0; i < *nheld; i++)
			held[i].gen++;
		(*resets)++;
		if (!(op & 8))
			(void)hvabs_virtq_enable(q, l);
		return;
	case 6:
		(void)hvabs_virtq_notify_needed(q);
		return;
	default: /* the driver moves on: bump the available index */
		if (q && hvabs_virtq_is_enabled(q) && l->avail + 4 <= REG_B + REG) {
			uint8_t *p = hvabs_mem_ptr(mem, l->avail + 2, 2);
			if (p)
				p[0] += (uint8_t)((op >> 3) + 1);
		}
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10)
		return 0;
	uint32_t qsize = 1u << (data[1] % 7); /* 1 .. 64 */
	struct hvabs_virtq_layout l = {
	    .size = qsize,
	    .desc = ring_gpa(data[2], data[3] & 1 ? data[3] : 0),
	    .avail = ring_gpa(data[4], data[3] & 2 ? data[3] >> 4 : 0),
	    .used = ring_gpa(data[5], data[3] & 4 ? data[3] >> 2 : 0),
	    .features = (data[0] & 1 ? HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) : 0) |
			(data[0] & 2 ? HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX) : 0),
	};
	size_t nops = data[6], pos = 7;
	if (nops > size - pos)
		nops = size - pos;
	const uint8_t *ops = data + pos;
	pos += nops;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + pos, size - pos < sizeof(ram) ? size - pos : sizeof(ram));

	struct hvabs_virtq *q;
	CHECK(hvabs_virtq_create(mem, &logger, "fuzz", MAX_Q, &q) == 0);
	if (hvabs_virtq_enable(q, &l) == 0) {
		int nheld = 0, resets = 0;
		if (!nops) /* no script: pop and push everything */
			for (unsigned i = 0; i < 2 * MAX_Q; i++)
				step(q, &l, 0, &nheld, &resets);
		for (size_t i = 0; i < nops; i++)
			step(q, &l, ops[i], &nheld, &resets);
	}
	hvabs_virtq_destroy(q);
	return 0;
}
