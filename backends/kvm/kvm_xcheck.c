/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The x86 emulator cross-check (backend option crosscheck=1): for every MMIO
 * exit, the core's x86 emulator decodes the guest's instruction again and
 * must predict the access KVM reported: guest-physical address, size,
 * direction and, for a write, the data. README.md "Cross-check" has the
 * rules; this file decides and counts, kvm_xcheck_emu.c runs the emulator.
 *
 * Where the instruction is depends on the direction, because of how KVM
 * completes MMIO (arch/x86/kvm/x86.c, x86_emulate_instruction()):
 * - a read exits before the instruction retires: RIP points at it and the
 *   registers are as it found them (mid-way through a REP string, as the
 *   current element found them);
 * - a write exits after KVM has written the registers back: RIP is past the
 *   instruction (or still on a REP string that has elements left), and a
 *   string instruction's rSI/rDI/rCX have moved on. The instruction is found
 *   by decoding backwards: every k in 1..15 such that the k bytes before RIP
 *   are one instruction of exactly k bytes that writes memory is a candidate,
 *   and so is a REP STOS/MOVS at RIP; their pointers are moved back one
 *   element. The write agrees when a candidate predicts exactly KVM's access.
 *   If none does and some candidate is an instruction the emulator does not
 *   support (kvm_insn_length() measures those), the exit is "not decodable";
 *   otherwise it is a disagreement.
 * - an instruction with several MMIO exits (read-modify-write, XCHG, MOVS
 *   between two MMIO addresses, an access split at a page boundary) makes
 *   them one after the other: KVM completes the first inside the next
 *   KVM_RUN and exits again before the guest runs on. The cross-check keeps
 *   the instruction's starting state and checks each later exit against the
 *   emulator run again from it, with the VMM's answers to the earlier reads
 *   (so the data of the write of an OR or an XCHG is checked too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"

enum xc_outcome {
	XC_AGREE = 0,
	XC_DISAGREE,
	XC_UNDECODABLE,
	XC_UNCHECKED,
};

/* What one exit came to, and the instruction it is about. */
struct xc_verdict {
	enum xc_outcome outcome;
	struct kvm_xc_state st; /* the instruction, as the emulator saw it */
	struct kvm_xc_pred pred;
	uint32_t which;	 /* pred.exits[] entry compared with KVM's exit */
	int backwards;	 /* found by decoding backwards from RIP */
	const char *why; /* XC_UNCHECKED */
	char opcode[32]; /* XC_UNDECODABLE */
};

/* ---- lifetime ---- */

int kvm_xcheck_init(struct hvabs_be_vm *vm)
{
	const struct hvabs_host_io *io = vm->io;
	struct kvm_xc_vm *x;

	if (!vm->xc_enable) {
		if (!vm->xc_corrupt)
			return 0;
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"crosscheck_corrupt= needs crosscheck=1");
		return -EINVAL;
	}
	if (!io || !HVABS_HAS_FIELD(io, gpa_read) || !io->gpa_read) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"crosscheck=1: the core gave no guest-memory callbacks to read "
				"instructions with");
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	kvm_ratelimit_init(&x->rl);
	pthread_mutex_init(&x->lock, NULL);
	vm->xc = x;
	return 0;
}

void kvm_xcheck_discard(struct hvabs_be_vm *vm)
{
	struct kvm_xc_vm *x = vm->xc;

	if (!x)
		return;
	vm->xc = NULL;
	pthread_mutex_destroy(&x->lock);
	kvm_ratelimit_fini(&x->rl);
	free(x);
}

static void fmt_bytes(char *buf, size_t len, const uint8_t *b, uint32_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < n && off + 4 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%02x", i ? " " : "", b[i]);
}

/* The summary: at warning level, so that it shows with default logging. */
void kvm_xcheck_fini(struct hvabs_be_vm *vm)
{
	struct kvm_xc_vm *x = vm->xc;
	char more[96] = "", bytes[64];

	if (!x)
		return;
	unsigned long long unchecked = atomic_load(&x->unchecked);
	if (unchecked)
		snprintf(more, sizeof(more), ", %llu not checked (instruction unreadable)",
			 unchecked);
	hvabs_host_logf(vm->host, HVABS_LOG_WARN, KVM,
			"x86emu cross-check: %llu MMIO exits checked, %llu disagreements, %llu not "
			"decodable%s",
			(unsigned long long)atomic_load(&x->checked),
			(unsigned long long)atomic_load(&x->disagreements),
			(unsigned long long)atomic_load(&x->undecodable), more);
	for (uint32_t i = 0; i < x->ngaps; i++) {
		const struct kvm_xc_gap *g = &x->gaps[i];
		fmt_bytes(bytes, sizeof(bytes), g->bytes, g->len);
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, KVM,
				"x86emu cross-check: not decodable: opcode %s, %llu exits, first "
				"at rip 0x%llx (%u-bit): %s",
				g->opcode, (unsigned long long)g->count, (unsigned long long)g->rip,
				g->mode, bytes);
	}
	if (x->gaps_dropped)
		hvabs_host_logf(vm->host, HVABS_LOG_WARN, KVM,
				"x86emu cross-check: not decodable: %llu more exits with other "
				"opcodes",
				(unsigned long long)x->gaps_dropped);
	kvm_xcheck_discard(vm);
}

int kvm_xcheck_vcpu_init(struct hvabs_be_vcpu *v)
{
	if (!v->vm->xc)
		return 0;
	v->xc = calloc(1, sizeof(*v->xc));
	return v->xc ? 0 : -ENOMEM;
}

void kvm_xcheck_vcpu_fini(struct hvabs_be_vcpu *v)
{
	free(v->xc);
	v->xc = NULL;
}

/* Before the next KVM_RUN: keep the VMM's answer to a read the emulator will need again. */
void kvm_xcheck_complete(struct hvabs_be_vcpu *v)
{
	struct kvm_xc_vcpu *px = v->xc;
	const struct kvm_run *run = v->run;

	if (!px->npending || run->mmio.is_write || px->step == 0 || px->step > KVM_XC_MAX_EXITS)
		return;
	memcpy(px->answers[px->step - 1], run->mmio.data,
	       run->mmio.len < 8 ? run->mmio.len : sizeof(px->answers[0]));
}

/* ---- judging one exit ---- */

static void name_opcode(struct xc_verdict *vd)
{
	struct kvm_insn_info info;

	if (kvm_insn_length(vd->st.mode, vd->st.insn, vd->st.len, &info) == 0)
		kvm_insn_name(&info, vd->opcode, sizeof(vd->opcode));
	else
		snprintf(vd->opcode, sizeof(vd->opcode), "? (no instruction)");
}

/* Compares KVM's exit with the emulator's exit number @p which. */
static void judge(const struct kvm_xc_check *c, struct xc_verdict *vd, uint32_t which)
{
	const struct kvm_xc_pred *p = &vd->pred;

	vd->which = which;
	if (p->rc == 0) {
		int same = which < p->nexits && kvm_xc_exit_equal(&p->exits[which], &c->kvm);
		vd->outcome = same ? XC_AGREE : XC_DISAGREE;
	} else if (p->rc == -ENOTSUP) {
		vd->outcome = XC_UNDECODABLE;
		name_opcode(vd);
	} else if (p->rc == HVABS_X86EMU_ETRUNCATED) {
		vd->outcome = XC_UNCHECKED;
		vd->why = "instruction bytes unreadable";
	} else {
		vd->outcome = XC_DISAGREE; /* KVM ran what the emulator refuses or misplaces */
	}
}

/*
 * Remembers a reading of the instruction whose later MMIO exits are still to
 * come (several readings when decoding backwards found more than one that
 * agrees). After a disagreement on the same kind of access the rest of the
 * instruction is still due, and still compared; a wrong direction means the
 * two lost step.
 */
static void pending_add(const struct kvm_xc_check *c, const struct xc_verdict *vd)
{
	struct kvm_xc_vcpu *px = c->v->xc;
	const struct kvm_xc_pred *p = &vd->pred;

	if (p->rc)
		return;
	if (vd->outcome != XC_AGREE &&
	    (vd->which >= p->nexits || p->exits[vd->which].is_write != c->kvm.is_write))
		return;
	if (vd->which + 1 >= p->nexits) {
		px->maybe_done = 1;
		return;
	}
	if (px->npending == KVM_XC_HYP)
		return;
	px->st[px->npending++] = vd->st;
	px->backwards = vd->backwards;
	px->step = vd->which + 1;
}

static void pending_reset(struct kvm_xc_vcpu *px)
{
	px->npending = 0;
	px->maybe_done = 0;
}

/*
 * The next exit of an instruction with exits due. Returns 0 when no reading
 * expected it but one needed no more exits: then it belongs to a later
 * instruction and is checked afresh.
 */
static int check_pending(struct kvm_xc_check *c, struct xc_verdict *vd)
{
	struct kvm_xc_vcpu *px = c->v->xc;
	struct kvm_xc_state hyp[KVM_XC_HYP];
	uint32_t n = px->npending, step = px->step;
	int maybe_done = px->maybe_done, backwards = px->backwards, agreed = 0;
	struct xc_verdict tmp;

	memcpy(hyp, px->st, n * sizeof(hyp[0]));
	pending_reset(px);
	for (uint32_t i = 0; i < n; i++) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.st = hyp[i];
		tmp.backwards = backwards;
		kvm_xc_predict(c, &tmp.st, (const uint8_t(*)[8])px->answers, step, &tmp.pred);
		judge(c, &tmp, step);
		if (tmp.outcome == XC_AGREE) {
			if (!agreed)
				*vd = tmp;
			agreed = 1;
			pending_add(c, &tmp);
		} else if (i == 0) {
			*vd = tmp; /* reported if no reading agrees */
		}
	}
	if (agreed)
		return 1;
	if (maybe_done)
		return 0;
	pending_add(c, vd);
	return 1;
}

/* Bytes at RIP that could be read, counted from RIP. */
static uint32_t forward_bytes(const struct kvm_xc_check *c)
{
	uint32_t n = 0;

	while (n < HVABS_X86EMU_MAX_INSN && ((c->avail >> (KVM_XC_BACK + n)) & 1))
		n++;
	return n;
}

static void check_read(struct kvm_xc_check *c, struct xc_verdict *vd)
{
	pending_reset(c->v->xc);
	vd->st = c->now;
	vd->st.len = forward_bytes(c);
	memcpy(vd->st.insn, c->win + KVM_XC_BACK, vd->st.len);
	kvm_xc_predict(c, &vd->st, NULL, 0, &vd->pred);
	judge(c, vd, 0);
	pending_add(c, vd);
}

/* ---- writes: finding the instruction that ended at RIP ---- */

enum {
	CAND_NONE = 0,
	CAND_OK,
	CAND_UNSUPPORTED
};

/* Adds @p delta to the low @p size bytes of @p reg, as an address-size update does. */
static void reg_add(uint64_t *reg, unsigned size, uint64_t delta)
{
	uint64_t m = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;

	*reg = (*reg & ~m) | ((*reg + delta) & m);
}

/*
 * Undoes one element of STOS/MOVS in @p st (SDM vol. 2 "STOS", "MOVS",
 * "REP"): rDI (and rSI) step back, rCX gets its element back. A REP string
 * that retired (k > 0) left rCX at 0, or it is no candidate.
 */
static int unwind_string(struct kvm_xc_state *st, const struct hvabs_x86emu_insn *in, int retired)
{
	uint64_t m = in->addr_size >= 8 ? ~0ull : (1ull << (in->addr_size * 8)) - 1;
	uint64_t back = (st->regs.rflags & (1ull << 10)) ? in->op_size : -(uint64_t)in->op_size;

	if (in->prefixes & (HVABS_X86EMU_PFX_REP | HVABS_X86EMU_PFX_REPNE)) {
		if (retired && (st->regs.rcx & m))
			return CAND_NONE;
		reg_add(&st->regs.rcx, in->addr_size, 1);
	}
	reg_add(&st->regs.rdi, in->addr_size, back);
	if (in->mnemonic == HVABS_X86EMU_MOVS)
		reg_add(&st->regs.rsi, in->addr_size, back);
	return CAND_OK;
}

/*
 * Whether an instruction the emulator does not know could have made KVM's
 * write: its ModRM memory operand, computed from the registers at the exit,
 * must lie at most 64 bytes (an AVX-512 store, split into 8-byte exits)
 * before KVM's address. Operands without ModRM (INS) are taken on trust.
 */
static int unsupported_fits(struct kvm_xc_check *c, const struct kvm_xc_state *st,
			    const struct kvm_insn_info *in)
{
	const struct hvabs_regs *r = &st->regs;
	const uint64_t g[16] = {r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				r->r8,	r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
	const struct hvabs_segment *seg[6] = {&st->sregs.es, &st->sregs.cs, &st->sregs.ss,
					      &st->sregs.ds, &st->sregs.fs, &st->sregs.gs};
	uint64_t ea = (uint64_t)in->disp, lin, gpa;

	if (!in->has_modrm)
		return 1;
	if (in->base == KVM_INSN_RIP)
		ea += r->rip + in->len;
	else if (in->base < 16)
		ea += g[in->base];
	if (in->index < 16)
		ea += g[in->index] * in->scale;
	if (in->addr_size < 8)
		ea &= (1ull << (in->addr_size * 8)) - 1;
	lin = ea;
	if (st->mode != HVABS_X86EMU_MODE_64 || in->seg >= 4)
		lin += seg[in->seg < 6 ? in->seg : 3]->base;
	if (st->mode != HVABS_X86EMU_MODE_64)
		lin &= 0xffffffffull;
	return kvm_xc_translate(c, lin, &gpa) == 0 && c->kvm.gpa >= gpa && c->kvm.gpa - gpa < 64;
}

/*
 * The instruction of exactly @p k bytes ending at RIP (k = 0: a REP string
 * still at RIP), with the state it started from in @p st. CAND_UNSUPPORTED:
 * an instruction the emulator does not know, of that length, that addresses
 * memory; its bytes are in @p st and @p info.
 */
static int candidate(const struct kvm_xc_check *c, uint32_t k, struct kvm_xc_state *st,
		     struct kvm_insn_info *info)
{
	struct hvabs_x86emu_insn in;
	const uint8_t *b = c->win + KVM_XC_BACK - k;
	uint32_t len = k ? k : forward_bytes(c), mask = ((1u << k) - 1) << (KVM_XC_BACK - k);

	if (k > c->back || (c->avail & mask) != mask)
		return CAND_NONE;
	int rc = hvabs_x86emu_decode(c->now.mode, b, len, &in);
	*st = c->now;
	st->len = k;
	memcpy(st->insn, b, k);
	reg_add(&st->regs.rip, c->now.mode == HVABS_X86EMU_MODE_64 ? 8 : c->now.mode / 8,
		-(uint64_t)k);
	if (rc == -ENOTSUP)
		return k && kvm_insn_length(c->now.mode, b, k, info) == 0 && info->len == k &&
			       info->mem
			   ? CAND_UNSUPPORTED
			   : CAND_NONE;
	int string = in.mnemonic == HVABS_X86EMU_STOS || in.mnemonic == HVABS_X86EMU_MOVS;
	int rep = (in.prefixes & (HVABS_X86EMU_PFX_REP | HVABS_X86EMU_PFX_REPNE)) != 0;
	if (rc || !(in.mem_dir & HVABS_X86EMU_MEM_WRITE) || (k ? in.length != k : !(string && rep)))
		return CAND_NONE;
	st->len = in.length;
	memcpy(st->insn, b, in.length);
	return string ? unwind_string(st, &in, k != 0) : CAND_OK;
}

/* The candidates of one write, sorted by what they say about it. */
struct xc_cands {
	struct xc_verdict cur;	 /* the one being looked at */
	struct xc_verdict agree; /* the first that agrees */
	int have_agree;
	struct xc_verdict near;	 /* supported, right address and size, other data */
	struct xc_verdict other; /* supported, anything else */
	struct xc_verdict gap;	 /* unsupported, its operand at KVM's address */
	struct xc_verdict stray; /* unsupported, operand elsewhere */
	int have_near, have_other, have_gap, have_stray;
};

static void sort_unsupported(struct kvm_xc_check *c, struct xc_cands *s,
			     const struct kvm_xc_state *st, const struct kvm_insn_info *info)
{
	/* Later candidates are longer: keep the longest, most likely the whole instruction. */
	struct xc_verdict *vd = unsupported_fits(c, st, info) ? &s->gap : &s->stray;

	vd->st = *st;
	vd->backwards = 1;
	vd->outcome = XC_UNDECODABLE;
	name_opcode(vd);
	if (vd == &s->gap)
		s->have_gap = 1;
	else
		s->have_stray = 1;
}

/* Returns 1 when candidate @p vd agrees with KVM. */
static int sort_supported(struct kvm_xc_check *c, struct xc_cands *s, struct xc_verdict *vd)
{
	const struct kvm_xc_pred *p = &vd->pred;

	kvm_xc_predict(c, &vd->st, NULL, 0, &vd->pred);
	if (p->rc == 0 && p->nexits && !p->exits[0].is_write)
		return 0; /* it would have exited for its read first */
	judge(c, vd, 0);
	if (vd->outcome == XC_AGREE)
		return 1;
	if (p->rc == 0 && p->nexits && p->exits[0].gpa == c->kvm.gpa &&
	    p->exits[0].len == c->kvm.len) {
		s->near = *vd;
		s->have_near = 1;
	} else {
		s->other = *vd;
		s->have_other = 1;
	}
	return 0;
}

/*
 * Precedence when no candidate agrees: a supported instruction that writes
 * KVM's address with other data is a disagreement; else an unsupported one
 * whose operand is at KVM's address is a gap; else any supported candidate is
 * a disagreement; else any unsupported one a gap.
 */
static void check_write(struct kvm_xc_check *c, struct xc_verdict *vd)
{
	struct xc_cands s;
	struct kvm_insn_info info;

	memset(&s, 0, sizeof(s));
	pending_reset(c->v->xc);
	/* Every candidate that agrees is kept: the exits that follow tell them apart. */
	for (uint32_t k = 0; k <= KVM_XC_BACK; k++) {
		int kind = candidate(c, k, &s.cur.st, &info);
		if (kind == CAND_UNSUPPORTED)
			sort_unsupported(c, &s, &s.cur.st, &info);
		if (kind != CAND_OK)
			continue;
		s.cur.backwards = k != 0;
		if (sort_supported(c, &s, &s.cur)) {
			if (!s.have_agree)
				s.agree = s.cur;
			s.have_agree = 1;
			pending_add(c, &s.cur);
		}
	}
	if (s.have_agree) {
		*vd = s.agree;
	} else if (s.have_near || s.have_gap || s.have_other || s.have_stray) {
		*vd = s.have_near ? s.near : s.have_gap ? s.gap : s.have_other ? s.other : s.stray;
		vd->outcome =
		    s.have_near || (!s.have_gap && s.have_other) ? XC_DISAGREE : XC_UNDECODABLE;
	} else if ((c->avail & ((1u << KVM_XC_BACK) - 1)) != (1u << KVM_XC_BACK) - 1) {
		vd->outcome = XC_UNCHECKED;
		vd->why = "instruction bytes unreadable";
	} else {
		/* Nothing of the right length ends at RIP: show the bytes before it. */
		vd->st = c->now;
		vd->st.len = KVM_XC_BACK;
		memcpy(vd->st.insn, c->win, KVM_XC_BACK);
		vd->backwards = 1;
		vd->outcome = XC_UNDECODABLE;
		snprintf(vd->opcode, sizeof(vd->opcode), "? (no instruction ends at rip)");
	}
}

/* ---- counting and telling ---- */

static void fmt_exit(char *buf, size_t len, const struct kvm_xc_exit *e)
{
	char data[32];
	int n = snprintf(buf, len, "%s %u byte%s at gpa 0x%llx", e->is_write ? "write" : "read",
			 e->len, e->len == 1 ? "" : "s", (unsigned long long)e->gpa);

	if (e->is_write && n > 0 && (size_t)n < len) {
		fmt_bytes(data, sizeof(data), e->data, e->len < 8 ? e->len : 8);
		snprintf(buf + n, len - (size_t)n, ": %s", data);
	}
}

static void fmt_pred(char *buf, size_t len, const struct xc_verdict *vd)
{
	const struct kvm_xc_pred *p = &vd->pred;
	char e[80];

	if (p->rc == -ENXIO) {
		snprintf(buf, len, "address 0x%llx does not translate",
			 (unsigned long long)p->bad_linear);
	} else if (p->rc) {
		snprintf(buf, len, "refuses it: %s",
			 p->rc == -EINVAL   ? "invalid encoding"
			 : p->rc == -EFAULT ? "non-canonical address"
					    : strerror(-p->rc));
	} else if (vd->which < p->nexits) {
		fmt_exit(e, sizeof(e), &p->exits[vd->which]);
		snprintf(buf, len, "%s: %s", hvabs_x86emu_mnemonic_name(p->insn.mnemonic), e);
	} else {
		snprintf(buf, len, "%s: no such MMIO access",
			 hvabs_x86emu_mnemonic_name(p->insn.mnemonic));
	}
}

/* How many of the fetched bytes are the instruction, when that is known. */
static uint32_t insn_len(const struct xc_verdict *vd)
{
	struct kvm_insn_info info;

	if (vd->pred.rc == 0 && vd->pred.insn.length && vd->pred.insn.length <= vd->st.len)
		return vd->pred.insn.length;
	if (kvm_insn_length(vd->st.mode, vd->st.insn, vd->st.len, &info) == 0)
		return info.len;
	return vd->st.len;
}

static void note_gap(struct kvm_xc_vm *x, const struct xc_verdict *vd, uint64_t ip)
{
	uint32_t i;

	pthread_mutex_lock(&x->lock);
	for (i = 0; i < x->ngaps && strcmp(x->gaps[i].opcode, vd->opcode); i++)
		;
	if (i < x->ngaps) {
		x->gaps[i].count++;
	} else if (i < KVM_XC_GAPS) {
		struct kvm_xc_gap *g = &x->gaps[x->ngaps++];
		snprintf(g->opcode, sizeof(g->opcode), "%s", vd->opcode);
		g->count = 1;
		g->rip = ip;
		g->mode = vd->st.mode;
		g->len = insn_len(vd);
		memcpy(g->bytes, vd->st.insn, g->len);
	} else {
		x->gaps_dropped++;
	}
	pthread_mutex_unlock(&x->lock);
}

static void account(const struct kvm_xc_check *c, const struct xc_verdict *vd)
{
	struct hvabs_be_vcpu *v = c->v;
	struct kvm_xc_vm *x = v->vm->xc;
	char bytes[64], kvm[80], emu[120], where[48] = "";
	uint64_t ip = vd->st.regs.rip;

	if (vd->outcome == XC_AGREE) {
		atomic_fetch_add(&x->checked, 1);
		return;
	}
	if (vd->outcome == XC_UNCHECKED) {
		atomic_fetch_add(&x->unchecked, 1);
		kvm_log_limited(v->vm, &x->rl,
				"vcpu%u: x86emu cross-check: cannot check at rip 0x%llx: %s",
				v->index, (unsigned long long)c->now.regs.rip, vd->why);
		return;
	}
	atomic_fetch_add(&x->checked, 1);
	fmt_bytes(bytes, sizeof(bytes), vd->st.insn, insn_len(vd));
	fmt_exit(kvm, sizeof(kvm), &c->kvm);
	if (vd->backwards)
		snprintf(where, sizeof(where), ", ending at rip 0x%llx",
			 (unsigned long long)c->now.regs.rip);
	if (vd->outcome == XC_UNDECODABLE) {
		atomic_fetch_add(&x->undecodable, 1);
		note_gap(x, vd, ip);
		kvm_log_limited(v->vm, &x->rl,
				"vcpu%u: x86emu cross-check: not decodable: opcode %s, %u-bit "
				"insn at 0x%llx%s: %s; KVM: %s",
				v->index, vd->opcode, vd->st.mode, (unsigned long long)ip, where,
				bytes, kvm);
		return;
	}
	atomic_fetch_add(&x->disagreements, 1);
	fmt_pred(emu, sizeof(emu), vd);
	kvm_log_limited(v->vm, &x->rl,
			"vcpu%u: x86emu cross-check: disagreement at %u-bit insn at 0x%llx%s: %s; "
			"KVM: %s; x86emu %s",
			v->index, vd->st.mode, (unsigned long long)ip, where, bytes, kvm, emu);
}

void kvm_xcheck_mmio(struct hvabs_be_vcpu *v)
{
	const struct kvm_run *run = v->run;
	struct kvm_xc_check c;
	struct xc_verdict vd;

	memset(&c, 0, sizeof(c));
	memset(&vd, 0, sizeof(vd));
	c.v = v;
	c.kvm.gpa = run->mmio.phys_addr;
	c.kvm.len = run->mmio.len;
	c.kvm.is_write = run->mmio.is_write != 0;
	if (c.kvm.is_write)
		memcpy(c.kvm.data, run->mmio.data, c.kvm.len);
	if (kvm_xc_capture(&c)) {
		pending_reset(v->xc);
		vd.outcome = XC_UNCHECKED;
		vd.why = "registers unreadable";
	} else if (v->xc->npending && check_pending(&c, &vd)) {
		/* judged as the next exit of the instruction before */
	} else if (c.kvm.is_write) {
		check_write(&c, &vd);
	} else {
		check_read(&c, &vd);
	}
	account(&c, &vd);
}
