/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Harness for the legacy device tests. The assertions are written once, as
 * functions that take a VM and the backend's name, and run against any
 * backend through its test driver (tests/harness/driver.h): the driver makes
 * the guest perform port accesses (the mock queues scripted exits, the Xen
 * and MSHV drivers ioreqs and intercept messages in their fakes), tells what
 * the hypervisor saw on an interrupt line, and sets the VM clock.
 *
 * A case that needs what the driver declares its hypervisor lacks (a clock
 * to set, say) ends there as not applicable, with the reason printed; it is
 * never skipped, and any other failure of the driver fails the case.
 *
 * Each test program takes the driver's name as argv[1] (default "mock").
 */
#ifndef HVABS_TEST_DEVICES_HARNESS_H
#define HVABS_TEST_DEVICES_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvabs/hvabs.h>

#include "driver.h"

/* One guest port access: a write of `value`, or a read whose result lands in `value`. */
struct devt_io {
	uint16_t port;
	uint8_t size;
	bool write;
	uint64_t value;
};

#define DEVT_OUT(p, v)                                                                             \
	{                                                                                          \
		(p), 1, true, (v)                                                                  \
	}
#define DEVT_OUTW(p, v)                                                                            \
	{                                                                                          \
		(p), 2, true, (v)                                                                  \
	}
#define DEVT_IN(p)                                                                                 \
	{                                                                                          \
		(p), 1, false, 0                                                                   \
	}

struct devt_env {
	struct hvt_env h; /* what the driver sees */
	struct hvabs_vm *vm;
	const char *backend;
};

/* Picks the driver named by argv[1] (default "mock"); exits 2 if there is none. */
void devt_init(int argc, char **argv);
const char *devt_backend(void);

/* cmocka setup/teardown: a fresh VM with one vCPU per test; *state is the env. */
int devt_setup(void **state);
int devt_teardown(void **state);

/* Driver operations by VM; a lacked one ends the calling case as not applicable. */
void devt_guest_io(struct hvabs_vm *vm, struct devt_io *ios, size_t n, struct hvabs_exit *exit);
int devt_line_level(struct hvabs_vm *vm, uint32_t gsi);
int devt_line_raises(struct hvabs_vm *vm, uint32_t gsi);
void devt_clock_set(struct hvabs_vm *vm, uint64_t ns);

/* Guest accesses that complete at once, through the bus (any backend). */
uint8_t devt_inb(struct hvabs_vm *vm, uint16_t port);
void devt_outb(struct hvabs_vm *vm, uint16_t port, uint8_t val);

/* Where a case that turns out not applicable ends (set by DEVT_TEST). */
extern jmp_buf devt_not_applicable;

/* Wraps an assertion function `void fn(struct hvabs_vm *, const char *backend)`. */
#define DEVT_TEST(fn)                                                                              \
	static void t_##fn(void **state)                                                           \
	{                                                                                          \
		struct devt_env *env_ = *state;                                                    \
		if (setjmp(devt_not_applicable) == 0)                                              \
			fn(env_->vm, env_->backend);                                               \
	}
#define DEVT_CASE(fn) cmocka_unit_test_setup_teardown(t_##fn, devt_setup, devt_teardown)

#endif
