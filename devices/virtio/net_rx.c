/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net receive path (virtio 1.2 §5.1.6.3 and §5.1.6.4).
 *
 * A frame is read from the tap into one bounce buffer only when the guest
 * has given at least one receive buffer; the frame then waits there, and
 * the tap is not read again, until enough buffers arrived to hold it. So
 * the device never buffers more than one frame, never reads what it cannot
 * deliver, and when the guest stops giving buffers the tap's own queue
 * (bounded by its txqueuelen) is what fills up.
 *
 * Receive chains are popped into `held`, oldest first, with their segments
 * packed in `pool`, and used in that order. With MRG_RXBUF a frame takes as
 * many chains as it needs and the first one's num_buffers says how many
 * (§5.1.6.3.2); without it, one chain holds the whole frame, and a frame
 * larger than that chain is dropped while the chain waits for the next.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_priv.h"

#define BIT(n) HVABS_VIRTIO_BIT(n)
/* Frames per call before letting register accesses have the lock. */
#define RX_BATCH 64

int net_rx_init(struct hvabs_virtio_net *n)
{
	n->pkt = malloc(NET_RX_BUF);
	/* Room for every chain of a full ring of one-segment buffers, and a pop always fits. */
	n->pool_cap = 2 * n->qsize;
	n->pool = calloc(n->pool_cap, sizeof(*n->pool));
	n->held = calloc(n->qsize, sizeof(*n->held));
	n->push_chains = calloc(n->qsize, sizeof(*n->push_chains));
	n->push_len = calloc(n->qsize, sizeof(*n->push_len));
	return n->pkt && n->pool && n->held && n->push_chains && n->push_len ? 0 : -ENOMEM;
}

void net_rx_fini(struct hvabs_virtio_net *n)
{
	free(n->pkt);
	free(n->pool);
	free(n->held);
	free(n->push_chains);
	free(n->push_len);
}

void net_rx_drop(struct hvabs_virtio_net *n)
{
	/* Held chains are stale after a reset; the driver reclaims them itself. */
	n->nheld = 0;
	n->pool_used = 0;
	n->held_len = 0;
	n->pkt_len = 0;
}

/* Forgets the @p k oldest held chains and packs the rest at the front of the pool. */
static void drop_front(struct hvabs_virtio_net *n, uint32_t k)
{
	uint32_t first = k < n->nheld ? (uint32_t)(n->held[k].seg - n->pool) : n->pool_used;

	for (uint32_t i = 0; i < k; i++)
		n->held_len -= n->held[i].writable_len;
	memmove(n->pool, n->pool + first, (n->pool_used - first) * sizeof(*n->pool));
	for (uint32_t i = k; i < n->nheld; i++) {
		n->held[i - k] = n->held[i];
		n->held[i - k].seg -= first;
	}
	n->nheld -= k;
	n->pool_used -= first;
}

/*
 * Pops one more receive chain. -ENOENT: the ring is empty; -ENOSPC: nothing
 * more can be held (the ring's worth, or the pool); other errors: the queue.
 */
static int hold_one(struct hvabs_virtio_net *n, struct hvabs_virtq *q)
{
	for (;;) {
		uint32_t size = hvabs_virtq_size(q);
		if (n->nheld == n->qsize || n->pool_cap - n->pool_used < size)
			return -ENOSPC;
		struct hvabs_virtq_chain *c = &n->held[n->nheld];
		hvabs_virtq_chain_init(c, n->pool + n->pool_used, n->pool_cap - n->pool_used);
		int rc = hvabs_virtq_pop(q, c);
		if (rc)
			return rc;
		if (c->writable_len >= NET_HDR) {
			n->pool_used += c->nr_readable + c->nr_writable;
			n->held_len += c->writable_len;
			n->nheld++;
			return 0;
		}
		/* §5.1.6.3.1: every receive buffer holds at least a header. */
		NET_WARN(n, "%s: receive buffer of %u writable bytes, less than a header", n->name,
			 c->writable_len);
		n->st.bad_buffers++;
		rc = hvabs_virtq_push(q, c, 0);
		if (rc)
			return rc;
	}
}

/* §5.1.6.4: the header must promise only what the driver negotiated. */
static bool rx_header_ok(struct hvabs_virtio_net *n, uint8_t *h)
{
	uint8_t gso = h[1] & (uint8_t)~HVABS_VIRTIO_NET_HDR_GSO_ECN;
	bool csum = n->features & BIT(HVABS_VIRTIO_NET_F_GUEST_CSUM);

	if (!csum) {
		if (h[0] & HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h[0] = 0; /* no DATA_VALID either without GUEST_CSUM */
	}
	if ((h[1] & HVABS_VIRTIO_NET_HDR_GSO_ECN) &&
	    !(n->features & BIT(HVABS_VIRTIO_NET_F_GUEST_ECN)))
		return false;
	switch (gso) {
	case HVABS_VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case HVABS_VIRTIO_NET_HDR_GSO_TCPV4:
		return n->features & BIT(HVABS_VIRTIO_NET_F_GUEST_TSO4);
	case HVABS_VIRTIO_NET_HDR_GSO_TCPV6:
		return n->features & BIT(HVABS_VIRTIO_NET_F_GUEST_TSO6);
	default:
		return false;
	}
}

static void drop_frame(struct hvabs_virtio_net *n, const char *why)
{
	NET_WARN(n, "%s: %u-byte frame from %s dropped: %s", n->name,
		 n->pkt_len > NET_HDR ? n->pkt_len - NET_HDR : 0, n->ifname, why);
	n->st.rx_dropped++;
	n->pkt_len = 0;
}

/*
 * Copies the waiting frame into the first @p k held chains and returns them
 * with one used-index update (hvabs_virtq_push_many), so a driver polling the
 * ring never sees part of a merged frame and counts buffers missing.
 */
static int put_frame(struct hvabs_virtio_net *n, struct hvabs_virtq *q, uint32_t k)
{
	uint16_t nb = htole16((uint16_t)k);
	uint32_t off = 0;

	memcpy(n->pkt + 10, &nb, 2); /* num_buffers (§5.1.6.3.2) */
	for (uint32_t i = 0; i < k; i++) {
		const struct hvabs_virtq_chain *c = &n->held[i];
		uint32_t part =
		    n->pkt_len - off < c->writable_len ? n->pkt_len - off : c->writable_len;
		hvabs_virtq_chain_write(c, 0, n->pkt + off, part);
		off += part;
		n->push_chains[i] = c;
		n->push_len[i] = part;
	}
	if (hvabs_virtq_push_many(q, n->push_chains, n->push_len, k)) {
		net_rx_drop(n);
		return -EIO;
	}
	n->st.rx_packets++;
	n->st.rx_bytes += n->pkt_len - NET_HDR;
	n->pkt_len = 0;
	drop_front(n, k);
	return 0;
}

/* Delivers the waiting frame: 0 when it is gone (given or dropped), -EAGAIN to wait. */
static int deliver(struct hvabs_virtio_net *n, struct hvabs_virtq *q)
{
	bool mrg = n->features & BIT(HVABS_VIRTIO_NET_F_MRG_RXBUF);
	uint32_t need = n->pkt_len, k = 0;
	uint64_t room = 0;
	int rc;

	if (!rx_header_ok(n, n->pkt)) {
		drop_frame(n, "offload the driver did not negotiate");
		return 0;
	}
	while (n->nheld == 0 || (mrg && n->held_len < need)) {
		rc = hold_one(n, q);
		if (rc == -ENOENT)
			return -EAGAIN;
		if (rc == -ENOSPC) {
			drop_frame(n, "larger than all receive buffers together");
			return 0;
		}
		if (rc)
			return rc;
	}
	if (!mrg && n->held[0].writable_len < need) {
		drop_frame(n, "larger than the receive buffer (no VIRTIO_NET_F_MRG_RXBUF)");
		return 0;
	}
	while (room < need)
		room += n->held[k++].writable_len;
	return put_frame(n, q, k);
}

/* Reads one frame from the tap; 0, -EAGAIN when none, another error when the tap failed. */
static int read_tap(struct hvabs_virtio_net *n)
{
	ssize_t r = read(n->tap, n->pkt, NET_RX_BUF);

	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return -EAGAIN;
		n->tap_failed = true;
		return -errno;
	}
	n->pkt_len = (uint32_t)r;
	if (r <= (ssize_t)NET_HDR)
		drop_frame(n, "no frame after the header");
	else if (r == (ssize_t)NET_RX_BUF)
		drop_frame(n, "longer than the largest frame");
	return 0;
}

bool net_rx_run(struct hvabs_virtio_net *n)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(n->tp, NET_RXQ);
	uint64_t before = n->st.rx_packets;

	if (!net_queue_usable(n, NET_RXQ) || n->tap_failed) {
		net_watch(n, HVABS_EVENT_IN, false);
		return false;
	}
	for (int i = 0; i < RX_BATCH; i++) {
		if (!n->pkt_len) {
			/* Read only with somewhere to put the frame. */
			if (!n->nheld && hold_one(n, q))
				break; /* empty (wait for a notify), or broken */
			if (read_tap(n))
				break; /* nothing to read, or the tap failed */
			if (!n->pkt_len)
				continue; /* read, but dropped */
		}
		if (deliver(n, q))
			break; /* wait for more buffers, or the queue failed */
	}
	/*
	 * Watch the tap only while a frame could be taken from it: no frame
	 * waits for buffers and a buffer is in hand. After a full batch the
	 * buffers may all be used: look for one more before deciding.
	 */
	bool more = false;
	if (!n->pkt_len && !n->tap_failed && net_queue_usable(n, NET_RXQ)) {
		if (!n->nheld)
			(void)hold_one(n, q);
		more = n->nheld > 0;
	}
	net_watch(n, HVABS_EVENT_IN, more);
	return n->st.rx_packets != before;
}
