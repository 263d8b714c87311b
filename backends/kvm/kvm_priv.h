/* SPDX-License-Identifier: Apache-2.0 */
/* Private state of the KVM backend (see README.md in this directory). */
#ifndef HVABS_KVM_PRIV_H
#define HVABS_KVM_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include "hvabs/backend.h"

#define KVM		"kvm"
#define KVM_DEV_DEFAULT "/dev/kvm"
/* The only KVM API version there has ever been (Documentation/virt/kvm/api.rst 4.1). */
#define KVM_API_EXPECTED 12

/*
 * Interrupt lines: the in-kernel IOAPIC has 24 pins and GSIs 0-15 also reach
 * the PICs. Without the in-kernel irqchip the backend keeps 24 lines too, each
 * mapped to one vector (irq_base + gsi) that it injects into vCPU 0.
 */
#define KVM_NR_GSIS	     24u
#define KVM_IRQ_BASE_DEFAULT 0x20u

/*
 * VMX needs three pages for the real-mode TSS and one for the identity page
 * table (api.rst 4.40, 4.60). They sit in the 3-4 GiB hole: above the LAPIC
 * (0xfee00000) and HPET (0xfed00000), below the 256 KiB BIOS window at
 * 0xfffc0000; guest RAM must not cover 0xfffbc000-0xfffbffff.
 */
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ull
#define KVM_TSS_GPA	     0xfffbd000ull

/* Requests another thread leaves for a vCPU (hvabs_be_vcpu::req). */
#define KVM_REQ_KICK  (1u << 0) /* return HVABS_EXIT_CANCELED */
#define KVM_REQ_PAUSE (1u << 1) /* park until resume */
#define KVM_REQ_IRQ   (1u << 2) /* inject pending lines (no in-kernel irqchip) */

/* Where a vCPU thread is, for the kick protocol in kvm_vcpu.c. */
enum kvm_vcpu_state {
	KVM_VS_IDLE = 0,      /* outside KVM_RUN: nobody may signal the thread */
	KVM_VS_IN_RUN = 1,    /* about to enter or inside KVM_RUN */
	KVM_VS_SIGNALING = 2, /* a kicker is sending the signal right now */
	KVM_VS_SIGNALED = 3,  /* a kick signal is (or was) pending on the thread */
};

/* Backend options (vm_create's `options`) that inject failures, for leak tests. */
enum kvm_fault_site {
	KVM_FAULT_VM = 0,   /* a step of vm_create */
	KVM_FAULT_VCPU = 1, /* a step of vcpu_create */
	KVM_FAULT_COUNT = 2,
};

struct kvm_slot {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	uint32_t flags; /* HVABS_MEM_* */
	int owned;	/* from mem_alloc: munmap on removal */
	int used;
};

struct kvm_msi_route {
	int fd;
	uint32_t gsi;
	uint64_t addr;
	uint32_t data;
};

struct hvabs_be_vcpu {
	struct hvabs_be_vm *vm;
	uint32_t index;
	int fd;
	struct kvm_run *run;
	atomic_uint req;      /* KVM_REQ_* */
	atomic_int state;     /* enum kvm_vcpu_state */
	_Atomic pid_t tid;    /* kernel id of the thread that runs the vCPU, for tgkill() */
	uint64_t thread;      /* thread_serial() of that thread, 0 before the first run */
	uint32_t last_reason; /* KVM exit reason of the previous run, to complete it */
};

struct hvabs_be_vm {
	const struct hvabs_host *host;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	uint32_t max_vcpus;	/* this VM's limit, from the config */
	uint32_t kvm_max_vcpus; /* KVM_CAP_MAX_VCPUS */
	uint32_t max_vcpu_id;
	int irqchip;   /* in-kernel PIC+IOAPIC+LAPIC+PIT exist */
	int has_xsave; /* KVM_CAP_XSAVE: FPU state goes through KVM_GET/SET_XSAVE */
	uint64_t features;
	int kick_sig;

	pthread_mutex_t lock; /* everything below, and vcpus[] */
	pthread_cond_t cond;  /* a vCPU parked, pause, resume or a kick while paused */
	struct hvabs_be_vcpu **vcpus;
	atomic_int paused;

	struct kvm_slot *slots; /* indexed by KVM slot id */
	uint32_t nslots;	/* entries of slots[] */
	uint32_t max_slots;

	struct kvm_msi_route *msi; /* irqfds on MSI routes */
	uint32_t nmsi, msi_cap;
	uint32_t max_routes;

	/* Lines without the in-kernel irqchip (bit n = GSI n). */
	uint32_t irq_base;
	uint32_t irq_levels;
	atomic_uint irq_pending;

	/* Fault injection: fail the Nth step of a site (0 = never). */
	uint32_t fail_at[KVM_FAULT_COUNT];
	uint32_t steps[KVM_FAULT_COUNT];

	/* Rate limit for guest-triggered log lines. */
	pthread_mutex_t rl_lock;
	uint64_t rl_window_ns;
	uint32_t rl_used;
	uint32_t rl_dropped;
};

/* kvm.c */
int kvm_ioctl(int fd, unsigned long req, void *arg);
int kvm_fault(struct hvabs_be_vm *vm, enum kvm_fault_site site, const char *what);
void kvm_log_guest(struct hvabs_be_vm *vm, const char *fmt, ...) HVABS_PRINTF(2, 3);
int kvm_check_cap(struct hvabs_be_vm *vm, long cap);

/* kvm_mem.c */
int kvm_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva);
int kvm_mem_map(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags);
int kvm_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size);
int kvm_dirty_log(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);
void kvm_mem_fini(struct hvabs_be_vm *vm);

/* kvm_irq.c */
int kvm_irq_init(struct hvabs_be_vm *vm);
void kvm_irq_fini(struct hvabs_be_vm *vm);
int kvm_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level);
int kvm_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data);
int kvm_irqfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_be_irq_route *route,
	      uint32_t assign);
int kvm_ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_be_ioeventfd *ev,
		  uint32_t assign);
void kvm_irq_inject_pending(struct hvabs_be_vcpu *v);

/* kvm_vcpu.c */
int kvm_signal_init(const struct hvabs_host *host, int *sig);
int kvm_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out);
void kvm_vcpu_destroy(struct hvabs_be_vcpu *v);
int kvm_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit);
int kvm_vcpu_kick(struct hvabs_be_vcpu *v);
void kvm_vcpu_poke(struct hvabs_be_vcpu *v, unsigned req);
int kvm_pause(struct hvabs_be_vm *vm);
int kvm_resume(struct hvabs_be_vm *vm);

/* kvm_exit.c */
int kvm_map_exit(struct hvabs_be_vcpu *v, struct hvabs_exit *e);
void kvm_complete_exit(struct hvabs_be_vcpu *v, const struct hvabs_exit *e);

/* kvm_regs.c */
int kvm_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r);
int kvm_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r);
int kvm_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s);
int kvm_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s);
int kvm_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f);
int kvm_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f);
int kvm_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n);
int kvm_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n);
int kvm_get_supported_cpuid(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *e, uint32_t *n);
int kvm_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n);
int kvm_get_lapic(struct hvabs_be_vcpu *v, struct hvabs_lapic *l);
int kvm_set_lapic(struct hvabs_be_vcpu *v, const struct hvabs_lapic *l);

/* kvm_state.c */
int kvm_get_state(struct hvabs_be_vm *vm, void *buf, size_t *len);
int kvm_set_state(struct hvabs_be_vm *vm, const void *buf, size_t len);
int kvm_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len);
int kvm_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len);

#endif
