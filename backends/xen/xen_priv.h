/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private state of the Xen backend: hvabs as the device model of a Xen HVM or
 * PVH domain, through an ioreq server (docs/xen.md).
 *
 * The backend never links against Xen's libraries: xen_lib.c fills one
 * function table by dlopen/dlsym of their SONAMEs, typed from the Xen 4.17
 * headers, and every call goes through it. With HVABS_XEN_LIBS naming one
 * shared object, that object provides the whole table instead (the test seam:
 * tests/fixtures/fake_xen.c); nothing else changes.
 */
#ifndef HVABS_XEN_PRIV_H
#define HVABS_XEN_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>
#include <xen/hvm/ioreq.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include "hvabs/xen.h"

#define XEN	       "xen"

#define XEN_PRIVCMD    "/dev/xen/privcmd"
#define XEN_LIBS_ENV   "HVABS_XEN_LIBS"
#define XEN_PAGE       4096ull
#define XEN_PAGE_SHIFT 12
/* One synchronous ioreq page holds a 32-byte slot per vCPU: 128, Xen's HVM_MAX_VCPUS. */
#define XEN_MAX_VCPUS 128u
/* A domU's virtual IOAPIC has 48 pins (xen/arch/x86/include/asm/hvm/vioapic.h). */
#define XEN_NR_GSIS	48u
#define XEN_MAX_REGIONS 64u
#define XEN_MAX_CLAIMS	256u /* Xen's MAX_NR_IO_RANGES per server and kind */
#define XEN_POLL_MS	100u /* how often a waiting vCPU looks at its state */
/* Largest string access served (data_is_ptr): Xen stops reps at a page boundary. */
#define XEN_MAX_REPS	 4096u
#define XEN_MAX_IO_BYTES 65536u

/* hvabs_exit::raw_reason of the exits this backend makes up. */
#define XEN_RAW_IOREQ	 0x000u /* + ioreq type: an I/O request */
#define XEN_RAW_DOWN	 0x100u /* the vCPU went down (HLT with interrupts off) */
#define XEN_RAW_SHUTDOWN 0x200u /* + SHUTDOWN_* reason: the domain shut down */
#define XEN_RAW_GONE	 0x300u /* the domain no longer exists */
#define XEN_RAW_KICK	 0x400u /* hvabs_vcpu_kick() */

/* The functions of libxenctrl, libxendevicemodel, libxenforeignmemory, libxenevtchn we use. */
#define XEN_FN(f) __typeof__(f) *f
struct xen_lib {
	XEN_FN(xc_interface_open);
	XEN_FN(xc_interface_close);
	XEN_FN(xc_physinfo);
	XEN_FN(xc_domain_create);
	XEN_FN(xc_domain_max_vcpus);
	XEN_FN(xc_domain_destroy);
	XEN_FN(xc_domain_pause);
	XEN_FN(xc_domain_unpause);
	XEN_FN(xc_domain_getinfo);
	XEN_FN(xc_vcpu_getinfo);
	XEN_FN(xc_domain_setmaxmem);
	XEN_FN(xc_set_paging_mempool_size);
	XEN_FN(xc_domain_populate_physmap_exact);
	XEN_FN(xc_domain_decrease_reservation_exact);
	XEN_FN(xc_domain_set_memory_map);
	XEN_FN(xc_domain_hvm_getcontext);
	XEN_FN(xc_domain_hvm_setcontext);
	XEN_FN(xc_hvm_param_set);
	XEN_FN(xendevicemodel_open);
	XEN_FN(xendevicemodel_close);
	XEN_FN(xendevicemodel_create_ioreq_server);
	XEN_FN(xendevicemodel_map_io_range_to_ioreq_server);
	XEN_FN(xendevicemodel_set_ioreq_server_state);
	XEN_FN(xendevicemodel_destroy_ioreq_server);
	XEN_FN(xendevicemodel_set_isa_irq_level);
	XEN_FN(xendevicemodel_set_pci_intx_level);
	XEN_FN(xendevicemodel_inject_msi);
	XEN_FN(xendevicemodel_shutdown);
	XEN_FN(xenforeignmemory_open);
	XEN_FN(xenforeignmemory_close);
	XEN_FN(xenforeignmemory_map);
	XEN_FN(xenforeignmemory_unmap);
	XEN_FN(xenforeignmemory_map_resource);
	XEN_FN(xenforeignmemory_unmap_resource);
	XEN_FN(xenevtchn_open);
	XEN_FN(xenevtchn_close);
	XEN_FN(xenevtchn_fd);
	XEN_FN(xenevtchn_notify);
	XEN_FN(xenevtchn_bind_interdomain);
	XEN_FN(xenevtchn_unbind);
	XEN_FN(xenevtchn_pending);
	XEN_FN(xenevtchn_unmask);
	/*
	 * The domain's wall clock, ns since the epoch: Xen's, which dom0's
	 * CLOCK_REALTIME follows (hvabs sets no per-domain time offset). Not a
	 * library function: a seam (HVABS_XEN_LIBS) that stands in for Xen may
	 * keep its own by exporting XEN_SEAM_WALL_CLOCK.
	 */
	int (*wall_clock)(uint32_t domid, uint64_t *ns);
};
#undef XEN_FN
#define XEN_SEAM_WALL_CLOCK "hvabs_xen_seam_wall_clock"

/* ---- guest RAM as the backend maps it (xen_ioreq.c) ---- */

struct xen_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	int populated; /* we populated it (direct mode): give it back on unmap */
};

struct xen_ram {
	pthread_rwlock_t lock; /* writers: mem_alloc/unmap; readers: vCPU threads */
	struct xen_region r[XEN_MAX_REGIONS];
	uint32_t n;
};

/* ---- one ioreq, copied out of the shared page (xen_ioreq.c) ---- */

struct xen_req {
	uint64_t addr;
	uint64_t data;
	uint32_t count;
	uint32_t size;
	uint8_t state;
	uint8_t type;
	uint8_t dir; /* IOREQ_READ or IOREQ_WRITE */
	uint8_t df;
	uint8_t data_is_ptr;
};

/* What xen_req_decode() made of a slot. */
enum xen_verdict {
	XEN_REQ_NONE = 0,   /* nothing for us: the slot is not STATE_IOREQ_READY */
	XEN_REQ_EXIT = 1,   /* an access for the VMM: the exit is filled in */
	XEN_REQ_ANSWER = 2, /* answer at once without an exit (refused, or a cache flush) */
};

/* Per-vCPU storage for an exit's data: up to XEN_MAX_IO_BYTES. */
struct xen_iobuf {
	uint8_t *p;
	size_t cap;
};

void xen_ram_init(struct xen_ram *ram);
void xen_ram_fini(struct xen_ram *ram);
int xen_ram_copy(struct xen_ram *ram, uint64_t gpa, void *buf, uint64_t len, int to_guest);
void xen_req_load(const void *slot, struct xen_req *r);
void xen_req_take(void *slot);
int xen_req_decode(const struct xen_req *r, struct xen_ram *ram, struct xen_iobuf *b,
		   struct hvabs_exit *e, char *why, size_t why_len);
int xen_req_answer(void *slot, const struct xen_req *r, const uint8_t *data, int served,
		   struct xen_ram *ram, char *why, size_t why_len);

/* ---- backend state ---- */

struct xen_claim {
	uint64_t first;
	uint64_t last;
};

struct hvabs_be_vcpu {
	struct hvabs_be_vm *vm;
	uint32_t index;
	xenevtchn_handle *xce; /* one per vCPU, so each vCPU thread waits on its own fd */
	int ev_fd;
	evtchn_port_t port; /* our end of the slot's vp_eport */
	int bound;
	int kick_fd; /* eventfd: wakes the poll of vcpu_run */
	atomic_int kick;
	struct xen_req req; /* the request behind the exit we returned, if inflight */
	int inflight;
	struct xen_iobuf buf;
	uint64_t down_mark;   /* cpu_time when last seen down: a change is a new HLT */
	uint64_t next_status; /* monotonic ns when the vCPU's state is due a look */
};

struct xen_logger {
	xentoollog_logger xtl; /* first: libraries call through it */
	const struct hvabs_host *host;
};

struct hvabs_be_vm {
	const struct hvabs_host *host;
	const struct xen_lib *x;
	struct xen_logger logger;
	xc_interface *xch;
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	pthread_mutex_t xc_lock; /* libxenctrl calls from several threads */

	uint32_t domid;
	int attach;  /* options domid=N: the domain is someone else's */
	int created; /* we created the domain and destroy it */
	uint32_t max_vcpus;
	uint32_t emu_flags; /* XEN_X86_EMU_* of the domain */
	uint32_t poll_ms;

	ioservid_t server;
	int have_server;
	atomic_int server_enabled;
	xenforeignmemory_resource_handle *iores;
	void *iopage; /* shared_iopage_t: one ioreq slot per vCPU */

	struct xen_ram ram;
	uint64_t ram_bytes; /* populated by us, for the memory limits */

	pthread_mutex_t lock; /* below, vcpus[], claims */
	struct hvabs_be_vcpu *vcpus[XEN_MAX_VCPUS];
	int started;	 /* the first vcpu_run happened */
	int held;	 /* the domain is paused by a pause we will release */
	int user_paused; /* hvabs_vm_pause() is in effect */
	struct xen_claim claims[2][XEN_MAX_CLAIMS];
	uint32_t nclaims[2];

	atomic_int gone;      /* the domain was destroyed under us */
	atomic_int irq_noted; /* said once that a PVH domain has no lines */

	struct hvabs_ratelimit rl; /* warnings the guest can provoke */
};

/* xen_lib.c */
const struct xen_lib *xen_lib_get(char *why, size_t why_len);
int xen_errno(void);
void xen_logger_init(struct xen_logger *l, const struct hvabs_host *host);

/* xen.c */
uint64_t xen_now_ns(void);
/* Logs a warning the guest can provoke, rate limited per VM (backend.h's limiter). */
#define xen_log_guest(vm, fmt, ...)                                                                \
	hvabs_host_logf_limited((vm)->host, &(vm)->rl, HVABS_LOG_WARN, XEN, "d%u: " fmt,           \
				(vm)->domid, ##__VA_ARGS__)
int xen_hold(struct hvabs_be_vm *vm, int *held);
void xen_release(struct hvabs_be_vm *vm, int held);

/* xen_mem.c */
int xen_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva);
int xen_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size);
void xen_mem_fini(struct hvabs_be_vm *vm);
int xen_mem_publish_map(struct hvabs_be_vm *vm);

/* xen_io.c */
int xen_io_claim(struct hvabs_be_vm *vm, uint32_t space, uint64_t base, uint64_t len);
int xen_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level);
int xen_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data);
int xen_vm_get_ext(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx);
int xen_vm_stop(struct hvabs_be_vm *vm, uint32_t reason);
int xen_server_open(struct hvabs_be_vm *vm);
void xen_server_disable(struct hvabs_be_vm *vm);
void xen_server_close(struct hvabs_be_vm *vm);

/* xen_vcpu.c */
int xen_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out);
void xen_vcpu_destroy(struct hvabs_be_vcpu *v);
int xen_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *e);
int xen_vcpu_kick(struct hvabs_be_vcpu *v);
int xen_pause(struct hvabs_be_vm *vm);
int xen_resume(struct hvabs_be_vm *vm);

/* xen_regs.c */
int xen_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r);
int xen_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r);
int xen_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s);
int xen_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s);
int xen_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f);
int xen_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f);

#endif
