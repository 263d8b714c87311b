/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file xen.h
 * @brief The Xen backend's extension: the domain a VM serves, and its shutdown.
 *
 * On the Xen backend (`hvabs-xen.so`, docs/xen.md) a VM is the device model
 * of one Xen domain: one hvabs created, or, with backend option `domid=N`,
 * one a toolstack made (`xl create -p`). hvabs_vm_get_ext() with
 * #HVABS_XEN_EXT_NAME returns a struct hvabs_xen_ext for it.
 *
 * A VM's own stops need no call here: hvabs_vm_request_stop() passes
 * power-off, reset and crash to Xen as a domain shutdown (the backend's
 * `vm_stop` op), which is what `xl`'s on_poweroff, on_reboot and on_crash
 * act on. hvabs_xen_ext::shutdown is for the reasons hvabs has no stop for
 * (#HVABS_XEN_SHUTDOWN_SUSPEND, #HVABS_XEN_SHUTDOWN_WATCHDOG,
 * #HVABS_XEN_SHUTDOWN_SOFT_RESET).
 *
 * Use hvabs_xen_get() on a VM created on the Xen backend.
 *
 * @defgroup xen Xen backend extension
 * @brief The domain behind a Xen VM, and telling Xen it shut down.
 * @{
 */
#ifndef HVABS_XEN_H
#define HVABS_XEN_H

#include <errno.h>
#include <stdint.h>

#include "types.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the Xen backend's extension, for hvabs_vm_get_ext(). */
#define HVABS_XEN_EXT_NAME "hvabs-xen-v1"

/**
 * @name Shutdown reasons
 * Xen's `SHUTDOWN_*` codes (public/sched.h, a stable hypervisor ABI), for
 * hvabs_xen_ext::shutdown.
 * @{
 */
#define HVABS_XEN_SHUTDOWN_POWEROFF   0u /**< The guest powered off. */
#define HVABS_XEN_SHUTDOWN_REBOOT     1u /**< The guest asked for a reset. */
#define HVABS_XEN_SHUTDOWN_SUSPEND    2u /**< The guest suspended itself. */
#define HVABS_XEN_SHUTDOWN_CRASH      3u /**< The guest crashed. */
#define HVABS_XEN_SHUTDOWN_WATCHDOG   4u /**< A watchdog expired. */
#define HVABS_XEN_SHUTDOWN_SOFT_RESET 5u /**< The guest asked for a soft reset. */
/** @} */

/**
 * The extension table. It only grows at the end; check `hdr.struct_size`
 * before using a member added after these.
 */
struct hvabs_xen_ext {
	struct hvabs_hdr hdr; /**< ABI header. */
	/**
	 * The domain the VM serves. Thread: any.
	 * @param ctx the context hvabs_vm_get_ext() returned.
	 * @return the domain id.
	 */
	uint32_t (*domid)(void *ctx);
	/**
	 * Shuts the domain down with @p reason (xendevicemodel_shutdown), as
	 * QEMU does when its own devices end the guest: Xen stops the vCPUs
	 * (a vCPU waiting for an I/O answer stops once it has it), and the
	 * VM's vCPUs then report the shutdown like any other. Thread: any.
	 * @param ctx the context hvabs_vm_get_ext() returned.
	 * @param reason a HVABS_XEN_SHUTDOWN_* code.
	 * @retval 0 Xen took it (a domain already shutting down keeps its first reason).
	 * @retval -EINVAL @p reason is not a shutdown code.
	 * @retval -ESRCH the domain is gone.
	 */
	int (*shutdown)(void *ctx, uint32_t reason);
};

/** A handle on a Xen VM's extension, filled by hvabs_xen_get(). */
struct hvabs_xen {
	const struct hvabs_xen_ext *ext; /**< The table. */
	void *ctx;			 /**< The context its functions take. */
};

/**
 * Gets the Xen extension of a VM. Thread: any.
 * @param vm a VM.
 * @param x out: the table and its context.
 * @return 0, or a negative errno when @p vm is not on the Xen backend
 *         (-ENOENT or -ENOTSUP, as its backend answers) or its table is
 *         shorter than this header's.
 */
static inline int hvabs_xen_get(struct hvabs_vm *vm, struct hvabs_xen *x)
{
	const void *table;
	void *ctx;
	int rc = hvabs_vm_get_ext(vm, HVABS_XEN_EXT_NAME, &table, &ctx);

	if (rc < 0)
		return rc;
	if (((const struct hvabs_hdr *)table)->struct_size < sizeof(struct hvabs_xen_ext))
		return -ENOTSUP;
	x->ext = (const struct hvabs_xen_ext *)table;
	x->ctx = ctx;
	return 0;
}

#ifdef __cplusplus
}
#endif

/** @} */

#endif
