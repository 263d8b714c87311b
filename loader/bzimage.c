/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bzImage loading by the Linux x86 boot protocol (Documentation/arch/x86/
 * boot.rst, "The Linux/x86 Boot Protocol", and zero-page.rst), 64-bit entry:
 * the protected-mode kernel goes to 1 MiB and is entered at its start + 0x200
 * in long mode with RSI = boot_params.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "loader_priv.h"

/* Setup header fields, as offsets in the image and in boot_params alike. */
#define HDR_SETUP_SECTS	     0x1f1
#define HDR_SYSSIZE	     0x1f4
#define HDR_BOOT_FLAG	     0x1fe
#define HDR_JUMP	     0x200
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS	     0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE	     0x234
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
#define HDR_MIN_END	     0x264 /* through init_size: every 2.12 kernel has it */
#define HDR_MAX_END	     0x290 /* boot_params has room for the header up to here */

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES	  0x1e8
#define BP_E820_TABLE	  0x2d0
#define BP_SIZE		  4096

#define HDRS_MAGIC	  0x53726448u /* "HdrS" */
#define BOOT_FLAG	  0xaa55u
#define LOADED_HIGH	  0x01u
#define XLF_KERNEL_64	  0x0001u
#define MIN_PROTOCOL	  0x020cu /* 2.12: the first with xloadflags */
#define ENTRY64_OFFSET	  0x200u
#define LOADER_UNKNOWN	  0xffu /* type_of_loader: "undefined" */
#define OLD_INITRD_MAX	  0x37ffffffu

struct bz {
	const uint8_t *k;
	size_t n;
	uint16_t version;
	size_t hdr_end;
	size_t setup_size;
	uint64_t payload;
};

static int check_header(struct ldr_ctx *c, struct bz *b)
{
	char *err = c->err;
	size_t errlen = c->errlen;

	if (b->n < HDR_MAGIC + 4)
		return ldr_err(err, errlen, -ENOEXEC,
			       "kernel is %zu bytes: too short for a bzImage or ELF header", b->n);
	if (get32(b->k + HDR_MAGIC) != HDRS_MAGIC)
		return ldr_err(err, errlen, -ENOEXEC,
			       "not a bzImage: no \"HdrS\" magic at 0x202, and not an ELF file");
	if (b->n < HDR_VERSION + 2)
		return ldr_err(err, errlen, -ENOEXEC, "bzImage truncated inside its setup header");
	b->version = get16(b->k + HDR_VERSION);
	if (b->version < MIN_PROTOCOL)
		return ldr_err(
		    err, errlen, -EPROTONOSUPPORT,
		    "bzImage boot protocol %u.%02u is too old: 64-bit boot needs 2.12 or later",
		    b->version >> 8, b->version & 0xff);
	/* The header runs to 0x202 + the byte at 0x201 (the jump's displacement). */
	b->hdr_end = HDR_MAGIC + (size_t)b->k[HDR_JUMP + 1];
	if (b->hdr_end > b->n)
		return ldr_err(
		    err, errlen, -ENOEXEC,
		    "bzImage truncated: its setup header ends at 0x%zx, the file at 0x%zx",
		    b->hdr_end, b->n);
	if (b->hdr_end < HDR_MIN_END)
		return ldr_err(err, errlen, -ENOEXEC,
			       "bzImage setup header ends at 0x%zx, too short for protocol %u.%02u",
			       b->hdr_end, b->version >> 8, b->version & 0xff);
	if (get16(b->k + HDR_BOOT_FLAG) != BOOT_FLAG)
		return ldr_err(err, errlen, -ENOEXEC, "bzImage boot_flag is 0x%04x, not 0xaa55",
			       get16(b->k + HDR_BOOT_FLAG));
	if (!(b->k[HDR_LOADFLAGS] & LOADED_HIGH))
		return ldr_err(
		    err, errlen, -EPROTONOSUPPORT,
		    "a zImage (loadflags without LOADED_HIGH) cannot be loaded at 1 MiB");
	if (!(get16(b->k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return ldr_err(
		    err, errlen, -EPROTONOSUPPORT,
		    "bzImage has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)");
	return 0;
}

static int check_sizes(struct ldr_ctx *c, struct bz *b)
{
	unsigned sects = b->k[HDR_SETUP_SECTS] ? b->k[HDR_SETUP_SECTS] : 4;
	uint64_t syssize = (uint64_t)get32(b->k + HDR_SYSSIZE) * 16;
	uint32_t cmdline_size = get32(b->k + HDR_CMDLINE_SIZE);

	b->setup_size = (size_t)(sects + 1) * 512;
	if (b->setup_size >= b->n)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "bzImage truncated: %zu bytes of setup code, the file has %zu",
			       b->setup_size, b->n);
	b->payload = b->n - b->setup_size;
	if (syssize > b->payload)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "bzImage truncated: the header promises %" PRIu64
			       " bytes of kernel, the file has %" PRIu64,
			       syssize, b->payload);
	if (c->cmdline_len > cmdline_size)
		return ldr_err(c->err, c->errlen, -E2BIG,
			       "command line is %zu bytes, this kernel takes at most %u",
			       c->cmdline_len, cmdline_size);
	return 0;
}

/*
 * What the kernel occupies before it reads the memory map: the image at
 * 1 MiB, and init_size bytes from its run-time start, which boot.rst (on
 * init_size) defines as the load address raised to pref_address and aligned
 * up to kernel_alignment for a relocatable kernel, pref_address otherwise.
 */
static int kernel_extent(struct ldr_ctx *c, const struct bz *b, uint64_t *end)
{
	uint32_t align = get32(b->k + HDR_KERNEL_ALIGNMENT);
	uint64_t pref = get64(b->k + HDR_PREF_ADDRESS);
	uint64_t init_size = get32(b->k + HDR_INIT_SIZE);
	uint64_t run = pref, e = HVABS_LINUX_KERNEL_ADDR + b->payload;
	int reloc = b->k[HDR_RELOCATABLE] != 0;

	if (reloc && (align == 0 || (align & (align - 1))))
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "bzImage kernel_alignment 0x%x is not a power of two", align);
	if (!reloc && pref < HVABS_LINUX_KERNEL_ADDR)
		return ldr_err(c->err, c->errlen, -ENOEXEC,
			       "bzImage is not relocatable and wants to run at 0x%" PRIx64
			       ", below 1 MiB where the boot data lives",
			       pref);
	if (reloc && run < HVABS_LINUX_KERNEL_ADDR)
		run = HVABS_LINUX_KERNEL_ADDR;
	if (reloc && run < SZ_4G)
		run = (run + align - 1) & ~((uint64_t)align - 1);
	if (run >= SZ_4G || run + init_size > SZ_4G)
		return ldr_err(c->err, c->errlen, -ENOSPC,
			       "bzImage wants to run at 0x%" PRIx64 " with %" PRIu64
			       " bytes: beyond 4 GiB",
			       run, init_size);
	if (run + init_size > e)
		e = run + init_size;
	e = (e + 0xfff) & ~0xfffull;
	if (!ldr_ram_covers(c->mem, HVABS_LINUX_KERNEL_ADDR, e - HVABS_LINUX_KERNEL_ADDR))
		return ldr_err(
		    c->err, c->errlen, -ENOSPC,
		    "kernel needs guest RAM from 0x%x to 0x%" PRIx64 " (%" PRIu64
		    " MiB with its decompression room); guest RAM from 0 ends at 0x%" PRIx64,
		    HVABS_LINUX_KERNEL_ADDR, e, (e + SZ_1M - 1) >> 20, ldr_low_ram_end(c->mem));
	*end = e;
	return 0;
}

static void fill_zero_page(struct ldr_ctx *c, const struct bz *b, uint8_t *zp)
{
	const struct hvabs_linux_boot *o = c->boot;
	size_t end = b->hdr_end < HDR_MAX_END ? b->hdr_end : HDR_MAX_END;

	memset(zp, 0, BP_SIZE);
	/* The setup header is copied as the kernel has it, then the loader's fields set. */
	memcpy(zp + HDR_SETUP_SECTS, b->k + HDR_SETUP_SECTS, end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNKNOWN;
	put32(zp + HDR_CMD_LINE_PTR, HVABS_LINUX_CMDLINE_ADDR);
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)o->initrd_start);
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)o->initrd_size);
	put64(zp + BP_ACPI_RSDP_ADDR, o->rsdp);
	zp[BP_E820_ENTRIES] = (uint8_t)c->e820_count;
	for (uint32_t i = 0; i < c->e820_count; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		put64(e, c->e820[i].addr);
		put64(e + 8, c->e820[i].size);
		put32(e + 16, c->e820[i].type);
	}
}

int ldr_bzimage_load(struct ldr_ctx *c)
{
	struct bz b = {.k = c->cfg->kernel, .n = c->cfg->kernel_size};
	uint8_t zp[BP_SIZE];
	uint64_t end = 0, limit;
	int rc = check_header(c, &b);

	if (!rc)
		rc = check_sizes(c, &b);
	if (!rc)
		rc = kernel_extent(c, &b, &end);
	if (rc)
		return rc;
	c->boot->kernel_start = HVABS_LINUX_KERNEL_ADDR;
	c->boot->kernel_end = end;
	limit = (uint64_t)get32(b.k + HDR_INITRD_ADDR_MAX) + 1;
	if (limit == 1)
		limit = (uint64_t)OLD_INITRD_MAX + 1;
	rc = ldr_place_initrd(c, limit);
	if (rc)
		return rc;
	if (hvabs_mem_write(c->mem, HVABS_LINUX_KERNEL_ADDR, b.k + b.setup_size, b.payload))
		return ldr_err(c->err, c->errlen, -EFAULT, "cannot write the kernel at 0x%x",
			       HVABS_LINUX_KERNEL_ADDR);
	c->boot->entry_kind = HVABS_LINUX_ENTRY_BZIMAGE;
	c->boot->protocol = b.version;
	c->boot->entry = HVABS_LINUX_KERNEL_ADDR + ENTRY64_OFFSET;
	c->boot->boot_info = HVABS_LINUX_ZERO_PAGE_ADDR;
	c->boot->pml4 = HVABS_LINUX_PML4_ADDR;
	fill_zero_page(c, &b, zp);
	if (hvabs_mem_write(c->mem, HVABS_LINUX_ZERO_PAGE_ADDR, zp, sizeof(zp)))
		return ldr_err(c->err, c->errlen, -EFAULT, "cannot write the zero page at 0x%x",
			       HVABS_LINUX_ZERO_PAGE_ADDR);
	return 0;
}
