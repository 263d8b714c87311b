/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit.cow-table: the copy-on-write sorted table behind the buses, the
 * memory map and the fallback ioeventfds (core/cow_table.h): order, equal
 * keys, bounds, range lookup and overlap, removal, snapshots that never
 * change under a reader, and a reader racing a writer.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cow_table.h"

static int items[8];

static void keys_are(const struct cow_snap *s, const uint64_t *keys, const int *const *its,
		     size_t n)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->e[i].key, keys[i]);
		assert_ptr_equal(s->e[i].item, its[i]);
	}
}

static void sorted_with_equal_keys_in_order(void **state)
{
	struct cow_table t;

	(void)state;
	assert_int_equal(cow_table_init(&t), 0);
	assert_int_equal(cow_table_snap(&t)->n, 0);
	assert_null(cow_snap_floor(cow_table_snap(&t), 0));
	assert_int_equal(cow_table_insert(&t, 30, 30, &items[0]), 0);
	assert_int_equal(cow_table_insert(&t, 10, 10, &items[1]), 0);
	assert_int_equal(cow_table_insert(&t, 20, 20, &items[2]), 0);
	assert_int_equal(cow_table_insert(&t, 20, 20, &items[3]), 0);
	assert_int_equal(cow_table_insert(&t, UINT64_MAX, UINT64_MAX, &items[4]), 0);
	static const uint64_t k[] = {10, 20, 20, 30, UINT64_MAX};
	const int *const it[] = {&items[1], &items[2], &items[3], &items[0], &items[4]};
	keys_are(cow_table_snap(&t), k, it, 5);
	cow_table_fini(&t);
}

static void bounds_and_floor(void **state)
{
	struct cow_table t;

	(void)state;
	assert_int_equal(cow_table_init(&t), 0);
	assert_int_equal(cow_table_insert(&t, 0x100, 0x100, &items[0]), 0);
	assert_int_equal(cow_table_insert(&t, 0x200, 0x200, &items[1]), 0);
	assert_int_equal(cow_table_insert(&t, 0x200, 0x200, &items[2]), 0);
	const struct cow_snap *s = cow_table_snap(&t);
	assert_null(cow_snap_floor(s, 0xff));
	assert_ptr_equal(cow_snap_floor(s, 0x100)->item, &items[0]);
	assert_ptr_equal(cow_snap_floor(s, 0x1ff)->item, &items[0]);
	assert_ptr_equal(cow_snap_floor(s, 0x200)->item, &items[2]); /* the last of equals */
	assert_ptr_equal(cow_snap_floor(s, UINT64_MAX)->item, &items[2]);
	assert_int_equal(cow_snap_lower(s, 0x200), 1);
	assert_int_equal(cow_snap_upper(s, 0x200), 3);
	assert_int_equal(cow_snap_lower(s, 0x150), 1);
	assert_int_equal(cow_snap_upper(s, 0x150), 1);
	assert_int_equal(cow_snap_lower(s, 0), 0);
	assert_int_equal(cow_snap_lower(s, 0x201), 3);
	cow_table_fini(&t);
}

static void remove_by_item(void **state)
{
	struct cow_table t;

	(void)state;
	assert_int_equal(cow_table_init(&t), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cow_table_insert(&t, 5, 5, &items[i]), 0);
	assert_int_equal(cow_table_remove(&t, &items[2]), 0);
	assert_int_equal(cow_table_remove(&t, &items[2]), -ENOENT);
	assert_int_equal(cow_table_remove(&t, &items[7]), -ENOENT);
	static const uint64_t k[] = {5, 5, 5};
	const int *const it[] = {&items[0], &items[1], &items[3]};
	keys_are(cow_table_snap(&t), k, it, 3);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			assert_int_equal(cow_table_remove(&t, &items[i]), 0);
	assert_int_equal(cow_table_snap(&t)->n, 0);
	cow_table_fini(&t);
}

/* Ranges [0x1000, 0x1fff] and [0x3000, 0x3000]: what holds an address, what overlaps a range. */
static void ranges(void **state)
{
	struct cow_table t;

	(void)state;
	assert_int_equal(cow_table_init(&t), 0);
	assert_int_equal(cow_table_insert(&t, 0x3000, 0x3000, &items[1]), 0);
	assert_int_equal(cow_table_insert(&t, 0x1000, 0x1fff, &items[0]), 0);
	const struct cow_snap *s = cow_table_snap(&t);
	assert_null(cow_snap_find(s, 0xfff));
	assert_ptr_equal(cow_snap_find(s, 0x1000)->item, &items[0]);
	assert_ptr_equal(cow_snap_find(s, 0x1fff)->item, &items[0]);
	assert_null(cow_snap_find(s, 0x2000));
	assert_ptr_equal(cow_snap_find(s, 0x3000)->item, &items[1]);
	assert_null(cow_snap_find(s, 0x3001));
	assert_null(cow_snap_find(s, UINT64_MAX));
	assert_null(cow_snap_overlap(s, 0x2000, 0x2fff)); /* the gap between them */
	assert_null(cow_snap_overlap(s, 0, 0xfff));
	assert_ptr_equal(cow_snap_overlap(s, 0x1fff, 0x2000)->item, &items[0]);
	assert_ptr_equal(cow_snap_overlap(s, 0, UINT64_MAX)->item, &items[1]);
	assert_ptr_equal(cow_snap_overlap(s, 0x2800, 0x3000)->item, &items[1]);
	assert_ptr_equal(cow_snap_overlap(s, 0x1800, 0x1800)->item, &items[0]);
	cow_table_fini(&t);
}

/* A reader's snapshot stays as it was, whatever writers publish after it. */
static void snapshots_never_change(void **state)
{
	struct cow_table t;

	(void)state;
	assert_int_equal(cow_table_init(&t), 0);
	assert_int_equal(cow_table_insert(&t, 1, 1, &items[0]), 0);
	assert_int_equal(cow_table_insert(&t, 2, 2, &items[1]), 0);
	const struct cow_snap *before = cow_table_snap(&t);
	assert_int_equal(cow_table_insert(&t, 0, 0, &items[2]), 0);
	const struct cow_snap *mid = cow_table_snap(&t);
	assert_int_equal(cow_table_remove(&t, &items[0]), 0);
	static const uint64_t k[] = {1, 2};
	const int *const it[] = {&items[0], &items[1]};
	keys_are(before, k, it, 2);
	static const uint64_t k1[] = {0, 1, 2};
	const int *const it1[] = {&items[2], &items[0], &items[1]};
	keys_are(mid, k1, it1, 3);
	static const uint64_t k2[] = {0, 2};
	const int *const it2[] = {&items[2], &items[1]};
	keys_are(cow_table_snap(&t), k2, it2, 2);
	assert_ptr_not_equal(cow_table_snap(&t), before);
	cow_table_fini(&t);
}

/*
 * A reader checks every snapshot it takes while a writer inserts and removes:
 * each is sorted and holds only pairs that were inserted together.
 */
#define RACE_ROUNDS 2000
static int race_items[64];

struct race {
	struct cow_table t;
	atomic_int done;
	int bad;
};

static void *reader(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->done)) {
		const struct cow_snap *s = cow_table_snap(&r->t);
		for (size_t i = 0; i < s->n; i++) {
			const int *p = s->e[i].item;
			if ((i && s->e[i - 1].key > s->e[i].key) ||
			    s->e[i].key != (uint64_t)(p - race_items) * 16)
				r->bad++;
		}
	}
	return NULL;
}

static void reader_races_writer(void **state)
{
	static struct race r;
	pthread_t th;

	(void)state;
	assert_int_equal(cow_table_init(&r.t), 0);
	assert_int_equal(pthread_create(&th, NULL, reader, &r), 0);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		int i = (round * 37) % 64;
		if (cow_table_remove(&r.t, &race_items[i]) == -ENOENT)
			assert_int_equal(cow_table_insert(&r.t, (uint64_t)i * 16, (uint64_t)i * 16,
							  &race_items[i]),
					 0);
	}
	atomic_store(&r.done, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.bad, 0);
	cow_table_fini(&r.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sorted_with_equal_keys_in_order),
	    cmocka_unit_test(bounds_and_floor),
	    cmocka_unit_test(ranges),
	    cmocka_unit_test(remove_by_item),
	    cmocka_unit_test(snapshots_never_change),
	    cmocka_unit_test(reader_races_writer),
	};
	return cmocka_run_group_tests_name("unit.cow-table", tests, NULL, NULL);
}
