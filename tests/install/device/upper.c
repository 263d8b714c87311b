/* SPDX-License-Identifier: Apache-2.0 */
/* The upper-casing virtio device: see upper.h and docs/devices.md of hvabs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "upper.h"

/* Chains per queue_notify call, so register accesses never wait long for the lock. */
#define BATCH 32

struct upper {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtq_seg
	    segs[UPPER_QUEUE_SIZE]; /* one per descriptor: any valid chain fits */
	uint32_t served;
	uint8_t msg[UPPER_MAX_MSG];
};

/* Event-loop thread, device lock held. Chains are validated by hvabs_virtq_pop(). */
static int upper_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct upper *u = opaque;
	struct hvabs_virtq_chain c;

	(void)index;
	hvabs_virtq_chain_init(&c, u->segs, UPPER_QUEUE_SIZE);
	for (int i = 0; i < BATCH; i++) {
		/* Empty, or a malformed chain: then the transport sets NEEDS_RESET. */
		if (hvabs_virtq_pop(q, &c))
			return 0;
		size_t n = hvabs_virtq_chain_read(&c, 0, u->msg, sizeof(u->msg));
		for (size_t k = 0; k < n; k++)
			if (u->msg[k] >= 'a' && u->msg[k] <= 'z')
				u->msg[k] = (uint8_t)(u->msg[k] - 'a' + 'A');
		size_t w = hvabs_virtq_chain_write(&c, 0, u->msg, n);
		if (hvabs_virtq_push(q, &c, (uint32_t)w))
			return 0;
		u->served++;
	}
	return 1; /* more may be waiting: call again */
}

/* The transport checked offset + len <= config_size. */
static void upper_config_read(void *opaque, uint32_t offset, void *buf, uint32_t len)
{
	struct upper *u = opaque;
	uint8_t le[4] = {(uint8_t)u->served, (uint8_t)(u->served >> 8), (uint8_t)(u->served >> 16),
			 (uint8_t)(u->served >> 24)};

	memcpy(buf, le + offset, len);
}

static const struct hvabs_virtio_device_ops upper_ops = {
    .device_id = UPPER_DEVICE_ID,
    .num_queues = 1,
    .queue_size_max = UPPER_QUEUE_SIZE,
    .config_size = 4,
    .features =
	HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) | HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX),
    .config_read = upper_config_read,
    .queue_notify = upper_notify,
};

int upper_create(struct hvabs_vm *vm, const struct hvabs_virtio_mmio_params *params,
		 struct upper **out)
{
	struct upper *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	int rc = hvabs_virtio_mmio_create(vm, params, &upper_ops, u, &u->t);
	if (rc) {
		free(u);
		return rc;
	}
	*out = u;
	return 0;
}

void upper_destroy(struct upper *u)
{
	if (!u)
		return;
	hvabs_virtio_mmio_destroy(u->t); /* no callback runs after this returns */
	free(u);
}
