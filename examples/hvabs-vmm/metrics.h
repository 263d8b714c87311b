/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's metrics (PUT /metrics): one JSON object per line to a file or
 * FIFO, every 60 seconds and on the FlushMetrics action, as Firecracker
 * writes them. Counters are what happened since the previous line. A FIFO
 * never blocks the VMM: a line that does not fit is dropped and counted.
 */
#ifndef HVABS_VMM_METRICS_H
#define HVABS_VMM_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

/* Firecracker's period of the metrics flush. */
#define VMM_METRICS_PERIOD_MS 60000

/*
 * Adds the running machine's cumulative counters (vCPU exits, devices) to
 * @p root; the metrics turn them into differences. Called with the API lock
 * held.
 */
typedef void (*vmm_metrics_collect_fn)(void *opaque, json_t *root);

enum vmm_api_method {
	VMM_API_GET = 0,
	VMM_API_PUT,
	VMM_API_PATCH,
	VMM_API_OTHER,
	VMM_API_METHODS,
};

struct vmm_metrics {
	pthread_mutex_t lock;
	int fd;				   /* -1 until PUT /metrics */
	json_t *requests[VMM_API_METHODS]; /* {"<resource>_count": n, "<resource>_fails": n} */
	uint64_t req_total, req_errors, lat_sum_us, lat_max_us;
	uint64_t guest_crashes; /* cumulative */
	uint64_t flushes;	/* lines written */
	uint64_t dropped;	/* lines lost to a full FIFO or a failed write (cumulative) */
	json_t *prev;		/* the cumulative counters of the previous line */
	vmm_metrics_collect_fn collect;
	void *collect_opaque;
};

void vmm_metrics_init(struct vmm_metrics *mt);
void vmm_metrics_fini(struct vmm_metrics *mt);

/* Writes the lines to @p path from now on. 0, or -1 with a reason in @p err. */
int vmm_metrics_open(struct vmm_metrics *mt, const char *path, char *err, size_t errlen);

/* Reads the machine's counters through @p fn from now on (NULL: no machine). Thread: any. */
void vmm_metrics_attach(struct vmm_metrics *mt, vmm_metrics_collect_fn fn, void *opaque);

/* Counts one API request on @p resource ("actions", "drive", ...). Thread: any. */
void vmm_metrics_request(struct vmm_metrics *mt, enum vmm_api_method method, const char *resource,
			 int status, uint64_t latency_us);

/* Counts a run of the guest that ended in a crash (panic, triple fault). */
void vmm_metrics_guest_crash(struct vmm_metrics *mt);

/*
 * Writes one line now: 1 when written, 0 when there is no metrics file yet
 * (as Firecracker, not an error), -1 with a reason in @p err when the line
 * was dropped. Thread: any; @p collect runs on the caller's thread.
 */
int vmm_metrics_flush(struct vmm_metrics *mt, char *err, size_t errlen);

#endif
