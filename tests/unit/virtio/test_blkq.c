/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk off the event loop: a backing file whose reads block stalls
 * only its own requests. Another virtio device (rng) on the same event loop
 * keeps answering, and the stalled device's registers keep answering vCPU
 * reads. QueueReady=0, a device reset and destroy each wait for the stalled
 * request and then forget it: nothing lands in the driver's buffers or the
 * used ring afterwards. A new image (hvabs_virtio_blk_set_path) waits for
 * the stalled read too. Multiqueue: VIRTIO_BLK_F_MQ, num_queues in the
 * configuration space, and requests served on every queue.
 *
 * The stall is a seam around preadv(2) from outside the device (the library
 * is shared, so this definition interposes on its calls): reads of the
 * watched image wait until the test releases them. With the io_uring engine
 * reads do not go through preadv; the image's descriptor is then replaced
 * (dup2) by the read end of a pipe, so the kernel's read waits until the test
 * writes the data into the pipe.
 *
 * The event loop runs on its own thread here, as in a VMM. Waits are hang
 * guards (they fail a test that would otherwise hang), not time limits.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_blk.h>
#include <hvabs/devices/virtio_rng.h>

#include "vt_harness.h"

#define IMG_SIZE (1024u * 512u)
#define RNG_BASE (VT_BASE + 0x1000u)
#define RNG_GSI	 (VT_GSI + 1u)
#define GUARD_MS 5000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dev_t dev;
	ino_t ino;
	bool armed, released;
	int entered;
} gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static bool watched(int fd)
{
	struct stat st;

	return gate.armed && !fstat(fd, &st) && st.st_dev == gate.dev && st.st_ino == gate.ino;
}

/* Default visibility (the build hides symbols by default): libhvabs must bind to it. */
__attribute__((visibility("default"))) ssize_t preadv(int fd, const struct iovec *iov, int n,
						      off_t off)
{
	ssize_t (*real)(int, const struct iovec *, int, off_t) =
	    (ssize_t(*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "preadv");

	pthread_mutex_lock(&gate.mu);
	if (watched(fd)) {
		gate.entered++;
		pthread_cond_broadcast(&gate.cv);
		while (!gate.released)
			pthread_cond_wait(&gate.cv, &gate.mu);
	}
	pthread_mutex_unlock(&gate.mu);
	return real(fd, iov, n, off);
}

static bool uring(void)
{
	const char *e = getenv("HVABS_TEST_BLK_ENGINE");

	return e && !strcmp(e, "io_uring");
}

struct rig {
	char path[64];
	struct hvabs_virtio_blk *blk;
	struct hvabs_virtio_rng *rng;
	struct vqb b, r;
	pthread_t loop;
	int pipe[2]; /* io_uring: the pipe that replaced the image's fd */
	int img_fd, orig_fd;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

static void *loop_main(void *p)
{
	struct vt_env *env = p;

	int rc = hvabs_event_loop_run(env->loop);
	return (void *)(intptr_t)rc;
}

static void make_image(struct rig *g)
{
	snprintf(g->path, sizeof(g->path), "/tmp/hvabs-blkq-XXXXXX");
	int fd = mkstemp(g->path);
	assert_true(fd >= 0);
	uint8_t *p = malloc(IMG_SIZE);
	assert_non_null(p);
	for (uint32_t i = 0; i < IMG_SIZE; i++)
		p[i] = (uint8_t)(i / 512 * 7 + i);
	assert_int_equal(write(fd, p, IMG_SIZE), (ssize_t)IMG_SIZE);
	free(p);
	close(fd);
}

static int blk_create(struct vt_env *env, struct rig *g, uint32_t nq)
{
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "vda"},
	    .path = g->path,
	    .queue_size = 64,
	    .num_queues = nq,
	    .engine = uring() ? HVABS_VIRTIO_BLK_ENGINE_IO_URING : HVABS_VIRTIO_BLK_ENGINE_SYNC};
	return hvabs_virtio_blk_create(env->vm, &cfg, &g->blk);
}

static void rig_up(struct vt_env *env, struct rig *g, uint32_t nq)
{
	memset(g, 0, sizeof(*g));
	g->img_fd = -1;
	make_image(g);
	int rc = blk_create(env, g, nq);
	if (rc == -ENOSYS || rc == -EPERM) {
		unlink(g->path);
		print_message("io_uring unavailable here: skipped\n");
		skip();
	}
	assert_int_equal(rc, 0);
	vt_vqb(env, &g->b, 0, 64);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g->b);
	vt_driver_ok(env, VT_BASE);

	struct hvabs_virtio_rng_config rc2 = {
	    .mmio = {.base = RNG_BASE, .gsi = RNG_GSI, .loop = env->loop, .name = "rng"}};
	assert_int_equal(hvabs_virtio_rng_create(env->vm, &rc2, &g->rng), 0);
	vt_vqb(env, &g->r, 4, 16);
	assert_true(vt_negotiate(env, RNG_BASE, ~0ull, NULL) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, RNG_BASE, 0, &g->r);
	vt_driver_ok(env, RNG_BASE);
}

/* Makes reads of the image wait until stall_release(). */
static void stall_arm(struct rig *g)
{
	struct stat st;

	assert_int_equal(stat(g->path, &st), 0);
	pthread_mutex_lock(&gate.mu);
	gate.dev = st.st_dev;
	gate.ino = st.st_ino;
	gate.entered = 0;
	gate.released = false;
	gate.armed = true;
	pthread_mutex_unlock(&gate.mu);
	if (!uring())
		return;
	/* Find the device's descriptor of the image and put a pipe in its place. */
	char link[64], target[128];
	for (int fd = 3; fd < 1024 && g->img_fd < 0; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = 0, !strcmp(target, g->path)))
			g->img_fd = fd;
	}
	assert_true(g->img_fd >= 0);
	assert_int_equal(pipe(g->pipe), 0);
	g->orig_fd = dup(g->img_fd);
	assert_true(g->orig_fd >= 0);
	assert_int_equal(dup2(g->pipe[0], g->img_fd), g->img_fd);
}

static uint64_t notifies_served(struct rig *g)
{
	struct hvabs_virtio_mmio_stats st;

	hvabs_virtio_mmio_get_stats(hvabs_virtio_blk_transport(g->blk), &st);
	return st.notifies;
}

static void wait_served(struct rig *g, uint64_t more_than)
{
	for (int i = 0; i < GUARD_MS; i++) {
		if (notifies_served(g) > more_than)
			return;
		sleep_ms(1);
	}
	fail_msg("the notification was never served");
}

/*
 * Notifies the disk's queue 0 and waits until the read reached the disk (and
 * waits there). A read in io_uring cannot be seen arriving in the kernel: it
 * was submitted once the event loop served this notification (under the
 * device lock, before any later register access). The kick that DRIVER_OK
 * sent is served first, so the two cannot be taken for one another.
 */
static void notify_stalled(struct vt_env *env, struct rig *g)
{
	if (uring()) {
		wait_served(g, 0);
		uint64_t n0 = notifies_served(g);
		vt_notify(env, VT_BASE, 0);
		wait_served(g, n0);
		return;
	}
	vt_notify(env, VT_BASE, 0);
	for (int i = 0; i < GUARD_MS; i++) {
		pthread_mutex_lock(&gate.mu);
		int n = gate.entered;
		pthread_mutex_unlock(&gate.mu);
		if (n)
			return;
		sleep_ms(1);
	}
	fail_msg("the read never reached the disk");
}

static void stall_release(struct rig *g, uint32_t bytes)
{
	pthread_mutex_lock(&gate.mu);
	gate.released = true;
	gate.armed = false;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	if (g->img_fd < 0)
		return;
	/* The stalled read holds the pipe itself (io_uring took it at submission):
	 * the image goes back first, so nothing after the read sees the pipe. */
	assert_int_equal(dup2(g->orig_fd, g->img_fd), g->img_fd);
	close(g->orig_fd);
	/* What the pipe gives is what the guest reads: the image's first bytes. */
	uint8_t buf[4096];
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i / 512 * 7 + i);
	assert_true(bytes <= sizeof(buf));
	assert_int_equal(write(g->pipe[1], buf, bytes), (ssize_t)bytes);
}

static void loop_start(struct vt_env *env, struct rig *g)
{
	assert_int_equal(pthread_create(&g->loop, NULL, loop_main, env), 0);
}

static void loop_stop(struct vt_env *env, struct rig *g)
{
	hvabs_event_loop_stop(env->loop);
	pthread_join(g->loop, NULL);
}

static void rig_down(struct rig *g)
{
	hvabs_virtio_rng_destroy(g->rng);
	hvabs_virtio_blk_destroy(g->blk);
	if (g->img_fd >= 0) {
		close(g->pipe[0]);
		close(g->pipe[1]);
	}
	unlink(g->path);
}

/* Polls the used ring (the event loop runs elsewhere); a hang guard, not a limit. */
static bool wait_used(struct vqb *b, uint32_t *id, uint32_t *len, int guard_ms)
{
	for (int i = 0; i < guard_ms; i++) {
		if (vqb_get_used(b, id, len))
			return true;
		sleep_ms(1);
	}
	return false;
}

/* A read of @p sectors at @p sector on @p b (queue @p q); returns the head, *st the status gpa. */
static uint16_t add_read(struct vt_env *env, struct vqb *b, uint64_t sector, uint32_t bytes,
			 uint64_t *data, uint64_t *st)
{
	uint64_t hdr = vqb_alloc(b, 16);
	*data = vqb_alloc(b, bytes);
	*st = vqb_alloc(b, 1);
	assert_int_equal(hvabs_mem_write_u32(env->mem, hdr, HVABS_VIRTIO_BLK_T_IN), 0);
	assert_int_equal(hvabs_mem_write_u64(env->mem, hdr + 8, sector), 0);
	assert_int_equal(hvabs_mem_fill(env->mem, *data, 0xee, bytes), 0);
	assert_int_equal(hvabs_mem_fill(env->mem, *st, 0xff, 1), 0);
	struct vqb_buf bufs[] = {{hdr, 16, false}, {*data, bytes, true}, {*st, 1, true}};
	return vqb_add(b, bufs, 3);
}

struct probe {
	struct vt_env *env;
	uint32_t off, val;
	bool write, done;
	pthread_mutex_t mu;
};

static void *probe_main(void *p)
{
	struct probe *pr = p;
	uint64_t v = 0;

	if (pr->write)
		(void)hvabs_bus_write(pr->env->vm, HVABS_SPACE_MMIO, VT_BASE + pr->off, 4, pr->val);
	else
		(void)hvabs_bus_read(pr->env->vm, HVABS_SPACE_MMIO, VT_BASE + pr->off, 4, &v);
	pthread_mutex_lock(&pr->mu);
	pr->val = (uint32_t)v;
	pr->done = true;
	pthread_mutex_unlock(&pr->mu);
	return NULL;
}

static bool probe_done(struct probe *pr, int guard_ms)
{
	for (int i = 0; i < guard_ms; i++) {
		pthread_mutex_lock(&pr->mu);
		bool d = pr->done;
		pthread_mutex_unlock(&pr->mu);
		if (d)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* Issue 12 finding 8: a stalled disk must not stop other devices or the disk's registers. */
static void stalled_disk_stalls_only_itself(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t data, st;
	uint32_t id, len;

	rig_up(env, &g, 1);
	stall_arm(&g);
	loop_start(env, &g);
	uint16_t head = add_read(env, &g.b, 0, 1024, &data, &st);
	notify_stalled(env, &g);

	/* A vCPU reads the stalled device's registers (another thread: it could hang). */
	struct probe pr = {
	    .env = env, .off = HVABS_VIRTIO_MMIO_MAGIC_VALUE, .mu = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, probe_main, &pr), 0);
	bool regs = probe_done(&pr, GUARD_MS);
	/* The rng, on the same event loop, serves a request. */
	uint64_t rb = vqb_alloc(&g.r, 64);
	struct vqb_buf rbuf = {rb, 64, true};
	uint16_t rhead = vqb_add(&g.r, &rbuf, 1);
	vt_notify(env, RNG_BASE, 0);
	bool rng = wait_used(&g.r, &id, &len, GUARD_MS);
	/* The stalled request is still not complete. */
	bool blk_early = vqb_get_used(&g.b, &id, &len);
	stall_release(&g, 1024);
	pthread_join(t, NULL);
	assert_true(regs);
	assert_int_equal(pr.val, HVABS_VIRTIO_MMIO_MAGIC);
	assert_true(rng);
	assert_int_equal(id, rhead);
	assert_int_equal(len, 64);
	assert_false(blk_early);
	/* Released, the read completes with the right data. */
	assert_true(wait_used(&g.b, &id, &len, GUARD_MS));
	assert_int_equal(id, head);
	assert_int_equal(len, 1025);
	assert_int_equal(env->ram[st], HVABS_VIRTIO_BLK_S_OK);
	for (uint32_t i = 0; i < 1024; i++)
		assert_int_equal(env->ram[data + i], (uint8_t)(i / 512 * 7 + i));
	loop_stop(env, &g);
	rig_down(&g);
}

/*
 * QueueReady=0 (@p reset false) or a device reset while a read is stalled:
 * the register write waits for the read, then the request is forgotten:
 * once the write returned, nothing more reaches the used ring or the
 * driver's buffer. The device still works afterwards.
 */
static void stop_while_stalled(struct vt_env *env, bool reset)
{
	struct rig g;
	uint64_t data, st;
	uint32_t id, len;

	rig_up(env, &g, 1);
	stall_arm(&g);
	loop_start(env, &g);
	(void)add_read(env, &g.b, 2, 512, &data, &st);
	notify_stalled(env, &g);
	struct probe pr = {.env = env,
			   .write = true,
			   .off = reset ? HVABS_VIRTIO_MMIO_STATUS : HVABS_VIRTIO_MMIO_QUEUE_READY,
			   .val = 0,
			   .mu = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, probe_main, &pr), 0);
	/* The write cannot return while the read may still write into the
	 * driver's buffer. (Correct code never returns here; broken code would
	 * have returned long before the pause ends.) */
	sleep_ms(50);
	pthread_mutex_lock(&pr.mu);
	bool early = pr.done;
	pthread_mutex_unlock(&pr.mu);
	if (early) {
		stall_release(&g, 512);
		pthread_join(t, NULL);
		fail_msg("the register write returned with the read still running");
	}
	stall_release(&g, 512);
	pthread_join(t, NULL);
	/* The driver takes its buffer back: whatever is in it now stays. */
	assert_int_equal(hvabs_mem_fill(env->mem, data, 0x5a, 512), 0);
	assert_int_equal(hvabs_mem_fill(env->mem, st, 0x77, 1), 0);
	uint16_t used = vqb_used_idx(&g.b);
	loop_stop(env, &g);
	assert_int_equal(vqb_used_idx(&g.b), used);
	for (uint32_t i = 0; i < 512; i++)
		assert_int_equal(env->ram[data + i], 0x5a);
	assert_int_equal(env->ram[st], 0x77);
	/* Set up again, the device serves a read. */
	vt_vqb(env, &g.b, 1, 64);
	if (reset)
		assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) &
			    HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g.b);
	if (reset)
		vt_driver_ok(env, VT_BASE);
	loop_start(env, &g);
	uint16_t head = add_read(env, &g.b, 1, 512, &data, &st);
	vt_notify(env, VT_BASE, 0);
	assert_true(wait_used(&g.b, &id, &len, GUARD_MS));
	assert_int_equal(id, head);
	assert_int_equal(env->ram[st], HVABS_VIRTIO_BLK_S_OK);
	assert_int_equal(env->ram[data + 7], (uint8_t)(512 / 512 * 7 + 512 + 7));
	assert_false(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) &
		     HVABS_VIRTIO_STATUS_NEEDS_RESET);
	loop_stop(env, &g);
	rig_down(&g);
}

static void queue_ready_0_while_stalled(void **state)
{
	stop_while_stalled(*state, false);
}

static void reset_while_stalled(void **state)
{
	stop_while_stalled(*state, true);
}

struct destroyer {
	struct hvabs_virtio_blk *blk;
};

static void *destroy_main(void *p)
{
	hvabs_virtio_blk_destroy(((struct destroyer *)p)->blk);
	return NULL;
}

/* Destroy with a read in flight waits for it; nothing touches freed memory (ASan run). */
static void destroy_while_stalled(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t data, st;

	rig_up(env, &g, 2);
	stall_arm(&g);
	loop_start(env, &g);
	(void)add_read(env, &g.b, 0, 512, &data, &st);
	notify_stalled(env, &g);
	struct destroyer d = {g.blk};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, destroy_main, &d), 0);
	stall_release(&g, 512);
	pthread_join(t, NULL);
	g.blk = NULL;
	loop_stop(env, &g);
	rig_down(&g);
}

struct swapper {
	struct hvabs_virtio_blk *blk;
	const char *path;
	int rc;
	bool done;
	pthread_mutex_t mu;
};

static void *swap_main(void *p)
{
	struct swapper *s = p;
	int rc = hvabs_virtio_blk_set_path(s->blk, s->path);

	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	s->done = true;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/*
 * A new image (PATCH /drives) while a read is stalled: the swap waits for
 * the read, which gets the old image's data; later reads see the new one.
 */
static void swap_while_stalled(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t data, st;
	uint32_t id, len;
	char other[64];

	rig_up(env, &g, 1);
	snprintf(other, sizeof(other), "/tmp/hvabs-blkq2-XXXXXX");
	int fd = mkstemp(other);
	assert_true(fd >= 0);
	uint8_t *p = malloc(IMG_SIZE);
	assert_non_null(p);
	memset(p, 0xc3, IMG_SIZE);
	assert_int_equal(write(fd, p, IMG_SIZE), (ssize_t)IMG_SIZE);
	free(p);
	close(fd);
	stall_arm(&g);
	loop_start(env, &g);
	uint16_t head = add_read(env, &g.b, 0, 512, &data, &st);
	notify_stalled(env, &g);
	struct swapper sw = {.blk = g.blk, .path = other, .mu = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, swap_main, &sw), 0);
	/* Correct code never returns before the release; broken code would have. */
	sleep_ms(50);
	pthread_mutex_lock(&sw.mu);
	bool early = sw.done;
	pthread_mutex_unlock(&sw.mu);
	stall_release(&g, 512);
	pthread_join(t, NULL);
	assert_false(early);
	assert_int_equal(sw.rc, 0);
	assert_true(wait_used(&g.b, &id, &len, GUARD_MS));
	assert_int_equal(id, head);
	assert_int_equal(env->ram[st], HVABS_VIRTIO_BLK_S_OK);
	assert_int_equal(env->ram[data + 9], (uint8_t)9); /* the old image's byte 9 */
	head = add_read(env, &g.b, 0, 512, &data, &st);
	vt_notify(env, VT_BASE, 0);
	assert_true(wait_used(&g.b, &id, &len, GUARD_MS));
	assert_int_equal(id, head);
	assert_int_equal(env->ram[data + 9], 0xc3);
	loop_stop(env, &g);
	rig_down(&g);
	unlink(other);
}

/* VIRTIO_BLK_F_MQ: num_queues in the configuration space, and every queue served. */
static void multiqueue(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct vqb q[4];
	uint64_t data[4], st[4], v = 0;
	uint16_t head[4];
	uint32_t id, len;

	rig_up(env, &g, 4);
	uint64_t f = 0;
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, &f) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	assert_true(f & HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_MQ));
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100 + 34, 2, &v), 0);
	assert_int_equal(v, 4);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_SEL, 4);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	for (uint32_t i = 0; i < 4; i++) {
		vt_vqb(env, &q[i], i, 64);
		vt_queue(env, VT_BASE, i, &q[i]);
	}
	vt_driver_ok(env, VT_BASE);
	loop_start(env, &g);
	for (uint32_t i = 0; i < 4; i++) {
		head[i] = add_read(env, &q[i], 10 + i, 512, &data[i], &st[i]);
		vt_notify(env, VT_BASE, i);
	}
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(wait_used(&q[i], &id, &len, GUARD_MS));
		assert_int_equal(id, head[i]);
		assert_int_equal(env->ram[st[i]], HVABS_VIRTIO_BLK_S_OK);
		uint32_t off = (10 + i) * 512 + 3;
		assert_int_equal(env->ram[data[i] + 3], (uint8_t)(off / 512 * 7 + off));
	}
	loop_stop(env, &g);
	rig_down(&g);
	/* One queue: no MQ offered; more than the maximum: refused. */
	rig_up(env, &g, 1);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, &f) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	assert_false(f & HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_MQ));
	rig_down(&g);
	struct hvabs_virtio_blk *b;
	make_image(&g);
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop},
	    .path = g.path,
	    .num_queues = HVABS_VIRTIO_BLK_MAX_QUEUES + 1};
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &b), -EINVAL);
	cfg.num_queues = 1;
	cfg.engine = 7;
	assert_int_equal(hvabs_virtio_blk_create(env->vm, &cfg, &b), -EINVAL);
	unlink(g.path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(stalled_disk_stalls_only_itself),
	    VT_CASE(queue_ready_0_while_stalled),
	    VT_CASE(reset_while_stalled),
	    VT_CASE(destroy_while_stalled),
	    VT_CASE(swap_while_stalled),
	    VT_CASE(multiqueue),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
