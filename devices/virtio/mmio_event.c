/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio notifications in both directions.
 *
 * Driver to device: each ready queue has a notify eventfd, the fd of an
 * ioeventfd on QueueNotify matching that queue's index (served by the
 * hypervisor, or by the core's run loop when it cannot), or our own eventfd
 * when no ioeventfd can be had; a QueueNotify write that reaches the bus
 * signals the same fd. The notify fds sit in a private epoll set and only
 * that set is watched by the event loop. This is what lets a queue be armed
 * from a register access, which holds the device lock: adding a source to
 * the loop takes the loop's lock, and the loop holds that lock while its
 * callbacks take the device lock, so the two must never nest the other way.
 * epoll_ctl on our own set takes neither.
 *
 * Device to driver: InterruptStatus is set, then the irqfd is signalled
 * (edge-triggered, what the ACPI description says by default), or with a
 * level-triggered line the line follows "InterruptStatus is non-zero".
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mmio_priv.h"

void mmio_update_line(struct hvabs_virtio_mmio *t)
{
	if (!(t->flags & HVABS_VIRTIO_MMIO_F_LEVEL))
		return;
	int level = t->isr != 0;
	if (level == t->line)
		return;
	int rc = hvabs_irq_line(t->vm, t->gsi, level);
	if (rc) {
		hvabs_log_ratelimited(t->log, &t->rl, HVABS_LOG_WARN, VIRTIO_COMP,
				      "%s: cannot set GSI %u to %d: %s", t->name, t->gsi, level,
				      strerror(-rc));
		return;
	}
	t->line = level;
}

void mmio_raise(struct hvabs_virtio_mmio *t, uint32_t bits)
{
	/* §4.2.3.4: the cause is visible in InterruptStatus before the interrupt. */
	t->isr |= bits;
	if (t->flags & HVABS_VIRTIO_MMIO_F_LEVEL) {
		mmio_update_line(t);
		return;
	}
	int rc = hvabs_irqfd_trigger(t->irqfd);
	if (rc)
		hvabs_log_ratelimited(t->log, &t->rl, HVABS_LOG_WARN, VIRTIO_COMP,
				      "%s: cannot signal GSI %u: %s", t->name, t->gsi,
				      strerror(-rc));
}

int hvabs_virtio_mmio_signal_used(struct hvabs_virtio_mmio *t, uint32_t index)
{
	if (index >= t->ops->num_queues)
		return -EINVAL;
	struct mmio_queue *mq = &t->q[index];
	if (!mq->ready || !hvabs_virtq_notify_needed(mq->vq))
		return 0;
	t->st.used_irqs++;
	mmio_raise(t, HVABS_VIRTIO_MMIO_INT_VRING);
	return 0;
}

int hvabs_virtio_mmio_kick(struct hvabs_virtio_mmio *t, uint32_t index)
{
	uint64_t one = 1;

	if (index >= t->ops->num_queues)
		return -EINVAL;
	int fd = atomic_load(&t->q[index].notify_fd);
	if (fd < 0)
		return -ENODEV;
	/* EAGAIN: the counter is saturated, so a notification is pending anyway. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void mmio_kick_ready(struct hvabs_virtio_mmio *t)
{
	for (uint32_t i = 0; i < t->ops->num_queues; i++)
		if (t->q[i].ready)
			(void)hvabs_virtio_mmio_kick(t, i);
}

/* Gives queue @p index its notify fd, once for the transport's lifetime. Device lock held. */
int mmio_queue_arm(struct hvabs_virtio_mmio *t, uint32_t index)
{
	struct mmio_queue *mq = &t->q[index];

	if (atomic_load(&mq->notify_fd) >= 0)
		return 0;
	struct hvabs_ioeventfd_spec ev = {.space = HVABS_SPACE_MMIO,
					  .len = 4,
					  .addr = t->base + HVABS_VIRTIO_MMIO_QUEUE_NOTIFY,
					  .datamatch = index,
					  .flags = HVABS_IOEVENTFD_F_DATAMATCH};
	int fd, rc = hvabs_ioeventfd_create(t->vm, &ev, &mq->ioev);
	if (!rc) {
		fd = hvabs_ioeventfd_fd(mq->ioev);
		t->st.kernel_ioeventfd += hvabs_ioeventfd_is_kernel(mq->ioev) ? 1u : 0u;
	} else {
		/* The bus write path still signals our own fd. */
		hvabs_log(t->log, HVABS_LOG_INFO, VIRTIO_COMP,
			  "%s: queue %u: no ioeventfd (%s): notifications go through the bus",
			  t->name, index, strerror(-rc));
		mq->ioev = NULL;
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -errno;
	}
	struct epoll_event ee = {.events = EPOLLIN, .data.u32 = index};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ee)) {
		rc = -errno;
		if (mq->ioev)
			hvabs_ioeventfd_destroy(mq->ioev);
		else
			close(fd);
		mq->ioev = NULL;
		return rc;
	}
	atomic_store(&mq->notify_fd, fd);
	return 0;
}

/* One queue's work, device lock held. */
static void service(struct hvabs_virtio_mmio *t, uint32_t index)
{
	struct mmio_queue *mq = &t->q[index];

	/* §2.1.2: no buffers are consumed before DRIVER_OK, or while a reset is needed. */
	if (!(t->status & HVABS_VIRTIO_STATUS_DRIVER_OK) ||
	    (t->status & HVABS_VIRTIO_STATUS_NEEDS_RESET) || !mq->ready)
		return;
	t->st.notifies++;
	int more = t->ops->queue_notify(t->opaque, index, mq->vq);
	if (hvabs_virtq_is_broken(mq->vq)) {
		hvabs_virtio_mmio_set_needs_reset(t);
		return;
	}
	(void)hvabs_virtio_mmio_signal_used(t, index);
	/* The device stopped after a batch: come back once vCPUs had the lock. */
	if (more > 0)
		(void)hvabs_virtio_mmio_kick(t, index);
}

static void on_notify(void *opaque, uint32_t events)
{
	struct hvabs_virtio_mmio *t = opaque;
	struct epoll_event evs[HVABS_VIRTIO_MMIO_MAX_QUEUES];
	uint64_t pending = 0, cnt;

	(void)events;
	int n = epoll_wait(t->epfd, evs, HVABS_VIRTIO_MMIO_MAX_QUEUES, 0);
	for (int i = 0; i < n; i++) {
		uint32_t index = evs[i].data.u32;
		if (read(atomic_load(&t->q[index].notify_fd), &cnt, sizeof(cnt)) > 0)
			pending |= 1ull << index;
	}
	if (!pending)
		return;
	hvabs_bus_dev_lock(t->dev);
	for (uint32_t i = 0; i < t->ops->num_queues; i++)
		if (pending & (1ull << i))
			service(t, i);
	hvabs_bus_dev_unlock(t->dev);
}

int mmio_event_init(struct hvabs_virtio_mmio *t)
{
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	int rc = hvabs_event_add(t->loop, t->epfd, HVABS_EVENT_IN, on_notify, t, &t->ev);
	if (rc || (t->flags & HVABS_VIRTIO_MMIO_F_LEVEL))
		return rc;
	struct hvabs_irq_route route = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = t->gsi};
	rc = hvabs_irqfd_create(t->vm, &route, t->loop, &t->irqfd);
	if (!rc)
		t->st.kernel_irqfd = (uint32_t)hvabs_irqfd_is_kernel(t->irqfd);
	return rc;
}

void mmio_event_fini(struct hvabs_virtio_mmio *t)
{
	/* Waits for a running on_notify, so nothing below is in use. */
	hvabs_event_remove(t->ev);
	t->ev = NULL;
	hvabs_irqfd_destroy(t->irqfd);
	t->irqfd = NULL;
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++) {
		struct mmio_queue *mq = &t->q[i];
		int fd = atomic_load(&mq->notify_fd);
		if (mq->ioev)
			hvabs_ioeventfd_destroy(mq->ioev);
		else if (fd >= 0)
			close(fd);
		mq->ioev = NULL;
		atomic_store(&mq->notify_fd, -1);
	}
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
}
