/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's per-thread seccomp filters (seccomp.c): one allow-list per
 * kind of thread, installed by each thread on itself once its setup is done.
 * docs/security.md says what each kind may do and why.
 */
#ifndef HVABS_VMM_SECCOMP_H
#define HVABS_VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* The kinds of thread hvabs-vmm runs; each has its own filter. */
enum vmm_thread_kind {
	VMM_THREAD_MAIN, /* builds machines, waits for them, tears them down */
	VMM_THREAD_VCPU, /* one per vCPU: runs the guest, emulates its MMIO and port I/O */
	VMM_THREAD_LOOP, /* the event loop: device queues, console input, timers, signals */
	VMM_THREAD_API,	 /* libmicrohttpd's thread serving --api-sock */
	VMM_THREAD_IO,	 /* a worker the library starts for a device (disk I/O) */
	VMM_THREAD_KINDS,
};

/* The backends whose ioctls the filters know. */
enum vmm_seccomp_hv {
	VMM_HV_OTHER = 0, /* mock or a plugin: no hypervisor ioctls */
	VMM_HV_KVM,
	VMM_HV_XEN,
	VMM_HV_MSHV,
};

/* What every filter is built from; set once by the main thread before any other starts. */
struct vmm_seccomp {
	bool on;		/* false with --seccomp=off */
	enum vmm_seccomp_hv hv; /* from the backend's name */
	bool rebuilds;		/* --reboot=restart or --api-sock: main builds machines again */
	int test_kind;		/* HVABS_VMM_SECCOMP_TEST (test only): -1, or a thread kind */
	unsigned long long pid; /* ours, for tgkill's first argument */
	bool main_entered;	/* the main thread's filter is on (run.c) */
};

/*
 * Fills @p sc from the configuration, the backend's name and the test-only
 * environment variable HVABS_VMM_SECCOMP_TEST; logs one line when the
 * filters are off.
 */
void vmm_seccomp_init(struct vmm_seccomp *sc, bool on, const char *backend, bool rebuilds);

/*
 * Installs the filter of @p kind on the calling thread (with no_new_privs);
 * 0, or -1 with a reason in @p err. A no-op when the filters are off. Then,
 * when HVABS_VMM_SECCOMP_TEST names @p kind, makes a syscall no filter
 * allows, so a test sees the VMM end (for the API, the server's thread
 * does so per request, through vmm_seccomp_test_point()).
 */
int vmm_seccomp_enter(const struct vmm_seccomp *sc, enum vmm_thread_kind kind, char *err,
		      size_t errlen);

/* The test hook alone, for a thread whose filter was inherited (the API thread). */
void vmm_seccomp_test_point(const struct vmm_seccomp *sc, enum vmm_thread_kind kind);

/* "main", "vcpu", "loop", "api", "io". */
const char *vmm_thread_kind_name(enum vmm_thread_kind kind);

#endif
