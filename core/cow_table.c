/* SPDX-License-Identifier: Apache-2.0 */
/* The copy-on-write sorted table (cow_table.h). */
#include <errno.h>
#include <stdlib.h>

#include "cow_table.h"

static struct cow_snap *snap_alloc(size_t n)
{
	return calloc(1, sizeof(struct cow_snap) + n * sizeof(struct cow_entry));
}

int cow_table_init(struct cow_table *t)
{
	struct cow_snap *s = snap_alloc(0);

	if (!s)
		return -ENOMEM;
	atomic_init(&t->cur, s);
	return 0;
}

void cow_table_fini(struct cow_table *t)
{
	struct cow_snap *s = atomic_exchange(&t->cur, NULL);

	while (s) {
		struct cow_snap *o = s->older;
		free(s);
		s = o;
	}
}

/* Makes @p s current; the old one joins the retired chain behind it. */
static void publish(struct cow_table *t, struct cow_snap *s, struct cow_snap *old)
{
	s->older = old;
	atomic_store_explicit(&t->cur, s, memory_order_release);
}

int cow_table_insert(struct cow_table *t, uint64_t key, uint64_t last, void *item)
{
	struct cow_snap *old = atomic_load_explicit(&t->cur, memory_order_relaxed);
	struct cow_snap *s = snap_alloc(old->n + 1);

	if (!s)
		return -ENOMEM;
	size_t at = cow_snap_upper(old, key);
	for (size_t i = 0; i < at; i++)
		s->e[i] = old->e[i];
	s->e[at] = (struct cow_entry){key, last, item};
	for (size_t i = at; i < old->n; i++)
		s->e[i + 1] = old->e[i];
	s->n = old->n + 1;
	publish(t, s, old);
	return 0;
}

int cow_table_remove(struct cow_table *t, const void *item)
{
	struct cow_snap *old = atomic_load_explicit(&t->cur, memory_order_relaxed);
	size_t at = 0;

	while (at < old->n && old->e[at].item != item)
		at++;
	if (at == old->n)
		return -ENOENT;
	struct cow_snap *s = snap_alloc(old->n - 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0, j = 0; i < old->n; i++)
		if (i != at)
			s->e[j++] = old->e[i];
	s->n = old->n - 1;
	publish(t, s, old);
	return 0;
}

/* Binary search: the first entry whose key is above @p key (or, !@p upper, not below it). */
static size_t bound(const struct cow_snap *s, uint64_t key, int upper)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->e[mid].key < key || (upper && s->e[mid].key == key))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t cow_snap_upper(const struct cow_snap *s, uint64_t key)
{
	return bound(s, key, 1);
}

size_t cow_snap_lower(const struct cow_snap *s, uint64_t key)
{
	return bound(s, key, 0);
}
