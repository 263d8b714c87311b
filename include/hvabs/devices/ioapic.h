/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ioapic.h
 * @brief A userspace I/O APIC (Intel 82093AA) that turns interrupt lines into MSIs.
 *
 * For hypervisors that emulate local APICs but no I/O APIC (Microsoft
 * Hypervisor), or for tests on the mock. The guest programs it through
 * IOREGSEL (offset 0x00) and IOWIN (offset 0x10) at #HVABS_IOAPIC_ADDR, as on
 * a PC: register 0x00 is the ID (bits 24-27), 0x01 the version (0x11, with
 * #HVABS_IOAPIC_PINS - 1 in bits 16-23), 0x02 the arbitration ID, and
 * 0x10 + 2n / 0x11 + 2n the low and high halves of pin n's redirection entry.
 * A write to offset 0x40 is taken as an EOI for the vector written, as later
 * I/O APIC versions define it.
 *
 * Each pin carries a level set by hvabs_ioapic_set_irq(): 1 asserts it.
 * The polarity bit is kept and read back but not applied, as KVM and QEMU do
 * (devices call with the logical level). Delivery is an MSI through
 * hvabs_irq_msi(): address 0xFEE00000 with the destination in bits 12-19 and
 * the destination mode in bit 2; data with the vector, the delivery mode in
 * bits 8-10, bit 14 set and the trigger mode in bit 15.
 *
 * - Edge-triggered: each rising edge of an unmasked pin sends one MSI. An
 *   edge that arrives while the pin is masked is remembered (IRR) and sent
 *   when the pin is unmasked.
 * - Level-triggered: an asserted, unmasked pin sends one MSI and sets Remote
 *   IRR (bit 14 of the entry), which blocks further MSIs from the pin until
 *   the local APIC's EOI for that vector reaches hvabs_ioapic_eoi(). Then, if
 *   the pin is still asserted, the MSI is sent again. Remote IRR is set only
 *   when the MSI was accepted, so a failed delivery does not wedge the pin.
 *   Switching a pin to edge-triggered clears its Remote IRR.
 *
 * Wiring on a backend without an I/O APIC (hvabs_caps::irqchip lacks
 * #HVABS_IRQCHIP_IOAPIC): hvabs_ioapic_create() installs the device as the
 * VM's EOI handler (hvabs_irq_set_eoi_handler()), so the EOI exits the run
 * loop receives reach it; and when the backend offers the
 * #HVABS_IRQ_SINK_EXT_NAME extension (the MSHV backend does), it attaches to
 * it, so hvabs_irq_line() and every device that raises a line reach the
 * I/O APIC through the backend's `irq_line` op. Without that extension (the
 * mock), lines reach the I/O APIC only through hvabs_ioapic_set_irq().
 *
 * Thread safety: hvabs_ioapic_set_irq() and hvabs_ioapic_eoi() may be called
 * from any thread; the state has its own lock.
 *
 * @defgroup dev_ioapic I/O APIC
 * @brief Userspace 82093AA I/O APIC delivering MSIs.
 * @{
 */
#ifndef HVABS_DEVICES_IOAPIC_H
#define HVABS_DEVICES_IOAPIC_H

#include <stdint.h>

#include "../acpi.h"
#include "../irq_sink.h"
#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version the I/O APIC reports (82093AA). */
#define HVABS_IOAPIC_VERSION 0x11u

/** hvabs_ioapic_config::flags: do not install the device as the VM's EOI handler. */
#define HVABS_IOAPIC_F_NO_EOI_HANDLER (1u << 0)
/** hvabs_ioapic_config::flags: do not attach to the backend's line-sink extension. */
#define HVABS_IOAPIC_F_NO_LINE_SINK (1u << 1)

/** A userspace I/O APIC. */
struct hvabs_ioapic;

/** Parameters of hvabs_ioapic_create(). A zeroed struct gives the defaults. */
struct hvabs_ioapic_config {
	uint64_t base;	/**< MMIO base; 0 selects #HVABS_IOAPIC_ADDR. */
	uint32_t id;	/**< Initial I/O APIC ID (0-15), as the MP and ACPI tables give it. */
	uint32_t flags; /**< HVABS_IOAPIC_F_* bits. */
};

/**
 * Creates the I/O APIC with every pin masked, registers its 4 KiB MMIO
 * window, and wires it as described in the file documentation. Thread: any,
 * before vCPUs run.
 * @param vm the VM.
 * @param cfg parameters, or NULL for the defaults.
 * @param out the I/O APIC.
 * @return 0 or negative errno.
 * @retval -EINVAL unknown flags, an ID above 15, or a base that is not 4 KiB aligned.
 * @retval -EEXIST the MMIO window is taken by another device.
 * @retval -EBUSY the backend's line sink already has another I/O APIC attached.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_ioapic_create(struct hvabs_vm *vm,
						   const struct hvabs_ioapic_config *cfg,
						   struct hvabs_ioapic **out);

/**
 * Detaches from the line sink and the EOI handler, unregisters and frees the
 * I/O APIC. NULL is a no-op. Call it before hvabs_vm_destroy(), with no vCPU
 * running. Thread: any.
 * @param ioapic the I/O APIC.
 */
HVABS_API void hvabs_ioapic_destroy(struct hvabs_ioapic *ioapic);

/**
 * Sets the level of a pin (1 asserted, 0 deasserted) and delivers what the
 * pin's redirection entry says. Thread: any.
 * @param ioapic the I/O APIC.
 * @param pin 0 .. #HVABS_IOAPIC_PINS - 1.
 * @param level 0 or non-zero.
 * @return 0, also when the pin is masked or the MSI could not be delivered
 *         (which is logged at a limited rate).
 * @retval -EINVAL @p pin out of range.
 */
HVABS_API int hvabs_ioapic_set_irq(struct hvabs_ioapic *ioapic, uint32_t pin, int level);

/**
 * Reports that a local APIC acknowledged @p vector (an EOI exit): clears
 * Remote IRR of the level-triggered pins with that vector and sends their
 * MSI again when they are still asserted. Thread: any.
 * @param ioapic the I/O APIC.
 * @param vector the vector acknowledged.
 */
HVABS_API void hvabs_ioapic_eoi(struct hvabs_ioapic *ioapic, uint32_t vector);

/**
 * The level a pin was last set to. Thread: any.
 * @param ioapic the I/O APIC.
 * @param pin the pin.
 * @return 0 or 1, or -EINVAL when @p pin is out of range.
 */
HVABS_API int hvabs_ioapic_get_pin(const struct hvabs_ioapic *ioapic, uint32_t pin);

/* The line-sink extension a backend offers for this device is in backend.h. */

#ifdef __cplusplus
}
#endif

/** @} */
#endif
