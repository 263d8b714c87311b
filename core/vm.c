/* SPDX-License-Identifier: Apache-2.0 */
/* VM lifetime, RAM, capabilities and the VM-wide backend ops. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "priv.h"

#define PAGE_MASK ((uint64_t)HVABS_PAGE_SIZE - 1)

static int read_caps(struct hvabs_vm *vm)
{
	struct hvabs_caps c;

	memset(&c, 0, sizeof(c));
	c.hdr = HVABS_HDR_INIT(struct hvabs_caps);
	int rc = vm->be->ops->vm_get_caps(vm->bvm, &c);
	if (rc)
		return rc;
	/* Trust only what the backend's own struct covers: a backend built
	 * against an older minor knows nothing of fields past its size. */
	uint32_t size = c.hdr.struct_size;
	if (size > sizeof(c))
		size = sizeof(c);
	memset(&vm->caps, 0, sizeof(vm->caps));
	if (size > sizeof(c.hdr))
		memcpy((char *)&vm->caps + sizeof(c.hdr), (char *)&c + sizeof(c.hdr),
		       size - sizeof(c.hdr));
	vm->caps.hdr = HVABS_HDR_INIT(struct hvabs_caps);
	return 0;
}

int hvabs_vm_create(struct hvabs_backend *be, const struct hvabs_vm_config *cfg,
		    struct hvabs_vm **out)
{
	struct hvabs_be_vm_config bc;
	struct hvabs_vm *vm;
	int rc;

	if (!be || !out)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->be = be;
	vm->max_vcpus = cfg && cfg->max_vcpus ? cfg->max_vcpus : 1;
	pthread_mutex_init(&vm->lock, NULL);
	rc = hvabs_mem_create(&vm->mem);
	if (rc)
		goto err_free;
	rc = core_bus_init(vm);
	if (rc)
		goto err_mem;
	rc = core_irq_init(vm);
	if (rc)
		goto err_bus;
	core_host_io_init(vm);
	vm->vcpus = calloc(vm->max_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		rc = -ENOMEM;
		goto err_bus;
	}

	/* The application's flag and the plugin ABI's are one bit on purpose. */
	_Static_assert(HVABS_VM_IRQCHIP == HVABS_VM_F_IRQCHIP, "VM flag values diverged");
	memset(&bc, 0, sizeof(bc));
	bc.hdr = HVABS_HDR_INIT(struct hvabs_be_vm_config);
	bc.max_vcpus = vm->max_vcpus;
	bc.flags = cfg ? cfg->flags : 0;
	bc.options = cfg ? cfg->backend_options : NULL;
	bc.io = &vm->host_io;
	rc = be->ops->vm_create(&be->host, &bc, &vm->bvm);
	if (rc) {
		hvabs_log(&be->logger, HVABS_LOG_ERROR, CORE, "%s: cannot create VM: %s", be->name,
			  strerror(-rc));
		goto err_vcpus;
	}
	rc = read_caps(vm);
	if (rc)
		goto err_bvm;
	if (vm->caps.max_vcpus && vm->max_vcpus > vm->caps.max_vcpus) {
		hvabs_log(&be->logger, HVABS_LOG_ERROR, CORE,
			  "%s: %u vCPUs requested but the hypervisor allows at most %u", be->name,
			  vm->max_vcpus, vm->caps.max_vcpus);
		rc = -EINVAL;
		goto err_bvm;
	}
	*out = vm;
	return 0;
err_bvm:
	be->ops->vm_destroy(vm->bvm);
err_vcpus:
	free(vm->vcpus);
err_bus:
	core_irq_fini(vm);
	core_bus_fini(vm);
err_mem:
	hvabs_mem_destroy(vm->mem);
err_free:
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return rc;
}

void hvabs_vm_destroy(struct hvabs_vm *vm)
{
	if (!vm)
		return;
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		hvabs_vcpu_destroy(vm->vcpus[i]);
	core_irq_fini(vm);
	/* The backend frees guest RAM; devices must not touch it afterwards,
	 * which holds because bus registrations die with the VM below. */
	vm->be->ops->vm_destroy(vm->bvm);
	core_bus_fini(vm);
	struct ram_region *r = vm->ram;
	while (r) {
		struct ram_region *n = r->next;
		free(r);
		r = n;
	}
	hvabs_mem_destroy(vm->mem);
	free(vm->vcpus);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int hvabs_vm_get_caps(const struct hvabs_vm *vm, struct hvabs_caps *caps)
{
	if (!vm || !caps)
		return -EINVAL;
	*caps = vm->caps;
	return 0;
}

bool hvabs_vm_has_cap(const struct hvabs_vm *vm, uint64_t cap)
{
	return (vm->caps.features & cap) == cap;
}

struct hvabs_backend *hvabs_vm_backend(const struct hvabs_vm *vm)
{
	return vm->be;
}

struct hvabs_mem *hvabs_vm_mem(const struct hvabs_vm *vm)
{
	return vm->mem;
}

const struct hvabs_logger *hvabs_vm_logger(const struct hvabs_vm *vm)
{
	return &vm->be->logger;
}

static int check_range(uint64_t gpa, uint64_t size)
{
	if (!size || (gpa & PAGE_MASK) || (size & PAGE_MASK) || gpa + size - 1 < gpa)
		return -EINVAL;
	return 0;
}

static int check_mem_flags(const struct hvabs_vm *vm, uint32_t flags)
{
	if (flags & ~(uint32_t)(HVABS_MEM_READONLY | HVABS_MEM_DIRTY_LOG))
		return -EINVAL;
	if ((flags & HVABS_MEM_READONLY) && !hvabs_vm_has_cap(vm, HVABS_CAP_READONLY_MEM))
		return -ENOTSUP;
	if ((flags & HVABS_MEM_DIRTY_LOG) && !hvabs_vm_has_cap(vm, HVABS_CAP_DIRTY_LOG))
		return -ENOTSUP;
	return 0;
}

static int overlaps(struct hvabs_vm *vm, uint64_t gpa, uint64_t size)
{
	for (struct ram_region *r = vm->ram; r; r = r->next)
		if (gpa <= r->gpa + (r->size - 1) && r->gpa <= gpa + (size - 1))
			return 1;
	return 0;
}

/* Common tail of add_ram and map_memory: remember the region and publish it. */
static int add_region(struct hvabs_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	struct ram_region *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	int rc = hvabs_mem_add_region(vm->mem, gpa, size, hva,
				      flags & HVABS_MEM_READONLY ? HVABS_REGION_READONLY : 0);
	if (rc) {
		free(r);
		return rc;
	}
	r->gpa = gpa;
	r->size = size;
	r->next = vm->ram;
	vm->ram = r;
	return 0;
}

int hvabs_vm_add_ram(struct hvabs_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva)
{
	void *p = NULL;
	int rc = check_range(gpa, size);

	if (!rc)
		rc = check_mem_flags(vm, flags);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	if (overlaps(vm, gpa, size)) {
		rc = -EEXIST;
		goto out;
	}
	rc = vm->be->ops->mem_alloc(vm->bvm, gpa, size, flags, &p);
	if (rc)
		goto out;
	rc = add_region(vm, gpa, size, p, flags);
	if (rc) {
		if (BE_HAS(vm->be, mem_unmap))
			(void)vm->be->ops->mem_unmap(vm->bvm, gpa, size);
		goto out;
	}
	if (hva)
		*hva = p;
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int hvabs_vm_map_memory(struct hvabs_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	int rc = check_range(gpa, size);

	if (!rc && (!hva || ((uintptr_t)hva & PAGE_MASK)))
		rc = -EINVAL;
	if (!rc)
		rc = check_mem_flags(vm, flags);
	if (rc)
		return rc;
	if (!BE_HAS(vm->be, mem_map) || !hvabs_vm_has_cap(vm, HVABS_CAP_MEM_MAP))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->lock);
	if (overlaps(vm, gpa, size)) {
		rc = -EEXIST;
		goto out;
	}
	rc = vm->be->ops->mem_map(vm->bvm, gpa, size, hva, flags);
	if (rc)
		goto out;
	rc = add_region(vm, gpa, size, hva, flags);
	if (rc && BE_HAS(vm->be, mem_unmap))
		(void)vm->be->ops->mem_unmap(vm->bvm, gpa, size);
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int hvabs_vm_unmap_memory(struct hvabs_vm *vm, uint64_t gpa)
{
	int rc = -ENOENT;

	if (!BE_HAS(vm->be, mem_unmap))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->lock);
	for (struct ram_region **pp = &vm->ram; *pp; pp = &(*pp)->next) {
		struct ram_region *r = *pp;
		if (r->gpa != gpa)
			continue;
		rc = vm->be->ops->mem_unmap(vm->bvm, r->gpa, r->size);
		if (rc)
			break;
		rc = hvabs_mem_remove_region(vm->mem, gpa);
		*pp = r->next;
		free(r);
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int hvabs_vm_get_dirty_log(struct hvabs_vm *vm, uint64_t gpa, uint64_t *bitmap, size_t words)
{
	if (!BE_HAS(vm->be, dirty_log) || !hvabs_vm_has_cap(vm, HVABS_CAP_DIRTY_LOG))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->lock);
	struct ram_region *r = vm->ram;
	while (r && r->gpa != gpa)
		r = r->next;
	pthread_mutex_unlock(&vm->lock);
	if (!r)
		return -ENOENT;
	uint64_t pages = r->size / HVABS_PAGE_SIZE;
	if (words < (pages + 63) / 64)
		return -ENOSPC;
	return vm->be->ops->dirty_log(vm->bvm, r->gpa, r->size, bitmap);
}

int hvabs_vm_pause(struct hvabs_vm *vm)
{
	if (!BE_HAS(vm->be, pause))
		return -ENOTSUP;
	return vm->be->ops->pause(vm->bvm);
}

int hvabs_vm_resume(struct hvabs_vm *vm)
{
	if (!BE_HAS(vm->be, resume))
		return -ENOTSUP;
	return vm->be->ops->resume(vm->bvm);
}

int hvabs_vm_get_state(struct hvabs_vm *vm, void *buf, size_t *len)
{
	if (!len)
		return -EINVAL;
	if (!BE_HAS(vm->be, get_state))
		return -ENOTSUP;
	return vm->be->ops->get_state(vm->bvm, buf, len);
}

int hvabs_vm_set_state(struct hvabs_vm *vm, const void *buf, size_t len)
{
	if (!buf)
		return -EINVAL;
	if (!BE_HAS(vm->be, set_state))
		return -ENOTSUP;
	return vm->be->ops->set_state(vm->bvm, buf, len);
}

int hvabs_vm_get_time(const struct hvabs_vm *vm, uint64_t *ns)
{
	struct timespec ts;

	if (hvabs_vm_has_cap(vm, HVABS_CAP_CLOCK) && BE_HAS(vm->be, get_clock))
		return vm->be->ops->get_clock(vm->bvm, ns);
	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

/* vm_stop was appended to the v1 table: it must stay right after vm_get_ext. */
_Static_assert(offsetof(struct hvabs_backend_ops, vm_stop) ==
		   offsetof(struct hvabs_backend_ops, vm_get_ext) + sizeof(void (*)(void)),
	       "vm_stop is the last op of ABI 1.0");

void hvabs_vm_request_stop(struct hvabs_vm *vm, enum hvabs_stop_reason reason)
{
	int none = HVABS_STOP_NONE;

	if (reason == HVABS_STOP_NONE)
		return;
	/*
	 * Only the request that sets the reason tells the backend, and before
	 * any vCPU is kicked: by the time a run loop returns the stop, the
	 * hypervisor has heard why (Xen then holds the guest's vCPUs, so none
	 * runs on past its power-off write).
	 */
	if (atomic_compare_exchange_strong(&vm->stop_reason, &none, (int)reason) &&
	    BE_HAS(vm->be, vm_stop)) {
		int rc = vm->be->ops->vm_stop(vm->bvm, (uint32_t)reason);
		if (rc)
			hvabs_log(&vm->be->logger, HVABS_LOG_WARN, CORE,
				  "%s: cannot tell the hypervisor why the VM stops (reason %d): %s",
				  vm->be->name, (int)reason, strerror(-rc));
	}
	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->max_vcpus; i++)
		if (vm->vcpus[i]) {
			atomic_store(&vm->vcpus[i]->stop_kick, 1);
			(void)vm->be->ops->vcpu_kick(vm->vcpus[i]->bvcpu);
		}
	pthread_mutex_unlock(&vm->lock);
}

enum hvabs_stop_reason hvabs_vm_stop_reason(const struct hvabs_vm *vm)
{
	return (enum hvabs_stop_reason)atomic_load(&((struct hvabs_vm *)vm)->stop_reason);
}

void hvabs_vm_clear_stop(struct hvabs_vm *vm)
{
	atomic_store(&vm->stop_reason, HVABS_STOP_NONE);
}

int hvabs_vm_get_ext(struct hvabs_vm *vm, const char *name, const void **table, void **ctx)
{
	if (!vm || !name || !table || !ctx)
		return -EINVAL;
	if (!BE_HAS(vm->be, vm_get_ext))
		return -ENOTSUP;
	return vm->be->ops->vm_get_ext(vm->bvm, name, table, ctx);
}

int hvabs_vm_get_supported_cpuid(struct hvabs_vm *vm, struct hvabs_cpuid_entry *entries,
				 uint32_t *count)
{
	if (!entries || !count)
		return -EINVAL;
	if (!BE_HAS(vm->be, get_supported_cpuid))
		return -ENOTSUP;
	return vm->be->ops->get_supported_cpuid(vm->bvm, entries, count);
}
