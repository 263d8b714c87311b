/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A copy-on-write sorted table of address ranges [key, last] and their
 * items, for lookups on hot
 * paths that must take no lock: the PIO and MMIO buses, the guest memory
 * map, the fallback ioeventfds. Readers take the current snapshot with an
 * acquire load and search it; it never changes under them. Writers (the
 * caller serialises them with its own lock) copy the snapshot with one pair
 * added or removed and publish the copy with a release store. Retired
 * snapshots are kept until cow_table_fini(), so a reader never sees freed
 * memory: the tables change a handful of times in a VM's life.
 *
 * The table owns its snapshots, never the items. Internal to libhvabs.
 */
#ifndef HVABS_CORE_COW_TABLE_H
#define HVABS_CORE_COW_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cow_entry {
	uint64_t key;  /* the range's first address */
	uint64_t last; /* its last address (key for a single address) */
	void *item;
};

/* One immutable version of the table: entries sorted by key, equal keys in insertion order. */
struct cow_snap {
	size_t n;
	struct cow_snap *older; /* the retired snapshots, newest first */
	struct cow_entry e[];
};

struct cow_table {
	_Atomic(struct cow_snap *) cur;
};

/* An empty table: 0 or -ENOMEM. */
int cow_table_init(struct cow_table *t);
/* Frees every snapshot (not the items). No reader may run any more. */
void cow_table_fini(struct cow_table *t);

/* Publishes a copy with [@p key, @p last] -> @p item added after any equal key: 0 or -ENOMEM. */
int cow_table_insert(struct cow_table *t, uint64_t key, uint64_t last, void *item);
/* Publishes a copy without @p item's entry: 0, -ENOENT or -ENOMEM. */
int cow_table_remove(struct cow_table *t, const void *item);

/* The current snapshot, for a reader (any thread, no lock). */
static inline const struct cow_snap *cow_table_snap(const struct cow_table *t)
{
	return atomic_load_explicit(&((struct cow_table *)t)->cur, memory_order_acquire);
}

/* Index of the first entry whose key is greater than @p key (s->n if none). */
size_t cow_snap_upper(const struct cow_snap *s, uint64_t key);
/* Index of the first entry whose key is @p key or greater (s->n if none). */
size_t cow_snap_lower(const struct cow_snap *s, uint64_t key);

/* The last entry whose key is @p key or less, or NULL: the range lookup's candidate. */
static inline const struct cow_entry *cow_snap_floor(const struct cow_snap *s, uint64_t key)
{
	size_t i = cow_snap_upper(s, key);

	return i ? &s->e[i - 1] : NULL;
}

/*
 * For tables whose ranges never overlap (buses, the memory map): the entry
 * whose range holds @p addr, or NULL.
 */
static inline const struct cow_entry *cow_snap_find(const struct cow_snap *s, uint64_t addr)
{
	const struct cow_entry *e = cow_snap_floor(s, addr);

	return e && addr <= e->last ? e : NULL;
}

/*
 * For the same tables: an entry that overlaps [@p first, @p last], or NULL.
 * Only the last range starting at or below @p last can, as none overlap.
 */
static inline const struct cow_entry *cow_snap_overlap(const struct cow_snap *s, uint64_t first,
						       uint64_t last)
{
	const struct cow_entry *e = cow_snap_floor(s, last);

	return e && e->last >= first ? e : NULL;
}

#endif
