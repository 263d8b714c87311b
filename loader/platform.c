/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of a platform description shared by the ACPI and MP table builders. */
#include <errno.h>
#include <inttypes.h>

#include "loader_priv.h"

/* ISA IRQs a device may not take: timer (0), cascade/timer pin (2), RTC (8), SCI (9). */
static const uint32_t fixed_irqs[] = {0, 2, 8, HVABS_ACPI_SCI_IRQ};

static int irq_taken(const struct hvabs_platform *p, uint32_t irq, const char **who)
{
	for (size_t i = 0; i < sizeof(fixed_irqs) / sizeof(fixed_irqs[0]); i++) {
		if (irq == fixed_irqs[i]) {
			*who = irq == HVABS_ACPI_SCI_IRQ ? "the ACPI SCI"
			       : irq == 8		 ? "the RTC"
							 : "the timer";
			return 1;
		}
	}
	if ((p->flags & HVABS_PLATFORM_COM1) && irq == 4) {
		*who = "COM1";
		return 1;
	}
	if ((p->flags & HVABS_PLATFORM_I8042) && (irq == 1 || irq == 12)) {
		*who = "the i8042";
		return 1;
	}
	return 0;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_window(const struct hvabs_mem *mem, const struct hvabs_acpi_device *d, size_t i,
			char *err, size_t errlen)
{
	if (d->size == 0 || d->base + d->size < d->base || d->base + d->size > SZ_4G)
		return ldr_err(err, errlen, -EINVAL,
			       "device %zu: window 0x%" PRIx64 " size 0x%" PRIx64
			       " must be non-empty and below 4 GiB",
			       i, d->base, d->size);
	if (ranges_overlap(d->base, d->size, HVABS_IOAPIC_ADDR, 0x1000) ||
	    ranges_overlap(d->base, d->size, HVABS_LAPIC_ADDR, 0x1000))
		return ldr_err(err, errlen, -EINVAL,
			       "device %zu: window 0x%" PRIx64 "-0x%" PRIx64
			       " overlaps the I/O APIC or local APIC page",
			       i, d->base, d->base + d->size - 1);
	for (size_t r = 0; mem && r < hvabs_mem_region_count(mem); r++) {
		struct hvabs_mem_region reg;

		if (hvabs_mem_region_get(mem, r, &reg) == 0 &&
		    ranges_overlap(d->base, d->size, reg.gpa, reg.size))
			return ldr_err(err, errlen, -EINVAL,
				       "device %zu: window 0x%" PRIx64 "-0x%" PRIx64
				       " overlaps guest RAM at 0x%" PRIx64 "-0x%" PRIx64,
				       i, d->base, d->base + d->size - 1, reg.gpa,
				       reg.gpa + reg.size - 1);
	}
	return 0;
}

static int check_device(const struct hvabs_mem *mem, const struct hvabs_platform *p, size_t i,
			char *err, size_t errlen)
{
	const struct hvabs_acpi_device *d = &p->devices[i];
	const char *who;
	int rc;

	if (d->type != HVABS_ACPI_DEV_VIRTIO_MMIO)
		return ldr_err(err, errlen, -EINVAL, "device %zu: unknown type %u", i, d->type);
	if (d->flags & ~HVABS_ACPI_DEV_LEVEL)
		return ldr_err(err, errlen, -EINVAL, "device %zu: unknown flags 0x%x", i, d->flags);
	rc = check_window(mem, d, i, err, errlen);
	if (rc)
		return rc;
	if (d->irq >= HVABS_IOAPIC_PINS)
		return ldr_err(err, errlen, -EINVAL,
			       "device %zu: irq %u is not an I/O APIC pin (0-%u)", i, d->irq,
			       HVABS_IOAPIC_PINS - 1);
	if (irq_taken(p, d->irq, &who))
		return ldr_err(err, errlen, -EINVAL, "device %zu: irq %u belongs to %s", i, d->irq,
			       who);
	for (size_t j = 0; j < i; j++) {
		const struct hvabs_acpi_device *o = &p->devices[j];

		if (o->irq == d->irq)
			return ldr_err(
			    err, errlen, -EINVAL,
			    "devices %zu and %zu share irq %u (interrupts are exclusive)", j, i,
			    d->irq);
		if (ranges_overlap(d->base, d->size, o->base, o->size))
			return ldr_err(err, errlen, -EINVAL,
				       "devices %zu and %zu: windows 0x%" PRIx64 " and 0x%" PRIx64
				       " overlap",
				       j, i, o->base, d->base);
	}
	return 0;
}

int hvabs_platform_check(const struct hvabs_mem *mem, const struct hvabs_platform *p, char *err,
			 size_t errlen)
{
	if (!p)
		return ldr_err(err, errlen, -EINVAL, "no platform description");
	if (p->nr_cpus == 0 || p->nr_cpus > HVABS_PLATFORM_MAX_CPUS)
		return ldr_err(err, errlen, -EINVAL, "nr_cpus %u: must be 1..%u", p->nr_cpus,
			       HVABS_PLATFORM_MAX_CPUS);
	if (p->apic_id_stride > 8 || (uint64_t)ldr_apic_id(p, p->nr_cpus) > 0xfe)
		return ldr_err(err, errlen, -EINVAL,
			       "%u vCPUs with APIC ID stride %u do not fit 8-bit xAPIC IDs",
			       p->nr_cpus, p->apic_id_stride);
	if (p->flags & ~(HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042 | HVABS_PLATFORM_IRQ0_PIN0))
		return ldr_err(err, errlen, -EINVAL, "unknown platform flags 0x%x", p->flags);
	if (p->nr_devices > HVABS_PLATFORM_MAX_DEVICES)
		return ldr_err(err, errlen, -EINVAL, "%zu devices: at most %u", p->nr_devices,
			       HVABS_PLATFORM_MAX_DEVICES);
	if (p->nr_devices && !p->devices)
		return ldr_err(err, errlen, -EINVAL, "nr_devices is %zu but devices is NULL",
			       p->nr_devices);
	for (size_t i = 0; i < p->nr_devices; i++) {
		int rc = check_device(mem, p, i, err, errlen);

		if (rc)
			return rc;
	}
	return ldr_pci_check(mem, p, err, errlen);
}
