/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ioreq server (xen/include/public/hvm/dm_op.h), interrupts, and the
 * domain's shutdown.
 *
 * Order of setup, as Xen needs it: create the server (no buffered ioreqs:
 * every access is synchronous, so the VMM sees writes in guest order), map
 * its synchronous ioreq page as a resource, enable it (Xen writes each vCPU's
 * event channel port into the page then), and claim ranges whenever the core
 * registers a bus device. Only claimed ranges reach us; everything else goes
 * to Xen's own emulators or its null handler.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_priv.h"

int xen_server_open(struct hvabs_be_vm *vm)
{
	const struct xen_lib *x = vm->x;
	void *page = NULL;

	if (x->xendevicemodel_create_ioreq_server(vm->dmod, vm->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
						  &vm->server)) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot create an ioreq server: %s", vm->domid, strerror(-rc));
		return rc;
	}
	vm->have_server = 1;
	vm->iores = x->xenforeignmemory_map_resource(
	    vm->fmem, vm->domid, XENMEM_resource_ioreq_server, vm->server,
	    XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &page, PROT_READ | PROT_WRITE, 0);
	if (!vm->iores || !page) {
		int rc = vm->iores ? -EIO : xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot map the ioreq page: %s", vm->domid, strerror(-rc));
		return rc;
	}
	vm->iopage = page;
	if (x->xendevicemodel_set_ioreq_server_state(vm->dmod, vm->domid, vm->server, 1)) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot enable the ioreq server: %s", vm->domid,
				strerror(-rc));
		return rc;
	}
	atomic_store(&vm->server_enabled, 1);
	return 0;
}

/*
 * The device model is going: no new request may reach us. Requests already
 * in the page are answered by their vCPU's teardown, which still has the
 * event channel to wake the waiting guest vCPU.
 */
void xen_server_disable(struct hvabs_be_vm *vm)
{
	if (!atomic_exchange(&vm->server_enabled, 0))
		return;
	if (vm->x->xendevicemodel_set_ioreq_server_state(vm->dmod, vm->domid, vm->server, 0))
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN,
				"d%u: cannot disable the ioreq server: %s", vm->domid,
				strerror(-xen_errno()));
}

void xen_server_close(struct hvabs_be_vm *vm)
{
	const struct xen_lib *x = vm->x;

	if (!vm->have_server)
		return;
	xen_server_disable(vm);
	if (vm->iores && x->xenforeignmemory_unmap_resource(vm->fmem, vm->iores))
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN, "d%u: unmap of the ioreq page: %s",
				vm->domid, strerror(-xen_errno()));
	vm->iores = NULL;
	vm->iopage = NULL;
	if (!atomic_load(&vm->gone) &&
	    x->xendevicemodel_destroy_ioreq_server(vm->dmod, vm->domid, vm->server))
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN,
				"d%u: cannot destroy ioreq server %u: %s", vm->domid, vm->server,
				strerror(-xen_errno()));
	vm->have_server = 0;
}

static int claim_gap(struct hvabs_be_vm *vm, uint32_t space, uint64_t first, uint64_t last)
{
	struct xen_claim *c = vm->claims[space];
	uint32_t *n = &vm->nclaims[space];

	if (*n == XEN_MAX_CLAIMS)
		return -ENOSPC;
	if (vm->x->xendevicemodel_map_io_range_to_ioreq_server(
		vm->dmod, vm->domid, vm->server, space == HVABS_SPACE_MMIO, first, last)) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot claim %s 0x%llx-0x%llx: %s", vm->domid,
				space == HVABS_SPACE_MMIO ? "MMIO" : "ports",
				(unsigned long long)first, (unsigned long long)last, strerror(-rc));
		return rc;
	}
	uint32_t i = *n;
	while (i > 0 && c[i - 1].first > first) {
		c[i] = c[i - 1];
		i--;
	}
	c[i] = (struct xen_claim){first, last};
	(*n)++;
	return 0;
}

/*
 * Claims [base, base + len) for our ioreq server. The core never unclaims
 * (an unregistered device's accesses reach the bus and find nothing), and Xen
 * refuses a range that overlaps a claimed one, so only the parts not yet
 * claimed are asked for.
 */
int xen_io_claim(struct hvabs_be_vm *vm, uint32_t space, uint64_t base, uint64_t len)
{
	int rc = 0;

	if (space > HVABS_SPACE_MMIO || !len || base + (len - 1) < base ||
	    (space == HVABS_SPACE_PIO && base + len > 0x10000))
		return -EINVAL;
	uint64_t first = base, last = base + (len - 1);
	pthread_mutex_lock(&vm->lock);
	struct xen_claim snap[XEN_MAX_CLAIMS];
	uint32_t n = vm->nclaims[space];
	memcpy(snap, vm->claims[space], n * sizeof(snap[0]));
	uint64_t at = first;
	int covered = 0;
	for (uint32_t i = 0; i < n && !rc && !covered; i++) {
		if (snap[i].last < at)
			continue;
		if (snap[i].first > last)
			break;
		if (snap[i].first > at)
			rc = claim_gap(vm, space, at, snap[i].first - 1);
		if (snap[i].last >= last)
			covered = 1;
		else
			at = snap[i].last + 1;
	}
	if (!rc && !covered)
		rc = claim_gap(vm, space, at, last);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/*
 * ISA lines 0-15 go through set_isa_irq_level, which drives both the vPIC
 * and the vIOAPIC pin (hvm_isa_irq_assert). Xen 4.17 on x86 has no
 * XEN_DMOP_set_irq_level (it is Arm's), so GSIs 16-47 go through the PCI
 * INTx op: bus 0 device d pin p lands on GSI ((d << 2) + (d >> 3) + p) % 32 + 16
 * (hvm_pci_intx_gsi), so d = (gsi - 16) / 4, p = (gsi - 16) % 4 hits gsi
 * exactly. The PCI link routes that would also reach the vPIC are unset
 * without hvmloader.
 */
int xen_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level)
{
	const struct xen_lib *x = vm->x;
	int r;

	if (level > 1 || gsi >= XEN_NR_GSIS)
		return -EINVAL;
	if (!(vm->emu_flags & (XEN_X86_EMU_IOAPIC | XEN_X86_EMU_PIC))) {
		/*
		 * PVH: no PIC or IOAPIC to drive, and Xen must not be asked to
		 * (its ISA path assumes a vPIC). A line kept low is what it is.
		 */
		if (!level)
			return 0;
		if (!atomic_exchange(&vm->irq_noted, 1))
			hvabs_host_logf(
			    vm->host, HVABS_LOG_WARN, XEN,
			    "d%u: the domain has no emulated PIC or IOAPIC (PVH): device "
			    "interrupts are not delivered (GSI %u first)",
			    vm->domid, gsi);
		return -ENOTSUP;
	}
	if (gsi < 16)
		r = x->xendevicemodel_set_isa_irq_level(vm->dmod, vm->domid, (uint8_t)gsi, level);
	else if (vm->emu_flags & XEN_X86_EMU_IOAPIC)
		r = x->xendevicemodel_set_pci_intx_level(vm->dmod, vm->domid, 0, 0,
							 (uint8_t)((gsi - 16) >> 2),
							 (uint8_t)((gsi - 16) & 3), level);
	else
		return -EINVAL;
	if (r) {
		int rc = xen_errno();
		xen_log_guest(vm, "line %u level %u: %s", gsi, level, strerror(-rc));
		return rc;
	}
	return 0;
}

int xen_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data)
{
	if (vm->x->xendevicemodel_inject_msi(vm->dmod, vm->domid, addr, data)) {
		int rc = xen_errno();
		xen_log_guest(vm, "MSI 0x%llx/0x%x: %s", (unsigned long long)addr, data,
			      strerror(-rc));
		return rc;
	}
	return 0;
}

/* The extension's codes are Xen's own (public/sched.h). */
_Static_assert(HVABS_XEN_SHUTDOWN_POWEROFF == SHUTDOWN_poweroff &&
		   HVABS_XEN_SHUTDOWN_REBOOT == SHUTDOWN_reboot &&
		   HVABS_XEN_SHUTDOWN_SUSPEND == SHUTDOWN_suspend &&
		   HVABS_XEN_SHUTDOWN_CRASH == SHUTDOWN_crash &&
		   HVABS_XEN_SHUTDOWN_WATCHDOG == SHUTDOWN_watchdog &&
		   HVABS_XEN_SHUTDOWN_SOFT_RESET == SHUTDOWN_soft_reset &&
		   SHUTDOWN_MAX == SHUTDOWN_soft_reset,
	       "HVABS_XEN_SHUTDOWN_* are Xen's SHUTDOWN_*");

static uint32_t ext_domid(void *ctx)
{
	return ((struct hvabs_be_vm *)ctx)->domid;
}

/*
 * As QEMU's destroy_hvm_domain(): Xen marks the domain shutting down and
 * stops its vCPUs, deferring any that waits for an ioreq until it has its
 * answer. A domain already shutting down keeps its first reason.
 */
static int shutdown_domain(struct hvabs_be_vm *vm, uint32_t reason)
{
	if (reason > SHUTDOWN_MAX)
		return -EINVAL;
	if (atomic_load(&vm->gone))
		return -ESRCH;
	if (vm->x->xendevicemodel_shutdown(vm->dmod, vm->domid, reason)) {
		int rc = xen_errno();
		if (rc != -ESRCH)
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
					"d%u: shutdown (reason %u): %s", vm->domid, reason,
					strerror(-rc));
		return rc;
	}
	hvabs_host_logf(vm->host, HVABS_LOG_INFO, XEN, "d%u: shut down with reason %u", vm->domid,
			reason);
	return 0;
}

static int ext_shutdown(void *ctx, uint32_t reason)
{
	return shutdown_domain(ctx, reason);
}

static const struct hvabs_xen_ext ext_v1 = {
    .hdr = {HVABS_ABI_CURRENT, sizeof(struct hvabs_xen_ext)},
    .domid = ext_domid,
    .shutdown = ext_shutdown,
};

int xen_vm_get_ext(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx)
{
	if (strcmp(name, HVABS_XEN_EXT_NAME))
		return -ENOENT;
	*table = &ext_v1;
	*ctx = vm;
	return 0;
}

/*
 * The guest's power-off, reset or crash, as hvabs' devices saw it, becomes
 * the domain's shutdown reason: in attach mode the toolstack acts on it
 * (xl's on_poweroff, on_reboot, on_crash), in direct mode it stops the
 * guest's vCPUs at once. A stop of the host's own (a signal, a timeout, an
 * error of the VMM) is not the guest's: the domain is left as it is.
 */
int xen_vm_stop(struct hvabs_be_vm *vm, uint32_t reason)
{
	uint32_t code;

	switch (reason) {
	case HVABS_STOP_POWEROFF:
		code = SHUTDOWN_poweroff;
		break;
	case HVABS_STOP_RESET:
		code = SHUTDOWN_reboot;
		break;
	case HVABS_STOP_CRASH:
		code = SHUTDOWN_crash;
		break;
	case HVABS_STOP_HOST:
		return 0;
	default:
		return -EINVAL;
	}
	int rc = shutdown_domain(vm, code);
	return rc == -ESRCH ? 0 : rc; /* gone already: nothing left to tell */
}
