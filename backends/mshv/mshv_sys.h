/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MSHV backend's use of the syscall seam (backends/common/sys_seam.h):
 * every open, ioctl, mmap, munmap and close on /dev/mshv and the fds derived
 * from it goes through the VM's table. Tests set HVABS_MSHV_FAKE to a shared
 * object exporting SYS_SEAM_SYMBOL (tests/fixtures/fake_mshv.c), a fake
 * /dev/mshv that answers like the hypervisor.
 */
#ifndef HVABS_MSHV_SYS_H
#define HVABS_MSHV_SYS_H

#include "sys_seam.h"

/* Environment variable naming the fake's shared object. */
#define MSHV_FAKE_ENV "HVABS_MSHV_FAKE"

#endif
