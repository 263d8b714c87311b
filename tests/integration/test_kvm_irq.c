/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration.kvm.irq: interrupts on /dev/kvm, seen by a real-mode guest.
 *
 * With the in-kernel irqchip: lines through the PICs, the PIT, kernel irqfds
 * on a GSI and on MSI routes, KVM_SIGNAL_MSI into the LAPIC, and HLT staying
 * in the kernel. Without it: lines as vectors injected into vCPU 0, edge by
 * edge, also into a spinning guest. The guest is rm_observer_install()'s:
 * each vector's handler writes its number to OBS_PORT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "driver.h"
#include "kvm_itest.h"

#define OBS_PORT   0x3e8
#define READY_PORT (OBS_PORT + 1)
#define VEC_BASE   0x20
#define STACK_TOP  0x7000
#define EXTRA_GPA  0x4800 /* code a test runs before the observer's main loop */
#define WATCHDOG_S 10

struct irq_fx {
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct kt_watchdog wd;
};

/* A VM, vCPU 0 in the observer, run up to its "ready" write. */
static void fx_start(struct irq_fx *f, uint32_t flags, int lapic)
{
	assert_int_equal(kt_vm_open(&f->k, 1, flags, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(f->k.vm, 0, &f->cpu), 0);
	assert_int_equal(rm_observer_install(hvabs_vm_mem(f->k.vm), VEC_BASE,
					     (flags & HVABS_VM_IRQCHIP) != 0, 1, OBS_PORT),
			 0);
	assert_int_equal(rm_cpu_setup(f->cpu, RM_OBS_MAIN, STACK_TOP), 0);
	if (lapic) {
		struct hvabs_lapic *l = calloc(1, sizeof(*l));
		assert_non_null(l);
		assert_int_equal(hvabs_vcpu_get_lapic(f->cpu, l), 0);
		l->regs[0xf0] = 0xff; /* SVR: spurious vector 0xff, APIC software-enabled */
		l->regs[0xf1] |= 1;
		assert_int_equal(hvabs_vcpu_set_lapic(f->cpu, l), 0);
		free(l);
	}
	assert_int_equal(kt_watchdog_start(&f->wd, f->cpu, WATCHDOG_S), 0);
	assert_int_equal(kt_run_until_port(f->cpu, READY_PORT, 1), 1);
}

static void fx_stop(struct irq_fx *f)
{
	assert_int_equal(kt_watchdog_stop(&f->wd), 0);
	kt_vm_close(&f->k);
}

/* The next vector the guest reports (HLT exits of a VM without irqchip are skipped). */
static int next_vector(struct irq_fx *f)
{
	return kt_run_until_port(f->cpu, OBS_PORT, 1);
}

static void irqchip_caps(void **state)
{
	struct kt_vm k;
	struct hvabs_caps c;

	(void)state;
	assert_int_equal(kt_vm_open(&k, 1, HVABS_VM_IRQCHIP, NULL), 0);
	assert_int_equal(hvabs_vm_get_caps(k.vm, &c), 0);
	assert_int_equal(c.irqchip, HVABS_IRQCHIP_LAPIC | HVABS_IRQCHIP_IOAPIC | HVABS_IRQCHIP_PIC |
					HVABS_IRQCHIP_PIT);
	assert_int_equal(c.nr_irqs, 24);
	assert_true(hvabs_vm_has_cap(k.vm, HVABS_CAP_LAPIC | HVABS_CAP_IRQFD | HVABS_CAP_MSI));
	assert_int_equal(hvabs_irq_line(k.vm, 24, 1), -EINVAL);
	kt_vm_close(&k);
	/* Without the irqchip: no interrupt controller, so no MSI, irqfd or LAPIC. */
	assert_int_equal(kt_vm_open(&k, 1, 0, NULL), 0);
	assert_int_equal(hvabs_vm_get_caps(k.vm, &c), 0);
	assert_int_equal(c.irqchip, 0);
	assert_int_equal(c.nr_irqs, 24);
	assert_false(hvabs_vm_has_cap(k.vm, HVABS_CAP_MSI));
	assert_false(hvabs_vm_has_cap(k.vm, HVABS_CAP_IRQFD));
	assert_false(hvabs_vm_has_cap(k.vm, HVABS_CAP_LAPIC));
	assert_int_equal(hvabs_irq_msi(k.vm, 0xfee00000, 0x41), -ENOTSUP);
	kt_vm_close(&k);
}

static void irqchip_line_via_pic(void **state)
{
	struct irq_fx f;

	(void)state;
	fx_start(&f, HVABS_VM_IRQCHIP, 0);
	assert_int_equal(hvabs_irq_pulse(f.k.vm, 4), 0);
	assert_int_equal(next_vector(&f), VEC_BASE + 4);
	assert_int_equal(hvabs_irq_pulse(f.k.vm, 11), 0); /* the slave PIC */
	assert_int_equal(next_vector(&f), VEC_BASE + 11);
	fx_stop(&f);
}

static void irqchip_irqfd_gsi(void **state)
{
	struct irq_fx f;
	struct hvabs_irqfd *fd;
	struct hvabs_irq_route r = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 6};

	(void)state;
	fx_start(&f, HVABS_VM_IRQCHIP, 0);
	assert_int_equal(hvabs_irqfd_create(f.k.vm, &r, NULL, &fd), 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	assert_int_equal(next_vector(&f), VEC_BASE + 6);
	hvabs_irqfd_destroy(fd);
	fx_stop(&f);
}

static void irqchip_msi(void **state)
{
	struct irq_fx f;

	(void)state;
	fx_start(&f, HVABS_VM_IRQCHIP, 1);
	/* Fixed delivery to APIC ID 0, vector 0x41 (SDM vol. 3A 11.11). */
	assert_int_equal(hvabs_irq_msi(f.k.vm, 0xfee00000, 0x41), 0);
	assert_int_equal(next_vector(&f), 0x41);
	fx_stop(&f);
}

/*
 * Two MSI irqfds one after the other: each gets a GSI and a route, the
 * second after the first was torn down. The guest never EOIs its APIC, so the
 * second vector is of a higher priority class (0x53 over 0x43).
 */
static void irqchip_irqfd_msi(void **state)
{
	struct irq_fx f;
	struct hvabs_irqfd *fd;
	struct hvabs_irq_route r = {
	    .kind = HVABS_IRQ_ROUTE_MSI, .msi_addr = 0xfee00000, .msi_data = 0x43};

	(void)state;
	fx_start(&f, HVABS_VM_IRQCHIP, 1);
	assert_int_equal(hvabs_irqfd_create(f.k.vm, &r, NULL, &fd), 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	assert_int_equal(next_vector(&f), 0x43);
	hvabs_irqfd_destroy(fd);
	r.msi_data = 0x53;
	assert_int_equal(hvabs_irqfd_create(f.k.vm, &r, NULL, &fd), 0);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	assert_int_equal(next_vector(&f), 0x53);
	hvabs_irqfd_destroy(fd);
	fx_stop(&f);
}

/* The in-kernel PIT, programmed by the guest, ticks on line 0. */
static void irqchip_pit(void **state)
{
	struct irq_fx f;
	struct rm_code c;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(kt_vm_open(&f.k, 1, HVABS_VM_IRQCHIP, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(f.k.vm, 0, &f.cpu), 0);
	assert_int_equal(rm_observer_install(hvabs_vm_mem(f.k.vm), VEC_BASE, 1, 1, OBS_PORT), 0);
	/* 8254: channel 0, lobyte/hibyte, mode 2 (rate generator), divisor 0x1000. */
	rm_init(&c, buf, sizeof(buf));
	rm_out_imm_al(&c, 0x43, 0x34);
	rm_out_imm_al(&c, 0x40, 0x00);
	rm_out_imm_al(&c, 0x40, 0x10);
	rm_jmp_near(&c, EXTRA_GPA, RM_OBS_MAIN);
	assert_int_equal(kt_load(&f.k, f.cpu, &c, EXTRA_GPA, STACK_TOP), 0);
	assert_int_equal(kt_watchdog_start(&f.wd, f.cpu, WATCHDOG_S), 0);
	assert_int_equal(kt_run_until_port(f.cpu, READY_PORT, 1), 1);
	assert_int_equal(next_vector(&f), VEC_BASE + 0);
	assert_int_equal(next_vector(&f), VEC_BASE + 0);
	fx_stop(&f);
}

struct delayed_kick {
	struct hvabs_vcpu *cpu;
	pthread_t t;
};

static void *kick_later(void *arg)
{
	struct delayed_kick *d = arg;

	usleep(100 * 1000); /* sequencing only: let the vCPU reach its HLT */
	(void)hvabs_vcpu_kick(d->cpu);
	return NULL;
}

/* With the in-kernel LAPIC, `cli; hlt` sleeps in KVM; only a kick brings the thread back. */
static void irqchip_hlt_stays_in_kernel(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct hvabs_stats st;
	struct rm_code c;
	uint8_t buf[32];
	struct delayed_kick d;

	(void)state;
	assert_int_equal(kt_vm_open(&k, 1, HVABS_VM_IRQCHIP, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_cli(&c);
	rm_hlt(&c);
	rm_mov_dx(&c, READY_PORT);
	rm_out_dx(&c, 1);
	assert_int_equal(kt_load(&k, cpu, &c, 0x1000, STACK_TOP), 0);
	d.cpu = cpu;
	assert_int_equal(pthread_create(&d.t, NULL, kick_later, &d), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	pthread_join(d.t, NULL);
	assert_int_equal(e.kind, HVABS_EXIT_CANCELED);
	hvabs_vcpu_get_stats(cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 0);
	kt_vm_close(&k);
}

/* No irqchip: one vector per rising edge, lowest line first, into vCPU 0. */
static void no_irqchip_edges(void **state)
{
	struct irq_fx f;

	(void)state;
	fx_start(&f, 0, 0);
	assert_int_equal(hvabs_irq_line(f.k.vm, 5, 1), 0);
	assert_int_equal(hvabs_irq_line(f.k.vm, 3, 1), 0);
	assert_int_equal(hvabs_irq_line(f.k.vm, 3, 1), 0); /* held high: no new edge */
	assert_int_equal(next_vector(&f), VEC_BASE + 3);
	assert_int_equal(next_vector(&f), VEC_BASE + 5);
	/* Nothing else is pending: the guest only halts from now on. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(kt_run_until_port(f.cpu, OBS_PORT, 0), -HVABS_EXIT_HLT);
	assert_int_equal(hvabs_irq_line(f.k.vm, 3, 0), 0);
	assert_int_equal(hvabs_irq_line(f.k.vm, 3, 1), 0);
	assert_int_equal(next_vector(&f), VEC_BASE + 3);
	fx_stop(&f);
}

struct raiser {
	struct hvabs_vm *vm;
	pthread_t t;
};

static void *raise_later(void *arg)
{
	struct raiser *r = arg;

	usleep(50 * 1000); /* sequencing only: let the guest spin in KVM_RUN */
	(void)hvabs_irq_pulse(r->vm, 7);
	return NULL;
}

/*
 * A line raised while vCPU 0 spins inside KVM_RUN: the backend interrupts the
 * run, injects, and goes back in without reporting CANCELED.
 */
static void no_irqchip_line_into_spinning_guest(void **state)
{
	struct irq_fx f;
	struct rm_code c;
	uint8_t buf[16];
	struct raiser r;

	(void)state;
	fx_start(&f, 0, 0);
	rm_init(&c, buf, sizeof(buf));
	rm_sti(&c);
	rm_spin(&c);
	assert_int_equal(kt_load(&f.k, f.cpu, &c, EXTRA_GPA, STACK_TOP), 0);
	r.vm = f.k.vm;
	assert_int_equal(pthread_create(&r.t, NULL, raise_later, &r), 0);
	assert_int_equal(next_vector(&f), VEC_BASE + 7);
	pthread_join(r.t, NULL);
	fx_stop(&f);
}

/* The KVM test driver's observe_irq, as contract.kvm uses it with vCPU 0 known. */
static void driver_observes_line(void **state)
{
	const struct hvt_driver *drv = hvt_driver_find("kvm");
	struct hvt_env env;
	struct hvabs_vm_config cfg = {.max_vcpus = 1};
	const struct hvt_action halt = {HVT_HLT, 0, 0, 0, 0};

	(void)state;
	assert_non_null(drv);
	cfg.flags = drv->vm_flags;
	cfg.backend_options = drv->vm_options;
	memset(&env, 0, sizeof(env));
	env.drv = drv;
	env.ram_size = 0x80000;
	assert_int_equal(hvabs_backend_open("kvm", NULL, &env.be), 0);
	assert_int_equal(hvabs_vm_create(env.be, &cfg, &env.vm), 0);
	assert_int_equal(hvabs_vm_add_ram(env.vm, 0, env.ram_size, 0, &env.ram), 0);
	assert_int_equal(hvabs_vcpu_create(env.vm, 0, &env.cpu), 0);
	assert_int_equal(drv->attach(&env), 0);
	assert_int_equal(drv->program(&env, env.cpu, &halt, 1), 0);
	assert_int_equal(hvabs_irq_line(env.vm, 4, 1), 0);
	assert_int_equal(drv->observe_irq(&env, 0, 4, 5000), 0);
	/* Nothing raised line 9: the driver times out rather than inventing it. */
	assert_int_equal(drv->observe_irq(&env, 0, 9, 200), -ETIMEDOUT);
	drv->detach(&env);
	hvabs_vm_destroy(env.vm);
	hvabs_backend_close(env.be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(irqchip_caps),
	    cmocka_unit_test(irqchip_line_via_pic),
	    cmocka_unit_test(irqchip_irqfd_gsi),
	    cmocka_unit_test(irqchip_msi),
	    cmocka_unit_test(irqchip_irqfd_msi),
	    cmocka_unit_test(irqchip_pit),
	    cmocka_unit_test(irqchip_hlt_stays_in_kernel),
	    cmocka_unit_test(no_irqchip_edges),
	    cmocka_unit_test(no_irqchip_line_into_spinning_guest),
	    cmocka_unit_test(driver_observes_line),
	};
	int rc = kt_check_kvm("integration.kvm.irq");

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("integration.kvm.irq", tests, NULL, NULL);
}
