/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every malformed chain the builder can write, sent to a real device
 * (virtio-rng) through the transport: the device survives, sets
 * DEVICE_NEEDS_RESET with a configuration change interrupt (§2.1.2),
 * touches no guest memory at all, does nothing more until reset, and then
 * serves the driver again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_rng.h>

#include "vt_harness.h"

#define QSIZE 8
#define ST(x) HVABS_VIRTIO_STATUS_##x

static struct hvabs_virtio_rng *rng_new(struct vt_env *env)
{
	struct hvabs_virtio_rng *r;
	struct hvabs_virtio_rng_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop}, .queue_size = QSIZE};

	assert_int_equal(hvabs_virtio_rng_create(env->vm, &cfg, &r), 0);
	return r;
}

static void bring_up(struct vt_env *env, struct vqb *b)
{
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, 0, b);
	vt_driver_ok(env, VT_BASE);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS),
			 ST(ACKNOWLEDGE) | ST(DRIVER) | ST(FEATURES_OK) | ST(DRIVER_OK));
}

/* One good request: 32 random bytes land in the buffer. */
static void good_request(struct vt_env *env, struct vqb *b)
{
	uint64_t buf = vqb_alloc(b, 32);
	uint16_t head = vqb_add(b, &(struct vqb_buf){buf, 32, true}, 1);
	uint32_t id, len;
	static const uint8_t zero[32];

	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	assert_true(vqb_get_used(b, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 32);
	assert_memory_not_equal(env->ram + buf, zero, 32);
	/* Fresh rings (used_event 0): the first used buffer interrupts, exactly once. */
	if (vt_fallback())
		vt_pump(env);
	assert_int_equal(vt_irqs(env, 1), 1);
}

static void one_kind(struct vt_env *env, struct hvabs_virtio_rng *r, enum vqb_bad kind)
{
	struct vqb b;
	struct hvabs_virtio_mmio_stats st0, st1;

	vt_vqb(env, &b, 0, QSIZE);
	bring_up(env, &b);
	good_request(env, &b);
	vt_wr(env, VT_BASE, HVABS_VIRTIO_MMIO_INTERRUPT_ACK, 3);
	hvabs_virtio_mmio_get_stats(hvabs_virtio_rng_transport(r), &st0);

	vqb_add_bad(&b, kind);
	uint8_t *before = vt_ram_copy(env);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	uint32_t s = vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS);
	assert_true(s & ST(NEEDS_RESET));
	assert_true(s & ST(DRIVER_OK));
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS),
			 HVABS_VIRTIO_MMIO_INT_CONFIG);
	hvabs_virtio_mmio_get_stats(hvabs_virtio_rng_transport(r), &st1);
	assert_int_equal(st1.config_irqs, st0.config_irqs + 1);
	assert_int_equal(st1.needs_reset, st0.needs_reset + 1);
	if (vt_fallback())
		vt_pump(env);
	assert_int_equal(vt_irqs(env, 1), 1);
	/* Not one byte of guest memory changed: no used entry, no avail_event. */
	vt_ram_same(env, before, NULL, 0);
	/* Until the reset the device ignores the queue, even good buffers on it. */
	vqb_add(&b, &(struct vqb_buf){vqb_alloc(&b, 16), 16, true}, 1);
	free(before);
	before = vt_ram_copy(env);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	vt_ram_same(env, before, NULL, 0);
	free(before);
	/* The driver resets and starts over: the device works. */
	vqb_reset(&b);
	bring_up(env, &b);
	good_request(env, &b);
}

static void every_malformed_kind(void **state)
{
	struct vt_env *env = *state;
	struct hvabs_virtio_rng *r = rng_new(env);

	for (int k = 0; k < VQB_BAD_COUNT; k++) {
		print_message("  %s\n", vqb_bad_name((enum vqb_bad)k));
		one_kind(env, r, (enum vqb_bad)k);
	}
	hvabs_virtio_rng_destroy(r);
}

/* An indirect table the driver did not negotiate is as bad as any other rule broken. */
static void indirect_not_negotiated(void **state)
{
	struct vt_env *env = *state;
	struct hvabs_virtio_rng *r = rng_new(env);
	struct vqb b;

	vt_vqb(env, &b, 0, QSIZE);
	assert_true(vt_negotiate(env, VT_BASE, HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1), NULL) &
		    ST(FEATURES_OK));
	vt_queue(env, VT_BASE, 0, &b);
	vt_driver_ok(env, VT_BASE);
	vqb_add_indirect(&b, &(struct vqb_buf){vqb_alloc(&b, 16), 16, true}, 1);
	uint8_t *before = vt_ram_copy(env);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	assert_true(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_STATUS) & ST(NEEDS_RESET));
	vt_ram_same(env, before, NULL, 0);
	free(before);
	hvabs_virtio_rng_destroy(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(every_malformed_kind),
	    VT_CASE(indirect_not_negotiated),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
