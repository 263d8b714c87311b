/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio.h
 * @brief Constants shared by every virtio device: status bits, feature bits, device IDs.
 *
 * The values are those of the virtio 1.2 specification (§2.1 device status,
 * §6 reserved feature bits, §5 device IDs). The virtqueue is in
 * virtio_queue.h, the virtio-mmio transport in virtio_mmio.h, and each
 * device in its own header (virtio_blk.h, virtio_rng.h).
 *
 * @defgroup virtio Virtio
 * @brief Split virtqueues, the virtio-mmio transport and virtio devices.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_H
#define HVABS_DEVICES_VIRTIO_H

#ifdef __cplusplus
extern "C" {
#endif

/** @name Device status bits (virtio 1.2 §2.1)
 * @{ */
#define HVABS_VIRTIO_STATUS_ACKNOWLEDGE 1u   /**< The guest found the device. */
#define HVABS_VIRTIO_STATUS_DRIVER	2u   /**< The guest has a driver for it. */
#define HVABS_VIRTIO_STATUS_DRIVER_OK	4u   /**< The driver is ready: queues may be used. */
#define HVABS_VIRTIO_STATUS_FEATURES_OK 8u   /**< Feature negotiation is complete. */
#define HVABS_VIRTIO_STATUS_NEEDS_RESET 64u  /**< The device hit an error only a reset clears. */
#define HVABS_VIRTIO_STATUS_FAILED	128u /**< The driver gave up on the device. */
/** @} */

/** @name Transport and ring feature bits (virtio 1.2 §6), as bit numbers
 * @{ */
#define HVABS_VIRTIO_F_INDIRECT_DESC   28 /**< Indirect descriptor tables. */
#define HVABS_VIRTIO_F_EVENT_IDX       29 /**< used_event / avail_event notification suppression. */
#define HVABS_VIRTIO_F_VERSION_1       32 /**< A modern (non-legacy) device; required here. */
#define HVABS_VIRTIO_F_ACCESS_PLATFORM 33 /**< The device sits behind an IOMMU (not offered). */
/** @} */

/** Turns a feature bit number into its mask. */
#define HVABS_VIRTIO_BIT(n) (1ull << (n))

/** @name Device IDs (virtio 1.2 §5)
 * @{ */
#define HVABS_VIRTIO_ID_NET	1u  /**< Network card. */
#define HVABS_VIRTIO_ID_BLOCK	2u  /**< Block device. */
#define HVABS_VIRTIO_ID_CONSOLE 3u  /**< Console. */
#define HVABS_VIRTIO_ID_RNG	4u  /**< Entropy source. */
#define HVABS_VIRTIO_ID_VSOCK	19u /**< Socket device. */
/** @} */

#ifdef __cplusplus
}
#endif

/** @} */
#endif
