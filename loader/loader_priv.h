/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the loader's files; never installed. */
#ifndef HVABS_LOADER_PRIV_H
#define HVABS_LOADER_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "hvabs/acpi.h"
#include "hvabs/compiler.h"
#include "hvabs/loader.h"
#include "hvabs/mem.h"

#define SZ_1M UINT64_C(0x100000)
#define SZ_4G UINT64_C(0x100000000)

/* The legacy hole the guest must not use as RAM: EBDA, VGA, option ROMs, BIOS. */
#define LEGACY_HOLE_START UINT64_C(0x9fc00)
#define LEGACY_HOLE_END	  SZ_1M

/* e820 / hvm_memmap types (ACPI 6.4 §15.1, Xen's hvm/start_info.h uses the same numbers). */
#define E820_RAM      1u
#define E820_RESERVED 2u
#define E820_ACPI     3u

/* Both boot_params (E820_MAX_ENTRIES_ZEROPAGE) and our start_info page hold 128. */
#define E820_MAX 128u

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Writes a one-line message to err (when given) and returns rc. */
/* vCPU @p i's local APIC ID on platform @p p; the I/O APIC's is ldr_apic_id(p, nr_cpus). */
static inline uint32_t ldr_apic_id(const struct hvabs_platform *p, uint32_t i)
{
	return i * (p->apic_id_stride ? p->apic_id_stride : 1u);
}

HVABS_PRINTF(4, 5) int ldr_err(char *err, size_t errlen, int rc, const char *fmt, ...);

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* The byte that makes the sum of @p len bytes zero (ACPI and MP checksums). */
uint8_t ldr_checksum(const uint8_t *p, size_t len);

/* True when [gpa, gpa + len) is all guest RAM (possibly several adjacent regions). */
int ldr_ram_covers(const struct hvabs_mem *mem, uint64_t gpa, uint64_t len);

/* The PCI host bridge (acpi_pci.c): checks, an MCFG allocation entry (16 bytes), DSDT objects. */
int ldr_pci_check(const struct hvabs_mem *mem, const struct hvabs_platform *p, char *err,
		  size_t errlen);
void ldr_mcfg_entry(uint8_t *e, const struct hvabs_acpi_pci_host *h);
struct aml;
void ldr_dsdt_pci(struct aml *a, const struct hvabs_acpi_pci_host *h);

/* End of the writable RAM that runs without a hole from address 0 (0 when 0 is not RAM). */
uint64_t ldr_low_ram_end(const struct hvabs_mem *mem);

/*
 * The memory map for the guest: RAM regions as RAM (read-only ones as
 * reserved), the legacy hole reserved, [acpi_start, acpi_end) as ACPI data
 * (pass 0, 0 for none). Sorted, adjacent entries of one type merged.
 */
int ldr_e820_build(const struct hvabs_mem *mem, uint64_t acpi_start, uint64_t acpi_end,
		   struct e820_entry *out, uint32_t *count, char *err, size_t errlen);

/* The boot GDT at HVABS_LINUX_GDT_ADDR. */
int ldr_write_gdt(struct hvabs_mem *mem, char *err, size_t errlen);
/* Identity-mapping page tables for 0-4 GiB at HVABS_LINUX_PML4_ADDR. */
int ldr_write_page_tables(struct hvabs_mem *mem, char *err, size_t errlen);

/* The kernel formats. On success they fill the kernel-related fields of @p boot. */
struct ldr_ctx {
	struct hvabs_mem *mem;
	const struct hvabs_linux_config *cfg;
	struct hvabs_linux_boot *boot;
	size_t cmdline_len; /* strlen of the command line */
	struct e820_entry e820[E820_MAX];
	uint32_t e820_count;
	char *err;
	size_t errlen;
};

int ldr_bzimage_load(struct ldr_ctx *c);
int ldr_pvh_load(struct ldr_ctx *c);

/* Places the initrd at the top of low RAM below @p limit, above the kernel. */
int ldr_place_initrd(struct ldr_ctx *c, uint64_t limit);

#endif
