/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm: what main.c sees of one machine: build it (machine.c), run it and report (run.c). */
#ifndef HVABS_VMM_MACHINE_H
#define HVABS_VMM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>

#include <hvabs/hvabs.h>

#include "config.h"
#include "seccomp.h"

/* How a run ended; decides the exit status. */
enum vmm_outcome {
	VMM_RUNNING = 0,
	VMM_POWEROFF, /* guest powered off: 0 */
	VMM_REBOOT,   /* guest asked for a reset: 0, or restart */
	VMM_CRASH,    /* triple fault, panic, crash report: 1 */
	VMM_HALTED,   /* every vCPU halted with nothing to wake it: 1 */
	VMM_ERROR,    /* hypervisor or VMM error: 1 */
	VMM_SIGNAL,   /* SIGINT/SIGTERM or the console escape: 0 */
	VMM_TIMEOUT,  /* --timeout expired: 1 */
};

struct machine;

/*
 * Builds everything; on failure writes a one-line reason to @p err. @p sc
 * (kept, not copied) gives every thread of the machine its filter.
 */
int machine_create(const struct vmm_config *cfg, struct vmm_seccomp *sc, struct hvabs_backend *be,
		   struct machine **out, char *err, size_t errlen);
/*
 * Runs until the guest or the host ends it; returns the outcome. The first
 * call installs the main thread's seccomp filter, once the threads started.
 */
enum vmm_outcome machine_run(struct machine *m);
/* Prints the console tail and vCPU registers to stderr (after a crash). */
void machine_report(struct machine *m);
void machine_destroy(struct machine *m);
const char *vmm_outcome_name(enum vmm_outcome o);

#endif
