/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend contract suite's shared pieces: the guest layout every driver
 * uses, the fixture (a VM with a PIO and an MMIO recording device), and the
 * helpers the cases use to program the guest and to declare a case not
 * applicable. The cases are in contract_caps.c, contract_exits.c and
 * contract_irq.c; the list and main() in contract.c.
 */
#ifndef HVABS_TEST_CONTRACT_H
#define HVABS_TEST_CONTRACT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"

/* Guest memory layout every driver shares: RAM at 0, MMIO test window above it. */
#define CT_RAM_SIZE 0x80000ull /* 512 KiB of RAM at GPA 0 */
#define CT_DATA_GPA 0x8000ull  /* a scratch buffer for string I/O */
#define CT_MMIO_GPA 0xd0000ull /* a hole: MMIO test device (real-mode reachable) */
#define CT_MMIO_LEN 0x1000ull
#define CT_PORT	    0x3e0 /* PIO test device, 8 ports */

/* The run's driver (argv[1]). */
extern const struct hvt_driver *ct_drv;

/* A test device that records what the guest wrote and answers reads with one value. */
struct rec_dev {
	pthread_mutex_t lock;
	uint64_t writes[64];
	uint64_t offs[64];
	unsigned nwrites;
	unsigned nreads;
	uint64_t read_value;
};

/* One case's VM: the driver's env, the two recording devices, vCPU 0. */
struct fx {
	struct hvt_env env;
	struct rec_dev pio, mmio;
	struct hvabs_vcpu *cpu;
};

/* A vCPU run loop on its own thread. */
struct runner {
	struct fx *f;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit exit;
	int rc;
	pthread_t t;
};
void *ct_run_main(void *arg);

/*
 * Whether @p need (HVT_* features) is something the driver declared its
 * hypervisor lacks: then the case is not applicable, says why, and the
 * caller returns (after checking what the backend answers instead, if
 * anything). A case never skips.
 */
int ct_not_applicable(uint32_t need, const char *what);
/* HVT_UNCLAIMED_IO when an access lies outside the fixture's ranges, else 0. */
uint32_t ct_needs_unclaimed(const struct hvt_action *a, size_t n);
/* Where unclaimed I/O never reaches the VMM (Xen), the backend must not have claimed it. */
void ct_unclaimed_stays_out(struct fx *f, const struct hvt_action *a, size_t n);
/* Waits for an interrupt the driver can see: it must arrive. */
void ct_observe(struct fx *f, int kind, uint32_t v, int timeout_ms);
/* The value the guest got from its @p nth read of the last program. */
uint64_t ct_read_result(struct fx *f, struct hvabs_vcpu *cpu, unsigned nth);
/* Runs vCPU 0 until the run loop stops; returns the exit kind. */
uint32_t ct_run_to_stop(struct fx *f);

/* Programs the guest; a program the hypervisor cannot run ends the case (not applicable). */
#define PROGRAM(f, cpu, ...)                                                                       \
	do {                                                                                       \
		const struct hvt_action acts_[] = {__VA_ARGS__};                                   \
		size_t n_ = sizeof(acts_) / sizeof(acts_[0]);                                      \
		if (ct_not_applicable(hvt_needs(acts_, n_) | ct_needs_unclaimed(acts_, n_),        \
				      "program")) {                                                \
			ct_unclaimed_stays_out((f), acts_, n_);                                    \
			return;                                                                    \
		}                                                                                  \
		assert_int_equal(ct_drv->program(&(f)->env, (cpu), acts_, n_), 0);                 \
	} while (0)

/* The cases, in the order main() runs them. */
void abi_header(void **state);
void caps_honest_vcpu_state(void **state);
void caps_honest_vm(void **state);
void caps_honest_msi(void **state);
void caps_honest_irqfd(void **state);
void mem_map_unmap(void **state);
void exit_io_write(void **state);
void exit_io_read(void **state);
void exit_io_unhandled(void **state);
void exit_io_string(void **state);
void exit_mmio(void **state);
void exit_hlt(void **state);
void exit_shutdown(void **state);
void exit_reset(void **state);
void exit_system_event(void **state);
void exit_hypercall(void **state);
void exit_internal_error(void **state);
void exit_unknown(void **state);
void exit_eoi(void **state);
void irq_line_and_range(void **state);
void irqfd_msi(void **state);
void irqfd_any_path(void **state);
void ioeventfd_any_path(void **state);
void kick_from_thread(void **state);
void stop_request_from_thread(void **state);
void two_vcpus(void **state);

#endif
