/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MSHV backend's own behaviour over the fake /dev/mshv: probe reasons,
 * partition setup, capabilities and options, register state (general,
 * segment, FPU, MSRs, LAPIC), memory (read-only, dirty log, unmap), MSIs,
 * interrupt lines, ioeventfds, and that every fd it opened is closed again.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/ioapic.h>

#include "mshv_test.h"

static int setup(void **state)
{
	struct t_vm *t = calloc(1, sizeof(*t));

	if (!t || t_open(t, NULL, 0)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t_vm *t = *state;

	t_close(t);
	free(t);
	return 0;
}

/* ---- probe, partition, capabilities ---- */

static void probe_reasons(void **state)
{
	const struct fake_mshv_api *f = fake_mshv_api_v1();
	char err[512];
	struct hvabs_backend_opts o = {
	    .errbuf = err, .errbuf_len = sizeof(err), .no_install_dir = 1};
	struct hvabs_backend *be = NULL;

	(void)state;
	f->reset();
	f->set_options(FAKE_MSHV_OPT_ABSENT);
	assert_int_equal(hvabs_backend_open("mshv", &o, &be), -ENODEV);
	assert_non_null(
	    strstr(err, "no /dev/mshv: not running as the Microsoft Hypervisor root partition"));
	f->set_options(FAKE_MSHV_OPT_EACCES);
	assert_int_equal(hvabs_backend_open("mshv", &o, &be), -EACCES);
	assert_non_null(strstr(err, "/dev/mshv"));
	f->set_options(0);
	assert_int_equal(hvabs_backend_open("mshv", &o, &be), 0);
	hvabs_backend_close(be);
	assert_int_equal(f->open_fds(), 0);
	/* A test seam that does not load is a clear refusal, not the real device. */
	char *keep = strdup(getenv("HVABS_MSHV_FAKE"));
	assert_non_null(keep);
	setenv("HVABS_MSHV_FAKE", "/nonexistent/fake_mshv.so", 1);
	assert_int_equal(hvabs_backend_open("mshv", &o, &be), -ENODEV);
	assert_non_null(strstr(err, "HVABS_MSHV_FAKE=/nonexistent/fake_mshv.so: cannot load"));
	setenv("HVABS_MSHV_FAKE", keep, 1);
	free(keep);
}

/* The partition a Linux guest needs, set up in the order the hypervisor requires. */
static void partition_properties(void **state)
{
	struct t_vm *t = *state;
	uint64_t v = 0;

	assert_int_equal(t->f->property(t->pt, MSHV_PROP_SYNTHETIC_PROC_FEATURES, &v), 0);
	assert_int_equal(v, MSHV_SYNFEAT_LINUX_GUEST);
	assert_true(v & MSHV_SYNFEAT_HYPERVISOR_PRESENT);
	assert_true(v & MSHV_SYNFEAT_ACCESS_VP_REGS);
	assert_int_equal(t->f->property(t->pt, MSHV_PROP_UNIMPLEMENTED_MSR_ACTION, &v), 0);
	assert_int_equal(v, MSHV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO);
}

static void caps_are_mshv(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_caps c;

	assert_int_equal(hvabs_vm_get_caps(t->vm, &c), 0);
	assert_int_equal(c.irqchip, HVABS_IRQCHIP_LAPIC);
	assert_int_equal(c.nr_irqs, HVABS_IOAPIC_PINS);
	assert_int_equal(c.max_vcpus, 256);
	assert_true(c.features & HVABS_CAP_INSN_EMULATION);
	assert_true(c.features & HVABS_CAP_IOEVENTFD_MMIO);
	assert_false(c.features & HVABS_CAP_IOEVENTFD_PIO); /* upstream refuses PIO ioeventfds */
	assert_false(c.features & HVABS_CAP_IRQFD);
	assert_true(c.features & HVABS_CAP_PAUSE);
}

static void bad_options_refused(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_vm *vm;
	const char *bad[] = {"regpage=2", "max_reps=0", "bogus=1", "regpage"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = bad[i]};
		assert_int_equal(hvabs_vm_create(t->be, &cfg, &vm), -EINVAL);
	}
	struct hvabs_vm_config big = {.max_vcpus = 257};
	assert_int_equal(hvabs_vm_create(t->be, &big, &vm), -EINVAL);
}

static void vcpu_indexes(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_vcpu *c1, *dup;

	assert_int_equal(hvabs_vcpu_create(t->vm, 1, &c1), 0);
	assert_int_equal(hvabs_vcpu_create(t->vm, 1, &dup), -EEXIST);
	assert_int_equal(hvabs_vcpu_create(t->vm, 2, &dup), -EINVAL);
	hvabs_vcpu_destroy(c1);
	assert_int_equal(hvabs_vcpu_create(t->vm, 1, &c1), -EEXIST); /* MSHV never deletes a VP */
}

/* ---- register state ---- */

static void regs_reach_hypervisor(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_regs r;

	assert_int_equal(hvabs_vcpu_get_regs(t->cpu, &r), 0);
	assert_int_equal(r.rip, 0xfff0);
	assert_int_equal(r.rflags, 2);
	r.rax = 1;
	r.rbx = 2;
	r.rcx = 3;
	r.r15 = 0xf00f;
	r.rip = 0x1000;
	r.rflags = 0x202;
	assert_int_equal(hvabs_vcpu_set_regs(t->cpu, &r), 0);
	assert_int_equal(t_reg(t, MSHV_REG_RBX), 2);
	assert_int_equal(t_reg(t, MSHV_REG_RCX), 3);
	assert_int_equal(t_reg(t, MSHV_REG_R15), 0xf00f);
	assert_int_equal(t_reg(t, MSHV_REG_RIP), 0x1000);
	assert_int_equal(t_reg(t, MSHV_REG_RFLAGS), 0x202);
	memset(&r, 0, sizeof(r));
	assert_int_equal(hvabs_vcpu_get_regs(t->cpu, &r), 0);
	assert_int_equal(r.r15, 0xf00f);
}

static void sregs_roundtrip(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_sregs s;

	t_long_mode(t);
	assert_int_equal(t_reg(t, MSHV_REG_EFER), 0x500);
	assert_int_equal(t_reg(t, MSHV_REG_CR0), 0x80000011);
	memset(&s, 0, sizeof(s));
	assert_int_equal(hvabs_vcpu_get_sregs(t->cpu, &s), 0);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.selector, 8);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.ds.db, 1);
	assert_int_equal(s.ds.unusable, 0);
	assert_int_equal(s.cr4, 0x20);
	s.gdt.base = 0x9000;
	s.gdt.limit = 0x27;
	s.ldt.unusable = 1;
	s.ldt.present = 1;
	assert_int_equal(hvabs_vcpu_set_sregs(t->cpu, &s), 0);
	assert_int_equal(hvabs_vcpu_get_sregs(t->cpu, &s), 0);
	assert_int_equal(s.gdt.base, 0x9000);
	assert_int_equal(s.gdt.limit, 0x27);
	assert_int_equal(s.ldt.present, 0);
	assert_int_equal(s.ldt.unusable, 1);
}

static void fpu_roundtrip(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_fpu f;

	assert_int_equal(hvabs_vcpu_get_fpu(t->cpu, &f), 0);
	assert_int_equal(f.fcw, 0x37f);
	assert_int_equal(f.mxcsr, 0x1f80);
	f.fcw = 0x27f;
	f.mxcsr = 0x1fa0;
	f.fpr[2][0] = 0x12;
	f.fpr[2][9] = 0x40;
	f.xmm[15][15] = 0xee;
	assert_int_equal(hvabs_vcpu_set_fpu(t->cpu, &f), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(hvabs_vcpu_get_fpu(t->cpu, &f), 0);
	assert_int_equal(f.fcw, 0x27f);
	assert_int_equal(f.mxcsr, 0x1fa0);
	assert_int_equal(f.fpr[2][0], 0x12);
	assert_int_equal(f.fpr[2][9], 0x40);
	assert_int_equal(f.xmm[15][15], 0xee);
	assert_int_equal(t_reg(t, MSHV_REG_FP_CONTROL_STATUS) & 0xffff, 0x27f);
}

static void msrs_map_to_registers(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_msr_entry m[] = {
	    {.index = 0x174, .data = 0x10},
	    {.index = 0xc0000082, .data = 0xffffffff81000000ull},
	    {.index = 0x202, .data = 0xc0000006},	     /* MTRR physbase1 */
	    {.index = 0x26e, .data = 0x0606060606060606ull}, /* MTRR fix4K_F0000 */
	};
	struct hvabs_msr_entry bad = {.index = 0x12345678};

	assert_int_equal(hvabs_vcpu_set_msrs(t->cpu, m, 4), 0);
	assert_int_equal(t_reg(t, MSHV_REG_SYSENTER_CS), 0x10);
	assert_int_equal(t_reg(t, MSHV_REG_LSTAR), 0xffffffff81000000ull);
	assert_int_equal(t_reg(t, MSHV_REG_MTRR_PHYS_BASE0 + 1), 0xc0000006);
	assert_int_equal(t_reg(t, MSHV_REG_MTRR_FIX4K_C0000 + 6), 0x0606060606060606ull);
	for (int i = 0; i < 4; i++)
		m[i].data = 0;
	assert_int_equal(hvabs_vcpu_get_msrs(t->cpu, m, 4), 0);
	assert_int_equal(m[0].data, 0x10);
	assert_int_equal(m[3].data, 0x0606060606060606ull);
	assert_int_equal(hvabs_vcpu_set_msrs(t->cpu, &bad, 1), -EINVAL);
	assert_int_equal(hvabs_vcpu_get_msrs(t->cpu, &bad, 1), -EINVAL);
}

static void lapic_layout(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_lapic *l = calloc(1, sizeof(*l));
	uint32_t x;

	assert_non_null(l);
	assert_int_equal(hvabs_vcpu_get_lapic(t->cpu, l), 0);
	memcpy(&x, l->regs + 0x30, 4);
	assert_int_equal(x, 0x50014); /* version register, from the hypervisor's state */
	memcpy(&x, l->regs + 0x350, 4);
	assert_int_equal(x, 0x10000); /* LINT0 masked */
	x = 0x700;		      /* LINT0: ExtINT, unmasked */
	memcpy(l->regs + 0x350, &x, 4);
	x = 0x50; /* TPR: priority class 5 */
	memcpy(l->regs + 0x80, &x, 4);
	assert_int_equal(hvabs_vcpu_set_lapic(t->cpu, l), 0);
	assert_int_equal(t_reg(t, MSHV_REG_CR8), 5);
	memset(l->regs, 0, sizeof(l->regs));
	assert_int_equal(hvabs_vcpu_get_lapic(t->cpu, l), 0);
	memcpy(&x, l->regs + 0x350, 4);
	assert_int_equal(x, 0x700);
	memcpy(&x, l->regs + 0x80, 4);
	assert_int_equal(x, 0x50);
	free(l);
}

/* Save, change everything, restore: the guest is back as it was. */
static void vcpu_state_roundtrip(void **state)
{
	struct t_vm *t = *state;
	size_t len = 0;
	struct hvabs_regs r;
	struct hvabs_fpu f;
	struct hvabs_msr_entry m = {.index = 0xc0000082};

	t_long_mode(t);
	assert_int_equal(hvabs_vcpu_get_regs(t->cpu, &r), 0);
	r.rip = 0x1234;
	r.r9 = 0x99;
	assert_int_equal(hvabs_vcpu_set_regs(t->cpu, &r), 0);
	m.data = 0xffffffff81000000ull;
	assert_int_equal(hvabs_vcpu_set_msrs(t->cpu, &m, 1), 0);
	assert_int_equal(t->f->set_reg(t->pt, 0, MSHV_REG_INTERRUPT_STATE, 1), 0);
	assert_int_equal(hvabs_vcpu_get_state(t->cpu, NULL, &len), -ENOSPC);
	uint8_t *blob = malloc(len);
	assert_non_null(blob);
	assert_int_equal(hvabs_vcpu_get_state(t->cpu, blob, &len), 0);

	struct hvabs_sregs s;
	assert_int_equal(hvabs_vcpu_get_sregs(t->cpu, &s), 0);
	s.cr0 = 0x60000010;
	s.efer = 0;
	assert_int_equal(hvabs_vcpu_set_sregs(t->cpu, &s), 0);
	r.rip = 0;
	r.r9 = 0;
	assert_int_equal(hvabs_vcpu_set_regs(t->cpu, &r), 0);
	m.data = 0;
	assert_int_equal(hvabs_vcpu_set_msrs(t->cpu, &m, 1), 0);
	assert_int_equal(hvabs_vcpu_get_fpu(t->cpu, &f), 0);
	f.fcw = 0x7f;
	assert_int_equal(hvabs_vcpu_set_fpu(t->cpu, &f), 0);
	assert_int_equal(t->f->set_reg(t->pt, 0, MSHV_REG_INTERRUPT_STATE, 0), 0);

	assert_int_equal(hvabs_vcpu_set_state(t->cpu, blob, len), 0);
	assert_int_equal(t_reg(t, MSHV_REG_RIP), 0x1234);
	assert_int_equal(t_reg(t, MSHV_REG_R8 + 1), 0x99);
	assert_int_equal(t_reg(t, MSHV_REG_EFER), 0x500);
	assert_int_equal(t_reg(t, MSHV_REG_LSTAR), 0xffffffff81000000ull);
	assert_int_equal(t_reg(t, MSHV_REG_FP_CONTROL_STATUS) & 0xffff, 0x37f);
	assert_int_equal(t_reg(t, MSHV_REG_INTERRUPT_STATE), 1);
	/* A damaged or foreign blob is refused whole. */
	blob[0] ^= 1;
	assert_int_equal(hvabs_vcpu_set_state(t->cpu, blob, len), -EINVAL);
	assert_int_equal(hvabs_vcpu_set_state(t->cpu, blob, len - 1), -EINVAL);
	free(blob);
}

/* ---- memory ---- */

static void readonly_and_unmap(void **state)
{
	struct t_vm *t = *state;
	uint64_t start, size;
	uint32_t flags;
	void *hva;

	assert_int_equal(t->f->region(t->pt, 0x1000, &start, &size, &flags), 0);
	assert_int_equal(start, 0);
	assert_int_equal(size, T_RAM_SIZE);
	assert_true(flags & (1u << MSHV_SET_MEM_BIT_WRITABLE));
	assert_int_equal(hvabs_vm_add_ram(t->vm, 0x300000, 0x2000, HVABS_MEM_READONLY, &hva), 0);
	assert_int_equal(t->f->region(t->pt, 0x301000, &start, &size, &flags), 0);
	assert_false(flags & (1u << MSHV_SET_MEM_BIT_WRITABLE));
	assert_true(flags & (1u << MSHV_SET_MEM_BIT_EXECUTABLE));
	assert_int_equal(hvabs_vm_unmap_memory(t->vm, 0x300000), 0);
	assert_int_equal(t->f->region(t->pt, 0x301000, &start, &size, &flags), -ENOENT);
	assert_int_equal(hvabs_vm_add_ram(t->vm, 0x300000, 0x2000, 0, &hva), 0);
}

static void dirty_log_from_hypervisor(void **state)
{
	struct t_vm *t = *state;
	uint64_t bm[1] = {~0ull}, v = 0;

	assert_int_equal(t->f->property(t->pt, MSHV_PROP_GPA_PAGE_ACCESS_TRACKING, &v), -ENOENT);
	assert_int_equal(hvabs_vm_add_ram(t->vm, 0x400000, 0x10000, HVABS_MEM_DIRTY_LOG, NULL), 0);
	assert_int_equal(t->f->property(t->pt, MSHV_PROP_GPA_PAGE_ACCESS_TRACKING, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(t->f->mark_dirty(t->pt, 0x401000), 0);
	assert_int_equal(t->f->mark_dirty(t->pt, 0x40f000), 0);
	assert_int_equal(hvabs_vm_get_dirty_log(t->vm, 0x400000, bm, 1), 0);
	assert_int_equal(bm[0], (1ull << 1) | (1ull << 15));
	assert_int_equal(hvabs_vm_get_dirty_log(t->vm, 0x400000, bm, 1), 0);
	assert_int_equal(bm[0], 0); /* read and cleared */
	uint64_t big[T_RAM_SIZE / 0x1000 / 64];
	assert_int_equal(hvabs_vm_get_dirty_log(t->vm, 0, big, sizeof(big) / 8), -EINVAL);
}

/* ---- interrupts ---- */

static void msi_asserts_interrupt(void **state)
{
	struct t_vm *t = *state;
	struct fake_mshv_irq q;

	/* Fixed, physical destination 3, edge. */
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfee03000, 0x0041), 0);
	assert_int_equal(t->f->wait_irq(t->pt, 0x41, 0, &q), 0);
	assert_int_equal(q.dest, 3);
	assert_int_equal(q.type, 0);
	assert_false(q.level_triggered);
	assert_false(q.logical);
	/* Lowest priority, logical destination 0x0f, level. */
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfee0f004, 0xc142), 0);
	assert_int_equal(t->f->wait_irq(t->pt, 0x42, 0, &q), 0);
	assert_int_equal(q.dest, 0x0f);
	assert_int_equal(q.type, 1);
	assert_true(q.level_triggered);
	assert_true(q.logical);
	/* NMI carries no vector worth checking but is an interrupt type of its own. */
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfee00000, 0x0400), 0);
	assert_int_equal(t->f->wait_irq(t->pt, -1, 0, &q), 0);
	assert_int_equal(q.type, 4);
	/* Not an MSI address, reserved delivery modes, exception vectors. */
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfec00000, 0x41), -EINVAL);
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfee00000, 0x0341), -EINVAL);
	assert_int_equal(hvabs_irq_msi(t->vm, 0xfee00000, 0x0005), -EINVAL);
	assert_int_equal(t->f->take_irqs(t->pt, -1), 0);
}

/* Lines need the userspace I/O APIC; without one the backend says so. */
static void irq_line_needs_ioapic(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_ioapic *io, *second;
	struct fake_mshv_irq q;

	assert_int_equal(hvabs_irq_line(t->vm, 4, 1), -ENXIO);
	assert_int_equal(hvabs_irq_line(t->vm, 24, 1), -EINVAL);
	assert_int_equal(hvabs_ioapic_create(t->vm, NULL, &io), 0);
	struct hvabs_ioapic_config other = {.base = 0xfec10000};
	assert_int_equal(hvabs_ioapic_create(t->vm, &other, &second), -EBUSY);
	/* pin 4: vector 0x34, level-triggered, physical destination 1 */
	assert_int_equal(hvabs_bus_write(t->vm, HVABS_SPACE_MMIO, 0xfec00000, 4, 0x18), 0);
	assert_int_equal(hvabs_bus_write(t->vm, HVABS_SPACE_MMIO, 0xfec00010, 4, 0x8034), 0);
	assert_int_equal(hvabs_bus_write(t->vm, HVABS_SPACE_MMIO, 0xfec00000, 4, 0x19), 0);
	assert_int_equal(hvabs_bus_write(t->vm, HVABS_SPACE_MMIO, 0xfec00010, 4, 1u << 24), 0);
	assert_int_equal(hvabs_irq_line(t->vm, 4, 1), 0);
	assert_int_equal(t->f->wait_irq(t->pt, 0x34, 0, &q), 0);
	assert_true(q.level_triggered);
	assert_int_equal(q.dest, 1);
	hvabs_ioapic_destroy(io);
	assert_int_equal(hvabs_irq_line(t->vm, 4, 0), -ENXIO);
}

static void ioeventfd_kernel_for_mmio_only(void **state)
{
	struct t_vm *t = *state;
	struct hvabs_ioeventfd_spec mm = {.space = HVABS_SPACE_MMIO,
					  .len = 4,
					  .addr = T_MMIO + 0x40,
					  .flags = HVABS_IOEVENTFD_F_DATAMATCH,
					  .datamatch = 1};
	struct hvabs_ioeventfd_spec pio = {.space = HVABS_SPACE_PIO, .len = 2, .addr = T_PORT};
	struct hvabs_ioeventfd *a, *b;
	uint64_t n = 0;

	assert_int_equal(hvabs_ioeventfd_create(t->vm, &mm, &a), 0);
	assert_int_equal(hvabs_ioeventfd_is_kernel(a), 1);
	assert_int_equal(hvabs_ioeventfd_create(t->vm, &pio, &b), 0);
	assert_int_equal(hvabs_ioeventfd_is_kernel(b), 0); /* the core's fallback */
	/* The guest's matching store never leaves the (fake) kernel. */
	struct fake_mshv_step s = fake_mshv_mmio_store(T_MMIO + 0x40, 4, 1);
	struct fake_mshv_step h = fake_mshv_simple(FAKE_MSHV_HALT);
	t_long_mode(t);
	t_push(t, &s);
	t_push(t, &h);
	assert_int_equal(t_run(t, NULL), HVABS_EXIT_HLT);
	assert_int_equal(read(hvabs_ioeventfd_fd(a), &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	assert_int_equal(t->mmio.n, 0);
	hvabs_ioeventfd_destroy(a);
	hvabs_ioeventfd_destroy(b);
}

/* ---- pause ---- */

struct runner {
	struct t_vm *t;
	struct hvabs_exit e;
	int rc;
	pthread_t th;
};

static void *run_main(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_vcpu_run_loop(r->t->cpu, &r->e);
	return NULL;
}

/*
 * A paused VM: time frozen, the spinning vCPU out of the hypervisor and
 * parked, not canceled; after resume it runs the guest on (here to HLT).
 */
static void pause_parks_resume_continues(void **state)
{
	struct t_vm *t = *state;
	struct runner r = {.t = t};
	struct fake_mshv_step spin = fake_mshv_simple(FAKE_MSHV_SPIN);
	struct fake_mshv_step h = fake_mshv_simple(FAKE_MSHV_HALT);
	uint64_t frozen = 0;

	t_push(t, &spin);
	assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);
	usleep(50 * 1000); /* sequencing only: let it enter the guest */
	assert_int_equal(hvabs_vm_pause(t->vm), 0);
	assert_int_equal(t->f->property(t->pt, MSHV_PROP_TIME_FREEZE, &frozen), 0);
	assert_int_equal(frozen, 1);
	/* While it is parked the guest's next instruction changes. */
	t->f->clear(t->pt, 0);
	t_push(t, &h);
	assert_int_equal(hvabs_vm_resume(t->vm), 0);
	assert_int_equal(t->f->property(t->pt, MSHV_PROP_TIME_FREEZE, &frozen), 0);
	assert_int_equal(frozen, 0);
	pthread_join(r.th, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.e.kind, HVABS_EXIT_HLT);
}

/* A kick reaches a parked vCPU. */
static void kick_while_paused(void **state)
{
	struct t_vm *t = *state;
	struct runner r = {.t = t};
	struct fake_mshv_step spin = fake_mshv_simple(FAKE_MSHV_SPIN);

	t_push(t, &spin);
	assert_int_equal(hvabs_vm_pause(t->vm), 0);
	assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);
	usleep(50 * 1000); /* sequencing only: let it park */
	assert_int_equal(hvabs_vcpu_kick(t->cpu), 0);
	pthread_join(r.th, NULL);
	assert_int_equal(r.e.kind, HVABS_EXIT_CANCELED);
	assert_int_equal(hvabs_vm_resume(t->vm), 0);
	t->f->clear(t->pt, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(probe_reasons),
	    T(partition_properties),
	    T(caps_are_mshv),
	    T(bad_options_refused),
	    T(vcpu_indexes),
	    T(regs_reach_hypervisor),
	    T(sregs_roundtrip),
	    T(fpu_roundtrip),
	    T(msrs_map_to_registers),
	    T(lapic_layout),
	    T(vcpu_state_roundtrip),
	    T(readonly_and_unmap),
	    T(dirty_log_from_hypervisor),
	    T(msi_asserts_interrupt),
	    T(irq_line_needs_ioapic),
	    T(ioeventfd_kernel_for_mmio_only),
	    T(pause_parks_resume_continues),
	    T(kick_while_paused),
	};

	return cmocka_run_group_tests_name("mshv.backend", tests, NULL, NULL);
}
