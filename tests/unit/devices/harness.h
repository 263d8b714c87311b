/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Harness for the legacy device tests. The assertions are written once, as
 * functions that take a VM and the backend's name, and run against any
 * backend that has a *driver* here. The driver is the only backend-specific
 * part: it makes the guest perform port accesses (the mock queues scripted
 * exits; a fake Xen would queue ioreqs, a fake MSHV intercept messages),
 * tells what the hypervisor saw on an interrupt line, and sets the VM clock.
 * A driver that cannot do something returns -ENOTSUP and the test that
 * needs it is skipped with that reason.
 *
 * Each test program takes the backend name as argv[1] (default "mock").
 */
#ifndef HVABS_TEST_DEVICES_HARNESS_H
#define HVABS_TEST_DEVICES_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvabs/hvabs.h>

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

struct devt_env;

struct devt_driver {
	const char *backend;	/* name for hvabs_backend_open() */
	const char *vm_options; /* backend options of the test VMs */
	int (*attach)(struct devt_env *env);
	void (*detach)(struct devt_env *env);
	/*
	 * Makes vCPU 0 perform @p ios in order and runs it through
	 * hvabs_vcpu_run_loop() until they are done (then the guest halts) or a
	 * device stops the VM. Read results land in ios[i].value. *exit gets
	 * the exit that ended the loop.
	 */
	int (*guest_io)(struct devt_env *env, struct devt_io *ios, size_t n,
			struct hvabs_exit *exit);
	/* What the hypervisor last saw on line @p gsi: 0, 1, -1 never set. */
	int (*line_level)(struct devt_env *env, uint32_t gsi);
	/* Low-to-high transitions of line @p gsi since the previous call. */
	int (*line_raises)(struct devt_env *env, uint32_t gsi);
	/* Sets the VM's clock (ns since the epoch). */
	int (*clock_set)(struct devt_env *env, uint64_t ns);
};

struct devt_env {
	const struct devt_driver *drv;
	const char *backend;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	void *priv;
};

extern const struct devt_driver devt_mock_driver;

/* Picks the driver named by argv[1] (default "mock"); exits 1 if there is none. */
void devt_init(int argc, char **argv);
const char *devt_backend(void);

/* cmocka setup/teardown: a fresh VM with one vCPU per test; *state is the env. */
int devt_setup(void **state);
int devt_teardown(void **state);

/* Driver operations by VM; they skip() the calling test on -ENOTSUP. */
void devt_guest_io(struct hvabs_vm *vm, struct devt_io *ios, size_t n, struct hvabs_exit *exit);
int devt_line_level(struct hvabs_vm *vm, uint32_t gsi);
int devt_line_raises(struct hvabs_vm *vm, uint32_t gsi);
void devt_clock_set(struct hvabs_vm *vm, uint64_t ns);

/* Guest accesses that complete at once, through the bus (any backend). */
uint8_t devt_inb(struct hvabs_vm *vm, uint16_t port);
void devt_outb(struct hvabs_vm *vm, uint16_t port, uint8_t val);

/* Wraps an assertion function `void fn(struct hvabs_vm *, const char *backend)`. */
#define DEVT_TEST(fn)                                                                              \
	static void t_##fn(void **state)                                                           \
	{                                                                                          \
		struct devt_env *env_ = *state;                                                    \
		fn(env_->vm, env_->backend);                                                       \
	}
#define DEVT_CASE(fn) cmocka_unit_test_setup_teardown(t_##fn, devt_setup, devt_teardown)

#endif
