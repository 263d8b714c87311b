/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file bus.h
 * @brief The port-I/O and MMIO buses devices register on.
 *
 * Each VM has a PIO and an MMIO bus. A device registers a range and a pair
 * of callbacks; an access inside the range reaches the callback with the
 * offset from the start of the range. Ranges may not overlap. Lookups are
 * lock-free; every registration has its own lock, held around each callback
 * so a device sees one access at a time (unless it asks for
 * #HVABS_BUS_F_NOLOCK), and no bus-wide lock is held while a callback runs.
 * On backends that must claim I/O ranges (Xen), registering claims the range.
 *
 * @defgroup bus Buses
 * @brief PIO and MMIO device registration and dispatch.
 * @{
 */
#ifndef HVABS_BUS_H
#define HVABS_BUS_H

#include <stdint.h>

#include "types.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A device's registration on a bus. */
struct hvabs_bus_dev;

/** Callbacks of a bus device. Either may be NULL (reads then return all ones). */
struct hvabs_bus_ops {
	/**
	 * Handles a guest read.
	 * @param opaque the registration's opaque pointer.
	 * @param offset offset from the start of the range.
	 * @param size 1, 2, 4 or 8.
	 * @param val out: the value (only the low @p size bytes are used).
	 * @return 0, or a negative errno to report the access as unhandled.
	 */
	int (*read)(void *opaque, uint64_t offset, uint32_t size, uint64_t *val);
	/**
	 * Handles a guest write.
	 * @param opaque the registration's opaque pointer.
	 * @param offset offset from the start of the range.
	 * @param size 1, 2, 4 or 8.
	 * @param val the value written (zero-extended).
	 * @return 0, or a negative errno to report the access as unhandled.
	 */
	int (*write)(void *opaque, uint64_t offset, uint32_t size, uint64_t val);
};

/** hvabs_bus_register() flag: do not take the per-device lock around callbacks. */
#define HVABS_BUS_F_NOLOCK (1u << 0)

/**
 * Registers a device on a bus. Thread: any.
 * @param vm the VM (which owns the registration).
 * @param space #HVABS_SPACE_PIO or #HVABS_SPACE_MMIO.
 * @param base first address.
 * @param len length, non-zero (PIO: base + len <= 0x10000).
 * @param ops callbacks; must outlive the registration.
 * @param opaque first argument of the callbacks.
 * @param flags HVABS_BUS_F_* bits.
 * @param out may be NULL: the registration, for hvabs_bus_unregister().
 * @return 0 or negative errno.
 * @retval -EINVAL bad space, zero length or wrapping range.
 * @retval -EEXIST the range overlaps another device.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_bus_register(struct hvabs_vm *vm, enum hvabs_space space,
						  uint64_t base, uint64_t len,
						  const struct hvabs_bus_ops *ops, void *opaque,
						  uint32_t flags, struct hvabs_bus_dev **out);

/**
 * Removes a registration. When it returns, no callback of the device is
 * running or will run. Must not be called from the device's own callback.
 * NULL is a no-op. Thread: any.
 * @param dev the registration.
 */
HVABS_API void hvabs_bus_unregister(struct hvabs_bus_dev *dev);

/**
 * Takes the lock the bus holds around the device's callbacks, so code on
 * other threads (the event loop) can change the device's state safely.
 * @param dev the registration.
 */
HVABS_API void hvabs_bus_dev_lock(struct hvabs_bus_dev *dev);

/**
 * Releases hvabs_bus_dev_lock().
 * @param dev the registration.
 */
HVABS_API void hvabs_bus_dev_unlock(struct hvabs_bus_dev *dev);

/**
 * Performs a read on a bus, as a guest access would. Thread: any.
 * @param vm the VM.
 * @param space bus.
 * @param addr address.
 * @param size 1, 2, 4 or 8.
 * @param val out: the value; all ones when unhandled.
 * @return 0, or -ENOENT when no device claims @p addr (with @p val set to all ones).
 */
HVABS_API int hvabs_bus_read(struct hvabs_vm *vm, enum hvabs_space space, uint64_t addr,
			     uint32_t size, uint64_t *val);

/**
 * Performs a write on a bus, as a guest access would. Thread: any.
 * @param vm the VM.
 * @param space bus.
 * @param addr address.
 * @param size 1, 2, 4 or 8.
 * @param val the value.
 * @return 0, or -ENOENT when no device claims @p addr.
 */
HVABS_API int hvabs_bus_write(struct hvabs_vm *vm, enum hvabs_space space, uint64_t addr,
			      uint32_t size, uint64_t val);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
