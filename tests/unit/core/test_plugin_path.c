/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where hvabs_backend_open() looks for a plugin by name: beside libhvabs
 * first (the build tree's core/hvabs links to backends/), then
 * HVABS_BACKEND_PATH, then the configured directory; no_install_dir leaves
 * out the first and the last. The "not found" message lists every place in
 * that order.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>

static char tmpdir[] = "/tmp/hvabs-plugin-path-XXXXXX";
static char err[4096];

static int make_dir(void **state)
{
	char link[PATH_MAX];

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	/* The mock under two names: its own, and one only this directory has. */
	snprintf(link, sizeof(link), "%s/hvabs-mock.so", tmpdir);
	if (symlink(HVABS_TEST_BACKEND_DIR "/hvabs-mock.so", link))
		return -1;
	snprintf(link, sizeof(link), "%s/hvabs-elsewhere.so", tmpdir);
	return symlink(HVABS_TEST_BACKEND_DIR "/hvabs-mock.so", link);
}

static int remove_dir(void **state)
{
	char link[PATH_MAX];

	(void)state;
	snprintf(link, sizeof(link), "%s/hvabs-mock.so", tmpdir);
	unlink(link);
	snprintf(link, sizeof(link), "%s/hvabs-elsewhere.so", tmpdir);
	unlink(link);
	return rmdir(tmpdir);
}

static const char *open_path(const char *name, const struct hvabs_backend_opts *o)
{
	static char path[PATH_MAX];
	struct hvabs_backend *be;

	if (hvabs_backend_open(name, o, &be))
		return NULL;
	snprintf(path, sizeof(path), "%s", hvabs_backend_path(be));
	hvabs_backend_close(be);
	return path;
}

/* With no environment at all the build tree's library finds its own plugins. */
static void beside_the_library(void **state)
{
	(void)state;
	unsetenv("HVABS_BACKEND_PATH");
	const char *p = open_path("mock", NULL);
	assert_non_null(p);
	assert_string_equal(p, HVABS_TEST_CORE_DIR "/hvabs/hvabs-mock.so");
}

/* The library's own plugin wins over a same-named one on HVABS_BACKEND_PATH,
 * and a name only HVABS_BACKEND_PATH has is found there. */
static void library_then_environment(void **state)
{
	char want[PATH_MAX];

	(void)state;
	setenv("HVABS_BACKEND_PATH", tmpdir, 1);
	const char *p = open_path("mock", NULL);
	assert_non_null(p);
	assert_string_equal(p, HVABS_TEST_CORE_DIR "/hvabs/hvabs-mock.so");
	snprintf(want, sizeof(want), "%s/hvabs-elsewhere.so", tmpdir);
	p = open_path("elsewhere", NULL);
	assert_non_null(p);
	assert_string_equal(p, want);
	unsetenv("HVABS_BACKEND_PATH");
}

static void not_found_lists_the_order(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
	char env_cand[PATH_MAX];

	(void)state;
	setenv("HVABS_BACKEND_PATH", tmpdir, 1);
	assert_int_equal(hvabs_backend_open("nosuch", &o, &be), -ENOENT);
	unsetenv("HVABS_BACKEND_PATH");
	snprintf(env_cand, sizeof(env_cand), "%s/hvabs-nosuch.so", tmpdir);
	const char *own = strstr(err, HVABS_TEST_CORE_DIR "/hvabs/hvabs-nosuch.so");
	const char *env = strstr(err, env_cand);
	const char *conf = strstr(err, HVABS_TEST_CONFIGURED_DIR "/hvabs-nosuch.so");
	assert_non_null(own);
	assert_non_null(env);
	assert_non_null(conf);
	assert_true(own < env && env < conf);
}

/* no_install_dir: only the caller's search path. */
static void only_the_search_path(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_backend_opts o = {
	    .errbuf = err, .errbuf_len = sizeof(err), .search_path = tmpdir, .no_install_dir = 1};
	char want[PATH_MAX];

	(void)state;
	snprintf(want, sizeof(want), "%s/hvabs-mock.so", tmpdir);
	const char *p = open_path("mock", &o);
	assert_non_null(p);
	assert_string_equal(p, want);
	assert_int_equal(hvabs_backend_open("nosuch", &o, &be), -ENOENT);
	assert_null(strstr(err, HVABS_TEST_CORE_DIR));
	assert_null(strstr(err, HVABS_TEST_CONFIGURED_DIR "/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(beside_the_library),
	    cmocka_unit_test(library_then_environment),
	    cmocka_unit_test(not_found_lists_the_order),
	    cmocka_unit_test(only_the_search_path),
	};

	return cmocka_run_group_tests_name("plugin-path", tests, make_dir, remove_dir);
}
