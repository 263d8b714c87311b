/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_rng.h
 * @brief virtio-rng, the entropy device (virtio 1.2 §5.4), fed by getrandom(2).
 *
 * One queue; each chain the driver makes available gets its device-writable
 * buffers filled from getrandom(2), up to #HVABS_VIRTIO_RNG_MAX_CHAIN bytes
 * per chain, so one request cannot keep the event loop busy. Readable
 * buffers in a chain are ignored.
 *
 * @ingroup virtio
 * @defgroup virtio_rng Virtio entropy device
 * @brief Random bytes for the guest from the host's getrandom(2).
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_RNG_H
#define HVABS_DEVICES_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most bytes given for one chain. */
#define HVABS_VIRTIO_RNG_MAX_CHAIN 65536u
/** Queue size offered unless the configuration says otherwise. */
#define HVABS_VIRTIO_RNG_QUEUE_SIZE 256u

/** A virtio-rng device. */
struct hvabs_virtio_rng;

/** Parameters of hvabs_virtio_rng_create(). Zero what you do not set. */
struct hvabs_virtio_rng_config {
	struct hvabs_virtio_mmio_params mmio; /**< Window, interrupt, event loop. */
	uint32_t
	    queue_size; /**< QueueNumMax, a power of 2; 0 selects #HVABS_VIRTIO_RNG_QUEUE_SIZE. */
	/** Put the device on virtio-pci with these parameters instead (then @p mmio is unused), or NULL. */
	const struct hvabs_virtio_pci_params *pci;
};

/**
 * Creates a virtio-rng device on a new virtio-mmio transport, or on a
 * virtio-pci one with hvabs_virtio_rng_config::pci. Thread: any.
 * @param vm the VM.
 * @param cfg parameters.
 * @param out the device.
 * @return 0 or negative errno (see hvabs_virtio_mmio_create()).
 * @retval -EINVAL a bad queue size or transport parameter.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_rng_create(struct hvabs_vm *vm,
						       const struct hvabs_virtio_rng_config *cfg,
						       struct hvabs_virtio_rng **out);

/**
 * Destroys the device and its transport. NULL is a no-op. Thread: any but
 * the event loop's callbacks.
 * @param rng the device.
 */
HVABS_API void hvabs_virtio_rng_destroy(struct hvabs_virtio_rng *rng);

/**
 * The device's transport, for hvabs_virtio_mmio_describe() and
 * hvabs_virtio_mmio_cmdline().
 * @param rng the device.
 * @return the transport, or NULL when the device is on virtio-pci.
 */
HVABS_API struct hvabs_virtio_mmio *hvabs_virtio_rng_transport(struct hvabs_virtio_rng *rng);

/**
 * The device's virtio-pci transport.
 * @param rng the device.
 * @return the transport, or NULL when the device is on virtio-mmio.
 */
HVABS_API struct hvabs_virtio_pci *hvabs_virtio_rng_pci(struct hvabs_virtio_rng *rng);

/**
 * Random bytes given to the guest so far. Thread: any but the device's callbacks.
 * @param rng the device.
 * @return the byte count.
 */
HVABS_API uint64_t hvabs_virtio_rng_bytes(struct hvabs_virtio_rng *rng);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
