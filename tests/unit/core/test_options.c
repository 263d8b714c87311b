/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit.options.mock: what a user sees when a backend refuses a backend
 * option (hvabs_options_parse() in plugin/helpers.h): vm_create fails with
 * -EINVAL and exactly one error line names the item, with its value.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>

struct lines {
	unsigned errors;
	char last[256];
};

static void capture(void *opaque, enum hvabs_log_level level, const char *component,
		    const char *msg)
{
	struct lines *l = opaque;

	if (level != HVABS_LOG_ERROR || strcmp(component, "mock"))
		return;
	l->errors++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

static int create(struct lines *l, const char *options)
{
	struct hvabs_backend_opts o = {.logger = {capture, l, HVABS_LOG_DEBUG}};
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = options};
	struct hvabs_backend *be;
	struct hvabs_vm *vm;

	memset(l, 0, sizeof(*l));
	assert_int_equal(hvabs_backend_open("mock", &o, &be), 0);
	int rc = hvabs_vm_create(be, &cfg, &vm);
	if (!rc)
		hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	return rc;
}

static void refused_item_is_logged_once(void **state)
{
	struct lines l;

	(void)state;
	assert_int_equal(create(&l, "nomsi,bogus=1,norecord"), -EINVAL);
	assert_int_equal(l.errors, 1);
	assert_string_equal(l.last, "bad option 'bogus=1'");
	assert_int_equal(create(&l, "max_vcpus=x"), -EINVAL);
	assert_string_equal(l.last, "bad option 'max_vcpus=x'");
	assert_int_equal(create(&l, "nomsi=1"), -EINVAL); /* a flag given a value */
	assert_string_equal(l.last, "bad option 'nomsi=1'");
}

static void accepted_options_log_nothing(void **state)
{
	struct lines l;

	(void)state;
	assert_int_equal(create(&l, "nomsi,,norecord,max_vcpus=2"), 0);
	assert_int_equal(l.errors, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refused_item_is_logged_once),
	    cmocka_unit_test(accepted_options_log_nothing),
	};
	return cmocka_run_group_tests_name("unit.options.mock", tests, NULL, NULL);
}
