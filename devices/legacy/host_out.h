/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output to a host descriptor that never blocks the caller: a bounded ring
 * buffer in front of a non-blocking write. Bytes that find the buffer full
 * are dropped and counted (a console that cannot keep up loses output; the
 * guest never waits for the host's terminal). The owner flushes when its
 * event loop reports the descriptor writable.
 *
 * The caller's descriptor keeps its flags. How a write is made non-blocking
 * depends on what the descriptor is, decided once at host_out_init():
 * - a regular file or block device: plain write(2), which does not wait on
 *   a reader;
 * - a socket: send(2) with MSG_DONTWAIT | MSG_NOSIGNAL;
 * - already O_NONBLOCK: plain write(2) (the caller chose non-blocking);
 * - anything else (a pipe, FIFO or terminal): our own open file description
 *   of the same object, opened through /proc/self/fd with O_NONBLOCK, so
 *   the caller's description (often shared with a shell, or with the VMM's
 *   own stderr) is untouched;
 * - when that reopening fails (no /proc in a jail, a FIFO without reader):
 *   O_NONBLOCK is set on the caller's description, a warning says so, and
 *   the old flags are restored by host_out_fini().
 *
 * Not thread-safe: the owner serialises calls with its own lock.
 */
#ifndef HVABS_DEVICES_HOST_OUT_H
#define HVABS_DEVICES_HOST_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvabs/log.h>

/* How host_out_init() made the descriptor's writes non-blocking. */
enum host_out_how {
	HOST_OUT_PLAIN,	  /* regular file, block device, or already O_NONBLOCK */
	HOST_OUT_SEND,	  /* a socket: send(MSG_DONTWAIT) */
	HOST_OUT_REOPEN,  /* our own non-blocking open file description */
	HOST_OUT_SETFLAG, /* O_NONBLOCK set on the caller's description */
};

struct host_out {
	int fd;	 /* the caller's descriptor */
	int wfd; /* the one written: fd, or our reopening */
	enum host_out_how how;
	int saved_fl; /* HOST_OUT_SETFLAG: flags to restore */
	uint8_t *buf;
	size_t cap, head, len;
	bool broken;	  /* a write failed: everything is discarded from now on */
	uint64_t dropped; /* bytes lost: buffer full, or the descriptor failed */
};

/*
 * Prepares output to @p fd with a buffer of @p cap bytes (> 0). Logs through
 * @p log what it had to do. Returns 0 or negative errno.
 */
int host_out_init(struct host_out *o, int fd, size_t cap, const struct hvabs_logger *log,
		  const char *who);
/* Writes what it can without blocking, closes our reopening, restores flags. */
void host_out_fini(struct host_out *o);
/* Appends one byte; returns false when it was dropped (buffer full or broken). */
bool host_out_put(struct host_out *o, uint8_t c);
/*
 * Writes buffered bytes until the descriptor would block. Returns 0 when the
 * buffer is empty, -EAGAIN when bytes remain, or negative errno when the
 * descriptor failed (the buffer is then discarded, counted, and the output
 * broken).
 */
int host_out_flush(struct host_out *o);
/* The reader is gone (a hang-up): discard what is buffered, and all output from now on. */
void host_out_break(struct host_out *o);
/* The descriptor to wait on for writability. */
static inline int host_out_pollfd(const struct host_out *o)
{
	return o->wfd;
}

#endif
