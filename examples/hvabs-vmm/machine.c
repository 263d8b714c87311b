/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's machine: guest RAM below 3 GiB and above 4 GiB, the legacy PC
 * devices (COM1, i8042, CMOS RTC, ACPI PM registers), the Linux loader, one
 * thread per vCPU running hvabs_vcpu_run_loop(), and one event-loop thread
 * for console I/O, signals and timers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <hvabs/devices/acpi_pm.h>
#include <hvabs/devices/i8042.h>
#include <hvabs/devices/ioapic.h>
#include <hvabs/devices/rtc.h>
#include <hvabs/devices/uart8250.h>
#include <hvabs/devices/virtio_blk.h>
#include <hvabs/devices/virtio_console.h>
#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/devices/virtio_net.h>
#include <hvabs/devices/virtio_rng.h>
#include <hvabs/devices/virtio_vsock.h>
#include <hvabs/loader.h>

#include "machine.h"

#define LOW_RAM_MAX   (3ull << 30)
#define HIGH_RAM_BASE (4ull << 30)
#define CTRL_A	      0x01
#define PANIC_TEXT    "Kernel panic - not syncing"
#define MAX_VIRTIO    16

/*
 * Interrupt lines for virtio-mmio devices, in order: the I/O APIC pins that
 * no legacy device (0-2 timer, 1/12 i8042, 4 COM1, 8 RTC, 9 SCI) uses.
 */
static const uint32_t virtio_gsis[MAX_VIRTIO] = {5,  6,	 7,  10, 11, 13, 14, 15,
						 16, 17, 18, 19, 20, 21, 22, 23};

struct vcpu_ctx {
	struct machine *m;
	struct hvabs_vcpu *cpu;
	pthread_t thread;
	int started;
};

struct mapped_file {
	void *p;
	size_t size;
};

struct machine {
	const struct vmm_config *cfg;
	struct hvabs_vm *vm;
	struct hvabs_event_loop *loop;
	pthread_t loop_thread;
	int loop_started;
	struct hvabs_uart *uart;
	struct hvabs_i8042 *kbc;
	struct hvabs_rtc *rtc;
	struct hvabs_acpi_pm *pm;
	struct hvabs_ioapic *ioapic;
	uint32_t apic_id_stride;
	struct vcpu_ctx cpus[VMM_MAX_CPUS];
	uint32_t ncpus;
	struct mapped_file kernel, initrd;
	atomic_int outcome;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t halted;
	int sigfd;
	int out_fd;
	int close_out;
	struct termios saved_tio;
	int tio_saved;
	int escape;
	uint8_t pending[256];
	size_t npending;
	struct hvabs_event *retry_timer;
	struct hvabs_event *stdin_ev;
	struct hvabs_virtio_blk *disks[VMM_MAX_DISKS];
	struct hvabs_virtio_rng *rng;
	struct hvabs_virtio_net *nets[VMM_MAX_NETS];
	struct hvabs_virtio_console *vcon;
	struct hvabs_virtio_vsock *vsock;
	struct hvabs_acpi_device acpi_devs[MAX_VIRTIO];
	uint32_t nvirtio;
	char virtio_cmdline[MAX_VIRTIO * 48];
	FILE *trace;
	pthread_mutex_t trace_lock;
};

const char *vmm_outcome_name(enum vmm_outcome o)
{
	static const char *const names[] = {
	    "running",	   "power-off",	       "reboot",
	    "crash",	   "all vCPUs halted", "hypervisor or VMM error",
	    "host signal", "timeout",
	};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

static void set_outcome(struct machine *m, enum vmm_outcome o)
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

static int map_file(const char *what, const char *path, struct mapped_file *f, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s %s: not a regular, non-empty file", what, path);
		close(fd);
		return -1;
	}
	f->size = (size_t)st.st_size;
	f->p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->p == MAP_FAILED) {
		f->p = NULL;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Guest RAM: [0, min(size, 3 GiB)) and the rest from 4 GiB, leaving the MMIO hole. */
static int add_ram(struct machine *m, char *err, size_t errlen)
{
	uint64_t size = m->cfg->mem_size;
	uint64_t low = size < LOW_RAM_MAX ? size : LOW_RAM_MAX;
	int rc = hvabs_vm_add_ram(m->vm, 0, low, 0, NULL);

	if (!rc && size > low)
		rc = hvabs_vm_add_ram(m->vm, HIGH_RAM_BASE, size - low, 0, NULL);
	if (rc)
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(size >> 20), strerror(-rc));
	return rc;
}

/* CPUID per vCPU: the hypervisor's supported leaves with this vCPU's APIC id. */
static int setup_cpuid(struct machine *m, uint32_t index)
{
	static struct hvabs_cpuid_entry ids[512];
	uint32_t n = 512;

	if (!hvabs_vm_has_cap(m->vm, HVABS_CAP_CPUID))
		return 0;
	int rc = hvabs_vm_get_supported_cpuid(m->vm, ids, &n);
	if (rc)
		return rc;
	uint32_t apic_id = index * (m->apic_id_stride ? m->apic_id_stride : 1);
	for (uint32_t i = 0; i < n; i++) {
		struct hvabs_cpuid_entry *e = &ids[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffffu) | (apic_id << 24);
			e->ecx |= 1u << 31; /* running under a hypervisor */
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = apic_id; /* x2APIC id */
		}
	}
	return hvabs_vcpu_set_cpuid(m->cpus[index].cpu, ids, n);
}

/*
 * The local APIC in "virtual wire" mode as firmware leaves it (LINT0 ExtINT,
 * LINT1 NMI), which Linux expects when it finds a PIC behind the APIC.
 */
static int setup_lapic(struct machine *m, uint32_t index)
{
	struct hvabs_lapic *l;
	int rc;

	if (!hvabs_vm_has_cap(m->vm, HVABS_CAP_LAPIC))
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	rc = hvabs_vcpu_get_lapic(m->cpus[index].cpu, l);
	if (!rc) {
		uint32_t lint0 = 0x700, lint1 = 0x400;
		memcpy(&l->regs[0x350], &lint0, 4);
		memcpy(&l->regs[0x360], &lint1, 4);
		rc = hvabs_vcpu_set_lapic(m->cpus[index].cpu, l);
	}
	free(l);
	return rc;
}

/* The next virtio-mmio slot: a 4 KiB window from 0xd0000000 and a free line. */
static int next_virtio_slot(struct machine *m, const char *name, struct hvabs_virtio_mmio_params *p,
			    char *err, size_t errlen)
{
	if (m->nvirtio == MAX_VIRTIO) {
		snprintf(err, errlen, "%s: too many virtio devices (at most %d)", name, MAX_VIRTIO);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	p->base = HVABS_VIRTIO_MMIO_BASE + (uint64_t)m->nvirtio * HVABS_VIRTIO_MMIO_SIZE;
	p->gsi = virtio_gsis[m->nvirtio];
	p->loop = m->loop;
	p->name = name;
	return 0;
}

/* Each device is announced twice: in the DSDT (stock kernels) and on the command line. */
static void announce_virtio(struct machine *m, struct hvabs_virtio_mmio *t)
{
	size_t used = strlen(m->virtio_cmdline);

	hvabs_virtio_mmio_describe(t, &m->acpi_devs[m->nvirtio]);
	m->virtio_cmdline[used] = ' ';
	if (hvabs_virtio_mmio_cmdline(t, m->virtio_cmdline + used + 1,
				      sizeof(m->virtio_cmdline) - used - 1) < 0)
		m->virtio_cmdline[used] = '\0';
	m->nvirtio++;
}

static int setup_virtio(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	char name[16];

	for (unsigned i = 0; i < c->ndisks; i++) {
		struct hvabs_virtio_blk_config bc = {0};
		snprintf(name, sizeof(name), "blk%u", i);
		if (next_virtio_slot(m, name, &bc.mmio, err, errlen))
			return -1;
		bc.path = c->disks[i].path;
		bc.serial = c->disks[i].serial;
		bc.flags = (c->disks[i].readonly ? HVABS_VIRTIO_BLK_READONLY : 0) |
			   (c->disks[i].direct ? HVABS_VIRTIO_BLK_DIRECT : 0);
		int rc = hvabs_virtio_blk_create(m->vm, &bc, &m->disks[i]);
		if (rc) {
			snprintf(err, errlen, "--disk %s: %s", c->disks[i].path, strerror(-rc));
			return -1;
		}
		announce_virtio(m, hvabs_virtio_blk_transport(m->disks[i]));
	}
	for (unsigned i = 0; i < c->nnets; i++) {
		struct hvabs_virtio_net_config nc = {0};
		snprintf(name, sizeof(name), "net%u", i);
		if (next_virtio_slot(m, name, &nc.mmio, err, errlen))
			return -1;
		nc.tap = c->nets[i].tap;
		nc.mac = c->nets[i].has_mac ? c->nets[i].mac : NULL;
		int rc = hvabs_virtio_net_create(m->vm, &nc, &m->nets[i]);
		if (rc) {
			snprintf(err, errlen, "--net tap=%s: %s", c->nets[i].tap, strerror(-rc));
			return -1;
		}
		announce_virtio(m, hvabs_virtio_net_transport(m->nets[i]));
	}
	if (c->console == VMM_CONSOLE_PTY || c->console == VMM_CONSOLE_SOCKET) {
		struct hvabs_virtio_console_config cc = {0};
		if (next_virtio_slot(m, "console", &cc.mmio, err, errlen))
			return -1;
		cc.backend = c->console == VMM_CONSOLE_PTY ? HVABS_VIRTIO_CONSOLE_PTY
							   : HVABS_VIRTIO_CONSOLE_SOCKET;
		cc.path = c->console_path;
		int rc = hvabs_virtio_console_create(m->vm, &cc, &m->vcon);
		if (rc) {
			snprintf(err, errlen, "--console: virtio-console: %s", strerror(-rc));
			return -1;
		}
		if (c->console == VMM_CONSOLE_PTY)
			fprintf(stderr, "hvabs-vmm: virtio-console (hvc0) on %s\n",
				hvabs_virtio_console_pty_path(m->vcon));
		announce_virtio(m, hvabs_virtio_console_transport(m->vcon));
	}
	if (c->rng) {
		struct hvabs_virtio_rng_config rc_cfg = {0};
		if (next_virtio_slot(m, "rng", &rc_cfg.mmio, err, errlen))
			return -1;
		int rc = hvabs_virtio_rng_create(m->vm, &rc_cfg, &m->rng);
		if (rc) {
			snprintf(err, errlen, "--rng: %s", strerror(-rc));
			return -1;
		}
		announce_virtio(m, hvabs_virtio_rng_transport(m->rng));
	}
	if (c->vsock_cid) {
		struct hvabs_virtio_vsock_config vc = {0};
		if (next_virtio_slot(m, "vsock", &vc.mmio, err, errlen))
			return -1;
		vc.guest_cid = c->vsock_cid;
		vc.path = c->vsock_socket;
		int rc = hvabs_virtio_vsock_create(m->vm, &vc, &m->vsock);
		if (rc) {
			snprintf(err, errlen, "--vsock socket=%s: %s", c->vsock_socket,
				 strerror(-rc));
			return -1;
		}
		announce_virtio(m, hvabs_virtio_vsock_transport(m->vsock));
	}
	return 0;
}

static int load_kernel(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	struct hvabs_linux_config lc = {0};
	struct hvabs_linux_boot boot;
	char lerr[512];

	if (map_file("--kernel", c->kernel, &m->kernel, err, errlen))
		return -1;
	if (c->initrd && map_file("--initrd", c->initrd, &m->initrd, err, errlen))
		return -1;
	lc.kernel = m->kernel.p;
	lc.kernel_size = m->kernel.size;
	lc.initrd = m->initrd.p;
	lc.initrd_size = m->initrd.size;
	char *cmdline = NULL;
	if (asprintf(&cmdline, "%s%s", c->cmdline ? c->cmdline : "console=ttyS0 panic=-1",
		     m->virtio_cmdline) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lc.cmdline = cmdline;
	lc.platform.nr_cpus = c->cpus;
	lc.platform.flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042;
	lc.platform.devices = m->acpi_devs;
	lc.platform.nr_devices = m->nvirtio;
	lc.platform.apic_id_stride = m->apic_id_stride;
	int rc = hvabs_linux_load(hvabs_vm_mem(m->vm), &lc, &boot, lerr, sizeof(lerr));
	free(cmdline);
	if (rc) {
		snprintf(err, errlen, "--kernel %s: %s", c->kernel, lerr);
		return -1;
	}
	/* The guest has its copy now: do not keep ~70 MiB of files mapped for the whole run. */
	munmap(m->kernel.p, m->kernel.size);
	m->kernel.p = NULL;
	if (m->initrd.p) {
		munmap(m->initrd.p, m->initrd.size);
		m->initrd.p = NULL;
	}
	rc = hvabs_linux_setup_vcpu(m->cpus[0].cpu, &boot);
	if (rc) {
		snprintf(err, errlen, "cannot set up the boot vCPU: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* ---- console ---- */

static void console_restore(struct machine *m)
{
	if (m->tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &m->saved_tio);
		m->tio_saved = 0;
	}
}

static void flush_pending(struct machine *m)
{
	while (m->npending) {
		int n = hvabs_uart_inject(m->uart, m->pending, m->npending, 0);
		if (n <= 0)
			break;
		memmove(m->pending, m->pending + n, m->npending - (size_t)n);
		m->npending -= (size_t)n;
	}
}

static void retry_input(void *opaque, uint32_t events)
{
	(void)events;
	flush_pending(opaque);
}

/* Keyboard input: Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A. */
static void on_stdin(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	uint8_t buf[64];

	(void)events;
	if (m->npending) {
		flush_pending(m);
		return; /* the guest has not drained what we have: read no more yet */
	}
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		/* EOF on a pipe: no more input, but the guest goes on. */
		hvabs_event_remove(m->stdin_ev);
		m->stdin_ev = NULL;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t ch = buf[i];
		if (m->tio_saved && m->escape) {
			m->escape = 0;
			if (ch == 'x' || ch == 'X') {
				fprintf(stderr, "\r\nhvabs-vmm: Ctrl-A x: stopping the guest\r\n");
				set_outcome(m, VMM_SIGNAL);
				return;
			}
			if (ch != CTRL_A)
				continue;
		} else if (m->tio_saved && ch == CTRL_A) {
			m->escape = 1;
			continue;
		}
		if (m->npending < sizeof(m->pending))
			m->pending[m->npending++] = ch;
	}
	flush_pending(m);
}

static int setup_console(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	struct hvabs_uart_config uc = HVABS_UART_CONFIG_INIT;
	int want_input = 0;

	m->out_fd = -1;
	switch (c->console) {
	case VMM_CONSOLE_STDIO:
		m->out_fd = STDOUT_FILENO;
		want_input = 1;
		break;
	case VMM_CONSOLE_FILE:
		m->out_fd = open(c->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (m->out_fd < 0) {
			snprintf(err, errlen, "--console file=%s: %s", c->console_path,
				 strerror(errno));
			return -1;
		}
		m->close_out = 1;
		break;
	case VMM_CONSOLE_NONE:
		break;
	default:
		/* pty, socket: the interactive console is virtio-console (hvc0); the
		 * boot log on COM1 still goes to stdout. */
		m->out_fd = STDOUT_FILENO;
		break;
	}
	uc.out_fd = m->out_fd;
	uc.loop = m->loop;
	if (hvabs_uart_create(m->vm, &uc, &m->uart)) {
		snprintf(err, errlen, "cannot create the UART");
		return -1;
	}
	if (!want_input)
		return 0;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &m->saved_tio) == 0) {
		struct termios raw = m->saved_tio;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR; /* keep our own messages readable */
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			m->tio_saved = 1;
		if (!c->quiet)
			fprintf(stderr, "hvabs-vmm: console on this terminal; Ctrl-A x quits\r\n");
	}
	/* stdin may be /dev/null or a file, which epoll refuses: then no input. */
	if (hvabs_event_add(m->loop, STDIN_FILENO, HVABS_EVENT_IN, on_stdin, m, &m->stdin_ev) ==
		0 &&
	    hvabs_event_timer_add(m->loop, 20000000, 20000000, retry_input, m, &m->retry_timer)) {
		snprintf(err, errlen, "cannot set up console input");
		return -1;
	}
	return 0;
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
	set_outcome(m, VMM_SIGNAL);
}

static int tail_has_panic(struct machine *m)
{
	static char buf[HVABS_UART_TAIL_LINES * HVABS_UART_TAIL_WIDTH];

	return m->uart && hvabs_uart_tail(m->uart, buf, sizeof(buf), NULL) == 0 &&
	       strstr(buf, PANIC_TEXT);
}

static void on_watch(void *opaque, uint32_t events)
{
	struct machine *m = opaque;

	(void)events;
	if (tail_has_panic(m))
		set_outcome(m, VMM_CRASH);
}

static void on_timeout(void *opaque, uint32_t events)
{
	(void)events;
	set_outcome(opaque, VMM_TIMEOUT);
}

static uint64_t timeout_left_ns(const struct vmm_config *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return c->deadline_ns > now ? c->deadline_ns - now : 1;
}

static int setup_events(struct machine *m, char *err, size_t errlen)
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

/* ---- exit trace, in the mock backend's script format ---- */

static void on_trace(void *opaque, const struct hvabs_vcpu *cpu, const struct hvabs_exit *e)
{
	struct machine *m = opaque;
	uint32_t idx = hvabs_vcpu_index(cpu);

	pthread_mutex_lock(&m->trace_lock);
	if (e->kind == HVABS_EXIT_IO || e->kind == HVABS_EXIT_MMIO) {
		const struct hvabs_exit_access *a = &e->u.io;
		for (uint32_t i = 0; i < (a->count ? a->count : 1); i++) {
			uint64_t v = 0, addr = a->addr;
			for (uint32_t b = 0; b < a->size && b < 8; b++)
				v |= (uint64_t)a->data[(size_t)i * a->size + b] << (8 * b);
			if (e->kind == HVABS_EXIT_MMIO)
				addr = a->df ? addr - (uint64_t)i * a->size
					     : addr + (uint64_t)i * a->size;
			fprintf(m->trace, "%u %s %c %llx %u", idx,
				e->kind == HVABS_EXIT_IO ? "io" : "mmio", a->is_write ? 'w' : 'r',
				(unsigned long long)addr, a->size);
			if (a->is_write)
				fprintf(m->trace, " %llx", (unsigned long long)v);
			else
				fprintf(m->trace, "   # read %llx", (unsigned long long)v);
			fputc('\n', m->trace);
		}
	} else if (e->kind == HVABS_EXIT_SYSTEM_EVENT) {
		fprintf(m->trace, "%u %s\n", idx,
			e->u.system_event.type == HVABS_SYSTEM_EVENT_POWEROFF ? "poweroff"
									      : "crash");
	} else if (e->kind == HVABS_EXIT_RESET || e->kind == HVABS_EXIT_SHUTDOWN ||
		   e->kind == HVABS_EXIT_HLT) {
		fprintf(m->trace, "%u %s\n", idx,
			e->kind == HVABS_EXIT_RESET ? "reset"
			: e->kind == HVABS_EXIT_HLT ? "hlt"
						    : "shutdown");
	} else {
		fprintf(m->trace, "# %u %s\n", idx, hvabs_exit_kind_name(e->kind));
	}
	pthread_mutex_unlock(&m->trace_lock);
}

/* ---- vCPU threads ---- */

static void *vcpu_main(void *arg)
{
	struct vcpu_ctx *v = arg;
	struct machine *m = v->m;
	struct hvabs_exit e;

	memset(&e, 0, sizeof(e));
	while (atomic_load(&m->outcome) == VMM_RUNNING) {
		int rc = hvabs_vcpu_run_loop(v->cpu, &e);
		if (rc) {
			fprintf(stderr, "\rhvabs-vmm: vcpu%u: run failed: %s\n",
				hvabs_vcpu_index(v->cpu), strerror(-rc));
			set_outcome(m, VMM_ERROR);
			break;
		}
		if (atomic_load(&m->outcome) != VMM_RUNNING)
			break;
		switch (e.kind) {
		case HVABS_EXIT_SYSTEM_EVENT:
			set_outcome(m, e.u.system_event.type == HVABS_SYSTEM_EVENT_POWEROFF
					   ? VMM_POWEROFF
					   : VMM_CRASH);
			break;
		case HVABS_EXIT_RESET:
			set_outcome(m, VMM_REBOOT);
			break;
		case HVABS_EXIT_SHUTDOWN:
			fprintf(stderr, "\rhvabs-vmm: vcpu%u: triple fault\n",
				hvabs_vcpu_index(v->cpu));
			set_outcome(m, VMM_CRASH);
			break;
		case HVABS_EXIT_HYPERCALL:
			e.u.hypercall.ret = (uint64_t)-ENOSYS; /* completed by the next run */
			break;
		case HVABS_EXIT_CANCELED:
			break;
		case HVABS_EXIT_HLT:
			/* No interrupt controller will wake this vCPU: it is done. */
			pthread_mutex_lock(&m->lock);
			if (++m->halted == m->ncpus) {
				pthread_mutex_unlock(&m->lock);
				set_outcome(m, VMM_HALTED);
				break;
			}
			while (atomic_load(&m->outcome) == VMM_RUNNING)
				pthread_cond_wait(&m->cond, &m->lock);
			pthread_mutex_unlock(&m->lock);
			break;
		default:
			fprintf(stderr, "\rhvabs-vmm: vcpu%u: %s exit (raw reason 0x%llx)\n",
				hvabs_vcpu_index(v->cpu), hvabs_exit_kind_name(e.kind),
				(unsigned long long)e.raw_reason);
			set_outcome(m, VMM_ERROR);
			break;
		}
	}
	return NULL;
}

static void *loop_main(void *arg)
{
	struct machine *m = arg;

	if (hvabs_event_loop_run(m->loop))
		set_outcome(m, VMM_ERROR);
	return NULL;
}

/*
 * Xen attach mode: the backend attaches to domain N when its options say
 * "domid=N"; the user's own --backend-options follow.
 */
static int attach_options(const struct vmm_config *cfg, struct hvabs_backend *be, char *opts,
			  size_t len, char *err, size_t errlen)
{
	if (cfg->xen_domid < 0)
		return 0;
	if (strcmp(hvabs_backend_name(be), "xen")) {
		snprintf(err, errlen,
			 "--xen-domid needs the Xen backend (--hypervisor xen), not '%s'",
			 hvabs_backend_name(be));
		return -1;
	}
	int n = snprintf(opts, len, "domid=%d%s%s", cfg->xen_domid, cfg->backend_options ? "," : "",
			 cfg->backend_options ? cfg->backend_options : "");
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "--backend-options: too long");
		return -1;
	}
	return 0;
}

int machine_create(const struct vmm_config *cfg, struct hvabs_backend *be, struct machine **out,
		   char *err, size_t errlen)
{
	struct machine *m = calloc(1, sizeof(*m));
	char opts[1024];
	struct hvabs_vm_config vc = {.max_vcpus = cfg->cpus,
				     .flags = HVABS_VM_IRQCHIP,
				     .backend_options =
					 cfg->xen_domid >= 0 ? opts : cfg->backend_options};
	int rc;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->cfg = cfg;
	m->ncpus = cfg->cpus;
	m->sigfd = -1;
	m->out_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	pthread_mutex_init(&m->trace_lock, NULL);
	*out = m;
	if (cfg->trace_exits) {
		m->trace = fopen(cfg->trace_exits, "w");
		if (!m->trace) {
			snprintf(err, errlen, "--trace-exits %s: %s", cfg->trace_exits,
				 strerror(errno));
			return -1;
		}
		fprintf(m->trace, "# hvabs-vmm --trace-exits: replay with --hypervisor mock "
				  "--backend-options script=FILE\n");
	}
	if (attach_options(cfg, be, opts, sizeof(opts), err, errlen))
		return -1;
	rc = hvabs_vm_create(be, &vc, &m->vm);
	if (rc) {
		snprintf(err, errlen, "%s: cannot create a VM: %s", hvabs_backend_name(be),
			 strerror(-rc));
		return -1;
	}
	if (add_ram(m, err, errlen))
		return -1;
	/*
	 * A hypervisor without its own I/O APIC (MSHV) hands its interrupt lines
	 * to a userspace one through the line-sink extension.
	 */
	struct hvabs_caps caps;
	const void *sink;
	void *sink_ctx;
	if (hvabs_vm_get_caps(m->vm, &caps)) {
		snprintf(err, errlen, "cannot read the backend's capabilities");
		return -1;
	}
	m->apic_id_stride = caps.apic_id_stride;
	if (!(caps.irqchip & HVABS_IRQCHIP_IOAPIC) &&
	    !hvabs_vm_get_ext(m->vm, HVABS_IRQ_SINK_EXT_NAME, &sink, &sink_ctx)) {
		struct hvabs_ioapic_config ic = {.id = m->ncpus};
		if (hvabs_ioapic_create(m->vm, &ic, &m->ioapic)) {
			snprintf(err, errlen, "cannot create the I/O APIC");
			return -1;
		}
	}
	if (hvabs_event_loop_create(&m->loop)) {
		snprintf(err, errlen, "cannot create the event loop");
		return -1;
	}
	if (setup_events(m, err, errlen) || setup_console(m, err, errlen))
		return -1;
	struct hvabs_rtc_config rc_cfg = {0};
	rc_cfg.mem_below_4g = cfg->mem_size < LOW_RAM_MAX ? cfg->mem_size : LOW_RAM_MAX;
	rc_cfg.mem_above_4g = cfg->mem_size - rc_cfg.mem_below_4g;
	if (hvabs_i8042_create(m->vm, NULL, &m->kbc) || hvabs_rtc_create(m->vm, &rc_cfg, &m->rtc) ||
	    hvabs_acpi_pm_create(m->vm, NULL, &m->pm)) {
		snprintf(err, errlen, "cannot create the legacy devices");
		return -1;
	}
	for (uint32_t i = 0; i < m->ncpus; i++) {
		m->cpus[i].m = m;
		rc = hvabs_vcpu_create(m->vm, i, &m->cpus[i].cpu);
		if (!rc)
			rc = setup_cpuid(m, i);
		if (!rc)
			rc = setup_lapic(m, i);
		if (!rc && m->trace)
			hvabs_vcpu_set_trace(m->cpus[i].cpu, on_trace, m);
		if (rc) {
			snprintf(err, errlen, "vcpu%u: %s", i, strerror(-rc));
			return -1;
		}
	}
	if (setup_virtio(m, err, errlen))
		return -1;
	return cfg->xen_domid >= 0 ? 0 : load_kernel(m, err, errlen);
}

enum vmm_outcome machine_run(struct machine *m)
{
	if (pthread_create(&m->loop_thread, NULL, loop_main, m) == 0)
		m->loop_started = 1;
	else
		set_outcome(m, VMM_ERROR);
	for (uint32_t i = 0; i < m->ncpus && m->loop_started; i++) {
		if (pthread_create(&m->cpus[i].thread, NULL, vcpu_main, &m->cpus[i])) {
			set_outcome(m, VMM_ERROR);
			break;
		}
		m->cpus[i].started = 1;
	}
	for (uint32_t i = 0; i < m->ncpus; i++)
		if (m->cpus[i].started)
			pthread_join(m->cpus[i].thread, NULL);
	if (m->loop_started) {
		hvabs_event_loop_stop(m->loop);
		pthread_join(m->loop_thread, NULL);
		m->loop_started = 0;
	}
	console_restore(m);
	enum vmm_outcome o = atomic_load(&m->outcome);
	/* panic=-1 reboots at once: a reboot right after a panic message is a crash. */
	if (o == VMM_REBOOT && tail_has_panic(m))
		o = VMM_CRASH;
	return o;
}

void machine_report(struct machine *m)
{
	static char tail[HVABS_UART_TAIL_LINES * HVABS_UART_TAIL_WIDTH];

	if (m->uart && hvabs_uart_tail(m->uart, tail, sizeof(tail), NULL) == 0 && tail[0]) {
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

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	console_restore(m);
	/* Orderly shutdown: the vCPUs have stopped; make written data durable, then tear down. */
	for (unsigned i = 0; i < VMM_MAX_DISKS; i++) {
		if (m->disks[i] && hvabs_virtio_blk_flush(m->disks[i]))
			fprintf(stderr, "hvabs-vmm: blk%u: flush failed\n", i);
		hvabs_virtio_blk_destroy(m->disks[i]);
	}
	hvabs_virtio_rng_destroy(m->rng);
	for (unsigned i = 0; i < VMM_MAX_NETS; i++)
		hvabs_virtio_net_destroy(m->nets[i]);
	hvabs_virtio_console_destroy(m->vcon);
	hvabs_virtio_vsock_destroy(m->vsock);
	hvabs_event_remove(m->retry_timer);
	hvabs_event_remove(m->stdin_ev);
	hvabs_uart_destroy(m->uart);
	hvabs_i8042_destroy(m->kbc);
	hvabs_rtc_destroy(m->rtc);
	hvabs_acpi_pm_destroy(m->pm);
	hvabs_ioapic_destroy(m->ioapic);
	hvabs_vm_destroy(m->vm);
	hvabs_event_loop_destroy(m->loop);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->close_out)
		close(m->out_fd);
	if (m->kernel.p)
		munmap(m->kernel.p, m->kernel.size);
	if (m->initrd.p)
		munmap(m->initrd.p, m->initrd.size);
	if (m->trace)
		fclose(m->trace);
	pthread_mutex_destroy(&m->trace_lock);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
