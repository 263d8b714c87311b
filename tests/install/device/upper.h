/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio device written outside hvabs: one queue; for each chain it reads
 * the device-readable bytes, writes them back upper-cased into the
 * device-writable part, and returns the chain with the number of bytes
 * written. Its configuration space holds one little-endian u32: the number
 * of chains served. It sits on hvabs's virtio-mmio transport.
 */
#ifndef UPPER_H
#define UPPER_H

#include <stdint.h>

#include <hvabs/devices/virtio_mmio.h>

/* A device ID no virtio device type uses: this device is an example only. */
#define UPPER_DEVICE_ID	 0xff00u
#define UPPER_QUEUE_SIZE 64u
/* Longest message per chain; longer input is cut there. */
#define UPPER_MAX_MSG 4096u

struct upper;

/* Creates the device and its transport. 0 or negative errno. */
int upper_create(struct hvabs_vm *vm, const struct hvabs_virtio_mmio_params *params,
		 struct upper **out);
/* Destroys the transport, then the device; NULL is a no-op. */
void upper_destroy(struct upper *u);

#endif
