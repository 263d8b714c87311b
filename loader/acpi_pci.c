/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PCI host bridge in the ACPI tables: the MCFG entry (PCI Firmware
 * Specification 3.2 §4.1.2), the PNP0A08 device with its _CRS windows
 * (§4.1.1, ACPI 6.4 §6.4.3.5) and the PNP0C02 motherboard resource that
 * reserves the ECAM window (Linux only trusts MMCONFIG when the firmware
 * reserves it, see its pci_mmcfg_reserved()), and the checks of the
 * description.
 */
#include <errno.h>
#include <inttypes.h>

#include "aml.h"
#include "loader_priv.h"

static uint64_t ecam_start(const struct hvabs_acpi_pci_host *h)
{
	return h->ecam_base + (uint64_t)h->bus_start * HVABS_PCI_ECAM_BUS_SIZE;
}

static uint64_t ecam_len(const struct hvabs_acpi_pci_host *h)
{
	return ((uint64_t)h->bus_end - h->bus_start + 1) * HVABS_PCI_ECAM_BUS_SIZE;
}

void ldr_mcfg_entry(uint8_t *e, const struct hvabs_acpi_pci_host *h)
{
	/* Base address (bus 0's, even when the range starts higher), segment, buses, reserved. */
	put64(e, h->ecam_base);
	put16(e + 8, h->segment);
	e[10] = h->bus_start;
	e[11] = h->bus_end;
	put32(e + 12, 0);
}

static void crs_bridge(struct aml *a, const struct hvabs_acpi_pci_host *h)
{
	struct aml res;

	aml_init(&res);
	aml_res_addr(&res, AML_ADDR_WORD, AML_ADDR_BUS, 0, h->bus_start,
		     (uint64_t)h->bus_end - h->bus_start + 1);
	/* The configuration mechanism #1 ports belong to the root bridge. */
	aml_res_io(&res, 0xcf8, 0xcf8, 1, 8);
	aml_res_addr(&res, AML_ADDR_DWORD, AML_ADDR_MEM, 1, h->mmio32_base, h->mmio32_size);
	if (h->mmio64_size)
		aml_res_addr(&res, AML_ADDR_QWORD, AML_ADDR_MEM, 1, h->mmio64_base, h->mmio64_size);
	aml_name(a, "_CRS");
	aml_resource_template(a, &res);
	aml_fini(&res);
}

void ldr_dsdt_pci(struct aml *a, const struct hvabs_acpi_pci_host *h)
{
	struct aml res;
	size_t dev;

	dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08"); /* PCI Express root bridge */
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03"); /* ... compatible with a PCI root bridge */
	aml_name(a, "_SEG");
	aml_integer(a, h->segment);
	aml_name(a, "_BBN");
	aml_integer(a, h->bus_start);
	aml_name(a, "_UID");
	aml_integer(a, h->segment);
	crs_bridge(a, h);
	aml_end(a, dev);

	dev = aml_device_begin(a, "PRES");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 0x100u + h->segment);
	aml_init(&res);
	aml_res_memory32_fixed(&res, 0, (uint32_t)ecam_start(h), (uint32_t)ecam_len(h));
	aml_name(a, "_CRS");
	aml_resource_template(a, &res);
	aml_fini(&res);
	aml_end(a, dev);
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A window must not wrap, hit guest RAM, the APIC pages or a platform device. */
static int check_range(const struct hvabs_mem *mem, const struct hvabs_platform *p,
		       const char *what, uint64_t base, uint64_t len, char *err, size_t errlen)
{
	if (len == 0 || base + len < base)
		return ldr_err(err, errlen, -EINVAL,
			       "pci: %s 0x%" PRIx64 " size 0x%" PRIx64 " is empty or wraps", what,
			       base, len);
	if (overlap(base, len, HVABS_IOAPIC_ADDR, 0x1000) ||
	    overlap(base, len, HVABS_LAPIC_ADDR, 0x1000))
		return ldr_err(err, errlen, -EINVAL,
			       "pci: %s 0x%" PRIx64 "-0x%" PRIx64
			       " overlaps the I/O APIC or local APIC page",
			       what, base, base + len - 1);
	for (size_t r = 0; mem && r < hvabs_mem_region_count(mem); r++) {
		struct hvabs_mem_region reg;

		if (hvabs_mem_region_get(mem, r, &reg) == 0 &&
		    overlap(base, len, reg.gpa, reg.size))
			return ldr_err(err, errlen, -EINVAL,
				       "pci: %s 0x%" PRIx64 "-0x%" PRIx64 " overlaps guest RAM",
				       what, base, base + len - 1);
	}
	for (size_t i = 0; i < p->nr_devices; i++)
		if (overlap(base, len, p->devices[i].base, p->devices[i].size))
			return ldr_err(err, errlen, -EINVAL,
				       "pci: %s 0x%" PRIx64 " overlaps device %zu", what, base, i);
	return 0;
}

int ldr_pci_check(const struct hvabs_mem *mem, const struct hvabs_platform *p, char *err,
		  size_t errlen)
{
	const struct hvabs_acpi_pci_host *h = p->pci;
	int rc;

	if (!h)
		return 0;
	if (h->bus_end < h->bus_start || h->pad)
		return ldr_err(err, errlen, -EINVAL, "pci: buses %u-%u are not a range",
			       h->bus_start, h->bus_end);
	if (h->ecam_base & (HVABS_PCI_ECAM_BUS_SIZE - 1) || ecam_start(h) + ecam_len(h) > SZ_4G)
		return ldr_err(err, errlen, -EINVAL,
			       "pci: ECAM 0x%" PRIx64 " must be 1 MiB aligned and end below 4 GiB",
			       h->ecam_base);
	if (h->mmio32_base + h->mmio32_size > SZ_4G)
		return ldr_err(err, errlen, -EINVAL, "pci: the 32-bit window ends above 4 GiB");
	rc = check_range(mem, p, "ECAM", ecam_start(h), ecam_len(h), err, errlen);
	if (!rc)
		rc = check_range(mem, p, "32-bit window", h->mmio32_base, h->mmio32_size, err,
				 errlen);
	if (!rc && h->mmio64_size)
		rc = check_range(mem, p, "64-bit window", h->mmio64_base, h->mmio64_size, err,
				 errlen);
	if (rc)
		return rc;
	if (overlap(ecam_start(h), ecam_len(h), h->mmio32_base, h->mmio32_size) ||
	    (h->mmio64_size &&
	     (overlap(ecam_start(h), ecam_len(h), h->mmio64_base, h->mmio64_size) ||
	      overlap(h->mmio32_base, h->mmio32_size, h->mmio64_base, h->mmio64_size))))
		return ldr_err(err, errlen, -EINVAL, "pci: ECAM and the BAR windows overlap");
	return 0;
}
