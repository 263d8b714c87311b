/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm's --trace-exits: every exit, in the mock backend's script format. */
#ifndef HVABS_VMM_TRACE_H
#define HVABS_VMM_TRACE_H

#include <stddef.h>

#include <hvabs/vcpu.h>

struct vmm_trace;

/* Creates @p path and writes the header line. 0, or -1 with a reason in @p err. */
int vmm_trace_open(const char *path, struct vmm_trace **out, char *err, size_t errlen);
/* Records the exits of @p cpu from now on. */
void vmm_trace_attach(struct vmm_trace *t, struct hvabs_vcpu *cpu);
/* Closes the file (after the vCPUs are gone). NULL is a no-op. */
void vmm_trace_close(struct vmm_trace *t);

#endif
