/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upper-casing virtio device on the mock backend, driven as a guest
 * driver would: libhvabs-testsupport's register steps and virtqueue builder
 * write the rings into guest RAM, the test runs the device's event loop and
 * reads the used ring back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/testing/virtio_mmio_driver.h>
#include <hvabs/testing/virtq_builder.h>

#include "upper.h"

#define BASE  HVABS_VIRTIO_MMIO_BASE
#define RAM   (4ull << 20)
#define RINGS 0x100000ull
#define HEAP  0x200000ull

struct env {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_event_loop *loop;
	struct upper *dev;
	struct vqb q;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || hvabs_backend_open("mock", NULL, &e->be) ||
	    hvabs_vm_create(e->be, NULL, &e->vm) || hvabs_vm_add_ram(e->vm, 0, RAM, 0, NULL) ||
	    hvabs_event_loop_create(&e->loop))
		return -1;
	struct hvabs_virtio_mmio_params p = {
	    .base = BASE, .gsi = 5, .loop = e->loop, .name = "upper"};
	if (upper_create(e->vm, &p, &e->dev) ||
	    vqb_init(&e->q, hvabs_vm_mem(e->vm), 16, RINGS, HEAP, RAM - HEAP))
		return -1;
	/* What the guest's driver does at probe time. */
	uint32_t st = vqb_mmio_negotiate(e->vm, BASE, ~0ull, NULL);
	if (!(st & HVABS_VIRTIO_STATUS_FEATURES_OK) || vqb_mmio_queue(e->vm, BASE, 0, &e->q))
		return -1;
	vqb_mmio_driver_ok(e->vm, BASE);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	upper_destroy(e->dev);
	hvabs_vm_destroy(e->vm);
	hvabs_event_loop_destroy(e->loop);
	hvabs_backend_close(e->be);
	free(e);
	return 0;
}

/* Notifies the queue and runs the device's work until nothing is left. */
static void kick(struct env *e)
{
	assert_int_equal(vqb_mmio_notify(e->vm, BASE, 0), 0);
	for (int i = 0; hvabs_event_loop_run_once(e->loop, 0) > 0; i++)
		assert_true(i < 1000); /* a device that never goes idle */
}

/* Sends @p text in one readable buffer with a writable one; returns the used length. */
static uint32_t request(struct env *e, const char *text, uint64_t *out, bool indirect)
{
	uint32_t n = (uint32_t)strlen(text), id, len;
	uint64_t in = vqb_alloc(&e->q, n);
	struct vqb_buf bufs[2] = {{in, n, false}, {0, 64, true}};

	*out = bufs[1].gpa = vqb_alloc(&e->q, 64);
	assert_int_equal(hvabs_mem_write(hvabs_vm_mem(e->vm), in, text, n), 0);
	uint16_t head = indirect ? vqb_add_indirect(&e->q, bufs, 2) : vqb_add(&e->q, bufs, 2);
	kick(e);
	assert_true(vqb_get_used(&e->q, &id, &len));
	assert_int_equal(id, head);
	return len;
}

static void upper_cases_a_message(void **state)
{
	struct env *e = *state;
	char got[64] = "";
	uint64_t out;

	assert_int_equal(vqb_mmio_read(e->vm, BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), UPPER_DEVICE_ID);
	assert_int_equal(request(e, "hello, hvabs 1!", &out, false), 15);
	assert_int_equal(hvabs_mem_read(hvabs_vm_mem(e->vm), out, got, 15), 0);
	assert_string_equal(got, "HELLO, HVABS 1!");
	assert_int_equal(request(e, "indirect", &out, true), 8);
	assert_int_equal(hvabs_mem_read(hvabs_vm_mem(e->vm), out, got, 8), 0);
	assert_memory_equal(got, "INDIRECT", 8);
	/* The configuration space counts the chains served. */
	assert_int_equal(vqb_mmio_read(e->vm, BASE, HVABS_VIRTIO_MMIO_CONFIG), 2);
	assert_true(vqb_mmio_read(e->vm, BASE, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS) &
		    HVABS_VIRTIO_MMIO_INT_VRING);
}

/* Each malformed chain: no used entry, DEVICE_NEEDS_RESET, and a reset recovers. */
static void malformed_chains_need_reset(void **state)
{
	struct env *e = *state;
	uint32_t id, len;
	uint64_t out;

	for (int kind = 0; kind < VQB_BAD_COUNT; kind++) {
		vqb_add_bad(&e->q, (enum vqb_bad)kind);
		kick(e);
		uint32_t st = vqb_mmio_read(e->vm, BASE, HVABS_VIRTIO_MMIO_STATUS);
		if (!(st & HVABS_VIRTIO_STATUS_NEEDS_RESET))
			fail_msg("%s: device did not ask for a reset",
				 vqb_bad_name((enum vqb_bad)kind));
		assert_false(vqb_get_used(&e->q, &id, &len));
		/* The driver resets the device and sets it up again. */
		vqb_reset(&e->q);
		assert_true(vqb_mmio_negotiate(e->vm, BASE, ~0ull, NULL) &
			    HVABS_VIRTIO_STATUS_FEATURES_OK);
		assert_int_equal(vqb_mmio_queue(e->vm, BASE, 0, &e->q), 0);
		vqb_mmio_driver_ok(e->vm, BASE);
		assert_int_equal(request(e, "ok", &out, false), 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(upper_cases_a_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(malformed_chains_need_reset, setup, teardown),
	};

	return cmocka_run_group_tests_name("upper", tests, NULL, NULL);
}
