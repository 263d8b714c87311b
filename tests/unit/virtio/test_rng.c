/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng: random bytes into writable buffers only, bounded per chain, many chains. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_rng.h>

#include "vt_harness.h"

struct rig {
	struct hvabs_virtio_rng *r;
	struct vqb b;
};

static void rig_up(struct vt_env *env, struct rig *g, uint32_t qsize)
{
	struct hvabs_virtio_rng_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop}, .queue_size = qsize};

	assert_int_equal(hvabs_virtio_rng_create(env->vm, &cfg, &g->r), 0);
	vt_vqb(env, &g->b, 0, qsize ? qsize : HVABS_VIRTIO_RNG_QUEUE_SIZE);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & HVABS_VIRTIO_STATUS_FEATURES_OK);
	vt_queue(env, VT_BASE, 0, &g->b);
	vt_driver_ok(env, VT_BASE);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint32_t request(struct vt_env *env, struct rig *g, const struct vqb_buf *bufs, int n)
{
	uint32_t id, len;
	uint16_t head = vqb_add(&g->b, bufs, n);

	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	assert_true(vqb_get_used(&g->b, &id, &len));
	assert_int_equal(id, head);
	return len;
}

static void identity(void **state)
{
	struct vt_env *env = *state;
	struct hvabs_virtio_rng *r;
	struct hvabs_virtio_rng_config cfg = {
	    .mmio = {.base = VT_BASE, .gsi = VT_GSI, .loop = env->loop}};

	assert_int_equal(hvabs_virtio_rng_create(env->vm, &cfg, &r), 0);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_DEVICE_ID), HVABS_VIRTIO_ID_RNG);
	assert_int_equal(vt_rd(env, VT_BASE, HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX),
			 HVABS_VIRTIO_RNG_QUEUE_SIZE);
	assert_non_null(hvabs_virtio_rng_transport(r));
	hvabs_virtio_rng_destroy(r);
	hvabs_virtio_rng_destroy(NULL);
	cfg.queue_size = 100;
	assert_int_equal(hvabs_virtio_rng_create(env->vm, &cfg, &r), -EINVAL);
	cfg.queue_size = 0;
	cfg.mmio.loop = NULL;
	assert_int_equal(hvabs_virtio_rng_create(env->vm, &cfg, &r), -EINVAL);
}

static void fills_writable_buffers(void **state)
{
	struct vt_env *env = *state;
	struct rig g;

	rig_up(env, &g, 16);
	uint64_t a = vqb_alloc(&g.b, 64);
	assert_int_equal(request(env, &g, &(struct vqb_buf){a, 64, true}, 1), 64);
	assert_false(all_zero(env->ram + a, 64));
	/* Two buffers are both filled. */
	uint64_t b = vqb_alloc(&g.b, 16), c = vqb_alloc(&g.b, 48);
	struct vqb_buf two[] = {{b, 16, true}, {c, 48, true}};
	assert_int_equal(request(env, &g, two, 2), 64);
	assert_false(all_zero(env->ram + b, 16));
	assert_false(all_zero(env->ram + c, 48));
	/* A readable buffer is left alone; only the writable one counts. */
	uint64_t rd = vqb_alloc(&g.b, 8), wr = vqb_alloc(&g.b, 24);
	struct vqb_buf mixed[] = {{rd, 8, false}, {wr, 24, true}};
	assert_int_equal(request(env, &g, mixed, 2), 24);
	assert_true(all_zero(env->ram + rd, 8));
	/* Nothing writable: nothing given. */
	assert_int_equal(request(env, &g, &(struct vqb_buf){rd, 8, false}, 1), 0);
	assert_int_equal(hvabs_virtio_rng_bytes(g.r), 64 + 64 + 24);
	hvabs_virtio_rng_destroy(g.r);
}

static void bounded_per_chain(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t big = HVABS_VIRTIO_RNG_MAX_CHAIN + 4096;

	rig_up(env, &g, 16);
	uint64_t a = vqb_alloc(&g.b, big);
	assert_int_equal(request(env, &g, &(struct vqb_buf){a, big, true}, 1),
			 HVABS_VIRTIO_RNG_MAX_CHAIN);
	assert_false(all_zero(env->ram + a + HVABS_VIRTIO_RNG_MAX_CHAIN - 64, 64));
	assert_true(all_zero(env->ram + a + HVABS_VIRTIO_RNG_MAX_CHAIN, 4096));
	hvabs_virtio_rng_destroy(g.r);
}

static void many_chains(void **state)
{
	struct vt_env *env = *state;
	struct rig g;
	uint32_t id, len;
	int n = 0;

	/* More chains than one batch: the device comes back for the rest by itself. */
	rig_up(env, &g, 256);
	for (int i = 0; i < 200; i++)
		vqb_add_indirect(&g.b, &(struct vqb_buf){vqb_alloc(&g.b, 8), 8, true}, 1);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	while (vqb_get_used(&g.b, &id, &len)) {
		assert_int_equal(len, 8);
		n++;
	}
	assert_int_equal(n, 200);
	hvabs_virtio_rng_destroy(g.r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(identity),
	    VT_CASE(fills_writable_buffers),
	    VT_CASE(bounded_per_chain),
	    VT_CASE(many_chains),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
