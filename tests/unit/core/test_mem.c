/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory map: regions, bounds and overflow checks, LE accessors, dirty tracking. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/mem.h>

struct fx {
	struct hvabs_mem *mem;
	uint8_t *a, *b;
};

/* Two regions with a hole between them: [0x0, 0x10000) and [0x20000, 0x30000). */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->a = calloc(1, 0x10000);
	f->b = calloc(1, 0x10000);
	if (hvabs_mem_create(&f->mem) || hvabs_mem_add_region(f->mem, 0, 0x10000, f->a, 0) ||
	    hvabs_mem_add_region(f->mem, 0x20000, 0x10000, f->b, 0))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_mem_destroy(f->mem);
	free(f->a);
	free(f->b);
	free(f);
	return 0;
}

static void add_region_rules(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];

	assert_int_equal(hvabs_mem_add_region(f->mem, 0xffff, 2, buf, 0), -EEXIST);
	assert_int_equal(hvabs_mem_add_region(f->mem, 0x1ffff, 2, buf, 0), -EEXIST);
	assert_int_equal(hvabs_mem_add_region(f->mem, 0x30000 - 1, 1, buf, 0), -EEXIST);
	assert_int_equal(hvabs_mem_add_region(f->mem, 0x40000, 0, buf, 0), -EINVAL);
	assert_int_equal(hvabs_mem_add_region(f->mem, 0x40000, 16, NULL, 0), -EINVAL);
	assert_int_equal(hvabs_mem_add_region(f->mem, UINT64_MAX - 4, 16, buf, 0), -EINVAL);
	/* touching but not overlapping is fine, and the map stays sorted */
	assert_int_equal(hvabs_mem_add_region(f->mem, 0x10000, 16, buf, 0), 0);
	assert_int_equal(hvabs_mem_region_count(f->mem), 3);
	struct hvabs_mem_region r;
	assert_int_equal(hvabs_mem_region_get(f->mem, 1, &r), 0);
	assert_int_equal(r.gpa, 0x10000);
	assert_int_equal(hvabs_mem_region_get(f->mem, 3, &r), -ERANGE);
	assert_int_equal(hvabs_mem_remove_region(f->mem, 0x10000), 0);
	assert_int_equal(hvabs_mem_remove_region(f->mem, 0x10000), -ENOENT);
	assert_int_equal(hvabs_mem_region_count(f->mem), 2);
}

static void ptr_bounds(void **state)
{
	struct fx *f = *state;

	assert_ptr_equal(hvabs_mem_ptr(f->mem, 0, 0x10000), f->a);
	assert_ptr_equal(hvabs_mem_ptr(f->mem, 0xfff0, 16), f->a + 0xfff0);
	assert_null(hvabs_mem_ptr(f->mem, 0xfff0, 17));		 /* runs into the hole */
	assert_null(hvabs_mem_ptr(f->mem, 0x10000, 1));		 /* in the hole */
	assert_null(hvabs_mem_ptr(f->mem, 0x2ffff, 2));		 /* past the end */
	assert_null(hvabs_mem_ptr(f->mem, UINT64_MAX, 2));	 /* wraps */
	assert_null(hvabs_mem_ptr(f->mem, 0x20000, UINT64_MAX)); /* wraps */
	assert_ptr_equal(hvabs_mem_ptr(f->mem, 0x2ffff, 0), f->b + 0xffff);
	struct hvabs_mem_region r;
	assert_int_equal(hvabs_mem_region_at(f->mem, 0x2abcd, &r), 0);
	assert_int_equal(r.gpa, 0x20000);
	assert_int_equal(hvabs_mem_region_at(f->mem, 0x1abcd, &r), -EFAULT);
}

static void read_write_checked(void **state)
{
	struct fx *f = *state;
	uint8_t buf[32], pat[32];

	for (int i = 0; i < 32; i++)
		pat[i] = (uint8_t)(i + 1);
	assert_int_equal(hvabs_mem_write(f->mem, 0x100, pat, 32), 0);
	assert_memory_equal(f->a + 0x100, pat, 32);
	assert_int_equal(hvabs_mem_read(f->mem, 0x100, buf, 32), 0);
	assert_memory_equal(buf, pat, 32);
	/* A write that would cross into the hole changes nothing at all. */
	memset(f->a + 0xfff0, 0xaa, 16);
	assert_int_equal(hvabs_mem_write(f->mem, 0xfff0, pat, 32), -EFAULT);
	for (int i = 0; i < 16; i++)
		assert_int_equal(f->a[0xfff0 + i], 0xaa);
	assert_int_equal(hvabs_mem_read(f->mem, 0x2fff0, buf, 17), -EFAULT);
	assert_int_equal(hvabs_mem_read(f->mem, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(hvabs_mem_read(f->mem, 0x10, buf, 0), 0);
	assert_int_equal(hvabs_mem_fill(f->mem, 0x20010, 0x5c, 4), 0);
	assert_int_equal(f->b[0x13], 0x5c);
	assert_int_equal(f->b[0x14], 0);
}

static void spans_adjacent_regions(void **state)
{
	struct fx *f = *state;
	uint8_t *c = calloc(1, 0x1000);
	uint8_t buf[8];

	assert_int_equal(hvabs_mem_add_region(f->mem, 0x10000, 0x1000, c, 0), 0);
	assert_int_equal(hvabs_mem_write(f->mem, 0xfffc, "abcdefgh", 8), 0);
	assert_memory_equal(f->a + 0xfffc, "abcd", 4);
	assert_memory_equal(c, "efgh", 4);
	assert_int_equal(hvabs_mem_read(f->mem, 0xfffc, buf, 8), 0);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* ptr() never spans regions, even adjacent ones */
	assert_null(hvabs_mem_ptr(f->mem, 0xfffc, 8));
	assert_int_equal(hvabs_mem_remove_region(f->mem, 0x10000), 0);
	free(c);
}

static void le_accessors(void **state)
{
	struct fx *f = *state;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	assert_int_equal(hvabs_mem_write_u64(f->mem, 0x200, 0x0102030405060708ull), 0);
	assert_int_equal(f->a[0x200], 0x08);
	assert_int_equal(f->a[0x207], 0x01);
	assert_int_equal(hvabs_mem_read_u16(f->mem, 0x200, &v16), 0);
	assert_int_equal(v16, 0x0708);
	assert_int_equal(hvabs_mem_read_u32(f->mem, 0x204, &v32), 0);
	assert_int_equal(v32, 0x01020304);
	assert_int_equal(hvabs_mem_write_u32(f->mem, 0x300, 0xa1b2c3d4), 0);
	assert_int_equal(hvabs_mem_write_u16(f->mem, 0x304, 0xbeef), 0);
	assert_int_equal(hvabs_mem_read_u64(f->mem, 0x300, &v64), 0);
	assert_int_equal(v64, 0x0000beefa1b2c3d4ull);
	v32 = 7;
	assert_int_equal(hvabs_mem_read_u32(f->mem, 0xfffe, &v32), -EFAULT);
	assert_int_equal(v32, 7); /* out-param untouched on failure */
	assert_int_equal(hvabs_mem_write_u64(f->mem, 0x2fffc, 1), -EFAULT);
}

static void dirty_tracking(void **state)
{
	struct fx *f = *state;
	uint64_t bm[1] = {0};

	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0, bm, 1), -EINVAL); /* off */
	assert_int_equal(hvabs_mem_track_dirty(f->mem, 1), 0);
	assert_int_equal(hvabs_mem_write_u32(f->mem, 0x1ffe, 1), 0); /* pages 1 and 2 */
	assert_int_equal(hvabs_mem_fill(f->mem, 0x5000, 0, 1), 0);   /* page 5 */
	hvabs_mem_mark_dirty(f->mem, 0xf000, 1);		     /* page 15 */
	uint8_t x;
	assert_int_equal(hvabs_mem_read(f->mem, 0x7000, &x, 1), 0); /* reads do not count */
	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0, bm, 1), 0);
	assert_int_equal(bm[0], (1ull << 1) | (1ull << 2) | (1ull << 5) | (1ull << 15));
	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0, bm, 1), 0); /* fetch clears */
	assert_int_equal(bm[0], 0);
	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0, bm, 0), -ENOSPC);
	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0x1000, bm, 1), -ENOENT);
	assert_int_equal(hvabs_mem_track_dirty(f->mem, 0), 0);
	assert_int_equal(hvabs_mem_write_u32(f->mem, 0x1000, 1), 0);
	assert_int_equal(hvabs_mem_get_dirty(f->mem, 0, bm, 1), -EINVAL);
}

/* Readers keep working while another thread adds and removes regions. */
struct churn {
	struct hvabs_mem *mem;
	int stop;
	uint8_t *buf;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < 2000; i++) {
		if (hvabs_mem_add_region(c->mem, 0x100000, 0x1000, c->buf, 0) ||
		    hvabs_mem_remove_region(c->mem, 0x100000))
			return (void *)1;
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void concurrent_lookup(void **state)
{
	struct fx *f = *state;
	struct churn c = {.mem = f->mem, .buf = calloc(1, 0x1000)};
	pthread_t t;
	void *ret;

	f->a[0x42] = 0x99;
	assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
	while (!__atomic_load_n(&c.stop, __ATOMIC_ACQUIRE)) {
		uint8_t v = 0;
		assert_int_equal(hvabs_mem_read(f->mem, 0x42, &v, 1), 0);
		assert_int_equal(v, 0x99);
		assert_non_null(hvabs_mem_ptr(f->mem, 0x20000, 16));
	}
	pthread_join(t, &ret);
	assert_null(ret);
	free(c.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(add_region_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(ptr_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(read_write_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(spans_adjacent_regions, setup, teardown),
	    cmocka_unit_test_setup_teardown(le_accessors, setup, teardown),
	    cmocka_unit_test_setup_teardown(dirty_tracking, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_lookup, setup, teardown),
	};
	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
