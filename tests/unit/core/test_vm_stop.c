/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs_vm_request_stop() tells the backend why (the optional vm_stop op),
 * on the mock, which counts each call by reason: once per stop, for the
 * request that sets the reason; never on a plugin whose table predates the
 * op; and a backend that fails it does not keep the VM from stopping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

struct fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_mock m;
};

static int open_fx(struct fx *f)
{
	struct hvabs_vm_config cfg = {.max_vcpus = 1};

	if (hvabs_backend_open("mock", NULL, &f->be) || hvabs_vm_create(f->be, &cfg, &f->vm) ||
	    hvabs_vcpu_create(f->vm, 0, &f->cpu) || hvabs_mock_attach(f->vm, &f->m))
		return -1;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || open_fx(f))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_vm_destroy(f->vm);
	hvabs_backend_close(f->be);
	free(f);
	return 0;
}

static uint64_t calls(struct fx *f, const char *op)
{
	return f->m.ops->calls(f->m.ctx, op);
}

/* The exit the run loop reports for the pending stop. */
static uint32_t stop_exit(struct fx *f)
{
	struct hvabs_exit e;

	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	return e.kind == HVABS_EXIT_SYSTEM_EVENT ? 100 + e.u.system_event.type : e.kind;
}

/* Each reason reaches the backend once, and the first request of a stop wins. */
static void reason_reaches_backend(void **state)
{
	struct fx *f = *state;

	hvabs_vm_request_stop(f->vm, HVABS_STOP_NONE);
	assert_int_equal(calls(f, "vm_stop"), 0);
	hvabs_vm_request_stop(f->vm, HVABS_STOP_POWEROFF);
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
	/* A stop is pending: later requests change nothing, the backend hears nothing. */
	hvabs_vm_request_stop(f->vm, HVABS_STOP_HOST);
	hvabs_vm_request_stop(f->vm, HVABS_STOP_RESET);
	assert_int_equal(calls(f, "vm_stop"), 1);
	assert_int_equal(stop_exit(f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);

	static const struct {
		enum hvabs_stop_reason reason;
		const char *name;
		uint32_t exit;
	} next[] = {
	    {HVABS_STOP_RESET, "vm_stop:reset", HVABS_EXIT_RESET},
	    {HVABS_STOP_CRASH, "vm_stop:crash", 100 + HVABS_SYSTEM_EVENT_CRASH},
	    {HVABS_STOP_HOST, "vm_stop:host", HVABS_EXIT_CANCELED},
	};
	for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
		hvabs_vm_clear_stop(f->vm);
		hvabs_vm_request_stop(f->vm, next[i].reason);
		assert_int_equal(calls(f, next[i].name), 1);
		assert_int_equal(calls(f, "vm_stop"), 2 + i);
		assert_int_equal(stop_exit(f), next[i].exit);
	}
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
}

/* A device asking for the stop from inside the run loop: the backend hears it on that thread. */
static int pm_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	(void)off;
	(void)size;
	if (val == 0x3400)
		hvabs_vm_request_stop(o, HVABS_STOP_POWEROFF);
	return 0;
}

static const struct hvabs_bus_ops pm_ops = {.write = pm_write};

static void device_request(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x604, 2, &pm_ops, f->vm, 0, NULL), 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_PIO, 0x604, 2, 1, 0x3400), 0);
	assert_int_equal(stop_exit(f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);
	assert_int_equal(calls(f, "vm_stop"), 1);
	assert_int_equal(calls(f, "vm_stop:poweroff"), 1);
}

/* The backend failing to pass the reason on does not keep the VM running. */
static void failure_still_stops(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->m.ops->inject_fault(f->m.ctx, "vm_stop", 1, -EIO), 0);
	hvabs_vm_request_stop(f->vm, HVABS_STOP_RESET);
	assert_int_equal(calls(f, "vm_stop"), 1);
	assert_int_equal(calls(f, "vm_stop:reset"), 0);
	assert_int_equal(stop_exit(f), HVABS_EXIT_RESET);
	assert_int_equal(hvabs_vm_stop_reason(f->vm), HVABS_STOP_RESET);
}

/* A plugin built before vm_stop existed: its table ends at vm_get_ext. */
static void old_plugin_is_not_called(void **state)
{
	struct fx f = {0};
	char size[32];

	(void)state;
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, vm_stop));
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
	int rc = open_fx(&f);
	unsetenv("HVABS_MOCK_OPS_SIZE");
	assert_int_equal(rc, 0);
	hvabs_vm_request_stop(f.vm, HVABS_STOP_POWEROFF);
	assert_int_equal(calls(&f, "vm_stop"), 0);
	assert_int_equal(stop_exit(&f), 100 + HVABS_SYSTEM_EVENT_POWEROFF);
	hvabs_vm_destroy(f.vm);
	hvabs_backend_close(f.be);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(reason_reaches_backend),
	    T(device_request),
	    T(failure_still_stops),
	    cmocka_unit_test(old_plugin_is_not_called),
	};

	return cmocka_run_group_tests_name("vm_stop", tests, NULL, NULL);
}
