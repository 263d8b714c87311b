/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ACPI tables through ACPICA's own tools (Debian package acpica-tools):
 * iasl disassembles each table and compiles the disassembly back, which must
 * give the same bytes; acpiexec loads the whole set into an ACPI namespace
 * and evaluates the device objects. Skips when the tools are not installed.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader_test.h"

struct fx {
	struct guest g;
	struct hvabs_acpi_device dev[2];
	struct hvabs_platform p;
	struct hvabs_acpi_pci_host pci;
	char dir[64];
};

static int in_path(const char *tool)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, tool);
		if (access(buf, X_OK) == 0)
			return 1;
		path = colon ? colon + 1 : NULL;
	}
	return 0;
}

/*
 * Without ACPICA's tools the case is skipped (an expected skip on a machine
 * without acpica-tools), unless HVABS_REQUIRE_ACPICA=1 (CI installs them)
 * makes that a failure.
 */
static void need_tool(const char *tool)
{
	const char *req = getenv("HVABS_REQUIRE_ACPICA");

	if (in_path(tool))
		return;
	if (req && !strcmp(req, "1"))
		fail_msg("%s is not in PATH but HVABS_REQUIRE_ACPICA=1", tool);
	print_message("%s is not in PATH (Debian: acpica-tools): skipped\n", tool);
	skip();
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint64_t rsdp;

	if (!f || guest_init(&f->g, 2 * MIB, 0))
		return -1;
	f->dev[0] = (struct hvabs_acpi_device){.base = 0xd0000000, .size = 0x1000, .irq = 5};
	f->dev[1] = (struct hvabs_acpi_device){
	    .base = 0xd0001000, .size = 0x1000, .irq = 16, .flags = HVABS_ACPI_DEV_LEVEL};
	f->p.nr_cpus = 2;
	f->p.flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042;
	f->p.devices = f->dev;
	f->p.nr_devices = 2;
	f->pci = (struct hvabs_acpi_pci_host){.ecam_base = 0xe0000000,
					      .mmio32_base = 0xc0000000,
					      .mmio32_size = 0x10000000,
					      .mmio64_base = 0x8000000000,
					      .mmio64_size = 0x8000000000,
					      .bus_end = 0};
	f->p.pci = &f->pci;
	if (hvabs_acpi_build(f->g.mem, &f->p, 0xe0000, 0x10000, &rsdp, NULL, 0))
		return -1;
	strcpy(f->dir, "/tmp/hvabs-iasl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
		return -1;
	guest_fini(&f->g);
	free(f);
	return 0;
}

static const uint8_t *table(struct fx *f, const char *sig)
{
	const uint8_t *xsdt = f->g.low + rd64(f->g.low + 0xe0000 + 24), *fadt = NULL;

	for (uint32_t i = 0; i < (rd32(xsdt + 4) - 36) / 8; i++) {
		const uint8_t *t = f->g.low + rd64(xsdt + 36 + 8 * i);

		if (!memcmp(t, sig, 4))
			return t;
		if (!memcmp(t, "FACP", 4))
			fadt = t;
	}
	if (!strcmp(sig, "XSDT"))
		return xsdt;
	assert_non_null(fadt);
	if (!strcmp(sig, "DSDT"))
		return f->g.low + rd32(fadt + 40);
	if (!strcmp(sig, "FACS"))
		return f->g.low + rd32(fadt + 36);
	return NULL;
}

static void dump(struct fx *f, const char *name, const uint8_t *t, size_t len)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.dat", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(t, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static int run(struct fx *f, const char *fmt, const char *arg)
{
	char cmd[512], inner[256];

	snprintf(inner, sizeof(inner), fmt, arg, arg);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", f->dir, inner);
	return system(cmd);
}

static size_t slurp(struct fx *f, const char *file, uint8_t *buf, size_t cap)
{
	char path[128];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("%s was not produced", path);
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

/* iasl -d, then compile the disassembly (no optimizations): the body must come back unchanged. */
static void round_trip(struct fx *f, const char *sig, const char *name)
{
	const uint8_t *t = table(f, sig);
	size_t len = rd32(t + 4), n;
	static uint8_t back[65536];
	char file[32];

	assert_non_null(t);
	dump(f, name, t, len);
	if (run(f, "iasl -d %s.dat > %s.dis.log 2>&1", name) != 0)
		fail_msg("iasl could not disassemble %s (see %s/%s.dis.log)", sig, f->dir, name);
	if (run(f, "iasl -oa %s.dsl > %s.asl.log 2>&1", name) != 0)
		fail_msg("iasl could not compile the disassembled %s", sig);
	snprintf(file, sizeof(file), "%s.aml", name);
	n = slurp(f, file, back, sizeof(back));
	assert_int_equal(n, len);
	/* iasl writes its own compiler ID and checksum in the header; the rest must match */
	assert_memory_equal(back, t, 9); /* signature, length, revision */
	assert_memory_equal(back + 36, t + 36, len - 36);
}

static void dsdt(void **state)
{
	struct fx *f = *state;

	need_tool("iasl");
	round_trip(f, "DSDT", "dsdt");
	assert_int_equal(run(f, "grep -q 'LNRO0005' %s.dsl", "dsdt"), 0);
	assert_int_equal(run(f,
			     "grep -q 'Interrupt (ResourceConsumer, Level, ActiveHigh, "
			     "Exclusive' %s.dsl",
			     "dsdt"),
			 0);
	assert_int_equal(run(f, "grep -q 'EisaId (\"PNP0501\")' %s.dsl", "dsdt"), 0);
}

/* The PCI host bridge: MCFG and the PNP0A08 device, as iasl reads them back. */
static void pci_host(void **state)
{
	struct fx *f = *state;

	if (!in_path("iasl"))
		skip();
	round_trip(f, "MCFG", "mcfg");
	assert_int_equal(run(f, "grep -q 'Base Address : 00000000E0000000' %s.dsl", "mcfg"), 0);
	assert_int_equal(run(f, "grep -q 'End Bus Number : 00' %s.dsl", "mcfg"), 0);
	round_trip(f, "DSDT", "dsdt");
	assert_int_equal(run(f, "grep -q 'EisaId (\"PNP0A08\")' %s.dsl", "dsdt"), 0);
	assert_int_equal(run(f, "grep -q 'EisaId (\"PNP0A03\")' %s.dsl", "dsdt"), 0);
	assert_int_equal(run(f, "grep -q 'WordBusNumber (ResourceProducer' %s.dsl", "dsdt"), 0);
	assert_int_equal(run(f, "grep -A6 DWordMemory %s.dsl | grep -q 0xCFFFFFFF", "dsdt"), 0);
	assert_int_equal(run(f, "grep -A6 QWordMemory %s.dsl | grep -q 0x000000FFFFFFFFFF", "dsdt"),
			 0);
	assert_int_equal(run(f, "grep -B3 -A8 PNP0C02 %s.dsl | grep -q 0x00100000", "dsdt"), 0);
}

static void data_tables(void **state)
{
	struct fx *f = *state;

	need_tool("iasl");
	round_trip(f, "FACP", "facp");
	round_trip(f, "APIC", "apic");
	round_trip(f, "XSDT", "xsdt");
	assert_int_equal(run(f, "grep -q 'Hardware Reduced (V5) : 0' %s.dsl", "facp"), 0);
	assert_int_equal(run(f, "grep -q 'Reset Register Supported (V2) : 1' %s.dsl", "facp"), 0);
}

/* acpiexec loads the tables into a namespace, checking checksums, and evaluates _CRS. */
static void namespace(void **state)
{
	struct fx *f = *state;
	const uint8_t *facs = table(f, "FACS");

	need_tool("acpiexec");
	dump(f, "facp", table(f, "FACP"), rd32(table(f, "FACP") + 4));
	dump(f, "apic", table(f, "APIC"), rd32(table(f, "APIC") + 4));
	dump(f, "dsdt", table(f, "DSDT"), rd32(table(f, "DSDT") + 4));
	dump(f, "facs", facs, rd32(facs + 4));
	assert_int_equal(run(f,
			     "acpiexec -b 'evaluate \\_SB.VR01._CRS; evaluate \\_SB.COM1._HID; "
			     "evaluate \\_S5; evaluate \\_SB.PCI0._CRS' facp.dat apic.dat dsdt.dat "
			     "facs.dat > %s.log 2>&1",
			     "acpiexec"),
			 0);
	assert_int_equal(
	    run(f, "grep -q 'AML tables successfully acquired and loaded' %s.log", "acpiexec"), 0);
	/* no complaint about our tables (checksums, lengths, FADT fields) */
	assert_int_not_equal(run(f, "grep -E 'ACPI (Error|Warning)|checksum' %s.log", "acpiexec"),
			     0);
	/* _CRS evaluates to our 23-byte template: memory window then interrupt 16 */
	assert_int_equal(
	    run(f, "grep -q '0000: 86 09 00 01 00 10 00 D0 00 10 00 00 89 06 00 01' %s.log",
		"acpiexec"),
	    0);
	assert_int_equal(run(f, "grep -q '0010: 01 10 00 00 00 79 00' %s.log", "acpiexec"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(dsdt, setup, teardown),
	    cmocka_unit_test_setup_teardown(data_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(pci_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(namespace, setup, teardown),
	};
	return cmocka_run_group_tests_name("loader.iasl", tests, NULL, NULL);
}
