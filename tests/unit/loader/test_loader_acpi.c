/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI tables: structure, checksums and contents of RSDP/XSDT/FADT/FACS/MADT/DSDT; refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader_test.h"

#define BASE 0xe0000u

struct fx {
	struct guest g;
	struct hvabs_acpi_device dev[3];
	struct hvabs_platform p;
	uint64_t rsdp;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || guest_init(&f->g, 16 * MIB, 0))
		return -1;
	f->dev[0] = (struct hvabs_acpi_device){.base = 0xd0000000, .size = 0x1000, .irq = 5};
	f->dev[1] = (struct hvabs_acpi_device){
	    .base = 0xd0001000, .size = 0x1000, .irq = 6, .flags = HVABS_ACPI_DEV_LEVEL};
	f->dev[2] = (struct hvabs_acpi_device){.base = 0xd0002000, .size = 0x200, .irq = 20};
	f->p.nr_cpus = 4;
	f->p.flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042;
	f->p.devices = f->dev;
	f->p.nr_devices = 3;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	guest_fini(&f->g);
	free(f);
	return 0;
}

static int build(struct fx *f)
{
	f->err[0] = 0;
	return hvabs_acpi_build(f->g.mem, &f->p, BASE, HVABS_ACPI_DEFAULT_SIZE, &f->rsdp, f->err,
				sizeof(f->err));
}

static const uint8_t *at(struct fx *f, uint64_t gpa)
{
	assert_true(gpa < f->g.low_size);
	return f->g.low + gpa;
}

/* Finds a table through RSDP -> XSDT and checks its length and checksum. */
static const uint8_t *table(struct fx *f, const char *sig)
{
	const uint8_t *rsdp = at(f, f->rsdp), *xsdt = at(f, rd64(rsdp + 24));
	uint32_t n = (rd32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = at(f, rd64(xsdt + 36 + 8 * i));

		if (!memcmp(t, sig, 4)) {
			assert_int_equal(sum8(t, rd32(t + 4)), 0);
			return t;
		}
	}
	return NULL;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return 1;
	return 0;
}

static void rsdp_and_xsdt(void **state)
{
	struct fx *f = *state;
	const uint8_t *r, *x;

	assert_int_equal(build(f), 0);
	assert_int_equal(f->rsdp, BASE);
	r = at(f, BASE);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum8(r, 20), 0);
	assert_int_equal(sum8(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 20), 36);
	x = at(f, rd64(r + 24));
	assert_memory_equal(x, "XSDT", 4);
	assert_int_equal(sum8(x, rd32(x + 4)), 0);
	assert_int_equal(rd32(x + 4), 36 + 2 * 8);
	assert_non_null(table(f, "FACP"));
	assert_non_null(table(f, "APIC"));
	/* everything stays inside the area, which the e820 marks as ACPI data */
	assert_true(rd64(r + 24) < BASE + HVABS_ACPI_DEFAULT_SIZE);
}

static void fadt_and_facs(void **state)
{
	struct fx *f = *state;
	const uint8_t *t, *facs, *dsdt;

	assert_int_equal(build(f), 0);
	t = table(f, "FACP");
	assert_int_equal(rd32(t + 4), 276);
	assert_int_equal(t[8], 6);
	assert_int_equal(rd64(t + 140), rd32(t + 40)); /* X_DSDT == DSDT */
	assert_int_equal(rd64(t + 132), 0); /* X_FIRMWARE_CTRL: zero when FIRMWARE_CTRL is set */
	facs = at(f, rd32(t + 36));
	assert_int_equal(rd32(t + 36) % 64, 0);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	dsdt = at(f, rd32(t + 40));
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_int_equal(sum8(dsdt, rd32(dsdt + 4)), 0);
	assert_int_equal(rd16(t + 46), 9);     /* SCI_INT */
	assert_int_equal(rd32(t + 48), 0);     /* no SMI_CMD: always in ACPI mode */
	assert_int_equal(rd32(t + 56), 0x600); /* PM1a_EVT_BLK */
	assert_int_equal(rd32(t + 64), 0x604); /* PM1a_CNT_BLK */
	assert_int_equal(t[88], 4);
	assert_int_equal(t[89], 2);
	/* Flags: RESET_REG_SUP on, HW_REDUCED_ACPI off */
	assert_true(rd32(t + 112) & (1u << 10));
	assert_false(rd32(t + 112) & (1u << 20));
	/* IA-PC boot flags: 8042 present, no VGA, CMOS RTC present (bit 5 clear) */
	assert_true(rd16(t + 109) & 2);
	assert_true(rd16(t + 109) & 4);
	assert_false(rd16(t + 109) & 0x20);
	/* RESET_REG = SystemIO, 8 bits, byte access, port 0x64; value 0xFE */
	assert_memory_equal(t + 116, ((const uint8_t[]){1, 8, 0, 1, 0x64, 0, 0, 0, 0, 0, 0, 0}),
			    12);
	assert_int_equal(t[128], 0xfe);
	/* X_PM1a_EVT_BLK / X_PM1a_CNT_BLK agree with the 32-bit fields */
	assert_memory_equal(t + 148, ((const uint8_t[]){1, 32, 0, 0, 0x00, 0x06, 0, 0}), 8);
	assert_memory_equal(t + 172, ((const uint8_t[]){1, 16, 0, 0, 0x04, 0x06, 0, 0}), 8);
}

static void fadt_without_i8042(void **state)
{
	struct fx *f = *state;

	f->p.flags = HVABS_PLATFORM_COM1;
	assert_int_equal(build(f), 0);
	assert_false(rd16(table(f, "FACP") + 109) & 2);
}

static void madt(void **state)
{
	struct fx *f = *state;
	const uint8_t *t, *e, *end;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(build(f), 0);
	t = table(f, "APIC");
	assert_int_equal(rd32(t + 36), 0xfee00000u);
	assert_int_equal(rd32(t + 40), 1);
	end = t + rd32(t + 4);
	for (e = t + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[2], lapics); /* processor UID */
			assert_int_equal(e[3], lapics); /* APIC ID */
			assert_int_equal(rd32(e + 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(e[2], 4);
			assert_int_equal(rd32(e + 4), 0xfec00000u);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2); /* IRQ0 -> GSI2 */
				assert_int_equal(rd16(e + 8), 0);
			} else if (e[3] == 9) {
				assert_int_equal(rd32(e + 4), 9);
				assert_int_equal(rd16(e + 8), 0xd); /* level, active high */
			} else {
				assert_int_equal(e[3], 6); /* the level-triggered device */
				assert_int_equal(rd32(e + 4), 6);
				assert_int_equal(rd16(e + 8), 0xd);
			}
			isos++;
			break;
		case 4:
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(lapics, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 3);
	assert_int_equal(nmis, 1);
}

/* With IRQ0 wired to pin 0 (KVM's default routing) there is no IRQ0 override. */
static void madt_irq0_pin0(void **state)
{
	struct fx *f = *state;
	const uint8_t *t, *e;
	unsigned isos = 0;

	f->p.flags |= HVABS_PLATFORM_IRQ0_PIN0;
	assert_int_equal(build(f), 0);
	t = table(f, "APIC");
	for (e = t + 44; e < t + rd32(t + 4); e += e[1]) {
		if (e[0] != 2)
			continue;
		assert_int_not_equal(e[3], 0);
		isos++;
	}
	assert_ptr_equal(e, t + rd32(t + 4));
	assert_int_equal(isos, 2); /* SCI and the level device */
}

static const uint8_t *dsdt_of(struct fx *f)
{
	return at(f, rd32(table(f, "FACP") + 40));
}

static void dsdt_devices(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;
	size_t n;
	/* _CRS of VR01: Memory32Fixed (ReadWrite, 0xd0001000, 0x1000), Interrupt (Level) {6} */
	static const uint8_t vr01_crs[] = {0x08, '_',  'C',  'R',  'S',	 0x11, 0x1a, 0x0a,
					   0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00,
					   0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00,
					   0x01, 0x01, 0x06, 0x00, 0x00, 0x00, 0x79, 0x00};
	/* VR02: window 0x200 at 0xd0002000, edge irq 20 */
	static const uint8_t vr02_crs[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x20, 0x00, 0xd0,
					   0x00, 0x02, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03,
					   0x01, 0x14, 0x00, 0x00, 0x00, 0x79, 0x00};
	static const uint8_t vr00_head[] = {0x5b, 0x82, 0x41, 0x04, 'V',  'R', '0', '0', 0x08,
					    '_',  'H',	'I',  'D',  0x0d, 'L', 'N', 'R', 'O'};
	static const uint8_t com1[] = {0x5b, 0x82, 0x2b, 'C',  'O',  'M',  '1',	 0x08, '_',
				       'H',  'I',  'D',	 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x08,
				       '_',  'U',  'I',	 'D',  0x01, 0x08, '_',	 'C',  'R',
				       'S',  0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03,
				       0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
	static const uint8_t kbd_hid[] = {'P', 'S', '2',  'K',	0x08, '_',  'H',
					  'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03};
	static const uint8_t s5[] = {0x08, '\\', '_',  'S',  '5',  '_',	 0x12,
				     0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00};
	static const uint8_t cpu3[] = {0x5b, 0x82, 0x1b, 'C', '0', '0', '3', 0x08, '_', 'H',
				       'I',  'D',  0x0d, 'A', 'C', 'P', 'I', '0',  '0', '0',
				       '7',  0x00, 0x08, '_', 'U', 'I', 'D', 0x0a, 0x03};

	assert_int_equal(build(f), 0);
	d = dsdt_of(f);
	n = rd32(d + 4);
	assert_int_equal(d[8], 2);
	assert_true(contains(d, n, vr00_head, sizeof(vr00_head)));
	assert_true(contains(d, n, vr01_crs, sizeof(vr01_crs)));
	assert_true(contains(d, n, vr02_crs, sizeof(vr02_crs)));
	assert_true(contains(d, n, com1, sizeof(com1)));
	assert_true(contains(d, n, kbd_hid, sizeof(kbd_hid)));
	assert_true(contains(d, n, s5, sizeof(s5)));
	assert_true(contains(d, n, cpu3, sizeof(cpu3)));
	assert_false(contains(d, n, (const uint8_t *)"C004", 4));
	assert_false(contains(d, n, (const uint8_t *)"VR03", 4));
	/* the body starts with Scope (\_SB_) */
	assert_int_equal(d[36], 0x10);
}

static void dsdt_without_legacy(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	f->p.flags = 0;
	f->p.nr_devices = 0;
	assert_int_equal(build(f), 0);
	d = dsdt_of(f);
	assert_false(contains(d, rd32(d + 4), (const uint8_t *)"COM1", 4));
	assert_false(contains(d, rd32(d + 4), (const uint8_t *)"PS2K", 4));
	assert_false(contains(d, rd32(d + 4), (const uint8_t *)"LNRO", 4));
}

static void many_cpus_and_devices(void **state)
{
	struct fx *f = *state;
	struct hvabs_acpi_device *devs = calloc(HVABS_IOAPIC_PINS, sizeof(*devs));
	const uint8_t *t;
	unsigned lapics = 0;
	size_t nd = 0;

	assert_non_null(devs);
	for (uint32_t irq = 0; irq < HVABS_IOAPIC_PINS; irq++) {
		if (irq == 0 || irq == 2 || irq == 8 || irq == 9)
			continue;
		devs[nd].base = 0xd0000000u + 0x1000u * nd;
		devs[nd].size = 0x1000;
		devs[nd].irq = irq;
		nd++;
	}
	f->p.flags = 0;
	f->p.nr_cpus = HVABS_PLATFORM_MAX_CPUS;
	f->p.devices = devs;
	f->p.nr_devices = nd;
	assert_int_equal(build(f), 0);
	t = table(f, "APIC");
	for (const uint8_t *e = t + 44; e < t + rd32(t + 4); e += e[1])
		lapics += e[0] == 0;
	assert_int_equal(lapics, HVABS_PLATFORM_MAX_CPUS);
	assert_true(contains(dsdt_of(f), rd32(dsdt_of(f) + 4), (const uint8_t *)"C0FD", 4));
	assert_true(contains(dsdt_of(f), rd32(dsdt_of(f) + 4), (const uint8_t *)"VR13", 4));
	free(devs);
}

#define EXPECT_FAIL(f, code, needle)                                                               \
	do {                                                                                       \
		f->rsdp = 0x1234;                                                                  \
		assert_int_equal(build(f), code);                                                  \
		if (!strstr((f)->err, needle))                                                     \
			fail_msg("error \"%s\" does not mention \"%s\"", (f)->err, needle);        \
		assert_int_equal(f->rsdp, 0x1234);                                                 \
	} while (0)

static void bad_platforms(void **state)
{
	struct fx *f = *state;

	f->p.nr_cpus = 0;
	EXPECT_FAIL(f, -EINVAL, "nr_cpus 0");
	f->p.nr_cpus = HVABS_PLATFORM_MAX_CPUS + 1;
	EXPECT_FAIL(f, -EINVAL, "nr_cpus 255");
	f->p.nr_cpus = 1;
	f->p.flags = 0x100;
	EXPECT_FAIL(f, -EINVAL, "platform flags");
	f->p.flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042;
	f->dev[2].base = 0xd0000800; /* inside device 0's window */
	EXPECT_FAIL(f, -EINVAL, "overlap");
	f->dev[2].base = 0xd0002000;
	f->dev[2].irq = 5;
	EXPECT_FAIL(f, -EINVAL, "share irq 5");
	f->dev[2].irq = 24;
	EXPECT_FAIL(f, -EINVAL, "not an I/O APIC pin");
	f->dev[2].irq = 4;
	EXPECT_FAIL(f, -EINVAL, "COM1");
	f->dev[2].irq = 12;
	EXPECT_FAIL(f, -EINVAL, "i8042");
	f->dev[2].irq = 9;
	EXPECT_FAIL(f, -EINVAL, "SCI");
	f->dev[2].irq = 0;
	EXPECT_FAIL(f, -EINVAL, "timer");
	f->dev[2].irq = 20;
	f->dev[2].base = 0x800000; /* guest RAM */
	EXPECT_FAIL(f, -EINVAL, "guest RAM");
	f->dev[2].base = 0xfec00000;
	EXPECT_FAIL(f, -EINVAL, "I/O APIC");
	f->dev[2].base = 0xfffff000;
	f->dev[2].size = 0x2000; /* past 4 GiB */
	EXPECT_FAIL(f, -EINVAL, "below 4 GiB");
	f->dev[2].base = 0xd0002000;
	f->dev[2].size = 0;
	EXPECT_FAIL(f, -EINVAL, "non-empty");
	f->dev[2].size = 0x200;
	f->dev[2].type = 7;
	EXPECT_FAIL(f, -EINVAL, "unknown type");
	f->dev[2].type = 0;
	f->dev[2].flags = 0x10;
	EXPECT_FAIL(f, -EINVAL, "unknown flags");
	f->dev[2].flags = 0;
	f->p.devices = NULL;
	EXPECT_FAIL(f, -EINVAL, "devices is NULL");
	f->p.devices = f->dev;
	f->p.nr_devices = HVABS_PLATFORM_MAX_DEVICES + 1;
	EXPECT_FAIL(f, -EINVAL, "at most");
	f->p.nr_devices = 3;
	/* without COM1 and the i8042 their IRQs are free */
	f->p.flags = 0;
	f->dev[2].irq = 4;
	assert_int_equal(build(f), 0);
	f->dev[2].irq = 12;
	assert_int_equal(build(f), 0);
}

/* A PCI host bridge the tables could not describe truthfully is refused with the reason. */
static void bad_pci_hosts(void **state)
{
	struct fx *f = *state;
	struct hvabs_acpi_pci_host h = {.ecam_base = 0xe0000000,
					.mmio32_base = 0xc0000000,
					.mmio32_size = 0x10000000,
					.mmio64_base = 0x8000000000,
					.mmio64_size = 0x1000000000};

	f->p.pci = &h;
	assert_int_equal(build(f), 0);
	h.ecam_base = 0xe0080000;
	EXPECT_FAIL(f, -EINVAL, "1 MiB aligned");
	h.ecam_base = 0xe0000000;
	h.bus_start = 2;
	h.bus_end = 1;
	EXPECT_FAIL(f, -EINVAL, "not a range");
	h.bus_start = 0;
	h.bus_end = 0;
	h.mmio32_base = 0xd0000000; /* the virtio-mmio windows */
	EXPECT_FAIL(f, -EINVAL, "overlaps device 0");
	h.mmio32_base = 0xe0000000;
	EXPECT_FAIL(f, -EINVAL, "overlap");
	h.mmio32_base = 0x100000; /* guest RAM */
	EXPECT_FAIL(f, -EINVAL, "guest RAM");
	h.mmio32_base = 0xfff00000;
	EXPECT_FAIL(f, -EINVAL, "above 4 GiB");
	h.mmio32_base = 0xc0000000;
	h.mmio32_size = 0;
	EXPECT_FAIL(f, -EINVAL, "empty");
	h.mmio32_size = 0x10000000;
	h.mmio64_base = 0xc8000000;
	EXPECT_FAIL(f, -EINVAL, "overlap");
}

static void bad_areas(void **state)
{
	struct fx *f = *state;

	f->rsdp = 0x1234;
	assert_int_equal(
	    hvabs_acpi_build(f->g.mem, &f->p, BASE + 8, 0x10000, &f->rsdp, f->err, sizeof(f->err)),
	    -EINVAL);
	assert_non_null(strstr(f->err, "aligned"));
	assert_int_equal(
	    hvabs_acpi_build(f->g.mem, &f->p, BASE, 0x100, &f->rsdp, f->err, sizeof(f->err)),
	    -ENOSPC);
	assert_non_null(strstr(f->err, "need"));
	assert_int_equal(hvabs_acpi_build(f->g.mem, &f->p, 16 * MIB - 0x100, 0x10000, &f->rsdp,
					  f->err, sizeof(f->err)),
			 -EFAULT);
	assert_non_null(strstr(f->err, "not guest RAM"));
	assert_int_equal(hvabs_acpi_build(f->g.mem, &f->p, BASE, 0x10000, NULL, NULL, 0), -EINVAL);
	assert_int_equal(hvabs_acpi_build(NULL, &f->p, BASE, 0x10000, &f->rsdp, NULL, 0), -EINVAL);
	assert_int_equal(hvabs_acpi_build(f->g.mem, NULL, BASE, 0x10000, &f->rsdp, NULL, 0),
			 -EINVAL);
	assert_int_equal(f->rsdp, 0x1234);
	/* the standalone check agrees, and works without a memory map */
	assert_int_equal(hvabs_platform_check(NULL, &f->p, NULL, 0), 0);
	f->dev[1].base = f->dev[0].base;
	assert_int_equal(hvabs_platform_check(NULL, &f->p, NULL, 0), -EINVAL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(rsdp_and_xsdt),  T(fadt_and_facs), T(fadt_without_i8042),	 T(madt),
	    T(madt_irq0_pin0), T(dsdt_devices),	 T(dsdt_without_legacy), T(many_cpus_and_devices),
	    T(bad_platforms),  T(bad_pci_hosts), T(bad_areas),
	};
	return cmocka_run_group_tests_name("loader.acpi", tests, NULL, NULL);
}
