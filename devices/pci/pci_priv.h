/* SPDX-License-Identifier: Apache-2.0 */
/* The PCI segment's state, shared by host.c, config.c, bar.c and msix.c. */
#ifndef HVABS_PCI_PRIV_H
#define HVABS_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvabs/devices/pci.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#define PCI_COMP "pci"

struct pci_msix {
	uint32_t nvec;
	uint32_t bar;
	uint32_t table_off, pba_off;
	uint32_t cap; /* offset of the capability */
	uint8_t table[HVABS_PCI_MSIX_MAX * 16];
	uint64_t pba[HVABS_PCI_MSIX_MAX / 64];
	uint64_t sent, pended; /* counters */
};

struct pci_bar_state {
	struct hvabs_pci_dev *dev;
	uint32_t index;
	struct hvabs_pci_bar desc;
	struct hvabs_bus_dev *reg; /* on the bus at mapped, or NULL */
	uint64_t mapped;	   /* HVABS_PCI_BAR_UNMAPPED when not */
};

struct hvabs_pci_dev {
	struct hvabs_pci_host *host;
	uint32_t slot;
	pthread_mutex_t lock; /* the function lock */
	uint8_t cfg[HVABS_PCI_CONFIG_LEGACY];
	uint8_t wmask[HVABS_PCI_CONFIG_LEGACY];
	uint32_t cap_end;  /* next free byte for a capability */
	uint32_t cap_last; /* offset of the last capability, 0 for none */
	struct pci_bar_state bars[HVABS_PCI_BARS];
	hvabs_pci_bar_moved_fn bar_moved;
	void *opaque;
	struct pci_msix *msix;
	char name[32];
	struct hvabs_ratelimit rl;
};

struct hvabs_pci_host {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_pci_host_params p;
	pthread_mutex_t lock; /* the configuration lock: before any function lock */
	uint32_t cf8;	      /* the mechanism #1 address latch */
	struct hvabs_bus_dev *ecam, *ports, *data;
	struct hvabs_pci_dev *slots[HVABS_PCI_SLOTS];
	uint64_t next32, next64; /* BAR assignment: next free address in each window */
	struct hvabs_ratelimit rl;
};

#define pci_warn(d, ...)                                                                           \
	hvabs_log_ratelimited((d)->host->log, &(d)->rl, HVABS_LOG_WARN, PCI_COMP, __VA_ARGS__)

/* config.c: one access to a function's configuration space; host lock held. */
uint32_t pci_cfg_read(struct hvabs_pci_dev *d, uint32_t off, uint32_t size);
void pci_cfg_write(struct hvabs_pci_dev *d, uint32_t off, uint32_t size, uint32_t val);

/* bar.c: BAR setup at creation, and bus (un)registration to match the header; host lock held. */
int pci_bars_init(struct hvabs_pci_dev *d, const struct hvabs_pci_dev_params *p);
void pci_bars_sync(struct hvabs_pci_dev *d);
void pci_bars_fini(struct hvabs_pci_dev *d);

/* msix.c: the capability's Message Control was written; table accesses. Function lock held. */
void pci_msix_control_written(struct hvabs_pci_dev *d);
bool pci_msix_owns(const struct hvabs_pci_dev *d, uint32_t bar, uint64_t off);
void pci_msix_read(struct hvabs_pci_dev *d, uint64_t off, uint32_t size, uint64_t *val);
void pci_msix_write(struct hvabs_pci_dev *d, uint64_t off, uint32_t size, uint64_t val);

static inline uint32_t pci_get(const uint8_t *p, uint32_t n)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline void pci_put(uint8_t *p, uint32_t n, uint64_t v)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
