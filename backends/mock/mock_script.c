/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exit scripts from a file (backend option script=PATH): lets a whole guest
 * run be replayed on the mock, e.g. the tiny test guest's I/O as recorded on
 * KVM by `hvabs-vmm --trace-exits`. One step per line, '#' starts a comment:
 *
 *   <vcpu> io w <port> <size> <value>     <vcpu> mmio w <gpa> <size> <value>
 *   <vcpu> io r <port> <size> [<value>]   <vcpu> mmio r <gpa> <size> [<value>]
 *   <vcpu> hlt | shutdown | reset | poweroff | crash
 *   <vcpu> clock <ns>     the VM clock from here on (ns since the epoch)
 *   <vcpu> end            the recording ends: the VMM stopped the VM here
 *
 * A read with a value is a recorded read: the VMM must answer that value,
 * or the replay has diverged and the next vcpu_run fails. `clock` steps give
 * the devices the time they saw when the run was recorded, so the RTC
 * answers the same. A vCPU that reaches `end` without being stopped fails
 * its run once every vCPU has reached its end: in the recording, the VMM
 * stopped the VM there on its own (the guest's power-off write reached a
 * device that stopped it), and the replay must do the same.
 *
 * Steps wait in the VM until their vCPU is created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvabs/le.h"
#include "mock_priv.h"

static int parse_access(char *line, const char *kind, struct mock_step *st)
{
	struct hvabs_mock_step *s = &st->s;
	char dir[4];
	unsigned long long addr, val = 0;
	unsigned size;

	int n = sscanf(line, "%*u %*s %3s %llx %u %llx", dir, &addr, &size, &val);
	if (n < 3 || (dir[0] != 'r' && dir[0] != 'w') || dir[1] || (dir[0] == 'w' && n != 4))
		return -EINVAL;
	s->kind = kind[0] == 'i' ? HVABS_EXIT_IO : HVABS_EXIT_MMIO;
	s->is_write = dir[0] == 'w';
	s->addr = addr;
	s->size = size;
	if (s->is_write)
		s->data = val;
	else if (n == 4) {
		st->has_expect = 1;
		st->value = val;
	}
	return 0;
}

static int parse_line(char *line, uint32_t *vcpu, struct mock_step *st)
{
	char kind[16];
	unsigned long long ns;

	memset(st, 0, sizeof(*st));
	if (sscanf(line, "%u %15s", vcpu, kind) != 2)
		return -EINVAL;
	if (!strcmp(kind, "io") || !strcmp(kind, "mmio"))
		return parse_access(line, kind, st);
	if (!strcmp(kind, "clock")) {
		if (sscanf(line, "%*u %*s %llx", &ns) != 1)
			return -EINVAL;
		st->op = STEP_CLOCK;
		st->value = ns;
		return 0;
	}
	if (!strcmp(kind, "end")) {
		st->op = STEP_END;
		return 0;
	}
	static const struct {
		const char *name;
		uint32_t kind;
		uint64_t arg;
	} simple[] = {
	    {"hlt", HVABS_EXIT_HLT, 0},
	    {"shutdown", HVABS_EXIT_SHUTDOWN, 0},
	    {"reset", HVABS_EXIT_RESET, 0},
	    {"poweroff", HVABS_EXIT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_POWEROFF},
	    {"crash", HVABS_EXIT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_CRASH},
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (!strcmp(kind, simple[i].name)) {
			st->s.kind = simple[i].kind;
			st->s.arg[0] = simple[i].arg;
			return 0;
		}
	return -EINVAL;
}

int mock_script_load(struct hvabs_be_vm *vm, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MOCK, "script %s: %s", path,
				strerror(errno));
		return rc;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		uint32_t vcpu;
		struct mock_step s;
		char *hash = strchr(line, '#');
		lineno++;
		if (hash)
			*hash = '\0';
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		rc = parse_line(line, &vcpu, &s);
		if (!rc && vcpu >= vm->nr_vcpus)
			rc = -ERANGE;
		s.lineno = lineno;
		if (!rc)
			rc = mock_script_add_op(vm, vcpu, &s);
		if (rc)
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MOCK,
					"script %s:%u: bad step: %s", path, lineno, line);
	}
	fclose(f);
	return rc;
}

/* ---- replay checks, called by mock_vcpu_run() ---- */

/* A recorded read the VMM answered differently: the replay has diverged. */
int mock_check_expected(struct hvabs_be_vcpu *v)
{
	const struct hvabs_exit *l = &v->last;
	uint64_t got = hvabs_le_load(v->iobuf, l->u.io.size);

	if (!v->last_expect || got == v->last_value)
		return 0;
	hvabs_host_logf(v->vm->host, HVABS_LOG_ERROR, MOCK,
			"replay diverged at %s:%u: vcpu%u %s read of %u byte(s) at 0x%llx "
			"answered 0x%llx, the recording has 0x%llx",
			v->vm->script_path ? v->vm->script_path : "script", v->last_line, v->index,
			l->kind == HVABS_EXIT_IO ? "port" : "MMIO", l->u.io.size,
			(unsigned long long)l->u.io.addr, (unsigned long long)got,
			(unsigned long long)v->last_value);
	return -EPROTO;
}

/*
 * Every vCPU of the VM waits at the end of its recording, and none with
 * steps is still to be created: nothing the recording holds can stop it now.
 */
static int all_at_end(struct hvabs_be_vm *vm)
{
	for (uint32_t i = 0; i < MOCK_MAX_VCPUS; i++)
		if ((vm->vcpus[i] && !vm->vcpus[i]->at_end) || (!vm->vcpus[i] && vm->pre_head[i]))
			return 0;
	return 1;
}

/*
 * Steps that are not exits, under the VM lock. Returns 1 to look at the
 * queue again, 0 to wait, negative errno to fail the run.
 */
int mock_script_step(struct hvabs_be_vcpu *v, struct mock_step *st)
{
	struct hvabs_be_vm *vm = v->vm;

	if (st->op == STEP_CLOCK) {
		vm->clock_ns = st->value;
		v->pending--;
		v->head = st->next;
		if (!v->head)
			v->tail = NULL;
		free(st);
		return 1;
	}
	/* STEP_END: wait for the stop's kick, unless no vCPU is left to cause one. */
	if (!v->at_end) {
		v->at_end = 1;
		pthread_cond_broadcast(&vm->cond);
	}
	if (!all_at_end(vm))
		return 0;
	hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MOCK,
			"replay diverged at %s:%u: vcpu%u reached the end of the recording, "
			"where the VMM stopped the VM, but this VMM did not stop it",
			vm->script_path ? vm->script_path : "script", st->lineno, v->index);
	return -EPROTO;
}
