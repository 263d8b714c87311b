/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Xen backend through the public API, over the fake Xen
 * (tests/fixtures/fake_xen.h): what a VMM sees, and what the fake says the
 * backend asked of Xen. Direct mode (we create the domain) and attach mode
 * (a domain made by the toolstack), string I/O in both directions, Xen's null
 * handler for unclaimed ranges, interrupts, the vCPU state a boot loader
 * sets, shutdown reasons, and teardown with nothing left behind on every
 * error path. Each test ends by asserting the fake saw no protocol violation.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <hvabs/hvabs.h>
#include <hvabs/loader.h>
#include <hvabs/xen.h>
#include <xenctrl.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/params.h>
#include <xen/sched.h>

#include "fake_xen.h"

#define RAM_SIZE  0x400000ull /* 4 MiB at 0 */
#define PORT	  0x3e0
#define MMIO	  0xd0000000ull
#define MMIO_LEN  0x1000ull
#define BUF_GPA	  0x8000ull
#define POLL_OPTS "poll_ms=5"

static const struct fake_xen_ctl *ctl;

/* A device that records writes and answers reads with base + offset. */
struct dev {
	pthread_mutex_t lock;
	uint64_t offs[256], vals[256];
	unsigned n;
	uint64_t base;
	unsigned reads;
};

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct dev *d = o;

	(void)size;
	pthread_mutex_lock(&d->lock);
	if (d->n < 256) {
		d->offs[d->n] = off;
		d->vals[d->n] = val;
	}
	d->n++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int dev_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	struct dev *d = o;

	(void)size;
	pthread_mutex_lock(&d->lock);
	*val = d->base + off + d->reads++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static const struct hvabs_bus_ops dev_ops = {.read = dev_read, .write = dev_write};

struct fx {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	void *ram;
	uint32_t domid;
	struct dev pio, mmio;
};

static void check_clean(void)
{
	char v[512];
	struct fake_live l;

	int n = ctl->violations(v, sizeof(v));
	if (n)
		fail_msg("fake Xen saw %d violation(s): %s", n, v);
	ctl->live(&l);
	assert_int_equal(l.xc, 0);
	assert_int_equal(l.dm, 0);
	assert_int_equal(l.fmem, 0);
	assert_int_equal(l.xce, 0);
	assert_int_equal(l.maps, 0);
	assert_int_equal(l.ports, 0);
	assert_int_equal(l.servers, 0);
	assert_int_equal(l.domains, 0);
}

static int open_vm(struct fx *f, uint32_t ncpus, const char *opts)
{
	struct hvabs_vm_config c = {
	    .max_vcpus = ncpus, .flags = HVABS_VM_IRQCHIP, .backend_options = opts};

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->pio.lock, NULL);
	pthread_mutex_init(&f->mmio.lock, NULL);
	f->pio.base = 0x1000;
	f->mmio.base = 0x50000;
	if (hvabs_backend_open("xen", NULL, &f->be))
		return -1;
	return hvabs_vm_create(f->be, &c, &f->vm);
}

static void setup_direct(struct fx *f, uint32_t ncpus)
{
	assert_int_equal(open_vm(f, ncpus, POLL_OPTS), 0);
	f->domid = ctl->last_domid();
	assert_int_equal(hvabs_vm_add_ram(f->vm, 0, RAM_SIZE, 0, &f->ram), 0);
	assert_int_equal(
	    hvabs_bus_register(f->vm, HVABS_SPACE_PIO, PORT, 8, &dev_ops, &f->pio, 0, NULL), 0);
	assert_int_equal(hvabs_bus_register(f->vm, HVABS_SPACE_MMIO, MMIO, MMIO_LEN, &dev_ops,
					    &f->mmio, 0, NULL),
			 0);
	assert_int_equal(hvabs_vcpu_create(f->vm, 0, &f->cpu), 0);
}

static void close_vm(struct fx *f)
{
	hvabs_vm_destroy(f->vm);
	hvabs_backend_close(f->be);
	f->vm = NULL;
	f->be = NULL;
}

static uint32_t run(struct fx *f)
{
	struct hvabs_exit e;

	assert_int_equal(hvabs_vcpu_run_loop(f->cpu, &e), 0);
	return e.kind;
}

static int setup(void **state)
{
	(void)state;
	ctl->set_all_down_poweroff(1);
	ctl->set_no_hap(0);
	ctl->fail_nth_call(0, 0);
	ctl->violations(NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	check_clean();
	return 0;
}

/* ---- direct mode ---- */

static void direct_domain(void **state)
{
	struct fx f;
	uint64_t v;
	int paused, reason;
	uint32_t online;

	(void)state;
	setup_direct(&f, 2);
	/* An HVM domain with Xen's irqchips, paused until the first run. */
	struct hvabs_caps c;
	assert_int_equal(hvabs_vm_get_caps(f.vm, &c), 0);
	assert_int_equal(c.irqchip, HVABS_IRQCHIP_LAPIC | HVABS_IRQCHIP_IOAPIC | HVABS_IRQCHIP_PIC |
					HVABS_IRQCHIP_PIT);
	assert_int_equal(c.nr_irqs, 48);
	assert_true(hvabs_vm_has_cap(f.vm, HVABS_CAP_IO_CLAIM));
	assert_false(hvabs_vm_has_cap(f.vm, HVABS_CAP_IRQFD));
	assert_false(hvabs_vm_has_cap(f.vm, HVABS_CAP_IOEVENTFD_PIO));
	assert_false(hvabs_vm_has_cap(f.vm, HVABS_CAP_MEM_MAP));
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(paused, 1);
	assert_int_equal(reason, -1);
	/* A triple fault must crash, not reboot: it is reported as SHUTDOWN. */
	assert_int_equal(ctl->param(f.domid, HVM_PARAM_TRIPLE_FAULT_REASON, &v), 0);
	assert_int_equal(v, SHUTDOWN_crash);
	/* RAM is the domain's: what the VMM writes, the guest sees. */
	assert_int_equal(hvabs_mem_write_u32(hvabs_vm_mem(f.vm), 0x1234, 0xfeedf00d), 0);
	uint32_t *g = ctl->ram(f.domid, 0x1234, 4);
	assert_non_null(g);
	assert_int_equal(*g, 0xfeedf00d);
	/* The first run unpauses. */
	const struct fake_act a[] = {{.kind = FAKE_PIO_OUT, .addr = PORT, .size = 1, .value = 7},
				     {.kind = FAKE_HLT}};
	assert_int_equal(ctl->program(f.domid, 0, a, 2), 0);
	assert_int_equal(run(&f), HVABS_EXIT_HLT);
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(paused, 0);
	assert_int_equal(f.pio.n, 1);
	assert_int_equal(f.pio.vals[0], 7);
	/* The last vCPU down powers the domain off, as Xen does. */
	assert_int_equal(run(&f), HVABS_EXIT_SYSTEM_EVENT);
	close_vm(&f);
}

/* String I/O, port and MMIO, both directions, df up and down. */
static void string_io(void **state)
{
	struct fx f;

	(void)state;
	setup_direct(&f, 1);
	ctl->set_all_down_poweroff(0);
	uint8_t *ram = f.ram;
	for (int i = 0; i < 64; i++)
		ram[BUF_GPA + i] = (uint8_t)(0x40 + i);
	for (int df = 0; df < 2; df++) {
		uint64_t src = df ? BUF_GPA + 6 : BUF_GPA;
		const struct fake_act a[] = {{.kind = FAKE_PIO_OUTS,
					      .addr = PORT,
					      .size = 2,
					      .count = 4,
					      .buf = src,
					      .df = (uint8_t)df},
					     {.kind = FAKE_MMIO_MOVS_TO,
					      .addr = MMIO + 0x100,
					      .size = 1,
					      .count = 3,
					      .buf = BUF_GPA + 0x10,
					      .df = (uint8_t)df},
					     {.kind = FAKE_HLT}};
		f.pio.n = f.mmio.n = 0;
		assert_int_equal(ctl->program(f.domid, 0, a, 3), 0);
		assert_int_equal(run(&f), HVABS_EXIT_HLT);
		assert_int_equal(f.pio.n, 4);
		for (int i = 0; i < 4; i++) {
			uint64_t at = df ? src - 2 * i : src + 2 * i;
			assert_int_equal(f.pio.offs[i], 0);
			assert_int_equal(f.pio.vals[i], ram[at] | (uint64_t)ram[at + 1] << 8);
		}
		/* MMIO elements step through the device as the guest's rep movs did. */
		assert_int_equal(f.mmio.n, 3);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(f.mmio.offs[i], df ? 0x100 - i : 0x100 + i);
			assert_int_equal(f.mmio.vals[i],
					 ram[df ? BUF_GPA + 0x10 - i : BUF_GPA + 0x10 + i]);
		}
	}
	for (int df = 0; df < 2; df++) {
		uint64_t dst = df ? BUF_GPA + 0x2c : BUF_GPA + 0x20;
		memset(ram + BUF_GPA + 0x20, 0, 0x40);
		f.pio.reads = f.mmio.reads = 0;
		const struct fake_act a[] = {{.kind = FAKE_PIO_INS,
					      .addr = PORT + 4,
					      .size = 4,
					      .count = 3,
					      .buf = dst,
					      .df = (uint8_t)df},
					     {.kind = FAKE_MMIO_MOVS_FROM,
					      .addr = MMIO + 0x40,
					      .size = 2,
					      .count = 2,
					      .buf = BUF_GPA + 0x50,
					      .df = (uint8_t)df},
					     {.kind = FAKE_HLT}};
		assert_int_equal(ctl->program(f.domid, 0, a, 3), 0);
		assert_int_equal(run(&f), HVABS_EXIT_HLT);
		for (int i = 0; i < 3; i++) {
			uint32_t got;
			memcpy(&got, ram + (df ? dst - 4 * i : dst + 4 * i), 4);
			assert_int_equal(got, 0x1000 + 4 + i); /* base + offset + read count */
		}
		for (int i = 0; i < 2; i++) {
			uint16_t got;
			memcpy(&got, ram + (df ? BUF_GPA + 0x50 - 2 * i : BUF_GPA + 0x50 + 2 * i),
			       2);
			assert_int_equal(
			    got, (uint16_t)(0x50000 + (df ? 0x40 - 2 * i : 0x40 + 2 * i) + i));
		}
	}
	close_vm(&f);
}

/* Ranges nobody claimed never reach the VMM: Xen answers all-ones itself. */
static void unclaimed_is_xens(void **state)
{
	struct fx f;
	struct hvabs_stats st;
	uint64_t vals[4];

	(void)state;
	setup_direct(&f, 1);
	const struct fake_act a[] = {{.kind = FAKE_PIO_IN, .addr = 0x2f0, .size = 2},
				     {.kind = FAKE_MMIO_READ, .addr = 0xe0000000, .size = 4},
				     {.kind = FAKE_PIO_IN, .addr = PORT, .size = 1},
				     {.kind = FAKE_HLT}};
	assert_int_equal(ctl->program(f.domid, 0, a, 4), 0);
	assert_int_equal(run(&f), HVABS_EXIT_HLT);
	assert_int_equal(ctl->reads(f.domid, 0, vals, 4), 3);
	assert_int_equal(vals[0], 0xffff);
	assert_int_equal(vals[1], 0xffffffff);
	assert_int_equal(vals[2], 0x00); /* 0x1000 + 0, one byte */
	hvabs_vcpu_get_stats(f.cpu, &st);
	assert_int_equal(st.exits[HVABS_EXIT_IO], 1);
	assert_int_equal(st.exits[HVABS_EXIT_MMIO], 0);
	/* A device registered later is claimed then; overlapping claims are merged. */
	assert_int_equal(ctl->claimed(f.domid, 0, 0x2f0, 2), 0);
	assert_int_equal(
	    hvabs_bus_register(f.vm, HVABS_SPACE_PIO, 0x2f0, 4, &dev_ops, &f.pio, 0, NULL), 0);
	assert_int_equal(ctl->claimed(f.domid, 0, 0x2f0, 2), 1);
	close_vm(&f);
}

static void interrupts(void **state)
{
	struct fx f;

	(void)state;
	setup_direct(&f, 1);
	assert_int_equal(hvabs_irq_line(f.vm, 4, 1), 0);
	assert_int_equal(ctl->line_level(f.domid, 4), 1);
	assert_int_equal(hvabs_irq_line(f.vm, 4, 0), 0);
	assert_int_equal(ctl->line_level(f.domid, 4), 0);
	/* GSIs above the ISA range go through the PCI INTx op that lands on them. */
	for (uint32_t gsi = 16; gsi < 48; gsi++) {
		assert_int_equal(hvabs_irq_line(f.vm, gsi, 1), 0);
		assert_int_equal(ctl->line_level(f.domid, gsi), 1);
		assert_int_equal(hvabs_irq_line(f.vm, gsi, 0), 0);
	}
	assert_int_equal(ctl->line_raises(f.domid, 30), 1);
	assert_int_equal(hvabs_irq_line(f.vm, 48, 1), -EINVAL);
	assert_int_equal(hvabs_irq_msi(f.vm, 0xfee00000, 0x4031), 0);
	assert_int_equal(ctl->wait_irq(f.domid, 1, 0x4031, 1000), 0);
	close_vm(&f);
}

/* The PVH boot a loader sets up: vCPU 0 comes up in 32-bit mode at the entry. */
static void boot_state(void **state)
{
	struct fx f;
	struct hvabs_linux_config lc = {0};
	struct hvabs_linux_boot boot;
	char err[256];
	const char *path = getenv("HVABS_TINY_GUEST");
	struct stat sb;
	int paused, reason;
	uint32_t online;

	(void)state;
	/* CTest always names the tiny guest it builds: without it the test cannot say anything. */
	if (!path || stat(path, &sb))
		fail_msg("HVABS_TINY_GUEST (%s) is not a file", path ? path : "unset");
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	void *img = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(img != MAP_FAILED);
	setup_direct(&f, 2);
	lc.kernel = img;
	lc.kernel_size = (size_t)sb.st_size;
	lc.cmdline = "console=ttyS0";
	lc.platform.nr_cpus = 2;
	lc.platform.flags = HVABS_PLATFORM_COM1;
	assert_int_equal(hvabs_linux_load(hvabs_vm_mem(f.vm), &lc, &boot, err, sizeof(err)), 0);
	assert_int_equal(boot.entry_kind, HVABS_LINUX_ENTRY_PVH);
	/* vCPU 1 is up (as if woken by INIT/SIPI) and must stay up. */
	struct hvabs_vcpu *cpu1;
	assert_int_equal(hvabs_vcpu_create(f.vm, 1, &cpu1), 0);
	const struct fake_act spin = {.kind = FAKE_SPIN};
	assert_int_equal(ctl->program(f.domid, 1, &spin, 1), 0);
	assert_int_equal(hvabs_linux_setup_vcpu(f.cpu, &boot), 0);
	uint64_t rip, rbx, cr0;
	assert_int_equal(ctl->vcpu_regs(f.domid, 0, &rip, &rbx, &cr0), 0);
	assert_int_equal(rip, boot.entry);
	assert_int_equal(rbx, boot.boot_info);
	assert_int_equal(cr0 & 0x80000011, 0x11); /* PE|ET, no paging */
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(online, 3);
	/* And the backend reads back what it wrote. */
	struct hvabs_regs r;
	struct hvabs_sregs s;
	assert_int_equal(hvabs_vcpu_get_regs(f.cpu, &r), 0);
	assert_int_equal(r.rip, boot.entry);
	assert_int_equal(hvabs_vcpu_get_sregs(f.cpu, &s), 0);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.gdt.base, boot.gdt);
	assert_int_equal(s.apic_base & ~0xfffull, 0xfee00000ull);
	struct hvabs_fpu fpu;
	assert_int_equal(hvabs_vcpu_get_fpu(f.cpu, &fpu), 0);
	assert_int_equal(fpu.fcw, 0x37f);
	assert_int_equal(fpu.mxcsr, 0x1f80);
	munmap(img, (size_t)sb.st_size);
	close_vm(&f);
}

static void shutdown_reasons(void **state)
{
	static const struct {
		uint32_t reason;
		uint32_t kind;
		uint32_t type;
	} cases[] = {
	    {SHUTDOWN_poweroff, HVABS_EXIT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_POWEROFF},
	    {SHUTDOWN_reboot, HVABS_EXIT_RESET, 0},
	    {SHUTDOWN_crash, HVABS_EXIT_SHUTDOWN, 0},
	    {SHUTDOWN_watchdog, HVABS_EXIT_SYSTEM_EVENT, HVABS_SYSTEM_EVENT_OTHER},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		struct hvabs_exit e;
		setup_direct(&f, 1);
		const struct fake_act a = {.kind = FAKE_SHUTDOWN, .value = cases[i].reason};
		assert_int_equal(ctl->program(f.domid, 0, &a, 1), 0);
		assert_int_equal(hvabs_vcpu_run_loop(f.cpu, &e), 0);
		assert_int_equal(e.kind, cases[i].kind);
		if (e.kind == HVABS_EXIT_SYSTEM_EVENT) {
			assert_int_equal(e.u.system_event.type, cases[i].type);
			assert_int_equal(e.u.system_event.data[0], cases[i].reason);
		}
		close_vm(&f);
	}
	/* A domain destroyed under us is a power-off, not a hang. */
	struct fx f;
	setup_direct(&f, 1);
	const struct fake_act spin = {.kind = FAKE_SPIN};
	assert_int_equal(ctl->program(f.domid, 0, &spin, 1), 0);
	assert_int_equal(ctl->destroy_domain(f.domid), 0);
	assert_int_equal(run(&f), HVABS_EXIT_SYSTEM_EVENT);
	close_vm(&f);
}

/* A request in flight when the VMM goes is answered: the guest vCPU does not hang. */
static void teardown_answers_inflight(void **state)
{
	struct fx f;
	struct hvabs_exit e;
	uint64_t vals[2];

	(void)state;
	ctl->set_all_down_poweroff(0);
	assert_int_equal(open_vm(&f, 1, "domid=0"), -EINVAL); /* dom0 is not a guest */
	hvabs_backend_close(f.be);
	uint32_t domid;
	assert_int_equal(ctl->make_domain(1, RAM_SIZE, 0, &domid), 0);
	char opts[64];
	snprintf(opts, sizeof(opts), "domid=%u," POLL_OPTS, domid);
	assert_int_equal(open_vm(&f, 1, opts), 0);
	assert_int_equal(hvabs_vm_add_ram(f.vm, 0, RAM_SIZE, 0, &f.ram), 0);
	assert_int_equal(
	    hvabs_bus_register(f.vm, HVABS_SPACE_PIO, PORT, 8, &dev_ops, &f.pio, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(f.vm, 0, &f.cpu), 0);
	const struct fake_act a[] = {{.kind = FAKE_PIO_IN, .addr = PORT, .size = 1},
				     {.kind = FAKE_PIO_IN, .addr = PORT, .size = 1},
				     {.kind = FAKE_HLT}};
	assert_int_equal(ctl->program(domid, 0, a, 3), 0);
	assert_int_equal(hvabs_vcpu_run(f.cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_IO);
	e.u.io.data[0] = 0x5a;
	close_vm(&f); /* without running again */
	/* The read got its answer; the next one went to Xen's null handler. */
	assert_int_equal(ctl->wait_done(domid, 0, 5000), 0);
	assert_int_equal(ctl->reads(domid, 0, vals, 2), 2);
	assert_int_equal(vals[0], 0x5a);
	assert_int_equal(vals[1], 0xff);
	assert_int_equal(ctl->destroy_domain(domid), 0);
}

/* Attach mode: the toolstack's domain, RAM and boot state; we serve and leave it. */
static void attach_mode(void **state)
{
	struct fx f;
	uint32_t domid, online;
	int paused, reason;
	char opts[64];
	uint64_t rip, rbx, cr0;

	(void)state;
	assert_int_equal(ctl->make_domain(1, RAM_SIZE, 1, &domid), 0);
	uint8_t *g = ctl->ram(domid, 0x100000, 4);
	assert_non_null(g);
	memcpy(g, "TINY", 4);
	/* vCPU count must match, and the domain must exist. */
	snprintf(opts, sizeof(opts), "domid=%u," POLL_OPTS, domid);
	assert_int_equal(open_vm(&f, 2, opts), -EINVAL);
	close_vm(&f);
	snprintf(opts, sizeof(opts), "domid=%u", domid + 100);
	assert_int_equal(open_vm(&f, 1, opts), -ENOENT);
	close_vm(&f);
	snprintf(opts, sizeof(opts), "domid=%u," POLL_OPTS, domid);
	assert_int_equal(open_vm(&f, 1, opts), 0);
	/* PVH: Xen emulates the LAPIC only; no lines to drive. */
	struct hvabs_caps c;
	assert_int_equal(hvabs_vm_get_caps(f.vm, &c), 0);
	assert_int_equal(c.irqchip, HVABS_IRQCHIP_LAPIC);
	assert_int_equal(c.nr_irqs, 0);
	assert_int_equal(hvabs_irq_line(f.vm, 4, 1), -ENOTSUP);
	/* RAM is mapped, not populated: the toolstack's bytes are there. */
	assert_int_equal(hvabs_vm_add_ram(f.vm, 0, RAM_SIZE, 0, &f.ram), 0);
	assert_memory_equal((uint8_t *)f.ram + 0x100000, "TINY", 4);
	assert_int_not_equal(hvabs_vm_add_ram(f.vm, RAM_SIZE, 0x1000, 0, NULL), 0);
	assert_int_equal(
	    hvabs_bus_register(f.vm, HVABS_SPACE_PIO, 0x3f8, 8, &dev_ops, &f.pio, 0, NULL), 0);
	assert_int_equal(hvabs_vcpu_create(f.vm, 0, &f.cpu), 0);
	const struct fake_act a[] = {{.kind = FAKE_PIO_OUT, .addr = 0x3f8, .size = 1, .value = 'H'},
				     {.kind = FAKE_PIO_OUT, .addr = 0x3f8, .size = 1, .value = 'i'},
				     {.kind = FAKE_HLT}};
	assert_int_equal(ctl->program(domid, 0, a, 3), 0);
	assert_int_equal(ctl->dom_state(domid, &paused, &reason, &online), 0);
	assert_int_equal(paused, 1);
	assert_int_equal(run(&f), HVABS_EXIT_HLT);
	assert_int_equal(f.pio.n, 2);
	assert_int_equal(f.pio.vals[1], 'i');
	/* The boot state is the toolstack's: untouched. */
	assert_int_equal(ctl->vcpu_regs(domid, 0, &rip, &rbx, &cr0), 0);
	assert_int_equal(rip, 0x100000);
	assert_int_equal(rbx, 0x6000);
	close_vm(&f);
	/* Detached, not destroyed. */
	assert_int_equal(ctl->dom_state(domid, &paused, &reason, &online), 0);
	assert_int_equal(ctl->destroy_domain(domid), 0);
}

static void pause_resume(void **state)
{
	struct fx f;
	int paused, reason;
	uint32_t online;

	(void)state;
	setup_direct(&f, 1);
	ctl->set_all_down_poweroff(0);
	/* Before the first run, pause only means "do not start". */
	assert_int_equal(hvabs_vm_pause(f.vm), 0);
	assert_int_equal(hvabs_vm_resume(f.vm), 0);
	const struct fake_act a[] = {{.kind = FAKE_PIO_OUT, .addr = PORT, .size = 1, .value = 1},
				     {.kind = FAKE_HLT}};
	assert_int_equal(ctl->program(f.domid, 0, a, 2), 0);
	assert_int_equal(run(&f), HVABS_EXIT_HLT);
	assert_int_equal(hvabs_vm_pause(f.vm), 0);
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(paused, 1);
	assert_int_equal(hvabs_vm_resume(f.vm), 0);
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(paused, 0);
	close_vm(&f);
}

/* Every library call, failed in turn: each failure cleans up completely. */
static void leaks_on_every_error(void **state)
{
	int finished = 0, failed = 0;

	(void)state;
	ctl->set_all_down_poweroff(0);
	for (unsigned nth = 1; nth < 400 && !finished; nth++) {
		struct fx f;
		struct hvabs_vm_config c = {.max_vcpus = 2, .backend_options = POLL_OPTS};
		int rc;

		memset(&f, 0, sizeof(f));
		pthread_mutex_init(&f.pio.lock, NULL);
		assert_int_equal(hvabs_backend_open("xen", NULL, &f.be), 0);
		ctl->fail_nth_call(nth, EIO);
		unsigned start = ctl->calls();
		rc = hvabs_vm_create(f.be, &c, &f.vm);
		if (!rc)
			rc = hvabs_vm_add_ram(f.vm, 0, RAM_SIZE, 0, &f.ram);
		if (!rc)
			rc = hvabs_bus_register(f.vm, HVABS_SPACE_PIO, PORT, 8, &dev_ops, &f.pio, 0,
						NULL);
		if (!rc)
			rc = hvabs_vcpu_create(f.vm, 0, &f.cpu);
		if (!rc)
			rc = hvabs_vcpu_create(f.vm, 1, &f.cpu);
		/* The failure was injected, or every call of this path succeeded. */
		finished = ctl->calls() - start < nth;
		ctl->fail_nth_call(0, 0);
		hvabs_vm_destroy(f.vm);
		hvabs_backend_close(f.be);
		/* Some failures are survived (2 MiB extents fall back to 4 KiB). */
		failed += rc != 0;
		check_clean();
	}
	assert_true(finished);
	assert_true(failed > 20);
}

/* Random slots through the plugin: every READY request is answered, nothing breaks. */
static void random_slots(void **state)
{
	struct fx f;
	uint64_t s = 99;
	struct fake_act acts[200];
	struct fake_answer ans[64];

	(void)state;
	setup_direct(&f, 1);
	ctl->set_all_down_poweroff(0);
	assert_int_equal(
	    hvabs_bus_register(f.vm, HVABS_SPACE_PIO, 0, 0x100, &dev_ops, &f.pio, 0, NULL), 0);
	for (int round = 0; round < 8; round++) {
		size_t n = 60;
		memset(acts, 0, sizeof(acts));
		for (size_t i = 0; i < n; i++) {
			ioreq_t r;
			for (size_t b = 0; b < sizeof(r); b += 8) {
				s = s * 6364136223846793005ull + 1442695040888963407ull;
				memcpy((uint8_t *)&r + b, &s, 8);
			}
			if (s & 1)
				r.state = STATE_IOREQ_READY;
			if (s & 2) {
				r.type = IOREQ_TYPE_PIO;
				r.addr &= 0xff;
			}
			if (s & 4)
				r.count = (uint32_t)(s >> 40) & 7;
			if (s & 8)
				r.data = BUF_GPA + ((s >> 20) & 0xfff);
			acts[i].kind = FAKE_RAW;
			memcpy(acts[i].raw, &r, sizeof(r));
		}
		acts[n].kind = FAKE_HLT;
		assert_int_equal(ctl->program(f.domid, 0, acts, n + 1), 0);
		assert_int_equal(run(&f), HVABS_EXIT_HLT);
		int got = ctl->answers(f.domid, 0, ans, 64);
		assert_int_equal(got, (int)n);
		for (int i = 0; i < got; i++) {
			ioreq_t sent;
			memcpy(&sent, acts[i].raw, sizeof(sent));
			assert_int_equal(ans[i].answered, sent.state == STATE_IOREQ_READY);
		}
	}
	close_vm(&f);
}

/*
 * The "hvabs-xen-v1" extension (hvabs/xen.h): the domain's id, and a
 * shutdown the vCPUs then report like any other.
 */
static void extension(void **state)
{
	struct fx f;
	struct hvabs_xen x = {0};
	const void *table;
	void *ctx;
	int paused, reason;
	uint32_t online;

	(void)state;
	setup_direct(&f, 1);
	assert_int_equal(hvabs_vm_get_ext(f.vm, "hvabs-mock-v1", &table, &ctx), -ENOENT);
	assert_int_equal(hvabs_xen_get(f.vm, &x), 0);
	assert_true(x.ext->hdr.struct_size >= sizeof(*x.ext));
	assert_int_equal(x.ext->domid(x.ctx), f.domid);
	assert_int_equal(x.ext->shutdown(x.ctx, 99), -EINVAL);
	const struct fake_act spin = {.kind = FAKE_SPIN};
	assert_int_equal(ctl->program(f.domid, 0, &spin, 1), 0);
	assert_int_equal(x.ext->shutdown(x.ctx, HVABS_XEN_SHUTDOWN_WATCHDOG), 0);
	assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
	assert_int_equal(reason, SHUTDOWN_watchdog);
	struct hvabs_exit e;
	assert_int_equal(hvabs_vcpu_run_loop(f.cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(e.u.system_event.type, HVABS_SYSTEM_EVENT_OTHER);
	assert_int_equal(e.u.system_event.data[0], HVABS_XEN_SHUTDOWN_WATCHDOG);
	close_vm(&f);
}

/* A device that stops the VM when the guest writes to it, as ACPI PM and the i8042 do. */
struct stopper {
	struct hvabs_vm *vm;
	enum hvabs_stop_reason reason;
};

static int stopper_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct stopper *s = o;

	(void)off;
	(void)size;
	(void)val;
	hvabs_vm_request_stop(s->vm, s->reason);
	return 0;
}

static const struct hvabs_bus_ops stopper_ops = {.write = stopper_write};

/*
 * The guest's power-off, reset and crash become the domain's shutdown
 * reason while the guest's write is still in flight, in both modes; the
 * host's own stop leaves the domain alone, and an attached domain outlives
 * its device model with the reason it was given.
 */
static void stop_reasons_reach_xen(void **state)
{
	static const struct {
		enum hvabs_stop_reason stop;
		int attach;
		int xen_reason; /* -1: no shutdown */
		uint32_t kind;
	} cases[] = {
	    {HVABS_STOP_POWEROFF, 0, SHUTDOWN_poweroff, HVABS_EXIT_SYSTEM_EVENT},
	    {HVABS_STOP_RESET, 0, SHUTDOWN_reboot, HVABS_EXIT_RESET},
	    {HVABS_STOP_CRASH, 0, SHUTDOWN_crash, HVABS_EXIT_SYSTEM_EVENT},
	    {HVABS_STOP_HOST, 0, -1, HVABS_EXIT_CANCELED},
	    {HVABS_STOP_POWEROFF, 1, SHUTDOWN_poweroff, HVABS_EXIT_SYSTEM_EVENT},
	    {HVABS_STOP_RESET, 1, SHUTDOWN_reboot, HVABS_EXIT_RESET},
	    {HVABS_STOP_HOST, 1, -1, HVABS_EXIT_CANCELED},
	};
	char opts[64];
	int paused, reason;
	uint32_t online, domid;

	(void)state;
	ctl->set_all_down_poweroff(0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		struct stopper st;
		if (cases[i].attach) {
			assert_int_equal(ctl->make_domain(1, RAM_SIZE, 1, &domid), 0);
			snprintf(opts, sizeof(opts), "domid=%u," POLL_OPTS, domid);
			assert_int_equal(open_vm(&f, 1, opts), 0);
			f.domid = domid;
			assert_int_equal(hvabs_vm_add_ram(f.vm, 0, RAM_SIZE, 0, &f.ram), 0);
			assert_int_equal(hvabs_vcpu_create(f.vm, 0, &f.cpu), 0);
		} else {
			setup_direct(&f, 1);
		}
		st.vm = f.vm;
		st.reason = cases[i].stop;
		assert_int_equal(
		    hvabs_bus_register(f.vm, HVABS_SPACE_PIO, 0x604, 2, &stopper_ops, &st, 0, NULL),
		    0);
		const struct fake_act a = {
		    .kind = FAKE_PIO_OUT, .addr = 0x604, .size = 2, .value = 0x3400};
		assert_int_equal(ctl->program(f.domid, 0, &a, 1), 0);
		assert_int_equal(run(&f), cases[i].kind);
		assert_int_equal(ctl->dom_state(f.domid, &paused, &reason, &online), 0);
		assert_int_equal(reason, cases[i].xen_reason);
		close_vm(&f);
		if (cases[i].attach) {
			assert_int_equal(ctl->dom_state(domid, &paused, &reason, &online), 0);
			assert_int_equal(reason, cases[i].xen_reason);
			assert_int_equal(ctl->destroy_domain(domid), 0);
		}
	}
}

static void no_hap(void **state)
{
	struct fx f;

	(void)state;
	ctl->set_no_hap(1);
	assert_int_not_equal(open_vm(&f, 1, NULL), 0);
	close_vm(&f);
	ctl->set_no_hap(0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(direct_domain),
	    T(string_io),
	    T(unclaimed_is_xens),
	    T(interrupts),
	    T(boot_state),
	    T(shutdown_reasons),
	    T(teardown_answers_inflight),
	    T(attach_mode),
	    T(pause_resume),
	    T(leaks_on_every_error),
	    T(random_slots),
	    T(extension),
	    T(stop_reasons_reach_xen),
	    T(no_hap),
	};

	ctl = fake_xen_open();
	if (!ctl) {
		fprintf(stderr, "cannot load the fake Xen (HVABS_XEN_LIBS=%s)\n",
			getenv("HVABS_XEN_LIBS") ? getenv("HVABS_XEN_LIBS") : "");
		return 1;
	}
	return cmocka_run_group_tests_name("xen_backend", tests, NULL, NULL);
}
