/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-pci notifications in both directions.
 *
 * Driver to device (virtio 1.2 §4.1.5.2): the driver writes the 16-bit
 * queue index at the queue's notify address in BAR 0. Each queue has our
 * own eventfd (signalled by a notify write that reaches the bus, and by
 * kicks) and, while BAR 0 is on the bus, an ioeventfd on its notify
 * address. Both sit in a private epoll set that the event loop watches, as
 * in virtio-mmio, so nothing here nests the loop's lock inside a device
 * lock. When the driver moves BAR 0 the ioeventfds move with it; ev_lock
 * keeps the loop from reading an fd that is being closed.
 *
 * Device to driver (§4.1.5.1.2): the ISR byte records the cause, and the
 * MSI-X vector the driver chose for the queue or the configuration gets a
 * message (pending while masked, see pci.h). There is no INTx.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_pci_priv.h"

#define ISR_QUEUE  1u
#define ISR_CONFIG 2u

static void send_vector(struct hvabs_virtio_pci *t, uint16_t vec)
{
	int rc;

	if (vec == HVABS_VIRTIO_PCI_NO_VECTOR)
		return;
	rc = hvabs_pci_msix_notify(t->pdev, vec);
	if (rc && rc != -EAGAIN)
		VPCI_WARN(t, "%s: MSI-X vector %u: %s", t->name, vec, strerror(-rc));
}

int vpci_signal_used(void *impl, uint32_t index)
{
	struct hvabs_virtio_pci *t = impl;
	struct vpci_queue *q;

	if (index >= t->ops->num_queues)
		return -EINVAL;
	q = &t->q[index];
	if (!q->ready || !hvabs_virtq_notify_needed(q->vq))
		return 0;
	t->st.used_irqs++;
	t->isr |= ISR_QUEUE;
	send_vector(t, q->msix);
	return 0;
}

void vpci_raise_config(struct hvabs_virtio_pci *t)
{
	t->st.config_irqs++;
	t->isr |= ISR_CONFIG;
	send_vector(t, t->config_msix);
}

void vpci_set_needs_reset(void *impl)
{
	struct hvabs_virtio_pci *t = impl;

	if (t->status & HVABS_VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= HVABS_VIRTIO_STATUS_NEEDS_RESET;
	t->st.needs_reset++;
	VPCI_WARN(t, "%s: device needs a reset (status 0x%x)", t->name, t->status);
	/* §2.1.2: once DRIVER_OK is set, NEEDS_RESET comes with a configuration change. */
	if (t->status & HVABS_VIRTIO_STATUS_DRIVER_OK)
		vpci_raise_config(t);
}

int vpci_kick(void *impl, uint32_t index)
{
	struct hvabs_virtio_pci *t = impl;
	uint64_t one = 1;

	if (index >= t->ops->num_queues)
		return -EINVAL;
	/* EAGAIN: the counter is saturated, so a notification is pending anyway. */
	if (write(t->q[index].own_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void vpci_kick_ready(struct hvabs_virtio_pci *t)
{
	for (uint32_t i = 0; i < t->ops->num_queues; i++)
		if (t->q[i].ready)
			(void)vpci_kick(t, i);
}

static void epoll_fd(struct hvabs_virtio_pci *t, int op, int fd, uint32_t index)
{
	struct epoll_event ee = {.events = EPOLLIN,
				 .data.u64 = (uint64_t)index << 32 | (uint32_t)fd};

	if (epoll_ctl(t->epfd, op, fd, &ee))
		VPCI_WARN(t, "%s: queue %u: epoll_ctl: %s", t->name, index, strerror(errno));
}

/* BAR 0 moved (pci.h): the ioeventfds follow the notify addresses. Function lock not held. */
void vpci_bar_moved(void *opaque, uint32_t bar, uint64_t gpa)
{
	struct hvabs_virtio_pci *t = opaque;
	uint32_t kernel = 0;

	if (bar != 0)
		return;
	pthread_mutex_lock(&t->ev_lock);
	for (uint32_t i = 0; i < t->ops->num_queues; i++) {
		struct vpci_queue *q = &t->q[i];
		struct hvabs_ioeventfd_spec spec = {
		    .space = HVABS_SPACE_MMIO,
		    .len = 0, /* any width: Linux writes 16 bits (§4.1.5.2) */
		    .addr = gpa + HVABS_VIRTIO_PCI_NOTIFY_OFF + HVABS_VIRTIO_PCI_NOTIFY_MUL * i};

		if (q->ioev) {
			epoll_fd(t, EPOLL_CTL_DEL, hvabs_ioeventfd_fd(q->ioev), i);
			hvabs_ioeventfd_destroy(q->ioev);
			q->ioev = NULL;
		}
		if (gpa == HVABS_PCI_BAR_UNMAPPED)
			continue;
		/* Without one, the notify write reaches the bus and our own eventfd. */
		if (hvabs_ioeventfd_create(t->vm, &spec, &q->ioev)) {
			q->ioev = NULL;
			continue;
		}
		kernel += hvabs_ioeventfd_is_kernel(q->ioev) ? 1u : 0u;
		epoll_fd(t, EPOLL_CTL_ADD, hvabs_ioeventfd_fd(q->ioev), i);
	}
	pthread_mutex_unlock(&t->ev_lock);
	hvabs_pci_dev_lock(t->pdev);
	t->st.kernel_ioeventfd = kernel;
	hvabs_pci_dev_unlock(t->pdev);
}

/* One queue's work, function lock held. */
static void service(struct hvabs_virtio_pci *t, uint32_t index)
{
	struct vpci_queue *q = &t->q[index];
	int more;

	/* §2.1.2: no buffers are consumed before DRIVER_OK, or while a reset is needed. */
	if (!(t->status & HVABS_VIRTIO_STATUS_DRIVER_OK) ||
	    (t->status & HVABS_VIRTIO_STATUS_NEEDS_RESET) || !q->ready)
		return;
	t->st.notifies++;
	more = t->ops->queue_notify(t->opaque, index, q->vq);
	if (hvabs_virtq_is_broken(q->vq)) {
		vpci_set_needs_reset(t);
		return;
	}
	(void)vpci_signal_used(t, index);
	/* The device stopped after a batch: come back once vCPUs had the lock. */
	if (more > 0)
		(void)vpci_kick(t, index);
}

static void on_notify(void *opaque, uint32_t events)
{
	struct hvabs_virtio_pci *t = opaque;
	struct epoll_event evs[2 * HVABS_VIRTIO_MMIO_MAX_QUEUES];
	uint64_t pending = 0, cnt;
	int n;

	(void)events;
	pthread_mutex_lock(&t->ev_lock);
	n = epoll_wait(t->epfd, evs, 2 * HVABS_VIRTIO_MMIO_MAX_QUEUES, 0);
	for (int i = 0; i < n; i++)
		if (read((int)(uint32_t)evs[i].data.u64, &cnt, sizeof(cnt)) > 0)
			pending |= 1ull << (evs[i].data.u64 >> 32);
	pthread_mutex_unlock(&t->ev_lock);
	if (!pending)
		return;
	hvabs_pci_dev_lock(t->pdev);
	for (uint32_t i = 0; i < t->ops->num_queues; i++)
		if (pending & (1ull << i))
			service(t, i);
	hvabs_pci_dev_unlock(t->pdev);
}

int vpci_event_init(struct hvabs_virtio_pci *t)
{
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	for (uint32_t i = 0; i < t->ops->num_queues; i++) {
		t->q[i].own_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[i].own_fd < 0)
			return -errno;
		epoll_fd(t, EPOLL_CTL_ADD, t->q[i].own_fd, i);
	}
	return hvabs_event_add(t->loop, t->epfd, HVABS_EVENT_IN, on_notify, t, &t->ev);
}

void vpci_event_fini(struct hvabs_virtio_pci *t)
{
	/* Waits for a running on_notify, so nothing below is in use. */
	hvabs_event_remove(t->ev);
	t->ev = NULL;
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++) {
		hvabs_ioeventfd_destroy(t->q[i].ioev);
		t->q[i].ioev = NULL;
		if (t->q[i].own_fd >= 0)
			close(t->q[i].own_fd);
		t->q[i].own_fd = -1;
	}
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
}
