/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio-pci transport's life: the PCI function with its identity
 * (virtio 1.2 §4.1.2: vendor 0x1af4, device 0x1040 + ID, revision 1), the
 * virtio capabilities of §4.1.4 and MSI-X, its queues, and the
 * transport-neutral handle the device calls back through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci_priv.h"
#include "virtio_pci_priv.h"

/* PCI class codes by virtio device type (net, block, console); others are unassigned. */
static uint32_t class_of(uint32_t id)
{
	switch (id) {
	case HVABS_VIRTIO_ID_NET:
		return 0x020000;
	case HVABS_VIRTIO_ID_BLOCK:
		return 0x018000;
	case HVABS_VIRTIO_ID_CONSOLE:
		return 0x078000;
	default:
		return 0xff0000;
	}
}

/* struct virtio_pci_cap after its ID and next bytes (§4.1.4), plus notify_off_multiplier. */
static int add_cap(struct hvabs_pci_dev *d, uint8_t type, uint32_t off, uint32_t len)
{
	uint8_t b[18] = {0};
	uint32_t at, blen = type == HVABS_VIRTIO_PCI_CAP_NOTIFY ? 18 : 14;

	b[0] = (uint8_t)(blen + 2); /* cap_len */
	b[1] = type;
	b[2] = 0; /* BAR 0 */
	pci_put(b + 6, 4, off);
	pci_put(b + 10, 4, len);
	if (type == HVABS_VIRTIO_PCI_CAP_NOTIFY)
		pci_put(b + 14, 4, HVABS_VIRTIO_PCI_NOTIFY_MUL);
	return hvabs_pci_cap_add(d, HVABS_PCI_CAP_ID_VNDR, b, NULL, blen, &at);
}

static int add_caps(struct hvabs_virtio_pci *t)
{
	const struct hvabs_virtio_device_ops *o = t->ops;
	int rc = add_cap(t->pdev, HVABS_VIRTIO_PCI_CAP_COMMON, HVABS_VIRTIO_PCI_COMMON_OFF,
			 HVABS_VIRTIO_PCI_COMMON_LEN);

	if (!rc)
		rc = add_cap(t->pdev, HVABS_VIRTIO_PCI_CAP_NOTIFY, HVABS_VIRTIO_PCI_NOTIFY_OFF,
			     HVABS_VIRTIO_PCI_NOTIFY_MUL * o->num_queues);
	if (!rc)
		rc = add_cap(t->pdev, HVABS_VIRTIO_PCI_CAP_ISR, HVABS_VIRTIO_PCI_ISR_OFF, 1);
	if (!rc && o->config_size)
		rc = add_cap(t->pdev, HVABS_VIRTIO_PCI_CAP_DEVICE, HVABS_VIRTIO_PCI_DEVICE_OFF,
			     o->config_size);
	/* One vector per queue and one for configuration changes. */
	if (!rc)
		rc = hvabs_pci_msix_init(t->pdev, o->num_queues + 1, 0, HVABS_VIRTIO_PCI_MSIX_OFF);
	return rc;
}

static bool ops_valid(const struct hvabs_virtio_device_ops *o)
{
	uint32_t m = o->queue_size_max;

	/* The notification area and the MSI-X table must fit their slices of BAR 0. */
	return o->device_id && o->num_queues && o->num_queues <= HVABS_VIRTIO_MMIO_MAX_QUEUES &&
	       m && m <= HVABS_VIRTQ_MAX_SIZE && !(m & (m - 1)) && o->config_size <= 0x1000 &&
	       (!o->config_size || o->config_read) && o->queue_notify;
}

static void vpci_lock(void *impl)
{
	hvabs_pci_dev_lock(((struct hvabs_virtio_pci *)impl)->pdev);
}

static void vpci_unlock(void *impl)
{
	hvabs_pci_dev_unlock(((struct hvabs_virtio_pci *)impl)->pdev);
}

static struct hvabs_virtq *vpci_queue(void *impl, uint32_t index)
{
	struct hvabs_virtio_pci *t = impl;

	return index < t->ops->num_queues ? t->q[index].vq : NULL;
}

static int vpci_config_changed(void *impl)
{
	struct hvabs_virtio_pci *t = impl;

	t->config_gen++;
	if (t->status & HVABS_VIRTIO_STATUS_DRIVER_OK)
		vpci_raise_config(t);
	return 0;
}

static uint64_t vpci_features(const void *impl)
{
	const struct hvabs_virtio_pci *t = impl;

	return t->status & HVABS_VIRTIO_STATUS_FEATURES_OK ? t->drv_features : 0;
}

static const struct virtio_transport_ops vpci_tp_ops = {
    .lock = vpci_lock,
    .unlock = vpci_unlock,
    .queue = vpci_queue,
    .signal_used = vpci_signal_used,
    .config_changed = vpci_config_changed,
    .set_needs_reset = vpci_set_needs_reset,
    .kick = vpci_kick,
    .features = vpci_features,
};

static int make_function(struct hvabs_virtio_pci *t, const struct hvabs_virtio_pci_params *p)
{
	struct hvabs_pci_dev_params dp = {
	    .vendor_id = HVABS_VIRTIO_PCI_VENDOR,
	    .device_id = (uint16_t)(HVABS_VIRTIO_PCI_DEVICE_BASE + t->ops->device_id),
	    .subsys_vendor_id = HVABS_VIRTIO_PCI_VENDOR,
	    .subsys_id = 0x40, /* §4.1.2.1: modern devices use 0x40 and above */
	    .class_code = class_of(t->ops->device_id),
	    .revision = 1,
	    .slot = p->slot ? p->slot : 0xff,
	    .bars = {[0] = {.size = HVABS_VIRTIO_PCI_BAR_SIZE,
			    .flags = HVABS_PCI_BAR_F_64,
			    .ops = vpci_bar_ops(),
			    .opaque = t}},
	    .bar_moved = vpci_bar_moved,
	    .opaque = t,
	    .name = t->name};
	int rc = hvabs_pci_dev_create(p->host, &dp, &t->pdev);

	return rc ? rc : add_caps(t);
}

static void release(struct hvabs_virtio_pci *t)
{
	/* No guest access, then no loop callback, can run after these two. */
	hvabs_pci_dev_destroy(t->pdev);
	vpci_event_fini(t);
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++)
		hvabs_virtq_destroy(t->q[i].vq);
	pthread_mutex_destroy(&t->ev_lock);
	free(t);
}

static struct hvabs_virtio_pci *alloc(struct hvabs_vm *vm, const struct hvabs_virtio_pci_params *p,
				      const struct hvabs_virtio_device_ops *ops, void *opaque)
{
	struct hvabs_virtio_pci *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tp.ops = &vpci_tp_ops;
	t->tp.impl = t;
	t->vm = vm;
	t->log = hvabs_vm_logger(vm);
	t->loop = p->loop;
	t->ops = ops;
	t->opaque = opaque;
	t->epfd = -1;
	t->dev_features = ops->features | HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1);
	t->config_msix = HVABS_VIRTIO_PCI_NO_VECTOR;
	snprintf(t->name, sizeof(t->name), "%s", p->name ? p->name : "virtio");
	pthread_mutex_init(&t->ev_lock, NULL);
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++) {
		t->q[i].own_fd = -1;
		t->q[i].msix = HVABS_VIRTIO_PCI_NO_VECTOR;
		t->q[i].num = ops->queue_size_max;
	}
	return t;
}

int hvabs_virtio_pci_create(struct hvabs_vm *vm, const struct hvabs_virtio_pci_params *p,
			    const struct hvabs_virtio_device_ops *ops, void *opaque,
			    struct hvabs_virtio_pci **out)
{
	struct hvabs_virtio_pci *t;
	int rc = 0;

	if (!vm || !p || !p->host || !p->loop || !ops || !out || !ops_valid(ops))
		return -EINVAL;
	t = alloc(vm, p, ops, opaque);
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < ops->num_queues && !rc; i++) {
		char qn[40];

		snprintf(qn, sizeof(qn), "%s.q%u", t->name, i);
		rc = hvabs_virtq_create(hvabs_vm_mem(vm), t->log, qn, ops->queue_size_max,
					&t->q[i].vq);
	}
	if (!rc)
		rc = vpci_event_init(t);
	if (!rc)
		rc = make_function(t, p);
	if (rc) {
		release(t);
		return rc;
	}
	*out = t;
	return 0;
}

void hvabs_virtio_pci_destroy(struct hvabs_virtio_pci *t)
{
	if (t)
		release(t);
}

struct hvabs_virtio_transport *hvabs_virtio_pci_transport(struct hvabs_virtio_pci *t)
{
	return &t->tp;
}

struct hvabs_pci_dev *hvabs_virtio_pci_function(struct hvabs_virtio_pci *t)
{
	return t->pdev;
}

void hvabs_virtio_pci_get_stats(struct hvabs_virtio_pci *t, struct hvabs_virtio_pci_stats *st)
{
	hvabs_pci_dev_lock(t->pdev);
	*st = t->st;
	st->status = t->status;
	st->isr = t->isr;
	hvabs_pci_dev_unlock(t->pdev);
}
