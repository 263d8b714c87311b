/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_mmio.h
 * @brief The modern virtio-mmio transport (virtio 1.2 §4.2, Version 2), on
 *        which every virtio device of hvabs sits.
 *
 * A transport owns one 4 KiB MMIO window (#HVABS_VIRTIO_MMIO_SIZE), one
 * interrupt line and up to #HVABS_VIRTIO_MMIO_MAX_QUEUES virtqueues. It
 * implements every register of §4.2.2: feature negotiation (the device always
 * offers #HVABS_VIRTIO_F_VERSION_1 and refuses FEATURES_OK to a driver that
 * does not accept it, or that accepts a feature not offered; after
 * FEATURES_OK the features no longer change), the status machine (writing 0
 * resets the device and every queue), queue setup (QueueReady checks the
 * size against QueueNumMax and the rings against guest RAM), InterruptStatus
 * and InterruptACK, ConfigGeneration, and the device-specific configuration
 * space from offset 0x100. The device itself is a struct
 * hvabs_virtio_device_ops table: features, configuration space, queue
 * notification, reset.
 *
 * Notifications: when a queue becomes ready the transport registers an
 * ioeventfd for QueueNotify (address base + 0x50, 4 bytes, data = queue
 * index), so on hypervisors that support it the notification never leaves
 * the kernel; the core's fallback, or a plain bus write, signals the same
 * descriptor otherwise. Queue work always runs on the event loop thread, in
 * the device's queue_notify callback. Interrupts go out through an irqfd
 * bound to the GSI (edge-triggered, the default, and what the ACPI
 * description says) after InterruptStatus is set, or, with
 * #HVABS_VIRTIO_MMIO_F_LEVEL, by holding the line high while InterruptStatus
 * is non-zero.
 *
 * Errors: a queue the driver sets up badly (size above QueueNumMax, rings
 * outside RAM, set up before FEATURES_OK) stays not ready, and a queue that
 * receives a malformed chain is broken (see virtio_queue.h); either way the
 * transport sets DEVICE_NEEDS_RESET and, once DRIVER_OK is set, sends a
 * configuration change interrupt (§2.1.2). Nothing is processed until the
 * driver resets the device. Register accesses the specification forbids
 * (control registers other than 32 bits wide, writes to read-only
 * registers) are ignored and logged, rate-limited.
 *
 * Locking: the device lock (the bus registration's lock, see
 * hvabs_bus_dev_lock()) guards all transport and device state. Register
 * accesses (vCPU threads) and queue_notify (event loop thread) run with it
 * held, so a reset never overlaps queue processing: when the driver's write
 * of 0 to Status completes, no request is in flight. A device's own event
 * sources (a tap fd) take it with hvabs_virtio_mmio_lock().
 *
 * @ingroup virtio
 * @defgroup virtio_mmio Virtio-mmio transport
 * @brief Registers, negotiation, notifications and interrupts of virtio-mmio.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_MMIO_H
#define HVABS_DEVICES_VIRTIO_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "../acpi.h"
#include "../event.h"
#include "../machine.h"
#include "../vm.h"
#include "virtio.h"
#include "virtio_queue.h"
#include "virtio_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a virtio-mmio register window. */
#define HVABS_VIRTIO_MMIO_SIZE 0x1000u
/** Default first window (the machine layer's #HVABS_MACHINE_MMIO_BASE); the next is 0x1000 higher. */
#define HVABS_VIRTIO_MMIO_BASE 0xd0000000ull
/** Most queues one transport can have. */
#define HVABS_VIRTIO_MMIO_MAX_QUEUES 64u
/** Largest device configuration space (0x100 .. 0xfff of the window). */
#define HVABS_VIRTIO_MMIO_CONFIG_MAX 0xf00u
/** MagicValue: "virt" in little-endian. */
#define HVABS_VIRTIO_MMIO_MAGIC 0x74726976u
/** VendorID the transport reports ("HVAB"). */
#define HVABS_VIRTIO_MMIO_VENDOR 0x42415648u

/** @name virtio-mmio register offsets (§4.2.2)
 * @{ */
#define HVABS_VIRTIO_MMIO_MAGIC_VALUE	      0x000 /**< R: #HVABS_VIRTIO_MMIO_MAGIC. */
#define HVABS_VIRTIO_MMIO_VERSION	      0x004 /**< R: 2. */
#define HVABS_VIRTIO_MMIO_DEVICE_ID	      0x008 /**< R: device type. */
#define HVABS_VIRTIO_MMIO_VENDOR_ID	      0x00c /**< R: vendor. */
#define HVABS_VIRTIO_MMIO_DEVICE_FEATURES     0x010 /**< R: 32 feature bits selected by ..._SEL. */
#define HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 /**< W: which 32 device feature bits. */
#define HVABS_VIRTIO_MMIO_DRIVER_FEATURES     0x020 /**< W: 32 accepted feature bits. */
#define HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024 /**< W: which 32 driver feature bits. */
#define HVABS_VIRTIO_MMIO_QUEUE_SEL	      0x030 /**< W: queue the queue registers apply to. */
#define HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX	      0x034 /**< R: largest size of the queue (0: none). */
#define HVABS_VIRTIO_MMIO_QUEUE_NUM	      0x038 /**< W: queue size chosen by the driver. */
#define HVABS_VIRTIO_MMIO_QUEUE_READY	      0x044 /**< RW: 1 enables the queue, 0 stops it. */
#define HVABS_VIRTIO_MMIO_QUEUE_NOTIFY	      0x050 /**< W: queue index with new buffers. */
#define HVABS_VIRTIO_MMIO_INTERRUPT_STATUS    0x060 /**< R: HVABS_VIRTIO_MMIO_INT_* bits. */
#define HVABS_VIRTIO_MMIO_INTERRUPT_ACK	      0x064 /**< W: bits to clear. */
#define HVABS_VIRTIO_MMIO_STATUS	      0x070 /**< RW: device status; 0 resets. */
#define HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW      0x080 /**< W: descriptor table address, low. */
#define HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084 /**< W: descriptor table address, high. */
#define HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090 /**< W: available ring address, low. */
#define HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094 /**< W: available ring address, high. */
#define HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0 /**< W: used ring address, low. */
#define HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4 /**< W: used ring address, high. */
#define HVABS_VIRTIO_MMIO_SHM_SEL	      0x0ac /**< W: shared memory region (none exist). */
#define HVABS_VIRTIO_MMIO_SHM_LEN_LOW	      0x0b0 /**< R: region length, low (all ones). */
#define HVABS_VIRTIO_MMIO_SHM_LEN_HIGH	      0x0b4 /**< R: region length, high (all ones). */
#define HVABS_VIRTIO_MMIO_SHM_BASE_LOW	      0x0b8 /**< R: region base, low (all ones). */
#define HVABS_VIRTIO_MMIO_SHM_BASE_HIGH	      0x0bc /**< R: region base, high (all ones). */
#define HVABS_VIRTIO_MMIO_CONFIG_GENERATION   0x0fc /**< R: changes when the config changes. */
#define HVABS_VIRTIO_MMIO_CONFIG	      0x100 /**< RW: device configuration space. */
/** @} */

/** InterruptStatus bit: a used buffer notification. */
#define HVABS_VIRTIO_MMIO_INT_VRING 1u
/** InterruptStatus bit: a configuration change notification. */
#define HVABS_VIRTIO_MMIO_INT_CONFIG 2u

/** A virtio-mmio transport with its device. */
struct hvabs_virtio_mmio;

/**
 * What a virtio device tells its transport. Every callback runs with the
 * device lock held (see the file description), on a vCPU thread for register
 * accesses and on the event loop thread for queue_notify. Callbacks must not
 * call hvabs_virtio_mmio_lock().
 */
struct hvabs_virtio_device_ops {
	uint32_t device_id;	 /**< HVABS_VIRTIO_ID_* value. */
	uint32_t num_queues;	 /**< Queues, 1 .. #HVABS_VIRTIO_MMIO_MAX_QUEUES. */
	uint32_t queue_size_max; /**< QueueNumMax of every queue: a power of 2 up to 32768. */
	uint32_t config_size;	 /**< Bytes of configuration space, up to 0xf00. */
	/**
	 * Feature bits the device offers: its own, and the ring features it can
	 * use (#HVABS_VIRTIO_F_INDIRECT_DESC, #HVABS_VIRTIO_F_EVENT_IDX are
	 * handled by the virtqueue code). #HVABS_VIRTIO_F_VERSION_1 is added.
	 */
	uint64_t features;
	/**
	 * Reads configuration space; the transport has checked the range.
	 * @param opaque the device.
	 * @param offset offset from 0x100, `offset + len <= config_size`.
	 * @param buf where to put @p len bytes.
	 * @param len 1 to 8: the access width (1, 2, 4 or 8), cut short where it
	 *        runs past `config_size`.
	 */
	void (*config_read)(void *opaque, uint32_t offset, void *buf, uint32_t len);
	/**
	 * Writes configuration space, or NULL when it is read-only (writes are
	 * then ignored).
	 * @param opaque the device.
	 * @param offset offset from 0x100, `offset + len <= config_size`.
	 * @param buf @p len bytes.
	 * @param len 1 to 8, as for config_read.
	 */
	void (*config_write)(void *opaque, uint32_t offset, const void *buf, uint32_t len);
	/**
	 * Called when the driver sets FEATURES_OK with an acceptable set, or
	 * NULL. A negative return keeps FEATURES_OK clear.
	 * @param opaque the device.
	 * @param features the negotiated features.
	 * @return 0 to accept, or negative errno to refuse.
	 */
	int (*features_ok)(void *opaque, uint64_t features);
	/**
	 * Called when the driver sets DRIVER_OK, or NULL.
	 * @param opaque the device.
	 */
	void (*driver_ok)(void *opaque);
	/**
	 * Processes queue @p index on the event loop thread: pop chains, do the
	 * work, push them. The transport then sends the used-buffer interrupt if
	 * hvabs_virtq_notify_needed() asks for it, and sets DEVICE_NEEDS_RESET
	 * if the queue broke. Only called between DRIVER_OK and a reset, on a
	 * ready queue. To keep register accesses from waiting long, a device may
	 * stop after a batch and return 1: it is then called again soon.
	 * @param opaque the device.
	 * @param index queue index.
	 * @param q the queue.
	 * @return 0 when done, 1 to be called again.
	 */
	int (*queue_notify)(void *opaque, uint32_t index, struct hvabs_virtq *q);
	/**
	 * Called on a device reset, after the queues are disabled, or NULL.
	 * @param opaque the device.
	 */
	void (*reset)(void *opaque);
	/**
	 * Called when the driver stops queue @p index by writing 0 to
	 * QueueReady without a device reset (virtio 1.2 §4.2.2.2), after the
	 * queue is disabled, or NULL for a device that never holds a chain
	 * between calls. The device must forget every chain it holds from that
	 * queue: they belong to the old ring (hvabs_virtq_push() refuses them)
	 * and the driver reclaims their buffers itself, so data put in them
	 * would be lost. When the driver makes the queue ready again the
	 * device starts afresh on the new ring. Not called on a device reset,
	 * where @p reset covers every queue.
	 * @param opaque the device.
	 * @param index the queue.
	 */
	void (*queue_stop)(void *opaque, uint32_t index);
};

/** hvabs_virtio_mmio_params::flags: level-triggered interrupt (default: edge, via irqfd). */
#define HVABS_VIRTIO_MMIO_F_LEVEL (1u << 0)

/** Where a transport lives and how it signals. */
struct hvabs_virtio_mmio_params {
	uint64_t base;		       /**< Window base, 4 KiB aligned, not RAM. */
	uint32_t gsi;		       /**< Interrupt line, used by no other device. */
	uint32_t flags;		       /**< HVABS_VIRTIO_MMIO_F_* bits. */
	struct hvabs_event_loop *loop; /**< Event loop that runs the queues; required. */
	const char *name;	       /**< Name for log lines ("blk0"), or NULL. */
};

/**
 * Creates a transport for a device and registers its window on the VM's MMIO
 * bus. The device is reachable by the guest as soon as this returns.
 * Thread: any.
 * @param vm the VM.
 * @param params window, interrupt, loop.
 * @param ops the device; must outlive the transport.
 * @param opaque first argument of the device's callbacks.
 * @param out the transport.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, misaligned base, or a bad ops table.
 * @retval -EEXIST the window overlaps another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_virtio_mmio_create(struct hvabs_vm *vm, const struct hvabs_virtio_mmio_params *params,
			 const struct hvabs_virtio_device_ops *ops, void *opaque,
			 struct hvabs_virtio_mmio **out);

/**
 * Unregisters the window and stops all queue work; when it returns no device
 * callback runs or will run. NULL is a no-op. Not from the device's own
 * callbacks. Thread: any.
 * @param t the transport.
 */
HVABS_API void hvabs_virtio_mmio_destroy(struct hvabs_virtio_mmio *t);

/**
 * Takes the device lock (for a device's own event sources). Thread: any but
 * the device's callbacks, which already hold it.
 * @param t the transport.
 */
HVABS_API void hvabs_virtio_mmio_lock(struct hvabs_virtio_mmio *t);

/**
 * Releases hvabs_virtio_mmio_lock().
 * @param t the transport.
 */
HVABS_API void hvabs_virtio_mmio_unlock(struct hvabs_virtio_mmio *t);

/**
 * A queue of the transport. Device lock held to use it.
 * @param t the transport.
 * @param index queue index.
 * @return the queue, or NULL when @p index is out of range.
 */
HVABS_API struct hvabs_virtq *hvabs_virtio_mmio_queue(struct hvabs_virtio_mmio *t, uint32_t index);

/**
 * Sends a used-buffer interrupt for queue @p index if hvabs_virtq_notify_needed()
 * says the driver wants one (for chains pushed outside queue_notify, such as
 * received packets). Device lock held.
 * @param t the transport.
 * @param index queue index.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_mmio_signal_used(struct hvabs_virtio_mmio *t, uint32_t index);

/**
 * Tells the driver the configuration space changed: bumps ConfigGeneration
 * and, once DRIVER_OK is set, sends a configuration change interrupt.
 * Device lock held.
 * @param t the transport.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_mmio_config_changed(struct hvabs_virtio_mmio *t);

/**
 * Sets DEVICE_NEEDS_RESET (and sends a configuration change interrupt once
 * DRIVER_OK is set); queues are not processed until the driver resets the
 * device. Device lock held.
 * @param t the transport.
 */
HVABS_API void hvabs_virtio_mmio_set_needs_reset(struct hvabs_virtio_mmio *t);

/**
 * Makes the event loop call queue_notify for queue @p index soon, as a
 * driver notification would. Thread: any, with or without the device lock.
 * @param t the transport.
 * @param index queue index.
 * @return 0 or negative errno.
 * @retval -EINVAL @p index out of range.
 * @retval -ENODEV the queue was never made ready.
 */
HVABS_API int hvabs_virtio_mmio_kick(struct hvabs_virtio_mmio *t, uint32_t index);

/**
 * The features negotiated with the driver (0 before FEATURES_OK). Device lock held.
 * @param t the transport.
 * @return the feature bits.
 */
HVABS_API uint64_t hvabs_virtio_mmio_features(const struct hvabs_virtio_mmio *t);

/**
 * The transport-neutral handle of @p t (virtio_transport.h), valid as long
 * as @p t. Thread: any.
 * @param t the transport.
 * @return the handle.
 */
HVABS_API struct hvabs_virtio_transport *hvabs_virtio_mmio_transport(struct hvabs_virtio_mmio *t);

/** Counters of one transport, for diagnostics and tests. */
struct hvabs_virtio_mmio_stats {
	uint32_t status;	   /**< Current device status. */
	uint32_t isr;		   /**< Current InterruptStatus. */
	uint64_t notifies;	   /**< Queue notifications serviced on the event loop. */
	uint64_t used_irqs;	   /**< Used-buffer interrupts sent. */
	uint64_t config_irqs;	   /**< Configuration change interrupts sent. */
	uint64_t resets;	   /**< Device resets by the driver. */
	uint64_t needs_reset;	   /**< Times DEVICE_NEEDS_RESET was set. */
	uint32_t kernel_ioeventfd; /**< Queues whose notification the hypervisor handles. */
	uint32_t kernel_irqfd;	   /**< 1 when the hypervisor serves the irqfd. */
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param t the transport.
 * @param st out.
 */
HVABS_API void hvabs_virtio_mmio_get_stats(struct hvabs_virtio_mmio *t,
					   struct hvabs_virtio_mmio_stats *st);

/**
 * Fills the ACPI description of the transport for the loader's DSDT
 * (`LNRO0005`, the window and the GSI; level-triggered with
 * #HVABS_VIRTIO_MMIO_F_LEVEL). Thread: any.
 * @param t the transport.
 * @param out the entry.
 */
HVABS_API void hvabs_virtio_mmio_describe(const struct hvabs_virtio_mmio *t,
					  struct hvabs_acpi_device *out);

/**
 * Writes the kernel command-line word that announces the transport to
 * Linux's virtio_mmio driver, `virtio_mmio.device=4K@0xd0000000:5`, NUL
 * terminated. Thread: any.
 * @param t the transport.
 * @param buf destination.
 * @param size size of @p buf.
 * @return the length of the word (without the NUL), or negative errno.
 * @retval -ENOSPC @p buf is too small (nothing useful is written).
 */
HVABS_API int hvabs_virtio_mmio_cmdline(const struct hvabs_virtio_mmio *t, char *buf, size_t size);

/**
 * Places a virtio-mmio transport on a machine: a #HVABS_VIRTIO_MMIO_SIZE
 * window and an interrupt line from hvabs_machine_place(), written to
 * @p params->base and @p params->gsi; the other fields are the caller's.
 * Thread: the one building the machine.
 * @param m the machine.
 * @param params the transport parameters to fill in.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -ENOSPC no window or no interrupt line is left.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_mmio_place(struct hvabs_machine *m,
						       struct hvabs_virtio_mmio_params *params);

/**
 * Announces a transport to the guest through the machine layer: its DSDT
 * entry (hvabs_virtio_mmio_describe()) and its command-line word
 * (hvabs_virtio_mmio_cmdline()), with hvabs_machine_announce().
 * Thread: the one building the machine.
 * @param t the transport (created where hvabs_virtio_mmio_place() said).
 * @param m the machine.
 * @return 0 or negative errno (as hvabs_machine_announce()).
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_mmio_announce(const struct hvabs_virtio_mmio *t,
							  struct hvabs_machine *m);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
