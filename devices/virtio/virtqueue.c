/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device side (virtio 1.2 §2.7). The driver writes the
 * descriptor table and the available ring; we write the used ring. Our own
 * positions in both rings (last_avail, used_idx) live here, never read back
 * from guest memory, so the driver cannot make us skip or replay entries.
 *
 * Each descriptor is copied out of guest memory exactly once and the chain
 * is checked in full before anything is handed to the device, so a driver
 * racing with us can only hand us a different valid chain, never an invalid
 * one. A malformed chain breaks the queue: nothing more is read or written
 * until the driver resets it.
 *
 * Barriers: the rings are shared with the driver on other CPUs. Each fence
 * below names the driver-side barrier it pairs with (Linux virtio_ring.c).
 * On x86 only the full fence emits an instruction; the others stop the
 * compiler from reordering.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/devices/virtio.h>
#include <hvabs/devices/virtio_queue.h>

#define COMP		     "virtio"

#define DESC_F_NEXT	     1u
#define DESC_F_WRITE	     2u
#define DESC_F_INDIRECT	     4u
#define AVAIL_F_NO_INTERRUPT 1u

#define DESC_SIZE	     16u
#define CHAIN_MAX_BYTES	     (1ull << 32)

/* A descriptor as found in guest memory, little-endian (§2.7.5). */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct desc) == DESC_SIZE, "virtq_desc is 16 bytes");

struct hvabs_virtq {
	struct hvabs_mem *mem;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	char name[32];
	uint32_t max_size;

	bool enabled;
	bool broken;
	bool event_idx;
	bool indirect;
	uint32_t size;
	uint32_t generation;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	const uint8_t *desc; /* host views of the three rings */
	const uint8_t *avail;
	uint8_t *used;

	uint16_t last_avail;	 /* next available-ring entry we will take */
	uint16_t used_idx;	 /* next used-ring entry we will fill */
	uint16_t signalled_used; /* used_idx at the last notify_needed() */
	uint32_t in_flight;	 /* popped, not yet pushed */
};

/* Per-walk accounting of one chain. */
struct walk {
	uint32_t nbuf;	/* buffer descriptors seen (empty ones too) */
	uint64_t total; /* bytes in all of them */
	bool writing;	/* a device-writable descriptor was seen */
};

static void bad_log(struct hvabs_virtq *q, const char *fmt, ...) HVABS_PRINTF(2, 3);

/* The driver broke the rules: log why and stop using the queue until a reset. */
static void bad_log(struct hvabs_virtq *q, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->broken = true;
	hvabs_log_ratelimited(q->log, &q->rl, HVABS_LOG_WARN, COMP,
			      "%s: malformed virtqueue: %s; the queue needs a reset", q->name, msg);
}

#define BAD(q, ...) (bad_log((q), __VA_ARGS__), -EBADMSG)

/* ---- ring accessors (the offsets are those of §2.7.6 and §2.7.8) ---- */

static uint16_t ld16(const uint8_t *p)
{
	return le16toh(*(const volatile uint16_t *)p);
}

static void st16(uint8_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = htole16(v);
}

static void st32(uint8_t *p, uint32_t v)
{
	*(volatile uint32_t *)p = htole32(v);
}

static uint16_t avail_flags(const struct hvabs_virtq *q)
{
	return ld16(q->avail);
}

static uint16_t avail_idx(const struct hvabs_virtq *q)
{
	return ld16(q->avail + 2);
}

static uint16_t avail_entry(const struct hvabs_virtq *q, uint16_t i)
{
	return ld16(q->avail + 4 + 2 * (size_t)(i & (q->size - 1)));
}

static uint16_t used_event(const struct hvabs_virtq *q)
{
	return ld16(q->avail + 4 + 2 * (size_t)q->size);
}

static uint8_t *used_elem(const struct hvabs_virtq *q, uint16_t i)
{
	return q->used + 4 + 8 * (size_t)(i & (q->size - 1));
}

static uint64_t avail_event_gpa(const struct hvabs_virtq *q)
{
	return q->used_gpa + 4 + 8 * (uint64_t)q->size;
}

static void read_desc(const uint8_t *p, struct desc *d)
{
	struct desc raw;

	/* One copy: every check and every later use sees these same bytes. */
	memcpy(&raw, p, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

/* ---- life cycle ---- */

void hvabs_virtq_chain_init(struct hvabs_virtq_chain *c, struct hvabs_virtq_seg *segs, uint32_t cap)
{
	memset(c, 0, sizeof(*c));
	c->seg = segs;
	c->cap = cap;
}

int hvabs_virtq_create(struct hvabs_mem *mem, const struct hvabs_logger *log, const char *name,
		       uint32_t max_size, struct hvabs_virtq **out)
{
	if (!mem || !name || !out || !max_size || max_size > HVABS_VIRTQ_MAX_SIZE ||
	    (max_size & (max_size - 1)))
		return -EINVAL;
	struct hvabs_virtq *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->mem = mem;
	q->log = log;
	q->max_size = max_size;
	snprintf(q->name, sizeof(q->name), "%s", name);
	*out = q;
	return 0;
}

void hvabs_virtq_destroy(struct hvabs_virtq *q)
{
	free(q);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int hvabs_virtq_enable(struct hvabs_virtq *q, const struct hvabs_virtq_layout *l)
{
	if (q->enabled)
		return -EBUSY;
	uint32_t n = l->size;
	if (!n || n > q->max_size || (n & (n - 1))) {
		hvabs_log_ratelimited(q->log, &q->rl, HVABS_LOG_WARN, COMP,
				      "%s: queue size %u refused (a power of 2 up to %u)", q->name,
				      n, q->max_size);
		return -EINVAL;
	}
	uint64_t dlen = (uint64_t)DESC_SIZE * n, alen = 6 + 2 * (uint64_t)n,
		 ulen = 6 + 8 * (uint64_t)n;
	const uint8_t *d = NULL, *a = NULL;
	uint8_t *u = NULL;
	/* §2.7 alignment: 16 for the table, 2 for the available, 4 for the used ring. */
	if (!(l->desc & 15) && !(l->avail & 1) && !(l->used & 3)) {
		d = hvabs_mem_ptr(q->mem, l->desc, dlen);
		a = hvabs_mem_ptr(q->mem, l->avail, alen);
		u = hvabs_mem_ptr(q->mem, l->used, ulen);
	}
	/* The used ring is ours to write: it must not cover what the driver writes. */
	if (!d || !a || !u || overlaps(l->used, ulen, l->desc, dlen) ||
	    overlaps(l->used, ulen, l->avail, alen)) {
		hvabs_log_ratelimited(
		    q->log, &q->rl, HVABS_LOG_WARN, COMP,
		    "%s: rings refused: desc 0x%llx avail 0x%llx used 0x%llx (size "
		    "%u) are misaligned, overlap, or not inside one RAM region each",
		    q->name, (unsigned long long)l->desc, (unsigned long long)l->avail,
		    (unsigned long long)l->used, n);
		return -EFAULT;
	}
	q->size = n;
	q->desc_gpa = l->desc;
	q->avail_gpa = l->avail;
	q->used_gpa = l->used;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->event_idx = l->features & HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX);
	q->indirect = l->features & HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC);
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->in_flight = 0;
	q->broken = false;
	q->generation++;
	q->enabled = true;
	return 0;
}

void hvabs_virtq_disable(struct hvabs_virtq *q)
{
	q->enabled = false;
	q->broken = false;
	q->size = 0;
	q->desc = q->avail = NULL;
	q->used = NULL;
	q->in_flight = 0;
	/* Chains popped before this point are stale: push refuses them. */
	q->generation++;
}

bool hvabs_virtq_is_enabled(const struct hvabs_virtq *q)
{
	return q->enabled;
}

bool hvabs_virtq_is_broken(const struct hvabs_virtq *q)
{
	return q->broken;
}

uint32_t hvabs_virtq_size(const struct hvabs_virtq *q)
{
	return q->size;
}

uint32_t hvabs_virtq_max_size(const struct hvabs_virtq *q)
{
	return q->max_size;
}

/* ---- taking chains ---- */

/* Adds one buffer descriptor to the chain, enforcing the per-buffer rules. */
static int add_buffer(struct hvabs_virtq *q, struct hvabs_virtq_chain *c, struct walk *w,
		      const struct desc *d)
{
	bool wr = d->flags & DESC_F_WRITE;

	/* Counting buffers bounds the walk: a loop runs into this limit. */
	if (++w->nbuf > q->size)
		return BAD(q, "chain at head %u has more than %u descriptors (a loop?)", c->head,
			   q->size);
	/* §2.7.4.2: device-writable descriptors after all device-readable ones. */
	if (!wr && w->writing)
		return BAD(q, "chain at head %u: device-readable buffer after a writable one",
			   c->head);
	w->writing |= wr;
	w->total += d->len;
	/* §2.7.5.2: a chain holds less than 2^32 bytes in total. */
	if (w->total >= CHAIN_MAX_BYTES)
		return BAD(q, "chain at head %u is 4 GiB or longer", c->head);
	if (!d->len)
		return 0;
	void *p = hvabs_mem_ptr(c->mem, d->addr, d->len);
	if (!p)
		return BAD(q, "chain at head %u: buffer 0x%llx+0x%x is not inside guest RAM",
			   c->head, (unsigned long long)d->addr, d->len);
	struct hvabs_virtq_seg *s = &c->seg[c->nr_readable + c->nr_writable];
	s->hva = p;
	s->gpa = d->addr;
	s->len = d->len;
	s->pad = 0;
	if (wr) {
		c->nr_writable++;
		c->writable_len += d->len;
	} else {
		c->nr_readable++;
		c->readable_len += d->len;
	}
	return 0;
}

/* Follows an indirect table (§2.7.5.3); it ends the chain. */
static int walk_indirect(struct hvabs_virtq *q, struct hvabs_virtq_chain *c, struct walk *w,
			 const struct desc *ind)
{
	if (!q->indirect)
		return BAD(q, "chain at head %u uses an indirect table, not negotiated", c->head);
	if (ind->flags & DESC_F_NEXT)
		return BAD(q, "chain at head %u: descriptor with both NEXT and INDIRECT", c->head);
	if (!ind->len || ind->len % DESC_SIZE)
		return BAD(q, "chain at head %u: indirect table length %u is not a multiple of 16",
			   c->head, ind->len);
	uint32_t n = ind->len / DESC_SIZE;
	if (n > q->size)
		return BAD(q, "chain at head %u: indirect table of %u descriptors, queue size %u",
			   c->head, n, q->size);
	const uint8_t *tbl = hvabs_mem_ptr(c->mem, ind->addr, ind->len);
	if (!tbl)
		return BAD(q,
			   "chain at head %u: indirect table 0x%llx+0x%x is not inside guest RAM",
			   c->head, (unsigned long long)ind->addr, ind->len);
	uint32_t i = 0;
	for (uint32_t seen = 1;; seen++) {
		struct desc d;
		if (seen > n)
			return BAD(q, "chain at head %u: loop in its indirect table", c->head);
		read_desc(tbl + (size_t)i * DESC_SIZE, &d);
		if (d.flags & DESC_F_INDIRECT)
			return BAD(q,
				   "chain at head %u: indirect descriptor inside an indirect "
				   "table",
				   c->head);
		int rc = add_buffer(q, c, w, &d);
		if (rc)
			return rc;
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return BAD(q, "chain at head %u: indirect next %u beyond the table of %u",
				   c->head, d.next, n);
		i = d.next;
	}
}

/* Walks and checks the whole chain at @p head (§2.7.5). */
static int walk_chain(struct hvabs_virtq *q, struct hvabs_virtq_chain *c)
{
	struct walk w = {0};
	uint32_t i = c->head;

	for (;;) {
		struct desc d;
		read_desc(q->desc + (size_t)i * DESC_SIZE, &d);
		/* §2.7.5.3.2: zero or more direct descriptors, then one indirect. */
		if (d.flags & DESC_F_INDIRECT) {
			int rc = walk_indirect(q, c, &w, &d);
			c->nr_desc = w.nbuf;
			return rc;
		}
		int rc = add_buffer(q, c, &w, &d);
		if (rc)
			return rc;
		if (!(d.flags & DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return BAD(q, "chain at head %u: next index %u beyond queue size %u",
				   c->head, d.next, q->size);
		i = d.next;
	}
	c->nr_desc = w.nbuf;
	return 0;
}

int hvabs_virtq_pop(struct hvabs_virtq *q, struct hvabs_virtq_chain *c)
{
	if (!q->enabled)
		return -ENODEV;
	if (q->broken)
		return -EIO;
	if (!c || !c->seg || c->cap < q->size)
		return -EINVAL;
	uint16_t idx = avail_idx(q);
	if (idx == q->last_avail) {
		if (!q->event_idx)
			return -ENOENT;
		/* Going idle: ask for a notification on the next buffer (§2.7.10). */
		st16(q->used + 4 + 8 * (size_t)q->size, q->last_avail);
		hvabs_mem_mark_dirty(q->mem, avail_event_gpa(q), 2);
		/* Full fence: our avail_event store before the avail idx re-read. Pairs
		 * with the driver's mb between its avail idx store and its avail_event
		 * read (virtqueue_kick_prepare_split): one of us sees the other. */
		atomic_thread_fence(memory_order_seq_cst);
		idx = avail_idx(q);
		if (idx == q->last_avail)
			return -ENOENT;
	}
	uint16_t ahead = (uint16_t)(idx - q->last_avail);
	if (ahead > q->size)
		return BAD(q, "available index %u is %u entries past ours (%u), queue size %u", idx,
			   ahead, q->last_avail, q->size);
	/* Read fence: the avail idx load before the ring entry and descriptor
	 * loads. Pairs with the driver's wmb before its avail idx store
	 * (virtqueue_add_split). */
	atomic_thread_fence(memory_order_acquire);
	uint16_t head = avail_entry(q, q->last_avail);
	if (head >= q->size)
		return BAD(q, "available ring entry %u names descriptor %u, queue size %u",
			   q->last_avail, head, q->size);
	c->nr_readable = c->nr_writable = 0;
	c->readable_len = c->writable_len = 0;
	c->nr_desc = 0;
	c->head = head;
	c->mem = q->mem;
	c->generation = q->generation;
	int rc = walk_chain(q, c);
	if (rc)
		return rc;
	q->last_avail++;
	q->in_flight++;
	return 0;
}

/* ---- returning chains ---- */

/* Marks the first @p len writable bytes dirty (the device may have written them directly). */
static void mark_written(const struct hvabs_virtq_chain *c, uint32_t len)
{
	for (uint32_t i = c->nr_readable; len && i < c->nr_readable + c->nr_writable; i++) {
		uint32_t n = c->seg[i].len < len ? c->seg[i].len : len;
		hvabs_mem_mark_dirty(c->mem, c->seg[i].gpa, n);
		len -= n;
	}
}

int hvabs_virtq_push_many(struct hvabs_virtq *q, const struct hvabs_virtq_chain *const *chains,
			  const uint32_t *written, uint32_t n)
{
	if (!n)
		return 0;
	if (!chains || !written)
		return -EINVAL;
	/* Check every chain before writing anything: all or nothing. */
	for (uint32_t i = 0; i < n; i++)
		if (chains[i]->generation != q->generation)
			return -ESTALE;
	if (!q->enabled)
		return -ENODEV;
	if (q->broken)
		return -EIO;
	if (q->in_flight < n)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (written[i] > chains[i]->writable_len)
			return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = used_elem(q, (uint16_t)(q->used_idx + i));
		st32(e, chains[i]->head);
		st32(e + 4, written[i]);
		mark_written(chains[i], written[i]);
		hvabs_mem_mark_dirty(q->mem, q->used_gpa + (uint64_t)(e - q->used), 8);
	}
	/* Write fence: the buffer contents and the used elements before the used
	 * idx store. Pairs with the driver's rmb after its used idx load
	 * (virtqueue_get_buf_ctx_split). */
	atomic_thread_fence(memory_order_release);
	q->used_idx = (uint16_t)(q->used_idx + n);
	st16(q->used + 2, q->used_idx);
	hvabs_mem_mark_dirty(q->mem, q->used_gpa + 2, 2);
	q->in_flight -= n;
	return 0;
}

int hvabs_virtq_push(struct hvabs_virtq *q, const struct hvabs_virtq_chain *c, uint32_t written)
{
	return hvabs_virtq_push_many(q, &c, &written, 1);
}

bool hvabs_virtq_notify_needed(struct hvabs_virtq *q)
{
	if (!q->enabled || q->broken)
		return false;
	uint16_t old = q->signalled_used, cur = q->used_idx;
	q->signalled_used = cur;
	if (old == cur)
		return false;
	/* Full fence: our used idx store before the used_event / flags load.
	 * Pairs with the driver's mb between its used_event store (or flags
	 * change) and its used idx re-read (virtqueue_enable_cb_prepare and
	 * virtqueue_poll). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(avail_flags(q) & AVAIL_F_NO_INTERRUPT);
	/* vring_need_event(): did the used idx step over used_event since last time? */
	uint16_t ev = used_event(q);
	return (uint16_t)(cur - ev - 1) < (uint16_t)(cur - old);
}

/* ---- buffer helpers ---- */

size_t hvabs_virtq_chain_read(const struct hvabs_virtq_chain *c, uint64_t off, void *buf,
			      size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;

	for (uint32_t i = 0; i < c->nr_readable && done < len; i++) {
		const struct hvabs_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy(dst + done, (const uint8_t *)s->hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t hvabs_virtq_chain_write(const struct hvabs_virtq_chain *c, uint64_t off, const void *buf,
			       size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (uint32_t i = c->nr_readable; i < c->nr_readable + c->nr_writable && done < len; i++) {
		const struct hvabs_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)s->hva + off, src + done, n);
		hvabs_mem_mark_dirty(c->mem, s->gpa + off, n);
		done += n;
		off = 0;
	}
	return done;
}

int hvabs_virtq_chain_iov(const struct hvabs_virtq_chain *c, int part, uint64_t off, uint64_t len,
			  struct iovec *iov, int max_iov)
{
	uint32_t first, count;
	uint64_t total;

	if (part == HVABS_VIRTQ_READABLE) {
		first = 0;
		count = c->nr_readable;
		total = c->readable_len;
	} else if (part == HVABS_VIRTQ_WRITABLE) {
		first = c->nr_readable;
		count = c->nr_writable;
		total = c->writable_len;
	} else {
		return -EINVAL;
	}
	if (off > total || len > total - off)
		return -ERANGE;
	int n = 0;
	for (uint32_t i = first; i < first + count && len; i++) {
		const struct hvabs_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		if (n == max_iov)
			return -E2BIG;
		uint64_t k = s->len - off < len ? s->len - off : len;
		iov[n].iov_base = (uint8_t *)s->hva + off;
		iov[n].iov_len = (size_t)k;
		n++;
		len -= k;
		off = 0;
	}
	return n;
}
