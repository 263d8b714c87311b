/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory BARs (PCI Local Bus 3.0 §6.2.5.1): their registers and masks, the
 * address the host assigns at creation (as firmware would), and keeping the
 * MMIO bus in step with the header: a BAR is registered exactly while
 * Memory Space is enabled and the BAR holds an address. Registration
 * changes happen under the host's configuration lock but never under the
 * function lock, which BAR accesses take after the bus's own lock.
 */
#include <errno.h>

#include "pci_priv.h"

static int bar_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct pci_bar_state *b = opaque;
	struct hvabs_pci_dev *d = b->dev;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	if (pci_msix_owns(d, b->index, off))
		pci_msix_read(d, off, size, val);
	else if (b->desc.ops->read)
		rc = b->desc.ops->read(b->desc.opaque, off, size, val);
	else
		*val = ~0ull;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int bar_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct pci_bar_state *b = opaque;
	struct hvabs_pci_dev *d = b->dev;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	if (pci_msix_owns(d, b->index, off))
		pci_msix_write(d, off, size, val);
	else if (b->desc.ops->write)
		rc = b->desc.ops->write(b->desc.opaque, off, size, val);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static const struct hvabs_bus_ops bar_ops = {.read = bar_read, .write = bar_write};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Picks addresses for every BAR, largest alignment first not needed: each is aligned to its size. */
int pci_bars_init(struct hvabs_pci_dev *d, const struct hvabs_pci_dev_params *p)
{
	struct hvabs_pci_host *h = d->host;
	uint64_t n32 = h->next32, n64 = h->next64;

	for (uint32_t i = 0; i < HVABS_PCI_BARS; i++) {
		const struct hvabs_pci_bar *b = &p->bars[i];
		bool is64 = b->flags & HVABS_PCI_BAR_F_64, high = is64 && h->p.mmio64_size;
		uint64_t *next = high ? &n64 : &n32;
		uint64_t end = high ? h->p.mmio64_base + h->p.mmio64_size
				    : h->p.mmio32_base + h->p.mmio32_size;
		uint64_t addr, size_mask = b->size - 1;
		uint32_t lo_flags;

		d->bars[i] = (struct pci_bar_state){
		    .dev = d, .index = i, .desc = *b, .mapped = HVABS_PCI_BAR_UNMAPPED};
		if (!b->size)
			continue;
		addr = align_up(*next, b->size);
		if (addr < *next || addr + b->size > end || addr + b->size < addr)
			return -ENOSPC;
		*next = addr + b->size;
		lo_flags = (is64 ? HVABS_PCI_BAR_MEM_64 : 0) |
			   (b->flags & HVABS_PCI_BAR_F_PREFETCH ? HVABS_PCI_BAR_PREFETCH : 0);
		pci_put(d->cfg + HVABS_PCI_BAR0 + 4 * i, 4, (uint32_t)addr | lo_flags);
		pci_put(d->wmask + HVABS_PCI_BAR0 + 4 * i, 4, (uint32_t)~size_mask & ~0xfu);
		if (is64) {
			pci_put(d->cfg + HVABS_PCI_BAR0 + 4 * (i + 1), 4, addr >> 32);
			pci_put(d->wmask + HVABS_PCI_BAR0 + 4 * (i + 1), 4,
				(uint32_t)(~size_mask >> 32));
			i++;
			d->bars[i] = (struct pci_bar_state){
			    .dev = d, .index = i, .mapped = HVABS_PCI_BAR_UNMAPPED};
		}
	}
	h->next32 = n32;
	h->next64 = n64;
	return 0;
}

/* Where BAR @p i should be on the bus now. Function lock held. */
static uint64_t bar_wanted(const struct hvabs_pci_dev *d, uint32_t i)
{
	const struct pci_bar_state *b = &d->bars[i];
	uint64_t addr = pci_get(d->cfg + HVABS_PCI_BAR0 + 4 * i, 4) & ~0xfull;

	if (!(pci_get(d->cfg + HVABS_PCI_COMMAND, 2) & HVABS_PCI_CMD_MEMORY))
		return HVABS_PCI_BAR_UNMAPPED;
	if (b->desc.flags & HVABS_PCI_BAR_F_64)
		addr |= (uint64_t)pci_get(d->cfg + HVABS_PCI_BAR0 + 4 * (i + 1), 4) << 32;
	/* Address 0 is how an unassigned BAR looks; one that wraps cannot be decoded. */
	if (!addr || addr + b->desc.size < addr)
		return HVABS_PCI_BAR_UNMAPPED;
	return addr;
}

static void bar_move(struct hvabs_pci_dev *d, uint32_t i, uint64_t want)
{
	struct pci_bar_state *b = &d->bars[i];
	int rc;

	if (b->reg) {
		hvabs_bus_unregister(b->reg);
		b->reg = NULL;
		__atomic_store_n(&b->mapped, HVABS_PCI_BAR_UNMAPPED, __ATOMIC_RELEASE);
	}
	if (want != HVABS_PCI_BAR_UNMAPPED) {
		rc = hvabs_bus_register(d->host->vm, HVABS_SPACE_MMIO, want, b->desc.size, &bar_ops,
					b, 0, &b->reg);
		if (rc) {
			/* The guest put it over another device: it decodes nothing until moved. */
			pci_warn(d, "%s: BAR %u at 0x%llx (0x%llx bytes) not mapped: %d", d->name,
				 i, (unsigned long long)want, (unsigned long long)b->desc.size, rc);
			b->reg = NULL;
			want = HVABS_PCI_BAR_UNMAPPED;
		}
		__atomic_store_n(&b->mapped, want, __ATOMIC_RELEASE);
	}
	if (d->bar_moved)
		d->bar_moved(d->opaque, i, want);
}

void pci_bars_sync(struct hvabs_pci_dev *d)
{
	for (uint32_t i = 0; i < HVABS_PCI_BARS; i++) {
		uint64_t want;

		if (!d->bars[i].desc.size)
			continue;
		pthread_mutex_lock(&d->lock);
		want = bar_wanted(d, i);
		pthread_mutex_unlock(&d->lock);
		if (want != __atomic_load_n(&d->bars[i].mapped, __ATOMIC_ACQUIRE))
			bar_move(d, i, want);
	}
}

void pci_bars_fini(struct hvabs_pci_dev *d)
{
	for (uint32_t i = 0; i < HVABS_PCI_BARS; i++)
		if (d->bars[i].reg)
			bar_move(d, i, HVABS_PCI_BAR_UNMAPPED);
}

uint64_t hvabs_pci_bar_address(struct hvabs_pci_dev *d, uint32_t bar)
{
	if (!d || bar >= HVABS_PCI_BARS)
		return HVABS_PCI_BAR_UNMAPPED;
	return __atomic_load_n(&d->bars[bar].mapped, __ATOMIC_ACQUIRE);
}
