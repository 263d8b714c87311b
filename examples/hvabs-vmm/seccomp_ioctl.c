/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ioctls each kind of hvabs-vmm thread may make. KVM's are listed one
 * by one, split between running a VM (vCPU, event loop, API, I/O threads)
 * and building one (the main thread); the numbers come from <linux/kvm.h>.
 * Xen's requests go through its libraries (libxenctrl, libxenevtchn,
 * libxenforeignmemory, libxendevicemodel, libxengnttab), whose exact
 * lists vary by version: there we allow every request of the privcmd,
 * evtchn and gntdev ioctl types, and for MSHV every request of its type
 * (0xB8), on any fd. Terminal requests are for the console's raw mode.
 */
#include <errno.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "seccomp_priv.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The type byte of an ioctl request (_IOC_TYPE), as a mask for a comparison. */
#define IOC_TYPE_MASK 0xff00ull

/* What a running VM needs: run, kick, interrupts, state for the report and the API. */
static const unsigned long kvm_run[] = {
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_TRANSLATE,
    KVM_INTERRUPT,
    KVM_GET_MSRS,
    KVM_SET_MSRS,
    KVM_GET_FPU,
    KVM_SET_FPU,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS,
    KVM_SET_SIGNAL_MASK,
    KVM_IRQ_LINE,
    KVM_SIGNAL_MSI,
    KVM_GET_MP_STATE,
    KVM_SET_MP_STATE,
    KVM_GET_LAPIC,
    KVM_GET_XSAVE,
    KVM_GET_CLOCK,
    KVM_GET_DIRTY_LOG,
    KVM_IRQFD,
    KVM_IOEVENTFD,
    KVM_SET_GSI_ROUTING,
};

/* What building (and tearing down) a VM needs on top. */
static const unsigned long kvm_build[] = {
    KVM_GET_API_VERSION,
    KVM_CHECK_EXTENSION,
    KVM_CREATE_VM,
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_GET_SUPPORTED_CPUID,
    KVM_CREATE_VCPU,
    KVM_SET_CPUID2,
    KVM_SET_USER_MEMORY_REGION,
    KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CREATE_IRQCHIP,
    KVM_CREATE_PIT2,
    KVM_GET_PIT2,
    KVM_SET_PIT2,
    KVM_GET_IRQCHIP,
    KVM_SET_IRQCHIP,
    KVM_SET_LAPIC,
    KVM_SET_XSAVE,
    KVM_SET_CLOCK,
};

/* The console's terminal (raw mode and its restore) and fd flags. */
static const unsigned long tty[] = {TCGETS,	TCSETS,	 TCSETSW, TCSETSF,
				    TIOCGWINSZ, FIONBIO, FIONREAD};

/* A disk on a block device (its size), a tap's offloads once the guest chose its features. */
static const unsigned long dev_run[] = {BLKGETSIZE64, BLKSSZGET, TUNSETOFFLOAD};

/* Opening a tap device. */
static const unsigned long dev_build[] = {TUNSETIFF, TUNSETVNETHDRSZ};

static int allow(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* ioctl's request is an int in the kernel: compare the low 32 bits only. */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffull, req[i]));
		if (rc)
			return rc;
	}
	return 0;
}

static int allow_type(scmp_filter_ctx ctx, unsigned type)
{
	return seccomp_rule_add(
	    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, IOC_TYPE_MASK, (unsigned long long)type << 8));
}

static int add_hv(scmp_filter_ctx ctx, enum vmm_seccomp_hv hv, bool build)
{
	int rc = 0;

	switch (hv) {
	case VMM_HV_KVM:
		rc = allow(ctx, kvm_run, N(kvm_run));
		return rc || !build ? rc : allow(ctx, kvm_build, N(kvm_build));
	case VMM_HV_XEN:
		rc = allow_type(ctx, 'P'); /* privcmd: hypercalls, foreign mappings, dm ops */
		if (!rc)
			rc = allow_type(ctx, 'E');     /* evtchn */
		return rc ? rc : allow_type(ctx, 'G'); /* gntdev, gntalloc */
	case VMM_HV_MSHV:
		return allow_type(ctx, 0xB8);
	case VMM_HV_OTHER:
		break;
	}
	return rc;
}

int vmm_seccomp_add_ioctls(scmp_filter_ctx ctx, enum vmm_seccomp_hv hv, enum vmm_thread_kind kind,
			   bool rebuilds)
{
	/* The main thread tears a VM down (close only) and, when it rebuilds, builds the next. */
	bool build = kind == VMM_THREAD_MAIN && rebuilds;
	int rc = add_hv(ctx, hv, build);

	if (!rc)
		rc = allow(ctx, tty, N(tty));
	if (!rc && kind != VMM_THREAD_VCPU)
		rc = allow(ctx, dev_run, N(dev_run));
	if (!rc && kind == VMM_THREAD_VCPU)
		rc = allow(ctx, (const unsigned long[]){TUNSETOFFLOAD}, 1);
	if (!rc && build)
		rc = allow(ctx, dev_build, N(dev_build));
	return rc;
}
