/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file log.h
 * @brief Logging with levels, a caller-supplied handler and rate limiting.
 *
 * hvabs keeps no global logger. A struct hvabs_logger is given when a backend
 * is opened; its VMs, devices and the backend itself log through it. Without
 * a handler, lines go to stderr as `hvabs[<component>] <level>: <message>`,
 * for levels up to #HVABS_LOG_WARN, or up to the level named by the
 * `HVABS_LOG` environment variable (`error`, `warn`, `info`, `debug`).
 *
 * @defgroup log Logging
 * @brief Levels, handlers and rate limits.
 * @{
 */
#ifndef HVABS_LOG_H
#define HVABS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A log handler. Called from any thread, possibly several at once.
 * @param opaque hvabs_logger::opaque.
 * @param level severity.
 * @param component what logged: "core", "kvm", "uart", ...
 * @param msg the message, without a trailing newline.
 */
typedef void (*hvabs_log_fn)(void *opaque, enum hvabs_log_level level, const char *component,
			     const char *msg);

/** Where log lines go. A zeroed struct means the stderr default. */
struct hvabs_logger {
	hvabs_log_fn fn;		/**< Handler, or NULL for stderr. */
	void *opaque;			/**< Passed to `fn`. */
	enum hvabs_log_level max_level; /**< Lines above this level are dropped (with `fn` set). */
};

/**
 * Logs a formatted line. Thread-safe.
 * @param lg the logger, or NULL for the stderr default.
 * @param level severity.
 * @param component source of the line.
 * @param fmt printf-style format.
 */
HVABS_API HVABS_PRINTF(4, 5) void hvabs_log(const struct hvabs_logger *lg,
					    enum hvabs_log_level level, const char *component,
					    const char *fmt, ...);

/**
 * Logs a formatted line from a va_list. Thread-safe.
 * @param lg the logger, or NULL for the stderr default.
 * @param level severity.
 * @param component source of the line.
 * @param fmt printf-style format.
 * @param ap the arguments.
 */
HVABS_API void hvabs_vlog(const struct hvabs_logger *lg, enum hvabs_log_level level,
			  const char *component, const char *fmt, va_list ap);

/**
 * True when a line at @p level would be emitted (to skip costly formatting).
 * @param lg the logger, or NULL for the stderr default.
 * @param level severity.
 * @return whether the line would be emitted.
 */
HVABS_API bool hvabs_log_enabled(const struct hvabs_logger *lg, enum hvabs_log_level level);

/* struct hvabs_ratelimit is defined in types.h: backends use it too. */

/**
 * Decides whether one more line may be emitted now.
 * @param rl the limit.
 * @param suppressed out, may be NULL: lines dropped before this one, when allowed.
 * @return true if the line may be emitted.
 */
HVABS_API bool hvabs_ratelimit_allow(struct hvabs_ratelimit *rl, uint32_t *suppressed);

/**
 * Logs a formatted line unless @p rl says too many were logged recently; the
 * next line that passes says how many were dropped.
 * @param lg the logger, or NULL for the stderr default.
 * @param rl the rate limit for this message source.
 * @param level severity.
 * @param component source of the line.
 * @param fmt printf-style format.
 */
HVABS_API HVABS_PRINTF(5, 6) void hvabs_log_ratelimited(const struct hvabs_logger *lg,
							struct hvabs_ratelimit *rl,
							enum hvabs_log_level level,
							const char *component, const char *fmt,
							...);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
