/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine's allocators: guest-physical windows in the device window
 * (first fit, lowest address first, so devices placed in the same order get
 * the same addresses on every run and every hypervisor) and interrupt lines
 * (the lowest free I/O APIC pin). Placing a virtio-mmio device takes one of
 * each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine_priv.h"

/* Inserts [base, base + size) at index @p at of the sorted window list. */
static int insert_window(struct hvabs_machine *m, size_t at, uint64_t base, uint64_t size)
{
	if (m->nwindows == m->windows_cap) {
		size_t cap = m->windows_cap ? m->windows_cap * 2 : 16;
		struct machine_window *w = realloc(m->windows, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		m->windows = w;
		m->windows_cap = cap;
	}
	memmove(&m->windows[at + 1], &m->windows[at], (m->nwindows - at) * sizeof(m->windows[0]));
	m->windows[at] = (struct machine_window){.base = base, .size = size};
	m->nwindows++;
	return 0;
}

/* Rounds @p v up to @p align (a power of two); 0 when that passes the top of the address space. */
static uint64_t align_up(uint64_t v, uint64_t align)
{
	if (v > UINT64_MAX - (align - 1))
		return 0;
	return (v + align - 1) & ~(align - 1);
}

int hvabs_machine_alloc_mmio(struct hvabs_machine *m, uint64_t size, uint64_t align, uint64_t *gpa)
{
	if (!align)
		align = 0x1000;
	if (!m || !gpa || !size || (align & (align - 1)))
		return -EINVAL;
	/* Try the gap before each window, then the one after the last. */
	uint64_t start = m->mmio_base;
	for (size_t i = 0; i <= m->nwindows; i++) {
		uint64_t gap_end = i < m->nwindows ? m->windows[i].base : m->mmio_end;
		uint64_t base = align_up(start, align);
		if (base && base < gap_end && size <= gap_end - base) {
			int rc = insert_window(m, i, base, size);
			if (rc)
				return rc;
			*gpa = base;
			return 0;
		}
		if (i < m->nwindows)
			start = m->windows[i].base + m->windows[i].size;
	}
	return -ENOSPC;
}

/*
 * Windows above the RAM (64-bit BARs) are handed out upwards from the first
 * GiB boundary past the high RAM, in order; nothing is ever freed, so a
 * bump pointer is enough.
 */
int hvabs_machine_alloc_mmio64(struct hvabs_machine *m, uint64_t size, uint64_t align,
			       uint64_t *gpa)
{
	if (!align)
		align = 0x1000;
	if (!m || !gpa || !size || (align & (align - 1)))
		return -EINVAL;
	if (!m->high_next) {
		uint64_t ram_end = m->high_ram_base + (m->ram_size - m->low_ram);

		m->high_next = align_up(ram_end, 1ull << 30);
	}
	uint64_t base = align_up(m->high_next, align);
	if (!base || base >= HVABS_MACHINE_HIGH_MMIO_END ||
	    size > HVABS_MACHINE_HIGH_MMIO_END - base)
		return -ENOSPC;
	m->high_next = base + size;
	*gpa = base;
	return 0;
}

int hvabs_machine_reserve_mmio(struct hvabs_machine *m, uint64_t base, uint64_t size)
{
	if (!m || !size)
		return -EINVAL;
	if (base < m->mmio_base || base >= m->mmio_end || size > m->mmio_end - base)
		return -ERANGE;
	size_t at = 0;
	while (at < m->nwindows && m->windows[at].base < base)
		at++;
	/* The neighbours on both sides must end before it and start after it. */
	if (at > 0 && m->windows[at - 1].base + m->windows[at - 1].size > base)
		return -EEXIST;
	if (at < m->nwindows && m->windows[at].base < base + size)
		return -EEXIST;
	return insert_window(m, at, base, size);
}

int hvabs_machine_alloc_gsi(struct hvabs_machine *m, uint32_t *gsi)
{
	if (!m || !gsi)
		return -EINVAL;
	for (uint32_t pin = 0; pin < HVABS_IOAPIC_PINS; pin++)
		if (!(m->gsi_used & (1u << pin))) {
			m->gsi_used |= 1u << pin;
			*gsi = pin;
			return 0;
		}
	return -ENOSPC;
}

int hvabs_machine_reserve_gsi(struct hvabs_machine *m, uint32_t gsi)
{
	if (!m)
		return -EINVAL;
	if (gsi >= HVABS_IOAPIC_PINS)
		return -ERANGE;
	if (m->gsi_used & (1u << gsi))
		return -EEXIST;
	m->gsi_used |= 1u << gsi;
	return 0;
}

int hvabs_machine_place(struct hvabs_machine *m, uint64_t size, uint64_t *gpa, uint32_t *gsi)
{
	uint32_t line;
	uint64_t base;

	if (!m || !gpa || !gsi || size < 0x1000 || (size & (size - 1)))
		return -EINVAL;
	int rc = hvabs_machine_alloc_gsi(m, &line);
	if (rc)
		return rc;
	rc = hvabs_machine_alloc_mmio(m, size, size, &base);
	if (rc) {
		m->gsi_used &= ~(1u << line);
		return rc;
	}
	*gpa = base;
	*gsi = line;
	return 0;
}
