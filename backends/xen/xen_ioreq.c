/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ioreq decoder: one slot of the shared ioreq page (xen/hvm/ioreq.h)
 * turned into an hvabs exit, and the answer written back. Nothing here calls
 * Xen, so the unit tests feed it random pages directly.
 *
 * The slot protocol (xen/common/ioreq.c, wait_for_io): Xen fills a request
 * and publishes it with state STATE_IOREQ_READY, then notifies the event
 * channel; the device model moves it to STATE_IOREQ_INPROCESS, serves it,
 * writes the data, publishes STATE_IORESP_READY and notifies back; Xen takes
 * the data and sets STATE_IOREQ_NONE. A state that goes backwards, or a
 * response to a slot with nothing in flight, makes Xen crash the domain, so
 * every request we see READY gets exactly one answer, whatever it holds.
 *
 * The page is Xen's, but what is in it comes from the guest's instructions:
 * sizes, counts, addresses and data pointers are checked here before anything
 * uses them. A request we cannot serve is answered at once: reads get
 * all-ones, writes are dropped, and the caller logs the reason rate-limited.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hvabs/le.h"
#include "xen_priv.h"

/*
 * The byte after _pad0 holds state:4, data_is_ptr:1, dir:1, df:1 (GCC lays
 * x86 bitfields out from bit 0); `type` is the last byte. State changes are
 * single-byte stores of that byte, ordered by acquire/release.
 */
#define SLOT_FLAGS 30
#define SLOT_TYPE  31
_Static_assert(sizeof(ioreq_t) == 32, "ioreq_t is 32 bytes (xen/hvm/ioreq.h)");
_Static_assert(offsetof(ioreq_t, _pad0) + 2 == SLOT_FLAGS, "ioreq_t flags byte");
_Static_assert(offsetof(ioreq_t, type) == SLOT_TYPE, "ioreq_t type byte");

#define F_STATE 0x0fu
#define F_PTR	0x10u
#define F_DIR	0x20u
#define F_DF	0x40u

void xen_ram_init(struct xen_ram *ram)
{
	memset(ram, 0, sizeof(*ram));
	pthread_rwlock_init(&ram->lock, NULL);
}

void xen_ram_fini(struct xen_ram *ram)
{
	pthread_rwlock_destroy(&ram->lock);
}

/* Copies between @p buf and guest RAM; a range may span adjacent regions, never a hole. */
int xen_ram_copy(struct xen_ram *ram, uint64_t gpa, void *buf, uint64_t len, int to_guest)
{
	uint8_t *p = buf;
	int rc = 0;

	if (gpa + len < gpa)
		return -EFAULT;
	pthread_rwlock_rdlock(&ram->lock);
	while (len && !rc) {
		const struct xen_region *r = NULL;
		for (uint32_t i = 0; i < ram->n; i++)
			if (gpa >= ram->r[i].gpa && gpa - ram->r[i].gpa < ram->r[i].size)
				r = &ram->r[i];
		if (!r) {
			rc = -EFAULT;
			break;
		}
		uint64_t off = gpa - r->gpa;
		uint64_t n = r->size - off < len ? r->size - off : len;
		if (to_guest)
			memcpy(r->hva + off, p, n);
		else
			memcpy(p, r->hva + off, n);
		p += n;
		gpa += n;
		len -= n;
	}
	pthread_rwlock_unlock(&ram->lock);
	return rc;
}

void xen_req_load(const void *slot, struct xen_req *r)
{
	const ioreq_t *s = slot;
	const uint8_t *raw = slot;
	/* Acquire: see READY, then read the fields Xen wrote before it. */
	uint8_t flags = __atomic_load_n(raw + SLOT_FLAGS, __ATOMIC_ACQUIRE);

	r->state = flags & F_STATE;
	r->data_is_ptr = (flags & F_PTR) != 0;
	r->dir = (flags & F_DIR) ? IOREQ_READ : IOREQ_WRITE;
	r->df = (flags & F_DF) != 0;
	r->type = __atomic_load_n(raw + SLOT_TYPE, __ATOMIC_RELAXED);
	r->addr = __atomic_load_n(&s->addr, __ATOMIC_RELAXED);
	r->data = __atomic_load_n(&s->data, __ATOMIC_RELAXED);
	r->count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
	r->size = __atomic_load_n(&s->size, __ATOMIC_RELAXED);
}

static void set_state(void *slot, uint8_t state)
{
	uint8_t *f = (uint8_t *)slot + SLOT_FLAGS;
	uint8_t v = __atomic_load_n(f, __ATOMIC_RELAXED);

	/* Release: the data we wrote is visible before the state that hands it over. */
	__atomic_store_n(f, (uint8_t)((v & ~F_STATE) | state), __ATOMIC_RELEASE);
}

/* Marks a READY request as ours, as QEMU does: a second look never serves it twice. */
void xen_req_take(void *slot)
{
	set_state(slot, STATE_IOREQ_INPROCESS);
}

/* Guest address of element @p i of a string access at @p base (QEMU's *_phys_req_item). */
static uint64_t elem_gpa(uint64_t base, const struct xen_req *r, uint32_t i)
{
	uint64_t step = (uint64_t)i * r->size;

	return r->df ? base - step : base + step;
}

/* The lowest and highest byte a string access at @p base touches, without wrapping. */
static int span_ok(uint64_t base, const struct xen_req *r)
{
	uint64_t step = (uint64_t)(r->count - 1) * r->size;

	if (r->df)
		return step <= base && base + (r->size - 1) >= base;
	return base + step >= base && base + step + (r->size - 1) >= base + step;
}

static int valid_size(const struct xen_req *r)
{
	if (r->type == IOREQ_TYPE_PIO)
		return r->size == 1 || r->size == 2 || r->size == 4;
	return r->size == 1 || r->size == 2 || r->size == 4 || r->size == 8;
}

/* Checks a request's shape; fills @p why and returns -EINVAL for one we refuse. */
static int check_req(const struct xen_req *r, char *why, size_t why_len)
{
	const char *kind = r->type == IOREQ_TYPE_PIO ? "port" : "MMIO";

	if (r->type != IOREQ_TYPE_PIO && r->type != IOREQ_TYPE_COPY) {
		snprintf(why, why_len, "ioreq of unknown type %u at 0x%llx refused", r->type,
			 (unsigned long long)r->addr);
		return -EINVAL;
	}
	if (!valid_size(r) || r->count == 0 || (!r->data_is_ptr && r->count != 1) ||
	    r->count > XEN_MAX_REPS || (uint64_t)r->size * r->count > XEN_MAX_IO_BYTES) {
		snprintf(why, why_len, "%s ioreq of size %u x %u%s at 0x%llx refused", kind,
			 r->size, r->count, r->data_is_ptr ? " (string)" : "",
			 (unsigned long long)r->addr);
		return -EINVAL;
	}
	if (r->type == IOREQ_TYPE_PIO ? r->addr > 0x10000 - r->size : !span_ok(r->addr, r)) {
		snprintf(why, why_len, "%s ioreq at 0x%llx of size %u x %u out of range", kind,
			 (unsigned long long)r->addr, r->size, r->count);
		return -EINVAL;
	}
	if (r->data_is_ptr && !span_ok(r->data, r)) {
		snprintf(why, why_len, "%s ioreq at 0x%llx: buffer 0x%llx wraps around", kind,
			 (unsigned long long)r->addr, (unsigned long long)r->data);
		return -EINVAL;
	}
	return 0;
}

/* A string access moves its elements through guest RAM at `data`, stepping as `df` says. */
static int copy_elems(const struct xen_req *r, struct xen_ram *ram, uint8_t *buf, int to_guest)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (xen_ram_copy(ram, elem_gpa(r->data, r, i), buf + (size_t)i * r->size, r->size,
				 to_guest))
			return -EFAULT;
	return 0;
}

int xen_req_decode(const struct xen_req *r, struct xen_ram *ram, struct xen_iobuf *b,
		   struct hvabs_exit *e, char *why, size_t why_len)
{
	why[0] = '\0';
	if (r->state != STATE_IOREQ_READY) {
		/* NONE, INPROCESS and IORESP_READY are ours or Xen's to move: nothing to do. */
		if (r->state > STATE_IORESP_READY)
			snprintf(why, why_len, "ioreq slot in unknown state %u ignored", r->state);
		return XEN_REQ_NONE;
	}
	/* A guest gave memory back: a map cache would flush here; ours maps all RAM. */
	if (r->type == IOREQ_TYPE_INVALIDATE)
		return XEN_REQ_ANSWER;
	if (check_req(r, why, why_len))
		return XEN_REQ_ANSWER;
	size_t len = (size_t)r->size * r->count;
	if (len > b->cap) {
		snprintf(why, why_len, "no buffer for an ioreq of %zu bytes", len);
		return XEN_REQ_ANSWER;
	}
	if (r->data_is_ptr) {
		/* Guest writes are taken from RAM now; for reads, RAM must be there now. */
		int rc = r->dir == IOREQ_WRITE ? copy_elems(r, ram, b->p, 0) : 0;
		if (!rc && r->dir == IOREQ_READ) {
			memset(b->p, 0xff, len);
			for (uint32_t i = 0; i < r->count && !rc; i++) {
				uint8_t probe[8];
				rc = xen_ram_copy(ram, elem_gpa(r->data, r, i), probe, r->size, 0);
			}
		}
		if (rc) {
			snprintf(why, why_len,
				 "%s ioreq at 0x%llx: buffer 0x%llx (%u x %u%s) is not guest RAM",
				 r->type == IOREQ_TYPE_PIO ? "port" : "MMIO",
				 (unsigned long long)r->addr, (unsigned long long)r->data, r->size,
				 r->count, r->df ? ", descending" : "");
			return XEN_REQ_ANSWER;
		}
	} else if (r->dir == IOREQ_WRITE) {
		hvabs_le_store(b->p, r->size, r->data);
	} else {
		memset(b->p, 0xff, r->size);
	}
	memset(&e->u, 0, sizeof(e->u));
	e->flags = 0;
	e->raw_reason = XEN_RAW_IOREQ + r->type;
	struct hvabs_exit_access *a = r->type == IOREQ_TYPE_PIO ? &e->u.io : &e->u.mmio;
	e->kind = r->type == IOREQ_TYPE_PIO ? HVABS_EXIT_IO : HVABS_EXIT_MMIO;
	a->addr = r->addr;
	a->size = r->size;
	a->count = r->count;
	a->is_write = r->dir == IOREQ_WRITE;
	a->df = r->type == IOREQ_TYPE_COPY ? r->df : 0;
	a->data = b->p;
	return XEN_REQ_EXIT;
}

int xen_req_answer(void *slot, const struct xen_req *r, const uint8_t *data, int served,
		   struct xen_ram *ram, char *why, size_t why_len)
{
	ioreq_t *s = slot;
	int rc = 0;

	why[0] = '\0';
	if (r->dir == IOREQ_READ && r->type != IOREQ_TYPE_INVALIDATE) {
		if (!r->data_is_ptr) {
			uint64_t v = served && data ? hvabs_le_load(data, r->size) : ~0ull;
			__atomic_store_n(&s->data, v, __ATOMIC_RELAXED);
		} else if (served && data && copy_elems(r, ram, (uint8_t *)data, 1)) {
			/* RAM went away between the request and its answer. */
			snprintf(why, why_len, "ioreq at 0x%llx: read data for 0x%llx lost",
				 (unsigned long long)r->addr, (unsigned long long)r->data);
			rc = -EFAULT;
		}
	}
	uint8_t st = __atomic_load_n((uint8_t *)slot + SLOT_FLAGS, __ATOMIC_RELAXED) & F_STATE;
	if (st != STATE_IOREQ_INPROCESS && st != STATE_IOREQ_READY) {
		/* Not in flight any more: a response now would crash the domain. */
		snprintf(why, why_len, "ioreq slot changed to state %u under us; not answered", st);
		return -ESTALE;
	}
	set_state(slot, STATE_IORESP_READY);
	return rc;
}
