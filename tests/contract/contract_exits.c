/* SPDX-License-Identifier: Apache-2.0 */
/* Contract cases: every exit kind a VMM sees, and vCPUs on threads. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract.h"

/* ---- exits ---- */

void exit_io_write(void **state)
{
	struct fx *f = *state;
	struct hvabs_stats st;

	PROGRAM(f, f->cpu, {HVT_OUT, CT_PORT, 1, 1, 0x5a}, {HVT_OUT, CT_PORT + 2, 2, 1, 0xbeef},
		{HVT_OUT, CT_PORT + 4, 4, 1, 0xcafef00d}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nwrites, 3);
	assert_int_equal(f->pio.writes[0], 0x5a);
	assert_int_equal(f->pio.offs[1], 2);
	assert_int_equal(f->pio.writes[1], 0xbeef);
	assert_int_equal(f->pio.writes[2], 0xcafef00d);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_true(st.exits[HVABS_EXIT_IO] >= 3);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 1);
}

void exit_io_read(void **state)
{
	struct fx *f = *state;

	f->pio.read_value = 0x87654321;
	PROGRAM(f, f->cpu, {HVT_IN, CT_PORT, 1, 1, 0}, {HVT_IN, CT_PORT, 2, 1, 0},
		{HVT_IN, CT_PORT, 4, 1, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nreads, 3);
	assert_int_equal(ct_read_result(f, f->cpu, 0), 0x21);
	assert_int_equal(ct_read_result(f, f->cpu, 1), 0x4321);
	assert_int_equal(ct_read_result(f, f->cpu, 2), 0x87654321);
}

void exit_io_unhandled(void **state)
{
	struct fx *f = *state;
	struct hvabs_stats st;

	PROGRAM(f, f->cpu, {HVT_IN, 0x2f0, 2, 1, 0}, {HVT_OUT, 0x2f0, 1, 1, 7},
		{HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(ct_read_result(f, f->cpu, 0), 0xffff);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_int_equal(st.io_unhandled, 2);
}

void exit_io_string(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hvabs_mem_write(hvabs_vm_mem(f->env.vm), CT_DATA_GPA, "hvabs", 5), 0);
	PROGRAM(f, f->cpu, {HVT_OUTS, CT_PORT, 1, 5, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nwrites, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(f->pio.writes[i], (uint8_t) "hvabs"[i]);
}

void exit_mmio(void **state)
{
	struct fx *f = *state;

	f->mmio.read_value = 0x1122334455667788ull;
	PROGRAM(f, f->cpu, {HVT_MMIO_WRITE, CT_MMIO_GPA + 0x10, 4, 1, 0xdeadbeef},
		{HVT_MMIO_WRITE, CT_MMIO_GPA + 0x21, 1, 1, 0x7e},
		{HVT_MMIO_READ, CT_MMIO_GPA + 8, 4, 1, 0},
		{HVT_MMIO_READ, CT_MMIO_GPA + 8, 2, 1, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->mmio.nwrites, 2);
	assert_int_equal(f->mmio.offs[0], 0x10);
	assert_int_equal(f->mmio.writes[0], 0xdeadbeef);
	assert_int_equal(f->mmio.offs[1], 0x21);
	assert_int_equal(f->mmio.writes[1], 0x7e);
	assert_int_equal(ct_read_result(f, f->cpu, 0), 0x55667788);
	assert_int_equal(ct_read_result(f, f->cpu, 1), 0x7788);
}

static void expect_exit(struct fx *f, enum hvt_act act, uint64_t value, uint32_t kind)
{
	struct hvabs_exit e;

	PROGRAM(f, f->cpu, {act, 0, 0, 0, value});
	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	assert_int_equal(e.kind, kind);
	if (kind == HVABS_EXIT_SYSTEM_EVENT)
		assert_int_equal(e.u.system_event.type, value);
	if (kind == HVABS_EXIT_HYPERCALL)
		assert_int_equal(e.u.hypercall.nr, value);
}

/*
 * Where the hypervisor keeps a halted vCPU to itself (KVM with its irqchip),
 * what a VMM sees instead: vcpu_run stays in the guest until kicked, and no
 * HLT exit is counted.
 */
static void halt_stays_in(struct fx *f)
{
	const struct hvt_action hlt = {HVT_HLT, 0, 0, 0, 0};
	struct runner r = {.f = f, .cpu = f->cpu};
	struct hvabs_stats st;

	assert_int_equal(ct_drv->program(&f->env, f->cpu, &hlt, 1), 0);
	assert_int_equal(pthread_create(&r.t, NULL, ct_run_main, &r), 0);
	usleep(100 * 1000); /* sequencing only: let it halt */
	assert_int_equal(hvabs_vcpu_kick(f->cpu), 0);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_CANCELED);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 0);
}

void exit_hlt(void **state)
{
	if (ct_not_applicable(HVT_EXIT_HLT, "a HLT exit")) {
		halt_stays_in(*state);
		return;
	}
	expect_exit(*state, HVT_HLT, 0, HVABS_EXIT_HLT);
}

void exit_shutdown(void **state)
{
	expect_exit(*state, HVT_TRIPLE_FAULT, 0, HVABS_EXIT_SHUTDOWN);
}

void exit_reset(void **state)
{
	expect_exit(*state, HVT_RESET, 0, HVABS_EXIT_RESET);
}

void exit_system_event(void **state)
{
	expect_exit(*state, HVT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_POWEROFF, HVABS_EXIT_SYSTEM_EVENT);
}

void exit_hypercall(void **state)
{
	expect_exit(*state, HVT_HYPERCALL, 12, HVABS_EXIT_HYPERCALL);
}

void exit_internal_error(void **state)
{
	expect_exit(*state, HVT_INTERNAL_ERROR, 0, HVABS_EXIT_INTERNAL_ERROR);
}

void exit_unknown(void **state)
{
	expect_exit(*state, HVT_UNKNOWN, 0, HVABS_EXIT_UNKNOWN);
}

static void on_eoi(void *opaque, uint32_t vector)
{
	*(uint32_t *)opaque = vector;
}

void exit_eoi(void **state)
{
	struct fx *f = *state;
	uint32_t seen = 0;

	hvabs_irq_set_eoi_handler(f->env.vm, on_eoi, &seen);
	PROGRAM(f, f->cpu, {HVT_EOI, 0, 0, 0, 0x31}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(seen, 0x31);
}

/* ---- threads ---- */

void kick_from_thread(void **state)
{
	struct fx *f = *state;
	struct runner r = {.f = f, .cpu = f->cpu};

	PROGRAM(f, f->cpu, {HVT_SPIN, 0, 0, 0, 0});
	assert_int_equal(pthread_create(&r.t, NULL, ct_run_main, &r), 0);
	usleep(100 * 1000); /* sequencing only: let it enter the guest */
	assert_int_equal(hvabs_vcpu_kick(f->cpu), 0);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_CANCELED);
}

void stop_request_from_thread(void **state)
{
	struct fx *f = *state;
	struct runner r = {.f = f, .cpu = f->cpu};

	PROGRAM(f, f->cpu, {HVT_SPIN, 0, 0, 0, 0});
	assert_int_equal(pthread_create(&r.t, NULL, ct_run_main, &r), 0);
	usleep(100 * 1000);
	hvabs_vm_request_stop(f->env.vm, HVABS_STOP_RESET);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_RESET);
	assert_int_equal(hvabs_vm_stop_reason(f->env.vm), HVABS_STOP_RESET);
	hvabs_vm_clear_stop(f->env.vm);
	assert_int_equal(hvabs_vm_stop_reason(f->env.vm), HVABS_STOP_NONE);
}

void two_vcpus(void **state)
{
	struct fx *f = *state;
	struct hvabs_vcpu *cpu1, *dup;
	struct runner r0 = {.f = f, .cpu = f->cpu}, r1 = {.f = f};

	assert_int_equal(hvabs_vcpu_create(f->env.vm, 1, &cpu1), 0);
	assert_int_equal(hvabs_vcpu_create(f->env.vm, 1, &dup), -EEXIST);
	assert_int_equal(hvabs_vcpu_create(f->env.vm, 2, &dup), -EINVAL);
	r1.cpu = cpu1;
	PROGRAM(f, f->cpu, {HVT_OUT, CT_PORT, 1, 1, 0xa0}, {HVT_HLT, 0, 0, 0, 0});
	PROGRAM(f, cpu1, {HVT_OUT, CT_PORT + 1, 1, 1, 0xa1}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(pthread_create(&r0.t, NULL, ct_run_main, &r0), 0);
	assert_int_equal(pthread_create(&r1.t, NULL, ct_run_main, &r1), 0);
	pthread_join(r0.t, NULL);
	pthread_join(r1.t, NULL);
	assert_int_equal(r0.exit.kind, HVABS_EXIT_HLT);
	assert_int_equal(r1.exit.kind, HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nwrites, 2);
	int saw0 = 0, saw1 = 0;
	for (int i = 0; i < 2; i++) {
		saw0 |= f->pio.offs[i] == 0 && f->pio.writes[i] == 0xa0;
		saw1 |= f->pio.offs[i] == 1 && f->pio.writes[i] == 0xa1;
	}
	assert_true(saw0 && saw1);
	struct hvabs_stats st;
	hvabs_vm_get_stats(f->env.vm, &st);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 2);
}
