/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot vCPU's register state, set through the vCPU API only. Segment
 * attributes follow the descriptors ldr_write_gdt() writes; the 64-bit
 * state is the one the Linux boot protocol's "64-bit BOOT PROTOCOL" section
 * asks for, the 32-bit state the one of Xen's pvh.pandoc.
 */
#include <errno.h>
#include <string.h>

#include "hvabs/vm.h"
#include "loader_priv.h"

#define CR0_PE			(1ull << 0)
#define CR0_ET			(1ull << 4)
#define CR0_NW			(1ull << 29)
#define CR0_CD			(1ull << 30)
#define CR0_PG			(1ull << 31)
#define CR4_PAE			(1ull << 5)
#define EFER_LME		(1ull << 8)
#define EFER_LMA		(1ull << 10)

#define MSR_IA32_MISC_ENABLE	0x1a0u
#define MISC_ENABLE_FAST_STRING 1ull

static struct hvabs_segment flat(uint16_t sel, uint8_t type, int code64)
{
	struct hvabs_segment s;

	memset(&s, 0, sizeof(s));
	s.base = 0;
	s.limit = 0xffffffffu;
	s.selector = sel;
	s.type = type;
	s.present = 1;
	s.s = 1;
	s.g = 1;
	s.l = code64 ? 1 : 0;
	s.db = code64 ? 0 : 1;
	return s;
}

static void set_segments(struct hvabs_sregs *s, int long_mode)
{
	struct hvabs_segment data = flat(HVABS_LINUX_SEL_DATA, 0x3, 0);

	s->cs =
	    long_mode ? flat(HVABS_LINUX_SEL_CODE64, 0xb, 1) : flat(HVABS_LINUX_SEL_CODE32, 0xb, 0);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = HVABS_LINUX_SEL_TSS;
	s->tr.limit = 0x67;
	s->tr.type = 0xb; /* busy TSS: valid in both modes */
	s->tr.present = 1;
	s->gdt.base = HVABS_LINUX_GDT_ADDR;
	s->gdt.limit = 6 * 8 - 1;
	/* No IDT: interrupts stay off until the kernel loads its own. */
	s->idt.base = 0;
	s->idt.limit = 0;
}

static void set_control(struct hvabs_sregs *s, const struct hvabs_linux_boot *b)
{
	uint64_t cr0 = s->cr0 & ~(CR0_CD | CR0_NW | CR0_PG);

	if (b->entry_kind == HVABS_LINUX_ENTRY_BZIMAGE) {
		s->cr0 = cr0 | CR0_PE | CR0_ET | CR0_PG;
		s->cr3 = b->pml4;
		s->cr4 = CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		s->cr0 = cr0 | CR0_PE | CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}

/* Reset values of the x87 control word and MXCSR (SDM vol. 1 §8.1.5, §10.2.3.1). */
static int set_fpu(struct hvabs_vcpu *cpu)
{
	struct hvabs_fpu f;
	int rc = hvabs_vcpu_get_fpu(cpu, &f);

	if (!rc) {
		f.fcw = 0x37f;
		f.mxcsr = 0x1f80;
		rc = hvabs_vcpu_set_fpu(cpu, &f);
	}
	return rc == -ENOTSUP ? 0 : rc;
}

static int set_msrs(struct hvabs_vcpu *cpu)
{
	struct hvabs_msr_entry m = {.index = MSR_IA32_MISC_ENABLE};
	int rc = hvabs_vcpu_get_msrs(cpu, &m, 1);

	if (!rc) {
		m.data |= MISC_ENABLE_FAST_STRING;
		rc = hvabs_vcpu_set_msrs(cpu, &m, 1);
	}
	return rc == -ENOTSUP ? 0 : rc;
}

int hvabs_linux_setup_vcpu(struct hvabs_vcpu *boot_cpu, const struct hvabs_linux_boot *boot)
{
	struct hvabs_sregs s;
	struct hvabs_regs r;
	struct hvabs_vm *vm;
	int rc;

	if (!boot_cpu || !boot)
		return -EINVAL;
	if (boot->entry_kind != HVABS_LINUX_ENTRY_BZIMAGE &&
	    boot->entry_kind != HVABS_LINUX_ENTRY_PVH)
		return -EINVAL;
	rc = hvabs_vcpu_get_sregs(boot_cpu, &s);
	if (rc)
		return rc;
	set_segments(&s, boot->entry_kind == HVABS_LINUX_ENTRY_BZIMAGE);
	set_control(&s, boot);
	rc = hvabs_vcpu_set_sregs(boot_cpu, &s);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rflags = 2; /* bit 1 is reserved-one; IF clear */
	r.rip = boot->entry;
	r.rsp = boot->stack;
	r.rbp = boot->stack;
	if (boot->entry_kind == HVABS_LINUX_ENTRY_BZIMAGE)
		r.rsi = boot->boot_info;
	else
		r.rbx = boot->boot_info;
	rc = hvabs_vcpu_set_regs(boot_cpu, &r);
	if (rc)
		return rc;
	vm = hvabs_vcpu_vm(boot_cpu);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_FPU)) {
		rc = set_fpu(boot_cpu);
		if (rc)
			return rc;
	}
	if (hvabs_vm_has_cap(vm, HVABS_CAP_MSRS))
		rc = set_msrs(boot_cpu);
	return rc;
}
