/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file machine.h
 * @brief The machine layer: where RAM and devices go in a PC-like guest, and how the guest learns it.
 *
 * A struct hvabs_machine is the plan of one x86 guest: its memory map with
 * the 32-bit hole, an allocator for guest-physical device windows inside
 * that hole, an allocator for interrupt lines (I/O APIC pins), and the list
 * of what the guest must be told: the DSDT device entries and the
 * `virtio_mmio.device=` kernel command-line words. It does not run anything
 * and needs no hypervisor: a VMM creates one, asks it where each device goes,
 * creates the devices there, announces them, and hands the result to the
 * loader (hvabs_machine_platform() for the ACPI and MP tables,
 * hvabs_machine_cmdline() for the command line).
 *
 * The memory map (defaults; each boundary can be moved in
 * struct hvabs_machine_config):
 * | range | what |
 * |---|---|
 * | 0 .. min(ram, 3 GiB) | RAM (the loader keeps 0x9fc00-0xfffff reserved in the e820 map) |
 * | 3 GiB .. 0xd0000000 | nothing (the hole's bottom, left free) |
 * | 0xd0000000 .. 0xfec00000 | the device window: MMIO windows are allocated here |
 * | 0xfec00000 .. 4 GiB | the platform: I/O APIC (#HVABS_IOAPIC_ADDR), local APICs (#HVABS_LAPIC_ADDR) |
 * | 4 GiB .. 4 GiB + (ram - 3 GiB) | the rest of the RAM, when there is more than 3 GiB |
 *
 * Interrupt lines are I/O APIC pins 0 .. #HVABS_IOAPIC_PINS - 1. The PC's
 * fixed ISA lines are never handed out: 0 and 2 (timer), 1 and 12 (i8042),
 * 3 and 4 (COM2, COM1), 8 (RTC), 9 (ACPI SCI). A VMM wires its legacy
 * devices to those lines directly; hvabs_machine_alloc_gsi() returns the
 * others in increasing order (5, 6, 7, 10, 11, 13, 14, 15, 16, ... 23).
 *
 * Errors are 0 or negative errno and out-parameters are written only on
 * success. Threads: a machine is not locked; use it from one thread at a
 * time (normally while the VM is being built, before any vCPU runs).
 *
 * Example (error handling shortened), from docs/machine.md:
 * @code
 * struct hvabs_machine_config mc = {.ram_size = 512 << 20, .nr_cpus = 2,
 *     .platform_flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042};
 * struct hvabs_machine *m;
 * hvabs_machine_create(&mc, &m);
 * hvabs_machine_add_ram(m, vm);
 * struct hvabs_virtio_rng_config rc = {.mmio.loop = loop};
 * hvabs_virtio_mmio_place(m, &rc.mmio);          // window and GSI
 * hvabs_virtio_rng_create(vm, &rc, &rng);
 * hvabs_virtio_mmio_announce(hvabs_virtio_rng_transport(rng), m);
 * hvabs_machine_platform(m, &lc.platform);       // DSDT, MADT, MP table
 * hvabs_machine_cmdline(m, "console=ttyS0", buf, &len); // + virtio_mmio.device=...
 * @endcode
 *
 * @defgroup machine Machine layer
 * @brief Memory map, device window and GSI allocation, device announcements.
 * @{
 */
#ifndef HVABS_MACHINE_H
#define HVABS_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "compiler.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default end of the RAM below 4 GiB: where the 32-bit hole begins (3 GiB). */
#define HVABS_MACHINE_LOW_RAM_MAX 0xc0000000ull
/** Default start of the RAM above the hole (4 GiB). */
#define HVABS_MACHINE_HIGH_RAM_BASE 0x100000000ull
/** Default start of the device window (the first virtio-mmio window). */
#define HVABS_MACHINE_MMIO_BASE 0xd0000000ull
/** Start of the platform range (I/O APIC, local APICs) up to 4 GiB; the device window ends here by default. */
#define HVABS_MACHINE_PLATFORM_BASE 0xfec00000ull
/** End of the guest-physical space hvabs_machine_alloc_mmio64() hands out (512 GiB: 39 address bits, which every x86-64 CPU has). */
#define HVABS_MACHINE_HIGH_MMIO_END 0x8000000000ull
/** Most ranges hvabs_machine_memory_map() reports. */
#define HVABS_MACHINE_MAX_RANGES 4u

/** A machine: memory map, allocators and announcements. */
struct hvabs_machine;

/** What to build. Zero fields take the defaults. */
struct hvabs_machine_config {
	uint64_t ram_size; /**< Guest RAM in bytes: non-zero, a multiple of 4 KiB. */
	uint64_t
	    low_ram_max; /**< RAM below the hole ends here at most (0: 3 GiB); 4 KiB aligned. */
	uint64_t high_ram_base;	 /**< RAM above the hole starts here (0: 4 GiB); 4 KiB aligned. */
	uint64_t mmio_base;	 /**< Start of the device window (0: 0xd0000000). */
	uint64_t mmio_size;	 /**< Its size (0: up to #HVABS_MACHINE_PLATFORM_BASE). */
	uint32_t nr_cpus;	 /**< vCPUs, 1 .. #HVABS_PLATFORM_MAX_CPUS. */
	uint32_t apic_id_stride; /**< hvabs_caps::apic_id_stride (0 means 1). */
	uint32_t platform_flags; /**< HVABS_PLATFORM_* bits: the legacy devices the VMM creates. */
	uint32_t pad;		 /**< Reserved, zero. */
};

/** Kinds of struct hvabs_machine_range. */
enum hvabs_machine_range_kind {
	HVABS_MACHINE_RANGE_RAM = 1,	  /**< Guest RAM. */
	HVABS_MACHINE_RANGE_DEVICES = 2,  /**< The device window: MMIO windows come from here. */
	HVABS_MACHINE_RANGE_PLATFORM = 3, /**< I/O APIC and local APICs, up to 4 GiB. */
};

/** One range of the guest-physical memory map. */
struct hvabs_machine_range {
	uint64_t base; /**< Guest-physical start. */
	uint64_t size; /**< Length in bytes, non-zero. */
	uint32_t kind; /**< An enum hvabs_machine_range_kind value. */
	uint32_t pad;  /**< Reserved, zero. */
};

/**
 * Creates a machine plan. Checks that RAM below the hole ends at or below
 * the device window, that the window lies between the end of the low RAM
 * and #HVABS_MACHINE_PLATFORM_BASE, and that the high RAM starts at or above
 * 4 GiB. Thread: any.
 * @param cfg what to build.
 * @param out the machine (written only on success).
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, zero or misaligned sizes, a CPU count out of
 *         range, or boundaries that overlap each other as described above.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_create(const struct hvabs_machine_config *cfg,
						    struct hvabs_machine **out);

/**
 * Destroys a machine (not the devices or the VM built from it). NULL is a no-op.
 * @param m the machine.
 */
HVABS_API void hvabs_machine_destroy(struct hvabs_machine *m);

/**
 * The guest-physical memory map, sorted by address: the low RAM, the device
 * window, the platform range, and the high RAM when there is any.
 * @param m the machine.
 * @param out where to write the ranges.
 * @param n in: entries @p out can take; out: entries written (or needed, with -ENOSPC).
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -ENOSPC @p out is too small; @p n says how many are needed.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_memory_map(const struct hvabs_machine *m,
							struct hvabs_machine_range *out, size_t *n);

/**
 * The RAM below and above 4 GiB, as the CMOS (hvabs_rtc_config) reports it.
 * @param m the machine.
 * @param below_4g out: bytes of RAM below 4 GiB.
 * @param above_4g out: bytes of RAM above 4 GiB.
 */
HVABS_API void hvabs_machine_ram_split(const struct hvabs_machine *m, uint64_t *below_4g,
				       uint64_t *above_4g);

/**
 * Gives the VM its RAM: hvabs_vm_add_ram() for each RAM range of the memory
 * map. On failure the ranges added so far stay (hvabs_vm_destroy() frees
 * them). Thread: any, before vCPUs run.
 * @param m the machine.
 * @param vm the VM.
 * @return 0 or negative errno from hvabs_vm_add_ram().
 * @retval -EINVAL NULL argument.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_add_ram(const struct hvabs_machine *m,
						     struct hvabs_vm *vm);

/**
 * Allocates a guest-physical window in the device window: the lowest free
 * address aligned to @p align with @p size bytes free above it.
 * @param m the machine.
 * @param size bytes, non-zero.
 * @param align a power of two (0 means 4 KiB).
 * @param gpa out: the window's start.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, zero size, or an alignment that is not a power of two.
 * @retval -ENOSPC the device window has no free range that large.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_alloc_mmio(struct hvabs_machine *m, uint64_t size,
							uint64_t align, uint64_t *gpa);

/**
 * Allocates a guest-physical window above the RAM (for 64-bit PCI BARs):
 * windows are handed out upwards from the first 1 GiB boundary past the
 * end of the high RAM (or 4 GiB), each aligned to @p align, up to
 * #HVABS_MACHINE_HIGH_MMIO_END. They are not part of
 * hvabs_machine_memory_map(); the PCI host bridge's ACPI description
 * (hvabs_machine_set_pci()) tells the guest about them.
 * @param m the machine.
 * @param size bytes, non-zero.
 * @param align a power of two (0 means 4 KiB).
 * @param gpa out: the window's start.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, zero size, or an alignment that is not a power of two.
 * @retval -ENOSPC the window would end past #HVABS_MACHINE_HIGH_MMIO_END.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_alloc_mmio64(struct hvabs_machine *m, uint64_t size,
							  uint64_t align, uint64_t *gpa);

/**
 * Reserves a fixed guest-physical range in the device window (a device at
 * an address it must have), so no allocation hands it out.
 * @param m the machine.
 * @param base start of the range.
 * @param size bytes, non-zero.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument or zero size.
 * @retval -ERANGE the range does not lie inside the device window.
 * @retval -EEXIST the range overlaps one allocated or reserved before.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_reserve_mmio(struct hvabs_machine *m, uint64_t base,
							  uint64_t size);

/**
 * Allocates the lowest free interrupt line (I/O APIC pin) that is not one of
 * the PC's fixed ISA lines.
 * @param m the machine.
 * @param gsi out: the line.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -ENOSPC every line is taken.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_alloc_gsi(struct hvabs_machine *m, uint32_t *gsi);

/**
 * Reserves one interrupt line for a device that needs that line.
 * @param m the machine.
 * @param gsi the line.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -ERANGE @p gsi is not an I/O APIC pin (0 .. #HVABS_IOAPIC_PINS - 1).
 * @retval -EEXIST the line is taken: allocated, reserved, or a fixed ISA line.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_reserve_gsi(struct hvabs_machine *m, uint32_t gsi);

/**
 * Places a memory-mapped device: allocates a window of @p size bytes aligned
 * to @p size, and an interrupt line. Devices placed one after another get
 * consecutive windows from the start of the device window. On failure
 * nothing stays allocated. (hvabs_virtio_mmio_place() does this for a
 * virtio-mmio transport.)
 * @param m the machine.
 * @param size window size: a power of two, at least 4 KiB.
 * @param gpa out: the window's guest-physical base.
 * @param gsi out: the interrupt line.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument or a bad size.
 * @retval -ENOSPC no window or no interrupt line is left.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_place(struct hvabs_machine *m, uint64_t size,
						   uint64_t *gpa, uint32_t *gsi);

/**
 * Announces a device to the guest: @p dev becomes an entry of the DSDT (and
 * of hvabs_machine_platform()), and @p word, when given, is appended to the
 * kernel command line (hvabs_machine_cmdline()). Announce each device once,
 * in the order the guest should find them. The machine layer knows no
 * device: hvabs_virtio_mmio_announce() fills both for a virtio-mmio transport.
 * @param m the machine.
 * @param dev the ACPI description (copied).
 * @param word a command-line word without spaces, or NULL for none.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -ENOSPC #HVABS_PLATFORM_MAX_DEVICES devices are announced already.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_announce(struct hvabs_machine *m,
						      const struct hvabs_acpi_device *dev,
						      const char *word);

/**
 * Announces a PCI host bridge: hvabs_machine_platform() then points
 * hvabs_platform::pci at a copy of @p host, so the loader writes its MCFG
 * table and DSDT device. The machine layer knows no PCI device:
 * hvabs_pci_host_announce() fills @p host.
 * @param m the machine.
 * @param host the description (copied).
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument.
 * @retval -EEXIST a host bridge is announced already (one segment per machine).
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_set_pci(struct hvabs_machine *m,
						     const struct hvabs_acpi_pci_host *host);

/**
 * Number of devices announced so far (the DSDT's virtio-mmio entries).
 * @param m the machine.
 * @return the count.
 */
HVABS_API size_t hvabs_machine_device_count(const struct hvabs_machine *m);

/**
 * Describes the platform for the ACPI tables and the MP table
 * (hvabs_linux_config::platform, hvabs_acpi_build(), hvabs_mptable_build()):
 * the vCPUs, the APIC ID stride, the legacy-device flags and the announced
 * devices. The device array belongs to the machine and stays valid until
 * the next announcement or hvabs_machine_destroy().
 * @param m the machine.
 * @param out the description.
 */
HVABS_API void hvabs_machine_platform(const struct hvabs_machine *m, struct hvabs_platform *out);

/**
 * Writes the kernel command line: @p base, then a space and the
 * `virtio_mmio.device=` word of each announced device, NUL terminated.
 * @param m the machine.
 * @param base the user's command line, or NULL for an empty one.
 * @param buf destination, or NULL to ask for the size.
 * @param len in: size of @p buf; out: bytes written, NUL included (or
 *        needed, with -ENOSPC).
 * @return 0 or negative errno.
 * @retval -EINVAL NULL @p m or @p len.
 * @retval -ENOSPC @p buf is too small (or NULL); @p len says how much is needed.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_machine_cmdline(const struct hvabs_machine *m,
						     const char *base, char *buf, size_t *len);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
