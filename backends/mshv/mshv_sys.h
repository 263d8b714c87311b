/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The syscall seam of the MSHV backend. Every open, ioctl, mmap, munmap and
 * close the backend makes on /dev/mshv and the fds derived from it goes
 * through one of these tables. Production uses the real system calls; tests
 * set HVABS_MSHV_FAKE to a shared object that exports
 * MSHV_FAKE_SYS_SYMBOL (tests/fixtures/fake_mshv.c), and the backend uses
 * its table instead: a fake /dev/mshv that answers like the hypervisor.
 *
 * The calls have the system calls' conventions: -1 (or MAP_FAILED) with
 * errno set on failure.
 */
#ifndef HVABS_MSHV_SYS_H
#define HVABS_MSHV_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MSHV_SYS_VERSION 1u
/* The symbol a fake exports: `const struct mshv_sys *MSHV_FAKE_SYS_SYMBOL(void)`. */
#define MSHV_FAKE_SYS_SYMBOL "hvabs_mshv_fake_sys_v1"
/* Environment variable naming the fake's shared object. */
#define MSHV_FAKE_ENV "HVABS_MSHV_FAKE"

struct mshv_sys {
	uint32_t version; /* MSHV_SYS_VERSION */
	uint32_t size;	  /* sizeof(struct mshv_sys) of the provider */
	const char *name; /* "linux" or the fake's name, for logs */
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
	int (*munmap)(void *addr, size_t len);
	int (*close)(int fd);
};

typedef const struct mshv_sys *(*mshv_fake_sys_fn)(void);

#endif
