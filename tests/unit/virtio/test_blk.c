/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk against a temporary image file: configuration space, read,
 * write, flush, get-ID, discard, write-zeroes, a read-only disk, O_DIRECT
 * with unaligned guest buffers, and requests that fail alone (beyond the
 * disk, bad header or status layout, unknown type) while the device keeps
 * working and guest memory outside the request stays untouched.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_blk.h>

#include "vt_harness.h"

#define IMG_SECTORS 2048u
#define IMG_SIZE    (IMG_SECTORS * 512u + 100u) /* the tail is not a whole sector */
#define SERIAL	    "hvabs-disk-0001"
#define BIT(n)	    HVABS_VIRTIO_BIT(n)
#define S_OK	    HVABS_VIRTIO_BLK_S_OK
#define S_IOERR	    HVABS_VIRTIO_BLK_S_IOERR
#define S_UNSUPP    HVABS_VIRTIO_BLK_S_UNSUPP

struct rig {
	char path[64];
	struct hvabs_virtio_blk *blk;
	struct vqb b;
	uint64_t features;
};

/*
 * A counting seam around fdatasync(2), from outside the device (the library
 * is shared, so this definition interposes on its calls): syncs of the
 * watched image are counted, and each notes how many requests the guest had
 * seen completed at that moment, so a test can tell whether the data was
 * stable before the used ring said the write was done.
 */
static struct {
	dev_t dev;
	ino_t ino;
	struct vqb *ring; /* NULL: not watching */
	int calls;
	uint16_t used_at_last; /* the ring's used index at the last sync */
} seam;

/* Default visibility (the build hides symbols by default): libhvabs must bind to it. */
__attribute__((visibility("default"))) int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	struct stat st;

	if (seam.ring && !fstat(fd, &st) && st.st_dev == seam.dev && st.st_ino == seam.ino) {
		seam.calls++;
		seam.used_at_last = vqb_used_idx(seam.ring);
	}
	return real(fd);
}

static void seam_watch(const char *path, struct vqb *ring)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	seam.dev = st.st_dev;
	seam.ino = st.st_ino;
	seam.ring = ring;
	seam.calls = 0;
}

/* What every byte of the image starts as: its sector number and offset mixed. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off / 512) * 31 + off % 512);
}

static void make_image(struct rig *g, uint64_t size)
{
	snprintf(g->path, sizeof(g->path), "/tmp/hvabs-blk-XXXXXX");
	int fd = mkstemp(g->path);
	assert_true(fd >= 0);
	uint8_t *p = malloc(size ? size : 1);
	assert_non_null(p);
	for (uint64_t i = 0; i < size; i++)
		p[i] = pattern(i);
	assert_int_equal(write(fd, p, size), (ssize_t)size);
	free(p);
	close(fd);
}

/* HVABS_TEST_BLK_ENGINE=io_uring runs every test on the io_uring engine. */
static uint32_t engine(void)
{
	const char *e = getenv("HVABS_TEST_BLK_ENGINE");

	return e && !strcmp(e, "io_uring") ? HVABS_VIRTIO_BLK_ENGINE_IO_URING
					   : HVABS_VIRTIO_BLK_ENGINE_SYNC;
}

static int open_blk(struct vt_env *env, struct rig *g, uint32_t flags, const char *serial)
{
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "vda"},
	    .path = g->path,
	    .serial = serial,
	    .flags = flags,
	    .queue_size = 64,
	    .engine = engine()};
	return hvabs_virtio_blk_create(env->vm, &cfg, &g->blk);
}

static void rig_up_flags(struct vt_env *env, struct rig *g, uint32_t flags, uint64_t accept)
{
	make_image(g, IMG_SIZE);
	int rc = open_blk(env, g, flags, SERIAL);
	if (rc && engine() == HVABS_VIRTIO_BLK_ENGINE_IO_URING && rc != -EINVAL) {
		print_message("io_uring refused here (%s): skipped\n", strerror(-rc));
		unlink(g->path);
		skip();
	}
	assert_int_equal(rc, 0);
	vt_vqb(env, &g->b, 0, 64);
	assert_true(vt_negotiate(env, VT_BASE, accept, &g->features) &
		    HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g->b);
	vt_driver_ok(env, VT_BASE);
}

static void rig_up(struct vt_env *env, struct rig *g)
{
	rig_up_flags(env, g, 0, ~0ull);
}

static void rig_down(struct rig *g)
{
	hvabs_virtio_blk_destroy(g->blk);
	unlink(g->path);
}

static void file_read(struct rig *g, uint64_t off, void *buf, size_t len)
{
	int fd = open(g->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool file_is_pattern(struct rig *g, uint64_t off, size_t len)
{
	uint8_t *p = malloc(len);
	bool same = true;

	assert_non_null(p);
	file_read(g, off, p, len);
	for (size_t i = 0; i < len && same; i++)
		same = p[i] == pattern(off + i);
	free(p);
	return same;
}

/* A request: header, data buffers, status byte. Returns the status; *used the used length. */
struct req {
	uint32_t type;
	uint64_t sector;
	const struct vqb_buf *data;
	int ndata;
	bool indirect;
	bool no_status;
	uint32_t hdr_len; /* 0 = 16 */
};

/*
 * The disk I/O runs on the device's engine, off the event loop: pump the
 * loop until the request is on the used ring. The bound is a hang guard.
 */
static bool wait_used(struct vt_env *env, struct vqb *b, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < 20000; i++) {
		vt_pump(env);
		if (vqb_get_used(b, id, len))
			return true;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static uint8_t submit_snap(struct vt_env *env, struct rig *g, const struct req *r, uint32_t *used,
			   uint64_t *status_gpa, uint8_t **snap)
{
	struct vqb_buf bufs[72];
	int n = 0;
	uint64_t hdr = vqb_alloc(&g->b, 16), st = vqb_alloc(&g->b, 1);
	uint32_t id, len;

	assert_int_equal(hvabs_mem_write_u32(env->mem, hdr, r->type), 0);
	assert_int_equal(hvabs_mem_write_u64(env->mem, hdr + 8, r->sector), 0);
	assert_int_equal(hvabs_mem_fill(env->mem, st, 0xff, 1), 0); /* not a status */
	bufs[n++] = (struct vqb_buf){hdr, r->hdr_len ? r->hdr_len : 16, false};
	for (int i = 0; i < r->ndata; i++)
		bufs[n++] = r->data[i];
	if (!r->no_status)
		bufs[n++] = (struct vqb_buf){st, 1, true};
	uint16_t head = r->indirect ? vqb_add_indirect(&g->b, bufs, n) : vqb_add(&g->b, bufs, n);
	/* Guest memory as the driver left it, before the device acts. */
	if (snap)
		*snap = vt_ram_copy(env);
	vt_notify(env, VT_BASE, 0);
	assert_true(wait_used(env, &g->b, &id, &len));
	assert_int_equal(id, head);
	if (used)
		*used = len;
	if (status_gpa)
		*status_gpa = st;
	return env->ram[st];
}

static uint8_t submit(struct vt_env *env, struct rig *g, const struct req *r, uint32_t *used,
		      uint64_t *status_gpa)
{
	return submit_snap(env, g, r, used, status_gpa, NULL);
}

static uint8_t simple(struct vt_env *env, struct rig *g, uint32_t type, uint64_t sector,
		      uint64_t data, uint32_t len, bool write)
{
	struct vqb_buf d = {data, len, write};
	struct req r = {.type = type, .sector = sector, .data = &d, .ndata = len ? 1 : 0};

	return submit(env, g, &r, NULL, NULL);
}

static void status_ok(struct vt_env *env)
{
	assert_false(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) &
		     HVABS_VIRTIO_STATUS_NEEDS_RESET);
}

static void config_space(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t v;

	rig_up(env, &g);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), HVABS_VIRTIO_ID_BLOCK);
	assert_int_equal(hvabs_virtio_blk_capacity(g.blk), IMG_SECTORS);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 8, &v), 0);
	assert_int_equal(v, IMG_SECTORS);			/* capacity */
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 12), 62);	/* seg_max */
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 20), 512); /* blk_size */
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 36), HVABS_VIRTIO_BLK_MAX_SECTORS);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 40), HVABS_VIRTIO_BLK_MAX_SEG);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 44), 1);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 48), HVABS_VIRTIO_BLK_MAX_SECTORS);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100 + 52), HVABS_VIRTIO_BLK_MAX_SEG);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100 + 56, 1, &v), 0);
	assert_int_equal(v, 1); /* write_zeroes_may_unmap */
	uint64_t want = BIT(HVABS_VIRTIO_BLK_F_SEG_MAX) | BIT(HVABS_VIRTIO_BLK_F_BLK_SIZE) |
			BIT(HVABS_VIRTIO_BLK_F_FLUSH) | BIT(HVABS_VIRTIO_BLK_F_DISCARD) |
			BIT(HVABS_VIRTIO_BLK_F_WRITE_ZEROES) | BIT(HVABS_VIRTIO_F_VERSION_1);
	assert_int_equal(g.features & want, want);
	assert_false(g.features & BIT(HVABS_VIRTIO_BLK_F_RO));
	/* The configuration space is read-only. */
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 4, 0), 0);
	assert_int_equal(hvabs_virtio_blk_capacity(g.blk), IMG_SECTORS);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100), IMG_SECTORS);
	rig_down(&g);
}

static void read_write_flush(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t used;
	uint8_t buf[1024];
	struct hvabs_virtio_blk_stats st;

	rig_up(env, &g);
	/* A read into three buffers whose sizes are not whole sectors. */
	uint64_t a = vqb_alloc(&g.b, 100), b = vqb_alloc(&g.b, 700), c = vqb_alloc(&g.b, 224);
	struct vqb_buf d[] = {{a, 100, true}, {b, 700, true}, {c, 224, true}};
	struct req r = {.type = HVABS_VIRTIO_BLK_T_IN, .sector = 3, .data = d, .ndata = 3};
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_int_equal(used, 1025);
	for (int i = 0; i < 1024; i++) {
		uint64_t gpa = i < 100 ? a + i : i < 800 ? b + i - 100 : c + i - 800;
		assert_int_equal(env->ram[gpa], pattern(3 * 512 + i));
	}
	/* The same through an indirect table. */
	r.indirect = true;
	r.sector = IMG_SECTORS - 2;
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_int_equal(env->ram[c + 223], pattern(IMG_SECTORS * 512 - 1));

	/* A write of two sectors, then a flush; the file has it. */
	uint64_t w = vqb_alloc(&g.b, 1024);
	for (int i = 0; i < 1024; i++)
		buf[i] = (uint8_t)(0x5a ^ i);
	assert_int_equal(hvabs_mem_write(env->mem, w, buf, 1024), 0);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_OUT, 9, w, 1024, false), S_OK);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), S_OK);
	uint8_t back[1024];
	file_read(&g, 9 * 512, back, 1024);
	assert_memory_equal(back, buf, 1024);
	assert_true(file_is_pattern(&g, 8 * 512, 512));
	assert_true(file_is_pattern(&g, 11 * 512, 512));
	assert_int_equal(hvabs_virtio_blk_flush(g.blk), 0);
	hvabs_virtio_blk_get_stats(g.blk, &st);
	assert_int_equal(st.reads, 2);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.bytes_read, 2048);
	assert_int_equal(st.bytes_written, 1024);
	status_ok(env);
	rig_down(&g);
}

static void big_read(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct vqb_buf d[60];
	uint32_t used;

	/* 60 page-sized segments (queue 64: seg_max 62), through an indirect table. */
	rig_up(env, &g);
	for (int i = 0; i < 60; i++)
		d[i] = (struct vqb_buf){vqb_alloc(&g.b, 4096), 4096, true};
	struct req r = {
	    .type = HVABS_VIRTIO_BLK_T_IN, .sector = 100, .data = d, .ndata = 60, .indirect = true};
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_int_equal(used, 60 * 4096 + 1);
	for (int i = 0; i < 60; i++)
		assert_int_equal(env->ram[d[i].gpa + 4095], pattern(100 * 512 + i * 4096 + 4095));
	rig_down(&g);
}

static void get_id(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t used;

	rig_up(env, &g);
	uint64_t id = vqb_alloc(&g.b, 20);
	assert_int_equal(hvabs_mem_fill(env->mem, id, 0xee, 20), 0);
	struct vqb_buf d = {id, 20, true};
	struct req r = {.type = HVABS_VIRTIO_BLK_T_GET_ID, .data = &d, .ndata = 1};
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_int_equal(used, 21);
	/* §5.2.6: NUL-padded to 20 bytes. */
	assert_memory_equal(env->ram + id, SERIAL "\0\0\0\0\0", 20);
	rig_down(&g);

	/* A serial of exactly 20 bytes has no terminator; 21 is refused. */
	make_image(&g, 4096);
	assert_int_equal(open_blk(env, &g, 0, "0123456789abcdefghijk"), -EINVAL);
	assert_int_equal(open_blk(env, &g, 0, "0123456789abcdefghij"), 0);
	vt_vqb(env, &g.b, 0, 64);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g.b);
	vt_driver_ok(env, VT_BASE);
	id = vqb_alloc(&g.b, 20);
	d.gpa = id;
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_memory_equal(env->ram + id, "0123456789abcdefghij", 20);
	rig_down(&g);
}

/* RAM may change only in the status byte and the used ring (and avail_event). */
static void only_status_changed(struct vt_env *env, struct rig *g, const uint8_t *before,
				uint64_t status)
{
	struct vt_range ok[] = {{status, 1}, {g->b.used, 6 + 8ull * g->b.size + 2}};

	vt_ram_same(env, before, ok, 2);
}

static void failing_requests(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t used;
	uint64_t st;

	rig_up(env, &g);
	uint64_t d1 = vqb_alloc(&g.b, 1024);
	assert_int_equal(hvabs_mem_fill(env->mem, d1, 0x77, 1024), 0);
	struct vqb_buf rd = {d1, 1024, true}, wr = {d1, 1024, false}, odd = {d1, 100, true};
	struct {
		const char *what;
		struct req r;
		uint8_t status;
	} cases[] = {
	    {"read past the end",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = IMG_SECTORS - 1, .data = &rd, .ndata = 1},
	     S_IOERR},
	    {"read at the end",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = IMG_SECTORS, .data = &odd, .ndata = 0},
	     S_OK},
	    {"read one past the end",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = IMG_SECTORS + 1, .data = &odd, .ndata = 0},
	     S_IOERR},
	    {"read at sector 2^63",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = 1ull << 63, .data = &rd, .ndata = 1},
	     S_IOERR},
	    {"read at sector 2^64-1",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = ~0ull, .data = &rd, .ndata = 1},
	     S_IOERR},
	    {"read of 100 bytes",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = 0, .data = &odd, .ndata = 1},
	     S_IOERR},
	    {"write past the end",
	     {.type = HVABS_VIRTIO_BLK_T_OUT, .sector = IMG_SECTORS - 1, .data = &wr, .ndata = 1},
	     S_IOERR},
	    {"header of 8 bytes",
	     {.type = HVABS_VIRTIO_BLK_T_IN, .sector = 0, .data = &rd, .ndata = 1, .hdr_len = 8},
	     S_IOERR},
	    {"unknown type", {.type = 99, .sector = 0, .data = NULL, .ndata = 0}, S_UNSUPP},
	    {"get-lifetime", {.type = 10, .sector = 0, .data = &rd, .ndata = 1}, S_UNSUPP},
	    {"secure erase", {.type = 14, .sector = 0, .data = &wr, .ndata = 1}, S_UNSUPP},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s\n", cases[i].what);
		uint8_t *before;
		uint8_t s = submit_snap(env, &g, &cases[i].r, &used, &st, &before);
		assert_int_equal(s, cases[i].status);
		if (s != S_OK) {
			/* No data was placed, and the used length does not claim any. */
			assert_int_equal(used, cases[i].r.ndata && cases[i].r.data->write ? 0 : 1);
			only_status_changed(env, &g, before, st);
		}
		free(before);
		status_ok(env);
	}
	assert_true(file_is_pattern(&g, 0, IMG_SECTORS * 512));

	/* No writable byte at all: the chain comes back unanswered, nothing is written. */
	uint8_t *before;
	struct req r = {.type = HVABS_VIRTIO_BLK_T_IN, .data = &wr, .ndata = 1, .no_status = true};
	submit_snap(env, &g, &r, &used, &st, &before);
	assert_int_equal(used, 0);
	struct vt_range ok[] = {{g.b.used, 6 + 8ull * g.b.size + 2}};
	vt_ram_same(env, before, ok, 1);
	free(before);
	struct hvabs_virtio_blk_stats bs;
	hvabs_virtio_blk_get_stats(g.blk, &bs);
	assert_int_equal(bs.unanswerable, 1);
	assert_int_equal(bs.unsupp, 3);
	/* The device still serves good requests. */
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_IN, 1, d1, 512, true), S_OK);
	assert_int_equal(env->ram[d1 + 511], pattern(1023));
	status_ok(env);
	rig_down(&g);
}

static void readonly_disk(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t seg;

	rig_up_flags(env, &g, HVABS_VIRTIO_BLK_READONLY, ~0ull);
	assert_true(g.features & BIT(HVABS_VIRTIO_BLK_F_RO));
	uint64_t d = vqb_alloc(&g.b, 512);
	assert_int_equal(hvabs_mem_fill(env->mem, d, 0x42, 512), 0);
	/* §5.2.6.2: writes fail with IOERR and write nothing. */
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_OUT, 0, d, 512, false), S_IOERR);
	seg = vqb_alloc(&g.b, 16);
	assert_int_equal(hvabs_mem_write_u64(env->mem, seg, 0), 0);
	assert_int_equal(hvabs_mem_write_u32(env->mem, seg + 8, 8), 0);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_DISCARD, 0, seg, 16, false), S_IOERR);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false),
			 S_IOERR);
	assert_true(file_is_pattern(&g, 0, IMG_SECTORS * 512));
	/* Reads and flushes work. */
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_IN, 0, d, 512, true), S_OK);
	assert_int_equal(env->ram[d + 7], pattern(7));
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), S_OK);
	rig_down(&g);
}

/* Writes @p n discard / write-zeroes ranges; returns their address. */
static uint64_t ranges(struct vt_env *env, struct rig *g, const uint64_t (*r)[3], int n)
{
	uint64_t p = vqb_alloc(&g->b, 16u * (uint32_t)n);

	for (int i = 0; i < n; i++) {
		assert_int_equal(hvabs_mem_write_u64(env->mem, p + 16 * i, r[i][0]), 0);
		assert_int_equal(hvabs_mem_write_u32(env->mem, p + 16 * i + 8, (uint32_t)r[i][1]),
				 0);
		assert_int_equal(hvabs_mem_write_u32(env->mem, p + 16 * i + 12, (uint32_t)r[i][2]),
				 0);
	}
	return p;
}

static uint8_t dwz(struct vt_env *env, struct rig *g, uint32_t type, const uint64_t (*r)[3], int n)
{
	return simple(env, g, type, 0, ranges(env, g, r, n), 16u * (uint32_t)n, false);
}

static bool file_zero(struct rig *g, uint64_t off, size_t len)
{
	uint8_t *p = calloc(1, len), *z = calloc(1, len);
	file_read(g, off, p, len);
	bool same = !memcmp(p, z, len);
	free(p);
	free(z);
	return same;
}

static void discard_and_write_zeroes(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct stat sb;

	rig_up(env, &g);
	const uint64_t wz[][3] = {{16, 8, 0}, {40, 16, 1}};
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, wz, 2), S_OK);
	/* §5.2.6.2: with or without unmap, the ranges read back as zeroes. */
	assert_true(file_zero(&g, 16 * 512, 8 * 512));
	assert_true(file_zero(&g, 40 * 512, 16 * 512));
	assert_true(file_is_pattern(&g, 24 * 512, 16 * 512));
	assert_true(file_is_pattern(&g, 56 * 512, 512));
	const uint64_t dc[][3] = {{64, 64, 0}};
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_DISCARD, dc, 1), S_OK);
	assert_true(file_is_pattern(&g, 128 * 512, 512));
	assert_int_equal(stat(g.path, &sb), 0);
	assert_int_equal(sb.st_size, IMG_SIZE);

	struct {
		const char *what;
		uint32_t type;
		uint64_t r[3];
		int n;
		uint8_t status;
	} bad[] = {
	    {"discard with unmap", HVABS_VIRTIO_BLK_T_DISCARD, {0, 8, 1}, 1, S_UNSUPP},
	    {"unknown flag", HVABS_VIRTIO_BLK_T_WRITE_ZEROES, {0, 8, 2}, 1, S_UNSUPP},
	    {"range past the end", HVABS_VIRTIO_BLK_T_DISCARD, {IMG_SECTORS - 4, 8, 0}, 1, S_IOERR},
	    {"range too long",
	     HVABS_VIRTIO_BLK_T_WRITE_ZEROES,
	     {0, HVABS_VIRTIO_BLK_MAX_SECTORS + 1, 0},
	     1,
	     S_IOERR},
	    {"no range", HVABS_VIRTIO_BLK_T_DISCARD, {0, 0, 0}, 0, S_IOERR},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("  %s\n", bad[i].what);
		const uint64_t(*r)[3] = &bad[i].r;
		assert_int_equal(dwz(env, &g, bad[i].type, r, bad[i].n), bad[i].status);
	}
	/* More ranges than max_discard_seg. */
	uint64_t many[HVABS_VIRTIO_BLK_MAX_SEG + 1][3];
	for (uint32_t i = 0; i <= HVABS_VIRTIO_BLK_MAX_SEG; i++) {
		many[i][0] = i;
		many[i][1] = 1;
		many[i][2] = 0;
	}
	assert_int_equal(
	    dwz(env, &g, HVABS_VIRTIO_BLK_T_DISCARD, many, (int)HVABS_VIRTIO_BLK_MAX_SEG + 1),
	    S_IOERR);
	/* A bad range fails the request before any range is acted on. */
	const uint64_t mixed[][3] = {{200, 8, 0}, {IMG_SECTORS, 8, 0}};
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, mixed, 2), S_IOERR);
	assert_true(file_is_pattern(&g, 200 * 512, 8 * 512));
	status_ok(env);
	rig_down(&g);
}

static void not_negotiated(void **state)
{
	struct vt_env *env = *state;
	struct rig g;

	/* A driver that did not take DISCARD / WRITE_ZEROES gets UNSUPP for them. */
	rig_up_flags(env, &g, 0, BIT(HVABS_VIRTIO_F_VERSION_1));
	const uint64_t r[][3] = {{0, 8, 0}};
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_DISCARD, r, 1), S_UNSUPP);
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, r, 1), S_UNSUPP);
	assert_true(file_is_pattern(&g, 0, 4096));
	rig_down(&g);
}

/*
 * §5.2.6.2 (virtio 1.2): a write completed while VIRTIO_BLK_F_FLUSH was
 * offered but not negotiated is stable (the driver has no way to ask for a
 * flush). The device must sync the image before it puts the request on the
 * used ring: write, write-zeroes and discard alike.
 */
static void write_through_without_flush(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t buf[512];

	rig_up_flags(env, &g, 0, ~BIT(HVABS_VIRTIO_BLK_F_FLUSH));
	assert_false(g.features & BIT(HVABS_VIRTIO_BLK_F_FLUSH));
	seam_watch(g.path, &g.b);
	uint64_t w = vqb_alloc(&g.b, 512);
	memset(buf, 0x3c, sizeof(buf));
	assert_int_equal(hvabs_mem_write(env->mem, w, buf, 512), 0);
	/* io_uring's write and its linked fsync are no libc calls: the seam sees
	 * only the sync engine's; the device's count covers both. */
	int w1 = engine() == HVABS_VIRTIO_BLK_ENGINE_SYNC;
	struct hvabs_virtio_blk_stats st;
	uint16_t before = vqb_used_idx(&g.b);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_OUT, 5, w, 512, false), S_OK);
	assert_int_equal(seam.calls, w1);
	if (w1)
		assert_int_equal(seam.used_at_last, before); /* synced before it was completed */
	hvabs_virtio_blk_get_stats(g.blk, &st);
	assert_int_equal(st.write_through_syncs, 1);
	const uint64_t r[][3] = {{16, 8, 0}};
	before = vqb_used_idx(&g.b);
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, r, 1), S_OK);
	assert_int_equal(seam.calls, w1 + 1);
	assert_int_equal(seam.used_at_last, before);
	before = vqb_used_idx(&g.b);
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_DISCARD, r, 1), S_OK);
	assert_int_equal(seam.calls, w1 + 2);
	assert_int_equal(seam.used_at_last, before);
	/* Reads change nothing: no sync. */
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_IN, 5, w, 512, true), S_OK);
	assert_int_equal(seam.calls, w1 + 2);
	hvabs_virtio_blk_get_stats(g.blk, &st);
	assert_int_equal(st.write_through_syncs, 3);
	seam.ring = NULL;
	status_ok(env);
	rig_down(&g);

	/* With FLUSH negotiated the cache is write-back: the driver's FLUSH syncs. */
	rig_up(env, &g);
	assert_true(g.features & BIT(HVABS_VIRTIO_BLK_F_FLUSH));
	seam_watch(g.path, &g.b);
	w = vqb_alloc(&g.b, 512);
	assert_int_equal(hvabs_mem_write(env->mem, w, buf, 512), 0);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_OUT, 5, w, 512, false), S_OK);
	assert_int_equal(seam.calls, 0);
	before = vqb_used_idx(&g.b);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), S_OK);
	assert_int_equal(seam.calls, w1);
	if (w1)
		assert_int_equal(seam.used_at_last, before);
	hvabs_virtio_blk_get_stats(g.blk, &st);
	assert_int_equal(st.write_through_syncs, 0);
	assert_int_equal(st.flushes, 1);
	seam.ring = NULL;
	rig_down(&g);
}

static void direct_io(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t buf[1536];

	make_image(&g, 64 * 1024 + 512);
	int rc = open_blk(env, &g, HVABS_VIRTIO_BLK_DIRECT, NULL);
	if (rc == -EINVAL) {
		/* Only O_DIRECT can be refused here (the image is big enough). */
		print_message("O_DIRECT not supported for %s: skipped\n", g.path);
		unlink(g.path);
		skip();
	}
	assert_int_equal(rc, 0);
	/* O_DIRECT works in whole 4 KiB blocks: the odd tail is not shown. */
	assert_int_equal(hvabs_virtio_blk_capacity(g.blk), 128);
	vt_vqb(env, &g.b, 0, 64);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g.b);
	vt_driver_ok(env, VT_BASE);

	/* Unaligned guest buffers, a sector-sized write in the middle of a block. */
	uint64_t w = vqb_alloc(&g.b, 600) + 3;
	for (int i = 0; i < 512; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(hvabs_mem_write(env->mem, w, buf, 512), 0);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_OUT, 9, w, 512, false), S_OK);
	uint8_t back[512];
	file_read(&g, 9 * 512, back, 512);
	assert_memory_equal(back, buf, 512);
	assert_true(file_is_pattern(&g, 8 * 512, 512));
	assert_true(file_is_pattern(&g, 10 * 512, 6 * 512));
	/* A read across a block boundary into two odd buffers. */
	uint64_t a = vqb_alloc(&g.b, 800) + 1, b = vqb_alloc(&g.b, 900) + 5;
	struct vqb_buf d[] = {{a, 700, true}, {b, 836, true}};
	struct req r = {.type = HVABS_VIRTIO_BLK_T_IN, .sector = 7, .data = d, .ndata = 2};
	uint32_t used;
	assert_int_equal(submit(env, &g, &r, &used, NULL), S_OK);
	assert_int_equal(used, 1537);
	for (int i = 0; i < 1536; i++) {
		uint64_t gpa = i < 700 ? a + i : b + i - 700;
		uint64_t off = 7 * 512 + (uint64_t)i;
		uint8_t want = off / 512 == 9 ? buf[off % 512] : pattern(off);
		assert_int_equal(env->ram[gpa], want);
	}
	/* Write-zeroes and flush through O_DIRECT too. */
	const uint64_t wz[][3] = {{1, 2, 0}};
	assert_int_equal(dwz(env, &g, HVABS_VIRTIO_BLK_T_WRITE_ZEROES, wz, 1), S_OK);
	assert_true(file_zero(&g, 512, 1024));
	assert_true(file_is_pattern(&g, 0, 512));
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), S_OK);
	rig_down(&g);
}

/* PATCH /drives: a new image under a running disk, the old one flushed first. */
static void swap_image(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	char other[64] = "/tmp/hvabs-blk2-XXXXXX";
	uint8_t buf[512];

	rig_up(env, &g);
	int fd = mkstemp(other);
	assert_true(fd >= 0);
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 0; i < 8; i++)
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	uint32_t gen = vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION);
	/* A missing file changes nothing. */
	assert_int_equal(hvabs_virtio_blk_set_path(g.blk, "/nonexistent/hvabs.img"), -ENOENT);
	assert_int_equal(hvabs_virtio_blk_capacity(g.blk), IMG_SECTORS);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen);
	/* The swap flushes the old image, then the guest sees the new one's size and data. */
	seam_watch(g.path, &g.b);
	assert_int_equal(hvabs_virtio_blk_set_path(g.blk, other), 0);
	assert_int_equal(seam.calls, 1);
	seam.ring = NULL;
	assert_int_equal(hvabs_virtio_blk_capacity(g.blk), 8);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100), 8); /* capacity in the config space */
	assert_int_not_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS) &
		    HVABS_VIRTIO_MMIO_INT_CONFIG);
	uint64_t d = vqb_alloc(&g.b, 512);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_IN, 7, d, 512, true), S_OK);
	assert_int_equal(env->ram[d], 0xa5);
	assert_int_equal(env->ram[d + 511], 0xa5);
	assert_int_equal(simple(env, &g, HVABS_VIRTIO_BLK_T_IN, 8, d, 512, true), S_IOERR);
	status_ok(env);
	rig_down(&g);
	unlink(other);
}

static void create_refusals(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop},
	    .path = "/nonexistent/x.img"};

	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -ENOENT);
	cfg.path = NULL;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL);
	make_image(&g, 100);
	cfg.path = g.path;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL); /* < 1 sector */
	unlink(g.path);
	make_image(&g, 2048);
	cfg.flags = HVABS_VIRTIO_BLK_DIRECT;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL); /* < 4 KiB */
	cfg.flags = 0;
	cfg.queue_size = 2;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL);
	cfg.queue_size = 0;
	cfg.flags = 1u << 7;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL);
	cfg.flags = 0;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX),
			 HVABS_VIRTIO_BLK_QUEUE_SIZE);
	rig_down(&g);
	hvabs_virtio_blk_destroy(NULL);
	cfg.path = "/dev/null";
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &g.blk), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(config_space),
	    VT_CASE(read_write_flush),
	    VT_CASE(big_read),
	    VT_CASE(get_id),
	    VT_CASE(failing_requests),
	    VT_CASE(readonly_disk),
	    VT_CASE(discard_and_write_zeroes),
	    VT_CASE(not_negotiated),
	    VT_CASE(write_through_without_flush),
	    VT_CASE(direct_io),
	    VT_CASE(create_refusals),
	    VT_CASE(swap_image),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
