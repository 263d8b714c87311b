/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend contract suite: one list of tests that runs against every
 * backend that can run on the machine. A test never talks to a hypervisor
 * directly: it asks the backend's *driver* to make the guest do something
 * (an OUT, an MMIO read, a HLT, ...), runs the vCPU through the public API,
 * and asserts what a VMM would see. Each driver realises guest actions its
 * own way: the mock queues scripted exits, KVM writes real-mode code into
 * guest RAM, the Xen and MSHV fakes queue ioreqs and intercept messages.
 */
#ifndef HVABS_TEST_CONTRACT_H
#define HVABS_TEST_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include <hvabs/hvabs.h>

/* Guest memory layout every driver shares: RAM at 0, MMIO test window above it. */
#define CT_RAM_SIZE 0x80000ull /* 512 KiB of RAM at GPA 0 */
#define CT_CODE_GPA 0x1000ull  /* where drivers that run real code put it */
#define CT_DATA_GPA 0x8000ull  /* a scratch buffer for string I/O */
#define CT_MMIO_GPA 0xd0000ull /* a hole: MMIO test device (real-mode reachable) */
#define CT_MMIO_LEN 0x1000ull
#define CT_PORT	    0x3e0 /* PIO test device, 8 ports */

/* What a test asks the guest to do. */
enum ct_act {
	CT_OUT = 1,	   /* out: port=addr, size, value */
	CT_IN,		   /* in: port=addr, size (value = expected, for drivers that check) */
	CT_OUTS,	   /* rep outs: port=addr, size, count elements from CT_DATA_GPA */
	CT_MMIO_WRITE,	   /* store: gpa=addr, size, value */
	CT_MMIO_READ,	   /* load: gpa=addr, size */
	CT_HLT,		   /* hlt with interrupts disabled */
	CT_TRIPLE_FAULT,   /* vCPU shutdown */
	CT_SPIN,	   /* loop forever (until kicked) */
	CT_RESET,	   /* a backend-level reset exit */
	CT_SYSTEM_EVENT,   /* a backend-level system event (value = type) */
	CT_HYPERCALL,	   /* a hypercall to user space (value = nr) */
	CT_EOI,		   /* an IOAPIC EOI exit (value = vector) */
	CT_INTERNAL_ERROR, /* a hypervisor internal error */
	CT_UNKNOWN,	   /* an exit the backend cannot map */
};

struct ct_action {
	enum ct_act kind;
	uint64_t addr;
	uint32_t size;
	uint32_t count;
	uint64_t value;
};

struct ct_env;

struct ct_driver {
	const char *backend;	/* backend name for hvabs_backend_open() */
	const char *vm_options; /* backend options for VMs the suite creates */
	uint32_t vm_flags;	/* HVABS_VM_* flags */
	/* Called once per test after the VM exists (may be NULL). */
	int (*setup)(struct ct_env *env);
	void (*teardown)(struct ct_env *env);
	/*
	 * Makes vCPU @p cpu perform @p acts in order the next time it runs.
	 * Returns -ENOTSUP when the driver cannot express one of them; the
	 * test is then skipped with that reason.
	 */
	int (*program)(struct ct_env *env, struct hvabs_vcpu *cpu, const struct ct_action *acts,
		       size_t n);
	/*
	 * Waits up to @p timeout_ms for proof that interrupt line @p gsi was
	 * asserted (kind 0) or that MSI @p data reached the guest (kind 1).
	 * Returns 0, -ETIMEDOUT, or -ENOTSUP if the driver cannot observe it.
	 */
	int (*observe_irq)(struct ct_env *env, int kind, uint32_t gsi_or_data, int timeout_ms);
	/*
	 * Reports the value the guest received from its @p nth (0-based) CT_IN
	 * or CT_MMIO_READ of the last program, as the guest saw it.
	 */
	int (*read_result)(struct ct_env *env, struct hvabs_vcpu *cpu, unsigned nth,
			   uint64_t *value);
};

struct ct_env {
	const struct ct_driver *drv;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu; /* vCPU 0, created before the tests run */
	void *ram;
	void *drv_priv;
};

/* Drivers, one per backend; a driver for a backend not built here is NULL. */
extern const struct ct_driver ct_driver_mock;
const struct ct_driver *ct_driver_find(const char *backend);

#endif
