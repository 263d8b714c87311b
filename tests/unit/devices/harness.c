/* SPDX-License-Identifier: Apache-2.0 */
/* Device test harness: driver selection, per-test VM, guest port accesses through the driver. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static const struct hvt_driver *driver;
/* The env of the running test: drivers are reached through its VM. */
static struct devt_env *current;
jmp_buf devt_not_applicable;

/*
 * The backend must be there: a device test whose fake or hypervisor cannot
 * be loaded fails (setup fails), whatever HVABS_REQUIRE_* says.
 */
void devt_init(int argc, char **argv)
{
	driver = hvt_init(argc, argv, "device test");
}

const char *devt_backend(void)
{
	return driver->backend;
}

int devt_setup(void **state)
{
	struct devt_env *env = calloc(1, sizeof(*env));
	struct hvabs_vm_config vc = {
	    .max_vcpus = 1, .flags = driver->vm_flags, .backend_options = driver->vm_options};
	struct hvabs_backend_opts bo = {.no_install_dir = 1};
	struct hvt_env *h;

	if (!env)
		return -1;
	h = &env->h;
	h->drv = driver;
	env->backend = driver->backend;
	if (hvabs_backend_open(driver->backend, &bo, &h->be) ||
	    hvabs_vm_create(h->be, &vc, &h->vm) || hvabs_vcpu_create(h->vm, 0, &h->cpu) ||
	    (driver->attach && driver->attach(h))) {
		hvabs_vm_destroy(h->vm);
		hvabs_backend_close(h->be);
		free(env);
		return -1;
	}
	env->vm = h->vm;
	current = env;
	*state = env;
	return 0;
}

int devt_teardown(void **state)
{
	struct devt_env *env = *state;

	if (driver->detach)
		driver->detach(&env->h);
	hvabs_vm_destroy(env->vm);
	hvabs_backend_close(env->h.be);
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

/* A feature the driver declared lacking ends the case here: not applicable, and why. */
static void need(uint32_t feature, const char *what)
{
	const char *why = hvt_lacks(driver, feature);

	if (!why)
		return;
	print_message("%s: %s not applicable: %s\n", driver->name, what, why);
	longjmp(devt_not_applicable, 1);
}

void devt_guest_io(struct hvabs_vm *vm, struct devt_io *ios, size_t n, struct hvabs_exit *exit)
{
	struct devt_env *env = env_of(vm);
	struct hvt_action *acts = calloc(n + 1, sizeof(*acts));
	uint64_t *vals = calloc(n + 1, sizeof(*vals));
	size_t nr = 0;

	need(HVT_EXIT_HLT, "a guest script ending in HLT");
	assert_non_null(acts);
	assert_non_null(vals);
	for (size_t i = 0; i < n; i++) {
		acts[i] = (struct hvt_action){ios[i].write ? HVT_OUT : HVT_IN, ios[i].port,
					      ios[i].size, 1, ios[i].value};
		nr += !ios[i].write;
	}
	/* The HLT's run also completes the last IN, as a hypervisor requires. */
	acts[n].kind = HVT_HLT;
	assert_int_equal(driver->program(&env->h, env->h.cpu, acts, n + 1), 0);
	assert_int_equal(hvabs_vcpu_run_loop(env->h.cpu, exit), 0);
	int got = driver->reads(&env->h, env->h.cpu, vals, n + 1);
	assert_true(got >= 0);
	/* A device may stop the VM mid-script; what the guest read so far counts. */
	if (exit->kind == HVABS_EXIT_HLT)
		assert_int_equal(got, nr);
	for (size_t i = 0, r = 0; i < n; i++)
		if (!ios[i].write && (int)r < got)
			ios[i].value = vals[r++];
	free(acts);
	free(vals);
}

int devt_line_level(struct hvabs_vm *vm, uint32_t gsi)
{
	struct devt_env *env = env_of(vm);

	need(HVT_COUNT_IRQS, "observing interrupt lines");
	return driver->line_level(&env->h, gsi);
}

int devt_line_raises(struct hvabs_vm *vm, uint32_t gsi)
{
	struct devt_env *env = env_of(vm);

	need(HVT_COUNT_IRQS, "counting interrupt edges");
	int rc = driver->irqs(&env->h, gsi, 0, 0);
	assert_true(rc >= 0);
	return rc;
}

void devt_clock_set(struct hvabs_vm *vm, uint64_t ns)
{
	struct devt_env *env = env_of(vm);

	need(HVT_CLOCK_SET, "setting the VM clock");
	assert_int_equal(driver->clock_set(&env->h, ns), 0);
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
