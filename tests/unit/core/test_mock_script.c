/* SPDX-License-Identifier: Apache-2.0 */
/* The mock's script files and the run loop's exit trace, which together replay a recorded run. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

struct dev {
	char out[64];
	unsigned n;
	struct hvabs_vm *vm; /* set: writing 's' powers the VM off */
	uint64_t when[8];    /* the VM clock at each write */
};

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct dev *d = o;

	(void)size;
	if (off == 0 && d->n < sizeof(d->when) / sizeof(d->when[0]) && d->vm)
		assert_int_equal(hvabs_vm_get_time(d->vm, &d->when[d->n]), 0);
	if (off == 0 && d->n < sizeof(d->out) - 1)
		d->out[d->n++] = (char)val;
	if (off == 0 && val == 's' && d->vm)
		hvabs_vm_request_stop(d->vm, HVABS_STOP_POWEROFF);
	return 0;
}

static int dev_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	(void)o;
	(void)size;
	*val = off == 5 ? 0x60 : 0;
	return 0;
}

static const struct hvabs_bus_ops ops = {.read = dev_read, .write = dev_write};

struct trace {
	unsigned io, other;
	uint32_t last_kind;
	uint64_t last_read;
};

static void on_trace(void *o, const struct hvabs_vcpu *cpu, const struct hvabs_exit *e)
{
	struct trace *t = o;

	(void)cpu;
	if (e->kind == HVABS_EXIT_IO) {
		t->io++;
		if (!e->u.io.is_write)
			t->last_read = e->u.io.data[0];
	} else {
		t->other++;
	}
	t->last_kind = e->kind;
}

static char *script(const char *text)
{
	static char path[64];

	strcpy(path, "/tmp/hvabs-script-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void replay_with_trace(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct dev d = {0};
	struct trace t = {0};
	char opts[128];
	char *path = script("# a recorded run\n"
			    "0 io r 3fd 1\n"
			    "0 io w 3f8 1 68   # 'h'\n"
			    "0 io r 3fd 1\n"
			    "0 io w 3f8 1 69\n"
			    "\n"
			    "0 poweroff\n");

	(void)state;
	snprintf(opts, sizeof(opts), "script=%s", path);
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = opts};
	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
	assert_int_equal(hvabs_bus_register(vm, HVABS_SPACE_PIO, 0x3f8, 8, &ops, &d, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
	hvabs_vcpu_set_trace(cpu, on_trace, &t);
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(e.u.system_event.type, HVABS_SYSTEM_EVENT_POWEROFF);
	assert_string_equal(d.out, "hi");
	assert_int_equal(t.io, 4);
	assert_int_equal(t.last_read, 0x60); /* traced after the device answered */
	assert_int_equal(t.other, 1);
	assert_int_equal(t.last_kind, HVABS_EXIT_SYSTEM_EVENT);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	unlink(path);
}

/* Runs @p text on a fresh mock VM with the device at 0x3f8; returns the run loop's result. */
static int replay(const char *text, struct dev *d, struct hvabs_exit *e)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	char opts[128];
	char *path = script(text);

	snprintf(opts, sizeof(opts), "script=%s", path);
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = opts};
	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
	d->vm = vm;
	assert_int_equal(hvabs_bus_register(vm, HVABS_SPACE_PIO, 0x3f8, 8, &ops, d, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
	int rc = hvabs_vcpu_run_loop(cpu, e);
	d->vm = NULL;
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	unlink(path);
	return rc;
}

/* A read with a recorded value must get that value from the device. */
static void recorded_reads_checked(void **state)
{
	struct dev d = {0};
	struct hvabs_exit e;

	(void)state;
	assert_int_equal(replay("0 io r 3fd 1 60\n0 io w 3f8 1 68\n0 hlt\n", &d, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	memset(&d, 0, sizeof(d));
	/* The device answers 0x60; the recording says 0x61: the run fails there. */
	assert_int_equal(
	    replay("0 io r 3fd 1 60\n0 io r 3fd 1 61\n0 io w 3f8 1 68\n0 hlt\n", &d, &e), -EPROTO);
	assert_int_equal(d.n, 0);
}

/* `clock` lines set the VM clock the devices read. */
static void clock_steps(void **state)
{
	struct dev d = {0};
	struct hvabs_exit e;

	(void)state;
	assert_int_equal(replay("0 clock 3b9aca00\n0 io w 3f8 1 61\n0 io w 3f8 1 62\n"
				"0 clock 77359401\n0 io w 3f8 1 63\n0 hlt\n",
				&d, &e),
			 0);
	assert_string_equal(d.out, "abc");
	assert_int_equal(d.when[0], 1000000000ull);
	assert_int_equal(d.when[1], 1000000000ull);
	assert_int_equal(d.when[2], 2000000001ull);
}

/* `end`: the VMM must have stopped the VM by then, or the replay fails. */
static void end_needs_a_stop(void **state)
{
	struct dev d = {0};
	struct hvabs_exit e;

	(void)state;
	assert_int_equal(replay("0 io w 3f8 1 73\n0 end\n", &d, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(e.u.system_event.type, HVABS_SYSTEM_EVENT_POWEROFF);
	memset(&d, 0, sizeof(d));
	assert_int_equal(replay("0 io w 3f8 1 68\n0 end\n", &d, &e), -EPROTO);
	assert_string_equal(d.out, "h");
}

struct runner {
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	int rc;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_vcpu_run_loop(r->cpu, &r->e);
	return NULL;
}

/*
 * Two vCPUs: vcpu0's recording is only its `end`, vcpu1 makes the write that
 * stops the VM (or, in the second script, a write that does not).
 */
static int two_cpus(const char *text, struct runner *r0, struct runner *r1)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct dev d = {0};
	struct hvabs_mock m = {0};
	char opts[128];
	char *path = script(text);
	pthread_t t;

	snprintf(opts, sizeof(opts), "script=%s", path);
	struct hvabs_vm_config cfg = {.max_vcpus = 2, .backend_options = opts};
	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
	d.vm = vm;
	assert_int_equal(hvabs_bus_register(vm, HVABS_SPACE_PIO, 0x3f8, 8, &ops, &d, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(vm, 0, &r0->cpu), 0);
	assert_int_equal(hvabs_mock_attach(vm, &m), 0);
	assert_int_equal(pthread_create(&t, NULL, run_thread, r0), 0);
	/*
	 * vcpu1 is created once vcpu0 is (almost surely) waiting at its end: a
	 * mock that counted only created vCPUs would fail the replay there.
	 * Either order must pass.
	 */
	while (m.ops->calls(m.ctx, "vcpu_run") < 1)
		usleep(1000);
	usleep(20000);
	assert_int_equal(hvabs_vcpu_create(vm, 1, &r1->cpu), 0);
	run_thread(r1);
	assert_int_equal(pthread_join(t, NULL), 0);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	unlink(path);
	return r0->rc || r1->rc ? -EPROTO : 0;
}

static void end_waits_for_the_other_vcpus(void **state)
{
	struct runner r0 = {0}, r1 = {0};

	(void)state;
	assert_int_equal(two_cpus("0 end\n1 io w 3f8 1 73\n1 end\n", &r0, &r1), 0);
	assert_int_equal(r0.e.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(r1.e.kind, HVABS_EXIT_SYSTEM_EVENT);
	memset(&r0, 0, sizeof(r0));
	memset(&r1, 0, sizeof(r1));
	assert_int_equal(two_cpus("0 end\n1 io w 3f8 1 68\n1 end\n", &r0, &r1), -EPROTO);
	assert_int_equal(r0.rc, -EPROTO);
	assert_int_equal(r1.rc, -EPROTO);
}

static void bad_scripts(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	const char *bad[] = {"0 io x 3f8 1\n", "0 io w 3f8 1\n",   "0 io w 3f8 3 1\n", "5 hlt\n",
			     "0 dance\n",      "0 io r 10000 1\n", "0 clock\n"};
	char opts[128];

	(void)state;
	assert_int_equal(hvabs_backend_open("mock", NULL, &be), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = script(bad[i]);
		snprintf(opts, sizeof(opts), "script=%s", path);
		struct hvabs_vm_config cfg = {.max_vcpus = 2, .backend_options = opts};
		if (hvabs_vm_create(be, &cfg, &vm) == 0)
			fail_msg("script '%s' was accepted", bad[i]);
		unlink(path);
	}
	struct hvabs_vm_config cfg = {.backend_options = "script=/nonexistent"};
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), -ENOENT);
	hvabs_backend_close(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(replay_with_trace),
	    cmocka_unit_test(recorded_reads_checked),
	    cmocka_unit_test(clock_steps),
	    cmocka_unit_test(end_needs_a_stop),
	    cmocka_unit_test(end_waits_for_the_other_vcpus),
	    cmocka_unit_test(bad_scripts),
	};
	setenv("HVABS_LOG", "error", 0);
	return cmocka_run_group_tests_name("mock-script", tests, NULL, NULL);
}
