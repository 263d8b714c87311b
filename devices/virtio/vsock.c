/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.2 §5.10) with the host side on Unix sockets, the
 * hybrid vsock convention of Firecracker: the device, its queues, the event
 * queue, the event loop glue and the public API. Connections are in
 * vsock_conn.c, packets from the guest in vsock_pkt.c.
 *
 * Why not vhost-vsock: /dev/vhost-vsock needs the hypervisor's ioeventfd,
 * irqfd and a memory table in the host kernel, which only KVM provides; Xen
 * and MSHV guests, and a host without the module, would have no vsock. Unix
 * sockets need nothing and look the same everywhere.
 *
 * All host sockets, the listener and a timer live in one private epoll set,
 * and only that set's descriptor is on the event loop. So connections come
 * and go (also on a vCPU thread, for a reset) with epoll_ctl on our own set,
 * which takes neither the loop's lock nor any other: the loop holds its
 * lock while a callback takes the device lock, so adding or removing loop
 * sources with the device lock held could deadlock.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vsock_priv.h"
#include "vsock_uds.h"

#define BIT(n)	      HVABS_VIRTIO_BIT(n)
#define TICK_NS	      500000000ull
#define EPOLL_BATCH   64
#define MAX_PATH_TAIL 11 /* "_4294967295" */

uint64_t vs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_timer(struct hvabs_virtio_vsock *v, bool on)
{
	struct itimerspec its = {0};

	if (on) {
		its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(v->tick_ns / 1000000000u);
		its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(v->tick_ns % 1000000000u);
	}
	if (timerfd_settime(v->timerfd, 0, &its, NULL) == 0)
		v->timer_on = on;
}

void vs_arm_timer(struct hvabs_virtio_vsock *v)
{
	if (!v->timer_on)
		set_timer(v, true);
}

/*
 * Deadlines: a host client that never sent its CONNECT line (it would hold a
 * connection slot for ever), a REQUEST the guest never answered, a close it
 * never finished.
 */
static void on_tick(struct hvabs_virtio_vsock *v)
{
	uint64_t n, now = vs_now();
	bool any = false;

	(void)!read(v->timerfd, &n, sizeof(n));
	for (struct vs_conn *c = v->conns, *next; c; c = next) {
		next = c->next;
		if (!c->deadline_ns)
			continue;
		if (c->deadline_ns > now) {
			any = true;
			continue;
		}
		if (c->state == VS_HANDSHAKE) {
			VS_WARN(v, "%s: host connection sent no CONNECT line in time: closed",
				v->name);
			v->st.handshake_timeouts++;
		} else {
			VS_WARN(v, "%s: connection %u:%u timed out (state %d): reset", v->name,
				c->local_port, c->peer_port, (int)c->state);
		}
		vs_rst_conn(v, c);
	}
	if (!any)
		set_timer(v, false);
}

/* ---- configuration space (§5.10.4) ---- */

static void set_cid(struct hvabs_virtio_vsock *v, uint64_t cid)
{
	uint64_t le = htole64(cid);

	v->cid = cid;
	memcpy(v->config, &le, 8);
}

static bool cid_ok(uint64_t cid)
{
	return cid > HVABS_VIRTIO_VSOCK_HOST_CID && cid < 0xffffffffull;
}

static void vs_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct hvabs_virtio_vsock *v = opaque;

	memcpy(buf, v->config + off, len);
}

/* ---- guest side ---- */

/* Delivers a pending TRANSPORT_RESET event; true when one was pushed. */
static bool deliver_event(struct hvabs_virtio_vsock *v)
{
	struct hvabs_virtq *q = hvabs_virtio_transport_queue(v->tp, VS_EVQ);
	struct hvabs_virtq_chain c;
	uint32_t id = htole32(HVABS_VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);

	if (!v->event_pending || !v->active || !hvabs_virtq_is_enabled(q) ||
	    hvabs_virtq_is_broken(q))
		return false;
	hvabs_virtq_chain_init(&c, v->evsegs, v->qsize);
	if (hvabs_virtq_pop(q, &c))
		return false;
	size_t n = hvabs_virtq_chain_write(&c, 0, &id, sizeof(id));
	if (hvabs_virtq_push(q, &c, (uint32_t)n))
		return false;
	if (n == sizeof(id)) {
		v->event_pending = false;
		v->st.events++;
	} else {
		VS_WARN(v, "%s: event buffer of %zu bytes is too small", v->name, n);
	}
	return true;
}

/* Outside queue_notify the transport does not look at the queues: we do. */
static void finish(struct hvabs_virtio_vsock *v)
{
	for (uint32_t i = VS_RXQ; i <= VS_EVQ; i++)
		if (hvabs_virtq_is_broken(hvabs_virtio_transport_queue(v->tp, i)))
			hvabs_virtio_transport_set_needs_reset(v->tp);
	if (v->rx_pushed) {
		v->rx_pushed = false;
		(void)hvabs_virtio_transport_signal_used(v->tp, VS_RXQ);
	}
	vs_reap(v);
}

static int vs_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtio_vsock *v = opaque;
	int more = 0;

	switch (index) {
	case VS_RXQ:
		/* Buffers: owed packets go out, and host sockets may be read again. */
		v->rx_starved = false;
		vs_rx_flush(v);
		vs_arm_all(v);
		v->rx_pushed = false; /* the transport interrupts for this queue */
		break;
	case VS_TXQ:
		more = vs_tx_run(v, q);
		vs_rx_flush(v);
		break;
	default:
		(void)deliver_event(v);
		break;
	}
	finish(v);
	return more;
}

static void vs_driver_ok(void *opaque)
{
	struct hvabs_virtio_vsock *v = opaque;

	v->active = true;
	v->rx_starved = false;
}

static void vs_reset(void *opaque)
{
	struct hvabs_virtio_vsock *v = opaque;

	/* The guest's sockets are gone: so are ours (epoll_ctl and close only). */
	v->active = false;
	vs_kill_all(v);
	vs_reap(v);
	v->rx_held = false;
	v->rx_starved = false;
	v->event_pending = false;
}

/* §4.2.2.2 QueueReady = 0: a receive chain held is the old ring's. */
static void vs_queue_stop(void *opaque, uint32_t index)
{
	struct hvabs_virtio_vsock *v = opaque;

	if (index == VS_RXQ) {
		v->rx_held = false;
		v->rx_starved = false;
	}
}

/* ---- the private epoll set ---- */

static void on_events(void *opaque, uint32_t events)
{
	struct hvabs_virtio_vsock *v = opaque;
	struct epoll_event evs[EPOLL_BATCH];

	(void)events;
	hvabs_virtio_transport_lock(v->tp);
	if (!v->ev) {
		hvabs_virtio_transport_unlock(v->tp);
		return;
	}
	/* Taken and handled under the device lock: no connection goes away in between. */
	int n = epoll_wait(v->epfd, evs, EPOLL_BATCH, 0);
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;
		if (p == &v->listen_fd)
			vs_accept(v);
		else if (p == &v->timerfd)
			on_tick(v);
		else if (!((struct vs_conn *)p)->dead)
			vs_host_event(v, p, evs[i].events);
	}
	vs_rx_flush(v);
	finish(v);
	hvabs_virtio_transport_unlock(v->tp);
}

static int watch(struct hvabs_virtio_vsock *v, int fd, void *tag)
{
	struct epoll_event ee = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ee) ? -errno : 0;
}

/* ---- public API ---- */

static int check_config(const struct hvabs_virtio_vsock_config *cfg, uint32_t *qs)
{
	*qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_VSOCK_QUEUE_SIZE;
	if (*qs > HVABS_VIRTIO_VSOCK_QUEUE_MAX || (*qs & (*qs - 1)))
		return -EINVAL;
	if (!cid_ok(cfg->guest_cid) || !cfg->path || !cfg->path[0])
		return -EINVAL;
	if (cfg->buf_alloc && (cfg->buf_alloc < 4096 || cfg->buf_alloc > (1u << 30)))
		return -EINVAL;
	if (strlen(cfg->path) + MAX_PATH_TAIL >= 108) /* sizeof(sockaddr_un.sun_path) */
		return -ENAMETOOLONG;
	return 0;
}

static void setup_ops(struct hvabs_virtio_vsock *v)
{
	v->ops.device_id = HVABS_VIRTIO_ID_VSOCK;
	v->ops.num_queues = 3;
	v->ops.queue_size_max = v->qsize;
	v->ops.config_size = sizeof(v->config);
	v->ops.features = BIT(HVABS_VIRTIO_VSOCK_F_STREAM) | BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |
			  BIT(HVABS_VIRTIO_F_EVENT_IDX);
	v->ops.config_read = vs_config_read;
	v->ops.driver_ok = vs_driver_ok;
	v->ops.queue_notify = vs_notify;
	v->ops.reset = vs_reset;
	v->ops.queue_stop = vs_queue_stop;
}

static void release(struct hvabs_virtio_vsock *v)
{
	vs_kill_all(v);
	vs_reap(v);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	if (v->epfd >= 0)
		close(v->epfd);
	if (v->timerfd >= 0)
		close(v->timerfd);
	free(v->path);
	free(v->rxsegs);
	free(v->txsegs);
	free(v->evsegs);
	free(v);
}

/* The host side: the private set with the timer and the listener. */
static int open_host(struct hvabs_virtio_vsock *v)
{
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->epfd < 0 || v->timerfd < 0)
		return -errno;
	int rc = watch(v, v->timerfd, &v->timerfd);
	if (rc)
		return rc;
	rc = uds_listen(v->path, 64, v->log, VS_COMP);
	if (rc < 0)
		return rc;
	v->listen_fd = rc;
	return watch(v, v->listen_fd, &v->listen_fd);
}

static struct hvabs_virtio_vsock *alloc_vsock(const struct hvabs_virtio_vsock_config *cfg,
					      uint32_t qs)
{
	struct hvabs_virtio_vsock *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->listen_fd = v->epfd = v->timerfd = -1;
	v->qsize = qs;
	v->buf_alloc = cfg->buf_alloc ? cfg->buf_alloc : HVABS_VIRTIO_VSOCK_BUF_ALLOC;
	v->max_conns = cfg->max_conns ? cfg->max_conns : HVABS_VIRTIO_VSOCK_MAX_CONNS;
	v->handshake_ns = (uint64_t)(cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
							       : HVABS_VIRTIO_VSOCK_HANDSHAKE_MS) *
			  1000000u;
	v->tick_ns = v->handshake_ns < TICK_NS ? v->handshake_ns : TICK_NS;
	v->next_port = HVABS_VIRTIO_VSOCK_HOST_PORT_BASE;
	snprintf(v->name, sizeof(v->name), "%s", cfg->mmio.name ? cfg->mmio.name : "vsock");
	set_cid(v, cfg->guest_cid);
	v->path = strdup(cfg->path);
	v->rxsegs = calloc(qs, sizeof(*v->rxsegs));
	v->txsegs = calloc(qs, sizeof(*v->txsegs));
	v->evsegs = calloc(qs, sizeof(*v->evsegs));
	if (!v->path || !v->rxsegs || !v->txsegs || !v->evsegs) {
		release(v);
		return NULL;
	}
	return v;
}

int hvabs_virtio_vsock_create(struct hvabs_vm *vm, const struct hvabs_virtio_vsock_config *cfg,
			      struct hvabs_virtio_vsock **out)
{
	uint32_t qs;

	if (!vm || !cfg || !out)
		return -EINVAL;
	int rc = check_config(cfg, &qs);
	if (rc)
		return rc;
	struct hvabs_virtio_vsock *v = alloc_vsock(cfg, qs);
	if (!v)
		return -ENOMEM;
	v->log = hvabs_vm_logger(vm);
	rc = open_host(v);
	if (rc) {
		release(v);
		return rc;
	}
	setup_ops(v);
	struct hvabs_virtio_mmio_params p = cfg->mmio;
	p.name = v->name;
	rc = virtio_transport_create(vm, &p, cfg->pci, &v->ops, v, &v->t, &v->pt, &v->tp);
	if (!rc)
		rc = hvabs_event_add(p.loop, v->epfd, HVABS_EVENT_IN, on_events, v, &v->ev);
	if (rc) {
		virtio_transport_destroy(v->t, v->pt);
		release(v);
		return rc;
	}
	*out = v;
	return 0;
}

void hvabs_virtio_vsock_destroy(struct hvabs_virtio_vsock *v)
{
	if (!v)
		return;
	/* Removal waits for a running callback, which takes the device lock: detach
	 * under the lock, remove outside it. */
	hvabs_virtio_transport_lock(v->tp);
	struct hvabs_event *ev = v->ev;
	v->ev = NULL;
	hvabs_virtio_transport_unlock(v->tp);
	hvabs_event_remove(ev);
	virtio_transport_destroy(v->t, v->pt);
	release(v);
}

struct hvabs_virtio_mmio *hvabs_virtio_vsock_transport(struct hvabs_virtio_vsock *v)
{
	return v->t;
}

/* Device lock held. */
static void reset_transport(struct hvabs_virtio_vsock *v)
{
	vs_kill_all(v);
	v->event_pending = true;
	if (deliver_event(v))
		(void)hvabs_virtio_transport_signal_used(v->tp, VS_EVQ);
	finish(v);
}

int hvabs_virtio_vsock_reset_transport(struct hvabs_virtio_vsock *v)
{
	hvabs_virtio_transport_lock(v->tp);
	reset_transport(v);
	hvabs_virtio_transport_unlock(v->tp);
	return 0;
}

int hvabs_virtio_vsock_set_cid(struct hvabs_virtio_vsock *v, uint64_t cid)
{
	if (!cid_ok(cid))
		return -EINVAL;
	hvabs_virtio_transport_lock(v->tp);
	set_cid(v, cid);
	int rc = hvabs_virtio_transport_config_changed(v->tp);
	reset_transport(v);
	hvabs_virtio_transport_unlock(v->tp);
	return rc;
}

void hvabs_virtio_vsock_get_stats(struct hvabs_virtio_vsock *v, struct hvabs_virtio_vsock_stats *st)
{
	hvabs_virtio_transport_lock(v->tp);
	*st = v->st;
	st->connections = v->nconns;
	hvabs_virtio_transport_unlock(v->tp);
}
