/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MSHV side of the syscall seam (mshv_sys.h) and the two helpers every
 * other file uses: an ioctl that retries EINTR, and the MSHV_ROOT_HVCALL
 * pass-through.
 */
#include <errno.h>
#include <string.h>

#include "mshv_priv.h"

/* How often a hypercall that ran out of hypervisor memory is retried: the
 * kernel deposits a page and answers EAGAIN each time (mshv_root_main.c). */
#define HVCALL_RETRIES 16

/* The real system calls, unless HVABS_MSHV_FAKE names a fake /dev/mshv. */
int mshv_sys_select(const struct hvabs_host *host, const struct sys_seam **out, char *why,
		    size_t why_len)
{
	return sys_seam_select(host, MSHV, MSHV_FAKE_ENV, out, why, why_len);
}

int mshv_ioctl(const struct sys_seam *sys, int fd, unsigned long req, void *arg)
{
	return sys_seam_ioctl(sys, fd, req, arg);
}

/*
 * One hypercall through MSHV_ROOT_HVCALL. The kernel fills in the partition
 * id (the first 8 bytes of every allowed input) and turns the hypervisor's
 * status into an errno; for a rep hypercall it reports how many reps were
 * done, and a short count is an error here (the callers never expect one).
 */
int mshv_hvcall(const struct sys_seam *sys, int fd, uint16_t code, uint16_t reps, const void *in,
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
