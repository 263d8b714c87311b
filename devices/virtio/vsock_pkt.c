/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packets from the guest (the tx queue, virtio 1.2 §5.10.6).
 *
 * The header is copied out of guest memory once and every decision is made
 * on the copy. A packet that breaks the protocol costs the guest its
 * connection (an RST, and the host socket is closed); one that cannot even
 * be addressed (too short, a foreign source CID) is dropped. Either way it
 * is counted and the device goes on.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock_priv.h"
#include "vsock_uds.h"

/* Packets per queue_notify call, so register accesses do not wait long for the lock. */
#define TX_BATCH 64

static void get_hdr(const uint8_t *b, struct vs_hdr *h)
{
	uint64_t q;
	uint32_t d;
	uint16_t w;

#define GET(off, var, conv, dst) (memcpy(&var, b + (off), sizeof(var)), dst = conv(var))
	GET(0, q, le64toh, h->src_cid);
	GET(8, q, le64toh, h->dst_cid);
	GET(16, d, le32toh, h->src_port);
	GET(20, d, le32toh, h->dst_port);
	GET(24, d, le32toh, h->len);
	GET(28, w, le16toh, h->type);
	GET(30, w, le16toh, h->op);
	GET(32, d, le32toh, h->flags);
	GET(36, d, le32toh, h->buf_alloc);
	GET(40, d, le32toh, h->fwd_cnt);
#undef GET
}

static void bad(struct hvabs_virtio_vsock *v, const struct vs_hdr *h, const char *why)
{
	VS_WARN(v, "%s: op %u from guest port %u to %llu:%u: %s", v->name, h->op, h->src_port,
		(unsigned long long)h->dst_cid, h->dst_port, why);
	v->st.bad_packets++;
}

/* An RST answering @p h, from where it was sent to. */
static void reply_rst(struct hvabs_virtio_vsock *v, const struct vs_hdr *h)
{
	vs_queue_rst(v, h->dst_cid, h->dst_port, h->src_port);
}

/* The guest connects to port P of the host: the listener at <path>_<P> takes it. */
static void on_request(struct hvabs_virtio_vsock *v, const struct vs_hdr *h)
{
	char path[128];
	int fd = -ENOSPC;

	if (v->nconns < v->max_conns) {
		snprintf(path, sizeof(path), "%s_%u", v->path, h->dst_port);
		fd = uds_connect(path);
	}
	struct vs_conn *c = fd >= 0 ? vs_conn_new(v, fd, VS_ESTABLISHED) : NULL;
	if (!c) {
		/* §5.10.6.4: nobody listens, or no resources: RST. */
		if (fd >= 0)
			close(fd);
		v->st.refused++;
		reply_rst(v, h);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vs_hash_add(v, c);
	vs_owe(v, c, PEND_RESPONSE);
	v->st.guest_connects++;
	vs_arm(v, c);
}

/* The guest accepted a host-initiated connection: tell the host program. */
static void on_response(struct hvabs_virtio_vsock *v, struct vs_conn *c, const struct vs_hdr *h)
{
	char ok[24];

	if (c->state != VS_CONNECTING) {
		bad(v, h, "RESPONSE to no REQUEST");
		vs_rst_conn(v, c);
		return;
	}
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	/* A fresh socket has room for a line; if not, the host program is gone. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		vs_rst_conn(v, c);
		return;
	}
	c->state = VS_ESTABLISHED;
	c->deadline_ns = 0;
	v->st.host_connects++;
}

static void on_shutdown(struct hvabs_virtio_vsock *v, struct vs_conn *c, const struct vs_hdr *h)
{
	/* §5.10.6.4: the flags are hints that stay once sent. */
	c->peer_shut |=
	    h->flags & (HVABS_VIRTIO_VSOCK_SHUTDOWN_RCV | HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND);
	if ((c->peer_shut & HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->blen)
		(void)shutdown(c->fd, SHUT_WR);
	vs_maybe_finish(v, c);
}

/* Keeps the bytes the host socket did not take, in the connection's ring. */
static int keep(struct hvabs_virtio_vsock *v, struct vs_conn *c, const struct hvabs_virtq_chain *ch,
		uint32_t from, uint32_t len)
{
	if (!c->buf && !(c->buf = malloc(v->buf_alloc)))
		return -ENOMEM;
	while (len) {
		uint32_t tail = (c->bhead + c->blen) % v->buf_alloc;
		uint32_t k = v->buf_alloc - tail < len ? v->buf_alloc - tail : len;
		hvabs_virtq_chain_read(ch, from, c->buf + tail, k);
		c->blen += k;
		from += k;
		len -= k;
	}
	return 0;
}

static void on_rw(struct hvabs_virtio_vsock *v, struct vs_conn *c,
		  const struct hvabs_virtq_chain *ch, const struct vs_hdr *h)
{
	uint32_t done = 0;

	if (c->state != VS_ESTABLISHED || (c->peer_shut & HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		bad(v, h, "data on a connection not open for it");
		vs_rst_conn(v, c);
		return;
	}
	/* §5.10.6.3: never more than the space we announced. */
	if (h->len > v->buf_alloc - (c->rx_cnt - c->fwd_cnt)) {
		bad(v, h, "data beyond the credit given");
		vs_rst_conn(v, c);
		return;
	}
	c->rx_cnt += h->len;
	if (!c->blen && h->len) {
		/* Straight from guest memory when nothing is queued before it. */
		int n = hvabs_virtq_chain_iov(ch, HVABS_VIRTQ_READABLE, VS_HDR, h->len, v->iov,
					      VS_IOV_MAX);
		struct msghdr m = {.msg_iov = v->iov, .msg_iovlen = n > 0 ? (size_t)n : 0};
		ssize_t w = n > 0 ? sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			vs_rst_conn(v, c); /* the host side is gone */
			return;
		}
		done = w > 0 ? (uint32_t)w : 0;
		c->fwd_cnt += done;
		v->st.tx_bytes += done;
	}
	if (done < h->len && keep(v, c, ch, VS_HDR + done, h->len - done)) {
		vs_rst_conn(v, c);
		return;
	}
	vs_credit_check(v, c);
}

/* Checks what can be checked without a connection; false when the packet is done with. */
static bool sane(struct hvabs_virtio_vsock *v, const struct hvabs_virtq_chain *ch,
		 const struct vs_hdr *h, struct vs_conn *c)
{
	if (h->dst_cid != HVABS_VIRTIO_VSOCK_HOST_CID) {
		bad(v, h, "not for the host");
		reply_rst(v, h);
		return false;
	}
	const char *why = NULL;
	if (h->type != HVABS_VIRTIO_VSOCK_TYPE_STREAM)
		why = "not a stream packet"; /* §5.10.6.2.2: RST for an unknown type */
	else if (h->op == HVABS_VIRTIO_VSOCK_OP_INVALID ||
		 h->op > HVABS_VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		why = "unknown operation";
	else if (h->len > ch->readable_len - VS_HDR || h->len > HVABS_VIRTIO_VSOCK_MAX_PAYLOAD ||
		 (h->len && h->op != HVABS_VIRTIO_VSOCK_OP_RW))
		why = "length does not match the packet";
	else if (!c && h->op != HVABS_VIRTIO_VSOCK_OP_REQUEST)
		why = "no such connection";
	if (!why)
		return true;
	bad(v, h, why);
	if (c)
		vs_rst_conn(v, c);
	else
		reply_rst(v, h);
	return false;
}

static void handle(struct hvabs_virtio_vsock *v, const struct hvabs_virtq_chain *ch)
{
	uint8_t raw[VS_HDR];
	struct vs_hdr h;

	if (ch->readable_len < VS_HDR) {
		VS_WARN(v, "%s: transmit chain of %u bytes, shorter than a header: dropped",
			v->name, ch->readable_len);
		v->st.bad_packets++;
		return;
	}
	hvabs_virtq_chain_read(ch, 0, raw, VS_HDR);
	get_hdr(raw, &h);
	/* §5.10.6.2.1: the guest's own CID, or the packet is not the guest's to send. */
	if (h.src_cid != v->cid) {
		bad(v, &h, "source CID is not the guest's: dropped");
		return;
	}
	struct vs_conn *c =
	    h.dst_cid == HVABS_VIRTIO_VSOCK_HOST_CID ? vs_lookup(v, h.dst_port, h.src_port) : NULL;
	if (h.op == HVABS_VIRTIO_VSOCK_OP_RST) {
		/* Never answered: an RST for an RST could go back and forth. */
		if (c)
			vs_kill(v, c);
		return;
	}
	if (!sane(v, ch, &h, c))
		return;
	if (h.op == HVABS_VIRTIO_VSOCK_OP_REQUEST) {
		if (c) {
			bad(v, &h, "REQUEST for a connection that exists");
			vs_rst_conn(v, c);
			return;
		}
		on_request(v, &h);
		return;
	}
	/* Every packet of a flow carries the guest's buffer space (§5.10.6.3). */
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	c->asked_credit = false;
	switch (h.op) {
	case HVABS_VIRTIO_VSOCK_OP_RESPONSE:
		on_response(v, c, &h);
		break;
	case HVABS_VIRTIO_VSOCK_OP_SHUTDOWN:
		on_shutdown(v, c, &h);
		break;
	case HVABS_VIRTIO_VSOCK_OP_RW:
		on_rw(v, c, ch, &h);
		break;
	case HVABS_VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vs_owe(v, c, PEND_CREDIT);
		break;
	default: /* CREDIT_UPDATE: taken above */
		break;
	}
	if (!c->dead)
		vs_arm(v, c); /* new credit may let the host side be read */
}

int vs_tx_run(struct hvabs_virtio_vsock *v, struct hvabs_virtq *q)
{
	for (int i = 0; i < TX_BATCH; i++) {
		hvabs_virtq_chain_init(&v->txc, v->txsegs, v->qsize);
		if (hvabs_virtq_pop(q, &v->txc))
			return 0; /* empty, or broken: the transport handles that */
		handle(v, &v->txc);
		if (hvabs_virtq_push(q, &v->txc, 0))
			return 0;
	}
	return 1;
}
