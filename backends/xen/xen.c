/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Xen backend: probe, VM lifetime, options, capabilities and the ops
 * table. hvabs is the device model of one HVM domain: either one it creates
 * ("direct mode") or an existing paused one made by `xl create -p`
 * (options "domid=N", "attach mode"). Xen runs the vCPUs and emulates the
 * LAPIC, IOAPIC, PIC and PIT; accesses to the ranges hvabs claims reach it as
 * ioreqs (xen_ioreq.c, xen_vcpu.c). Memory is in xen_mem.c, the ioreq server
 * and interrupts in xen_io.c, register state in xen_regs.c; vCPUs enter
 * their table through backends/common/vcpu_table.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xen_priv.h"

#include <xen/hvm/params.h>

/*
 * A domU's emulators are all or nothing: Xen 4.17 accepts an HVM domU with
 * every emulator but vPCI, or the LAPIC alone (emulation_flags_ok() in
 * xen/arch/x86/domain.c). We need the IOAPIC, PIC and PIT, so all: Xen's
 * RTC then serves the clock registers (CMOS index 0-13) and forwards the rest
 * to us, and its ACPI PM block sits at 0x1f40, clear of ours at 0x600.
 */
#define EMU_DIRECT (XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI)

uint64_t xen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Keeps the domain paused around a read-modify-write of its state. Returns
 * with *@p held set when this call paused it (release it with xen_release).
 */
int xen_hold(struct hvabs_be_vm *vm, int *held)
{
	int rc = 0;

	*held = 0;
	pthread_mutex_lock(&vm->lock);
	if (!vm->held) {
		pthread_mutex_lock(&vm->xc_lock);
		rc = vm->x->xc_domain_pause(vm->xch, vm->domid) ? xen_errno() : 0;
		pthread_mutex_unlock(&vm->xc_lock);
		*held = rc == 0;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void xen_release(struct hvabs_be_vm *vm, int held)
{
	if (!held)
		return;
	pthread_mutex_lock(&vm->xc_lock);
	if (vm->x->xc_domain_unpause(vm->xch, vm->domid))
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: unpause: %s", vm->domid,
				strerror(-xen_errno()));
	pthread_mutex_unlock(&vm->xc_lock);
}

static int open_xc(const struct xen_lib *x, struct xen_logger *l, xc_interface **out, char *why,
		   size_t why_len)
{
	xc_interface *xch = x->xc_interface_open(&l->xtl, &l->xtl, 0);
	xc_physinfo_t pi;

	if (!xch) {
		int e = -xen_errno();
		snprintf(why, why_len, "cannot open the Xen control interface: %s", strerror(e));
		return e == EACCES || e == EPERM ? -EACCES : -ENODEV;
	}
	memset(&pi, 0, sizeof(pi));
	if (x->xc_physinfo(xch, &pi)) {
		snprintf(why, why_len, "Xen: cannot read the physical host info: %s",
			 strerror(-xen_errno()));
		x->xc_interface_close(xch);
		return -ENODEV;
	}
	/* Debian's Xen has no shadow paging: HVM and PVH guests need HAP (NPT/EPT). */
	if (!(pi.capabilities & XEN_SYSCTL_PHYSCAP_hvm) ||
	    !(pi.capabilities & XEN_SYSCTL_PHYSCAP_hap)) {
		snprintf(why, why_len, "Xen cannot run HVM guests here (no %s)",
			 !(pi.capabilities & XEN_SYSCTL_PHYSCAP_hvm) ? "HVM support"
								     : "hardware-assisted paging");
		x->xc_interface_close(xch);
		return -ENODEV;
	}
	*out = xch;
	return 0;
}

static int probe(const struct hvabs_host *host, char *why, size_t why_len)
{
	const char *seam = getenv(XEN_LIBS_ENV);
	struct xen_logger l;
	xc_interface *xch;

	/* HVABS_XEN_LIBS stands in for the whole hypervisor, /dev/xen included. */
	if (!seam || !*seam) {
		if (access(XEN_PRIVCMD, F_OK)) {
			snprintf(why, why_len, "no %s: not running as a Xen dom0", XEN_PRIVCMD);
			return -ENODEV;
		}
		if (access(XEN_PRIVCMD, R_OK | W_OK)) {
			snprintf(why, why_len, "no permission to open %s (Xen needs root in dom0)",
				 XEN_PRIVCMD);
			return -EACCES;
		}
	}
	const struct xen_lib *x = xen_lib_get(why, why_len);
	if (!x)
		return -ENODEV;
	xen_logger_init(&l, host);
	int rc = open_xc(x, &l, &xch, why, why_len);
	if (rc)
		return rc;
	x->xc_interface_close(xch);
	return 0;
}

static int xen_option(void *ctx, const char *key, const char *val)
{
	struct hvabs_be_vm *vm = ctx;
	int rc = -EINVAL;

	if (val && !strcmp(key, "domid")) {
		/* 0 is dom0, DOMID_FIRST_RESERVED (0x7ff0) and above are special. */
		rc = hvabs_option_u32(val, DOMID_FIRST_RESERVED - 1, &vm->domid);
		if (!rc && vm->domid == 0)
			rc = -EINVAL;
		vm->attach = 1;
	} else if (val && !strcmp(key, "poll_ms")) {
		rc = hvabs_option_u32(val, 60000, &vm->poll_ms);
		if (!rc && vm->poll_ms == 0)
			rc = -EINVAL;
	}
	return rc;
}

/* Backend options: "domid=N" (attach), "poll_ms=N". */
static int parse_options(struct hvabs_be_vm *vm, const char *opts)
{
	return hvabs_options_parse(vm->host, XEN, "domid=N, poll_ms=N", opts, xen_option, vm);
}

static int create_domain(struct hvabs_be_vm *vm)
{
	struct xen_domctl_createdomain c;
	const struct xen_lib *x = vm->x;

	memset(&c, 0, sizeof(c));
	if (getrandom(c.handle, sizeof(c.handle), 0) != (ssize_t)sizeof(c.handle))
		memset(c.handle, 0, sizeof(c.handle)); /* a UUID nobody relies on */
	c.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
	c.max_vcpus = vm->max_vcpus;
	c.max_evtchn_port = 1023; /* libxl's default */
	c.max_grant_frames = -1;  /* Xen's defaults */
	c.max_maptrack_frames = -1;
	c.grant_opts = XEN_DOMCTL_GRANT_version(1);
	c.arch.emulation_flags = EMU_DIRECT;
	if (x->xc_domain_create(vm->xch, &vm->domid, &c)) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "cannot create an HVM domain: %s",
				strerror(-rc));
		return rc;
	}
	vm->created = 1;
	vm->held = 1; /* a new domain starts paused */
	vm->emu_flags = EMU_DIRECT;
	/* createdomain only sizes the vCPU array; this makes the vCPUs (as libxl does). */
	if (x->xc_domain_max_vcpus(vm->xch, vm->domid, vm->max_vcpus)) {
		int rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: cannot make %u vCPUs: %s",
				vm->domid, vm->max_vcpus, strerror(-rc));
		return rc;
	}
	/*
	 * A triple fault crashes the domain (reported as HVABS_EXIT_SHUTDOWN, as
	 * KVM does) instead of Xen's default reboot; and no catch-up of missed
	 * timer ticks, as libxl sets by default.
	 */
	static const struct {
		uint32_t param;
		uint64_t value;
	} params[] = {
	    {HVM_PARAM_TRIPLE_FAULT_REASON, SHUTDOWN_crash},
	    {HVM_PARAM_TIMER_MODE, HVMPTM_no_delay_for_missed_ticks},
	};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (x->xc_hvm_param_set(vm->xch, vm->domid, params[i].param, params[i].value)) {
			int rc = xen_errno();
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: HVM param %u: %s",
					vm->domid, params[i].param, strerror(-rc));
			return rc;
		}
	return 0;
}

/* Attach mode: the domain must exist, be HVM or PVH, alive, with our vCPU count. */
static int attach_domain(struct hvabs_be_vm *vm)
{
	xc_dominfo_t di;

	memset(&di, 0, sizeof(di));
	int n = vm->x->xc_domain_getinfo(vm->xch, vm->domid, 1, &di);
	if (n != 1 || di.domid != vm->domid) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "domain %u does not exist",
				vm->domid);
		return -ENOENT;
	}
	if (!di.hvm || di.dying || di.shutdown || di.crashed) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"domain %u is %s: attach needs a live HVM or PVH domain", vm->domid,
				!di.hvm ? "a PV domain" : "shutting down");
		return -EINVAL;
	}
	if (di.max_vcpu_id + 1 != vm->max_vcpus) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"domain %u has %u vCPUs but the VM was made with %u: every vCPU "
				"needs serving (hvabs-vmm --cpus %u)",
				vm->domid, di.max_vcpu_id + 1, vm->max_vcpus, di.max_vcpu_id + 1);
		return -EINVAL;
	}
	vm->emu_flags = di.arch_config.emulation_flags;
	vm->held = di.paused;
	if (!di.paused)
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN,
				"domain %u is running: its I/O before now went unserved (create it "
				"with xl create -p)",
				vm->domid);
	return 0;
}

static int open_handles(struct hvabs_be_vm *vm)
{
	char why[256];
	const struct xen_lib *x = vm->x;
	int rc = open_xc(x, &vm->logger, &vm->xch, why, sizeof(why));

	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "%s", why);
		return rc;
	}
	vm->dmod = x->xendevicemodel_open(&vm->logger.xtl, 0);
	if (!vm->dmod) {
		rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "xendevicemodel_open: %s",
				strerror(-rc));
		return rc;
	}
	vm->fmem = x->xenforeignmemory_open(&vm->logger.xtl, 0);
	if (!vm->fmem) {
		rc = xen_errno();
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "xenforeignmemory_open: %s",
				strerror(-rc));
		return rc;
	}
	return 0;
}

/* Tears down whatever vm_create got to, in reverse order; vCPUs are gone already. */
static void vm_destroy(struct hvabs_be_vm *vm)
{
	if (!vm)
		return;
	const struct xen_lib *x = vm->x;
	if (vm->xch && vm->created && !vm->held && !atomic_load(&vm->gone)) {
		/* Stop the guest before its device model goes. */
		pthread_mutex_lock(&vm->xc_lock);
		if (!x->xc_domain_pause(vm->xch, vm->domid))
			vm->held = 1;
		pthread_mutex_unlock(&vm->xc_lock);
	}
	xen_server_close(vm);
	xen_mem_fini(vm);
	if (vm->created) {
		if (x->xc_domain_destroy(vm->xch, vm->domid) && !atomic_load(&vm->gone))
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: destroy: %s",
					vm->domid, strerror(-xen_errno()));
	} else if (vm->attach && vm->started && vm->user_paused && vm->held) {
		/* Our own pause is ours to release; the guest goes on without us. */
		x->xc_domain_unpause(vm->xch, vm->domid);
	}
	if (vm->fmem)
		x->xenforeignmemory_close(vm->fmem);
	if (vm->dmod)
		x->xendevicemodel_close(vm->dmod);
	if (vm->xch)
		x->xc_interface_close(vm->xch);
	xen_ram_fini(&vm->ram);
	pthread_mutex_destroy(&vm->xc_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static int vm_create(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
		     struct hvabs_be_vm **out)
{
	char why[512];
	struct hvabs_be_vm *vm;

	if (!cfg || !HVABS_HAS_FIELD(cfg, options) || cfg->max_vcpus == 0)
		return -EINVAL;
	if (cfg->max_vcpus > XEN_MAX_VCPUS) {
		hvabs_host_logf(host, HVABS_LOG_ERROR, XEN,
				"%u vCPUs requested, an ioreq server serves at most %u",
				cfg->max_vcpus, XEN_MAX_VCPUS);
		return -EINVAL;
	}
	const struct xen_lib *x = xen_lib_get(why, sizeof(why));
	if (!x) {
		hvabs_host_logf(host, HVABS_LOG_ERROR, XEN, "%s", why);
		return -ENODEV;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->host = host;
	vm->x = x;
	vm->max_vcpus = cfg->max_vcpus;
	vm->poll_ms = XEN_POLL_MS;
	xen_logger_init(&vm->logger, host);
	xen_ram_init(&vm->ram);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->xc_lock, NULL);
	/* HVABS_VM_F_IRQCHIP changes nothing: an HVM domain always has Xen's. */
	int rc = parse_options(vm, cfg->options);
	if (!rc)
		rc = open_handles(vm);
	if (!rc)
		rc = vm->attach ? attach_domain(vm) : create_domain(vm);
	if (!rc)
		rc = xen_server_open(vm);
	if (rc) {
		vm_destroy(vm);
		return rc;
	}
	hvabs_host_logf(host, HVABS_LOG_INFO, XEN, "%s domain %u, ioreq server %u",
			vm->attach ? "attached to" : "created", vm->domid, vm->server);
	*out = vm;
	return 0;
}

/* Each claim here is checked by the contract suite: claim what works, nothing else. */
static int vm_get_caps(struct hvabs_be_vm *vm, struct hvabs_caps *caps)
{
	struct hvabs_caps c;

	memset(&c, 0, sizeof(c));
	c.hdr = (struct hvabs_hdr){HVABS_ABI_CURRENT, (uint32_t)sizeof(c)};
	c.max_vcpus = vm->attach ? vm->max_vcpus : XEN_MAX_VCPUS;
	c.irqchip = 0;
	if (vm->emu_flags & XEN_X86_EMU_LAPIC)
		c.irqchip |= HVABS_IRQCHIP_LAPIC;
	if (vm->emu_flags & XEN_X86_EMU_IOAPIC)
		c.irqchip |= HVABS_IRQCHIP_IOAPIC;
	if (vm->emu_flags & XEN_X86_EMU_PIC)
		c.irqchip |= HVABS_IRQCHIP_PIC;
	if (vm->emu_flags & XEN_X86_EMU_PIT)
		c.irqchip |= HVABS_IRQCHIP_PIT;
	c.features =
	    HVABS_CAP_IO_CLAIM | HVABS_CAP_MSI | HVABS_CAP_PAUSE | HVABS_CAP_FPU | HVABS_CAP_CLOCK;
	/* Xen gives HVM vCPU i the LAPIC ID 2i (hvm_vcpu_initialise); the tables must say so. */
	c.apic_id_stride = 2;
	c.nr_irqs = (vm->emu_flags & XEN_X86_EMU_IOAPIC) ? XEN_NR_GSIS
		    : (vm->emu_flags & XEN_X86_EMU_PIC)	 ? 16
							 : 0;
	size_t n = caps->hdr.struct_size < sizeof(c) ? caps->hdr.struct_size : sizeof(c);
	memcpy(caps, &c, n);
	caps->hdr = c.hdr;
	return 0;
}

/* The domain's wall clock, for the RTC hvabs serves where Xen does not (PVH). */
static int xen_get_clock(struct hvabs_be_vm *vm, uint64_t *ns)
{
	return vm->x->wall_clock(vm->domid, ns);
}

static const struct hvabs_backend_ops xen_ops = {
    .hdr = {HVABS_ABI_CURRENT, sizeof(struct hvabs_backend_ops)},
    .name = "xen",
    .description = "Xen 4.17 HVM/PVH domain served through an ioreq server",
    .probe = probe,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_get_caps = vm_get_caps,
    .mem_alloc = xen_mem_alloc,
    .irq_line = xen_irq_line,
    .vcpu_create = xen_vcpu_create,
    .vcpu_destroy = xen_vcpu_destroy,
    .vcpu_run = xen_vcpu_run,
    .vcpu_kick = xen_vcpu_kick,
    .get_regs = xen_get_regs,
    .set_regs = xen_set_regs,
    .get_sregs = xen_get_sregs,
    .set_sregs = xen_set_sregs,
    .mem_map = NULL, /* Xen owns guest RAM: the VMM cannot bring its own */
    .mem_unmap = xen_mem_unmap,
    .io_claim = xen_io_claim,
    .msi = xen_msi,
    .irqfd = NULL, /* the core's fallback: an event-loop watcher calls irq_line */
    .ioeventfd = NULL,
    .dirty_log = NULL,
    .pause = xen_pause,
    .resume = xen_resume,
    .get_state = NULL,
    .set_state = NULL,
    .get_fpu = xen_get_fpu,
    .set_fpu = xen_set_fpu,
    .get_msrs = NULL,
    .set_msrs = NULL,
    .get_supported_cpuid = NULL,
    .set_cpuid = NULL,
    .get_lapic = NULL,
    .set_lapic = NULL,
    .vcpu_get_state = NULL,
    .vcpu_set_state = NULL,
    .get_clock = xen_get_clock,
    .vm_get_ext = xen_vm_get_ext,
    .vm_stop = xen_vm_stop,
};

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	if (!host || HVABS_ABI_VERSION_MAJOR(host->hdr.abi_version) != HVABS_ABI_MAJOR)
		return NULL;
	return &xen_ops;
}
