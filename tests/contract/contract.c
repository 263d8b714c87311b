/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend contract suite: one list of tests that runs against every
 * backend through its test driver (tests/harness/driver.h). Usage: contract
 * RUN (mock, mock-nofd, kvm, kvm-irqchip, xen, mshv; xen-real is real Xen,
 * not the fake, run in the lab's dom0 by lab.xen.contract).
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

const struct hvt_driver *ct_drv;

/* ---- test devices ---- */

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

/* The backend must send the fixture's ranges to the VMM: Xen only sends what it claimed. */
static int fx_claimed(struct fx *f, enum hvabs_space space, uint64_t base, uint64_t len)
{
	if (!ct_drv->claimed || ct_drv->claimed(&f->env, space, base, len) == 1)
		return 0;
	print_error("%s: the backend did not claim %s [0x%llx, +0x%llx) it registered\n",
		    ct_drv->name, space == HVABS_SPACE_PIO ? "ports" : "MMIO",
		    (unsigned long long)base, (unsigned long long)len);
	return -1;
}

static int fx_open(struct fx *f, uint32_t max_vcpus)
{
	struct hvabs_vm_config cfg = {.max_vcpus = max_vcpus,
				      .flags = ct_drv->vm_flags,
				      .backend_options = ct_drv->vm_options};
	char err[512];
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};

	memset(f, 0, sizeof(*f));
	f->env.drv = ct_drv;
	f->env.ram_size = CT_RAM_SIZE;
	f->env.data_gpa = CT_DATA_GPA;
	pthread_mutex_init(&f->pio.lock, NULL);
	pthread_mutex_init(&f->mmio.lock, NULL);
	if (hvabs_backend_open(ct_drv->backend, &o, &f->env.be)) {
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
	if (ct_drv->attach && ct_drv->attach(&f->env))
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

	if (ct_drv->detach)
		ct_drv->detach(&f->env);
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
int ct_not_applicable(uint32_t need, const char *what)
{
	const char *why = hvt_lacks(ct_drv, need);

	if (why)
		print_message("%s: %s not applicable: %s\n", ct_drv->name, what, why);
	return why != NULL;
}

/* Accesses outside the fixture's ranges reach the VMM only where nothing needs claiming. */
uint32_t ct_needs_unclaimed(const struct hvt_action *a, size_t n)
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
void ct_unclaimed_stays_out(struct fx *f, const struct hvt_action *a, size_t n)
{
	for (size_t i = 0; ct_drv->claimed && i < n; i++) {
		if (!ct_needs_unclaimed(&a[i], 1))
			continue;
		enum hvabs_space sp = a[i].kind == HVT_MMIO_WRITE || a[i].kind == HVT_MMIO_READ
					  ? HVABS_SPACE_MMIO
					  : HVABS_SPACE_PIO;
		assert_int_equal(ct_drv->claimed(&f->env, sp, a[i].addr, a[i].size), 0);
	}
}

/* Waits for an interrupt the driver can see: it must arrive. */
void ct_observe(struct fx *f, int kind, uint32_t v, int timeout_ms)
{
	if (ct_not_applicable(kind ? HVT_SEE_MSI : HVT_SEE_LINE, "observing it"))
		return;
	int rc = ct_drv->observe_irq(&f->env, kind, v, timeout_ms);
	if (rc)
		fail_msg("%s %u never reached the guest: %d", kind ? "MSI data" : "line", v, rc);
}

/* The value the guest got from its @p nth read of the last program. */
uint64_t ct_read_result(struct fx *f, struct hvabs_vcpu *cpu, unsigned nth)
{
	uint64_t vals[16];
	int n = ct_drv->reads(&f->env, cpu, vals, 16);

	assert_true(n >= 0);
	assert_true(nth < (unsigned)n && nth < 16);
	return vals[nth];
}

uint32_t ct_run_to_stop(struct fx *f)
{
	struct hvabs_exit e;

	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	return e.kind;
}

void *ct_run_main(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_vcpu_run_loop(r->cpu, &r->exit);
	return NULL;
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

	ct_drv = hvt_init(argc, argv, "contract");
	int ok = hvt_available(ct_drv, "contract");
	if (ok < 0)
		return 1;
	if (ok == 0)
		return 77;
	char group[64];
	snprintf(group, sizeof(group), "contract.%s", name);
	return _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
