/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM backend: probe, VM lifetime, capabilities, options and the ops
 * table. Memory slots are in kvm_mem.c, interrupts in kvm_irq.c, vCPUs and
 * the run loop in kvm_vcpu.c, register state in kvm_regs.c and the state
 * blobs in kvm_state.c. Only <linux/kvm.h> describes the kernel interface
 * (Documentation/virt/kvm/api.rst is the reference cited as "api.rst").
 * Every call on /dev/kvm and the fds derived from it goes through the VM's
 * syscall seam (backends/common/sys_seam.h), where tests inject failures;
 * the vCPU-create skeleton, guest RAM, the kick signal and the saved MSRs
 * come from backends/common too (README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm_priv.h"

int kvm_check_cap(struct hvabs_be_vm *vm, long cap)
{
	/* The VM ioctl answers for this VM (api.rst 4.4); fall back to /dev/kvm. */
	int fd = vm->vm_fd >= 0 ? vm->vm_fd : vm->kvm_fd;
	int r = sys_seam_ioctl(vm->sys, fd, KVM_CHECK_EXTENSION, (void *)cap);

	return r < 0 ? 0 : r;
}

static const char *dev_path(void)
{
	const char *p = getenv("HVABS_KVM_DEVICE");

	return p && *p ? p : KVM_DEV_DEFAULT;
}

/* Opens the KVM device and checks that it speaks the one API we know. */
static int open_kvm(const struct sys_seam *sys, char *why, size_t why_len, int *out)
{
	const char *path = dev_path();
	int fd = sys->open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM) {
			snprintf(why, why_len,
				 "no permission to open %s (add the user to group kvm)", path);
			return -EACCES;
		}
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			snprintf(why, why_len, "no %s (is the kvm module loaded?)", path);
		else
			snprintf(why, why_len, "cannot open %s: %s", path, strerror(e));
		return -ENODEV;
	}
	int v = sys_seam_ioctl(sys, fd, KVM_GET_API_VERSION, NULL);
	if (v != KVM_API_EXPECTED) {
		if (v < 0)
			snprintf(why, why_len, "%s is not a KVM device (KVM_GET_API_VERSION: %s)",
				 path, strerror(-v));
		else
			snprintf(why, why_len, "%s speaks KVM API version %d, expected %d", path, v,
				 KVM_API_EXPECTED);
		sys->close(fd);
		return -ENODEV;
	}
	/* The run loop relies on these two (api.rst 4.35, 5 "immediate_exit"). */
	static const struct {
		long cap;
		const char *name;
	} need[] = {{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
		    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (sys_seam_ioctl(sys, fd, KVM_CHECK_EXTENSION, (void *)need[i].cap) <= 0) {
			snprintf(why, why_len, "%s lacks %s", path, need[i].name);
			sys->close(fd);
			return -ENODEV;
		}
	*out = fd;
	return 0;
}

static int probe(const struct hvabs_host *host, char *why, size_t why_len)
{
	const struct sys_seam *sys;
	int fd;
	int rc = sys_seam_select(host, KVM, KVM_SYS_ENV, &sys, why, why_len);

	if (!rc)
		rc = open_kvm(sys, why, why_len, &fd);
	if (rc)
		return rc;
	sys->close(fd);
	return 0;
}

static int parse_bool(const char *s, uint32_t *out)
{
	uint32_t v;

	if (hvabs_option_u32(s, 1, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* crosscheck_corrupt=addr|data, a test-only fault in the cross-check (README.md). */
static int parse_corrupt(const char *s, uint32_t *out)
{
	if (!strcmp(s, "addr"))
		*out = KVM_XC_CORRUPT_ADDR;
	else if (!strcmp(s, "data"))
		*out = KVM_XC_CORRUPT_DATA;
	else
		return -EINVAL;
	return 0;
}

static int kvm_option(void *ctx, const char *key, const char *val)
{
	struct hvabs_be_vm *vm = ctx;
	int rc = -EINVAL;

	if (val && !strcmp(key, "irq_base"))
		rc = hvabs_option_u32(val, UINT32_MAX, &vm->irq_base);
	else if (val && !strcmp(key, "crosscheck"))
		rc = parse_bool(val, &vm->xc_enable);
	else if (val && !strcmp(key, "crosscheck_corrupt"))
		rc = parse_corrupt(val, &vm->xc_corrupt);
	return rc;
}

/* Backend options: "key=value,..." (README.md lists them). */
static int parse_options(struct hvabs_be_vm *vm, const char *opts)
{
	int rc = hvabs_options_parse(vm->host, KVM, NULL, opts, kvm_option, vm);

	/* Vectors below 0x10 are CPU exceptions; the 24 lines must fit under 0x100. */
	if (!rc && (vm->irq_base < 0x10 || vm->irq_base > 0x100 - KVM_NR_GSIS)) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"irq_base=0x%x: must lie in 0x10..0x%x", vm->irq_base,
				0x100 - KVM_NR_GSIS);
		rc = -EINVAL;
	}
	return rc;
}

/* The parts of vm_create that talk to /dev/kvm. */
static int open_vm(struct hvabs_be_vm *vm, const struct hvabs_be_vm_config *cfg)
{
	char why[256];
	int rc = sys_seam_select(vm->host, KVM, KVM_SYS_ENV, &vm->sys, why, sizeof(why));

	if (!rc)
		rc = open_kvm(vm->sys, why, sizeof(why), &vm->kvm_fd);
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "%s", why);
		return rc;
	}
	rc = kvm_dev_ioctl(vm, KVM_CREATE_VM, NULL);
	if (rc < 0) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "KVM_CREATE_VM: %s", strerror(-rc));
		return rc;
	}
	vm->vm_fd = rc;
	int sz = kvm_dev_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (sz < (int)sizeof(struct kvm_run))
		return sz < 0 ? sz : -EIO;
	vm->run_size = (size_t)sz;
	/* api.rst 4.4: MAX_VCPUS is the hard limit, NR_VCPUS only a recommendation. */
	int n = kvm_check_cap(vm, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = kvm_check_cap(vm, KVM_CAP_NR_VCPUS);
	vm->kvm_max_vcpus = n > 0 ? (uint32_t)n : 4;
	n = kvm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);
	vm->max_vcpu_id = n > 0 ? (uint32_t)n : vm->kvm_max_vcpus;
	n = kvm_check_cap(vm, KVM_CAP_NR_MEMSLOTS);
	vm->max_slots = n > 0 ? (uint32_t)n : 32;
	n = kvm_check_cap(vm, KVM_CAP_IRQ_ROUTING);
	vm->max_routes = n > 0 ? (uint32_t)n : 0;
	if (cfg->max_vcpus > vm->kvm_max_vcpus) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"%u vCPUs requested but KVM allows at most %u", cfg->max_vcpus,
				vm->kvm_max_vcpus);
		return -EINVAL;
	}
	return 0;
}

/* x86 VM-wide setup: the VMX real-mode pages, then the in-kernel irqchip. */
static int setup_vm(struct hvabs_be_vm *vm, uint32_t flags)
{
	uint64_t ident = KVM_IDENTITY_MAP_GPA;
	int rc = 0;

	/* Both must precede KVM_CREATE_VCPU (api.rst 4.40, 4.60). */
	if (kvm_check_cap(vm, KVM_CAP_SET_IDENTITY_MAP_ADDR))
		rc = kvm_vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	if (!rc)
		rc = kvm_vm_ioctl(vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_GPA);
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "VMX real-mode pages: %s",
				strerror(-rc));
		return rc;
	}
	if (!(flags & HVABS_VM_F_IRQCHIP))
		return 0;
	/* PIC pair + IOAPIC + a LAPIC per vCPU, then the PIT (api.rst 4.24, 4.70). */
	rc = kvm_vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	if (!rc) {
		/* A dummy speaker port 0x61 in the kernel, as the PIT's gate needs. */
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		rc = kvm_vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	}
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "in-kernel irqchip: %s",
				strerror(-rc));
		return rc;
	}
	vm->irqchip = 1;
	return kvm_irq_init(vm);
}

/* Each claim here is checked by the contract suite: claim what works, nothing else. */
static void compute_features(struct hvabs_be_vm *vm)
{
	uint64_t f = HVABS_CAP_MEM_MAP | HVABS_CAP_DIRTY_LOG | HVABS_CAP_FPU | HVABS_CAP_MSRS |
		     HVABS_CAP_CPUID | HVABS_CAP_PAUSE;

	if (kvm_check_cap(vm, KVM_CAP_READONLY_MEM))
		f |= HVABS_CAP_READONLY_MEM;
	if (kvm_check_cap(vm, KVM_CAP_IOEVENTFD))
		f |= HVABS_CAP_IOEVENTFD_PIO | HVABS_CAP_IOEVENTFD_MMIO |
		     HVABS_CAP_IOEVENTFD_DATAMATCH;
	if (kvm_check_cap(vm, KVM_CAP_ADJUST_CLOCK) &&
	    (!vm->irqchip || kvm_check_cap(vm, KVM_CAP_PIT_STATE2)))
		f |= HVABS_CAP_VM_STATE;
	if (kvm_check_cap(vm, KVM_CAP_VCPU_EVENTS) && kvm_check_cap(vm, KVM_CAP_MP_STATE))
		f |= HVABS_CAP_VCPU_STATE;
	if (vm->irqchip) {
		f |= HVABS_CAP_LAPIC;
		if (kvm_check_cap(vm, KVM_CAP_IRQFD))
			f |= HVABS_CAP_IRQFD;
		if (kvm_check_cap(vm, KVM_CAP_SIGNAL_MSI))
			f |= HVABS_CAP_MSI;
	}
	vm->features = f;
	vm->has_xsave = kvm_check_cap(vm, KVM_CAP_XSAVE) > 0;
}

static void vm_destroy(struct hvabs_be_vm *vm)
{
	if (!vm)
		return;
	/* Closing the VM fd drops the irqchip, irqfds, ioeventfds and slots in the kernel. */
	kvm_xcheck_fini(vm);
	if (vm->vm_fd >= 0)
		vm->sys->close(vm->vm_fd);
	kvm_irq_fini(vm);
	kvm_mem_fini(vm);
	if (vm->kvm_fd >= 0)
		vm->sys->close(vm->kvm_fd);
	free(vm->vcpus);
	pthread_cond_destroy(&vm->cond);
	kvm_ratelimit_fini(&vm->rl);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static int vm_create(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
		     struct hvabs_be_vm **out)
{
	struct hvabs_be_vm *vm;
	pthread_condattr_t ca;
	int rc;

	if (!cfg || !HVABS_HAS_FIELD(cfg, options) || cfg->max_vcpus == 0)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->host = host;
	vm->sys = sys_seam_real();
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->irq_base = KVM_IRQ_BASE_DEFAULT;
	vm->max_vcpus = cfg->max_vcpus;
	pthread_mutex_init(&vm->lock, NULL);
	kvm_ratelimit_init(&vm->rl);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->io = HVABS_HAS_FIELD(cfg, io) ? cfg->io : NULL;
	rc = parse_options(vm, cfg->options);
	if (!rc)
		rc = kvm_xcheck_init(vm);
	if (!rc)
		rc = kvm_signal_init(host, &vm->kick_sig);
	if (!rc)
		rc = open_vm(vm, cfg);
	if (!rc)
		rc = setup_vm(vm, cfg->flags);
	if (!rc) {
		vm->vcpus = calloc(vm->max_vcpus, sizeof(*vm->vcpus));
		if (!vm->vcpus)
			rc = -ENOMEM;
	}
	if (rc) {
		kvm_xcheck_discard(vm); /* no summary for a VM that never existed */
		vm_destroy(vm);
		return rc;
	}
	compute_features(vm);
	*out = vm;
	return 0;
}

static int vm_get_caps(struct hvabs_be_vm *vm, struct hvabs_caps *caps)
{
	struct hvabs_caps c;

	memset(&c, 0, sizeof(c));
	c.hdr = (struct hvabs_hdr){HVABS_ABI_CURRENT, (uint32_t)sizeof(c)};
	c.max_vcpus = vm->kvm_max_vcpus;
	c.irqchip = vm->irqchip ? HVABS_IRQCHIP_LAPIC | HVABS_IRQCHIP_IOAPIC | HVABS_IRQCHIP_PIC |
				      HVABS_IRQCHIP_PIT
				: 0;
	c.features = vm->features;
	c.state_version = (vm->features & HVABS_CAP_VM_STATE) ? 1 : 0;
	c.nr_irqs = KVM_NR_GSIS;
	/* Write no more than the caller's struct holds. */
	size_t n = caps->hdr.struct_size < sizeof(c) ? caps->hdr.struct_size : sizeof(c);
	memcpy(caps, &c, n);
	caps->hdr = c.hdr;
	return 0;
}

static const struct hvabs_backend_ops kvm_ops = {
    .hdr = {HVABS_ABI_CURRENT, sizeof(struct hvabs_backend_ops)},
    .name = "kvm",
    .description = "Linux KVM (/dev/kvm)",
    .probe = probe,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_get_caps = vm_get_caps,
    .mem_alloc = kvm_mem_alloc,
    .irq_line = kvm_irq_line,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .get_regs = kvm_get_regs,
    .set_regs = kvm_set_regs,
    .get_sregs = kvm_get_sregs,
    .set_sregs = kvm_set_sregs,
    .mem_map = kvm_mem_map,
    .mem_unmap = kvm_mem_unmap,
    .io_claim = NULL, /* every unclaimed access exits on KVM */
    .msi = kvm_msi,
    .irqfd = kvm_irqfd,
    .ioeventfd = kvm_ioeventfd,
    .dirty_log = kvm_dirty_log,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .get_state = kvm_get_state,
    .set_state = kvm_set_state,
    .get_fpu = kvm_get_fpu,
    .set_fpu = kvm_set_fpu,
    .get_msrs = kvm_get_msrs,
    .set_msrs = kvm_set_msrs,
    .get_supported_cpuid = kvm_get_supported_cpuid,
    .set_cpuid = kvm_set_cpuid,
    .get_lapic = kvm_get_lapic,
    .set_lapic = kvm_set_lapic,
    .vcpu_get_state = kvm_vcpu_get_state,
    .vcpu_set_state = kvm_vcpu_set_state,
    .get_clock = NULL, /* a KVM VM has no wall clock of its own */
    .vm_get_ext = NULL,
};

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	if (!host || HVABS_ABI_VERSION_MAJOR(host->hdr.abi_version) != HVABS_ABI_MAJOR)
		return NULL;
	return &kvm_ops;
}
