/* SPDX-License-Identifier: Apache-2.0 */
/* Private state of the MSHV backend (docs/mshv.md describes the design). */
#ifndef HVABS_MSHV_PRIV_H
#define HVABS_MSHV_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include "hvabs/irq_sink.h"
#include "hvabs/devices/ioapic.h"

#include "mshv_sys.h"
#include "mshv_uapi.h"

#define MSHV		 "mshv"
#define MSHV_DEV_DEFAULT "/dev/mshv"
/* MSHV_CREATE_VP refuses VP indexes from 256 on (the kernel's MSHV_MAX_VPS). */
#define MSHV_MAX_VCPUS 256u
/* Interrupt lines: the pins of the userspace IOAPIC that receives them. */
#define MSHV_NR_GSIS 24u
/* Elements of a REP INS/OUTS done per run before the guest re-executes it. */
#define MSHV_MAX_REPS_DEFAULT 4096u
/* Registers per HvCallGet/SetVpRegisters (both fit one page at this count). */
#define MSHV_REGS_PER_CALL 64u
/* MSRs the guest reached through intercepts that the backend remembers per vCPU. */
#define MSHV_MSR_STORE 32u

/* Suberrors of HVABS_EXIT_INTERNAL_ERROR. */
enum mshv_suberror {
	MSHV_ERR_EMULATION = 1,	 /* an MMIO instruction could not be emulated */
	MSHV_ERR_IO = 2,	 /* a port-I/O intercept could not be completed */
	MSHV_ERR_HYPERVISOR = 3, /* the hypervisor reported a failure message */
	MSHV_ERR_INTERCEPT = 4,	 /* a CPUID/MSR intercept could not be completed */
	MSHV_ERR_UNACCEPTED = 5, /* an access to unaccepted memory */
};

/* Where a vCPU thread is, for the kick protocol in mshv_vcpu.c. */
enum mshv_vcpu_state {
	MSHV_VS_IDLE = 0,   /* outside MSHV_RUN_VP */
	MSHV_VS_IN_RUN = 1, /* about to enter or inside MSHV_RUN_VP */
};

/* An exit handed to the core that the next vcpu_run must complete. */
enum mshv_pending {
	MSHV_PEND_NONE = 0,
	MSHV_PEND_IO_OUT,    /* advance RIP */
	MSHV_PEND_IO_IN,     /* merge the data into RAX, advance RIP */
	MSHV_PEND_HYPERCALL, /* result into RAX, advance RIP */
};

struct mshv_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	uint32_t flags; /* HVABS_MEM_* */
	int owned;	/* from mem_alloc: munmap on removal */
};

/* One remembered guest-virtual to guest-physical translation (mshv_gva_rw). */
struct mshv_tlb {
	uint64_t gva_page;
	uint64_t gpa_page;
	int valid;
	int writable; /* made with write validation */
};

struct mshv_msr_value {
	uint32_t index;
	uint64_t value;
};

struct hvabs_be_vcpu {
	struct hvabs_be_vm *vm;
	uint32_t index;
	int fd;
	struct mshv_vp_register_page *regpage; /* NULL when the page is not mapped */
	atomic_int kick;
	atomic_int state;  /* enum mshv_vcpu_state */
	_Atomic pid_t tid; /* thread that runs the vCPU, for tgkill() */
	union {
		struct mshv_run_vp_args run;
		struct mshv_message msg;
	} buf;

	/* completion of the exit returned last */
	uint32_t pend; /* enum mshv_pending */
	uint32_t pend_size;
	uint32_t pend_insn_len;
	uint8_t io_data[8];

	/* CPUID leaves the VMM set (set_cpuid) */
	struct hvabs_cpuid_entry *cpuid;
	uint32_t ncpuid;
	struct mshv_msr_value msrs[MSHV_MSR_STORE];
	uint32_t nmsrs;
};

struct hvabs_be_vm {
	const struct hvabs_host *host;
	const struct hvabs_host_io *io;
	const struct sys_seam *sys;
	int pt_fd;
	uint32_t max_vcpus;
	uint64_t features;
	int use_regpage; /* option regpage=0 turns the register page off */
	uint32_t max_reps;
	int kick_sig;

	pthread_mutex_t lock; /* vcpus[], cpuid_intercept, dirty_tracking */
	pthread_cond_t cond;  /* resume, or a kick while paused */
	atomic_int paused;
	struct hvabs_be_vcpu **vcpus;
	int cpuid_intercept; /* a global CPUID intercept is installed */
	int dirty_tracking;  /* GPA access tracking is on */

	pthread_rwlock_t mem_lock; /* regions */
	struct mshv_region *regions;
	uint32_t nregions, regions_cap;

	pthread_rwlock_t sink_lock; /* the userspace IOAPIC receiving irq_line */
	hvabs_irq_sink_fn sink;
	void *sink_opaque;
	struct hvabs_irq_sink_ext sink_ext;

	/* Rate limit for guest-triggered log lines. */
	struct hvabs_ratelimit rl; /* warnings a guest can provoke */
};

/* mshv.c */
/* Logs a warning a guest can provoke, rate limited per VM (backend.h's limiter). */
#define mshv_log_guest(vm, ...)                                                                    \
	hvabs_host_logf_limited((vm)->host, &(vm)->rl, HVABS_LOG_WARN, MSHV, __VA_ARGS__)

/* mshv_sys.c */
int mshv_sys_select(const struct hvabs_host *host, const struct sys_seam **out, char *why,
		    size_t why_len);
int mshv_ioctl(const struct sys_seam *sys, int fd, unsigned long req, void *arg);
int mshv_hvcall(const struct sys_seam *sys, int fd, uint16_t code, uint16_t reps, const void *in,
		size_t in_sz, void *out, size_t out_sz);
int mshv_set_property(struct hvabs_be_vm *vm, uint32_t code, uint64_t value);

/* mshv_mem.c */
int mshv_mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, void **hva);
int mshv_mem_map(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags);
int mshv_mem_unmap(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size);
int mshv_dirty_log(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);
int mshv_ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
		   uint32_t assign);
void mshv_mem_fini(struct hvabs_be_vm *vm);
int mshv_guest_read(struct hvabs_be_vm *vm, uint64_t gpa, void *buf, uint32_t size);
int mshv_guest_write(struct hvabs_be_vm *vm, uint64_t gpa, const void *buf, uint32_t size);
int mshv_translate(struct hvabs_be_vcpu *v, uint64_t gva, int is_write, int is_exec, uint64_t *gpa);
int mshv_gva_rw(struct hvabs_be_vcpu *v, struct mshv_tlb *tlb, uint64_t gva, void *buf,
		uint32_t size, int is_write, int is_exec);

/* mshv_regs.c */
int mshv_get_vp_regs(struct hvabs_be_vcpu *v, const uint32_t *names, struct mshv_reg_value *vals,
		     uint32_t n);
int mshv_set_vp_regs(struct hvabs_be_vcpu *v, const uint32_t *names,
		     const struct mshv_reg_value *vals, uint32_t n);
int mshv_regpage_valid(const struct hvabs_be_vcpu *v);
int mshv_get_regs(struct hvabs_be_vcpu *v, struct hvabs_regs *r);
int mshv_set_regs(struct hvabs_be_vcpu *v, const struct hvabs_regs *r);
int mshv_get_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s);
int mshv_set_sregs(struct hvabs_be_vcpu *v, const struct hvabs_sregs *s);
int mshv_get_emul_sregs(struct hvabs_be_vcpu *v, struct hvabs_sregs *s);
int mshv_get_fpu(struct hvabs_be_vcpu *v, struct hvabs_fpu *f);
int mshv_set_fpu(struct hvabs_be_vcpu *v, const struct hvabs_fpu *f);
int mshv_get_msrs(struct hvabs_be_vcpu *v, struct hvabs_msr_entry *m, uint32_t n);
int mshv_set_msrs(struct hvabs_be_vcpu *v, const struct hvabs_msr_entry *m, uint32_t n);
int mshv_get_lapic(struct hvabs_be_vcpu *v, struct hvabs_lapic *l);
int mshv_set_lapic(struct hvabs_be_vcpu *v, const struct hvabs_lapic *l);
void mshv_seg_from_hv(struct hvabs_segment *s, const struct mshv_segment *h);

/* mshv_vcpu.c */
int mshv_signal_init(const struct hvabs_host *host, int *sig);
int mshv_vcpu_create(struct hvabs_be_vm *vm, uint32_t index, struct hvabs_be_vcpu **out);
void mshv_vcpu_destroy(struct hvabs_be_vcpu *v);
int mshv_vcpu_run(struct hvabs_be_vcpu *v, struct hvabs_exit *exit);
int mshv_vcpu_kick(struct hvabs_be_vcpu *v);
int mshv_pause(struct hvabs_be_vm *vm);
int mshv_resume(struct hvabs_be_vm *vm);

/* mshv_exit.c */
int mshv_complete(struct hvabs_be_vcpu *v, const struct hvabs_exit *e);
int mshv_handle_message(struct hvabs_be_vcpu *v, struct hvabs_exit *e);
void mshv_internal_error(struct hvabs_be_vcpu *v, struct hvabs_exit *e, uint32_t suberror, int err,
			 uint64_t detail);

/* mshv_pio.c */
int mshv_handle_io(struct hvabs_be_vcpu *v, const struct mshv_msg_io_port *m, struct hvabs_exit *e);

/* mshv_emul.c */
int mshv_emulate_mmio(struct hvabs_be_vcpu *v, const struct mshv_msg_memory *m,
		      struct hvabs_exit *e);

/* mshv_cpuid.c */
int mshv_get_supported_cpuid(struct hvabs_be_vm *vm, struct hvabs_cpuid_entry *e, uint32_t *n);
int mshv_set_cpuid(struct hvabs_be_vcpu *v, const struct hvabs_cpuid_entry *e, uint32_t n);
int mshv_handle_cpuid(struct hvabs_be_vcpu *v, const struct mshv_msg_cpuid *m);
int mshv_handle_msr(struct hvabs_be_vcpu *v, const struct mshv_msg_msr *m);

/* mshv_state.c */
int mshv_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len);
int mshv_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len);

/* mshv_irq.c */
int mshv_irq_init(struct hvabs_be_vm *vm);
void mshv_irq_fini(struct hvabs_be_vm *vm);
int mshv_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level);
int mshv_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data);
int mshv_vm_get_ext(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx);

#endif
