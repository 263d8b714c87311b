/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Our own definitions of the Linux /dev/mshv interface (upstream since Linux
 * 6.15) and of the Microsoft Hypervisor structures a VMM exchanges through
 * it: hypercall inputs and outputs passed with MSHV_ROOT_HVCALL, register
 * names, the VP register page and the intercept messages MSHV_RUN_VP
 * returns. Written from the documented ABI (ioctl numbers, field sizes and
 * offsets, constant values): the Hyper-V TLFS, and the layouts the upstream
 * uapi header and rust-vmm's mshv-bindings describe. No text is copied from
 * either. Every struct carries a _Static_assert on its size and on the
 * offsets that matter, so a layout mistake fails the build.
 *
 * Bit fields of the hypervisor ABI are plain integers here with mask
 * macros: C bit-field layout is implementation-defined. Every layout is
 * naturally aligned, so no packing attribute is needed: the asserts prove it.
 *
 * Naming: MSHV_IOC_* are ioctls, MSHV_HVCALL_* hypercall codes, MSHV_MSG_*
 * message types, MSHV_REG_* register names; structs are mshv_*.
 */
#ifndef HVABS_MSHV_UAPI_H
#define HVABS_MSHV_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include <linux/ioctl.h>

#define MSHV_PAGE_SIZE 4096u

/* ===================== /dev/mshv ioctls ===================== */

#define MSHV_IOCTL_TYPE 0xB8

/* mshv_create_partition_args::pt_flags bits */
#define MSHV_PT_BIT_LAPIC	    0
#define MSHV_PT_BIT_X2APIC	    1
#define MSHV_PT_BIT_GPA_SUPER_PAGES 2
#define MSHV_PT_FLAGS_KNOWN	    0x7ull
#define MSHV_PT_ISOLATION_NONE	    0

/* Argument of MSHV_IOC_CREATE_PARTITION (on /dev/mshv); returns a partition fd. */
struct mshv_create_partition_args {
	uint64_t pt_flags;     /* 1 << MSHV_PT_BIT_* */
	uint64_t pt_isolation; /* MSHV_PT_ISOLATION_* */
};
_Static_assert(sizeof(struct mshv_create_partition_args) == 16, "create partition");
_Static_assert(offsetof(struct mshv_create_partition_args, pt_isolation) == 8, "pt_isolation");

/* Argument of MSHV_IOC_CREATE_VP (partition fd); returns a VP fd. */
struct mshv_create_vp_args {
	uint32_t vp_index;
};
_Static_assert(sizeof(struct mshv_create_vp_args) == 4, "create vp");

/* mshv_user_mem_region_args::flags bits */
#define MSHV_SET_MEM_BIT_WRITABLE   0
#define MSHV_SET_MEM_BIT_EXECUTABLE 1
#define MSHV_SET_MEM_BIT_UNMAP	    2
#define MSHV_SET_MEM_FLAGS_KNOWN    0x7u

/* Argument of MSHV_IOC_SET_GUEST_MEMORY: maps (or, with UNMAP, unmaps) user memory. */
struct mshv_user_mem_region_args {
	uint64_t size;		 /* bytes, page aligned */
	uint64_t guest_pfn;	 /* first guest page */
	uint64_t userspace_addr; /* page-aligned host address */
	uint8_t flags;		 /* 1 << MSHV_SET_MEM_BIT_* */
	uint8_t rsvd[7];	 /* must be zero */
};
_Static_assert(sizeof(struct mshv_user_mem_region_args) == 32, "mem region");
_Static_assert(offsetof(struct mshv_user_mem_region_args, guest_pfn) == 8, "guest_pfn");
_Static_assert(offsetof(struct mshv_user_mem_region_args, userspace_addr) == 16, "uaddr");
_Static_assert(offsetof(struct mshv_user_mem_region_args, flags) == 24, "flags");

/* mshv_user_irqfd_args::flags bits */
#define MSHV_IRQFD_BIT_DEASSIGN 0
#define MSHV_IRQFD_BIT_RESAMPLE 1

/* Argument of MSHV_IOC_IRQFD: binds an eventfd to a GSI of the MSI routing table. */
struct mshv_user_irqfd_args {
	int32_t fd;
	int32_t resamplefd; /* with RESAMPLE: signalled on EOI of a level interrupt */
	uint32_t gsi;
	uint32_t flags;
};
_Static_assert(sizeof(struct mshv_user_irqfd_args) == 16, "irqfd");
_Static_assert(offsetof(struct mshv_user_irqfd_args, gsi) == 8, "irqfd gsi");

/* mshv_user_ioeventfd_args::flags bits. Upstream refuses PIO (EOPNOTSUPP). */
#define MSHV_IOEVENTFD_BIT_DATAMATCH 0
#define MSHV_IOEVENTFD_BIT_PIO	     1
#define MSHV_IOEVENTFD_BIT_DEASSIGN  2
#define MSHV_IOEVENTFD_FLAGS_KNOWN   0x7u

/* Argument of MSHV_IOC_IOEVENTFD: an eventfd the kernel signals on a guest MMIO write. */
struct mshv_user_ioeventfd_args {
	uint64_t datamatch;
	uint64_t addr;
	uint32_t len; /* 0 (any), 1, 2, 4 or 8 */
	int32_t fd;
	uint32_t flags;
	uint8_t rsvd[4];
};
_Static_assert(sizeof(struct mshv_user_ioeventfd_args) == 32, "ioeventfd");
_Static_assert(offsetof(struct mshv_user_ioeventfd_args, len) == 16, "ioeventfd len");
_Static_assert(offsetof(struct mshv_user_ioeventfd_args, fd) == 20, "ioeventfd fd");
_Static_assert(offsetof(struct mshv_user_ioeventfd_args, flags) == 24, "ioeventfd flags");

/* One entry of the MSI routing table (MSHV_IOC_SET_MSI_ROUTING). */
struct mshv_user_irq_entry {
	uint32_t gsi;
	uint32_t address_lo;
	uint32_t address_hi;
	uint32_t data;
};
_Static_assert(sizeof(struct mshv_user_irq_entry) == 16, "irq entry");

/* Argument of MSHV_IOC_SET_MSI_ROUTING: replaces the whole table. */
struct mshv_user_irq_table {
	uint32_t nr;
	uint32_t rsvd; /* must be zero */
	struct mshv_user_irq_entry entries[];
};
_Static_assert(sizeof(struct mshv_user_irq_table) == 8, "irq table");

#define MSHV_GPAP_ACCESS_TYPE_ACCESSED 0
#define MSHV_GPAP_ACCESS_TYPE_DIRTY    1
#define MSHV_GPAP_ACCESS_OP_NOOP       0
#define MSHV_GPAP_ACCESS_OP_CLEAR      1
#define MSHV_GPAP_ACCESS_OP_SET	       2

/* Argument of MSHV_IOC_GET_GPAP_ACCESS_BITMAP: one bit per page, LSB first. */
struct mshv_gpap_access_bitmap_args {
	uint8_t access_type; /* MSHV_GPAP_ACCESS_TYPE_* */
	uint8_t access_op;   /* MSHV_GPAP_ACCESS_OP_*, applied after reading */
	uint8_t rsvd[6];
	uint64_t page_count;
	uint64_t gpap_base; /* first guest page */
	uint64_t bitmap_ptr;
};
_Static_assert(sizeof(struct mshv_gpap_access_bitmap_args) == 32, "gpap bitmap");
_Static_assert(offsetof(struct mshv_gpap_access_bitmap_args, page_count) == 8, "page_count");
_Static_assert(offsetof(struct mshv_gpap_access_bitmap_args, bitmap_ptr) == 24, "bitmap_ptr");

/*
 * Argument of MSHV_IOC_ROOT_HVCALL: a hypercall passed through to the
 * hypervisor (partition or VP fd). The kernel allows only a fixed list of
 * codes, whose input begins with the partition id, which it fills in. Input
 * and output are at most one page each.
 */
struct mshv_root_hvcall_args {
	uint16_t code;	 /* MSHV_HVCALL_* */
	uint16_t reps;	 /* in: rep count (rep hypercalls); out: reps completed */
	uint16_t in_sz;	 /* bytes of input, 8..4096 */
	uint16_t out_sz; /* bytes of output, 0 when out_ptr is 0 */
	uint16_t status; /* in: zero; out: the hypervisor's status (MSHV_STATUS_*) */
	uint8_t rsvd[6];
	uint64_t in_ptr;
	uint64_t out_ptr;
};
_Static_assert(sizeof(struct mshv_root_hvcall_args) == 32, "root hvcall");
_Static_assert(offsetof(struct mshv_root_hvcall_args, status) == 8, "hvcall status");
_Static_assert(offsetof(struct mshv_root_hvcall_args, in_ptr) == 16, "hvcall in_ptr");
_Static_assert(offsetof(struct mshv_root_hvcall_args, out_ptr) == 24, "hvcall out_ptr");

/* VP fd mmap offsets, in units of the host page size. */
#define MSHV_VP_MMAP_REGISTERS	       0
#define MSHV_VP_MMAP_INTERCEPT_MESSAGE 1
#define MSHV_VP_MMAP_GHCB	       2

#define MSHV_RUN_VP_BUF_SZ	       256

/* Argument of MSHV_IOC_RUN_VP: the intercept message that ended the run. */
struct mshv_run_vp_args {
	uint8_t msg_buf[MSHV_RUN_VP_BUF_SZ];
};
_Static_assert(sizeof(struct mshv_run_vp_args) == 256, "run vp");

#define MSHV_VP_STATE_LAPIC	       0
#define MSHV_VP_STATE_XSAVE	       1
#define MSHV_VP_STATE_SIMP	       2
#define MSHV_VP_STATE_SIEFP	       3
#define MSHV_VP_STATE_SYNTHETIC_TIMERS 4
#define MSHV_VP_STATE_COUNT	       5

/* Argument of MSHV_IOC_GET_VP_STATE / MSHV_IOC_SET_VP_STATE. */
struct mshv_get_set_vp_state_args {
	uint8_t type; /* MSHV_VP_STATE_* */
	uint8_t rsvd[3];
	uint32_t buf_sz;  /* in: 4 KiB multiple; out: bytes of state */
	uint64_t buf_ptr; /* 4 KiB aligned */
};
_Static_assert(sizeof(struct mshv_get_set_vp_state_args) == 16, "vp state");
_Static_assert(offsetof(struct mshv_get_set_vp_state_args, buf_sz) == 4, "vp state buf_sz");
_Static_assert(offsetof(struct mshv_get_set_vp_state_args, buf_ptr) == 8, "vp state buf_ptr");

/* /dev/mshv */
#define MSHV_IOC_CREATE_PARTITION _IOW(MSHV_IOCTL_TYPE, 0x00, struct mshv_create_partition_args)
/* partition fd */
#define MSHV_IOC_INITIALIZE_PARTITION _IO(MSHV_IOCTL_TYPE, 0x00)
#define MSHV_IOC_CREATE_VP	      _IOW(MSHV_IOCTL_TYPE, 0x01, struct mshv_create_vp_args)
#define MSHV_IOC_SET_GUEST_MEMORY     _IOW(MSHV_IOCTL_TYPE, 0x02, struct mshv_user_mem_region_args)
#define MSHV_IOC_IRQFD		      _IOW(MSHV_IOCTL_TYPE, 0x03, struct mshv_user_irqfd_args)
#define MSHV_IOC_IOEVENTFD	      _IOW(MSHV_IOCTL_TYPE, 0x04, struct mshv_user_ioeventfd_args)
#define MSHV_IOC_SET_MSI_ROUTING      _IOW(MSHV_IOCTL_TYPE, 0x05, struct mshv_user_irq_table)
#define MSHV_IOC_GET_GPAP_ACCESS_BITMAP                                                            \
	_IOWR(MSHV_IOCTL_TYPE, 0x06, struct mshv_gpap_access_bitmap_args)
#define MSHV_IOC_ROOT_HVCALL _IOWR(MSHV_IOCTL_TYPE, 0x07, struct mshv_root_hvcall_args)
/* VP fd (MSHV_IOC_ROOT_HVCALL works there too) */
#define MSHV_IOC_RUN_VP	      _IOR(MSHV_IOCTL_TYPE, 0x00, struct mshv_run_vp_args)
#define MSHV_IOC_GET_VP_STATE _IOWR(MSHV_IOCTL_TYPE, 0x01, struct mshv_get_set_vp_state_args)
#define MSHV_IOC_SET_VP_STATE _IOWR(MSHV_IOCTL_TYPE, 0x02, struct mshv_get_set_vp_state_args)

/* The numbers, worked out by hand from the _IOC encoding, pin the argument sizes. */
_Static_assert(MSHV_IOC_CREATE_PARTITION == 0x4010B800u, "ioctl number");
_Static_assert(MSHV_IOC_INITIALIZE_PARTITION == 0x0000B800u, "ioctl number");
_Static_assert(MSHV_IOC_CREATE_VP == 0x4004B801u, "ioctl number");
_Static_assert(MSHV_IOC_SET_GUEST_MEMORY == 0x4020B802u, "ioctl number");
_Static_assert(MSHV_IOC_IRQFD == 0x4010B803u, "ioctl number");
_Static_assert(MSHV_IOC_IOEVENTFD == 0x4020B804u, "ioctl number");
_Static_assert(MSHV_IOC_SET_MSI_ROUTING == 0x4008B805u, "ioctl number");
_Static_assert(MSHV_IOC_GET_GPAP_ACCESS_BITMAP == 0xC020B806u, "ioctl number");
_Static_assert(MSHV_IOC_ROOT_HVCALL == 0xC020B807u, "ioctl number");
_Static_assert(MSHV_IOC_RUN_VP == 0x8100B800u, "ioctl number");
_Static_assert(MSHV_IOC_GET_VP_STATE == 0xC010B801u, "ioctl number");
_Static_assert(MSHV_IOC_SET_VP_STATE == 0xC010B802u, "ioctl number");

/* ===================== hypercalls (TLFS) ===================== */

/* The codes the upstream kernel lets through MSHV_IOC_ROOT_HVCALL (and that we use). */
#define MSHV_HVCALL_GET_PARTITION_PROPERTY    0x0044
#define MSHV_HVCALL_SET_PARTITION_PROPERTY    0x0045
#define MSHV_HVCALL_INSTALL_INTERCEPT	      0x004d
#define MSHV_HVCALL_GET_VP_REGISTERS	      0x0050
#define MSHV_HVCALL_SET_VP_REGISTERS	      0x0051
#define MSHV_HVCALL_TRANSLATE_VIRTUAL_ADDRESS 0x0052
#define MSHV_HVCALL_ASSERT_VIRTUAL_INTERRUPT  0x0094

/* Hypercall status values (TLFS "Hypercall Status Codes"). */
#define MSHV_STATUS_SUCCESS		    0x0
#define MSHV_STATUS_INVALID_HYPERCALL_CODE  0x2
#define MSHV_STATUS_INVALID_HYPERCALL_INPUT 0x3
#define MSHV_STATUS_INVALID_ALIGNMENT	    0x4
#define MSHV_STATUS_INVALID_PARAMETER	    0x5
#define MSHV_STATUS_ACCESS_DENIED	    0x6
#define MSHV_STATUS_INVALID_PARTITION_STATE 0x7
#define MSHV_STATUS_UNKNOWN_PROPERTY	    0x9
#define MSHV_STATUS_INSUFFICIENT_MEMORY	    0xB

/* Partition properties (HvCallSet/GetPartitionProperty). */
#define MSHV_PROP_SYNTHETIC_PROC_FEATURES		     0x00010001u
#define MSHV_PROP_TIME_FREEZE				     0x00030003u
#define MSHV_PROP_GPA_PAGE_ACCESS_TRACKING		     0x00050005u
#define MSHV_PROP_UNIMPLEMENTED_MSR_ACTION		     0x00050017u

#define MSHV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO 1u

/*
 * MSHV_PROP_SYNTHETIC_PROC_FEATURES bits (x64 numbering) of what a Linux
 * guest uses; Cloud Hypervisor grants the same set.
 */
#define MSHV_SYNFEAT_HYPERVISOR_PRESENT	     (1ull << 0)
#define MSHV_SYNFEAT_HV1		     (1ull << 1)
#define MSHV_SYNFEAT_PARTITION_REF_COUNTER   (1ull << 3)
#define MSHV_SYNFEAT_SYNIC_REGS		     (1ull << 4)
#define MSHV_SYNFEAT_SYNTHETIC_TIMER_REGS    (1ull << 5)
#define MSHV_SYNFEAT_INTR_CTRL_REGS	     (1ull << 6)
#define MSHV_SYNFEAT_HYPERCALL_REGS	     (1ull << 7)
#define MSHV_SYNFEAT_VP_INDEX		     (1ull << 8)
#define MSHV_SYNFEAT_PARTITION_REF_TSC	     (1ull << 9)
#define MSHV_SYNFEAT_GUEST_IDLE_REG	     (1ull << 10)
#define MSHV_SYNFEAT_FREQUENCY_REGS	     (1ull << 11)
#define MSHV_SYNFEAT_DIRECT_SYNTHETIC_TIMERS (1ull << 22)
#define MSHV_SYNFEAT_TB_FLUSH_HYPERCALLS     (1ull << 25)
#define MSHV_SYNFEAT_SYNTHETIC_CLUSTER_IPI   (1ull << 26)
#define MSHV_SYNFEAT_ACCESS_VP_REGS	     (1ull << 38)
#define MSHV_SYNFEAT_LINUX_GUEST                                                                   \
	(MSHV_SYNFEAT_HYPERVISOR_PRESENT | MSHV_SYNFEAT_HV1 | MSHV_SYNFEAT_PARTITION_REF_COUNTER | \
	 MSHV_SYNFEAT_SYNIC_REGS | MSHV_SYNFEAT_SYNTHETIC_TIMER_REGS |                             \
	 MSHV_SYNFEAT_INTR_CTRL_REGS | MSHV_SYNFEAT_HYPERCALL_REGS | MSHV_SYNFEAT_VP_INDEX |       \
	 MSHV_SYNFEAT_PARTITION_REF_TSC | MSHV_SYNFEAT_GUEST_IDLE_REG |                            \
	 MSHV_SYNFEAT_FREQUENCY_REGS | MSHV_SYNFEAT_DIRECT_SYNTHETIC_TIMERS |                      \
	 MSHV_SYNFEAT_TB_FLUSH_HYPERCALLS | MSHV_SYNFEAT_SYNTHETIC_CLUSTER_IPI |                   \
	 MSHV_SYNFEAT_ACCESS_VP_REGS)

/* Input of HvCallGetPartitionProperty (output: one uint64_t). */
struct mshv_in_get_property {
	uint64_t partition_id;
	uint32_t code;
	uint32_t pad;
};
_Static_assert(sizeof(struct mshv_in_get_property) == 16, "get property");

/* Input of HvCallSetPartitionProperty. */
struct mshv_in_set_property {
	uint64_t partition_id;
	uint32_t code;
	uint32_t pad;
	uint64_t value;
};
_Static_assert(sizeof(struct mshv_in_set_property) == 24, "set property");
_Static_assert(offsetof(struct mshv_in_set_property, value) == 16, "property value");

/* Intercept types and access masks of HvCallInstallIntercept. */
#define MSHV_INTERCEPT_X64_IO_PORT	   0u
#define MSHV_INTERCEPT_X64_MSR		   1u
#define MSHV_INTERCEPT_X64_CPUID	   2u
#define MSHV_INTERCEPT_X64_GLOBAL_CPUID	   6u
#define MSHV_INTERCEPT_HYPERCALL	   8u
#define MSHV_INTERCEPT_ACCESS_MASK_READ	   0x1u
#define MSHV_INTERCEPT_ACCESS_MASK_WRITE   0x2u
#define MSHV_INTERCEPT_ACCESS_MASK_EXECUTE 0x4u

/* Input of HvCallInstallIntercept. */
struct mshv_in_install_intercept {
	uint64_t partition_id;
	uint32_t access_mask; /* MSHV_INTERCEPT_ACCESS_MASK_* */
	uint32_t type;	      /* MSHV_INTERCEPT_* */
	uint64_t parameter;   /* port, CPUID leaf or MSR, by type */
};
_Static_assert(sizeof(struct mshv_in_install_intercept) == 24, "install intercept");
_Static_assert(offsetof(struct mshv_in_install_intercept, type) == 12, "intercept type");

/* A register value: 128 bits, of which most registers use the low 64. */
struct mshv_reg_value {
	uint64_t low;
	uint64_t high;
};
_Static_assert(sizeof(struct mshv_reg_value) == 16, "register value");

/* A register name and value (HvCallSetVpRegisters element). */
struct mshv_reg_assoc {
	uint32_t name; /* MSHV_REG_* */
	uint32_t rsvd1;
	uint64_t rsvd2;
	struct mshv_reg_value value;
};
_Static_assert(sizeof(struct mshv_reg_assoc) == 32, "register assoc");
_Static_assert(offsetof(struct mshv_reg_assoc, value) == 16, "assoc value");

/*
 * Head of HvCallGetVpRegisters (followed by uint32_t names; the output is
 * one struct mshv_reg_value per name) and HvCallSetVpRegisters (followed by
 * struct mshv_reg_assoc elements). Both are rep hypercalls.
 */
struct mshv_in_vp_registers {
	uint64_t partition_id;
	uint32_t vp_index;
	uint8_t input_vtl; /* 0: the VP's current VTL */
	uint8_t rsvd8;
	uint16_t rsvd16;
};
_Static_assert(sizeof(struct mshv_in_vp_registers) == 16, "vp registers head");
_Static_assert(offsetof(struct mshv_in_vp_registers, input_vtl) == 12, "input_vtl");

/* HvCallAssertVirtualInterrupt interrupt types (x64), equal to the MSI delivery modes. */
#define MSHV_INTERRUPT_FIXED	       0u
#define MSHV_INTERRUPT_LOWEST_PRIORITY 1u
#define MSHV_INTERRUPT_SMI	       2u
#define MSHV_INTERRUPT_NMI	       4u
#define MSHV_INTERRUPT_INIT	       5u
#define MSHV_INTERRUPT_SIPI	       6u
#define MSHV_INTERRUPT_EXTINT	       7u
#define MSHV_INTERRUPT_MAX	       0xAu

/* mshv_in_assert_interrupt::control: type in bits 0-31, then two flags. */
#define MSHV_INTCTL_TYPE_MASK	    0xffffffffull
#define MSHV_INTCTL_LEVEL_TRIGGERED (1ull << 32)
#define MSHV_INTCTL_LOGICAL_DEST    (1ull << 33)

/* Input of HvCallAssertVirtualInterrupt. */
struct mshv_in_assert_interrupt {
	uint64_t partition_id;
	uint64_t control;   /* MSHV_INTCTL_* */
	uint64_t dest_addr; /* APIC ID (physical) or logical destination */
	uint32_t vector;
	uint8_t target_vtl;
	uint8_t rsvd8;
	uint16_t rsvd16;
};
_Static_assert(sizeof(struct mshv_in_assert_interrupt) == 32, "assert interrupt");
_Static_assert(offsetof(struct mshv_in_assert_interrupt, control) == 8, "control");
_Static_assert(offsetof(struct mshv_in_assert_interrupt, dest_addr) == 16, "dest_addr");
_Static_assert(offsetof(struct mshv_in_assert_interrupt, vector) == 24, "vector");

/* HvCallTranslateVirtualAddress control flags and result codes. */
#define MSHV_TRANSLATE_VALIDATE_READ	   0x1ull
#define MSHV_TRANSLATE_VALIDATE_WRITE	   0x2ull
#define MSHV_TRANSLATE_VALIDATE_EXECUTE	   0x4ull
#define MSHV_TRANSLATE_SUCCESS		   0u
#define MSHV_TRANSLATE_PAGE_NOT_PRESENT	   1u
#define MSHV_TRANSLATE_PRIVILEGE_VIOLATION 2u
#define MSHV_TRANSLATE_INVALID_PT_FLAGS	   3u
#define MSHV_TRANSLATE_GPA_UNMAPPED	   4u
#define MSHV_TRANSLATE_GPA_NO_READ	   5u
#define MSHV_TRANSLATE_GPA_NO_WRITE	   6u

/* Input of HvCallTranslateVirtualAddress. */
struct mshv_in_translate {
	uint64_t partition_id;
	uint32_t vp_index;
	uint32_t pad;
	uint64_t control_flags; /* MSHV_TRANSLATE_VALIDATE_* */
	uint64_t gva_page;
};
_Static_assert(sizeof(struct mshv_in_translate) == 32, "translate in");
_Static_assert(offsetof(struct mshv_in_translate, gva_page) == 24, "gva_page");

/* Output of HvCallTranslateVirtualAddress: result code in the low 32 bits of result. */
struct mshv_out_translate {
	uint64_t result;
	uint64_t gpa_page;
};
_Static_assert(sizeof(struct mshv_out_translate) == 16, "translate out");

/* ===================== registers ===================== */

#define MSHV_REG_EXPLICIT_SUSPEND     0x00000000u
#define MSHV_REG_INTERCEPT_SUSPEND    0x00000001u
#define MSHV_REG_PENDING_INTERRUPTION 0x00010002u
#define MSHV_REG_INTERRUPT_STATE      0x00010003u
#define MSHV_REG_RAX		      0x00020000u /* RAX..R15 follow in x86 encoding order */
#define MSHV_REG_RCX		      0x00020001u
#define MSHV_REG_RDX		      0x00020002u
#define MSHV_REG_RBX		      0x00020003u
#define MSHV_REG_RSP		      0x00020004u
#define MSHV_REG_RBP		      0x00020005u
#define MSHV_REG_RSI		      0x00020006u
#define MSHV_REG_RDI		      0x00020007u
#define MSHV_REG_R8		      0x00020008u
#define MSHV_REG_R15		      0x0002000Fu
#define MSHV_REG_RIP		      0x00020010u
#define MSHV_REG_RFLAGS		      0x00020011u
#define MSHV_REG_XMM0		      0x00030000u /* XMM0..XMM15 */
#define MSHV_REG_FP_MMX0	      0x00030010u /* FP_MMX0..FP_MMX7 */
#define MSHV_REG_FP_CONTROL_STATUS    0x00030018u
#define MSHV_REG_XMM_CONTROL_STATUS   0x00030019u
#define MSHV_REG_CR0		      0x00040000u
#define MSHV_REG_CR2		      0x00040001u
#define MSHV_REG_CR3		      0x00040002u
#define MSHV_REG_CR4		      0x00040003u
#define MSHV_REG_CR8		      0x00040004u
#define MSHV_REG_XFEM		      0x00040005u
#define MSHV_REG_ES		      0x00060000u
#define MSHV_REG_CS		      0x00060001u
#define MSHV_REG_SS		      0x00060002u
#define MSHV_REG_DS		      0x00060003u
#define MSHV_REG_FS		      0x00060004u
#define MSHV_REG_GS		      0x00060005u
#define MSHV_REG_LDTR		      0x00060006u
#define MSHV_REG_TR		      0x00060007u
#define MSHV_REG_IDTR		      0x00070000u
#define MSHV_REG_GDTR		      0x00070001u
#define MSHV_REG_TSC		      0x00080000u
#define MSHV_REG_EFER		      0x00080001u
#define MSHV_REG_KERNEL_GS_BASE	      0x00080002u
#define MSHV_REG_APIC_BASE	      0x00080003u
#define MSHV_REG_PAT		      0x00080004u
#define MSHV_REG_SYSENTER_CS	      0x00080005u
#define MSHV_REG_SYSENTER_EIP	      0x00080006u
#define MSHV_REG_SYSENTER_ESP	      0x00080007u
#define MSHV_REG_STAR		      0x00080008u
#define MSHV_REG_LSTAR		      0x00080009u
#define MSHV_REG_CSTAR		      0x0008000Au
#define MSHV_REG_SFMASK		      0x0008000Bu
#define MSHV_REG_MTRR_CAP	      0x0008000Du
#define MSHV_REG_MTRR_DEF_TYPE	      0x0008000Eu
#define MSHV_REG_MTRR_PHYS_BASE0      0x00080010u /* BASE0..BASEF */
#define MSHV_REG_MTRR_PHYS_MASK0      0x00080040u /* MASK0..MASKF */
#define MSHV_REG_MTRR_FIX64K_00000    0x00080070u
#define MSHV_REG_MTRR_FIX16K_80000    0x00080071u
#define MSHV_REG_MTRR_FIX16K_A0000    0x00080072u
#define MSHV_REG_MTRR_FIX4K_C0000     0x00080073u /* C0000..F8000: 0x73..0x7A */
#define MSHV_REG_TSC_AUX	      0x0008007Bu
#define MSHV_REG_DEBUG_CTL	      0x0008007Du
#define MSHV_REG_SPEC_CTRL	      0x00080084u
#define MSHV_REG_TSC_ADJUST	      0x00080096u
#define MSHV_REG_MISC_ENABLE	      0x000800A0u

/*
 * A segment register value (struct mshv_reg_value's 16 bytes). attributes:
 * type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13, D/B 14, G 15.
 */
struct mshv_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;
};
_Static_assert(sizeof(struct mshv_segment) == 16, "segment");
_Static_assert(offsetof(struct mshv_segment, selector) == 12, "selector");
_Static_assert(offsetof(struct mshv_segment, attributes) == 14, "attributes");

#define MSHV_SEG_TYPE(a) ((a)&0xfu)
#define MSHV_SEG_S	 (1u << 4)
#define MSHV_SEG_DPL(a)	 (((a) >> 5) & 3u)
#define MSHV_SEG_P	 (1u << 7)
#define MSHV_SEG_AVL	 (1u << 12)
#define MSHV_SEG_L	 (1u << 13)
#define MSHV_SEG_DB	 (1u << 14)
#define MSHV_SEG_G	 (1u << 15)

/* A descriptor-table register value (GDTR, IDTR). */
struct mshv_table_reg {
	uint16_t pad[3];
	uint16_t limit;
	uint64_t base;
};
_Static_assert(sizeof(struct mshv_table_reg) == 16, "table register");
_Static_assert(offsetof(struct mshv_table_reg, limit) == 6, "table limit");

/* MSHV_REG_FP_CONTROL_STATUS. */
struct mshv_fp_control_status {
	uint16_t fcw;
	uint16_t fsw;
	uint8_t ftw; /* abridged tag word */
	uint8_t rsvd;
	uint16_t last_op;
	uint64_t last_rip;
};
_Static_assert(sizeof(struct mshv_fp_control_status) == 16, "fp control");
_Static_assert(offsetof(struct mshv_fp_control_status, last_rip) == 8, "last_rip");

/* MSHV_REG_XMM_CONTROL_STATUS. */
struct mshv_xmm_control_status {
	uint64_t last_rdp;
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
};
_Static_assert(sizeof(struct mshv_xmm_control_status) == 16, "xmm control");
_Static_assert(offsetof(struct mshv_xmm_control_status, mxcsr) == 8, "mxcsr");

/*
 * The VP register page (mmap of a VP fd at MSHV_VP_MMAP_REGISTERS). Valid
 * while `isvalid` is set; a VMM that writes a register class sets its bit in
 * `dirty` and the hypervisor loads it on the next dispatch. The control
 * registers are read-only through the page.
 */
#define MSHV_REGPAGE_CLASS_GENERAL 0
#define MSHV_REGPAGE_CLASS_IP	   1
#define MSHV_REGPAGE_CLASS_XMM	   2
#define MSHV_REGPAGE_CLASS_SEGMENT 3
#define MSHV_REGPAGE_CLASS_FLAGS   4

/* Index of a general-purpose register in mshv_vp_register_page::gp (x86 encoding order). */
enum mshv_gp_index {
	MSHV_GP_RAX = 0,
	MSHV_GP_RCX,
	MSHV_GP_RDX,
	MSHV_GP_RBX,
	MSHV_GP_RSP,
	MSHV_GP_RBP,
	MSHV_GP_RSI,
	MSHV_GP_RDI,
	MSHV_GP_R8,
	MSHV_GP_R9,
	MSHV_GP_R10,
	MSHV_GP_R11,
	MSHV_GP_R12,
	MSHV_GP_R13,
	MSHV_GP_R14,
	MSHV_GP_R15,
	MSHV_GP_COUNT,
};

/* Index of a segment in mshv_vp_register_page::seg. */
enum mshv_seg_index {
	MSHV_SEGI_ES = 0,
	MSHV_SEGI_CS,
	MSHV_SEGI_SS,
	MSHV_SEGI_DS,
	MSHV_SEGI_FS,
	MSHV_SEGI_GS,
	MSHV_SEGI_COUNT,
};

struct mshv_vp_register_page {
	uint16_t version;
	uint8_t isvalid;
	uint8_t rsvdz;
	uint32_t dirty; /* 1 << MSHV_REGPAGE_CLASS_* */
	uint64_t gp[MSHV_GP_COUNT];
	uint64_t rip;
	uint64_t rflags;
	uint8_t rsvd[8];
	struct mshv_reg_value xmm[6];
	struct mshv_segment seg[MSHV_SEGI_COUNT];
	uint64_t cr0;
	uint64_t cr3;
	uint64_t cr4;
	uint64_t cr8;
	uint64_t efer;
	uint64_t dr7;
	uint64_t pending_interruption;
	uint64_t interrupt_state;
	uint64_t instruction_emulation_hints;
	uint64_t xfem;
	uint8_t rsvd1[0x100];
	uint64_t interrupt_vectors;
};
_Static_assert(offsetof(struct mshv_vp_register_page, isvalid) == 2, "isvalid");
_Static_assert(offsetof(struct mshv_vp_register_page, dirty) == 4, "dirty");
_Static_assert(offsetof(struct mshv_vp_register_page, gp) == 8, "gp");
_Static_assert(offsetof(struct mshv_vp_register_page, rip) == 136, "rip");
_Static_assert(offsetof(struct mshv_vp_register_page, rflags) == 144, "rflags");
_Static_assert(offsetof(struct mshv_vp_register_page, xmm) == 160, "xmm");
_Static_assert(offsetof(struct mshv_vp_register_page, seg) == 256, "segments");
_Static_assert(offsetof(struct mshv_vp_register_page, cr0) == 352, "cr0");
_Static_assert(offsetof(struct mshv_vp_register_page, efer) == 384, "efer");
_Static_assert(offsetof(struct mshv_vp_register_page, xfem) == 424, "xfem");
_Static_assert(offsetof(struct mshv_vp_register_page, interrupt_vectors) == 688, "vectors");
_Static_assert(sizeof(struct mshv_vp_register_page) == 696, "register page");

/* Local APIC state (MSHV_VP_STATE_LAPIC), in the hypervisor's own layout. */
struct mshv_lapic_state {
	uint32_t apic_id;
	uint32_t apic_version;
	uint32_t apic_ldr;
	uint32_t apic_dfr;
	uint32_t apic_spurious;
	uint32_t apic_isr[8];
	uint32_t apic_tmr[8];
	uint32_t apic_irr[8];
	uint32_t apic_esr;
	uint32_t apic_icr_high;
	uint32_t apic_icr_low;
	uint32_t apic_lvt_timer;
	uint32_t apic_lvt_thermal;
	uint32_t apic_lvt_perfmon;
	uint32_t apic_lvt_lint0;
	uint32_t apic_lvt_lint1;
	uint32_t apic_lvt_error;
	uint32_t apic_lvt_cmci;
	uint32_t apic_error_status;
	uint32_t apic_initial_count;
	uint32_t apic_counter_value;
	uint32_t apic_divide_configuration;
	uint32_t apic_remote_read;
};
_Static_assert(sizeof(struct mshv_lapic_state) == 176, "lapic state");
_Static_assert(offsetof(struct mshv_lapic_state, apic_isr) == 20, "isr");
_Static_assert(offsetof(struct mshv_lapic_state, apic_esr) == 116, "esr");
_Static_assert(offsetof(struct mshv_lapic_state, apic_lvt_cmci) == 152, "cmci");
_Static_assert(offsetof(struct mshv_lapic_state, apic_remote_read) == 172, "remote read");

/* ===================== intercept messages ===================== */

#define MSHV_MSG_NONE			      0x00000000u
#define MSHV_MSG_UNMAPPED_GPA		      0x80000000u
#define MSHV_MSG_GPA_INTERCEPT		      0x80000001u
#define MSHV_MSG_UNACCEPTED_GPA		      0x80000003u
#define MSHV_MSG_INVALID_VP_REGISTER_VALUE    0x80000020u
#define MSHV_MSG_UNRECOVERABLE_EXCEPTION      0x80000021u
#define MSHV_MSG_UNSUPPORTED_FEATURE	      0x80000022u
#define MSHV_MSG_HYPERCALL_INTERCEPT	      0x80000050u
#define MSHV_MSG_X64_IO_PORT_INTERCEPT	      0x80010000u
#define MSHV_MSG_X64_MSR_INTERCEPT	      0x80010001u
#define MSHV_MSG_X64_CPUID_INTERCEPT	      0x80010002u
#define MSHV_MSG_X64_EXCEPTION_INTERCEPT      0x80010003u
#define MSHV_MSG_X64_APIC_EOI		      0x80010004u
#define MSHV_MSG_X64_LEGACY_FP_ERROR	      0x80010005u
#define MSHV_MSG_X64_HALT		      0x80010007u
#define MSHV_MSG_X64_INTERRUPTION_DELIVERABLE 0x80010008u

#define MSHV_MSG_PAYLOAD_BYTES		      240

/* Every message: a 16-byte header and 240 bytes of payload. */
struct mshv_message {
	uint32_t type; /* MSHV_MSG_* */
	uint8_t payload_size;
	uint8_t flags;
	uint8_t rsvd[2];
	uint64_t sender;
	uint8_t payload[MSHV_MSG_PAYLOAD_BYTES];
};
_Static_assert(sizeof(struct mshv_message) == MSHV_RUN_VP_BUF_SZ, "message");
_Static_assert(offsetof(struct mshv_message, payload) == 16, "payload");

/* Intercept access types (mshv_intercept_header::access_type). */
#define MSHV_ACCESS_READ    0u
#define MSHV_ACCESS_WRITE   1u
#define MSHV_ACCESS_EXECUTE 2u

/* mshv_intercept_header::exec_state bits. */
#define MSHV_EXEC_CPL(s)	       ((s)&3u)
#define MSHV_EXEC_CR0_PE	       (1u << 2)
#define MSHV_EXEC_EFER_LMA	       (1u << 4)
#define MSHV_EXEC_INTERRUPTION_PENDING (1u << 6)

/* Start of every x64 intercept message payload. */
struct mshv_intercept_header {
	uint32_t vp_index;
	uint8_t insn_len_cr8; /* instruction length in bits 0-3, CR8 in bits 4-7 */
	uint8_t access_type;  /* MSHV_ACCESS_* */
	uint16_t exec_state;  /* MSHV_EXEC_* */
	struct mshv_segment cs;
	uint64_t rip;
	uint64_t rflags;
};
_Static_assert(sizeof(struct mshv_intercept_header) == 40, "intercept header");
_Static_assert(offsetof(struct mshv_intercept_header, insn_len_cr8) == 4, "insn len");
_Static_assert(offsetof(struct mshv_intercept_header, exec_state) == 6, "exec state");
_Static_assert(offsetof(struct mshv_intercept_header, cs) == 8, "cs");
_Static_assert(offsetof(struct mshv_intercept_header, rip) == 24, "rip");
_Static_assert(offsetof(struct mshv_intercept_header, rflags) == 32, "rflags");

#define MSHV_HDR_INSN_LEN(h) ((h)->insn_len_cr8 & 0xfu)

/* mshv_msg_io_port::access_info bits. */
#define MSHV_IO_SIZE(a) ((a)&7u)
#define MSHV_IO_STRING	(1u << 3)
#define MSHV_IO_REP	(1u << 4)

/* MSHV_MSG_X64_IO_PORT_INTERCEPT payload. */
struct mshv_msg_io_port {
	struct mshv_intercept_header hdr;
	uint16_t port;
	uint8_t access_info; /* MSHV_IO_* */
	uint8_t insn_byte_count;
	uint32_t rsvd;
	uint64_t rax;
	uint8_t insn_bytes[16];
	struct mshv_segment ds;
	struct mshv_segment es;
	uint64_t rcx;
	uint64_t rsi;
	uint64_t rdi;
};
_Static_assert(sizeof(struct mshv_msg_io_port) == 128, "io port message");
_Static_assert(offsetof(struct mshv_msg_io_port, port) == 40, "port");
_Static_assert(offsetof(struct mshv_msg_io_port, access_info) == 42, "access info");
_Static_assert(offsetof(struct mshv_msg_io_port, rax) == 48, "io rax");
_Static_assert(offsetof(struct mshv_msg_io_port, insn_bytes) == 56, "io insn bytes");
_Static_assert(offsetof(struct mshv_msg_io_port, ds) == 72, "io ds");
_Static_assert(offsetof(struct mshv_msg_io_port, es) == 88, "io es");
_Static_assert(offsetof(struct mshv_msg_io_port, rcx) == 104, "io rcx");
_Static_assert(offsetof(struct mshv_msg_io_port, rdi) == 120, "io rdi");

/* mshv_msg_memory::access_info bits. */
#define MSHV_MEM_GVA_VALID     (1u << 0)
#define MSHV_MEM_GVA_GPA_VALID (1u << 1)

/* MSHV_MSG_UNMAPPED_GPA and MSHV_MSG_GPA_INTERCEPT payload. */
struct mshv_msg_memory {
	struct mshv_intercept_header hdr;
	uint32_t cache_type;
	uint8_t insn_byte_count;
	uint8_t access_info; /* MSHV_MEM_* */
	uint8_t tpr_priority;
	uint8_t rsvd;
	uint64_t gva;
	uint64_t gpa;
	uint8_t insn_bytes[16];
};
_Static_assert(sizeof(struct mshv_msg_memory) == 80, "memory message");
_Static_assert(offsetof(struct mshv_msg_memory, insn_byte_count) == 44, "mem insn count");
_Static_assert(offsetof(struct mshv_msg_memory, access_info) == 45, "mem access info");
_Static_assert(offsetof(struct mshv_msg_memory, gva) == 48, "gva");
_Static_assert(offsetof(struct mshv_msg_memory, gpa) == 56, "gpa");
_Static_assert(offsetof(struct mshv_msg_memory, insn_bytes) == 64, "mem insn bytes");

/* MSHV_MSG_X64_CPUID_INTERCEPT payload: the input and the hypervisor's own answer. */
struct mshv_msg_cpuid {
	struct mshv_intercept_header hdr;
	uint64_t rax;
	uint64_t rcx;
	uint64_t rdx;
	uint64_t rbx;
	uint64_t default_rax;
	uint64_t default_rcx;
	uint64_t default_rdx;
	uint64_t default_rbx;
};
_Static_assert(sizeof(struct mshv_msg_cpuid) == 104, "cpuid message");
_Static_assert(offsetof(struct mshv_msg_cpuid, rax) == 40, "cpuid rax");
_Static_assert(offsetof(struct mshv_msg_cpuid, default_rax) == 72, "cpuid default");

/* MSHV_MSG_X64_MSR_INTERCEPT payload (access type READ for RDMSR, WRITE for WRMSR). */
struct mshv_msg_msr {
	struct mshv_intercept_header hdr;
	uint32_t msr;
	uint32_t rsvd;
	uint64_t rdx;
	uint64_t rax;
};
_Static_assert(sizeof(struct mshv_msg_msr) == 64, "msr message");
_Static_assert(offsetof(struct mshv_msg_msr, msr) == 40, "msr number");
_Static_assert(offsetof(struct mshv_msg_msr, rdx) == 48, "msr rdx");
_Static_assert(offsetof(struct mshv_msg_msr, rax) == 56, "msr rax");

/* MSHV_MSG_X64_HALT and MSHV_MSG_UNRECOVERABLE_EXCEPTION payload: the header alone. */
struct mshv_msg_halt {
	struct mshv_intercept_header hdr;
};
_Static_assert(sizeof(struct mshv_msg_halt) == 40, "halt message");

/* MSHV_MSG_X64_APIC_EOI payload. */
struct mshv_msg_apic_eoi {
	uint32_t vp_index;
	uint32_t vector;
};
_Static_assert(sizeof(struct mshv_msg_apic_eoi) == 8, "eoi message");

/* MSHV_MSG_HYPERCALL_INTERCEPT payload. */
struct mshv_msg_hypercall {
	struct mshv_intercept_header hdr;
	uint64_t rax;
	uint64_t rbx;
	uint64_t rcx;
	uint64_t rdx;
	uint64_t r8;
	uint64_t rsi;
	uint64_t rdi;
	struct mshv_reg_value xmm[6];
	uint32_t flags;
};
/* 196 bytes in the hypervisor's layout; C adds 4 bytes of tail padding. */
_Static_assert(sizeof(struct mshv_msg_hypercall) == 200, "hypercall message");
_Static_assert(offsetof(struct mshv_msg_hypercall, rdi) == 88, "hypercall rdi");
_Static_assert(offsetof(struct mshv_msg_hypercall, flags) == 192, "hypercall flags");

/* MSHV_MSG_UNSUPPORTED_FEATURE payload. */
struct mshv_msg_unsupported_feature {
	uint32_t vp_index;
	uint32_t feature_code;
	uint64_t feature_parameter;
};
_Static_assert(sizeof(struct mshv_msg_unsupported_feature) == 16, "unsupported feature");

_Static_assert(sizeof(struct mshv_msg_hypercall) <= MSHV_MSG_PAYLOAD_BYTES, "payload fits");

#endif
