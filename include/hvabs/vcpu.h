/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vcpu.h
 * @brief Virtual CPUs: creation, register state, running and exit statistics.
 *
 * Each vCPU is driven by one thread at a time (its "vCPU thread"), which
 * calls hvabs_vcpu_run() or hvabs_vcpu_run_loop(). Only hvabs_vcpu_kick()
 * and hvabs_vcpu_get_stats() may be called from other threads while it runs.
 *
 * @defgroup vcpu vCPUs
 * @brief Lifetime, state and the run loop.
 * @{
 */
#ifndef HVABS_VCPU_H
#define HVABS_VCPU_H

#include <stdint.h>

#include "types.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A virtual CPU. */
struct hvabs_vcpu;

/**
 * Creates vCPU number @p index. Thread: any.
 * @param vm the VM (which owns the vCPU).
 * @param index 0 .. max_vcpus - 1, each at most once.
 * @param out the vCPU.
 * @return 0 or negative errno.
 * @retval -EINVAL index out of range.
 * @retval -EEXIST that vCPU already exists.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_create(struct hvabs_vm *vm, uint32_t index,
						 struct hvabs_vcpu **out);

/**
 * Destroys a vCPU that is not running. NULL is a no-op. hvabs_vm_destroy()
 * destroys the ones left.
 * @param vcpu the vCPU.
 */
HVABS_API void hvabs_vcpu_destroy(struct hvabs_vcpu *vcpu);

/**
 * The vCPU's index.
 * @param vcpu the vCPU.
 * @return its index.
 */
HVABS_API uint32_t hvabs_vcpu_index(const struct hvabs_vcpu *vcpu);

/**
 * The VM the vCPU belongs to.
 * @param vcpu the vCPU.
 * @return the VM.
 */
HVABS_API struct hvabs_vm *hvabs_vcpu_vm(const struct hvabs_vcpu *vcpu);

/**
 * Runs the vCPU until its next exit, with no dispatching: the caller handles
 * @p exit itself. For a read exit, the caller writes the data into
 * `exit->u.io.data` / `exit->u.mmio.data`; it is completed by the next run.
 * Thread: the vCPU thread.
 * @param vcpu the vCPU.
 * @param exit out: the exit.
 * @return 0 or negative errno from the backend.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_run(struct hvabs_vcpu *vcpu, struct hvabs_exit *exit);

/**
 * Runs the vCPU and dispatches its exits until one the core cannot handle.
 *
 * Port and MMIO accesses go to the VM's buses (hvabs_bus_register()); an
 * access nobody claimed reads as all ones, drops writes, is counted and is
 * logged at a limited rate. EOI exits go to the handler set with
 * hvabs_irq_set_eoi_handler(). The loop returns, with the exit in @p exit,
 * on #HVABS_EXIT_HLT, #HVABS_EXIT_SHUTDOWN, #HVABS_EXIT_RESET,
 * #HVABS_EXIT_SYSTEM_EVENT, #HVABS_EXIT_HYPERCALL, #HVABS_EXIT_CANCELED,
 * #HVABS_EXIT_INTERNAL_ERROR and #HVABS_EXIT_UNKNOWN; and when a device
 * calls hvabs_vm_request_stop() (see there for the exit it reports).
 * Thread: the vCPU thread.
 * @param vcpu the vCPU.
 * @param exit out: the exit that ended the loop.
 * @return 0 or negative errno from the backend.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_run_loop(struct hvabs_vcpu *vcpu,
						   struct hvabs_exit *exit);

/**
 * Makes the vCPU's current or next run return #HVABS_EXIT_CANCELED soon.
 * Thread: any.
 * @param vcpu the vCPU.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_vcpu_kick(struct hvabs_vcpu *vcpu);

/**
 * Reads the general-purpose registers. Thread: the vCPU thread, or any
 * while it does not run.
 * @param vcpu the vCPU.
 * @param regs out.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_regs(struct hvabs_vcpu *vcpu,
						   struct hvabs_regs *regs);
/**
 * Writes the general-purpose registers. Thread: as hvabs_vcpu_get_regs().
 * @param vcpu the vCPU.
 * @param regs the values (the header is ignored).
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_regs(struct hvabs_vcpu *vcpu,
						   const struct hvabs_regs *regs);
/**
 * Reads segment, control and descriptor-table registers.
 * @param vcpu the vCPU.
 * @param sregs out.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_sregs(struct hvabs_vcpu *vcpu,
						    struct hvabs_sregs *sregs);
/**
 * Writes segment, control and descriptor-table registers.
 * @param vcpu the vCPU.
 * @param sregs the values (the header is ignored).
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_sregs(struct hvabs_vcpu *vcpu,
						    const struct hvabs_sregs *sregs);
/**
 * Reads x87/SSE state.
 * @param vcpu the vCPU.
 * @param fpu out.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_FPU.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_fpu(struct hvabs_vcpu *vcpu, struct hvabs_fpu *fpu);
/**
 * Writes x87/SSE state.
 * @param vcpu the vCPU.
 * @param fpu the values.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_FPU.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_fpu(struct hvabs_vcpu *vcpu,
						  const struct hvabs_fpu *fpu);
/**
 * Reads MSRs: set each entry's `index`, get its `data`.
 * @param vcpu the vCPU.
 * @param msrs the entries.
 * @param count number of entries.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_MSRS.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_msrs(struct hvabs_vcpu *vcpu,
						   struct hvabs_msr_entry *msrs, uint32_t count);
/**
 * Writes MSRs.
 * @param vcpu the vCPU.
 * @param msrs the entries.
 * @param count number of entries.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_MSRS.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_vcpu_set_msrs(struct hvabs_vcpu *vcpu, const struct hvabs_msr_entry *msrs, uint32_t count);
/**
 * Reads the CPUID leaves the hypervisor supports.
 * @param vm the VM.
 * @param entries out.
 * @param count in: capacity; out: entries written.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_CPUID;
 *         -E2BIG when @p entries is too small.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vm_get_supported_cpuid(struct hvabs_vm *vm,
							    struct hvabs_cpuid_entry *entries,
							    uint32_t *count);
/**
 * Sets the guest's CPUID before the vCPU first runs.
 * @param vcpu the vCPU.
 * @param entries the leaves.
 * @param count number of leaves.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_CPUID.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_cpuid(struct hvabs_vcpu *vcpu,
						    const struct hvabs_cpuid_entry *entries,
						    uint32_t count);
/**
 * Reads the local APIC page.
 * @param vcpu the vCPU.
 * @param lapic out.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_LAPIC.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_lapic(struct hvabs_vcpu *vcpu,
						    struct hvabs_lapic *lapic);
/**
 * Writes the local APIC page.
 * @param vcpu the vCPU.
 * @param lapic the values.
 * @return 0 or negative errno; -ENOTSUP without #HVABS_CAP_LAPIC.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_lapic(struct hvabs_vcpu *vcpu,
						    const struct hvabs_lapic *lapic);
/**
 * Saves portable vCPU state (#HVABS_CAP_VCPU_STATE).
 * @param vcpu the vCPU.
 * @param buf destination.
 * @param len in: size of @p buf; out: bytes used (or needed, with -ENOSPC).
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_get_state(struct hvabs_vcpu *vcpu, void *buf,
						    size_t *len);
/**
 * Restores portable vCPU state.
 * @param vcpu the vCPU.
 * @param buf the state.
 * @param len its length.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_vcpu_set_state(struct hvabs_vcpu *vcpu, const void *buf,
						    size_t len);

/**
 * Called by hvabs_vcpu_run_loop() after each exit it handled itself (I/O,
 * MMIO, EOI), with read data already filled in, and for the exit that ends
 * the loop. Runs on the vCPU thread; must be quick.
 * @param opaque as given to hvabs_vcpu_set_trace().
 * @param vcpu the vCPU.
 * @param exit the exit.
 */
typedef void (*hvabs_trace_fn)(void *opaque, const struct hvabs_vcpu *vcpu,
			       const struct hvabs_exit *exit);

/**
 * Sets (or with NULL clears) an exit trace callback, for debugging and for
 * recording a guest's I/O. Thread: the vCPU thread, or any while it does not
 * run.
 * @param vcpu the vCPU.
 * @param fn the callback, or NULL.
 * @param opaque its argument.
 */
HVABS_API void hvabs_vcpu_set_trace(struct hvabs_vcpu *vcpu, hvabs_trace_fn fn, void *opaque);

/** Exit statistics of one vCPU or a whole VM. */
struct hvabs_stats {
	uint64_t runs;			       /**< Calls into the backend's vcpu_run. */
	uint64_t exits[HVABS_EXIT_KIND_COUNT]; /**< Exits by enum hvabs_exit_kind. */
	uint64_t io_unhandled;		       /**< Port accesses no device claimed. */
	uint64_t mmio_unhandled;	       /**< MMIO accesses no device claimed. */
	uint64_t ioeventfd_fallback; /**< Notifications the core's ioeventfd fallback sent. */
};

/**
 * Copies one vCPU's statistics. Thread: any (the figures may be a moment old).
 * @param vcpu the vCPU.
 * @param stats out.
 */
HVABS_API void hvabs_vcpu_get_stats(const struct hvabs_vcpu *vcpu, struct hvabs_stats *stats);

/**
 * Sums the statistics of every vCPU of the VM. Thread: any.
 * @param vm the VM.
 * @param stats out.
 */
HVABS_API void hvabs_vm_get_stats(const struct hvabs_vm *vm, struct hvabs_stats *stats);

/**
 * A readable name of an exit kind ("io", "mmio", "hlt", ...).
 * @param kind an enum hvabs_exit_kind value.
 * @return the name, "invalid" for unknown values.
 */
HVABS_API const char *hvabs_exit_kind_name(uint32_t kind);

/**
 * One element of an I/O or MMIO exit, decoded the way hvabs_vcpu_run_loop()
 * hands it to the bus: a REP string access of `count` elements is `count`
 * single accesses.
 */
struct hvabs_exit_element {
	/**
	 * Port (I/O) or guest-physical address (MMIO). Port string accesses
	 * repeat one port; MMIO string accesses step by `size`, downwards when
	 * hvabs_exit_access::df is set.
	 */
	uint64_t addr;
	/**
	 * The element's data as a little-endian number: what the guest wrote,
	 * or for a read what the run loop returned (once it has completed the
	 * exit, as in a trace callback).
	 */
	uint64_t value;
	uint32_t size;	   /**< Bytes: 1, 2, 4 or 8. */
	uint32_t is_write; /**< 1 for a guest write, 0 for a read. */
};

/**
 * How many elements an I/O or MMIO exit has, as the run loop counts them
 * (hvabs_exit_access::count, 0 meaning 1). Thread: any.
 * @param exit the exit.
 * @return the count; 0 for any other exit kind, and for a malformed access
 *         the run loop refuses (a size other than 1, 2, 4 or 8, no data
 *         buffer, or more than 2^20 elements).
 */
HVABS_API uint32_t hvabs_exit_access_count(const struct hvabs_exit *exit);

/**
 * Decodes one element of an I/O or MMIO exit, for tracing or logging an
 * exit exactly as the run loop sees it. Thread: any.
 * @param exit the exit.
 * @param index the element, below hvabs_exit_access_count().
 * @param out the element (written only on success).
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument, not an I/O or MMIO exit, a malformed
 *         access, or @p index out of range.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_exit_access_element(const struct hvabs_exit *exit,
							 uint32_t index,
							 struct hvabs_exit_element *out);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
