/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console with real host descriptors: a socketpair and pipes (input
 * waits for receive buffers, output is not lost when the host is slow), a
 * pty, a Unix socket with clients that come and go, emergency writes, the
 * console size, hang-ups that must not make the loop spin, and malformed
 * chains on both queues.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_console.h>

#include "vt_harness.h"

#define BIT(n) HVABS_VIRTIO_BIT(n)
#define ST(x)  HVABS_VIRTIO_STATUS_##x
#define RXQ    0u
#define TXQ    1u
#define QSIZE  32u
/* Hang guard while the kernel moves bytes: generous, never what is measured. */
#define WAIT_ITER 2000
#define WAIT_MS	  10

struct rig {
	struct hvabs_virtio_console *c;
	struct vqb rx, tx;
	int host; /* our end of the socketpair, when there is one */
	int dev;  /* the device's end */
};

static int make(struct vt_env *env, struct rig *g, struct hvabs_virtio_console_config *cfg)
{
	cfg->mmio = (struct hvabs_virtio_mmio_params){
	    .base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "hvc0"};
	cfg->queue_size = QSIZE;
	return hvabs_virtio_console_create(env->vm, cfg, &g->c);
}

static void bring_up(struct vt_env *env, struct rig *g)
{
	vt_vqb(env, &g->rx, RXQ, QSIZE);
	vt_vqb(env, &g->tx, TXQ, QSIZE);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, RXQ, &g->rx);
	vt_queue(env, VT_BASE, TXQ, &g->tx);
	vt_driver_ok(env, VT_BASE);
	vt_pump(env);
}

/* A console on one end of a socketpair; the test holds the other. */
static void rig_pair(struct vt_env *env, struct rig *g, uint32_t out_buffer)
{
	int sv[2];
	struct hvabs_virtio_console_config cfg = {.backend = HVABS_VIRTIO_CONSOLE_FDS,
						  .out_buffer = out_buffer};

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	g->host = sv[0];
	g->dev = sv[1];
	cfg.in_fd = cfg.out_fd = g->dev;
	assert_int_equal(make(env, g, &cfg), 0);
	bring_up(env, g);
}

static void rig_down(struct rig *g)
{
	hvabs_virtio_console_destroy(g->c);
	if (g->host >= 0)
		close(g->host);
	if (g->dev >= 0)
		close(g->dev);
}

static void status_ok(struct vt_env *env)
{
	assert_false(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
}

/* The guest writes @p s as one chain of up to two buffers; returns the head. */
static uint16_t guest_write(struct vt_env *env, struct rig *g, const void *s, uint32_t len)
{
	uint32_t a_len = len / 2 ? len / 2 : len;
	uint64_t a = vqb_alloc(&g->tx, len);
	struct vqb_buf bufs[] = {{a, a_len, false}, {a + a_len, len - a_len, false}};

	assert_int_equal(hvabs_mem_write(env->mem, a, s, len), 0);
	uint16_t head = vqb_add(&g->tx, bufs, len - a_len ? 2 : 1);
	vt_notify(env, VT_BASE, TXQ);
	return head;
}

static uint64_t post_rx(struct vt_env *env, struct rig *g, uint32_t len)
{
	uint64_t a = vqb_alloc(&g->rx, len);

	vqb_add(&g->rx, &(struct vqb_buf){a, len, true}, 1);
	vt_notify(env, VT_BASE, RXQ);
	return a;
}

static void wait_used(struct vt_env *env, struct vqb *b, int n)
{
	for (int i = 0; i < WAIT_ITER; i++) {
		if ((uint16_t)(vqb_used_idx(b) - b->last_used) >= n)
			return;
		(void)hvabs_event_loop_run_once(env->loop, WAIT_MS);
	}
	fail_msg("the device did not use %d buffers", n);
}

/* Reads exactly @p len bytes from @p fd, pumping the loop meanwhile. */
static void read_all(struct vt_env *env, int fd, void *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < WAIT_ITER && got < len; i++) {
		vt_pump(env);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) <= 0)
			continue;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, len);
}

static int pending_bytes(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* ---- tests ---- */

static void identity_and_config(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	struct hvabs_virtio_console_config cfg = {.backend = HVABS_VIRTIO_CONSOLE_FDS,
						  .in_fd = -1,
						  .out_fd = -1,
						  .cols = 132,
						  .rows = 43};
	uint64_t f, v;

	assert_int_equal(make(env, &g, &cfg), 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), HVABS_VIRTIO_ID_CONSOLE);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, &f) & ST(FEATURES_OK));
	assert_true(f & BIT(HVABS_VIRTIO_CONSOLE_F_SIZE));
	assert_true(f & BIT(HVABS_VIRTIO_CONSOLE_F_EMERG_WRITE));
	assert_false(f & BIT(HVABS_VIRTIO_CONSOLE_F_MULTIPORT));
	/* cols at 0, rows at 2, as Linux reads them. */
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 2, &v), 0);
	assert_int_equal(v, 132);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x102, 2, &v), 0);
	assert_int_equal(v, 43);
	vt_driver_ok(env, VT_BASE);
	uint32_t gen = vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(hvabs_virtio_console_set_size(g.c, 80, 25), 0);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100) & 0xffff, 80);
	assert_int_equal(vt_rd(env, VT_BASE, 0x100) >> 16, 25);
	assert_int_not_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS) &
		    HVABS_VIRTIO_MMIO_INT_CONFIG);
	assert_null(hvabs_virtio_console_pty_path(g.c));
	assert_non_null(hvabs_virtio_console_transport(g.c));
	hvabs_virtio_console_destroy(g.c);
	hvabs_virtio_console_destroy(NULL);

	/* No size: no F_SIZE, and set_size says so. */
	cfg.cols = cfg.rows = 0;
	assert_int_equal(make(env, &g, &cfg), 0);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, &f) & ST(FEATURES_OK));
	assert_false(f & BIT(HVABS_VIRTIO_CONSOLE_F_SIZE));
	assert_int_equal(hvabs_virtio_console_set_size(g.c, 80, 25), -ENOTSUP);
	hvabs_virtio_console_destroy(g.c);

	struct hvabs_virtio_console_config bad[] = {
	    {.backend = (enum hvabs_virtio_console_backend)9},
	    {.backend = HVABS_VIRTIO_CONSOLE_SOCKET},
	    {.backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = -5, .out_fd = -1},
	    {.backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = 999, .out_fd = -1},
	    {.backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = -1, .out_fd = -1, .flags = 8},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(make(env, &g, &bad[i]), -EINVAL);
	cfg.queue_size = 48;
	cfg.mmio = (struct hvabs_virtio_mmio_params){.base = VT_BASE, .loop = env->loop};
	assert_int_equal(hvabs_virtio_console_create(env->vm, &cfg, &g.c), -EINVAL);
}

static void output_reaches_host(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	char got[64];
	uint32_t id, len;

	rig_pair(env, &g, 0);
	uint16_t head = guest_write(env, &g, "hello, host\n", 12);
	read_all(env, g.host, got, 12);
	assert_memory_equal(got, "hello, host\n", 12);
	assert_true(vqb_get_used(&g.tx, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.tx_bytes, 12);
	assert_int_equal(st.buffered, 0);
	status_ok(env);
	rig_down(&g);
}

/* Input waits in the host descriptor until the guest gives a buffer. */
static void input_waits_for_buffers(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t id, len;

	rig_pair(env, &g, 0);
	(void)vt_irqs(env, 0);
	assert_int_equal(write(g.host, "abcdef", 6), 6);
	vt_pump(env);
	assert_int_equal(pending_bytes(g.dev), 6);
	/* A 4-byte buffer takes 4; the rest stays for the next one. */
	uint64_t a = post_rx(env, &g, 4);
	wait_used(env, &g.rx, 1);
	assert_true(vqb_get_used(&g.rx, &id, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(env->ram + a, "abcd", 4);
	assert_int_equal(pending_bytes(g.dev), 2);
	uint64_t b = post_rx(env, &g, 64);
	wait_used(env, &g.rx, 1);
	assert_true(vqb_get_used(&g.rx, &id, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(env->ram + b, "ef", 2);
	/* A buffer posted before the input: it is filled when input comes. */
	uint64_t c = post_rx(env, &g, 64);
	vt_pump(env);
	assert_int_equal(write(g.host, "late", 4), 4);
	wait_used(env, &g.rx, 1);
	assert_true(vqb_get_used(&g.rx, &id, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(env->ram + c, "late", 4);
	vt_pump(env);
	assert_true(vt_irqs(env, 1) >= 1);
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.rx_bytes, 10);
	rig_down(&g);
}

/*
 * §4.2.2.2: the driver stops the receive queue (QueueReady = 0) without a
 * device reset and sets it up again. The chain the device held for input
 * belongs to the old ring: input must land in a buffer of the new one.
 */
static void queue_stop_drops_held_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t id, len;

	rig_pair(env, &g, 0);
	(void)post_rx(env, &g, 64); /* held by the device, waiting for input */
	vt_pump(env);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_SEL, RXQ);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_READY), 0);
	vt_vqb(env, &g.rx, RXQ, QSIZE);
	(void)vqb_alloc(&g.rx, 64); /* the new buffer is not where the old one was */
	vt_queue(env, VT_BASE, RXQ, &g.rx);
	uint64_t b = post_rx(env, &g, 64);
	vt_pump(env);
	assert_int_equal(write(g.host, "after", 5), 5);
	wait_used(env, &g.rx, 1);
	assert_true(vqb_get_used(&g.rx, &id, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(env->ram + b, "after", 5);
	/* The same for a transmit chain the device kept: the new ring works. */
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_SEL, TXQ);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_READY, 0);
	vt_vqb(env, &g.tx, TXQ, QSIZE);
	vt_queue(env, VT_BASE, TXQ, &g.tx);
	char got[3];
	(void)guest_write(env, &g, "out", 3);
	read_all(env, g.host, got, 3);
	assert_memory_equal(got, "out", 3);
	wait_used(env, &g.tx, 1);
	status_ok(env);
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.rx_bytes, 5);
	rig_down(&g);
}

/* A slow host: chains wait, nothing is lost, everything arrives in order. */
static void output_backpressure(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	int p[2];
	/* Twelve chains of two descriptors: 24 of the queue's 32. */
	static uint8_t data[2048 * 12], got[2048 * 12];
	const int CHUNK = 2048, N = 12;
	uint32_t id, len;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	struct hvabs_virtio_console_config cfg = {
	    .backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = -1, .out_fd = p[1], .out_buffer = 2048};
	assert_int_equal(make(env, &g, &cfg), 0);
	g.dev = p[1];
	bring_up(env, &g);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 251);
	for (int i = 0; i < N; i++)
		guest_write(env, &g, data + i * CHUNK, CHUNK);
	vt_pump(env);
	/* The pipe and the buffer are full; the rest of the chains wait. */
	int used = 0;
	while (vqb_get_used(&g.tx, &id, &len))
		used++;
	assert_true(used * CHUNK <= cap + 2048);
	assert_true(used < N);
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.buffered, 2048);
	read_all(env, p[0], got, sizeof(got));
	assert_memory_equal(got, data, sizeof(data));
	while (vqb_get_used(&g.tx, &id, &len))
		used++;
	assert_int_equal(used, N);
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.tx_bytes, sizeof(data));
	assert_int_equal(st.discarded, 0);
	status_ok(env);
	rig_down(&g);
	close(p[0]);
}

static void emergency_write(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	int sv[2];
	char got[4];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	g.host = sv[0];
	g.dev = sv[1];
	struct hvabs_virtio_console_config cfg = {
	    .backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = -1, .out_fd = g.dev};
	assert_int_equal(make(env, &g, &cfg), 0);
	/* §5.3.5: allowed on a device nobody set up; the low byte goes out. */
	vt_wr(env, VT_BASE, 0x100 + 8, 0x1234565a);
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x108, 1, '!'), 0);
	read_all(env, g.host, got, 2);
	assert_memory_equal(got, "Z!", 2);
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.emerg_bytes, 2);
	rig_down(&g);
}

static void pty_both_ways(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	struct hvabs_virtio_console_config cfg = {.backend = HVABS_VIRTIO_CONSOLE_PTY};
	char got[16];
	uint32_t id, len;

	assert_int_equal(make(env, &g, &cfg), 0);
	const char *path = hvabs_virtio_console_pty_path(g.c);
	assert_non_null(path);
	assert_int_equal(strncmp(path, "/dev/pts/", 9), 0);
	bring_up(env, &g);
	for (int round = 0; round < 2; round++) {
		/* A client opens the terminal, talks, and leaves; then another. */
		int t = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		assert_true(t >= 0);
		guest_write(env, &g, "ping\n", 5);
		read_all(env, t, got, 5);
		assert_memory_equal(got, "ping\n", 5); /* raw: no \r added */
		uint64_t a = post_rx(env, &g, 16);
		assert_int_equal(write(t, "pong\r", 5), 5);
		wait_used(env, &g.rx, 1);
		assert_true(vqb_get_used(&g.rx, &id, &len));
		assert_int_equal(len, 5);
		assert_memory_equal(env->ram + a, "pong\r", 5); /* raw: no \r to \n */
		close(t);
		vt_pump(env);
	}
	status_ok(env);
	rig_down(&g);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void make_dir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/hvabs-con-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void socket_clients(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	char dir[64], path[96], got[16];
	struct hvabs_virtio_console_stats st;
	uint32_t id, len;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	struct hvabs_virtio_console_config cfg = {.backend = HVABS_VIRTIO_CONSOLE_SOCKET,
						  .path = path};
	assert_int_equal(make(env, &g, &cfg), 0);
	bring_up(env, &g);
	/* Output before any client waits for one. */
	guest_write(env, &g, "early", 5);
	vt_pump(env);
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.buffered, 5);
	assert_int_equal(st.connected, 0);
	for (int round = 0; round < 2; round++) {
		int cl = connect_to(path);
		if (round == 0) {
			read_all(env, cl, got, 5);
			assert_memory_equal(got, "early", 5);
		}
		guest_write(env, &g, "out", 3);
		read_all(env, cl, got, 3);
		assert_memory_equal(got, "out", 3);
		uint64_t a = post_rx(env, &g, 16);
		assert_int_equal(write(cl, "in", 2), 2);
		wait_used(env, &g.rx, 1);
		assert_true(vqb_get_used(&g.rx, &id, &len));
		assert_int_equal(len, 2);
		assert_memory_equal(env->ram + a, "in", 2);
		hvabs_virtio_console_get_stats(g.c, &st);
		assert_int_equal(st.connected, 1);
		close(cl);
		/* The client is gone: the loop notices and settles. */
		vt_pump(env);
		hvabs_virtio_console_get_stats(g.c, &st);
		assert_int_equal(st.connected, 0);
	}
	assert_int_equal(st.clients, 2);
	status_ok(env);
	/* A live listener at the path is not taken over. */
	struct hvabs_virtio_console *c2;
	cfg.mmio.base += HVABS_VIRTIO_MMIO_SIZE;
	assert_int_equal(hvabs_virtio_console_create(env->vm, &cfg, &c2), -EADDRINUSE);
	rig_down(&g);
	/* Gone with the device. */
	struct stat sb;
	assert_int_equal(stat(path, &sb), -1);

	/* A stale socket file (its listener died) is replaced. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	g.host = g.dev = -1;
	assert_int_equal(make(env, &g, &cfg), 0);
	rig_down(&g);
	/* Anything else at the path is left alone. */
	int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(f);
	assert_int_equal(make(env, &g, &cfg), -EADDRINUSE);
	unlink(path);
	rmdir(dir);
}

static void socket_discard_without_client(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	char dir[64], path[96];
	uint32_t id, len;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	struct hvabs_virtio_console_config cfg = {.backend = HVABS_VIRTIO_CONSOLE_SOCKET,
						  .path = path,
						  .flags = HVABS_VIRTIO_CONSOLE_DISCARD};
	assert_int_equal(make(env, &g, &cfg), 0);
	bring_up(env, &g);
	for (int i = 0; i < 8; i++)
		guest_write(env, &g, "nobody listens", 14);
	vt_pump(env);
	for (int i = 0; i < 8; i++)
		assert_true(vqb_get_used(&g.tx, &id, &len));
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.discarded, 8 * 14);
	assert_int_equal(st.buffered, 0);
	rig_down(&g);
	rmdir(dir);
}

/* Hang-ups on input or output leave the loop idle, and what was sent still arrives. */
static void hangups(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	int in[2], out[2];
	uint32_t id, len;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	struct hvabs_virtio_console_config cfg = {
	    .backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = in[0], .out_fd = out[1]};
	assert_int_equal(make(env, &g, &cfg), 0);
	bring_up(env, &g);
	/* The writer says its last words and leaves before the guest has a buffer. */
	assert_int_equal(write(in[1], "tail", 4), 4);
	close(in[1]);
	vt_pump(env); /* fails if the hang-up kept the loop busy */
	uint64_t a = post_rx(env, &g, 16);
	wait_used(env, &g.rx, 1);
	assert_true(vqb_get_used(&g.rx, &id, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(env->ram + a, "tail", 4);
	/* The reader leaves: output is discarded and counted, the device goes on. */
	close(out[0]);
	vt_pump(env);
	guest_write(env, &g, "into the void", 13);
	vt_pump(env);
	assert_true(vqb_get_used(&g.tx, &id, &len));
	struct hvabs_virtio_console_stats st;
	hvabs_virtio_console_get_stats(g.c, &st);
	assert_int_equal(st.discarded, 13);
	status_ok(env);
	hvabs_virtio_console_destroy(g.c);
	close(in[0]);
	close(out[1]);
}

/* The caller's descriptors get their flags back. */
static void fds_restored(void **state)
{
	struct vt_env *env = *state;
	struct rig g = {.host = -1, .dev = -1};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int before = fcntl(sv[1], F_GETFL);
	assert_false(before & O_NONBLOCK);
	struct hvabs_virtio_console_config cfg = {
	    .backend = HVABS_VIRTIO_CONSOLE_FDS, .in_fd = sv[1], .out_fd = sv[1]};
	assert_int_equal(make(env, &g, &cfg), 0);
	assert_true(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
	hvabs_virtio_console_destroy(g.c);
	assert_int_equal(fcntl(sv[1], F_GETFL), before);
	/* Not closed either. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	close(sv[0]);
	close(sv[1]);
}

static void one_bad_chain(struct vt_env *env, struct rig *g, uint32_t qi, enum vqb_bad kind)
{
	struct vqb *b = qi == RXQ ? &g->rx : &g->tx;
	char got[8];

	vqb_add_bad(b, kind);
	uint8_t *before = vt_ram_copy(env);
	vt_notify(env, VT_BASE, qi);
	vt_pump(env);
	assert_true(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
	vt_ram_same(env, before, NULL, 0);
	free(before);
	/* Until the reset nothing happens; then the console works again. */
	vqb_reset(&g->rx);
	vqb_reset(&g->tx);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, RXQ, &g->rx);
	vt_queue(env, VT_BASE, TXQ, &g->tx);
	vt_driver_ok(env, VT_BASE);
	guest_write(env, g, "ok", 2);
	read_all(env, g->host, got, 2);
	assert_memory_equal(got, "ok", 2);
	status_ok(env);
}

static void malformed_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;

	rig_pair(env, &g, 0);
	for (int k = 0; k < VQB_BAD_COUNT; k++) {
		print_message("  tx: %s\n", vqb_bad_name((enum vqb_bad)k));
		one_bad_chain(env, &g, TXQ, (enum vqb_bad)k);
		print_message("  rx: %s\n", vqb_bad_name((enum vqb_bad)k));
		one_bad_chain(env, &g, RXQ, (enum vqb_bad)k);
	}
	rig_down(&g);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(identity_and_config),
	    VT_CASE(output_reaches_host),
	    VT_CASE(input_waits_for_buffers),
	    VT_CASE(queue_stop_drops_held_chains),
	    VT_CASE(output_backpressure),
	    VT_CASE(emergency_write),
	    VT_CASE(pty_both_ways),
	    VT_CASE(socket_clients),
	    VT_CASE(socket_discard_without_client),
	    VT_CASE(hangups),
	    VT_CASE(fds_restored),
	    VT_CASE(malformed_chains),
	};

	/* A VMM ignores SIGPIPE (see virtio_console.h); so does this test. */
	signal(SIGPIPE, SIG_IGN);
	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
