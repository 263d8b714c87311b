/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Accesses to unmapped guest memory (MMIO) and to read-only RAM: MSHV hands
 * over the instruction bytes, the faulting GVA and GPA, and leaves the
 * instruction to the VMM. The shared x86 emulator (core/x86emu, compiled
 * into this plugin) decodes and executes it against the vCPU's registers;
 * its memory accesses are translated here (the message's GVA/GPA pair first,
 * then HvCallTranslateVirtualAddress) and go to guest RAM or the MMIO bus.
 * A failure is a clean HVABS_EXIT_INTERNAL_ERROR; the guest never sees a
 * half-done instruction (the emulator writes registers only on success).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvabs/x86emu.h"

#include "mshv_priv.h"

struct emul_ctx {
	struct hvabs_be_vcpu *v;
	struct mshv_tlb tlb;
	uint64_t hint_gva; /* the message's GVA page and its GPA page, when valid */
	uint64_t hint_gpa;
	int hint;
};

static int e_get_regs(void *o, struct hvabs_regs *r)
{
	return mshv_get_regs(((struct emul_ctx *)o)->v, r);
}

static int e_set_regs(void *o, const struct hvabs_regs *r)
{
	return mshv_set_regs(((struct emul_ctx *)o)->v, r);
}

static int e_get_sregs(void *o, struct hvabs_sregs *s)
{
	return mshv_get_emul_sregs(((struct emul_ctx *)o)->v, s);
}

/*
 * Linear to physical for the first element of an access stream, the
 * message's own pair first; the translation is remembered, so the access
 * that follows does not translate again.
 */
static int e_translate(void *o, uint64_t linear, int is_write, uint64_t *gpa)
{
	struct emul_ctx *c = o;
	uint64_t page = linear & ~(uint64_t)(MSHV_PAGE_SIZE - 1);
	uint64_t off = linear & (MSHV_PAGE_SIZE - 1);

	if (c->hint && page == c->hint_gva) {
		*gpa = c->hint_gpa | off;
		return 0;
	}
	if (c->tlb.valid && c->tlb.gva_page == page && (c->tlb.writable || !is_write)) {
		*gpa = c->tlb.gpa_page | off;
		return 0;
	}
	int rc = mshv_translate(c->v, linear, is_write, 0, gpa);
	if (rc)
		return rc;
	c->tlb.valid = 1;
	c->tlb.gva_page = page;
	c->tlb.gpa_page = *gpa & ~(uint64_t)(MSHV_PAGE_SIZE - 1);
	c->tlb.writable = is_write;
	return 0;
}

static int e_access(struct emul_ctx *c, uint64_t linear, void *buf, uint32_t size, int is_write,
		    int is_exec)
{
	uint8_t *p = buf;

	while (size) {
		uint32_t off = (uint32_t)(linear & (MSHV_PAGE_SIZE - 1));
		uint32_t chunk = MSHV_PAGE_SIZE - off < size ? MSHV_PAGE_SIZE - off : size;
		int rc;
		if (c->hint && (linear & ~(uint64_t)(MSHV_PAGE_SIZE - 1)) == c->hint_gva) {
			uint64_t gpa = c->hint_gpa | off;
			rc = is_write ? mshv_guest_write(c->v->vm, gpa, p, chunk)
				      : mshv_guest_read(c->v->vm, gpa, p, chunk);
		} else {
			rc = mshv_gva_rw(c->v, &c->tlb, linear, p, chunk, is_write, is_exec);
		}
		if (rc)
			return rc;
		linear += chunk;
		p += chunk;
		size -= chunk;
	}
	return 0;
}

static int e_fetch(void *o, uint64_t linear, void *buf, uint32_t len)
{
	return e_access(o, linear, buf, len, 0, 1);
}

static int e_read(void *o, uint64_t linear, void *buf, uint32_t size)
{
	return e_access(o, linear, buf, size, 0, 0);
}

static int e_write(void *o, uint64_t linear, const void *buf, uint32_t size)
{
	return e_access(o, linear, (void *)buf, size, 1, 0);
}

static void e_log(void *o, enum hvabs_log_level level, const char *msg)
{
	struct emul_ctx *c = o;

	(void)level;
	mshv_log_guest(c->v->vm, "vcpu%u: %s", c->v->index, msg);
}

int mshv_emulate_mmio(struct hvabs_be_vcpu *v, const struct mshv_msg_memory *m,
		      struct hvabs_exit *e)
{
	struct emul_ctx c = {.v = v};
	struct hvabs_x86emu_ops ops = {
	    .hdr = HVABS_HDR_INIT(struct hvabs_x86emu_ops),
	    .opaque = &c,
	    .get_regs = e_get_regs,
	    .set_regs = e_set_regs,
	    .get_sregs = e_get_sregs,
	    .fetch = e_fetch,
	    .read_gva = e_read,
	    .write_gva = e_write,
	    .translate_gva = e_translate,
	    .log = e_log,
	};
	struct hvabs_x86emu_result res;

	/* The hypervisor may give a page-aligned GPA: only page numbers are used. */
	if (m->access_info & MSHV_MEM_GVA_GPA_VALID) {
		c.hint = 1;
		c.hint_gva = m->gva & ~(uint64_t)(MSHV_PAGE_SIZE - 1);
		c.hint_gpa = m->gpa & ~(uint64_t)(MSHV_PAGE_SIZE - 1);
	}
	size_t n =
	    m->insn_byte_count < sizeof(m->insn_bytes) ? m->insn_byte_count : sizeof(m->insn_bytes);
	int rc = hvabs_x86emu_run(&ops, n ? m->insn_bytes : NULL, n, &res);
	if (rc) {
		char bytes[3 * 16 + 1] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, "%02x ", m->insn_bytes[i]);
		mshv_log_guest(v->vm,
			       "vcpu%u: cannot emulate the access to GPA 0x%llx at RIP 0x%llx "
			       "(bytes %s): %s",
			       v->index, (unsigned long long)m->gpa, (unsigned long long)m->hdr.rip,
			       bytes, strerror(-rc));
		mshv_internal_error(v, e, MSHV_ERR_EMULATION, rc, m->gpa);
		return 0;
	}
	return 1;
}
