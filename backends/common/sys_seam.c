/* SPDX-License-Identifier: Apache-2.0 */
/* The syscall seam shared by the KVM and MSHV backends (sys_seam.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvabs/plugin/helpers.h"
#include "sys_seam.h"

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

static int real_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

static int real_close(int fd)
{
	return close(fd);
}

static const struct sys_seam real_sys = {
    .version = SYS_SEAM_VERSION,
    .size = sizeof(struct sys_seam),
    .name = "linux",
    .open = real_open,
    .ioctl = real_ioctl,
    .mmap = real_mmap,
    .munmap = real_munmap,
    .close = real_close,
};

const struct sys_seam *sys_seam_real(void)
{
	return &real_sys;
}

/*
 * dlopen counts references and returns the object already loaded, so every
 * VM of a process (and a test that links the same object) shares one
 * instance of the provider.
 */
int sys_seam_select(const struct hvabs_host *host, const char *component, const char *env,
		    const struct sys_seam **out, char *why, size_t why_len)
{
	const char *path = getenv(env);

	if (!path || !*path) {
		*out = &real_sys;
		return 0;
	}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(why, why_len, "%s=%s: cannot load: %s", env, path, dlerror());
		return -ENODEV;
	}
	sys_seam_provider_fn fn;
	*(void **)&fn = dlsym(dl, SYS_SEAM_SYMBOL);
	const struct sys_seam *s = fn ? fn(&real_sys) : NULL;
	if (!s || s->version != SYS_SEAM_VERSION || s->size < sizeof(*s) || !s->open || !s->ioctl ||
	    !s->mmap || !s->munmap || !s->close) {
		snprintf(why, why_len, "%s=%s: no usable %s table", env, path, SYS_SEAM_SYMBOL);
		return -ENODEV;
	}
	hvabs_host_logf(host, HVABS_LOG_DEBUG, component, "system calls through '%s' from %s",
			s->name ? s->name : "?", path);
	*out = s;
	return 0;
}

int sys_seam_ioctl(const struct sys_seam *sys, int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = sys->ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}
