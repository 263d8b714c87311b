/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm: one session after the command line (session.c). */
#ifndef HVABS_VMM_SESSION_H
#define HVABS_VMM_SESSION_H

#include "config.h"

/* Opens the backend, serves --api-sock, runs the machines; returns the exit status. */
int vmm_session(struct vmm_config *cfg);

#endif
