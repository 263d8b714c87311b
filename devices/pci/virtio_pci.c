/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modern virtio-pci transport (virtio 1.2 §4.1): a PCI function with
 * the four vendor-specific capabilities of §4.1.4 pointing into BAR 0, the
 * common configuration structure of §4.1.4.3 (feature negotiation, the
 * status machine, queue setup with its MSI-X vector), the ISR byte and the
 * device-specific configuration. BAR accesses arrive with the PCI function
 * lock held, which is the device lock. virtio_pci_event.c does
 * notifications and interrupts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci_priv.h"
#include "virtio_pci_priv.h"

#define VERSION_1 HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)

static struct vpci_queue *sel_queue(struct hvabs_virtio_pci *t)
{
	return t->qsel < t->ops->num_queues ? &t->q[t->qsel] : NULL;
}

static void reset_device(struct hvabs_virtio_pci *t)
{
	for (uint32_t i = 0; i < t->ops->num_queues; i++) {
		struct vpci_queue *q = &t->q[i];

		hvabs_virtq_disable(q->vq);
		q->ready = false;
		q->num = t->ops->queue_size_max;
		q->desc = q->driver = q->device = 0;
		q->msix = HVABS_VIRTIO_PCI_NO_VECTOR;
	}
	t->status = 0;
	t->drv_features = 0;
	t->dfsel = t->gfsel = 0;
	t->qsel = 0;
	t->isr = 0;
	t->config_msix = HVABS_VIRTIO_PCI_NO_VECTOR;
	t->st.resets++;
	if (t->ops->reset)
		t->ops->reset(t->opaque);
}

/* §2.2.2, §6.1: the device refuses a subset it did not offer, or one without VERSION_1. */
static int check_features(struct hvabs_virtio_pci *t)
{
	uint64_t extra = t->drv_features & ~t->dev_features;

	if (!(t->drv_features & VERSION_1) || extra) {
		VPCI_WARN(t, "%s: driver features 0x%" PRIx64 " refused (%s)", t->name,
			  t->drv_features, extra ? "not offered" : "no VIRTIO_F_VERSION_1");
		return -EINVAL;
	}
	return t->ops->features_ok ? t->ops->features_ok(t->opaque, t->drv_features) : 0;
}

static void write_status(struct hvabs_virtio_pci *t, uint8_t val)
{
	uint8_t old = t->status, next;

	if (val == 0) {
		reset_device(t);
		return;
	}
	/* §2.1.1: the driver never clears a bit, and NEEDS_RESET is the device's. */
	next = (uint8_t)((val | old) & ~HVABS_VIRTIO_STATUS_NEEDS_RESET);
	next |= old & HVABS_VIRTIO_STATUS_NEEDS_RESET;
	if ((next & HVABS_VIRTIO_STATUS_FEATURES_OK) && !(old & HVABS_VIRTIO_STATUS_FEATURES_OK) &&
	    check_features(t))
		next &= (uint8_t)~HVABS_VIRTIO_STATUS_FEATURES_OK;
	if ((next & HVABS_VIRTIO_STATUS_DRIVER_OK) && !(next & HVABS_VIRTIO_STATUS_FEATURES_OK)) {
		VPCI_WARN(t, "%s: DRIVER_OK without FEATURES_OK: refused", t->name);
		next &= (uint8_t)~HVABS_VIRTIO_STATUS_DRIVER_OK;
	}
	t->status = next;
	if ((next & HVABS_VIRTIO_STATUS_DRIVER_OK) && !(old & HVABS_VIRTIO_STATUS_DRIVER_OK)) {
		if (t->ops->driver_ok)
			t->ops->driver_ok(t->opaque);
		/* Buffers may have been queued (and notified) before DRIVER_OK. */
		vpci_kick_ready(t);
	}
}

static void queue_enable(struct hvabs_virtio_pci *t, uint32_t index)
{
	struct vpci_queue *q = &t->q[index];
	struct hvabs_virtq_layout l = {.size = q->num,
				       .desc = q->desc,
				       .avail = q->driver,
				       .used = q->device,
				       .features = t->drv_features};

	if (q->ready)
		return;
	if (!(t->status & HVABS_VIRTIO_STATUS_FEATURES_OK) || hvabs_virtq_enable(q->vq, &l)) {
		VPCI_WARN(t, "%s: queue %u cannot be enabled (status 0x%x, size %u)", t->name,
			  index, t->status, q->num);
		hvabs_virtq_disable(q->vq);
		vpci_set_needs_reset(t);
		return;
	}
	q->ready = true;
	if (t->status & HVABS_VIRTIO_STATUS_DRIVER_OK)
		(void)vpci_kick(t, index);
}

static uint16_t vector_or_none(struct hvabs_virtio_pci *t, uint64_t v)
{
	/* §4.1.5.1.2: a vector the device cannot use reads back as NO_VECTOR. */
	return v <= t->ops->num_queues ? (uint16_t)v : HVABS_VIRTIO_PCI_NO_VECTOR;
}

/* The common structure as the driver reads it. */
static void common_image(struct hvabs_virtio_pci *t, uint8_t *c)
{
	struct vpci_queue *q = sel_queue(t);

	pci_put(c + HVABS_VIRTIO_PCI_DFSELECT, 4, t->dfsel);
	pci_put(c + HVABS_VIRTIO_PCI_DF, 4, t->dfsel < 2 ? t->dev_features >> (32 * t->dfsel) : 0);
	pci_put(c + HVABS_VIRTIO_PCI_GFSELECT, 4, t->gfsel);
	pci_put(c + HVABS_VIRTIO_PCI_GF, 4, t->gfsel < 2 ? t->drv_features >> (32 * t->gfsel) : 0);
	pci_put(c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2, t->config_msix);
	pci_put(c + HVABS_VIRTIO_PCI_NUM_QUEUES, 2, t->ops->num_queues);
	c[HVABS_VIRTIO_PCI_STATUS] = t->status;
	c[HVABS_VIRTIO_PCI_CFG_GEN] = t->config_gen;
	pci_put(c + HVABS_VIRTIO_PCI_Q_SELECT, 2, t->qsel);
	if (!q)
		return; /* §4.1.4.3.1: queue_size reads 0 for a queue that does not exist */
	pci_put(c + HVABS_VIRTIO_PCI_Q_SIZE, 2, q->num);
	pci_put(c + HVABS_VIRTIO_PCI_Q_MSIX, 2, q->msix);
	pci_put(c + HVABS_VIRTIO_PCI_Q_ENABLE, 2, q->ready);
	pci_put(c + HVABS_VIRTIO_PCI_Q_NOFF, 2, t->qsel);
	pci_put(c + HVABS_VIRTIO_PCI_Q_DESC, 8, q->desc);
	pci_put(c + HVABS_VIRTIO_PCI_Q_DRIVER, 8, q->driver);
	pci_put(c + HVABS_VIRTIO_PCI_Q_DEVICE, 8, q->device);
}

static void set_part(uint64_t *v, uint32_t at, uint32_t size, uint64_t val)
{
	uint64_t mask = size == 8 ? ~0ull : ((1ull << (8 * size)) - 1) << (8 * at);

	*v = (*v & ~mask) | ((val << (8 * at)) & mask);
}

static void queue_write(struct hvabs_virtio_pci *t, uint32_t off, uint32_t size, uint64_t val)
{
	struct vpci_queue *q = sel_queue(t);
	uint64_t *addr = NULL;

	if (!q)
		return;
	if (off == HVABS_VIRTIO_PCI_Q_MSIX && size == 2) {
		q->msix = vector_or_none(t, val);
		return;
	}
	if (off == HVABS_VIRTIO_PCI_Q_ENABLE && size == 2) {
		/* §4.1.4.3.2: the driver only writes 1; stopping a queue is a reset. */
		if (val == 1)
			queue_enable(t, t->qsel);
		return;
	}
	if (q->ready) {
		VPCI_WARN(t, "%s: queue %u changed while enabled: ignored", t->name, t->qsel);
		return;
	}
	if (off == HVABS_VIRTIO_PCI_Q_SIZE && size == 2) {
		q->num = (uint32_t)val; /* checked when the queue is enabled */
		return;
	}
	if (off >= HVABS_VIRTIO_PCI_Q_DESC && off < HVABS_VIRTIO_PCI_Q_DEVICE + 8) {
		uint32_t f = (off - HVABS_VIRTIO_PCI_Q_DESC) / 8;

		addr = f == 0 ? &q->desc : f == 1 ? &q->driver : &q->device;
		/* 64-bit fields may be written as two 32-bit halves (§4.1.3.1). */
		if ((size == 8 && off % 8 == 0) || (size == 4 && off % 4 == 0))
			set_part(addr, off % 8, size, val);
	}
}

static void common_write(struct hvabs_virtio_pci *t, uint32_t off, uint32_t size, uint64_t val)
{
	switch (off) {
	case HVABS_VIRTIO_PCI_DFSELECT:
		t->dfsel = (uint32_t)val;
		return;
	case HVABS_VIRTIO_PCI_GFSELECT:
		t->gfsel = (uint32_t)val;
		return;
	case HVABS_VIRTIO_PCI_GF:
		/* §2.2.2: after FEATURES_OK the features no longer change. */
		if (t->gfsel < 2 && !(t->status & HVABS_VIRTIO_STATUS_FEATURES_OK))
			set_part(&t->drv_features, 4 * t->gfsel, 4, val);
		return;
	case HVABS_VIRTIO_PCI_MSIX_CONFIG:
		t->config_msix = vector_or_none(t, val);
		return;
	case HVABS_VIRTIO_PCI_STATUS:
		write_status(t, (uint8_t)val);
		return;
	case HVABS_VIRTIO_PCI_Q_SELECT:
		t->qsel = (uint16_t)val;
		return;
	default:
		if (off >= HVABS_VIRTIO_PCI_Q_SIZE)
			queue_write(t, off, size, val);
		else
			VPCI_WARN(t, "%s: write to read-only common register 0x%x", t->name, off);
	}
}

static bool config_range(struct hvabs_virtio_pci *t, uint64_t off, uint32_t size)
{
	return off >= HVABS_VIRTIO_PCI_DEVICE_OFF &&
	       off - HVABS_VIRTIO_PCI_DEVICE_OFF + size <= t->ops->config_size;
}

static int bar_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_virtio_pci *t = opaque;
	uint8_t c[HVABS_VIRTIO_PCI_COMMON_LEN + 8] = {0};

	*val = 0;
	if (off < HVABS_VIRTIO_PCI_COMMON_LEN && off + size <= HVABS_VIRTIO_PCI_COMMON_LEN) {
		common_image(t, c);
		for (uint32_t i = 0; i < size; i++)
			*val |= (uint64_t)c[off + i] << (8 * i);
	} else if (off == HVABS_VIRTIO_PCI_ISR_OFF) {
		/* §4.1.4.5: reading the ISR status clears it. */
		*val = t->isr;
		t->isr = 0;
	} else if (config_range(t, off, size)) {
		t->ops->config_read(t->opaque, (uint32_t)(off - HVABS_VIRTIO_PCI_DEVICE_OFF), val,
				    size);
	}
	return 0;
}

static int bar_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_virtio_pci *t = opaque;
	uint64_t n;

	if (off < HVABS_VIRTIO_PCI_COMMON_LEN) {
		common_write(t, (uint32_t)off, size, val);
	} else if (config_range(t, off, size)) {
		if (t->ops->config_write)
			t->ops->config_write(
			    t->opaque, (uint32_t)(off - HVABS_VIRTIO_PCI_DEVICE_OFF), &val, size);
	} else if (off >= HVABS_VIRTIO_PCI_NOTIFY_OFF) {
		/* A notify write the hypervisor did not turn into an ioeventfd signal. */
		n = (off - HVABS_VIRTIO_PCI_NOTIFY_OFF) / HVABS_VIRTIO_PCI_NOTIFY_MUL;
		if (n < t->ops->num_queues)
			(void)vpci_kick(t, (uint32_t)n);
	}
	return 0;
}

static const struct hvabs_bus_ops bar_ops = {.read = bar_read, .write = bar_write};

const struct hvabs_bus_ops *vpci_bar_ops(void)
{
	return &bar_ops;
}
