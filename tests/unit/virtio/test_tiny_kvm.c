/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tiny guest's virtio mode on this host's KVM: a virtio-blk and a
 * virtio-rng device at the hvabs-vmm windows (0xd0000000, 0xd0001000),
 * described in the DSDT and, in the first run, on the command line; the
 * guest drives them at the register level with polling, through the
 * hypervisor's ioeventfd and the device's event loop thread. The guest's
 * lines are checked, and the sector it wrote is read back from the image.
 *
 *   test_tiny_kvm TINY_ELF
 *
 * Exit 77 (skip) when KVM cannot be used, unless HVABS_REQUIRE_KVM=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hvabs/devices/acpi_pm.h>
#include <hvabs/devices/rtc.h>
#include <hvabs/devices/uart8250.h>
#include <hvabs/devices/virtio_blk.h>
#include <hvabs/devices/virtio_rng.h>
#include <hvabs/hvabs.h>

#define RAM  (64ull << 20)
#define SKIP 77
/* Hang guard: the guest runs for well under a second; this only stops a stuck run. */
#define WATCHDOG 120

struct machine {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_event_loop *loop;
	pthread_t loop_thread;
	struct hvabs_uart *uart;
	struct hvabs_acpi_pm *pm;
	struct hvabs_rtc *rtc;
	struct hvabs_virtio_blk *blk;
	struct hvabs_virtio_rng *rng;
	char img[64], out[64];
	int out_fd;
};

static int check_kvm(void)
{
	char err[512] = "";
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
	struct hvabs_backend *be;

	if (hvabs_backend_open("kvm", &o, &be) == 0) {
		hvabs_backend_close(be);
		return 0;
	}
	const char *req = getenv("HVABS_REQUIRE_KVM");
	int required = req && !strcmp(req, "1");
	fprintf(stderr, "integration.virtio-tiny.kvm: %s: KVM unavailable: %s\n",
		required ? "FAIL" : "SKIP", err);
	return required ? 1 : SKIP;
}

static void *loop_main(void *arg)
{
	struct machine *m = arg;

	if (hvabs_event_loop_run(m->loop))
		fprintf(stderr, "event loop failed\n");
	return NULL;
}

static void *watchdog(void *arg)
{
	sleep(WATCHDOG);
	fprintf(stderr, "watchdog: the guest did not finish in %d s\n", WATCHDOG);
	hvabs_vm_request_stop(arg, HVABS_STOP_HOST);
	return NULL;
}

/* Long mode needs the hypervisor's CPUID leaves (LM) to be set, as hvabs-vmm does. */
static int setup_cpuid(struct machine *m)
{
	static struct hvabs_cpuid_entry ids[512];
	uint32_t n = 512;

	if (!hvabs_vm_has_cap(m->vm, HVABS_CAP_CPUID))
		return 0;
	int rc = hvabs_vm_get_supported_cpuid(m->vm, ids, &n);
	return rc ? rc : hvabs_vcpu_set_cpuid(m->cpu, ids, n);
}

static int make_image(struct machine *m)
{
	uint8_t sector[512];

	snprintf(m->img, sizeof(m->img), "/tmp/hvabs-tiny-XXXXXX");
	int fd = mkstemp(m->img);
	if (fd < 0)
		return -1;
	for (int s = 0; s < 2048; s++) {
		for (int i = 0; i < 512; i++)
			sector[i] = (uint8_t)(s * 3 + i);
		if (write(fd, sector, 512) != 512)
			return -1;
	}
	close(fd);
	return 0;
}

static int devices(struct machine *m)
{
	struct hvabs_uart_config uc = HVABS_UART_CONFIG_INIT;
	struct hvabs_virtio_blk_config bc = {
	    .mmio = {.base = HVABS_VIRTIO_MMIO_BASE, .gsi = 5, .loop = m->loop, .name = "vda"},
	    .path = m->img,
	    .serial = "tiny-disk"};
	struct hvabs_virtio_rng_config rc = {
	    .mmio = {.base = HVABS_VIRTIO_MMIO_BASE + HVABS_VIRTIO_MMIO_SIZE,
		     .gsi = 6,
		     .loop = m->loop}};

	snprintf(m->out, sizeof(m->out), "/tmp/hvabs-tiny-out-XXXXXX");
	m->out_fd = mkstemp(m->out);
	uc.out_fd = m->out_fd;
	if (m->out_fd < 0 || hvabs_uart_create(m->vm, &uc, &m->uart) ||
	    hvabs_acpi_pm_create(m->vm, NULL, &m->pm) || hvabs_rtc_create(m->vm, NULL, &m->rtc) ||
	    hvabs_virtio_blk_create(m->vm, &bc, &m->blk) ||
	    hvabs_virtio_rng_create(m->vm, &rc, &m->rng))
		return -1;
	return 0;
}

static int load(struct machine *m, const char *elf, int words)
{
	struct hvabs_acpi_device ad[2];
	char cmd[256], w0[64], w1[64];
	struct stat st;
	char err[512];

	hvabs_virtio_mmio_describe(hvabs_virtio_blk_transport(m->blk), &ad[0]);
	hvabs_virtio_mmio_describe(hvabs_virtio_rng_transport(m->rng), &ad[1]);
	if (hvabs_virtio_mmio_cmdline(hvabs_virtio_blk_transport(m->blk), w0, sizeof(w0)) < 0 ||
	    hvabs_virtio_mmio_cmdline(hvabs_virtio_rng_transport(m->rng), w1, sizeof(w1)) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "virtio %s %s", words ? w0 : "", words ? w1 : "");
	int fd = open(elf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return -1;
	void *k = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (k == MAP_FAILED)
		return -1;
	struct hvabs_linux_config lc = {
	    .kernel = k, .kernel_size = (size_t)st.st_size, .cmdline = cmd};
	struct hvabs_linux_boot boot;
	lc.platform.nr_cpus = 1;
	lc.platform.flags = HVABS_PLATFORM_COM1;
	lc.platform.devices = ad;
	lc.platform.nr_devices = 2;
	int rc = hvabs_linux_load(hvabs_vm_mem(m->vm), &lc, &boot, err, sizeof(err));
	if (!rc)
		rc = hvabs_linux_setup_vcpu(m->cpu, &boot);
	munmap(k, (size_t)st.st_size);
	if (rc)
		fprintf(stderr, "load: %s (%s)\n", err, strerror(-rc));
	return rc;
}

static void teardown(struct machine *m)
{
	if (m->loop_thread) {
		hvabs_event_loop_stop(m->loop);
		pthread_join(m->loop_thread, NULL);
	}
	hvabs_virtio_blk_destroy(m->blk);
	hvabs_virtio_rng_destroy(m->rng);
	hvabs_acpi_pm_destroy(m->pm);
	hvabs_rtc_destroy(m->rtc);
	hvabs_uart_destroy(m->uart);
	hvabs_vm_destroy(m->vm);
	hvabs_event_loop_destroy(m->loop);
	hvabs_backend_close(m->be);
	if (m->out_fd >= 0)
		close(m->out_fd);
}

static int expect(const char *out, const char *line)
{
	if (strstr(out, line))
		return 0;
	fprintf(stderr, "FAIL: no line containing \"%s\"\n", line);
	return 1;
}

static int check(struct machine *m, const char *out)
{
	char want[128], hex[40];
	uint8_t buf[512];
	int bad = 0;

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", (uint8_t)i); /* sector 0: s * 3 + i with s = 0 */
	snprintf(want, sizeof(want), "HVABS-TINY: virtio-blk sector0 %s ok", hex);
	bad |= expect(out, "HVABS-TINY: virtio devices 2");
	bad |= expect(out, "HVABS-TINY: virtio-mmio @0xd0000000 device 2");
	bad |= expect(out, "HVABS-TINY: virtio-mmio @0xd0001000 device 4");
	bad |= expect(out, "HVABS-TINY: virtio-blk capacity 2048 sectors");
	bad |= expect(out, "HVABS-TINY: virtio-blk id \"tiny-disk\"");
	bad |= expect(out, want);
	bad |= expect(out, "HVABS-TINY: virtio-blk wrote sector1 ok, flush ok");
	bad |= expect(out, "HVABS-TINY: virtio-rng 16 bytes ");
	bad |= expect(out, "HVABS-TINY: poweroff");
	const char *r = strstr(out, "HVABS-TINY: virtio-rng 16 bytes ");
	if (r && (!strncmp(r + 32, "00000000000000000000000000000000", 32) ||
		  strncmp(r + 64, " ok", 3))) {
		fprintf(stderr, "FAIL: the rng line is wrong\n");
		bad = 1;
	}
	int fd = open(m->img, O_RDONLY);
	if (fd < 0 || pread(fd, buf, 512, 512) != 512) {
		fprintf(stderr, "FAIL: cannot read back the image\n");
		return 1;
	}
	close(fd);
	for (int i = 0; i < 512; i++)
		if (buf[i] != (uint8_t)(i * 7 + 1)) {
			fprintf(stderr, "FAIL: sector 1 byte %d is 0x%02x\n", i, buf[i]);
			return 1;
		}
	return bad;
}

/* One boot of the guest; @p words: announce the devices on the command line too. */
static int boot(const char *elf, int words)
{
	struct machine m = {.out_fd = -1};
	struct hvabs_vm_config vc = {.max_vcpus = 1, .flags = HVABS_VM_IRQCHIP};
	struct hvabs_exit ex;
	pthread_t wd;
	int rc = 1;

	if (make_image(&m) || hvabs_backend_open("kvm", NULL, &m.be) ||
	    hvabs_vm_create(m.be, &vc, &m.vm) || hvabs_vm_add_ram(m.vm, 0, RAM, 0, NULL) ||
	    hvabs_vcpu_create(m.vm, 0, &m.cpu) || setup_cpuid(&m) ||
	    hvabs_event_loop_create(&m.loop) || devices(&m) || load(&m, elf, words) ||
	    pthread_create(&m.loop_thread, NULL, loop_main, &m)) {
		fprintf(stderr, "FAIL: cannot set up the machine\n");
		goto out;
	}
	pthread_create(&wd, NULL, watchdog, m.vm);
	pthread_detach(wd);
	do {
		if (hvabs_vcpu_run_loop(m.cpu, &ex)) {
			fprintf(stderr, "FAIL: run loop error\n");
			goto out;
		}
	} while (ex.kind == HVABS_EXIT_HLT);
	struct hvabs_virtio_mmio_stats st;
	hvabs_virtio_mmio_get_stats(hvabs_virtio_blk_transport(m.blk), &st);
	printf("virtio-blk: %llu notifications served, ioeventfd %s, irqfd %s\n",
	       (unsigned long long)st.notifies, st.kernel_ioeventfd ? "in KVM" : "core fallback",
	       st.kernel_irqfd ? "in KVM" : "core fallback");
	/* Get-ID, read, write, flush: each notified and served on the loop thread. */
	if (st.notifies < 4) {
		fprintf(stderr, "FAIL: only %llu notifications reached the device\n",
			(unsigned long long)st.notifies);
		goto out;
	}
	hvabs_virtio_blk_destroy(m.blk);
	m.blk = NULL;
	char out[16384] = "";
	ssize_t n = pread(m.out_fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	fputs(out, stdout);
	if (ex.kind != HVABS_EXIT_SYSTEM_EVENT ||
	    ex.u.system_event.type != HVABS_SYSTEM_EVENT_POWEROFF) {
		fprintf(stderr, "FAIL: the guest stopped with exit %u\n", ex.kind);
		goto out;
	}
	rc = check(&m, out);
out:
	teardown(&m);
	unlink(m.img);
	unlink(m.out);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TINY_ELF\n", argv[0]);
		return 2;
	}
	int rc = check_kvm();
	if (rc)
		return rc;
	printf("-- devices on the command line and in the DSDT\n");
	rc = boot(argv[1], 1);
	printf("-- devices found by probing the hvabs-vmm windows\n");
	rc |= boot(argv[1], 0);
	printf(rc ? "FAIL\n" : "PASS\n");
	return rc;
}
