/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPUs. Xen schedules the guest's vCPUs; a vCPU "runs" here by waiting for
 * its next ioreq: each vCPU has its own xenevtchn handle bound to its slot's
 * event channel and an eventfd for kicks, and vcpu_run polls both.
 *
 * What else a VMM must see, Xen does not send: a vCPU that halts with
 * interrupts off goes down (hvm_hlt -> hvm_vcpu_down) and the domain powers
 * off when the last one does; a triple fault or a guest's SCHEDOP_shutdown
 * shuts it down. So a waiting vCPU looks at its own state and the domain's
 * every poll_ms (default 100 ms): down with more CPU time than when it was
 * last seen down is an HLT exit; a shut-down domain is a SYSTEM_EVENT,
 * RESET or SHUTDOWN exit; a domain that vanished is a power-off.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vcpu_table.h"
#include "xen_priv.h"

static void *slot_of(struct hvabs_be_vcpu *v)
{
	return &((shared_iopage_t *)v->vm->iopage)->vcpu_ioreq[v->index];
}

static int fetch_vcpu_info(struct hvabs_be_vcpu *v, xc_vcpuinfo_t *info)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&vm->xc_lock);
	rc = vm->x->xc_vcpu_getinfo(vm->xch, vm->domid, v->index, info) ? xen_errno() : 0;
	pthread_mutex_unlock(&vm->xc_lock);
	return rc;
}

/* Binds the vCPU's ioreq event channel and reads its state; xen_vcpu_discard() undoes it. */
static int vcpu_init(struct hvabs_be_vm *vm, struct hvabs_be_vcpu *v, uint32_t index)
{
	const struct xen_lib *x = vm->x;
	xc_vcpuinfo_t info;

	v->vm = vm;
	v->index = index;
	v->ev_fd = -1;
	v->buf.cap = XEN_MAX_IO_BYTES;
	v->buf.p = malloc(v->buf.cap);
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!v->buf.p || v->kick_fd < 0)
		return v->buf.p ? -errno : -ENOMEM;
	/* Xen wrote the slot's port when the server was enabled. */
	uint32_t remote = __atomic_load_n(&((ioreq_t *)slot_of(v))->vp_eport, __ATOMIC_RELAXED);
	if (!remote) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: the ioreq page has no event channel for vCPU %u", vm->domid,
				index);
		return -ENXIO;
	}
	v->xce = x->xenevtchn_open(&vm->logger.xtl, 0);
	if (!v->xce) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "xenevtchn_open: %s",
				strerror(-rc));
		return rc;
	}
	xenevtchn_port_or_error_t p = x->xenevtchn_bind_interdomain(v->xce, vm->domid, remote);
	if (p < 0) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot bind vCPU %u's event channel %u: %s", vm->domid, index,
				remote, strerror(-rc));
		return rc;
	}
	v->port = (evtchn_port_t)p;
	v->bound = 1;
	v->ev_fd = x->xenevtchn_fd(v->xce);
	/* Non-blocking, so a spurious wake-up cannot block in xenevtchn_pending. */
	int fl = v->ev_fd >= 0 ? fcntl(v->ev_fd, F_GETFL) : -1;
	if (fl < 0 || fcntl(v->ev_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -EBADF;
	int rc = fetch_vcpu_info(v, &info);
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: vCPU %u: %s", vm->domid,
				index, strerror(-rc));
		return rc;
	}
	/* Down now (not started yet) is not an HLT; going down later is. */
	v->down_mark = info.online ? UINT64_MAX : info.cpu_time;
	return 0;
}

static void vcpu_discard(struct hvabs_be_vcpu *v)
{
	const struct xen_lib *x = v->vm->x;

	if (v->bound)
		x->xenevtchn_unbind(v->xce, v->port);
	if (v->xce)
		x->xenevtchn_close(v->xce);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	free(v->buf.p);
}

static const struct vcpu_table_ops vcpu_ops = {
    .size = sizeof(struct hvabs_be_vcpu),
    .init = vcpu_init,
    .attach = NULL, /* Xen made the domain's vCPUs: init found this one */
    .discard = vcpu_discard,
};

int xen_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out)
{
	struct vcpu_table t = {&vm->lock, vm->vcpus, vm->max_vcpus};

	return vcpu_table_create(&t, vm, index, &vcpu_ops, out);
}

static void notify(struct hvabs_be_vcpu *v)
{
	if (v->vm->x->xenevtchn_notify(v->xce, v->port))
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, XEN, "d%u: vcpu%u: notify: %s",
				v->vm->domid, v->index, strerror(-xen_errno()));
}

/* Hands Xen the answer to @p r (data from our buffer when @p served) and wakes the vCPU. */
static void answer(struct hvabs_be_vcpu *v, const struct xen_req *r, int served)
{
	char why[256];
	int rc = xen_req_answer(slot_of(v), r, served ? v->buf.p : NULL, served, &v->vm->ram, why,
				sizeof(why));

	if (why[0])
		xen_log_guest(v->vm, "vcpu%u: %s", v->index, why);
	if (rc != -ESTALE)
		notify(v);
}

/*
 * Destroying a vCPU detaches the device model: the server takes no new
 * requests, and the one this vCPU has in flight is answered so the guest's
 * vCPU is not left waiting for a device model that is gone.
 */
void xen_vcpu_destroy(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	const struct xen_lib *x = vm->x;

	struct vcpu_table t = {&vm->lock, vm->vcpus, vm->max_vcpus};

	vcpu_table_remove(&t, v->index, v);
	xen_server_disable(vm);
	if (v->inflight)
		answer(v, &v->req, 1);
	struct xen_req r;
	xen_req_load(slot_of(v), &r);
	if (r.state == STATE_IOREQ_READY) {
		xen_req_take(slot_of(v));
		answer(v, &r, 0);
	}
	if (x->xenevtchn_unbind(v->xce, v->port))
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN, "d%u: vcpu%u: unbind: %s", vm->domid,
				v->index, strerror(-xen_errno()));
	v->bound = 0;
	vcpu_discard(v);
	free(v);
}

/* The first run lets the guest go: direct mode publishes the memory map first. */
static int start(struct hvabs_be_vm *vm)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->started) {
		if (!vm->attach) {
			rc = xen_mem_publish_map(vm);
			if (rc)
				hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN,
						"d%u: memory map not set: %s", vm->domid,
						strerror(-rc));
			rc = 0;
		}
		if (vm->held && !vm->user_paused) {
			pthread_mutex_lock(&vm->xc_lock);
			rc = vm->x->xc_domain_unpause(vm->xch, vm->domid) ? xen_errno() : 0;
			pthread_mutex_unlock(&vm->xc_lock);
			if (rc == -ESRCH)
				rc = 0; /* destroyed already: the run loop reports it */
			if (rc)
				hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: unpause: %s",
						vm->domid, strerror(-rc));
			else
				vm->held = 0;
		}
		if (!rc)
			vm->started = 1;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static void plain_exit(struct hvabs_exit *e, uint32_t kind, uint64_t raw)
{
	memset(&e->u, 0, sizeof(e->u));
	e->flags = 0;
	e->kind = kind;
	e->raw_reason = raw;
}

static int gone_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	if (!atomic_exchange(&v->vm->gone, 1))
		hvabs_host_logf(v->vm->host, HVABS_LOG_INFO, XEN,
				"domain %u was destroyed: reported as a power-off", v->vm->domid);
	plain_exit(e, HVABS_EXIT_SYSTEM_EVENT, XEN_RAW_GONE);
	e->u.system_event.type = HVABS_SYSTEM_EVENT_POWEROFF;
	return 1;
}

static int shutdown_exit(uint32_t reason, struct hvabs_exit *e)
{
	switch (reason) {
	case SHUTDOWN_reboot:
		plain_exit(e, HVABS_EXIT_RESET, XEN_RAW_SHUTDOWN + reason);
		return 1;
	case SHUTDOWN_crash: /* domain_crash(), and triple faults (HVM_PARAM_TRIPLE_FAULT_REASON) */
		plain_exit(e, HVABS_EXIT_SHUTDOWN, XEN_RAW_SHUTDOWN + reason);
		return 1;
	default:
		plain_exit(e, HVABS_EXIT_SYSTEM_EVENT, XEN_RAW_SHUTDOWN + reason);
		e->u.system_event.type = reason == SHUTDOWN_poweroff ? HVABS_SYSTEM_EVENT_POWEROFF
								     : HVABS_SYSTEM_EVENT_OTHER;
		e->u.system_event.ndata = 1;
		e->u.system_event.data[0] = reason;
		return 1;
	}
}

/* Looks at the vCPU and the domain: 1 with an exit in @p e, 0 nothing new, or -errno. */
static int check_status(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	struct hvabs_be_vm *vm = v->vm;
	xc_vcpuinfo_t info;
	xc_dominfo_t di;

	int rc = fetch_vcpu_info(v, &info);
	if (rc == -ESRCH)
		return gone_exit(v, e);
	if (rc) {
		xen_log_guest(vm, "vcpu%u: state unknown: %s", v->index, strerror(-rc));
		return 0;
	}
	if (info.online) {
		v->down_mark = UINT64_MAX;
	} else if (info.cpu_time != v->down_mark) {
		v->down_mark = info.cpu_time;
		plain_exit(e, HVABS_EXIT_HLT, XEN_RAW_DOWN);
		return 1;
	}
	memset(&di, 0, sizeof(di));
	pthread_mutex_lock(&vm->xc_lock);
	int n = vm->x->xc_domain_getinfo(vm->xch, vm->domid, 1, &di);
	pthread_mutex_unlock(&vm->xc_lock);
	if (n != 1 || di.domid != vm->domid || di.dying)
		return gone_exit(v, e);
	/* libxc reports a crash (a triple fault here) as crashed, not shutdown. */
	if (di.crashed)
		return shutdown_exit(SHUTDOWN_crash, e);
	if (di.shutdown)
		return shutdown_exit(di.shutdown_reason, e);
	return 0;
}

/* Takes the slot's request if there is one: 1 with an exit in @p e, else 0. */
static int next_request(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	char why[256];
	struct xen_req r;

	xen_req_load(slot_of(v), &r);
	if (r.state == STATE_IOREQ_READY)
		xen_req_take(slot_of(v));
	int verdict = xen_req_decode(&r, &v->vm->ram, &v->buf, e, why, sizeof(why));
	if (why[0])
		xen_log_guest(v->vm, "vcpu%u: %s", v->index, why);
	if (verdict == XEN_REQ_ANSWER)
		answer(v, &r, 0);
	if (verdict != XEN_REQ_EXIT)
		return 0;
	v->req = r;
	v->inflight = 1;
	return 1;
}

static void drain(int fd)
{
	uint64_t n;

	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
}

/* Sleeps until an event, a kick, or @p deadline (monotonic ns). */
static int wait_event(struct hvabs_be_vcpu *v, uint64_t deadline)
{
	struct pollfd p[2] = {{.fd = v->ev_fd, .events = POLLIN},
			      {.fd = v->kick_fd, .events = POLLIN}};
	uint64_t now = xen_now_ns();
	int ms = deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
	int r = poll(p, 2, ms);

	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[0].revents & (POLLERR | POLLNVAL)) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: vcpu%u: event channel fd failed", v->vm->domid, v->index);
		return -EIO;
	}
	if (p[0].revents & POLLIN) {
		xenevtchn_port_or_error_t port = v->vm->x->xenevtchn_pending(v->xce);
		if (port >= 0 && v->vm->x->xenevtchn_unmask(v->xce, (evtchn_port_t)port))
			xen_log_guest(v->vm, "vcpu%u: unmask: %s", v->index,
				      strerror(-xen_errno()));
	}
	if (p[1].revents & POLLIN)
		drain(v->kick_fd);
	return 0;
}

int xen_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc;

	if (v->inflight) {
		v->inflight = 0;
		answer(v, &v->req, 1);
	}
	rc = start(vm);
	if (rc)
		return rc;
	for (;;) {
		if (atomic_exchange(&v->kick, 0)) {
			drain(v->kick_fd);
			plain_exit(e, HVABS_EXIT_CANCELED, XEN_RAW_KICK);
			return 0;
		}
		if (atomic_load(&vm->gone)) {
			gone_exit(v, e);
			return 0;
		}
		if (next_request(v, e))
			return 0;
		uint64_t now = xen_now_ns();
		if (now >= v->next_status) {
			rc = check_status(v, e);
			if (rc)
				return rc < 0 ? rc : 0;
			v->next_status = now + (uint64_t)vm->poll_ms * 1000000ull;
		}
		rc = wait_event(v, v->next_status);
		if (rc)
			return rc;
	}
}

int xen_vcpu_kick(struct hvabs_be_vcpu *v)
{
	uint64_t one = 1;

	atomic_store(&v->kick, 1);
	if (write(v->kick_fd, &one, sizeof(one)) != (ssize_t)sizeof(one) && errno != EAGAIN)
		return -errno;
	return 0;
}

/* Pause before the first run only says "do not start"; after it, Xen pauses the domain. */
int xen_pause(struct hvabs_be_vm *vm)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->user_paused) {
		if (!vm->held) {
			pthread_mutex_lock(&vm->xc_lock);
			rc = vm->x->xc_domain_pause(vm->xch, vm->domid) ? xen_errno() : 0;
			pthread_mutex_unlock(&vm->xc_lock);
			if (!rc)
				vm->held = 1;
		}
		if (!rc)
			vm->user_paused = 1;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int xen_resume(struct hvabs_be_vm *vm)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->user_paused) {
		if (vm->started && vm->held) {
			pthread_mutex_lock(&vm->xc_lock);
			rc = vm->x->xc_domain_unpause(vm->xch, vm->domid) ? xen_errno() : 0;
			pthread_mutex_unlock(&vm->xc_lock);
			if (!rc)
				vm->held = 0;
		}
		if (!rc)
			vm->user_paused = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}
