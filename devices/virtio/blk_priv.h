/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk internals shared by blk.c (configuration, public API),
 * blk_req.c (requests: parsing, completion), blk_io.c (the image file),
 * blk_worker.c (the sync engine's threads) and blk_uring.c (io_uring).
 *
 * Threads and locks. The event loop pops chains under the device lock and
 * hands each request to its engine; the disk I/O runs on a worker or in the
 * kernel (io_uring) with no lock held; the completion side (worker or
 * reaper thread) writes the status byte, then takes the device lock and
 * puts the chain on the used ring. b->mu guards the request lists and
 * counters below; the lock order is the device lock, then b->mu. Nothing
 * waits for the device lock while holding b->mu, so a reset or QueueReady=0
 * (device lock held) can wait on b->cv for the running requests to finish.
 */
#ifndef HVABS_DEVICES_VIRTIO_BLK_PRIV_H
#define HVABS_DEVICES_VIRTIO_BLK_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <hvabs/devices/virtio_blk.h>
#include <hvabs/log.h>

#define BLK_COMP "virtio-blk"

/* O_DIRECT alignment we use for memory, offsets and lengths: safe for 512 and 4K devices. */
#define BLK_DIRECT_ALIGN 4096u
/* Bounce buffer (O_DIRECT) and zero-write chunk size. */
#define BLK_BOUNCE    (1u << 20)
#define BLK_HDR_SIZE  16u
#define BLK_SECTOR    512u
#define BLK_DWZ_SIZE  16u /* struct virtio_blk_discard_write_zeroes */
#define BLK_DWZ_UNMAP 1u
/* Data segments io_uring takes in one readv/writev; longer chains go to the worker. */
#define BLK_URING_IOV 64

struct blk_file {
	int fd;
	bool ro;
	bool direct;
	bool is_bdev;
	uint64_t size;		   /* bytes the guest may address: capacity * 512 */
	uint32_t lbs;		   /* logical block size reported as blk_size */
	atomic_bool punch_ok;	   /* FALLOC_FL_PUNCH_HOLE works here */
	atomic_bool zero_range_ok; /* FALLOC_FL_ZERO_RANGE works here */
};

/* One request between pop and push. */
struct blk_req {
	struct blk_req *next;
	struct hvabs_virtq_chain c;
	uint32_t queue;
	uint32_t type;
	uint64_t sector;
	uint64_t len;	    /* data bytes (ranges for discard / write-zeroes) */
	uint32_t nranges;   /* discard / write-zeroes */
	bool write_through; /* FLUSH not negotiated when it was popped */
	bool synced;	    /* the write-through sync was made */
	uint8_t status;
	int err;	  /* negative errno of the failed step */
	const char *what; /* that step, for the log line */
	uint64_t filled;  /* data bytes written into the chain */
	uint8_t ranges[HVABS_VIRTIO_BLK_MAX_SEG][BLK_DWZ_SIZE];
	/* io_uring */
	int pending;
	int32_t res[2];
	struct iovec iov[BLK_URING_IOV];
};

struct blk_queue {
	struct blk_req *reqs;	      /* qsize requests */
	struct hvabs_virtq_seg *segs; /* qsize segments for each */
	struct blk_req *free;
	struct blk_req *done, **done_tail; /* finished, not yet on the used ring */
	struct blk_req *jobs, **jobs_tail; /* waiting for the worker */
	uint32_t running;		   /* handed to an engine, not yet finished */
	bool starved;			   /* no free request: kick the queue on completion */
	pthread_cond_t job_cv;
	pthread_t worker;
	bool has_worker;
	uint8_t *bounce; /* the worker's O_DIRECT / zero buffer */
};

struct blk_uring;

struct hvabs_virtio_blk {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci instead, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_event_loop *loop; /* its thread-start hook runs first in every I/O thread */
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	struct blk_file f;
	uint32_t qsize;
	uint32_t nq;
	uint32_t engine;
	uint64_t features;  /* negotiated */
	bool write_through; /* FLUSH not negotiated: sync before completing changes */
	char id[HVABS_VIRTIO_BLK_ID_BYTES];
	uint8_t config[64];
	char name[24];
	struct hvabs_virtio_blk_stats st;
	struct blk_queue *q;
	pthread_mutex_t mu;  /* guards the lists and counters of q, and what follows */
	pthread_cond_t cv;   /* a running count or completers changed */
	uint32_t completers; /* threads between finishing a request and leaving the device lock */
	bool closing;	     /* destroy: take no more requests */
	bool stopping;	     /* destroy: workers exit */
	struct blk_uring *ur;
};

#define REQ_WARN(b, ...)                                                                           \
	hvabs_log_ratelimited((b)->log, &(b)->rl, HVABS_LOG_WARN, BLK_COMP, __VA_ARGS__)

/* blk_io.c: the image. Each caller passes its own BLK_BOUNCE-byte aligned buffer. */
int blk_file_open(struct blk_file *f, const char *path, bool ro, bool direct,
		  const struct hvabs_logger *log);
void blk_file_close(struct blk_file *f);
uint8_t *blk_bounce_alloc(void);
/* Reads @p len bytes at @p off into the chain's writable part, from its start. */
int blk_file_read(struct blk_file *f, uint8_t *bounce, const struct hvabs_virtq_chain *c,
		  uint64_t off, uint64_t len);
/* Writes @p len bytes at @p off from the chain's readable part, from @p from. */
int blk_file_write(struct blk_file *f, uint8_t *bounce, const struct hvabs_virtq_chain *c,
		   uint64_t from, uint64_t off, uint64_t len);
int blk_file_flush(struct blk_file *f);
int blk_file_discard(struct blk_file *f, uint64_t off, uint64_t len);
int blk_file_write_zeroes(struct blk_file *f, uint8_t *bounce, uint64_t off, uint64_t len,
			  bool unmap);

/* blk_req.c */
int blk_queues_init(struct hvabs_virtio_blk *b);
void blk_queues_fini(struct hvabs_virtio_blk *b);
int blk_queue_notify(void *opaque, uint32_t index, struct hvabs_virtq *q);
/* Carries out a request synchronously: the worker's job. No lock held. */
void blk_req_exec(struct hvabs_virtio_blk *b, struct blk_req *r, uint8_t *bounce);
/* The disk part is over (r->err says how): completes the request. No lock held. */
void blk_req_finish(struct hvabs_virtio_blk *b, struct blk_req *r);
/* Waits for queue @p index's running requests and forgets every request it holds. */
void blk_queue_quiesce(struct hvabs_virtio_blk *b, uint32_t index);
/* Device lock held: waits until no request runs (none starts meanwhile). */
void blk_wait_idle(struct hvabs_virtio_blk *b);
/* destroy: waits until no request runs and no thread is completing one. */
void blk_drain_all(struct hvabs_virtio_blk *b);

/* blk_worker.c: one thread per queue. */
int blk_workers_start(struct hvabs_virtio_blk *b);
void blk_workers_stop(struct hvabs_virtio_blk *b);
/* Queues a request for its queue's worker; b->mu held. */
void blk_worker_push_locked(struct hvabs_virtio_blk *b, struct blk_req *r);
/* Drops requests still waiting for the worker of queue @p q; returns how many. b->mu held. */
uint32_t blk_worker_cancel_locked(struct hvabs_virtio_blk *b, struct blk_queue *q);

/* blk_uring.c */
int blk_uring_init(struct hvabs_virtio_blk *b);
void blk_uring_fini(struct hvabs_virtio_blk *b);
/* Submits a request; false when io_uring does not take this one (the worker does). */
bool blk_uring_submit(struct hvabs_virtio_blk *b, struct blk_req *r);

#endif
