/* SPDX-License-Identifier: Apache-2.0 */
/* Private state of the KVM backend (see README.md in this directory). */
#ifndef HVABS_KVM_PRIV_H
#define HVABS_KVM_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include "hvabs/x86emu.h"
#include "sys_seam.h"

#define KVM		"kvm"
#define KVM_DEV_DEFAULT "/dev/kvm"
/* Environment: a shared object whose table wraps the system calls (tests only). */
#define KVM_SYS_ENV "HVABS_KVM_SYS"
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

struct kvm_slot {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	uint32_t flags; /* HVABS_MEM_* */
	int owned;	/* from mem_alloc: munmap on removal */
	int used;
};

/* A rate limit for log lines a guest can provoke: backend.h's, 10 lines per 5 s. */
#define kvm_ratelimit hvabs_ratelimit

/* The x86 emulator cross-check (kvm_xcheck*.c); NULL pointers when it is off. */
struct kvm_xc_vm;
struct kvm_xc_vcpu;

/* crosscheck_corrupt=: a test-only fault in the emulator's view (README "Cross-check"). */
enum kvm_xc_corrupt {
	KVM_XC_CORRUPT_NONE = 0,
	KVM_XC_CORRUPT_ADDR = 1, /* every guest-physical address it computes is one byte off */
	KVM_XC_CORRUPT_DATA = 2, /* the first byte of every write it makes is inverted */
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
	atomic_uint req;	/* KVM_REQ_* */
	atomic_int state;	/* enum kvm_vcpu_state */
	_Atomic pid_t tid;	/* kernel id of the thread that runs the vCPU, for tgkill() */
	uint64_t thread;	/* thread_serial() of that thread, 0 before the first run */
	uint32_t last_reason;	/* KVM exit reason of the previous run, to complete it */
	struct kvm_xc_vcpu *xc; /* cross-check state, only with crosscheck=1 */
};

struct hvabs_be_vm {
	const struct hvabs_host *host;
	const struct sys_seam *sys; /* every call on /dev/kvm and its fds, chosen at vm_create */
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

	/* Rate limit for guest-triggered log lines. */
	struct kvm_ratelimit rl;

	/* The core's callbacks (guest RAM reads for the cross-check). */
	const struct hvabs_host_io *io;
	/* Options crosscheck= and crosscheck_corrupt=, then the cross-check itself. */
	uint32_t xc_enable;
	uint32_t xc_corrupt; /* enum kvm_xc_corrupt */
	struct kvm_xc_vm *xc;
};

/* The ioctls on /dev/kvm, the VM and a vCPU, through the seam: result or negative errno. */
static inline int kvm_dev_ioctl(struct hvabs_be_vm *vm, unsigned long req, void *arg)
{
	return sys_seam_ioctl(vm->sys, vm->kvm_fd, req, arg);
}

static inline int kvm_vm_ioctl(struct hvabs_be_vm *vm, unsigned long req, void *arg)
{
	return sys_seam_ioctl(vm->sys, vm->vm_fd, req, arg);
}

static inline int kvm_vcpu_ioctl(struct hvabs_be_vcpu *v, unsigned long req, void *arg)
{
	return sys_seam_ioctl(v->vm->sys, v->fd, req, arg);
}

/* kvm.c */
/* Warnings a guest can provoke, rate limited per source (@p rl) or per VM. */
#define kvm_log_limited(vm, rl, ...)                                                               \
	hvabs_host_logf_limited((vm)->host, (rl), HVABS_LOG_WARN, KVM, __VA_ARGS__)
#define kvm_log_guest(vm, ...) kvm_log_limited((vm), &(vm)->rl, __VA_ARGS__)
#define kvm_ratelimit_init(rl) memset((rl), 0, sizeof(*(rl)))
#define kvm_ratelimit_fini(rl) ((void)(rl))
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
int kvm_irqfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_irq_route *route, uint32_t assign);
int kvm_ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
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

/*
 * The cross-check's working state (kvm_xcheck.c decides, kvm_xcheck_emu.c
 * runs the emulator). One instruction makes at most 4 MMIO exits: 2 access
 * streams (read-modify-write, MOVS) of 2 page fragments each.
 */
#define KVM_XC_MAX_EXITS 4
#define KVM_XC_BACK	 HVABS_X86EMU_MAX_INSN /* bytes fetched before RIP */
#define KVM_XC_TLB	 4		       /* translations one check remembers */

/* A vCPU as an instruction found it, and that instruction's bytes. */
struct kvm_xc_state {
	struct hvabs_regs regs;
	struct hvabs_sregs sregs;
	uint32_t mode; /* enum hvabs_x86emu_mode */
	uint32_t len;  /* bytes in insn[] */
	uint8_t insn[HVABS_X86EMU_MAX_INSN];
};

/* One MMIO exit, as KVM reported it or as the emulator predicts it. */
struct kvm_xc_exit {
	uint64_t gpa;
	uint32_t len;
	uint32_t is_write;
	uint8_t data[8]; /* writes only */
};

/* What the emulator made of one instruction. */
struct kvm_xc_pred {
	int rc; /* hvabs_x86emu_run(); -ENXIO: an address did not translate */
	struct hvabs_x86emu_insn insn;
	struct kvm_xc_exit exits[KVM_XC_MAX_EXITS]; /* the MMIO exits KVM should make, in order */
	uint32_t nexits;
	uint64_t bad_linear; /* rc -ENXIO: the linear address */
};

/* One MMIO exit being checked. */
struct kvm_xc_check {
	struct hvabs_be_vcpu *v;
	struct kvm_xc_exit kvm;	 /* KVM's decoding */
	struct kvm_xc_state now; /* the vCPU at the exit (insn[] unused) */
	/* Bytes around RIP: win[KVM_XC_BACK] is the byte at RIP; bit i of avail says win[i] was read. */
	uint8_t win[KVM_XC_BACK + HVABS_X86EMU_MAX_INSN];
	uint32_t avail;
	uint32_t back; /* bytes before RIP that may be fetched (fewer near IP 0) */
	uint64_t tlb_lin[KVM_XC_TLB], tlb_gpa[KVM_XC_TLB];
	uint32_t ntlb;
};

/* Instructions the emulator cannot decode, by opcode, for the summary. */
#define KVM_XC_GAPS 16
struct kvm_xc_gap {
	char opcode[32];
	uint64_t count;
	uint64_t rip; /* the first one seen */
	uint32_t mode;
	uint32_t len;
	uint8_t bytes[HVABS_X86EMU_MAX_INSN];
};

/* Per VM. */
struct kvm_xc_vm {
	atomic_uint_fast64_t checked;	    /* MMIO exits the emulator ran for */
	atomic_uint_fast64_t disagreements; /* of those, where it and KVM differ */
	atomic_uint_fast64_t undecodable;   /* of those, where it could not decode */
	atomic_uint_fast64_t unchecked;	    /* exits whose instruction could not be read */
	atomic_int soft_walk;		    /* KVM_TRANSLATE answers nothing: walk in software */
	struct kvm_ratelimit rl;
	pthread_mutex_t lock; /* gaps */
	struct kvm_xc_gap gaps[KVM_XC_GAPS];
	uint32_t ngaps;
	uint64_t gaps_dropped; /* exits whose opcode did not fit in gaps[] */
};

/*
 * Per vCPU: an instruction whose first MMIO exits were judged and whose next
 * ones are due, in up to KVM_XC_HYP readings (decoding a write backwards can
 * find several that agree so far; the exits that follow tell them apart).
 */
#define KVM_XC_HYP 4
struct kvm_xc_vcpu {
	uint32_t npending; /* readings in st[] */
	int maybe_done;	   /* a reading that agreed needs no more exits */
	int backwards;	   /* they were found by decoding backwards from a write's RIP */
	uint32_t step;	   /* exits of the instruction seen so far */
	struct kvm_xc_state st[KVM_XC_HYP];
	uint8_t answers[KVM_XC_MAX_EXITS][8]; /* what the VMM answered to its reads */
};

/* kvm_xcheck_emu.c: state, instruction bytes, translation and the emulator */
int kvm_xc_capture(struct kvm_xc_check *c);
int kvm_xc_translate(struct kvm_xc_check *c, uint64_t lin, uint64_t *gpa);
int kvm_xc_predict(struct kvm_xc_check *c, const struct kvm_xc_state *st,
		   const uint8_t (*answers)[8], uint32_t nanswers, struct kvm_xc_pred *p);
int kvm_xc_exit_equal(const struct kvm_xc_exit *a, const struct kvm_xc_exit *b);
uint64_t kvm_xc_ip_linear(const struct kvm_xc_state *st, uint64_t ip);

/* kvm_xcheck.c: the cross-check's lifetime, accounting and logs */
int kvm_xcheck_init(struct hvabs_be_vm *vm);
void kvm_xcheck_fini(struct hvabs_be_vm *vm);
void kvm_xcheck_discard(struct hvabs_be_vm *vm);
int kvm_xcheck_vcpu_init(struct hvabs_be_vcpu *v);
void kvm_xcheck_vcpu_fini(struct hvabs_be_vcpu *v);
void kvm_xcheck_mmio(struct hvabs_be_vcpu *v);
void kvm_xcheck_complete(struct hvabs_be_vcpu *v);

/* kvm_insn_len.c: instruction lengths for the cross-check */
#define KVM_INSN_VEX   0x10 /* kvm_insn_info::map flag: a VEX-encoded instruction */
#define KVM_INSN_EVEX  0x20 /* kvm_insn_info::map flag: an EVEX-encoded instruction */
#define KVM_INSN_RIP   16   /* kvm_insn_info::base: RIP-relative */
#define KVM_INSN_NOREG 0xff /* no base, index or segment override */
struct kvm_insn_info {
	uint8_t len;	   /* bytes, prefixes included */
	uint8_t map;	   /* 0 one-byte, 1 0F, 2 0F38, 3 0F3A (VEX/EVEX: their map | flag) */
	uint8_t opcode;	   /* the opcode byte in that map */
	uint8_t modrm;	   /* the ModRM byte, when has_modrm */
	uint8_t has_modrm; /* 1 when there is a ModRM byte */
	uint8_t mem;	   /* 1 when it addresses memory (ModRM memory form, moffs, string) */
	/* The ModRM memory operand: seg:[base + index * scale + disp], addr_size bytes wide. */
	uint8_t addr_size;
	uint8_t seg;   /* ES 0, CS 1, SS 2, DS 3, FS 4, GS 5 */
	uint8_t base;  /* register 0-15 (RAX..R15), KVM_INSN_RIP or KVM_INSN_NOREG */
	uint8_t index; /* register 0-15 or KVM_INSN_NOREG */
	uint8_t scale;
	int64_t disp;
};
/* 0, -ENODATA when @p n bytes end first, -EINVAL for what is no instruction (or XOP). */
int kvm_insn_length(unsigned mode, const uint8_t *b, size_t n, struct kvm_insn_info *out);
/* "0f 7f", "ff /0", "vex 0f 38 18": the opcode, for logs. */
void kvm_insn_name(const struct kvm_insn_info *in, char *buf, size_t len);

/* kvm_state.c */
int kvm_get_state(struct hvabs_be_vm *vm, void *buf, size_t *len);
int kvm_set_state(struct hvabs_be_vm *vm, const void *buf, size_t len);
int kvm_vcpu_get_state(struct hvabs_be_vcpu *v, void *buf, size_t *len);
int kvm_vcpu_set_state(struct hvabs_be_vcpu *v, const void *buf, size_t len);

#endif
