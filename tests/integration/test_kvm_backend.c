/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration.kvm.backend: what the KVM backend itself promises, on
 * /dev/kvm: probe reasons, no fd or mapping left behind by a failed
 * vm_create or vcpu_create (each system call failed in turn through the
 * fault-injecting syscall seam, tests/fixtures/fault_sys.h) or by a whole VM
 * lifetime, read-only and dirty-logged slots, mapping and unmapping caller
 * memory, 8-byte MMIO, internal-error and shutdown details, CPUID with KVM's
 * signature leaf, and MSR/FPU state.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "fault_sys.h"
#include "kvm_itest.h"

#define RAM_SIZE  0x80000 /* 512 KiB at 0; test regions go above */
#define CODE_GPA  0x1000
#define STACK_TOP 0x7000
#define RES_GPA	  0x0800
#define LIT_GPA	  0x0900
#define HOLE_GPA  0x90000
#define HOLE_SEG  0x9000
#define MMIO_GPA  0xd0000
#define MMIO_SEG  0xd000
#define PORT	  0x600

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/*
 * Mappings of this process. Under AddressSanitizer, whose allocator maps
 * memory as it pleases, only the kvm_run mappings (anon_inode:kvm-vcpu)
 * are counted.
 */
static int count_maps(void)
{
	static char buf[1 << 20];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r;
	int n = 0;

	assert_true(fd >= 0);
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	for (char *line = buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
#if defined(__SANITIZE_ADDRESS__)
		n += strstr(line, "kvm") != NULL;
#else
		n++;
#endif
	}
	return n;
}

static void open_vm(struct kt_vm *k, uint32_t flags, const char *opts)
{
	assert_int_equal(kt_vm_open_ram(k, 2, flags, opts, RAM_SIZE), 0);
}

/* Loads @p c at CODE_GPA and runs it with the run loop; returns the final exit kind. */
static uint32_t run_code(struct kt_vm *k, struct hvabs_vcpu *cpu, struct rm_code *c)
{
	struct hvabs_exit e;

	assert_int_equal(kt_load(k, cpu, c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), 0);
	return e.kind;
}

/* Copies @p from to @p to, readable by all. */
static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

static void probe_reasons(void **state)
{
	char err[512];
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
	struct hvabs_backend *be;
	struct stat st;

	(void)state;
	setenv("HVABS_KVM_DEVICE", "/nonexistent/kvm", 1);
	assert_int_equal(hvabs_backend_open("kvm", &o, &be), -ENODEV);
	assert_non_null(strstr(err, "no /nonexistent/kvm (is the kvm module loaded?)"));
	setenv("HVABS_KVM_DEVICE", "/dev/null", 1);
	assert_int_equal(hvabs_backend_open("kvm", &o, &be), -ENODEV);
	assert_non_null(strstr(err, "/dev/null is not a KVM device"));
	unsetenv("HVABS_KVM_DEVICE");

	/* EACCES: a child that gives up root, where others may not open /dev/kvm. */
	assert_int_equal(stat("/dev/kvm", &st), 0);
	if (geteuid() != 0 || (st.st_mode & (S_IROTH | S_IWOTH))) {
		print_message("probe_reasons: EACCES not checked (not root, or /dev/kvm is "
			      "open to all)\n");
		return;
	}
	/*
	 * The child must find the plugin after it gives up root, wherever the
	 * build tree lies (under /root, user 65534 cannot even look): it loads a
	 * copy from a directory anyone can read.
	 */
	char dir[] = "/tmp/hvabs-probe-XXXXXX", copy[64];
	assert_int_equal(hvabs_backend_open("kvm", NULL, &be), 0);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(copy, sizeof(copy), "%s/hvabs-kvm.so", dir);
	copy_file(hvabs_backend_path(be), copy);
	hvabs_backend_close(be);
	o.search_path = dir;
	o.no_install_dir = 1;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		int rc = hvabs_backend_open("kvm", &o, &be);
		if (rc != -EACCES)
			fprintf(stderr, "probe_reasons: as user 65534: %s (%s)\n", strerror(-rc),
				err);
		_exit(rc == -EACCES && strstr(err, "no permission to open /dev/kvm (add the user "
						   "to group kvm)")
			  ? 0
			  : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(copy);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

/* In a fresh child: the VMM's handler on the default kick signal makes vm_create refuse. */
static int child_kick_signal(int override)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct hvabs_vm_config cfg = {.max_vcpus = 1};
	struct sigaction sa;
	char num[16];

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGRTMIN + 3, &sa, NULL) || hvabs_backend_open("kvm", NULL, &be))
		return 10;
	if (override) {
		snprintf(num, sizeof(num), "%d", SIGRTMIN + 5);
		setenv("HVABS_KVM_KICK_SIGNAL", num, 1);
	}
	int rc = hvabs_vm_create(be, &cfg, &vm);
	if (!override)
		return rc == -EBUSY ? 0 : 11;
	/* With another signal named, VMs work and kicks arrive. */
	if (rc || hvabs_vcpu_create(vm, 0, &cpu) || hvabs_vcpu_kick(cpu) ||
	    hvabs_vcpu_run(cpu, &e) || e.kind != HVABS_EXIT_CANCELED)
		return 12;
	hvabs_vm_destroy(vm);
	return 0;
}

/*
 * The backend installs its handler once per process, at the first vm_create:
 * this test forks before this process has created any VM, so keep it ahead of
 * every test that does.
 */
static void kick_signal_taken(void **state)
{
	(void)state;
	for (int override = 0; override < 2; override++) {
		int status;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child_kick_signal(override));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* A system call that failed, and what the backend made of it. */
struct failed_call {
	uint32_t kind; /* enum fault_sys_kind */
	unsigned long req;
};

/* Calls a successful vm_create makes through the seam. */
static uint32_t vm_create_calls(struct hvabs_backend *be, const struct hvabs_vm_config *cfg)
{
	const struct fault_sys_api *fs = fault_sys_api_v1();
	struct hvabs_vm *vm;

	fs->arm(0, 0);
	assert_int_equal(hvabs_vm_create(be, cfg, &vm), 0);
	uint32_t n = fs->calls();
	hvabs_vm_destroy(vm);
	return n;
}

/*
 * Fails each system call of vm_create in turn: nothing is left open or
 * mapped, and exactly the calls it cannot do without make it fail (a
 * failed capability check only costs a feature).
 */
static uint32_t fail_each_vm_call(struct hvabs_backend *be, uint32_t flags,
				  struct failed_call *fatal, uint32_t max)
{
	const struct fault_sys_api *fs = fault_sys_api_v1();
	struct hvabs_vm_config cfg = {.max_vcpus = 2, .flags = flags};
	uint32_t calls = vm_create_calls(be, &cfg), nfatal = 0;

	assert_true(calls > 0);
	for (uint32_t n = 1; n <= calls; n++) {
		struct hvabs_vm *vm = NULL;
		int fds = count_fds(), maps = count_maps();
		fs->arm(n, EIO);
		int rc = hvabs_vm_create(be, &cfg, &vm);
		unsigned long req;
		uint32_t kind = fs->failed(&req);
		fs->arm(0, 0);
		assert_int_not_equal(kind, FAULT_SYS_NONE);
		if (rc == 0) {
			hvabs_vm_destroy(vm);
		} else {
			/* Failures opening /dev/kvm read as "no usable KVM device". */
			assert_true(rc == -EIO || rc == -ENODEV);
			assert_true(nfatal < max);
			fatal[nfatal++] = (struct failed_call){kind, req};
		}
		assert_int_equal(count_fds(), fds);
		assert_int_equal(count_maps(), maps);
	}
	return nfatal;
}

static void no_leak_failed_vm_create(void **state)
{
	static const struct failed_call want[] = {
	    {FAULT_SYS_OPEN, 0},
	    {FAULT_SYS_IOCTL, KVM_GET_API_VERSION},
	    {FAULT_SYS_IOCTL, KVM_CHECK_EXTENSION}, /* KVM_CAP_USER_MEMORY */
	    {FAULT_SYS_IOCTL, KVM_CHECK_EXTENSION}, /* KVM_CAP_IMMEDIATE_EXIT */
	    {FAULT_SYS_IOCTL, KVM_CREATE_VM},
	    {FAULT_SYS_IOCTL, KVM_GET_VCPU_MMAP_SIZE},
	    {FAULT_SYS_IOCTL, KVM_SET_IDENTITY_MAP_ADDR},
	    {FAULT_SYS_IOCTL, KVM_SET_TSS_ADDR},
	    {FAULT_SYS_IOCTL, KVM_CREATE_IRQCHIP},
	    {FAULT_SYS_IOCTL, KVM_CREATE_PIT2},
	    {FAULT_SYS_IOCTL, KVM_SET_GSI_ROUTING},
	};
	struct failed_call got[32];
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(hvabs_backend_open("kvm", NULL, &be), 0);
	for (int irqchip = 0; irqchip < 2; irqchip++) {
		uint32_t n = fail_each_vm_call(be, irqchip ? HVABS_VM_IRQCHIP : 0, got, 32);
		/* Without the irqchip, the last three are never made. */
		assert_int_equal(n, irqchip ? 11 : 8);
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(got[i].kind, want[i].kind);
			assert_int_equal(got[i].req, want[i].req);
		}
	}
	hvabs_backend_close(be);
}

/*
 * The same for vcpu_create: KVM_CREATE_VCPU, then the mmap of kvm_run. Each
 * try gets a fresh VM: KVM never frees a vCPU id before the VM dies, so one
 * whose mmap failed cannot be created again in the same VM.
 */
static void no_leak_failed_vcpu_create(void **state)
{
	const struct fault_sys_api *fs = fault_sys_api_v1();
	struct failed_call got[8];
	uint32_t nfatal = 0, calls = 1;
	struct hvabs_vcpu *cpu;
	struct kt_vm k;

	(void)state;
	for (uint32_t n = 0; n <= calls; n++) {
		open_vm(&k, 0, NULL);
		int fds = count_fds(), maps = count_maps();
		fs->arm(n, EIO); /* n = 0: count the calls of a create that works */
		int rc = hvabs_vcpu_create(k.vm, 0, &cpu);
		if (n == 0)
			calls = fs->calls();
		if (rc == 0) {
			hvabs_vcpu_destroy(cpu);
		} else {
			assert_int_equal(rc, -EIO);
			assert_true(nfatal < 8);
			got[nfatal].kind = fs->failed(&got[nfatal].req);
			nfatal++;
		}
		fs->arm(0, 0);
		assert_int_equal(count_fds(), fds);
		assert_int_equal(count_maps(), maps);
		kt_vm_close(&k);
	}
	assert_int_equal(nfatal, 2);
	assert_int_equal(got[0].kind, FAULT_SYS_IOCTL);
	assert_int_equal(got[0].req, KVM_CREATE_VCPU);
	assert_int_equal(got[1].kind, FAULT_SYS_MMAP);
}

/* A VM that used everything closes every fd and mapping it opened. */
static void no_leak_full_lifetime(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu[2];
	struct hvabs_irqfd *irq[2];
	struct hvabs_ioeventfd *ioev;
	struct hvabs_irq_route gsi = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 5};
	struct hvabs_irq_route msi = {
	    .kind = HVABS_IRQ_ROUTE_MSI, .msi_addr = 0xfee00000, .msi_data = 0x45};
	struct hvabs_ioeventfd_spec ev = {.space = HVABS_SPACE_PIO, .len = 1, .addr = PORT};
	struct rm_code c;
	uint8_t buf[32];

	(void)state;
	int fds = count_fds(), maps = count_maps();
	open_vm(&k, HVABS_VM_IRQCHIP, NULL);
	void *mine = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mine != MAP_FAILED);
	assert_int_equal(hvabs_vm_map_memory(k.vm, HOLE_GPA, 0x4000, mine, 0), 0);
	assert_int_equal(hvabs_vm_add_ram(k.vm, 0x100000, 0x10000, HVABS_MEM_DIRTY_LOG, NULL), 0);
	assert_int_equal(hvabs_irqfd_create(k.vm, &gsi, NULL, &irq[0]), 0);
	assert_int_equal(hvabs_irqfd_create(k.vm, &msi, NULL, &irq[1]), 0);
	assert_int_equal(hvabs_ioeventfd_create(k.vm, &ev, &ioev), 0);
	for (uint32_t i = 0; i < 2; i++)
		assert_int_equal(hvabs_vcpu_create(k.vm, i, &cpu[i]), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_mov_dx(&c, PORT); /* the kernel signals the ioeventfd: no exit */
	rm_out_dx(&c, 1);
	rm_mov_dx(&c, PORT + 1);
	rm_out_dx(&c, 1);
	rm_cli(&c);
	rm_hlt(&c); /* stays in the kernel with the irqchip: a kick ends the run */
	assert_int_equal(kt_load(&k, cpu[0], &c, CODE_GPA, STACK_TOP), 0);
	struct hvabs_exit e;
	uint64_t cnt = 0;
	assert_int_equal(hvabs_vcpu_run(cpu[0], &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_IO);
	assert_int_equal(e.u.io.addr, PORT + 1);
	assert_int_equal(read(hvabs_ioeventfd_fd(ioev), &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 1);
	assert_int_equal(hvabs_vcpu_kick(cpu[0]), 0);
	assert_int_equal(hvabs_vcpu_run(cpu[0], &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_CANCELED);
	kt_vm_close(&k); /* vCPUs, irqfds, ioeventfd, slots: all of it */
	munmap(mine, 0x4000);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(), maps);
}

/* A read-only slot: reads see the RAM, writes exit as MMIO writes and change nothing. */
static void readonly_slot(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64];
	void *ro;

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_vm_add_ram(k.vm, HOLE_GPA, 0x1000, HVABS_MEM_READONLY, &ro), 0);
	memset(ro, 0x5a, 0x1000);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_set_es(&c, HOLE_SEG);
	rm_es_load_acc(&c, 1, 0x10);
	rm_store_acc(&c, 1, RES_GPA);
	rm_es_store_imm(&c, 1, 0x20, 0x77);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_MMIO);
	assert_int_equal(e.u.mmio.addr, HOLE_GPA + 0x20);
	assert_int_equal(e.u.mmio.size, 1);
	assert_int_equal(e.u.mmio.is_write, 1);
	assert_int_equal(e.u.mmio.data[0], 0x77);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(k.ram[RES_GPA], 0x5a);
	assert_int_equal(((uint8_t *)ro)[0x20], 0x5a);
	kt_vm_close(&k);
}

/* The dirty log has exactly the pages the guest wrote, and is clear after being read. */
static void dirty_log_pages(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct rm_code c;
	uint8_t buf[64];
	uint64_t bm[1];
	void *p;

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_vm_add_ram(k.vm, HOLE_GPA, 0x10000, HVABS_MEM_DIRTY_LOG, &p), 0);
	assert_int_equal(hvabs_vm_get_dirty_log(k.vm, HOLE_GPA, bm, 1), 0);
	assert_int_equal(bm[0], 0);
	memset(p, 1, 0x1000); /* the VMM's own writes are not the guest's */
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_set_es(&c, HOLE_SEG);
	rm_es_store_imm(&c, 1, 0x1000, 1);
	rm_es_store_imm(&c, 4, 0x5004, 0x12345678);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(run_code(&k, cpu, &c), HVABS_EXIT_HLT);
	assert_int_equal(hvabs_vm_get_dirty_log(k.vm, HOLE_GPA, bm, 1), 0);
	assert_int_equal(bm[0], (1u << 1) | (1u << 5));
	assert_int_equal(hvabs_vm_get_dirty_log(k.vm, HOLE_GPA, bm, 1), 0);
	assert_int_equal(bm[0], 0);
	assert_int_equal(((uint8_t *)p)[0x5004], 0x78);
	kt_vm_close(&k);
}

/* Caller memory mapped in is what the guest reads; once unmapped, the same read exits. */
static void map_unmap_seen_by_guest(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64];

	(void)state;
	uint8_t *a = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a != MAP_FAILED);
	a[0] = 0xa1;
	a[0x1000] = 0xb2;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_set_es(&c, HOLE_SEG);
	rm_es_load_acc(&c, 1, 0);
	rm_store_acc(&c, 1, RES_GPA);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(hvabs_vm_map_memory(k.vm, HOLE_GPA, 0x1000, a, 0), 0);
	assert_int_equal(run_code(&k, cpu, &c), HVABS_EXIT_HLT);
	assert_int_equal(k.ram[RES_GPA], 0xa1);
	/* Gone: the load becomes an MMIO read the VMM answers. */
	assert_int_equal(hvabs_vm_unmap_memory(k.vm, HOLE_GPA), 0);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_MMIO);
	assert_int_equal(e.u.mmio.addr, HOLE_GPA);
	assert_int_equal(e.u.mmio.is_write, 0);
	e.u.mmio.data[0] = 0x11;
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(k.ram[RES_GPA], 0x11);
	/* The freed slot serves another mapping at the same place. */
	assert_int_equal(hvabs_vm_map_memory(k.vm, HOLE_GPA, 0x1000, a + 0x1000, 0), 0);
	assert_int_equal(run_code(&k, cpu, &c), HVABS_EXIT_HLT);
	assert_int_equal(k.ram[RES_GPA], 0xb2);
	kt_vm_close(&k);
	munmap(a, 0x2000);
}

/* 8-byte MMIO (MMX movq): one exit of size 8 each way, data intact. */
static void mmio_8_bytes(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64];
	uint64_t v;

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_mem_write_u64(hvabs_vm_mem(k.vm), LIT_GPA, 0x1122334455667788ull),
			 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_set_es(&c, MMIO_SEG);
	rm_movq(&c, 0, 0, LIT_GPA);
	rm_movq(&c, 1, 1, 0x8);
	rm_movq(&c, 1, 0, 0x10);
	rm_movq(&c, 0, 1, RES_GPA);
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_MMIO);
	assert_int_equal(e.u.mmio.addr, MMIO_GPA + 8);
	assert_int_equal(e.u.mmio.size, 8);
	assert_int_equal(e.u.mmio.is_write, 1);
	memcpy(&v, e.u.mmio.data, 8);
	assert_int_equal(v, 0x1122334455667788ull);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_MMIO);
	assert_int_equal(e.u.mmio.addr, MMIO_GPA + 0x10);
	assert_int_equal(e.u.mmio.size, 8);
	assert_int_equal(e.u.mmio.is_write, 0);
	v = 0x8877665544332211ull;
	memcpy(e.u.mmio.data, &v, 8);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
	assert_int_equal(hvabs_mem_read_u64(hvabs_vm_mem(k.vm), RES_GPA, &v), 0);
	assert_int_equal(v, 0x8877665544332211ull);
	kt_vm_close(&k);
}

/* KVM's own codes survive: raw_reason and the emulation sub-error; the shutdown reason. */
static void internal_error_and_shutdown_details(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64];

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_mem_fill(hvabs_vm_mem(k.vm), LIT_GPA, 0, 8), 0);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_jmp_far(&c, 0xa000, 0); /* code at 0xa0000: no RAM, no device */
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_INTERNAL_ERROR);
	assert_int_equal(e.raw_reason, 17);	    /* KVM_EXIT_INTERNAL_ERROR */
	assert_int_equal(e.u.internal.suberror, 1); /* KVM_INTERNAL_ERROR_EMULATION */
	assert_true(e.u.internal.ndata <= 8);
	rm_init(&c, buf, sizeof(buf));
	rm_triple_fault(&c, LIT_GPA);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_SHUTDOWN);
	assert_int_equal(e.raw_reason, 8); /* KVM_EXIT_SHUTDOWN */
	kt_vm_close(&k);
}

/* KVM's hypervisor leaf reaches the guest's CPUID once set_cpuid hands it over. */
static void cpuid_kvm_signature(void **state)
{
	static struct hvabs_cpuid_entry ids[512];
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct rm_code c;
	uint8_t buf[64];
	uint32_t n = 1, sig[3];

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_vm_get_supported_cpuid(k.vm, ids, &n), -E2BIG);
	assert_int_equal(n, 1);
	n = 512;
	assert_int_equal(hvabs_vm_get_supported_cpuid(k.vm, ids, &n), 0);
	int leaf = -1, leaf1 = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (ids[i].function == 0x40000000)
			leaf = (int)i;
		if (ids[i].function == 0x40000001)
			leaf1 = (int)i;
	}
	assert_true(leaf >= 0 && leaf1 >= 0);
	memcpy(&sig[0], &ids[leaf].ebx, 4);
	memcpy(&sig[1], &ids[leaf].ecx, 4);
	memcpy(&sig[2], &ids[leaf].edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	assert_int_equal(hvabs_vcpu_set_cpuid(cpu, ids, n), 0);
	rm_init(&c, buf, sizeof(buf));
	rm_mov_acc(&c, 4, 0x40000000);
	rm_b(&c, 0x0f); /* cpuid */
	rm_b(&c, 0xa2);
	rm_b(&c, 0x66); /* mov esi, edx: DX is about to hold the port */
	rm_b(&c, 0x89);
	rm_b(&c, 0xd6);
	rm_mov_dx(&c, PORT);
	static const uint8_t regs[3] = {0xd8, 0xc8, 0xf0}; /* mov eax, ebx / ecx / esi */
	for (int i = 0; i < 3; i++) {
		rm_b(&c, 0x66);
		rm_b(&c, 0x89);
		rm_b(&c, regs[i]);
		rm_out_dx(&c, 4);
	}
	rm_cli(&c);
	rm_hlt(&c);
	assert_int_equal(kt_load(&k, cpu, &c, CODE_GPA, STACK_TOP), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hvabs_vcpu_run(cpu, &e), 0);
		assert_int_equal(e.kind, HVABS_EXIT_IO);
		assert_int_equal(e.u.io.size, 4);
		memcpy(&sig[i], e.u.io.data, 4);
	}
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	kt_vm_close(&k);
}

/* All-or-nothing reads, first-refusal writes: what hvabs_vcpu_get/set_msrs promise on KVM. */
static void msrs_and_fpu(void **state)
{
	struct kt_vm k;
	struct hvabs_vcpu *cpu;
	struct hvabs_fpu f;

	(void)state;
	open_vm(&k, 0, NULL);
	assert_int_equal(hvabs_vcpu_create(k.vm, 0, &cpu), 0);
	struct hvabs_msr_entry m[3] = {{0x174, 0, 0x10}, {0x175, 0, 0x7000}, {0x176, 0, 0x1234}};
	assert_int_equal(hvabs_vcpu_set_msrs(cpu, m, 3), 0);
	for (int i = 0; i < 3; i++)
		m[i].data = 0;
	assert_int_equal(hvabs_vcpu_get_msrs(cpu, m, 3), 0);
	assert_int_equal(m[0].data, 0x10);
	assert_int_equal(m[1].data, 0x7000);
	assert_int_equal(m[2].data, 0x1234);
	struct hvabs_msr_entry bad[2] = {{0x174, 0, 0xdead}, {0xdeadbeef, 0, 0xbeef}};
	assert_int_equal(hvabs_vcpu_get_msrs(cpu, bad, 2), -EINVAL);
	assert_int_equal(bad[0].data, 0xdead); /* nothing written back */
	assert_int_equal(hvabs_vcpu_set_msrs(cpu, bad, 2), -EINVAL);
	assert_int_equal(hvabs_vcpu_get_msrs(cpu, m, 1), 0);
	assert_int_equal(m[0].data, 0xdead); /* entry 0 went through before the refusal */

	assert_int_equal(hvabs_vcpu_get_fpu(cpu, &f), 0);
	f.fcw = 0x27f;
	f.mxcsr = 0x1f80 | 0x6000; /* round toward zero */
	for (int i = 0; i < 16; i++)
		f.xmm[3][i] = (uint8_t)(0x30 + i);
	assert_int_equal(hvabs_vcpu_set_fpu(cpu, &f), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(hvabs_vcpu_get_fpu(cpu, &f), 0);
	assert_int_equal(f.fcw, 0x27f);
	assert_int_equal(f.mxcsr, 0x7f80);
	for (int i = 0; i < 16; i++)
		assert_int_equal(f.xmm[3][i], 0x30 + i);
	kt_vm_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(probe_reasons),
	    cmocka_unit_test(kick_signal_taken),
	    cmocka_unit_test(no_leak_failed_vm_create),
	    cmocka_unit_test(no_leak_failed_vcpu_create),
	    cmocka_unit_test(no_leak_full_lifetime),
	    cmocka_unit_test(readonly_slot),
	    cmocka_unit_test(dirty_log_pages),
	    cmocka_unit_test(map_unmap_seen_by_guest),
	    cmocka_unit_test(mmio_8_bytes),
	    cmocka_unit_test(internal_error_and_shutdown_details),
	    cmocka_unit_test(cpuid_kvm_signature),
	    cmocka_unit_test(msrs_and_fpu),
	};
	int rc = kt_check_kvm("integration.kvm.backend");

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("integration.kvm.backend", tests, NULL, NULL);
}
