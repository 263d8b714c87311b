/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host bridge: one bus of 32 slots reached through the ECAM window
 * (PCI Express Base 3.0 §7.2.2) and through configuration mechanism #1
 * (PCI Local Bus 3.0 §3.2.2.3.2), both ending in the same per-function
 * register code under the host's configuration lock; and its placement
 * through the machine layer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci_priv.h"

#define CF8_ENABLE (1u << 31)

/* One configuration access of slot @p slot, function 0 only. Host lock held. */
static uint32_t host_cfg_read(struct hvabs_pci_host *h, uint32_t slot, uint32_t fn, uint32_t reg,
			      uint32_t size)
{
	struct hvabs_pci_dev *d = slot < HVABS_PCI_SLOTS && fn == 0 ? h->slots[slot] : NULL;

	if (!d)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return pci_cfg_read(d, reg, size);
}

static void host_cfg_write(struct hvabs_pci_host *h, uint32_t slot, uint32_t fn, uint32_t reg,
			   uint32_t size, uint32_t val)
{
	struct hvabs_pci_dev *d = slot < HVABS_PCI_SLOTS && fn == 0 ? h->slots[slot] : NULL;

	if (d)
		pci_cfg_write(d, reg, size, val);
}

static bool good_access(uint64_t reg, uint32_t size)
{
	/* Configuration accesses are naturally aligned and at most a dword (§7.2.2.2). */
	return size <= 4 && (reg & (size - 1)) == 0;
}

static int ecam_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_pci_host *h = opaque;
	uint32_t reg = (uint32_t)(off & 0xfff);

	if (!good_access(reg, size)) {
		*val = ~0ull;
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	*val = host_cfg_read(h, (uint32_t)(off >> 15) & 31, (uint32_t)(off >> 12) & 7, reg, size);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int ecam_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_pci_host *h = opaque;
	uint32_t reg = (uint32_t)(off & 0xfff);

	if (!good_access(reg, size))
		return 0;
	pthread_mutex_lock(&h->lock);
	host_cfg_write(h, (uint32_t)(off >> 15) & 31, (uint32_t)(off >> 12) & 7, reg, size,
		       (uint32_t)val);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static const struct hvabs_bus_ops ecam_ops = {.read = ecam_read, .write = ecam_write};

/* The latched address names bus 0 and a register: where the data port goes. */
static bool cf8_target(const struct hvabs_pci_host *h, uint64_t off, uint32_t size, uint32_t *reg)
{
	if (!(h->cf8 & CF8_ENABLE) || ((h->cf8 >> 16) & 0xff) != 0)
		return false;
	*reg = (h->cf8 & 0xfc) + (uint32_t)(off - 4);
	return good_access(*reg, size);
}

static int ports_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_pci_host *h = opaque;
	uint32_t reg;

	pthread_mutex_lock(&h->lock);
	if (off < 4)
		/* Only a dword access reaches the address register; smaller ones are other ports'. */
		*val = off == 0 && size == 4 ? h->cf8 : ~0ull;
	else if (cf8_target(h, off, size, &reg))
		*val = host_cfg_read(h, (h->cf8 >> 11) & 31, (h->cf8 >> 8) & 7, reg, size);
	else
		*val = ~0ull;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int ports_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_pci_host *h = opaque;
	uint32_t reg;

	pthread_mutex_lock(&h->lock);
	if (off == 0 && size == 4)
		/* Bits 30:24 are reserved and bits 1:0 always read 0. */
		h->cf8 = (uint32_t)val & 0x80fffffcu;
	else if (off >= 4 && cf8_target(h, off, size, &reg))
		host_cfg_write(h, (h->cf8 >> 11) & 31, (h->cf8 >> 8) & 7, reg, size, (uint32_t)val);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/*
 * Two registrations: the address register at 0xCF8 and the data window at
 * 0xCFC. Port 0xCF9 between them is the PC's reset control register (see
 * acpi_pm.h): the bus dispatches on an access's first port, so a dword at
 * 0xCF8 reaches us while a byte at 0xCF9 reaches the reset register.
 */
static int data_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	return ports_read(opaque, off + 4, size, val);
}

static int data_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	return ports_write(opaque, off + 4, size, val);
}

static const struct hvabs_bus_ops ports_ops = {.read = ports_read, .write = ports_write};
static const struct hvabs_bus_ops data_ops = {.read = data_read, .write = data_write};

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int hvabs_pci_host_create(struct hvabs_vm *vm, const struct hvabs_pci_host_params *params,
			  struct hvabs_pci_host **out)
{
	struct hvabs_pci_host *h;
	int rc;

	if (!vm || !params || !out || (params->ecam_base & (HVABS_PCI_ECAM_BUS_SIZE - 1)) ||
	    !params->mmio32_size || params->mmio32_base + params->mmio32_size > 1ull << 32 ||
	    params->mmio64_base + params->mmio64_size < params->mmio64_base ||
	    (params->flags & ~HVABS_PCI_HOST_F_NO_PORTS))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->vm = vm;
	h->log = hvabs_vm_logger(vm);
	h->p = *params;
	h->next32 = params->mmio32_base;
	h->next64 = params->mmio64_base;
	pthread_mutex_init(&h->lock, NULL);
	rc = hvabs_bus_register(vm, HVABS_SPACE_MMIO, params->ecam_base, HVABS_PCI_ECAM_BUS_SIZE,
				&ecam_ops, h, 0, &h->ecam);
	if (!rc && !(params->flags & HVABS_PCI_HOST_F_NO_PORTS))
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, HVABS_PCI_CONFIG_PORT, 1, &ports_ops,
					h, 0, &h->ports);
	if (!rc && !(params->flags & HVABS_PCI_HOST_F_NO_PORTS))
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, HVABS_PCI_CONFIG_PORT + 4, 4,
					&data_ops, h, 0, &h->data);
	if (rc) {
		hvabs_pci_host_destroy(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hvabs_pci_host_destroy(struct hvabs_pci_host *h)
{
	if (!h)
		return;
	hvabs_bus_unregister(h->data);
	hvabs_bus_unregister(h->ports);
	hvabs_bus_unregister(h->ecam);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int hvabs_pci_config_read(struct hvabs_pci_host *h, uint32_t slot, uint32_t offset, uint32_t size,
			  uint32_t *val)
{
	if (!h || !val || slot >= HVABS_PCI_SLOTS || offset >= HVABS_PCI_CONFIG_SIZE ||
	    !(size == 1 || size == 2 || size == 4) || !good_access(offset, size))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	*val = host_cfg_read(h, slot, 0, offset, size);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int hvabs_pci_host_place(struct hvabs_machine *m, struct hvabs_pci_host_params *params)
{
	uint64_t s32, s64;
	int rc;

	if (!m || !params)
		return -EINVAL;
	s32 = params->mmio32_size ? params->mmio32_size : HVABS_PCI_MMIO32_DEFAULT;
	s64 = params->mmio64_size ? params->mmio64_size : HVABS_PCI_MMIO64_DEFAULT;
	if (!pow2(s32) || !pow2(s64))
		return -EINVAL;
	rc = hvabs_machine_alloc_mmio(m, HVABS_PCI_ECAM_BUS_SIZE, HVABS_PCI_ECAM_BUS_SIZE,
				      &params->ecam_base);
	if (!rc)
		rc = hvabs_machine_alloc_mmio(m, s32, s32, &params->mmio32_base);
	if (!rc)
		rc = hvabs_machine_alloc_mmio64(m, s64, s64, &params->mmio64_base);
	if (rc)
		return rc;
	params->mmio32_size = s32;
	params->mmio64_size = s64;
	return 0;
}

void hvabs_pci_host_describe(const struct hvabs_pci_host *h, struct hvabs_acpi_pci_host *out)
{
	*out = (struct hvabs_acpi_pci_host){
	    .ecam_base = h->p.ecam_base,
	    .mmio32_base = h->p.mmio32_base,
	    .mmio32_size = h->p.mmio32_size,
	    .mmio64_base = h->p.mmio64_base,
	    .mmio64_size = h->p.mmio64_size,
	};
}

int hvabs_pci_host_announce(const struct hvabs_pci_host *h, struct hvabs_machine *m)
{
	struct hvabs_acpi_pci_host desc;

	if (!h || !m)
		return -EINVAL;
	hvabs_pci_host_describe(h, &desc);
	return hvabs_machine_set_pci(m, &desc);
}
