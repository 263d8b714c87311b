/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport handle's insides: each transport embeds one and fills its
 * table; transport.c forwards the public calls. Shared with devices/pci.
 */
#ifndef HVABS_DEVICES_VIRTIO_TRANSPORT_PRIV_H
#define HVABS_DEVICES_VIRTIO_TRANSPORT_PRIV_H

#include <hvabs/devices/virtio_transport.h>

struct virtio_transport_ops {
	void (*lock)(void *impl);
	void (*unlock)(void *impl);
	struct hvabs_virtq *(*queue)(void *impl, uint32_t index);
	int (*signal_used)(void *impl, uint32_t index);
	int (*config_changed)(void *impl);
	void (*set_needs_reset)(void *impl);
	int (*kick)(void *impl, uint32_t index);
	uint64_t (*features)(const void *impl);
};

struct hvabs_virtio_transport {
	const struct virtio_transport_ops *ops;
	void *impl;
};

#endif
