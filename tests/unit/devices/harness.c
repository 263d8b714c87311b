/* SPDX-License-Identifier: Apache-2.0 */
/* Device test harness: backend selection, per-test VM, driver dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/*
 * The drivers a program can pick with argv[1]. The mock's (drv_mock.c) is
 * linked into every program; the others are weak references, resolved only
 * in the programs their backend's CMakeLists links them into
 * (drv_xen_devices.c, devt_drv_mshv.c) and NULL elsewhere.
 */
extern const struct devt_driver devt_xen_driver __attribute__((weak));
extern const struct devt_driver devt_mshv_driver __attribute__((weak));

static const struct devt_driver *const drivers[] = {&devt_mock_driver, &devt_xen_driver,
						    &devt_mshv_driver};

static const struct devt_driver *driver;
/* The env of the running test: drivers are reached through its VM. */
static struct devt_env *current;

void devt_init(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "mock";

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i] && !strcmp(drivers[i]->backend, name))
			driver = drivers[i];
	if (!driver) {
		fprintf(stderr,
			"no device-test driver for backend '%s' in this program (it has:", name);
		for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
			if (drivers[i])
				fprintf(stderr, " %s", drivers[i]->backend);
		fprintf(stderr, ")\n");
		exit(1);
	}
}

const char *devt_backend(void)
{
	return driver->backend;
}

int devt_setup(void **state)
{
	struct devt_env *env = calloc(1, sizeof(*env));
	struct hvabs_vm_config vc = {.max_vcpus = 1, .backend_options = driver->vm_options};
	struct hvabs_backend_opts bo = {.no_install_dir = 1};

	if (!env)
		return -1;
	env->drv = driver;
	env->backend = driver->backend;
	if (hvabs_backend_open(driver->backend, &bo, &env->be) ||
	    hvabs_vm_create(env->be, &vc, &env->vm) || hvabs_vcpu_create(env->vm, 0, &env->cpu) ||
	    (driver->attach && driver->attach(env))) {
		hvabs_vm_destroy(env->vm);
		hvabs_backend_close(env->be);
		free(env);
		return -1;
	}
	current = env;
	*state = env;
	return 0;
}

int devt_teardown(void **state)
{
	struct devt_env *env = *state;

	if (env->drv->detach)
		env->drv->detach(env);
	hvabs_vm_destroy(env->vm);
	hvabs_backend_close(env->be);
	free(env);
	current = NULL;
	return 0;
}

static struct devt_env *env_of(struct hvabs_vm *vm)
{
	assert_non_null(current);
	assert_ptr_equal(current->vm, vm);
	return current;
}

static void check_supported(int rc, const char *what)
{
	if (rc == -ENOTSUP) {
		print_message("backend %s cannot %s: skipped\n", driver->backend, what);
		skip();
	}
}

void devt_guest_io(struct hvabs_vm *vm, struct devt_io *ios, size_t n, struct hvabs_exit *exit)
{
	struct devt_env *env = env_of(vm);
	int rc = env->drv->guest_io(env, ios, n, exit);

	check_supported(rc, "script guest port accesses");
	assert_int_equal(rc, 0);
}

int devt_line_level(struct hvabs_vm *vm, uint32_t gsi)
{
	struct devt_env *env = env_of(vm);
	int rc = env->drv->line_level(env, gsi);

	check_supported(rc, "observe interrupt lines");
	return rc;
}

int devt_line_raises(struct hvabs_vm *vm, uint32_t gsi)
{
	struct devt_env *env = env_of(vm);
	int rc = env->drv->line_raises(env, gsi);

	check_supported(rc, "observe interrupt edges");
	assert_true(rc >= 0);
	return rc;
}

void devt_clock_set(struct hvabs_vm *vm, uint64_t ns)
{
	struct devt_env *env = env_of(vm);
	int rc = env->drv->clock_set(env, ns);

	check_supported(rc, "set the VM clock");
	assert_int_equal(rc, 0);
}

uint8_t devt_inb(struct hvabs_vm *vm, uint16_t port)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, port, 1, &v), 0);
	return (uint8_t)v;
}

void devt_outb(struct hvabs_vm *vm, uint16_t port, uint8_t val)
{
	assert_int_equal(hvabs_bus_write(vm, HVABS_SPACE_PIO, port, 1, val), 0);
}
