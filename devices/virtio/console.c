/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console (virtio 1.2 §5.3): one port, configuration space, and the
 * host side (stdio, caller descriptors, a pty, or a Unix socket with one
 * client at a time). The data path is in console_io.c.
 *
 * Event sources are added and removed only on the event loop thread (or at
 * creation and destruction, without the device lock): removal waits for a
 * running callback, which takes the device lock, so a vCPU thread holding
 * that lock must not remove one. vCPU threads only change what a source
 * watches (epoll_ctl).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "console_priv.h"
#include "vsock_uds.h"

#define BIT(n) HVABS_VIRTIO_BIT(n)

/* ---- configuration space (§5.3.4) ---- */

/*
 * Linux (and QEMU) read cols at offset 0 and rows at 2; the specification's
 * listing shows rows first. What the guest driver does wins.
 */
static void set_size(struct hvabs_virtio_console *c, uint16_t cols, uint16_t rows)
{
	uint16_t v = htole16(cols);

	memcpy(c->config, &v, 2);
	v = htole16(rows);
	memcpy(c->config + 2, &v, 2);
}

static void con_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct hvabs_virtio_console *c = opaque;

	memcpy(buf, c->config + off, len);
}

/* Only emerg_wr (offset 8) is writable; its low byte is output (§5.3.5.1). */
static void con_config_write(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
	struct hvabs_virtio_console *c = opaque;

	(void)len;
	if (off == 8)
		con_emerg(c, *(const uint8_t *)buf);
	else
		CON_WARN(c, "%s: write to read-only configuration offset %u ignored", c->name, off);
}

/* ---- guest side ---- */

static void con_driver_ok(void *opaque)
{
	struct hvabs_virtio_console *c = opaque;

	c->active = true;
	c->rx_starved = false;
}

static void con_reset(void *opaque)
{
	struct hvabs_virtio_console *c = opaque;

	/* Chains held are stale now. Output already buffered still goes out. */
	c->active = false;
	c->rx_held = c->tx_held = false;
	c->tx_off = 0;
	c->rx_starved = false;
	con_watch(c);
}

/* §4.2.2.2 QueueReady = 0: the chain held from that queue is the old ring's. */
static void con_queue_stop(void *opaque, uint32_t index)
{
	struct hvabs_virtio_console *c = opaque;

	if (index == CON_RXQ) {
		c->rx_held = false;
		c->rx_starved = false;
	} else {
		c->tx_held = false;
		c->tx_off = 0;
	}
	con_watch(c);
}

static int con_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtio_console *c = opaque;
	bool more;

	(void)q;
	if (index == CON_RXQ) {
		c->rx_starved = false;
		(void)con_rx_run(c, &more);
		/* Polled input comes back through the loop; a regular file needs a call. */
		more = more && !c->in_poll;
	} else {
		(void)con_tx_run(c, &more);
	}
	con_watch(c);
	return more ? 1 : 0;
}

/* Outside queue_notify the transport does not look at the queues: we do. */
static void after_io(struct hvabs_virtio_console *c, bool rx_pushed, bool tx_pushed, bool tx_more)
{
	for (uint32_t i = CON_RXQ; i <= CON_TXQ; i++)
		if (hvabs_virtq_is_broken(hvabs_virtio_transport_queue(c->tp, i)))
			hvabs_virtio_transport_set_needs_reset(c->tp);
	if (rx_pushed)
		(void)hvabs_virtio_transport_signal_used(c->tp, CON_RXQ);
	if (tx_pushed)
		(void)hvabs_virtio_transport_signal_used(c->tp, CON_TXQ);
	if (tx_more)
		(void)hvabs_virtio_transport_kick(c->tp, CON_TXQ);
	con_watch(c);
}

/* ---- host side; loop thread ---- */

void con_drop_client(struct hvabs_virtio_console *c)
{
	hvabs_event_remove(c->in_ev);
	c->in_ev = NULL;
	c->in_bits = 0;
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = c->out_fd = -1;
	c->in_eof = false;
	c->in_poll = c->out_poll = true;
	c->st.connected = 0;
	if (c->listen_ev && hvabs_event_modify(c->listen_ev, HVABS_EVENT_IN))
		CON_WARN(c, "%s: cannot watch %s for the next client", c->name, c->path);
	/* With DISCARD, a transmit chain waiting for room can now be thrown away. */
	if (c->tx_held)
		(void)hvabs_virtio_transport_kick(c->tp, CON_TXQ);
}

void con_input_gone(struct hvabs_virtio_console *c, int err)
{
	if (err)
		CON_WARN(c, "%s: reading input: %s", c->name, strerror(err));
	c->in_eof = true;
	/* A separate input source would report its hang-up for ever: remove it. */
	if (c->in_ev && c->in_fd != c->out_fd) {
		hvabs_event_remove(c->in_ev);
		c->in_ev = NULL;
	}
}

void con_output_gone(struct hvabs_virtio_console *c, int err)
{
	if (c->kind == HVABS_VIRTIO_CONSOLE_SOCKET) {
		/* Keep the buffered bytes for the next client. */
		con_drop_client(c);
		return;
	}
	hvabs_log(c->log, HVABS_LOG_WARN, CON_COMP,
		  "%s: output failed (%s): guest console output is discarded from now on", c->name,
		  strerror(err));
	c->out_dead = true;
	c->st.discarded += c->olen;
	c->olen = c->ohead = 0;
	struct hvabs_event **ev = c->in_fd == c->out_fd ? &c->in_ev : &c->out_ev;
	if (*ev && c->in_fd == c->out_fd)
		c->in_poll = false; /* input, if any, is read without the loop now */
	hvabs_event_remove(*ev);
	*ev = NULL;
}

/*
 * The descriptor hung up or failed while input could not be read (no
 * receive buffer): epoll would report it for ever. Drop a socket client;
 * otherwise stop polling and read what is left when buffers come.
 */
static void unpoll(struct hvabs_virtio_console *c)
{
	if (c->kind == HVABS_VIRTIO_CONSOLE_SOCKET) {
		con_drop_client(c);
		return;
	}
	hvabs_event_remove(c->in_ev);
	c->in_ev = NULL;
	c->in_poll = false;
	if (c->in_fd == c->out_fd)
		c->out_poll = false;
}

static void out_progress(struct hvabs_virtio_console *c, bool *pushed, bool *more)
{
	con_flush(c);
	*pushed = *more = false;
	if (c->tx_held)
		*pushed = con_tx_run(c, more);
}

static void on_in(void *opaque, uint32_t events)
{
	struct hvabs_virtio_console *c = opaque;
	bool rx = false, tx = false, more = false, rx_more;

	hvabs_virtio_transport_lock(c->tp);
	if (c->closing || !c->in_ev) {
		hvabs_virtio_transport_unlock(c->tp);
		return;
	}
	bool bad = events & (HVABS_EVENT_ERR | HVABS_EVENT_HUP);
	if (c->in_fd == c->out_fd && (events & HVABS_EVENT_OUT || bad))
		out_progress(c, &tx, &more);
	if (c->in_ev && (events & HVABS_EVENT_IN || bad))
		rx = con_rx_run(c, &rx_more);
	if (bad && c->in_ev)
		unpoll(c);
	after_io(c, rx, tx, more);
	hvabs_virtio_transport_unlock(c->tp);
}

static void on_out(void *opaque, uint32_t events)
{
	struct hvabs_virtio_console *c = opaque;
	bool tx = false, more = false;

	hvabs_virtio_transport_lock(c->tp);
	if (c->closing || !c->out_ev) {
		hvabs_virtio_transport_unlock(c->tp);
		return;
	}
	if (events & (HVABS_EVENT_ERR | HVABS_EVENT_HUP))
		con_output_gone(c, EPIPE); /* the reader went away */
	else
		out_progress(c, &tx, &more);
	after_io(c, false, tx, more);
	hvabs_virtio_transport_unlock(c->tp);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct hvabs_virtio_console *c = opaque;
	bool tx = false, more = false;

	(void)events;
	hvabs_virtio_transport_lock(c->tp);
	if (c->closing || c->in_fd >= 0)
		goto out; /* one client at a time: the next waits in the backlog */
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			CON_WARN(c, "%s: accept on %s: %s", c->name, c->path, strerror(errno));
		goto out;
	}
	if (hvabs_event_add(c->loop, fd, 0, on_in, c, &c->in_ev)) {
		CON_WARN(c, "%s: cannot watch a new client", c->name);
		close(fd);
		goto out;
	}
	c->in_fd = c->out_fd = fd;
	c->in_bits = 0;
	c->st.clients++;
	c->st.connected = 1;
	if (hvabs_event_modify(c->listen_ev, 0))
		CON_WARN(c, "%s: cannot stop watching %s", c->name, c->path);
	/* Output buffered while nobody was there goes to this client. */
	out_progress(c, &tx, &more);
out:
	after_io(c, false, tx, more);
	hvabs_virtio_transport_unlock(c->tp);
}

/* ---- setting up the host side ---- */

static int take_fd(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -EINVAL;
	*saved = fl;
	return 0;
}

static int setup_fds(struct hvabs_virtio_console *c, int in, int out)
{
	if (in < -1 || out < -1)
		return -EINVAL;
	if (in >= 0 && take_fd(in, &c->saved_in_fl))
		return -EINVAL;
	c->in_fd = in;
	if (out >= 0 && take_fd(out, &c->saved_out_fl))
		return -EINVAL;
	c->out_fd = out;
	return 0;
}

/* A new pty in raw mode; we keep its terminal side open so clients may come and go. */
static int setup_pty(struct hvabs_virtio_console *c)
{
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -errno;
	c->in_fd = c->out_fd = m;
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, c->pty_path, sizeof(c->pty_path)))
		return -errno;
	c->pty_slave = open(c->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave < 0)
		return -errno;
	if (tcgetattr(c->pty_slave, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(c->pty_slave, TCSANOW, &tio);
	}
	int fl = fcntl(m, F_GETFL);
	return fl < 0 || fcntl(m, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static int setup_host(struct hvabs_virtio_console *c, const struct hvabs_virtio_console_config *cfg)
{
	int rc;

	switch (cfg->backend) {
	case HVABS_VIRTIO_CONSOLE_STDIO:
		return setup_fds(c, 0, 1);
	case HVABS_VIRTIO_CONSOLE_FDS:
		return setup_fds(c, cfg->in_fd, cfg->out_fd);
	case HVABS_VIRTIO_CONSOLE_PTY:
		rc = setup_pty(c);
		if (rc)
			hvabs_log(c->log, HVABS_LOG_ERROR, CON_COMP, "%s: cannot make a pty: %s",
				  c->name, strerror(-rc));
		return rc;
	case HVABS_VIRTIO_CONSOLE_SOCKET:
		c->path = strdup(cfg->path);
		if (!c->path)
			return -ENOMEM;
		rc = uds_listen(cfg->path, 4, c->log, CON_COMP);
		if (rc < 0) {
			free(c->path);
			c->path = NULL; /* not ours to remove */
			return rc;
		}
		c->listen_fd = rc;
		return 0;
	}
	return -EINVAL;
}

/* Watches the host descriptors; a regular file cannot be polled and is read or written directly. */
static int add_sources(struct hvabs_virtio_console *c)
{
	int rc;

	if (c->listen_fd >= 0)
		return hvabs_event_add(c->loop, c->listen_fd, HVABS_EVENT_IN, on_listen, c,
				       &c->listen_ev);
	if (c->in_fd >= 0) {
		rc = hvabs_event_add(c->loop, c->in_fd, 0, on_in, c, &c->in_ev);
		c->in_poll = rc == 0;
		if (rc && rc != -EPERM)
			return rc;
	}
	if (c->out_fd >= 0 && c->out_fd != c->in_fd) {
		rc = hvabs_event_add(c->loop, c->out_fd, 0, on_out, c, &c->out_ev);
		c->out_poll = rc == 0;
		if (rc && rc != -EPERM)
			return rc;
	} else if (c->out_fd >= 0) {
		c->out_poll = c->in_poll;
	}
	return 0;
}

/* ---- public API ---- */

static int check_config(const struct hvabs_virtio_console_config *cfg, uint32_t *qs)
{
	*qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_CONSOLE_QUEUE_SIZE;
	if (*qs > HVABS_VIRTIO_CONSOLE_QUEUE_MAX || (*qs & (*qs - 1)))
		return -EINVAL;
	if ((unsigned)cfg->backend > HVABS_VIRTIO_CONSOLE_SOCKET ||
	    (cfg->backend == HVABS_VIRTIO_CONSOLE_SOCKET && !cfg->path))
		return -EINVAL;
	return cfg->flags & ~HVABS_VIRTIO_CONSOLE_DISCARD ? -EINVAL : 0;
}

static void setup_ops(struct hvabs_virtio_console *c, const struct hvabs_virtio_console_config *cfg)
{
	uint32_t one = htole32(1);

	if (cfg->cols && cfg->rows)
		set_size(c, cfg->cols, cfg->rows);
	memcpy(c->config + 4, &one, 4); /* max_nr_ports; only meaningful with MULTIPORT */
	c->ops.device_id = HVABS_VIRTIO_ID_CONSOLE;
	c->ops.num_queues = 2;
	c->ops.queue_size_max = c->qsize;
	c->ops.config_size = sizeof(c->config);
	c->ops.features = BIT(HVABS_VIRTIO_CONSOLE_F_EMERG_WRITE) |
			  BIT(HVABS_VIRTIO_F_INDIRECT_DESC) | BIT(HVABS_VIRTIO_F_EVENT_IDX);
	if (cfg->cols && cfg->rows)
		c->ops.features |= BIT(HVABS_VIRTIO_CONSOLE_F_SIZE);
	c->ops.config_read = con_config_read;
	c->ops.config_write = con_config_write;
	c->ops.driver_ok = con_driver_ok;
	c->ops.queue_notify = con_notify;
	c->ops.reset = con_reset;
	c->ops.queue_stop = con_queue_stop;
}

static void release(struct hvabs_virtio_console *c)
{
	if (c->kind == HVABS_VIRTIO_CONSOLE_STDIO || c->kind == HVABS_VIRTIO_CONSOLE_FDS) {
		/* Restore in reverse: both may share one open file description. */
		if (c->out_fd >= 0 && c->saved_out_fl >= 0)
			(void)fcntl(c->out_fd, F_SETFL, c->saved_out_fl);
		if (c->in_fd >= 0 && c->saved_in_fl >= 0)
			(void)fcntl(c->in_fd, F_SETFL, c->saved_in_fl);
	} else if (c->in_fd >= 0) {
		close(c->in_fd); /* pty master, or socket client */
	}
	if (c->pty_slave >= 0)
		close(c->pty_slave);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->path)
		unlink(c->path);
	free(c->path);
	free(c->rxsegs);
	free(c->txsegs);
	free(c->obuf);
	free(c);
}

static struct hvabs_virtio_console *alloc_console(const struct hvabs_virtio_console_config *cfg,
						  uint32_t qs)
{
	struct hvabs_virtio_console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->in_fd = c->out_fd = c->listen_fd = c->pty_slave = -1;
	c->saved_in_fl = c->saved_out_fl = -1;
	c->kind = cfg->backend;
	c->flags = cfg->flags;
	c->qsize = qs;
	c->loop = cfg->pci ? cfg->pci->loop : cfg->mmio.loop;
	c->ocap = cfg->out_buffer ? cfg->out_buffer : HVABS_VIRTIO_CONSOLE_OUT_BUFFER;
	snprintf(c->name, sizeof(c->name), "%s", cfg->mmio.name ? cfg->mmio.name : "console");
	c->rxsegs = calloc(qs, sizeof(*c->rxsegs));
	c->txsegs = calloc(qs, sizeof(*c->txsegs));
	c->obuf = malloc(c->ocap);
	if (!c->rxsegs || !c->txsegs || !c->obuf) {
		release(c);
		return NULL;
	}
	return c;
}

int hvabs_virtio_console_create(struct hvabs_vm *vm, const struct hvabs_virtio_console_config *cfg,
				struct hvabs_virtio_console **out)
{
	uint32_t qs;

	if (!vm || !cfg || !out || check_config(cfg, &qs))
		return -EINVAL;
	struct hvabs_virtio_console *c = alloc_console(cfg, qs);
	if (!c)
		return -ENOMEM;
	c->log = hvabs_vm_logger(vm);
	int rc = setup_host(c, cfg);
	if (rc) {
		release(c);
		return rc;
	}
	setup_ops(c, cfg);
	struct hvabs_virtio_mmio_params p = cfg->mmio;
	p.name = c->name;
	rc = virtio_transport_create(vm, &p, cfg->pci, &c->ops, c, &c->t, &c->pt, &c->tp);
	if (!rc)
		rc = add_sources(c);
	if (rc) {
		hvabs_event_remove(c->listen_ev);
		hvabs_event_remove(c->in_ev);
		hvabs_event_remove(c->out_ev);
		virtio_transport_destroy(c->t, c->pt);
		release(c);
		return rc;
	}
	if (c->kind == HVABS_VIRTIO_CONSOLE_PTY)
		hvabs_log(c->log, HVABS_LOG_INFO, CON_COMP, "%s: on %s", c->name, c->pty_path);
	*out = c;
	return 0;
}

void hvabs_virtio_console_destroy(struct hvabs_virtio_console *c)
{
	if (!c)
		return;
	/* Removal waits for a running callback, which takes the device lock: detach the
	 * sources under the lock, remove them outside it. */
	hvabs_virtio_transport_lock(c->tp);
	c->closing = true;
	struct hvabs_event *ev[3] = {c->listen_ev, c->in_ev, c->out_ev};
	c->listen_ev = c->in_ev = c->out_ev = NULL;
	hvabs_virtio_transport_unlock(c->tp);
	for (int i = 0; i < 3; i++)
		hvabs_event_remove(ev[i]);
	virtio_transport_destroy(c->t, c->pt);
	release(c);
}

struct hvabs_virtio_mmio *hvabs_virtio_console_transport(struct hvabs_virtio_console *c)
{
	return c->t;
}

const char *hvabs_virtio_console_pty_path(const struct hvabs_virtio_console *c)
{
	return c->kind == HVABS_VIRTIO_CONSOLE_PTY ? c->pty_path : NULL;
}

int hvabs_virtio_console_set_size(struct hvabs_virtio_console *c, uint16_t cols, uint16_t rows)
{
	if (!(c->ops.features & BIT(HVABS_VIRTIO_CONSOLE_F_SIZE)))
		return -ENOTSUP;
	hvabs_virtio_transport_lock(c->tp);
	set_size(c, cols, rows);
	int rc = hvabs_virtio_transport_config_changed(c->tp);
	hvabs_virtio_transport_unlock(c->tp);
	return rc;
}

void hvabs_virtio_console_get_stats(struct hvabs_virtio_console *c,
				    struct hvabs_virtio_console_stats *st)
{
	hvabs_virtio_transport_lock(c->tp);
	*st = c->st;
	st->buffered = c->olen;
	hvabs_virtio_transport_unlock(c->tp);
}
