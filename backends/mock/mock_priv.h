/* SPDX-License-Identifier: Apache-2.0 */
/* Private state of the mock backend. */
#ifndef HVABS_MOCK_PRIV_H
#define HVABS_MOCK_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include "hvabs/mock.h"

#define MOCK		"mock"
#define MOCK_MAX_VCPUS	64
#define MOCK_NR_IRQS	64
#define MOCK_MAX_IRQFDS 64
#define MOCK_MAX_IOEVS	64

/* Ops that can be counted and made to fail, by name. */
enum mock_op {
	OP_VM_CREATE,
	OP_MEM_ALLOC,
	OP_MEM_MAP,
	OP_MEM_UNMAP,
	OP_IRQ_LINE,
	OP_MSI,
	OP_IRQFD,
	OP_IOEVENTFD,
	OP_VCPU_CREATE,
	OP_VCPU_RUN,
	OP_VCPU_KICK,
	OP_GET_REGS,
	OP_SET_REGS,
	OP_GET_SREGS,
	OP_SET_SREGS,
	OP_PAUSE,
	OP_RESUME,
	OP_VM_STOP,
	OP_COUNT
};

/* Steps only a script file has (mock_script.c): not exits of their own. */
enum mock_step_op {
	STEP_EXIT = 0, /* report s as an exit */
	STEP_CLOCK,    /* set the VM clock to `value` (the time of the recording) */
	STEP_END,      /* the recording ends here: the VMM must have stopped this vCPU */
};

struct mock_step {
	struct hvabs_mock_step s;
	uint8_t *buf; /* owned copy of s.buf */
	uint64_t left;
	enum mock_step_op op;
	int has_expect;	 /* a recorded read: the VMM must answer `value` */
	uint64_t value;	 /* expected read value, or the clock of STEP_CLOCK */
	unsigned lineno; /* in the script file, for messages */
	struct mock_step *next;
};

struct mock_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	int owned; /* from mem_alloc: munmap on unmap */
	struct mock_region *next;
};

struct mock_ioev {
	int fd;
	struct hvabs_ioeventfd_spec ev;
};

struct mock_irqfd {
	int fd;
	struct hvabs_irq_route route;
};

struct hvabs_be_vcpu {
	struct hvabs_be_vm *vm;
	uint32_t index;
	struct mock_step *head, *tail;
	uint64_t pending;
	atomic_int kicked;
	/* the previous exit, completed by the next run */
	struct hvabs_exit last;
	int last_expect; /* the previous exit was a recorded read of last_value */
	uint64_t last_value;
	unsigned last_line;
	int at_end; /* waiting at a STEP_END */
	uint8_t *iobuf;
	size_t iobuf_len;
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
	struct hvabs_fpu fpu;
	struct hvabs_lapic lapic;
	struct hvabs_msr_entry msrs[32];
	uint32_t nmsrs;
	uint32_t ncpuid;
};

struct hvabs_be_vm {
	const struct hvabs_host *host;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* script pushed, kick, event recorded, resume */
	struct hvabs_be_vcpu *vcpus[MOCK_MAX_VCPUS];
	uint32_t max_vcpus; /* the mock's limit, reported in caps */
	uint32_t nr_vcpus;  /* what this VM was created for */
	uint64_t features;
	uint32_t caps_size;
	int record_reads;
	int paused;
	uint64_t clock_ns;
	int levels[MOCK_NR_IRQS];
	struct mock_region *regions;
	struct mock_ioev ioevs[MOCK_MAX_IOEVS];
	uint32_t nioevs;
	struct mock_irqfd irqfds[MOCK_MAX_IRQFDS];
	uint32_t nirqfds;
	int irqfd_epfd;
	int irqfd_wake;
	pthread_t irqfd_thread;
	int irqfd_thread_up;
	/* recorded events: a growing array consumed from the front */
	struct hvabs_mock_event *events;
	size_t ev_head, ev_tail, ev_cap;
	/* fault injection and call counts */
	/* steps from a script file, waiting for their vCPU to be created */
	struct mock_step *pre_head[MOCK_MAX_VCPUS], *pre_tail[MOCK_MAX_VCPUS];
	uint64_t pre_count[MOCK_MAX_VCPUS];
	char *script_path;
	uint64_t calls[OP_COUNT];
	uint64_t stop_calls[HVABS_STOP_HOST + 1]; /* vm_stop by reason: calls("vm_stop:poweroff") */
	uint32_t fail_countdown[OP_COUNT];
	int fail_err[OP_COUNT];
};

int mock_count(struct hvabs_be_vm *vm, enum mock_op op);
int mock_op_by_name(const char *name);
void mock_record(struct hvabs_be_vm *vm, const struct hvabs_mock_event *ev);
int mock_ioev_match(struct hvabs_be_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		    uint64_t val);

int mock_script_load(struct hvabs_be_vm *vm, const char *path);
int mock_script_add(struct hvabs_be_vm *vm, uint32_t vcpu, const struct hvabs_mock_step *step);
int mock_script_add_op(struct hvabs_be_vm *vm, uint32_t vcpu, const struct mock_step *proto);
int mock_check_expected(struct hvabs_be_vcpu *v);
int mock_script_step(struct hvabs_be_vcpu *v, struct mock_step *st);
void mock_steps_free(struct mock_step *s);

int mock_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out);
void mock_vcpu_destroy(struct hvabs_be_vcpu *v);
int mock_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit);
int mock_vcpu_kick(struct hvabs_be_vcpu *v);
int mock_push(void *ctx, uint32_t vcpu, const struct hvabs_mock_step *step);
uint64_t mock_pending(void *ctx, uint32_t vcpu);

int mock_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r);
int mock_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r);
int mock_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s);
int mock_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s);
int mock_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f);
int mock_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f);
int mock_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n);
int mock_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n);
int mock_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n);
int mock_get_lapic(struct hvabs_be_vcpu *v, struct hvabs_lapic *l);
int mock_set_lapic(struct hvabs_be_vcpu *v, const struct hvabs_lapic *l);
int mock_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len);
int mock_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len);

#endif
