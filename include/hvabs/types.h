/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file types.h
 * @brief Data types shared by the public API and the backend plugin ABI.
 *
 * Every struct here that crosses the plugin boundary starts with a
 * struct hvabs_hdr (`abi_version`, `struct_size`) and only ever grows at the
 * end. The core fills the header before it hands a struct to a backend, so
 * users of the public API never need to touch it.
 *
 * @defgroup types Shared types
 * @brief Exits, x86 register state, capabilities, log levels, memory flags,
 *        interrupt routes.
 * @{
 */
#ifndef HVABS_TYPES_H
#define HVABS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the plugin ABI; it is also part of the entry symbol name. */
#define HVABS_ABI_MAJOR 1
/** Minor version of the plugin ABI; grows when tables or structs grow at the end. */
#define HVABS_ABI_MINOR 0
/** Packs a major and a minor ABI version into one `abi_version` value. */
#define HVABS_ABI_VERSION(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
/** Extracts the major version from a packed `abi_version`. */
#define HVABS_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
/** Extracts the minor version from a packed `abi_version`. */
#define HVABS_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)
/** The `abi_version` this build of the headers speaks. */
#define HVABS_ABI_CURRENT HVABS_ABI_VERSION(HVABS_ABI_MAJOR, HVABS_ABI_MINOR)

/** Header at the start of every struct and table that crosses the plugin boundary. */
struct hvabs_hdr {
	uint32_t abi_version; /**< HVABS_ABI_VERSION() of the side that built the struct. */
	uint32_t struct_size; /**< Size in bytes of the struct as that side knows it. */
};

/** Initialises a header for struct type @p type at the current ABI version. */
#define HVABS_HDR_INIT(type) ((struct hvabs_hdr){HVABS_ABI_CURRENT, (uint32_t)sizeof(type)})

/** True when the member @p member of @p ptr lies wholly inside its header's `struct_size`. */
#define HVABS_HAS_FIELD(ptr, member)                                                               \
	((ptr)->hdr.struct_size >=                                                                 \
	 offsetof(__typeof__(*(ptr)), member) + sizeof(((__typeof__(*(ptr)) *)0)->member))

/** Address spaces a device or an access can live in. */
enum hvabs_space {
	HVABS_SPACE_PIO = 0,  /**< x86 port I/O (16-bit port numbers). */
	HVABS_SPACE_MMIO = 1, /**< Guest-physical memory-mapped I/O. */
};

/** Kinds of vCPU exit. The numbering is part of the ABI. */
enum hvabs_exit_kind {
	HVABS_EXIT_NONE = 0,	     /**< No exit (never returned by a successful run). */
	HVABS_EXIT_IO = 1,	     /**< Port I/O; see hvabs_exit::u::io. */
	HVABS_EXIT_MMIO = 2,	     /**< Memory-mapped I/O; see hvabs_exit::u::mmio. */
	HVABS_EXIT_HLT = 3,	     /**< The vCPU executed HLT with no interrupt pending. */
	HVABS_EXIT_SHUTDOWN = 4,     /**< The vCPU shut down (triple fault). */
	HVABS_EXIT_RESET = 5,	     /**< The guest asked for a platform reset. */
	HVABS_EXIT_SYSTEM_EVENT = 6, /**< Other platform event; see hvabs_exit::u::system_event. */
	HVABS_EXIT_HYPERCALL = 7,  /**< A hypercall to user space; see hvabs_exit::u::hypercall. */
	HVABS_EXIT_IOAPIC_EOI = 8, /**< An EOI for a level interrupt; see hvabs_exit::u::eoi. */
	HVABS_EXIT_CANCELED = 9,   /**< The run was interrupted by hvabs_vcpu_kick(). */
	HVABS_EXIT_INTERNAL_ERROR = 10, /**< The hypervisor failed; see hvabs_exit::u::internal. */
	HVABS_EXIT_UNKNOWN = 11,    /**< An exit the backend cannot map; hvabs_exit::raw_reason. */
	HVABS_EXIT_KIND_COUNT = 12, /**< Number of exit kinds (not an exit). */
};

/** Platform event types carried by #HVABS_EXIT_SYSTEM_EVENT. */
enum hvabs_system_event {
	HVABS_SYSTEM_EVENT_POWEROFF =
	    1, /**< The guest powered off (ACPI S5, or the hypervisor saw it). */
	HVABS_SYSTEM_EVENT_CRASH = 2, /**< The guest reported a crash (panic notifier, pvpanic). */
	HVABS_SYSTEM_EVENT_OTHER = 3, /**< Anything else; the raw type is in `data[0]`. */
};

/**
 * A port-I/O or MMIO access.
 *
 * `data` holds `size * count` bytes, little-endian, one element after the
 * other in the order the guest performed them. It is owned by the backend and
 * stays valid until the next hvabs_vcpu_run() on the same vCPU. For a read the
 * caller fills it; the backend completes the read on the next run.
 *
 * Element `i` of a port access is at port `addr`. Element `i` of an MMIO
 * access is at `addr + i * size`, or `addr - i * size` when `df` is set (a
 * string instruction with the direction flag set, as Xen reports it).
 */
struct hvabs_exit_access {
	uint64_t addr;	  /**< Port number (PIO) or guest-physical address (MMIO). */
	uint32_t size;	  /**< Bytes per element: 1, 2, 4 or 8. */
	uint32_t count;	  /**< Number of elements (more than 1 for REP string I/O). */
	uint8_t is_write; /**< 1 for a guest write (OUT, store), 0 for a read. */
	uint8_t df;	  /**< MMIO with `count` > 1: 1 when addresses descend. */
	uint8_t pad[6];	  /**< Reserved, zero. */
	uint8_t *data;	  /**< `size * count` bytes of data; see above. */
};

/** Payload of #HVABS_EXIT_SYSTEM_EVENT. */
struct hvabs_exit_system_event {
	uint32_t type;	  /**< An enum hvabs_system_event value. */
	uint32_t ndata;	  /**< How many entries of `data` are valid. */
	uint64_t data[4]; /**< Backend-specific detail. */
};

/** Payload of #HVABS_EXIT_HYPERCALL. */
struct hvabs_exit_hypercall {
	uint64_t nr;	  /**< Hypercall number. */
	uint64_t args[6]; /**< Arguments. */
	uint64_t ret;	  /**< Result; the caller sets it before the next run. */
};

/** Payload of #HVABS_EXIT_IOAPIC_EOI. */
struct hvabs_exit_eoi {
	uint32_t vector; /**< The vector the guest acknowledged. */
	uint32_t pad;	 /**< Reserved, zero. */
};

/** Payload of #HVABS_EXIT_INTERNAL_ERROR. */
struct hvabs_exit_internal {
	uint32_t suberror; /**< Backend-specific sub-error code. */
	uint32_t ndata;	   /**< How many entries of `data` are valid. */
	uint64_t data[8];  /**< Backend-specific detail. */
};

/** One vCPU exit: a tagged union. The caller owns it; the backend fills it. */
struct hvabs_exit {
	struct hvabs_hdr hdr; /**< ABI header. */
	uint32_t kind;	/**< An enum hvabs_exit_kind value: says which member of `u` is valid. */
	uint32_t flags; /**< Reserved, zero. */
	uint64_t raw_reason; /**< The hypervisor's own exit code, kept for diagnostics. */
	/** Kind-specific payload. */
	union {
		struct hvabs_exit_access io;		     /**< For #HVABS_EXIT_IO. */
		struct hvabs_exit_access mmio;		     /**< For #HVABS_EXIT_MMIO. */
		struct hvabs_exit_system_event system_event; /**< For #HVABS_EXIT_SYSTEM_EVENT. */
		struct hvabs_exit_hypercall hypercall;	     /**< For #HVABS_EXIT_HYPERCALL. */
		struct hvabs_exit_eoi eoi;		     /**< For #HVABS_EXIT_IOAPIC_EOI. */
		struct hvabs_exit_internal internal;	     /**< For #HVABS_EXIT_INTERNAL_ERROR. */
		uint64_t raw[10];			     /**< Sizes the union; do not use. */
	} u;
};

/** x86-64 general-purpose registers. */
struct hvabs_regs {
	struct hvabs_hdr hdr; /**< ABI header (filled by the core). */
	uint64_t rax;	      /**< RAX. */
	uint64_t rbx;	      /**< RBX. */
	uint64_t rcx;	      /**< RCX. */
	uint64_t rdx;	      /**< RDX. */
	uint64_t rsi;	      /**< RSI. */
	uint64_t rdi;	      /**< RDI. */
	uint64_t rsp;	      /**< RSP. */
	uint64_t rbp;	      /**< RBP. */
	uint64_t r8;	      /**< R8. */
	uint64_t r9;	      /**< R9. */
	uint64_t r10;	      /**< R10. */
	uint64_t r11;	      /**< R11. */
	uint64_t r12;	      /**< R12. */
	uint64_t r13;	      /**< R13. */
	uint64_t r14;	      /**< R14. */
	uint64_t r15;	      /**< R15. */
	uint64_t rip;	      /**< Instruction pointer. */
	uint64_t rflags;      /**< RFLAGS (bit 1 must be set). */
};

/** An x86 segment register with its hidden descriptor cache. */
struct hvabs_segment {
	uint64_t base;	   /**< Linear base address. */
	uint32_t limit;	   /**< Limit in bytes (already scaled by granularity). */
	uint16_t selector; /**< Visible selector. */
	uint8_t type;	   /**< Descriptor type (4 bits). */
	uint8_t present;   /**< P bit. */
	uint8_t dpl;	   /**< Descriptor privilege level. */
	uint8_t db;	   /**< D/B bit (default operand size). */
	uint8_t s;	   /**< S bit: 1 for code/data, 0 for system. */
	uint8_t l;	   /**< L bit: 64-bit code segment. */
	uint8_t g;	   /**< G bit: granularity. */
	uint8_t avl;	   /**< AVL bit. */
	uint8_t unusable;  /**< 1 when the segment is unusable (null). */
	uint8_t pad;	   /**< Reserved, zero. */
};

/** A descriptor-table register (GDTR or IDTR). */
struct hvabs_dtable {
	uint64_t base;	 /**< Linear base address. */
	uint16_t limit;	 /**< Limit in bytes. */
	uint16_t pad[3]; /**< Reserved, zero. */
};

/** x86 segment, control and descriptor-table registers. */
struct hvabs_sregs {
	struct hvabs_hdr hdr;	  /**< ABI header (filled by the core). */
	struct hvabs_segment cs;  /**< CS. */
	struct hvabs_segment ds;  /**< DS. */
	struct hvabs_segment es;  /**< ES. */
	struct hvabs_segment fs;  /**< FS. */
	struct hvabs_segment gs;  /**< GS. */
	struct hvabs_segment ss;  /**< SS. */
	struct hvabs_segment tr;  /**< Task register. */
	struct hvabs_segment ldt; /**< LDTR. */
	struct hvabs_dtable gdt;  /**< GDTR. */
	struct hvabs_dtable idt;  /**< IDTR. */
	uint64_t cr0;		  /**< CR0. */
	uint64_t cr2;		  /**< CR2. */
	uint64_t cr3;		  /**< CR3. */
	uint64_t cr4;		  /**< CR4. */
	uint64_t cr8;		  /**< CR8 (task priority). */
	uint64_t efer;		  /**< IA32_EFER. */
	uint64_t apic_base;	  /**< IA32_APIC_BASE. */
};

/** x87/SSE state in FXSAVE terms. */
struct hvabs_fpu {
	struct hvabs_hdr hdr; /**< ABI header (filled by the core). */
	uint8_t fpr[8][16];   /**< x87 registers ST0-ST7 (80 bits used of each 16). */
	uint16_t fcw;	      /**< x87 control word. */
	uint16_t fsw;	      /**< x87 status word. */
	uint8_t ftwx;	      /**< Abridged tag word. */
	uint8_t pad1;	      /**< Reserved, zero. */
	uint16_t last_opcode; /**< Last x87 opcode. */
	uint64_t last_ip;     /**< Last x87 instruction pointer. */
	uint64_t last_dp;     /**< Last x87 data pointer. */
	uint8_t xmm[16][16];  /**< XMM0-XMM15. */
	uint32_t mxcsr;	      /**< MXCSR. */
	uint32_t pad2;	      /**< Reserved, zero. */
};

/** One model-specific register. */
struct hvabs_msr_entry {
	uint32_t index;	   /**< MSR number. */
	uint32_t reserved; /**< Reserved, zero. */
	uint64_t data;	   /**< Value. */
};

/** One CPUID leaf as the guest will see it. */
struct hvabs_cpuid_entry {
	uint32_t function; /**< Leaf (EAX input). */
	uint32_t index;	   /**< Sub-leaf (ECX input). */
	uint32_t flags;	   /**< #HVABS_CPUID_F_INDEXED when `index` is significant. */
	uint32_t eax;	   /**< EAX output. */
	uint32_t ebx;	   /**< EBX output. */
	uint32_t ecx;	   /**< ECX output. */
	uint32_t edx;	   /**< EDX output. */
	uint32_t pad;	   /**< Reserved, zero. */
};

/** hvabs_cpuid_entry::flags: the sub-leaf in `index` is significant. */
#define HVABS_CPUID_F_INDEXED 1u

/** The local APIC register page. */
struct hvabs_lapic {
	struct hvabs_hdr hdr; /**< ABI header (filled by the core). */
	uint8_t regs[1024];   /**< The first 1 KiB of the APIC register page. */
};

/** @name Capability feature bits (hvabs_caps::features)
 * @{ */
#define HVABS_CAP_IRQFD		      (1ull << 0)  /**< Kernel-side irqfd. */
#define HVABS_CAP_IOEVENTFD_PIO	      (1ull << 1)  /**< Kernel-side ioeventfd on ports. */
#define HVABS_CAP_IOEVENTFD_MMIO      (1ull << 2)  /**< Kernel-side ioeventfd on MMIO. */
#define HVABS_CAP_IOEVENTFD_DATAMATCH (1ull << 3)  /**< ioeventfd can match on the value. */
#define HVABS_CAP_MSI		      (1ull << 4)  /**< Message-signalled interrupts. */
#define HVABS_CAP_DIRTY_LOG	      (1ull << 5)  /**< Dirty-page log of guest writes. */
#define HVABS_CAP_READONLY_MEM	      (1ull << 6)  /**< Read-only memory (writes exit as MMIO). */
#define HVABS_CAP_MEM_MAP	      (1ull << 7)  /**< Caller-allocated memory can be mapped in. */
#define HVABS_CAP_IO_CLAIM	      (1ull << 8)  /**< I/O ranges must be claimed to exit. */
#define HVABS_CAP_INSN_EMULATION      (1ull << 9)  /**< Backend needs the core's x86 emulator. */
#define HVABS_CAP_VM_STATE	      (1ull << 10) /**< VM state blob save and restore. */
#define HVABS_CAP_PAUSE		      (1ull << 11) /**< VM pause and resume. */
#define HVABS_CAP_FPU		      (1ull << 12) /**< FPU state get/set. */
#define HVABS_CAP_MSRS		      (1ull << 13) /**< MSR get/set. */
#define HVABS_CAP_CPUID		      (1ull << 14) /**< CPUID can be set. */
#define HVABS_CAP_LAPIC		      (1ull << 15) /**< Local APIC state get/set. */
#define HVABS_CAP_VCPU_STATE	      (1ull << 16) /**< Portable vCPU state save and restore. */
#define HVABS_CAP_CLOCK		      (1ull << 17) /**< The VM has its own wall clock. */
#define HVABS_CAP_HYPERCALL	      (1ull << 18) /**< Hypercalls can exit to user space. */
/** @} */

/** @name In-hypervisor interrupt controllers (hvabs_caps::irqchip)
 * @{ */
#define HVABS_IRQCHIP_LAPIC  (1u << 0) /**< Local APICs. */
#define HVABS_IRQCHIP_IOAPIC (1u << 1) /**< An I/O APIC. */
#define HVABS_IRQCHIP_PIC    (1u << 2) /**< A pair of 8259 PICs. */
#define HVABS_IRQCHIP_PIT    (1u << 3) /**< An 8254 PIT. */
/** @} */

/** What a backend (and the hypervisor under it) can do for one VM. */
struct hvabs_caps {
	struct hvabs_hdr hdr;	/**< ABI header. */
	uint32_t max_vcpus;	/**< Most vCPUs one VM can have. */
	uint32_t irqchip;	/**< HVABS_IRQCHIP_* the hypervisor emulates itself. */
	uint64_t features;	/**< HVABS_CAP_* bits. */
	uint32_t state_version; /**< Version of the VM state blob (0 when unsupported). */
	uint32_t nr_irqs;	/**< Number of interrupt lines (GSIs) the irqchip has. */
	uint32_t
	    apic_id_stride; /**< vCPU i has local APIC ID i * stride (0 means 1; Xen HVM: 2). */
	uint32_t pad;	    /**< Reserved, zero. */
};

/** @name Logging
 * @{ */
/** Log levels, shared by the library, its log handler and the backends. */
enum hvabs_log_level {
	HVABS_LOG_ERROR = 0, /**< Something failed; the operation was refused. */
	HVABS_LOG_WARN = 1,  /**< Something is wrong but the VM goes on. */
	HVABS_LOG_INFO = 2,  /**< Notable but normal events. */
	HVABS_LOG_DEBUG = 3, /**< Detail for developers. */
};

/**
 * A rate limit for log lines a guest can provoke: at most `burst` lines per
 * `interval_ms` window. Zero it (or use #HVABS_RATELIMIT_INIT) and keep one
 * per message source; hvabs_ratelimit_allow() decides. The counters are
 * plain integers so that C and C++ callers can embed the struct; the library
 * only ever touches them with atomic operations, so it is lock-free and
 * thread-safe. Callers must not read or write the counters themselves.
 */
struct hvabs_ratelimit {
	uint64_t window_start_ns; /**< Start of the current window (monotonic ns; atomic). */
	uint32_t used;		  /**< Lines emitted in the current window (atomic). */
	uint32_t suppressed;	  /**< Lines dropped since the last emitted one (atomic). */
	uint32_t burst;		  /**< Lines allowed per window (0 = 10). */
	uint32_t interval_ms;	  /**< Window length in ms (0 = 5000). */
};

/** Initialiser for a struct hvabs_ratelimit with the defaults (10 lines per 5 s). */
#define HVABS_RATELIMIT_INIT                                                                       \
	{                                                                                          \
		0, 0, 0, 0, 0                                                                      \
	}

/** @} */

/** @name Guest memory flags
 * @{ */
/** Guest memory flag (hvabs_vm_add_ram(), hvabs_vm_map_ram()): the guest may not write. */
#define HVABS_MEM_READONLY (1u << 0)
/** Guest memory flag: log guest writes (dirty log). */
#define HVABS_MEM_DIRTY_LOG (1u << 1)
/** @} */

/** @name Interrupt routes and ioeventfds
 * @{ */
/** hvabs_irq_route::kind values. */
enum hvabs_irq_route_kind {
	HVABS_IRQ_ROUTE_GSI = 0, /**< An interrupt line of the irqchip. */
	HVABS_IRQ_ROUTE_MSI = 1, /**< A message-signalled interrupt. */
};

/** Where an irqfd delivers its interrupt (hvabs_irqfd_create(), and the backend op). */
struct hvabs_irq_route {
	uint32_t kind;	   /**< An enum hvabs_irq_route_kind value. */
	uint32_t gsi;	   /**< Line, for #HVABS_IRQ_ROUTE_GSI. */
	uint64_t msi_addr; /**< Address, for #HVABS_IRQ_ROUTE_MSI. */
	uint32_t msi_data; /**< Data, for #HVABS_IRQ_ROUTE_MSI. */
	uint32_t pad;	   /**< Reserved, zero. */
};

/** hvabs_ioeventfd_spec::flags: only signal when the written value equals `datamatch`. */
#define HVABS_IOEVENTFD_F_DATAMATCH (1u << 0)

/** What an ioeventfd matches (hvabs_ioeventfd_create(), and the backend op). */
struct hvabs_ioeventfd_spec {
	uint32_t space;	    /**< An enum hvabs_space value. */
	uint32_t len;	    /**< Access size to match: 1, 2, 4 or 8 (0 = any, MMIO only). */
	uint64_t addr;	    /**< Port or guest-physical address. */
	uint64_t datamatch; /**< Value to match with #HVABS_IOEVENTFD_F_DATAMATCH. */
	uint32_t flags;	    /**< HVABS_IOEVENTFD_F_* bits. */
	uint32_t pad;	    /**< Reserved, zero. */
};
/** @} */

#ifdef __cplusplus
}
#endif

/** @} */
#endif
