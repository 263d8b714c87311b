/* SPDX-License-Identifier: Apache-2.0 */
/* The machine layer's state, shared by its three files (plan, allocators, announcements). */
#ifndef HVABS_MACHINE_PRIV_H
#define HVABS_MACHINE_PRIV_H

#include <hvabs/machine.h>

/* One allocated or reserved range of the device window. */
struct machine_window {
	uint64_t base;
	uint64_t size;
};

struct hvabs_machine {
	/* The plan, defaults filled in. */
	uint64_t ram_size;
	uint64_t low_ram;	/* RAM below the hole: [0, low_ram) */
	uint64_t high_ram_base; /* RAM above it: [high_ram_base, + ram_size - low_ram) */
	uint64_t mmio_base;
	uint64_t mmio_end;
	uint32_t nr_cpus;
	uint32_t apic_id_stride;
	uint32_t platform_flags;
	/* Allocators: windows sorted by base, one bit per I/O APIC pin. */
	struct machine_window *windows;
	size_t nwindows, windows_cap;
	uint32_t gsi_used;
	uint64_t high_next; /* next free address above the high RAM (0: not yet used) */
	/* Announcements: DSDT entries and the command-line words, each after a space. */
	struct hvabs_acpi_device *devices;
	size_t ndevices, devices_cap;
	char *words;
	size_t words_len;
	/* The PCI host bridge, when one is announced. */
	struct hvabs_acpi_pci_host pci;
	int has_pci;
};

#endif
