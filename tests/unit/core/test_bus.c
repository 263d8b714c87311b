/* SPDX-License-Identifier: Apache-2.0 */
/* PIO/MMIO buses and the run loop's dispatch, on a mock VM. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

struct fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_mock m;
};

struct dev {
	uint64_t last_off, last_val;
	uint32_t last_size;
	unsigned calls;
	unsigned in_cb, max_in_cb; /* concurrency seen inside callbacks */
	int slow_ms;
	int stop_on_write;
	struct hvabs_vm *vm;
};

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct dev *d = o;
	unsigned now = __atomic_add_fetch(&d->in_cb, 1, __ATOMIC_SEQ_CST);

	if (now > d->max_in_cb)
		d->max_in_cb = now;
	if (d->slow_ms)
		usleep((useconds_t)d->slow_ms * 1000);
	d->last_off = off;
	d->last_size = size;
	d->last_val = val;
	d->calls++; /* not atomic on purpose: the bus's per-device lock must serialise */
	if (d->stop_on_write)
		hvabs_vm_request_stop(d->vm, HVABS_STOP_POWEROFF);
	__atomic_sub_fetch(&d->in_cb, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int dev_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	struct dev *d = o;

	(void)size;
	d->calls++;
	*val = 0x1122334455667788ull + off; /* wider than asked: the bus must mask */
	return 0;
}

static int dev_read_fail(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	(void)o;
	(void)off;
	(void)size;
	*val = 0;
	return -EIO;
}

static const struct hvabs_bus_ops ops = {.read = dev_read, .write = dev_write};
static const struct hvabs_bus_ops fail_ops = {.read = dev_read_fail};
static const struct hvabs_bus_ops write_only_ops = {.write = dev_write};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hvabs_vm_config cfg = {.max_vcpus = 2};

	if (hvabs_backend_open("mock", NULL, &f->be) || hvabs_vm_create(f->be, &cfg, &f->vm) ||
	    hvabs_vcpu_create(f->vm, 0, &f->cpu) || hvabs_mock_attach(f->vm, &f->m))
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

static void register_rules(void **state)
{
	struct fx *f = *state;
	struct dev d = {0};

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x3f8, 8, &ops, &d, 0, NULL),
			 0);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x3ff, 1, &ops, &d, 0, NULL),
			 -EEXIST);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x3f0, 9, &ops, &d, 0, NULL),
			 -EEXIST);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x3f0, 8, &ops, &d, 0, NULL),
			 0);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x400, 8, &ops, &d, 0, NULL),
			 0);
	/* the same range on the other bus is a different thing */
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_MMIO, 0x3f8, 8, &ops, &d, 0, NULL),
			 0);
	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0xfff0, 0x11, &ops, &d, 0, NULL), -EINVAL);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x500, 0, &ops, &d, 0, NULL),
			 -EINVAL);
	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_MMIO, UINT64_MAX - 1, 4, &ops, &d, 0, NULL),
	    -EINVAL);
	assert_int_equal(hvabs_bus_register(f->vm, 7, 0, 4, &ops, &d, 0, NULL), -EINVAL);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x600, 4, NULL, &d, 0, NULL),
			 -EINVAL);
}

static void lookup_edges_and_masking(void **state)
{
	struct fx *f = *state;
	struct dev d = {0};
	uint64_t v;

	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_MMIO, 0xd0000000, 0x200, &ops, &d, 0, NULL), 0);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, 0xd0000000, 4, &v), 0);
	assert_int_equal(v, 0x55667788);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, 0xd00001ff, 1, &v), 0);
	assert_int_equal(v, (0x88 + 0xff) & 0xff); /* masked to the access size */
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, 0xd0000200, 2, &v), -ENOENT);
	assert_int_equal(v, 0xffff);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, 0xcfffffff, 8, &v), -ENOENT);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_MMIO, 0xd0000010, 2, 0xabcdef), 0);
	assert_int_equal(d.last_off, 0x10);
	assert_int_equal(d.last_size, 2);
	assert_int_equal(d.last_val, 0xcdef);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_MMIO, 0xd0000000, 3, &v), -EINVAL);
}

static void failing_and_partial_devices(void **state)
{
	struct fx *f = *state;
	struct dev d = {0};
	uint64_t v;

	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x80, 1, &fail_ops, &d, 0, NULL), 0);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_PIO, 0x80, 1, &v), -EIO);
	assert_int_equal(v, 0xff);
	/* no write op: writes are accepted and dropped */
	assert_int_equal(hvabs_bus_write(f->vm, HVABS_SPACE_PIO, 0x80, 1, 1), 0);
	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x81, 1, &write_only_ops, &d, 0, NULL), 0);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_PIO, 0x81, 1, &v), 0);
	assert_int_equal(v, 0xff);
}

static void unregister_then_reuse(void **state)
{
	struct fx *f = *state;
	struct dev d = {0}, e = {0};
	struct hvabs_bus_dev *bd;
	uint64_t v;

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x60, 1, &ops, &d, 0, &bd), 0);
	hvabs_bus_unregister(bd);
	hvabs_bus_unregister(NULL);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_PIO, 0x60, 1, &v), -ENOENT);
	assert_int_equal(d.calls, 0);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x60, 1, &ops, &e, 0, NULL), 0);
	assert_int_equal(hvabs_bus_read(f->vm, HVABS_SPACE_PIO, 0x60, 1, &v), 0);
	assert_int_equal(e.calls, 1);
}

struct hammer {
	struct fx *f;
	int n;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < h->n; i++)
		if (hvabs_bus_write(h->f->vm, HVABS_SPACE_PIO, 0x70, 1, (uint64_t)i))
			return (void *)1;
	return NULL;
}

/* Two threads on one device: callbacks never overlap and no access is lost. */
static void device_lock_serialises(void **state)
{
	struct fx *f = *state;
	struct dev d = {0};
	struct hammer h = {f, 20000};
	pthread_t a, b;

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x70, 2, &ops, &d, 0, NULL), 0);
	pthread_create(&a, NULL, hammer_main, &h);
	pthread_create(&b, NULL, hammer_main, &h);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(d.calls, 40000);
	assert_int_equal(d.max_in_cb, 1);
}

struct slow_call {
	struct fx *f;
	int done;
};

static void *slow_writer(void *arg)
{
	struct slow_call *s = arg;

	if (hvabs_bus_write(s->f->vm, HVABS_SPACE_PIO, 0x90, 1, 1))
		return (void *)1;
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Unregister returns only once a callback already running has finished. */
static void unregister_waits_for_callback(void **state)
{
	struct fx *f = *state;
	struct dev d = {.slow_ms = 300};
	struct hvabs_bus_dev *bd;
	struct slow_call s = {f, 0};
	pthread_t t;

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x90, 1, &ops, &d, 0, &bd), 0);
	pthread_create(&t, NULL, slow_writer, &s);
	while (!__atomic_load_n(&d.in_cb, __ATOMIC_SEQ_CST))
		usleep(1000);
	hvabs_bus_unregister(bd);
	assert_int_equal(d.calls, 1);
	pthread_join(t, NULL);
}

static void run_loop_dispatch_and_stats(void **state)
{
	struct fx *f = *state;
	struct dev pio = {0}, mmio = {0};
	struct hvabs_exit e;
	struct hvabs_stats st;
	struct hvabs_mock_event ev;
	uint8_t rep[6] = {1, 0, 2, 0, 3, 0};
	struct hvabs_mock_step outs = {
	    .kind = HVABS_EXIT_IO, .is_write = 1, .addr = 0x3e0, .size = 2, .count = 3, .buf = rep};

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x3e0, 4, &ops, &pio, 0, NULL),
			 0);
	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_MMIO, 0xe0000000, 0x100, &ops, &mmio, 0, NULL),
	    0);
	assert_int_equal(hvabs_mock_push(&f->m, 0, &outs), 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_MMIO, 0xe0000008, 8, 0, 0),
			 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_MMIO, 0xf0000000, 4, 0, 0),
			 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_PIO, 0x10, 1, 1, 9), 0);
	assert_int_equal(hvabs_mock_push_simple(&f->m, 0, HVABS_EXIT_HLT), 0);
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(pio.calls, 3);
	assert_int_equal(pio.last_val, 3);
	/* reads were completed with what the device (or nobody) answered */
	assert_int_equal(hvabs_mock_next_event(&f->m, &ev, 1000), 0);
	assert_int_equal(ev.kind, HVABS_MOCK_EV_READ);
	assert_int_equal(ev.value, 0x1122334455667788ull + 8);
	assert_int_equal(hvabs_mock_next_event(&f->m, &ev, 1000), 0);
	assert_int_equal(ev.value, 0xffffffff);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_IO], 2);
	assert_int_equal(st.exits[HVABS_EXIT_MMIO], 2);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 1);
	assert_int_equal(st.io_unhandled, 1);
	assert_int_equal(st.mmio_unhandled, 1);
	assert_int_equal(st.runs, 5);
	assert_string_equal(hvabs_exit_kind_name(HVABS_EXIT_MMIO), "mmio");
	assert_string_equal(hvabs_exit_kind_name(99), "invalid");
}

/* A device asking for power-off ends the loop right after its access. */
static void device_stop_request(void **state)
{
	struct fx *f = *state;
	struct dev d = {.stop_on_write = 1, .vm = f->vm};
	struct hvabs_exit e;

	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_PIO, 0x604, 2, &ops, &d, 0, NULL),
			 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_PIO, 0x604, 2, 1, 0x3400), 0);
	assert_int_equal(hvabs_mock_push_access(&f->m, 0, HVABS_SPACE_PIO, 0x604, 2, 1, 0x3400), 0);
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(e.u.system_event.type, HVABS_SYSTEM_EVENT_POWEROFF);
	assert_int_equal(d.calls, 1);
	/* the stop sticks until cleared, then the script continues */
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SYSTEM_EVENT);
	hvabs_vm_clear_stop(f->vm);
	d.stop_on_write = 0;
	assert_int_equal(hvabs_mock_push_simple(&f->m, 0, HVABS_EXIT_SHUTDOWN), 0);
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SHUTDOWN);
	assert_int_equal(d.calls, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(register_rules),
	    T(lookup_edges_and_masking),
	    T(failing_and_partial_devices),
	    T(unregister_then_reuse),
	    T(device_lock_serialises),
	    T(unregister_waits_for_callback),
	    T(run_loop_dispatch_and_stats),
	    T(device_stop_request),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
