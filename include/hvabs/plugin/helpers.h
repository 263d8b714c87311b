/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file plugin/helpers.h
 * @brief Small inline helpers for backend plugins: logging through the
 *        host table, log rate limits, the backend option string.
 *
 * Backends do not link libhvabs, so what they share with the core lives here
 * as inline functions. Everything is plain ISO C11 (no POSIX, no feature
 * macros needed) and compiles as C++ too.
 *
 * @defgroup plugin_helpers Backend helpers
 * @brief Logging, rate limits and option parsing for backend plugins.
 * @{
 */
#ifndef HVABS_PLUGIN_HELPERS_H
#define HVABS_PLUGIN_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Formats and logs one line through @p host (for backends).
 * @param host the core's table.
 * @param level severity.
 * @param component name of the backend.
 * @param fmt printf-style format.
 */
static inline HVABS_PRINTF(4, 5) void hvabs_host_logf(const struct hvabs_host *host,
						      enum hvabs_log_level level,
						      const char *component, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!host || !host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	host->log(host->log_opaque, level, component, buf);
}

/**
 * Decides whether one more line may go out at time @p now_ns under @p rl
 * (the logic of hvabs_ratelimit_allow(), for backends, which do not link
 * libhvabs). Lock-free and thread-safe. A clock that goes backwards opens a
 * new window (the unsigned difference is then huge), so it never silences a
 * source for long.
 * @param rl the limit.
 * @param now_ns the time in nanoseconds.
 * @param suppressed out, may be NULL: lines dropped before this one, when allowed.
 * @return 1 if the line may go out, 0 if not.
 */
static inline int hvabs_ratelimit_check(struct hvabs_ratelimit *rl, uint64_t now_ns,
					uint32_t *suppressed)
{
	uint64_t interval = (rl->interval_ms ? rl->interval_ms : 5000u) * 1000000ull;
	uint32_t burst = rl->burst ? rl->burst : 10u;
	uint64_t start = __atomic_load_n(&rl->window_start_ns, __ATOMIC_ACQUIRE);

	if (start == 0 || now_ns - start >= interval) {
		/* Whoever wins the exchange opens the new window; losers count in it. */
		if (__atomic_compare_exchange_n(&rl->window_start_ns, &start, now_ns, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			__atomic_store_n(&rl->used, 0, __ATOMIC_RELEASE);
	}
	if (__atomic_fetch_add(&rl->used, 1, __ATOMIC_ACQ_REL) < burst) {
		uint32_t dropped = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_ACQ_REL);
		if (suppressed)
			*suppressed = dropped;
		return 1;
	}
	__atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_ACQ_REL);
	return 0;
}

/**
 * The time for hvabs_ratelimit_check() in plugins: ISO C's timespec_get()
 * (wall clock; a jump only opens a new window early).
 * @return nanoseconds.
 */
static inline uint64_t hvabs_host_now_ns(void)
{
	struct timespec ts;

	if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/**
 * Formats and logs one line through @p host unless @p rl says too many went
 * out recently; the next line that does go out says how many were dropped.
 * For messages a guest can provoke (backends).
 * @param host the core's table.
 * @param rl the rate limit for this message source.
 * @param level severity.
 * @param component name of the backend.
 * @param fmt printf-style format.
 */
static inline HVABS_PRINTF(5, 6) void hvabs_host_logf_limited(const struct hvabs_host *host,
							      struct hvabs_ratelimit *rl,
							      enum hvabs_log_level level,
							      const char *component,
							      const char *fmt, ...)
{
	uint32_t dropped = 0;
	char buf[512];
	va_list ap;

	if (!host || !host->log)
		return;
	if (!hvabs_ratelimit_check(rl, hvabs_host_now_ns(), &dropped))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dropped)
		hvabs_host_logf(host, level, component, "%s (%u similar lines suppressed)", buf,
				dropped);
	else
		host->log(host->log_opaque, level, component, buf);
}

/**
 * Called by hvabs_options_foreach() for each option.
 * @param ctx the caller's context.
 * @param key the option's name.
 * @param val its value (after '='), or NULL for a bare flag.
 * @return 0 to go on, or a negative errno to stop with it.
 */
typedef int (*hvabs_option_fn)(void *ctx, const char *key, const char *val);

/**
 * Walks backend options (hvabs_be_vm_config::options, `key[=value],...`),
 * calling @p fn for each until one returns an error. Empty items (",,") are
 * skipped.
 * @param opts the option string, or NULL.
 * @param fn the callback.
 * @param ctx its context.
 * @return 0, the first error @p fn returned, or -ENOMEM.
 */
static inline int hvabs_options_foreach(const char *opts, hvabs_option_fn fn, void *ctx)
{
	size_t n;
	char *copy, *t;
	int rc = 0;

	if (!opts || !*opts)
		return 0;
	n = strlen(opts) + 1;
	copy = (char *)malloc(n);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, opts, n);
	for (t = copy; t && !rc;) {
		char *next = strchr(t, ',');
		char *val;

		if (next)
			*next++ = '\0';
		if (*t) {
			val = strchr(t, '=');
			if (val)
				*val++ = '\0';
			rc = fn(ctx, t, val);
		}
		t = next;
	}
	free(copy);
	return rc;
}

/** What hvabs_options_parse() passes through hvabs_options_foreach(). */
struct hvabs_options_log {
	const struct hvabs_host *host; /**< where to log */
	const char *component;	       /**< the backend's name, for the log line */
	const char *usage;	       /**< a hint appended to the line, or NULL */
	hvabs_option_fn fn;	       /**< the backend's callback */
	void *ctx;		       /**< its context */
};

/**
 * The hvabs_option_fn of hvabs_options_parse(): calls the backend's and logs
 * what it refused.
 * @param c a struct hvabs_options_log.
 * @param key the option's name.
 * @param val its value, or NULL.
 * @return what the backend's callback returned.
 */
static inline int hvabs_options_log_refusal(void *c, const char *key, const char *val)
{
	const struct hvabs_options_log *l = (const struct hvabs_options_log *)c;
	int rc = l->fn(l->ctx, key, val);

	if (rc)
		hvabs_host_logf(l->host, HVABS_LOG_ERROR, l->component, "bad option '%s%s%s'%s%s%s",
				key, val ? "=" : "", val ? val : "", l->usage ? " (" : "",
				l->usage ? l->usage : "", l->usage ? ")" : "");
	return rc;
}

/**
 * hvabs_options_foreach() for a backend's vm_create: the item @p fn refuses
 * is logged once, at error level, as "bad option 'key=value' (usage)", so a
 * backend's callback only decides.
 * @param host the host table, for the log line.
 * @param component the backend's name.
 * @param usage a hint such as "domid=N, poll_ms=N", or NULL.
 * @param opts the option string, or NULL.
 * @param fn the callback.
 * @param ctx its context.
 * @return 0, the first error @p fn returned, or -ENOMEM.
 */
static inline int hvabs_options_parse(const struct hvabs_host *host, const char *component,
				      const char *usage, const char *opts, hvabs_option_fn fn,
				      void *ctx)
{
	struct hvabs_options_log l = {host, component, usage, fn, ctx};

	return hvabs_options_foreach(opts, hvabs_options_log_refusal, &l);
}

/**
 * Parses an option value as an unsigned number (decimal, 0x hexadecimal or 0
 * octal) no larger than @p max.
 * @param s the value, or NULL.
 * @param max the largest value accepted.
 * @param out the number.
 * @return 0, or -EINVAL for anything else (a sign, spaces, junk, too large).
 */
static inline int hvabs_option_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

#ifdef __cplusplus
}
#endif

/** @} */
#endif
