/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file testing/virtio_mmio_driver.h
 * @brief A guest driver's register sequence for a virtio-mmio device, for tests.
 *
 * @defgroup testing_mmio Virtio-mmio driver steps (test support)
 * @brief Probe, feature negotiation, queue setup and notification, as Linux does them.
 *
 * Part of libhvabs-testsupport. Each step is a series of 32-bit register
 * accesses through hvabs_bus_read() and hvabs_bus_write(), which is what a
 * vCPU's access reaches after its exit, so a test drives a device on the mock
 * backend exactly as a guest driver would, without running guest code. The
 * queue's rings come from a struct vqb (testing/virtq_builder.h). The
 * sequence is that of virtio 1.2 §3.1.1 and §4.2.3. Thread: the test's.
 * @{
 */
#ifndef HVABS_TESTING_VIRTIO_MMIO_DRIVER_H
#define HVABS_TESTING_VIRTIO_MMIO_DRIVER_H

#include <stdint.h>

#include <hvabs/testing/virtq_builder.h>
#include <hvabs/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Reads a 32-bit register of the device's window.
 * @param vm the VM.
 * @param base the window's base.
 * @param off the register's offset (HVABS_VIRTIO_MMIO_*).
 * @return the value, all ones when nothing answers at that address.
 */
uint32_t vqb_mmio_read(struct hvabs_vm *vm, uint64_t base, uint32_t off);

/**
 * Writes a 32-bit register of the device's window.
 * @param vm the VM.
 * @param base the window's base.
 * @param off the register's offset (HVABS_VIRTIO_MMIO_*).
 * @param val the value.
 * @return 0, or -ENOENT when nothing answers at that address.
 */
int vqb_mmio_write(struct hvabs_vm *vm, uint64_t base, uint32_t off, uint32_t val);

/**
 * Resets the device, sets ACKNOWLEDGE and DRIVER, accepts the offered
 * features that are also in @p accept, and sets FEATURES_OK.
 * @param vm the VM.
 * @param base the window's base.
 * @param accept the features the driver knows (~0 for all the device offers).
 * @param features out, may be NULL: the features accepted.
 * @return the status read back afterwards: FEATURES_OK is set only if the
 *         device took the features.
 */
uint32_t vqb_mmio_negotiate(struct hvabs_vm *vm, uint64_t base, uint64_t accept,
			    uint64_t *features);

/**
 * Sets up queue @p index on the builder's rings (QueueNum = the builder's
 * size) and makes it ready.
 * @param vm the VM.
 * @param base the window's base.
 * @param index queue index.
 * @param b the builder whose rings the queue uses.
 * @return 0, or -EIO when the device left the queue not ready (a size
 *         above QueueNumMax, rings outside RAM, or no FEATURES_OK yet).
 */
int vqb_mmio_queue(struct hvabs_vm *vm, uint64_t base, uint32_t index, const struct vqb *b);

/**
 * Sets DRIVER_OK on top of the current status.
 * @param vm the VM.
 * @param base the window's base.
 */
void vqb_mmio_driver_ok(struct hvabs_vm *vm, uint64_t base);

/**
 * Notifies queue @p index (a write of QueueNotify). The device does the work
 * on its event loop: run hvabs_event_loop_run_once() until it returns 0.
 * @param vm the VM.
 * @param base the window's base.
 * @param index queue index.
 * @return 0 or negative errno.
 */
int vqb_mmio_notify(struct hvabs_vm *vm, uint64_t base, uint32_t index);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
