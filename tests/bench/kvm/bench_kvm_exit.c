/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port-I/O exit round trip on KVM: a real-mode guest executes `out dx, al`
 * N times and halts. Row 1 runs it with a bare KVM_RUN loop written here with
 * raw ioctls (what a VMM costs with no library); row 2 runs the same code
 * through hvabs: the KVM backend, hvabs_vcpu_run_loop() and the PIO bus, to a
 * no-op device. Both run in one process, alternating, ROUNDS times each; the
 * table shows each path's best and median round, and the overhead line uses
 * the medians: the difference is what hvabs adds per exit.
 *
 *   bench_kvm_exit [N]        exit status 77 when /dev/kvm cannot be used
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <hvabs/hvabs.h>

#include "../../../examples/hvabs-vmm/seccomp.h" /* not on the include path: it would hide libseccomp's <seccomp.h> */
#include "kvm_rmcode.h"

#define RAM_SIZE  0x10000
#define CODE_GPA  0x1000
#define STACK_TOP 0x7000
#define PORT	  0x600
#define ROUNDS	  11

static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* mov dx, PORT; mov ecx, n; L: out dx, al; dec ecx; jnz L; cli; hlt */
static size_t guest_code(uint8_t *buf, size_t cap, uint32_t n)
{
	struct rm_code c;

	rm_init(&c, buf, cap);
	rm_mov_dx(&c, PORT);
	rm_b(&c, 0x66);
	rm_b(&c, 0xb9);
	rm_d(&c, n);
	size_t loop = c.len;
	rm_out_dx(&c, 1);
	rm_b(&c, 0x66); /* dec ecx */
	rm_b(&c, 0x49);
	rm_b(&c, 0x75); /* jnz loop */
	rm_b(&c, (uint8_t)(int8_t)((long)loop - (long)(c.len + 1)));
	rm_cli(&c);
	rm_hlt(&c);
	return c.err ? 0 : c.len;
}

/* ---- row 1: raw ioctls ---- */

struct raw {
	int kvm, vm, cpu;
	uint8_t *ram;
	struct kvm_run *run;
	size_t run_size;
};

static int raw_open(struct raw *r, const uint8_t *code, size_t len)
{
	struct kvm_sregs s;

	memset(r, 0, sizeof(*r));
	r->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r->kvm < 0)
		return -1;
	r->vm = ioctl(r->kvm, KVM_CREATE_VM, 0);
	r->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->vm < 0 || r->ram == MAP_FAILED)
		return -1;
	struct kvm_userspace_memory_region reg = {.memory_size = RAM_SIZE,
						  .userspace_addr = (uint64_t)(uintptr_t)r->ram};
	if (ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &reg) ||
	    ioctl(r->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul))
		return -1;
	r->cpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
	int sz = ioctl(r->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r->cpu < 0 || sz <= 0)
		return -1;
	r->run_size = (size_t)sz;
	r->run = mmap(NULL, r->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->cpu, 0);
	if (r->run == MAP_FAILED || ioctl(r->cpu, KVM_GET_SREGS, &s))
		return -1;
	s.cs.base = 0;
	s.cs.selector = 0;
	memcpy(r->ram + CODE_GPA, code, len);
	return ioctl(r->cpu, KVM_SET_SREGS, &s);
}

static void raw_close(struct raw *r)
{
	if (r->run && r->run != MAP_FAILED)
		munmap(r->run, r->run_size);
	if (r->ram && r->ram != MAP_FAILED)
		munmap(r->ram, RAM_SIZE);
	if (r->cpu > 0)
		close(r->cpu);
	if (r->vm > 0)
		close(r->vm);
	if (r->kvm > 0)
		close(r->kvm);
}

/* The loop a VMM writes by hand: KVM_RUN, look at the port, call the device, again. */
static double raw_round(struct raw *r, uint32_t n)
{
	struct kvm_regs regs = {.rip = CODE_GPA, .rsp = STACK_TOP, .rflags = 2};
	uint64_t exits = 0;

	if (ioctl(r->cpu, KVM_SET_REGS, &regs))
		return -1;
	double t0 = now_ns();
	for (;;) {
		if (ioctl(r->cpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r->run->exit_reason == KVM_EXIT_HLT)
			break;
		if (r->run->exit_reason != KVM_EXIT_IO || r->run->io.port != PORT)
			return -1;
		sink += ((uint8_t *)r->run)[r->run->io.data_offset];
		exits++;
	}
	double t = now_ns() - t0;
	return exits == n ? t / n : -1;
}

/* ---- row 2: hvabs ---- */

static int nop_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	(void)opaque;
	sink += off + size + val;
	return 0;
}

static const struct hvabs_bus_ops nop_ops = {.write = nop_write};

struct lib {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
};

static int lib_open(struct lib *l, const uint8_t *code, size_t len)
{
	struct hvabs_vm_config cfg = {.max_vcpus = 1};
	void *ram;

	memset(l, 0, sizeof(*l));
	if (hvabs_backend_open("kvm", NULL, &l->be) || hvabs_vm_create(l->be, &cfg, &l->vm) ||
	    hvabs_vm_add_ram(l->vm, 0, RAM_SIZE, 0, &ram) ||
	    hvabs_bus_register(l->vm, HVABS_SPACE_PIO, PORT, 1, &nop_ops, NULL, 0, NULL) ||
	    hvabs_vcpu_create(l->vm, 0, &l->cpu))
		return -1;
	memcpy((uint8_t *)ram + CODE_GPA, code, len);
	return 0;
}

static double lib_round(struct lib *l, uint32_t n)
{
	struct hvabs_exit e;
	struct hvabs_stats before, after;

	if (rm_cpu_setup(l->cpu, CODE_GPA, STACK_TOP))
		return -1;
	hvabs_vcpu_get_stats(l->cpu, &before);
	double t0 = now_ns();
	if (hvabs_vcpu_run_loop(l->cpu, &e) || e.kind != HVABS_EXIT_HLT)
		return -1;
	double t = now_ns() - t0;
	hvabs_vcpu_get_stats(l->cpu, &after);
	uint64_t exits = after.exits[HVABS_EXIT_IO] - before.exits[HVABS_EXIT_IO];
	return exits == n ? t / n : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The same rounds again under hvabs-vmm's vCPU seccomp filter (seccomp.c),
 * installed on this thread: what the filter costs per exit (one KVM_RUN,
 * checked against the allow-list, per exit).
 */
static int seccomp_rows(struct raw *r, struct lib *l, uint32_t n, double raw_med, double lib_med)
{
	struct vmm_seccomp sc;
	char err[256];
	double raw_ns[ROUNDS], lib_ns[ROUNDS];

	vmm_seccomp_init(&sc, true, "kvm", false);
	if (vmm_seccomp_enter(&sc, VMM_THREAD_VCPU, err, sizeof(err))) {
		fprintf(stderr, "bench.kvm.exit: %s\n", err);
		return -1;
	}
	for (int i = 0; i < ROUNDS; i++) {
		raw_ns[i] = raw_round(r, n);
		lib_ns[i] = lib_round(l, n);
		if (raw_ns[i] < 0 || lib_ns[i] < 0)
			return -1;
	}
	qsort(raw_ns, ROUNDS, sizeof(double), cmp_double);
	qsort(lib_ns, ROUNDS, sizeof(double), cmp_double);
	double raw_f = raw_ns[ROUNDS / 2], lib_f = lib_ns[ROUNDS / 2];
	printf("%-32s %14.1f %14.1f\n", "bare, vCPU seccomp filter", raw_ns[0], raw_f);
	printf("%-32s %14.1f %14.1f\n", "hvabs, vCPU seccomp filter", lib_ns[0], lib_f);
	printf("seccomp filter cost (medians): bare %+.1f ns/exit, hvabs %+.1f ns/exit\n",
	       raw_f - raw_med, lib_f - lib_med);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 200000;
	uint8_t code[64];
	size_t len = guest_code(code, sizeof(code), n);
	struct raw r;
	struct lib l;
	double raw_ns[ROUNDS], lib_ns[ROUNDS];

	if (!n || !len)
		return 2;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "bench.kvm.exit: SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	if (raw_open(&r, code, len) || lib_open(&l, code, len)) {
		fprintf(stderr, "bench.kvm.exit: cannot set up the VMs\n");
		return 1;
	}
	/* One warm-up each, then alternate so drift hits both rows alike. */
	if (raw_round(&r, n) < 0 || lib_round(&l, n) < 0) {
		fprintf(stderr, "bench.kvm.exit: the guest did not do %u port writes\n", n);
		return 1;
	}
	for (int i = 0; i < ROUNDS; i++) {
		raw_ns[i] = raw_round(&r, n);
		lib_ns[i] = lib_round(&l, n);
		if (raw_ns[i] < 0 || lib_ns[i] < 0)
			return 1;
	}
	qsort(raw_ns, ROUNDS, sizeof(double), cmp_double);
	qsort(lib_ns, ROUNDS, sizeof(double), cmp_double);
	double raw_med = raw_ns[ROUNDS / 2], lib_med = lib_ns[ROUNDS / 2];
	printf("PIO exit round trip on KVM, %u exits per round, %d rounds\n", n, ROUNDS);
	printf("%-32s %14s %14s\n", "path", "best ns/exit", "median ns/exit");
	printf("%-32s %14.1f %14.1f\n", "bare KVM_RUN loop (raw ioctls)", raw_ns[0], raw_med);
	printf("%-32s %14.1f %14.1f\n", "hvabs_vcpu_run_loop + PIO bus", lib_ns[0], lib_med);
	printf("median ratio hvabs/bare %.3f, overhead %+.1f ns/exit (%+.1f %%)\n",
	       lib_med / raw_med, lib_med - raw_med, 100.0 * (lib_med - raw_med) / raw_med);
	if (seccomp_rows(&r, &l, n, raw_med, lib_med))
		return 1;
	hvabs_vm_destroy(l.vm);
	hvabs_backend_close(l.be);
	raw_close(&r);
	return 0;
}
