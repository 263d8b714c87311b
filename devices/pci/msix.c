/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MSI-X (PCI Local Bus 3.0 §6.8.2): the capability (Message Control with
 * MSI-X Enable and Function Mask, the table and PBA locations), the table
 * of address/data/vector-control entries and the pending bit array in a
 * BAR, and the masking rules: a vector signalled while it or the function
 * is masked sets its pending bit instead of sending (§6.8.2.9), and the
 * message goes out when both are unmasked again, with the pending bit
 * cleared. Messages are sent with hvabs_irq_msi(). Everything here runs
 * with the function lock held.
 */
#include <errno.h>
#include <stdlib.h>

#include "pci_priv.h"

#define CTRL_ENABLE (1u << 15)
#define CTRL_MASK   (1u << 14)
#define ENTRY_SIZE  16u
#define VEC_MASKED  1u

static uint16_t control(const struct hvabs_pci_dev *d)
{
	return (uint16_t)pci_get(d->cfg + d->msix->cap + 2, 2);
}

static bool vector_masked(const struct hvabs_pci_dev *d, uint32_t vec)
{
	return (control(d) & CTRL_MASK) ||
	       (pci_get(d->msix->table + vec * ENTRY_SIZE + 12, 4) & VEC_MASKED);
}

static int send(struct hvabs_pci_dev *d, uint32_t vec)
{
	const uint8_t *e = d->msix->table + vec * ENTRY_SIZE;
	uint64_t addr = pci_get(e, 4) | (uint64_t)pci_get(e + 4, 4) << 32;
	int rc;

	d->msix->sent++;
	rc = hvabs_irq_msi(d->host->vm, addr, pci_get(e + 8, 4));
	if (rc)
		pci_warn(d, "%s: MSI-X vector %u (0x%llx/0x%x) not delivered: %d", d->name, vec,
			 (unsigned long long)addr, pci_get(e + 8, 4), rc);
	return rc;
}

/* Sends every pending vector that is no longer masked (§6.8.2.9). */
static void flush_pending(struct hvabs_pci_dev *d)
{
	struct pci_msix *x = d->msix;

	if (!(control(d) & CTRL_ENABLE) || (control(d) & CTRL_MASK))
		return;
	for (uint32_t v = 0; v < x->nvec; v++) {
		uint64_t bit = 1ull << (v % 64);

		if ((x->pba[v / 64] & bit) && !vector_masked(d, v)) {
			x->pba[v / 64] &= ~bit;
			(void)send(d, v);
		}
	}
}

void pci_msix_control_written(struct hvabs_pci_dev *d)
{
	flush_pending(d);
}

int hvabs_pci_msix_init(struct hvabs_pci_dev *d, uint32_t nvec, uint32_t bar, uint32_t table_off)
{
	uint8_t body[10] = {0}, wmask[10] = {0};
	struct pci_msix *x;
	uint64_t pba_off;
	int rc;

	if (!d || !nvec || nvec > HVABS_PCI_MSIX_MAX || bar >= HVABS_PCI_BARS || (table_off & 7))
		return -EINVAL;
	pba_off = ((uint64_t)table_off + nvec * ENTRY_SIZE + 7) & ~7ull;
	if (!d->bars[bar].desc.size || pba_off + (nvec + 63) / 64 * 8 > d->bars[bar].desc.size)
		return -EINVAL;
	if (d->msix)
		return -EEXIST;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->nvec = nvec;
	x->bar = bar;
	x->table_off = table_off;
	x->pba_off = (uint32_t)pba_off;
	for (uint32_t v = 0; v < nvec; v++)
		pci_put(x->table + v * ENTRY_SIZE + 12, 4, VEC_MASKED); /* §6.8.2.9: reset masked */
	pci_put(body, 2, nvec - 1);
	pci_put(body + 2, 4, table_off | bar);
	pci_put(body + 6, 4, x->pba_off | bar);
	pci_put(wmask, 2, CTRL_ENABLE | CTRL_MASK);
	rc = hvabs_pci_cap_add(d, HVABS_PCI_CAP_ID_MSIX, body, wmask, sizeof(body), &x->cap);
	if (rc) {
		free(x);
		return rc;
	}
	pthread_mutex_lock(&d->lock);
	d->msix = x;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

bool pci_msix_owns(const struct hvabs_pci_dev *d, uint32_t bar, uint64_t off)
{
	const struct pci_msix *x = d->msix;

	if (!x || x->bar != bar)
		return false;
	return (off >= x->table_off && off < x->table_off + x->nvec * ENTRY_SIZE) ||
	       (off >= x->pba_off && off < x->pba_off + (x->nvec + 63) / 64 * 8);
}

void pci_msix_read(struct hvabs_pci_dev *d, uint64_t off, uint32_t size, uint64_t *val)
{
	struct pci_msix *x = d->msix;
	uint64_t v = 0;

	/* §6.8.2: software uses aligned dword or qword accesses; others read 0. */
	if ((size != 4 && size != 8) || (off & (size - 1))) {
		*val = 0;
		return;
	}
	for (uint32_t i = 0; i < size; i++) {
		uint64_t o = off + i, byte = 0;

		if (o >= x->table_off && o < x->table_off + x->nvec * ENTRY_SIZE)
			byte = x->table[o - x->table_off];
		else if (o >= x->pba_off && o < x->pba_off + (x->nvec + 63) / 64 * 8)
			byte =
			    (x->pba[(o - x->pba_off) / 8] >> (8 * ((o - x->pba_off) % 8))) & 0xff;
		v |= byte << (8 * i);
	}
	*val = v;
}

static void entry_write(struct hvabs_pci_dev *d, uint32_t vec, uint32_t field, uint32_t val)
{
	uint8_t *e = d->msix->table + vec * ENTRY_SIZE;

	if (field == 0)
		val &= ~3u; /* the address is dword aligned: bits 1:0 read 0 */
	if (field == 12)
		val &= VEC_MASKED; /* the other Vector Control bits are reserved */
	pci_put(e + field, 4, val);
	if (field == 12 && !(val & VEC_MASKED))
		flush_pending(d);
}

void pci_msix_write(struct hvabs_pci_dev *d, uint64_t off, uint32_t size, uint64_t val)
{
	struct pci_msix *x = d->msix;

	/* The pending bit array is read-only; table writes are aligned dwords or qwords. */
	if ((size != 4 && size != 8) || (off & (size - 1)) || off < x->table_off ||
	    off + size > x->table_off + x->nvec * ENTRY_SIZE) {
		pci_warn(d, "%s: MSI-X write of %u bytes at 0x%llx ignored", d->name, size,
			 (unsigned long long)off);
		return;
	}
	for (uint32_t i = 0; i < size; i += 4) {
		uint64_t o = off + i - x->table_off;

		entry_write(d, (uint32_t)(o / ENTRY_SIZE), (uint32_t)(o % ENTRY_SIZE),
			    (uint32_t)(val >> (8 * i)));
	}
}

int hvabs_pci_msix_notify(struct hvabs_pci_dev *d, uint32_t vec)
{
	struct pci_msix *x = d ? d->msix : NULL;

	if (!x || vec >= x->nvec)
		return -EINVAL;
	if (!(control(d) & CTRL_ENABLE))
		return -EAGAIN;
	if (vector_masked(d, vec)) {
		x->pba[vec / 64] |= 1ull << (vec % 64);
		x->pended++;
		return 0;
	}
	return send(d, vec);
}

bool hvabs_pci_msix_enabled(const struct hvabs_pci_dev *d)
{
	return d && d->msix && (control(d) & CTRL_ENABLE);
}
