/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk's sync engine: one worker thread per queue runs that queue's
 * requests in order with preadv/pwritev/fdatasync/fallocate, so the queues
 * are served in parallel and a disk that stalls stalls only its workers,
 * never the event loop or a vCPU reading the device's registers. With the
 * io_uring engine the same workers take what io_uring does not (discard,
 * write-zeroes, O_DIRECT, long chains, short transfers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_priv.h"

struct worker_arg {
	struct hvabs_virtio_blk *b;
	struct blk_queue *q;
};

static void *worker_main(void *p)
{
	struct hvabs_virtio_blk *b = ((struct worker_arg *)p)->b;
	struct blk_queue *q = ((struct worker_arg *)p)->q;

	free(p);
	/* The VMM's hook first (a seccomp filter): an I/O thread that cannot be
	 * confined does no I/O; its queue's requests wait, nothing else does. */
	if (b->loop && hvabs_event_loop_thread_start(b->loop, "blk-io")) {
		hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP,
			  "%s: I/O worker refused by the thread-start hook; its queue stops",
			  b->name);
		return NULL;
	}
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!q->jobs && !b->stopping)
			pthread_cond_wait(&q->job_cv, &b->mu);
		struct blk_req *r = q->jobs;
		if (!r)
			break;
		q->jobs = r->next;
		if (!q->jobs)
			q->jobs_tail = &q->jobs;
		pthread_mutex_unlock(&b->mu);
		blk_req_exec(b, r, q->bounce);
		blk_req_finish(b, r);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

void blk_worker_push_locked(struct hvabs_virtio_blk *b, struct blk_req *r)
{
	struct blk_queue *q = &b->q[r->queue];

	r->next = NULL;
	*q->jobs_tail = r;
	q->jobs_tail = &r->next;
	pthread_cond_signal(&q->job_cv);
}

uint32_t blk_worker_cancel_locked(struct hvabs_virtio_blk *b, struct blk_queue *q)
{
	uint32_t n = 0;

	(void)b;
	while (q->jobs) {
		struct blk_req *r = q->jobs;
		q->jobs = r->next;
		r->next = q->free;
		q->free = r;
		n++;
	}
	q->jobs_tail = &q->jobs;
	return n;
}

int blk_workers_start(struct hvabs_virtio_blk *b)
{
	for (uint32_t i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->q[i];
		struct worker_arg *a = malloc(sizeof(*a));
		q->bounce = blk_bounce_alloc();
		if (!a || !q->bounce) {
			free(a);
			return -ENOMEM;
		}
		a->b = b;
		a->q = q;
		int rc = pthread_create(&q->worker, NULL, worker_main, a);
		if (rc) {
			free(a);
			hvabs_log(b->log, HVABS_LOG_ERROR, BLK_COMP,
				  "%s: cannot start a worker: %s", b->name, strerror(rc));
			return -rc;
		}
		q->has_worker = true;
		char name[32];
		snprintf(name, sizeof(name), "blk-%.6s-q%u", b->name, i % 100u);
		name[15] = 0; /* the kernel's limit */
		(void)pthread_setname_np(q->worker, name);
	}
	return 0;
}

void blk_workers_stop(struct hvabs_virtio_blk *b)
{
	if (!b->q)
		return;
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	for (uint32_t i = 0; i < b->nq; i++)
		pthread_cond_broadcast(&b->q[i].job_cv);
	pthread_mutex_unlock(&b->mu);
	for (uint32_t i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->q[i];
		if (q->has_worker)
			pthread_join(q->worker, NULL);
		q->has_worker = false;
		free(q->bounce);
		q->bounce = NULL;
	}
}
