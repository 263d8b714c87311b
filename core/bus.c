/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PIO and MMIO buses. Dispatch runs on every vCPU exit, so lookups take no
 * bus-wide lock: each bus is a copy-on-write table (cow_table.h) of the
 * registrations by base address, whose retired snapshots live until the VM
 * dies. A registration's own
 * mutex serialises its callbacks, and unregistration takes that mutex once
 * after unpublishing, so when it returns no callback runs or will run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

int core_bus_init(struct hvabs_vm *vm)
{
	for (int i = 0; i < 2; i++) {
		int rc = cow_table_init(&vm->bus[i]);
		if (rc) {
			core_bus_fini(vm);
			return rc;
		}
	}
	return 0;
}

void core_bus_fini(struct hvabs_vm *vm)
{
	for (int i = 0; i < 2; i++)
		cow_table_fini(&vm->bus[i]);
	struct hvabs_bus_dev *d = vm->all_devs;
	while (d) {
		struct hvabs_bus_dev *n = d->next_all;
		pthread_mutex_destroy(&d->lock);
		free(d);
		d = n;
	}
	vm->all_devs = NULL;
}

int hvabs_bus_register(struct hvabs_vm *vm, enum hvabs_space space, uint64_t base, uint64_t len,
		       const struct hvabs_bus_ops *ops, void *opaque, uint32_t flags,
		       struct hvabs_bus_dev **out)
{
	if (!vm || !ops || !len || base + len - 1 < base ||
	    (space != HVABS_SPACE_PIO && space != HVABS_SPACE_MMIO) ||
	    (space == HVABS_SPACE_PIO && base + len > 0x10000) || (flags & ~HVABS_BUS_F_NOLOCK))
		return -EINVAL;
	struct hvabs_bus_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->space = space;
	d->flags = flags;
	d->base = base;
	d->len = len;
	d->ops = ops;
	d->opaque = opaque;
	pthread_mutex_init(&d->lock, NULL);

	int rc = 0;
	pthread_mutex_lock(&vm->lock);
	const struct cow_entry *hit =
	    cow_snap_overlap(cow_table_snap(&vm->bus[space]), base, base + len - 1);
	if (hit) {
		const struct hvabs_bus_dev *o = hit->item;
		hvabs_log(&vm->be->logger, HVABS_LOG_ERROR, CORE,
			  "%s range 0x%llx+0x%llx overlaps a device at 0x%llx+0x%llx",
			  space == HVABS_SPACE_PIO ? "port" : "MMIO", (unsigned long long)base,
			  (unsigned long long)len, (unsigned long long)o->base,
			  (unsigned long long)o->len);
		rc = -EEXIST;
	}
	/* Hypervisors that only forward claimed ranges (Xen) learn of it here. */
	if (!rc && BE_HAS(vm->be, io_claim))
		rc = vm->be->ops->io_claim(vm->bvm, space, base, len);
	if (!rc)
		rc = cow_table_insert(&vm->bus[space], base, base + len - 1, d);
	if (!rc) {
		d->next_all = vm->all_devs;
		vm->all_devs = d;
	}
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return rc;
	}
	if (out)
		*out = d;
	return 0;
}

void hvabs_bus_unregister(struct hvabs_bus_dev *d)
{
	if (!d)
		return;
	struct hvabs_vm *vm = d->vm;
	pthread_mutex_lock(&vm->lock);
	if (!atomic_load(&d->removed)) {
		/* On allocation failure the device stays in the table but is
		 * marked removed, which dispatch honours: still correct. */
		(void)cow_table_remove(&vm->bus[d->space], d);
		atomic_store(&d->removed, true);
	}
	pthread_mutex_unlock(&vm->lock);
	/* Wait out a callback that looked the device up before it was removed. */
	pthread_mutex_lock(&d->lock);
	pthread_mutex_unlock(&d->lock);
}

void hvabs_bus_dev_lock(struct hvabs_bus_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void hvabs_bus_dev_unlock(struct hvabs_bus_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}

int core_bus_dispatch(struct hvabs_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		      int is_write, uint64_t *val)
{
	const struct cow_entry *e = cow_snap_find(cow_table_snap(&vm->bus[space]), addr);
	struct hvabs_bus_dev *d = e ? e->item : NULL;
	int rc = -ENOENT;

	if (!d)
		return -ENOENT;
	int locked = !(d->flags & HVABS_BUS_F_NOLOCK);
	if (locked)
		pthread_mutex_lock(&d->lock);
	if (!atomic_load_explicit(&d->removed, memory_order_relaxed)) {
		uint64_t off = addr - d->base;
		if (is_write && d->ops->write)
			rc = d->ops->write(d->opaque, off, size, *val);
		else if (!is_write && d->ops->read)
			rc = d->ops->read(d->opaque, off, size, val);
		else if (is_write)
			rc = 0; /* a read-only device ignores writes */
		else
			*val = ~0ull, rc = 0;
	}
	if (locked)
		pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		return rc;
	if (!is_write && size < 8)
		*val &= (1ull << (8 * size)) - 1;
	return 0;
}

int hvabs_bus_read(struct hvabs_vm *vm, enum hvabs_space space, uint64_t addr, uint32_t size,
		   uint64_t *val)
{
	if (!vm || !val || space > HVABS_SPACE_MMIO ||
	    !(size == 1 || size == 2 || size == 4 || size == 8))
		return -EINVAL;
	int rc = core_bus_dispatch(vm, space, addr, size, 0, val);
	if (rc < 0)
		*val = size < 8 ? (1ull << (8 * size)) - 1 : ~0ull;
	return rc;
}

int hvabs_bus_write(struct hvabs_vm *vm, enum hvabs_space space, uint64_t addr, uint32_t size,
		    uint64_t val)
{
	if (!vm || space > HVABS_SPACE_MMIO || !(size == 1 || size == 2 || size == 4 || size == 8))
		return -EINVAL;
	if (size < 8)
		val &= (1ull << (8 * size)) - 1;
	return core_bus_dispatch(vm, space, addr, size, 1, &val);
}
