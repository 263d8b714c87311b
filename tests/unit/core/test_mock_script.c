/* SPDX-License-Identifier: Apache-2.0 */
/* The mock's script files and the run loop's exit trace, which together replay a recorded run. */
#include <errno.h>
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

struct dev {
	char out[64];
	unsigned n;
};

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct dev *d = o;

	(void)size;
	if (off == 0 && d->n < sizeof(d->out) - 1)
		d->out[d->n++] = (char)val;
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

static void bad_scripts(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	const char *bad[] = {"0 io x 3f8 1\n", "0 io w 3f8 1\n", "0 io w 3f8 3 1\n",
			     "5 hlt\n",	       "0 dance\n",	 "0 io r 10000 1\n"};
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
	    cmocka_unit_test(bad_scripts),
	};
	setenv("HVABS_LOG", "error", 0);
	return cmocka_run_group_tests_name("mock-script", tests, NULL, NULL);
}
