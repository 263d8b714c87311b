/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs_linux_load(): the checks and boot data common to both formats, then the format's loader. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "loader_priv.h"

int ldr_place_initrd(struct ldr_ctx *c, uint64_t limit)
{
	uint64_t size = c->cfg->initrd_size, low = ldr_low_ram_end(c->mem), top, start;
	uint64_t floor = c->boot->kernel_end;

	c->boot->initrd_start = 0;
	c->boot->initrd_size = 0;
	if (!size)
		return 0;
	/* Top of low RAM, under the kernel's limit and 4 GiB, page aligned, above the kernel. */
	top = low < limit ? low : limit;
	top = top < SZ_4G ? top : SZ_4G;
	top &= ~0xfffull;
	if (size > top || ((top - size) & ~0xfffull) < floor)
		return ldr_err(c->err, c->errlen, -ENOSPC,
			       "initrd of %" PRIu64 " bytes does not fit in guest RAM between the "
			       "kernel's end 0x%" PRIx64 " and 0x%" PRIx64,
			       size, floor, top);
	start = (top - size) & ~0xfffull;
	if (hvabs_mem_write(c->mem, start, c->cfg->initrd, size))
		return ldr_err(c->err, c->errlen, -EFAULT, "cannot write the initrd at 0x%" PRIx64,
			       start);
	c->boot->initrd_start = start;
	c->boot->initrd_size = size;
	return 0;
}

static int check_config(struct hvabs_mem *mem, const struct hvabs_linux_config *cfg,
			struct hvabs_linux_boot *out, char *err, size_t errlen)
{
	if (!mem || !cfg || !out)
		return ldr_err(err, errlen, -EINVAL, "NULL argument");
	if (!cfg->kernel || !cfg->kernel_size)
		return ldr_err(err, errlen, -EINVAL, "no kernel image");
	if (cfg->initrd_size && !cfg->initrd)
		return ldr_err(err, errlen, -EINVAL, "initrd_size is %zu but initrd is NULL",
			       cfg->initrd_size);
	if (cfg->flags & ~(HVABS_LINUX_NO_ACPI | HVABS_LINUX_NO_MPTABLE))
		return ldr_err(err, errlen, -EINVAL, "unknown loader flags 0x%x", cfg->flags);
	if (!ldr_ram_covers(mem, 0, SZ_1M) || ldr_low_ram_end(mem) < SZ_1M)
		return ldr_err(err, errlen, -ENOSPC,
			       "guest RAM must be writable from address 0 through 1 MiB: the boot "
			       "data and tables live there");
	return 0;
}

static int write_tables(struct ldr_ctx *c)
{
	const struct hvabs_linux_config *cfg = c->cfg;
	int rc = 0;

	if (!(cfg->flags & HVABS_LINUX_NO_ACPI))
		rc = hvabs_acpi_build(c->mem, &cfg->platform, HVABS_ACPI_DEFAULT_ADDR,
				      HVABS_ACPI_DEFAULT_SIZE, &c->boot->rsdp, c->err, c->errlen);
	if (!rc && !(cfg->flags & HVABS_LINUX_NO_MPTABLE)) {
		rc = hvabs_mptable_build(c->mem, &cfg->platform, HVABS_MPTABLE_DEFAULT_ADDR,
					 HVABS_MPTABLE_DEFAULT_SIZE, c->err, c->errlen);
		c->boot->mptable = rc ? 0 : HVABS_MPTABLE_DEFAULT_ADDR;
	}
	return rc;
}

static int write_common(struct ldr_ctx *c)
{
	const char *cmdline = c->cfg->cmdline ? c->cfg->cmdline : "";
	int rc;

	if (hvabs_mem_write(c->mem, HVABS_LINUX_CMDLINE_ADDR, cmdline, c->cmdline_len + 1))
		return ldr_err(c->err, c->errlen, -EFAULT, "cannot write the command line at 0x%x",
			       HVABS_LINUX_CMDLINE_ADDR);
	rc = ldr_write_gdt(c->mem, c->err, c->errlen);
	if (!rc && c->boot->entry_kind == HVABS_LINUX_ENTRY_BZIMAGE)
		rc = ldr_write_page_tables(c->mem, c->err, c->errlen);
	return rc;
}

static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};

int hvabs_linux_load(struct hvabs_mem *mem, const struct hvabs_linux_config *cfg,
		     struct hvabs_linux_boot *out, char *err, size_t errlen)
{
	struct hvabs_linux_boot boot;
	struct ldr_ctx c;
	uint64_t acpi_end = HVABS_ACPI_DEFAULT_ADDR + HVABS_ACPI_DEFAULT_SIZE;
	int rc = check_config(mem, cfg, out, err, errlen);

	if (rc)
		return rc;
	memset(&boot, 0, sizeof(boot));
	memset(&c, 0, sizeof(c));
	c.mem = mem;
	c.cfg = cfg;
	c.boot = &boot;
	c.err = err;
	c.errlen = errlen;
	c.cmdline_len = cfg->cmdline ? strlen(cfg->cmdline) : 0;
	if (c.cmdline_len >= HVABS_LINUX_CMDLINE_MAX)
		return ldr_err(err, errlen, -E2BIG, "command line is %zu bytes, at most %u fit",
			       c.cmdline_len, HVABS_LINUX_CMDLINE_MAX - 1);
	rc = ldr_e820_build(mem, HVABS_ACPI_DEFAULT_ADDR,
			    (cfg->flags & HVABS_LINUX_NO_ACPI) ? HVABS_ACPI_DEFAULT_ADDR : acpi_end,
			    c.e820, &c.e820_count, err, errlen);
	if (!rc)
		rc = write_tables(&c);
	if (rc)
		return rc;
	if (cfg->kernel_size >= 4 && !memcmp(cfg->kernel, elf_magic, 4))
		rc = ldr_pvh_load(&c);
	else
		rc = ldr_bzimage_load(&c);
	if (!rc)
		rc = write_common(&c);
	if (rc)
		return rc;
	boot.cmdline = HVABS_LINUX_CMDLINE_ADDR;
	boot.cmdline_size = c.cmdline_len + 1;
	boot.gdt = HVABS_LINUX_GDT_ADDR;
	boot.stack = HVABS_LINUX_STACK_TOP;
	boot.e820_entries = c.e820_count;
	*out = boot;
	return 0;
}
