/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport with a small echo device written against the
 * public device ops table (as net, console and vsock will be): registers,
 * feature negotiation, the status machine, queue setup and its refusals,
 * notifications through the run loop and the bus, interrupts (edge through
 * an irqfd, and level), configuration space, and a reset between batches.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_mmio.h>

#include "vt_harness.h"

#define ECHO_ID	   42u
#define ECHO_QMAX  64u
#define ECHO_F_FOO 0 /* a device-specific feature bit */
#define ALL_RING                                                                                   \
	(HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |                                          \
	 HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX))
#define V1    HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)
#define ST(x) HVABS_VIRTIO_STATUS_##x

/* Copies each chain's readable bytes into its writable part. */
struct echo {
	struct hvabs_virtio_device_ops ops;
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtq_seg segs[ECHO_QMAX];
	uint8_t config[8];
	int batch; /* chains per call, 0 = all */
	int refuse;
	int resets, driver_oks, processed, config_writes;
	uint64_t features;
};

static void echo_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct echo *e = opaque;

	memcpy(buf, e->config + off, len);
}

static void echo_config_write(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
	struct echo *e = opaque;

	memcpy(e->config + off, buf, len);
	e->config_writes++;
}

static int echo_features_ok(void *opaque, uint64_t features)
{
	struct echo *e = opaque;

	if (e->refuse)
		return -EINVAL;
	e->features = features;
	return 0;
}

static void echo_driver_ok(void *opaque)
{
	((struct echo *)opaque)->driver_oks++;
}

static void echo_reset(void *opaque)
{
	((struct echo *)opaque)->resets++;
}

static int echo_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct echo *e = opaque;
	struct hvabs_virtq_chain c;
	uint8_t buf[256];

	(void)index;
	hvabs_virtq_chain_init(&c, e->segs, ECHO_QMAX);
	for (int n = 0; !e->batch || n < e->batch; n++) {
		if (hvabs_virtq_pop(q, &c))
			return 0;
		size_t k = hvabs_virtq_chain_read(&c, 0, buf, sizeof(buf));
		k = hvabs_virtq_chain_write(&c, 0, buf, k);
		assert_int_equal(hvabs_virtq_push(q, &c, (uint32_t)k), 0);
		e->processed++;
	}
	return 1;
}

static struct echo *echo_new(struct vt_env *env, uint32_t flags)
{
	struct echo *e = calloc(1, sizeof(*e));
	struct hvabs_virtio_mmio_params p = {
	    .base = VT_BASE, .gsi = VT_GSI, .flags = flags, .loop = env->loop, .name = "echo"};

	assert_non_null(e);
	e->ops.device_id = ECHO_ID;
	e->ops.num_queues = 2;
	e->ops.queue_size_max = ECHO_QMAX;
	e->ops.config_size = 6;
	e->ops.features = HVABS_VIRTIO_BIT(ECHO_F_FOO) | ALL_RING;
	e->ops.config_read = echo_config_read;
	e->ops.config_write = echo_config_write;
	e->ops.features_ok = echo_features_ok;
	e->ops.driver_ok = echo_driver_ok;
	e->ops.queue_notify = echo_notify;
	e->ops.reset = echo_reset;
	memcpy(e->config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &e->ops, e, &e->t), 0);
	return e;
}

static void echo_free(struct echo *e)
{
	hvabs_virtio_mmio_destroy(e->t);
	free(e);
}

static uint32_t rd(struct vt_env *env, uint32_t off)
{
	return vt_rd(env, VT_BASE, off);
}

static void wr(struct vt_env *env, uint32_t off, uint32_t val)
{
	vt_wr(env, VT_BASE, off, val);
}

static uint32_t status(struct vt_env *env)
{
	return rd(env, HVABS_VIRTIO_MMIO_STATUS);
}

/* Negotiated, queue 0 on @p b, DRIVER_OK: ready for requests. */
static void bring_up(struct vt_env *env, struct vqb *b, uint64_t accept)
{
	uint32_t s = vt_negotiate(env, VT_BASE, accept, NULL);

	assert_true(s & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, 0, b);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_QUEUE_READY), 1);
	vt_driver_ok(env, VT_BASE);
	assert_true(status(env) & ST(DRIVER_OK));
}

/* One echo request with @p text; returns the used-ring length. */
static uint32_t echo_once(struct vt_env *env, struct vqb *b, const char *text, uint64_t *out)
{
	size_t n = strlen(text);
	uint64_t in = vqb_alloc(b, (uint32_t)n);
	*out = vqb_alloc(b, (uint32_t)n);
	assert_int_equal(hvabs_mem_write(env->mem, in, text, n), 0);
	struct vqb_buf bufs[] = {{in, (uint32_t)n, false}, {*out, (uint32_t)n, true}};
	uint16_t head = vqb_add(b, bufs, 2);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	uint32_t id, len;
	assert_true(vqb_get_used(b, &id, &len));
	assert_int_equal(id, head);
	return len;
}

static void identity(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);

	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_DEVICE_ID), ECHO_ID);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_VENDOR_ID), HVABS_VIRTIO_MMIO_VENDOR);
	wr(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)e->ops.features);
	wr(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	wr(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_DEVICE_FEATURES), 0);
	for (uint32_t q = 0; q < 3; q++) {
		wr(env, HVABS_VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX), q < 2 ? ECHO_QMAX : 0);
		assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_QUEUE_READY), 0);
	}
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(status(env), 0);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* §4.2.2.2: control registers are 32 bits wide; others are ignored. */
	uint64_t v = 1;
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE, 2, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x70, 1, 1), 0);
	assert_int_equal(status(env), 0);
	wr(env, HVABS_VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);

	struct hvabs_acpi_device ad;
	char word[64];
	hvabs_virtio_mmio_describe(e->t, &ad);
	assert_int_equal(ad.type, HVABS_ACPI_DEV_VIRTIO_MMIO);
	assert_int_equal(ad.base, VT_BASE);
	assert_int_equal(ad.size, 0x1000);
	assert_int_equal(ad.irq, VT_GSI);
	assert_int_equal(ad.flags, 0);
	assert_int_equal(hvabs_virtio_mmio_cmdline(e->t, word, sizeof(word)), 34);
	assert_string_equal(word, "virtio_mmio.device=4K@0xd0000000:5");
	assert_int_equal(hvabs_virtio_mmio_cmdline(e->t, word, 10), -ENOSPC);
	assert_string_equal(word, "");
	echo_free(e);
}

static void create_refusals(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct hvabs_virtio_mmio *t2;
	struct hvabs_virtio_device_ops ops = e->ops;
	struct hvabs_virtio_mmio_params p = {.base = VT_BASE, .gsi = 6, .loop = env->loop};

	/* The window is taken. */
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EEXIST);
	p.base = VT_BASE + 0x1800;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	p.base = VT_BASE + 0x1000;
	p.loop = NULL;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	p.loop = env->loop;
	ops.queue_size_max = 48;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	ops.queue_size_max = 64;
	ops.num_queues = 0;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	ops.num_queues = HVABS_VIRTIO_MMIO_MAX_QUEUES + 1;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	ops.num_queues = 1;
	ops.config_size = 0x1000;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), -EINVAL);
	ops.config_size = 0;
	assert_int_equal(hvabs_virtio_mmio_create(env->vm, &p, &ops, e, &t2), 0);
	hvabs_virtio_mmio_destroy(t2);
	hvabs_virtio_mmio_destroy(NULL);
	echo_free(e);
}

static void negotiation(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	uint64_t f;

	/* A driver that does not accept VERSION_1 (a legacy driver) is refused. */
	uint32_t s = vt_negotiate(env, VT_BASE, ~V1, &f);
	assert_false(s & ST(FEATURES_OK));
	assert_int_equal(s, ST(ACKNOWLEDGE) | ST(DRIVER));
	/* ... and so is one that takes a feature that was not offered. */
	vt_negotiate(env, VT_BASE, 0, NULL);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, 1u << 5);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER) | ST(FEATURES_OK));
	assert_false(status(env) & ST(FEATURES_OK));
	/* ... and one the device itself refuses. */
	e->refuse = 1;
	assert_false(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	e->refuse = 0;
	/* A good set is accepted and handed to the device. */
	s = vt_negotiate(env, VT_BASE, V1 | HVABS_VIRTIO_BIT(ECHO_F_FOO), &f);
	assert_true(s & ST(FEATURES_OK));
	assert_int_equal(e->features, V1 | HVABS_VIRTIO_BIT(ECHO_F_FOO));
	hvabs_virtio_mmio_lock(e->t);
	assert_int_equal(hvabs_virtio_mmio_features(e->t), f);
	hvabs_virtio_mmio_unlock(e->t);
	/* After FEATURES_OK the features no longer change. */
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)ALL_RING);
	wr(env, HVABS_VIRTIO_MMIO_STATUS, s);
	hvabs_virtio_mmio_lock(e->t);
	assert_int_equal(hvabs_virtio_mmio_features(e->t), f);
	hvabs_virtio_mmio_unlock(e->t);
	assert_int_equal(e->resets, 4);
	echo_free(e);
}

/* Features written after FEATURES_OK do not reach the queues either. */
static void late_features_ignored(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t out;

	vt_vqb(env, &b, 0, 16);
	assert_true(vt_negotiate(env, VT_BASE, V1 | ALL_RING, NULL) & ST(FEATURES_OK));
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(env, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, 0);
	vt_queue(env, VT_BASE, 0, &b);
	vt_driver_ok(env, VT_BASE);
	echo_once(env, &b, "abc", &out);
	/* EVENT_IDX is still in force: going idle wrote avail_event. */
	assert_int_equal(vqb_avail_event(&b), 1);
	echo_free(e);
}

static void status_rules(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);

	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER));
	/* §2.1.1: the driver cannot clear bits, nor set NEEDS_RESET. */
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE));
	assert_int_equal(status(env), ST(ACKNOWLEDGE) | ST(DRIVER));
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER) | ST(NEEDS_RESET));
	assert_int_equal(status(env), ST(ACKNOWLEDGE) | ST(DRIVER));
	/* DRIVER_OK needs FEATURES_OK first. */
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER) | ST(DRIVER_OK));
	assert_int_equal(status(env), ST(ACKNOWLEDGE) | ST(DRIVER));
	assert_int_equal(e->driver_oks, 0);
	/* FAILED is the driver's to set; a reset clears everything. */
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER) | ST(FAILED));
	assert_int_equal(status(env), ST(ACKNOWLEDGE) | ST(DRIVER) | ST(FAILED));
	wr(env, HVABS_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(status(env), 0);
	assert_int_equal(e->resets, 1);
	echo_free(e);
}

/* Sets up queue 0 by hand with @p num and @p desc; returns QueueReady. */
static uint32_t try_queue(struct vt_env *env, const struct vqb *b, uint32_t num, uint64_t desc)
{
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_NUM, num);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)b->avail);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)b->used);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(env, HVABS_VIRTIO_MMIO_QUEUE_READY);
}

static void queue_refusals(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	struct hvabs_virtio_mmio_stats st;

	vt_vqb(env, &b, 0, 16);
	struct {
		uint32_t num;
		uint64_t desc;
		const char *what;
	} bad[] = {
	    {ECHO_QMAX * 2, b.desc, "QueueNum above QueueNumMax"},
	    {48, b.desc, "QueueNum not a power of 2"},
	    {0, b.desc, "QueueNum 0"},
	    {16, VT_RAM_SIZE + 0x10000, "descriptor table outside RAM"},
	    {16, 1ull << 40, "descriptor table far outside RAM"},
	    {16, b.desc + 4, "misaligned descriptor table"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("  %s\n", bad[i].what);
		assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
		assert_int_equal(try_queue(env, &b, bad[i].num, bad[i].desc), 0);
		assert_true(status(env) & ST(NEEDS_RESET));
		/* Nothing runs until the driver resets: DRIVER_OK does not start the queue. */
		vt_driver_ok(env, VT_BASE);
		vt_pump(env);
		assert_int_equal(vqb_used_idx(&b), 0);
	}
	/* Setting up a queue before FEATURES_OK is refused the same way. */
	wr(env, HVABS_VIRTIO_MMIO_STATUS, 0);
	wr(env, HVABS_VIRTIO_MMIO_STATUS, ST(ACKNOWLEDGE) | ST(DRIVER));
	assert_int_equal(try_queue(env, &b, 16, b.desc), 0);
	assert_true(status(env) & ST(NEEDS_RESET));
	/* No DRIVER_OK yet: no configuration interrupt for these. */
	hvabs_virtio_mmio_get_stats(e->t, &st);
	assert_int_equal(st.config_irqs, 0);
	assert_int_equal(vt_irqs(env, 0), 0);
	/* After a reset the same device works. */
	uint64_t out;
	bring_up(env, &b, ~0ull);
	assert_int_equal(echo_once(env, &b, "still alive", &out), 11);
	echo_free(e);
}

static void queue_registers_locked(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t out;

	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, ~0ull);
	/* §4.2.2.2: QueueNum and the addresses are not to change while ready. */
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	assert_int_equal(echo_once(env, &b, "hello", &out), 5);
	/* QueueReady = 0 stops the queue; it reads back 0. */
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_QUEUE_READY), 0);
	vqb_add(&b, &(struct vqb_buf){vqb_alloc(&b, 4), 4, true}, 1);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&b), 1);
	assert_int_equal(e->processed, 1);
	echo_free(e);
}

static void notify_and_interrupt(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t out;
	char got[8];
	struct hvabs_virtio_mmio_stats st;

	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, V1);
	vt_irqs(env, 0);
	assert_int_equal(echo_once(env, &b, "virtio!", &out), 7);
	assert_int_equal(hvabs_mem_read(env->mem, out, got, 7), 0);
	assert_memory_equal(got, "virtio!", 7);
	/* §4.2.3.4: the cause is in InterruptStatus, the interrupt was sent once. */
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), HVABS_VIRTIO_MMIO_INT_VRING);
	if (vt_fallback())
		vt_pump(env); /* the core's irqfd fallback runs on the same loop */
	assert_int_equal(vt_irqs(env, 1), 1);
	wr(env, HVABS_VIRTIO_MMIO_INTERRUPT_ACK, HVABS_VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	hvabs_virtio_mmio_get_stats(e->t, &st);
	assert_int_equal(st.used_irqs, 1);
	assert_int_equal(st.kernel_ioeventfd, vt_kernel_ioeventfd() ? 1 : 0);
	assert_int_equal(st.kernel_irqfd, vt_kernel_irqfd() ? 1 : 0);

	/* A QueueNotify that reaches the bus (no ioeventfd caught it) works too. */
	vqb_add(&b, &(struct vqb_buf){vqb_alloc(&b, 4), 4, true}, 1);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&b), 2);
	/* A notification for a queue that is not set up is ignored. */
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(env, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	vt_pump(env);
	assert_int_equal(e->processed, 2);
	echo_free(e);
}

static void notify_before_driver_ok(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;

	vt_vqb(env, &b, 0, 16);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, 0, &b);
	vqb_add(&b, &(struct vqb_buf){vqb_alloc(&b, 4), 4, true}, 1);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	/* §2.1.2: no buffer is used before DRIVER_OK ... */
	assert_int_equal(vqb_used_idx(&b), 0);
	vt_driver_ok(env, VT_BASE);
	assert_int_equal(e->driver_oks, 1);
	vt_pump(env);
	/* ... and the early notification is not lost. */
	assert_int_equal(vqb_used_idx(&b), 1);
	echo_free(e);
}

static void used_event_suppression(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t out;

	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, ~0ull);
	vt_irqs(env, 0);
	/* used_event 1: the first used buffer needs no interrupt, the second does. */
	vqb_set_used_event(&b, 1);
	echo_once(env, &b, "one", &out);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	echo_once(env, &b, "two", &out);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), HVABS_VIRTIO_MMIO_INT_VRING);
	if (vt_fallback())
		vt_pump(env);
	assert_int_equal(vt_irqs(env, 1), 1);
	echo_free(e);
}

static void config_space(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t v;

	for (uint32_t size = 1; size <= 8; size *= 2) {
		assert_int_equal(
		    hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x100, size, &v), 0);
		uint64_t want = 0;
		memcpy(&want, "\x11\x22\x33\x44\x55\x66\x00\x00", size);
		assert_int_equal(v, want); /* bytes 6 and 7 lie beyond config_size: read as 0 */
	}
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x105, 1, &v), 0);
	assert_int_equal(v, 0x66);
	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x200, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x102, 2, 0xbeef), 0);
	assert_memory_equal(e->config, "\x11\x22\xef\xbe\x55\x66", 6);
	assert_int_equal(e->config_writes, 1);
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, VT_BASE + 0x300, 4, 1), 0);
	assert_int_equal(e->config_writes, 1);

	/* A change before DRIVER_OK bumps the generation only; after, it interrupts. */
	uint32_t gen = rd(env, HVABS_VIRTIO_MMIO_CONFIG_GENERATION);
	hvabs_virtio_mmio_lock(e->t);
	assert_int_equal(hvabs_virtio_mmio_config_changed(e->t), 0);
	hvabs_virtio_mmio_unlock(e->t);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, ~0ull);
	vt_irqs(env, 0);
	hvabs_virtio_mmio_lock(e->t);
	assert_int_equal(hvabs_virtio_mmio_config_changed(e->t), 0);
	hvabs_virtio_mmio_unlock(e->t);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), HVABS_VIRTIO_MMIO_INT_CONFIG);
	if (vt_fallback())
		vt_pump(env);
	assert_int_equal(vt_irqs(env, 1), 1);
	echo_free(e);
}

/*
 * A reset between two batches of work: the device was asked to come back for
 * more, the driver resets first. Nothing more is taken from the old rings
 * and guest memory stays as it was at the reset.
 */
static void reset_mid_io(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b;
	uint64_t out;

	e->batch = 1;
	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, ~0ull);
	for (int i = 0; i < 4; i++) {
		uint64_t in = vqb_alloc(&b, 4), o = vqb_alloc(&b, 4);
		assert_int_equal(hvabs_mem_write(env->mem, in, "data", 4), 0);
		struct vqb_buf bufs[] = {{in, 4, false}, {o, 4, true}};
		vqb_add(&b, bufs, 2);
	}
	vt_notify(env, VT_BASE, 0);
	assert_true(hvabs_event_loop_run_once(env->loop, 0) >= 1);
	assert_int_equal(e->processed, 1);
	/* The device asked to be called again; the driver resets first. */
	int resets = e->resets;
	wr(env, HVABS_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(e->resets, resets + 1);
	uint8_t *at_reset = vt_ram_copy(env);
	vt_pump(env);
	vt_notify(env, VT_BASE, 0);
	vt_pump(env);
	assert_int_equal(e->processed, 1);
	vt_ram_same(env, at_reset, NULL, 0);
	free(at_reset);
	assert_int_equal(rd(env, HVABS_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The driver starts over with fresh rings and the device serves it. */
	vqb_reset(&b);
	e->batch = 0;
	bring_up(env, &b, ~0ull);
	assert_int_equal(echo_once(env, &b, "again", &out), 5);
	echo_free(e);
}

static void level_interrupt(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, HVABS_VIRTIO_MMIO_F_LEVEL);
	struct vqb b;
	struct hvabs_acpi_device ad;
	uint64_t out;

	hvabs_virtio_mmio_describe(e->t, &ad);
	assert_int_equal(ad.flags, HVABS_ACPI_DEV_LEVEL);
	vt_vqb(env, &b, 0, 16);
	bring_up(env, &b, V1);
	echo_once(env, &b, "lvl", &out);
	/* The line is high while InterruptStatus is non-zero. */
	assert_int_equal(vt_line_level(env), 1);
	wr(env, HVABS_VIRTIO_MMIO_INTERRUPT_ACK, HVABS_VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_line_level(env), 0);
	echo_once(env, &b, "lvl", &out);
	assert_int_equal(vt_line_level(env), 1);
	wr(env, HVABS_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_line_level(env), 0);
	echo_free(e);
}

static void two_queues_and_kick(void **state)
{
	struct vt_env *env = *state;
	struct echo *e = echo_new(env, 0);
	struct vqb b0, b1;

	vt_vqb(env, &b0, 0, 16);
	vt_vqb(env, &b1, 1, 8);
	assert_true(vt_negotiate(env, VT_BASE, ~0ull, NULL) & ST(FEATURES_OK));
	vt_queue(env, VT_BASE, 0, &b0);
	vt_queue(env, VT_BASE, 1, &b1);
	vt_driver_ok(env, VT_BASE);
	vqb_add(&b1, &(struct vqb_buf){vqb_alloc(&b1, 4), 4, true}, 1);
	vt_notify(env, VT_BASE, 1);
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&b1), 1);
	assert_int_equal(vqb_used_idx(&b0), 0);
	/* A device's own event source can schedule a queue without a notification. */
	vqb_add(&b0, &(struct vqb_buf){vqb_alloc(&b0, 4), 4, true}, 1);
	assert_int_equal(hvabs_virtio_mmio_kick(e->t, 0), 0);
	assert_int_equal(hvabs_virtio_mmio_kick(e->t, 9), -EINVAL);
	vt_pump(env);
	assert_int_equal(vqb_used_idx(&b0), 1);
	hvabs_virtio_mmio_lock(e->t);
	assert_non_null(hvabs_virtio_mmio_queue(e->t, 1));
	assert_null(hvabs_virtio_mmio_queue(e->t, 2));
	hvabs_virtio_mmio_unlock(e->t);
	/* Destroying with work pending is safe. */
	vqb_add(&b0, &(struct vqb_buf){vqb_alloc(&b0, 4), 4, true}, 1);
	vt_notify(env, VT_BASE, 0);
	echo_free(e);
	vt_pump(env);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(identity),
	    VT_CASE(create_refusals),
	    VT_CASE(negotiation),
	    VT_CASE(late_features_ignored),
	    VT_CASE(status_rules),
	    VT_CASE(queue_refusals),
	    VT_CASE(queue_registers_locked),
	    VT_CASE(notify_and_interrupt),
	    VT_CASE(notify_before_driver_ok),
	    VT_CASE(used_event_suppression),
	    VT_CASE(config_space),
	    VT_CASE(reset_mid_io),
	    VT_CASE(level_interrupt),
	    VT_CASE(two_queues_and_kick),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
