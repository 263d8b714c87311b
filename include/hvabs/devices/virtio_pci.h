/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_pci.h
 * @brief The modern virtio-pci transport (virtio 1.2 §4.1) with MSI-X.
 *
 * A virtio-pci transport is a PCI function (pci.h) with vendor 0x1af4 and
 * device 0x1040 + the virtio device ID, revision 1, and one 64-bit memory
 * BAR (BAR 0, #HVABS_VIRTIO_PCI_BAR_SIZE bytes) that holds every structure
 * the vendor-specific capabilities point at (§4.1.4):
 * | BAR 0 offset | structure |
 * |---|---|
 * | 0x0000 | common configuration (§4.1.4.3), 0x38 bytes |
 * | 0x1000 | ISR status (§4.1.4.5), one byte, cleared by reading |
 * | 0x2000 | device-specific configuration |
 * | 0x3000 | notifications (§4.1.4.4): queue i at 0x3000 + 4 i (notify_off_multiplier 4) |
 * | 0x4000 | MSI-X table, one vector per queue plus one for configuration changes; PBA after it |
 *
 * It drives the same struct hvabs_virtio_device_ops as virtio-mmio and gives
 * the device the same handle (hvabs_virtio_pci_transport()), so every
 * device runs on both transports unchanged. The register semantics are
 * those of virtio-mmio (feature negotiation, the status machine, queue
 * checks, DEVICE_NEEDS_RESET on a broken queue), with the common
 * configuration layout of §4.1.4.3. Driver notifications are ioeventfds on
 * each queue's notify address, moved whenever the driver moves BAR 0, or
 * bus writes when the hypervisor has none. Interrupts are MSI-X messages
 * (config_msix_vector, queue_msix_vector; #HVABS_VIRTIO_PCI_NO_VECTOR sends
 * none); the function has no INTx pin, so with MSI-X disabled only the ISR
 * byte records the cause. Locking: the PCI function lock is the device lock.
 *
 * @ingroup virtio
 * @defgroup virtio_pci Virtio-pci transport
 * @brief Capabilities, common configuration, notifications and MSI-X of virtio-pci.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_PCI_H
#define HVABS_DEVICES_VIRTIO_PCI_H

#include <stdint.h>

#include "../event.h"
#include "pci.h"
#include "virtio_mmio.h"
#include "virtio_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** PCI vendor ID of virtio devices. */
#define HVABS_VIRTIO_PCI_VENDOR 0x1af4u
/** PCI device ID of a modern virtio device: this plus the virtio device ID. */
#define HVABS_VIRTIO_PCI_DEVICE_BASE 0x1040u
/** Size of BAR 0. */
#define HVABS_VIRTIO_PCI_BAR_SIZE 0x8000u
/** The "no vector" value of config_msix_vector and queue_msix_vector. */
#define HVABS_VIRTIO_PCI_NO_VECTOR 0xffffu

/** @name BAR 0 layout
 * @{ */
#define HVABS_VIRTIO_PCI_COMMON_OFF 0x0000u /**< Common configuration. */
#define HVABS_VIRTIO_PCI_COMMON_LEN 0x38u   /**< Its length. */
#define HVABS_VIRTIO_PCI_ISR_OFF    0x1000u /**< ISR status byte. */
#define HVABS_VIRTIO_PCI_DEVICE_OFF 0x2000u /**< Device-specific configuration. */
#define HVABS_VIRTIO_PCI_NOTIFY_OFF 0x3000u /**< Notification area. */
#define HVABS_VIRTIO_PCI_NOTIFY_MUL 4u	    /**< notify_off_multiplier. */
#define HVABS_VIRTIO_PCI_MSIX_OFF   0x4000u /**< MSI-X table. */
/** @} */

/** @name Common configuration offsets (§4.1.4.3)
 * @{ */
#define HVABS_VIRTIO_PCI_DFSELECT    0x00 /**< le32 RW: device_feature_select. */
#define HVABS_VIRTIO_PCI_DF	     0x04 /**< le32 R: device_feature. */
#define HVABS_VIRTIO_PCI_GFSELECT    0x08 /**< le32 RW: driver_feature_select. */
#define HVABS_VIRTIO_PCI_GF	     0x0c /**< le32 RW: driver_feature. */
#define HVABS_VIRTIO_PCI_MSIX_CONFIG 0x10 /**< le16 RW: config_msix_vector. */
#define HVABS_VIRTIO_PCI_NUM_QUEUES  0x12 /**< le16 R: num_queues. */
#define HVABS_VIRTIO_PCI_STATUS	     0x14 /**< u8 RW: device_status; 0 resets. */
#define HVABS_VIRTIO_PCI_CFG_GEN     0x15 /**< u8 R: config_generation. */
#define HVABS_VIRTIO_PCI_Q_SELECT    0x16 /**< le16 RW: queue_select. */
#define HVABS_VIRTIO_PCI_Q_SIZE	     0x18 /**< le16 RW: queue_size. */
#define HVABS_VIRTIO_PCI_Q_MSIX	     0x1a /**< le16 RW: queue_msix_vector. */
#define HVABS_VIRTIO_PCI_Q_ENABLE    0x1c /**< le16 RW: queue_enable. */
#define HVABS_VIRTIO_PCI_Q_NOFF	     0x1e /**< le16 R: queue_notify_off. */
#define HVABS_VIRTIO_PCI_Q_DESC	     0x20 /**< le64 RW: queue_desc. */
#define HVABS_VIRTIO_PCI_Q_DRIVER    0x28 /**< le64 RW: queue_driver. */
#define HVABS_VIRTIO_PCI_Q_DEVICE    0x30 /**< le64 RW: queue_device. */
/** @} */

/** @name virtio_pci_cap cfg_type values (§4.1.4)
 * @{ */
#define HVABS_VIRTIO_PCI_CAP_COMMON 1 /**< Common configuration. */
#define HVABS_VIRTIO_PCI_CAP_NOTIFY 2 /**< Notifications. */
#define HVABS_VIRTIO_PCI_CAP_ISR    3 /**< ISR status. */
#define HVABS_VIRTIO_PCI_CAP_DEVICE 4 /**< Device-specific configuration. */
/** @} */

/** A virtio-pci transport with its device. */
struct hvabs_virtio_pci;

/** Where a virtio-pci transport lives. */
struct hvabs_virtio_pci_params {
	struct hvabs_pci_host *host;   /**< The host bridge; required. */
	struct hvabs_event_loop *loop; /**< Event loop that runs the queues; required. */
	const char *name;	       /**< Name for log lines ("rng0"), or NULL. */
	uint8_t slot;		       /**< Device number, or 0xff (0 is taken as 0xff) for any. */
	uint8_t pad[7];		       /**< Reserved, zero. */
};

/**
 * Creates a transport for a device on a new PCI function. Thread: any,
 * before vCPUs run.
 * @param vm the VM.
 * @param params host, loop, slot.
 * @param ops the device; must outlive the transport.
 * @param opaque first argument of the device's callbacks.
 * @param out the transport.
 * @return 0 or negative errno (see hvabs_pci_dev_create()).
 * @retval -EINVAL NULL argument or a bad ops table.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_pci_create(struct hvabs_vm *vm,
						       const struct hvabs_virtio_pci_params *params,
						       const struct hvabs_virtio_device_ops *ops,
						       void *opaque, struct hvabs_virtio_pci **out);

/**
 * Removes the function and stops all queue work; when it returns no device
 * callback runs. NULL is a no-op. Thread: any but the device's callbacks.
 * @param t the transport.
 */
HVABS_API void hvabs_virtio_pci_destroy(struct hvabs_virtio_pci *t);

/**
 * The transport-neutral handle the device uses. Thread: any.
 * @param t the transport.
 * @return the handle, valid as long as @p t.
 */
HVABS_API struct hvabs_virtio_transport *hvabs_virtio_pci_transport(struct hvabs_virtio_pci *t);

/**
 * The PCI function of the transport. Thread: any.
 * @param t the transport.
 * @return the function.
 */
HVABS_API struct hvabs_pci_dev *hvabs_virtio_pci_function(struct hvabs_virtio_pci *t);

/** Counters of one virtio-pci transport. */
struct hvabs_virtio_pci_stats {
	uint32_t status;      /**< Current device status. */
	uint32_t isr;	      /**< Current ISR status. */
	uint64_t notifies;    /**< Queue notifications serviced on the event loop. */
	uint64_t used_irqs;   /**< Used-buffer notifications (MSI-X messages or pending bits). */
	uint64_t config_irqs; /**< Configuration change notifications. */
	uint64_t resets;      /**< Device resets by the driver. */
	uint64_t needs_reset; /**< Times DEVICE_NEEDS_RESET was set. */
	uint32_t kernel_ioeventfd; /**< Queues whose notification the hypervisor handles now. */
	uint32_t pad;		   /**< Reserved. */
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param t the transport.
 * @param st out.
 */
HVABS_API void hvabs_virtio_pci_get_stats(struct hvabs_virtio_pci *t,
					  struct hvabs_virtio_pci_stats *st);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
