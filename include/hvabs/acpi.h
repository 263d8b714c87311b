/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file acpi.h
 * @brief x86 platform tables: ACPI (RSDP, XSDT, FADT, FACS, MADT, DSDT) and the MP table.
 *
 * These builders describe the platform a VMM emulates to a guest OS: its
 * vCPUs (one local APIC each, APIC ID = vCPU index), one I/O APIC, the legacy
 * devices and the virtio-mmio devices. They write into guest RAM through the
 * mem.h accessors only and can be called on their own, without the Linux
 * loader of loader.h (which calls them for you).
 *
 * The platform they describe:
 * - Local APICs at #HVABS_LAPIC_ADDR; one I/O APIC at #HVABS_IOAPIC_ADDR with
 *   #HVABS_IOAPIC_PINS pins and GSI base 0. Its APIC ID is the number of vCPUs.
 * - ISA IRQ 0 (the PIT) arrives at I/O APIC pin 2 (GSI 2), as on a PC and on
 *   Xen; every other ISA IRQ at the pin of its number. The backend's
 *   interrupt routing must match: the PIT raises GSI 2. KVM's default
 *   in-kernel routing sends the PIT to pin 0 instead: either route GSI 0 to
 *   pin 2 (as QEMU does) or set #HVABS_PLATFORM_IRQ0_PIN0.
 * - The ACPI SCI is IRQ 9, level triggered, active high.
 * - ACPI fixed hardware (not hardware-reduced): PM1a event block at port
 *   #HVABS_ACPI_PM1A_EVT_PORT (4 bytes: status, enable), PM1a control block at
 *   #HVABS_ACPI_PM1A_CNT_PORT (2 bytes). Power-off (S5) is a write of
 *   SLP_EN | (#HVABS_ACPI_S5_SLP_TYP << 10) to PM1a control. No SMI command
 *   port: the platform is always in ACPI mode, so SCI_EN reads as 1.
 * - Reset: the FADT reset register is port 0x64, value 0xFE (the i8042 pulse).
 * - A CMOS RTC at port 0x70 (IRQ 8); no VGA.
 *
 * @defgroup acpi Platform tables
 * @brief ACPI and MP tables for x86 guests.
 * @{
 */
#ifndef HVABS_ACPI_H
#define HVABS_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Guest-physical address of every vCPU's local APIC. */
#define HVABS_LAPIC_ADDR 0xfee00000u
/** Guest-physical address of the I/O APIC. */
#define HVABS_IOAPIC_ADDR 0xfec00000u
/** Number of I/O APIC pins (GSIs 0 .. 23). */
#define HVABS_IOAPIC_PINS 24u
/** Most vCPUs the tables can describe (8-bit xAPIC IDs, one taken by the I/O APIC; fewer with an APIC ID stride). */
#define HVABS_PLATFORM_MAX_CPUS 254u
/** Most devices hvabs_platform::devices may list. */
#define HVABS_PLATFORM_MAX_DEVICES 256u

/** I/O port of the ACPI PM1a event block (status word, then enable word). */
#define HVABS_ACPI_PM1A_EVT_PORT 0x600u
/** I/O port of the ACPI PM1a control block (one word). */
#define HVABS_ACPI_PM1A_CNT_PORT 0x604u
/**
 * The SLP_TYP value the DSDT's `_S5` object gives for power-off. devices/acpi_pm.h
 * defines the same macro for the PM device with the same tokens, so a file
 * that includes both fails to compile if the two ever disagree.
 */
#define HVABS_ACPI_S5_SLP_TYP 5
/** The ACPI SCI's interrupt (ISA IRQ and GSI). */
#define HVABS_ACPI_SCI_IRQ 9u

/** Default guest-physical start of the ACPI tables (in the BIOS area). */
#define HVABS_ACPI_DEFAULT_ADDR 0xe0000u
/** Default size of the ACPI table area. */
#define HVABS_ACPI_DEFAULT_SIZE 0x10000u
/** Default guest-physical start of the MP table (in the BIOS area). */
#define HVABS_MPTABLE_DEFAULT_ADDR 0xf0000u
/** Default size of the MP table area. */
#define HVABS_MPTABLE_DEFAULT_SIZE 0x10000u

/** Kinds of struct hvabs_acpi_device. */
enum hvabs_acpi_device_type {
	/** A virtio-mmio transport: ACPI `_HID` "LNRO0005", as Linux's virtio_mmio driver expects. */
	HVABS_ACPI_DEV_VIRTIO_MMIO = 0,
};

/** hvabs_acpi_device::flags: the interrupt is level triggered (default: edge). */
#define HVABS_ACPI_DEV_LEVEL (1u << 0)

/** An MMIO device to describe in the DSDT. */
struct hvabs_acpi_device {
	uint32_t type;	/**< An enum hvabs_acpi_device_type value. */
	uint32_t flags; /**< HVABS_ACPI_DEV_* bits. */
	uint64_t base;	/**< Guest-physical base of its register window (below 4 GiB, not RAM). */
	uint64_t size;	/**< Size of the window in bytes, non-zero. */
	uint32_t irq;	/**< Its GSI: an I/O APIC pin, used by no other device. */
	uint32_t pad;	/**< Reserved, zero. */
};

/** ECAM: bytes of configuration space per bus (32 devices x 8 functions x 4 KiB). */
#define HVABS_PCI_ECAM_BUS_SIZE 0x100000ull

/**
 * A PCI host bridge to describe (PCI Firmware Specification 3.2 §4.1.2):
 * its ECAM window in an MCFG table, and a `PNP0A08` device (compatible
 * `PNP0A03`) in the DSDT whose `_CRS` gives the bus range, the 0xCF8-0xCFF
 * configuration ports and the memory windows BARs are placed in; a
 * `PNP0C02` motherboard resource reserves the ECAM window, as Linux wants
 * before it uses MMCONFIG.
 */
struct hvabs_acpi_pci_host {
	uint64_t
	    ecam_base; /**< Configuration space of bus @p bus_start; 1 MiB aligned, below 4 GiB. */
	uint64_t mmio32_base; /**< The window below 4 GiB for 32-bit BARs. */
	uint64_t mmio32_size; /**< Its size, non-zero. */
	uint64_t mmio64_base; /**< The window above 4 GiB for 64-bit BARs, or 0 for none. */
	uint64_t mmio64_size; /**< Its size (0 with no window). */
	uint16_t segment;     /**< PCI segment group (`_SEG`), normally 0. */
	uint8_t bus_start;    /**< First bus number (`_BBN`). */
	uint8_t bus_end;      /**< Last bus number, at least @p bus_start. */
	uint32_t pad;	      /**< Reserved, zero. */
};

/** @name Platform flags (hvabs_platform::flags)
 * @{ */
/** A 16550A UART at port 0x3f8, IRQ 4 (COM1, ACPI "PNP0501"). */
#define HVABS_PLATFORM_COM1 (1u << 0)
/** An i8042 keyboard controller at ports 0x60/0x64, IRQ 1 (ACPI "PNP0303"). */
#define HVABS_PLATFORM_I8042 (1u << 1)
/** ISA IRQ 0 is wired to I/O APIC pin 0 (KVM's default routing): no IRQ0->GSI2 override. */
#define HVABS_PLATFORM_IRQ0_PIN0 (1u << 2)
/** @} */

/** What the platform tables describe. */
struct hvabs_platform {
	uint32_t nr_cpus;			 /**< vCPUs, 1 .. #HVABS_PLATFORM_MAX_CPUS. */
	uint32_t flags;				 /**< HVABS_PLATFORM_* bits. */
	const struct hvabs_acpi_device *devices; /**< MMIO devices, or NULL. */
	size_t nr_devices;			 /**< Entries in `devices`. */
	/**
	 * vCPU i's local APIC ID is i * stride (0 means 1), as the hypervisor
	 * assigns them: hvabs_caps::apic_id_stride. The I/O APIC takes the next
	 * ID after the last vCPU's.
	 */
	uint32_t apic_id_stride;
	uint32_t pad; /**< Reserved, zero. */
	/** A PCI host bridge (MCFG table and DSDT device), or NULL for none. */
	const struct hvabs_acpi_pci_host *pci;
};

/**
 * Checks a platform description on its own: the vCPU count, and that each
 * device's window is non-empty, below 4 GiB, outside guest RAM (when @p mem
 * is given) and apart from the others', and that its IRQ is an I/O APIC pin
 * no other device, nor the timer (0, 2), SCI (9), RTC (8), COM1 (4) or
 * i8042 (1, 12) uses. Thread: any.
 * @param mem the guest memory map, or NULL to skip the RAM check.
 * @param p the platform.
 * @param err receives a one-line reason on failure, or NULL.
 * @param errlen size of @p err.
 * @return 0 or negative errno.
 * @retval -EINVAL the description is inconsistent; @p err says how.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_platform_check(const struct hvabs_mem *mem,
						    const struct hvabs_platform *p, char *err,
						    size_t errlen);

/**
 * Writes the ACPI tables for @p p into guest RAM at @p gpa: RSDP (revision 2,
 * at @p gpa itself, which must be 16-byte aligned), FACS, XSDT, FADT
 * (revision 6, not hardware-reduced), MADT (a local APIC per vCPU, the I/O
 * APIC, overrides IRQ0->GSI2 (unless #HVABS_PLATFORM_IRQ0_PIN0) and IRQ9
 * level/high, LINT1 as NMI), with hvabs_platform::pci an MCFG, and a DSDT
 * with the virtio-mmio devices, COM1, the i8042 and the PCI host bridge as
 * device objects, and `_S5`. All checksums are set. The guest finds the RSDP by scanning
 * 0xe0000-0xfffff when @p gpa lies there, or from the address passed in
 * @p rsdp. Thread: any, while no vCPU runs.
 * @param mem the guest memory map.
 * @param p the platform (see hvabs_platform_check()).
 * @param gpa guest-physical start of the area, 16-byte aligned.
 * @param size size of the area; #HVABS_ACPI_DEFAULT_SIZE is ample.
 * @param rsdp out: the RSDP's address (equal to @p gpa).
 * @param err receives a one-line reason on failure, or NULL.
 * @param errlen size of @p err.
 * @return 0 or negative errno.
 * @retval -EINVAL a bad platform description or a misaligned @p gpa.
 * @retval -ENOSPC the tables do not fit in @p size bytes.
 * @retval -EFAULT the area is not guest RAM.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_acpi_build(struct hvabs_mem *mem,
						const struct hvabs_platform *p, uint64_t gpa,
						uint64_t size, uint64_t *rsdp, char *err,
						size_t errlen);

/**
 * Writes an Intel MultiProcessor Specification 1.4 table for @p p at @p gpa:
 * the floating pointer structure (16-byte aligned, at @p gpa) and the
 * configuration table after it, with a processor entry per vCPU, an ISA bus,
 * the I/O APIC, I/O interrupt entries for the ISA IRQs 0-15 (IRQ0 at pin 2, or
 * pin 0 with #HVABS_PLATFORM_IRQ0_PIN0;
 * IRQ2, the cascade, has none) and for device IRQs above 15, and local
 * interrupt entries (LINT0 ExtINT, LINT1 NMI). The guest finds it by
 * scanning 0xf0000-0xfffff or the last KiB below 640 KiB, so @p gpa should
 * lie there. Thread: any, while no vCPU runs.
 * @param mem the guest memory map.
 * @param p the platform (see hvabs_platform_check()).
 * @param gpa guest-physical start, 16-byte aligned.
 * @param size size of the area; #HVABS_MPTABLE_DEFAULT_SIZE is ample.
 * @param err receives a one-line reason on failure, or NULL.
 * @param errlen size of @p err.
 * @return 0 or negative errno.
 * @retval -EINVAL a bad platform description or a misaligned @p gpa.
 * @retval -ENOSPC the table does not fit in @p size bytes.
 * @retval -EFAULT the area is not guest RAM.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mptable_build(struct hvabs_mem *mem,
						   const struct hvabs_platform *p, uint64_t gpa,
						   uint64_t size, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
