/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Assembling hvabs-vmm's machine from the config, in order: the VM, its RAM
 * (the machine layer's memory map: below 3 GiB and from 4 GiB), a userspace
 * I/O APIC where the hypervisor has none, the event loop, the console, the
 * devices (devices.c), the vCPUs with their CPUID and local APIC, and the
 * kernel with its command line and tables; and taking it apart again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hvabs/loader.h>

#include "vmm.h"

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

static void unmap_file(struct mapped_file *f)
{
	if (f->p)
		munmap(f->p, f->size);
	f->p = NULL;
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

static int create_vcpus(struct machine *m, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < m->ncpus; i++) {
		m->cpus[i].m = m;
		int rc = hvabs_vcpu_create(m->vm, i, &m->cpus[i].cpu);
		if (!rc)
			rc = setup_cpuid(m, i);
		if (!rc)
			rc = setup_lapic(m, i);
		if (!rc && m->trace)
			vmm_trace_attach(m->trace, m->cpus[i].cpu);
		if (rc) {
			snprintf(err, errlen, "vcpu%u: %s", i, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* The kernel command line: the user's (or ours) with root=, then the machine's virtio_mmio.device= words. */
static char *kernel_cmdline(struct machine *m)
{
	char *base = vmm_config_kernel_cmdline(m->cfg);
	char *s = NULL;
	size_t len = 0;

	if (base && hvabs_machine_cmdline(m->plan, base, NULL, &len) == -ENOSPC)
		s = malloc(len);
	if (s && hvabs_machine_cmdline(m->plan, base, s, &len)) {
		free(s);
		s = NULL;
	}
	free(base);
	return s;
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
	char *cmdline = kernel_cmdline(m);
	if (!cmdline) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lc.cmdline = cmdline;
	hvabs_machine_platform(m->plan, &lc.platform);
	int rc = hvabs_linux_load(hvabs_vm_mem(m->vm), &lc, &boot, lerr, sizeof(lerr));
	free(cmdline);
	if (rc) {
		snprintf(err, errlen, "--kernel %s: %s", c->kernel, lerr);
		return -1;
	}
	/* The guest has its copy now: do not keep ~70 MiB of files mapped for the whole run. */
	unmap_file(&m->kernel);
	unmap_file(&m->initrd);
	rc = hvabs_linux_setup_vcpu(m->cpus[0].cpu, &boot);
	if (rc) {
		snprintf(err, errlen, "cannot set up the boot vCPU: %s", strerror(-rc));
		return -1;
	}
	return 0;
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

/* The VM, the machine plan for it, its RAM, and an I/O APIC if the hypervisor has none. */
static int create_vm(struct machine *m, struct hvabs_backend *be, char *err, size_t errlen)
{
	const struct vmm_config *cfg = m->cfg;
	char opts[1024];
	struct hvabs_vm_config vc = {.max_vcpus = cfg->cpus, .flags = HVABS_VM_IRQCHIP};
	struct hvabs_caps caps;
	const void *sink;
	void *sink_ctx;

	if (attach_options(cfg, be, opts, sizeof(opts), err, errlen))
		return -1;
	vc.backend_options = cfg->xen_domid >= 0 ? opts : cfg->backend_options;
	int rc = hvabs_vm_create(be, &vc, &m->vm);
	if (rc) {
		snprintf(err, errlen, "%s: cannot create a VM: %s", hvabs_backend_name(be),
			 strerror(-rc));
		return -1;
	}
	if (hvabs_vm_get_caps(m->vm, &caps)) {
		snprintf(err, errlen, "cannot read the backend's capabilities");
		return -1;
	}
	m->apic_id_stride = caps.apic_id_stride;
	struct hvabs_machine_config mc = {
	    .ram_size = cfg->mem_size,
	    .nr_cpus = cfg->cpus,
	    .apic_id_stride = caps.apic_id_stride,
	    .platform_flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042,
	};
	rc = hvabs_machine_create(&mc, &m->plan);
	if (!rc)
		rc = hvabs_machine_add_ram(m->plan, m->vm);
	if (rc) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
			 (unsigned long long)(cfg->mem_size >> 20), strerror(-rc));
		return -1;
	}
	/*
	 * A hypervisor without its own I/O APIC (MSHV) hands its interrupt lines
	 * to a userspace one through the line-sink extension.
	 */
	if (!(caps.irqchip & HVABS_IRQCHIP_IOAPIC) &&
	    !hvabs_vm_get_ext(m->vm, HVABS_IRQ_SINK_EXT_NAME, &sink, &sink_ctx)) {
		struct hvabs_ioapic_config ic = {.id = m->ncpus};
		if (hvabs_ioapic_create(m->vm, &ic, &m->ioapic)) {
			snprintf(err, errlen, "cannot create the I/O APIC");
			return -1;
		}
	}
	return 0;
}

static void on_console_quit(void *opaque)
{
	vmm_set_outcome(opaque, VMM_SIGNAL);
}

int machine_create(const struct vmm_config *cfg, struct vmm_seccomp *sc, struct hvabs_backend *be,
		   struct machine **out, char *err, size_t errlen)
{
	struct machine *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->cfg = cfg;
	m->sc = sc;
	m->ncpus = cfg->cpus;
	m->sigfd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	*out = m;
	if (cfg->trace_exits && vmm_trace_open(cfg->trace_exits, &m->trace, err, errlen))
		return -1;
	if (create_vm(m, be, err, errlen))
		return -1;
	if (hvabs_event_loop_create(&m->loop)) {
		snprintf(err, errlen, "cannot create the event loop");
		return -1;
	}
	/* Before the devices: every thread the library starts for them gets its filter. */
	hvabs_event_loop_set_thread_start(m->loop, vmm_run_io_thread_start, m);
	if (vmm_run_setup_events(m, err, errlen) ||
	    vmm_console_create(m->vm, m->loop, cfg, on_console_quit, m, &m->console, err, errlen) ||
	    vmm_devices_create_legacy(m, err, errlen) || create_vcpus(m, err, errlen) ||
	    vmm_devices_create_virtio(m, err, errlen))
		return -1;
	return cfg->xen_domid >= 0 ? 0 : load_kernel(m, err, errlen);
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	vmm_console_restore(m->console);
	vmm_devices_destroy(m);
	vmm_console_destroy(m->console);
	hvabs_ioapic_destroy(m->ioapic);
	hvabs_vm_destroy(m->vm);
	hvabs_machine_destroy(m->plan);
	hvabs_event_loop_destroy(m->loop);
	if (m->sigfd >= 0)
		close(m->sigfd);
	unmap_file(&m->kernel);
	unmap_file(&m->initrd);
	vmm_trace_close(m->trace);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
