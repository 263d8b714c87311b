/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's exit trace (--trace-exits FILE): one line per exit in the mock
 * backend's script format (see hvabs/mock.h), so a run recorded on a real
 * hypervisor replays on the mock with --backend-options script=FILE. The
 * exits are decoded by the core (hvabs_exit_access_element()), element by
 * element exactly as the run loop dispatched them; this file only writes.
 *
 * The replay checks what it can: each read carries the value the VMM
 * answered, which the mock requires again; `clock` lines carry the VM clock,
 * so the devices that read it (the RTC) answer as they did; and where the
 * VMM stopped the VM itself (a device asked it to: the guest's ACPI S5
 * write, a reset) the line is `end`, not an exit, since the replay must
 * stop there for the same reason.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/vm.h>

#include "trace.h"

struct vmm_trace {
	FILE *f;
	pthread_mutex_t lock; /* one line at a time from every vCPU thread */
	uint64_t clock;	      /* VM clock of the last `clock` line */
};

/*
 * The VM clock whenever it moved by a millisecond or more since the last
 * `clock` line, so a replay hands the devices (the RTC) the times they saw
 * here, to within that millisecond. A read that lands on the other side of
 * a second or of the RTC's 2 ms update window makes the replay fail at once
 * (the mock checks every recorded read): record again.
 */
static void write_clock(struct vmm_trace *t, uint32_t idx, struct hvabs_vm *vm)
{
	uint64_t ns;

	if (hvabs_vm_get_time(vm, &ns) || (ns >= t->clock && ns - t->clock < 1000000))
		return;
	t->clock = ns;
	fprintf(t->f, "%u clock %llx\n", idx, (unsigned long long)ns);
}

/* `<vcpu> io|mmio r|w <addr> <size> <value>`: for a read, what the VMM answered. */
static void write_access(FILE *f, uint32_t idx, const struct hvabs_exit *e)
{
	uint32_t n = hvabs_exit_access_count(e);
	struct hvabs_exit_element el;

	for (uint32_t i = 0; i < n && hvabs_exit_access_element(e, i, &el) == 0; i++) {
		fprintf(f, "%u %s %c %llx %u %llx\n", idx, e->kind == HVABS_EXIT_IO ? "io" : "mmio",
			el.is_write ? 'w' : 'r', (unsigned long long)el.addr, el.size,
			(unsigned long long)el.value);
	}
}

static void on_exit_traced(void *opaque, const struct hvabs_vcpu *cpu, const struct hvabs_exit *e)
{
	struct vmm_trace *t = opaque;
	uint32_t idx = hvabs_vcpu_index(cpu);
	struct hvabs_vm *vm = hvabs_vcpu_vm(cpu);

	pthread_mutex_lock(&t->lock);
	write_clock(t, idx, vm);
	if (hvabs_exit_access_count(e))
		write_access(t->f, idx, e);
	else if (hvabs_vm_stop_reason(vm) != HVABS_STOP_NONE)
		/* Not the hypervisor's exit: the VMM stopped the VM, and a replay must too. */
		fprintf(t->f, "%u end   # stopped by the VMM (%s)\n", idx,
			hvabs_exit_kind_name(e->kind));
	else if (e->kind == HVABS_EXIT_SYSTEM_EVENT)
		fprintf(t->f, "%u %s\n", idx,
			e->u.system_event.type == HVABS_SYSTEM_EVENT_POWEROFF ? "poweroff"
									      : "crash");
	else if (e->kind == HVABS_EXIT_RESET || e->kind == HVABS_EXIT_SHUTDOWN ||
		 e->kind == HVABS_EXIT_HLT)
		fprintf(t->f, "%u %s\n", idx, hvabs_exit_kind_name(e->kind));
	else /* a step the script cannot replay (or an access the core refused) */
		fprintf(t->f, "# %u %s\n", idx, hvabs_exit_kind_name(e->kind));
	pthread_mutex_unlock(&t->lock);
}

int vmm_trace_open(const char *path, struct vmm_trace **out, char *err, size_t errlen)
{
	struct vmm_trace *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->f = fopen(path, "w");
	if (!t->f) {
		snprintf(err, errlen, "--trace-exits %s: %s", path, strerror(errno));
		free(t);
		return -1;
	}
	pthread_mutex_init(&t->lock, NULL);
	fprintf(t->f, "# hvabs-vmm --trace-exits: replay with --hypervisor mock "
		      "--backend-options script=FILE\n");
	*out = t;
	return 0;
}

void vmm_trace_attach(struct vmm_trace *t, struct hvabs_vcpu *cpu)
{
	hvabs_vcpu_set_trace(cpu, on_exit_traced, t);
}

void vmm_trace_close(struct vmm_trace *t)
{
	if (!t)
		return;
	fclose(t->f);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
