/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PIO and MMIO buses. Dispatch runs on every vCPU exit, so lookups take no
 * bus-wide lock: each bus is an immutable, sorted snapshot published with a
 * release store and searched with an acquire load. Registration copies the
 * snapshot; retired snapshots live until the VM dies. A registration's own
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
		struct bus_table *t = calloc(1, sizeof(*t));
		if (!t) {
			core_bus_fini(vm);
			return -ENOMEM;
		}
		atomic_init(&vm->bus[i].table, t);
	}
	return 0;
}

static void free_tables(struct bus_table *t)
{
	while (t) {
		struct bus_table *o = t->older;
		free(t->devs);
		free(t);
		t = o;
	}
}

void core_bus_fini(struct hvabs_vm *vm)
{
	for (int i = 0; i < 2; i++) {
		free_tables(atomic_load(&vm->bus[i].table));
		atomic_store(&vm->bus[i].table, NULL);
	}
	struct hvabs_bus_dev *d = vm->all_devs;
	while (d) {
		struct hvabs_bus_dev *n = d->next_all;
		pthread_mutex_destroy(&d->lock);
		free(d);
		d = n;
	}
	vm->all_devs = NULL;
}

/* Publishes a new snapshot of @p bus with @p add inserted or @p del removed. vm->lock held. */
static int publish(struct bus *bus, struct hvabs_bus_dev *add, struct hvabs_bus_dev *del)
{
	struct bus_table *old = atomic_load_explicit(&bus->table, memory_order_relaxed);
	struct bus_table *t = calloc(1, sizeof(*t));
	size_t n = old->n + (add ? 1 : 0);

	if (!t)
		return -ENOMEM;
	t->devs = calloc(n ? n : 1, sizeof(*t->devs));
	if (!t->devs) {
		free(t);
		return -ENOMEM;
	}
	size_t j = 0;
	for (size_t i = 0; i < old->n; i++) {
		if (old->devs[i] == del)
			continue;
		if (add && add->base < old->devs[i]->base) {
			t->devs[j++] = add;
			add = NULL;
		}
		t->devs[j++] = old->devs[i];
	}
	if (add)
		t->devs[j++] = add;
	t->n = j;
	t->older = old;
	atomic_store_explicit(&bus->table, t, memory_order_release);
	return 0;
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
	struct bus_table *t = atomic_load(&vm->bus[space].table);
	for (size_t i = 0; i < t->n; i++) {
		struct hvabs_bus_dev *o = t->devs[i];
		if (base <= o->base + (o->len - 1) && o->base <= base + (len - 1)) {
			hvabs_log(&vm->be->logger, HVABS_LOG_ERROR, CORE,
				  "%s range 0x%llx+0x%llx overlaps a device at 0x%llx+0x%llx",
				  space == HVABS_SPACE_PIO ? "port" : "MMIO",
				  (unsigned long long)base, (unsigned long long)len,
				  (unsigned long long)o->base, (unsigned long long)o->len);
			rc = -EEXIST;
			break;
		}
	}
	/* Hypervisors that only forward claimed ranges (Xen) learn of it here. */
	if (!rc && BE_HAS(vm->be, io_claim))
		rc = vm->be->ops->io_claim(vm->bvm, space, base, len);
	if (!rc)
		rc = publish(&vm->bus[space], d, NULL);
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
		(void)publish(&vm->bus[d->space], NULL, d);
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

static struct hvabs_bus_dev *lookup(struct hvabs_vm *vm, uint32_t space, uint64_t addr)
{
	struct bus_table *t = atomic_load_explicit(&vm->bus[space].table, memory_order_acquire);
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->devs[mid]->base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct hvabs_bus_dev *d = t->devs[lo - 1];
	return addr - d->base < d->len ? d : NULL;
}

int core_bus_dispatch(struct hvabs_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		      int is_write, uint64_t *val)
{
	struct hvabs_bus_dev *d = lookup(vm, space, addr);
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
