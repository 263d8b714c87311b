/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net on a real tap, inside a network namespace this program makes
 * for itself (unshare(CLONE_NEWNET) before any thread exists), so the tap
 * and everything sent on it stay private and vanish with the process. The
 * host side of the tap is an AF_PACKET socket bound to it: what the guest
 * transmits arrives there, and what is sent there reaches the guest.
 *
 * Without the privilege to make a namespace or a tap the program exits 77
 * (skipped) and says why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_net.h>

#include "vt_harness.h"

#define TAP    "hvt0"
#define ETYPE  0x88b5 /* IEEE 802 local experimental: nothing else sends it */
#define HDR    HVABS_VIRTIO_NET_HDR_SIZE
#define BIT(n) HVABS_VIRTIO_BIT(n)
#define ST(x)  HVABS_VIRTIO_STATUS_##x
#define RXQ    0u
#define TXQ    1u
/* Hang guard while the kernel moves a frame: generous, never what is measured. */
#define WAIT_ITER 2000
#define WAIT_MS	  10

static const uint8_t the_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
/* Each test gets a fresh tap name, so one that fails and leaks its tap spoils no other. */
static char tap_name[IFNAMSIZ] = "hvt0";
static int tap_serial;

static int next_tap(void **state)
{
	snprintf(tap_name, sizeof(tap_name), "hvt%d", ++tap_serial);
	return vt_setup(state);
}

#undef VT_CASE
#define VT_CASE(fn) cmocka_unit_test_setup_teardown(fn, next_tap, vt_teardown)

struct rig {
	struct hvabs_virtio_net *n;
	struct vqb rx, tx;
	uint64_t features;
	int ifindex;
	int ps; /* AF_PACKET socket on the tap */
};

/* ---- the host side ---- */

static void set_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static int packet_socket(int ifindex, bool vnet_hdr)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
	int one = 1;

	assert_true(s >= 0);
	if (vnet_hdr)
		assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* A test frame: broadcast, from a made-up host MAC, ETYPE, payload from @p seed. */
static size_t make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x01}, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	return len;
}

/* The host sends a frame on the tap: the tap hands it to the device. */
static void host_send(struct rig *g, const uint8_t *f, size_t len)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETYPE),
				 .sll_ifindex = g->ifindex,
				 .sll_halen = 6};

	memcpy(to.sll_addr, f, 6);
	assert_int_equal(sendto(g->ps, f, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

/* Receives the next ETYPE frame the tap got from the device; returns its length. */
static ssize_t host_recv(struct rig *g, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < WAIT_ITER; i++) {
		struct pollfd p = {.fd = g->ps, .events = POLLIN};
		if (poll(&p, 1, WAIT_MS) <= 0)
			continue;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(g->ps, buf, cap, 0, (struct sockaddr *)&from, &fl);
		assert_true(n >= 0);
		if (from.sll_pkttype != PACKET_OUTGOING && n >= 14 && buf[12] == (ETYPE >> 8) &&
		    buf[13] == (ETYPE & 0xff))
			return n;
	}
	fail_msg("no frame came out of the tap");
	return -1;
}

/* ---- the guest side ---- */

static int rig_try(struct vt_env *env, struct rig *g, uint64_t accept, uint32_t flags,
		   const uint8_t *mac)
{
	struct hvabs_virtio_net_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop, .name = "net0"},
	    .tap = TAP,
	    .mac = mac,
	    .flags = flags,
	    .queue_size = 64};

	memset(g, 0, sizeof(*g));
	g->ps = -1;
	int rc = hvabs_virtio_net_create(env->vm, &cfg, &g->n);
	if (rc)
		return rc;
	set_up(TAP);
	g->ifindex = (int)if_nametoindex(TAP);
	assert_true(g->ifindex > 0);
	vt_vqb(env, &g->rx, RXQ, 64);
	vt_vqb(env, &g->tx, TXQ, 64);
	return (int)vt_negotiate(env, VT_BASE, accept, &g->features);
}

static void rig_up_with(struct vt_env *env, struct rig *g, uint64_t accept, bool vnet_sock)
{
	assert_true(rig_try(env, g, accept, 0, the_mac) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, RXQ, &g->rx);
	vt_queue(env, VT_BASE, TXQ, &g->tx);
	vt_driver_ok(env, VT_BASE);
	vt_pump(env);
	g->ps = packet_socket(g->ifindex, vnet_sock);
}

static void rig_up(struct vt_env *env, struct rig *g)
{
	rig_up_with(env, g, ~0ull, false);
}

static void rig_down(struct rig *g)
{
	if (g->ps >= 0)
		close(g->ps);
	hvabs_virtio_net_destroy(g->n);
}

static void status_ok(struct vt_env *env)
{
	assert_false(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
}

/* Posts @p n receive buffers of @p len bytes; returns the first one's address. */
static uint64_t post_rx(struct vt_env *env, struct rig *g, int n, uint32_t len)
{
	uint64_t first = 0;

	for (int i = 0; i < n; i++) {
		uint64_t a = vqb_alloc(&g->rx, len);
		if (!i)
			first = a;
		vqb_add(&g->rx, &(struct vqb_buf){a, len, true}, 1);
	}
	vt_notify(env, VT_BASE, RXQ);
	return first;
}

/* Pumps the loop until @p b has @p n used entries not yet taken. */
static void wait_used(struct vt_env *env, struct vqb *b, int n)
{
	for (int i = 0; i < WAIT_ITER; i++) {
		if ((uint16_t)(vqb_used_idx(b) - b->last_used) >= n)
			return;
		(void)hvabs_event_loop_run_once(env->loop, WAIT_MS);
	}
	fail_msg("the device did not use %d buffers", n);
}

/* Takes one used receive entry; returns its length and the buffer's guest address. */
static uint32_t take_rx(struct rig *g, uint64_t *gpa)
{
	uint32_t id, len;
	uint64_t addr;

	assert_true(vqb_get_used(&g->rx, &id, &len));
	assert_int_equal(hvabs_mem_read_u64(g->rx.mem, g->rx.desc + 16ull * id, &addr), 0);
	*gpa = addr;
	return len;
}

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- tests ---- */

static void identity_and_config(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t mac[6];
	uint64_t v;

	rig_up(env, &g);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), HVABS_VIRTIO_ID_NET);
	uint64_t want = BIT(HVABS_VIRTIO_NET_F_MAC) | BIT(HVABS_VIRTIO_NET_F_STATUS) |
			BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF) | BIT(HVABS_VIRTIO_F_VERSION_1);
	assert_int_equal(g.features & want, want);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(
		    hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100 + i, 1, &v), 0);
		assert_int_equal(v, the_mac[i]);
	}
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x106, 2, &v), 0);
	assert_int_equal(v, HVABS_VIRTIO_NET_S_LINK_UP);
	hvabs_virtio_net_mac(g.n, mac);
	assert_memory_equal(mac, the_mac, 6);
	assert_string_equal(hvabs_virtio_net_ifname(g.n), TAP);
	assert_non_null(hvabs_virtio_net_transport(g.n));
	rig_down(&g);
	/* The tap was made by the device and goes with it. */
	assert_int_equal(if_nametoindex(TAP), 0);
	hvabs_virtio_net_destroy(NULL);
}

static void random_mac_and_bad_config(void **state)
{
	struct vt_env *env = *state;
	struct hvabs_virtio_net *n;
	struct hvabs_virtio_net_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop}, .tap = TAP};
	uint8_t mac[6];
	uint64_t v;

	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), 0);
	hvabs_virtio_net_mac(n, mac);
	/* Unicast and locally administered. */
	assert_int_equal(mac[0] & 3, 2);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, 1, &v), 0);
	assert_int_equal(v, mac[0]);
	/* The tap is taken: a second device on it fails and says so. */
	cfg.mmio.base += HVABS_VIRTIO_MMIO_SIZE;
	struct hvabs_virtio_net *n2;
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n2), -EBUSY);
	hvabs_virtio_net_destroy(n);

	cfg.tap = NULL;
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), -EINVAL);
	cfg.tap = "a-name-much-too-long-for-linux";
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), -EINVAL);
	cfg.tap = TAP;
	cfg.queue_size = 48;
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), -EINVAL);
	cfg.queue_size = 1024;
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), -EINVAL);
	cfg.queue_size = 0;
	cfg.flags = 0x80;
	assert_int_equal(hvabs_virtio_net_create(env->vm, &cfg, &n), -EINVAL);
}

static void tx_frame_reaches_tap(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[300], got[2048];
	uint32_t id, len;

	rig_up(env, &g);
	make_frame(f, sizeof(f), 3);
	/* Header alone, then the frame in two pieces. */
	uint64_t h = vqb_alloc(&g.tx, HDR), a = vqb_alloc(&g.tx, 100), b = vqb_alloc(&g.tx, 200);
	assert_int_equal(hvabs_mem_write(env->mem, a, f, 100), 0);
	assert_int_equal(hvabs_mem_write(env->mem, b, f + 100, 200), 0);
	struct vqb_buf bufs[] = {{h, HDR, false}, {a, 100, false}, {b, 200, false}};
	uint16_t head = vqb_add(&g.tx, bufs, 3);
	vt_notify(env, VT_BASE, TXQ);
	vt_pump(env);
	assert_true(vqb_get_used(&g.tx, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(host_recv(&g, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	/* Through an indirect table, header and frame in one buffer. */
	uint64_t one = vqb_alloc(&g.tx, HDR + 80);
	make_frame(f, 80, 9);
	assert_int_equal(hvabs_mem_write(env->mem, one + HDR, f, 80), 0);
	vqb_add_indirect(&g.tx, &(struct vqb_buf){one, HDR + 80, false}, 1);
	vt_notify(env, VT_BASE, TXQ);
	vt_pump(env);
	assert_int_equal(host_recv(&g, got, sizeof(got)), 80);
	assert_memory_equal(got, f, 80);
	struct hvabs_virtio_net_stats st;
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tx_packets, 2);
	assert_int_equal(st.tx_bytes, 380);
	assert_int_equal(st.tx_dropped, 0);
	status_ok(env);
	rig_down(&g);
}

static void rx_frame_reaches_guest(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[200];
	uint64_t gpa;

	rig_up(env, &g);
	(void)vt_irqs(env, 0);
	post_rx(env, &g, 4, 2048);
	vt_pump(env);
	host_send(&g, f, make_frame(f, sizeof(f), 5));
	wait_used(env, &g.rx, 1);
	assert_int_equal(take_rx(&g, &gpa), HDR + sizeof(f));
	const uint8_t *p = env->ram + gpa;
	assert_int_equal(p[1], HVABS_VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(le16_at(p + 10), 1); /* num_buffers */
	assert_memory_equal(p + HDR, f, sizeof(f));
	/* The guest was interrupted for it. */
	vt_pump(env);
	assert_true(vt_irqs(env, 1) >= 1);
	struct hvabs_virtio_net_stats st;
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(st.rx_bytes, sizeof(f));
	status_ok(env);
	rig_down(&g);
}

/* Frames wait in the tap while the guest has no buffer: none lost, no busy loop. */
static void rx_waits_for_buffers(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[3][100];
	uint64_t gpa;

	rig_up(env, &g);
	for (int i = 0; i < 3; i++)
		host_send(&g, f[i], make_frame(f[i], sizeof(f[i]), (uint8_t)(40 * i)));
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&g.rx), 0);
	post_rx(env, &g, 1, 1024);
	wait_used(env, &g.rx, 1);
	assert_int_equal(take_rx(&g, &gpa), HDR + 100);
	assert_memory_equal(env->ram + gpa + HDR, f[0], 100);
	/* Two frames are in the tap and the ring is empty: the loop must go idle. */
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&g.rx), 1);
	post_rx(env, &g, 2, 1024);
	wait_used(env, &g.rx, 2);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(take_rx(&g, &gpa), HDR + 100);
		assert_memory_equal(env->ram + gpa + HDR, f[i], 100);
	}
	struct hvabs_virtio_net_stats st;
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.rx_packets, 3);
	assert_int_equal(st.rx_dropped, 0);
	rig_down(&g);
}

/* With MRG_RXBUF a frame spreads over small buffers and num_buffers counts them. */
static void mergeable_buffers(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[1000], back[HDR + 1000];
	uint64_t gpa;
	uint32_t off = 0;

	rig_up(env, &g);
	assert_true(g.features & BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF));
	post_rx(env, &g, 8, 256);
	host_send(&g, f, make_frame(f, sizeof(f), 11));
	wait_used(env, &g.rx, 4);
	for (int i = 0; i < 4; i++) {
		uint32_t len = take_rx(&g, &gpa);
		assert_int_equal(len, i < 3 ? 256 : HDR + 1000 - 3 * 256);
		memcpy(back + off, env->ram + gpa, len);
		off += len;
	}
	assert_int_equal(le16_at(back + 10), 4);
	assert_memory_equal(back + HDR, f, sizeof(f));
	/* The next frame starts in the next buffer. */
	host_send(&g, f, make_frame(f, 60, 12));
	wait_used(env, &g.rx, 1);
	assert_int_equal(take_rx(&g, &gpa), HDR + 60);
	assert_int_equal(le16_at(env->ram + gpa + 10), 1);
	assert_memory_equal(env->ram + gpa + HDR, f, 60);
	rig_down(&g);
}

/* Without MRG_RXBUF a frame larger than the buffer is dropped, the buffer kept. */
static void single_buffer_drops_oversize(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t big[1000], small[64];
	uint64_t gpa;
	struct hvabs_virtio_net_stats st;

	rig_up_with(env, &g, ~BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF), false);
	uint64_t a = post_rx(env, &g, 1, 512);
	host_send(&g, big, make_frame(big, sizeof(big), 1));
	for (int i = 0; i < WAIT_ITER; i++) {
		hvabs_virtio_net_get_stats(g.n, &st);
		if (st.rx_dropped)
			break;
		(void)hvabs_event_loop_run_once(env->loop, WAIT_MS);
	}
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(vqb_used_idx(&g.rx), 0);
	host_send(&g, small, make_frame(small, sizeof(small), 2));
	wait_used(env, &g.rx, 1);
	assert_int_equal(take_rx(&g, &gpa), HDR + sizeof(small));
	assert_int_equal(gpa, a);
	assert_int_equal(le16_at(env->ram + gpa + 10), 1);
	assert_memory_equal(env->ram + gpa + HDR, small, sizeof(small));
	status_ok(env);
	rig_down(&g);
}

/*
 * §4.2.2.2: QueueReady = 0 on the receive queue, without a reset, then the
 * queue set up again. The device held a chain of the old ring (after
 * dropping a frame too big for it); the next frame must reach the new one.
 */
static void queue_stop_drops_held_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t big[1000], small[64];
	uint64_t gpa;
	struct hvabs_virtio_net_stats st;

	rig_up_with(env, &g, ~BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF), false);
	(void)post_rx(env, &g, 1, 512);
	host_send(&g, big, make_frame(big, sizeof(big), 1));
	for (int i = 0; i < WAIT_ITER; i++) {
		hvabs_virtio_net_get_stats(g.n, &st);
		if (st.rx_dropped)
			break;
		(void)hvabs_event_loop_run_once(env->loop, WAIT_MS);
	}
	assert_int_equal(st.rx_dropped, 1); /* the 512-byte chain is held */
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_SEL, RXQ);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_READY), 0);
	vt_vqb(env, &g.rx, RXQ, 64);
	(void)vqb_alloc(&g.rx, 512); /* the new buffer is not where the old one was */
	vt_queue(env, VT_BASE, RXQ, &g.rx);
	uint64_t b = post_rx(env, &g, 1, 512);
	host_send(&g, small, make_frame(small, sizeof(small), 2));
	wait_used(env, &g.rx, 1);
	assert_int_equal(take_rx(&g, &gpa), HDR + sizeof(small));
	assert_int_equal(gpa, b);
	assert_memory_equal(env->ram + gpa + HDR, small, sizeof(small));
	status_ok(env);
	rig_down(&g);
}

/* ---- offloads ---- */

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * A 3000-byte TCPv4 GSO frame sent into the tap with a vnet header
 * (PACKET_VNET_HDR: the 10-byte header), MSS 1000; returns its length.
 */
static size_t gso_frame(uint8_t *b, uint8_t *vh)
{
	size_t pay = 3000, len = 14 + 20 + 20 + pay;
	uint32_t s = 0;

	memset(b, 0, len);
	memset(b, 0xff, 6);
	memcpy(b + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x01}, 6);
	b[12] = 0x08;
	uint8_t *ip = b + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 20 + pay) >> 8);
	ip[3] = (uint8_t)(20 + 20 + pay);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	uint16_t ic = (uint16_t)~csum_fold(s);
	ip[10] = (uint8_t)(ic >> 8);
	ip[11] = (uint8_t)ic;
	tcp[0] = 0x30, tcp[1] = 0x39, tcp[2] = 0x00, tcp[3] = 0x50;
	tcp[12] = 5 << 4;
	tcp[13] = 0x10; /* ACK */
	tcp[14] = 0xff;
	/* Pseudo-header sum in the checksum field, as for a partial checksum (§5.1.6.2). */
	s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + (uint32_t)(20 + pay);
	uint16_t pc = csum_fold(s);
	tcp[16] = (uint8_t)(pc >> 8);
	tcp[17] = (uint8_t)pc;
	for (size_t i = 0; i < pay; i++)
		tcp[20 + i] = (uint8_t)i;
	memset(vh, 0, 10);
	vh[0] = HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh[1] = HVABS_VIRTIO_NET_HDR_GSO_TCPV4;
	vh[2] = 54;				/* hdr_len */
	vh[4] = 1000 & 0xff, vh[5] = 1000 >> 8; /* gso_size */
	vh[6] = 34;				/* csum_start */
	vh[8] = 16;				/* csum_offset */
	return len;
}

static void send_gso(struct rig *g)
{
	static uint8_t b[10 + 3100];
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_IP),
				 .sll_ifindex = g->ifindex,
				 .sll_halen = 6};

	size_t len = gso_frame(b + 10, b);
	memset(to.sll_addr, 0xff, 6);
	assert_int_equal(sendto(g->ps, b, 10 + len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)(10 + len));
}

/* Reads the next frame (of several buffers) from the receive ring into @p out. */
static uint32_t rx_frame(struct vt_env *env, struct rig *g, uint8_t *out)
{
	uint64_t gpa;

	wait_used(env, &g->rx, 1);
	uint32_t len = take_rx(g, &gpa), off = len;
	memcpy(out, env->ram + gpa, len);
	uint16_t nb = le16_at(out + 10);
	assert_true(nb >= 1);
	wait_used(env, &g->rx, nb - 1);
	for (int i = 1; i < nb; i++) {
		len = take_rx(g, &gpa);
		memcpy(out + off, env->ram + gpa, len);
		off += len;
	}
	return off;
}

static void offloads_negotiated_with_tap(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct hvabs_virtio_net_stats st;
	static uint8_t fr[HDR + 4000];
	uint64_t all = BIT(HVABS_VIRTIO_NET_F_CSUM) | BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM) |
		       BIT(HVABS_VIRTIO_NET_F_HOST_TSO4) | BIT(HVABS_VIRTIO_NET_F_HOST_TSO6) |
		       BIT(HVABS_VIRTIO_NET_F_HOST_ECN) | BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4) |
		       BIT(HVABS_VIRTIO_NET_F_GUEST_TSO6) | BIT(HVABS_VIRTIO_NET_F_GUEST_ECN);

	/* Everything accepted: the tap takes TSO and hands the GSO frame over whole. */
	rig_up_with(env, &g, ~0ull, true);
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tap_supported, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	assert_int_equal(g.features & all, all);
	assert_int_equal(st.tap_offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	post_rx(env, &g, 16, 1024);
	send_gso(&g);
	assert_int_equal(rx_frame(env, &g, fr), HDR + 3054);
	assert_int_equal(fr[1], HVABS_VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16_at(fr + 4), 1000); /* gso_size */
	assert_true(fr[0] & HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM);
	/* A reset takes the offloads off the tap. */
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS, 0);
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tap_offloads, 0);
	rig_down(&g);

	/* Checksum only: the kernel cuts the frame into three for the guest. */
	uint64_t no_tso = ~(BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4) |
			    BIT(HVABS_VIRTIO_NET_F_GUEST_TSO6) | BIT(HVABS_VIRTIO_NET_F_GUEST_ECN));
	rig_up_with(env, &g, no_tso, true);
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tap_offloads, TUN_F_CSUM);
	post_rx(env, &g, 16, 2048);
	send_gso(&g);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rx_frame(env, &g, fr), HDR + 54 + 1000);
		assert_int_equal(fr[1], HVABS_VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(fr[HDR + 54], (uint8_t)(i * 1000));
	}
	rig_down(&g);
}

static void offload_rules(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	struct hvabs_virtio_net_stats st;

	/* §5.1.3.1: GUEST_TSO4 needs GUEST_CSUM; FEATURES_OK is refused. */
	uint64_t bad = ~BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM);
	assert_false(rig_try(env, &g, bad, 0, NULL) & ST(FEATURES_OK));
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tap_offloads, 0);
	rig_down(&g);
	/* HOST_TSO4 needs CSUM. */
	assert_false(rig_try(env, &g, ~BIT(HVABS_VIRTIO_NET_F_CSUM), 0, NULL) & ST(FEATURES_OK));
	rig_down(&g);
	/* Offloads can be switched off: only the basic features are offered. */
	assert_true(rig_try(env, &g, ~0ull, HVABS_VIRTIO_NET_NO_OFFLOAD, NULL) & ST(FEATURES_OK));
	assert_int_equal(g.features &
			     (BIT(HVABS_VIRTIO_NET_F_CSUM) | BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM) |
			      BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4)),
			 0);
	rig_down(&g);
}

/* Headers the driver may not send, and chains too short, are dropped alone. */
static void tx_bad_frames_dropped(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[64], got[256];
	struct hvabs_virtio_net_stats st;
	uint32_t id, len;

	rig_up_with(env, &g,
		    ~(BIT(HVABS_VIRTIO_NET_F_CSUM) | BIT(HVABS_VIRTIO_NET_F_HOST_TSO4) |
		      BIT(HVABS_VIRTIO_NET_F_HOST_TSO6) | BIT(HVABS_VIRTIO_NET_F_HOST_ECN)),
		    false);
	make_frame(f, sizeof(f), 4);
	uint64_t a = vqb_alloc(&g.tx, HDR + sizeof(f));
	assert_int_equal(hvabs_mem_write(env->mem, a + HDR, f, sizeof(f)), 0);
	/* NEEDS_CSUM without VIRTIO_NET_F_CSUM. */
	assert_int_equal(hvabs_mem_fill(env->mem, a, HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM, 1), 0);
	vqb_add(&g.tx, &(struct vqb_buf){a, HDR + sizeof(f), false}, 1);
	/* A header and nothing else; fewer bytes than a header. */
	vqb_add(&g.tx, &(struct vqb_buf){vqb_alloc(&g.tx, HDR), HDR, false}, 1);
	vqb_add(&g.tx, &(struct vqb_buf){vqb_alloc(&g.tx, 5), 5, false}, 1);
	/* And a good one. */
	uint64_t ok = vqb_alloc(&g.tx, HDR + sizeof(f));
	assert_int_equal(hvabs_mem_write(env->mem, ok + HDR, f, sizeof(f)), 0);
	vqb_add(&g.tx, &(struct vqb_buf){ok, HDR + sizeof(f), false}, 1);
	vt_notify(env, VT_BASE, TXQ);
	vt_pump(env);
	for (int i = 0; i < 4; i++)
		assert_true(vqb_get_used(&g.tx, &id, &len));
	assert_int_equal(host_recv(&g, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.tx_dropped, 3);
	assert_int_equal(st.tx_packets, 1);
	status_ok(env);
	rig_down(&g);
}

/* A receive buffer smaller than a header is returned empty; the device goes on. */
static void rx_tiny_buffer(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint8_t f[60];
	uint64_t gpa;
	struct hvabs_virtio_net_stats st;

	rig_up(env, &g);
	uint64_t tiny = vqb_alloc(&g.rx, 8);
	assert_int_equal(hvabs_mem_fill(env->mem, tiny, 0xa5, 8), 0);
	vqb_add(&g.rx, &(struct vqb_buf){tiny, 8, true}, 1);
	post_rx(env, &g, 1, 512);
	host_send(&g, f, make_frame(f, sizeof(f), 6));
	wait_used(env, &g.rx, 2);
	assert_int_equal(take_rx(&g, &gpa), 0);
	assert_int_equal(gpa, tiny);
	for (int i = 0; i < 8; i++)
		assert_int_equal(env->ram[tiny + i], 0xa5);
	assert_int_equal(take_rx(&g, &gpa), HDR + sizeof(f));
	hvabs_virtio_net_get_stats(g.n, &st);
	assert_int_equal(st.bad_buffers, 1);
	status_ok(env);
	rig_down(&g);
}

/* Malformed chains on either queue: DEVICE_NEEDS_RESET, guest memory untouched, then a reset heals. */
static void one_bad_chain(struct vt_env *env, struct rig *g, uint32_t qi, enum vqb_bad kind)
{
	struct vqb *b = qi == RXQ ? &g->rx : &g->tx;
	uint8_t f[60], got[128];

	vqb_add_bad(b, kind);
	uint8_t *before = vt_ram_copy(env);
	vt_notify(env, VT_BASE, qi);
	vt_pump(env);
	uint32_t s = vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS);
	assert_true(s & ST(NEEDS_RESET));
	vt_ram_same(env, before, NULL, 0);
	free(before);
	/* Reset, set up again, and a frame goes out. */
	vqb_reset(&g->rx);
	vqb_reset(&g->tx);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, RXQ, &g->rx);
	vt_queue(env, VT_BASE, TXQ, &g->tx);
	vt_driver_ok(env, VT_BASE);
	uint64_t a = vqb_alloc(&g->tx, HDR + sizeof(f));
	make_frame(f, sizeof(f), (uint8_t)kind);
	assert_int_equal(hvabs_mem_write(env->mem, a + HDR, f, sizeof(f)), 0);
	vqb_add(&g->tx, &(struct vqb_buf){a, HDR + sizeof(f), false}, 1);
	vt_notify(env, VT_BASE, TXQ);
	vt_pump(env);
	assert_int_equal(host_recv(g, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	status_ok(env);
}

static void malformed_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;

	rig_up(env, &g);
	for (int k = 0; k < VQB_BAD_COUNT; k++) {
		print_message("  tx: %s\n", vqb_bad_name((enum vqb_bad)k));
		one_bad_chain(env, &g, TXQ, (enum vqb_bad)k);
		print_message("  rx: %s\n", vqb_bad_name((enum vqb_bad)k));
		one_bad_chain(env, &g, RXQ, (enum vqb_bad)k);
	}
	rig_down(&g);
}

/*
 * This host cannot run the test: skipped (exit 77, shown by CTest as Not
 * Run), unless HVABS_REQUIRE_TAP=1 says it must be able to (CI runs as root
 * with /dev/net/tun), where a skip would hide every net test.
 */
static void cannot_run(const char *why, int err)
{
	const char *req = getenv("HVABS_REQUIRE_TAP");

	if (req && !strcmp(req, "1")) {
		fprintf(stderr, "FAIL: %s (%s), but HVABS_REQUIRE_TAP=1\n", why, strerror(err));
		exit(1);
	}
	fprintf(stderr, "SKIP: %s (%s); set HVABS_REQUIRE_TAP=1 to make this a failure\n", why,
		strerror(err));
	exit(77);
}

/* Runs in a network namespace of its own, or says why it cannot. */
static void enter_netns(void)
{
	if (unshare(CLONE_NEWNET))
		cannot_run("cannot make a network namespace: needs CAP_SYS_ADMIN", errno);
	/* No IPv6 chatter (router solicitations, DAD) on the tap. */
	int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cannot_run("cannot open /dev/net/tun", errno);
	close(fd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(identity_and_config),
	    VT_CASE(random_mac_and_bad_config),
	    VT_CASE(tx_frame_reaches_tap),
	    VT_CASE(rx_frame_reaches_guest),
	    VT_CASE(rx_waits_for_buffers),
	    VT_CASE(mergeable_buffers),
	    VT_CASE(single_buffer_drops_oversize),
	    VT_CASE(queue_stop_drops_held_chains),
	    VT_CASE(offloads_negotiated_with_tap),
	    VT_CASE(offload_rules),
	    VT_CASE(tx_bad_frames_dropped),
	    VT_CASE(rx_tiny_buffer),
	    VT_CASE(malformed_chains),
	};

	enter_netns();
	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
