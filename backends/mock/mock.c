/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mock backend: a hypervisor that runs no guest code. VM-wide ops live
 * here (memory, interrupts, irqfds, ioeventfds, clock, fault injection, the
 * test extension); vCPU ops and the exit script are in mock_vcpu.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mock_priv.h"

static const char *const op_names[OP_COUNT] = {
    "vm_create", "mem_alloc", "mem_map",     "mem_unmap", "irq_line",  "msi",
    "irqfd",	 "ioeventfd", "vcpu_create", "vcpu_run",  "vcpu_kick", "get_regs",
    "set_regs",	 "get_sregs", "set_sregs",   "pause",	  "resume",    "vm_stop",
};

int mock_op_by_name(const char *name)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (name && !strcmp(name, op_names[i]))
			return i;
	return -1;
}

/* Counts a call of @p op and returns the injected error if this is the chosen call. */
int mock_count(struct hvabs_be_vm *vm, enum mock_op op)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	vm->calls[op]++;
	if (vm->fail_countdown[op] && --vm->fail_countdown[op] == 0)
		rc = vm->fail_err[op];
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void mock_record(struct hvabs_be_vm *vm, const struct hvabs_mock_event *ev)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->ev_tail == vm->ev_cap) {
		/* Compact consumed events first, grow only when really full. */
		if (vm->ev_head) {
			memmove(vm->events, vm->events + vm->ev_head,
				(vm->ev_tail - vm->ev_head) * sizeof(*vm->events));
			vm->ev_tail -= vm->ev_head;
			vm->ev_head = 0;
		}
		if (vm->ev_tail == vm->ev_cap) {
			size_t cap = vm->ev_cap ? vm->ev_cap * 2 : 64;
			void *p = realloc(vm->events, cap * sizeof(*vm->events));
			if (!p) {
				pthread_mutex_unlock(&vm->lock);
				hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MOCK,
						"event lost: no memory");
				return;
			}
			vm->events = p;
			vm->ev_cap = cap;
		}
	}
	vm->events[vm->ev_tail++] = *ev;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static int probe(const struct hvabs_host *host, char *why, size_t why_len)
{
	const char *p = getenv("HVABS_MOCK_PROBE");

	(void)host;
	if (p && !strcmp(p, "enodev")) {
		snprintf(why, why_len, "HVABS_MOCK_PROBE=enodev asked the mock to refuse");
		return -ENODEV;
	}
	if (p && !strcmp(p, "eacces")) {
		snprintf(why, why_len, "HVABS_MOCK_PROBE=eacces asked the mock to refuse");
		return -EACCES;
	}
	return 0;
}

static int mock_option(void *ctx, const char *key, const char *val)
{
	struct hvabs_be_vm *vm = ctx;
	int rc = 0;

	if (!val && !strcmp(key, "noirqfd"))
		vm->features &= ~HVABS_CAP_IRQFD;
	else if (!val && !strcmp(key, "noioeventfd"))
		vm->features &= ~(HVABS_CAP_IOEVENTFD_PIO | HVABS_CAP_IOEVENTFD_MMIO |
				  HVABS_CAP_IOEVENTFD_DATAMATCH);
	else if (!val && !strcmp(key, "nomsi"))
		vm->features &= ~HVABS_CAP_MSI;
	else if (!val && !strcmp(key, "norecord"))
		vm->record_reads = 0;
	else if (!strcmp(key, "max_vcpus"))
		rc = hvabs_option_u32(val, MOCK_MAX_VCPUS, &vm->max_vcpus);
	else if (!strcmp(key, "caps_size"))
		rc = hvabs_option_u32(val, UINT32_MAX, &vm->caps_size);
	else if (!strcmp(key, "script") && val && *val) {
		free(vm->script_path);
		vm->script_path = strdup(val);
		rc = vm->script_path ? 0 : -ENOMEM;
	} else
		rc = -EINVAL;
	return rc;
}

/* Parses "key[=value],..." backend options. */
static int parse_options(struct hvabs_be_vm *vm, const char *opts)
{
	int rc = hvabs_options_parse(vm->host, MOCK, NULL, opts, mock_option, vm);

	if (!rc && vm->max_vcpus == 0)
		rc = -EINVAL;
	return rc;
}

/* HVABS_MOCK_FAIL=op:nth:errno injects a fault into the very first calls (vm_create). */
static int env_fault(struct hvabs_be_vm *vm)
{
	const char *f = getenv("HVABS_MOCK_FAIL");
	char name[32];
	unsigned nth;
	int err;

	if (!f || sscanf(f, "%31[a-z_]:%u:%d", name, &nth, &err) != 3)
		return 0;
	int op = mock_op_by_name(name);
	if (op < 0 || !nth)
		return 0;
	vm->fail_countdown[op] = nth;
	vm->fail_err[op] = err > 0 ? -err : err;
	return 0;
}

static void vm_destroy(struct hvabs_be_vm *vm);

static int vm_create(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
		     struct hvabs_be_vm **out)
{
	struct hvabs_be_vm *vm = calloc(1, sizeof(*vm));
	struct timespec ts;

	if (!vm)
		return -ENOMEM;
	vm->host = host;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->max_vcpus = MOCK_MAX_VCPUS;
	vm->record_reads = 1;
	vm->irqfd_epfd = -1;
	vm->irqfd_wake = -1;
	vm->features = HVABS_CAP_IRQFD | HVABS_CAP_IOEVENTFD_PIO | HVABS_CAP_IOEVENTFD_MMIO |
		       HVABS_CAP_IOEVENTFD_DATAMATCH | HVABS_CAP_MSI | HVABS_CAP_MEM_MAP |
		       HVABS_CAP_PAUSE | HVABS_CAP_FPU | HVABS_CAP_MSRS | HVABS_CAP_CPUID |
		       HVABS_CAP_LAPIC | HVABS_CAP_VCPU_STATE | HVABS_CAP_VM_STATE |
		       HVABS_CAP_CLOCK | HVABS_CAP_HYPERCALL;
	for (int i = 0; i < MOCK_NR_IRQS; i++)
		vm->levels[i] = -1;
	/* The virtual clock starts at the host's time and then only moves when told. */
	clock_gettime(CLOCK_REALTIME, &ts);
	vm->clock_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	env_fault(vm);
	int rc = mock_count(vm, OP_VM_CREATE);
	if (!rc)
		rc = parse_options(vm, cfg->options);
	if (!rc && cfg->max_vcpus > vm->max_vcpus)
		rc = -EINVAL;
	vm->nr_vcpus = cfg->max_vcpus ? cfg->max_vcpus : 1;
	if (!rc && vm->script_path)
		rc = mock_script_load(vm, vm->script_path);
	if (rc) {
		vm_destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

static void stop_irqfd_thread(struct hvabs_be_vm *vm)
{
	if (vm->irqfd_thread_up) {
		uint64_t one = 1;
		(void)!write(vm->irqfd_wake, &one, sizeof(one));
		pthread_join(vm->irqfd_thread, NULL);
		vm->irqfd_thread_up = 0;
	}
	if (vm->irqfd_epfd >= 0)
		close(vm->irqfd_epfd);
	if (vm->irqfd_wake >= 0)
		close(vm->irqfd_wake);
}

static void vm_destroy(struct hvabs_be_vm *vm)
{
	stop_irqfd_thread(vm);
	struct mock_region *r = vm->regions;
	while (r) {
		struct mock_region *n = r->next;
		if (r->owned)
			munmap(r->hva, r->size);
		free(r);
		r = n;
	}
	free(vm->events);
	free(vm->script_path);
	for (int i = 0; i < MOCK_MAX_VCPUS; i++)
		mock_steps_free(vm->pre_head[i]);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static int vm_get_caps(struct hvabs_be_vm *vm, struct hvabs_caps *caps)
{
	struct hvabs_caps c;

	memset(&c, 0, sizeof(c));
	c.hdr = (struct hvabs_hdr){HVABS_ABI_CURRENT, (uint32_t)sizeof(c)};
	c.max_vcpus = vm->max_vcpus;
	c.irqchip = 0;
	c.features = vm->features;
	c.state_version = 1;
	c.nr_irqs = MOCK_NR_IRQS;
	if (vm->caps_size && vm->caps_size < sizeof(c))
		c.hdr.struct_size = vm->caps_size;
	/* Write no more than the caller's struct holds, nor than we claim. */
	size_t n =
	    caps->hdr.struct_size < c.hdr.struct_size ? caps->hdr.struct_size : c.hdr.struct_size;
	memcpy(caps, &c, n);
	caps->hdr = c.hdr;
	return 0;
}

static int add_region(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, int owned)
{
	struct mock_region *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->owned = owned;
	pthread_mutex_lock(&vm->lock);
	r->next = vm->regions;
	vm->regions = r;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
		     void **hva)
{
	int rc = mock_count(vm, OP_MEM_ALLOC);

	if (rc)
		return rc;
	if (flags & ~HVABS_MEM_DIRTY_LOG & ~HVABS_MEM_READONLY)
		return -EINVAL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	rc = add_region(vm, gpa, size, p, 1);
	if (rc) {
		munmap(p, size);
		return rc;
	}
	*hva = p;
	return 0;
}

static int mem_map(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	int rc = mock_count(vm, OP_MEM_MAP);

	(void)flags;
	return rc ? rc : add_region(vm, gpa, size, hva, 0);
}

static int mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	int rc = mock_count(vm, OP_MEM_UNMAP);

	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	for (struct mock_region **pp = &vm->regions; *pp; pp = &(*pp)->next) {
		struct mock_region *r = *pp;
		if (r->gpa == gpa && r->size == size) {
			*pp = r->next;
			pthread_mutex_unlock(&vm->lock);
			if (r->owned)
				munmap(r->hva, r->size);
			free(r);
			return 0;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return -ENOENT;
}

static int irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level)
{
	int rc = mock_count(vm, OP_IRQ_LINE);

	if (rc)
		return rc;
	if (gsi >= MOCK_NR_IRQS)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	vm->levels[gsi] = (int)level;
	pthread_mutex_unlock(&vm->lock);
	mock_record(vm, &(struct hvabs_mock_event){
			    .kind = HVABS_MOCK_EV_IRQ_LINE, .addr = gsi, .value = level});
	return 0;
}

static int msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data)
{
	int rc = mock_count(vm, OP_MSI);

	if (rc)
		return rc;
	if (!(vm->features & HVABS_CAP_MSI))
		return -ENOTSUP;
	mock_record(
	    vm, &(struct hvabs_mock_event){.kind = HVABS_MOCK_EV_MSI, .addr = addr, .value = data});
	return 0;
}

/* The "kernel" side of irqfds: a thread that turns each signal into an interrupt. */
static void *irqfd_thread(void *arg)
{
	struct hvabs_be_vm *vm = arg;
	struct epoll_event ev[8];

	for (;;) {
		int n = epoll_wait(vm->irqfd_epfd, ev, 8, -1);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			uint64_t cnt;
			if (fd == vm->irqfd_wake)
				return NULL;
			if (read(fd, &cnt, sizeof(cnt)) != (ssize_t)sizeof(cnt))
				continue;
			struct hvabs_mock_event me = {.kind = HVABS_MOCK_EV_IRQFD};
			pthread_mutex_lock(&vm->lock);
			for (uint32_t k = 0; k < vm->nirqfds; k++)
				if (vm->irqfds[k].fd == fd) {
					const struct hvabs_irq_route *r = &vm->irqfds[k].route;
					me.addr =
					    r->kind == HVABS_IRQ_ROUTE_MSI ? r->msi_addr : r->gsi;
					me.value = r->kind == HVABS_IRQ_ROUTE_MSI ? r->msi_data : 0;
					me.space = r->kind;
				}
			pthread_mutex_unlock(&vm->lock);
			mock_record(vm, &me);
		}
	}
}

static int irqfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_irq_route *route,
		 uint32_t assign)
{
	int rc = mock_count(vm, OP_IRQFD);

	if (rc)
		return rc;
	if (!(vm->features & HVABS_CAP_IRQFD))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->lock);
	if (!vm->irqfd_thread_up) {
		struct epoll_event ee = {.events = EPOLLIN};
		vm->irqfd_epfd = epoll_create1(EPOLL_CLOEXEC);
		vm->irqfd_wake = eventfd(0, EFD_CLOEXEC);
		ee.data.fd = vm->irqfd_wake;
		if (vm->irqfd_epfd < 0 || vm->irqfd_wake < 0 ||
		    epoll_ctl(vm->irqfd_epfd, EPOLL_CTL_ADD, vm->irqfd_wake, &ee) ||
		    pthread_create(&vm->irqfd_thread, NULL, irqfd_thread, vm)) {
			rc = -EIO;
			goto out;
		}
		vm->irqfd_thread_up = 1;
	}
	if (assign) {
		struct epoll_event ee = {.events = EPOLLIN, .data.fd = fd};
		if (vm->nirqfds == MOCK_MAX_IRQFDS) {
			rc = -ENOSPC;
		} else if (epoll_ctl(vm->irqfd_epfd, EPOLL_CTL_ADD, fd, &ee)) {
			rc = -errno;
		} else {
			vm->irqfds[vm->nirqfds].fd = fd;
			vm->irqfds[vm->nirqfds++].route = *route;
		}
	} else {
		rc = -ENOENT;
		for (uint32_t k = 0; k < vm->nirqfds; k++)
			if (vm->irqfds[k].fd == fd) {
				(void)epoll_ctl(vm->irqfd_epfd, EPOLL_CTL_DEL, fd, NULL);
				vm->irqfds[k] = vm->irqfds[--vm->nirqfds];
				rc = 0;
				break;
			}
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
		     uint32_t assign)
{
	int rc = mock_count(vm, OP_IOEVENTFD);
	uint64_t need =
	    ev->space == HVABS_SPACE_PIO ? HVABS_CAP_IOEVENTFD_PIO : HVABS_CAP_IOEVENTFD_MMIO;

	if (rc)
		return rc;
	if (!(vm->features & need))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->lock);
	if (assign) {
		if (vm->nioevs == MOCK_MAX_IOEVS) {
			rc = -ENOSPC;
		} else {
			vm->ioevs[vm->nioevs].fd = fd;
			vm->ioevs[vm->nioevs++].ev = *ev;
		}
	} else {
		rc = -ENOENT;
		for (uint32_t k = 0; k < vm->nioevs; k++)
			if (vm->ioevs[k].fd == fd) {
				vm->ioevs[k] = vm->ioevs[--vm->nioevs];
				rc = 0;
				break;
			}
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/* A scripted guest write that a registered ioeventfd matches never becomes an exit. */
int mock_ioev_match(struct hvabs_be_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		    uint64_t val)
{
	int hit = -1;

	pthread_mutex_lock(&vm->lock);
	for (uint32_t k = 0; k < vm->nioevs && hit < 0; k++) {
		const struct hvabs_ioeventfd_spec *e = &vm->ioevs[k].ev;
		if (e->space == space && e->addr == addr && (!e->len || e->len == size) &&
		    (!(e->flags & HVABS_IOEVENTFD_F_DATAMATCH) || e->datamatch == val))
			hit = vm->ioevs[k].fd;
	}
	pthread_mutex_unlock(&vm->lock);
	if (hit < 0)
		return 0;
	uint64_t one = 1;
	(void)!write(hit, &one, sizeof(one));
	mock_record(vm, &(struct hvabs_mock_event){.kind = HVABS_MOCK_EV_IOEVENT,
						   .addr = addr,
						   .value = val,
						   .size = size,
						   .space = space});
	return 1;
}

static int set_paused(struct hvabs_be_vm *vm, enum mock_op op, int paused)
{
	int rc = mock_count(vm, op);

	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	vm->paused = paused;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int pause_vm(struct hvabs_be_vm *vm)
{
	return set_paused(vm, OP_PAUSE, 1);
}

static int resume_vm(struct hvabs_be_vm *vm)
{
	return set_paused(vm, OP_RESUME, 0);
}

/* VM state blob: a version word, the clock and the interrupt line levels. */
struct mock_vm_state {
	uint32_t version;
	uint32_t nr_irqs;
	uint64_t clock_ns;
	int32_t levels[MOCK_NR_IRQS];
};

static int get_state(struct hvabs_be_vm *vm, void *buf, size_t *len)
{
	struct mock_vm_state st = {.version = 1, .nr_irqs = MOCK_NR_IRQS};

	if (*len < sizeof(st) || !buf) {
		*len = sizeof(st);
		return -ENOSPC;
	}
	pthread_mutex_lock(&vm->lock);
	st.clock_ns = vm->clock_ns;
	for (int i = 0; i < MOCK_NR_IRQS; i++)
		st.levels[i] = vm->levels[i];
	pthread_mutex_unlock(&vm->lock);
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

static int set_state(struct hvabs_be_vm *vm, const void *buf, size_t len)
{
	struct mock_vm_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (st.version != 1 || st.nr_irqs != MOCK_NR_IRQS)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	vm->clock_ns = st.clock_ns;
	for (int i = 0; i < MOCK_NR_IRQS; i++)
		vm->levels[i] = st.levels[i];
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int get_supported_cpuid(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *e, uint32_t *count)
{
	(void)vm;
	if (*count < 2)
		return -E2BIG;
	/* Leaf 0 with the mock's vendor signature, and the hypervisor leaf. */
	e[0] = (struct hvabs_cpuid_entry){
	    .function = 0, .eax = 0xd, .ebx = 0x6b636f4d, .edx = 0x61766268, .ecx = 0x20202073};
	e[1] = (struct hvabs_cpuid_entry){.function = 0x40000000,
					  .eax = 0x40000000,
					  .ebx = 0x6b636f4d,
					  .ecx = 0x61766268,
					  .edx = 0x73};
	*count = 2;
	return 0;
}

static int get_clock(struct hvabs_be_vm *vm, uint64_t *ns)
{
	pthread_mutex_lock(&vm->lock);
	*ns = vm->clock_ns;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* ---- the test extension (mock.h) ---- */

static int ext_next_event(void *ctx, struct hvabs_mock_event *ev, int timeout_ms)
{
	struct hvabs_be_vm *vm = ctx;
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->ev_head == vm->ev_tail && rc == 0 && timeout_ms > 0)
		rc = pthread_cond_timedwait(&vm->cond, &vm->lock, &dl);
	if (vm->ev_head == vm->ev_tail) {
		pthread_mutex_unlock(&vm->lock);
		return -EAGAIN;
	}
	*ev = vm->events[vm->ev_head++];
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void ext_clock_set(void *ctx, uint64_t ns)
{
	struct hvabs_be_vm *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	vm->clock_ns = ns;
	pthread_mutex_unlock(&vm->lock);
}

static void ext_clock_advance(void *ctx, uint64_t ns)
{
	struct hvabs_be_vm *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	vm->clock_ns += ns;
	pthread_mutex_unlock(&vm->lock);
}

static int ext_fail(void *ctx, const char *op, uint32_t nth, int err)
{
	struct hvabs_be_vm *vm = ctx;
	int i = mock_op_by_name(op);

	if (i < 0 || !nth || err >= 0)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	vm->fail_countdown[i] = nth;
	vm->fail_err[i] = err;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int ext_line_level(void *ctx, uint32_t gsi)
{
	struct hvabs_be_vm *vm = ctx;

	if (gsi >= MOCK_NR_IRQS)
		return -1;
	pthread_mutex_lock(&vm->lock);
	int l = vm->levels[gsi];
	pthread_mutex_unlock(&vm->lock);
	return l;
}

/* Stop reasons as calls() names them after "vm_stop:". */
static const char *const stop_names[HVABS_STOP_HOST + 1] = {"none", "poweroff", "reset", "crash",
							    "host"};

static int vm_stop(struct hvabs_be_vm *vm, uint32_t reason)
{
	int rc = mock_count(vm, OP_VM_STOP);

	if (rc)
		return rc;
	if (reason == HVABS_STOP_NONE || reason > HVABS_STOP_HOST)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	vm->stop_calls[reason]++;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static uint64_t ext_calls(void *ctx, const char *op)
{
	struct hvabs_be_vm *vm = ctx;
	int i = mock_op_by_name(op);

	if (op && !strncmp(op, "vm_stop:", 8)) {
		for (int r = 0; r <= HVABS_STOP_HOST; r++)
			if (!strcmp(op + 8, stop_names[r])) {
				pthread_mutex_lock(&vm->lock);
				uint64_t n = vm->stop_calls[r];
				pthread_mutex_unlock(&vm->lock);
				return n;
			}
	}
	if (i < 0)
		return 0;
	pthread_mutex_lock(&vm->lock);
	uint64_t n = vm->calls[i];
	pthread_mutex_unlock(&vm->lock);
	return n;
}

static const struct hvabs_mock_ops mock_ext = {
    .hdr = {HVABS_ABI_CURRENT, sizeof(struct hvabs_mock_ops)},
    .push = mock_push,
    .pending = mock_pending,
    .next_event = ext_next_event,
    .clock_set = ext_clock_set,
    .clock_advance = ext_clock_advance,
    .inject_fault = ext_fail,
    .line_level = ext_line_level,
    .calls = ext_calls,
};

static int vm_get_ext(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx)
{
	if (strcmp(name, HVABS_MOCK_EXT_NAME))
		return -ENOTSUP;
	*table = &mock_ext;
	*ctx = vm;
	return 0;
}

static const struct hvabs_backend_ops mock_ops = {
    .hdr = {HVABS_ABI_CURRENT, sizeof(struct hvabs_backend_ops)},
    .name = "mock",
    .description = "scripted mock hypervisor for tests",
    .probe = probe,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_get_caps = vm_get_caps,
    .mem_alloc = mem_alloc,
    .irq_line = irq_line,
    .vcpu_create = mock_vcpu_create,
    .vcpu_destroy = mock_vcpu_destroy,
    .vcpu_run = mock_vcpu_run,
    .vcpu_kick = mock_vcpu_kick,
    .get_regs = mock_get_regs,
    .set_regs = mock_set_regs,
    .get_sregs = mock_get_sregs,
    .set_sregs = mock_set_sregs,
    .mem_map = mem_map,
    .mem_unmap = mem_unmap,
    .msi = msi,
    .irqfd = irqfd,
    .ioeventfd = ioeventfd,
    .pause = pause_vm,
    .resume = resume_vm,
    .get_state = get_state,
    .set_state = set_state,
    .get_fpu = mock_get_fpu,
    .set_fpu = mock_set_fpu,
    .get_msrs = mock_get_msrs,
    .set_msrs = mock_set_msrs,
    .get_supported_cpuid = get_supported_cpuid,
    .set_cpuid = mock_set_cpuid,
    .get_lapic = mock_get_lapic,
    .set_lapic = mock_set_lapic,
    .vcpu_get_state = mock_vcpu_get_state,
    .vcpu_set_state = mock_vcpu_set_state,
    .get_clock = get_clock,
    .vm_get_ext = vm_get_ext,
    .vm_stop = vm_stop,
};

/*
 * HVABS_MOCK_OPS_SIZE=N hands out a copy of the table that claims to be only
 * N bytes long, as a plugin built against an older ABI minor would. The core
 * must then treat every op past N as absent.
 */
static struct hvabs_backend_ops short_ops;

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	const char *s = getenv("HVABS_MOCK_OPS_SIZE");

	if (!host || HVABS_ABI_VERSION_MAJOR(host->hdr.abi_version) != HVABS_ABI_MAJOR)
		return NULL;
	if (s && *s) {
		short_ops = mock_ops;
		short_ops.hdr.struct_size = (uint32_t)strtoul(s, NULL, 0);
		return &short_ops;
	}
	return &mock_ops;
}
