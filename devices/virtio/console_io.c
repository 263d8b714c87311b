/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console data path (virtio 1.2 §5.3.6): host input into receiveq
 * buffers, transmitq chains through the output buffer to the host.
 *
 * Input is read straight into the guest's buffer, and only when there is
 * one (a popped chain is kept until input arrives), so nothing is read that
 * cannot be delivered. Output is copied into a ring buffer; a chain is
 * returned once all of it is buffered, and while the buffer is full the
 * chain stays ours and no further chain is taken, so the guest waits
 * instead of losing bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console_priv.h"

/* Chains per call, so register accesses do not wait long for the lock. */
#define BATCH 64

static bool queue_usable(struct hvabs_virtio_console *c, uint32_t index)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(c->tp, index);

	return c->active && hvabs_virtq_is_enabled(q) && !hvabs_virtq_is_broken(q);
}

void con_watch(struct hvabs_virtio_console *c)
{
	bool in =
	    c->in_fd >= 0 && c->in_poll && !c->in_eof && !c->rx_starved && queue_usable(c, CON_RXQ);
	bool out = c->out_fd >= 0 && c->out_poll && !c->out_dead && c->olen > 0;
	uint32_t ib = in ? HVABS_EVENT_IN : 0, ob = out ? HVABS_EVENT_OUT : 0;

	if (c->in_fd == c->out_fd) {
		ib |= ob;
		ob = 0;
	}
	/* epoll_ctl only: safe on any thread with the device lock held. */
	if (c->in_ev && ib != c->in_bits && !hvabs_event_modify(c->in_ev, ib))
		c->in_bits = ib;
	if (c->out_ev && ob != c->out_bits && !hvabs_event_modify(c->out_ev, ob))
		c->out_bits = ob;
}

bool con_rx_run(struct hvabs_virtio_console *c, bool *more)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(c->tp, CON_RXQ);
	bool pushed = false;

	*more = false;
	if (!queue_usable(c, CON_RXQ) || c->in_fd < 0 || c->in_eof)
		return false;
	for (int i = 0; i < BATCH; i++) {
		if (!c->rx_held) {
			hvabs_virtq_chain_init(&c->rxc, c->rxsegs, c->qsize);
			int rc = hvabs_virtq_pop(q, &c->rxc);
			c->rx_starved = rc == -ENOENT;
			if (rc)
				return pushed; /* empty, or broken: the caller looks */
			c->rx_held = true;
		}
		int n = hvabs_virtq_chain_iov(&c->rxc, HVABS_VIRTQ_WRITABLE, 0, c->rxc.writable_len,
					      c->iov, CON_IOV_MAX);
		ssize_t r = n > 0 ? readv(c->in_fd, c->iov, n) : 0;
		if (n <= 0) {
			/* §5.3.6.1: the driver must not put a readable buffer here. */
			CON_WARN(c, "%s: receive chain with no writable byte", c->name);
			r = 0;
		} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			return pushed; /* the chain waits for input */
		} else if (r <= 0) {
			con_input_gone(c, r < 0 ? errno : 0);
			return pushed;
		}
		c->rx_held = false;
		c->st.rx_bytes += (uint64_t)r;
		if (hvabs_virtq_push(q, &c->rxc, (uint32_t)r))
			return pushed;
		pushed = true;
	}
	*more = true;
	return pushed;
}

static bool out_is_socket(const struct hvabs_virtio_console *c)
{
	return c->kind == HVABS_VIRTIO_CONSOLE_SOCKET;
}

void con_flush(struct hvabs_virtio_console *c)
{
	while (c->olen && c->out_fd >= 0 && !c->out_dead) {
		struct iovec v[2];
		uint32_t first = c->ocap - c->ohead < c->olen ? c->ocap - c->ohead : c->olen;
		int n = 1;
		ssize_t w;

		v[0] = (struct iovec){c->obuf + c->ohead, first};
		if (first < c->olen) {
			v[1] = (struct iovec){c->obuf, c->olen - first};
			n = 2;
		}
		if (out_is_socket(c)) {
			/* No SIGPIPE for a client that left. */
			struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)n};
			w = sendmsg(c->out_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			w = writev(c->out_fd, v, n);
		}
		if (w > 0) {
			c->ohead = (c->ohead + (uint32_t)w) % c->ocap;
			c->olen -= (uint32_t)w;
			c->st.tx_bytes += (uint64_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		con_output_gone(c, w < 0 ? errno : EIO);
		return;
	}
	if (!c->olen)
		c->ohead = 0;
}

static bool discarding(const struct hvabs_virtio_console *c)
{
	if (c->out_dead)
		return true;
	if (out_is_socket(c))
		return c->out_fd < 0 && (c->flags & HVABS_VIRTIO_CONSOLE_DISCARD);
	return c->out_fd < 0;
}

/* Copies up to @p left bytes of txc, from tx_off, into the ring; returns how many. */
static uint32_t buffer_chain(struct hvabs_virtio_console *c, uint32_t left)
{
	uint32_t done = 0;

	while (done < left && c->olen < c->ocap) {
		uint32_t tail = (c->ohead + c->olen) % c->ocap;
		uint32_t span =
		    c->ocap - tail < c->ocap - c->olen ? c->ocap - tail : c->ocap - c->olen;
		uint32_t k = span < left - done ? span : left - done;
		size_t got = hvabs_virtq_chain_read(&c->txc, c->tx_off + done, c->obuf + tail, k);
		c->olen += (uint32_t)got;
		done += (uint32_t)got;
		if (got < k)
			break;
	}
	return done;
}

bool con_tx_run(struct hvabs_virtio_console *c, bool *more)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(c->tp, CON_TXQ);
	bool pushed = false;

	*more = false;
	if (!queue_usable(c, CON_TXQ))
		return false;
	con_flush(c);
	for (int i = 0; i < BATCH; i++) {
		if (!c->tx_held) {
			hvabs_virtq_chain_init(&c->txc, c->txsegs, c->qsize);
			if (hvabs_virtq_pop(q, &c->txc))
				break; /* empty, or broken: the caller looks */
			c->tx_held = true;
			c->tx_off = 0;
		}
		uint32_t left = c->txc.readable_len - c->tx_off;
		if (discarding(c)) {
			c->st.discarded += left;
			c->tx_off += left;
		} else {
			c->tx_off += buffer_chain(c, left);
		}
		if (c->tx_off < c->txc.readable_len) {
			/* The buffer is full: make room, or keep the chain until there is. */
			con_flush(c);
			if (c->olen == c->ocap)
				return pushed;
			continue;
		}
		c->tx_held = false;
		if (hvabs_virtq_push(q, &c->txc, 0))
			return pushed;
		pushed = true;
		if (i + 1 == BATCH)
			*more = true;
	}
	con_flush(c);
	return pushed;
}

void con_emerg(struct hvabs_virtio_console *c, uint8_t byte)
{
	if (discarding(c)) {
		c->st.discarded++;
		return;
	}
	if (c->olen == c->ocap) {
		c->st.emerg_dropped++;
		return;
	}
	c->obuf[(c->ohead + c->olen) % c->ocap] = byte;
	c->olen++;
	c->st.emerg_bytes++;
	/* Possibly a vCPU thread: write here only what cannot be polled (a regular
	 * file, whose failure touches no event source); else the loop writes. */
	if (c->out_fd >= 0 && !c->out_poll)
		con_flush(c);
	else
		con_watch(c);
}
