/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPUs: creation, KVM_RUN, the kick protocol, pause and resume. Exits are
 * translated in kvm_exit.c.
 *
 * Kicking (api.rst 5 "immediate_exit", 4.33 KVM_SET_SIGNAL_MASK). One
 * real-time signal (SIGRTMIN+3 unless HVABS_KVM_KICK_SIGNAL names another) has
 * a no-op handler installed once, without SA_RESTART. The first time a thread
 * runs a vCPU, the signal is blocked in that thread and the vCPU's KVM_RUN
 * mask is set to the thread's mask at that moment minus the signal: so the
 * signal can interrupt KVM_RUN and nothing else that thread does, and a signal
 * sent just before KVM_RUN stays pending and makes KVM_RUN return at once.
 * The VMM's own signals keep whatever mask the thread had.
 *
 * A kick sets KVM_REQ_KICK and immediate_exit, and signals the thread only
 * while it is in (or entering) KVM_RUN; state moves IDLE -> IN_RUN on entry
 * and back on exit, and a kicker moves IN_RUN -> SIGNALING -> SIGNALED around
 * tgkill(), which the vCPU thread waits out before it leaves, then consumes
 * the signal with sigtimedwait(). Both sides order "publish mine, then read
 * theirs" with sequentially consistent atomics, so either the vCPU sees the
 * request before KVM_RUN or the kicker sees IN_RUN and signals: no kick is
 * lost, and no stale signal outlives the run it was meant for.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm_priv.h"
#include "kick_signal.h"
#include "vcpu_table.h"

#define KICK_SIG_OFFSET 3 /* SIGRTMIN + 3 */

static struct kick_signal kick_sig = KICK_SIGNAL_INIT("HVABS_KVM_KICK_SIGNAL", KICK_SIG_OFFSET, 0);

int kvm_signal_init(const struct hvabs_host *host, int *sig)
{
	return kick_signal_setup(&kick_sig, host, KVM, sig);
}

static int vcpu_init(struct hvabs_be_vm *vm, struct hvabs_be_vcpu *v, uint32_t index)
{
	v->vm = vm;
	v->index = index;
	v->fd = -1;
	v->run = MAP_FAILED;
	return kvm_xcheck_vcpu_init(v);
}

/* KVM_CREATE_VCPU, then the shared kvm_run page (api.rst 4.7, 5). */
static int vcpu_attach(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc = kvm_vm_ioctl(vm, KVM_CREATE_VCPU, (void *)(uintptr_t)v->index);

	if (rc < 0) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "KVM_CREATE_VCPU %u: %s", v->index,
				strerror(-rc));
		return rc;
	}
	v->fd = rc;
	v->run = vm->sys->mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	return v->run == MAP_FAILED ? -errno : 0;
}

static void vcpu_discard(struct hvabs_be_vcpu *v)
{
	if (v->run != MAP_FAILED)
		v->vm->sys->munmap(v->run, v->vm->run_size);
	if (v->fd >= 0)
		v->vm->sys->close(v->fd);
	kvm_xcheck_vcpu_fini(v);
}

static const struct vcpu_table_ops vcpu_ops = {
    .size = sizeof(struct hvabs_be_vcpu),
    .init = vcpu_init,
    .attach = vcpu_attach,
    .discard = vcpu_discard,
};

static struct vcpu_table vcpu_table(struct hvabs_be_vm *vm)
{
	uint32_t limit = vm->max_vcpus < vm->max_vcpu_id ? vm->max_vcpus : vm->max_vcpu_id;

	return (struct vcpu_table){&vm->lock, vm->vcpus, limit};
}

int kvm_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out)
{
	struct vcpu_table t = vcpu_table(vm);

	return vcpu_table_create(&t, vm, index, &vcpu_ops, out);
}

void kvm_vcpu_destroy(struct hvabs_be_vcpu *v)
{
	struct vcpu_table t = vcpu_table(v->vm);

	vcpu_table_remove(&t, v->index, v);
	vcpu_discard(v);
	free(v);
}

/*
 * A number that names the calling thread for the life of the process:
 * pthread_t values and kernel tids are both reused after a thread exits, and
 * a vCPU handed to a new thread must bind to it again.
 */
static uint64_t thread_serial(void)
{
	static atomic_uint_fast64_t next = 1;
	static __thread uint64_t mine;

	if (!mine)
		mine = atomic_fetch_add(&next, 1);
	return mine;
}

/* First run on a thread: block the kick signal there, unblock it inside KVM_RUN only. */
static int bind_thread(struct hvabs_be_vcpu *v)
{
	uint64_t me = thread_serial();
	sigset_t kick, old;
	union {
		struct kvm_signal_mask m;
		uint8_t raw[sizeof(struct kvm_signal_mask) + 8];
	} km;

	if (v->thread == me)
		return 0;
	sigemptyset(&kick);
	sigaddset(&kick, v->vm->kick_sig);
	int rc = pthread_sigmask(SIG_BLOCK, &kick, &old);
	if (rc)
		return -rc;
	sigdelset(&old, v->vm->kick_sig);
	/* The kernel's sigset is 64 bits on x86-64: glibc's first word. */
	km.m.len = 8;
	memcpy(km.m.sigset, &old, 8);
	rc = kvm_vcpu_ioctl(v, KVM_SET_SIGNAL_MASK, &km);
	if (rc) {
		hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, KVM,
				"vcpu%u: KVM_SET_SIGNAL_MASK: %s", v->index, strerror(-rc));
		return rc;
	}
	atomic_store(&v->tid, (pid_t)syscall(SYS_gettid));
	v->thread = me;
	return 0;
}

/* Leaves the IN_RUN state; consumes the kick signal if a kicker sent one. */
static void leave_run(struct hvabs_be_vcpu *v)
{
	for (;;) {
		int s = KVM_VS_IN_RUN;
		if (atomic_compare_exchange_strong(&v->state, &s, KVM_VS_IDLE))
			break;
		if (s == KVM_VS_SIGNALED &&
		    atomic_compare_exchange_strong(&v->state, &s, KVM_VS_IDLE)) {
			sigset_t set;
			const struct timespec zero = {0, 0};
			sigemptyset(&set);
			sigaddset(&set, v->vm->kick_sig);
			while (sigtimedwait(&set, NULL, &zero) > 0)
				;
			break;
		}
		/* SIGNALING: a kicker is inside tgkill() right now. */
		sched_yield();
	}
	if (atomic_load_explicit(&v->vm->paused, memory_order_relaxed)) {
		pthread_mutex_lock(&v->vm->lock);
		pthread_cond_broadcast(&v->vm->cond);
		pthread_mutex_unlock(&v->vm->lock);
	}
}

/* Asks the vCPU to look at its requests soon: now, if it is inside KVM_RUN. */
void kvm_vcpu_poke(struct hvabs_be_vcpu *v, unsigned req)
{
	atomic_fetch_or(&v->req, req);
	if (req & (KVM_REQ_KICK | KVM_REQ_PAUSE))
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int s = KVM_VS_IN_RUN;
	if (atomic_compare_exchange_strong(&v->state, &s, KVM_VS_SIGNALING)) {
		syscall(SYS_tgkill, getpid(), atomic_load(&v->tid), v->vm->kick_sig);
		atomic_store(&v->state, KVM_VS_SIGNALED);
	}
}

int kvm_vcpu_kick(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	kvm_vcpu_poke(v, KVM_REQ_KICK);
	/* A vCPU parked by pause waits on the condition variable, not in KVM_RUN. */
	if (atomic_load(&vm->paused)) {
		pthread_mutex_lock(&vm->lock);
		pthread_cond_broadcast(&vm->cond);
		pthread_mutex_unlock(&vm->lock);
	}
	return 0;
}

/* Waits while the VM is paused. Returns 1 when a kick ended the wait. */
static int park(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	while (atomic_load(&vm->paused) && !(atomic_load(&v->req) & KVM_REQ_KICK))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return (atomic_fetch_and(&v->req, ~KVM_REQ_KICK) & KVM_REQ_KICK) != 0;
}

static int canceled(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	memset(&e->u, 0, sizeof(e->u));
	e->kind = HVABS_EXIT_CANCELED;
	e->flags = 0;
	e->raw_reason = KVM_EXIT_INTR;
	v->last_reason = KVM_EXIT_INTR;
	return 0;
}

/* KVM_RUN ended with -EINTR. Returns 1 to run again, 0 when @p e is the answer. */
static int interrupted(struct hvabs_be_vcpu *v, struct hvabs_exit *e)
{
	unsigned req = atomic_exchange(&v->req, 0);

	if (req & KVM_REQ_KICK)
		return canceled(v, e);
	if ((req & KVM_REQ_PAUSE) || atomic_load(&v->vm->paused))
		return park(v) ? canceled(v, e) : 1;
	if (req & KVM_REQ_IRQ)
		return 1;
	/* A signal of the VMM's own: let the caller look at it. */
	return canceled(v, e);
}

/* Publishes IN_RUN, then decides whether this KVM_RUN must return at once. */
static void enter_run(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;

	atomic_store(&v->state, KVM_VS_IN_RUN);
	unsigned req = atomic_load(&v->req);
	/*
	 * Written on every entry so a stale 1 left by a kick that was already
	 * answered cannot cancel this run; a kick racing with this store saw
	 * IN_RUN and signals, so the store needs no ordering of its own (the
	 * KVM_RUN syscall orders it for this thread). KVM still completes a
	 * pending I/O read before it honours immediate_exit (api.rst 5), so a
	 * paused vCPU's state is whole.
	 */
	__atomic_store_n(&v->run->immediate_exit,
			 (req & (KVM_REQ_KICK | KVM_REQ_PAUSE)) || atomic_load(&vm->paused),
			 __ATOMIC_RELAXED);
	if (!vm->irqchip && v->index == 0) {
		/* A line raised after these loads sees IN_RUN and signals. */
		if (req & KVM_REQ_IRQ)
			atomic_fetch_and(&v->req, ~KVM_REQ_IRQ);
		kvm_irq_inject_pending(v);
	}
}

int kvm_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit)
{
	struct hvabs_be_vm *vm = v->vm;
	int rc = bind_thread(v);

	if (rc)
		return rc;
	kvm_complete_exit(v, exit);
	for (;;) {
		enter_run(v);
		int r = vm->sys->ioctl(v->fd, KVM_RUN, NULL);
		int err = r < 0 ? errno : 0;
		leave_run(v);
		if (r < 0 && err != EINTR && err != EAGAIN) {
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "vcpu%u: KVM_RUN: %s",
					v->index, strerror(err));
			return -err;
		}
		if (r < 0 || v->run->exit_reason == KVM_EXIT_INTR) {
			if (err == EAGAIN || interrupted(v, exit))
				continue;
			return 0;
		}
		if (v->run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN)
			continue; /* the pending line is injected on the way back in */
		return kvm_map_exit(v, exit);
	}
}

/* Pause: every vCPU parks before (or instead of) its next guest instruction. */
int kvm_pause(struct hvabs_be_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, 1);
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		if (vm->vcpus[i])
			kvm_vcpu_poke(vm->vcpus[i], KVM_REQ_PAUSE);
	/*
	 * A vCPU outside vcpu_run is paused already (its next run parks). Wait
	 * for the ones inside KVM_RUN to come out; leave_run() broadcasts.
	 */
	for (;;) {
		int busy = 0;
		for (uint32_t i = 0; i < vm->max_vcpus; i++)
			if (vm->vcpus[i] && atomic_load(&vm->vcpus[i]->state) != KVM_VS_IDLE)
				busy = 1;
		if (!busy)
			break;
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += 10 * 1000 * 1000;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->cond, &vm->lock, &dl);
	}
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int kvm_resume(struct hvabs_be_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, 0);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}
