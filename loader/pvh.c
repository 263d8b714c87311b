/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF vmlinux by the PVH boot ABI (Xen's docs/misc/pvh.pandoc and
 * public/arch-x86/hvm/start_info.h): PT_LOAD segments go to their physical
 * addresses, and the kernel is entered in 32-bit protected mode at the
 * address in its XEN_ELFNOTE_PHYS32_ENTRY note, with EBX = hvm_start_info.
 * ELF layout from the System V gABI (ELF-64 object file format).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "loader_priv.h"

#define EHDR_LEN		 64u
#define PHDR_LEN		 56u
#define EI_CLASS		 4
#define EI_DATA			 5
#define ELFCLASS64		 2
#define ELFDATA2LSB		 1
#define EM_X86_64		 62
#define PT_LOAD			 1
#define PT_NOTE			 4
#define MAX_PHDRS		 128u /* vmlinux has a handful; a bound keeps the overlap check cheap */
#define XEN_ELFNOTE_PHYS32_ENTRY 18u

/* hvm_start_info and friends (start_info.h), at HVABS_LINUX_START_INFO_ADDR. */
#define HVM_START_MAGIC 0x336ec578u
#define SI_MODLIST_OFF	0x40u
#define SI_MEMMAP_OFF	0x80u
#define SI_PAGE		4096u

struct elf {
	const uint8_t *k;
	size_t n;
	uint64_t phoff;
	uint16_t phnum;
	uint64_t entry;
	int have_entry;
};

struct seg {
	uint64_t off, filesz, paddr, memsz;
};

static const uint8_t *phdr(const struct elf *e, unsigned i)
{
	return e->k + e->phoff + (uint64_t)i * PHDR_LEN;
}

static struct seg seg_of(const uint8_t *p)
{
	return (struct seg){get64(p + 8), get64(p + 32), get64(p + 24), get64(p + 40)};
}

static int check_ehdr(struct ldr_ctx *c, struct elf *e)
{
	const uint8_t *k = e->k;

	if (e->n < EHDR_LEN)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "ELF truncated: %zu bytes, the header alone is 64", e->n);
	if (k[EI_CLASS] != ELFCLASS64 || k[EI_DATA] != ELFDATA2LSB)
		return ldr_err(c->err, c->errlen, -ENOTSUP,
			       "ELF class %u / data %u: only 64-bit little-endian kernels",
			       k[EI_CLASS], k[EI_DATA]);
	if (get16(k + 18) != EM_X86_64)
		return ldr_err(c->err, c->errlen, -ENOTSUP, "ELF machine %u is not x86-64 (62)",
			       get16(k + 18));
	e->phoff = get64(k + 32);
	e->phnum = get16(k + 56);
	if (get16(k + 54) != PHDR_LEN)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "corrupt ELF: program header size %u, not 56", get16(k + 54));
	if (e->phnum == 0 || e->phnum > MAX_PHDRS)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "corrupt ELF: %u program headers (1..%u expected)", e->phnum,
			       MAX_PHDRS);
	if (e->phoff > e->n || (uint64_t)e->phnum * PHDR_LEN > e->n - e->phoff)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "corrupt ELF: program headers at 0x%" PRIx64
			       " run past the end of the %zu-byte file",
			       e->phoff, e->n);
	return 0;
}

/* Walks one PT_NOTE segment's notes looking for the PVH entry (gABI "Note Section"). */
static int scan_notes(struct ldr_ctx *c, struct elf *e, unsigned i, uint64_t off, uint64_t end,
		      uint64_t align)
{
	while (end - off >= 12) {
		uint64_t namesz = get32(e->k + off), descsz = get32(e->k + off + 4);
		uint32_t type = get32(e->k + off + 8);
		uint64_t name = off + 12, desc = name + ((namesz + align - 1) & ~(align - 1));
		uint64_t next = desc + ((descsz + align - 1) & ~(align - 1));

		if (desc > end || next > end || desc + descsz > end)
			return ldr_err(c->err, c->errlen, -ENOEXEC,
				       "corrupt ELF: note at 0x%" PRIx64
				       " in segment %u runs past it",
				       off, i);
		if (namesz == 4 && !memcmp(e->k + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz != 4 && descsz != 8)
				return ldr_err(c->err, c->errlen, -ENOEXEC,
					       "corrupt ELF: PVH entry note has a %" PRIu64
					       "-byte value",
					       descsz);
			e->entry = descsz == 4 ? get32(e->k + desc) : get64(e->k + desc);
			e->have_entry = 1;
		}
		off = next;
	}
	return 0;
}

static int check_seg_file(struct ldr_ctx *c, const struct elf *e, unsigned i, struct seg s)
{
	if (s.off > e->n || s.filesz > e->n - s.off)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "corrupt ELF: segment %u (offset 0x%" PRIx64 ", %" PRIu64
			       " bytes) lies outside the %zu-byte file",
			       i, s.off, s.filesz, e->n);
	return 0;
}

static int check_load_seg(struct ldr_ctx *c, unsigned i, struct seg s)
{
	if (s.filesz > s.memsz)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "corrupt ELF: segment %u has %" PRIu64
			       " bytes in the file but %" PRIu64 " in memory",
			       i, s.filesz, s.memsz);
	if (s.paddr + s.memsz < s.paddr || s.paddr + s.memsz > SZ_4G)
		return ldr_err(c->err, c->errlen, -ENOSPC,
			       "segment %u at 0x%" PRIx64 " (+0x%" PRIx64
			       ") does not fit below 4 GiB, as a 32-bit PVH entry needs",
			       i, s.paddr, s.memsz);
	if (s.paddr < SZ_1M)
		return ldr_err(c->err, c->errlen, -EINVAL,
			       "segment %u at 0x%" PRIx64 " overlaps the boot area below 1 MiB", i,
			       s.paddr);
	if (!ldr_ram_covers(c->mem, s.paddr, s.memsz))
		return ldr_err(c->err, c->errlen, -ENOSPC,
			       "segment %u at 0x%" PRIx64 "-0x%" PRIx64
			       " does not fit in guest RAM (RAM from 0 ends at 0x%" PRIx64 ")",
			       i, s.paddr, s.paddr + s.memsz, ldr_low_ram_end(c->mem));
	return 0;
}

/* Checks every segment, finds the entry note and the kernel's extent; writes nothing. */
static int check_segments(struct ldr_ctx *c, struct elf *e)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	int rc = 0;

	for (unsigned i = 0; i < e->phnum && !rc; i++) {
		uint32_t type = get32(phdr(e, i));
		struct seg s = seg_of(phdr(e, i));

		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		rc = check_seg_file(c, e, i, s);
		if (!rc && type == PT_NOTE)
			rc = scan_notes(c, e, i, s.off, s.off + s.filesz,
					get64(phdr(e, i) + 48) == 8 ? 8 : 4);
		if (rc || type != PT_LOAD || (s.memsz == 0 && s.filesz == 0))
			continue;
		rc = check_load_seg(c, i, s);
		for (unsigned j = 0; j < i && !rc; j++) {
			struct seg o = seg_of(phdr(e, j));

			if (get32(phdr(e, j)) == PT_LOAD && o.memsz &&
			    s.paddr < o.paddr + o.memsz && o.paddr < s.paddr + s.memsz)
				rc = ldr_err(c->err, c->errlen, -EINVAL,
					     "segments %u and %u overlap at 0x%" PRIx64, j, i,
					     s.paddr > o.paddr ? s.paddr : o.paddr);
		}
		lo = s.paddr < lo ? s.paddr : lo;
		hi = s.paddr + s.memsz > hi ? s.paddr + s.memsz : hi;
	}
	if (rc)
		return rc;
	if (hi == 0)
		return ldr_err(c->err, c->errlen, -ENOEXEC, "ELF has no loadable segment");
	c->boot->kernel_start = lo;
	c->boot->kernel_end = (hi + 0xfff) & ~0xfffull;
	return 0;
}

static int check_entry(struct ldr_ctx *c, const struct elf *e)
{
	if (!e->have_entry)
		return ldr_err(c->err, c->errlen, -ENOTSUP,
			       "ELF has no PVH entry note (Xen note %u, XEN_ELFNOTE_PHYS32_ENTRY): "
			       "build the kernel with CONFIG_PVH=y, or boot its bzImage",
			       XEN_ELFNOTE_PHYS32_ENTRY);
	for (unsigned i = 0; i < e->phnum; i++) {
		struct seg s = seg_of(phdr(e, i));

		if (get32(phdr(e, i)) == PT_LOAD && e->entry >= s.paddr &&
		    e->entry - s.paddr < s.filesz)
			return 0;
	}
	return ldr_err(c->err, c->errlen, -ENOEXEC,
		       "corrupt ELF: PVH entry 0x%" PRIx64 " is in no loaded segment", e->entry);
}

static int write_segments(struct ldr_ctx *c, const struct elf *e)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		struct seg s = seg_of(phdr(e, i));

		if (get32(phdr(e, i)) != PT_LOAD || s.memsz == 0)
			continue;
		if (hvabs_mem_write(c->mem, s.paddr, e->k + s.off, s.filesz) ||
		    hvabs_mem_fill(c->mem, s.paddr + s.filesz, 0, s.memsz - s.filesz))
			return ldr_err(c->err, c->errlen, -EFAULT,
				       "cannot write segment %u at 0x%" PRIx64, i, s.paddr);
	}
	return 0;
}

static int write_start_info(struct ldr_ctx *c)
{
	const uint64_t base = HVABS_LINUX_START_INFO_ADDR;
	const struct hvabs_linux_boot *o = c->boot;
	uint8_t page[SI_PAGE];

	memset(page, 0, sizeof(page));
	put32(page, HVM_START_MAGIC);
	put32(page + 4, 1); /* version 1: with the memory map */
	if (o->initrd_size) {
		uint8_t *m = page + SI_MODLIST_OFF;

		put32(page + 12, 1); /* nr_modules */
		put64(page + 16, base + SI_MODLIST_OFF);
		put64(m, o->initrd_start);
		put64(m + 8, o->initrd_size);
	}
	put64(page + 24, HVABS_LINUX_CMDLINE_ADDR);
	put64(page + 32, o->rsdp);
	put64(page + 40, base + SI_MEMMAP_OFF);
	put32(page + 48, c->e820_count);
	for (uint32_t i = 0; i < c->e820_count; i++) {
		uint8_t *m = page + SI_MEMMAP_OFF + 24 * i;

		put64(m, c->e820[i].addr);
		put64(m + 8, c->e820[i].size);
		put32(m + 16, c->e820[i].type);
	}
	if (hvabs_mem_write(c->mem, base, page, sizeof(page)))
		return ldr_err(c->err, c->errlen, -EFAULT,
			       "cannot write hvm_start_info at 0x%" PRIx64, base);
	return 0;
}

int ldr_pvh_load(struct ldr_ctx *c)
{
	struct elf e = {.k = c->cfg->kernel, .n = c->cfg->kernel_size};
	int rc = check_ehdr(c, &e);

	if (!rc)
		rc = check_segments(c, &e);
	if (!rc)
		rc = check_entry(c, &e);
	if (!rc)
		rc = ldr_place_initrd(c, SZ_4G);
	if (!rc)
		rc = write_segments(c, &e);
	if (rc)
		return rc;
	c->boot->entry_kind = HVABS_LINUX_ENTRY_PVH;
	c->boot->protocol = 0;
	c->boot->entry = e.entry;
	c->boot->boot_info = HVABS_LINUX_START_INFO_ADDR;
	c->boot->pml4 = 0;
	return write_start_info(c);
}
