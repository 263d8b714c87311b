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
#include "save_msrs.h"

#define VCPU_MAGIC 0x4356534du /* "MSVC" */
#define BLOB_V1	   1u

/* MSRs a guest's OS programs and expects back (each has a hypervisor register). */
static const uint32_t save_msrs[] = {SAVE_MSRS_ARCH};
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
