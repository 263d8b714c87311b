/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock connections: the table, their host Unix sockets, and every
 * packet that goes to the guest (virtio 1.2 §5.10.6).
 *
 * A host socket is in the device's private epoll set only while there is
 * something to do with it: reading while the guest has credit for it and a
 * receive buffer, writing while guest bytes wait for it. Out of the set it
 * cannot report a hang-up for ever, so the event loop never spins on a
 * socket the device cannot serve now.
 *
 * Packets the device owes the guest that carry no payload (REQUEST,
 * RESPONSE, CREDIT_UPDATE, CREDIT_REQUEST, SHUTDOWN) are flags on the
 * connection, queued in order of first need; RSTs go to a bounded ring,
 * since the connection they answer is gone. Payload is read from the host
 * socket straight into the guest's receive buffer.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock_priv.h"

#define READ_BATCH   8
#define ACCEPT_BATCH 16

/* ---- the table ---- */

static uint32_t bucket(uint32_t local, uint32_t peer)
{
	return ((local * 2654435761u) ^ peer) % VS_BUCKETS;
}

struct vs_conn *vs_conn_new(struct hvabs_virtio_vsock *v, int fd, enum vs_state state)
{
	if (v->nconns >= v->max_conns)
		return NULL;
	struct vs_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->state = state;
	c->next = v->conns;
	if (v->conns)
		v->conns->prev = c;
	v->conns = c;
	v->nconns++;
	return c;
}

struct vs_conn *vs_lookup(struct hvabs_virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (struct vs_conn *c = v->buckets[bucket(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return NULL;
}

void vs_hash_add(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	struct vs_conn **b = &v->buckets[bucket(c->local_port, c->peer_port)];

	c->hnext = *b;
	*b = c;
}

static void unlink_all(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	if (c->state != VS_HANDSHAKE) {
		struct vs_conn **pp = &v->buckets[bucket(c->local_port, c->peer_port)];
		while (*pp && *pp != c)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = c->hnext;
	}
	if (c->in_ctl) {
		struct vs_conn **pp = &v->ctl_head, *prev = NULL;
		while (*pp != c) {
			prev = *pp;
			pp = &(*pp)->cnext;
		}
		*pp = c->cnext;
		if (v->ctl_tail == c)
			v->ctl_tail = prev;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		v->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

void vs_kill(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->in_epoll)
		(void)epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	unlink_all(v, c);
	v->nconns--;
	/* Callers (and epoll results of the current batch) may still look at it:
	 * freed by vs_reap() when the device lock is about to be released. */
	c->next = v->graveyard;
	v->graveyard = c;
}

void vs_kill_all(struct hvabs_virtio_vsock *v)
{
	while (v->conns)
		vs_kill(v, v->conns);
	v->rst_len = v->rst_head = 0;
}

void vs_reap(struct hvabs_virtio_vsock *v)
{
	while (v->graveyard) {
		struct vs_conn *c = v->graveyard;
		v->graveyard = c->next;
		free(c->buf);
		free(c);
	}
}

void vs_owe(struct hvabs_virtio_vsock *v, struct vs_conn *c, uint32_t pend)
{
	c->pend |= pend;
	if (c->in_ctl)
		return;
	c->in_ctl = true;
	c->cnext = NULL;
	if (v->ctl_tail)
		v->ctl_tail->cnext = c;
	else
		v->ctl_head = c;
	v->ctl_tail = c;
}

void vs_queue_rst(struct hvabs_virtio_vsock *v, uint64_t src_cid, uint32_t src_port,
		  uint32_t dst_port)
{
	if (v->rst_len == VS_RST_RING) {
		VS_WARN(v, "%s: too many RSTs wait for receive buffers: one dropped", v->name);
		v->st.rst_dropped++;
		return;
	}
	v->rsts[(v->rst_head + v->rst_len) % VS_RST_RING] =
	    (struct vs_rst){.src_cid = src_cid, .src_port = src_port, .dst_port = dst_port};
	v->rst_len++;
}

void vs_rst_conn(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	/* A handshake the guest never heard of needs no RST. */
	if (c->state != VS_HANDSHAKE)
		vs_queue_rst(v, HVABS_VIRTIO_VSOCK_HOST_CID, c->local_port, c->peer_port);
	vs_kill(v, c);
}

/* ---- interest ---- */

/* §5.10.6.3: bytes the guest can still take on this connection. */
static uint32_t credit(const struct vs_conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static bool wants_read(const struct hvabs_virtio_vsock *v, const struct vs_conn *c)
{
	if (c->state == VS_HANDSHAKE)
		return true;
	return c->state == VS_ESTABLISHED && !(c->pend & PEND_RESPONSE) && !c->host_eof &&
	       !(c->peer_shut & HVABS_VIRTIO_VSOCK_SHUTDOWN_RCV) && v->active && !v->rx_starved &&
	       credit(c) > 0;
}

void vs_arm(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	uint32_t ev = (wants_read(v, c) ? EPOLLIN : 0u) | (c->blen ? EPOLLOUT : 0u);

	if (c->dead || (ev == c->events && (ev != 0) == c->in_epoll))
		return;
	if (!ev) {
		(void)epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->in_epoll = false;
		c->events = 0;
		return;
	}
	struct epoll_event ee = {.events = ev, .data.ptr = c};
	if (epoll_ctl(v->epfd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ee)) {
		VS_WARN(v, "%s: cannot watch a host socket: %s", v->name, strerror(errno));
		vs_rst_conn(v, c);
		return;
	}
	c->in_epoll = true;
	c->events = ev;
}

void vs_arm_all(struct hvabs_virtio_vsock *v)
{
	for (struct vs_conn *c = v->conns, *n; c; c = n) {
		n = c->next;
		vs_arm(v, c);
	}
}

/* ---- packets to the guest ---- */

/* The receive chain for the next packet, or NULL when the guest gave none. */
static struct hvabs_virtq_chain *rx_chain(struct hvabs_virtio_vsock *v)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(v->tp, VS_RXQ);

	if (v->rx_held)
		return &v->rxc;
	if (!v->active || !hvabs_virtq_is_enabled(q) || hvabs_virtq_is_broken(q))
		return NULL;
	for (;;) {
		hvabs_virtq_chain_init(&v->rxc, v->rxsegs, v->qsize);
		int rc = hvabs_virtq_pop(q, &v->rxc);
		if (rc) {
			v->rx_starved = rc == -ENOENT;
			return NULL;
		}
		if (v->rxc.writable_len > VS_HDR) {
			v->rx_held = true;
			return &v->rxc;
		}
		VS_WARN(v, "%s: receive buffer of %u writable bytes holds no packet", v->name,
			v->rxc.writable_len);
		v->st.bad_packets++;
		if (hvabs_virtq_push(q, &v->rxc, 0))
			return NULL;
		v->rx_pushed = true;
	}
}

static void put_hdr(uint8_t *b, const struct vs_hdr *h)
{
	uint64_t q;
	uint32_t d;
	uint16_t w;

#define PUT(off, var, conv, val) (var = conv(val), memcpy(b + (off), &var, sizeof(var)))
	PUT(0, q, htole64, h->src_cid);
	PUT(8, q, htole64, h->dst_cid);
	PUT(16, d, htole32, h->src_port);
	PUT(20, d, htole32, h->dst_port);
	PUT(24, d, htole32, h->len);
	PUT(28, w, htole16, h->type);
	PUT(30, w, htole16, h->op);
	PUT(32, d, htole32, h->flags);
	PUT(36, d, htole32, h->buf_alloc);
	PUT(40, d, htole32, h->fwd_cnt);
#undef PUT
}

/* Writes @p h into the held chain and gives it to the guest, payload included. */
static bool emit(struct hvabs_virtio_vsock *v, const struct vs_hdr *h)
{
	uint8_t b[VS_HDR];

	put_hdr(b, h);
	hvabs_virtq_chain_write(&v->rxc, 0, b, VS_HDR);
	v->rx_held = false;
	if (hvabs_virtq_push(hvabs_virtio_transport_queue(v->tp, VS_RXQ), &v->rxc, VS_HDR + h->len))
		return false;
	v->rx_pushed = true;
	return true;
}

static struct vs_hdr conn_hdr(const struct hvabs_virtio_vsock *v, const struct vs_conn *c,
			      uint16_t op)
{
	return (struct vs_hdr){.src_cid = HVABS_VIRTIO_VSOCK_HOST_CID,
			       .dst_cid = v->cid,
			       .src_port = c->local_port,
			       .dst_port = c->peer_port,
			       .type = HVABS_VIRTIO_VSOCK_TYPE_STREAM,
			       .op = op,
			       .buf_alloc = v->buf_alloc,
			       .fwd_cnt = c->fwd_cnt};
}

/* Every packet of a connection tells the guest our credit (§5.10.6.3). */
static void told_credit(struct vs_conn *c)
{
	c->reported_fwd = c->fwd_cnt;
	c->pend &= ~PEND_CREDIT;
}

static bool send_ctl(struct hvabs_virtio_vsock *v, struct vs_conn *c, uint32_t bit)
{
	static const uint16_t ops[] = {
	    HVABS_VIRTIO_VSOCK_OP_REQUEST, HVABS_VIRTIO_VSOCK_OP_RESPONSE,
	    HVABS_VIRTIO_VSOCK_OP_CREDIT_UPDATE, HVABS_VIRTIO_VSOCK_OP_CREDIT_REQUEST,
	    HVABS_VIRTIO_VSOCK_OP_SHUTDOWN};

	if (!rx_chain(v))
		return false;
	struct vs_hdr h = conn_hdr(v, c, ops[__builtin_ctz(bit)]);
	if (bit == PEND_SHUTDOWN)
		h.flags = c->shut;
	if (!emit(v, &h))
		return false;
	told_credit(c);
	return true;
}

static bool send_rst(struct hvabs_virtio_vsock *v, const struct vs_rst *r)
{
	struct vs_hdr h = {.src_cid = r->src_cid,
			   .dst_cid = v->cid,
			   .src_port = r->src_port,
			   .dst_port = r->dst_port,
			   .type = HVABS_VIRTIO_VSOCK_TYPE_STREAM,
			   .op = HVABS_VIRTIO_VSOCK_OP_RST};

	if (!rx_chain(v) || !emit(v, &h))
		return false;
	v->st.rst_sent++;
	return true;
}

void vs_rx_flush(struct hvabs_virtio_vsock *v)
{
	while (v->rst_len) {
		if (!send_rst(v, &v->rsts[v->rst_head]))
			return;
		v->rst_head = (v->rst_head + 1) % VS_RST_RING;
		v->rst_len--;
	}
	while (v->ctl_head) {
		struct vs_conn *c = v->ctl_head;
		while (c->pend) {
			uint32_t bit = c->pend & -c->pend;
			if (!send_ctl(v, c, bit))
				return;
			c->pend &= ~bit;
			if (bit == PEND_RESPONSE)
				vs_arm(v, c); /* data may flow now */
		}
		v->ctl_head = c->cnext;
		if (!v->ctl_head)
			v->ctl_tail = NULL;
		c->in_ctl = false;
		c->cnext = NULL;
	}
}

/* ---- host sockets ---- */

void vs_credit_check(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	/* Tell the guest about freed space once it believes half its credit is used. */
	if (c->fwd_cnt != c->reported_fwd && c->rx_cnt - c->reported_fwd > v->buf_alloc / 2)
		vs_owe(v, c, PEND_CREDIT);
}

void vs_maybe_finish(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	uint32_t both = HVABS_VIRTIO_VSOCK_SHUTDOWN_RCV | HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND;

	if (c->dead)
		return;
	/* §5.10.6.4: the guest shut both ways; once its bytes reached the host, RST ends it. */
	if (c->peer_shut == both) {
		if (!c->blen) {
			vs_rst_conn(v, c);
			return;
		}
		if (!c->deadline_ns) {
			c->deadline_ns = vs_now() + VS_TIMEOUT_NS;
			vs_arm_timer(v);
		}
		return;
	}
	/* The host closed both ways: SHUTDOWN, then wait for the guest's RST. */
	if (c->state == VS_ESTABLISHED && c->host_eof && c->host_hup) {
		c->state = VS_CLOSING;
		c->shut = both;
		vs_owe(v, c, PEND_SHUTDOWN);
		c->deadline_ns = vs_now() + VS_TIMEOUT_NS;
		vs_arm_timer(v);
	}
}

void vs_host_flush(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	while (c->blen) {
		uint32_t first =
		    v->buf_alloc - c->bhead < c->blen ? v->buf_alloc - c->bhead : c->blen;
		struct iovec io[2] = {{c->buf + c->bhead, first}, {c->buf, c->blen - first}};
		struct msghdr m = {.msg_iov = io, .msg_iovlen = first < c->blen ? 2 : 1};
		ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->bhead = (c->bhead + (uint32_t)w) % v->buf_alloc;
			c->blen -= (uint32_t)w;
			c->fwd_cnt += (uint32_t)w;
			v->st.tx_bytes += (uint64_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		vs_rst_conn(v, c); /* the host side is gone */
		return;
	}
	if (!c->blen) {
		c->bhead = 0;
		if (c->peer_shut & HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND)
			(void)shutdown(c->fd, SHUT_WR);
	}
	vs_credit_check(v, c);
	vs_maybe_finish(v, c);
	vs_arm(v, c);
}

/* Reads the host socket into receive buffers while the guest has credit. */
static void host_read(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	for (int i = 0; i < READ_BATCH && wants_read(v, c); i++) {
		struct hvabs_virtq_chain *ch = rx_chain(v);
		if (!ch)
			return;
		uint32_t want = ch->writable_len - VS_HDR;
		if (want > credit(c))
			want = credit(c);
		if (want > HVABS_VIRTIO_VSOCK_MAX_PAYLOAD)
			want = HVABS_VIRTIO_VSOCK_MAX_PAYLOAD;
		int n = hvabs_virtq_chain_iov(ch, HVABS_VIRTQ_WRITABLE, VS_HDR, want, v->iov,
					      VS_IOV_MAX);
		if (n <= 0)
			return; /* cannot happen: the chain has room and the queue fits VS_IOV_MAX */
		ssize_t r = readv(c->fd, v->iov, n);
		if (r > 0) {
			struct vs_hdr h = conn_hdr(v, c, HVABS_VIRTIO_VSOCK_OP_RW);
			h.len = (uint32_t)r;
			if (!emit(v, &h))
				return;
			told_credit(c);
			c->tx_cnt += (uint32_t)r;
			v->st.rx_bytes += (uint64_t)r;
			if (!credit(c) && !c->asked_credit) {
				/* Out of credit: ask, in case the guest's update got lost. */
				c->asked_credit = true;
				vs_owe(v, c, PEND_CREDREQ);
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			vs_rst_conn(v, c);
			return;
		}
		/* End of file: the host sends no more (and maybe receives no more). */
		c->host_eof = true;
		c->shut |= HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND;
		vs_owe(v, c, PEND_SHUTDOWN);
		vs_maybe_finish(v, c);
		return;
	}
}

static uint32_t alloc_port(struct hvabs_virtio_vsock *v, uint32_t peer)
{
	for (;;) {
		uint32_t p = v->next_port++;
		if (v->next_port < HVABS_VIRTIO_VSOCK_HOST_PORT_BASE)
			v->next_port = HVABS_VIRTIO_VSOCK_HOST_PORT_BASE;
		if (!vs_lookup(v, p, peer))
			return p;
	}
}

/* The port of a complete "CONNECT <port>\n" line (CR LF too), or -1. */
static int64_t parse_connect(char *line, size_t len)
{
	char *end;

	line[len - 1] = '\0';
	if (len > 1 && line[len - 2] == '\r')
		line[len - 2] = '\0';
	if (strncmp(line, "CONNECT ", 8) || line[8] < '0' || line[8] > '9')
		return -1;
	errno = 0;
	unsigned long port = strtoul(line + 8, &end, 10);
	return errno || port > UINT32_MAX || *end ? -1 : (int64_t)port;
}

static void handshake_failed(struct hvabs_virtio_vsock *v, struct vs_conn *c, const char *why)
{
	VS_WARN(v, "%s: host connection %s: closed", v->name, why);
	vs_kill(v, c);
}

/*
 * "CONNECT <port>\n" from a host program (Firecracker's hybrid vsock
 * convention). Whatever has arrived is taken off the socket into the
 * connection's line buffer, so a partial line does not leave the socket
 * readable for a level-triggered loop to spin on; nothing past the newline
 * is taken, since that is the connection's data. A line that does not fit,
 * or does not come before the deadline (see on_tick), closes the socket.
 */
static void handshake(struct hvabs_virtio_vsock *v, struct vs_conn *c)
{
	const size_t max = HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX;
	char *at = c->line + c->line_len;
	ssize_t n = recv(c->fd, at, max - c->line_len, MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		handshake_failed(v, c, n ? strerror(errno) : "ended before its CONNECT line");
		return;
	}
	char *nl = memchr(at, '\n', (size_t)n);
	size_t k = nl ? (size_t)(nl - at) + 1 : (size_t)n;
	if (recv(c->fd, at, k, 0) != (ssize_t)k) {
		handshake_failed(v, c, "lost bytes of its CONNECT line");
		return;
	}
	c->line_len = (uint8_t)(c->line_len + k);
	if (!nl) {
		if (c->line_len == max)
			handshake_failed(v, c, "sent a CONNECT line longer than allowed");
		return; /* the rest of the line is still coming */
	}
	int64_t port = parse_connect(c->line, c->line_len);
	if (port < 0) {
		handshake_failed(v, c, "without a valid \"CONNECT <port>\" line");
		return;
	}
	c->peer_port = (uint32_t)port;
	c->local_port = alloc_port(v, c->peer_port);
	c->state = VS_CONNECTING;
	vs_hash_add(v, c);
	c->deadline_ns = vs_now() + VS_TIMEOUT_NS;
	vs_arm_timer(v);
	vs_owe(v, c, PEND_REQUEST);
	vs_arm(v, c);
}

void vs_accept(struct hvabs_virtio_vsock *v)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				VS_WARN(v, "%s: accept on %s: %s", v->name, v->path,
					strerror(errno));
			return;
		}
		struct vs_conn *c = vs_conn_new(v, fd, VS_HANDSHAKE);
		if (!c) {
			VS_WARN(v, "%s: %u connections open: host connection refused", v->name,
				v->nconns);
			close(fd);
			continue;
		}
		c->deadline_ns = vs_now() + v->handshake_ns;
		vs_arm_timer(v);
		vs_arm(v, c);
	}
}

void vs_host_event(struct hvabs_virtio_vsock *v, struct vs_conn *c, uint32_t events)
{
	if (c->state == VS_HANDSHAKE) {
		handshake(v, c);
		return;
	}
	if (events & EPOLLHUP)
		c->host_hup = true;
	if (c->blen && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		vs_host_flush(v, c);
	if (!c->dead && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		host_read(v, c);
	if (!c->dead) {
		vs_maybe_finish(v, c);
		vs_arm(v, c);
	}
}
