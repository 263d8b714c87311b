/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exit dispatch cost: N scripted port-I/O write exits through the core's run
 * loop, the mock backend and the PIO bus to a no-op device, against a plain
 * loop that calls the same device callback directly. A third row runs the
 * same exits through hvabs_vcpu_run() without dispatch, which isolates what
 * the mock itself costs. All three run in one process, one after another, so
 * their ratios are comparable even on a noisy machine.
 *
 *   bench_dispatch [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

static volatile uint64_t sink;

static int nop_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	(void)opaque;
	sink += off + size + val;
	return 0;
}

static const struct hvabs_bus_ops nop_ops = {.write = nop_write};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The baseline: what a VMM would do with no library at all, per exit. */
static double direct_loop(uint64_t n)
{
	int (*volatile fn)(void *, uint64_t, uint32_t, uint64_t) = nop_write;
	double t0 = now_ns();

	for (uint64_t i = 0; i < n; i++)
		fn(NULL, 0, 1, i & 0xff);
	return (now_ns() - t0) / (double)n;
}

static int setup(struct hvabs_backend *be, struct hvabs_vm **vm, struct hvabs_vcpu **cpu,
		 uint64_t n)
{
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = "norecord"};
	struct hvabs_mock m;
	struct hvabs_mock_step s = {.kind = HVABS_EXIT_IO,
				    .is_write = 1,
				    .addr = 0x80,
				    .size = 1,
				    .data = 0x42,
				    .repeat = n};

	if (hvabs_vm_create(be, &cfg, vm) || hvabs_vcpu_create(*vm, 0, cpu) ||
	    hvabs_mock_attach(*vm, &m) ||
	    hvabs_bus_register(*vm, HVABS_SPACE_PIO, 0x80, 1, &nop_ops, NULL, 0, NULL) ||
	    hvabs_mock_push(&m, 0, &s) || hvabs_mock_push_simple(&m, 0, HVABS_EXIT_HLT))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;

	if (hvabs_backend_open("mock", NULL, &be))
		return 1;
	double direct = direct_loop(n);

	/* raw: the mock's own cost per exit, no dispatch */
	if (setup(be, &vm, &cpu, n))
		return 1;
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		if (hvabs_vcpu_run(cpu, &e))
			return 1;
	double raw = (now_ns() - t0) / (double)n;
	hvabs_vm_destroy(vm);

	/* full: run loop + bus + device lock + device */
	if (setup(be, &vm, &cpu, n))
		return 1;
	t0 = now_ns();
	if (hvabs_vcpu_run_loop(cpu, &e) || e.kind != HVABS_EXIT_HLT)
		return 1;
	double full = (now_ns() - t0) / (double)n;
	struct hvabs_stats st;
	hvabs_vcpu_get_stats(cpu, &st);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	if (st.exits[HVABS_EXIT_IO] != n) {
		fprintf(stderr, "expected %llu IO exits, saw %llu\n", (unsigned long long)n,
			(unsigned long long)st.exits[HVABS_EXIT_IO]);
		return 1;
	}

	printf("PIO exit dispatch, %llu exits\n", (unsigned long long)n);
	printf("%-44s %10s %8s\n", "path", "ns/exit", "ratio");
	printf("%-44s %10.1f %8.2f\n", "direct call of the device callback", direct, 1.0);
	printf("%-44s %10.1f %8.2f\n", "hvabs_vcpu_run on mock (no dispatch)", raw, raw / direct);
	printf("%-44s %10.1f %8.2f\n", "hvabs_vcpu_run_loop: core + mock + bus", full,
	       full / direct);
	printf("core dispatch cost (run loop - raw run): %.1f ns/exit (aim: < 50)\n", full - raw);
	return 0;
}
