/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtqueue cost: nanoseconds per chain a device pops and pushes, against a
 * baseline in the same run that does the least any device must: read the
 * available index and entry, memcpy the chain's descriptors out of the table
 * without checking them, and write the used element and index. The chains
 * are what virtio-blk sees (16-byte header, 4 KiB of data, status byte),
 * written into a mock VM's RAM by the test chain builder before each timed
 * batch of 256. A last row takes the whole path through the virtio-mmio
 * transport: a QueueNotify on the bus, the event loop, queue_notify, and the
 * interrupt through the irqfd.
 *
 *   bench_virtq [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/hvabs.h>

#include "virtq_builder.h"

#define QSIZE	 256u
#define RAM_SIZE (64ull << 20)
#define RINGS	 0x100000ull
#define HEAP	 0x200000ull
#define FEATURES                                                                                   \
	(HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |                                          \
	 HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX))

struct ctx {
	struct hvabs_vm *vm;
	struct hvabs_mem *mem;
	struct vqb b;
	struct vqb_buf bufs[3];
	struct hvabs_virtq_seg segs[QSIZE];
	volatile uint64_t sink;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The driver side: empty rings. */
static void clear(struct ctx *c)
{
	vqb_reset(&c->b);
	c->b.heap_next = c->b.heap + 3 * 4096; /* keep the data buffers, reuse the tables */
}

/* QSIZE chains, published at once. Not timed. */
static void put_all(struct ctx *c, int indirect)
{
	for (uint32_t i = 0; i < QSIZE; i++)
		vqb_avail_put(&c->b, indirect ? vqb_chain_indirect(&c->b, c->bufs, 3)
					      : vqb_chain(&c->b, c->bufs, 3));
	vqb_publish(&c->b);
}

static void fill(struct ctx *c, int indirect)
{
	clear(c);
	put_all(c, indirect);
}

static int enable(struct ctx *c, struct hvabs_virtq *q)
{
	struct hvabs_virtq_layout l = {.size = QSIZE,
				       .desc = c->b.desc,
				       .avail = c->b.avail,
				       .used = c->b.used,
				       .features = FEATURES};
	hvabs_virtq_disable(q);
	return hvabs_virtq_enable(q, &l);
}

static double run_virtq(struct ctx *c, uint64_t rounds, int indirect)
{
	struct hvabs_virtq *q;
	struct hvabs_virtq_chain ch;
	double t = 0;

	if (hvabs_virtq_create(c->mem, NULL, "bench", QSIZE, &q))
		return -1;
	hvabs_virtq_chain_init(&ch, c->segs, QSIZE);
	for (uint64_t r = 0; r < rounds; r++) {
		fill(c, indirect);
		if (enable(c, q))
			return -1;
		double t0 = now_ns();
		while (hvabs_virtq_pop(q, &ch) == 0) {
			c->sink += ch.seg[0].len;
			if (hvabs_virtq_push(q, &ch, ch.writable_len))
				return -1;
		}
		c->sink += hvabs_virtq_notify_needed(q);
		t += now_ns() - t0;
	}
	hvabs_virtq_destroy(q);
	return t / (double)(rounds * QSIZE);
}

/* What is left with no checks: copy the descriptors out, write the used ring. */
static double run_baseline(struct ctx *c, uint64_t rounds)
{
	uint8_t *desc = hvabs_mem_ptr(c->mem, c->b.desc, 16 * QSIZE);
	uint8_t *avail = hvabs_mem_ptr(c->mem, c->b.avail, 6 + 2 * QSIZE);
	uint8_t *used = hvabs_mem_ptr(c->mem, c->b.used, 6 + 8 * QSIZE);
	uint8_t local[3][16];
	double t = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		fill(c, 0);
		double t0 = now_ns();
		uint16_t last = 0, idx = *(volatile uint16_t *)(avail + 2);
		while (last != idx) {
			uint16_t head = *(volatile uint16_t *)(avail + 4 + 2 * (last % QSIZE));
			uint16_t i = head;
			for (int k = 0; k < 3; k++) {
				memcpy(local[k], desc + 16 * (size_t)i, 16);
				memcpy(&i, local[k] + 14, 2);
			}
			uint32_t len = 4097;
			memcpy(used + 4 + 8 * (last % QSIZE), &(uint32_t){head}, 4);
			memcpy(used + 8 + 8 * (last % QSIZE), &len, 4);
			last++;
			*(volatile uint16_t *)(used + 2) = last;
			c->sink += local[0][8];
		}
		t += now_ns() - t0;
	}
	return t / (double)(rounds * QSIZE);
}

/* Echo-free device: takes every chain and returns it, as rng or blk's fast path would. */
static struct hvabs_virtq_seg dev_segs[QSIZE];

static int nop_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtq_chain ch;

	(void)opaque;
	(void)index;
	hvabs_virtq_chain_init(&ch, dev_segs, QSIZE);
	while (hvabs_virtq_pop(q, &ch) == 0)
		if (hvabs_virtq_push(q, &ch, ch.writable_len))
			return 0;
	return 0;
}

static double run_transport(struct ctx *c, struct hvabs_event_loop *loop, uint64_t rounds)
{
	struct hvabs_virtio_device_ops ops = {.device_id = 99,
					      .num_queues = 1,
					      .queue_size_max = QSIZE,
					      .features = FEATURES,
					      .queue_notify = nop_notify};
	struct hvabs_virtio_mmio_params p = {
	    .base = HVABS_VIRTIO_MMIO_BASE, .gsi = 5, .loop = loop};
	struct hvabs_virtio_mmio *t;
	uint64_t base = p.base;
	double total = 0;

	if (hvabs_virtio_mmio_create(c->vm, &p, &ops, NULL, &t))
		return -1;
	for (uint64_t r = 0; r < rounds; r++) {
		clear(c);
		const uint32_t setup[][2] = {
		    {HVABS_VIRTIO_MMIO_STATUS, 0},
		    {HVABS_VIRTIO_MMIO_STATUS, 3},
		    {HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0},
		    {HVABS_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FEATURES},
		    {HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1},
		    {HVABS_VIRTIO_MMIO_DRIVER_FEATURES, 1},
		    {HVABS_VIRTIO_MMIO_STATUS, 11},
		    {HVABS_VIRTIO_MMIO_QUEUE_NUM, QSIZE},
		    {HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)c->b.desc},
		    {HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)c->b.avail},
		    {HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)c->b.used},
		    {HVABS_VIRTIO_MMIO_QUEUE_READY, 1},
		    {HVABS_VIRTIO_MMIO_STATUS, 15},
		};
		for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
			(void)hvabs_bus_write(c->vm, HVABS_SPACE_MMIO, base + setup[i][0], 4,
					      setup[i][1]);
		while (hvabs_event_loop_run_once(loop, 0) > 0) /* the DRIVER_OK kick */
			;
		put_all(c, 0);
		double t0 = now_ns();
		(void)hvabs_bus_write(c->vm, HVABS_SPACE_MMIO,
				      base + HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
		while (hvabs_event_loop_run_once(loop, 0) > 0)
			;
		total += now_ns() - t0;
		if (vqb_used_idx(&c->b) != QSIZE)
			return -1;
	}
	hvabs_virtio_mmio_destroy(t);
	return total / (double)(rounds * QSIZE);
}

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000;
	struct hvabs_backend *be;
	struct hvabs_event_loop *loop;
	struct ctx c = {0};
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = "norecord"};

	if (!rounds || hvabs_backend_open("mock", NULL, &be) || hvabs_vm_create(be, &cfg, &c.vm) ||
	    hvabs_vm_add_ram(c.vm, 0, RAM_SIZE, 0, NULL) || hvabs_event_loop_create(&loop))
		return 1;
	c.mem = hvabs_vm_mem(c.vm);
	if (vqb_init(&c.b, c.mem, QSIZE, RINGS, HEAP, RAM_SIZE - HEAP))
		return 1;
	c.bufs[0] = (struct vqb_buf){vqb_alloc(&c.b, 4096), 16, false};
	c.bufs[1] = (struct vqb_buf){vqb_alloc(&c.b, 4096), 4096, true};
	c.bufs[2] = (struct vqb_buf){vqb_alloc(&c.b, 4096), 1, true};

	/* A warm-up pass of each, then the measured ones. */
	run_baseline(&c, rounds / 10 + 1);
	run_virtq(&c, rounds / 10 + 1, 0);
	double base = run_baseline(&c, rounds);
	double direct = run_virtq(&c, rounds, 0);
	double indirect = run_virtq(&c, rounds, 1);
	double whole = run_transport(&c, loop, rounds / 4 + 1);
	if (base <= 0 || direct <= 0 || indirect <= 0 || whole <= 0) {
		fprintf(stderr, "bench_virtq: a run failed\n");
		return 1;
	}
	printf("virtqueue, %llu rounds of %u chains (16 B header + 4 KiB data + status)\n",
	       (unsigned long long)rounds, QSIZE);
	printf("%-52s %10s %8s\n", "path", "ns/chain", "ratio");
	printf("%-52s %10.1f %8.2f\n", "baseline: memcpy descriptors, write used ring", base, 1.0);
	printf("%-52s %10.1f %8.2f\n", "hvabs_virtq pop+push, 3 direct descriptors", direct,
	       direct / base);
	printf("%-52s %10.1f %8.2f\n", "hvabs_virtq pop+push, indirect table of 3", indirect,
	       indirect / base);
	printf("%-52s %10.1f %8.2f\n", "virtio-mmio: bus notify, loop, device, irqfd", whole,
	       whole / base);
	hvabs_event_loop_destroy(loop);
	hvabs_vm_destroy(c.vm);
	hvabs_backend_close(be);
	return 0;
}
