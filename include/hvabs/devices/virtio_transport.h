/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_transport.h
 * @brief What a virtio device asks of its transport, whichever it is.
 *
 * A virtio device is written once, against two small interfaces: the
 * struct hvabs_virtio_device_ops table it gives a transport (features,
 * configuration space, queue work, reset; see virtio_mmio.h), and this
 * handle for what it asks back (the device lock, its queues, interrupts,
 * kicks, the negotiated features). virtio-mmio (hvabs_virtio_mmio_transport())
 * and virtio-pci (hvabs_virtio_pci_transport(), see virtio_pci.h) both
 * provide it, so blk, net, console, rng and vsock run unchanged on either.
 * Each function behaves as its hvabs_virtio_mmio_* namesake does; "device
 * lock" means the transport's lock (the bus lock of the virtio-mmio window,
 * the PCI function lock of virtio-pci).
 *
 * @ingroup virtio
 * @defgroup virtio_transport Virtio transport handle
 * @brief The transport-neutral calls a virtio device makes.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_TRANSPORT_H
#define HVABS_DEVICES_VIRTIO_TRANSPORT_H

#include <stdint.h>

#include "../compiler.h"
#include "virtio_queue.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A transport, as the device on it sees it. */
struct hvabs_virtio_transport;

/**
 * Takes the device lock (for a device's own event sources). Thread: any
 * but the device's callbacks, which already hold it.
 * @param tp the transport.
 */
HVABS_API void hvabs_virtio_transport_lock(struct hvabs_virtio_transport *tp);

/**
 * Releases hvabs_virtio_transport_lock().
 * @param tp the transport.
 */
HVABS_API void hvabs_virtio_transport_unlock(struct hvabs_virtio_transport *tp);

/**
 * A queue of the transport. Device lock held.
 * @param tp the transport.
 * @param index queue index.
 * @return the queue, or NULL when @p index is out of range.
 */
HVABS_API struct hvabs_virtq *hvabs_virtio_transport_queue(struct hvabs_virtio_transport *tp,
							   uint32_t index);

/**
 * Sends a used-buffer notification for queue @p index if the driver wants
 * one (see hvabs_virtio_mmio_signal_used()). Device lock held.
 * @param tp the transport.
 * @param index queue index.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_transport_signal_used(struct hvabs_virtio_transport *tp, uint32_t index);

/**
 * The configuration space changed: new generation, and a configuration
 * change notification once DRIVER_OK is set. Device lock held.
 * @param tp the transport.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_transport_config_changed(struct hvabs_virtio_transport *tp);

/**
 * Sets DEVICE_NEEDS_RESET (see hvabs_virtio_mmio_set_needs_reset()). Device lock held.
 * @param tp the transport.
 */
HVABS_API void hvabs_virtio_transport_set_needs_reset(struct hvabs_virtio_transport *tp);

/**
 * Makes the event loop call queue_notify for queue @p index soon. Thread:
 * any, with or without the device lock.
 * @param tp the transport.
 * @param index queue index.
 * @return 0 or negative errno.
 * @retval -EINVAL @p index out of range.
 * @retval -ENODEV the queue was never made ready.
 */
HVABS_API int hvabs_virtio_transport_kick(struct hvabs_virtio_transport *tp, uint32_t index);

/**
 * The features negotiated with the driver (0 before FEATURES_OK). Device lock held.
 * @param tp the transport.
 * @return the feature bits.
 */
HVABS_API uint64_t hvabs_virtio_transport_features(const struct hvabs_virtio_transport *tp);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
