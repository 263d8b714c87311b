/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A function's type-0 configuration header (PCI Local Bus 3.0 §6.1-§6.2):
 * creation in a slot, register reads, writes through a per-byte mask of
 * writable bits (which also gives the BAR sizing protocol of §6.2.5.1: the
 * bits below a BAR's size are not writable, so writing all ones reads back
 * the size mask), and the capability list (§6.7).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci_priv.h"

#define CAP_START 0x40u

uint32_t pci_cfg_read(struct hvabs_pci_dev *d, uint32_t off, uint32_t size)
{
	uint32_t v;

	/* No extended capabilities: the space above 0x100 reads 0 (PCIe 3.0 §7.9.1). */
	if (off >= HVABS_PCI_CONFIG_LEGACY)
		return 0;
	pthread_mutex_lock(&d->lock);
	v = pci_get(d->cfg + off, size);
	pthread_mutex_unlock(&d->lock);
	return v;
}

static bool overlaps(uint32_t off, uint32_t size, uint32_t start, uint32_t len)
{
	return off < start + len && start < off + size;
}

void pci_cfg_write(struct hvabs_pci_dev *d, uint32_t off, uint32_t size, uint32_t val)
{
	bool decode;

	if (off >= HVABS_PCI_CONFIG_LEGACY)
		return;
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
	}
	if (d->msix && overlaps(off, size, d->msix->cap + 2, 2))
		pci_msix_control_written(d);
	decode = overlaps(off, size, HVABS_PCI_COMMAND, 2) ||
		 overlaps(off, size, HVABS_PCI_BAR0, 4 * HVABS_PCI_BARS);
	pthread_mutex_unlock(&d->lock);
	/* Bus registrations change without the function lock (see pci.h). */
	if (decode)
		pci_bars_sync(d);
}

static int check_params(const struct hvabs_pci_dev_params *p)
{
	if (p->pad || (p->slot >= HVABS_PCI_SLOTS && p->slot != 0xff) || p->class_code >> 24)
		return -EINVAL;
	for (uint32_t i = 0; i < HVABS_PCI_BARS; i++) {
		const struct hvabs_pci_bar *b = &p->bars[i];

		if (!b->size)
			continue;
		if (b->size < 0x1000 || (b->size & (b->size - 1)) || !b->ops || b->pad ||
		    (b->flags & ~(HVABS_PCI_BAR_F_64 | HVABS_PCI_BAR_F_PREFETCH)))
			return -EINVAL;
		if (!(b->flags & HVABS_PCI_BAR_F_64) && b->size > 1ull << 31)
			return -EINVAL;
		/* A 64-bit BAR takes the next register too. */
		if ((b->flags & HVABS_PCI_BAR_F_64) &&
		    (i + 1 == HVABS_PCI_BARS || p->bars[i + 1].size))
			return -EINVAL;
	}
	return 0;
}

static void header_init(struct hvabs_pci_dev *d, const struct hvabs_pci_dev_params *p)
{
	pci_put(d->cfg + HVABS_PCI_VENDOR_ID, 2, p->vendor_id);
	pci_put(d->cfg + HVABS_PCI_DEVICE_ID, 2, p->device_id);
	d->cfg[HVABS_PCI_REVISION] = p->revision;
	pci_put(d->cfg + HVABS_PCI_CLASS_PROG, 3, p->class_code);
	pci_put(d->cfg + HVABS_PCI_SUBSYS_VENDOR, 2, p->subsys_vendor_id);
	pci_put(d->cfg + HVABS_PCI_SUBSYS_ID, 2, p->subsys_id);
	/* Writable: Memory Space, Bus Master, INTx Disable; cache line size; interrupt line. */
	pci_put(d->wmask + HVABS_PCI_COMMAND, 2,
		HVABS_PCI_CMD_MEMORY | HVABS_PCI_CMD_MASTER | HVABS_PCI_CMD_INTX_OFF);
	d->wmask[0x0c] = 0xff;
	d->wmask[HVABS_PCI_INTERRUPT_LINE] = 0xff;
	d->cap_end = CAP_START;
}

static int pick_slot(struct hvabs_pci_host *h, uint8_t want, uint32_t *slot)
{
	if (want != 0xff) {
		if (h->slots[want])
			return -EEXIST;
		*slot = want;
		return 0;
	}
	/* Slot 0 stays free, where a host bridge function would sit on real hardware. */
	for (uint32_t s = 1; s < HVABS_PCI_SLOTS; s++)
		if (!h->slots[s]) {
			*slot = s;
			return 0;
		}
	return -ENOSPC;
}

int hvabs_pci_dev_create(struct hvabs_pci_host *h, const struct hvabs_pci_dev_params *params,
			 struct hvabs_pci_dev **out)
{
	struct hvabs_pci_dev *d;
	uint32_t slot;
	int rc;

	if (!h || !params || !out)
		return -EINVAL;
	rc = check_params(params);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = h;
	d->bar_moved = params->bar_moved;
	d->opaque = params->opaque;
	snprintf(d->name, sizeof(d->name), "%s", params->name ? params->name : "pci");
	pthread_mutex_init(&d->lock, NULL);
	header_init(d, params);
	pthread_mutex_lock(&h->lock);
	rc = pick_slot(h, params->slot, &slot);
	if (!rc)
		rc = pci_bars_init(d, params);
	if (!rc) {
		d->slot = slot;
		h->slots[slot] = d;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void hvabs_pci_dev_destroy(struct hvabs_pci_dev *d)
{
	struct hvabs_pci_host *h;

	if (!d)
		return;
	h = d->host;
	pthread_mutex_lock(&h->lock);
	h->slots[d->slot] = NULL;
	pci_bars_fini(d);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_destroy(&d->lock);
	free(d->msix);
	free(d);
}

int hvabs_pci_cap_add(struct hvabs_pci_dev *d, uint8_t id, const void *body, const void *wmask,
		      uint32_t len, uint32_t *offset)
{
	uint32_t off;

	if (!d || (len && !body) || !offset)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	off = (d->cap_end + 3) & ~3u;
	if (off + 2 + len > HVABS_PCI_CONFIG_LEGACY) {
		pthread_mutex_unlock(&d->lock);
		return -ENOSPC;
	}
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	memcpy(d->cfg + off + 2, body, len);
	if (wmask)
		memcpy(d->wmask + off + 2, wmask, len);
	/* Link it at the end of the list, so the driver walks them in the order added. */
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)off;
	else
		d->cfg[HVABS_PCI_CAP_PTR] = (uint8_t)off;
	d->cfg[HVABS_PCI_STATUS] |= HVABS_PCI_STATUS_CAP_LIST;
	d->cap_last = off;
	d->cap_end = off + 2 + len;
	pthread_mutex_unlock(&d->lock);
	*offset = off;
	return 0;
}

uint32_t hvabs_pci_dev_slot(const struct hvabs_pci_dev *d)
{
	return d->slot;
}

uint16_t hvabs_pci_dev_command(const struct hvabs_pci_dev *d)
{
	return (uint16_t)pci_get(d->cfg + HVABS_PCI_COMMAND, 2);
}

void hvabs_pci_dev_lock(struct hvabs_pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void hvabs_pci_dev_unlock(struct hvabs_pci_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}
