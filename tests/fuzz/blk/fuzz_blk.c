/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for virtio-blk request parsing, through its public path:
 * a hostile driver (see ../common) sets the device up and posts fuzzed
 * chains (request header, data, status, in any shape) against a 64 KiB
 * image, read-write or read-only. The image is a memfd opened through
 * /proc/self/fd (no file is written, flushes cost nothing), cleared before
 * every input so each run starts alike. Traps when the image grows, or when
 * a read-only device's image changes.
 *
 * The I/O runs on the device's worker threads or io_uring, so completions
 * may land after the event loop went idle; destroy waits for them.
 *
 * Input: [flags][driver ops...]; flags bit 0: read-only device, bit 1: the
 * io_uring engine (sync when this host has none), bit 2: two queues.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <hvabs/devices/virtio_blk.h>

#include "fz_vm.h"

#define IMG_SIZE 0x10000

static char path[64];
static int img = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[IMG_SIZE];
	struct hvabs_virtio_blk *blk;

	if (!size)
		return 0;
	if (img < 0) {
		img = memfd_create("fuzz-blk", MFD_CLOEXEC);
		CHECK(img >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", img);
	}
	CHECK(pwrite(img, zero, IMG_SIZE, 0) == IMG_SIZE);
	fz_vm_init();
	struct hvabs_virtio_blk_config cfg = {
	    .mmio = {.base = FZ_BASE, .gsi = FZ_GSI, .loop = fz.loop, .name = "blk"},
	    .path = path,
	    .serial = "fuzz-serial",
	    .flags = data[0] & 1 ? HVABS_VIRTIO_BLK_READONLY : 0,
	    .queue_size = 32,
	    .num_queues = 1u + ((data[0] >> 2) & 1),
	    .engine = data[0] & 2 ? HVABS_VIRTIO_BLK_ENGINE_IO_URING : HVABS_VIRTIO_BLK_ENGINE_SYNC,
	};
	if (hvabs_virtio_blk_create(fz.vm, &cfg, &blk)) { /* no io_uring here */
		cfg.engine = HVABS_VIRTIO_BLK_ENGINE_SYNC;
		CHECK(hvabs_virtio_blk_create(fz.vm, &cfg, &blk) == 0);
	}
	fz_drive(data + 1, size - 1, cfg.num_queues);
	hvabs_virtio_blk_destroy(blk);
	fz_vm_fini();
	/* Nothing the guest asks for grows the image, and a read-only one stays as it was. */
	struct stat st;
	CHECK(fstat(img, &st) == 0 && st.st_size == IMG_SIZE);
	if (cfg.flags & HVABS_VIRTIO_BLK_READONLY) {
		static uint8_t now[IMG_SIZE];
		CHECK(pread(img, now, IMG_SIZE, 0) == IMG_SIZE && !memcmp(now, zero, IMG_SIZE));
	}
	return 0;
}
