/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file loader.h
 * @brief Loading a Linux x86-64 kernel: bzImage or PVH ELF, initrd, command line, boot state.
 *
 * Two steps, kept apart so that a backend that starts vCPUs its own way (Xen)
 * can use the first alone:
 * 1. hvabs_linux_load() decides what goes where in guest memory, writes it
 *    there through the mem.h accessors, and describes the result in a
 *    struct hvabs_linux_boot.
 * 2. hvabs_linux_setup_vcpu() puts the boot vCPU into the state the kernel's
 *    entry point expects, through the vcpu.h accessors only.
 *
 * Two kernel formats are accepted, told apart by their first bytes:
 * - a **bzImage**, Linux x86 boot protocol 2.12 or later with a 64-bit entry
 *   point (`xloadflags` XLF_KERNEL_64): the protected-mode kernel is loaded at
 *   #HVABS_LINUX_KERNEL_ADDR and entered in 64-bit mode at its start + 0x200,
 *   with RSI pointing to `boot_params` (the "zero page");
 * - an **ELF vmlinux with a PVH entry note** (`XEN_ELFNOTE_PHYS32_ENTRY`, as
 *   Linux has with CONFIG_PVH): its PT_LOAD segments are loaded at their
 *   physical addresses and it is entered in 32-bit protected mode with EBX
 *   pointing to a `hvm_start_info`.
 *
 * Guest RAM the loader expects: one region from address 0 (the tables live
 * below 1 MiB), large enough for the kernel; a VMM normally maps RAM from 0 up
 * to min(size, 3 GiB) and the rest from 4 GiB, leaving 3-4 GiB for MMIO (the
 * virtio-mmio windows from 0xd0000000, the I/O APIC at 0xfec00000, the local
 * APICs at 0xfee00000). Read-only regions are reported to the guest as
 * reserved.
 *
 * Guest-physical layout (all below 1 MiB except the kernel and initrd):
 * | address | contents |
 * |---|---|
 * | 0x00500 - 0x0052f | GDT (#HVABS_LINUX_GDT_ADDR): null, 32-bit code 0x08, 64-bit code 0x10, data 0x18, TSS 0x20 |
 * | 0x06000 - 0x06fff | PVH: `hvm_start_info`, module list, memory map (#HVABS_LINUX_START_INFO_ADDR) |
 * | 0x07000 - 0x07fff | bzImage: `boot_params`, the zero page (#HVABS_LINUX_ZERO_PAGE_ADDR) |
 * | 0x08000 - 0x08fff | boot stack, growing down from #HVABS_LINUX_STACK_TOP |
 * | 0x09000 - 0x0efff | bzImage: page tables, identity map of 0-4 GiB in 2 MiB pages (#HVABS_LINUX_PML4_ADDR) |
 * | 0x20000 - 0x2ffff | kernel command line (#HVABS_LINUX_CMDLINE_ADDR) |
 * | 0x9fc00 - 0xdffff | reserved (EBDA, VGA hole, option ROMs) |
 * | 0xe0000 - 0xeffff | ACPI tables, RSDP first (#HVABS_ACPI_DEFAULT_ADDR) |
 * | 0xf0000 - 0xfffff | MP table (#HVABS_MPTABLE_DEFAULT_ADDR) |
 * | 0x100000 - | bzImage: protected-mode kernel, then the room it decompresses into; PVH: its segments |
 * | top of low RAM | initrd, page aligned, below `initrd_addr_max` and 4 GiB |
 *
 * The memory map given to the guest (e820 in `boot_params`, or the
 * `hvm_start_info` memory map) lists each RAM region as usable, except
 * 0x9fc00-0xfffff: reserved, with the ACPI table area as ACPI data.
 *
 * @defgroup loader Linux loader
 * @brief bzImage and PVH boot of Linux x86-64 guests.
 * @{
 */
#ifndef HVABS_LOADER_H
#define HVABS_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "compiler.h"
#include "mem.h"
#include "vcpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Guest-physical address of the boot GDT. */
#define HVABS_LINUX_GDT_ADDR 0x500u
/** Guest-physical address of the PVH `hvm_start_info`. */
#define HVABS_LINUX_START_INFO_ADDR 0x6000u
/** Guest-physical address of the bzImage zero page (`boot_params`). */
#define HVABS_LINUX_ZERO_PAGE_ADDR 0x7000u
/** Initial stack pointer of the boot vCPU. */
#define HVABS_LINUX_STACK_TOP 0x8ff0u
/** Guest-physical address of the top-level page table (PML4) of a bzImage boot. */
#define HVABS_LINUX_PML4_ADDR 0x9000u
/** Guest-physical address of the kernel command line. */
#define HVABS_LINUX_CMDLINE_ADDR 0x20000u
/** Room for the command line, terminating NUL included. */
#define HVABS_LINUX_CMDLINE_MAX 0x10000u
/** Where a bzImage's protected-mode kernel is loaded (1 MiB). */
#define HVABS_LINUX_KERNEL_ADDR 0x100000u

/** @name Segment selectors in the boot GDT
 * @{ */
#define HVABS_LINUX_SEL_CODE32 0x08u /**< Flat 32-bit code (PVH entry). */
#define HVABS_LINUX_SEL_CODE64 0x10u /**< 64-bit code (`__BOOT_CS` of the boot protocol). */
#define HVABS_LINUX_SEL_DATA   0x18u /**< Flat data (`__BOOT_DS`). */
#define HVABS_LINUX_SEL_TSS    0x20u /**< A 104-byte TSS at address 0 (only its descriptor matters). */
/** @} */

/** @name Loader flags (hvabs_linux_config::flags)
 * @{ */
#define HVABS_LINUX_NO_ACPI    (1u << 0) /**< Do not write ACPI tables. */
#define HVABS_LINUX_NO_MPTABLE (1u << 1) /**< Do not write an MP table. */
/** @} */

/** What to load. */
struct hvabs_linux_config {
	const void *kernel;		/**< The kernel image: a bzImage or an ELF vmlinux. */
	size_t kernel_size;		/**< Its size in bytes. */
	const void *initrd;		/**< An initial ramdisk, or NULL. */
	size_t initrd_size;		/**< Its size in bytes (0 = none). */
	const char *cmdline;		/**< The kernel command line, or NULL for an empty one. */
	uint32_t flags;			/**< HVABS_LINUX_* bits. */
	uint32_t pad;			/**< Reserved, zero. */
	struct hvabs_platform platform; /**< vCPUs and devices, for the ACPI and MP tables. */
};

/** How a kernel is entered. */
enum hvabs_linux_entry {
	HVABS_LINUX_ENTRY_BZIMAGE = 1, /**< 64-bit boot protocol: long mode, RSI = zero page. */
	HVABS_LINUX_ENTRY_PVH = 2,     /**< PVH: 32-bit protected mode, EBX = hvm_start_info. */
};

/** Where hvabs_linux_load() put things: everything hvabs_linux_setup_vcpu() needs. */
struct hvabs_linux_boot {
	uint32_t entry_kind;   /**< An enum hvabs_linux_entry value. */
	uint16_t protocol;     /**< bzImage: boot protocol version (0x020f = 2.15); PVH: 0. */
	uint16_t pad;	       /**< Reserved, zero. */
	uint64_t entry;	       /**< Guest-physical address of the first instruction. */
	uint64_t boot_info;    /**< Zero page (RSI) or hvm_start_info (EBX). */
	uint64_t kernel_start; /**< Lowest address the kernel occupies. */
	uint64_t kernel_end;   /**< End of what it occupies, decompression room included. */
	uint64_t initrd_start; /**< Where the initrd is (0 without one). */
	uint64_t initrd_size;  /**< Its size (0 without one). */
	uint64_t cmdline;      /**< Where the command line is. */
	uint64_t cmdline_size; /**< Its length, terminating NUL included. */
	uint64_t rsdp;	       /**< The ACPI RSDP (0 with #HVABS_LINUX_NO_ACPI). */
	uint64_t mptable;      /**< The MP floating pointer (0 with #HVABS_LINUX_NO_MPTABLE). */
	uint64_t gdt;	       /**< The boot GDT. */
	uint64_t pml4;	       /**< The page tables' root for a bzImage, 0 for PVH. */
	uint64_t stack;	       /**< The initial stack pointer. */
	uint32_t e820_entries; /**< Entries in the memory map given to the guest. */
	uint32_t pad2;	       /**< Reserved, zero. */
};

/**
 * Loads a Linux kernel, its initrd and command line into guest RAM, with the
 * boot structures (zero page with e820 map, or hvm_start_info with memory
 * map), boot GDT, page tables, ACPI and MP tables, at the addresses given in
 * the layout above. Nothing is assumed of the image: every size and offset in
 * it is checked against the file and guest RAM, and a bad image is refused
 * with a specific error code and a one-line message in @p err. On failure
 * guest RAM may have been partly written. Thread: any, while no vCPU runs.
 * @param mem the guest memory map.
 * @param cfg what to load.
 * @param out where everything went (written only on success).
 * @param err receives a one-line reason on failure, or NULL.
 * @param errlen size of @p err.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL arguments, or a bad platform description, or ELF
 *         segments that overlap each other or the boot area below 1 MiB.
 * @retval -ENOEXEC neither a bzImage nor an ELF file, a truncated image, a
 *         bad magic, or a corrupt ELF (sizes or offsets outside the file).
 * @retval -EPROTONOSUPPORT a bzImage older than boot protocol 2.12 or
 *         without a 64-bit entry point, or not loadable high.
 * @retval -ENOTSUP an ELF that is not x86-64 or has no PVH entry note.
 * @retval -ENOSPC the kernel or the initrd does not fit in guest RAM, or
 *         guest RAM does not start at 0 and cover the boot area.
 * @retval -E2BIG the command line is longer than the kernel accepts, or
 *         guest RAM has too many regions for the memory map.
 * @retval -EFAULT writing guest RAM failed.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_linux_load(struct hvabs_mem *mem,
						const struct hvabs_linux_config *cfg,
						struct hvabs_linux_boot *out, char *err,
						size_t errlen);

/**
 * Puts the boot vCPU in the state the kernel's entry point expects, through
 * the vCPU accessors only.
 * - bzImage: long mode with paging (CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CR3 =
 *   hvabs_linux_boot::pml4), CS = #HVABS_LINUX_SEL_CODE64, DS/ES/FS/GS/SS =
 *   #HVABS_LINUX_SEL_DATA, RIP = entry, RSI = zero page.
 * - PVH: 32-bit protected mode without paging (CR0.PE, CR4 = 0, EFER = 0),
 *   flat CS = #HVABS_LINUX_SEL_CODE32, DS/ES/FS/GS/SS = #HVABS_LINUX_SEL_DATA,
 *   TR = #HVABS_LINUX_SEL_TSS, EIP = entry, EBX = hvm_start_info.
 * Both: RFLAGS = 2 (interrupts off), RSP = hvabs_linux_boot::stack, GDTR =
 * the boot GDT. When the backend has #HVABS_CAP_FPU and #HVABS_CAP_MSRS, the
 * x87/SSE control words get their reset values and IA32_MISC_ENABLE has fast
 * strings on; -ENOTSUP from those is ignored. Thread: the vCPU's thread, or
 * any while it does not run.
 * @param boot_cpu the vCPU to start (normally vCPU 0).
 * @param boot what hvabs_linux_load() returned.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL arguments or an unknown hvabs_linux_boot::entry_kind.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_linux_setup_vcpu(struct hvabs_vcpu *boot_cpu,
						      const struct hvabs_linux_boot *boot);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
