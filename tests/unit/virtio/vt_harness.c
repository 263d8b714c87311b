/* SPDX-License-Identifier: Apache-2.0 */
/* Virtio test harness: backend selection, per-test VM, registers, pumping, RAM checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vt_harness.h"

/* Hang guard while waiting for an interrupt: generous, never the thing under test. */
#define WAIT_MS 20000

static const struct hvt_driver *driver;
static const char *options;
/* The options the backend gets: argv[2] less the words only the driver takes. */
static char backend_options[256];
/* The running VM has no kernel irqfd: interrupts wait for the event loop. */
static bool vm_fallback;
static bool vm_kernel_ioeventfd, vm_kernel_irqfd;

/*
 * The backend gets the driver's options and the test's. "noirqfd" and
 * "noioeventfd" ask for the core's fallbacks. The mock takes them as
 * backend options of its own; for another backend its driver makes the fake
 * hypervisor lack the kernel path (the MSHV driver: a /dev/mshv without
 * MSHV_IOEVENTFD), and the backend, which knows no such option, does not get
 * them.
 */
static void split_options(void)
{
	size_t len = 0;
	char copy[sizeof(backend_options)];

	backend_options[0] = '\0';
	if (driver->vm_options)
		len = (size_t)snprintf(backend_options, sizeof(backend_options), "%s",
				       driver->vm_options);
	if (!options)
		return;
	if (strlen(options) >= sizeof(copy)) {
		fprintf(stderr, "virtio-test options too long: %s\n", options);
		exit(1);
	}
	strcpy(copy, options);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(driver->backend, "mock") &&
		    (!strcmp(t, "noirqfd") || !strcmp(t, "noioeventfd")))
			continue;
		len += (size_t)snprintf(backend_options + len, sizeof(backend_options) - len,
					"%s%s", len ? "," : "", t);
	}
}

/* The backend must be there: a test whose fake cannot be loaded fails in setup. */
void vt_init(int argc, char **argv)
{
	driver = hvt_init(argc, argv, "virtio test");
	options = argc > 2 && argv[2][0] ? argv[2] : NULL;
	split_options();
}

const char *vt_options(void)
{
	return options ? options : "";
}

/*
 * Also true on a backend without kernel irqfds (Xen, MSHV): the core's irqfd
 * fallback delivers interrupts from the event loop, which the tests pump.
 * MSHV still has kernel MMIO ioeventfds unless "noioeventfd" is given, which
 * is why test_mmio (it checks that both paths agree) runs there only with it.
 */
bool vt_fallback(void)
{
	return (options && strstr(options, "noirqfd") && strstr(options, "noioeventfd")) ||
	       vm_fallback;
}

bool vt_kernel_ioeventfd(void)
{
	return vm_kernel_ioeventfd;
}

bool vt_kernel_irqfd(void)
{
	return vm_kernel_irqfd;
}

static int setup_failed(struct vt_env *env)
{
	hvabs_event_loop_destroy(env->loop);
	hvabs_vm_destroy(env->vm);
	hvabs_backend_close(env->h.be);
	free(env);
	return -1;
}

int vt_setup(void **state)
{
	struct vt_env *env = calloc(1, sizeof(*env));
	struct hvabs_vm_config vc = {.max_vcpus = 1,
				     .flags = driver->vm_flags,
				     .backend_options =
					 backend_options[0] ? backend_options : NULL};
	struct hvabs_backend_opts bo = {.no_install_dir = 1};
	void *hva = NULL;

	if (!env)
		return -1;
	env->h.drv = driver;
	env->h.options = options;
	if (hvabs_backend_open(driver->backend, &bo, &env->h.be) ||
	    hvabs_vm_create(env->h.be, &vc, &env->vm) || hvabs_vcpu_create(env->vm, 0, &env->cpu) ||
	    hvabs_vm_add_ram(env->vm, 0, VT_RAM_SIZE, 0, &hva) ||
	    hvabs_event_loop_create(&env->loop))
		return setup_failed(env);
	/* Set before attach: a driver may check that RAM is the hypervisor's. */
	env->mem = hvabs_vm_mem(env->vm);
	env->ram = hva;
	env->h.vm = env->vm;
	env->h.cpu = env->cpu;
	env->h.ram = hva;
	env->h.ram_size = VT_RAM_SIZE;
	env->h.data_gpa = VT_HEAP;
	if (driver->attach && driver->attach(&env->h))
		return setup_failed(env);
	vm_fallback = !hvabs_vm_has_cap(env->vm, HVABS_CAP_IRQFD);
	vm_kernel_irqfd = !vm_fallback && !(options && strstr(options, "noirqfd"));
	vm_kernel_ioeventfd =
	    hvabs_vm_has_cap(env->vm, HVABS_CAP_IOEVENTFD_MMIO | HVABS_CAP_IOEVENTFD_DATAMATCH) &&
	    !(options && strstr(options, "noioeventfd"));
	*state = env;
	return 0;
}

int vt_teardown(void **state)
{
	struct vt_env *env = *state;

	if (driver->detach)
		driver->detach(&env->h);
	hvabs_vm_destroy(env->vm);
	hvabs_event_loop_destroy(env->loop);
	hvabs_backend_close(env->h.be);
	free(env);
	return 0;
}

void vt_pump(struct vt_env *env)
{
	/* A device that keeps asking to be called again would show up as a hang here. */
	for (int i = 0; i < 100000; i++)
		if (hvabs_event_loop_run_once(env->loop, 0) <= 0)
			return;
	fail_msg("event loop never went idle");
}

uint32_t vt_rd(struct vt_env *env, uint64_t base, uint32_t off)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(env->vm, HVABS_SPACE_MMIO, base + off, 4, &v), 0);
	return (uint32_t)v;
}

void vt_wr(struct vt_env *env, uint64_t base, uint32_t off, uint32_t val)
{
	assert_int_equal(hvabs_bus_write(env->vm, HVABS_SPACE_MMIO, base + off, 4, val), 0);
}

/*
 * The guest's 32-bit store through the run loop, then `cli; hlt`. Xen sends
 * only claimed ranges to an ioreq server: the transport must have claimed it.
 */
void vt_notify(struct vt_env *env, uint64_t base, uint32_t q)
{
	vt_store(env, base + HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

void vt_store(struct vt_env *env, uint64_t addr, uint32_t val)
{
	const struct hvt_action acts[] = {{HVT_MMIO_WRITE, addr, 4, 1, val}, {HVT_HLT, 0, 0, 0, 0}};
	struct hvabs_exit ex;
	const char *why = hvt_lacks(driver, HVT_EXIT_HLT);

	if (why)
		fail_msg("%s cannot run virtio tests: %s", driver->name, why);
	if (driver->claimed)
		assert_int_equal(driver->claimed(&env->h, HVABS_SPACE_MMIO, addr, 4), 1);
	assert_int_equal(driver->program(&env->h, env->cpu, acts, 2), 0);
	assert_int_equal(hvabs_vcpu_run_loop(env->cpu, &ex), 0);
	assert_int_equal(ex.kind, HVABS_EXIT_HLT);
}

int vt_irqs(struct vt_env *env, int min)
{
	const char *why = hvt_lacks(driver, HVT_COUNT_IRQS);

	if (why)
		fail_msg("%s cannot run virtio tests: %s", driver->name, why);
	int n = driver->irqs(&env->h, VT_GSI, min, WAIT_MS);
	assert_true(n >= 0);
	return n;
}

int vt_line_level(struct vt_env *env)
{
	return driver->line_level(&env->h, VT_GSI);
}

uint32_t vt_negotiate(struct vt_env *env, uint64_t base, uint64_t accept, uint64_t *features)
{
	vt_wr(env, base, HVABS_VIRTIO_MMIO_STATUS, 0);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_STATUS, HVABS_VIRTIO_STATUS_ACKNOWLEDGE);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_STATUS,
	      HVABS_VIRTIO_STATUS_ACKNOWLEDGE | HVABS_VIRTIO_STATUS_DRIVER);
	uint64_t dev = 0;
	for (uint32_t sel = 0; sel < 2; sel++) {
		vt_wr(env, base, HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		dev |= (uint64_t)vt_rd(env, base, HVABS_VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel);
	}
	uint64_t f = dev & accept;
	for (uint32_t sel = 0; sel < 2; sel++) {
		vt_wr(env, base, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		vt_wr(env, base, HVABS_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> (32 * sel)));
	}
	vt_wr(env, base, HVABS_VIRTIO_MMIO_STATUS,
	      HVABS_VIRTIO_STATUS_ACKNOWLEDGE | HVABS_VIRTIO_STATUS_DRIVER |
		  HVABS_VIRTIO_STATUS_FEATURES_OK);
	if (features)
		*features = f;
	return vt_rd(env, base, HVABS_VIRTIO_MMIO_STATUS);
}

void vt_queue(struct vt_env *env, uint64_t base, uint32_t q, const struct vqb *b)
{
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(vt_rd(env, base, HVABS_VIRTIO_MMIO_QUEUE_READY), 0);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_NUM, b->size);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)b->desc);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(b->desc >> 32));
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)b->avail);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(b->avail >> 32));
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)b->used);
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(b->used >> 32));
	vt_wr(env, base, HVABS_VIRTIO_MMIO_QUEUE_READY, 1);
}

void vt_driver_ok(struct vt_env *env, uint64_t base)
{
	uint32_t s = vt_rd(env, base, HVABS_VIRTIO_MMIO_STATUS);

	vt_wr(env, base, HVABS_VIRTIO_MMIO_STATUS, s | HVABS_VIRTIO_STATUS_DRIVER_OK);
}

void vt_vqb(struct vt_env *env, struct vqb *b, uint32_t q, uint32_t size)
{
	assert_true(q < 8);
	assert_int_equal(vqb_init(b, env->mem, size, VT_RINGS + q * 0x100000ull,
				  VT_HEAP + q * (VT_HEAP_LEN / 8), VT_HEAP_LEN / 8),
			 0);
}

uint8_t *vt_ram_copy(struct vt_env *env)
{
	uint8_t *c = malloc(VT_RAM_SIZE);

	assert_non_null(c);
	memcpy(c, env->ram, VT_RAM_SIZE);
	return c;
}

void vt_ram_same(struct vt_env *env, const uint8_t *copy, const struct vt_range *skip, int n)
{
	for (uint64_t a = 0; a < VT_RAM_SIZE; a++) {
		if (env->ram[a] == copy[a])
			continue;
		bool allowed = false;
		for (int i = 0; i < n && !allowed; i++)
			allowed = a >= skip[i].gpa && a - skip[i].gpa < skip[i].len;
		if (!allowed)
			fail_msg("guest RAM at 0x%llx changed: 0x%02x -> 0x%02x",
				 (unsigned long long)a, copy[a], env->ram[a]);
	}
}

int vt_msis(struct vt_env *env, uint32_t data, int min)
{
	const char *why = hvt_lacks(driver, HVT_SEE_MSI);
	int n = 0;

	if (why)
		fail_msg("%s cannot show MSIs: %s", driver->name, why);
	/* observe_irq() consumes one message per call; at least @p min, then what is there. */
	while (driver->observe_irq(&env->h, 1, data, n < min ? WAIT_MS : 0) == 0)
		n++;
	return n;
}
