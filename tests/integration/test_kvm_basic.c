/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration.kvm.basic: real-mode guests on /dev/kvm through the public API.
 * Each vCPU, on its own thread, reads a byte from a port device, sends a
 * greeting with `rep outsb`, echoes the byte and its successor, and halts;
 * hvabs_vcpu_run_loop() dispatches every access to the device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kvm_itest.h"

#define PORT	  0x600
#define MSG_GPA	  0x3000
#define CODE_GPA  0x1000
#define CODE_STEP 0x400
#define STACK_TOP 0x7000

static const char msg[] = "hello from vcpu ";

/* The program of vCPU @p i: in, rep outsb, out, inc, out, newline, halt. */
static void guest_program(struct rm_code *c, uint32_t i)
{
	rm_mov_dx(c, (uint16_t)(PORT + 8 + i));
	rm_in_dx(c, 1);
	rm_rep_outs(c, 1, MSG_GPA, sizeof(msg) - 1, (uint16_t)(PORT + i));
	rm_out_dx(c, 1);
	rm_b(c, 0xfe); /* inc al */
	rm_b(c, 0xc0);
	rm_out_dx(c, 1);
	rm_mov_acc(c, 1, '\n');
	rm_out_dx(c, 1);
	rm_cli(c);
	rm_hlt(c);
}

struct runner {
	struct hvabs_vcpu *cpu;
	struct hvabs_exit exit;
	int rc;
	pthread_t t;
};

static void *run_main(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_vcpu_run_loop(r->cpu, &r->exit);
	return NULL;
}

static void run_vcpus(uint32_t n)
{
	struct kt_vm k;
	struct kt_port port;
	struct runner r[2];
	uint8_t buf[2][128];

	assert_true(n <= 2);
	assert_int_equal(kt_vm_open(&k, n, 0, NULL), 0);
	assert_int_equal(kt_port_register(&k, &port, PORT), 0);
	assert_int_equal(hvabs_mem_write(hvabs_vm_mem(k.vm), MSG_GPA, msg, sizeof(msg) - 1), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct rm_code c;
		port.answer[8 + i] = 'A' + i;
		rm_init(&c, buf[i], sizeof(buf[i]));
		guest_program(&c, i);
		assert_int_equal(hvabs_vcpu_create(k.vm, i, &r[i].cpu), 0);
		assert_int_equal(kt_load(&k, r[i].cpu, &c, (uint16_t)(CODE_GPA + i * CODE_STEP),
					 (uint16_t)(STACK_TOP - i * CODE_STEP)),
				 0);
	}
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(pthread_create(&r[i].t, NULL, run_main, &r[i]), 0);
	for (uint32_t i = 0; i < n; i++) {
		char want[64];
		struct hvabs_stats st;
		pthread_join(r[i].t, NULL);
		assert_int_equal(r[i].rc, 0);
		assert_int_equal(r[i].exit.kind, HVABS_EXIT_HLT);
		snprintf(want, sizeof(want), "%s%c%c\n", msg, 'A' + i, 'B' + i);
		assert_string_equal(port.text[i], want);
		hvabs_vcpu_get_stats(r[i].cpu, &st);
		assert_int_equal(st.exits[HVABS_EXIT_HLT], 1);
		assert_true(st.exits[HVABS_EXIT_IO] >= 5);
		assert_int_equal(st.io_unhandled, 0);
	}
	assert_int_equal(port.reads, n);
	kt_vm_close(&k);
}

static void one_vcpu(void **state)
{
	(void)state;
	run_vcpus(1);
}

static void two_vcpus(void **state)
{
	(void)state;
	run_vcpus(2);
}

/*
 * Without the run loop: KVM hands `rep insw` to user space in batches (one
 * exit, count > 1, api.rst 5 "KVM_EXIT_IO"); the data written into the exit
 * lands in guest RAM on the next run. `rep outs` exits once per element.
 */
static void string_in_completes_in_ram(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64], pattern[32], got[32];
	uint32_t done = 0, max_count = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(kt_vm_open(&k, 1, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_rep_ins(&c, 2, MSG_GPA, sizeof(pattern) / 2, PORT);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	for (;;) {
		assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
		if (e.kind == HVABS_EXIT_HLT)
			break;
		assert_int_equal(e.kind, HVABS_EXIT_IO);
		assert_int_equal(e.u.io.addr, PORT);
		assert_int_equal(e.u.io.size, 2);
		assert_int_equal(e.u.io.is_write, 0);
		assert_true(e.u.io.count >= 1 && done + 2 * e.u.io.count <= sizeof(pattern));
		memcpy(e.u.io.data, pattern + done, 2 * e.u.io.count);
		done += 2 * e.u.io.count;
		if (e.u.io.count > max_count)
			max_count = e.u.io.count;
	}
	assert_int_equal(done, sizeof(pattern));
	assert_true(max_count > 1);
	assert_int_equal(hvabs_mem_read(hvabs_vm_mem(k.vm), MSG_GPA, got, sizeof(got)), 0);
	assert_memory_equal(got, pattern, sizeof(pattern));
	kt_vm_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(one_vcpu),
	    cmocka_unit_test(two_vcpus),
	    cmocka_unit_test(string_in_completes_in_ram),
	};
	int rc = kt_check_kvm("integration.kvm.basic");

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("integration.kvm.basic", tests, NULL, NULL);
}
