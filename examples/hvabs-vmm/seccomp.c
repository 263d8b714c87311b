/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's seccomp-bpf filters, built with libseccomp: one allow-list
 * per kind of thread (seccomp.h), everything else kills the whole process
 * (SECCOMP_RET_KILL_PROCESS, logged by the kernel's audit when it can).
 * Each thread installs its own filter on itself once its setup is done, so
 * a thread never carries another kind's rights; a thread it starts later
 * inherits its filter and adds its own on top (the strictest answer wins).
 *
 * The lists are what the threads were seen to need (strace of the tiny
 * guest, the API and the durability tests) plus what glibc does behind the
 * calls we make (thread start and exit, malloc arenas). Hypervisor ioctls
 * are in seccomp_ioctl.c. docs/security.md explains each kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "seccomp.h"
#include "seccomp_priv.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every thread: memory, time, locks, its own fds, signals, thread exit. */
static const int common[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),
    SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),
    SCMP_SYS(close),
    SCMP_SYS(futex),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigtimedwait),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(madvise),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(brk),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(sched_yield),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(getrandom),
    SCMP_SYS(fcntl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(rseq),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(eventfd2), /* a queue's notification fd, when the guest enables it */
};

/* Sockets already open: console and vsock streams, the serial port on a socket. */
static const int streams[] = {
    SCMP_SYS(sendto),	   SCMP_SYS(sendmsg),	  SCMP_SYS(recvfrom),	SCMP_SYS(recvmsg),
    SCMP_SYS(shutdown),	   SCMP_SYS(accept4),	  SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname), SCMP_SYS(getpeername),
};

/* A disk's backing file: discard and write-zeroes, a new image through the API. */
static const int disk[] = {SCMP_SYS(fallocate), SCMP_SYS(openat), SCMP_SYS(statx),
			   SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register)};

/* Building a machine again (--reboot=restart, --api-sock): files, fds, devices. */
static const int build[] = {
    SCMP_SYS(openat),
    SCMP_SYS(statx),
    SCMP_SYS(eventfd2),
    SCMP_SYS(epoll_create1),
    SCMP_SYS(timerfd_create),
    SCMP_SYS(signalfd4),
    SCMP_SYS(bind),
    SCMP_SYS(listen),
    SCMP_SYS(connect),
    SCMP_SYS(unlink),
    SCMP_SYS(ftruncate),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(fallocate),
    SCMP_SYS(readlink),
    SCMP_SYS(getcwd),
    SCMP_SYS(sched_setaffinity),
    SCMP_SYS(io_uring_setup),
    SCMP_SYS(io_uring_enter),
    SCMP_SYS(io_uring_register),
};

static int add_list(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr[i], 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* mmap and mprotect, but never executable memory: the plugin is loaded before any filter. */
static int add_memory(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return rc;
}

/* Threads (never processes) for the kinds that start them; clone3 hides its flags from BPF. */
static int add_threads(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* Signals only to our own threads: the vCPU kick and pause (tgkill with our pid). */
static int add_kick(scmp_filter_ctx ctx, unsigned long long pid)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				SCMP_A0(SCMP_CMP_EQ, pid));
}

/* Unix sockets only: a vsock connection the guest opens to a host socket. */
static int add_unix_socket(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				  SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	return rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
}

static int add_kind(scmp_filter_ctx ctx, const struct vmm_seccomp *sc, enum vmm_thread_kind kind)
{
	int rc = add_list(ctx, common, N(common));

	if (!rc)
		rc = add_memory(ctx);
	if (!rc)
		rc = add_kick(ctx, sc->pid);
	/* Another filter on top only takes rights away: threads started later add their own. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
	if (!rc) /* thread names (libmicrohttpd names its thread) */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
				      SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
	/* glibc tries clone3 first and falls back to clone on ENOSYS, whose flags we can see. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!rc)
		rc = vmm_seccomp_add_ioctls(ctx, sc->hv, kind, sc->rebuilds);
	if (rc)
		return rc;
	switch (kind) {
	case VMM_THREAD_MAIN:
		rc = add_threads(ctx);
		if (!rc)
			rc = add_list(ctx, streams, N(streams));
		if (!rc)
			rc = add_list(ctx, (const int[]){SCMP_SYS(unlink)}, 1); /* the API socket */
		/* Destroying an io_uring disk wakes its reaper through the ring. */
		if (!rc)
			rc = add_list(ctx, (const int[]){SCMP_SYS(io_uring_enter)}, 1);
		if (!rc && sc->rebuilds)
			rc = add_list(ctx, build, N(build));
		if (!rc && sc->rebuilds)
			rc = add_unix_socket(ctx);
		return rc;
	case VMM_THREAD_VCPU:
		return add_list(ctx, streams, N(streams));
	case VMM_THREAD_LOOP:
	case VMM_THREAD_IO:
		rc = add_list(ctx, streams, N(streams));
		if (!rc)
			rc = add_list(ctx, disk, N(disk));
		return rc ? rc : add_unix_socket(ctx);
	case VMM_THREAD_API:
		/* The starter thread creates libmicrohttpd's thread under this filter (api.c). */
		rc = add_threads(ctx);
		if (!rc)
			rc = add_list(ctx, streams, N(streams));
		if (!rc)
			rc =
			    add_list(ctx, disk, N(disk)); /* PUT /logger, /metrics, PATCH /drives */
		if (!rc)
			rc = add_list(ctx, (const int[]){SCMP_SYS(eventfd2), SCMP_SYS(pipe2)}, 2);
		return rc;
	case VMM_THREAD_KINDS:
		break;
	}
	return -EINVAL;
}

const char *vmm_thread_kind_name(enum vmm_thread_kind kind)
{
	static const char *const names[] = {"main", "vcpu", "loop", "api", "io"};

	return (unsigned)kind < N(names) ? names[kind] : "?";
}

void vmm_seccomp_init(struct vmm_seccomp *sc, bool on, const char *backend, bool rebuilds)
{
	/* Test only (tests/vmm/seccomp_test.sh): make one kind of thread break its filter. */
	const char *t = getenv("HVABS_VMM_SECCOMP_TEST");

	memset(sc, 0, sizeof(*sc));
	sc->on = on;
	sc->rebuilds = rebuilds;
	sc->pid = (unsigned long long)getpid();
	sc->hv = !backend		    ? VMM_HV_OTHER
		 : !strcmp(backend, "kvm")  ? VMM_HV_KVM
		 : !strcmp(backend, "xen")  ? VMM_HV_XEN
		 : !strcmp(backend, "mshv") ? VMM_HV_MSHV
					    : VMM_HV_OTHER;
	/*
	 * glibc reads /etc/localtime on its first time conversion (the RTC's
	 * gmtime_r on a vCPU thread): read it now, while open is allowed.
	 */
	tzset();
	sc->test_kind = -1;
	for (int k = 0; t && k < VMM_THREAD_KINDS; k++)
		if (!strcmp(t, vmm_thread_kind_name((enum vmm_thread_kind)k)))
			sc->test_kind = k;
	if (!on)
		fprintf(stderr, "hvabs-vmm: seccomp filters are OFF (--seccomp=off): every thread "
				"may make any system call; use this for debugging only\n");
}

void vmm_seccomp_test_point(const struct vmm_seccomp *sc, enum vmm_thread_kind kind)
{
	if (sc->test_kind != (int)kind)
		return;
	fprintf(stderr, "hvabs-vmm: HVABS_VMM_SECCOMP_TEST: %s thread calls getpgid\n",
		vmm_thread_kind_name(kind));
	/*
	 * getpgid is in no list: harmless without a filter, fatal with one.
	 */
	(void)syscall(SYS_getpgid, 0);
}

int vmm_seccomp_enter(const struct vmm_seccomp *sc, enum vmm_thread_kind kind, char *err,
		      size_t errlen)
{
	if (!sc->on) {
		if (kind != VMM_THREAD_API)
			vmm_seccomp_test_point(sc, kind);
		return 0;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = ctx ? 0 : -ENOMEM;

	/*
	 * No SCMP_FLTATR_CTL_LOG: it would log every ENOSYS of clone3 too. The
	 * kernel audits a kill without it (syscall number, pid, in dmesg).
	 */
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (!rc)
		rc = add_kind(ctx, sc, kind);
	if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		rc = -errno;
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc) {
		snprintf(err, errlen, "cannot install the %s thread's seccomp filter: %s",
			 vmm_thread_kind_name(kind), strerror(-rc));
		return -1;
	}
	/* The API's starter thread ends at once: the server's own thread runs the hook (session.c). */
	if (kind != VMM_THREAD_API)
		vmm_seccomp_test_point(sc, kind);
	return 0;
}
