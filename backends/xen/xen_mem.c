/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM. Xen owns it: in direct mode we populate the domain's physmap
 * range by range as the VMM asks (2 MiB extents where aligned, as libxc's
 * builder prefers, else 4 KiB), then map it into the VMM with
 * xenforeignmemory_map; in attach mode the RAM is the toolstack's and we only
 * map it. The map of regions is what string ioreqs copy through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_priv.h"

#define SUPER_ORDER 9 /* 2 MiB */
#define SUPER_PAGES (1ull << SUPER_ORDER)
#define E820_RAM    1
/* What libxl adds to a domain's memory limit above its RAM (LIBXL_MAXMEM_CONSTANT). */
#define MAXMEM_SLACK_KB 1024ull

static int populate_run(struct hvabs_be_vm *vm, uint64_t pfn, uint64_t pages, unsigned order)
{
	uint64_t n = pages >> order;
	xen_pfn_t *ext = malloc((size_t)n * sizeof(*ext));
	int rc;

	if (!ext)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		ext[i] = pfn + (i << order);
	pthread_mutex_lock(&vm->xc_lock);
	rc = vm->x->xc_domain_populate_physmap_exact(vm->xch, vm->domid, n, order, 0, ext)
		 ? xen_errno()
		 : 0;
	pthread_mutex_unlock(&vm->xc_lock);
	free(ext);
	return rc;
}

static int give_back(struct hvabs_be_vm *vm, uint64_t pfn, uint64_t pages)
{
	xen_pfn_t *ext = malloc((size_t)pages * sizeof(*ext));
	int rc;

	if (!ext)
		return -ENOMEM;
	for (uint64_t i = 0; i < pages; i++)
		ext[i] = pfn + i;
	pthread_mutex_lock(&vm->xc_lock);
	rc = vm->x->xc_domain_decrease_reservation_exact(vm->xch, vm->domid, pages, 0, ext)
		 ? xen_errno()
		 : 0;
	pthread_mutex_unlock(&vm->xc_lock);
	free(ext);
	return rc;
}

/* Raises the domain's memory limit and its paging pool for @p extra more bytes of RAM. */
static int grow_limits(struct hvabs_be_vm *vm, uint64_t extra)
{
	uint64_t total = vm->ram_bytes + extra;
	/* libxl_get_required_shadow_memory(): 1 MiB per vCPU plus 8 KiB per MiB of RAM. */
	uint64_t pool = (256ull * vm->max_vcpus + 2 * (total >> 20)) * XEN_PAGE;
	int rc = 0;

	pthread_mutex_lock(&vm->xc_lock);
	if (vm->x->xc_domain_setmaxmem(vm->xch, vm->domid, (total >> 10) + MAXMEM_SLACK_KB))
		rc = xen_errno();
	else if (vm->x->xc_set_paging_mempool_size(vm->xch, vm->domid, pool))
		rc = xen_errno();
	pthread_mutex_unlock(&vm->xc_lock);
	return rc;
}

/* After a failed populate: what a failed run got part way is given back page by page. */
static void undo_populate(struct hvabs_be_vm *vm, uint64_t pfn, uint64_t done, uint64_t failed)
{
	if (done)
		(void)give_back(vm, pfn, done);
	for (uint64_t i = 0; i < failed; i++)
		(void)give_back(vm, pfn + done + i, 1);
}

/* Direct mode: gives the domain RAM at [pfn, pfn + pages). */
static int populate(struct hvabs_be_vm *vm, uint64_t pfn, uint64_t pages)
{
	uint64_t head = (SUPER_PAGES - (pfn & (SUPER_PAGES - 1))) & (SUPER_PAGES - 1);
	uint64_t run[3], done = 0;
	int rc = grow_limits(vm, pages * XEN_PAGE);

	if (head > pages)
		head = pages;
	run[0] = head;
	run[1] = (pages - head) & ~(SUPER_PAGES - 1);
	run[2] = pages - run[0] - run[1];
	for (int i = 0; i < 3 && !rc; i++) {
		if (!run[i])
			continue;
		if (i == 1 && !populate_run(vm, pfn + done, run[i], SUPER_ORDER)) {
			done += run[i];
			continue;
		}
		/* No 2 MiB extent left, or an unaligned end: single pages. */
		rc = populate_run(vm, pfn + done, run[i], 0);
		if (rc)
			undo_populate(vm, pfn, done, run[i]);
		else
			done += run[i];
	}
	if (rc)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN,
				"d%u: cannot populate %llu MiB of RAM at 0x%llx: %s", vm->domid,
				(unsigned long long)(pages >> 8),
				(unsigned long long)(pfn << XEN_PAGE_SHIFT), strerror(-rc));
	return rc;
}

static void *map_range(struct hvabs_be_vm *vm, uint64_t pfn, uint64_t pages)
{
	xen_pfn_t *arr = malloc((size_t)pages * sizeof(*arr));
	int *err = calloc((size_t)pages, sizeof(*err));
	void *p = NULL;

	if (!arr || !err)
		goto out;
	for (uint64_t i = 0; i < pages; i++)
		arr[i] = pfn + i;
	p = vm->x->xenforeignmemory_map(vm->fmem, vm->domid, PROT_READ | PROT_WRITE, pages, arr,
					err);
	if (!p) {
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, XEN, "d%u: cannot map RAM at 0x%llx: %s",
				vm->domid, (unsigned long long)(pfn << XEN_PAGE_SHIFT),
				strerror(-xen_errno()));
		goto out;
	}
	for (uint64_t i = 0; i < pages; i++)
		if (err[i]) {
			hvabs_host_logf(
			    vm->host, HVABS_LOG_ERROR, XEN, "d%u: no RAM at 0x%llx (%s)%s",
			    vm->domid, (unsigned long long)((pfn + i) << XEN_PAGE_SHIFT),
			    strerror(err[i] < 0 ? -err[i] : err[i]),
			    vm->attach ? ": is the VM's memory size the domain's?" : "");
			vm->x->xenforeignmemory_unmap(vm->fmem, p, pages);
			p = NULL;
			break;
		}
out:
	free(arr);
	free(err);
	return p;
}

int xen_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva)
{
	uint64_t pfn = gpa >> XEN_PAGE_SHIFT, pages = size >> XEN_PAGE_SHIFT;
	int rc = 0;

	if (flags)
		return -ENOTSUP;
	if (!size || (gpa | size) & (XEN_PAGE - 1) || gpa + size < gpa)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if (vm->ram.n == XEN_MAX_REGIONS) {
		rc = -ENOSPC;
		goto out;
	}
	if (!vm->attach)
		rc = populate(vm, pfn, pages);
	if (rc)
		goto out;
	void *p = map_range(vm, pfn, pages);
	if (!p) {
		if (!vm->attach)
			(void)give_back(vm, pfn, pages);
		rc = -EFAULT;
		goto out;
	}
	pthread_rwlock_wrlock(&vm->ram.lock);
	vm->ram.r[vm->ram.n++] = (struct xen_region){gpa, size, p, !vm->attach};
	pthread_rwlock_unlock(&vm->ram.lock);
	if (!vm->attach)
		vm->ram_bytes += size;
	*hva = p;
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int xen_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size)
{
	struct xen_region r;
	int found = 0;

	pthread_mutex_lock(&vm->lock);
	pthread_rwlock_wrlock(&vm->ram.lock);
	for (uint32_t i = 0; i < vm->ram.n; i++)
		if (vm->ram.r[i].gpa == gpa && vm->ram.r[i].size == size) {
			r = vm->ram.r[i];
			vm->ram.r[i] = vm->ram.r[--vm->ram.n];
			found = 1;
			break;
		}
	pthread_rwlock_unlock(&vm->ram.lock);
	if (found) {
		vm->x->xenforeignmemory_unmap(vm->fmem, r.hva, size >> XEN_PAGE_SHIFT);
		if (r.populated) {
			int rc = give_back(vm, gpa >> XEN_PAGE_SHIFT, size >> XEN_PAGE_SHIFT);
			if (rc)
				hvabs_host_logf(vm->host, HVABS_LOG_WARN, XEN,
						"d%u: RAM at 0x%llx unmapped but not returned: %s",
						vm->domid, (unsigned long long)gpa, strerror(-rc));
			vm->ram_bytes -= size;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return found ? 0 : -ENOENT;
}

/* Unmaps every region; the pages themselves go with the domain (or stay its owner's). */
void xen_mem_fini(struct hvabs_be_vm *vm)
{
	for (uint32_t i = 0; i < vm->ram.n; i++)
		vm->x->xenforeignmemory_unmap(vm->fmem, vm->ram.r[i].hva,
					      vm->ram.r[i].size >> XEN_PAGE_SHIFT);
	vm->ram.n = 0;
}

/* Direct mode, before the first run: the guest's XENMEM_memory_map is our RAM. */
int xen_mem_publish_map(struct hvabs_be_vm *vm)
{
	struct e820entry e[XEN_MAX_REGIONS];
	uint32_t n = 0;
	int rc;

	pthread_rwlock_rdlock(&vm->ram.lock);
	for (uint32_t i = 0; i < vm->ram.n; i++) {
		e[n].addr = vm->ram.r[i].gpa;
		e[n].size = vm->ram.r[i].size;
		e[n].type = E820_RAM;
		n++;
	}
	pthread_rwlock_unlock(&vm->ram.lock);
	/* Sorted, as an e820 map is read. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && e[j - 1].addr > e[j].addr; j--) {
			struct e820entry t = e[j];
			e[j] = e[j - 1];
			e[j - 1] = t;
		}
	pthread_mutex_lock(&vm->xc_lock);
	rc = vm->x->xc_domain_set_memory_map(vm->xch, vm->domid, e, n) ? xen_errno() : 0;
	pthread_mutex_unlock(&vm->xc_lock);
	return rc;
}
