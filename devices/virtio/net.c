/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2 §5.1) on a tap device: the tap, feature and
 * offload negotiation, the transmit path and the event-loop glue. The
 * receive path is in net_rx.c.
 *
 * The tap carries a 12-byte vnet header before every frame
 * (TUNSETVNETHDRSZ), laid out like virtio_net_hdr_v1, so a transmitted
 * chain goes to the tap as it is, after the header was checked against
 * what the driver negotiated (§5.1.6.2.1).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "net_priv.h"

#define BIT(n) HVABS_VIRTIO_BIT(n)
/* Chains per queue_notify call, so register accesses do not wait long for the lock. */
#define TX_BATCH 64
#define TUN_CSUM TUN_F_CSUM
#define TUN_TSO	 (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
#define OFFLOADS0                                                                                  \
	(BIT(HVABS_VIRTIO_NET_F_CSUM) | BIT(HVABS_VIRTIO_NET_F_HOST_TSO4) |                        \
	 BIT(HVABS_VIRTIO_NET_F_HOST_TSO6) | BIT(HVABS_VIRTIO_NET_F_HOST_ECN) |                    \
	 BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM))
#define OFFLOADS1                                                                                  \
	(BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4) | BIT(HVABS_VIRTIO_NET_F_GUEST_TSO6) |                 \
	 BIT(HVABS_VIRTIO_NET_F_GUEST_ECN))

/* ---- small helpers ---- */

void net_watch(struct hvabs_virtio_net *n, uint32_t bit, bool on)
{
	uint32_t want = on ? n->watching | bit : n->watching & ~bit;

	if (want == n->watching || !n->ev)
		return;
	/* epoll_ctl only: safe on vCPU threads with the device lock held. */
	if (hvabs_event_modify(n->ev, want)) {
		NET_WARN(n, "%s: cannot change the events watched on %s", n->name, n->ifname);
		return;
	}
	n->watching = want;
}

bool net_queue_usable(struct hvabs_virtio_net *n, uint32_t index)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(n->tp, index);

	return n->active && hvabs_virtq_is_enabled(q) && !hvabs_virtq_is_broken(q);
}

static bool has(const struct hvabs_virtio_net *n, int bit)
{
	return n->features & BIT(bit);
}

/* ---- configuration space (§5.1.4): mac, status, max_virtqueue_pairs ---- */

static void net_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct hvabs_virtio_net *n = opaque;

	memcpy(buf, n->config + off, len);
}

/* ---- negotiation ---- */

/* §5.1.3.1: features that need another one. */
static int check_deps(struct hvabs_virtio_net *n, uint64_t f)
{
	static const struct {
		int bit, needs_a, needs_b;
	} deps[] = {
	    {HVABS_VIRTIO_NET_F_GUEST_TSO4, HVABS_VIRTIO_NET_F_GUEST_CSUM, -1},
	    {HVABS_VIRTIO_NET_F_GUEST_TSO6, HVABS_VIRTIO_NET_F_GUEST_CSUM, -1},
	    {HVABS_VIRTIO_NET_F_GUEST_ECN, HVABS_VIRTIO_NET_F_GUEST_TSO4,
	     HVABS_VIRTIO_NET_F_GUEST_TSO6},
	    {HVABS_VIRTIO_NET_F_HOST_TSO4, HVABS_VIRTIO_NET_F_CSUM, -1},
	    {HVABS_VIRTIO_NET_F_HOST_TSO6, HVABS_VIRTIO_NET_F_CSUM, -1},
	    {HVABS_VIRTIO_NET_F_HOST_ECN, HVABS_VIRTIO_NET_F_HOST_TSO4,
	     HVABS_VIRTIO_NET_F_HOST_TSO6},
	};

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
		if (!(f & BIT(deps[i].bit)) || (f & BIT(deps[i].needs_a)) ||
		    (deps[i].needs_b >= 0 && (f & BIT(deps[i].needs_b))))
			continue;
		NET_WARN(n, "%s: feature %d accepted without the one it requires (%d): refused",
			 n->name, deps[i].bit, deps[i].needs_a);
		return -EINVAL;
	}
	return 0;
}

static int set_offload(struct hvabs_virtio_net *n, uint32_t tun)
{
	if (ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)tun) < 0)
		return -errno;
	n->tun_offloads = tun;
	return 0;
}

/* The receive offloads the driver accepted become the tap's: only such frames reach us. */
static int net_features_ok(void *opaque, uint64_t f)
{
	struct hvabs_virtio_net *n = opaque;
	uint32_t tun = 0;

	if (check_deps(n, f))
		return -EINVAL;
	if (f & BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM))
		tun |= TUN_F_CSUM;
	if (f & BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4))
		tun |= TUN_F_TSO4;
	if (f & BIT(HVABS_VIRTIO_NET_F_GUEST_TSO6))
		tun |= TUN_F_TSO6;
	if (f & BIT(HVABS_VIRTIO_NET_F_GUEST_ECN))
		tun |= TUN_F_TSO_ECN;
	int rc = set_offload(n, tun);
	if (rc) {
		NET_WARN(n, "%s: %s refused offloads 0x%x: %s", n->name, n->ifname, tun,
			 strerror(-rc));
		return rc;
	}
	n->features = f;
	return 0;
}

static void net_driver_ok(void *opaque)
{
	struct hvabs_virtio_net *n = opaque;

	/* The transport kicks the ready queues next; the receive notify starts the tap. */
	n->active = true;
}

static void net_reset(void *opaque)
{
	struct hvabs_virtio_net *n = opaque;

	n->active = false;
	n->features = 0;
	n->tx_waiting = false;
	net_rx_drop(n);
	net_watch(n, HVABS_EVENT_IN | HVABS_EVENT_OUT, false);
	if (n->tun_offloads && set_offload(n, 0))
		NET_WARN(n, "%s: cannot clear the offloads of %s", n->name, n->ifname);
}

/* §4.2.2.2 QueueReady = 0: chains held from that queue are the old ring's. */
static void net_queue_stop(void *opaque, uint32_t index)
{
	struct hvabs_virtio_net *n = opaque;

	/* The next notify of the queue starts watching the tap again. */
	if (index == NET_RXQ) {
		net_rx_drop(n);
		net_watch(n, HVABS_EVENT_IN, false);
	} else {
		n->tx_waiting = false;
		net_watch(n, HVABS_EVENT_OUT, false);
	}
}

/* ---- transmit ---- */

/* §5.1.6.2.1: what the driver may ask of the device, given what it negotiated. */
static bool tx_header_ok(struct hvabs_virtio_net *n, const uint8_t *h)
{
	uint8_t flags = h[0], gso = h[1] & (uint8_t)~HVABS_VIRTIO_NET_HDR_GSO_ECN;

	if ((flags & HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(n, HVABS_VIRTIO_NET_F_CSUM))
		return false;
	if ((h[1] & HVABS_VIRTIO_NET_HDR_GSO_ECN) && !has(n, HVABS_VIRTIO_NET_F_HOST_ECN))
		return false;
	switch (gso) {
	case HVABS_VIRTIO_NET_HDR_GSO_NONE:
		return !(h[1] & HVABS_VIRTIO_NET_HDR_GSO_ECN);
	case HVABS_VIRTIO_NET_HDR_GSO_TCPV4:
		return has(n, HVABS_VIRTIO_NET_F_HOST_TSO4) &&
		       (flags & HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM);
	case HVABS_VIRTIO_NET_HDR_GSO_TCPV6:
		return has(n, HVABS_VIRTIO_NET_F_HOST_TSO6) &&
		       (flags & HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM);
	default:
		return false;
	}
}

/* Writes one chain to the tap: 0 when done with it (sent or dropped), -EAGAIN to retry. */
static int tx_one(struct hvabs_virtio_net *n, const struct hvabs_virtq_chain *c)
{
	uint8_t hdr[NET_HDR];
	uint32_t frame = c->readable_len - NET_HDR;

	if (c->readable_len <= NET_HDR || frame > HVABS_VIRTIO_NET_MAX_FRAME) {
		NET_WARN(n, "%s: transmit chain of %u bytes: not a header and a frame", n->name,
			 c->readable_len);
		n->st.tx_dropped++;
		return 0;
	}
	/* The header is checked in a copy and the copy is what the tap gets. */
	hvabs_virtq_chain_read(c, 0, hdr, NET_HDR);
	if (!tx_header_ok(n, hdr)) {
		NET_WARN(n, "%s: transmit header flags 0x%x gso_type 0x%x not negotiated: dropped",
			 n->name, hdr[0], hdr[1]);
		n->st.tx_dropped++;
		return 0;
	}
	memset(hdr + 10, 0, 2); /* num_buffers is unused on transmit (§5.1.6.2) */
	n->iov[0] = (struct iovec){hdr, NET_HDR};
	int cnt = hvabs_virtq_chain_iov(c, HVABS_VIRTQ_READABLE, NET_HDR, frame, n->iov + 1,
					NET_IOV_MAX - 1);
	if (cnt < 0) {
		NET_WARN(n, "%s: transmit chain in too many pieces", n->name);
		n->st.tx_dropped++;
		return 0;
	}
	ssize_t w = writev(n->tap, n->iov, cnt + 1);
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (w < 0) {
		/* EIO: the interface is down; EINVAL: the kernel refused the frame. */
		NET_WARN(n, "%s: %s refused a %u-byte frame: %s", n->name, n->ifname, frame,
			 strerror(errno));
		n->st.tx_dropped++;
		return 0;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += frame;
	return 0;
}

/* Sends queued frames; returns 1 when a batch ended with work left. */
static int tx_run(struct hvabs_virtio_net *n, struct hvabs_virtq *q)
{
	for (int i = 0; i < TX_BATCH; i++) {
		if (!n->tx_waiting) {
			hvabs_virtq_chain_init(&n->txc, n->txsegs, n->qsize);
			if (hvabs_virtq_pop(q, &n->txc))
				return 0; /* empty, or broken: the transport handles that */
		}
		n->tx_waiting = false;
		if (tx_one(n, &n->txc) == -EAGAIN) {
			/* The chain stays ours until the tap takes it. */
			n->tx_waiting = true;
			net_watch(n, HVABS_EVENT_OUT, true);
			return 0;
		}
		if (hvabs_virtq_push(q, &n->txc, 0))
			return 0;
	}
	return 1;
}

/* ---- event loop ---- */

/* A tap that failed a read (deleted interface: it polls as an error for
 * ever) leaves the loop for good; loop thread only. */
static void drop_failed_tap(struct hvabs_virtio_net *n)
{
	if (!n->tap_failed || !n->ev)
		return;
	hvabs_log(n->log, HVABS_LOG_ERROR, NET_COMP,
		  "%s: %s failed; the device no longer receives from it", n->name, n->ifname);
	hvabs_event_remove(n->ev);
	n->ev = NULL;
	n->watching = 0;
}

static int net_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtio_net *n = opaque;

	if (index == NET_TXQ)
		return n->tx_waiting ? 0 : tx_run(n, q);
	/* New receive buffers: a frame may have waited for them, and the tap may be read again. */
	(void)net_rx_run(n);
	drop_failed_tap(n);
	return 0;
}

static void on_tap(void *opaque, uint32_t events)
{
	struct hvabs_virtio_net *n = opaque;

	hvabs_virtio_transport_lock(n->tp);
	if (!n->ev) {
		hvabs_virtio_transport_unlock(n->tp);
		return;
	}
	if (events & HVABS_EVENT_OUT) {
		net_watch(n, HVABS_EVENT_OUT, false);
		struct hvabs_virtq *q = hvabs_virtio_transport_queue(n->tp, NET_TXQ);
		if (n->tx_waiting && net_queue_usable(n, NET_TXQ)) {
			int more = tx_run(n, q);
			if (hvabs_virtq_is_broken(q))
				hvabs_virtio_transport_set_needs_reset(n->tp);
			(void)hvabs_virtio_transport_signal_used(n->tp, NET_TXQ);
			if (more)
				(void)hvabs_virtio_transport_kick(n->tp, NET_TXQ);
		}
	}
	if (events & (HVABS_EVENT_IN | HVABS_EVENT_ERR | HVABS_EVENT_HUP)) {
		if (net_rx_run(n))
			(void)hvabs_virtio_transport_signal_used(n->tp, NET_RXQ);
		if (hvabs_virtq_is_broken(hvabs_virtio_transport_queue(n->tp, NET_RXQ)))
			hvabs_virtio_transport_set_needs_reset(n->tp);
		drop_failed_tap(n);
	}
	hvabs_virtio_transport_unlock(n->tp);
}

/* ---- the tap ---- */

/* Opens the tap with a 12-byte vnet header and learns which offloads it takes. */
static int tap_open(struct hvabs_virtio_net *n, const char *name)
{
	struct ifreq ifr;
	int hdrsz = NET_HDR, rc;

	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0) {
		rc = -errno;
		hvabs_log(n->log, HVABS_LOG_ERROR, NET_COMP, "%s: /dev/net/tun: %s", n->name,
			  strerror(-rc));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(n->tap, TUNSETIFF, &ifr) < 0 || ioctl(n->tap, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		rc = -errno;
		hvabs_log(n->log, HVABS_LOG_ERROR, NET_COMP, "%s: tap %s: %s", n->name, name,
			  strerror(-rc));
		close(n->tap);
		n->tap = -1;
		return rc;
	}
	memcpy(n->ifname, ifr.ifr_name, IFNAMSIZ);
	n->ifname[IFNAMSIZ - 1] = '\0';
	/* Probe: every offload we could offer, then checksum alone, then none. */
	if (!set_offload(n, TUN_CSUM | TUN_TSO))
		n->tun_supported = TUN_CSUM | TUN_TSO;
	else if (!set_offload(n, TUN_CSUM))
		n->tun_supported = TUN_CSUM;
	if (set_offload(n, 0))
		n->tun_supported = 0;
	return 0;
}

static void build_config(struct hvabs_virtio_net *n)
{
	uint16_t status = htole16(HVABS_VIRTIO_NET_S_LINK_UP), pairs = htole16(1);

	memcpy(n->config, n->mac, 6);
	memcpy(n->config + 6, &status, 2);
	memcpy(n->config + 8, &pairs, 2); /* only meaningful with VIRTIO_NET_F_MQ */
	memset(n->config + 10, 0, 2);
}

static void setup_ops(struct hvabs_virtio_net *n, uint32_t flags)
{
	n->ops.device_id = HVABS_VIRTIO_ID_NET;
	n->ops.num_queues = 2;
	n->ops.queue_size_max = n->qsize;
	n->ops.config_size = 10; /* mac, status, max_virtqueue_pairs; no MTU or speed */
	n->ops.features = BIT(HVABS_VIRTIO_NET_F_MAC) | BIT(HVABS_VIRTIO_NET_F_STATUS) |
			  BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF) | BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |
			  BIT(HVABS_VIRTIO_F_EVENT_IDX);
	if (!(flags & HVABS_VIRTIO_NET_NO_OFFLOAD) && (n->tun_supported & TUN_CSUM))
		n->ops.features |= OFFLOADS0;
	if (!(flags & HVABS_VIRTIO_NET_NO_OFFLOAD) && (n->tun_supported & TUN_F_TSO4))
		n->ops.features |= OFFLOADS1;
	n->ops.config_read = net_config_read;
	n->ops.features_ok = net_features_ok;
	n->ops.driver_ok = net_driver_ok;
	n->ops.queue_notify = net_notify;
	n->ops.reset = net_reset;
	n->ops.queue_stop = net_queue_stop;
}

/* ---- public API ---- */

static int check_config(const struct hvabs_virtio_net_config *cfg, uint32_t *qs)
{
	*qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_NET_QUEUE_SIZE;
	if (!cfg->tap || !cfg->tap[0] || strlen(cfg->tap) >= IFNAMSIZ)
		return -EINVAL;
	if (*qs < 2 || *qs > HVABS_VIRTIO_NET_QUEUE_MAX || (*qs & (*qs - 1)))
		return -EINVAL;
	return cfg->flags & ~HVABS_VIRTIO_NET_NO_OFFLOAD ? -EINVAL : 0;
}

static void release(struct hvabs_virtio_net *n)
{
	if (n->tap >= 0)
		close(n->tap);
	net_rx_fini(n);
	free(n->txsegs);
	free(n);
}

static int pick_mac(struct hvabs_virtio_net *n, const uint8_t *mac)
{
	if (mac) {
		memcpy(n->mac, mac, 6);
		return 0;
	}
	if (getrandom(n->mac, 6, 0) != 6)
		return -EIO;
	/* Unicast, locally administered (IEEE 802 §9.2). */
	n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02);
	return 0;
}

int hvabs_virtio_net_create(struct hvabs_vm *vm, const struct hvabs_virtio_net_config *cfg,
			    struct hvabs_virtio_net **out)
{
	uint32_t qs;

	if (!vm || !cfg || !out || check_config(cfg, &qs))
		return -EINVAL;
	struct hvabs_virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->tap = -1;
	n->log = hvabs_vm_logger(vm);
	n->qsize = qs;
	snprintf(n->name, sizeof(n->name), "%s", cfg->mmio.name ? cfg->mmio.name : "net");
	n->txsegs = calloc(qs, sizeof(*n->txsegs));
	int rc = n->txsegs ? net_rx_init(n) : -ENOMEM;
	if (!rc)
		rc = pick_mac(n, cfg->mac);
	if (!rc)
		rc = tap_open(n, cfg->tap);
	if (rc) {
		release(n);
		return rc;
	}
	build_config(n);
	setup_ops(n, cfg->flags);
	struct hvabs_virtio_mmio_params p = cfg->mmio;
	p.name = n->name;
	rc = virtio_transport_create(vm, &p, cfg->pci, &n->ops, n, &n->t, &n->pt, &n->tp);
	/* Watched for nothing until the driver is ready: the kernel keeps the frames. */
	if (!rc)
		rc = hvabs_event_add(p.loop, n->tap, 0, on_tap, n, &n->ev);
	if (rc) {
		virtio_transport_destroy(n->t, n->pt);
		release(n);
		return rc;
	}
	*out = n;
	return 0;
}

void hvabs_virtio_net_destroy(struct hvabs_virtio_net *n)
{
	if (!n)
		return;
	/* Removing the tap source waits for its callback, which takes the device lock:
	 * detach it under the lock, remove it outside. */
	hvabs_virtio_transport_lock(n->tp);
	struct hvabs_event *ev = n->ev;
	n->ev = NULL;
	hvabs_virtio_transport_unlock(n->tp);
	hvabs_event_remove(ev);
	virtio_transport_destroy(n->t, n->pt);
	release(n);
}

struct hvabs_virtio_mmio *hvabs_virtio_net_transport(struct hvabs_virtio_net *n)
{
	return n->t;
}

void hvabs_virtio_net_mac(const struct hvabs_virtio_net *n, uint8_t mac[6])
{
	memcpy(mac, n->mac, 6);
}

const char *hvabs_virtio_net_ifname(const struct hvabs_virtio_net *n)
{
	return n->ifname;
}

void hvabs_virtio_net_get_stats(struct hvabs_virtio_net *n, struct hvabs_virtio_net_stats *st)
{
	hvabs_virtio_transport_lock(n->tp);
	*st = n->st;
	st->tap_offloads = n->tun_offloads;
	st->tap_supported = n->tun_supported;
	hvabs_virtio_transport_unlock(n->tp);
}
