/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file plugin/backend.h
 * @brief The backend plugin ABI, version 1.
 *
 * A backend is a shared object `hvabs-<name>.so` that exports exactly one
 * symbol, hvabs_backend_entry_v1(). The core loads it with
 * `dlopen(RTLD_NOW | RTLD_LOCAL)` and never unloads it. A backend includes
 * only the headers under hvabs/plugin/ (and the shared data types they pull
 * in: types.h, and extension headers such as xen.h or irq_sink.h); it never
 * links against libhvabs. Applications never include this directory.
 * Everything the core offers a backend reaches it through the
 * struct hvabs_host table.
 *
 * Rules of the ABI:
 * - Every table and struct that crosses the boundary starts with a
 *   struct hvabs_hdr and only grows at the end. The major version is in the
 *   entry symbol's name; a new minor only appends.
 * - The core checks that an op lies inside the table's `struct_size` and is
 *   non-NULL before calling it. A missing optional op means "not supported"
 *   and the core reports `-ENOTSUP`.
 * - Ops return 0 or a negative errno. Results go through out-parameters and
 *   are written only on success. No `FILE *`, `errno` or allocator ownership
 *   crosses the boundary.
 * - hvabs_backend_ops::vcpu_kick is the only op that may be called from a
 *   thread other than the vCPU's own while that vCPU runs.
 *
 * @defgroup backend Backend plugin ABI
 * @brief What a hypervisor backend implements and what the core gives it.
 * @{
 */
#ifndef HVABS_PLUGIN_BACKEND_H
#define HVABS_PLUGIN_BACKEND_H

#include <stdint.h>

#include "../types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Backend-private VM state; each backend defines it in its own `*_priv.h`. */
struct hvabs_be_vm;
/** Backend-private vCPU state; each backend defines it in its own `*_priv.h`. */
struct hvabs_be_vcpu;

/**
 * Callbacks a backend that emulates instructions uses to reach the core's
 * buses and guest memory from inside hvabs_backend_ops::vcpu_run. Each
 * returns 0 or a negative errno. Data is little-endian.
 */
struct hvabs_host_io {
	struct hvabs_hdr hdr; /**< ABI header. */
	void *opaque;	      /**< First argument of every callback. */
	/** Reads @p size bytes from port @p port into @p data. */
	int (*pio_read)(void *opaque, uint16_t port, void *data, uint32_t size);
	/** Writes @p size bytes from @p data to port @p port. */
	int (*pio_write)(void *opaque, uint16_t port, const void *data, uint32_t size);
	/** Reads @p size bytes of MMIO at @p gpa into @p data. */
	int (*mmio_read)(void *opaque, uint64_t gpa, void *data, uint32_t size);
	/** Writes @p size bytes from @p data to MMIO at @p gpa. */
	int (*mmio_write)(void *opaque, uint64_t gpa, const void *data, uint32_t size);
	/** Reads @p len bytes of guest RAM at @p gpa into @p buf. */
	int (*gpa_read)(void *opaque, uint64_t gpa, void *buf, uint64_t len);
	/** Writes @p len bytes from @p buf to guest RAM at @p gpa. */
	int (*gpa_write)(void *opaque, uint64_t gpa, const void *buf, uint64_t len);
};

/** What the core offers every backend; handed to hvabs_backend_entry_v1(). */
struct hvabs_host {
	struct hvabs_hdr hdr;	  /**< ABI header. */
	const char *core_version; /**< Version string of the loading libhvabs. */
	void *log_opaque;	  /**< First argument of `log`. */
	/**
	 * Logs one line. @p component names the source (the backend's name),
	 * @p msg is the text without a trailing newline. Thread-safe.
	 */
	void (*log)(void *log_opaque, enum hvabs_log_level level, const char *component,
		    const char *msg);
};

/** hvabs_be_vm_config::flags: create the hypervisor's own interrupt controllers. */
#define HVABS_VM_F_IRQCHIP (1u << 0)

/** Parameters of a new VM as the core passes them to a backend. */
struct hvabs_be_vm_config {
	struct hvabs_hdr hdr;		/**< ABI header. */
	uint32_t max_vcpus;		/**< Most vCPUs the VM will have. */
	uint32_t flags;			/**< HVABS_VM_F_* bits. */
	const char *options;		/**< Backend options, `key=value,...`, or NULL. */
	const struct hvabs_host_io *io; /**< Callbacks into the core's buses and memory. */
};

/**
 * The operations table of a backend, ABI v1.
 *
 * The ops from `probe` to `set_sregs` are mandatory: the core refuses a
 * backend whose table lacks any of them (NULL or beyond `struct_size`). The
 * ops after them are optional; NULL means "not supported".
 */
struct hvabs_backend_ops {
	struct hvabs_hdr hdr;	 /**< ABI header; `abi_version` major must be 1. */
	const char *name;	 /**< Short name, e.g. "kvm". */
	const char *description; /**< One line for humans. */

	/* ---- mandatory ---- */

	/**
	 * Checks whether this hypervisor is usable on this host.
	 * @param host the core's table.
	 * @param why buffer for a one-line reason when it is not.
	 * @param why_len size of @p why.
	 * @retval 0 usable.
	 * @retval -ENODEV no such hypervisor on this host.
	 * @retval -EACCES no permission to its device.
	 */
	int (*probe)(const struct hvabs_host *host, char *why, size_t why_len);
	/** Creates a VM; on success stores it in @p out. */
	int (*vm_create)(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
			 struct hvabs_be_vm **out);
	/** Destroys a VM and everything it owns; vCPUs are destroyed first by the core. */
	void (*vm_destroy)(struct hvabs_be_vm *vm);
	/** Reports capabilities; the backend sets `caps->hdr` to its own version and size. */
	int (*vm_get_caps)(struct hvabs_be_vm *vm, struct hvabs_caps *caps);
	/**
	 * Allocates @p size bytes of guest RAM at @p gpa and maps it into the
	 * VMM; the mapping lives until mem_unmap or vm_destroy.
	 * @param flags HVABS_MEM_* bits.
	 * @param hva out: where the VMM sees the memory.
	 */
	int (*mem_alloc)(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
			 void **hva);
	/** Sets interrupt line @p gsi to @p level (0 or 1). */
	int (*irq_line)(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level);
	/** Creates vCPU number @p index. */
	int (*vcpu_create)(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out);
	/** Destroys a vCPU that is not running. */
	void (*vcpu_destroy)(struct hvabs_be_vcpu *vcpu);
	/**
	 * Runs the vCPU until the next exit and describes it in @p exit. First
	 * completes the previous exit (a read's data, a hypercall's result).
	 */
	int (*vcpu_run)(struct hvabs_be_vcpu *vcpu, struct hvabs_exit *exit);
	/** Makes a running or the next vcpu_run return #HVABS_EXIT_CANCELED. Any thread. */
	int (*vcpu_kick)(struct hvabs_be_vcpu *vcpu);
	/** Reads general-purpose registers. */
	int (*get_regs)(struct hvabs_be_vcpu *vcpu, struct hvabs_regs *regs);
	/** Writes general-purpose registers. */
	int (*set_regs)(struct hvabs_be_vcpu *vcpu, const struct hvabs_regs *regs);
	/** Reads segment and control registers. */
	int (*get_sregs)(struct hvabs_be_vcpu *vcpu, struct hvabs_sregs *sregs);
	/** Writes segment and control registers. */
	int (*set_sregs)(struct hvabs_be_vcpu *vcpu, const struct hvabs_sregs *sregs);

	/* ---- optional ---- */

	/** Maps caller memory at @p hva as guest RAM at @p gpa (#HVABS_CAP_MEM_MAP). */
	int (*mem_map)(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva,
		       uint32_t flags);
	/** Removes the guest mapping that starts at @p gpa (from mem_alloc or mem_map). */
	int (*mem_unmap)(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size);
	/** Claims an I/O range so guest accesses to it exit (#HVABS_CAP_IO_CLAIM). */
	int (*io_claim)(struct hvabs_be_vm *vm, uint32_t space, uint64_t base, uint64_t len);
	/** Signals a message-signalled interrupt (#HVABS_CAP_MSI). */
	int (*msi)(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data);
	/** Binds (@p assign 1) or unbinds eventfd @p fd to @p route (#HVABS_CAP_IRQFD). */
	int (*irqfd)(struct hvabs_be_vm *vm, int fd, const struct hvabs_irq_route *route,
		     uint32_t assign);
	/** Binds or unbinds an ioeventfd (HVABS_CAP_IOEVENTFD_*). */
	int (*ioeventfd)(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
			 uint32_t assign);
	/**
	 * Fetches and clears the dirty bitmap (one bit per 4 KiB page, bit 0 of
	 * word 0 = first page) of the region at @p gpa (#HVABS_CAP_DIRTY_LOG).
	 */
	int (*dirty_log)(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);
	/** Pauses every vCPU of the VM (#HVABS_CAP_PAUSE). */
	int (*pause)(struct hvabs_be_vm *vm);
	/** Resumes a paused VM. */
	int (*resume)(struct hvabs_be_vm *vm);
	/**
	 * Saves VM-wide state (irqchip, clock) into @p buf; on entry *@p len is
	 * the buffer size, on success the bytes used. `-ENOSPC` with *@p len set
	 * to the size needed when the buffer is too small.
	 */
	int (*get_state)(struct hvabs_be_vm *vm, void *buf, size_t *len);
	/** Restores VM-wide state saved by get_state. */
	int (*set_state)(struct hvabs_be_vm *vm, const void *buf, size_t len);
	/** Reads x87/SSE state. */
	int (*get_fpu)(struct hvabs_be_vcpu *vcpu, struct hvabs_fpu *fpu);
	/** Writes x87/SSE state. */
	int (*set_fpu)(struct hvabs_be_vcpu *vcpu, const struct hvabs_fpu *fpu);
	/** Reads @p count MSRs; each entry's `index` selects the MSR. */
	int (*get_msrs)(struct hvabs_be_vcpu *vcpu, struct hvabs_msr_entry *msrs, uint32_t count);
	/** Writes @p count MSRs. */
	int (*set_msrs)(struct hvabs_be_vcpu *vcpu, const struct hvabs_msr_entry *msrs,
			uint32_t count);
	/**
	 * Reports the CPUID leaves the hypervisor supports into @p entries
	 * (capacity *@p count; on success *@p count is the number written).
	 */
	int (*get_supported_cpuid)(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *entries,
				   uint32_t *count);
	/** Sets the guest's CPUID; must happen before the vCPU first runs. */
	int (*set_cpuid)(struct hvabs_be_vcpu *vcpu, const struct hvabs_cpuid_entry *entries,
			 uint32_t count);
	/** Reads the local APIC page. */
	int (*get_lapic)(struct hvabs_be_vcpu *vcpu, struct hvabs_lapic *lapic);
	/** Writes the local APIC page. */
	int (*set_lapic)(struct hvabs_be_vcpu *vcpu, const struct hvabs_lapic *lapic);
	/** Saves portable vCPU state into @p buf, sized as for get_state. */
	int (*vcpu_get_state)(struct hvabs_be_vcpu *vcpu, void *buf, size_t *len);
	/** Restores portable vCPU state. */
	int (*vcpu_set_state)(struct hvabs_be_vcpu *vcpu, const void *buf, size_t len);
	/** Reads the VM's wall clock in nanoseconds since the Unix epoch (#HVABS_CAP_CLOCK). */
	int (*get_clock)(struct hvabs_be_vm *vm, uint64_t *ns);
	/**
	 * Looks up a backend-specific extension table by @p name (for example
	 * "hvabs-mock-v1"). On success stores the table and its context.
	 */
	int (*vm_get_ext)(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx);
	/**
	 * Tells the hypervisor why the VM is stopping, as a device model does
	 * when its own power or reset device fires (Xen: a domain shutdown, so
	 * the toolstack's on_poweroff/on_reboot/on_crash policy sees it).
	 * hvabs_vm_request_stop() calls it once per stop, for the request that
	 * sets the stop reason (the first since hvabs_vm_clear_stop()), before
	 * it kicks the vCPUs. It runs on the requesting thread, often a vCPU
	 * thread inside a device callback whose exit is not completed yet, so
	 * it must not wait for any vCPU. A failure is logged; the stop goes on.
	 * Appended to the v1 table after vm_get_ext: a table that ends before
	 * it, or NULL, means the backend has nothing to tell.
	 * @param vm the VM.
	 * @param reason an enum hvabs_stop_reason value (vm.h), never
	 *        #HVABS_STOP_NONE; #HVABS_STOP_HOST means the host, not the
	 *        guest, ends the run.
	 * @return 0 or negative errno.
	 */
	int (*vm_stop)(struct hvabs_be_vm *vm, uint32_t reason);
};

/** Name of the entry symbol of ABI major 1, as a string for dlsym(). */
#define HVABS_BACKEND_ENTRY_V1 "hvabs_backend_entry_v1"

/** Type of the entry point. */
typedef const struct hvabs_backend_ops *(*hvabs_backend_entry_v1_fn)(const struct hvabs_host *host);

/**
 * The one symbol a backend exports. Returns its static operations table, or
 * NULL when it cannot work with @p host (for example a host ABI it does not
 * understand). Called once per load; must not fail for environmental reasons
 * (that is probe's job).
 * @param host the core's table; valid during this call only (probe and
 *        vm_create receive it again, valid until the VM is destroyed).
 * @return the backend's operations table, or NULL.
 */
HVABS_BACKEND_EXPORT const struct hvabs_backend_ops *
hvabs_backend_entry_v1(const struct hvabs_host *host);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
