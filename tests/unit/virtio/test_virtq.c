/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The split virtqueue on its own, in a mock VM's RAM: chains as the device
 * sees them, the used ring as the driver sees it, notification suppression,
 * and every malformed chain refused without touching guest memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_queue.h>

#include "vt_harness.h"

#define QMAX 256
#define RING_FEATURES                                                                              \
	(HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |                                          \
	 HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX))

/* The last warning a queue logged: which rule a malformed chain broke. */
static char last_warning[512];

static void capture(void *opaque, enum hvabs_log_level level, const char *component,
		    const char *msg)
{
	(void)opaque;
	(void)level;
	(void)component;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static const struct hvabs_logger capture_log = {capture, NULL, HVABS_LOG_WARN};

struct qrig {
	struct hvabs_virtq *q;
	struct vqb b;
	struct hvabs_virtq_seg segs[QMAX];
	struct hvabs_virtq_chain c;
};

static void rig_up(struct vt_env *env, struct qrig *r, uint32_t size, uint64_t features)
{
	assert_int_equal(hvabs_virtq_create(env->mem, &capture_log, "test.q0", QMAX, &r->q), 0);
	vt_vqb(env, &r->b, 0, size);
	struct hvabs_virtq_layout l = {.size = size,
				       .desc = r->b.desc,
				       .avail = r->b.avail,
				       .used = r->b.used,
				       .features = features};
	assert_int_equal(hvabs_virtq_enable(r->q, &l), 0);
	hvabs_virtq_chain_init(&r->c, r->segs, QMAX);
}

static void rig_restart(struct qrig *r, uint64_t features)
{
	struct hvabs_virtq_layout l = {.size = r->b.size,
				       .desc = r->b.desc,
				       .avail = r->b.avail,
				       .used = r->b.used,
				       .features = features};
	hvabs_virtq_disable(r->q);
	vqb_reset(&r->b);
	assert_int_equal(hvabs_virtq_enable(r->q, &l), 0);
}

static void rig_down(struct qrig *r)
{
	hvabs_virtq_destroy(r->q);
}

static void direct_chain(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;
	uint8_t hdr[16], got[16];

	rig_up(env, &r, 16, RING_FEATURES);
	uint64_t h = vqb_alloc(&r.b, 16), d = vqb_alloc(&r.b, 100), s = vqb_alloc(&r.b, 1);
	for (int i = 0; i < 16; i++)
		hdr[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(hvabs_mem_write(env->mem, h, hdr, 16), 0);
	struct vqb_buf bufs[] = {{h, 16, false}, {d, 100, true}, {s, 1, true}};
	uint16_t head = vqb_add(&r.b, bufs, 3);

	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(r.c.head, head);
	assert_int_equal(r.c.nr_readable, 1);
	assert_int_equal(r.c.nr_writable, 2);
	assert_int_equal(r.c.readable_len, 16);
	assert_int_equal(r.c.writable_len, 101);
	assert_int_equal(r.c.nr_desc, 3);
	assert_ptr_equal(r.c.seg[1].hva, env->ram + d);
	assert_int_equal(r.c.seg[2].gpa, s);
	/* Reads stop at the end of the readable part. */
	assert_int_equal(hvabs_virtq_chain_read(&r.c, 0, got, 16), 16);
	assert_memory_equal(got, hdr, 16);
	assert_int_equal(hvabs_virtq_chain_read(&r.c, 10, got, 16), 6);
	/* A write across the boundary of two writable buffers. */
	assert_int_equal(hvabs_virtq_chain_write(&r.c, 98, "xyz", 3), 3);
	assert_memory_equal(env->ram + d + 98, "xy", 2);
	assert_int_equal(env->ram[s], 'z');
	assert_int_equal(hvabs_virtq_chain_write(&r.c, 100, "12", 2), 1);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);

	assert_int_equal(hvabs_virtq_push(r.q, &r.c, 101), 0);
	uint32_t id, len;
	assert_true(vqb_get_used(&r.b, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 101);
	assert_false(vqb_get_used(&r.b, &id, &len));
	/* Nothing is in flight any more. */
	assert_int_equal(hvabs_virtq_push(r.q, &r.c, 0), -EINVAL);
	rig_down(&r);
}

static void indirect_chains(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;

	rig_up(env, &r, 8, RING_FEATURES);
	uint64_t a = vqb_alloc(&r.b, 32), b = vqb_alloc(&r.b, 64), c = vqb_alloc(&r.b, 8);
	struct vqb_buf bufs[] = {{a, 32, false}, {b, 64, true}, {c, 8, true}};
	uint16_t head = vqb_add_indirect(&r.b, bufs, 3);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(r.c.head, head);
	assert_int_equal(r.c.nr_readable, 1);
	assert_int_equal(r.c.nr_writable, 2);
	assert_int_equal(r.c.writable_len, 72);
	assert_int_equal(r.c.nr_desc, 3);
	assert_int_equal(hvabs_virtq_push(r.q, &r.c, 72), 0);

	/* §2.7.5.3.2: direct descriptors followed by one indirect descriptor. */
	uint64_t table = vqb_alloc(&r.b, 32);
	vqb_set_table_desc(&r.b, table, 0, b, 64, VQB_F_WRITE | VQB_F_NEXT, 1);
	vqb_set_table_desc(&r.b, table, 1, c, 8, VQB_F_WRITE, 0);
	vqb_set_desc(&r.b, 5, a, 32, VQB_F_NEXT, 6);
	/* The WRITE flag of the descriptor naming a table is ignored (§2.7.5.3.2). */
	vqb_set_desc(&r.b, 6, table, 32, VQB_F_INDIRECT | VQB_F_WRITE, 0);
	vqb_avail_put(&r.b, 5);
	vqb_publish(&r.b);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(r.c.head, 5);
	assert_int_equal(r.c.nr_readable, 1);
	assert_int_equal(r.c.nr_writable, 2);
	assert_int_equal(r.c.readable_len, 32);
	assert_int_equal(r.c.writable_len, 72);

	/* Empty descriptors count but give no segment. */
	vqb_set_desc(&r.b, 0, a, 0, VQB_F_NEXT, 1);
	vqb_set_desc(&r.b, 1, b, 4, VQB_F_WRITE, 0);
	vqb_avail_put(&r.b, 0);
	vqb_publish(&r.b);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(r.c.nr_desc, 2);
	assert_int_equal(r.c.nr_readable, 0);
	assert_int_equal(r.c.nr_writable, 1);
	rig_down(&r);
}

static void chain_iov(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;
	struct iovec iov[4];

	rig_up(env, &r, 8, RING_FEATURES);
	uint64_t a = vqb_alloc(&r.b, 10), b = vqb_alloc(&r.b, 20), c = vqb_alloc(&r.b, 30);
	struct vqb_buf bufs[] = {{a, 10, false}, {b, 20, true}, {c, 30, true}};
	vqb_add(&r.b, bufs, 3);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(hvabs_virtq_chain_iov(&r.c, HVABS_VIRTQ_WRITABLE, 15, 20, iov, 4), 2);
	assert_ptr_equal(iov[0].iov_base, env->ram + b + 15);
	assert_int_equal(iov[0].iov_len, 5);
	assert_ptr_equal(iov[1].iov_base, env->ram + c);
	assert_int_equal(iov[1].iov_len, 15);
	assert_int_equal(hvabs_virtq_chain_iov(&r.c, HVABS_VIRTQ_WRITABLE, 0, 50, iov, 1), -E2BIG);
	assert_int_equal(hvabs_virtq_chain_iov(&r.c, HVABS_VIRTQ_WRITABLE, 1, 50, iov, 4), -ERANGE);
	assert_int_equal(hvabs_virtq_chain_iov(&r.c, HVABS_VIRTQ_READABLE, 0, 10, iov, 4), 1);
	assert_int_equal(hvabs_virtq_chain_iov(&r.c, 7, 0, 1, iov, 4), -EINVAL);
	rig_down(&r);
}

/* Pops and pushes one single-buffer chain; returns notify_needed(). */
static bool one_round(struct qrig *r)
{
	vqb_add(&r->b, &(struct vqb_buf){vqb_alloc(&r->b, 4), 4, true}, 1);
	assert_int_equal(hvabs_virtq_pop(r->q, &r->c), 0);
	assert_int_equal(hvabs_virtq_push(r->q, &r->c, 4), 0);
	return hvabs_virtq_notify_needed(r->q);
}

static void event_idx(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;

	rig_up(env, &r, 8, RING_FEATURES);
	/* Going idle asks for a notification at the next buffer. */
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);
	assert_int_equal(vqb_avail_event(&r.b), 0);
	/* used_event 2: only the push that fills used entry 2 (idx 2 -> 3) notifies. */
	vqb_set_used_event(&r.b, 2);
	assert_false(one_round(&r));
	assert_false(one_round(&r));
	assert_true(one_round(&r));
	assert_false(one_round(&r));
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);
	assert_int_equal(vqb_avail_event(&r.b), 4);
	/* Two pushes, one check: the crossing is still seen. */
	vqb_set_used_event(&r.b, 4);
	vqb_add(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 4), 4, true}, 1);
	vqb_add(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 4), 4, true}, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
		assert_int_equal(hvabs_virtq_push(r.q, &r.c, 0), 0);
	}
	assert_true(hvabs_virtq_notify_needed(r.q));
	/* Nothing pushed since: no notification. */
	assert_false(hvabs_virtq_notify_needed(r.q));
	/* Without EVENT_IDX the avail flags decide, and avail_event is never written. */
	rig_restart(&r, 0);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);
	vqb_set_used_event(&r.b, 100);
	assert_true(one_round(&r));
	vqb_set_avail_flags(&r.b, 1);
	assert_false(one_round(&r));
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);
	assert_int_equal(vqb_avail_event(&r.b), 0);
	rig_down(&r);
}

/* What the log says for each kind: proof that the intended rule caught it. */
static const char *const reason[VQB_BAD_COUNT] = {
    [VQB_BAD_BUF_OUTSIDE_RAM] = "not inside guest RAM",
    [VQB_BAD_BUF_CROSSES_RAM_END] = "not inside guest RAM",
    [VQB_BAD_LEN_OVERFLOW] = "4 GiB or longer",
    [VQB_BAD_LOOP] = "more than 8 descriptors",
    [VQB_BAD_SELF_LOOP] = "more than 8 descriptors",
    [VQB_BAD_TOO_LONG] = "more than 8 descriptors",
    [VQB_BAD_NEXT_OUT_OF_RANGE] = "next index 8 beyond",
    [VQB_BAD_HEAD_OUT_OF_RANGE] = "names descriptor 8",
    [VQB_BAD_READ_AFTER_WRITE] = "readable buffer after a writable",
    [VQB_BAD_INDIRECT_NESTED] = "indirect descriptor inside an indirect table",
    [VQB_BAD_INDIRECT_LEN_UNALIGNED] = "length 24 is not a multiple of 16",
    [VQB_BAD_INDIRECT_EMPTY] = "length 0 is not a multiple of 16",
    [VQB_BAD_INDIRECT_TOO_BIG] = "indirect table of 9 descriptors",
    [VQB_BAD_INDIRECT_OUTSIDE_RAM] = "indirect table 0x",
    [VQB_BAD_INDIRECT_WITH_NEXT] = "both NEXT and INDIRECT",
    [VQB_BAD_INDIRECT_LOOP] = "loop in its indirect table",
    [VQB_BAD_INDIRECT_NEXT_OUT_OF_RANGE] = "indirect next 2 beyond",
    [VQB_BAD_INDIRECT_READ_AFTER_WRITE] = "readable buffer after a writable",
    [VQB_BAD_AVAIL_JUMP] = "entries past ours",
};

static void malformed(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;

	for (int k = 0; k < VQB_BAD_COUNT; k++) {
		print_message("  %s\n", vqb_bad_name((enum vqb_bad)k));
		/* A fresh queue each time, so the rate limit never hides a reason. */
		rig_up(env, &r, 8, RING_FEATURES);
		vqb_add_bad(&r.b, (enum vqb_bad)k);
		uint8_t *before = vt_ram_copy(env);
		last_warning[0] = '\0';
		assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -EBADMSG);
		assert_non_null(strstr(last_warning, reason[k]));
		assert_true(hvabs_virtq_is_broken(r.q));
		assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -EIO);
		assert_false(hvabs_virtq_notify_needed(r.q));
		/* Nothing at all was written to guest memory. */
		vt_ram_same(env, before, NULL, 0);
		free(before);
		/* A reset (disable, enable) makes the queue usable again. */
		rig_restart(&r, RING_FEATURES);
		assert_false(hvabs_virtq_is_broken(r.q));
		assert_true(one_round(&r));
		rig_down(&r);
	}
	/* An indirect table when INDIRECT_DESC was not negotiated. */
	rig_up(env, &r, 8, HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX));
	vqb_add_indirect(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 4), 4, true}, 1);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -EBADMSG);
	assert_non_null(strstr(last_warning, "not negotiated"));
	rig_down(&r);
}

static void enable_refusals(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;

	rig_up(env, &r, 8, 0);
	assert_true(hvabs_virtq_is_enabled(r.q));
	assert_int_equal(hvabs_virtq_size(r.q), 8);
	assert_int_equal(hvabs_virtq_max_size(r.q), QMAX);
	struct hvabs_virtq_layout ok = {
	    .size = 8, .desc = r.b.desc, .avail = r.b.avail, .used = r.b.used};
	assert_int_equal(hvabs_virtq_enable(r.q, &ok), -EBUSY);
	hvabs_virtq_disable(r.q);
	assert_false(hvabs_virtq_is_enabled(r.q));
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENODEV);
	struct {
		struct hvabs_virtq_layout l;
		int err;
	} bad[] = {
	    {{.size = 0, .desc = ok.desc, .avail = ok.avail, .used = ok.used}, -EINVAL},
	    {{.size = 6, .desc = ok.desc, .avail = ok.avail, .used = ok.used}, -EINVAL},
	    {{.size = 2 * QMAX, .desc = ok.desc, .avail = ok.avail, .used = ok.used}, -EINVAL},
	    {{.size = 8, .desc = ok.desc + 8, .avail = ok.avail, .used = ok.used}, -EFAULT},
	    {{.size = 8, .desc = ok.desc, .avail = ok.avail + 1, .used = ok.used}, -EFAULT},
	    {{.size = 8, .desc = ok.desc, .avail = ok.avail, .used = ok.used + 2}, -EFAULT},
	    {{.size = 8, .desc = ok.desc, .avail = ok.avail, .used = VT_RAM_SIZE - 16}, -EFAULT},
	    {{.size = 8, .desc = VT_RAM_SIZE + 4096, .avail = ok.avail, .used = ok.used}, -EFAULT},
	    {{.size = 8, .desc = ok.desc, .avail = ok.avail, .used = ok.desc}, -EFAULT},
	    {{.size = 8, .desc = ok.desc, .avail = ok.avail, .used = ok.avail + 4}, -EFAULT},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hvabs_virtq_enable(r.q, &bad[i].l), bad[i].err);
		assert_false(hvabs_virtq_is_enabled(r.q));
	}
	assert_int_equal(hvabs_virtq_enable(r.q, &ok), 0);
	/* Creation refuses impossible maxima. */
	struct hvabs_virtq *q2;
	assert_int_equal(hvabs_virtq_create(env->mem, NULL, "x", 100, &q2), -EINVAL);
	assert_int_equal(hvabs_virtq_create(env->mem, NULL, "x", 65536, &q2), -EINVAL);
	hvabs_virtq_destroy(NULL);
	rig_down(&r);
}

static void push_rules(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;

	rig_up(env, &r, 8, 0);
	vqb_add(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 4), 4, true}, 1);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(hvabs_virtq_push(r.q, &r.c, 5), -EINVAL);
	/* A reset between pop and push makes the chain stale: nothing is written. */
	rig_restart(&r, 0);
	uint8_t *before = vt_ram_copy(env);
	assert_int_equal(hvabs_virtq_push(r.q, &r.c, 4), -ESTALE);
	vt_ram_same(env, before, NULL, 0);
	free(before);
	/* A chain segment array smaller than the queue is a caller bug. */
	struct hvabs_virtq_chain small;
	hvabs_virtq_chain_init(&small, r.segs, 4);
	vqb_add(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 4), 4, true}, 1);
	assert_int_equal(hvabs_virtq_pop(r.q, &small), -EINVAL);
	rig_down(&r);
}

/* Several chains returned at once: all checked first, one used-index update. */
static void push_many(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;
	struct hvabs_virtq_seg segs2[QMAX], segs3[QMAX];
	struct hvabs_virtq_chain c2, c3;
	uint16_t heads[3];
	uint32_t id, len;

	rig_up(env, &r, 8, 0);
	hvabs_virtq_chain_init(&c2, segs2, QMAX);
	hvabs_virtq_chain_init(&c3, segs3, QMAX);
	for (int i = 0; i < 3; i++)
		heads[i] = vqb_add(&r.b, &(struct vqb_buf){vqb_alloc(&r.b, 8), 8, true}, 1);
	assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
	assert_int_equal(hvabs_virtq_pop(r.q, &c2), 0);
	assert_int_equal(hvabs_virtq_pop(r.q, &c3), 0);
	const struct hvabs_virtq_chain *all[3] = {&r.c, &c2, &c3};
	uint32_t too_big[3] = {8, 9, 8}, ok[3] = {8, 5, 1};
	/* One bad length: nothing at all is published. */
	uint8_t *before = vt_ram_copy(env);
	assert_int_equal(hvabs_virtq_push_many(r.q, all, too_big, 3), -EINVAL);
	vt_ram_same(env, before, NULL, 0);
	free(before);
	assert_false(vqb_get_used(&r.b, &id, &len));
	assert_int_equal(hvabs_virtq_push_many(r.q, all, ok, 0), 0);
	assert_int_equal(hvabs_virtq_push_many(r.q, all, ok, 3), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(vqb_get_used(&r.b, &id, &len));
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, ok[i]);
	}
	assert_false(vqb_get_used(&r.b, &id, &len));
	/* More chains than are in flight. */
	assert_int_equal(hvabs_virtq_push_many(r.q, all, ok, 1), -EINVAL);
	rig_down(&r);
}

static void index_wrap(void **state)
{
	struct vt_env *env = *state;
	struct qrig r;
	uint64_t buf;
	uint32_t id, len;

	rig_up(env, &r, 4, 0);
	buf = vqb_alloc(&r.b, 8);
	/* Past 65536 the free-running indices wrap; a full ring (4 ahead) is fine. */
	for (int round = 0; round < 17000; round++) {
		for (int i = 0; i < 4; i++) {
			uint16_t h = vqb_chain(&r.b, &(struct vqb_buf){buf, 8, true}, 1);
			vqb_avail_put(&r.b, h);
		}
		vqb_publish(&r.b);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(hvabs_virtq_pop(r.q, &r.c), 0);
			assert_int_equal(hvabs_virtq_push(r.q, &r.c, (uint32_t)i), 0);
		}
		assert_int_equal(hvabs_virtq_pop(r.q, &r.c), -ENOENT);
		for (int i = 0; i < 4; i++) {
			assert_true(vqb_get_used(&r.b, &id, &len));
			assert_int_equal(len, i);
		}
	}
	assert_int_equal(vqb_used_idx(&r.b), (uint16_t)(17000 * 4));
	rig_down(&r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    VT_CASE(direct_chain), VT_CASE(indirect_chains), VT_CASE(chain_iov),
	    VT_CASE(event_idx),	   VT_CASE(malformed),	     VT_CASE(enable_refusals),
	    VT_CASE(push_rules),   VT_CASE(push_many),	     VT_CASE(index_wrap),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
