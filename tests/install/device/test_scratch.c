/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scratch PIO device on the mock backend: the test scripts the guest's
 * port accesses as exits of vCPU 0, runs the vCPU loop as a VMM would, and
 * reads back what the device answered from the mock's record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

#include "scratch.h"

#define PORT 0x510u

struct env {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_mock mock;
	struct scratch *dev;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	/* No search path given: libhvabs finds the mock plugin installed beside itself. */
	if (!e || hvabs_backend_open("mock", NULL, &e->be) ||
	    hvabs_vm_create(e->be, NULL, &e->vm) || hvabs_vcpu_create(e->vm, 0, &e->cpu) ||
	    hvabs_mock_attach(e->vm, &e->mock) || scratch_create(e->vm, PORT, &e->dev))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	scratch_destroy(e->dev);
	hvabs_vm_destroy(e->vm);
	hvabs_backend_close(e->be);
	free(e);
	return 0;
}

/* Runs vCPU 0 through the scripted accesses up to the HLT that ends them. */
static void run_guest(struct env *e)
{
	struct hvabs_exit exit;

	assert_int_equal(hvabs_mock_push_simple(&e->mock, 0, HVABS_EXIT_HLT), 0);
	assert_int_equal(hvabs_vcpu_run_loop(e->cpu, &exit), 0);
	assert_int_equal(exit.kind, HVABS_EXIT_HLT);
}

/* The value the VMM gave the guest's next completed read. */
static uint64_t next_read(struct env *e)
{
	struct hvabs_mock_event ev;

	do
		assert_int_equal(hvabs_mock_next_event(&e->mock, &ev, 0), 0);
	while (ev.kind != HVABS_MOCK_EV_READ);
	return ev.value;
}

static void guest_writes_then_reads_back(void **state)
{
	struct env *e = *state;

	assert_int_equal(hvabs_mock_push_access(&e->mock, 0, HVABS_SPACE_PIO, PORT, 4, 1, 0xcafe),
			 0);
	assert_int_equal(hvabs_mock_push_access(&e->mock, 0, HVABS_SPACE_PIO, PORT, 4, 0, 0), 0);
	assert_int_equal(hvabs_mock_push_access(&e->mock, 0, HVABS_SPACE_PIO, PORT + 4, 4, 0, 0),
			 0);
	run_guest(e);
	assert_int_equal(next_read(e), 0xcafe);
	assert_int_equal(next_read(e), 1); /* one write so far */
	assert_int_equal(scratch_refused(e->dev), 0);
}

static void odd_accesses_are_refused(void **state)
{
	struct env *e = *state;
	uint64_t v = 0;

	/* A 1-byte read and a write to the counter: refused, counted, value unchanged. */
	assert_int_equal(hvabs_mock_push_access(&e->mock, 0, HVABS_SPACE_PIO, PORT, 1, 0, 0), 0);
	assert_int_equal(hvabs_mock_push_access(&e->mock, 0, HVABS_SPACE_PIO, PORT + 4, 4, 1, 7),
			 0);
	run_guest(e);
	assert_int_equal(next_read(e) & 0xff, 0xff); /* unhandled reads are all ones */
	assert_int_equal(scratch_refused(e->dev), 2);
	assert_int_equal(hvabs_bus_read(e->vm, HVABS_SPACE_PIO, PORT + 4, 4, &v), 0);
	assert_int_equal(v, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(guest_writes_then_reads_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(odd_accesses_are_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("scratch", tests, NULL, NULL);
}
