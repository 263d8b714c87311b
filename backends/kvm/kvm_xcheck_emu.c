/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cross-check's view of the guest: the vCPU's registers at an MMIO exit,
 * the instruction bytes around RIP, linear-to-physical translation, and a run
 * of the x86 emulator whose memory callbacks only record. Nothing here writes
 * guest state: registers the emulator hands back are dropped, its writes are
 * noted and never made, and its MMIO reads are answered from what the VMM
 * already answered KVM (or zeros), never by calling a device.
 *
 * Translation uses KVM_TRANSLATE (api.rst 4.10), page by page. Some KVM
 * implementations return 0 from it without filling the answer in (this
 * project's development host, kvm_pvm, does); the cross-check then walks the
 * guest's page tables itself (Intel SDM vol. 3 §4.3-4.5).
 */
#include <errno.h>
#include <string.h>

#include "kvm_priv.h"

#define CR0_PG	  (1ull << 31)
#define CR4_PSE	  (1ull << 4)
#define CR4_PAE	  (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define EFER_LMA  (1ull << 10)
#define PTE_P	  (1ull << 0)
#define PTE_PS	  (1ull << 7)
#define PTE_ADDR  0x000ffffffffff000ull
#define PAGE_SIZE 4096u

static int read_gpa(struct hvabs_be_vm *vm, uint64_t gpa, void *buf, uint64_t len)
{
	const struct hvabs_host_io *io = vm->io;

	return io->gpa_read(io->opaque, gpa, buf, len) ? -ENXIO : 0;
}

/*
 * 32-bit paging: 4 KiB pages, or with CR4.PSE 4 MiB ones (PSE-36 bits 20:13);
 * without CR4.PSE bit 7 of a PDE is ignored.
 */
static int walk32(struct hvabs_be_vm *vm, uint64_t cr3, int pse, uint32_t lin, uint64_t *gpa)
{
	uint32_t pde, pte;

	if (read_gpa(vm, (cr3 & 0xfffff000u) + (lin >> 22) * 4, &pde, 4) || !(pde & PTE_P))
		return -ENXIO;
	if (pse && (pde & PTE_PS)) {
		*gpa = (pde & 0xffc00000u) | ((uint64_t)((pde >> 13) & 0xff) << 32) |
		       (lin & 0x3fffffu);
		return 0;
	}
	if (read_gpa(vm, (pde & 0xfffff000u) + ((lin >> 12) & 1023) * 4, &pte, 4) || !(pte & PTE_P))
		return -ENXIO;
	*gpa = (pte & 0xfffff000u) | (lin & 0xfffu);
	return 0;
}

/* PAE and 4- or 5-level paging: 8-byte entries, large pages at levels 2 and 3. */
static int walk64(struct hvabs_be_vm *vm, uint64_t table, int top, uint64_t lin, uint64_t *gpa)
{
	for (int lvl = top; lvl >= 1; lvl--) {
		unsigned shift = 12 + 9 * (unsigned)(lvl - 1);
		uint64_t e;
		if (read_gpa(vm, table + ((lin >> shift) & 511) * 8, &e, 8) || !(e & PTE_P))
			return -ENXIO;
		if (lvl == 1 || (lvl <= 3 && (e & PTE_PS))) {
			uint64_t off = (1ull << shift) - 1;
			*gpa = (e & PTE_ADDR & ~off) | (lin & off);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -ENXIO;
}

static int soft_walk(struct hvabs_be_vm *vm, const struct hvabs_sregs *s, uint64_t lin,
		     uint64_t *gpa)
{
	if (!(s->cr0 & CR0_PG)) {
		*gpa = lin & 0xffffffffull;
		return 0;
	}
	if (!(s->cr4 & CR4_PAE))
		return walk32(vm, s->cr3, (s->cr4 & CR4_PSE) != 0, (uint32_t)lin, gpa);
	if (!(s->efer & EFER_LMA)) {
		/* PAE: the 4 PDPTEs sit at CR3[31:5], indexed by bits 31:30. */
		uint64_t pdpte;
		if (read_gpa(vm, (s->cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8, &pdpte, 8) ||
		    !(pdpte & PTE_P))
			return -ENXIO;
		return walk64(vm, pdpte & PTE_ADDR, 2, lin & 0xffffffffull, gpa);
	}
	return walk64(vm, s->cr3 & PTE_ADDR, (s->cr4 & CR4_LA57) ? 5 : 4, lin, gpa);
}

/* Linear -> guest-physical for the page holding @p lin, remembered for this check. */
int kvm_xc_translate(struct kvm_xc_check *c, uint64_t lin, uint64_t *gpa)
{
	struct hvabs_be_vcpu *v = c->v;
	struct kvm_xc_vm *x = v->vm->xc;
	uint64_t page = lin & ~(uint64_t)(PAGE_SIZE - 1), base;
	int rc = -ENXIO;

	for (uint32_t i = 0; i < c->ntlb; i++)
		if (c->tlb_lin[i] == page) {
			*gpa = c->tlb_gpa[i] | (lin & (PAGE_SIZE - 1));
			return 0;
		}
	if (!atomic_load(&x->soft_walk)) {
		struct kvm_translation t;
		memset(&t, 0, sizeof(t));
		t.linear_address = page;
		t.valid = 0xff; /* KVM writes 0 or 1; 0xff left over means it answered nothing */
		int r = kvm_vcpu_ioctl(v, KVM_TRANSLATE, &t);
		if (r == 0 && t.valid != 0xff) {
			if (!t.valid)
				return -ENXIO;
			base = t.physical_address & ~(uint64_t)(PAGE_SIZE - 1);
			rc = 0;
		} else if (atomic_exchange(&x->soft_walk, 1) == 0) {
			/* A warning: the check now rests on the backend's own page walk. */
			hvabs_host_logf(v->vm->host, HVABS_LOG_WARN, KVM,
					"x86emu cross-check: KVM_TRANSLATE %s here; walking the "
					"guest page tables in the backend instead",
					r ? "fails" : "answers nothing");
		}
	}
	if (rc)
		rc = soft_walk(v->vm, &c->now.sregs, page, &base);
	if (rc)
		return rc;
	if (c->ntlb < KVM_XC_TLB) {
		c->tlb_lin[c->ntlb] = page;
		c->tlb_gpa[c->ntlb++] = base;
	}
	*gpa = base | (lin & (PAGE_SIZE - 1));
	return 0;
}

/* Reads guest memory by linear address, page by page; bit i of the result = byte i read. */
static uint32_t read_linear(struct kvm_xc_check *c, uint64_t lin, uint8_t *buf, uint32_t len)
{
	uint32_t got = 0;

	for (uint32_t off = 0; off < len;) {
		uint64_t l = lin + off, gpa;
		uint32_t n = PAGE_SIZE - (uint32_t)(l & (PAGE_SIZE - 1));
		if (n > len - off)
			n = len - off;
		if (kvm_xc_translate(c, l, &gpa) == 0 && read_gpa(c->v->vm, gpa, buf + off, n) == 0)
			got |= ((1u << n) - 1) << off;
		off += n;
	}
	return got;
}

uint64_t kvm_xc_ip_linear(const struct kvm_xc_state *st, uint64_t ip)
{
	if (st->mode == HVABS_X86EMU_MODE_64)
		return ip;
	/* IP wraps at the mode's width; the linear address at 4 GiB (SDM vol. 1 §3.5). */
	uint64_t mask = st->mode == HVABS_X86EMU_MODE_16 ? 0xffffu : 0xffffffffu;
	return (st->sregs.cs.base + (ip & mask)) & 0xffffffffull;
}

/* Registers, mode, and the bytes from RIP - back to RIP + 15. */
int kvm_xc_capture(struct kvm_xc_check *c)
{
	struct kvm_xc_state *now = &c->now;
	enum hvabs_x86emu_mode mode;
	int rc = kvm_get_regs(c->v, &now->regs);

	if (!rc)
		rc = kvm_get_sregs(c->v, &now->sregs);
	if (!rc)
		rc = hvabs_x86emu_mode_get(&now->sregs, now->regs.rflags, &mode);
	if (rc)
		return rc;
	now->regs.hdr = HVABS_HDR_INIT(struct hvabs_regs);
	now->sregs.hdr = HVABS_HDR_INIT(struct hvabs_sregs);
	now->mode = mode;
	now->len = 0;
	uint64_t ip = now->regs.rip;
	c->back = KVM_XC_BACK;
	if (mode != HVABS_X86EMU_MODE_64) {
		uint64_t wrapped = ip & (mode == HVABS_X86EMU_MODE_16 ? 0xffffu : 0xffffffffu);
		if (wrapped < c->back)
			c->back = (uint32_t)wrapped; /* no candidates across the IP wrap */
	}
	uint64_t lin = kvm_xc_ip_linear(now, ip);
	memset(c->win, 0, sizeof(c->win));
	c->avail = read_linear(c, lin - c->back, c->win + (KVM_XC_BACK - c->back),
			       c->back + HVABS_X86EMU_MAX_INSN)
		   << (KVM_XC_BACK - c->back);
	return 0;
}

/* ---- the emulator, with callbacks that record instead of acting ---- */

struct xc_run {
	struct kvm_xc_check *c;
	const struct kvm_xc_state *st;
	const uint8_t (*answers)[8];
	uint32_t nanswers;
	struct kvm_xc_pred *p;
};

static int is_ram(struct hvabs_be_vm *vm, uint64_t gpa, uint32_t len, int write)
{
	int ram = 0;

	/* A slot is RAM to KVM: no exit, except a guest write to a read-only one. */
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->nslots && !ram; i++) {
		const struct kvm_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && gpa - s->gpa + len <= s->size)
			ram = !(write && (s->flags & HVABS_MEM_READONLY));
	}
	pthread_mutex_unlock(&vm->lock);
	return ram;
}

/*
 * One access of the emulated instruction, split at page boundaries as KVM
 * splits it (one exit per MMIO fragment, x86.c emulator_read_write()).
 */
static int record_access(struct xc_run *r, uint64_t lin, uint8_t *buf, uint32_t size, int write)
{
	struct hvabs_be_vm *vm = r->c->v->vm;
	struct kvm_xc_pred *p = r->p;

	for (uint32_t off = 0; off < size;) {
		uint64_t l = lin + off, gpa;
		uint32_t n = PAGE_SIZE - (uint32_t)(l & (PAGE_SIZE - 1));
		if (n > size - off)
			n = size - off;
		if (kvm_xc_translate(r->c, l, &gpa)) {
			p->bad_linear = l;
			return -ENXIO;
		}
		if (vm->xc_corrupt == KVM_XC_CORRUPT_ADDR)
			gpa += 1;
		if (is_ram(vm, gpa, n, write)) {
			if (!write && read_gpa(vm, gpa, buf + off, n))
				return -ENXIO;
		} else {
			if (p->nexits == KVM_XC_MAX_EXITS)
				return -E2BIG;
			struct kvm_xc_exit *e = &p->exits[p->nexits];
			e->gpa = gpa;
			e->len = n;
			e->is_write = (uint32_t)write;
			if (write)
				memcpy(e->data, buf + off, n);
			else if (p->nexits < r->nanswers)
				memcpy(buf + off, r->answers[p->nexits], n);
			else
				memset(buf + off, 0,
				       n); /* a fixed answer lets the instruction finish */
			p->nexits++;
		}
		off += n;
	}
	return 0;
}

static int op_read(void *o, uint64_t lin, void *buf, uint32_t size)
{
	return record_access(o, lin, buf, size, 0);
}

static int op_write(void *o, uint64_t lin, const void *buf, uint32_t size)
{
	struct xc_run *r = o;
	uint8_t copy[8];

	memcpy(copy, buf, size);
	if (r->c->v->vm->xc_corrupt == KVM_XC_CORRUPT_DATA)
		copy[0] ^= 0xff;
	return record_access(r, lin, copy, size, 1);
}

static int op_get_regs(void *o, struct hvabs_regs *regs)
{
	*regs = ((struct xc_run *)o)->st->regs;
	return 0;
}

static int op_get_sregs(void *o, struct hvabs_sregs *sregs)
{
	*sregs = ((struct xc_run *)o)->st->sregs;
	return 0;
}

static int op_set_regs(void *o, const struct hvabs_regs *regs)
{
	(void)o;
	(void)regs; /* the guest keeps the registers KVM gave it */
	return 0;
}

int kvm_xc_predict(struct kvm_xc_check *c, const struct kvm_xc_state *st,
		   const uint8_t (*answers)[8], uint32_t nanswers, struct kvm_xc_pred *p)
{
	struct xc_run r = {.c = c, .st = st, .answers = answers, .nanswers = nanswers, .p = p};
	struct hvabs_x86emu_ops ops = {
	    .hdr = HVABS_HDR_INIT(struct hvabs_x86emu_ops),
	    .opaque = &r,
	    .max_reps = 1, /* KVM exits once per element of a REP string */
	    .get_regs = op_get_regs,
	    .set_regs = op_set_regs,
	    .get_sregs = op_get_sregs,
	    .read_gva = op_read,
	    .write_gva = op_write,
	};
	struct hvabs_x86emu_result res;

	memset(p, 0, sizeof(*p));
	p->rc = hvabs_x86emu_run(&ops, st->insn, st->len, &res);
	if (p->rc == 0)
		p->insn = res.insn;
	return p->rc;
}

int kvm_xc_exit_equal(const struct kvm_xc_exit *a, const struct kvm_xc_exit *b)
{
	return a->gpa == b->gpa && a->len == b->len && a->is_write == b->is_write &&
	       (!a->is_write || memcmp(a->data, b->data, a->len) == 0);
}
