/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the KVM backend: each guest action becomes 16-bit
 * real-mode code in guest RAM, run for real on /dev/kvm. Two runs (and
 * "xen-real" at the end, the same programs on real Xen):
 *
 * "kvm": no in-kernel irqchip. Interrupt lines map to vectors irq_base + gsi
 * injected into vCPU 0 (README.md of the backend); there is no LAPIC, so no
 * MSI and no kernel irqfd.
 *
 * "kvm-irqchip": KVM's PICs, I/O APIC and LAPICs. attach() has the guest
 * program both PICs (vectors 0x20 + line, unmasked) and software-enable its
 * LAPIC, so a line's edge or an MSI sent while the guest runs with
 * interrupts off stays pending until observe_irq() lets the guest take it.
 * KVM then handles HLT in the kernel (the vCPU sleeps until an interrupt),
 * so no HLT exit ever reaches user space: that is declared, and programs
 * that end in HLT are not asked of this run.
 *
 * Guest RAM layout (at least 512 KiB from GPA 0):
 *   0x0000 IVT              0x0800 read results, 0x200 per vCPU
 *   0x0c00 empty IDT desc   0x0d00 literals for 8-byte stores, 0x80 per vCPU
 *   0x1000 code, 0x800 per vCPU
 *   0x4000 the interrupt observer (rm_observer_install)
 *   0x7000 stacks, growing down, 0x200 per vCPU
 *   0x8000 the HVT_OUTS buffer  0x90000 (no RAM, no device): target of HVT_INTERNAL_ERROR
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../integration/kvm_rmcode.h"
#include "driver.h"

#define MAX_CPUS      4
#define CODE_GPA      0x1000u
#define RES_GPA	      0x0800u
#define RES_PER_CPU   0x200u
#define ZERO_IDT_GPA  0x0c00u
#define LIT_GPA	      0x0d00u
#define LIT_PER_CPU   0x80u
#define CODE_PER_CPU  0x800u
#define STACK_TOP     0x7000u
#define STACK_PER_CPU 0x200u
#define NOWHERE_GPA   0x90000u
#define OBS_PORT      0x3e8u /* next to the contract's device at 0x3e0 */
#define IRQ_BASE      0x20u  /* vector of line 0: the backend's irq_base, and our PIC setup */

struct kvm_drv {
	struct hvabs_vcpu *cpus[MAX_CPUS]; /* as seen by program(), for observe_irq */
	unsigned nreads[MAX_CPUS];
};

static void kvm_detach(struct hvt_env *env)
{
	free(env->priv);
	env->priv = NULL;
}

/* Real mode reaches the first MiB: ES = the 64 KiB segment, the rest an offset. */
static int mmio_target(const struct hvt_action *a, uint16_t *seg, uint16_t *off)
{
	if (a->addr + a->size > 0x100000)
		return -ERANGE;
	*seg = (uint16_t)((a->addr >> 4) & 0xf000);
	*off = (uint16_t)(a->addr & 0xffff);
	return 0;
}

struct emit_ctx {
	struct rm_code *c;
	struct hvabs_mem *mem;
	uint32_t idx;
	unsigned nreads;
	unsigned nlits;
	uint64_t data_gpa, ram_size;
};

static uint16_t result_slot(struct emit_ctx *x)
{
	return (uint16_t)(RES_GPA + x->idx * RES_PER_CPU + 8 * x->nreads++);
}

static int emit_mmio(struct emit_ctx *x, const struct hvt_action *a)
{
	uint16_t seg, off;
	int rc = mmio_target(a, &seg, &off);

	if (rc)
		return rc;
	rm_set_es(x->c, seg);
	if (a->size == 8) {
		/* Eight bytes at once only through MMX: movq via a literal in RAM. */
		uint16_t lit = (uint16_t)(LIT_GPA + x->idx * LIT_PER_CPU + 8 * x->nlits);
		if (a->kind == HVT_MMIO_WRITE) {
			if (++x->nlits > LIT_PER_CPU / 8)
				return -E2BIG;
			rc = hvabs_mem_write_u64(x->mem, lit, a->value);
			if (rc)
				return rc;
			rm_movq(x->c, 0, 0, lit);
			rm_movq(x->c, 1, 1, off);
		} else {
			rm_movq(x->c, 1, 0, off);
			rm_movq(x->c, 0, 1, result_slot(x));
		}
		return 0;
	}
	if (a->kind == HVT_MMIO_WRITE) {
		rm_es_store_imm(x->c, a->size, off, (uint32_t)a->value);
	} else {
		rm_es_load_acc(x->c, a->size, off);
		rm_store_acc(x->c, a->size, result_slot(x));
	}
	return 0;
}

static int emit_action(struct emit_ctx *x, const struct hvt_action *a)
{
	struct rm_code *c = x->c;

	switch (a->kind) {
	case HVT_OUT:
	case HVT_IN:
		if (a->addr > 0xffff || !(a->size == 1 || a->size == 2 || a->size == 4))
			return -EINVAL;
		rm_mov_dx(c, (uint16_t)a->addr);
		if (a->kind == HVT_OUT) {
			rm_mov_acc(c, a->size, (uint32_t)a->value);
			rm_out_dx(c, a->size);
		} else {
			rm_in_dx(c, a->size);
			rm_store_acc(c, a->size, result_slot(x));
		}
		return 0;
	case HVT_OUTS:
		if (a->addr > 0xffff || a->count == 0 || a->count > 0xffff ||
		    x->data_gpa > 0xffff ||
		    x->data_gpa + (uint64_t)a->size * a->count > x->ram_size)
			return -EINVAL;
		rm_rep_outs(c, a->size, (uint16_t)x->data_gpa, (uint16_t)a->count,
			    (uint16_t)a->addr);
		return 0;
	case HVT_MMIO_WRITE:
	case HVT_MMIO_READ:
		if (!(a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8))
			return -EINVAL;
		return emit_mmio(x, a);
	case HVT_HLT:
		rm_cli(c);
		rm_hlt(c);
		return 0;
	case HVT_TRIPLE_FAULT:
		rm_triple_fault(c, ZERO_IDT_GPA);
		return 0;
	case HVT_SPIN:
		rm_spin(c);
		return 0;
	case HVT_INTERNAL_ERROR:
		/* Fetching code where there is neither RAM nor a device: KVM's
		 * emulator cannot, and exits with KVM_INTERNAL_ERROR_EMULATION. */
		rm_jmp_far(c, (uint16_t)(NOWHERE_GPA >> 4), 0);
		return 0;
	default:
		return -EINVAL; /* declared in kvm_lacks: never asked for */
	}
}

/* Enables vCPU 0's local APIC in software (SVR bit 8) so it accepts MSIs. */
static int enable_lapic(struct hvabs_vcpu *cpu)
{
	struct hvabs_lapic *l = calloc(1, sizeof(*l));
	int rc = l ? hvabs_vcpu_get_lapic(cpu, l) : -ENOMEM;

	if (!rc) {
		l->regs[0xf0] = 0xff; /* spurious vector */
		l->regs[0xf1] |= 0x01;
		rc = hvabs_vcpu_set_lapic(cpu, l);
	}
	free(l);
	return rc;
}

static int kvm_program(struct hvt_env *env, struct hvabs_vcpu *cpu, const struct hvt_action *acts,
		       size_t n)
{
	struct kvm_drv *d = env->priv;
	uint32_t idx = hvabs_vcpu_index(cpu);
	uint8_t code[CODE_PER_CPU];
	struct rm_code c;
	struct emit_ctx x = {.c = &c,
			     .mem = hvabs_vm_mem(env->vm),
			     .idx = idx,
			     .data_gpa = env->data_gpa,
			     .ram_size = env->ram_size};
	int rc = 0;

	if (idx >= MAX_CPUS)
		return -EINVAL;
	rm_init(&c, code, sizeof(code));
	for (size_t i = 0; i < n && !rc && !c.err; i++)
		rc = emit_action(&x, &acts[i]);
	if (rc)
		return rc;
	if (x.nreads > RES_PER_CPU / 8)
		return -E2BIG;
	/* Whatever follows the last action halts for good. */
	size_t end = c.len;
	rm_cli(&c);
	rm_hlt(&c);
	rm_jmp_back(&c, end + 1);
	if (c.err)
		return c.err;
	uint16_t ip = (uint16_t)(CODE_GPA + idx * CODE_PER_CPU);
	rc = hvabs_mem_write(x.mem, ip, code, c.len);
	if (!rc)
		rc = hvabs_mem_fill(x.mem, RES_GPA + idx * RES_PER_CPU, 0, RES_PER_CPU);
	if (!rc)
		rc = rm_cpu_setup(cpu, ip, (uint16_t)(STACK_TOP - idx * STACK_PER_CPU));
	/* An MSI sent before observe_irq must find vCPU 0's APIC accepting. */
	if (!rc && idx == 0 && hvabs_vm_has_cap(env->vm, HVABS_CAP_LAPIC))
		rc = enable_lapic(cpu);
	if (rc)
		return rc;
	d->cpus[idx] = cpu;
	d->nreads[idx] = x.nreads;
	return 0;
}

static int kvm_reads(struct hvt_env *env, struct hvabs_vcpu *cpu, uint64_t *vals, size_t max)
{
	struct kvm_drv *d = env->priv;
	uint32_t idx = hvabs_vcpu_index(cpu);

	if (idx >= MAX_CPUS)
		return -EINVAL;
	for (unsigned i = 0; i < d->nreads[idx] && i < max; i++) {
		int rc = hvabs_mem_read_u64(hvabs_vm_mem(env->vm),
					    RES_GPA + idx * RES_PER_CPU + 8 * i, &vals[i]);
		if (rc)
			return rc;
	}
	return (int)d->nreads[idx];
}

struct deadline_kicker {
	struct hvabs_vcpu *cpu;
	int timeout_ms;
	int done;
	int kicked;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t t;
};

/* With the in-kernel irqchip HLT never exits: a timer thread kicks at the deadline. */
static void *kicker_main(void *arg)
{
	struct deadline_kicker *k = arg;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += k->timeout_ms / 1000;
	dl.tv_nsec += (long)(k->timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&k->lock);
	int rc = 0;
	while (!k->done && rc == 0)
		rc = pthread_cond_timedwait(&k->cond, &k->lock, &dl);
	k->kicked = !k->done;
	pthread_mutex_unlock(&k->lock);
	if (k->kicked)
		(void)hvabs_vcpu_kick(k->cpu);
	return NULL;
}

/* Runs the observer until the guest reports @p vector or the kicker fires. */
static int observe_loop(struct hvabs_vcpu *cpu, uint32_t vector)
{
	struct hvabs_exit e;

	for (;;) {
		int rc = hvabs_vcpu_run(cpu, &e);
		if (rc)
			return rc;
		switch (e.kind) {
		case HVABS_EXIT_IO:
			if (e.u.io.is_write && e.u.io.addr == OBS_PORT && e.u.io.data[0] == vector)
				return 0;
			if (!e.u.io.is_write)
				memset(e.u.io.data, 0xff, (size_t)e.u.io.size * e.u.io.count);
			break;
		case HVABS_EXIT_HLT:
			usleep(1000); /* without the irqchip: wait for the line to be injected */
			break;
		case HVABS_EXIT_CANCELED:
			return -ETIMEDOUT;
		default:
			return -EIO;
		}
	}
}

/*
 * The deadline kick raced with success: let it cancel one run of `cli; hlt`
 * now rather than the next program's first run.
 */
static int drain_kick(struct hvt_env *env, struct hvabs_vcpu *cpu)
{
	static const uint8_t halt[] = {0xfa, 0xf4};
	struct hvabs_exit e;
	int rc = hvabs_mem_write(hvabs_vm_mem(env->vm), RM_OBS_MAIN, halt, sizeof(halt));

	if (!rc)
		rc = rm_cpu_setup(cpu, RM_OBS_MAIN, STACK_TOP);
	if (!rc)
		rc = hvabs_vcpu_run(cpu, &e);
	return rc;
}

static int kvm_observe_irq(struct hvt_env *env, int kind, uint32_t v, int timeout_ms)
{
	struct kvm_drv *d = env->priv;
	struct hvabs_vcpu *cpu = d->cpus[0] ? d->cpus[0] : env->cpu;
	struct hvabs_caps caps;
	int rc;

	/* Only a guest can observe an interrupt, and this needs vCPU 0's handle. */
	if (!cpu || hvabs_vm_get_caps(env->vm, &caps))
		return -ENOTSUP;
	/*
	 * Lines: vector IRQ_BASE + n, from the backend's injection without the
	 * irqchip, from the PICs attach() programmed with it. MSIs: only with
	 * the irqchip, whose LAPIC attach() enabled.
	 */
	int irqchip = (caps.irqchip & HVABS_IRQCHIP_LAPIC) != 0;
	uint32_t vector = kind ? (v & 0xff) : IRQ_BASE + v;
	if ((kind && !irqchip) || (!kind && v >= (irqchip ? 16 : caps.nr_irqs)) ||
	    vector < IRQ_BASE)
		return -EINVAL;
	rc = rm_observer_install(hvabs_vm_mem(env->vm), IRQ_BASE, 0, 0, OBS_PORT);
	if (!rc)
		rc = rm_cpu_setup(cpu, RM_OBS_MAIN, STACK_TOP);
	if (rc)
		return rc;
	struct deadline_kicker k = {.cpu = cpu, .timeout_ms = timeout_ms};
	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.cond, NULL);
	if (pthread_create(&k.t, NULL, kicker_main, &k))
		return -EAGAIN;
	rc = observe_loop(cpu, vector);
	pthread_mutex_lock(&k.lock);
	k.done = 1;
	pthread_cond_signal(&k.cond);
	pthread_mutex_unlock(&k.lock);
	pthread_join(k.t, NULL);
	pthread_cond_destroy(&k.cond);
	pthread_mutex_destroy(&k.lock);
	if (!rc && k.kicked)
		rc = drain_kick(env, cpu);
	return rc;
}

/*
 * With the irqchip, the guest programs both PICs (ICW1-4: edge-triggered,
 * vectors IRQ_BASE + line, cascade on line 2, all unmasked) and its LAPIC is
 * enabled, then it reports ready on OBS_PORT + 1 with interrupts still off.
 * From then on an edge or an MSI stays pending in the PIC or LAPIC until
 * observe_irq() lets the guest take it; programs never set IF.
 */
static int irqchip_ready(struct hvt_env *env)
{
	struct hvabs_exit e;
	int rc = rm_observer_install(hvabs_vm_mem(env->vm), IRQ_BASE, 1, 1, OBS_PORT);

	if (!rc)
		rc = rm_cpu_setup(env->cpu, RM_OBS_MAIN, STACK_TOP);
	if (!rc)
		rc = enable_lapic(env->cpu);
	while (!rc) {
		rc = hvabs_vcpu_run(env->cpu, &e);
		if (rc)
			return rc;
		if (e.kind != HVABS_EXIT_IO)
			return -EIO; /* the PICs are in the kernel: nothing else exits */
		if (e.u.io.is_write && e.u.io.addr == OBS_PORT + 1)
			return 0;
	}
	return rc;
}

static int kvm_attach(struct hvt_env *env)
{
	struct kvm_drv *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	env->priv = d;
	/* The empty IDT of HVT_TRIPLE_FAULT: limit 0, base 0. */
	rc = hvabs_mem_fill(hvabs_vm_mem(env->vm), ZERO_IDT_GPA, 0, 8);
	if (!rc && (env->drv->vm_flags & HVABS_VM_IRQCHIP))
		rc = irqchip_ready(env);
	return rc;
}

/* What x86 KVM never shows user space; the irqchip run also keeps HLT to itself. */
static const struct hvt_lack kvm_lacks[] = {
    {HVT_EXIT_RESET, "x86 KVM has no reset exit: a VMM sees resets from its own devices"},
    {HVT_EXIT_SYSTEM_EVENT, "x86 KVM raises system events only for SEV and Xen guests"},
    {HVT_EXIT_HYPERCALL, "the backend does not enable KVM_CAP_EXIT_HYPERCALL"},
    {HVT_EXIT_EOI, "EOI exits exist only with a split irqchip, which the backend never makes"},
    {HVT_EXIT_UNKNOWN, "no guest action makes KVM report an exit the backend cannot map"},
    {HVT_COUNT_IRQS, "only the guest sees KVM's interrupts: observe_irq() runs it"},
    {HVT_CLOCK_SET, "the VM clock is the host's"},
    {HVT_SEE_MSI, "without the in-kernel irqchip there is no LAPIC to take an MSI"},
    {0, NULL},
};

static const struct hvt_lack kvm_irqchip_lacks[] = {
    {HVT_EXIT_RESET, "x86 KVM has no reset exit: a VMM sees resets from its own devices"},
    {HVT_EXIT_SYSTEM_EVENT, "x86 KVM raises system events only for SEV and Xen guests"},
    {HVT_EXIT_HYPERCALL, "the backend does not enable KVM_CAP_EXIT_HYPERCALL"},
    {HVT_EXIT_EOI, "EOI exits exist only with a split irqchip, which the backend never makes"},
    {HVT_EXIT_UNKNOWN, "no guest action makes KVM report an exit the backend cannot map"},
    {HVT_COUNT_IRQS, "only the guest sees KVM's interrupts: observe_irq() runs it"},
    {HVT_CLOCK_SET, "the VM clock is the host's"},
    {HVT_EXIT_HLT, "with the in-kernel irqchip KVM keeps a halted vCPU in the kernel"},
    {0, NULL},
};

const struct hvt_driver hvt_drv_kvm = {
    .name = "kvm",
    .backend = "kvm",
    .vm_options = "irq_base=0x20",
    .require_env = "HVABS_REQUIRE_KVM",
    .lacks = kvm_lacks,
    .attach = kvm_attach,
    .detach = kvm_detach,
    .program = kvm_program,
    .reads = kvm_reads,
    .observe_irq = kvm_observe_irq,
};

const struct hvt_driver hvt_drv_kvm_irqchip = {
    .name = "kvm-irqchip",
    .backend = "kvm",
    .vm_flags = HVABS_VM_IRQCHIP,
    .require_env = "HVABS_REQUIRE_KVM",
    .lacks = kvm_irqchip_lacks,
    .attach = kvm_attach,
    .detach = kvm_detach,
    .program = kvm_program,
    .reads = kvm_reads,
    .observe_irq = kvm_observe_irq,
};

/*
 * "xen-real": the same real-mode programs on real Xen 4.17, the Xen backend
 * over the real libxen* of a dom0 (lab.xen.contract runs it in the lab), not
 * the fake of drv_xen.c. Xen brings a down vCPU up when its registers are
 * written and reports `cli; hlt` as the vCPU going down, which the backend
 * turns into HVABS_EXIT_HLT; a triple fault crashes the domain (SHUTDOWN).
 * No claimed(): Xen has no query of an ioreq server's ranges, so the claims
 * are proven by the exits (a registered range left unclaimed never exits).
 */
static const struct hvt_lack xen_real_lacks[] = {
    {HVT_UNCLAIMED_IO, "Xen answers accesses outside the ioreq server's claimed ranges itself"},
    {HVT_EXIT_RESET, "a real-mode program cannot make Xen reboot the domain without a VMM device"},
    {HVT_EXIT_SYSTEM_EVENT,
     "a real-mode program cannot make Xen power the domain off without a VMM device"},
    {HVT_EXIT_HYPERCALL, "Xen handles hypercalls; an ioreq server never sees one"},
    {HVT_EXIT_EOI, "Xen's own I/O APIC takes EOIs; an ioreq server never sees one"},
    {HVT_EXIT_INTERNAL_ERROR, "Xen crashes the domain instead of reporting an internal error"},
    {HVT_EXIT_UNKNOWN, "every ioreq and domain state maps to a known exit"},
    {HVT_SEE_LINE, "these programs do not set up Xen's emulated PIC, I/O APIC and LAPIC"},
    {HVT_SEE_MSI, "these programs do not set up Xen's emulated LAPIC"},
    {HVT_COUNT_IRQS, "Xen keeps its virtual interrupt controllers to itself"},
    {HVT_CLOCK_SET, "the backend offers no settable domain clock on Xen"},
    {0, NULL},
};

const struct hvt_driver hvt_drv_xen_real = {
    .name = "xen-real",
    .backend = "xen",
    .require_env = "HVABS_REQUIRE_XEN",
    .lacks = xen_real_lacks,
    .attach = kvm_attach,
    .detach = kvm_detach,
    .program = kvm_program,
    .reads = kvm_reads,
};
