/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file event.h
 * @brief An epoll event loop for device back ends.
 *
 * One thread runs hvabs_event_loop_run(); callbacks run on it. Sources can be
 * added and removed from any thread, including from a callback. Removing a
 * source from another thread waits until its callback is not running, so the
 * caller may free the callback's data as soon as hvabs_event_remove()
 * returns.
 *
 * @defgroup event Event loop
 * @brief File descriptors and timers serviced by one thread.
 * @{
 */
#ifndef HVABS_EVENT_H
#define HVABS_EVENT_H

#include <stdint.h>

#include "compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An event loop. */
struct hvabs_event_loop;
/** One source (fd or timer) of a loop. */
struct hvabs_event;

/** @name Event bits
 * @{ */
#define HVABS_EVENT_IN	0x001u /**< Readable. */
#define HVABS_EVENT_OUT 0x004u /**< Writable. */
#define HVABS_EVENT_ERR 0x008u /**< Error condition (always reported). */
#define HVABS_EVENT_HUP 0x010u /**< Hang-up (always reported). */
/** @} */

/**
 * A source's callback; runs on the loop thread.
 * @param opaque as registered.
 * @param events HVABS_EVENT_* bits that fired (#HVABS_EVENT_IN for timers).
 */
typedef void (*hvabs_event_fn)(void *opaque, uint32_t events);

/**
 * Creates a loop. Thread: any.
 * @param out the loop.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_loop_create(struct hvabs_event_loop **out);

/**
 * Destroys a loop that is not running, with its remaining sources (their
 * fds are not closed). NULL is a no-op.
 * @param loop the loop.
 */
HVABS_API void hvabs_event_loop_destroy(struct hvabs_event_loop *loop);

/**
 * Watches @p fd (level-triggered). The caller keeps ownership of the fd and
 * must remove the source before closing it. Thread: any.
 * @param loop the loop.
 * @param fd the file descriptor.
 * @param events HVABS_EVENT_IN and/or HVABS_EVENT_OUT.
 * @param fn callback.
 * @param opaque its argument.
 * @param out may be NULL: the source, for hvabs_event_remove().
 * @return 0 or negative errno.
 * @retval -EEXIST @p fd is already watched by this loop.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_add(struct hvabs_event_loop *loop, int fd,
					       uint32_t events, hvabs_event_fn fn, void *opaque,
					       struct hvabs_event **out);

/**
 * Changes the events a source waits for. Thread: any.
 * @param ev the source.
 * @param events HVABS_EVENT_IN and/or HVABS_EVENT_OUT.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_modify(struct hvabs_event *ev, uint32_t events);

/**
 * Adds a timer: first expiry after @p first_ns, then every @p period_ns
 * (0 = one-shot). Thread: any.
 * @param loop the loop.
 * @param first_ns delay before the first expiry (0 is treated as 1 ns).
 * @param period_ns period, or 0.
 * @param fn callback.
 * @param opaque its argument.
 * @param out may be NULL: the source.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_timer_add(struct hvabs_event_loop *loop,
						     uint64_t first_ns, uint64_t period_ns,
						     hvabs_event_fn fn, void *opaque,
						     struct hvabs_event **out);

/**
 * Removes a source. From another thread, waits until its callback is not
 * running. NULL is a no-op. Thread: any.
 * @param ev the source.
 */
HVABS_API void hvabs_event_remove(struct hvabs_event *ev);

/**
 * Runs the loop on the calling thread until hvabs_event_loop_stop().
 * @param loop the loop.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_loop_run(struct hvabs_event_loop *loop);

/**
 * Waits up to @p timeout_ms (-1 = forever) and dispatches what fired.
 * @param loop the loop.
 * @param timeout_ms how long to wait.
 * @return number of callbacks run, or negative errno.
 */
HVABS_API int hvabs_event_loop_run_once(struct hvabs_event_loop *loop, int timeout_ms);

/**
 * Makes hvabs_event_loop_run() return after the current dispatch.
 * Thread: any, async-signal-safe.
 * @param loop the loop.
 */
HVABS_API void hvabs_event_loop_stop(struct hvabs_event_loop *loop);

/**
 * A thread-start hook: runs first in every thread the library starts for
 * the devices served by a loop (disk I/O workers, for instance), before the
 * thread does any work. A VMM installs its seccomp filter, CPU affinity or
 * thread name here.
 * @param opaque as given to hvabs_event_loop_set_thread_start().
 * @param kind what the thread is for, e.g. "blk-io"; never NULL.
 * @return 0 to go on; negative errno and the thread ends at once, without
 *         doing its work (the device then fails the requests it would have
 *         served), so that no thread runs outside the VMM's sandbox.
 */
typedef int (*hvabs_thread_start_fn)(void *opaque, const char *kind);

/**
 * Sets the thread-start hook of the devices served by @p loop. Call it
 * before creating the devices: threads started earlier do not run it.
 * Thread: the one that creates the devices.
 * @param loop the loop.
 * @param fn the hook, or NULL for none.
 * @param opaque its argument.
 */
HVABS_API void hvabs_event_loop_set_thread_start(struct hvabs_event_loop *loop,
						 hvabs_thread_start_fn fn, void *opaque);

/**
 * What a thread the library starts for a device calls first: runs the
 * loop's thread-start hook, if any. Device code only.
 * Thread: the new thread itself.
 * @param loop the loop that serves the device.
 * @param kind what the thread is for, e.g. "blk-io".
 * @return 0, or the hook's negative errno: then the thread must end without
 *         doing its work.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_event_loop_thread_start(struct hvabs_event_loop *loop,
							     const char *kind);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
