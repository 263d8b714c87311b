/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupt lines, MSIs, irqfds and ioeventfds, with the userspace fallbacks
 * that let device code wait on (and signal) file descriptors on every
 * backend: an irqfd without kernel support is watched on an event loop; an
 * ioeventfd without kernel support is matched by the run loop, which then
 * signals the fd instead of dispatching the write to the bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "priv.h"

int hvabs_irq_line(struct hvabs_vm *vm, uint32_t gsi, int level)
{
	if (!vm)
		return -EINVAL;
	if (vm->caps.nr_irqs && gsi >= vm->caps.nr_irqs)
		return -EINVAL;
	return vm->be->ops->irq_line(vm->bvm, gsi, level ? 1u : 0u);
}

int hvabs_irq_pulse(struct hvabs_vm *vm, uint32_t gsi)
{
	int rc = hvabs_irq_line(vm, gsi, 1);

	return rc ? rc : hvabs_irq_line(vm, gsi, 0);
}

int hvabs_irq_msi(struct hvabs_vm *vm, uint64_t addr, uint32_t data)
{
	if (!vm)
		return -EINVAL;
	if (!BE_HAS(vm->be, msi) || !hvabs_vm_has_cap(vm, HVABS_CAP_MSI))
		return -ENOTSUP;
	return vm->be->ops->msi(vm->bvm, addr, data);
}

void hvabs_irq_set_eoi_handler(struct hvabs_vm *vm, hvabs_eoi_fn fn, void *opaque)
{
	vm->eoi_opaque = opaque;
	vm->eoi_fn = fn;
}

static int deliver(struct hvabs_vm *vm, const struct hvabs_irq_route *r)
{
	if (r->kind == HVABS_IRQ_ROUTE_MSI)
		return hvabs_irq_msi(vm, r->msi_addr, r->msi_data);
	return hvabs_irq_pulse(vm, r->gsi);
}

static void irqfd_fallback(void *opaque, uint32_t events)
{
	struct hvabs_irqfd *f = opaque;
	uint64_t n;

	(void)events;
	if (read(f->fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	int rc = deliver(f->vm, &f->route);
	if (rc)
		hvabs_log_ratelimited(&f->vm->be->logger, &f->vm->unhandled_rl, HVABS_LOG_WARN,
				      CORE, "irqfd fallback: delivery failed: %s", strerror(-rc));
}

int hvabs_irqfd_create(struct hvabs_vm *vm, const struct hvabs_irq_route *route,
		       struct hvabs_event_loop *loop, struct hvabs_irqfd **out)
{
	if (!vm || !route || !out || route->kind > HVABS_IRQ_ROUTE_MSI)
		return -EINVAL;
	if (route->kind == HVABS_IRQ_ROUTE_MSI && !hvabs_vm_has_cap(vm, HVABS_CAP_MSI))
		return -ENOTSUP;
	struct hvabs_irqfd *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->vm = vm;
	f->route = *route;
	f->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->fd < 0) {
		int rc = -errno;
		free(f);
		return rc;
	}
	int rc = -ENOTSUP;
	if (hvabs_vm_has_cap(vm, HVABS_CAP_IRQFD) && BE_HAS(vm->be, irqfd)) {
		rc = vm->be->ops->irqfd(vm->bvm, f->fd, route, 1);
		f->kernel = rc == 0;
	}
	if (rc && loop)
		rc = hvabs_event_add(loop, f->fd, HVABS_EVENT_IN, irqfd_fallback, f, &f->ev);
	if (rc) {
		close(f->fd);
		free(f);
		return rc;
	}
	pthread_mutex_lock(&vm->lock);
	f->next = vm->irqfds;
	vm->irqfds = f;
	pthread_mutex_unlock(&vm->lock);
	*out = f;
	return 0;
}

int hvabs_irqfd_fd(const struct hvabs_irqfd *f)
{
	return f->fd;
}

int hvabs_irqfd_is_kernel(const struct hvabs_irqfd *f)
{
	return f->kernel;
}

int hvabs_irqfd_trigger(struct hvabs_irqfd *f)
{
	uint64_t one = 1;

	if (write(f->fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return errno == EAGAIN ? 0
				       : -errno; /* EAGAIN: counter saturated, already pending */
	return 0;
}

static void irqfd_release(struct hvabs_irqfd *f)
{
	if (f->kernel)
		(void)f->vm->be->ops->irqfd(f->vm->bvm, f->fd, &f->route, 0);
	hvabs_event_remove(f->ev);
	close(f->fd);
	free(f);
}

void hvabs_irqfd_destroy(struct hvabs_irqfd *f)
{
	if (!f)
		return;
	struct hvabs_vm *vm = f->vm;
	pthread_mutex_lock(&vm->lock);
	for (struct hvabs_irqfd **pp = &vm->irqfds; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&vm->lock);
	irqfd_release(f);
}

/* ---- ioeventfd ---- */

static int ioev_matches(const struct hvabs_ioeventfd_spec *e, uint32_t space, uint64_t addr,
			uint32_t size, uint64_t val)
{
	if (e->space != space || e->addr != addr || (e->len && e->len != size))
		return 0;
	if (e->flags & HVABS_IOEVENTFD_F_DATAMATCH)
		return e->datamatch == val;
	return 1;
}

int core_irq_init(struct hvabs_vm *vm)
{
	return cow_table_init(&vm->ioev_fallback);
}

int core_ioev_fallback(struct hvabs_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		       uint64_t val)
{
	const struct cow_snap *s = cow_table_snap(&vm->ioev_fallback);

	for (size_t i = cow_snap_lower(s, addr); i < s->n && s->e[i].key == addr; i++) {
		struct hvabs_ioeventfd *e = s->e[i].item;
		if (ioev_matches(&e->ev, space, addr, size, val)) {
			uint64_t one = 1;
			/* EAGAIN only when the counter is saturated: already signalled. */
			if (write(e->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				return -errno;
			return 0;
		}
	}
	return -ENOENT;
}

static void ioev_release(struct hvabs_ioeventfd *e);

static uint64_t cap_for(uint32_t space)
{
	return space == HVABS_SPACE_PIO ? HVABS_CAP_IOEVENTFD_PIO : HVABS_CAP_IOEVENTFD_MMIO;
}

int hvabs_ioeventfd_create(struct hvabs_vm *vm, const struct hvabs_ioeventfd_spec *ev,
			   struct hvabs_ioeventfd **out)
{
	if (!vm || !ev || !out || ev->space > HVABS_SPACE_MMIO ||
	    !(ev->len == 1 || ev->len == 2 || ev->len == 4 || ev->len == 8 ||
	      (ev->len == 0 && ev->space == HVABS_SPACE_MMIO)) ||
	    (ev->flags & ~HVABS_IOEVENTFD_F_DATAMATCH))
		return -EINVAL;
	struct hvabs_ioeventfd *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->vm = vm;
	e->ev = *ev;
	e->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->fd < 0) {
		int rc = -errno;
		free(e);
		return rc;
	}
	int rc = 0;
	pthread_mutex_lock(&vm->lock);
	for (struct hvabs_ioeventfd *o = vm->ioevs; o; o = o->next)
		if (o->ev.space == ev->space && o->ev.addr == ev->addr && o->ev.len == ev->len &&
		    o->ev.flags == ev->flags && o->ev.datamatch == ev->datamatch)
			rc = -EEXIST;
	int want_kernel = hvabs_vm_has_cap(vm, cap_for(ev->space)) && BE_HAS(vm->be, ioeventfd) &&
			  (!(ev->flags & HVABS_IOEVENTFD_F_DATAMATCH) ||
			   hvabs_vm_has_cap(vm, HVABS_CAP_IOEVENTFD_DATAMATCH));
	if (!rc && want_kernel)
		e->kernel = vm->be->ops->ioeventfd(vm->bvm, e->fd, ev, 1) == 0;
	if (!rc) {
		e->next = vm->ioevs;
		vm->ioevs = e;
		if (!e->kernel) {
			rc = cow_table_insert(&vm->ioev_fallback, ev->addr, ev->addr, e);
			if (rc)
				vm->ioevs = e->next;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		ioev_release(e);
		return rc;
	}
	*out = e;
	return 0;
}

int hvabs_ioeventfd_fd(const struct hvabs_ioeventfd *e)
{
	return e->fd;
}

int hvabs_ioeventfd_is_kernel(const struct hvabs_ioeventfd *e)
{
	return e->kernel;
}

static void ioev_release(struct hvabs_ioeventfd *e)
{
	if (e->kernel)
		(void)e->vm->be->ops->ioeventfd(e->vm->bvm, e->fd, &e->ev, 0);
	close(e->fd);
	free(e);
}

/*
 * A fallback ioeventfd may still be in a retired table that a vCPU is
 * scanning, and that vCPU may write to its fd: so it moves to a dead list and
 * its fd stays open (never reused by another file) until the VM dies.
 */
void hvabs_ioeventfd_destroy(struct hvabs_ioeventfd *e)
{
	if (!e)
		return;
	struct hvabs_vm *vm = e->vm;
	pthread_mutex_lock(&vm->lock);
	for (struct hvabs_ioeventfd **pp = &vm->ioevs; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	if (!e->kernel) {
		/* On allocation failure it stays in the table; its fd stays open too. */
		(void)cow_table_remove(&vm->ioev_fallback, e);
		e->next = vm->ioev_dead;
		vm->ioev_dead = e;
	}
	pthread_mutex_unlock(&vm->lock);
	if (e->kernel)
		ioev_release(e);
}

void core_irq_fini(struct hvabs_vm *vm)
{
	while (vm->irqfds) {
		struct hvabs_irqfd *f = vm->irqfds;
		vm->irqfds = f->next;
		irqfd_release(f);
	}
	for (int pass = 0; pass < 2; pass++) {
		struct hvabs_ioeventfd **head = pass ? &vm->ioev_dead : &vm->ioevs;
		while (*head) {
			struct hvabs_ioeventfd *e = *head;
			*head = e->next;
			ioev_release(e);
		}
	}
	cow_table_fini(&vm->ioev_fallback);
}

/* ---- host I/O callbacks for backends that emulate instructions ---- */

static int hio_pio_read(void *o, uint16_t port, void *data, uint32_t size)
{
	uint64_t v;
	int rc = hvabs_bus_read(o, HVABS_SPACE_PIO, port, size, &v);
	hvabs_le_store(data, size, v);
	return rc == -ENOENT ? 0 : rc;
}

static int hio_pio_write(void *o, uint16_t port, const void *data, uint32_t size)
{
	int rc = hvabs_bus_write(o, HVABS_SPACE_PIO, port, size, hvabs_le_load(data, size));
	return rc == -ENOENT ? 0 : rc;
}

static int hio_mmio_read(void *o, uint64_t gpa, void *data, uint32_t size)
{
	uint64_t v;
	int rc = hvabs_bus_read(o, HVABS_SPACE_MMIO, gpa, size, &v);
	hvabs_le_store(data, size, v);
	return rc == -ENOENT ? 0 : rc;
}

static int hio_mmio_write(void *o, uint64_t gpa, const void *data, uint32_t size)
{
	struct hvabs_vm *vm = o;
	uint64_t val = hvabs_le_load(data, size);

	if (core_ioev_fallback(vm, HVABS_SPACE_MMIO, gpa, size, val) == 0)
		return 0;
	int rc = hvabs_bus_write(vm, HVABS_SPACE_MMIO, gpa, size, val);
	return rc == -ENOENT ? 0 : rc;
}

static int hio_gpa_read(void *o, uint64_t gpa, void *buf, uint64_t len)
{
	return hvabs_mem_read(((struct hvabs_vm *)o)->mem, gpa, buf, len);
}

static int hio_gpa_write(void *o, uint64_t gpa, const void *buf, uint64_t len)
{
	return hvabs_mem_write(((struct hvabs_vm *)o)->mem, gpa, buf, len);
}

void core_host_io_init(struct hvabs_vm *vm)
{
	vm->host_io.hdr = HVABS_HDR_INIT(struct hvabs_host_io);
	vm->host_io.opaque = vm;
	vm->host_io.pio_read = hio_pio_read;
	vm->host_io.pio_write = hio_pio_write;
	vm->host_io.mmio_read = hio_mmio_read;
	vm->host_io.mmio_write = hio_mmio_write;
	vm->host_io.gpa_read = hio_gpa_read;
	vm->host_io.gpa_write = hio_gpa_write;
}
