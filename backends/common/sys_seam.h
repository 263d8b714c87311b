/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The syscall seam of the backends that drive a Linux device node (KVM,
 * MSHV). Every open, ioctl, mmap, munmap and close such a backend makes on
 * its device and the fds derived from it goes through one of these tables,
 * chosen once per VM. Production uses the real system calls. A test names a
 * shared object in the backend's environment variable (HVABS_KVM_SYS,
 * HVABS_MSHV_FAKE); the object exports SYS_SEAM_SYMBOL, which is handed the
 * real table and returns the one the backend uses instead: a wrapper that
 * fails chosen calls (tests/fixtures/fault_sys.c), or a fake device that
 * answers like the kernel (tests/fixtures/fake_mshv.c). Backend code never
 * asks whether to fail: it only sees system calls that succeed or fail.
 *
 * The calls have the system calls' conventions: -1 (or MAP_FAILED) with
 * errno set on failure. Compiled into each plugin that uses it.
 */
#ifndef HVABS_BACKEND_SYS_SEAM_H
#define HVABS_BACKEND_SYS_SEAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvabs/plugin/backend.h"

#define SYS_SEAM_VERSION 1u
/* The symbol a test object exports: a sys_seam_provider_fn. */
#define SYS_SEAM_SYMBOL "hvabs_sys_seam_v1"

struct sys_seam {
	uint32_t version; /* SYS_SEAM_VERSION */
	uint32_t size;	  /* sizeof(struct sys_seam) of the provider */
	const char *name; /* "linux" or the provider's name, for logs */
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
	int (*munmap)(void *addr, size_t len);
	int (*close)(int fd);
};

/* What a test object exports: given the real table, the table to use (NULL: refuse). */
typedef const struct sys_seam *(*sys_seam_provider_fn)(const struct sys_seam *real);

/* The real system calls. */
const struct sys_seam *sys_seam_real(void);

/*
 * The real table, unless environment variable @p env names a shared object;
 * then that object's table. On failure, -ENODEV and the reason in @p why.
 * The object is never closed: tables it handed out stay valid.
 */
int sys_seam_select(const struct hvabs_host *host, const char *component, const char *env,
		    const struct sys_seam **out, char *why, size_t why_len);

/* An ioctl through @p sys that retries EINTR: its result, or negative errno. */
int sys_seam_ioctl(const struct sys_seam *sys, int fd, unsigned long req, void *arg);

#endif
