/* SPDX-License-Identifier: Apache-2.0 */
/*
 * State blobs. Both start with a magic, a version and their own size, and
 * are checked as a whole before anything is restored; restore them only into
 * a VM (vCPU) of the same shape: with or without the in-kernel irqchip.
 *
 * VM blob (state_version 1): the kvmclock (KVM_GET_CLOCK), the lines of a VM
 * without irqchip, and with it both PICs, the IOAPIC (KVM_GET_IRQCHIP) and the
 * PIT (KVM_GET_PIT2). vCPU blob: registers, segment registers and x87/SSE
 * state in hvabs form, KVM's pending-event record (KVM_GET_VCPU_EVENTS), the
 * multiprocessing state, the local APIC page (with the irqchip) and the MSRs
 * of the list below that this host can read. Not included: XSAVE state beyond
 * SSE (AVX and later), XCR0 and debug registers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"
#include "save_msrs.h"

#define VM_MAGIC   0x4d564b48u /* "HKVM" */
#define VCPU_MAGIC 0x43564b48u /* "HKVC" */
#define BLOB_V1	   1u
#define F_IRQCHIP  (1u << 0)

struct vm_blob {
	uint32_t magic;
	uint32_t version;
	uint32_t size;
	uint32_t flags;
	uint64_t clock_ns;
	uint32_t irq_levels;
	uint32_t irq_pending;
	struct kvm_irqchip chip[3]; /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
};

/* MSRs a guest's OS programs and expects back, architectural then KVM's own. */
static const uint32_t save_msrs[] = {
    SAVE_MSRS_ARCH, 0x11, /* MSR_KVM_WALL_CLOCK */
    0x12,		  /* MSR_KVM_SYSTEM_TIME */
    0x4b564d00,		  /* MSR_KVM_WALL_CLOCK_NEW */
    0x4b564d01,		  /* MSR_KVM_SYSTEM_TIME_NEW */
    0x4b564d02,		  /* MSR_KVM_ASYNC_PF_EN */
    0x4b564d03,		  /* MSR_KVM_STEAL_TIME */
    0x4b564d04,		  /* MSR_KVM_PV_EOI_EN */
    /* Only with the in-kernel LAPIC: KVM reads them without one but refuses writes. */
    0x4b564d06, /* MSR_KVM_ASYNC_PF_INT */
    0x6e0,	/* IA32_TSC_DEADLINE: restored after the LAPIC, which decides its mode */
};
#define NR_SAVE_MSRS  (sizeof(save_msrs) / sizeof(save_msrs[0]))
#define NR_LAPIC_MSRS 2u

struct vcpu_blob {
	uint32_t magic;
	uint32_t version;
	uint32_t size;
	uint32_t flags;
	uint32_t nmsrs;
	uint32_t mp_state;
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
	struct hvabs_fpu fpu;
	struct kvm_vcpu_events events;
	struct hvabs_lapic lapic; /* zero without the irqchip */
	struct hvabs_msr_entry msrs[NR_SAVE_MSRS];
};

/* Common size handshake: -ENOSPC with *len set to what is needed. */
static int check_room(void *buf, size_t *len, size_t need)
{
	if (!buf || *len < need) {
		*len = need;
		return -ENOSPC;
	}
	return 0;
}

int kvm_get_state(struct hvabs_be_vm *vm, void *buf, size_t *len)
{
	struct kvm_clock_data clk;
	struct vm_blob *b;
	int rc = check_room(buf, len, sizeof(*b));

	if (rc)
		return rc;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (struct vm_blob){.magic = VM_MAGIC, .version = BLOB_V1, .size = sizeof(*b)};
	memset(&clk, 0, sizeof(clk));
	rc = kvm_vm_ioctl(vm, KVM_GET_CLOCK, &clk);
	b->clock_ns = clk.clock;
	for (uint32_t i = 0; i < 3 && !rc && vm->irqchip; i++) {
		b->chip[i].chip_id = i; /* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
		rc = kvm_vm_ioctl(vm, KVM_GET_IRQCHIP, &b->chip[i]);
	}
	if (!rc && vm->irqchip) {
		b->flags |= F_IRQCHIP;
		rc = kvm_vm_ioctl(vm, KVM_GET_PIT2, &b->pit);
	}
	pthread_mutex_lock(&vm->lock);
	b->irq_levels = vm->irq_levels;
	b->irq_pending = atomic_load(&vm->irq_pending);
	pthread_mutex_unlock(&vm->lock);
	if (!rc) {
		memcpy(buf, b, sizeof(*b));
		*len = sizeof(*b);
	}
	free(b);
	return rc;
}

int kvm_set_state(struct hvabs_be_vm *vm, const void *buf, size_t len)
{
	struct vm_blob *b;
	int rc = 0;

	if (len != sizeof(*b))
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b, buf, sizeof(*b));
	uint32_t lines = (uint32_t)((1ull << KVM_NR_GSIS) - 1);
	if (b->magic != VM_MAGIC || b->version != BLOB_V1 || b->size != sizeof(*b) ||
	    (b->flags & ~F_IRQCHIP) || !!(b->flags & F_IRQCHIP) != !!vm->irqchip ||
	    (b->irq_levels | b->irq_pending) & ~lines)
		rc = -EINVAL;
	for (uint32_t i = 0; i < 3 && !rc && vm->irqchip; i++)
		rc = b->chip[i].chip_id == i ? kvm_vm_ioctl(vm, KVM_SET_IRQCHIP, &b->chip[i])
					     : -EINVAL;
	if (!rc && vm->irqchip)
		rc = kvm_vm_ioctl(vm, KVM_SET_PIT2, &b->pit);
	if (!rc) {
		/* Flags 0: set the clock to the saved value, as if no time had passed. */
		struct kvm_clock_data clk = {.clock = b->clock_ns};
		rc = kvm_vm_ioctl(vm, KVM_SET_CLOCK, &clk);
	}
	if (!rc && !vm->irqchip) {
		pthread_mutex_lock(&vm->lock);
		vm->irq_levels = b->irq_levels;
		atomic_store(&vm->irq_pending, b->irq_pending);
		if (b->irq_pending && vm->vcpus[0])
			kvm_vcpu_poke(vm->vcpus[0], KVM_REQ_IRQ);
		pthread_mutex_unlock(&vm->lock);
	}
	if (rc)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "VM state refused: %s",
				strerror(-rc));
	free(b);
	return rc;
}

/* Reads every MSR of the list that this host has; skips the ones it refuses. */
static int read_msrs(struct hvabs_be_vcpu *v, struct vcpu_blob *b)
{
	struct kvm_msrs *k = calloc(1, sizeof(*k) + NR_SAVE_MSRS * sizeof(k->entries[0]));
	uint32_t total = (uint32_t)NR_SAVE_MSRS - (v->vm->irqchip ? 0 : NR_LAPIC_MSRS);
	uint32_t next = 0;

	if (!k)
		return -ENOMEM;
	b->nmsrs = 0;
	while (next < total) {
		k->nmsrs = total - next;
		for (uint32_t i = 0; i < k->nmsrs; i++)
			k->entries[i] = (struct kvm_msr_entry){.index = save_msrs[next + i]};
		int got = kvm_vcpu_ioctl(v, KVM_GET_MSRS, k);
		if (got < 0) {
			free(k);
			return got;
		}
		for (int i = 0; i < got; i++)
			b->msrs[b->nmsrs++] = (struct hvabs_msr_entry){.index = k->entries[i].index,
								       .data = k->entries[i].data};
		next += (uint32_t)got + 1; /* entry `got` was refused: not on this host */
	}
	free(k);
	return 0;
}

int kvm_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len)
{
	struct kvm_mp_state mp = {0};
	struct vcpu_blob *b;
	int rc = check_room(buf, len, sizeof(*b));

	if (rc)
		return rc;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->magic = VCPU_MAGIC;
	b->version = BLOB_V1;
	b->size = sizeof(*b);
	b->regs.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	b->sregs.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	b->fpu.hdr = HVABS_HDR_INIT(struct hvabs_fpu);
	b->lapic.hdr = HVABS_HDR_INIT(struct hvabs_lapic);
	rc = kvm_get_regs(v, &b->regs);
	if (!rc)
		rc = kvm_get_sregs(v, &b->sregs);
	if (!rc)
		rc = kvm_get_fpu(v, &b->fpu);
	if (!rc)
		rc = kvm_vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &b->events);
	if (!rc)
		rc = kvm_vcpu_ioctl(v, KVM_GET_MP_STATE, &mp);
	b->mp_state = mp.mp_state;
	if (!rc && v->vm->irqchip) {
		b->flags |= F_IRQCHIP;
		rc = kvm_get_lapic(v, &b->lapic);
	}
	if (!rc)
		rc = read_msrs(v, b);
	if (!rc) {
		memcpy(buf, b, sizeof(*b));
		*len = sizeof(*b);
	}
	free(b);
	return rc;
}

static int check_vcpu_blob(const struct hvabs_be_vcpu *v, const struct vcpu_blob *b)
{
	if (b->magic != VCPU_MAGIC || b->version != BLOB_V1 || b->size != sizeof(*b) ||
	    (b->flags & ~F_IRQCHIP) || !!(b->flags & F_IRQCHIP) != !!v->vm->irqchip ||
	    b->nmsrs > NR_SAVE_MSRS)
		return -EINVAL;
	return 0;
}

int kvm_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len)
{
	struct vcpu_blob *b;
	int rc;

	if (len != sizeof(*b))
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b, buf, sizeof(*b));
	rc = check_vcpu_blob(v, b);
	/* Segment registers (and APIC base) first, the LAPIC before the MSRs, events last. */
	if (!rc)
		rc = kvm_set_sregs(v, &b->sregs);
	if (!rc)
		rc = kvm_set_regs(v, &b->regs);
	if (!rc)
		rc = kvm_set_fpu(v, &b->fpu);
	if (!rc && v->vm->irqchip)
		rc = kvm_set_lapic(v, &b->lapic);
	if (!rc)
		rc = kvm_set_msrs(v, b->msrs, b->nmsrs);
	if (!rc) {
		struct kvm_mp_state mp = {.mp_state = b->mp_state};
		rc = kvm_vcpu_ioctl(v, KVM_SET_MP_STATE, &mp);
	}
	if (!rc)
		rc = kvm_vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &b->events);
	if (rc)
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, KVM, "vcpu%u: state refused: %s",
				v->index, strerror(-rc));
	free(b);
	return rc;
}
