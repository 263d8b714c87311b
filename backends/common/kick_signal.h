/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real-time signal backends use to kick a vCPU thread out of its
 * blocking run ioctl (KVM_RUN, MSHV_RUN_VP). Compiled into each plugin that
 * needs it: a plugin does not link libhvabs.
 */
#ifndef HVABS_BACKEND_KICK_SIGNAL_H
#define HVABS_BACKEND_KICK_SIGNAL_H

#include <pthread.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

struct kick_signal {
	const char *env; /* environment variable that picks another signal */
	int offset;	 /* default: SIGRTMIN + offset */
	int sa_flags;	 /* for sigaction (never SA_SIGINFO) */
	pthread_mutex_t lock;
	int done;
	int num;
	int err;
	char msg[160];
};

#define KICK_SIGNAL_INIT(env, offset, sa_flags)                                                    \
	{                                                                                          \
		(env), (offset), (sa_flags), PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, ""                \
	}

/*
 * Installs the no-op kick handler once per process and gives its number.
 * Refuses (-EBUSY) a signal someone else already handles, and (-EINVAL) an
 * environment override that is not a real-time signal; logs why.
 */
int kick_signal_setup(struct kick_signal *ks, const struct hvabs_host *host, const char *component,
		      int *sig);

#endif
