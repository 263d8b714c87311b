/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables (ACPI 6.4): RSDP (§5.2.5), FACS (§5.2.10), XSDT (§5.2.8),
 * FADT (§5.2.9), MADT (§5.2.12), MCFG (PCI firmware spec) and a DSDT
 * (§5.2.11.1) of device objects; acpi_pci.c describes the PCI host bridge.
 * They are laid out in a host buffer and written to guest RAM in one go.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"
#include "loader_priv.h"

#define OEM_ID	     "HVABS "
#define OEM_TABLE_ID "HVABSVMM"
#define CREATOR_ID   "HVAB"
#define SDT_HDR	     36u

#define RSDP_LEN     36u
#define FACS_LEN     64u
#define FADT_LEN     276u		  /* revision 6 */
#define MCFG_LEN     (SDT_HDR + 8u + 16u) /* one allocation entry */

/* MADT entry types (§5.2.12, table 5.21). */
#define MADT_LAPIC     0
#define MADT_IOAPIC    1
#define MADT_ISO       2
#define MADT_LAPIC_NMI 4
/* MPS INTI flags: polarity bits 1:0 (01 high), trigger bits 3:2 (01 edge, 11 level). */
#define INTI_LEVEL_HIGH 0x000d

/* FADT flags (table 5.10) and IA-PC boot architecture flags (table 5.11). */
#define FADT_WBINVD	     (1u << 0)
#define FADT_PWR_BUTTON	     (1u << 4)
#define FADT_SLP_BUTTON	     (1u << 5)
#define FADT_FIX_RTC	     (1u << 6)
#define FADT_RESET_REG_SUP   (1u << 10)
#define BOOT_LEGACY_DEVICES  (1u << 0)
#define BOOT_8042	     (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)

static void sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, 1);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, 1);
}

static void sdt_finish(uint8_t *t)
{
	t[9] = 0;
	t[9] = ldr_checksum(t, get32(t + 4));
}

/* A Generic Address Structure (§5.2.3.2) in system I/O space. */
static void gas_io(uint8_t *g, uint8_t bits, uint8_t access, uint64_t port)
{
	g[0] = 1; /* SystemIO */
	g[1] = bits;
	g[2] = 0;
	g[3] = access;
	put64(g + 4, port);
}

static size_t madt_len(const struct hvabs_platform *p)
{
	size_t n = 44 + 8 * (size_t)p->nr_cpus + 12 + 10 + 6;

	if (!(p->flags & HVABS_PLATFORM_IRQ0_PIN0))
		n += 10;

	for (size_t i = 0; i < p->nr_devices; i++)
		if (p->devices[i].irq < 16 && (p->devices[i].flags & HVABS_ACPI_DEV_LEVEL))
			n += 10;
	return n;
}

static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0; /* ISA bus */
	e[3] = irq;
	put32(e + 4, gsi);
	put16(e + 8, flags);
	return e + 10;
}

static void build_madt(uint8_t *t, const struct hvabs_platform *p)
{
	uint8_t *e = t + 44;

	sdt_header(t, "APIC", (uint32_t)madt_len(p), 4);
	put32(t + 36, HVABS_LAPIC_ADDR);
	put32(t + 40, 1); /* PCAT_COMPAT: the 8259s exist and must be masked to use the APICs */
	for (uint32_t i = 0; i < p->nr_cpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID, matched by the DSDT's _UID */
		e[3] = (uint8_t)ldr_apic_id(p, i); /* APIC ID */
		put32(e + 4, 1);		   /* enabled */
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)ldr_apic_id(p, p->nr_cpus);
	e[3] = 0;
	put32(e + 4, HVABS_IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	e += 12;
	/* The PC wiring: the PIT's IRQ0 reaches I/O APIC pin 2; flags 0 = ISA defaults. */
	if (!(p->flags & HVABS_PLATFORM_IRQ0_PIN0))
		e = madt_iso(e, 0, 2, 0);
	e = madt_iso(e, HVABS_ACPI_SCI_IRQ, HVABS_ACPI_SCI_IRQ, INTI_LEVEL_HIGH);
	for (size_t i = 0; i < p->nr_devices; i++) {
		const struct hvabs_acpi_device *d = &p->devices[i];

		/* An ISA IRQ is edge/high unless overridden, so a level device needs an override. */
		if (d->irq < 16 && (d->flags & HVABS_ACPI_DEV_LEVEL))
			e = madt_iso(e, (uint8_t)d->irq, d->irq, INTI_LEVEL_HIGH);
	}
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff; /* all processors */
	put16(e + 3, 0);
	e[5] = 1; /* LINT1 */
	sdt_finish(t);
}

static void build_fadt(uint8_t *t, const struct hvabs_platform *p, uint64_t facs, uint64_t dsdt)
{
	uint16_t boot = BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT;

	if (p->flags & HVABS_PLATFORM_I8042)
		boot |= BOOT_8042; /* Linux skips probing the i8042 without it */
	sdt_header(t, "FACP", FADT_LEN, 6);
	put32(t + 36, (uint32_t)facs);
	put32(t + 40, (uint32_t)dsdt);
	put16(t + 46, HVABS_ACPI_SCI_IRQ);
	/* SMI_CMD (48) stays 0: no SMM, the platform is always in ACPI mode. */
	put32(t + 56, HVABS_ACPI_PM1A_EVT_PORT);
	put32(t + 64, HVABS_ACPI_PM1A_CNT_PORT);
	t[88] = 4;	     /* PM1_EVT_LEN */
	t[89] = 2;	     /* PM1_CNT_LEN */
	put16(t + 96, 101);  /* P_LVL2_LAT > 100: no C2 */
	put16(t + 98, 1001); /* P_LVL3_LAT > 1000: no C3 */
	t[108] = 0x32;	     /* CENTURY: the CMOS index the RTC keeps the century at */
	put16(t + 109, boot);
	put32(t + 112,
	      FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP);
	gas_io(t + 116, 8, 1, 0x64); /* RESET_REG: byte access to the i8042 command port */
	t[128] = 0xfe;		     /* RESET_VALUE: pulse the reset line */
	t[131] = 0;		     /* FADT minor version: ACPI 6.0 layout */
	/* X_FIRMWARE_CTRL stays 0: ACPI 6.4 table 5.9 wants it zero when FIRMWARE_CTRL is set. */
	put64(t + 140, dsdt);
	gas_io(t + 148, 32, 0, HVABS_ACPI_PM1A_EVT_PORT);
	gas_io(t + 172, 16, 0, HVABS_ACPI_PM1A_CNT_PORT);
	sdt_finish(t);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t + 4, FACS_LEN);
	t[32] = 2; /* version; no checksum in the FACS */
}

static void build_rsdp(uint8_t *t, uint64_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2;	  /* revision: ACPI 2.0+, XSDT valid */
	put32(t + 16, 0); /* no RSDT: a 64-bit guest uses the XSDT */
	put32(t + 20, RSDP_LEN);
	put64(t + 24, xsdt);
	t[8] = ldr_checksum(t, 20);
	t[32] = ldr_checksum(t, RSDP_LEN);
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

/* A NameSeg of a prefix and @p digits upper-case hex digits ("VR0A", "C01F"). */
static void hex_name(char out[5], const char *prefix, unsigned v, int digits)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(prefix);

	memcpy(out, prefix, n);
	for (int i = 0; i < digits; i++)
		out[n + (size_t)i] = hex[(v >> (4 * (digits - 1 - i))) & 0xf];
	out[n + (size_t)digits] = 0;
}

/* Device (VRxx) { _HID "LNRO0005", _UID, _CCA One, _CRS } as Linux's virtio_mmio ACPI match wants. */
static void dsdt_virtio(struct aml *a, const struct hvabs_acpi_device *d, size_t index)
{
	char name[5];
	struct aml res;
	size_t dev;

	hex_name(name, "VR", (unsigned)index, 2);
	dev = aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, index);
	aml_name(a, "_CCA"); /* DMA is cache coherent */
	aml_integer(a, 1);
	aml_init(&res);
	aml_res_memory32_fixed(&res, 1, (uint32_t)d->base, (uint32_t)d->size);
	aml_res_interrupt(&res, 1, !(d->flags & HVABS_ACPI_DEV_LEVEL), 0, 0, d->irq);
	aml_name(a, "_CRS");
	aml_resource_template(a, &res);
	aml_fini(&res);
	aml_end(a, dev);
}

static void dsdt_com1(struct aml *a)
{
	struct aml res;
	size_t dev = aml_device_begin(a, "COM1");

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_init(&res);
	aml_res_io(&res, 0x3f8, 0x3f8, 0, 8);
	aml_res_irq_noflags(&res, 1u << 4);
	aml_name(a, "_CRS");
	aml_resource_template(a, &res);
	aml_fini(&res);
	aml_end(a, dev);
}

static void dsdt_i8042(struct aml *a)
{
	struct aml res;
	size_t dev = aml_device_begin(a, "PS2K");

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0303");
	aml_init(&res);
	aml_res_io(&res, 0x60, 0x60, 1, 1);
	aml_res_io(&res, 0x64, 0x64, 1, 1);
	aml_res_irq_noflags(&res, 1u << 1);
	aml_name(a, "_CRS");
	aml_resource_template(a, &res);
	aml_fini(&res);
	aml_end(a, dev);
}

/* The DSDT's AML after its header. */
static int build_dsdt_body(struct aml *a, const struct hvabs_platform *p)
{
	size_t sb, pkg;

	sb = aml_scope_begin(a, "\\_SB_");
	for (uint32_t i = 0; i < p->nr_cpus; i++) {
		char name[5];
		size_t dev;

		/* Processor devices (§8.4), tied to the MADT entries by _UID. */
		hex_name(name, "C", i, 3);
		dev = aml_device_begin(a, name);
		aml_name(a, "_HID");
		aml_string(a, "ACPI0007");
		aml_name(a, "_UID");
		aml_integer(a, i);
		aml_end(a, dev);
	}
	if (p->flags & HVABS_PLATFORM_COM1)
		dsdt_com1(a);
	if (p->flags & HVABS_PLATFORM_I8042)
		dsdt_i8042(a);
	for (size_t i = 0; i < p->nr_devices; i++)
		dsdt_virtio(a, &p->devices[i], i);
	if (p->pci)
		ldr_dsdt_pci(a, p->pci);
	aml_end(a, sb);
	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved (§7.4.2). */
	aml_name(a, "\\_S5_");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, HVABS_ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);
	return a->err;
}

struct acpi_layout {
	size_t rsdp, facs, xsdt, fadt, madt, mcfg, dsdt, total;
	uint32_t xsdt_n; /* FADT, MADT, and the MCFG with a PCI host bridge */
};

static void layout(struct acpi_layout *l, size_t dsdt_len, const struct hvabs_platform *p)
{
	l->xsdt_n = p->pci ? 3 : 2;
	l->rsdp = 0;
	l->facs = 64; /* the FACS must be 64-byte aligned */
	l->xsdt = l->facs + FACS_LEN;
	l->fadt = align16(l->xsdt + SDT_HDR + 8 * l->xsdt_n);
	l->madt = align16(l->fadt + FADT_LEN);
	l->mcfg = align16(l->madt + madt_len(p));
	l->dsdt = align16(l->mcfg + (p->pci ? MCFG_LEN : 0));
	l->total = l->dsdt + dsdt_len;
}

static void build_xsdt(uint8_t *t, const struct acpi_layout *l, uint64_t gpa)
{
	sdt_header(t, "XSDT", SDT_HDR + 8 * l->xsdt_n, 1);
	put64(t + SDT_HDR, gpa + l->fadt);
	put64(t + SDT_HDR + 8, gpa + l->madt);
	if (l->xsdt_n > 2)
		put64(t + SDT_HDR + 16, gpa + l->mcfg);
	sdt_finish(t);
}

/* MCFG (PCI Firmware Specification 3.2 §4.1.2): 8 reserved bytes, then one entry per segment. */
static void build_mcfg(uint8_t *t, const struct hvabs_acpi_pci_host *h)
{
	sdt_header(t, "MCFG", MCFG_LEN, 1);
	ldr_mcfg_entry(t + SDT_HDR + 8, h);
	sdt_finish(t);
}

static void fill_tables(uint8_t *buf, const struct acpi_layout *l, const struct aml *body,
			const struct hvabs_platform *p, uint64_t gpa)
{
	uint8_t *dsdt = buf + l->dsdt;

	sdt_header(dsdt, "DSDT", (uint32_t)(SDT_HDR + body->len), 2); /* rev 2: 64-bit integers */
	memcpy(dsdt + SDT_HDR, body->buf, body->len);
	sdt_finish(dsdt);
	build_madt(buf + l->madt, p);
	if (p->pci)
		build_mcfg(buf + l->mcfg, p->pci);
	build_fadt(buf + l->fadt, p, gpa + l->facs, gpa + l->dsdt);
	build_facs(buf + l->facs);
	build_xsdt(buf + l->xsdt, l, gpa);
	build_rsdp(buf + l->rsdp, gpa + l->xsdt);
}

int hvabs_acpi_build(struct hvabs_mem *mem, const struct hvabs_platform *p, uint64_t gpa,
		     uint64_t size, uint64_t *rsdp, char *err, size_t errlen)
{
	struct acpi_layout l;
	struct aml body;
	uint8_t *buf = NULL;
	int rc;

	if (!mem || !rsdp)
		return ldr_err(err, errlen, -EINVAL, "acpi: NULL argument");
	if (gpa & 15)
		return ldr_err(err, errlen, -EINVAL,
			       "acpi: area 0x%" PRIx64 " is not 16-byte aligned (the RSDP must be)",
			       gpa);
	rc = hvabs_platform_check(mem, p, err, errlen);
	if (rc)
		return rc;
	aml_init(&body);
	rc = build_dsdt_body(&body, p);
	if (rc) {
		rc = ldr_err(err, errlen, rc, "acpi: building the DSDT failed (%d)", rc);
		goto out;
	}
	layout(&l, SDT_HDR + body.len, p);
	if (l.total > size || gpa + l.total > SZ_4G) {
		rc = ldr_err(err, errlen, -ENOSPC,
			     "acpi: tables need %zu bytes below 4 GiB, the area at 0x%" PRIx64
			     " has %" PRIu64,
			     l.total, gpa, size);
		goto out;
	}
	if (!ldr_ram_covers(mem, gpa, l.total)) {
		rc = ldr_err(err, errlen, -EFAULT,
			     "acpi: area 0x%" PRIx64 "-0x%" PRIx64 " is not guest RAM", gpa,
			     gpa + l.total - 1);
		goto out;
	}
	buf = calloc(1, l.total);
	if (!buf) {
		rc = ldr_err(err, errlen, -ENOMEM, "acpi: out of memory");
		goto out;
	}
	fill_tables(buf, &l, &body, p, gpa);
	rc = hvabs_mem_write(mem, gpa, buf, l.total);
	if (rc)
		rc = ldr_err(err, errlen, rc, "acpi: writing the tables at 0x%" PRIx64 " failed",
			     gpa);
	else
		*rsdp = gpa + l.rsdp;
out:
	free(buf);
	aml_fini(&body);
	return rc;
}
