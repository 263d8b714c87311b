/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU kick signal shared by the KVM and MSHV backends (kick_signal.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kick_signal.h"

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to make the run ioctl return -EINTR */
}

static void setup_locked(struct kick_signal *ks)
{
	const char *env = getenv(ks->env);
	struct sigaction old, sa;
	int s = SIGRTMIN + ks->offset;

	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 0);
		if (*end || v < SIGRTMIN || v > SIGRTMAX) {
			snprintf(ks->msg, sizeof(ks->msg), "%s=%s: not a real-time signal (%d..%d)",
				 ks->env, env, SIGRTMIN, SIGRTMAX);
			ks->err = -EINVAL;
			return;
		}
		s = (int)v;
	}
	/* Someone else's handler (plain or SA_SIGINFO) would be replaced: refuse. */
	if (sigaction(s, NULL, &old) == 0 &&
	    ((old.sa_flags & SA_SIGINFO) ||
	     (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN &&
	      old.sa_handler != kick_handler))) {
		snprintf(ks->msg, sizeof(ks->msg),
			 "signal %d (the vCPU kick signal) already has a handler; set %s to a "
			 "free real-time signal",
			 s, ks->env);
		ks->err = -EBUSY;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = ks->sa_flags & ~SA_SIGINFO;
	if (sigaction(s, &sa, NULL)) {
		ks->err = -errno;
		snprintf(ks->msg, sizeof(ks->msg), "sigaction(%d): %s", s, strerror(errno));
		return;
	}
	ks->num = s;
}

int kick_signal_setup(struct kick_signal *ks, const struct hvabs_host *host, const char *component,
		      int *sig)
{
	pthread_mutex_lock(&ks->lock);
	if (!ks->done) {
		setup_locked(ks);
		ks->done = 1;
	}
	pthread_mutex_unlock(&ks->lock);
	if (ks->err) {
		hvabs_host_logf(host, HVABS_LOG_ERROR, component, "%s", ks->msg);
		return ks->err;
	}
	*sig = ks->num;
	return 0;
}
