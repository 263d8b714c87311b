/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AML encoder against hand-checked encodings (ACPI 6.4 §20.2, §6.4). The
 * expected bytes were worked out from the specification and cross-checked
 * with iasl 20200925 compiling the equivalent ASL with optimizations off.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aml.h"

static void expect(struct aml *a, const uint8_t *bytes, size_t n)
{
	assert_int_equal(a->err, 0);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, bytes, n);
	aml_fini(a);
	aml_init(a);
}

#define EXPECT(a, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t e_[] = {__VA_ARGS__};                                         \
		expect(a, e_, sizeof(e_));                                                         \
	} while (0)

static void integers(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_integer(&a, 0);
	EXPECT(&a, 0x00);
	aml_integer(&a, 1);
	EXPECT(&a, 0x01);
	aml_integer(&a, 2);
	EXPECT(&a, 0x0a, 0x02);
	aml_integer(&a, 0xff);
	EXPECT(&a, 0x0a, 0xff);
	aml_integer(&a, 0x100);
	EXPECT(&a, 0x0b, 0x00, 0x01);
	aml_integer(&a, 0xffff);
	EXPECT(&a, 0x0b, 0xff, 0xff);
	aml_integer(&a, 0x10000);
	EXPECT(&a, 0x0c, 0x00, 0x00, 0x01, 0x00);
	aml_integer(&a, 0xd0000000u);
	EXPECT(&a, 0x0c, 0x00, 0x00, 0x00, 0xd0);
	aml_integer(&a, 0x100000000ull);
	EXPECT(&a, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	aml_fini(&a);
}

static void names(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_namestring(&a, "VR00");
	EXPECT(&a, 'V', 'R', '0', '0');
	aml_namestring(&a, "_S5");
	EXPECT(&a, '_', 'S', '5', '_');
	aml_namestring(&a, "\\_SB_");
	EXPECT(&a, '\\', '_', 'S', 'B', '_');
	aml_namestring(&a, "\\");
	EXPECT(&a, '\\', 0x00);
	aml_namestring(&a, "^^FOO");
	EXPECT(&a, '^', '^', 'F', 'O', 'O', '_');
	aml_namestring(&a, "_SB_.PCI0");
	EXPECT(&a, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_namestring(&a, "\\_SB.PCI0.S08");
	EXPECT(&a, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_');
	aml_name(&a, "_HID");
	EXPECT(&a, 0x08, '_', 'H', 'I', 'D');
	aml_fini(&a);
}

static void bad_names_are_sticky(void **state)
{
	static const char *bad[] = {"vr00", "ABCDE", "_SB_.", "0ABC", ".ABC", "A-B"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml a;

		aml_init(&a);
		aml_namestring(&a, bad[i]);
		assert_int_equal(a.err, -EINVAL);
		/* later calls are no-ops, the first error stays */
		aml_integer(&a, 5);
		aml_string(&a, "\x80");
		assert_int_equal(a.err, -EINVAL);
		aml_fini(&a);
	}
}

static void strings_and_eisaid(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_string(&a, "LNRO0005");
	EXPECT(&a, 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
	aml_string(&a, "");
	EXPECT(&a, 0x0d, 0x00);
	aml_eisaid(&a, "PNP0501");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_eisaid(&a, "PNP0303");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x03, 0x03);
	aml_eisaid(&a, "PNP0A03");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	/* always a DWord, even when the value would fit in less */
	aml_eisaid(&a, "PNP0000");
	EXPECT(&a, 0x0c, 0x41, 0xd0, 0x00, 0x00);
	aml_eisaid(&a, "pnp0501");
	assert_int_equal(a.err, -EINVAL);
	aml_fini(&a);
	aml_init(&a);
	aml_eisaid(&a, "PNP050G");
	assert_int_equal(a.err, -EINVAL);
	aml_fini(&a);
	aml_init(&a);
	aml_string(&a, "caf\xc3\xa9");
	assert_int_equal(a.err, -EINVAL);
	aml_fini(&a);
}

static void pkglen_sizes(void **state)
{
	(void)state;
	assert_int_equal(aml_pkglen_size(0), 1);
	assert_int_equal(aml_pkglen_size(62), 1);
	assert_int_equal(aml_pkglen_size(63), 2);
	assert_int_equal(aml_pkglen_size(4093), 2);
	assert_int_equal(aml_pkglen_size(4094), 3);
	assert_int_equal(aml_pkglen_size(1048572), 3);
	assert_int_equal(aml_pkglen_size(1048573), 4);
	assert_int_equal(aml_pkglen_size(0x0ffffffbu), 4);
	assert_int_equal(aml_pkglen_size(0x0ffffffcu), 0);
}

/* A scope over \ with @p filler bytes of body: checks the PkgLength encoding in place. */
static void scope_with(size_t filler, const uint8_t *head, size_t headlen)
{
	struct aml a;
	uint8_t *fill = calloc(1, filler);
	size_t mark;

	assert_non_null(fill);
	aml_init(&a);
	mark = aml_scope_begin(&a, "\\");
	aml_bytes(&a, fill, filler);
	aml_end(&a, mark);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, headlen + 2 + filler);
	assert_memory_equal(a.buf, head, headlen);
	assert_int_equal(a.buf[headlen], '\\');
	assert_int_equal(a.buf[headlen + 1], 0);
	aml_fini(&a);
	free(fill);
}

static void pkglen_encodings(void **state)
{
	struct aml a;
	size_t m;

	(void)state;
	/* body 62 (name 2 + 60): one byte, 63 */
	scope_with(60, (const uint8_t[]){0x10, 0x3f}, 2);
	/* body 63: two bytes, total 65 = 0x41 -> 0x41 0x04 */
	scope_with(61, (const uint8_t[]){0x10, 0x41, 0x04}, 3);
	/* body 4094: three bytes, total 4097 = 0x1001 -> 0x81 0x00 0x01 */
	scope_with(4092, (const uint8_t[]){0x10, 0x81, 0x00, 0x01}, 4);
	/* body 1048573: four bytes, total 0x100001 -> 0xc1 0x00 0x00 0x01 */
	scope_with(1048571, (const uint8_t[]){0x10, 0xc1, 0x00, 0x00, 0x01}, 5);
	/* Package (4) {5, 0, 0, 0}, as \_S5 has it */
	aml_init(&a);
	m = aml_package_begin(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a, m);
	EXPECT(&a, 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00);
	/* a mark past the end is refused */
	aml_end(&a, 100);
	assert_int_equal(a.err, -EINVAL);
	aml_fini(&a);
}

static void resources(void **state)
{
	struct aml r, a;

	(void)state;
	aml_init(&r);
	aml_res_memory32_fixed(&r, 1, 0xd0000000u, 0x1000);
	EXPECT(&r, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00);
	aml_res_memory32_fixed(&r, 0, 0xfed00000u, 0x400);
	EXPECT(&r, 0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xfe, 0x00, 0x04, 0x00, 0x00);
	/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {5} */
	aml_res_interrupt(&r, 1, 1, 0, 0, 5);
	EXPECT(&r, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00);
	/* Interrupt (ResourceConsumer, Level, ActiveLow, Shared) {23} */
	aml_res_interrupt(&r, 1, 0, 1, 1, 23);
	EXPECT(&r, 0x89, 0x06, 0x00, 0x0d, 0x01, 0x17, 0x00, 0x00, 0x00);
	aml_res_io(&r, 0x3f8, 0x3f8, 0, 8);
	EXPECT(&r, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08);
	aml_res_irq_noflags(&r, 1u << 4);
	EXPECT(&r, 0x22, 0x10, 0x00);
	/* ResourceTemplate () { IO (Decode16, 0x3f8, 0x3f8, 0, 8) IRQNoFlags () {4} } */
	aml_res_io(&r, 0x3f8, 0x3f8, 0, 8);
	aml_res_irq_noflags(&r, 1u << 4);
	aml_init(&a);
	aml_resource_template(&a, &r);
	EXPECT(&a, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22,
	       0x10, 0x00, 0x79, 0x00);
	aml_fini(&a);
	aml_fini(&r);
}

/* Device (VR00) as QEMU microvm and Firecracker describe virtio-mmio, whole. */
static void virtio_device(void **state)
{
	struct aml a, r;
	size_t dev;

	(void)state;
	aml_init(&a);
	aml_init(&r);
	dev = aml_device_begin(&a, "VR00");
	aml_name(&a, "_HID");
	aml_string(&a, "LNRO0005");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_name(&a, "_CCA");
	aml_integer(&a, 1);
	aml_res_memory32_fixed(&r, 1, 0xd0000000u, 0x1000);
	aml_res_interrupt(&r, 1, 1, 0, 0, 5);
	aml_name(&a, "_CRS");
	aml_resource_template(&a, &r);
	aml_end(&a, dev);
	EXPECT(&a, 0x5b, 0x82, 0x41, 0x04, 'V', 'R', '0', '0', /* Device, 65 */
	       0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00, /**/
	       0x08, '_', 'U', 'I', 'D', 0x00,			 /* _UID Zero */
	       0x08, '_', 'C', 'C', 'A', 0x01,			 /* _CCA One */
	       0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17, /* Buffer 23 */
	       0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00, /**/
	       0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00);
	aml_fini(&a);
	aml_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(integers),
	    cmocka_unit_test(names),
	    cmocka_unit_test(bad_names_are_sticky),
	    cmocka_unit_test(strings_and_eisaid),
	    cmocka_unit_test(pkglen_sizes),
	    cmocka_unit_test(pkglen_encodings),
	    cmocka_unit_test(resources),
	    cmocka_unit_test(virtio_device),
	};
	return cmocka_run_group_tests_name("loader.aml", tests, NULL, NULL);
}
