/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file pci.h
 * @brief A PCI segment: host bridge with ECAM and the 0xCF8/0xCFC ports,
 *        type-0 functions with memory BARs and capabilities, and MSI-X.
 *
 * The host bridge (struct hvabs_pci_host) serves one bus of 32 device
 * slots, function 0 each. Its configuration space is reachable two ways
 * that lead to the same registers: the memory-mapped ECAM window (PCI
 * Express Base 3.0 §7.2.2: bus << 20 | device << 15 | function << 12 |
 * register), described to the guest by an ACPI MCFG table, and the
 * configuration mechanism #1 port pair (PCI Local Bus 3.0 §3.2.2.3.2: a
 * 32-bit address written to 0xCF8 with bit 31 set, data at 0xCFC-0xCFF).
 * Registers of an empty slot read as all ones; writes to it are ignored.
 *
 * A function (struct hvabs_pci_dev) has a type-0 header (PCI 3.0 §6.1):
 * read-only identification, a command register whose memory-space and
 * bus-master bits are writable, up to six memory BARs (32- or 64-bit, sized
 * by the standard protocol: write all ones, read back the size mask), a
 * capability list from offset 0x40, and the interrupt line register. A BAR
 * is on the guest's MMIO bus exactly while Memory Space is enabled in the
 * command register and the BAR holds an address: the host registers it,
 * moves it when the guest writes a new address, and removes it when decode
 * is turned off. The host assigns every BAR an address in its windows when
 * the function is created, as firmware would; the guest may move it.
 *
 * MSI-X (PCI 3.0 §6.8.2) puts its table and pending bit array in a BAR of
 * the function (see hvabs_pci_msix_init()); hvabs_pci_msix_notify() sends a
 * vector's message with hvabs_irq_msi(), or sets its pending bit while the
 * vector or the function is masked, and sends it when unmasked.
 *
 * Locking: each function has one lock, the *function lock*. Configuration
 * accesses, BAR accesses (the device's hvabs_bus_ops run with it held) and
 * MSI-X table accesses all take it, so the device sees one sequence of
 * events; a device's own threads take it with hvabs_pci_dev_lock(). The
 * host's configuration lock is taken before any function lock, and a BAR
 * is added to or removed from the bus without the function lock held.
 *
 * @ingroup devices
 * @defgroup pci PCI
 * @brief Host bridge, configuration space, BARs, capabilities and MSI-X.
 * @{
 */
#ifndef HVABS_DEVICES_PCI_H
#define HVABS_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "../acpi.h"
#include "../bus.h"
#include "../machine.h"
#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Device slots on the bus. */
#define HVABS_PCI_SLOTS 32u
/** Bytes of configuration space per function through ECAM. */
#define HVABS_PCI_CONFIG_SIZE 0x1000u
/** Bytes of conventional configuration space (the part that exists). */
#define HVABS_PCI_CONFIG_LEGACY 0x100u
/** The configuration mechanism #1 address port; the data port is 0xCFC. */
#define HVABS_PCI_CONFIG_PORT 0xcf8u
/** BARs of a type-0 header. */
#define HVABS_PCI_BARS 6u
/** Default size of the BAR window below 4 GiB (hvabs_pci_host_place()). */
#define HVABS_PCI_MMIO32_DEFAULT 0x4000000ull
/** Default size of the BAR window above 4 GiB (hvabs_pci_host_place()). */
#define HVABS_PCI_MMIO64_DEFAULT 0x200000000ull

/** @name Type-0 configuration header offsets (PCI 3.0 §6.1)
 * @{ */
#define HVABS_PCI_VENDOR_ID	 0x00 /**< 16 bits, read-only. */
#define HVABS_PCI_DEVICE_ID	 0x02 /**< 16 bits, read-only. */
#define HVABS_PCI_COMMAND	 0x04 /**< 16 bits: HVABS_PCI_CMD_* bits. */
#define HVABS_PCI_STATUS	 0x06 /**< 16 bits: HVABS_PCI_STATUS_* bits. */
#define HVABS_PCI_REVISION	 0x08 /**< 8 bits, read-only. */
#define HVABS_PCI_CLASS_PROG	 0x09 /**< Class code: programming interface, sub-class, base class. */
#define HVABS_PCI_HEADER_TYPE	 0x0e /**< 8 bits: 0, single function. */
#define HVABS_PCI_BAR0		 0x10 /**< First of six 32-bit BAR registers. */
#define HVABS_PCI_SUBSYS_VENDOR	 0x2c /**< 16 bits, read-only. */
#define HVABS_PCI_SUBSYS_ID	 0x2e /**< 16 bits, read-only. */
#define HVABS_PCI_CAP_PTR	 0x34 /**< 8 bits: first capability, 0 for none. */
#define HVABS_PCI_INTERRUPT_LINE 0x3c /**< 8 bits, read-write, for the driver only. */
#define HVABS_PCI_INTERRUPT_PIN	 0x3d /**< 8 bits: 0, the functions have no INTx. */
/** @} */

#define HVABS_PCI_CMD_MEMORY	  (1u << 1)  /**< Command: decode memory BARs. */
#define HVABS_PCI_CMD_MASTER	  (1u << 2)  /**< Command: the function may do DMA. */
#define HVABS_PCI_CMD_INTX_OFF	  (1u << 10) /**< Command: INTx disabled (writable, no effect). */
#define HVABS_PCI_STATUS_CAP_LIST (1u << 4)  /**< Status: the capability list exists. */
#define HVABS_PCI_BAR_MEM_64	  0x4u	     /**< BAR low bits: 64-bit memory BAR. */
#define HVABS_PCI_BAR_PREFETCH	  0x8u	     /**< BAR low bits: prefetchable. */

/** @name Capability IDs
 * @{ */
#define HVABS_PCI_CAP_ID_VNDR 0x09 /**< Vendor-specific (virtio's capabilities). */
#define HVABS_PCI_CAP_ID_MSIX 0x11 /**< MSI-X. */
/** @} */

/** A host bridge with its bus. */
struct hvabs_pci_host;
/** A function on the bus. */
struct hvabs_pci_dev;

/** Where a host bridge lives. */
struct hvabs_pci_host_params {
	uint64_t ecam_base;   /**< ECAM window of bus 0 (1 MiB), 1 MiB aligned. */
	uint64_t mmio32_base; /**< BAR window below 4 GiB. */
	uint64_t mmio32_size; /**< Its size, non-zero. */
	uint64_t mmio64_base; /**< BAR window for 64-bit BARs, or 0. */
	uint64_t mmio64_size; /**< Its size, or 0 (64-bit BARs then go below 4 GiB). */
	uint32_t flags;	      /**< HVABS_PCI_HOST_F_* bits. */
	uint32_t pad;	      /**< Reserved, zero. */
};

/** hvabs_pci_host_params::flags: no 0xCF8/0xCFC ports, ECAM only. */
#define HVABS_PCI_HOST_F_NO_PORTS (1u << 0)

/**
 * Creates a host bridge and registers its ECAM window (and the 0xCF8 ports)
 * on the VM's buses. Thread: any, before vCPUs run.
 * @param vm the VM.
 * @param params windows.
 * @param out the host.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, misaligned ECAM, an empty 32-bit window.
 * @retval -EEXIST the ECAM window or the ports belong to another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_host_create(struct hvabs_vm *vm,
						     const struct hvabs_pci_host_params *params,
						     struct hvabs_pci_host **out);

/**
 * Removes the host from the buses. Destroy its functions first. NULL is a
 * no-op. Thread: any.
 * @param h the host.
 */
HVABS_API void hvabs_pci_host_destroy(struct hvabs_pci_host *h);

/**
 * Allocates a host bridge's windows from the machine layer: the 1 MiB ECAM
 * window and the 32-bit BAR window (@p params->mmio32_size, default
 * #HVABS_PCI_MMIO32_DEFAULT) with hvabs_machine_alloc_mmio(), the 64-bit
 * window (@p params->mmio64_size, default #HVABS_PCI_MMIO64_DEFAULT) with
 * hvabs_machine_alloc_mmio64(); fills the bases. Thread: the one building
 * the machine.
 * @param m the machine.
 * @param params in: sizes (0 = default); out: the bases.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument or a size that is not a power of two.
 * @retval -ENOSPC a window does not fit.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_host_place(struct hvabs_machine *m,
						    struct hvabs_pci_host_params *params);

/**
 * The ACPI description of the host (MCFG entry and PNP0A08 device).
 * Thread: any.
 * @param h the host.
 * @param out the description.
 */
HVABS_API void hvabs_pci_host_describe(const struct hvabs_pci_host *h,
				       struct hvabs_acpi_pci_host *out);

/**
 * Announces the host to the guest through the machine layer
 * (hvabs_machine_set_pci() with hvabs_pci_host_describe()).
 * Thread: the one building the machine.
 * @param h the host.
 * @param m the machine.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_host_announce(const struct hvabs_pci_host *h,
						       struct hvabs_machine *m);

/**
 * Reads configuration space as a guest would through ECAM (for tests and
 * diagnostics). Thread: any.
 * @param h the host.
 * @param slot device number, 0 .. 31.
 * @param offset register, 0 .. 0xfff, aligned to @p size.
 * @param size 1, 2 or 4.
 * @param val out: the value (all ones for an empty slot).
 * @return 0 or negative errno.
 * @retval -EINVAL bad argument.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_config_read(struct hvabs_pci_host *h, uint32_t slot,
						     uint32_t offset, uint32_t size, uint32_t *val);

/** hvabs_pci_bar::flags: a 64-bit BAR (takes two BAR registers). */
#define HVABS_PCI_BAR_F_64 (1u << 0)
/** hvabs_pci_bar::flags: prefetchable. */
#define HVABS_PCI_BAR_F_PREFETCH (1u << 1)

/** One memory BAR of a function. */
struct hvabs_pci_bar {
	uint64_t size;	/**< Bytes: a power of two, at least 4 KiB; 0 = no BAR. */
	uint32_t flags; /**< HVABS_PCI_BAR_F_* bits. */
	uint32_t pad;	/**< Reserved, zero. */
	const struct hvabs_bus_ops
	    *ops;     /**< Its registers (function lock held); must outlive the function. */
	void *opaque; /**< First argument of @p ops. */
};

/**
 * Called when a BAR appears on the bus at @p gpa, or leaves it (@p gpa is
 * #HVABS_PCI_BAR_UNMAPPED), without the function lock held.
 * @param opaque hvabs_pci_dev_params::opaque.
 * @param bar BAR index.
 * @param gpa the new address or #HVABS_PCI_BAR_UNMAPPED.
 */
typedef void (*hvabs_pci_bar_moved_fn)(void *opaque, uint32_t bar, uint64_t gpa);

/** hvabs_pci_bar_moved_fn(): the BAR is not on the bus. */
#define HVABS_PCI_BAR_UNMAPPED UINT64_MAX

/** What a function is. */
struct hvabs_pci_dev_params {
	uint16_t vendor_id;	   /**< Vendor ID. */
	uint16_t device_id;	   /**< Device ID. */
	uint16_t subsys_vendor_id; /**< Subsystem vendor ID. */
	uint16_t subsys_id;	   /**< Subsystem ID. */
	uint32_t class_code;	   /**< Base class << 16 | sub-class << 8 | prog-if. */
	uint8_t revision;	   /**< Revision ID. */
	uint8_t slot;		   /**< Device number, or 0xff for the lowest free from 1. */
	uint16_t pad;		   /**< Reserved, zero. */
	struct hvabs_pci_bar
	    bars[HVABS_PCI_BARS];	  /**< Its BARs; a 64-bit BAR leaves the next empty. */
	hvabs_pci_bar_moved_fn bar_moved; /**< Called when a BAR moves, or NULL. */
	void *opaque;			  /**< Argument of @p bar_moved. */
	const char *name;		  /**< Name for log lines, or NULL. */
};

/**
 * Creates a function, assigns its BARs addresses in the host's windows
 * (decode stays off until the driver enables it) and puts it on the bus.
 * Thread: any, before vCPUs run.
 * @param h the host.
 * @param params what the function is.
 * @param out the function.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, a bad BAR size, a slot out of range.
 * @retval -EEXIST the slot is taken.
 * @retval -ENOSPC no free slot, or the windows are full.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_dev_create(struct hvabs_pci_host *h,
						    const struct hvabs_pci_dev_params *params,
						    struct hvabs_pci_dev **out);

/**
 * Removes the function from the bus, and its BARs. When it returns no
 * callback of it runs. NULL is a no-op. Thread: any but its callbacks.
 * @param d the function.
 */
HVABS_API void hvabs_pci_dev_destroy(struct hvabs_pci_dev *d);

/**
 * Adds a capability to the list (before the driver runs). Its first two
 * bytes (ID and next pointer) are the list's; @p body holds the rest.
 * Bytes are read-only to the guest unless @p wmask marks bits writable.
 * @param d the function.
 * @param id capability ID.
 * @param body @p len bytes after the two-byte header.
 * @param wmask @p len bytes of writable bits, or NULL for read-only.
 * @param len bytes of @p body.
 * @param offset out: where the capability starts in configuration space.
 * @return 0 or negative errno.
 * @retval -ENOSPC configuration space (0x40 .. 0xff) is full.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_cap_add(struct hvabs_pci_dev *d, uint8_t id,
						 const void *body, const void *wmask, uint32_t len,
						 uint32_t *offset);

/**
 * Where a BAR is now. Function lock held or not (racy but consistent).
 * @param d the function.
 * @param bar BAR index.
 * @return the guest-physical address, or #HVABS_PCI_BAR_UNMAPPED.
 */
HVABS_API uint64_t hvabs_pci_bar_address(struct hvabs_pci_dev *d, uint32_t bar);

/**
 * The device number the function sits at.
 * @param d the function.
 * @return 0 .. 31.
 */
HVABS_API uint32_t hvabs_pci_dev_slot(const struct hvabs_pci_dev *d);

/**
 * The command register. Function lock held.
 * @param d the function.
 * @return HVABS_PCI_CMD_* bits.
 */
HVABS_API uint16_t hvabs_pci_dev_command(const struct hvabs_pci_dev *d);

/**
 * Takes the function lock. Thread: any but the function's callbacks.
 * @param d the function.
 */
HVABS_API void hvabs_pci_dev_lock(struct hvabs_pci_dev *d);

/**
 * Releases hvabs_pci_dev_lock().
 * @param d the function.
 */
HVABS_API void hvabs_pci_dev_unlock(struct hvabs_pci_dev *d);

/** Most MSI-X vectors a function may have (the table fits 4 KiB). */
#define HVABS_PCI_MSIX_MAX 256u

/**
 * Gives a function an MSI-X capability with @p nvec vectors whose table
 * sits at @p table_off of BAR @p bar and whose pending bit array follows
 * it (8-byte aligned). Guest accesses inside the table and the array are
 * served here (aligned dwords and qwords, PCI 3.0 §6.8.2; the array is
 * read-only) and never reach the BAR's own ops. Unmasking a vector whose
 * pending bit is set sends its message. Every vector starts masked and the
 * capability disabled. Before the driver runs.
 * @param d the function.
 * @param nvec vectors, 1 .. #HVABS_PCI_MSIX_MAX.
 * @param bar the BAR of the table.
 * @param table_off offset of the table in the BAR, 8-byte aligned.
 * @return 0 or negative errno.
 * @retval -EINVAL a bad count, BAR or offset (the table and the array must fit the BAR).
 * @retval -EEXIST the function has MSI-X already.
 * @retval -ENOSPC no room in configuration space.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_pci_msix_init(struct hvabs_pci_dev *d, uint32_t nvec,
						   uint32_t bar, uint32_t table_off);

/**
 * Signals vector @p vec: with MSI-X enabled, the function and the vector
 * unmasked, sends its message through hvabs_irq_msi(); while masked, sets
 * its pending bit (sent when unmasked). Function lock held.
 * @param d the function.
 * @param vec the vector.
 * @return 0 or negative errno.
 * @retval -EINVAL @p vec out of range.
 * @retval -EAGAIN MSI-X is disabled: nothing is sent and nothing pends.
 */
HVABS_API int hvabs_pci_msix_notify(struct hvabs_pci_dev *d, uint32_t vec);

/**
 * Whether MSI-X is enabled by the driver. Function lock held.
 * @param d the function.
 * @return true when enabled.
 */
HVABS_API bool hvabs_pci_msix_enabled(const struct hvabs_pci_dev *d);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
