/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: a caller-supplied handler or stderr, and a lock-free rate limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hvabs/plugin/helpers.h"
#include "priv.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The default threshold comes from HVABS_LOG; read each time so tests can change it. */
static enum hvabs_log_level env_level(void)
{
	const char *s = getenv("HVABS_LOG");

	if (!s || !*s)
		return HVABS_LOG_WARN;
	for (int i = 0; i <= HVABS_LOG_DEBUG; i++)
		if (!strcasecmp(s, level_names[i]))
			return (enum hvabs_log_level)i;
	return HVABS_LOG_WARN;
}

bool hvabs_log_enabled(const struct hvabs_logger *lg, enum hvabs_log_level level)
{
	if (lg && lg->fn)
		return level <= lg->max_level;
	return level <= env_level();
}

void hvabs_vlog(const struct hvabs_logger *lg, enum hvabs_log_level level, const char *component,
		const char *fmt, va_list ap)
{
	char buf[1024];
	int lvl = (int)level;

	if (!hvabs_log_enabled(lg, level))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Handlers get one line without the newline, however the caller wrote it. */
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (!component)
		component = CORE;
	if (lg && lg->fn) {
		lg->fn(lg->opaque, level, component, buf);
		return;
	}
	if (lvl < 0 || lvl > HVABS_LOG_DEBUG)
		lvl = HVABS_LOG_DEBUG;
	/* One fprintf per line: stdio locks the stream, so lines from threads do not mix. */
	fprintf(stderr, "hvabs[%s] %s: %s\n", component, level_names[lvl], buf);
}

void hvabs_log(const struct hvabs_logger *lg, enum hvabs_log_level level, const char *component,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hvabs_vlog(lg, level, component, fmt, ap);
	va_end(ap);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool hvabs_ratelimit_allow(struct hvabs_ratelimit *rl, uint32_t *suppressed)
{
	return hvabs_ratelimit_check(rl, mono_ns(), suppressed) != 0;
}

void hvabs_log_ratelimited(const struct hvabs_logger *lg, struct hvabs_ratelimit *rl,
			   enum hvabs_log_level level, const char *component, const char *fmt, ...)
{
	uint32_t dropped = 0;
	va_list ap;

	if (!hvabs_log_enabled(lg, level) || !hvabs_ratelimit_allow(rl, &dropped))
		return;
	if (dropped)
		hvabs_log(lg, level, component, "(%u similar messages suppressed)", dropped);
	va_start(ap, fmt);
	hvabs_vlog(lg, level, component, fmt, ap);
	va_end(ap);
}

void core_host_log(void *opaque, enum hvabs_log_level level, const char *component, const char *msg)
{
	const struct hvabs_backend *be = opaque;

	hvabs_log(be ? &be->logger : NULL, level, component, "%s", msg);
}
