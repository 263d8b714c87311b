/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the virtio-mmio transport (devices/virtio/mmio*.c):
 * a fuzzed sequence of register reads and writes of every width and
 * offset, guest memory writes and queue notifications (see ../common) from
 * a hostile driver, against a small device with two queues, a writable
 * configuration space, and a queue handler that echoes every chain in
 * batches. Traps on a callback outside the rules of virtio_mmio.h: config
 * access out of range, queue_notify on a queue that does not exist, is not
 * ready, or before DRIVER_OK or after a reset.
 */
#include <stdbool.h>
#include <string.h>

#include "fz_vm.h"

#define NQ    2u
#define CFG_N 24u

static uint8_t cfg[CFG_N];
static bool driver_ok; /* between the driver_ok and reset callbacks */

static void on_driver_ok(void *o)
{
	(void)o;
	driver_ok = true;
}

static void on_reset(void *o)
{
	(void)o;
	driver_ok = false;
}

static void config_read(void *o, uint32_t off, void *buf, uint32_t len)
{
	(void)o;
	CHECK(len >= 1 && len <= 8 && off + len <= CFG_N);
	memcpy(buf, cfg + off, len);
}

static void config_write(void *o, uint32_t off, const void *buf, uint32_t len)
{
	(void)o;
	CHECK(len >= 1 && len <= 8 && off + len <= CFG_N);
	memcpy(cfg + off, buf, len);
}

static int queue_notify(void *o, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtq_seg seg[64];
	struct hvabs_virtq_chain c;
	uint8_t tmp[64];

	(void)o;
	/* Only between DRIVER_OK and a reset, on a ready queue (virtio_mmio.h). */
	CHECK(index < NQ && q && hvabs_virtq_is_enabled(q) && driver_ok);
	for (int n = 0; n < 4; n++) {
		hvabs_virtq_chain_init(&c, seg, 64);
		if (hvabs_virtq_pop(q, &c))
			return 0;
		size_t got = hvabs_virtq_chain_read(&c, 0, tmp, sizeof(tmp));
		size_t put = hvabs_virtq_chain_write(&c, 0, tmp, got);
		CHECK(hvabs_virtq_push(q, &c, (uint32_t)put) == 0);
	}
	return 1; /* a batch: call again */
}

static void queue_stop(void *o, uint32_t index)
{
	(void)o;
	CHECK(index < NQ);
}

static const struct hvabs_virtio_device_ops ops = {
    .device_id = 0x7f,
    .num_queues = NQ,
    .queue_size_max = 32,
    .config_size = CFG_N,
    .features = HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |
		HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX) | 0x5,
    .config_read = config_read,
    .config_write = config_write,
    .queue_notify = queue_notify,
    .queue_stop = queue_stop,
    .driver_ok = on_driver_ok,
    .reset = on_reset,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_virtio_mmio *t;

	if (!size)
		return 0;
	fz_vm_init();
	memset(cfg, 0, sizeof(cfg));
	driver_ok = false;
	struct hvabs_virtio_mmio_params p = {.base = FZ_BASE,
					     .gsi = FZ_GSI,
					     .flags = data[0] & 1 ? HVABS_VIRTIO_MMIO_F_LEVEL : 0,
					     .loop = fz.loop,
					     .name = "fuzz"};
	CHECK(hvabs_virtio_mmio_create(fz.vm, &p, &ops, NULL, &t) == 0);
	fz_drive(data + 1, size - 1, NQ);
	hvabs_virtio_mmio_destroy(t);
	fz_vm_fini();
	return 0;
}
