/* SPDX-License-Identifier: Apache-2.0 */
/* Boot vCPU state on the mock backend: long mode for a bzImage, 32-bit protected mode for PVH. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/loader.h>
#include <hvabs/mock.h>

#include "loader_test.h"

struct fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_mock m;
	uint8_t img[5 * 512 + 0x10000];
	struct hvabs_linux_boot boot;
};

static int open_vm(void **state, const char *options)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hvabs_vm_config cfg = {.max_vcpus = 2, .backend_options = options};

	if (!f || hvabs_backend_open("mock", NULL, &f->be) ||
	    hvabs_vm_create(f->be, &cfg, &f->vm) || hvabs_vm_add_ram(f->vm, 0, 64 * MIB, 0, NULL) ||
	    hvabs_vcpu_create(f->vm, 0, &f->cpu) || hvabs_mock_attach(f->vm, &f->m))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return open_vm(state, NULL);
}

/* A struct hvabs_caps cut short before `features`: no FPU or MSR capability. */
static int setup_nocaps(void **state)
{
	return open_vm(state, "caps_size=16");
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_vm_destroy(f->vm);
	hvabs_backend_close(f->be);
	free(f);
	return 0;
}

static void load_bzimage(struct fx *f)
{
	struct bz_opts o = bz_defaults();
	struct hvabs_linux_config cfg = {0};
	char err[256] = "";

	cfg.kernel = f->img;
	cfg.kernel_size = bz_build(f->img, &o);
	cfg.cmdline = "console=ttyS0";
	cfg.platform.nr_cpus = 2;
	if (hvabs_linux_load(hvabs_vm_mem(f->vm), &cfg, &f->boot, err, sizeof(err)))
		fail_msg("load: %s", err);
}

static void check_flat(const struct hvabs_segment *s, uint16_t sel, uint8_t type, int l, int db)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffffu);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->l, l);
	assert_int_equal(s->db, db);
	assert_int_equal(s->unusable, 0);
}

static void bzimage_long_mode(void **state)
{
	struct fx *f = *state;
	struct hvabs_regs r;
	struct hvabs_sregs s;

	load_bzimage(f);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), 0);
	assert_int_equal(hvabs_vcpu_get_regs(f->cpu, &r), 0);
	assert_int_equal(r.rip, 0x100200);
	assert_int_equal(r.rsi, 0x7000);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rsp, HVABS_LINUX_STACK_TOP);
	assert_int_equal(r.rax | r.rbx | r.rcx | r.rdx | r.rdi, 0);
	assert_int_equal(hvabs_vcpu_get_sregs(f->cpu, &s), 0);
	check_flat(&s.cs, 0x10, 0xb, 1, 0);
	check_flat(&s.ds, 0x18, 0x3, 0, 1);
	check_flat(&s.es, 0x18, 0x3, 0, 1);
	check_flat(&s.ss, 0x18, 0x3, 0, 1);
	check_flat(&s.fs, 0x18, 0x3, 0, 1);
	check_flat(&s.gs, 0x18, 0x3, 0, 1);
	assert_int_equal(s.tr.selector, 0x20);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.gdt.limit, 0x2f);
	assert_int_equal(s.cr0 & 0x80000001u, 0x80000001u); /* PG, PE */
	assert_int_equal(s.cr0 & 0x60000000u, 0);	    /* caches on: CD, NW clear */
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.cr4, 0x20);
	assert_int_equal(s.efer, 0x500);
}

static void pvh_protected_mode(void **state)
{
	struct fx *f = *state;
	struct hvabs_linux_boot b = {.entry_kind = HVABS_LINUX_ENTRY_PVH,
				     .entry = 0x1000100,
				     .boot_info = HVABS_LINUX_START_INFO_ADDR,
				     .gdt = HVABS_LINUX_GDT_ADDR,
				     .stack = HVABS_LINUX_STACK_TOP};
	struct hvabs_regs r;
	struct hvabs_sregs s;

	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &b), 0);
	assert_int_equal(hvabs_vcpu_get_regs(f->cpu, &r), 0);
	assert_int_equal(r.rip, 0x1000100);
	assert_int_equal(r.rbx, HVABS_LINUX_START_INFO_ADDR);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(hvabs_vcpu_get_sregs(f->cpu, &s), 0);
	check_flat(&s.cs, 0x08, 0xb, 0, 1);
	check_flat(&s.ds, 0x18, 0x3, 0, 1);
	check_flat(&s.ss, 0x18, 0x3, 0, 1);
	assert_int_equal(s.tr.selector, 0x20);
	assert_int_equal(s.tr.base, 0);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.cr0 & 0x80000001u, 1); /* PE without PG */
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cr3, 0);
}

static void fpu_and_msrs(void **state)
{
	struct fx *f = *state;
	struct hvabs_msr_entry m = {.index = 0x1a0, .data = 0x800};
	struct hvabs_fpu fpu;

	assert_int_equal(hvabs_vcpu_set_msrs(f->cpu, &m, 1), 0);
	load_bzimage(f);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), 0);
	m.data = 0;
	assert_int_equal(hvabs_vcpu_get_msrs(f->cpu, &m, 1), 0);
	assert_int_equal(m.data, 0x801); /* fast strings on, other bits kept */
	assert_int_equal(hvabs_vcpu_get_fpu(f->cpu, &fpu), 0);
	assert_int_equal(fpu.fcw, 0x37f);
	assert_int_equal(fpu.mxcsr, 0x1f80);
}

/* Without the capabilities, FPU and MSRs are left alone and setup still succeeds. */
static void without_caps(void **state)
{
	struct fx *f = *state;
	struct hvabs_msr_entry m = {.index = 0x1a0};
	struct hvabs_regs r;

	assert_false(hvabs_vm_has_cap(f->vm, HVABS_CAP_MSRS));
	load_bzimage(f);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), 0);
	assert_int_equal(hvabs_vcpu_get_regs(f->cpu, &r), 0);
	assert_int_equal(r.rip, 0x100200);
	assert_int_equal(hvabs_vcpu_get_msrs(f->cpu, &m, 1), 0);
	assert_int_equal(m.data, 0);
}

static void errors(void **state)
{
	struct fx *f = *state;
	struct hvabs_linux_boot b = {.entry_kind = 3};
	struct hvabs_regs r;

	assert_int_equal(hvabs_linux_setup_vcpu(NULL, &b), -EINVAL);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, NULL), -EINVAL);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &b), -EINVAL);
	load_bzimage(f);
	assert_int_equal(f->m.ops->inject_fault(f->m.ctx, "set_sregs", 1, -EIO), 0);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), -EIO);
	assert_int_equal(hvabs_vcpu_get_regs(f->cpu, &r), 0);
	assert_int_equal(r.rip, 0xfff0); /* nothing after the failure was set */
	assert_int_equal(f->m.ops->inject_fault(f->m.ctx, "set_regs", 1, -EIO), 0);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), -EIO);
	assert_int_equal(hvabs_linux_setup_vcpu(f->cpu, &f->boot), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(bzimage_long_mode),
	    T(pvh_protected_mode),
	    T(fpu_and_msrs),
	    cmocka_unit_test_setup_teardown(without_caps, setup_nocaps, teardown),
	    T(errors),
	};
	return cmocka_run_group_tests_name("loader.vcpu.mock", tests, NULL, NULL);
}
