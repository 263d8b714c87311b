/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport handle's insides: each transport embeds one and fills its
 * table; transport.c forwards the public calls. Shared with devices/pci.
 */
#ifndef HVABS_DEVICES_VIRTIO_TRANSPORT_PRIV_H
#define HVABS_DEVICES_VIRTIO_TRANSPORT_PRIV_H

#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/devices/virtio_pci.h>
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

/*
 * Puts a device on virtio-pci when @p pci is given (with @p mp's name unless
 * it has one; @p mp->loop becomes the PCI loop, for the device's own event
 * sources), else on virtio-mmio at @p mp. Exactly one of *mmio and *pcit is
 * set; *tp is the handle of that one.
 */
int virtio_transport_create(struct hvabs_vm *vm, struct hvabs_virtio_mmio_params *mp,
			    const struct hvabs_virtio_pci_params *pci,
			    const struct hvabs_virtio_device_ops *ops, void *opaque,
			    struct hvabs_virtio_mmio **mmio, struct hvabs_virtio_pci **pcit,
			    struct hvabs_virtio_transport **tp);
/* Destroys whichever of the two exists. */
void virtio_transport_destroy(struct hvabs_virtio_mmio *mmio, struct hvabs_virtio_pci *pcit);

#endif
