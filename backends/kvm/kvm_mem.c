/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory: one KVM memory slot per region (api.rst 4.35,
 * KVM_SET_USER_MEMORY_REGION). Slot numbers are handed out lowest-free and
 * reused after a region is removed; read-only slots need KVM_CAP_READONLY_MEM
 * (guest writes then exit as MMIO), dirty-logged slots are read with
 * KVM_GET_DIRTY_LOG (api.rst 4.8).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_ram.h"
#include "kvm_priv.h"

/* Finds the slot whose region starts at @p gpa. vm->lock held. */
static int slot_at(struct hvabs_be_vm *vm, uint64_t gpa)
{
	for (uint32_t i = 0; i < vm->nslots; i++)
		if (vm->slots[i].used && vm->slots[i].gpa == gpa)
			return (int)i;
	return -1;
}

static int overlaps(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	for (uint32_t i = 0; i < vm->nslots; i++) {
		const struct kvm_slot *s = &vm->slots[i];
		if (s->used && gpa <= s->gpa + (s->size - 1) && s->gpa <= gpa + (size - 1))
			return 1;
	}
	return 0;
}

/* Returns the lowest free slot number, growing the table. vm->lock held. */
static int slot_get_free(struct hvabs_be_vm *vm, uint32_t *id)
{
	for (uint32_t i = 0; i < vm->nslots; i++)
		if (!vm->slots[i].used) {
			*id = i;
			return 0;
		}
	if (vm->nslots >= vm->max_slots)
		return -ENOSPC;
	uint32_t n = vm->nslots ? vm->nslots * 2 : 8;
	if (n > vm->max_slots)
		n = vm->max_slots;
	struct kvm_slot *p = realloc(vm->slots, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + vm->nslots, 0, (n - vm->nslots) * sizeof(*p));
	*id = vm->nslots;
	vm->slots = p;
	vm->nslots = n;
	return 0;
}

static int set_region(struct hvabs_be_vm *vm, uint32_t id, uint64_t gpa, uint64_t size, void *hva,
		      uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = id,
	    .flags = ((flags & HVABS_MEM_READONLY) ? KVM_MEM_READONLY : 0u) |
		     ((flags & HVABS_MEM_DIRTY_LOG) ? KVM_MEM_LOG_DIRTY_PAGES : 0u),
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return kvm_vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static int check_flags(struct hvabs_be_vm *vm, uint32_t flags)
{
	if (flags & ~(uint32_t)(HVABS_MEM_READONLY | HVABS_MEM_DIRTY_LOG))
		return -EINVAL;
	if ((flags & HVABS_MEM_READONLY) && !(vm->features & HVABS_CAP_READONLY_MEM))
		return -ENOTSUP;
	return 0;
}

static int slot_add(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags,
		    int owned)
{
	uint32_t id;
	int rc;

	pthread_mutex_lock(&vm->lock);
	if (overlaps(vm, gpa, size)) {
		rc = -EEXIST;
		goto out;
	}
	rc = slot_get_free(vm, &id);
	if (rc)
		goto out;
	rc = set_region(vm, id, gpa, size, hva, flags);
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"slot %u at 0x%llx (0x%llx bytes): KVM_SET_USER_MEMORY_REGION: %s",
				id, (unsigned long long)gpa, (unsigned long long)size,
				strerror(-rc));
		goto out;
	}
	vm->slots[id] = (struct kvm_slot){
	    .gpa = gpa, .size = size, .hva = hva, .flags = flags, .owned = owned, .used = 1};
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int kvm_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva)
{
	int rc = check_flags(vm, flags);

	return rc ? rc : guest_ram_alloc(vm, gpa, size, flags, slot_add, hva);
}

int kvm_mem_map(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	int rc = check_flags(vm, flags);

	if (rc)
		return rc;
	if (!size || !hva)
		return -EINVAL;
	return slot_add(vm, gpa, size, hva, flags, 0);
}

int kvm_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	int rc;

	pthread_mutex_lock(&vm->lock);
	int id = slot_at(vm, gpa);
	if (id < 0 || vm->slots[id].size != size) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOENT;
	}
	struct kvm_slot s = vm->slots[id];
	/* A zero size deletes the slot (api.rst 4.35). */
	rc = set_region(vm, (uint32_t)id, gpa, 0, s.hva, 0);
	if (!rc)
		vm->slots[id].used = 0;
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM, "deleting slot %d: %s", id,
				strerror(-rc));
		return rc;
	}
	if (s.owned)
		guest_ram_free(s.hva, s.size);
	return 0;
}

int kvm_dirty_log(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	struct kvm_dirty_log log;
	int rc;

	/* Held across the ioctl so the slot cannot be deleted and reused meanwhile. */
	pthread_mutex_lock(&vm->lock);
	int id = slot_at(vm, gpa);
	if (id < 0 || vm->slots[id].size != size) {
		rc = -ENOENT;
	} else if (!(vm->slots[id].flags & HVABS_MEM_DIRTY_LOG)) {
		rc = -EINVAL; /* the region was not added with HVABS_MEM_DIRTY_LOG */
	} else {
		/*
		 * KVM's bitmap is an array of 64-bit longs, bit n = page n,
		 * which is exactly ours; it is written only when the ioctl
		 * succeeds, which also clears the log and re-protects the
		 * pages.
		 */
		memset(&log, 0, sizeof(log));
		log.slot = (uint32_t)id;
		log.dirty_bitmap = bitmap;
		rc = kvm_vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/* Frees the slot table and the RAM this backend allocated (the VM fd is closed). */
void kvm_mem_fini(struct hvabs_be_vm *vm)
{
	for (uint32_t i = 0; i < vm->nslots; i++)
		if (vm->slots[i].used && vm->slots[i].owned)
			guest_ram_free(vm->slots[i].hva, vm->slots[i].size);
	free(vm->slots);
	vm->slots = NULL;
	vm->nslots = 0;
}
