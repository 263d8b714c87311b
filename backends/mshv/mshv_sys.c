/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The syscall seam (mshv_sys.h) and the two helpers every other file uses:
 * an ioctl that retries EINTR, and the MSHV_ROOT_HVCALL pass-through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mshv_priv.h"

/* How often a hypercall that ran out of hypervisor memory is retried: the
 * kernel deposits a page and answers EAGAIN each time (mshv_root_main.c). */
#define HVCALL_RETRIES 16

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

static const struct mshv_sys real_sys = {
    .version = MSHV_SYS_VERSION,
    .size = sizeof(struct mshv_sys),
    .name = "linux",
    .open = real_open,
    .ioctl = real_ioctl,
    .mmap = real_mmap,
    .munmap = real_munmap,
    .close = real_close,
};

/*
 * The real system calls, unless HVABS_MSHV_FAKE names a fake. The fake's
 * object is opened again on every call (dlopen counts references and returns
 * the one already loaded) and never closed: tables it handed out stay valid.
 */
int mshv_sys_select(const struct hvabs_host *host, const struct mshv_sys **out, char *why,
		    size_t why_len)
{
	const char *path = getenv(MSHV_FAKE_ENV);

	if (!path || !*path) {
		*out = &real_sys;
		return 0;
	}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(why, why_len, "%s=%s: cannot load: %s", MSHV_FAKE_ENV, path, dlerror());
		return -ENODEV;
	}
	mshv_fake_sys_fn fn;
	*(void **)&fn = dlsym(dl, MSHV_FAKE_SYS_SYMBOL);
	const struct mshv_sys *s = fn ? fn() : NULL;
	if (!s || s->version != MSHV_SYS_VERSION || s->size < sizeof(*s) || !s->open || !s->ioctl ||
	    !s->mmap || !s->munmap || !s->close) {
		snprintf(why, why_len, "%s=%s: no usable %s table", MSHV_FAKE_ENV, path,
			 MSHV_FAKE_SYS_SYMBOL);
		return -ENODEV;
	}
	hvabs_host_logf(host, HVABS_LOG_DEBUG, MSHV, "using the simulated /dev/mshv '%s' from %s",
			s->name ? s->name : "?", path);
	*out = s;
	return 0;
}

int mshv_ioctl(const struct mshv_sys *sys, int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = sys->ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/*
 * One hypercall through MSHV_ROOT_HVCALL. The kernel fills in the partition
 * id (the first 8 bytes of every allowed input) and turns the hypervisor's
 * status into an errno; for a rep hypercall it reports how many reps were
 * done, and a short count is an error here (the callers never expect one).
 */
int mshv_hvcall(const struct mshv_sys *sys, int fd, uint16_t code, uint16_t reps, const void *in,
		size_t in_sz, void *out, size_t out_sz)
{
	struct mshv_root_hvcall_args a;
	int rc = -EAGAIN;

	if (in_sz < 8 || in_sz > MSHV_PAGE_SIZE || out_sz > MSHV_PAGE_SIZE)
		return -EINVAL;
	for (int i = 0; i < HVCALL_RETRIES && rc == -EAGAIN; i++) {
		memset(&a, 0, sizeof(a));
		a.code = code;
		a.reps = reps;
		a.in_sz = (uint16_t)in_sz;
		a.out_sz = out ? (uint16_t)out_sz : 0;
		a.in_ptr = (uint64_t)(uintptr_t)in;
		a.out_ptr = out ? (uint64_t)(uintptr_t)out : 0;
		rc = mshv_ioctl(sys, fd, MSHV_IOC_ROOT_HVCALL, &a);
	}
	if (rc < 0)
		return rc;
	if (reps && a.reps != reps)
		return -EIO;
	return 0;
}

int mshv_set_property(struct hvabs_be_vm *vm, uint32_t code, uint64_t value)
{
	struct mshv_in_set_property in = {.code = code, .value = value};
	int rc = mshv_hvcall(vm->sys, vm->pt_fd, MSHV_HVCALL_SET_PARTITION_PROPERTY, 0, &in,
			     sizeof(in), NULL, 0);

	if (rc)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV,
				"setting partition property 0x%x to 0x%llx: %s", code,
				(unsigned long long)value, strerror(-rc));
	return rc;
}
