/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: handler, levels, one line per message, rate limiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <hvabs/log.h>

struct sink {
	int n;
	enum hvabs_log_level level;
	char comp[32];
	char msg[256];
};

static void handler(void *o, enum hvabs_log_level level, const char *comp, const char *msg)
{
	struct sink *s = o;

	s->n++;
	s->level = level;
	snprintf(s->comp, sizeof(s->comp), "%s", comp);
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void handler_and_levels(void **state)
{
	struct sink s = {0};
	struct hvabs_logger lg = {.fn = handler, .opaque = &s, .max_level = HVABS_LOG_INFO};

	(void)state;
	hvabs_log(&lg, HVABS_LOG_WARN, "uart", "lost %d bytes\n", 3);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.level, HVABS_LOG_WARN);
	assert_string_equal(s.comp, "uart");
	assert_string_equal(s.msg, "lost 3 bytes"); /* newline stripped */
	hvabs_log(&lg, HVABS_LOG_DEBUG, "uart", "noise");
	assert_int_equal(s.n, 1);
	assert_true(hvabs_log_enabled(&lg, HVABS_LOG_INFO));
	assert_false(hvabs_log_enabled(&lg, HVABS_LOG_DEBUG));
	hvabs_log(&lg, HVABS_LOG_ERROR, NULL, "x");
	assert_string_equal(s.comp, "core");
	/* The stderr default honours HVABS_LOG. */
	setenv("HVABS_LOG", "debug", 1);
	assert_true(hvabs_log_enabled(NULL, HVABS_LOG_DEBUG));
	setenv("HVABS_LOG", "error", 1);
	assert_false(hvabs_log_enabled(NULL, HVABS_LOG_WARN));
	unsetenv("HVABS_LOG");
	assert_true(hvabs_log_enabled(NULL, HVABS_LOG_WARN));
	assert_false(hvabs_log_enabled(NULL, HVABS_LOG_INFO));
}

static void rate_limit(void **state)
{
	struct sink s = {0};
	struct hvabs_logger lg = {.fn = handler, .opaque = &s, .max_level = HVABS_LOG_DEBUG};
	struct hvabs_ratelimit rl = {.burst = 3, .interval_ms = 60000};
	uint32_t dropped = 99;

	(void)state;
	for (int i = 0; i < 10; i++)
		hvabs_log_ratelimited(&lg, &rl, HVABS_LOG_WARN, "virtio", "bad chain %d", i);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.msg, "bad chain 2");
	/* A new window reports how many were dropped before letting one through. */
	struct hvabs_ratelimit rl2 = {.burst = 1, .interval_ms = 1};
	assert_true(hvabs_ratelimit_allow(&rl2, &dropped));
	assert_int_equal(dropped, 0);
	assert_false(hvabs_ratelimit_allow(&rl2, NULL));
	assert_false(hvabs_ratelimit_allow(&rl2, NULL));
	struct timespec ts = {0, 3 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_true(hvabs_ratelimit_allow(&rl2, &dropped));
	assert_int_equal(dropped, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(handler_and_levels),
	    cmocka_unit_test(rate_limit),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
