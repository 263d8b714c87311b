/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest-driver interface of the tests: one interface, one driver per
 * backend (drv_mock.c, drv_kvm.c, drv_xen.c, drv_mshv.c), used by the
 * contract suite (tests/contract), the legacy device tests
 * (tests/unit/devices) and the virtio tests (tests/unit/virtio).
 *
 * A test never talks to a hypervisor directly: it asks the driver to make
 * the guest do something (an OUT, an MMIO read, a HLT, ...), runs the vCPU
 * through the public API, and asserts what a VMM would see. Each driver
 * realises guest actions its own way: the mock queues scripted exits, KVM
 * writes real-mode code into guest RAM, the Xen and MSHV drivers queue
 * ioreqs and intercept messages in their fakes.
 *
 * Skips are decisions, not accidents. Each driver declares up front what
 * its hypervisor cannot show (hvt_driver::lacks, each with the reason); a
 * case that needs one of those says so and checks what the backend answers
 * instead. An op that fails otherwise fails the test. The only skip left is
 * a whole program whose backend cannot run on the machine (exit 77), and
 * hvt_available() turns that into a failure when the driver's
 * HVABS_REQUIRE_* variable is 1 (CI sets all of them).
 */
#ifndef HVABS_TEST_HARNESS_DRIVER_H
#define HVABS_TEST_HARNESS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <hvabs/hvabs.h>

/* What a test asks the guest to do. */
enum hvt_act {
	HVT_OUT = 1,	    /* out: port=addr, size, value */
	HVT_IN,		    /* in: port=addr, size */
	HVT_OUTS,	    /* rep outs: port=addr, size, count elements from hvt_env::data_gpa */
	HVT_MMIO_WRITE,	    /* store: gpa=addr, size, value */
	HVT_MMIO_READ,	    /* load: gpa=addr, size */
	HVT_HLT,	    /* hlt with interrupts disabled */
	HVT_TRIPLE_FAULT,   /* vCPU shutdown */
	HVT_SPIN,	    /* loop forever (until kicked) */
	HVT_RESET,	    /* a backend-level reset exit */
	HVT_SYSTEM_EVENT,   /* a backend-level system event (value = type) */
	HVT_HYPERCALL,	    /* a hypercall to user space (value = nr) */
	HVT_EOI,	    /* an IOAPIC EOI exit (value = vector) */
	HVT_INTERNAL_ERROR, /* a hypervisor internal error */
	HVT_UNKNOWN,	    /* an exit the backend cannot map */
};

struct hvt_action {
	enum hvt_act kind;
	uint64_t addr;
	uint32_t size;
	uint32_t count;
	uint64_t value;
};

/* What a driver may lack: guest behaviour its hypervisor never shows a VMM. */
enum hvt_feature {
	HVT_UNCLAIMED_IO = 1u << 0,	   /* accesses outside registered ranges reach the VMM */
	HVT_EXIT_HLT = 1u << 1,		   /* `cli; hlt` ends vcpu_run with HVABS_EXIT_HLT */
	HVT_EXIT_RESET = 1u << 2,	   /* HVT_RESET */
	HVT_EXIT_SYSTEM_EVENT = 1u << 3,   /* HVT_SYSTEM_EVENT */
	HVT_EXIT_HYPERCALL = 1u << 4,	   /* HVT_HYPERCALL */
	HVT_EXIT_EOI = 1u << 5,		   /* HVT_EOI */
	HVT_EXIT_INTERNAL_ERROR = 1u << 6, /* HVT_INTERNAL_ERROR */
	HVT_EXIT_UNKNOWN = 1u << 7,	   /* HVT_UNKNOWN */
	HVT_SEE_LINE = 1u << 8,		   /* observe_irq() of a line */
	HVT_SEE_MSI = 1u << 9,		   /* observe_irq() of an MSI */
	HVT_COUNT_IRQS = 1u << 10,	   /* irqs() and line_level() */
	HVT_CLOCK_SET = 1u << 11,	   /* clock_set() */
};

/* One declared lack: the feature and why this hypervisor does not have it. */
struct hvt_lack {
	uint32_t feature;
	const char *why;
};

struct hvt_env {
	const struct hvt_driver *drv;
	const char *options; /* the test's own words ("noioeventfd", ...), or NULL */
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu; /* vCPU 0, created before attach() */
	void *ram;		/* RAM at GPA 0, or NULL when the test has none */
	uint64_t ram_size;
	uint64_t data_gpa; /* the buffer of HVT_OUTS */
	void *priv;
};

struct hvt_driver {
	const char *name;	/* the run's name: "mock", "mock-nofd", "kvm-irqchip", ... */
	const char *backend;	/* backend name for hvabs_backend_open() */
	const char *vm_options; /* backend options for the VMs a test creates */
	uint32_t vm_flags;	/* HVABS_VM_* flags */
	/* Environment variable that turns "backend unavailable" into a failure. */
	const char *require_env;
	/* What this hypervisor cannot show, ended by a zero entry. */
	const struct hvt_lack *lacks;
	/* Once per program, before the backend is first opened (may be NULL). */
	void (*prepare)(int argc, char **argv);
	/* Per VM, after vCPU 0 exists (may be NULL). */
	int (*attach)(struct hvt_env *env);
	/* Fails the calling test on what the simulated hypervisor caught. */
	void (*detach)(struct hvt_env *env);
	/*
	 * Whether a guest access at [@p base, + @p len) reaches the VMM (1) or
	 * not (0). NULL: every access does (the hypervisor needs no claim).
	 */
	int (*claimed)(struct hvt_env *env, enum hvabs_space space, uint64_t base, uint64_t len);
	/* Makes vCPU @p cpu perform @p acts in order the next time it runs. */
	int (*program)(struct hvt_env *env, struct hvabs_vcpu *cpu, const struct hvt_action *acts,
		       size_t n);
	/* Values of the reads the last program of @p cpu completed, in order; returns how many. */
	int (*reads)(struct hvt_env *env, struct hvabs_vcpu *cpu, uint64_t *vals, size_t max);
	/*
	 * Waits up to @p timeout_ms for proof that interrupt line @p gsi was
	 * asserted (kind 0) or that MSI @p data reached the guest (kind 1).
	 */
	int (*observe_irq)(struct hvt_env *env, int kind, uint32_t gsi_or_data, int timeout_ms);
	/*
	 * Rising edges (or kernel irqfd pulses) of line @p gsi since the
	 * previous call, waiting up to @p timeout_ms for at least @p min.
	 */
	int (*irqs)(struct hvt_env *env, uint32_t gsi, int min, int timeout_ms);
	/* What the hypervisor last saw on line @p gsi: 0, 1, or -1 never set. */
	int (*line_level)(struct hvt_env *env, uint32_t gsi);
	/* Sets the VM's clock (ns since the epoch). */
	int (*clock_set)(struct hvt_env *env, uint64_t ns);
};

/* The driver of run @p name ("mock", "kvm-irqchip", ...), or NULL. */
const struct hvt_driver *hvt_driver_find(const char *name);

/* Puts a vCPU of the fake /dev/mshv in flat 64-bit mode (the MSHV driver's
 * setup; tests/unit/mshv uses it too). 0 or negative errno. */
int hvt_mshv_long_mode(struct hvabs_vcpu *cpu);
/* Why @p d lacks one of @p features, or NULL when it has them all. */
const char *hvt_lacks(const struct hvt_driver *d, uint32_t features);
/* The features a program needs (HVT_EXIT_*; HVT_UNCLAIMED_IO is the caller's). */
uint32_t hvt_needs(const struct hvt_action *acts, size_t n);

/*
 * Picks the driver named by argv[1] (default "mock") and runs its
 * prepare(). Returns it, or exits 2 when there is none in this program.
 */
const struct hvt_driver *hvt_init(int argc, char **argv, const char *suite);
/*
 * Whether the driver's backend can run here: 1 yes, 0 no (the program
 * should exit 77), -1 no and its HVABS_REQUIRE_* variable says it must.
 */
int hvt_available(const struct hvt_driver *d, const char *suite);

#endif
