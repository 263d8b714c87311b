/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's log (PUT /logger): lines to stderr until a log file or FIFO is
 * set, then there, filtered by a level, each optionally prefixed with its
 * level and its origin (file:line). A FIFO never blocks the VMM: a line that
 * does not fit is dropped and counted.
 */
#ifndef HVABS_VMM_LOGGER_H
#define HVABS_VMM_LOGGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvabs/log.h>

#include "config.h" /* enum vmm_log_level */

struct vmm_log {
	pthread_mutex_t lock;
	int fd; /* -1: stderr in the VMM's own format */
	enum vmm_log_level level;
	bool show_level;
	bool show_origin;
	uint64_t dropped; /* lines a full FIFO or a failed write lost */
	uint64_t lines;	  /* lines written */
};

void vmm_log_init(struct vmm_log *lg);
void vmm_log_fini(struct vmm_log *lg);

/*
 * Sends the log to @p cfg's path (a file, created if missing and appended
 * to, or a FIFO) with its level and prefixes, from now on. 0, or -1 with a reason in @p err; nothing changes then.
 */
int vmm_log_open(struct vmm_log *lg, const struct vmm_logger *cfg, char *err, size_t errlen);

/* One line; @p file and @p line are its origin (may be NULL/0). Thread: any. */
void vmm_logf(struct vmm_log *lg, enum vmm_log_level level, const char *file, int line,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define VMM_LOG(lg, lvl, ...) vmm_logf((lg), (lvl), __FILE__, __LINE__, __VA_ARGS__)

/* An hvabs_log_fn that passes the library's lines on (opaque: the vmm_logger). */
void vmm_log_hvabs(void *opaque, enum hvabs_log_level level, const char *comp, const char *msg);

/* Opens @p path for lines that must never block: O_NONBLOCK, a FIFO read-write. -1 + errno. */
int vmm_open_nonblock(const char *path);

#endif
