/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4: the floating pointer structure
 * (§4.1) and the configuration table (§4.2) with its base entries (§4.3).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "loader_priv.h"

#define MPF_LEN	   16u
#define MPC_HDR	   44u
#define MP_CPU_LEN 20u
#define MP_ENT_LEN 8u /* bus, I/O APIC, interrupt entries */

enum {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4
};
enum {
	MP_INT = 0,
	MP_NMI = 1,
	MP_EXTINT = 3
};

#define LAPIC_VERSION  0x14 /* an integrated xAPIC */
#define IOAPIC_VERSION 0x11 /* the 82093AA the hypervisors emulate */
#define ISA_BUS	       0
/* Interrupt entry flags: polarity bits 1:0 (01 high), trigger bits 3:2 (01 edge, 11 level). */
#define MP_FLAGS_EDGE_HIGH  0x5
#define MP_FLAGS_LEVEL_HIGH 0xd

static const struct hvabs_acpi_device *device_on(const struct hvabs_platform *p, uint32_t irq)
{
	for (size_t i = 0; i < p->nr_devices; i++)
		if (p->devices[i].irq == irq)
			return &p->devices[i];
	return NULL;
}

static uint16_t device_flags(const struct hvabs_acpi_device *d)
{
	return (d->flags & HVABS_ACPI_DEV_LEVEL) ? MP_FLAGS_LEVEL_HIGH : MP_FLAGS_EDGE_HIGH;
}

static size_t nr_intsrc(const struct hvabs_platform *p)
{
	size_t n = 15; /* ISA IRQs 0-15 but 2 */

	for (size_t i = 0; i < p->nr_devices; i++)
		if (p->devices[i].irq >= 16)
			n++;
	return n;
}

static uint8_t *intsrc(uint8_t *e, uint8_t type, uint16_t flags, uint8_t bus_irq, uint8_t apic,
		       uint8_t pin)
{
	e[0] = MP_INTSRC;
	e[1] = type;
	put16(e + 2, flags);
	e[4] = ISA_BUS;
	e[5] = bus_irq;
	e[6] = apic;
	e[7] = pin;
	return e + MP_ENT_LEN;
}

static uint8_t *lintsrc(uint8_t *e, uint8_t type, uint8_t lint)
{
	e[0] = MP_LINTSRC;
	e[1] = type;
	put16(e + 2, 0); /* conforms to the bus */
	e[4] = ISA_BUS;
	e[5] = 0;
	e[6] = 0xff; /* every local APIC */
	e[7] = lint;
	return e + MP_ENT_LEN;
}

static uint8_t *cpus_bus_ioapic(uint8_t *e, const struct hvabs_platform *p)
{
	for (uint32_t i = 0; i < p->nr_cpus; i++, e += MP_CPU_LEN) {
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)ldr_apic_id(p, i);
		e[2] = LAPIC_VERSION;
		e[3] = (uint8_t)(1u | (i == 0 ? 2u : 0u)); /* enabled; bootstrap for vCPU 0 */
		put32(e + 4, 0x600);			   /* signature: family 6 */
		put32(e + 8, 0x201);			   /* features: FPU, APIC */
	}
	e[0] = MP_BUS;
	e[1] = ISA_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENT_LEN;
	e[0] = MP_IOAPIC;
	e[1] = (uint8_t)ldr_apic_id(p, p->nr_cpus);
	e[2] = IOAPIC_VERSION;
	e[3] = 1; /* usable */
	put32(e + 4, HVABS_IOAPIC_ADDR);
	return e + MP_ENT_LEN;
}

static void build(uint8_t *buf, size_t len, const struct hvabs_platform *p, uint64_t gpa)
{
	uint8_t *mpc = buf + MPF_LEN, *e = mpc + MPC_HDR;
	uint8_t ioapic = (uint8_t)ldr_apic_id(p, p->nr_cpus);

	e = cpus_bus_ioapic(e, p);
	/* ISA IRQ n at pin n, but the PIT (IRQ0) at pin 2 as on a PC unless told otherwise; IRQ2
	 * is the cascade. */
	for (uint8_t irq = 0; irq < 16; irq++) {
		const struct hvabs_acpi_device *d = device_on(p, irq);

		if (irq == 2)
			continue;
		e = intsrc(e, MP_INT, d ? device_flags(d) : 0, irq, ioapic,
			   irq == 0 && !(p->flags & HVABS_PLATFORM_IRQ0_PIN0) ? 2 : irq);
	}
	/* Pins above the ISA range are "not connected" to Linux unless listed. */
	for (size_t i = 0; i < p->nr_devices; i++) {
		const struct hvabs_acpi_device *d = &p->devices[i];

		if (d->irq >= 16)
			e = intsrc(e, MP_INT, device_flags(d), (uint8_t)d->irq, ioapic,
				   (uint8_t)d->irq);
	}
	e = lintsrc(e, MP_EXTINT, 0);
	e = lintsrc(e, MP_NMI, 1);

	memcpy(mpc, "PCMP", 4);
	put16(mpc + 4, (uint16_t)(len - MPF_LEN));
	mpc[6] = 4; /* spec revision 1.4 */
	memcpy(mpc + 8, "HVABS   ", 8);
	memcpy(mpc + 16, "HVABS VMM   ", 12);
	put16(mpc + 34, (uint16_t)(p->nr_cpus + 2 + nr_intsrc(p) + 2));
	put32(mpc + 36, HVABS_LAPIC_ADDR);
	mpc[7] = ldr_checksum(mpc, len - MPF_LEN);

	memcpy(buf, "_MP_", 4);
	put32(buf + 4, (uint32_t)(gpa + MPF_LEN));
	buf[8] = 1; /* length in 16-byte units */
	buf[9] = 4; /* spec revision 1.4 */
	/* feature bytes 0: a configuration table is present, virtual-wire mode (no IMCR). */
	buf[10] = ldr_checksum(buf, MPF_LEN);
}

int hvabs_mptable_build(struct hvabs_mem *mem, const struct hvabs_platform *p, uint64_t gpa,
			uint64_t size, char *err, size_t errlen)
{
	size_t len;
	uint8_t *buf;
	int rc;

	if (!mem)
		return ldr_err(err, errlen, -EINVAL, "mptable: NULL memory map");
	if (gpa & 15)
		return ldr_err(err, errlen, -EINVAL,
			       "mptable: area 0x%" PRIx64 " is not 16-byte aligned", gpa);
	rc = hvabs_platform_check(mem, p, err, errlen);
	if (rc)
		return rc;
	len = MPF_LEN + MPC_HDR + MP_CPU_LEN * (size_t)p->nr_cpus + 2 * MP_ENT_LEN +
	      MP_ENT_LEN * nr_intsrc(p) + 2 * MP_ENT_LEN;
	if (len > size || gpa + len > SZ_4G)
		return ldr_err(err, errlen, -ENOSPC,
			       "mptable: needs %zu bytes below 4 GiB, the area at 0x%" PRIx64
			       " has %" PRIu64,
			       len, gpa, size);
	if (!ldr_ram_covers(mem, gpa, len))
		return ldr_err(err, errlen, -EFAULT,
			       "mptable: area 0x%" PRIx64 "-0x%" PRIx64 " is not guest RAM", gpa,
			       gpa + len - 1);
	buf = calloc(1, len);
	if (!buf)
		return ldr_err(err, errlen, -ENOMEM, "mptable: out of memory");
	build(buf, len, p, gpa);
	rc = hvabs_mem_write(mem, gpa, buf, len);
	free(buf);
	if (rc)
		return ldr_err(err, errlen, rc, "mptable: writing at 0x%" PRIx64 " failed", gpa);
	return 0;
}
