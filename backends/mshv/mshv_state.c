/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vCPU state blob: a magic, a version and its own size, then the
 * registers, segment and control registers and x87/SSE state in hvabs form,
 * the hypervisor's pending-interruption and interrupt-state registers (an
 * event being injected, an interrupt shadow), the local APIC page, and the
 * MSRs below. The whole blob is checked before anything is restored. Not
 * included: XSAVE state beyond SSE, debug registers, SynIC and synthetic
 * timer state. There is no VM-wide blob: the only VM-wide device, the I/O
 * APIC, lives in user space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mshv_priv.h"

#define VCPU_MAGIC 0x4356534du /* "MSVC" */
#define BLOB_V1	   1u

/* MSRs a guest's OS programs and expects back (each has a hypervisor register). */
static const uint32_t save_msrs[] = {
    0x10,  /* IA32_TIME_STAMP_COUNTER */
    0x174, /* IA32_SYSENTER_CS */
    0x175, /* IA32_SYSENTER_ESP */
    0x176, /* IA32_SYSENTER_EIP */
    0x1a0, /* IA32_MISC_ENABLE */
    0x277, /* IA32_PAT */
    0x2ff, /* IA32_MTRR_DEF_TYPE */
    0x200,	0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
    0x208,	0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f, /* variable MTRRs */
    0x250,	0x258, 0x259,					 /* fixed MTRRs, 64K and 16K */
    0x268,	0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f, /* fixed MTRRs, 4K */
    0xc0000081,							 /* STAR */
    0xc0000082,							 /* LSTAR */
    0xc0000083,							 /* CSTAR */
    0xc0000084,							 /* SFMASK */
    0xc0000102,							 /* KERNEL_GS_BASE */
    0xc0000103,							 /* TSC_AUX */
};
#define NSAVE (sizeof(save_msrs) / sizeof(save_msrs[0]))

struct vcpu_blob {
	uint32_t magic;
	uint32_t version;
	uint32_t size;
	uint32_t nmsrs;
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
	struct hvabs_fpu fpu;
	struct mshv_reg_value events[2]; /* pending interruption, interrupt state */
	struct hvabs_lapic lapic;
	struct hvabs_msr_entry msrs[NSAVE];
};

static const uint32_t event_regs[2] = {MSHV_REG_PENDING_INTERRUPTION, MSHV_REG_INTERRUPT_STATE};

int mshv_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len)
{
	if (!buf || *len < sizeof(struct vcpu_blob)) {
		*len = sizeof(struct vcpu_blob);
		return -ENOSPC;
	}
	struct vcpu_blob *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->magic = VCPU_MAGIC;
	b->version = BLOB_V1;
	b->size = sizeof(*b);
	b->nmsrs = NSAVE;
	b->regs.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	b->sregs.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	b->fpu.hdr = HVABS_HDR_INIT(struct hvabs_fpu);
	b->lapic.hdr = HVABS_HDR_INIT(struct hvabs_lapic);
	for (size_t i = 0; i < NSAVE; i++)
		b->msrs[i].index = save_msrs[i];
	int rc = mshv_get_regs(v, &b->regs);
	if (!rc)
		rc = mshv_get_sregs(v, &b->sregs);
	if (!rc)
		rc = mshv_get_fpu(v, &b->fpu);
	if (!rc)
		rc = mshv_get_vp_regs(v, event_regs, b->events, 2);
	if (!rc)
		rc = mshv_get_lapic(v, &b->lapic);
	if (!rc)
		rc = mshv_get_msrs(v, b->msrs, NSAVE);
	if (!rc) {
		memcpy(buf, b, sizeof(*b));
		*len = sizeof(*b);
	}
	free(b);
	return rc;
}

int mshv_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len)
{
	if (len != sizeof(struct vcpu_blob))
		return -EINVAL;
	struct vcpu_blob *b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b, buf, sizeof(*b));
	int rc = 0;
	if (b->magic != VCPU_MAGIC || b->version != BLOB_V1 || b->size != sizeof(*b) ||
	    b->nmsrs != NSAVE)
		rc = -EINVAL;
	for (size_t i = 0; !rc && i < NSAVE; i++)
		if (b->msrs[i].index != save_msrs[i])
			rc = -EINVAL;
	if (rc)
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MSHV,
				"vcpu%u: not an MSHV vCPU state blob of version %u", v->index,
				BLOB_V1);
	/* Control registers first: they decide what the others mean. */
	if (!rc)
		rc = mshv_set_sregs(v, &b->sregs);
	if (!rc)
		rc = mshv_set_regs(v, &b->regs);
	if (!rc)
		rc = mshv_set_fpu(v, &b->fpu);
	if (!rc)
		rc = mshv_set_msrs(v, b->msrs, NSAVE);
	if (!rc)
		rc = mshv_set_lapic(v, &b->lapic);
	if (!rc)
		rc = mshv_set_vp_regs(v, event_regs, b->events, 2);
	free(b);
	return rc;
}
