/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file irq.h
 * @brief Interrupts: lines, MSIs, irqfds, and EOI notification.
 *
 * Devices raise interrupts through these calls and never see the interrupt
 * controller: the same code drives KVM's in-kernel irqchip, Xen's, and a
 * userspace IOAPIC.
 *
 * An irqfd is an eventfd bound to an interrupt. When the backend supports
 * irqfds (#HVABS_CAP_IRQFD) the hypervisor injects on each write; otherwise
 * the core watches the fd on an event loop and injects for it. Either way the
 * device only writes to the fd (or calls hvabs_irqfd_trigger()).
 *
 * @defgroup irq Interrupts
 * @brief Lines, MSIs and irqfds.
 * @{
 */
#ifndef HVABS_IRQ_H
#define HVABS_IRQ_H

#include <stdint.h>

#include "event.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Sets interrupt line @p gsi to @p level. Thread: any.
 * @param vm the VM.
 * @param gsi the line.
 * @param level 0 or 1.
 * @return 0 or negative errno.
 * @retval -EINVAL @p gsi beyond hvabs_caps::nr_irqs.
 */
HVABS_API int hvabs_irq_line(struct hvabs_vm *vm, uint32_t gsi, int level);

/**
 * Raises and lowers line @p gsi (an edge). Thread: any.
 * @param vm the VM.
 * @param gsi the line.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_irq_pulse(struct hvabs_vm *vm, uint32_t gsi);

/**
 * Signals a message-signalled interrupt. Thread: any.
 * @param vm the VM.
 * @param addr MSI address.
 * @param data MSI data.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_MSI.
 */
HVABS_API int hvabs_irq_msi(struct hvabs_vm *vm, uint64_t addr, uint32_t data);

/**
 * Called for each EOI exit (backends without an in-kernel IOAPIC).
 * @param opaque as given to hvabs_irq_set_eoi_handler().
 * @param vector the vector acknowledged.
 */
typedef void (*hvabs_eoi_fn)(void *opaque, uint32_t vector);

/**
 * Sets the handler hvabs_vcpu_run_loop() calls on #HVABS_EXIT_IOAPIC_EOI.
 * Thread: any, before vCPUs run.
 * @param vm the VM.
 * @param fn handler, or NULL to ignore EOIs.
 * @param opaque its argument.
 */
HVABS_API void hvabs_irq_set_eoi_handler(struct hvabs_vm *vm, hvabs_eoi_fn fn, void *opaque);

/** An eventfd bound to an interrupt. */
struct hvabs_irqfd;

/**
 * Creates an eventfd and binds it to @p route (a GSI, pulsed on each
 * signal, or an MSI). Without #HVABS_CAP_IRQFD the core watches the fd on
 * @p loop instead, which must then be non-NULL and running. Thread: any.
 * @param vm the VM.
 * @param route where the interrupt goes.
 * @param loop event loop for the fallback, or NULL.
 * @param out the irqfd.
 * @return 0 or negative errno.
 * @retval -ENOTSUP no kernel irqfd and no @p loop.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_irqfd_create(struct hvabs_vm *vm,
						  const struct hvabs_irq_route *route,
						  struct hvabs_event_loop *loop,
						  struct hvabs_irqfd **out);

/**
 * The eventfd; writing an 8-byte non-zero count raises the interrupt.
 * @param irqfd the irqfd.
 * @return the fd.
 */
HVABS_API int hvabs_irqfd_fd(const struct hvabs_irqfd *irqfd);

/**
 * Raises the interrupt by signalling the eventfd. Thread: any.
 * @param irqfd the irqfd.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_irqfd_trigger(struct hvabs_irqfd *irqfd);

/**
 * Whether the hypervisor (1) or the core's fallback (0) serves the irqfd.
 * @param irqfd the irqfd.
 * @return 1 or 0.
 */
HVABS_API int hvabs_irqfd_is_kernel(const struct hvabs_irqfd *irqfd);

/**
 * Unbinds and closes the irqfd. NULL is a no-op. Thread: any but the event
 * loop's own callbacks of this irqfd.
 * @param irqfd the irqfd.
 */
HVABS_API void hvabs_irqfd_destroy(struct hvabs_irqfd *irqfd);

/** An eventfd signalled when the guest writes to an I/O address. */
struct hvabs_ioeventfd;

/**
 * Creates an eventfd that is signalled when the guest writes @p ev->len
 * bytes to @p ev->addr (matching #HVABS_IOEVENTFD_F_DATAMATCH when set). With
 * kernel support the write never leaves the hypervisor; otherwise the core's
 * run loop signals the fd before (and instead of) bus dispatch. Thread: any.
 * @param vm the VM.
 * @param ev what to match.
 * @param out the ioeventfd.
 * @return 0 or negative errno.
 * @retval -EINVAL bad space or length.
 * @retval -EEXIST the same match is already registered.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_ioeventfd_create(struct hvabs_vm *vm,
						      const struct hvabs_ioeventfd_spec *ev,
						      struct hvabs_ioeventfd **out);

/**
 * The eventfd to wait on.
 * @param ioev the ioeventfd.
 * @return the fd.
 */
HVABS_API int hvabs_ioeventfd_fd(const struct hvabs_ioeventfd *ioev);

/**
 * Whether the hypervisor (1) or the core's fallback (0) serves it.
 * @param ioev the ioeventfd.
 * @return 1 or 0.
 */
HVABS_API int hvabs_ioeventfd_is_kernel(const struct hvabs_ioeventfd *ioev);

/**
 * Unbinds and closes the ioeventfd. NULL is a no-op. Thread: any.
 * @param ioev the ioeventfd.
 */
HVABS_API void hvabs_ioeventfd_destroy(struct hvabs_ioeventfd *ioev);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
