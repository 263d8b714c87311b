/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration.kvm.run: the KVM backend's run-time promises on /dev/kvm.
 * Kicks are never lost and never left over, whatever the timing and whichever
 * thread runs the vCPU; a signal of the VMM's own also ends a run; pause stops
 * guest progress and resume restarts it; vCPU and VM state blobs restore
 * registers, MSRs, the LAPIC, pending lines and the PICs, also into a second
 * VM of the same shape, and refuse blobs that do not fit.
 */
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvm_itest.h"

#define RAM_SIZE   0x80000
#define CODE_GPA   0x1000
#define STACK_TOP  0x7000
#define COUNT_GPA  0x5000
#define PORT	   0x600
#define OBS_PORT   0x3e8
#define READY_PORT (OBS_PORT + 1)
#define VEC_BASE   0x20
#define WATCHDOG_S 10

static void load_halt(struct kt_vm *k, struct hvabs_vcpu *cpu)
{
	struct rm_code c;
	uint8_t buf[8];

	rm_init(&c, buf, sizeof(buf));
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(k, cpu, &c, CODE_GPA, STACK_TOP), 0);
}

/* `inc word [COUNT_GPA]` forever: progress the test can watch in RAM. */
static void load_counter(struct kt_vm *k, struct hvabs_vcpu *cpu)
{
	struct rm_code c;
	uint8_t buf[16];

	rm_init(&c, buf, sizeof(buf));
	rm_b(&c, 0xff); /* inc word [COUNT_GPA] */
	rm_b(&c, 0x06);
	rm_w(&c, COUNT_GPA);
	rm_jmp_back(&c, 0);
	assert_int_equal(kt_load(k, cpu, &c, CODE_GPA, STACK_TOP), 0);
}

static uint16_t counter(struct kt_vm *k)
{
	uint16_t v = 0;

	assert_int_equal(hvabs_mem_read_u16(hvabs_vm_mem(k->vm), COUNT_GPA, &v), 0);
	return v;
}

/* Waits (sequencing, up to 5 s) until the guest's counter differs from @p from. */
static int counter_moves(struct kt_vm *k, uint16_t from)
{
	for (int i = 0; i < 5000; i++) {
		if (counter(k) != from)
			return 1;
		usleep(1000);
	}
	return 0;
}

struct runner {
	struct hvabs_vcpu *cpu;
	struct hvabs_exit exit;
	int rc;
	atomic_int done;
	pthread_t t;
};

static void *run_main(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_vcpu_run(r->cpu, &r->exit);
	atomic_store(&r->done, 1);
	return NULL;
}

static void start(struct runner *r, struct hvabs_vcpu *cpu)
{
	r->cpu = cpu;
	r->rc = -1;
	atomic_store(&r->done, 0);
	assert_int_equal(pthread_create(&r->t, NULL, run_main, r), 0);
}

static uint32_t finish(struct runner *r)
{
	pthread_join(r->t, NULL);
	assert_int_equal(r->rc, 0);
	return r->exit.kind;
}

/* A kick before the run cancels exactly that run. */
static void kick_before_run(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_halt(&k, cpu);
	assert_int_equal(hvabs_vcpu_kick(cpu), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_CANCELED);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	kt_vm_close(&k);
}

/*
 * A kick at whatever moment the vCPU thread happens to be in (not started,
 * entering, inside KVM_RUN), each time on a new thread: every run ends in
 * CANCELED without the watchdog's help, and no kick is left for the next run.
 */
static void kick_race(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct kt_watchdog wd;
	struct runner r;
	struct hvabs_exit e;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_counter(&k, cpu);
	assert_int_equal(kt_watchdog_start(&wd, cpu, WATCHDOG_S), 0);
	for (int i = 0; i < 300; i++) {
		start(&r, cpu);
		if (i % 3 == 1)
			sched_yield();
		else if (i % 3 == 2)
			usleep(200);
		assert_int_equal(hvabs_vcpu_kick(cpu), 0);
		assert_int_equal(finish(&r), HVABS_EXIT_CANCELED);
	}
	assert_int_equal(kt_watchdog_stop(&wd), 0);
	load_halt(&k, cpu);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	kt_vm_close(&k);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* The VMM's own signal to a vCPU thread ends its run too (CANCELED), and nothing more. */
static void foreign_signal_cancels(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct runner r;
	struct sigaction sa, old;
	struct hvabs_exit e;
	sigset_t cur;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_counter(&k, cpu);
	start(&r, cpu);
	assert_true(counter_moves(&k, 0)); /* it is in the guest now */
	assert_int_equal(pthread_kill(r.t, SIGUSR1), 0);
	assert_int_equal(finish(&r), HVABS_EXIT_CANCELED);
	/* This thread runs a vCPU next: outside KVM_RUN it keeps the kick signal blocked. */
	load_halt(&k, cpu);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	assert_true(sigismember(&cur, SIGRTMIN + 3));
	kt_vm_close(&k);
	sigaction(SIGUSR1, &old, NULL);
}

static void pause_stops_guest(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct runner r;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_counter(&k, cpu);
	start(&r, cpu);
	assert_true(counter_moves(&k, 0));
	assert_int_equal(hvabs_vm_pause(k.vm), 0);
	uint16_t c1 = counter(&k);
	usleep(20 * 1000); /* a running guest increments many times in this while */
	assert_int_equal(counter(&k), c1);
	assert_int_equal(atomic_load(&r.done), 0); /* parked inside the run, not returned */
	assert_int_equal(hvabs_vm_resume(k.vm), 0);
	assert_true(counter_moves(&k, c1));
	assert_int_equal(hvabs_vcpu_kick(cpu), 0);
	assert_int_equal(finish(&r), HVABS_EXIT_CANCELED);
	kt_vm_close(&k);
}

/* A paused vCPU can still be kicked home; a run started while paused waits for resume. */
static void pause_kick_and_late_run(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct runner r;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_counter(&k, cpu);
	start(&r, cpu);
	assert_true(counter_moves(&k, 0));
	assert_int_equal(hvabs_vm_pause(k.vm), 0);
	assert_int_equal(hvabs_vcpu_kick(cpu), 0);
	assert_int_equal(finish(&r), HVABS_EXIT_CANCELED);
	load_halt(&k, cpu);
	start(&r, cpu);
	usleep(50 * 1000); /* sequencing: give it every chance to run if it could */
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(hvabs_vm_resume(k.vm), 0);
	assert_int_equal(finish(&r), HVABS_EXIT_HLT);
	kt_vm_close(&k);
}

/* mov ax, 0x1234; mov bx, 0x5678; cli; hlt; mov dx, PORT; out dx, ax; cli; hlt */
static void load_save_point(struct kt_vm *k, struct hvabs_vcpu *cpu)
{
	struct rm_code c;
	uint8_t buf[32];

	rm_init(&c, buf, sizeof(buf));
	rm_mov_acc(&c, 2, 0x1234);
	rm_b(&c, 0xbb);
	rm_w(&c, 0x5678);
	rm_cli(&c);
	rm_hlt(&c);
	rm_mov_dx(&c, PORT);
	rm_out_dx(&c, 2);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(k, cpu, &c, CODE_GPA, STACK_TOP), 0);
}

static void *get_vcpu_state(struct hvabs_vcpu *cpu, size_t *len)
{
	*len = 0;
	assert_int_equal(hvabs_vcpu_get_state(cpu, NULL, len), -ENOSPC);
	void *blob = malloc(*len);
	assert_non_null(blob);
	assert_int_equal(hvabs_vcpu_get_state(cpu, blob, len), 0);
	return blob;
}

/* Registers and MSRs come back; the guest resumes where it was saved, also in another VM. */
static void vcpu_state_roundtrip(void **state)
{
	struct kt_vm k, k2;
	struct hvabs_vcpu *cpu, *cpu2;
	struct hvabs_exit e;
	struct hvabs_regs regs;
	struct hvabs_msr_entry m = {0x174, 0, 0x10};
	size_t len;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	load_save_point(&k, cpu);
	assert_int_equal(hvabs_vcpu_set_msrs(cpu, &m, 1), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	uint8_t *blob = get_vcpu_state(cpu, &len);

	/* Scribble, restore, and the guest carries on from its HLT. */
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	assert_int_equal(hvabs_vcpu_set_regs(cpu, &regs), 0);
	m.data = 0x99;
	assert_int_equal(hvabs_vcpu_set_msrs(cpu, &m, 1), 0);
	assert_int_equal(hvabs_vcpu_set_state(cpu, blob, len), 0);
	assert_int_equal(hvabs_vcpu_get_regs(cpu, &regs), 0);
	assert_int_equal(regs.rax & 0xffff, 0x1234);
	assert_int_equal(regs.rbx & 0xffff, 0x5678);
	assert_int_equal(hvabs_vcpu_get_msrs(cpu, &m, 1), 0);
	assert_int_equal(m.data, 0x10);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_IO);
	assert_int_equal(e.u.io.data[0] | e.u.io.data[1] << 8, 0x1234);

	/* A second VM with the same RAM picks the guest up from the same point. */
	assert_int_equal(kt_vm_open_ram(&k2, 1, 0, NULL, RAM_SIZE), 0);
	memcpy(k2.ram, k.ram, RAM_SIZE);
	assert_int_equal(hvabs_vcpu_create(k2.vm, 0, &cpu2), 0);
	assert_int_equal(hvabs_vcpu_set_state(cpu2, blob, len), 0);
	assert_int_equal(hvabs_vcpu_run(cpu2, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_IO);
	assert_int_equal(e.u.io.data[0] | e.u.io.data[1] << 8, 0x1234);

	/* Blobs that do not fit are refused whole. */
	assert_int_equal(hvabs_vcpu_set_state(cpu2, blob, len - 1), -EINVAL);
	blob[0] ^= 0xff;
	assert_int_equal(hvabs_vcpu_set_state(cpu2, blob, len), -EINVAL);
	free(blob);
	kt_vm_close(&k2);
	kt_vm_close(&k);
}

/* With the irqchip the blob carries the LAPIC; it does not fit a vCPU without one. */
static void vcpu_state_lapic(void **state)
{
	struct kt_vm k, k2;
	struct hvabs_vcpu *cpu, *cpu2;
	struct hvabs_lapic *l = calloc(1, sizeof(*l));
	size_t len;

	(void)state;
	assert_non_null(l);
	assert_int_equal(kt_vm_open_ram(&k, 1, HVABS_VM_IRQCHIP, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	assert_int_equal(hvabs_vcpu_get_lapic(cpu, l), 0);
	l->regs[0xf0] = 0x3f; /* SVR: spurious vector 0x3f, enabled */
	l->regs[0xf1] |= 1;
	assert_int_equal(hvabs_vcpu_set_lapic(cpu, l), 0);
	void *blob = get_vcpu_state(cpu, &len);
	l->regs[0xf0] = 0xff;
	assert_int_equal(hvabs_vcpu_set_lapic(cpu, l), 0);
	assert_int_equal(hvabs_vcpu_set_state(cpu, blob, len), 0);
	assert_int_equal(hvabs_vcpu_get_lapic(cpu, l), 0);
	assert_int_equal(l->regs[0xf0], 0x3f);
	assert_int_equal(kt_vm_open_ram(&k2, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k2.vm, 0, &cpu2), 0);
	assert_int_equal(hvabs_vcpu_set_state(cpu2, blob, len), -EINVAL);
	free(blob);
	free(l);
	kt_vm_close(&k2);
	kt_vm_close(&k);
}

static void *get_vm_state(struct hvabs_vm *vm, size_t *len)
{
	*len = 0;
	assert_int_equal(hvabs_vm_get_state(vm, NULL, len), -ENOSPC);
	void *blob = malloc(*len);
	assert_non_null(blob);
	assert_int_equal(hvabs_vm_get_state(vm, blob, len), 0);
	return blob;
}

/* Starts vCPU 0 of @p k in the observer and runs it to its ready mark. */
static void observer_ready(struct kt_vm *k, struct hvabs_vcpu *cpu, int init_pic)
{
	assert_int_equal(rm_observer_install(hvabs_vm_mem(k->vm), VEC_BASE, init_pic, 1, OBS_PORT),
			 0);
	assert_int_equal(rm_cpu_setup(cpu, RM_OBS_MAIN, STACK_TOP), 0);
	assert_int_equal(kt_run_until_port(cpu, READY_PORT, 1), 1);
}

/* Without the irqchip, a line raised but not yet delivered travels in the VM blob. */
static void vm_state_pending_line(void **state)
{
	struct kt_vm k, k2;
	struct hvabs_vcpu *cpu2;
	size_t len;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_irq_line(k.vm, 5, 1), 0); /* no vCPU yet: stays pending */
	void *blob = get_vm_state(k.vm, &len);
	assert_int_equal(hvabs_vm_set_state(k.vm, blob, len), 0);
	assert_int_equal(kt_vm_open_ram(&k2, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k2.vm, 0, &cpu2), 0);
	assert_int_equal(hvabs_vm_set_state(k2.vm, blob, len), 0);
	observer_ready(&k2, cpu2, 0);
	assert_int_equal(kt_run_until_port(cpu2, OBS_PORT, 1), VEC_BASE + 5);
	free(blob);
	kt_vm_close(&k2);
	kt_vm_close(&k);
}

/*
 * With the irqchip, the PICs as one guest programmed them (vector base
 * VEC_BASE, lines unmasked) come over to a second VM whose guest never
 * programs them: line 4 arrives there as VEC_BASE + 4.
 */
static void vm_state_irqchip(void **state)
{
	struct kt_vm k, k2, k3;
	struct hvabs_vcpu *cpu, *cpu2;
	struct kt_watchdog wd;
	size_t len;

	(void)state;
	assert_int_equal(kt_vm_open_ram(&k, 1, HVABS_VM_IRQCHIP, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	observer_ready(&k, cpu, 1);
	uint8_t *blob = get_vm_state(k.vm, &len);
	assert_int_equal(kt_vm_open_ram(&k2, 1, HVABS_VM_IRQCHIP, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vcpu_create(k2.vm, 0, &cpu2), 0);
	assert_int_equal(hvabs_vm_set_state(k2.vm, blob, len), 0);
	assert_int_equal(kt_watchdog_start(&wd, cpu2, WATCHDOG_S), 0);
	observer_ready(&k2, cpu2, 0);
	assert_int_equal(hvabs_irq_pulse(k2.vm, 4), 0);
	assert_int_equal(kt_run_until_port(cpu2, OBS_PORT, 1), VEC_BASE + 4);
	assert_int_equal(kt_watchdog_stop(&wd), 0);
	/* Wrong shape, wrong length, wrong magic: refused. */
	assert_int_equal(kt_vm_open_ram(&k3, 1, 0, NULL, RAM_SIZE), 0);
	assert_int_equal(hvabs_vm_set_state(k3.vm, blob, len), -EINVAL);
	assert_int_equal(hvabs_vm_set_state(k2.vm, blob, len + 1), -EINVAL);
	blob[1] ^= 0xff;
	assert_int_equal(hvabs_vm_set_state(k2.vm, blob, len), -EINVAL);
	free(blob);
	kt_vm_close(&k3);
	kt_vm_close(&k2);
	kt_vm_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kick_before_run),	       cmocka_unit_test(kick_race),
	    cmocka_unit_test(foreign_signal_cancels),  cmocka_unit_test(pause_stops_guest),
	    cmocka_unit_test(pause_kick_and_late_run), cmocka_unit_test(vcpu_state_roundtrip),
	    cmocka_unit_test(vcpu_state_lapic),	       cmocka_unit_test(vm_state_pending_line),
	    cmocka_unit_test(vm_state_irqchip),
	};
	int rc = kt_check_kvm("integration.kvm.run");

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("integration.kvm.run", tests, NULL, NULL);
}
