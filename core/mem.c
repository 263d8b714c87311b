/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory map. Readers (vCPU threads, the event loop) look regions up
 * without a lock in a copy-on-write table of the regions by guest-physical
 * address (cow_table.h). Its old snapshots and removed regions are kept
 * until the map is destroyed, so a reader never sees freed memory: memory
 * regions change a handful of times in a VM's life, so this costs little.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

struct region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint32_t flags;
	/* VMM-side dirty bitmap: allocated on first use and kept until destroy,
	 * so a writer racing with hvabs_mem_track_dirty() never sees it freed. */
	_Atomic(_Atomic uint64_t *) dirty;
	atomic_int tracking;
	struct region *next_all;
};

struct hvabs_mem {
	struct cow_table regions; /* struct region by gpa */
	pthread_mutex_t wlock;
	struct region *all;
	int tracking;
};

int hvabs_mem_create(struct hvabs_mem **out)
{
	struct hvabs_mem *m = calloc(1, sizeof(*m));

	if (!m || cow_table_init(&m->regions)) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->wlock, NULL);
	*out = m;
	return 0;
}

void hvabs_mem_destroy(struct hvabs_mem *m)
{
	if (!m)
		return;
	cow_table_fini(&m->regions);
	struct region *r = m->all;
	while (r) {
		struct region *n = r->next_all;
		free((void *)atomic_load(&r->dirty));
		free(r);
		r = n;
	}
	pthread_mutex_destroy(&m->wlock);
	free(m);
}

static const struct cow_snap *cur(const struct hvabs_mem *m)
{
	return cow_table_snap(&m->regions);
}

/* The region holding @p gpa, or NULL. */
static struct region *find(const struct cow_snap *s, uint64_t gpa)
{
	const struct cow_entry *e = cow_snap_find(s, gpa);

	return e ? e->item : NULL;
}

static size_t bitmap_words(uint64_t size)
{
	uint64_t pages = (size + HVABS_PAGE_SIZE - 1) / HVABS_PAGE_SIZE;
	return (size_t)((pages + 63) / 64);
}

int hvabs_mem_add_region(struct hvabs_mem *m, uint64_t gpa, uint64_t size, void *hva,
			 uint32_t flags)
{
	if (!m || !size || !hva || gpa + size - 1 < gpa)
		return -EINVAL;
	struct region *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->flags = flags;

	pthread_mutex_lock(&m->wlock);
	int rc = cow_snap_overlap(cur(m), gpa, gpa + size - 1) ? -EEXIST : 0;
	if (!rc && m->tracking) {
		_Atomic uint64_t *bm = calloc(bitmap_words(size), sizeof(uint64_t));
		if (!bm)
			rc = -ENOMEM;
		atomic_store(&r->dirty, bm);
		atomic_store(&r->tracking, 1);
	}
	if (!rc)
		rc = cow_table_insert(&m->regions, gpa, gpa + size - 1, r);
	if (rc) {
		free((void *)atomic_load(&r->dirty));
		free(r);
	} else {
		r->next_all = m->all;
		m->all = r;
	}
	pthread_mutex_unlock(&m->wlock);
	return rc;
}

int hvabs_mem_remove_region(struct hvabs_mem *m, uint64_t gpa)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&m->wlock);
	struct region *r = find(cur(m), gpa);
	if (r && r->gpa == gpa)
		rc = cow_table_remove(&m->regions, r);
	pthread_mutex_unlock(&m->wlock);
	return rc;
}

static void fill_out(const struct region *r, struct hvabs_mem_region *out)
{
	out->gpa = r->gpa;
	out->size = r->size;
	out->hva = r->hva;
	out->flags = r->flags;
}

int hvabs_mem_region_at(const struct hvabs_mem *m, uint64_t gpa, struct hvabs_mem_region *out)
{
	struct region *r = find(cur(m), gpa);

	if (!r)
		return -EFAULT;
	fill_out(r, out);
	return 0;
}

size_t hvabs_mem_region_count(const struct hvabs_mem *m)
{
	return cur(m)->n;
}

int hvabs_mem_region_get(const struct hvabs_mem *m, size_t index, struct hvabs_mem_region *out)
{
	const struct cow_snap *s = cur(m);

	if (index >= s->n)
		return -ERANGE;
	fill_out(s->e[index].item, out);
	return 0;
}

void *hvabs_mem_ptr(const struct hvabs_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	if (gpa + (len - 1) < gpa)
		return NULL;
	struct region *r = find(cur(m), gpa);
	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

static void mark(struct region *r, uint64_t gpa, uint64_t len)
{
	if (!atomic_load_explicit(&r->tracking, memory_order_relaxed) || !len)
		return;
	_Atomic uint64_t *bm = atomic_load_explicit(&r->dirty, memory_order_acquire);
	if (!bm)
		return;
	uint64_t first = (gpa - r->gpa) / HVABS_PAGE_SIZE;
	uint64_t last = (gpa - r->gpa + len - 1) / HVABS_PAGE_SIZE;
	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or_explicit(&bm[p / 64], 1ull << (p % 64), memory_order_relaxed);
}

/*
 * Walks [gpa, gpa+len) region by region. With @p check only, it verifies the
 * whole range first so that a failing copy leaves nothing half-done.
 */
static int walk(const struct hvabs_mem *m, uint64_t gpa, uint64_t len, uint8_t *rbuf,
		const uint8_t *wbuf, int fill, uint8_t byte)
{
	const struct cow_snap *s = cur(m);

	if (len == 0)
		return 0;
	if (gpa + (len - 1) < gpa)
		return -EFAULT;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t a = gpa, left = len, done = 0;
		while (left) {
			struct region *r = find(s, a);
			if (!r)
				return -EFAULT;
			uint64_t off = a - r->gpa;
			uint64_t chunk = r->size - off < left ? r->size - off : left;
			if (pass == 1) {
				if (rbuf)
					memcpy(rbuf + done, r->hva + off, chunk);
				else if (fill)
					memset(r->hva + off, byte, chunk);
				else
					memcpy(r->hva + off, wbuf + done, chunk);
				if (!rbuf)
					mark(r, a, chunk);
			}
			a += chunk;
			done += chunk;
			left -= chunk;
		}
	}
	return 0;
}

int hvabs_mem_read(const struct hvabs_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	return walk(m, gpa, len, buf, NULL, 0, 0);
}

int hvabs_mem_write(struct hvabs_mem *m, uint64_t gpa, const void *buf, uint64_t len)
{
	return walk(m, gpa, len, NULL, buf, 0, 0);
}

int hvabs_mem_fill(struct hvabs_mem *m, uint64_t gpa, uint8_t byte, uint64_t len)
{
	return walk(m, gpa, len, NULL, NULL, 1, byte);
}

#define LE_ACCESSORS(bits)                                                                         \
	int hvabs_mem_read_u##bits(const struct hvabs_mem *m, uint64_t gpa, uint##bits##_t *out)   \
	{                                                                                          \
		uint8_t b[bits / 8];                                                               \
		int rc = hvabs_mem_read(m, gpa, b, sizeof(b));                                     \
		if (rc)                                                                            \
			return rc;                                                                 \
		*out = (uint##bits##_t)hvabs_le_load(b, sizeof(b));                                \
		return 0;                                                                          \
	}                                                                                          \
	int hvabs_mem_write_u##bits(struct hvabs_mem *m, uint64_t gpa, uint##bits##_t val)         \
	{                                                                                          \
		uint8_t b[bits / 8];                                                               \
		hvabs_le_store(b, sizeof(b), val);                                                 \
		return hvabs_mem_write(m, gpa, b, sizeof(b));                                      \
	}
LE_ACCESSORS(16)
LE_ACCESSORS(32)
LE_ACCESSORS(64)

int hvabs_mem_track_dirty(struct hvabs_mem *m, int on)
{
	int rc = 0;

	pthread_mutex_lock(&m->wlock);
	for (struct region *r = m->all; r && on; r = r->next_all) {
		_Atomic uint64_t *bm = atomic_load(&r->dirty);
		size_t words = bitmap_words(r->size);
		if (!bm) {
			bm = calloc(words, sizeof(uint64_t));
			if (!bm) {
				rc = -ENOMEM;
				break;
			}
			atomic_store(&r->dirty, bm);
		}
		for (size_t w = 0; w < words; w++)
			atomic_store_explicit(&bm[w], 0, memory_order_relaxed);
	}
	if (!rc) {
		for (struct region *r = m->all; r; r = r->next_all)
			atomic_store(&r->tracking, on ? 1 : 0);
		m->tracking = on;
	}
	pthread_mutex_unlock(&m->wlock);
	return rc;
}

void hvabs_mem_mark_dirty(struct hvabs_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	while (gpa < end) {
		struct region *r = find(cur(m), gpa);
		if (!r)
			return;
		uint64_t chunk = r->size - (gpa - r->gpa);
		if (chunk > end - gpa)
			chunk = end - gpa;
		mark(r, gpa, chunk);
		gpa += chunk;
	}
}

int hvabs_mem_get_dirty(struct hvabs_mem *m, uint64_t gpa, uint64_t *bitmap, size_t words)
{
	struct region *r = find(cur(m), gpa);

	if (!r || r->gpa != gpa)
		return -ENOENT;
	_Atomic uint64_t *bm = atomic_load(&r->dirty);
	if (!bm || !atomic_load(&r->tracking))
		return -EINVAL;
	size_t need = bitmap_words(r->size);
	if (words < need)
		return -ENOSPC;
	for (size_t w = 0; w < need; w++)
		bitmap[w] = atomic_exchange_explicit(&bm[w], 0, memory_order_relaxed);
	return 0;
}
