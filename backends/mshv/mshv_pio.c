/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port-I/O intercepts. A plain IN or OUT becomes an HVABS_EXIT_IO for the
 * core and is completed on the next run (mshv_exit.c). INS and OUTS, with or
 * without REP, are done here through the host's pio and guest-memory
 * callbacks: the message gives RCX, RSI, RDI, DS and ES, the access size,
 * whether there is a REP prefix, and the instruction bytes, from which the
 * address size (0x67) and a segment override (OUTS only) are read.
 */
#include <errno.h>
#include <string.h>

#include "mshv_priv.h"

#define RFLAGS_DF (1ull << 10) /* SDM vol. 1 §3.4.3.2 */
#define RFLAGS_VM (1ull << 17)

/* What the prefixes of a string I/O instruction say. */
struct str_insn {
	uint32_t addr_size; /* 2, 4 or 8 */
	int seg;	    /* override for OUTS: enum mshv_seg_index, or -1 */
};

/* Default address size from the mode the message's header describes. */
static uint32_t mode_addr_size(const struct mshv_intercept_header *h)
{
	if (!(h->exec_state & MSHV_EXEC_CR0_PE) || (h->rflags & RFLAGS_VM))
		return 2;
	if ((h->exec_state & MSHV_EXEC_EFER_LMA) && (h->cs.attributes & MSHV_SEG_L))
		return 8;
	return (h->cs.attributes & MSHV_SEG_DB) ? 4 : 2;
}

static void parse_prefixes(const struct mshv_msg_io_port *m, struct str_insn *si)
{
	uint32_t n = m->insn_byte_count < 16 ? m->insn_byte_count : 16;
	uint32_t def = mode_addr_size(&m->hdr);
	int flip = 0;

	si->seg = -1;
	for (uint32_t i = 0; i < n; i++) {
		switch (m->insn_bytes[i]) {
		case 0x67:
			flip = 1;
			continue;
		case 0x26:
			si->seg = MSHV_SEGI_ES;
			continue;
		case 0x2e:
			si->seg = MSHV_SEGI_CS;
			continue;
		case 0x36:
			si->seg = MSHV_SEGI_SS;
			continue;
		case 0x3e:
			si->seg = MSHV_SEGI_DS;
			continue;
		case 0x64:
			si->seg = MSHV_SEGI_FS;
			continue;
		case 0x65:
			si->seg = MSHV_SEGI_GS;
			continue;
		case 0x66:
		case 0xf2:
		case 0xf3:
		case 0xf0:
			continue;
		default:
			/* A REX prefix in 64-bit mode, else the opcode: prefixes end. */
			if (def == 8 && (m->insn_bytes[i] & 0xf0) == 0x40)
				continue;
			break;
		}
		break;
	}
	if (!flip)
		si->addr_size = def;
	else
		si->addr_size = def == 8 ? 4 : def == 4 ? 2 : 4;
}

/* Writes @p val into a register as an operation of @p asize bytes does (SDM vol. 1 §3.4.1.1). */
static uint64_t set_sized(uint64_t old, uint64_t val, uint32_t asize)
{
	if (asize == 8)
		return val;
	if (asize == 4)
		return val & 0xffffffffull;
	return (old & ~0xffffull) | (val & 0xffff);
}

/* The linear base of the segment a string instruction uses. */
static int seg_base(struct hvabs_be_vcpu *v, const struct mshv_msg_io_port *m, int seg,
		    uint32_t asize, uint64_t *base)
{
	struct hvabs_sregs s;

	/* 64-bit mode: only FS and GS have a base (SDM vol. 1 §3.4.2.1). */
	if (asize == 8 || mode_addr_size(&m->hdr) == 8) {
		if (seg != MSHV_SEGI_FS && seg != MSHV_SEGI_GS) {
			*base = 0;
			return 0;
		}
	} else if (seg == MSHV_SEGI_DS) {
		*base = m->ds.base;
		return 0;
	} else if (seg == MSHV_SEGI_ES) {
		*base = m->es.base;
		return 0;
	}
	s.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	int rc = mshv_get_emul_sregs(v, &s);
	if (rc)
		return rc;
	const struct hvabs_segment *segs[MSHV_SEGI_COUNT] = {&s.es, &s.cs, &s.ss,
							     &s.ds, &s.fs, &s.gs};
	*base = segs[seg]->base;
	return 0;
}

/* One element: port to memory (INS) or memory to port (OUTS). */
static int string_element(struct hvabs_be_vcpu *v, struct mshv_tlb *tlb, uint16_t port,
			  uint64_t lin, uint32_t size, int is_out)
{
	const struct hvabs_host_io *io = v->vm->io;
	uint8_t data[4] = {0};
	int rc;

	if (is_out) {
		rc = mshv_gva_rw(v, tlb, lin, data, size, 0, 0);
		if (!rc)
			rc = io->pio_write(io->opaque, port, data, size);
	} else {
		rc = io->pio_read(io->opaque, port, data, size);
		if (!rc)
			rc = mshv_gva_rw(v, tlb, lin, data, size, 1, 0);
	}
	return rc;
}

static int string_io(struct hvabs_be_vcpu *v, const struct mshv_msg_io_port *m,
		     struct hvabs_exit *e, uint32_t size, int is_out)
{
	const struct hvabs_host_io *io = v->vm->io;
	struct str_insn si;
	struct mshv_tlb tlb = {0};
	struct hvabs_regs r;
	uint64_t base;
	int rep = !!(m->access_info & MSHV_IO_REP);

	parse_prefixes(m, &si);
	uint64_t amask = si.addr_size == 8 ? ~0ull : (1ull << (8 * si.addr_size)) - 1;
	int rc = io && io->pio_read && io->pio_write ? 0 : -ENOTSUP;
	if (!rc)
		rc = seg_base(v, m, is_out ? (si.seg >= 0 ? si.seg : MSHV_SEGI_DS) : MSHV_SEGI_ES,
			      si.addr_size, &base);
	if (!rc)
		rc = mshv_get_regs(v, &r);
	if (rc) {
		mshv_internal_error(v, e, MSHV_ERR_IO, rc, m->port);
		return 0;
	}
	uint64_t count = rep ? (r.rcx & amask) : 1;
	uint64_t *idx = is_out ? &r.rsi : &r.rdi;
	uint64_t step = (r.rflags & RFLAGS_DF) ? (uint64_t) - (int64_t)size : size;
	uint64_t done = 0;
	for (; done < count && done < v->vm->max_reps; done++) {
		rc = string_element(v, &tlb, m->port, base + (*idx & amask), size, is_out);
		if (rc)
			break;
		*idx = set_sized(*idx, *idx + step, si.addr_size);
		if (rep)
			r.rcx = set_sized(r.rcx, r.rcx - 1, si.addr_size);
	}
	if (rc && done == 0) {
		mshv_log_guest(v->vm, "vcpu%u: %s port 0x%x at 0x%llx failed: %s", v->index,
			       is_out ? "OUTS" : "INS", m->port,
			       (unsigned long long)(base + (*idx & amask)), strerror(-rc));
		mshv_internal_error(v, e, MSHV_ERR_IO, rc, m->port);
		return 0;
	}
	/*
	 * Finished: step over the instruction. Stopped early (the per-run limit,
	 * or a failing element after others): RIP stays, RCX/RSI/RDI say how far
	 * it got, and the guest executes it again, as after an interrupt in the
	 * middle of a REP string instruction (SDM vol. 2B, "REP").
	 */
	if (done == count)
		r.rip += MSHV_HDR_INSN_LEN(&m->hdr);
	rc = mshv_set_regs(v, &r);
	if (rc) {
		mshv_internal_error(v, e, MSHV_ERR_IO, rc, m->port);
		return 0;
	}
	return 1;
}

int mshv_handle_io(struct hvabs_be_vcpu *v, const struct mshv_msg_io_port *m, struct hvabs_exit *e)
{
	uint32_t size = MSHV_IO_SIZE(m->access_info);
	uint32_t len = MSHV_HDR_INSN_LEN(&m->hdr);
	int is_write = m->hdr.access_type == MSHV_ACCESS_WRITE;

	if ((size != 1 && size != 2 && size != 4) || !len ||
	    (m->hdr.access_type != MSHV_ACCESS_READ && !is_write) ||
	    ((m->access_info & MSHV_IO_REP) && !(m->access_info & MSHV_IO_STRING))) {
		mshv_log_guest(v->vm, "vcpu%u: malformed port-I/O intercept (port 0x%x, info 0x%x)",
			       v->index, m->port, m->access_info);
		mshv_internal_error(v, e, MSHV_ERR_IO, -EINVAL, m->access_info);
		return 0;
	}
	if (m->access_info & MSHV_IO_STRING)
		return string_io(v, m, e, size, is_write);
	e->kind = HVABS_EXIT_IO;
	e->u.io.addr = m->port;
	e->u.io.size = size;
	e->u.io.count = 1;
	e->u.io.is_write = (uint8_t)is_write;
	e->u.io.data = v->io_data;
	memset(v->io_data, 0, sizeof(v->io_data));
	if (is_write)
		for (uint32_t i = 0; i < size; i++)
			v->io_data[i] = (uint8_t)(m->rax >> (8 * i));
	v->pend = is_write ? MSHV_PEND_IO_OUT : MSHV_PEND_IO_IN;
	v->pend_size = size;
	v->pend_insn_len = len;
	return 0;
}
