/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine plan: checking the layout a VMM asks for, the guest-physical
 * memory map with its 32-bit hole, and giving the VM its RAM.
 *
 * Why a hole at 3 GiB: a 32-bit guest (and every PC firmware convention the
 * Linux boot path relies on) wants device registers below 4 GiB, and the
 * I/O APIC and local APICs sit at fixed addresses just below 4 GiB. RAM that
 * does not fit below the hole is mapped again above 4 GiB, as on real PCs.
 */
#include <errno.h>
#include <stdlib.h>

#include "machine_priv.h"

#define PAGE_MASK 0xfffull
#define FOUR_GIB  0x100000000ull

static int check_layout(const struct hvabs_machine *m, uint64_t mmio_size)
{
	uint64_t high_size = m->ram_size - m->low_ram;

	if (!m->ram_size || (m->ram_size & PAGE_MASK) || !m->low_ram || (m->low_ram & PAGE_MASK) ||
	    (m->high_ram_base & PAGE_MASK))
		return -EINVAL;
	if (!m->nr_cpus || m->nr_cpus > HVABS_PLATFORM_MAX_CPUS)
		return -EINVAL;
	/* The device window lies in the hole: above the low RAM, below the platform range. */
	if (!mmio_size || m->mmio_base < m->low_ram || m->mmio_base > HVABS_MACHINE_PLATFORM_BASE ||
	    mmio_size > HVABS_MACHINE_PLATFORM_BASE - m->mmio_base)
		return -EINVAL;
	if (m->high_ram_base < FOUR_GIB || high_size > UINT64_MAX - m->high_ram_base)
		return -EINVAL;
	return 0;
}

int hvabs_machine_create(const struct hvabs_machine_config *cfg, struct hvabs_machine **out)
{
	struct hvabs_machine *m;

	if (!cfg || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	uint64_t low_max = cfg->low_ram_max ? cfg->low_ram_max : HVABS_MACHINE_LOW_RAM_MAX;
	m->ram_size = cfg->ram_size;
	m->low_ram = cfg->ram_size < low_max ? cfg->ram_size : low_max;
	m->high_ram_base = cfg->high_ram_base ? cfg->high_ram_base : HVABS_MACHINE_HIGH_RAM_BASE;
	m->mmio_base = cfg->mmio_base ? cfg->mmio_base : HVABS_MACHINE_MMIO_BASE;
	uint64_t mmio_size = cfg->mmio_size;
	if (!mmio_size && m->mmio_base < HVABS_MACHINE_PLATFORM_BASE)
		mmio_size = HVABS_MACHINE_PLATFORM_BASE - m->mmio_base;
	m->nr_cpus = cfg->nr_cpus;
	m->apic_id_stride = cfg->apic_id_stride;
	m->platform_flags = cfg->platform_flags;
	/* A low RAM cap above the window would put RAM where devices go. */
	if ((cfg->low_ram_max && cfg->low_ram_max > m->mmio_base) || check_layout(m, mmio_size)) {
		free(m);
		return -EINVAL;
	}
	m->mmio_end = m->mmio_base + mmio_size;
	/*
	 * The PC's fixed ISA lines: timer (0, and 2 where the I/O APIC sees it),
	 * keyboard and mouse (1, 12), the serial ports (4, and 3 kept for a second
	 * one), RTC (8), ACPI SCI (9). Guests assume these, so nothing else gets them.
	 */
	m->gsi_used = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 8) |
		      (1u << 9) | (1u << 12);
	*out = m;
	return 0;
}

void hvabs_machine_destroy(struct hvabs_machine *m)
{
	if (!m)
		return;
	free(m->windows);
	free(m->devices);
	free(m->words);
	free(m);
}

static void put_range(struct hvabs_machine_range *r, uint64_t base, uint64_t size, uint32_t kind)
{
	r->base = base;
	r->size = size;
	r->kind = kind;
	r->pad = 0;
}

int hvabs_machine_memory_map(const struct hvabs_machine *m, struct hvabs_machine_range *out,
			     size_t *n)
{
	struct hvabs_machine_range r[HVABS_MACHINE_MAX_RANGES];
	size_t count = 0;

	if (!m || !n || (!out && *n))
		return -EINVAL;
	put_range(&r[count++], 0, m->low_ram, HVABS_MACHINE_RANGE_RAM);
	put_range(&r[count++], m->mmio_base, m->mmio_end - m->mmio_base,
		  HVABS_MACHINE_RANGE_DEVICES);
	put_range(&r[count++], HVABS_MACHINE_PLATFORM_BASE, FOUR_GIB - HVABS_MACHINE_PLATFORM_BASE,
		  HVABS_MACHINE_RANGE_PLATFORM);
	if (m->ram_size > m->low_ram)
		put_range(&r[count++], m->high_ram_base, m->ram_size - m->low_ram,
			  HVABS_MACHINE_RANGE_RAM);
	if (*n < count) {
		*n = count;
		return -ENOSPC;
	}
	for (size_t i = 0; i < count; i++)
		out[i] = r[i];
	*n = count;
	return 0;
}

void hvabs_machine_ram_split(const struct hvabs_machine *m, uint64_t *below_4g, uint64_t *above_4g)
{
	*below_4g = m->low_ram;
	*above_4g = m->ram_size - m->low_ram;
}

int hvabs_machine_add_ram(const struct hvabs_machine *m, struct hvabs_vm *vm)
{
	if (!m || !vm)
		return -EINVAL;
	int rc = hvabs_vm_add_ram(vm, 0, m->low_ram, 0, NULL);
	if (!rc && m->ram_size > m->low_ram)
		rc = hvabs_vm_add_ram(vm, m->high_ram_base, m->ram_size - m->low_ram, 0, NULL);
	return rc;
}
