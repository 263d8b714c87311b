/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk's io_uring engine (liburing). The event loop, holding the
 * device lock, turns a read, write or flush of a buffered image into SQEs
 * and submits them; a reaper thread waits for the CQEs and completes the
 * request (blk_req_finish). Write-through writes (FLUSH not negotiated) are
 * a writev linked to an fsync(IORING_FSYNC_DATASYNC), so the data is stable
 * before the request completes. Anything else, and any read or write that
 * comes back short (a shrunk file: the worker reads zeroes past the end),
 * goes to the queue's worker, which redoes it whole.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blk_priv.h"

#ifdef HVABS_HAVE_LIBURING
#include <liburing.h>

struct blk_uring {
	struct io_uring ring;
	pthread_mutex_t mu; /* submissions */
	pthread_t reaper;
};

#define TAG_SYNC 1u /* user_data low bit: the linked write-through fsync */

static void cqe_done(struct hvabs_virtio_blk *b, struct blk_req *r, bool sync, int32_t res)
{
	r->res[sync] = res;
	if (--r->pending)
		return;
	int32_t main = r->res[0];
	if (r->type == HVABS_VIRTIO_BLK_T_FLUSH) {
		r->what = "flush";
		r->err = main < 0 ? main : 0;
	} else if (main >= 0 && (uint64_t)main != r->len) {
		/* Short: the worker redoes the request whole (and its sync). */
		pthread_mutex_lock(&b->mu);
		blk_worker_push_locked(b, r);
		pthread_mutex_unlock(&b->mu);
		return;
	} else if (main < 0) {
		r->what = r->type == HVABS_VIRTIO_BLK_T_IN ? "read" : "write";
		r->err = main;
	} else {
		r->filled = r->type == HVABS_VIRTIO_BLK_T_IN ? r->len : 0;
		if (r->write_through && r->type == HVABS_VIRTIO_BLK_T_OUT) {
			r->what = "write-through sync";
			r->err = r->res[1] < 0 ? r->res[1] : 0;
			r->synced = !r->err;
		}
	}
	blk_req_finish(b, r);
}

static void *reaper_main(void *p)
{
	struct hvabs_virtio_blk *b = p;
	struct io_uring_cqe *cqe;

	if (b->loop && hvabs_event_loop_thread_start(b->loop, "blk-io")) {
		hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP,
			  "%s: io_uring reaper refused by the thread-start hook; completions stop",
			  b->name);
		return NULL;
	}
	for (;;) {
		int rc = io_uring_wait_cqe(&b->ur->ring, &cqe);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc) {
			hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP, "%s: io_uring wait: %s",
				  b->name, strerror(-rc));
			return NULL;
		}
		uintptr_t ud = (uintptr_t)io_uring_cqe_get_data(cqe);
		int32_t res = cqe->res;
		io_uring_cqe_seen(&b->ur->ring, cqe);
		if (!ud)
			return NULL; /* the NOP blk_uring_fini sent */
		cqe_done(b, (struct blk_req *)(ud & ~(uintptr_t)TAG_SYNC), ud & TAG_SYNC, res);
	}
}

/* The data part as an iovec in r->iov: the count, or -1 when it does not fit. */
static int data_iov(struct blk_req *r)
{
	if (r->type == HVABS_VIRTIO_BLK_T_IN)
		return hvabs_virtq_chain_iov(&r->c, HVABS_VIRTQ_WRITABLE, 0, r->len, r->iov,
					     BLK_URING_IOV);
	return hvabs_virtq_chain_iov(&r->c, HVABS_VIRTQ_READABLE, BLK_HDR_SIZE, r->len, r->iov,
				     BLK_URING_IOV);
}

static void prep(struct hvabs_virtio_blk *b, struct blk_req *r, int n, struct io_uring_sqe *sqe[2])
{
	int fd = b->f.fd;
	uint64_t off = r->sector * BLK_SECTOR;

	if (r->type == HVABS_VIRTIO_BLK_T_FLUSH)
		io_uring_prep_fsync(sqe[0], fd, IORING_FSYNC_DATASYNC);
	else if (r->type == HVABS_VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe[0], fd, r->iov, (unsigned)n, off);
	else
		io_uring_prep_writev(sqe[0], fd, r->iov, (unsigned)n, off);
	io_uring_sqe_set_data(sqe[0], r);
	if (sqe[1]) {
		/* §5.2.6.2 write-through: the sync starts only after the write succeeded. */
		io_uring_sqe_set_flags(sqe[0], IOSQE_IO_LINK);
		io_uring_prep_fsync(sqe[1], fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data(sqe[1], (void *)((uintptr_t)r | TAG_SYNC));
	}
}

bool blk_uring_submit(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	struct blk_uring *u = b->ur;
	bool linked = r->write_through && r->type == HVABS_VIRTIO_BLK_T_OUT;
	struct io_uring_sqe *sqe[2] = {NULL, NULL};
	int n = 0;

	if (b->f.direct)
		return false; /* O_DIRECT needs the worker's aligned bounce buffer */
	if (r->type != HVABS_VIRTIO_BLK_T_FLUSH) {
		if (r->type != HVABS_VIRTIO_BLK_T_IN && r->type != HVABS_VIRTIO_BLK_T_OUT)
			return false;
		n = data_iov(r);
		if (n < 0)
			return false;
	}
	pthread_mutex_lock(&u->mu);
	if (io_uring_sq_space_left(&u->ring) < 2u)
		(void)io_uring_submit(&u->ring);
	if (io_uring_sq_space_left(&u->ring) < 2u) {
		pthread_mutex_unlock(&u->mu);
		return false;
	}
	sqe[0] = io_uring_get_sqe(&u->ring);
	if (linked)
		sqe[1] = io_uring_get_sqe(&u->ring);
	r->pending = linked ? 2 : 1;
	r->res[0] = r->res[1] = 0;
	prep(b, r, n, sqe);
	int rc = io_uring_submit(&u->ring);
	pthread_mutex_unlock(&u->mu);
	/* On failure the SQEs stay queued and go with the next submission. */
	if (rc < 0)
		REQ_WARN(b, "%s: io_uring submit: %s", b->name, strerror(-rc));
	return true;
}

int blk_uring_init(struct hvabs_virtio_blk *b)
{
	struct blk_uring *u = calloc(1, sizeof(*u));
	/* Room for every request of every queue, two SQEs each. */
	unsigned entries = 8;
	while (entries < 2u * b->qsize * b->nq && entries < 4096u)
		entries *= 2;
	if (!u)
		return -ENOMEM;
	int rc = io_uring_queue_init(entries, &u->ring, 0);
	if (rc) {
		hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP,
			  "%s: io_uring is not available here (%s): use the sync engine", b->name,
			  strerror(-rc));
		free(u);
		return rc;
	}
	pthread_mutex_init(&u->mu, NULL);
	b->ur = u;
	rc = pthread_create(&u->reaper, NULL, reaper_main, b);
	if (rc) {
		io_uring_queue_exit(&u->ring);
		pthread_mutex_destroy(&u->mu);
		free(u);
		b->ur = NULL;
		return -rc;
	}
	(void)pthread_setname_np(u->reaper, "blk-uring");
	return 0;
}

void blk_uring_fini(struct hvabs_virtio_blk *b)
{
	struct blk_uring *u = b->ur;

	if (!u)
		return;
	/* Nothing is in flight (blk_drain_all): a NOP with no request ends the reaper. */
	pthread_mutex_lock(&u->mu);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, NULL);
	(void)io_uring_submit(&u->ring);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->reaper, NULL);
	io_uring_queue_exit(&u->ring);
	pthread_mutex_destroy(&u->mu);
	free(u);
	b->ur = NULL;
}

#else

int blk_uring_init(struct hvabs_virtio_blk *b)
{
	hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP,
		  "%s: this build has no io_uring engine (liburing was not found): use the sync "
		  "engine",
		  b->name);
	return -ENOSYS;
}

void blk_uring_fini(struct hvabs_virtio_blk *b)
{
	(void)b;
}

bool blk_uring_submit(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	(void)b;
	(void)r;
	return false;
}

#endif
