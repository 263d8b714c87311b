/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vm.h
 * @brief Loading a backend and creating virtual machines.
 *
 * A program opens a backend (hvabs_backend_open()), creates a VM on it
 * (hvabs_vm_create()), gives the VM RAM (hvabs_vm_add_ram()), registers
 * devices on its buses (bus.h), creates vCPUs (vcpu.h) and runs them.
 *
 * Backend selection, in order: the name given to hvabs_backend_open(), else
 * the `HVABS_HYPERVISOR` environment variable, else the first of kvm, mshv
 * and xen whose probe succeeds. A name without a slash is looked up as
 * `hvabs-<name>.so` in each directory of `HVABS_BACKEND_PATH` (colon
 * separated) and then in the install directory; a name with a slash is a
 * path to the plugin itself.
 *
 * @defgroup vm Backends and VMs
 * @brief Backend loading, selection, VM lifetime, RAM and VM-wide state.
 * @{
 */
#ifndef HVABS_VM_H
#define HVABS_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "mem.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded and probed backend plugin. */
struct hvabs_backend;
/** A virtual machine. */
struct hvabs_vm;

/** Options for hvabs_backend_open(); a zeroed struct (or NULL) gives the defaults. */
struct hvabs_backend_opts {
	struct hvabs_logger logger; /**< Where the backend and its VMs log. */
	const char *search_path;    /**< Overrides `HVABS_BACKEND_PATH` when non-NULL. */
	char *errbuf;		    /**< Receives the one-line reason a call failed, or NULL. */
	size_t errbuf_len;	    /**< Size of `errbuf`. */
	int no_install_dir;	    /**< 1: do not search the install directory (tests). */
};

/**
 * Loads, checks and probes a backend. Each failure has its own error code
 * and a one-line message that names the file and the reason: copied to
 * hvabs_backend_opts::errbuf when one is given (and then logged only at
 * debug level), else logged at error level.
 * Thread: any.
 * @param name backend name ("kvm"), a path to a plugin, or NULL to use
 *        `HVABS_HYPERVISOR` or else auto-probe kvm, mshv, xen.
 * @param opts options, or NULL.
 * @param out the backend.
 * @return 0 or negative errno.
 * @retval -ENOENT no plugin file of that name in the search path.
 * @retval -ELIBBAD the file is not a loadable shared object (dlopen failed).
 * @retval -ENOEXEC the file has no hvabs_backend_entry_v1 symbol, or it returned NULL.
 * @retval -EPROTONOSUPPORT the plugin speaks another ABI major version.
 * @retval -ENOSYS the plugin's table lacks a mandatory op.
 * @retval -ENODEV the hypervisor is not present on this host.
 * @retval -EACCES no permission to the hypervisor's device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_backend_open(const char *name,
						  const struct hvabs_backend_opts *opts,
						  struct hvabs_backend **out);

/**
 * Releases a backend handle. The plugin itself stays loaded (plugins are
 * never unloaded). NULL is a no-op. All its VMs must be destroyed first.
 * @param be the backend.
 */
HVABS_API void hvabs_backend_close(struct hvabs_backend *be);

/**
 * The backend's short name ("kvm", "mock", ...).
 * @param be the backend.
 * @return the name; valid while @p be is open.
 */
HVABS_API const char *hvabs_backend_name(const struct hvabs_backend *be);

/**
 * The path the plugin was loaded from.
 * @param be the backend.
 * @return the path; valid while @p be is open.
 */
HVABS_API const char *hvabs_backend_path(const struct hvabs_backend *be);

/**
 * The plugin's `abi_version` (see HVABS_ABI_VERSION()).
 * @param be the backend.
 * @return the packed version.
 */
HVABS_API uint32_t hvabs_backend_abi_version(const struct hvabs_backend *be);

/** hvabs_vm_config::flags: use the hypervisor's in-kernel interrupt controllers. */
#define HVABS_VM_IRQCHIP (1u << 0)

/** Parameters of a new VM. */
struct hvabs_vm_config {
	uint32_t max_vcpus;	     /**< Most vCPUs the VM will have (0 = 1). */
	uint32_t flags;		     /**< HVABS_VM_* bits. */
	const char *backend_options; /**< Backend-specific `key=value,...`, or NULL. */
};

/**
 * Creates a VM. Thread: any.
 * @param be an open backend.
 * @param cfg parameters, or NULL for one vCPU and no flags.
 * @param out the VM.
 * @return 0 or negative errno from the backend.
 * @retval -EINVAL max_vcpus above the backend's limit.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_vm_create(struct hvabs_backend *be, const struct hvabs_vm_config *cfg, struct hvabs_vm **out);

/**
 * Destroys a VM: its vCPUs (which must not be running), bus registrations,
 * irqfds, ioeventfds and RAM, in reverse order of creation. NULL is a no-op.
 * @param vm the VM.
 */
HVABS_API void hvabs_vm_destroy(struct hvabs_vm *vm);

/**
 * Copies the VM's capabilities. Capabilities the backend's struct does not
 * know of read as absent. Thread: any.
 * @param vm the VM.
 * @param caps out.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_caps(const struct hvabs_vm *vm,
						 struct hvabs_caps *caps);

/**
 * Tests for capability bits.
 * @param vm the VM.
 * @param cap one or more HVABS_CAP_* bits.
 * @return true when all of them are present.
 */
HVABS_API bool hvabs_vm_has_cap(const struct hvabs_vm *vm, uint64_t cap);

/**
 * The backend the VM runs on.
 * @param vm the VM.
 * @return the backend.
 */
HVABS_API struct hvabs_backend *hvabs_vm_backend(const struct hvabs_vm *vm);

/**
 * The VM's guest memory map, for the checked accessors of mem.h.
 * @param vm the VM.
 * @return the map, valid until hvabs_vm_destroy().
 */
HVABS_API struct hvabs_mem *hvabs_vm_mem(const struct hvabs_vm *vm);

/**
 * The logger the VM logs through.
 * @param vm the VM.
 * @return the logger.
 */
HVABS_API const struct hvabs_logger *hvabs_vm_logger(const struct hvabs_vm *vm);

/**
 * Allocates guest RAM at @p gpa through the backend (the backend owns it:
 * on Xen the hypervisor allocates guest memory) and adds it to the memory
 * map. Thread: any, before vCPUs run.
 * @param vm the VM.
 * @param gpa guest-physical start, page aligned.
 * @param size length, page aligned, non-zero.
 * @param flags HVABS_MEM_* bits.
 * @param hva out, may be NULL: where the VMM sees the memory.
 * @return 0 or negative errno.
 * @retval -EINVAL misaligned, zero or wrapping range.
 * @retval -EEXIST the range overlaps existing RAM.
 * @retval -ENOTSUP a flag the backend does not support.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_add_ram(struct hvabs_vm *vm, uint64_t gpa, uint64_t size,
						uint32_t flags, void **hva);

/**
 * Maps caller-owned memory as guest RAM (#HVABS_CAP_MEM_MAP). The caller
 * keeps ownership and must keep it valid until it is unmapped.
 * @param vm the VM.
 * @param gpa guest-physical start, page aligned.
 * @param size length, page aligned, non-zero.
 * @param hva page-aligned host memory.
 * @param flags HVABS_MEM_* bits.
 * @return 0 or negative errno.
 * @retval -ENOTSUP the backend cannot map caller memory.
 * @retval -EINVAL misaligned, zero or wrapping range.
 * @retval -EEXIST the range overlaps existing RAM.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_map_memory(struct hvabs_vm *vm, uint64_t gpa, uint64_t size,
						   void *hva, uint32_t flags);

/**
 * Removes the RAM region that starts at @p gpa (from either
 * hvabs_vm_add_ram() or hvabs_vm_map_memory()). Memory from
 * hvabs_vm_add_ram() is freed. No vCPU may be running.
 * @param vm the VM.
 * @param gpa start of the region.
 * @return 0 or negative errno.
 * @retval -ENOENT no region starts at @p gpa.
 * @retval -ENOTSUP the backend cannot unmap.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_unmap_memory(struct hvabs_vm *vm, uint64_t gpa);

/**
 * Fetches and clears the hypervisor's dirty log of guest writes to the RAM
 * region at @p gpa, which must have been added with #HVABS_MEM_DIRTY_LOG.
 * @param vm the VM.
 * @param gpa start of the region.
 * @param bitmap one bit per 4 KiB page.
 * @param words size of @p bitmap in 64-bit words.
 * @return 0 or negative errno.
 * @retval -ENOTSUP no #HVABS_CAP_DIRTY_LOG.
 * @retval -ENOENT no region starts at @p gpa.
 * @retval -ENOSPC @p bitmap too small.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_dirty_log(struct hvabs_vm *vm, uint64_t gpa,
						      uint64_t *bitmap, size_t words);

/**
 * Pauses every vCPU (#HVABS_CAP_PAUSE).
 * @param vm the VM.
 * @return 0 or negative errno; -ENOTSUP without the capability.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_pause(struct hvabs_vm *vm);

/**
 * Resumes a paused VM.
 * @param vm the VM.
 * @return 0 or negative errno; -ENOTSUP without the capability.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_resume(struct hvabs_vm *vm);

/**
 * Saves the backend's VM-wide state (#HVABS_CAP_VM_STATE).
 * @param vm the VM.
 * @param buf destination.
 * @param len in: size of @p buf; out: bytes used (or needed, with -ENOSPC).
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_state(struct hvabs_vm *vm, void *buf, size_t *len);

/**
 * Restores VM-wide state saved by hvabs_vm_get_state().
 * @param vm the VM.
 * @param buf the state.
 * @param len its length.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_set_state(struct hvabs_vm *vm, const void *buf, size_t len);

/**
 * Reads the VM's wall clock: the backend's own clock with #HVABS_CAP_CLOCK
 * (the mock's virtual clock), else the host's CLOCK_REALTIME. Devices such as
 * the RTC use it. Thread: any.
 * @param vm the VM.
 * @param ns out: nanoseconds since the Unix epoch.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_time(const struct hvabs_vm *vm, uint64_t *ns);

/** Reasons a device can ask the VM to stop with hvabs_vm_request_stop(). */
enum hvabs_stop_reason {
	HVABS_STOP_NONE = 0,	 /**< No stop requested. */
	HVABS_STOP_POWEROFF = 1, /**< Guest power-off (ACPI S5). */
	HVABS_STOP_RESET = 2,	 /**< Guest reset (i8042 0xFE, reset register). */
	HVABS_STOP_CRASH = 3,	 /**< Guest crash report. */
	HVABS_STOP_HOST = 4,	 /**< The host wants the VM to stop. */
};

/**
 * Asks every vCPU's run loop to return: each vCPU is kicked, and
 * hvabs_vcpu_run_loop() returns #HVABS_EXIT_RESET for #HVABS_STOP_RESET,
 * #HVABS_EXIT_SYSTEM_EVENT (POWEROFF or CRASH) for those reasons, and
 * #HVABS_EXIT_CANCELED for #HVABS_STOP_HOST. The first request wins until
 * hvabs_vm_clear_stop(); that first request is also told to the backend
 * (its optional `vm_stop` op, before the kicks), so a hypervisor that keeps
 * its own record of why a guest stopped (Xen) learns it. Thread: any,
 * including device callbacks.
 * @param vm the VM.
 * @param reason why.
 */
HVABS_API void hvabs_vm_request_stop(struct hvabs_vm *vm, enum hvabs_stop_reason reason);

/**
 * The pending stop reason, #HVABS_STOP_NONE when none. Thread: any.
 * @param vm the VM.
 * @return the reason.
 */
HVABS_API enum hvabs_stop_reason hvabs_vm_stop_reason(const struct hvabs_vm *vm);

/**
 * Clears a stop request (before restarting a guest after reset).
 * @param vm the VM.
 */
HVABS_API void hvabs_vm_clear_stop(struct hvabs_vm *vm);

/**
 * Looks up a backend-specific extension (see mock.h).
 * @param vm the VM.
 * @param name extension name.
 * @param table out: the extension's table.
 * @param ctx out: the context its functions take.
 * @return 0 or negative errno.
 * @retval -ENOTSUP the backend has no such extension.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_ext(struct hvabs_vm *vm, const char *name,
						const void **table, void **ctx);

/**
 * Version string of this libhvabs ("MAJOR.MINOR.PATCH").
 * @return the version.
 */
HVABS_API const char *hvabs_version(void);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
