/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk engines compared: 4 KiB random reads and writes (IOPS) on an
 * image in tmpfs (/dev/shm), through the whole device on the mock backend:
 * the driver side (this thread) keeps QD requests in flight on each queue,
 * notifying through the bus; the event loop runs on its own thread; the
 * disk I/O runs on the sync engine's workers or on io_uring. Rows: engine x
 * queues (1, 4) x queue depth (1, 32). tmpfs takes the storage out of the
 * picture, so this measures each engine's own overhead per request.
 *
 *   bench_blk [REQUESTS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hvabs/devices/virtio_blk.h>
#include <hvabs/hvabs.h>
#include <hvabs/testing/virtq_builder.h>

#define RAM_SIZE   (64ull << 20)
#define IMG_SIZE   (64ull << 20)
#define QSIZE	   128u
#define MAX_Q	   4u
#define MAX_QD	   32u
#define BASE	   HVABS_VIRTIO_MMIO_BASE
#define RING_AT(q) (0x100000ull + (q)*0x10000ull)
#define HEAP_AT(q) (0x1000000ull + (q)*0x400000ull)

struct qstate {
	struct vqb b;
	uint64_t hdr[MAX_QD], data[MAX_QD], st[MAX_QD];
	int16_t slot_of[QSIZE]; /* head -> slot */
};

struct bench {
	struct hvabs_vm *vm;
	struct hvabs_mem *mem;
	struct hvabs_event_loop *loop;
	struct qstate q[MAX_Q];
	uint64_t rng;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *loop_main(void *p)
{
	return (void *)(intptr_t)hvabs_event_loop_run(p);
}

static void wr(struct bench *k, uint32_t off, uint32_t val)
{
	(void)hvabs_bus_write(k->vm, HVABS_SPACE_MMIO, BASE + off, 4, val);
}

/* The driver's side of §3.1: features (VERSION_1, MQ, FLUSH) and nq queues. */
static int setup_driver(struct bench *k, uint32_t nq)
{
	uint64_t f = HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1) |
		     HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_FLUSH) |
		     (nq > 1 ? HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_MQ) : 0);
	uint64_t st = 0;

	wr(k, HVABS_VIRTIO_MMIO_STATUS, 0);
	wr(k, HVABS_VIRTIO_MMIO_STATUS, 3);
	wr(k, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(k, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(k, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(k, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(k, HVABS_VIRTIO_MMIO_STATUS, 11);
	for (uint32_t i = 0; i < nq; i++) {
		struct qstate *q = &k->q[i];
		if (vqb_init(&q->b, k->mem, QSIZE, RING_AT(i), HEAP_AT(i), 0x400000ull))
			return -1;
		for (uint32_t s = 0; s < MAX_QD; s++) {
			q->hdr[s] = vqb_alloc(&q->b, 16);
			q->data[s] = vqb_alloc(&q->b, 4096);
			q->st[s] = vqb_alloc(&q->b, 1);
		}
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_SEL, i);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->b.desc);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->b.avail);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->b.used);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(k, HVABS_VIRTIO_MMIO_STATUS, 15);
	(void)hvabs_bus_read(k->vm, HVABS_SPACE_MMIO, BASE + HVABS_VIRTIO_MMIO_STATUS, 4, &st);
	return st == 15 ? 0 : -1;
}

/* One request in slot @p s of queue @p i: 4 KiB at a random 4 KiB-aligned offset. */
static void put(struct bench *k, uint32_t i, uint32_t s, uint32_t type)
{
	struct qstate *q = &k->q[i];

	k->rng = k->rng * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t sector = (k->rng >> 33) % (IMG_SIZE / 4096) * 8;
	if (hvabs_mem_write_u32(k->mem, q->hdr[s], type) ||
	    hvabs_mem_write_u64(k->mem, q->hdr[s] + 8, sector))
		abort(); /* inside the RAM set up above: cannot fail */
	struct vqb_buf bufs[] = {{q->hdr[s], 16, false},
				 {q->data[s], 4096, type == HVABS_VIRTIO_BLK_T_IN},
				 {q->st[s], 1, true}};
	uint16_t head = vqb_chain(&q->b, bufs, 3);
	q->slot_of[head % QSIZE] = (int16_t)s;
	vqb_avail_put(&q->b, head);
}

/* @p total requests over @p nq queues at depth @p qd; returns IOPS, or -1. */
static double run(struct bench *k, uint32_t nq, uint32_t qd, uint32_t type, uint64_t total)
{
	uint64_t issued = 0, done = 0;
	uint32_t id, len;

	double t0 = now_s();
	for (uint32_t i = 0; i < nq; i++) {
		for (uint32_t s = 0; s < qd && issued < total; s++, issued++)
			put(k, i, s, type);
		vqb_publish(&k->q[i].b);
		wr(k, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, i);
	}
	while (done < total) {
		for (uint32_t i = 0; i < nq; i++) {
			int n = 0;
			while (vqb_get_used(&k->q[i].b, &id, &len)) {
				done++;
				if (len != (type == HVABS_VIRTIO_BLK_T_IN ? 4097u : 1u))
					return -1;
				if (issued < total) {
					put(k, i, (uint32_t)k->q[i].slot_of[id % QSIZE], type);
					issued++;
					n++;
				}
			}
			if (n) {
				vqb_publish(&k->q[i].b);
				wr(k, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, i);
			}
		}
		if (now_s() - t0 > 120)
			return -1; /* hang guard */
	}
	return (double)total / (now_s() - t0);
}

static int make_image(char *path, size_t n)
{
	snprintf(path, n, "/dev/shm/hvabs-bench-blk-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)IMG_SIZE)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Allocate every page, so reads do not just map holes. */
	static uint8_t buf[1 << 20];
	memset(buf, 0x5a, sizeof(buf));
	for (uint64_t off = 0; off < IMG_SIZE; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	close(fd);
	return 0;
}

static int one_row(struct bench *k, const char *img, uint32_t engine, uint32_t nq, uint32_t qd,
		   uint64_t total)
{
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = BASE, .gsi = 5, .loop = k->loop, .name = "bench"},
	    .path = img,
	    .queue_size = QSIZE,
	    .num_queues = nq,
	    .engine = engine};
	struct hvabs_virtio_blk *blk;
	pthread_t t;

	if (hvabs_virtio_blk_create(k->vm, &cfg, &blk))
		return engine == HVABS_VIRTIO_BLK_ENGINE_IO_URING ? 1 : -1;
	if (setup_driver(k, nq) || pthread_create(&t, NULL, loop_main, k->loop))
		return -1;
	double rd = run(k, nq, qd, HVABS_VIRTIO_BLK_T_IN, total);
	double wrt = run(k, nq, qd, HVABS_VIRTIO_BLK_T_OUT, total);
	hvabs_event_loop_stop(k->loop);
	pthread_join(t, NULL);
	hvabs_virtio_blk_destroy(blk);
	if (rd <= 0 || wrt <= 0)
		return -1;
	printf("%-9s %6u %6u %14.0f %14.0f\n",
	       engine == HVABS_VIRTIO_BLK_ENGINE_SYNC ? "sync" : "io_uring", nq, qd, rd, wrt);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 40000;
	struct hvabs_backend *be;
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = "norecord"};
	struct bench k = {.rng = 1};
	char img[64];

	if (!total || hvabs_backend_open("mock", NULL, &be) || hvabs_vm_create(be, &cfg, &k.vm) ||
	    hvabs_vm_add_ram(k.vm, 0, RAM_SIZE, 0, NULL) || hvabs_event_loop_create(&k.loop) ||
	    make_image(img, sizeof(img)))
		return 1;
	k.mem = hvabs_vm_mem(k.vm);
	printf("virtio-blk, 4 KiB random I/O on tmpfs, %llu requests per cell, mock backend\n",
	       (unsigned long long)total);
	printf("%-9s %6s %6s %14s %14s\n", "engine", "queues", "depth", "read IOPS", "write IOPS");
	int rc = 0;
	const uint32_t engines[] = {HVABS_VIRTIO_BLK_ENGINE_SYNC, HVABS_VIRTIO_BLK_ENGINE_IO_URING};
	const uint32_t nqs[] = {1, 4}, qds[] = {1, 32};
	for (int e = 0; e < 2 && rc >= 0; e++)
		for (int a = 0; a < 2 && rc >= 0; a++)
			for (int d = 0; d < 2 && rc >= 0; d++) {
				rc = one_row(&k, img, engines[e], nqs[a], qds[d], total);
				if (rc > 0)
					printf("io_uring: not available here\n");
				if (rc > 0)
					break;
			}
	unlink(img);
	hvabs_event_loop_destroy(k.loop);
	hvabs_vm_destroy(k.vm);
	hvabs_backend_close(be);
	if (rc < 0)
		fprintf(stderr, "bench_blk: a run failed\n");
	return rc < 0;
}
