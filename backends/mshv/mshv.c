/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MSHV backend: Linux's /dev/mshv root-partition interface (upstream
 * since Linux 6.15) to the Microsoft Hypervisor. Probe, partition lifetime,
 * capabilities, options and the ops table live here; memory in mshv_mem.c,
 * registers in mshv_regs.c, vCPUs and kicks in mshv_vcpu.c, intercept
 * messages in mshv_exit.c (port I/O in mshv_pio.c, MMIO emulation in
 * mshv_emul.c, CPUID and MSRs in mshv_cpuid.c), interrupts in mshv_irq.c,
 * the vCPU state blob in mshv_state.c.
 * Every system call goes through the seam in mshv_sys.c (on
 * backends/common/sys_seam.c); the vCPU-create skeleton, guest RAM and the
 * kick signal come from backends/common too. docs/mshv.md has the design
 * and what is verified only against the fake.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mshv_priv.h"

/* Opens /dev/mshv and says why not in words a user can act on. */
static int open_dev(const struct sys_seam *sys, char *why, size_t why_len, int *out)
{
	int fd = sys->open(MSHV_DEV_DEFAULT, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	int e = errno;
	if (e == EACCES || e == EPERM) {
		snprintf(why, why_len,
			 "no permission to open " MSHV_DEV_DEFAULT
			 " (it is mode 0600: run as root)");
		return -EACCES;
	}
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		snprintf(why, why_len,
			 "no " MSHV_DEV_DEFAULT
			 ": not running as the Microsoft Hypervisor root partition");
	else
		snprintf(why, why_len, "cannot open " MSHV_DEV_DEFAULT ": %s", strerror(e));
	return -ENODEV;
}

static int probe(const struct hvabs_host *host, char *why, size_t why_len)
{
	const struct sys_seam *sys;
	int fd = -1;
	int rc = mshv_sys_select(host, &sys, why, why_len);

	if (!rc)
		rc = open_dev(sys, why, why_len, &fd);
	if (rc)
		return rc;
	sys->close(fd);
	return 0;
}

static int mshv_option(void *ctx, const char *key, const char *val)
{
	struct hvabs_be_vm *vm = ctx;
	uint32_t u = 0;
	int rc = -EINVAL;

	if (val && !strcmp(key, "regpage") && !(rc = hvabs_option_u32(val, 1, &u)))
		vm->use_regpage = (int)u;
	else if (val && !strcmp(key, "max_reps") && !(rc = hvabs_option_u32(val, UINT32_MAX, &u)) &&
		 u >= 1)
		vm->max_reps = u;
	else
		rc = -EINVAL;
	return rc;
}

/* Backend options: "regpage=0|1,max_reps=N" (docs/mshv.md). */
static int parse_options(struct hvabs_be_vm *vm, const char *opts)
{
	return hvabs_options_parse(vm->host, MSHV, NULL, opts, mshv_option, vm);
}

/*
 * Partition creation as Cloud Hypervisor does it for a Linux guest: local
 * APICs with x2APIC, large pages allowed; then, while the partition is not
 * yet initialized, the synthetic (Hyper-V enlightenment) features; then
 * MSHV_INITIALIZE_PARTITION; then unimplemented MSRs read as zero and
 * ignore writes instead of raising #GP.
 */
static int create_partition(struct hvabs_be_vm *vm)
{
	char why[256];
	int dev = -1;
	int rc = open_dev(vm->sys, why, sizeof(why), &dev);

	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV, "%s", why);
		return rc;
	}
	struct mshv_create_partition_args cp = {
	    .pt_flags = (1ull << MSHV_PT_BIT_LAPIC) | (1ull << MSHV_PT_BIT_X2APIC) |
			(1ull << MSHV_PT_BIT_GPA_SUPER_PAGES),
	    .pt_isolation = MSHV_PT_ISOLATION_NONE,
	};
	rc = mshv_ioctl(vm->sys, dev, MSHV_IOC_CREATE_PARTITION, &cp);
	vm->sys->close(dev);
	if (rc < 0) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV, "MSHV_CREATE_PARTITION: %s",
				strerror(-rc));
		return rc;
	}
	vm->pt_fd = rc;
	rc = mshv_set_property(vm, MSHV_PROP_SYNTHETIC_PROC_FEATURES, MSHV_SYNFEAT_LINUX_GUEST);
	if (rc)
		return rc;
	rc = mshv_ioctl(vm->sys, vm->pt_fd, MSHV_IOC_INITIALIZE_PARTITION, NULL);
	if (rc < 0) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV, "MSHV_INITIALIZE_PARTITION: %s",
				strerror(-rc));
		return rc;
	}
	return mshv_set_property(vm, MSHV_PROP_UNIMPLEMENTED_MSR_ACTION,
				 MSHV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO);
}

static void vm_destroy(struct hvabs_be_vm *vm)
{
	if (!vm)
		return;
	mshv_irq_fini(vm);
	mshv_mem_fini(vm);
	if (vm->pt_fd >= 0)
		vm->sys->close(vm->pt_fd);
	free(vm->vcpus);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	pthread_rwlock_destroy(&vm->mem_lock);
	pthread_rwlock_destroy(&vm->sink_lock);
	free(vm);
}

/* Each claim here is checked by the contract suite: claim what works, nothing else. */
static uint64_t features(void)
{
	return HVABS_CAP_MSI | HVABS_CAP_IOEVENTFD_MMIO | HVABS_CAP_IOEVENTFD_DATAMATCH |
	       HVABS_CAP_READONLY_MEM | HVABS_CAP_MEM_MAP | HVABS_CAP_DIRTY_LOG |
	       HVABS_CAP_INSN_EMULATION | HVABS_CAP_FPU | HVABS_CAP_MSRS | HVABS_CAP_CPUID |
	       HVABS_CAP_LAPIC | HVABS_CAP_PAUSE | HVABS_CAP_VCPU_STATE;
}

static int vm_create(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
		     struct hvabs_be_vm **out)
{
	struct hvabs_be_vm *vm = calloc(1, sizeof(*vm));
	char why[256];
	int rc;

	if (!vm)
		return -ENOMEM;
	vm->host = host;
	vm->pt_fd = -1;
	vm->use_regpage = 1;
	vm->max_reps = MSHV_MAX_REPS_DEFAULT;
	vm->features = features();
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_rwlock_init(&vm->mem_lock, NULL);
	pthread_rwlock_init(&vm->sink_lock, NULL);
	vm->max_vcpus = cfg->max_vcpus ? cfg->max_vcpus : 1;
	if (HVABS_HAS_FIELD(cfg, io))
		vm->io = cfg->io;
	rc = vm->max_vcpus > MSHV_MAX_VCPUS ? -EINVAL : 0;
	if (!rc)
		rc = parse_options(vm, HVABS_HAS_FIELD(cfg, options) ? cfg->options : NULL);
	if (!rc) {
		rc = mshv_sys_select(host, &vm->sys, why, sizeof(why));
		if (rc)
			hvabs_host_logf(host, HVABS_LOG_ERROR, MSHV, "%s", why);
	}
	if (!rc) {
		vm->vcpus = calloc(vm->max_vcpus, sizeof(*vm->vcpus));
		rc = vm->vcpus ? 0 : -ENOMEM;
	}
	if (!rc)
		rc = mshv_irq_init(vm);
	if (!rc)
		rc = mshv_signal_init(host, &vm->kick_sig);
	if (!rc)
		rc = create_partition(vm);
	if (rc) {
		vm_destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

static int vm_get_caps(struct hvabs_be_vm *vm, struct hvabs_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->hdr = HVABS_HDR_INIT(struct hvabs_caps);
	caps->max_vcpus = MSHV_MAX_VCPUS;
	caps->irqchip = HVABS_IRQCHIP_LAPIC;
	caps->features = vm->features;
	caps->nr_irqs = MSHV_NR_GSIS;
	return 0;
}

static const struct hvabs_backend_ops mshv_ops = {
    .hdr = HVABS_HDR_INIT(struct hvabs_backend_ops),
    .name = MSHV,
    .description = "Microsoft Hypervisor through Linux /dev/mshv (root partition)",
    .probe = probe,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_get_caps = vm_get_caps,
    .mem_alloc = mshv_mem_alloc,
    .irq_line = mshv_irq_line,
    .vcpu_create = mshv_vcpu_create,
    .vcpu_destroy = mshv_vcpu_destroy,
    .vcpu_run = mshv_vcpu_run,
    .vcpu_kick = mshv_vcpu_kick,
    .get_regs = mshv_get_regs,
    .set_regs = mshv_set_regs,
    .get_sregs = mshv_get_sregs,
    .set_sregs = mshv_set_sregs,
    .mem_map = mshv_mem_map,
    .mem_unmap = mshv_mem_unmap,
    .msi = mshv_msi,
    .ioeventfd = mshv_ioeventfd,
    .dirty_log = mshv_dirty_log,
    .pause = mshv_pause,
    .resume = mshv_resume,
    .get_fpu = mshv_get_fpu,
    .set_fpu = mshv_set_fpu,
    .get_msrs = mshv_get_msrs,
    .set_msrs = mshv_set_msrs,
    .get_supported_cpuid = mshv_get_supported_cpuid,
    .set_cpuid = mshv_set_cpuid,
    .get_lapic = mshv_get_lapic,
    .set_lapic = mshv_set_lapic,
    .vcpu_get_state = mshv_vcpu_get_state,
    .vcpu_set_state = mshv_vcpu_set_state,
    .vm_get_ext = mshv_vm_get_ext,
};

HVABS_BACKEND_EXPORT const struct hvabs_backend_ops *
hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	if (!host || HVABS_ABI_VERSION_MAJOR(host->hdr.abi_version) != HVABS_ABI_MAJOR)
		return NULL;
	return &mshv_ops;
}
