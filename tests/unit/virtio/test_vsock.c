/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock with real Unix sockets on the host side: connections both
 * ways (Firecracker's "CONNECT <port>" / "OK <port>" and <path>_<port>),
 * data both ways, credit-based flow control both ways (a guest that gives
 * little credit gets little data; a host that does not read stalls the
 * guest without losing a byte), RST for every kind of bad packet, resets
 * of the transport and of the driver, and malformed chains on every queue.
 * The test plays the guest driver with the chain builder.
 */
#include <endian.h>
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
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_vsock.h>

#include "vt_harness.h"

#define ST(x) HVABS_VIRTIO_STATUS_##x
#define OP(x) HVABS_VIRTIO_VSOCK_OP_##x
#define RXQ   0u
#define TXQ   1u
#define EVQ   2u
#define QSIZE 64u
#define HDR   HVABS_VIRTIO_VSOCK_HDR_SIZE
#define CID   3u
#define RXBUF (HDR + 1024u)
#define BOTH  (HVABS_VIRTIO_VSOCK_SHUTDOWN_RCV | HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND)
/* Hang guard while sockets move bytes: generous, never what is measured. */
#define WAIT_ITER 2000
#define WAIT_MS	  10

struct th {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

struct rig {
	struct hvabs_virtio_vsock *v;
	struct vqb rx, tx, ev;
	char dir[64], path[96];
	int rx_out; /* receive buffers posted and not yet used */
};

/* ---- headers ---- */

static void enc(uint8_t *b, const struct th *h)
{
	uint64_t q;
	uint32_t d;
	uint16_t w;

	q = htole64(h->src_cid), memcpy(b, &q, 8);
	q = htole64(h->dst_cid), memcpy(b + 8, &q, 8);
	d = htole32(h->src_port), memcpy(b + 16, &d, 4);
	d = htole32(h->dst_port), memcpy(b + 20, &d, 4);
	d = htole32(h->len), memcpy(b + 24, &d, 4);
	w = htole16(h->type), memcpy(b + 28, &w, 2);
	w = htole16(h->op), memcpy(b + 30, &w, 2);
	d = htole32(h->flags), memcpy(b + 32, &d, 4);
	d = htole32(h->buf_alloc), memcpy(b + 36, &d, 4);
	d = htole32(h->fwd_cnt), memcpy(b + 40, &d, 4);
}

static void dec(const uint8_t *b, struct th *h)
{
	uint64_t q;
	uint32_t d;
	uint16_t w;

	memcpy(&q, b, 8), h->src_cid = le64toh(q);
	memcpy(&q, b + 8, 8), h->dst_cid = le64toh(q);
	memcpy(&d, b + 16, 4), h->src_port = le32toh(d);
	memcpy(&d, b + 20, 4), h->dst_port = le32toh(d);
	memcpy(&d, b + 24, 4), h->len = le32toh(d);
	memcpy(&w, b + 28, 2), h->type = le16toh(w);
	memcpy(&w, b + 30, 2), h->op = le16toh(w);
	memcpy(&d, b + 32, 4), h->flags = le32toh(d);
	memcpy(&d, b + 36, 4), h->buf_alloc = le32toh(d);
	memcpy(&d, b + 40, 4), h->fwd_cnt = le32toh(d);
}

/* A packet from the guest on connection guest port @p gport <-> host port @p hport. */
static struct th gh(uint16_t op, uint32_t gport, uint32_t hport)
{
	return (struct th){.src_cid = CID,
			   .dst_cid = HVABS_VIRTIO_VSOCK_HOST_CID,
			   .src_port = gport,
			   .dst_port = hport,
			   .type = HVABS_VIRTIO_VSOCK_TYPE_STREAM,
			   .op = op,
			   .buf_alloc = 1u << 20};
}

/* ---- the guest ---- */

static void pump_wait(struct vt_env *env)
{
	(void)hvabs_event_loop_run_once(env->loop, WAIT_MS);
	vt_pump(env);
}

/* Keeps 16 receive buffers posted (the ring holds 64). */
static void keep_rx(struct vt_env *env, struct rig *g)
{
	if (g->rx_out >= 16)
		return;
	while (g->rx_out < 16) {
		vqb_add(&g->rx, &(struct vqb_buf){vqb_alloc(&g->rx, RXBUF), RXBUF, true}, 1);
		g->rx_out++;
	}
	vt_notify(env, VT_BASE, RXQ);
}

/* The guest sends a packet: header and payload in two buffers. */
static void gsend_raw(struct vt_env *env, struct rig *g, const struct th *h, const void *data,
		      uint32_t len, uint32_t chain_len)
{
	uint64_t a = vqb_alloc(&g->tx, HDR + len);
	uint8_t b[HDR];

	enc(b, h);
	assert_int_equal(hvabs_mem_write(env->mem, a, b, HDR), 0);
	if (len)
		assert_int_equal(hvabs_mem_write(env->mem, a + HDR, data, len), 0);
	uint32_t total = chain_len ? chain_len : HDR + len;
	struct vqb_buf bufs[] = {{a, total < HDR ? total : HDR, false},
				 {a + HDR, total > HDR ? total - HDR : 0, false}};
	vqb_add(&g->tx, bufs, total > HDR ? 2 : 1);
	vt_notify(env, VT_BASE, TXQ);
}

static void gsend(struct vt_env *env, struct rig *g, struct th h, const void *data, uint32_t len)
{
	h.len = len;
	gsend_raw(env, g, &h, data, len, 0);
}

/* The next packet the device gave the guest; false when none came. */
static bool grecv_try(struct vt_env *env, struct rig *g, struct th *h, void *data, int tries)
{
	uint32_t id, len;
	uint64_t addr;
	uint8_t b[HDR];

	for (int i = 0; i < tries && vqb_used_idx(&g->rx) == g->rx.last_used; i++)
		pump_wait(env);
	if (!vqb_get_used(&g->rx, &id, &len))
		return false;
	g->rx_out--;
	assert_int_equal(hvabs_mem_read_u64(env->mem, g->rx.desc + 16ull * id, &addr), 0);
	assert_true(len >= HDR);
	assert_int_equal(hvabs_mem_read(env->mem, addr, b, HDR), 0);
	dec(b, h);
	assert_int_equal(len, HDR + h->len);
	assert_int_equal(h->src_cid == HVABS_VIRTIO_VSOCK_HOST_CID || h->op == OP(RST), 1);
	assert_int_equal(h->dst_cid, CID);
	if (data && h->len)
		assert_int_equal(hvabs_mem_read(env->mem, addr + HDR, data, h->len), 0);
	keep_rx(env, g);
	return true;
}

static void grecv(struct vt_env *env, struct rig *g, struct th *h, void *data)
{
	if (!grecv_try(env, g, h, data, WAIT_ITER))
		fail_msg("the guest received nothing");
}

/* Receives packets until one with @p op; skips credit updates. */
static void grecv_op(struct vt_env *env, struct rig *g, uint16_t op, struct th *h, void *data)
{
	for (int i = 0; i < 64; i++) {
		grecv(env, g, h, data);
		if (h->op == op)
			return;
		assert_int_equal(h->op, OP(CREDIT_UPDATE));
	}
	fail_msg("no packet with op %u", op);
}

static void nothing_received(struct vt_env *env, struct rig *g)
{
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&g->rx), g->rx.last_used);
}

/* ---- the host ---- */

static int host_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int host_listen(struct rig *g, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", g->path, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* Reads exactly @p len bytes (or up to EOF: returns how many), pumping meanwhile. */
static size_t host_read(struct vt_env *env, int fd, void *buf, size_t len)
{
	size_t got = 0;

	for (int i = 0; i < WAIT_ITER && got < len; i++) {
		vt_pump(env);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) <= 0)
			continue;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
	}
	return got;
}

static void host_eof(struct vt_env *env, int fd)
{
	char c;

	assert_int_equal(host_read(env, fd, &c, 1), 0);
}

/* ---- rigs ---- */

static int make(struct vt_env *env, struct rig *g, uint32_t buf_alloc, uint32_t max_conns)
{
	struct hvabs_virtio_vsock_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "vsock0"},
	    .guest_cid = CID,
	    .path = g->path,
	    .buf_alloc = buf_alloc,
	    .max_conns = max_conns,
	    .queue_size = QSIZE};

	return hvabs_virtio_vsock_create(env->vm, &cfg, &g->v);
}

static void bring_up_rx(struct vt_env *env, struct rig *g, bool post_rx)
{
	vt_vqb(env, &g->rx, RXQ, QSIZE);
	vt_vqb(env, &g->tx, TXQ, QSIZE);
	vt_vqb(env, &g->ev, EVQ, QSIZE);
	g->rx_out = 0;
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, RXQ, &g->rx);
	vt_queue(env, VT_BASE, TXQ, &g->tx);
	vt_queue(env, VT_BASE, EVQ, &g->ev);
	vt_driver_ok(env, VT_BASE);
	if (post_rx)
		keep_rx(env, g);
	vt_pump(env);
}

static void bring_up(struct vt_env *env, struct rig *g)
{
	bring_up_rx(env, g, true);
}

static void rig_up_with(struct vt_env *env, struct rig *g, uint32_t buf_alloc, uint32_t max)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->dir, sizeof(g->dir), "/tmp/hvabs-vsock-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/v.sock", g->dir);
	assert_int_equal(make(env, g, buf_alloc, max), 0);
	bring_up(env, g);
}

static void rig_up(struct vt_env *env, struct rig *g)
{
	rig_up_with(env, g, 0, 0);
}

static void rig_down(struct rig *g)
{
	char p[128];

	hvabs_virtio_vsock_destroy(g->v);
	for (uint32_t port = 5000; port < 5010; port++) {
		snprintf(p, sizeof(p), "%s_%u", g->path, port);
		unlink(p);
	}
	assert_int_equal(rmdir(g->dir), 0); /* the device removed its socket file */
}

static void status_ok(struct vt_env *env)
{
	assert_false(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
}

static struct hvabs_virtio_vsock_stats stats(struct rig *g)
{
	struct hvabs_virtio_vsock_stats st;

	hvabs_virtio_vsock_get_stats(g->v, &st);
	return st;
}

/* A host-initiated connection to guest port @p gport; returns the host socket, *hport the port. */
static int host_to_guest(struct vt_env *env, struct rig *g, uint32_t gport, uint32_t *hport,
			 uint32_t guest_buf)
{
	char line[32], want[32];
	struct th h;
	int fd = host_connect(g->path);

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	grecv(env, g, &h, NULL);
	assert_int_equal(h.op, OP(REQUEST));
	assert_int_equal(h.dst_port, gport);
	assert_true(h.src_port >= HVABS_VIRTIO_VSOCK_HOST_PORT_BASE);
	assert_int_equal(h.type, HVABS_VIRTIO_VSOCK_TYPE_STREAM);
	*hport = h.src_port;
	struct th r = gh(OP(RESPONSE), gport, h.src_port);
	r.buf_alloc = guest_buf;
	gsend(env, g, r, NULL, 0);
	int n = snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	assert_int_equal(host_read(env, fd, line, (size_t)n), (size_t)n);
	assert_memory_equal(line, want, (size_t)n);
	return fd;
}

/* A guest-initiated connection from guest port @p gport to host port @p hport. */
static int guest_to_host(struct vt_env *env, struct rig *g, int lfd, uint32_t gport, uint32_t hport,
			 uint32_t guest_buf)
{
	struct th h = gh(OP(REQUEST), gport, hport);

	h.buf_alloc = guest_buf;
	gsend(env, g, h, NULL, 0);
	grecv(env, g, &h, NULL);
	assert_int_equal(h.op, OP(RESPONSE));
	assert_int_equal(h.src_port, hport);
	assert_int_equal(h.dst_port, gport);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* ---- tests ---- */

static void identity_and_config(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint64_t v, f;

	memset(&g, 0, sizeof(g));
	snprintf(g.dir, sizeof(g.dir), "/tmp/hvabs-vsock-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	snprintf(g.path, sizeof(g.path), "%s/v.sock", g.dir);
	assert_int_equal(make(env, &g, 0, 0), 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), HVABS_VIRTIO_ID_VSOCK);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, &f) & ST(FEATURES_OK));
	assert_true(f & HVABS_VIRTIO_BIT(HVABS_VIRTIO_VSOCK_F_STREAM));
	assert_false(f & HVABS_VIRTIO_BIT(HVABS_VIRTIO_VSOCK_F_SEQPACKET));
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 8, &v), 0);
	assert_int_equal(v, CID);
	assert_non_null(hvabs_virtio_vsock_transport(g.v));
	struct stat sb;
	assert_int_equal(stat(g.path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	/* A second device on the same live path is refused. */
	struct hvabs_virtio_vsock *v2;
	struct hvabs_virtio_vsock_config cfg = {
	    .mmio = {.base = VT_BASE + 0x1000, .gsi = 6, .loop = env->loop},
	    .guest_cid = 4,
	    .path = g.path};
	assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &v2), -EADDRINUSE);
	assert_int_equal(hvabs_virtio_vsock_set_cid(g.v, 2), -EINVAL);
	rig_down(&g);
	hvabs_virtio_vsock_destroy(NULL);

	cfg.path = "/tmp/hvabs-vsock-unused";
	uint64_t bad_cids[] = {0, 1, 2, 0xffffffffull, 0x100000003ull};
	for (size_t i = 0; i < sizeof(bad_cids) / sizeof(bad_cids[0]); i++) {
		cfg.guest_cid = bad_cids[i];
		assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &v2), -EINVAL);
	}
	cfg.guest_cid = 3;
	cfg.buf_alloc = 100;
	assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &v2), -EINVAL);
	cfg.buf_alloc = 0;
	cfg.path = NULL;
	assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &v2), -EINVAL);
	char longp[120];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	longp[100] = '\0'; /* 100 + "_4294967295" does not fit 108 */
	cfg.path = longp;
	assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &v2), -ENAMETOOLONG);
}

/* Host connects with CONNECT, the guest accepts, data both ways, the host closes. */
static void host_initiated(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	uint32_t hport;
	char buf[64];

	rig_up(env, &g);
	int fd = host_to_guest(env, &g, 1234, &hport, 1u << 20);
	assert_int_equal(write(fd, "hello", 5), 5);
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(h.src_port, hport);
	assert_int_equal(h.dst_port, 1234);
	assert_int_equal(h.buf_alloc, HVABS_VIRTIO_VSOCK_BUF_ALLOC);
	gsend(env, &g, gh(OP(RW), 1234, hport), "world", 5);
	assert_int_equal(host_read(env, fd, buf, 5), 5);
	assert_memory_equal(buf, "world", 5);
	/* The host closes: SHUTDOWN (it sends no more), then the guest's RST ends it. */
	close(fd);
	grecv_op(env, &g, OP(SHUTDOWN), &h, NULL);
	assert_true(h.flags & HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(stats(&g).connections, 1);
	gsend(env, &g, gh(OP(RST), 1234, hport), NULL, 0);
	vt_pump(env);
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.host_connects, 1);
	assert_int_equal(st.rx_bytes, 5);
	assert_int_equal(st.tx_bytes, 5);
	status_ok(env);
	rig_down(&g);
}

/* Bytes right behind the CONNECT line are data, not part of the handshake. */
static void host_data_before_ok(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	char buf[64];

	rig_up(env, &g);
	int fd = host_connect(g.path);
	const char msg[] = "CONNECT 77\r\nearly bird";
	assert_int_equal(write(fd, msg, sizeof(msg) - 1), (ssize_t)(sizeof(msg) - 1));
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(REQUEST));
	assert_int_equal(h.dst_port, 77);
	nothing_received(env, &g); /* no data before the guest accepted */
	gsend(env, &g, gh(OP(RESPONSE), 77, h.src_port), NULL, 0);
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_int_equal(h.len, 10);
	assert_memory_equal(buf, "early bird", 10);
	close(fd);
	rig_down(&g);
}

/* The guest refuses (RST), or the host says nonsense: the host socket is closed. */
static void host_refused(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;

	rig_up(env, &g);
	int fd = host_connect(g.path);
	assert_int_equal(write(fd, "CONNECT 9\n", 10), 10);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(REQUEST));
	gsend(env, &g, gh(OP(RST), 9, h.src_port), NULL, 0);
	host_eof(env, fd);
	close(fd);
	const char *bad[] = {"HELLO\n", "CONNECT\n", "CONNECT x\n", "CONNECT 99999999999\n",
			     "CONNECT 5 6\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = host_connect(g.path);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		host_eof(env, fd);
		close(fd);
	}
	nothing_received(env, &g);
	assert_int_equal(stats(&g).connections, 0);
	rig_down(&g);
}

/* The guest connects to host port P: <path>_P takes it; no listener: RST. */
static void guest_initiated(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	char buf[64];

	rig_up(env, &g);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 40000, 5000, 1u << 20);
	gsend(env, &g, gh(OP(RW), 40000, 5000), "ping", 4);
	assert_int_equal(host_read(env, fd, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(fd, "pong", 4), 4);
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "pong", 4);
	/* The guest closes both ways: the device answers RST, the host sees EOF. */
	struct th s = gh(OP(SHUTDOWN), 40000, 5000);
	s.flags = BOTH;
	gsend(env, &g, s, NULL, 0);
	grecv_op(env, &g, OP(RST), &h, NULL);
	assert_int_equal(h.src_port, 5000);
	assert_int_equal(h.dst_port, 40000);
	host_eof(env, fd);
	close(fd);
	/* Nobody at <path>_5001. */
	gsend(env, &g, gh(OP(REQUEST), 40001, 5001), NULL, 0);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(RST));
	assert_int_equal(h.dst_port, 40001);
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_int_equal(st.guest_connects, 1);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.connections, 0);
	close(lfd);
	status_ok(env);
	rig_down(&g);
}

/* Half-close: the guest stops sending, the host sees EOF and can still answer. */
static void half_close(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	char buf[16];

	rig_up(env, &g);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 48000, 5000, 1u << 20);
	gsend(env, &g, gh(OP(RW), 48000, 5000), "req", 3);
	struct th s = gh(OP(SHUTDOWN), 48000, 5000);
	s.flags = HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND;
	gsend(env, &g, s, NULL, 0);
	assert_int_equal(host_read(env, fd, buf, sizeof(buf)), 3); /* then end of file */
	assert_memory_equal(buf, "req", 3);
	assert_int_equal(write(fd, "resp", 4), 4);
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "resp", 4);
	/* More data after SHUTDOWN(SEND) breaks the promise: RST. */
	gsend(env, &g, gh(OP(RW), 48000, 5000), "late", 4);
	grecv_op(env, &g, OP(RST), &h, NULL);
	close(fd);
	close(lfd);
	rig_down(&g);
}

/* The guest gives 10 bytes of credit: it gets 10 bytes, and more only as it grants more. */
static void credit_to_guest(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	uint8_t data[100], got[100], buf[1024];
	size_t n = 0;

	rig_up(env, &g);
	for (int i = 0; i < 100; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 41000, 5000, 10);
	assert_int_equal(write(fd, data, 100), 100);
	/* Ten bytes, then a request for credit, then nothing. */
	while (n < 10) {
		grecv(env, &g, &h, buf);
		if (h.op == OP(RW)) {
			memcpy(got + n, buf, h.len);
			n += h.len;
		}
	}
	assert_int_equal(n, 10);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(CREDIT_REQUEST));
	nothing_received(env, &g);
	/* The guest consumed them: ten more. */
	struct th u = gh(OP(CREDIT_UPDATE), 41000, 5000);
	u.buf_alloc = 10;
	u.fwd_cnt = 10;
	gsend(env, &g, u, NULL, 0);
	while (n < 20) {
		grecv(env, &g, &h, buf);
		if (h.op == OP(RW)) {
			memcpy(got + n, buf, h.len);
			n += h.len;
		}
	}
	assert_int_equal(n, 20);
	/* A bigger buffer: the rest. */
	u.buf_alloc = 1000;
	u.fwd_cnt = 20;
	gsend(env, &g, u, NULL, 0);
	while (n < 100) {
		grecv(env, &g, &h, buf);
		if (h.op == OP(RW)) {
			memcpy(got + n, buf, h.len);
			n += h.len;
		}
	}
	assert_int_equal(n, 100);
	assert_memory_equal(got, data, 100);
	close(fd);
	close(lfd);
	rig_down(&g);
}

/*
 * The host does not read: the socket fills, then the device's buffer, then
 * the guest's credit runs out and it must stop. When the host reads, credit
 * comes back and every byte arrives in order.
 */
static void credit_from_guest(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	enum {
		ALLOC = 65536,
		PKT = 8192,
		MAX = 4u << 20
	};
	static uint8_t sent[MAX], got[MAX];
	uint32_t tx = 0, fwd = 0;

	for (uint32_t i = 0; i < MAX; i++)
		sent[i] = (uint8_t)(i % 251);
	rig_up_with(env, &g, ALLOC, 0);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 42000, 5000, 1u << 20);
	for (int stall = 0; stall < 3 && tx + PKT <= MAX;) {
		if (ALLOC - (tx - fwd) >= PKT) {
			gsend(env, &g, gh(OP(RW), 42000, 5000), sent + tx, PKT);
			tx += PKT;
			vt_pump(env);
			continue;
		}
		/* Out of credit: wait for an update; three quiet rounds are a stall. */
		if (grecv_try(env, &g, &h, NULL, 20)) {
			assert_int_equal(h.op, OP(CREDIT_UPDATE));
			assert_true(h.fwd_cnt - fwd <= tx - fwd);
			fwd = h.fwd_cnt;
			stall = 0;
		} else {
			stall++;
		}
	}
	assert_true(tx < MAX); /* the host's socket cannot take 4 MiB */
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_true(st.tx_bytes < tx);		/* some bytes wait in the device */
	assert_true(tx - st.tx_bytes <= ALLOC); /* and never more than the credit */
	/* The host reads everything; the guest gets its credit back. */
	assert_int_equal(host_read(env, fd, got, tx), tx);
	assert_memory_equal(got, sent, tx);
	while (ALLOC - (tx - fwd) < ALLOC / 2) {
		grecv(env, &g, &h, NULL);
		assert_int_equal(h.op, OP(CREDIT_UPDATE));
		fwd = h.fwd_cnt;
	}
	assert_int_equal(stats(&g).tx_bytes, tx);
	status_ok(env);
	close(fd);
	close(lfd);
	rig_down(&g);
}

/* Data beyond the credit announced costs the connection. */
static void credit_violation(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;
	static uint8_t big[5000];

	rig_up_with(env, &g, 4096, 0);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 43000, 5000, 1u << 20);
	gsend(env, &g, gh(OP(RW), 43000, 5000), big, sizeof(big));
	grecv_op(env, &g, OP(RST), &h, NULL);
	assert_int_equal(h.dst_port, 43000);
	host_eof(env, fd);
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_int_equal(st.bad_packets, 1);
	assert_int_equal(st.tx_bytes, 0);
	assert_int_equal(st.connections, 0);
	status_ok(env);
	close(fd);
	close(lfd);
	rig_down(&g);
}

/* Every kind of bad packet: an RST where one can be addressed, never a crash. */
static void bad_packets(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h, p;

	rig_up(env, &g);
	int lfd = host_listen(&g, 5000);
	/* Too short for a header; from a foreign CID: dropped, no answer. */
	p = gh(OP(REQUEST), 1, 5000);
	p.len = 0;
	gsend_raw(env, &g, &p, NULL, 0, 20);
	p.src_cid = 7;
	gsend(env, &g, p, NULL, 0);
	nothing_received(env, &g);
	/* Answered with RST, addressed back to the sender. */
	struct th cases[5];
	cases[0] = gh(OP(REQUEST), 2, 5000), cases[0].type = 2;	   /* seqpacket */
	cases[1] = gh(99, 3, 5000);				   /* unknown op */
	cases[2] = gh(OP(INVALID), 4, 5000);			   /* op 0 */
	cases[3] = gh(OP(RW), 5, 5000);				   /* no connection */
	cases[4] = gh(OP(REQUEST), 6, 5000), cases[4].dst_cid = 9; /* another VM */
	for (int i = 0; i < 5; i++) {
		gsend(env, &g, cases[i], NULL, 0);
		grecv(env, &g, &h, NULL);
		assert_int_equal(h.op, OP(RST));
		assert_int_equal(h.dst_port, cases[i].src_port);
		assert_int_equal(h.src_port, 5000);
		assert_int_equal(h.src_cid, cases[i].dst_cid);
	}
	/* A length longer than the chain, on a live connection: RST, and it is gone. */
	int fd = guest_to_host(env, &g, lfd, 44000, 5000, 1u << 20);
	p = gh(OP(RW), 44000, 5000);
	p.len = 100;
	gsend_raw(env, &g, &p, "0123456789", 10, HDR + 10);
	grecv_op(env, &g, OP(RST), &h, NULL);
	host_eof(env, fd);
	close(fd);
	/* Payload on a control packet; RESPONSE nobody asked for. */
	fd = guest_to_host(env, &g, lfd, 44001, 5000, 1u << 20);
	gsend(env, &g, gh(OP(CREDIT_REQUEST), 44001, 5000), "x", 1);
	grecv_op(env, &g, OP(RST), &h, NULL);
	host_eof(env, fd);
	close(fd);
	fd = guest_to_host(env, &g, lfd, 44002, 5000, 1u << 20);
	gsend(env, &g, gh(OP(RESPONSE), 44002, 5000), NULL, 0);
	grecv_op(env, &g, OP(RST), &h, NULL);
	host_eof(env, fd);
	close(fd);
	/* An RST for nothing is not answered. */
	gsend(env, &g, gh(OP(RST), 1, 5000), NULL, 0);
	nothing_received(env, &g);
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_int_equal(st.bad_packets, 2 + 5 + 3);
	assert_int_equal(st.connections, 0);
	status_ok(env);
	close(lfd);
	rig_down(&g);
}

static void connection_limit(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;

	rig_up_with(env, &g, 0, 2);
	int lfd = host_listen(&g, 5000);
	int a = guest_to_host(env, &g, lfd, 45000, 5000, 4096);
	int b = guest_to_host(env, &g, lfd, 45001, 5000, 4096);
	gsend(env, &g, gh(OP(REQUEST), 45002, 5000), NULL, 0);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(RST));
	/* A host connection over the limit is closed at once. */
	int c = host_connect(g.path);
	host_eof(env, c);
	assert_int_equal(stats(&g).connections, 2);
	close(a);
	close(b);
	close(c);
	close(lfd);
	rig_down(&g);
}

/* ---- the CONNECT handshake ---- */

/* Waits (a hang guard, not a time limit on the device) until the device closes @p fd. */
static void wait_closed(struct vt_env *env, int fd)
{
	char c;

	for (int i = 0; i < WAIT_ITER; i++) {
		vt_pump(env);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) <= 0)
			continue;
		ssize_t n = read(fd, &c, 1);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return;
		fail_msg("unexpected data on a socket that should be closed");
	}
	fail_msg("the device did not close the host socket");
}

/* Memory held by what a host socket sent and the device has not read yet: 0 when none. */
static int unread(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, SIOCOUTQ, &n), 0);
	return n;
}

/*
 * A CONNECT line in pieces. The device takes what has come (nothing is left
 * queued on the socket, so the level-triggered loop goes idle instead of
 * spinning on the same bytes), and the handshake completes when the newline
 * arrives. A line that never ends within the length limit closes the socket.
 */
static void handshake_in_pieces(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;

	rig_up(env, &g);
	int fd = host_connect(g.path);
	assert_int_equal(write(fd, "CONNECT 4", 9), 9);
	vt_pump(env); /* fails with "event loop never went idle" if the bytes stay queued */
	assert_int_equal(unread(fd), 0);
	assert_int_equal(stats(&g).connections, 1);
	nothing_received(env, &g);
	assert_int_equal(write(fd, "2\r", 2), 2);
	vt_pump(env);
	nothing_received(env, &g);
	assert_int_equal(write(fd, "\ndata", 5), 5);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(REQUEST));
	assert_int_equal(h.dst_port, 42);
	/* What followed the newline is the connection's, still on the socket. */
	assert_true(unread(fd) > 0);
	gsend(env, &g, gh(OP(RESPONSE), 42, h.src_port), NULL, 0);
	char buf[32];
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_int_equal(h.len, 4);
	assert_memory_equal(buf, "data", 4);
	uint32_t hport = h.src_port;
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", hport);
	assert_int_equal(host_read(env, fd, buf, (size_t)n), (size_t)n);
	assert_memory_equal(buf, ok, (size_t)n);
	close(fd);
	grecv_op(env, &g, OP(SHUTDOWN), &h, NULL);
	gsend(env, &g, gh(OP(RST), 42, hport), NULL, 0);

	/* No newline within the limit: closed, whether it came at once or in pieces. */
	char junk[HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX + 8];
	memset(junk, '7', sizeof(junk));
	memcpy(junk, "CONNECT ", 8);
	fd = host_connect(g.path);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	wait_closed(env, fd);
	close(fd);
	fd = host_connect(g.path);
	for (size_t i = 0; i + 4 <= HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX + 1; i += 4) {
		assert_int_equal(write(fd, junk + i, 4), 4);
		vt_pump(env);
	}
	wait_closed(env, fd);
	close(fd);
	nothing_received(env, &g);
	status_ok(env);
	rig_down(&g);
}

/*
 * Host clients that connect and say nothing are closed when the handshake
 * deadline passes, so they cannot keep every connection slot: a later
 * client gets through. The deadline is made short here; the test waits for
 * the outcome, never for a time.
 */
static void handshake_deadline(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct hvabs_virtio_vsock_config cfg;
	uint32_t hport;

	memset(&g, 0, sizeof(g));
	snprintf(g.dir, sizeof(g.dir), "/tmp/hvabs-vsock-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	snprintf(g.path, sizeof(g.path), "%s/v.sock", g.dir);
	cfg = (struct hvabs_virtio_vsock_config){
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "vsock0"},
	    .guest_cid = CID,
	    .path = g.path,
	    .max_conns = 2,
	    .queue_size = QSIZE,
	    .handshake_timeout_ms = 20};
	assert_int_equal(hvabs_virtio_vsock_create(env->vm, &cfg, &g.v), 0);
	bring_up(env, &g);
	int a = host_connect(g.path), b = host_connect(g.path);
	assert_int_equal(write(b, "CONN", 4), 4); /* a start, then silence */
	vt_pump(env);
	assert_int_equal(stats(&g).connections, 2);
	wait_closed(env, a);
	wait_closed(env, b);
	struct hvabs_virtio_vsock_stats st = stats(&g);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.handshake_timeouts, 2);
	/* The slots are free again: a client that speaks up is connected. */
	int c = host_to_guest(env, &g, 1234, &hport, 4096);
	assert_int_equal(write(c, "hi", 2), 2);
	char buf[8];
	struct th h;
	grecv_op(env, &g, OP(RW), &h, buf);
	assert_memory_equal(buf, "hi", 2);
	nothing_received(env, &g); /* the closed handshakes cost the guest nothing */
	close(a);
	close(b);
	close(c);
	status_ok(env);
	rig_down(&g);
}

/* A transport reset closes the host side and posts TRANSPORT_RESET; so does a new CID. */
static void transport_reset(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t id, len;
	uint64_t v;

	rig_up(env, &g);
	int lfd = host_listen(&g, 5000);
	int fd = guest_to_host(env, &g, lfd, 46000, 5000, 4096);
	uint64_t ev = vqb_alloc(&g.ev, 4);
	assert_int_equal(hvabs_mem_fill(env->mem, ev, 0xff, 4), 0);
	vqb_add(&g.ev, &(struct vqb_buf){ev, 4, true}, 1);
	vt_notify(env, VT_BASE, EVQ);
	vt_pump(env);
	assert_int_equal(hvabs_virtio_vsock_reset_transport(g.v), 0);
	vt_pump(env);
	assert_true(vqb_get_used(&g.ev, &id, &len));
	assert_int_equal(len, 4);
	uint32_t evid;
	assert_int_equal(hvabs_mem_read_u32(env->mem, ev, &evid), 0);
	assert_int_equal(evid, HVABS_VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	host_eof(env, fd);
	close(fd);
	assert_int_equal(stats(&g).connections, 0);
	/* A new CID: the configuration says so and another event waits for a buffer. */
	uint32_t gen = vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(hvabs_virtio_vsock_set_cid(g.v, 42), 0);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 8, &v), 0);
	assert_int_equal(v, 42);
	assert_int_not_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen);
	vt_pump(env);
	assert_false(vqb_get_used(&g.ev, &id, &len));
	vqb_add(&g.ev, &(struct vqb_buf){vqb_alloc(&g.ev, 4), 4, true}, 1);
	vt_notify(env, VT_BASE, EVQ);
	vt_pump(env);
	assert_true(vqb_get_used(&g.ev, &id, &len));
	assert_int_equal(stats(&g).events, 2);
	close(lfd);
	rig_down(&g);
}

/* A driver reset closes every connection on the host. */
static void driver_reset(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t hport;

	rig_up(env, &g);
	int lfd = host_listen(&g, 5000);
	int a = guest_to_host(env, &g, lfd, 47000, 5000, 4096);
	int b = host_to_guest(env, &g, 80, &hport, 4096);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS, 0);
	host_eof(env, a);
	host_eof(env, b);
	assert_int_equal(stats(&g).connections, 0);
	/* And it works again. */
	bring_up(env, &g);
	int c = guest_to_host(env, &g, lfd, 47001, 5000, 4096);
	close(a);
	close(b);
	close(c);
	close(lfd);
	rig_down(&g);
}

static void one_bad_chain(struct vt_env *env, struct rig *g, uint32_t qi, enum vqb_bad kind)
{
	struct vqb *b = qi == RXQ ? &g->rx : qi == TXQ ? &g->tx : &g->ev;

	/* Fresh queues; for the receive queue, the bad chain is the only buffer. */
	bring_up_rx(env, g, qi != RXQ);
	vqb_add_bad(b, kind);
	uint8_t *before = vt_ram_copy(env);
	struct vt_range skip = {VT_RINGS + TXQ * 0x100000ull, vqb_ring_bytes(QSIZE)};
	if (qi == RXQ) {
		/* The device takes a receive buffer only to answer: make it answer. */
		gsend(env, g, gh(OP(REQUEST), 1, 5999), NULL, 0);
		free(before);
		before = vt_ram_copy(env);
	} else if (qi == EVQ) {
		assert_int_equal(hvabs_virtio_vsock_reset_transport(g->v), 0);
	}
	vt_notify(env, VT_BASE, qi);
	vt_pump(env);
	assert_true(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
	/* Nothing changed but the transmit ring the answered packet was returned on. */
	vt_ram_same(env, before, &skip, qi == RXQ ? 1 : 0);
	free(before);
}

static void malformed_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct th h;

	rig_up(env, &g);
	for (int k = 0; k < VQB_BAD_COUNT; k++)
		for (uint32_t qi = RXQ; qi <= EVQ; qi++) {
			print_message("  q%u: %s\n", qi, vqb_bad_name((enum vqb_bad)k));
			one_bad_chain(env, &g, qi, (enum vqb_bad)k);
		}
	/* After a reset it serves again. */
	bring_up(env, &g);
	status_ok(env);
	gsend(env, &g, gh(OP(REQUEST), 1, 5998), NULL, 0);
	grecv(env, &g, &h, NULL);
	assert_int_equal(h.op, OP(RST));
	rig_down(&g);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(identity_and_config), VT_CASE(host_initiated),    VT_CASE(host_data_before_ok),
	    VT_CASE(host_refused),	  VT_CASE(guest_initiated),   VT_CASE(half_close),
	    VT_CASE(credit_to_guest),	  VT_CASE(credit_from_guest), VT_CASE(credit_violation),
	    VT_CASE(bad_packets),	  VT_CASE(connection_limit),  VT_CASE(transport_reset),
	    VT_CASE(driver_reset),	  VT_CASE(malformed_chains),  VT_CASE(handshake_in_pieces),
	    VT_CASE(handshake_deadline),
	};

	signal(SIGPIPE, SIG_IGN);
	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
