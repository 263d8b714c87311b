/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm's seccomp filters: what seccomp.c asks of seccomp_ioctl.c. */
#ifndef HVABS_VMM_SECCOMP_PRIV_H
#define HVABS_VMM_SECCOMP_PRIV_H

#include <seccomp.h>

#include "seccomp.h"

/*
 * Adds the ioctls @p kind may make on backend @p hv: terminal and disk
 * requests, and the hypervisor's. @p rebuilds: the main thread builds
 * machines again. 0 or a negative errno from libseccomp.
 */
int vmm_seccomp_add_ioctls(scmp_filter_ctx ctx, enum vmm_seccomp_hv hv, enum vmm_thread_kind kind,
			   bool rebuilds);

#endif
