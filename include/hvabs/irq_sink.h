/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file irq_sink.h
 * @brief The line-sink backend extension (shared by backends and devices).
 *
 * A backend without an I/O APIC (MSHV) answers the vm_get_ext op for
 * #HVABS_IRQ_SINK_EXT_NAME with a struct hvabs_irq_sink_ext; the userspace
 * I/O APIC (devices/ioapic.h, hvabs_ioapic_create()) attaches to it, and from
 * then on the backend's `irq_line` op, and so hvabs_irq_line(), lands there.
 *
 * @defgroup irq_sink Line-sink extension
 * @brief How a backend hands its interrupt lines to a userspace I/O APIC.
 * @{
 */
#ifndef HVABS_IRQ_SINK_H
#define HVABS_IRQ_SINK_H

#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the extension, for hvabs_vm_get_ext(). */
#define HVABS_IRQ_SINK_EXT_NAME "hvabs-irq-sink-v1"

/**
 * Receives one interrupt line change from the backend's `irq_line` op.
 * @param opaque as given to hvabs_irq_sink_ext::attach.
 * @param gsi the line.
 * @param level 0 or 1.
 * @return 0 or negative errno, returned by `irq_line`.
 */
typedef int (*hvabs_irq_sink_fn)(void *opaque, uint32_t gsi, uint32_t level);

/** The line-sink extension table. */
struct hvabs_irq_sink_ext {
	struct hvabs_hdr hdr; /**< ABI header. */
	/**
	 * Routes the backend's `irq_line` to @p fn, or with @p fn NULL detaches
	 * it; when detaching returns, no call of the old @p fn is running.
	 * @param ctx the context hvabs_vm_get_ext() returned.
	 * @param fn the receiver, or NULL.
	 * @param opaque its first argument.
	 * @return 0, or -EBUSY when another receiver is attached.
	 */
	int (*attach)(void *ctx, hvabs_irq_sink_fn fn, void *opaque);
};

#ifdef __cplusplus
}
#endif

/** @} */
#endif
