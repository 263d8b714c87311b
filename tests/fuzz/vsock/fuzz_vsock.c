/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for virtio-vsock: host clients connect to the device's
 * Unix socket and send fuzzed handshake lines (`CONNECT <port>\n` or not),
 * then a hostile driver (see ../common) posts fuzzed packets on the TX
 * queue, receive buffers on the RX queue, stops queues and resets. The
 * socket lives in a directory under $TMPDIR made for the process and
 * removed at exit.
 *
 * Input: [clients][per client: length, bytes][driver ops...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hvabs/devices/virtio_vsock.h>

#include "fz_vm.h"

#define MAX_CLIENTS 3

static char dir[256], path[300];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void init_dir(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fuzz-vsock.XXXXXX", t && *t ? t : "/tmp");
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v", dir);
	atexit(cleanup);
}

static int client(const uint8_t *line, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	if (n)
		(void)!write(fd, line, n);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_virtio_vsock *vs;
	int fds[MAX_CLIENTS];
	size_t pos = 1;

	if (!size)
		return 0;
	if (!dir[0])
		init_dir();
	fz_vm_init();
	struct hvabs_virtio_vsock_config cfg = {
	    .mmio = {.base = FZ_BASE, .gsi = FZ_GSI, .loop = fz.loop, .name = "vsock"},
	    .guest_cid = 3,
	    .path = path,
	    .max_conns = 4,
	    .queue_size = 16,
	};
	CHECK(hvabs_virtio_vsock_create(fz.vm, &cfg, &vs) == 0);
	int nc = data[0] % (MAX_CLIENTS + 1);
	for (int i = 0; i < nc; i++) {
		size_t n = pos < size ? data[pos++] : 0;
		if (n > size - pos)
			n = size - pos;
		fds[i] = client(data + pos, n);
		pos += n;
	}
	fz_pump();
	fz_drive(data + pos, size - pos, 3);
	for (int i = 0; i < nc; i++)
		close(fds[i]);
	fz_pump();
	hvabs_virtio_vsock_destroy(vs);
	fz_vm_fini();
	return 0;
}
