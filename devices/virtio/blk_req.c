/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk requests (virtio 1.2 §5.2.6): from the available ring to an
 * engine and back to the used ring.
 *
 * A request is a chain: a 16-byte header the device reads, data (read by the
 * device for writes, discards and write-zeroes; written for reads and
 * get-ID), and a status byte, the last device-writable byte. The event loop
 * pops it under the device lock and checks everything the driver controls
 * (a bad request fails alone with IOERR or UNSUPP, §5.2.6.2; only a
 * malformed chain, caught by the virtqueue, takes the whole device down to
 * DEVICE_NEEDS_RESET). Requests that need no disk are answered there; the
 * others go to the queue's worker or to io_uring, and are completed by
 * whichever thread sees the disk finish (see blk_priv.h for the locks).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_priv.h"

/* Requests per queue_notify call: register accesses wait at most this long for the lock. */
#define BATCH 32

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static bool in_range(const struct hvabs_virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = b->f.size / BLK_SECTOR;

	return sector <= cap && bytes / BLK_SECTOR <= cap - sector;
}

static bool changes(uint32_t type)
{
	return type == HVABS_VIRTIO_BLK_T_OUT || type == HVABS_VIRTIO_BLK_T_DISCARD ||
	       type == HVABS_VIRTIO_BLK_T_WRITE_ZEROES;
}

/* Reads and checks every range of a discard or write-zeroes request before acting on any. */
static uint8_t check_dwz(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	bool zeroes = r->type == HVABS_VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t n = r->len / BLK_DWZ_SIZE;

	if (!(b->features & HVABS_VIRTIO_BIT(zeroes ? HVABS_VIRTIO_BLK_F_WRITE_ZEROES
						    : HVABS_VIRTIO_BLK_F_DISCARD)))
		return HVABS_VIRTIO_BLK_S_UNSUPP;
	if (b->f.ro)
		return HVABS_VIRTIO_BLK_S_IOERR; /* §5.2.6.2: no writes to a read-only disk */
	if (r->len % BLK_DWZ_SIZE || !n || n > HVABS_VIRTIO_BLK_MAX_SEG) {
		REQ_WARN(b, "%s: %s with %llu bytes of ranges", b->name,
			 zeroes ? "write-zeroes" : "discard", (unsigned long long)r->len);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	/* Copied once: the driver cannot change a range after it was checked. */
	hvabs_virtq_chain_read(&r->c, BLK_HDR_SIZE, r->ranges, (size_t)r->len);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sector = get64(r->ranges[i]);
		uint32_t count = get32(r->ranges[i] + 8);
		uint32_t flags = get32(r->ranges[i] + 12);
		/* §5.2.6.2: unknown flags, and unmap on a discard, are unsupported. */
		if ((flags & ~BLK_DWZ_UNMAP) || (!zeroes && (flags & BLK_DWZ_UNMAP)))
			return HVABS_VIRTIO_BLK_S_UNSUPP;
		if (count > HVABS_VIRTIO_BLK_MAX_SECTORS ||
		    !in_range(b, sector, (uint64_t)count * BLK_SECTOR))
			return HVABS_VIRTIO_BLK_S_IOERR;
	}
	r->nranges = (uint32_t)n;
	return HVABS_VIRTIO_BLK_S_OK;
}

static uint8_t check_rw(struct hvabs_virtio_blk *b, struct blk_req *r, const char *what)
{
	if (r->len % BLK_SECTOR || !in_range(b, r->sector, r->len)) {
		REQ_WARN(b,
			 "%s: %s of %llu bytes at sector %llu: beyond the disk or not whole "
			 "sectors",
			 b->name, what, (unsigned long long)r->len, (unsigned long long)r->sector);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	return HVABS_VIRTIO_BLK_S_OK;
}

/*
 * Parses a popped request, device lock held. Returns true when it needs the
 * disk; otherwise r->status (and r->filled) is the final answer.
 */
static bool prepare(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	uint8_t hdr[BLK_HDR_SIZE];
	uint64_t in_len = r->c.writable_len - 1;

	r->filled = 0;
	r->err = 0;
	r->synced = false;
	r->write_through = b->write_through;
	r->status = HVABS_VIRTIO_BLK_S_IOERR;
	if (hvabs_virtq_chain_read(&r->c, 0, hdr, BLK_HDR_SIZE) < BLK_HDR_SIZE) {
		REQ_WARN(b, "%s: request header of %u bytes, not 16", b->name, r->c.readable_len);
		return false;
	}
	/* The header is copied once: the driver cannot change it under us. */
	r->type = get32(hdr);
	r->sector = get64(hdr + 8);
	r->len = r->c.readable_len - BLK_HDR_SIZE;
	switch (r->type) {
	case HVABS_VIRTIO_BLK_T_IN:
		r->len = in_len;
		r->status = check_rw(b, r, "read");
		break;
	case HVABS_VIRTIO_BLK_T_OUT:
		/* §5.2.6.2: no writes to a read-only disk, and no data is written. */
		r->status = b->f.ro ? HVABS_VIRTIO_BLK_S_IOERR : check_rw(b, r, "write");
		break;
	case HVABS_VIRTIO_BLK_T_FLUSH:
		r->status = HVABS_VIRTIO_BLK_S_OK;
		break;
	case HVABS_VIRTIO_BLK_T_GET_ID: {
		/* §5.2.6: up to 20 bytes, NUL-padded, no terminator at 20. */
		uint64_t n = in_len < sizeof(b->id) ? in_len : sizeof(b->id);
		r->filled = hvabs_virtq_chain_write(&r->c, 0, b->id, (size_t)n);
		r->status = HVABS_VIRTIO_BLK_S_OK;
		return false;
	}
	case HVABS_VIRTIO_BLK_T_DISCARD:
	case HVABS_VIRTIO_BLK_T_WRITE_ZEROES:
		r->status = check_dwz(b, r);
		break;
	default:
		r->status = HVABS_VIRTIO_BLK_S_UNSUPP;
		return false;
	}
	return r->status == HVABS_VIRTIO_BLK_S_OK;
}

static int exec_dwz(struct hvabs_virtio_blk *b, struct blk_req *r, uint8_t *bounce)
{
	bool zeroes = r->type == HVABS_VIRTIO_BLK_T_WRITE_ZEROES;

	r->what = zeroes ? "write-zeroes" : "discard";
	for (uint32_t i = 0; i < r->nranges; i++) {
		uint64_t off = get64(r->ranges[i]) * BLK_SECTOR;
		uint64_t bytes = (uint64_t)get32(r->ranges[i] + 8) * BLK_SECTOR;
		bool unmap = get32(r->ranges[i] + 12) & BLK_DWZ_UNMAP;
		int rc = zeroes ? blk_file_write_zeroes(&b->f, bounce, off, bytes, unmap)
				: blk_file_discard(&b->f, off, bytes);
		if (rc)
			return rc;
	}
	return 0;
}

void blk_req_exec(struct hvabs_virtio_blk *b, struct blk_req *r, uint8_t *bounce)
{
	uint64_t off = r->sector * BLK_SECTOR;
	int rc = 0;

	switch (r->type) {
	case HVABS_VIRTIO_BLK_T_IN:
		r->what = "read";
		rc = blk_file_read(&b->f, bounce, &r->c, off, r->len);
		r->filled = rc ? 0 : r->len;
		break;
	case HVABS_VIRTIO_BLK_T_OUT:
		r->what = "write";
		rc = blk_file_write(&b->f, bounce, &r->c, BLK_HDR_SIZE, off, r->len);
		break;
	case HVABS_VIRTIO_BLK_T_FLUSH:
		r->what = "flush";
		rc = blk_file_flush(&b->f);
		break;
	default:
		rc = exec_dwz(b, r, bounce);
		break;
	}
	/* Write-through (FLUSH not negotiated, §5.2.6.2): stable before it is completed. */
	if (!rc && r->write_through && changes(r->type)) {
		r->what = "write-through sync";
		rc = blk_file_flush(&b->f);
		r->synced = !rc;
	}
	r->err = rc;
}

static void account(struct hvabs_virtio_blk *b, const struct blk_req *r)
{
	struct hvabs_virtio_blk_stats *st = &b->st;

	if (r->status == HVABS_VIRTIO_BLK_S_IOERR) {
		st->ioerr++;
		if (r->err)
			REQ_WARN(b, "%s: %s at sector %llu failed: %s", b->name, r->what,
				 (unsigned long long)r->sector, strerror(-r->err));
		return;
	}
	if (r->status == HVABS_VIRTIO_BLK_S_UNSUPP) {
		st->unsupp++;
		return;
	}
	st->write_through_syncs += r->synced;
	switch (r->type) {
	case HVABS_VIRTIO_BLK_T_IN:
		st->reads++;
		st->bytes_read += r->len;
		break;
	case HVABS_VIRTIO_BLK_T_OUT:
		st->writes++;
		st->bytes_written += r->len;
		break;
	case HVABS_VIRTIO_BLK_T_FLUSH:
		st->flushes++;
		break;
	case HVABS_VIRTIO_BLK_T_GET_ID:
		st->get_ids++;
		break;
	case HVABS_VIRTIO_BLK_T_DISCARD:
		st->discards++;
		break;
	default:
		st->write_zeroes++;
		break;
	}
}

static void free_req_locked(struct blk_queue *q, struct blk_req *r)
{
	r->next = q->free;
	q->free = r;
}

/* Puts a request on the used ring; device lock held. */
static int push(struct hvabs_virtio_blk *b, struct hvabs_virtq *vq, struct blk_req *r)
{
	account(b, r);
	/* §2.7.8.1: used len covers bytes written from the start of the writable
	 * part; with the data area unwritten, only an underestimate (0) is true. */
	uint32_t used = r->filled == r->c.writable_len - 1u ? r->c.writable_len : 0;
	return hvabs_virtq_push(vq, &r->c, used);
}

/* Pushes every finished request and signals the driver; device lock held. */
static void drain_done(struct hvabs_virtio_blk *b)
{
	for (uint32_t i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->q[i];
		pthread_mutex_lock(&b->mu);
		struct blk_req *list = q->done;
		q->done = NULL;
		q->done_tail = &q->done;
		pthread_mutex_unlock(&b->mu);
		if (!list)
			continue;
		struct hvabs_virtq *vq = hvabs_virtio_transport_queue(b->tp, i);
		struct blk_req *last = list;
		for (struct blk_req *r = list; r; r = r->next) {
			/* -ESTALE cannot happen (quiesce drops the list first); a broken
			 * queue is the transport's business. */
			(void)push(b, vq, r);
			last = r;
		}
		pthread_mutex_lock(&b->mu);
		last->next = q->free;
		q->free = list;
		bool kick = q->starved;
		q->starved = false;
		pthread_mutex_unlock(&b->mu);
		(void)hvabs_virtio_transport_signal_used(b->tp, i);
		if (kick)
			(void)hvabs_virtio_transport_kick(b->tp, i);
	}
}

void blk_req_finish(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	struct blk_queue *q = &b->q[r->queue];

	if (r->err)
		r->status = HVABS_VIRTIO_BLK_S_IOERR;
	/* The status byte is written while the request still counts as running,
	 * so a reset or QueueReady=0 that waited for it finds the buffer final. */
	hvabs_virtq_chain_write(&r->c, r->c.writable_len - 1u, &r->status, 1);
	pthread_mutex_lock(&b->mu);
	/* The mutex orders the data and status writes above before the push
	 * below, on whichever thread it happens; the push's release barrier
	 * (§2.7.13) then publishes them with the used index. */
	*q->done_tail = r;
	r->next = NULL;
	q->done_tail = &r->next;
	q->running--;
	b->completers++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);

	hvabs_virtio_transport_lock(b->tp);
	drain_done(b);
	pthread_mutex_lock(&b->mu);
	b->completers--;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	hvabs_virtio_transport_unlock(b->tp);
}

/* Hands a request needing the disk to its engine; device lock held. */
static void submit(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	pthread_mutex_lock(&b->mu);
	b->q[r->queue].running++;
	pthread_mutex_unlock(&b->mu);
	if (b->ur && blk_uring_submit(b, r))
		return;
	pthread_mutex_lock(&b->mu);
	blk_worker_push_locked(b, r);
	pthread_mutex_unlock(&b->mu);
}

static struct blk_req *take_free(struct hvabs_virtio_blk *b, struct blk_queue *q)
{
	pthread_mutex_lock(&b->mu);
	struct blk_req *r = b->closing ? NULL : q->free;
	if (r)
		q->free = r->next;
	else
		q->starved = !b->closing;
	pthread_mutex_unlock(&b->mu);
	return r;
}

static void give_back(struct hvabs_virtio_blk *b, struct blk_queue *q, struct blk_req *r)
{
	pthread_mutex_lock(&b->mu);
	free_req_locked(q, r);
	pthread_mutex_unlock(&b->mu);
}

int blk_queue_notify(void *opaque, uint32_t index, struct hvabs_virtq *vq)
{
	struct hvabs_virtio_blk *b = opaque;
	struct blk_queue *q = &b->q[index];

	for (int n = 0; n < BATCH; n++) {
		/* No free request: every one is in flight; a completion kicks us. */
		struct blk_req *r = take_free(b, q);
		if (!r)
			return 0;
		hvabs_virtq_chain_init(&r->c, r->c.seg, b->qsize);
		if (hvabs_virtq_pop(vq, &r->c)) {
			give_back(b, q, r);
			return 0; /* empty, or broken: the transport handles that */
		}
		if (!r->c.writable_len) {
			/* No byte to put a status in: nothing can be said about this request. */
			REQ_WARN(b, "%s: request at descriptor %u has no status byte", b->name,
				 r->c.head);
			b->st.unanswerable++;
			int rc = hvabs_virtq_push(vq, &r->c, 0);
			give_back(b, q, r);
			if (rc)
				return 0;
			continue;
		}
		if (prepare(b, r)) {
			submit(b, r);
			continue;
		}
		hvabs_virtq_chain_write(&r->c, r->c.writable_len - 1u, &r->status, 1);
		int rc = push(b, vq, r);
		give_back(b, q, r);
		if (rc)
			return 0;
	}
	return 1;
}

void blk_queue_quiesce(struct hvabs_virtio_blk *b, uint32_t index)
{
	struct blk_queue *q = &b->q[index];

	pthread_mutex_lock(&b->mu);
	/* Not started yet: cancelled. Running: waited for, since the disk may
	 * still write into the driver's buffers until it finishes. */
	q->running -= blk_worker_cancel_locked(b, q);
	while (q->running)
		pthread_cond_wait(&b->cv, &b->mu);
	/* Finished but not pushed: they belong to the old ring; forgotten. */
	while (q->done) {
		struct blk_req *r = q->done;
		q->done = r->next;
		free_req_locked(q, r);
	}
	q->done_tail = &q->done;
	q->starved = false;
	pthread_mutex_unlock(&b->mu);
}

void blk_wait_idle(struct hvabs_virtio_blk *b)
{
	pthread_mutex_lock(&b->mu);
	for (uint32_t i = 0; i < b->nq; i++)
		while (b->q[i].running)
			pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

void blk_drain_all(struct hvabs_virtio_blk *b)
{
	pthread_mutex_lock(&b->mu);
	b->closing = true;
	for (uint32_t i = 0; i < b->nq; i++)
		b->q[i].running -= blk_worker_cancel_locked(b, &b->q[i]);
	for (;;) {
		bool busy = b->completers != 0;
		for (uint32_t i = 0; i < b->nq; i++)
			busy |= b->q[i].running != 0;
		if (!busy)
			break;
		pthread_cond_wait(&b->cv, &b->mu);
	}
	pthread_mutex_unlock(&b->mu);
}

int blk_queues_init(struct hvabs_virtio_blk *b)
{
	b->q = calloc(b->nq, sizeof(*b->q));
	if (!b->q)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->q[i];
		q->done_tail = &q->done;
		q->jobs_tail = &q->jobs;
		pthread_cond_init(&q->job_cv, NULL);
		/* A queue holds at most qsize chains, each at most qsize descriptors. */
		q->reqs = calloc(b->qsize, sizeof(*q->reqs));
		q->segs = calloc((size_t)b->qsize * b->qsize, sizeof(*q->segs));
		if (!q->reqs || !q->segs)
			return -ENOMEM;
		for (uint32_t k = 0; k < b->qsize; k++) {
			struct blk_req *r = &q->reqs[k];
			r->queue = i;
			hvabs_virtq_chain_init(&r->c, q->segs + (size_t)k * b->qsize, b->qsize);
			free_req_locked(q, r);
		}
	}
	return 0;
}

void blk_queues_fini(struct hvabs_virtio_blk *b)
{
	if (!b->q)
		return;
	for (uint32_t i = 0; i < b->nq; i++) {
		pthread_cond_destroy(&b->q[i].job_cv);
		free(b->q[i].reqs);
		free(b->q[i].segs);
	}
	free(b->q);
	b->q = NULL;
}
