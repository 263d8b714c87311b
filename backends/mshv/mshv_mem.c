/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory: regions mapped with MSHV_SET_GUEST_MEMORY, the dirty log
 * (GPA access tracking and MSHV_GET_GPAP_ACCESS_BITMAP), ioeventfds, and
 * the guest-physical and guest-virtual accessors the instruction emulation
 * uses. The region table is the backend's own: it says which GPAs are RAM
 * (read through the host's gpa callbacks), read-only RAM (writes go to the
 * MMIO bus, as #HVABS_CAP_READONLY_MEM promises) or neither (MMIO).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_ram.h"
#include "mshv_priv.h"

#define PAGE_MASK (MSHV_PAGE_SIZE - 1ull)

/* The region containing @p gpa, or NULL. mem_lock held. */
static struct mshv_region *region_at(struct hvabs_be_vm *vm, uint64_t gpa)
{
	for (uint32_t i = 0; i < vm->nregions; i++) {
		struct mshv_region *r = &vm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

static int overlaps(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	for (uint32_t i = 0; i < vm->nregions; i++) {
		struct mshv_region *r = &vm->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return 1;
	}
	return 0;
}

static int set_memory(struct hvabs_be_vm *vm, const struct mshv_region *r, int unmap)
{
	struct mshv_user_mem_region_args a = {
	    .size = r->size,
	    .guest_pfn = r->gpa / MSHV_PAGE_SIZE,
	    .userspace_addr = (uint64_t)(uintptr_t)r->hva,
	};

	if (unmap)
		a.flags = 1u << MSHV_SET_MEM_BIT_UNMAP;
	else
		a.flags =
		    (uint8_t)(((r->flags & HVABS_MEM_READONLY) ? 0
							       : 1u << MSHV_SET_MEM_BIT_WRITABLE) |
			      (1u << MSHV_SET_MEM_BIT_EXECUTABLE));
	int rc = mshv_ioctl(vm->sys, vm->pt_fd, MSHV_IOC_SET_GUEST_MEMORY, &a);
	if (rc < 0)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, MSHV,
				"MSHV_SET_GUEST_MEMORY %s 0x%llx+0x%llx: %s",
				unmap ? "unmap" : "map", (unsigned long long)r->gpa,
				(unsigned long long)r->size, strerror(-rc));
	return rc < 0 ? rc : 0;
}

/* Reads (and with @p clear, clears) the dirty bits of a range into @p bitmap. */
static int dirty_bits(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint8_t *bitmap)
{
	struct mshv_gpap_access_bitmap_args a = {
	    .access_type = MSHV_GPAP_ACCESS_TYPE_DIRTY,
	    .access_op = MSHV_GPAP_ACCESS_OP_CLEAR,
	    .page_count = size / MSHV_PAGE_SIZE,
	    .gpap_base = gpa / MSHV_PAGE_SIZE,
	    .bitmap_ptr = (uint64_t)(uintptr_t)bitmap,
	};
	int rc = mshv_ioctl(vm->sys, vm->pt_fd, MSHV_IOC_GET_GPAP_ACCESS_BITMAP, &a);

	return rc < 0 ? rc : 0;
}

/*
 * Dirty tracking is partition-wide: the first region that asks for it turns
 * GPA access tracking on, and each such region starts with its bits clear.
 */
static int start_dirty_log(struct hvabs_be_vm *vm, const struct mshv_region *r)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->dirty_tracking) {
		rc = mshv_set_property(vm, MSHV_PROP_GPA_PAGE_ACCESS_TRACKING, 1);
		vm->dirty_tracking = rc == 0;
	}
	pthread_mutex_unlock(&vm->lock);
	if (rc)
		return rc;
	uint8_t *bm = calloc((r->size / MSHV_PAGE_SIZE + 7) / 8, 1);
	if (!bm)
		return -ENOMEM;
	rc = dirty_bits(vm, r->gpa, r->size, bm);
	free(bm);
	return rc;
}

static int add_region(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva,
		      uint32_t flags, int owned)
{
	struct mshv_region r = {gpa, size, hva, flags, owned};
	int rc = 0;

	if (!size || ((gpa | size | (uint64_t)(uintptr_t)hva) & PAGE_MASK) || gpa + size < gpa)
		return -EINVAL;
	if (flags & ~(HVABS_MEM_READONLY | HVABS_MEM_DIRTY_LOG))
		return -ENOTSUP;
	pthread_rwlock_wrlock(&vm->mem_lock);
	if (overlaps(vm, gpa, size))
		rc = -EEXIST;
	if (!rc && vm->nregions == vm->regions_cap) {
		uint32_t cap = vm->regions_cap ? vm->regions_cap * 2 : 8;
		struct mshv_region *n = realloc(vm->regions, cap * sizeof(*n));
		if (n) {
			vm->regions = n;
			vm->regions_cap = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (!rc)
		rc = set_memory(vm, &r, 0);
	if (!rc && (flags & HVABS_MEM_DIRTY_LOG)) {
		rc = start_dirty_log(vm, &r);
		if (rc)
			(void)set_memory(vm, &r, 1);
	}
	if (!rc)
		vm->regions[vm->nregions++] = r;
	pthread_rwlock_unlock(&vm->mem_lock);
	return rc;
}

int mshv_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva)
{
	return guest_ram_alloc(vm, gpa, size, flags, add_region, hva);
}

int mshv_mem_map(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	return add_region(vm, gpa, size, hva, flags, 0);
}

int mshv_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&vm->mem_lock);
	for (uint32_t i = 0; i < vm->nregions; i++) {
		struct mshv_region r = vm->regions[i];
		if (r.gpa != gpa)
			continue;
		rc = r.size == size ? set_memory(vm, &r, 1) : -EINVAL;
		if (rc)
			break;
		if (r.owned)
			guest_ram_free(r.hva, r.size);
		vm->regions[i] = vm->regions[--vm->nregions];
		break;
	}
	pthread_rwlock_unlock(&vm->mem_lock);
	return rc;
}

int mshv_dirty_log(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	int rc;

	pthread_rwlock_rdlock(&vm->mem_lock);
	struct mshv_region *r = region_at(vm, gpa);
	if (!r || r->gpa != gpa || r->size != size)
		rc = -ENOENT;
	else if (!(r->flags & HVABS_MEM_DIRTY_LOG))
		rc = -EINVAL;
	else
		rc = 0;
	pthread_rwlock_unlock(&vm->mem_lock);
	if (rc)
		return rc;
	/* The kernel writes (pages + 7) / 8 bytes, bit 0 of byte 0 first: on a
	 * little-endian host that is the word layout the ABI asks for. */
	uint64_t pages = size / MSHV_PAGE_SIZE;
	memset(bitmap, 0, (size_t)((pages + 63) / 64) * sizeof(uint64_t));
	return dirty_bits(vm, gpa, size, (uint8_t *)bitmap);
}

int mshv_ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
		   uint32_t assign)
{
	struct mshv_user_ioeventfd_args a = {
	    .datamatch = ev->datamatch,
	    .addr = ev->addr,
	    .len = ev->len,
	    .fd = fd,
	};

	/* Upstream MSHV has no port-I/O ioeventfds (EOPNOTSUPP); the core's fallback serves them. */
	if (ev->space != HVABS_SPACE_MMIO)
		return -ENOTSUP;
	if (ev->flags & HVABS_IOEVENTFD_F_DATAMATCH)
		a.flags |= 1u << MSHV_IOEVENTFD_BIT_DATAMATCH;
	if (!assign)
		a.flags |= 1u << MSHV_IOEVENTFD_BIT_DEASSIGN;
	int rc = mshv_ioctl(vm->sys, vm->pt_fd, MSHV_IOC_IOEVENTFD, &a);
	return rc < 0 ? rc : 0;
}

void mshv_mem_fini(struct hvabs_be_vm *vm)
{
	for (uint32_t i = 0; i < vm->nregions; i++) {
		struct mshv_region *r = &vm->regions[i];
		if (vm->pt_fd >= 0)
			(void)set_memory(vm, r, 1);
		if (r->owned)
			guest_ram_free(r->hva, r->size);
	}
	free(vm->regions);
	vm->regions = NULL;
	vm->nregions = vm->regions_cap = 0;
}

/* ---- guest memory as the emulated instruction sees it ---- */

/* RAM through the host's gpa callbacks; anything else is MMIO. Never crosses a page. */
int mshv_guest_read(struct hvabs_be_vm *vm, uint64_t gpa, void *buf, uint32_t size)
{
	const struct hvabs_host_io *io = vm->io;

	if (!io || !io->gpa_read || !io->mmio_read)
		return -ENOTSUP;
	pthread_rwlock_rdlock(&vm->mem_lock);
	int ram = region_at(vm, gpa) != NULL;
	pthread_rwlock_unlock(&vm->mem_lock);
	if (ram)
		return io->gpa_read(io->opaque, gpa, buf, size);
	return io->mmio_read(io->opaque, gpa, buf, size);
}

int mshv_guest_write(struct hvabs_be_vm *vm, uint64_t gpa, const void *buf, uint32_t size)
{
	const struct hvabs_host_io *io = vm->io;

	if (!io || !io->gpa_write || !io->mmio_write)
		return -ENOTSUP;
	pthread_rwlock_rdlock(&vm->mem_lock);
	struct mshv_region *r = region_at(vm, gpa);
	int ram = r && !(r->flags & HVABS_MEM_READONLY);
	pthread_rwlock_unlock(&vm->mem_lock);
	if (ram)
		return io->gpa_write(io->opaque, gpa, buf, size);
	return io->mmio_write(io->opaque, gpa, buf, size);
}

/*
 * Guest-virtual to guest-physical through HvCallTranslateVirtualAddress on
 * the vCPU's fd. A walk that succeeds but ends outside RAM (MMIO, or RAM
 * the access may not use) still yields the GPA: that is where the access goes.
 */
int mshv_translate(struct hvabs_be_vcpu *v, uint64_t gva, int is_write, int is_exec, uint64_t *gpa)
{
	struct mshv_in_translate in = {
	    .vp_index = v->index,
	    .control_flags = MSHV_TRANSLATE_VALIDATE_READ,
	    .gva_page = gva / MSHV_PAGE_SIZE,
	};
	struct mshv_out_translate out = {0};

	if (is_write)
		in.control_flags |= MSHV_TRANSLATE_VALIDATE_WRITE;
	if (is_exec)
		in.control_flags |= MSHV_TRANSLATE_VALIDATE_EXECUTE;
	int rc = mshv_hvcall(v->vm->sys, v->fd, MSHV_HVCALL_TRANSLATE_VIRTUAL_ADDRESS, 0, &in,
			     sizeof(in), &out, sizeof(out));
	if (rc)
		return rc;
	uint32_t code = (uint32_t)out.result;
	switch (code) {
	case MSHV_TRANSLATE_SUCCESS:
	case MSHV_TRANSLATE_GPA_UNMAPPED:
	case MSHV_TRANSLATE_GPA_NO_READ:
	case MSHV_TRANSLATE_GPA_NO_WRITE:
		*gpa = out.gpa_page * MSHV_PAGE_SIZE + (gva & PAGE_MASK);
		return 0;
	default:
		return -EFAULT;
	}
}

/*
 * Reads or writes guest-virtual memory, one page at a time, remembering the
 * last translation in @p tlb (reset it per instruction). A translation made
 * for a read is not reused for a write: the page may be read-only.
 */
int mshv_gva_rw(struct hvabs_be_vcpu *v, struct mshv_tlb *tlb, uint64_t gva, void *buf,
		uint32_t size, int is_write, int is_exec)
{
	uint8_t *p = buf;

	while (size) {
		uint32_t chunk = MSHV_PAGE_SIZE - (uint32_t)(gva & PAGE_MASK);
		uint64_t page = gva & ~PAGE_MASK, gpa;
		if (chunk > size)
			chunk = size;
		if (tlb && tlb->valid && tlb->gva_page == page && (tlb->writable || !is_write)) {
			gpa = tlb->gpa_page | (gva & PAGE_MASK);
		} else {
			int rc = mshv_translate(v, gva, is_write, is_exec, &gpa);
			if (rc)
				return rc;
			if (tlb) {
				tlb->valid = 1;
				tlb->gva_page = page;
				tlb->gpa_page = gpa & ~PAGE_MASK;
				tlb->writable = is_write;
			}
		}
		int rc = is_write ? mshv_guest_write(v->vm, gpa, p, chunk)
				  : mshv_guest_read(v->vm, gpa, p, chunk);
		if (rc)
			return rc;
		gva += chunk;
		p += chunk;
		size -= chunk;
	}
	return 0;
}
