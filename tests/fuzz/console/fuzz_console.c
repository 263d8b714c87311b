/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for virtio-console: a hostile driver (see ../common)
 * posts fuzzed receive and transmit chains, stops and restarts queues,
 * writes emerg_wr, while the host side (a pipe) sends fuzzed input before
 * and during the run; the device's output goes to another pipe that is
 * drained, never to a file.
 *
 * Input: [flags][host input length][host input][driver ops...]; flags bit 0:
 * a console size (F_SIZE), bit 1: a 1-byte output buffer.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <hvabs/devices/virtio_console.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_virtio_console *con;
	int in[2], out[2];
	char sink[4096];

	if (size < 2)
		return 0;
	size_t nin = data[1] < size - 2 ? data[1] : size - 2;
	CHECK(pipe2(in, O_CLOEXEC | O_NONBLOCK) == 0 && pipe2(out, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(write(in[1], data + 2, nin) == (ssize_t)nin);
	fz_vm_init();
	struct hvabs_virtio_console_config cfg = {
	    .mmio = {.base = FZ_BASE, .gsi = FZ_GSI, .loop = fz.loop, .name = "con"},
	    .backend = HVABS_VIRTIO_CONSOLE_FDS,
	    .in_fd = in[0],
	    .out_fd = out[1],
	    .cols = data[0] & 1 ? 80 : 0,
	    .rows = data[0] & 1 ? 25 : 0,
	    .out_buffer = data[0] & 2 ? 1 : 0,
	    .queue_size = 16,
	};
	CHECK(hvabs_virtio_console_create(fz.vm, &cfg, &con) == 0);
	fz_pump();
	fz_drive(data + 2 + nin, size - 2 - nin, 2);
	while (read(out[0], sink, sizeof(sink)) > 0)
		;
	fz_pump();
	hvabs_virtio_console_destroy(con);
	fz_vm_fini();
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
	}
	return 0;
}
