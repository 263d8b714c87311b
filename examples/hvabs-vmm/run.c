/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a built machine and reporting how it ended: one thread per vCPU
 * in hvabs_vcpu_run_loop(), one event-loop thread (devices, console input,
 * signals, the panic watchdog, --timeout), the first reason to stop wins
 * (enum vmm_outcome), and after a crash the console tail and every vCPU's
 * registers on stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <hvabs/devices/uart8250.h>

#include "vmm.h"

#define PANIC_TEXT "Kernel panic - not syncing"
#define TAIL_SIZE  (HVABS_UART_TAIL_LINES * HVABS_UART_TAIL_WIDTH)

const char *vmm_outcome_name(enum vmm_outcome o)
{
	static const char *const names[] = {
	    "running",	   "power-off",	       "reboot",
	    "crash",	   "all vCPUs halted", "hypervisor or VMM error",
	    "host signal", "timeout",
	};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

void vmm_set_outcome(struct machine *m, enum vmm_outcome o)
{
	int running = VMM_RUNNING;

	if (!atomic_compare_exchange_strong(&m->outcome, &running, (int)o))
		return;
	/*
	 * A crash we saw (a panic on the console) is the guest's: the backend
	 * passes it on (Xen: on_crash). Power-off and reset were requested by
	 * their devices already, and the rest is the host's own stop.
	 */
	hvabs_vm_request_stop(m->vm, o == VMM_CRASH ? HVABS_STOP_CRASH : HVABS_STOP_HOST);
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	hvabs_event_loop_stop(m->loop);
}

/* ---- signals and watchdogs on the event loop ---- */

static void on_signal(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(m->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	fprintf(stderr, "\r\nhvabs-vmm: signal %u: stopping the guest\r\n", si.ssi_signo);
	vmm_set_outcome(m, VMM_SIGNAL);
}

static int tail_has_panic(struct machine *m)
{
	static char buf[TAIL_SIZE];

	return vmm_console_tail(m->console, buf, sizeof(buf)) == 0 && strstr(buf, PANIC_TEXT);
}

static void on_watch(void *opaque, uint32_t events)
{
	struct machine *m = opaque;

	(void)events;
	if (tail_has_panic(m))
		vmm_set_outcome(m, VMM_CRASH);
}

static void on_timeout(void *opaque, uint32_t events)
{
	(void)events;
	vmm_set_outcome(opaque, VMM_TIMEOUT);
}

static uint64_t timeout_left_ns(const struct vmm_config *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return c->deadline_ns > now ? c->deadline_ns - now : 1;
}

int vmm_run_setup_events(struct machine *m, char *err, size_t errlen)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked here, before any thread starts, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0 ||
	    hvabs_event_add(m->loop, m->sigfd, HVABS_EVENT_IN, on_signal, m, NULL) ||
	    hvabs_event_timer_add(m->loop, 250000000, 250000000, on_watch, m, NULL) ||
	    (m->cfg->deadline_ns &&
	     hvabs_event_timer_add(m->loop, timeout_left_ns(m->cfg), 0, on_timeout, m, NULL))) {
		snprintf(err, errlen, "cannot set up signal handling: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- threads ---- */

/* A thread installs its filter on itself; one that cannot ends the run rather than go unfiltered. */
static int enter(struct machine *m, enum vmm_thread_kind kind)
{
	char err[256];

	if (!vmm_seccomp_enter(m->sc, kind, err, sizeof(err)))
		return 0;
	fprintf(stderr, "\rhvabs-vmm: %s\n", err);
	vmm_set_outcome(m, VMM_ERROR);
	return -1;
}

int vmm_run_io_thread_start(void *opaque, const char *kind)
{
	(void)kind;
	return enter(opaque, VMM_THREAD_IO) ? -EPERM : 0;
}

/* No interrupt controller will wake a halted vCPU: it waits for the end, the last one ends it. */
static void vcpu_halted(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	if (++m->halted == m->ncpus) {
		pthread_mutex_unlock(&m->lock);
		vmm_set_outcome(m, VMM_HALTED);
		return;
	}
	while (atomic_load(&m->outcome) == VMM_RUNNING)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

/* What an exit the run loop hands back means for the run. */
static void vcpu_exit(struct machine *m, struct hvabs_vcpu *cpu, struct hvabs_exit *e)
{
	switch (e->kind) {
	case HVABS_EXIT_SYSTEM_EVENT:
		vmm_set_outcome(m, e->u.system_event.type == HVABS_SYSTEM_EVENT_POWEROFF
				       ? VMM_POWEROFF
				       : VMM_CRASH);
		break;
	case HVABS_EXIT_RESET:
		vmm_set_outcome(m, VMM_REBOOT);
		break;
	case HVABS_EXIT_SHUTDOWN:
		fprintf(stderr, "\rhvabs-vmm: vcpu%u: triple fault\n", hvabs_vcpu_index(cpu));
		vmm_set_outcome(m, VMM_CRASH);
		break;
	case HVABS_EXIT_HYPERCALL:
		e->u.hypercall.ret = (uint64_t)-ENOSYS; /* completed by the next run */
		break;
	case HVABS_EXIT_CANCELED:
		break;
	case HVABS_EXIT_HLT:
		vcpu_halted(m);
		break;
	default:
		fprintf(stderr, "\rhvabs-vmm: vcpu%u: %s exit (raw reason 0x%llx)\n",
			hvabs_vcpu_index(cpu), hvabs_exit_kind_name(e->kind),
			(unsigned long long)e->raw_reason);
		vmm_set_outcome(m, VMM_ERROR);
		break;
	}
}

static void *vcpu_main(void *arg)
{
	struct vcpu_ctx *v = arg;
	struct machine *m = v->m;
	struct hvabs_exit e;

	memset(&e, 0, sizeof(e));
	if (enter(m, VMM_THREAD_VCPU))
		return NULL;
	while (atomic_load(&m->outcome) == VMM_RUNNING) {
		int rc = hvabs_vcpu_run_loop(v->cpu, &e);
		if (rc) {
			fprintf(stderr, "\rhvabs-vmm: vcpu%u: run failed: %s\n",
				hvabs_vcpu_index(v->cpu), strerror(-rc));
			vmm_set_outcome(m, VMM_ERROR);
			break;
		}
		if (atomic_load(&m->outcome) != VMM_RUNNING)
			break;
		vcpu_exit(m, v->cpu, &e);
	}
	return NULL;
}

static void *loop_main(void *arg)
{
	struct machine *m = arg;

	if (enter(m, VMM_THREAD_LOOP))
		return NULL;
	if (hvabs_event_loop_run(m->loop))
		vmm_set_outcome(m, VMM_ERROR);
	return NULL;
}

enum vmm_outcome machine_run(struct machine *m)
{
	if (pthread_create(&m->loop_thread, NULL, loop_main, m) == 0)
		m->loop_started = 1;
	else
		vmm_set_outcome(m, VMM_ERROR);
	for (uint32_t i = 0; i < m->ncpus && m->loop_started; i++) {
		if (pthread_create(&m->cpus[i].thread, NULL, vcpu_main, &m->cpus[i])) {
			vmm_set_outcome(m, VMM_ERROR);
			break;
		}
		m->cpus[i].started = 1;
	}
	/*
	 * The main thread's own filter, once everything is built and started. A
	 * second machine (--reboot=restart) finds it installed: stacking the
	 * same filter again would only cost.
	 */
	if (!m->sc->main_entered) {
		m->sc->main_entered = true;
		(void)enter(m, VMM_THREAD_MAIN);
	}
	for (uint32_t i = 0; i < m->ncpus; i++)
		if (m->cpus[i].started)
			pthread_join(m->cpus[i].thread, NULL);
	if (m->loop_started) {
		hvabs_event_loop_stop(m->loop);
		pthread_join(m->loop_thread, NULL);
		m->loop_started = 0;
	}
	vmm_console_restore(m->console);
	enum vmm_outcome o = atomic_load(&m->outcome);
	/* panic=-1 reboots at once: a reboot right after a panic message is a crash. */
	if (o == VMM_REBOOT && tail_has_panic(m))
		o = VMM_CRASH;
	return o;
}

/* ---- the report after a crash ---- */

static void report_console(struct machine *m)
{
	static char tail[TAIL_SIZE];

	if (vmm_console_tail(m->console, tail, sizeof(tail)) || !tail[0])
		return;
	const char *start = tail;
	int lines = 0;
	for (const char *p = tail + strlen(tail); p > tail; p--)
		if (p[-1] == '\n' && ++lines > 20) {
			start = p;
			break;
		}
	fprintf(stderr, "hvabs-vmm: last console lines:\n%s%s", start,
		tail[strlen(tail) - 1] == '\n' ? "" : "\n");
}

void machine_report(struct machine *m)
{
	report_console(m);
	for (uint32_t i = 0; i < m->ncpus; i++) {
		struct hvabs_regs r;
		struct hvabs_sregs s;
		if (!m->cpus[i].cpu || hvabs_vcpu_get_regs(m->cpus[i].cpu, &r) ||
		    hvabs_vcpu_get_sregs(m->cpus[i].cpu, &s))
			continue;
		fprintf(
		    stderr,
		    "hvabs-vmm: vcpu%u: rip %016llx rsp %016llx rflags %08llx\n"
		    "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		    "  rsi %016llx rdi %016llx rbp %016llx\n"
		    "  cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx cs %04x\n",
		    i, (unsigned long long)r.rip, (unsigned long long)r.rsp,
		    (unsigned long long)r.rflags, (unsigned long long)r.rax,
		    (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx,
		    (unsigned long long)r.rsi, (unsigned long long)r.rdi, (unsigned long long)r.rbp,
		    (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		    (unsigned long long)s.cr4, (unsigned long long)s.efer, s.cs.selector);
	}
}
