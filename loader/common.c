/* SPDX-License-Identifier: Apache-2.0 */
/* Loader helpers: error messages, checksums, RAM queries, the guest memory map, GDT, page tables. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_priv.h"

int ldr_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

uint8_t ldr_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

int ldr_ram_covers(const struct hvabs_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		return 0;
	while (gpa < end) {
		struct hvabs_mem_region r;

		if (hvabs_mem_region_at(mem, gpa, &r))
			return 0;
		gpa = r.gpa + r.size;
		if (gpa == 0) /* a region that ends at 2^64 covers the rest */
			return 1;
	}
	return 1;
}

uint64_t ldr_low_ram_end(const struct hvabs_mem *mem)
{
	uint64_t end = 0;
	struct hvabs_mem_region r;

	while (hvabs_mem_region_at(mem, end, &r) == 0 && !(r.flags & HVABS_REGION_READONLY)) {
		if (r.gpa + r.size <= end)
			break;
		end = r.gpa + r.size;
	}
	return end;
}

/* A range of the final map with the type it has; overlays win over RAM regions. */
struct span {
	uint64_t start, end;
	uint32_t type;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t type_at(const struct span *s, size_t n, size_t first_overlay, uint64_t addr)
{
	uint32_t t = 0;

	/* Overlays come after the regions in @s, so a later match overrides. */
	for (size_t i = 0; i < n; i++)
		if (addr >= s[i].start && addr < s[i].end && (i >= first_overlay || !t))
			t = s[i].type;
	return t;
}

static int add_entry(struct e820_entry *out, uint32_t *count, uint64_t a, uint64_t b, uint32_t type,
		     char *err, size_t errlen)
{
	if (*count && out[*count - 1].type == type &&
	    out[*count - 1].addr + out[*count - 1].size == a) {
		out[*count - 1].size += b - a;
		return 0;
	}
	if (*count == E820_MAX)
		return ldr_err(err, errlen, -E2BIG,
			       "guest RAM has too many regions: the memory map holds %u entries",
			       E820_MAX);
	out[*count].addr = a;
	out[*count].size = b - a;
	out[*count].type = type;
	(*count)++;
	return 0;
}

static size_t collect_spans(const struct hvabs_mem *mem, uint64_t acpi_start, uint64_t acpi_end,
			    struct span *s, size_t *first_overlay)
{
	size_t n = 0, nreg = hvabs_mem_region_count(mem);

	for (size_t i = 0; i < nreg; i++) {
		struct hvabs_mem_region r;

		if (hvabs_mem_region_get(mem, i, &r))
			continue;
		s[n].start = r.gpa;
		s[n].end = r.gpa + r.size;
		s[n].type = (r.flags & HVABS_REGION_READONLY) ? E820_RESERVED : E820_RAM;
		n++;
	}
	*first_overlay = n;
	s[n++] = (struct span){LEGACY_HOLE_START, LEGACY_HOLE_END, E820_RESERVED};
	if (acpi_end > acpi_start)
		s[n++] = (struct span){acpi_start, acpi_end, E820_ACPI};
	return n;
}

int ldr_e820_build(const struct hvabs_mem *mem, uint64_t acpi_start, uint64_t acpi_end,
		   struct e820_entry *out, uint32_t *count, char *err, size_t errlen)
{
	size_t nreg = hvabs_mem_region_count(mem), n, first_overlay, nb = 0;
	struct span *s = calloc(nreg + 2, sizeof(*s));
	uint64_t *bound = calloc(2 * (nreg + 2), sizeof(*bound));
	uint32_t cnt = 0;
	int rc = 0;

	if (!s || !bound) {
		rc = ldr_err(err, errlen, -ENOMEM, "out of memory building the memory map");
		goto out;
	}
	n = collect_spans(mem, acpi_start, acpi_end, s, &first_overlay);
	for (size_t i = 0; i < n; i++) {
		bound[nb++] = s[i].start;
		bound[nb++] = s[i].end;
	}
	qsort(bound, nb, sizeof(*bound), cmp_u64);
	/* Each interval between two boundaries has one type throughout. */
	for (size_t i = 0; i + 1 < nb && !rc; i++) {
		uint32_t t;

		if (bound[i] == bound[i + 1])
			continue;
		t = type_at(s, n, first_overlay, bound[i]);
		if (t)
			rc = add_entry(out, &cnt, bound[i], bound[i + 1], t, err, errlen);
	}
	if (!rc)
		*count = cnt;
out:
	free(s);
	free(bound);
	return rc;
}

/*
 * Descriptors (Intel SDM vol. 3A §3.4.5): flat 4 GiB segments, G=1. The TSS
 * is a 16-byte system descriptor in long mode (§7.2.3); its upper half is
 * the zero entry after it. Linux's 64-bit boot protocol wants __BOOT_CS at
 * 0x10 and __BOOT_DS at 0x18.
 */
int ldr_write_gdt(struct hvabs_mem *mem, char *err, size_t errlen)
{
	static const uint64_t gdt[6] = {
	    0,
	    0x00cf9b000000ffffull, /* 0x08: code, 32-bit (D=1), exec/read, accessed */
	    0x00af9b000000ffffull, /* 0x10: code, 64-bit (L=1) */
	    0x00cf93000000ffffull, /* 0x18: data, read/write, accessed */
	    0x00008b0000000067ull, /* 0x20: busy TSS, base 0, limit 0x67 */
	    0,
	};
	uint8_t buf[sizeof(gdt)];

	for (size_t i = 0; i < 6; i++)
		put64(buf + 8 * i, gdt[i]);
	if (hvabs_mem_write(mem, HVABS_LINUX_GDT_ADDR, buf, sizeof(buf)))
		return ldr_err(err, errlen, -EFAULT, "cannot write the GDT at 0x%x",
			       HVABS_LINUX_GDT_ADDR);
	return 0;
}

/*
 * 4-level paging (SDM vol. 3A §4.5): one PML4 entry -> one PDPT with four
 * entries -> four page directories of 2 MiB pages (PS=1), identity mapping
 * 0-4 GiB, which covers the kernel, initrd, boot data and the MMIO hole.
 */
int ldr_write_page_tables(struct hvabs_mem *mem, char *err, size_t errlen)
{
	const uint64_t pml4 = HVABS_LINUX_PML4_ADDR, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000;
	uint8_t page[4096];
	int rc;

	memset(page, 0, sizeof(page));
	put64(page, pdpt | 0x3); /* present, writable */
	rc = hvabs_mem_write(mem, pml4, page, sizeof(page));
	memset(page, 0, sizeof(page));
	for (uint64_t i = 0; i < 4; i++)
		put64(page + 8 * i, (pd + i * 0x1000) | 0x3);
	if (!rc)
		rc = hvabs_mem_write(mem, pdpt, page, sizeof(page));
	for (uint64_t i = 0; i < 4 && !rc; i++) {
		for (uint64_t j = 0; j < 512; j++)
			put64(page + 8 * j,
			      ((i * 512 + j) << 21) | 0x83); /* present, writable, PS */
		rc = hvabs_mem_write(mem, pd + i * 0x1000, page, sizeof(page));
	}
	if (rc)
		return ldr_err(err, errlen, -EFAULT, "cannot write the page tables at 0x%" PRIx64,
			       pml4);
	return 0;
}
