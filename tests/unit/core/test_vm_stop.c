#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* SPDX-License-Identifier: Apache-2.0 */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/*
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * hvabs_vm_request_stop() tells the backend why (the optional vm_stop op),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * on the mock, which counts each call by reason: once per stop, for the
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * request that sets the reason; never on a plugin whose table predates the
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * op; and a backend that fails it does not keep the VM from stopping.
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <errno.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <setjmp.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdarg.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stddef.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdint.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdio.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdlib.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <cmocka.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <hvabs/hvabs.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <hvabs/mock.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
struct fx {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm *vm;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vcpu *cpu;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_mock m;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int open_fx(struct fx *f)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm_config cfg = {.max_vcpus = 1};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (hvabs_backend_open("mock", NULL, &f->be) || hvabs_vm_create(f->be, &cfg, &f->vm) ||
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    hvabs_vcpu_create(f->vm, 0, &f->cpu) || hvabs_mock_attach(f->vm, &f->m))
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		return -1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return 0;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int setup(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx *f = calloc(1, sizeof(*f));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (!f || open_fx(f))
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		return -1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	*state = f;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return 0;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int teardown(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx *f = *state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(f->vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(f->be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	free(f);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return 0;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static uint64_t calls(struct fx *f, const char *op)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return f->m.ops->calls(f->m.ctx, op);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* The exit the run loop reports for the pending stop. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static uint32_t stop_exit(struct fx *f)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_exit e;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return e.kind == HVABS_EXIT_SYSTEM_EVENT ? 100 + e.u.system_event.type : e.kind;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* Each reason reaches the backend once, and the first request of a stop wins. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void reason_reaches_backend(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx *f = *state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f->vm, HVABS_STOP_NONE);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop"), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f->vm, HVABS_STOP_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* A stop is pending: later requests change nothing, the backend hears nothing. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f->vm, HVABS_STOP_HOST);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f->vm, HVABS_STOP_RESET);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(stop_exit(f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	static const struct {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		enum hvabs_stop_reason reason;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		const char *name;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		uint32_t exit;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	} next[] = {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    {HVABS_STOP_RESET, "vm_stop:reset", HVABS_EXIT_RESET},
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    {HVABS_STOP_CRASH, "vm_stop:crash", 100 + HVABS_SYSTEM_EVENT_CRASH},
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    {HVABS_STOP_HOST, "vm_stop:host", HVABS_EXIT_CANCELED},
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		hvabs_vm_clear_stop(f->vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		hvabs_vm_request_stop(f->vm, next[i].reason);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		assert_int_equal(calls(f, next[i].name), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		assert_int_equal(calls(f, "vm_stop"), 2 + i);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		assert_int_equal(stop_exit(f), next[i].exit);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* A device asking for the stop from inside the run loop: the backend hears it on that thread. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int pm_write(void *o, uint64_t off, uint32_t size, uint64_t val)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)off;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)size;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (val == 0x3400)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		hvabs_vm_request_stop(o, HVABS_STOP_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return 0;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static const struct hvabs_bus_ops pm_ops = {.write = pm_write};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void device_request(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx *f = *state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x604, 2, &pm_ops, f->vm, 0, NULL), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_PIO, 0x604, 2, 1, 0x3400), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(stop_exit(f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* The backend failing to pass the reason on does not keep the VM running. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void failure_still_stops(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx *f = *state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(f->m.ops->inject_fault(f->m.ctx, "vm_stop", 1, -EIO), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f->vm, HVABS_STOP_RESET);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop"), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(f, "vm_stop:reset"), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(stop_exit(f), HVABS_EXIT_RESET);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_stop_reason(f->vm), HVABS_STOP_RESET);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* A plugin built before vm_stop existed: its table ends at vm_get_ext. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void old_plugin_is_not_called(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct fx f = {0};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	char size[32];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, vm_stop));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	int rc = open_fx(&f);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_MOCK_OPS_SIZE");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(rc, 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_request_stop(f.vm, HVABS_STOP_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(calls(&f, "vm_stop"), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(stop_exit(&f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(f.vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(f.be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
int main(void)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const struct CMUnitTest tests[] = {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    T(reason_reaches_backend),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    T(device_request),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    T(failure_still_stops),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(old_plugin_is_not_called),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return cmocka_run_group_tests_name("vm_stop", tests, NULL, NULL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
