/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPUs: creation (MSHV_CREATE_VP and the register page), MSHV_RUN_VP, and
 * the kick.
 *
 * Kicking. MSHV_RUN_VP returns -EINTR when a signal is pending on the
 * calling thread (mshv_root_main.c waits interruptibly and checks for
 * signals before each dispatch), but unlike KVM it has no signal mask of its
 * own, so a signal cannot be kept blocked outside the run and pending into
 * it. So: one real-time signal (SIGRTMIN+4 unless HVABS_MSHV_KICK_SIGNAL
 * names another) gets a no-op handler with SA_RESTART, and each vCPU thread
 * unblocks it. A kick sets the vCPU's `kick` flag, which the run loop checks
 * after publishing IN_RUN and before every MSHV_RUN_VP; then, while the vCPU
 * is IN_RUN and has not taken the flag, the kicker signals its thread and
 * waits a little, again and again: a signal that lands just before the
 * ioctl is lost, the next one is not. SA_RESTART keeps a signal that lands
 * after the ioctl from failing the system calls a device callback makes on
 * the vCPU thread (MSHV_RUN_VP itself returns -EINTR, never restarted).
 *
 * Pausing uses the same signal without the flag: the vCPU, back from
 * MSHV_RUN_VP with -EINTR and no kick, sees the VM paused and parks on a
 * condition variable until resume (or a kick, which it reports as canceled).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mshv_priv.h"
#include "vcpu_table.h"
#include "kick_signal.h"

#define KICK_SIG_OFFSET 4 /* SIGRTMIN + 4 (KVM's backend uses + 3) */
#define KICK_RETRY_NS	200000L
#define KICK_RETRIES	5000 /* about a second, then the flag alone must do */

static struct kick_signal kick_sig =
    KICK_SIGNAL_INIT("HVABS_MSHV_KICK_SIGNAL", KICK_SIG_OFFSET, SA_RESTART);

int mshv_signal_init(const struct hvabs_host *host, int *sig)
{
	return kick_signal_setup(&kick_sig, host, MSHV, sig);
}

/* Maps the VP register page; a partition without one (encrypted guests) runs on hypercalls. */
static void map_regpage(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	long psz = sysconf(_SC_PAGESIZE);
	void *p = vm->sys->mmap(NULL, MSHV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
				(off_t)MSHV_VP_MMAP_REGISTERS * psz);

	if (p == MAP_FAILED) {
		hvabs_host_logf(vm->host, HVABS_LOG_INFO, MSHV,
				"vcpu%u: no VP register page (%s); registers go through hypercalls",
				v->index, strerror(errno));
		return;
	}
	v->regpage = p;
}

static int vcpu_init(struct hvabs_be_vm *vm, struct hvabs_be_vcpu *v, uint32_t index)
{
	v->vm = vm;
	v->index = index;
	v->fd = -1;
	return 0;
}

static int vcpu_attach(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	struct mshv_create_vp_args a = {.vp_index = v->index};
	int rc = mshv_ioctl(vm->sys, vm->pt_fd, MSHV_IOC_CREATE_VP, &a);

	if (rc < 0) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV, "MSHV_CREATE_VP %u: %s", v->index,
				strerror(-rc));
		return rc;
	}
	v->fd = rc;
	map_regpage(v);
	return 0;
}

static void vcpu_discard(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	if (v->regpage)
		vm->sys->munmap(v->regpage, MSHV_PAGE_SIZE);
	if (v->fd >= 0)
		vm->sys->close(v->fd);
	free(v->cpuid);
}

static const struct vcpu_table_ops vcpu_ops = {
    .size = sizeof(struct hvabs_be_vcpu),
    .init = vcpu_init,
    .attach = vcpu_attach,
    .discard = vcpu_discard,
};

int mshv_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out)
{
	struct vcpu_table t = {&vm->lock, vm->vcpus, vm->max_vcpus};

	return vcpu_table_create(&t, vm, index, &vcpu_ops, out);
}

void mshv_vcpu_destroy(struct hvabs_be_vcpu *v)
{
	struct vcpu_table t = {&v->vm->lock, v->vm->vcpus, v->vm->max_vcpus};

	vcpu_table_remove(&t, v->index, v);
	vcpu_discard(v);
	free(v);
}

/* Every run: the kick signal must reach this thread, whatever mask the VMM gave it. */
static int bind_thread(struct hvabs_be_vcpu *v)
{
	static __thread pid_t my_tid;
	sigset_t set;

	if (!my_tid)
		my_tid = (pid_t)syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, v->vm->kick_sig);
	int rc = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (rc)
		return -rc;
	atomic_store(&v->tid, my_tid);
	return 0;
}

static int canceled(struct hvabs_exit *e)
{
	memset(&e->u, 0, sizeof(e->u));
	e->kind = HVABS_EXIT_CANCELED;
	e->flags = 0;
	e->raw_reason = 0;
	return 0;
}

/* Waits while the VM is paused. Returns 1 when a kick ended the wait. */
static int park(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	while (atomic_load(&vm->paused) && !atomic_load(&v->kick))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return atomic_exchange(&v->kick, 0) != 0;
}

/*
 * Publishes IN_RUN, then looks at the kick flag and the pause; a kicker or
 * pauser sets those first and then looks at the state (mshv_vcpu_poke), so
 * one of the two sides always sees the other. Returns 1 when the run must
 * end as canceled, 0 to enter MSHV_RUN_VP.
 */
static int enter_run(struct hvabs_be_vcpu *v)
{
	for (;;) {
		atomic_store(&v->state, MSHV_VS_IN_RUN);
		if (atomic_exchange(&v->kick, 0)) {
			atomic_store(&v->state, MSHV_VS_IDLE);
			return 1;
		}
		if (!atomic_load(&v->vm->paused))
			return 0;
		atomic_store(&v->state, MSHV_VS_IDLE);
		if (park(v))
			return 1;
	}
}

int mshv_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc = bind_thread(v);

	if (!rc)
		rc = mshv_complete(v, exit);
	if (rc)
		return rc;
	for (;;) {
		if (enter_run(v))
			return canceled(exit);
		int r = vm->sys->ioctl(v->fd, MSHV_IOC_RUN_VP, &v->buf.run);
		int err = r < 0 ? errno : 0;
		atomic_store(&v->state, MSHV_VS_IDLE);
		if (r < 0 && (err == EAGAIN ||
			      (err == EINTR && !atomic_load(&v->kick) && atomic_load(&vm->paused))))
			continue; /* a pause: enter_run parks */
		if (r < 0 && err == EINTR) {
			/* A kick, or a signal of the VMM's own: let the caller look. */
			atomic_store(&v->kick, 0);
			return canceled(exit);
		}
		if (r < 0) {
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV, "vcpu%u: MSHV_RUN_VP: %s",
					v->index, strerror(err));
			return -err;
		}
		rc = mshv_handle_message(v, exit);
		if (rc <= 0)
			return rc;
		/* Handled inside the backend (MMIO, string I/O, CPUID, MSR): run on. */
	}
}

/* Signals the vCPU's thread while it is inside (or entering) MSHV_RUN_VP. */
static void poke(struct hvabs_be_vcpu *v, int for_kick)
{
	const struct timespec pause = {0, KICK_RETRY_NS};

	for (int i = 0; i < KICK_RETRIES; i++) {
		if (atomic_load(&v->state) != MSHV_VS_IN_RUN ||
		    (for_kick && !atomic_load(&v->kick)))
			break;
		pid_t tid = atomic_load(&v->tid);
		if (tid > 0)
			syscall(SYS_tgkill, getpid(), tid, v->vm->kick_sig);
		nanosleep(&pause, NULL);
	}
}

int mshv_vcpu_kick(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	atomic_store(&v->kick, 1);
	poke(v, 1);
	/* A vCPU parked by a pause waits on the condition variable. */
	if (atomic_load(&vm->paused)) {
		pthread_mutex_lock(&vm->lock);
		pthread_cond_broadcast(&vm->cond);
		pthread_mutex_unlock(&vm->lock);
	}
	return 0;
}

/*
 * Pause: the partition's time stops (TIME_FREEZE, as Cloud Hypervisor
 * pauses a VM) and every vCPU leaves MSHV_RUN_VP and parks before its next
 * dispatch. When this returns, no vCPU is inside the hypervisor.
 */
int mshv_pause(struct hvabs_be_vm *vm)
{
	int rc = mshv_set_property(vm, MSHV_PROP_TIME_FREEZE, 1);

	if (rc)
		return rc;
	atomic_store(&vm->paused, 1);
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		if (vm->vcpus[i])
			poke(vm->vcpus[i], 0);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int mshv_resume(struct hvabs_be_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, 0);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return mshv_set_property(vm, MSHV_PROP_TIME_FREEZE, 0);
}
