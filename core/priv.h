/* SPDX-License-Identifier: Apache-2.0 */
/* Internal state of libhvabs; never installed. */
#ifndef HVABS_CORE_PRIV_H
#define HVABS_CORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "cow_table.h"
#include "hvabs/hvabs.h"
#include "hvabs/le.h"
#include "hvabs/plugin/backend.h"

#define CORE "core"

/* Fits an op of the v1 table inside the advertised struct_size, and non-NULL. */
#define BE_HAS(be, op)                                                                             \
	((be)->ops->hdr.struct_size >=                                                             \
	     offsetof(struct hvabs_backend_ops, op) + sizeof((be)->ops->op) &&                     \
	 (be)->ops->op != NULL)

struct hvabs_backend {
	const struct hvabs_backend_ops *ops;
	struct hvabs_host host;
	struct hvabs_logger logger;
	char *path;
	char name[32];
};

struct hvabs_bus_dev {
	struct hvabs_vm *vm;
	uint32_t space;
	uint32_t flags;
	uint64_t base;
	uint64_t len;
	const struct hvabs_bus_ops *ops;
	void *opaque;
	pthread_mutex_t lock;
	atomic_bool removed;
	struct hvabs_bus_dev *next_all; /* every registration ever, freed at VM destroy */
};

struct hvabs_ioeventfd {
	struct hvabs_vm *vm;
	struct hvabs_ioeventfd_spec ev;
	int fd;
	int kernel;
	struct hvabs_ioeventfd *next;
};

struct hvabs_irqfd {
	struct hvabs_vm *vm;
	struct hvabs_irq_route route;
	int fd;
	int kernel;
	struct hvabs_event *ev; /* fallback watcher */
	struct hvabs_irqfd *next;
};

struct stats {
	_Atomic uint64_t runs;
	_Atomic uint64_t exits[HVABS_EXIT_KIND_COUNT];
	_Atomic uint64_t io_unhandled;
	_Atomic uint64_t mmio_unhandled;
	_Atomic uint64_t ioeventfd_fallback;
};

struct hvabs_vcpu {
	struct hvabs_vm *vm;
	struct hvabs_be_vcpu *bvcpu;
	uint32_t index;
	/* set when hvabs_vm_request_stop() kicked this vCPU: that kick's
	 * CANCELED exit is the stop's, not the user's, and is swallowed if the
	 * stop was cleared before the vCPU ran again */
	atomic_int stop_kick;
	hvabs_trace_fn trace;
	void *trace_opaque;
	struct stats stats;
};

struct hvabs_vm {
	struct hvabs_backend *be;
	struct hvabs_be_vm *bvm;
	struct hvabs_caps caps;
	struct hvabs_host_io host_io;
	struct hvabs_mem *mem;
	struct cow_table bus[2]; /* per space: struct hvabs_bus_dev by base */
	/* ioeventfds the kernel does not handle, by address: the run loop
	 * matches writes against them before bus dispatch */
	struct cow_table ioev_fallback;
	pthread_mutex_t lock; /* registrations, vcpu array, lists */
	struct hvabs_vcpu **vcpus;
	uint32_t max_vcpus;
	struct hvabs_bus_dev *all_devs;
	struct hvabs_ioeventfd *ioevs;
	struct hvabs_ioeventfd *ioev_dead;
	struct hvabs_irqfd *irqfds;
	struct ram_region *ram;
	_Atomic int stop_reason;
	hvabs_eoi_fn eoi_fn;
	void *eoi_opaque;
	struct hvabs_ratelimit unhandled_rl;
};

struct ram_region {
	uint64_t gpa;
	uint64_t size;
	struct ram_region *next;
};

static inline void stat_inc(_Atomic uint64_t *c)
{
	/* One writer (the vCPU thread): a relaxed load+store is enough and costs no lock. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

int core_bus_init(struct hvabs_vm *vm);
void core_bus_fini(struct hvabs_vm *vm);
int core_bus_dispatch(struct hvabs_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		      int is_write, uint64_t *val);
int core_ioev_fallback(struct hvabs_vm *vm, uint32_t space, uint64_t addr, uint32_t size,
		       uint64_t val);
int core_irq_init(struct hvabs_vm *vm);
void core_irq_fini(struct hvabs_vm *vm);
void core_host_io_init(struct hvabs_vm *vm);
void core_host_log(void *opaque, enum hvabs_log_level level, const char *component,
		   const char *msg);
/* Finds hvabs-<name>.so (plugin_path.c); a malloc'd path, or NULL with the places tried. */
char *core_plugin_search(const char *name, const struct hvabs_backend_opts *o, char *tried,
			 size_t tried_len);

#endif
