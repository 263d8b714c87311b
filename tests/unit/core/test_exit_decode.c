/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs_exit_access_count()/hvabs_exit_access_element(): an exit decoded as the run loop sees it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/vcpu.h>

static struct hvabs_exit access(uint32_t kind, uint64_t addr, uint32_t size, uint32_t count,
				uint8_t *data)
{
	struct hvabs_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.u.io.addr = addr;
	e.u.io.size = size;
	e.u.io.count = count;
	e.u.io.is_write = 1;
	e.u.io.data = data;
	return e;
}

/* REP OUTSW: three words to one port, in order, little-endian. */
static void port_string(void **state)
{
	uint8_t data[6] = {0x34, 0x12, 0x78, 0x56, 0xbc, 0x9a};
	struct hvabs_exit e = access(HVABS_EXIT_IO, 0x3f8, 2, 3, data);
	struct hvabs_exit_element el;

	(void)state;
	assert_int_equal(hvabs_exit_access_count(&e), 3);
	assert_int_equal(hvabs_exit_access_element(&e, 2, &el), 0);
	assert_int_equal(el.addr, 0x3f8);
	assert_int_equal(el.value, 0x9abc);
	assert_int_equal(el.size, 2);
	assert_int_equal(el.is_write, 1);
	memset(&el, 0xee, sizeof(el));
	assert_int_equal(hvabs_exit_access_element(&e, 3, &el), -EINVAL);
	assert_int_equal(el.size, 0xeeeeeeee);
}

/* MMIO string accesses step by the size, downwards with DF set; count 0 means one. */
static void mmio_string_and_df(void **state)
{
	uint8_t data[8] = {1, 0, 0, 0, 2, 0, 0, 0};
	struct hvabs_exit e = access(HVABS_EXIT_MMIO, 0xd0000100, 4, 2, data);
	struct hvabs_exit_element el;

	(void)state;
	e.u.mmio.is_write = 0;
	assert_int_equal(hvabs_exit_access_element(&e, 1, &el), 0);
	assert_int_equal(el.addr, 0xd0000104);
	assert_int_equal(el.value, 2);
	assert_int_equal(el.is_write, 0);
	e.u.mmio.df = 1;
	assert_int_equal(hvabs_exit_access_element(&e, 1, &el), 0);
	assert_int_equal(el.addr, 0xd00000fc);
	e.u.mmio.count = 0;
	assert_int_equal(hvabs_exit_access_count(&e), 1);
}

/* What the run loop refuses, and other kinds, have no elements. */
static void refused(void **state)
{
	uint8_t data[8] = {0};
	struct hvabs_exit_element el;
	struct hvabs_exit e = access(HVABS_EXIT_IO, 0x60, 3, 1, data);

	(void)state;
	assert_int_equal(hvabs_exit_access_count(&e), 0);
	assert_int_equal(hvabs_exit_access_element(&e, 0, &el), -EINVAL);
	e = access(HVABS_EXIT_IO, 0x60, 1, 1, NULL);
	assert_int_equal(hvabs_exit_access_count(&e), 0);
	e = access(HVABS_EXIT_IO, 0x60, 1, (1u << 20) + 1, data);
	assert_int_equal(hvabs_exit_access_count(&e), 0);
	e = access(HVABS_EXIT_HLT, 0x60, 1, 1, data);
	assert_int_equal(hvabs_exit_access_count(&e), 0);
	assert_int_equal(hvabs_exit_access_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(port_string),
	    cmocka_unit_test(mmio_string_and_df),
	    cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
