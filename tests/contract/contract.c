/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend contract suite: one list of tests that runs against every
 * backend through its test driver (tests/harness/driver.h). Usage: contract
 * RUN (mock, mock-nofd, kvm, kvm-irqchip, xen, mshv).
 *
 * No case is ever skipped. A case that needs what the driver declares its
 * hypervisor lacks prints "not applicable: <why>" and checks what the
 * backend answers instead where there is an answer to check; anything else
 * that cannot run fails. The only skip is the whole program: exit 77 (CTest
 * "skipped") when the backend cannot run on this machine, which the driver's
 * HVABS_REQUIRE_* variable (HVABS_REQUIRE_KVM, HVABS_REQUIRE_XEN_FAKE,
 * HVABS_REQUIRE_MSHV_FAKE; CI sets them all) turns into a failure. The mock
 * is always built, so contract.mock never skips.
 */
#include <ctype.h>
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

#include "driver.h"

/* Guest memory layout every driver shares: RAM at 0, MMIO test window above it. */
#define CT_RAM_SIZE 0x80000ull /* 512 KiB of RAM at GPA 0 */
#define CT_DATA_GPA 0x8000ull  /* a scratch buffer for string I/O */
#define CT_MMIO_GPA 0xd0000ull /* a hole: MMIO test device (real-mode reachable) */
#define CT_MMIO_LEN 0x1000ull
#define CT_PORT	    0x3e0 /* PIO test device, 8 ports */

static const struct hvt_driver *drv;

/* ---- test devices ---- */

struct rec_dev {
	pthread_mutex_t lock;
	uint64_t writes[64];
	uint64_t offs[64];
	unsigned nwrites;
	unsigned nreads;
	uint64_t read_value;
};

static int rec_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct rec_dev *d = o;

	(void)size;
	pthread_mutex_lock(&d->lock);
	if (d->nwrites < 64) {
		d->offs[d->nwrites] = off;
		d->writes[d->nwrites] = val;
	}
	d->nwrites++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int rec_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	struct rec_dev *d = o;

	(void)off;
	(void)size;
	pthread_mutex_lock(&d->lock);
	d->nreads++;
	*val = d->read_value;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static const struct hvabs_bus_ops rec_ops = {.read = rec_read, .write = rec_write};

/* ---- fixture ---- */

struct fx {
	struct hvt_env env;
	struct rec_dev pio, mmio;
	struct hvabs_vcpu *cpu;
};

/* The backend must send the fixture's ranges to the VMM: Xen only sends what it claimed. */
static int fx_claimed(struct fx *f, enum hvabs_space space, uint64_t base, uint64_t len)
{
	if (!drv->claimed || drv->claimed(&f->env, space, base, len) == 1)
		return 0;
	print_error("%s: the backend did not claim %s [0x%llx, +0x%llx) it registered\n", drv->name,
		    space == HVABS_SPACE_PIO ? "ports" : "MMIO", (unsigned long long)base,
		    (unsigned long long)len);
	return -1;
}

static int fx_open(struct fx *f, uint32_t max_vcpus)
{
	struct hvabs_vm_config cfg = {
	    .max_vcpus = max_vcpus, .flags = drv->vm_flags, .backend_options = drv->vm_options};
	char err[512];
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};

	memset(f, 0, sizeof(*f));
	f->env.drv = drv;
	f->env.ram_size = CT_RAM_SIZE;
	f->env.data_gpa = CT_DATA_GPA;
	pthread_mutex_init(&f->pio.lock, NULL);
	pthread_mutex_init(&f->mmio.lock, NULL);
	if (hvabs_backend_open(drv->backend, &o, &f->env.be)) {
		print_error("backend: %s\n", err);
		return -1;
	}
	if (hvabs_vm_create(f->env.be, &cfg, &f->env.vm) ||
	    hvabs_vm_add_ram(f->env.vm, 0, CT_RAM_SIZE, 0, &f->env.ram))
		return -1;
	if (hvabs_bus_register(f->env.vm, HVABS_SPACE_PIO, CT_PORT, 8, &rec_ops, &f->pio, 0,
			       NULL) ||
	    hvabs_bus_register(f->env.vm, HVABS_SPACE_MMIO, CT_MMIO_GPA, CT_MMIO_LEN, &rec_ops,
			       &f->mmio, 0, NULL))
		return -1;
	if (hvabs_vcpu_create(f->env.vm, 0, &f->cpu))
		return -1;
	f->env.cpu = f->cpu;
	if (drv->attach && drv->attach(&f->env))
		return -1;
	if (fx_claimed(f, HVABS_SPACE_PIO, CT_PORT, 8) ||
	    fx_claimed(f, HVABS_SPACE_MMIO, CT_MMIO_GPA, CT_MMIO_LEN))
		return -1;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fx_open(f, 2)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (drv->detach)
		drv->detach(&f->env);
	hvabs_vm_destroy(f->env.vm);
	hvabs_backend_close(f->env.be);
	free(f);
	return 0;
}

/*
 * Whether @p need (HVT_* features) is something the driver declared its
 * hypervisor lacks: then the case is not applicable, says why, and the
 * caller returns (after checking what the backend answers instead, if
 * anything). A case never skips.
 */
static int not_applicable(uint32_t need, const char *what)
{
	const char *why = hvt_lacks(drv, need);

	if (why)
		print_message("%s: %s not applicable: %s\n", drv->name, what, why);
	return why != NULL;
}

/* Accesses outside the fixture's ranges reach the VMM only where nothing needs claiming. */
static uint32_t needs_unclaimed(const struct hvt_action *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int pio = a[i].kind == HVT_OUT || a[i].kind == HVT_IN || a[i].kind == HVT_OUTS;
		int mmio = a[i].kind == HVT_MMIO_WRITE || a[i].kind == HVT_MMIO_READ;
		if ((pio && (a[i].addr < CT_PORT || a[i].addr + a[i].size > CT_PORT + 8)) ||
		    (mmio && (a[i].addr < CT_MMIO_GPA ||
			      a[i].addr + a[i].size > CT_MMIO_GPA + CT_MMIO_LEN)))
			return HVT_UNCLAIMED_IO;
	}
	return 0;
}

/*
 * Where accesses outside registered ranges do not reach the VMM (Xen), the
 * backend must not have claimed them either: the hypervisor answers them.
 */
static void unclaimed_stays_out(struct fx *f, const struct hvt_action *a, size_t n)
{
	for (size_t i = 0; drv->claimed && i < n; i++) {
		if (!needs_unclaimed(&a[i], 1))
			continue;
		enum hvabs_space sp = a[i].kind == HVT_MMIO_WRITE || a[i].kind == HVT_MMIO_READ
					  ? HVABS_SPACE_MMIO
					  : HVABS_SPACE_PIO;
		assert_int_equal(drv->claimed(&f->env, sp, a[i].addr, a[i].size), 0);
	}
}

/* Programs the guest; a program the hypervisor cannot run ends the case (not applicable). */
#define PROGRAM(f, cpu, ...)                                                                       \
	do {                                                                                       \
		const struct hvt_action acts_[] = {__VA_ARGS__};                                   \
		size_t n_ = sizeof(acts_) / sizeof(acts_[0]);                                      \
		if (not_applicable(hvt_needs(acts_, n_) | needs_unclaimed(acts_, n_),              \
				   "program")) {                                                   \
			unclaimed_stays_out((f), acts_, n_);                                       \
			return;                                                                    \
		}                                                                                  \
		assert_int_equal(drv->program(&(f)->env, (cpu), acts_, n_), 0);                    \
	} while (0)

/* Waits for an interrupt the driver can see: it must arrive. */
static void observe(struct fx *f, int kind, uint32_t v, int timeout_ms)
{
	if (not_applicable(kind ? HVT_SEE_MSI : HVT_SEE_LINE, "observing it"))
		return;
	int rc = drv->observe_irq(&f->env, kind, v, timeout_ms);
	if (rc)
		fail_msg("%s %u never reached the guest: %d", kind ? "MSI data" : "line", v, rc);
}

/* The value the guest got from its @p nth read of the last program. */
static uint64_t read_result(struct fx *f, struct hvabs_vcpu *cpu, unsigned nth)
{
	uint64_t vals[16];
	int n = drv->reads(&f->env, cpu, vals, 16);

	assert_true(n >= 0);
	assert_true(nth < (unsigned)n && nth < 16);
	return vals[nth];
}

static uint32_t run_to_stop(struct fx *f)
{
	struct hvabs_exit e;

	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	return e.kind;
}

/* ---- ABI and capability honesty ---- */

static void abi_header(void **state)
{
	struct fx *f = *state;
	struct hvabs_caps c;

	assert_int_equal(HVABS_ABI_VERSION_MAJOR(hvabs_backend_abi_version(f->env.be)),
			 HVABS_ABI_MAJOR);
	assert_int_equal(hvabs_vm_get_caps(f->env.vm, &c), 0);
	assert_int_equal(c.hdr.struct_size, sizeof(c));
	assert_true(c.max_vcpus >= 1);
	assert_string_equal(hvabs_backend_name(f->env.be), drv->backend);
}

/* Every optional feature: claimed => it works; not claimed => -ENOTSUP, nothing else. */
static void caps_honest_vcpu_state(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	struct hvabs_fpu fpu;
	struct hvabs_lapic *lapic = calloc(1, sizeof(*lapic));
	struct hvabs_msr_entry msr = {.index = 0x174, .data = 0x10};
	int rc;

	assert_non_null(lapic);
	rc = hvabs_vcpu_get_fpu(f->cpu, &fpu);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_FPU)) {
		assert_int_equal(rc, 0);
		fpu.fcw = 0x27f;
		assert_int_equal(hvabs_vcpu_set_fpu(f->cpu, &fpu), 0);
		memset(&fpu, 0, sizeof(fpu));
		assert_int_equal(hvabs_vcpu_get_fpu(f->cpu, &fpu), 0);
		assert_int_equal(fpu.fcw, 0x27f);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vcpu_set_msrs(f->cpu, &msr, 1);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_MSRS)) {
		assert_true(rc == 0 || rc == 1);
		msr.data = 0;
		assert_true(hvabs_vcpu_get_msrs(f->cpu, &msr, 1) >= 0);
		assert_int_equal(msr.data, 0x10);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vcpu_get_lapic(f->cpu, lapic);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_LAPIC)) {
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vcpu_set_lapic(f->cpu, lapic), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	free(lapic);

	/* CPUID is set before a vCPU first runs, and a driver's attach may have run vCPU 0. */
	struct hvabs_cpuid_entry ids[256];
	struct hvabs_vcpu *fresh;
	uint32_t n = 256;
	assert_int_equal(hvabs_vcpu_create(vm, 1, &fresh), 0);
	rc = hvabs_vm_get_supported_cpuid(vm, ids, &n);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_CPUID)) {
		assert_int_equal(rc, 0);
		assert_true(n > 0);
		assert_int_equal(hvabs_vcpu_set_cpuid(fresh, ids, n), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}

	size_t len = 0;
	rc = hvabs_vcpu_get_state(f->cpu, NULL, &len);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_VCPU_STATE)) {
		assert_int_equal(rc, -ENOSPC);
		void *buf = malloc(len);
		assert_int_equal(hvabs_vcpu_get_state(f->cpu, buf, &len), 0);
		assert_int_equal(hvabs_vcpu_set_state(f->cpu, buf, len), 0);
		free(buf);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
}

static void caps_honest_vm(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	size_t len = 0;
	int rc;

	rc = hvabs_vm_get_state(vm, NULL, &len);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_VM_STATE)) {
		assert_int_equal(rc, -ENOSPC);
		void *buf = malloc(len);
		assert_int_equal(hvabs_vm_get_state(vm, buf, &len), 0);
		assert_int_equal(hvabs_vm_set_state(vm, buf, len), 0);
		free(buf);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vm_pause(vm);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_PAUSE)) {
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vm_resume(vm), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
		assert_int_equal(hvabs_vm_resume(vm), -ENOTSUP);
	}
	rc = hvabs_vm_add_ram(vm, 0x200000, 0x10000, HVABS_MEM_READONLY, NULL);
	assert_int_equal(rc, hvabs_vm_has_cap(vm, HVABS_CAP_READONLY_MEM) ? 0 : -ENOTSUP);
	rc = hvabs_vm_add_ram(vm, 0x400000, 0x10000, HVABS_MEM_DIRTY_LOG, NULL);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_DIRTY_LOG)) {
		uint64_t bm[1];
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vm_get_dirty_log(vm, 0x400000, bm, 1), 0);
	} else {
		uint64_t bm[1];
		assert_int_equal(rc, -ENOTSUP);
		assert_int_equal(hvabs_vm_get_dirty_log(vm, 0, bm, 1), -ENOTSUP);
	}
	uint64_t ns = 0;
	assert_int_equal(hvabs_vm_get_time(vm, &ns), 0);
	assert_true(ns > 1600000000ull * 1000000000ull);
}

static void caps_honest_msi(void **state)
{
	struct fx *f = *state;
	int rc = hvabs_irq_msi(f->env.vm, 0xfee00000, 0x4041);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_MSI)) {
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	observe(f, 1, 0x4041, 2000);
}

static void caps_honest_irqfd(void **state)
{
	struct fx *f = *state;
	struct hvabs_irq_route r = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 5};
	struct hvabs_irqfd *fd = NULL;
	int rc = hvabs_irqfd_create(f->env.vm, &r, NULL, &fd);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD)) {
		/* No kernel irqfd and no event loop for the fallback. */
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	observe(f, 0, 5, 2000);
	hvabs_irqfd_destroy(fd);
}

/* ---- memory ---- */

static void mem_map_unmap(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	struct hvabs_mem *mem = hvabs_vm_mem(vm);
	uint32_t v = 0;

	assert_int_equal(hvabs_mem_write_u32(mem, 0x1234, 0xfeedf00d), 0);
	assert_int_equal(*(uint32_t *)((char *)f->env.ram + 0x1234), 0xfeedf00d);
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x1000, 0, NULL), -EEXIST);
	assert_int_equal(hvabs_vm_add_ram(vm, 0x100000, 0x1001, 0, NULL), -EINVAL);

	void *buf = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	int rc = hvabs_vm_map_memory(vm, 0x100000, 0x4000, buf, 0);
	if (!hvabs_vm_has_cap(vm, HVABS_CAP_MEM_MAP)) {
		assert_int_equal(rc, -ENOTSUP);
	} else {
		assert_int_equal(rc, 0);
		((uint32_t *)buf)[1] = 0x11223344;
		assert_int_equal(hvabs_mem_read_u32(mem, 0x100004, &v), 0);
		assert_int_equal(v, 0x11223344);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), 0);
		assert_int_equal(hvabs_mem_read_u32(mem, 0x100004, &v), -EFAULT);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), -ENOENT);
		/* and the range can be used again */
		assert_int_equal(hvabs_vm_map_memory(vm, 0x100000, 0x4000, buf, 0), 0);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), 0);
	}
	munmap(buf, 0x4000);
	/* backend-allocated RAM can be removed and added back too */
	assert_int_equal(hvabs_vm_add_ram(vm, 0x300000, 0x2000, 0, NULL), 0);
	rc = hvabs_vm_unmap_memory(vm, 0x300000);
	assert_true(rc == 0 || rc == -ENOTSUP);
	if (rc == 0)
		assert_int_equal(hvabs_vm_add_ram(vm, 0x300000, 0x2000, 0, NULL), 0);
}

/* ---- exits ---- */

static void exit_io_write(void **state)
{
	struct fx *f = *state;
	struct hvabs_stats st;

	PROGRAM(f, f->cpu, {HVT_OUT, CT_PORT, 1, 1, 0x5a}, {HVT_OUT, CT_PORT + 2, 2, 1, 0xbeef},
		{HVT_OUT, CT_PORT + 4, 4, 1, 0xcafef00d}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nwrites, 3);
	assert_int_equal(f->pio.writes[0], 0x5a);
	assert_int_equal(f->pio.offs[1], 2);
	assert_int_equal(f->pio.writes[1], 0xbeef);
	assert_int_equal(f->pio.writes[2], 0xcafef00d);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_true(st.exits[HVABS_EXIT_IO] >= 3);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 1);
}

static void exit_io_read(void **state)
{
	struct fx *f = *state;

	f->pio.read_value = 0x87654321;
	PROGRAM(f, f->cpu, {HVT_IN, CT_PORT, 1, 1, 0}, {HVT_IN, CT_PORT, 2, 1, 0},
		{HVT_IN, CT_PORT, 4, 1, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nreads, 3);
	assert_int_equal(read_result(f, f->cpu, 0), 0x21);
	assert_int_equal(read_result(f, f->cpu, 1), 0x4321);
	assert_int_equal(read_result(f, f->cpu, 2), 0x87654321);
}

static void exit_io_unhandled(void **state)
{
	struct fx *f = *state;
	struct hvabs_stats st;

	PROGRAM(f, f->cpu, {HVT_IN, 0x2f0, 2, 1, 0}, {HVT_OUT, 0x2f0, 1, 1, 7},
		{HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(read_result(f, f->cpu, 0), 0xffff);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_int_equal(st.io_unhandled, 2);
}

static void exit_io_string(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hvabs_mem_write(hvabs_vm_mem(f->env.vm), CT_DATA_GPA, "hvabs", 5), 0);
	PROGRAM(f, f->cpu, {HVT_OUTS, CT_PORT, 1, 5, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->pio.nwrites, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(f->pio.writes[i], (uint8_t) "hvabs"[i]);
}

static void exit_mmio(void **state)
{
	struct fx *f = *state;

	f->mmio.read_value = 0x1122334455667788ull;
	PROGRAM(f, f->cpu, {HVT_MMIO_WRITE, CT_MMIO_GPA + 0x10, 4, 1, 0xdeadbeef},
		{HVT_MMIO_WRITE, CT_MMIO_GPA + 0x21, 1, 1, 0x7e},
		{HVT_MMIO_READ, CT_MMIO_GPA + 8, 4, 1, 0},
		{HVT_MMIO_READ, CT_MMIO_GPA + 8, 2, 1, 0}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(f->mmio.nwrites, 2);
	assert_int_equal(f->mmio.offs[0], 0x10);
	assert_int_equal(f->mmio.writes[0], 0xdeadbeef);
	assert_int_equal(f->mmio.offs[1], 0x21);
	assert_int_equal(f->mmio.writes[1], 0x7e);
	assert_int_equal(read_result(f, f->cpu, 0), 0x55667788);
	assert_int_equal(read_result(f, f->cpu, 1), 0x7788);
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

struct runner {
	struct fx *f;
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

	assert_int_equal(drv->program(&f->env, f->cpu, &hlt, 1), 0);
	assert_int_equal(pthread_create(&r.t, NULL, run_main, &r), 0);
	usleep(100 * 1000); /* sequencing only: let it halt */
	assert_int_equal(hvabs_vcpu_kick(f->cpu), 0);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_CANCELED);
	hvabs_vcpu_get_stats(f->cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_HLT], 0);
}

static void exit_hlt(void **state)
{
	if (not_applicable(HVT_EXIT_HLT, "a HLT exit")) {
		halt_stays_in(*state);
		return;
	}
	expect_exit(*state, HVT_HLT, 0, HVABS_EXIT_HLT);
}

static void exit_shutdown(void **state)
{
	expect_exit(*state, HVT_TRIPLE_FAULT, 0, HVABS_EXIT_SHUTDOWN);
}

static void exit_reset(void **state)
{
	expect_exit(*state, HVT_RESET, 0, HVABS_EXIT_RESET);
}

static void exit_system_event(void **state)
{
	expect_exit(*state, HVT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_POWEROFF, HVABS_EXIT_SYSTEM_EVENT);
}

static void exit_hypercall(void **state)
{
	expect_exit(*state, HVT_HYPERCALL, 12, HVABS_EXIT_HYPERCALL);
}

static void exit_internal_error(void **state)
{
	expect_exit(*state, HVT_INTERNAL_ERROR, 0, HVABS_EXIT_INTERNAL_ERROR);
}

static void exit_unknown(void **state)
{
	expect_exit(*state, HVT_UNKNOWN, 0, HVABS_EXIT_UNKNOWN);
}

static void on_eoi(void *opaque, uint32_t vector)
{
	*(uint32_t *)opaque = vector;
}

static void exit_eoi(void **state)
{
	struct fx *f = *state;
	uint32_t seen = 0;

	hvabs_irq_set_eoi_handler(f->env.vm, on_eoi, &seen);
	PROGRAM(f, f->cpu, {HVT_EOI, 0, 0, 0, 0x31}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	assert_int_equal(seen, 0x31);
}

/* ---- interrupts ---- */

static void irq_line_and_range(void **state)
{
	struct fx *f = *state;
	struct hvabs_caps c;

	assert_int_equal(hvabs_vm_get_caps(f->env.vm, &c), 0);
	assert_int_equal(hvabs_irq_line(f->env.vm, 4, 1), 0);
	observe(f, 0, 4, 2000);
	assert_int_equal(hvabs_irq_line(f->env.vm, 4, 0), 0);
	assert_int_equal(hvabs_irq_pulse(f->env.vm, 3), 0);
	if (c.nr_irqs)
		assert_int_equal(hvabs_irq_line(f->env.vm, c.nr_irqs, 1), -EINVAL);
}

struct loop_thread {
	struct hvabs_event_loop *loop;
	pthread_t t;
};

static void *loop_main(void *arg)
{
	struct loop_thread *lt = arg;

	int rc = hvabs_event_loop_run(lt->loop);
	return rc ? (void *)1 : NULL;
}

/* A kernel irqfd routed to an MSI: a write to the fd reaches the guest as that MSI. */
static void irqfd_msi(void **state)
{
	struct fx *f = *state;
	struct hvabs_irq_route r = {
	    .kind = HVABS_IRQ_ROUTE_MSI, .msi_addr = 0xfee00000, .msi_data = 0x4052};
	struct hvabs_irqfd *fd = NULL;
	int rc = hvabs_irqfd_create(f->env.vm, &r, NULL, &fd);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD) ||
	    !hvabs_vm_has_cap(f->env.vm, HVABS_CAP_MSI)) {
		/* No kernel irqfd (and no event loop for the fallback), or nothing to route to. */
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	observe(f, 1, 0x4052, 2000);
	hvabs_irqfd_destroy(fd);
}

/* With or without kernel irqfds, a write to the fd reaches the guest. */
static void irqfd_any_path(void **state)
{
	struct fx *f = *state;
	struct loop_thread lt;
	struct hvabs_irq_route r = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 6};
	struct hvabs_irqfd *fd;

	assert_int_equal(hvabs_event_loop_create(&lt.loop), 0);
	assert_int_equal(pthread_create(&lt.t, NULL, loop_main, &lt), 0);
	assert_int_equal(hvabs_irqfd_create(f->env.vm, &r, lt.loop, &fd), 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD));
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	observe(f, 0, 6, 5000);
	hvabs_irqfd_destroy(fd);
	hvabs_event_loop_stop(lt.loop);
	pthread_join(lt.t, NULL);
	hvabs_event_loop_destroy(lt.loop);
}

/* With or without kernel ioeventfds, a matching guest write signals the fd, not the bus. */
static void ioeventfd_any_path(void **state)
{
	struct fx *f = *state;
	struct hvabs_ioeventfd_spec ev = {.space = HVABS_SPACE_MMIO,
					  .len = 4,
					  .addr = CT_MMIO_GPA + 0x50,
					  .flags = HVABS_IOEVENTFD_F_DATAMATCH,
					  .datamatch = 3};
	struct hvabs_ioeventfd *io, *dup;
	uint64_t n = 0;

	assert_int_equal(hvabs_ioeventfd_create(f->env.vm, &ev, &io), 0);
	assert_int_equal(hvabs_ioeventfd_create(f->env.vm, &ev, &dup), -EEXIST);
	PROGRAM(f, f->cpu, {HVT_MMIO_WRITE, CT_MMIO_GPA + 0x50, 4, 1, 3},
		{HVT_MMIO_WRITE, CT_MMIO_GPA + 0x50, 4, 1, 4}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(run_to_stop(f), HVABS_EXIT_HLT);
	struct pollfd p = {.fd = hvabs_ioeventfd_fd(io), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(p.fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	/* The non-matching value went to the device; the matching one did not. */
	assert_int_equal(f->mmio.nwrites, 1);
	assert_int_equal(f->mmio.writes[0], 4);
	hvabs_ioeventfd_destroy(io);
}

/* ---- threads ---- */

static void kick_from_thread(void **state)
{
	struct fx *f = *state;
	struct runner r = {.f = f, .cpu = f->cpu};

	PROGRAM(f, f->cpu, {HVT_SPIN, 0, 0, 0, 0});
	assert_int_equal(pthread_create(&r.t, NULL, run_main, &r), 0);
	usleep(100 * 1000); /* sequencing only: let it enter the guest */
	assert_int_equal(hvabs_vcpu_kick(f->cpu), 0);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_CANCELED);
}

static void stop_request_from_thread(void **state)
{
	struct fx *f = *state;
	struct runner r = {.f = f, .cpu = f->cpu};

	PROGRAM(f, f->cpu, {HVT_SPIN, 0, 0, 0, 0});
	assert_int_equal(pthread_create(&r.t, NULL, run_main, &r), 0);
	usleep(100 * 1000);
	hvabs_vm_request_stop(f->env.vm, HVABS_STOP_RESET);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit.kind, HVABS_EXIT_RESET);
	assert_int_equal(hvabs_vm_stop_reason(f->env.vm), HVABS_STOP_RESET);
	hvabs_vm_clear_stop(f->env.vm);
	assert_int_equal(hvabs_vm_stop_reason(f->env.vm), HVABS_STOP_NONE);
}

static void two_vcpus(void **state)
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
	assert_int_equal(pthread_create(&r0.t, NULL, run_main, &r0), 0);
	assert_int_equal(pthread_create(&r1.t, NULL, run_main, &r1), 0);
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

/* ---- main ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "mock";
	const struct CMUnitTest tests[] = {
	    T(abi_header),
	    T(caps_honest_vcpu_state),
	    T(caps_honest_vm),
	    T(caps_honest_msi),
	    T(caps_honest_irqfd),
	    T(mem_map_unmap),
	    T(exit_io_write),
	    T(exit_io_read),
	    T(exit_io_unhandled),
	    T(exit_io_string),
	    T(exit_mmio),
	    T(exit_hlt),
	    T(exit_shutdown),
	    T(exit_reset),
	    T(exit_system_event),
	    T(exit_hypercall),
	    T(exit_internal_error),
	    T(exit_unknown),
	    T(exit_eoi),
	    T(irq_line_and_range),
	    T(irqfd_msi),
	    T(irqfd_any_path),
	    T(ioeventfd_any_path),
	    T(kick_from_thread),
	    T(stop_request_from_thread),
	    T(two_vcpus),
	};

	drv = hvt_init(argc, argv, "contract");
	int ok = hvt_available(drv, "contract");
	if (ok < 0)
		return 1;
	if (ok == 0)
		return 77;
	char group[64];
	snprintf(group, sizeof(group), "contract.%s", name);
	return _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
