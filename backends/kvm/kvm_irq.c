/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupts. With the in-kernel irqchip (HVABS_VM_F_IRQCHIP) lines go to
 * KVM_IRQ_LINE, MSIs to KVM_SIGNAL_MSI and irqfds to KVM_IRQFD; an irqfd on an
 * MSI gets its own GSI with an MSI entry in the routing table, which
 * KVM_SET_GSI_ROUTING replaces as a whole, so the table always repeats the
 * default irqchip routes (api.rst 4.52). Without the irqchip there is no
 * interrupt controller at all: each of the 24 lines is one vector,
 * irq_base + gsi, injected into vCPU 0 with KVM_INTERRUPT on a rising edge
 * (api.rst 4.16); see README.md for what that does and does not emulate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"

#define FIRST_MSI_GSI KVM_NR_GSIS
/*
 * The routes of a PC, as the ACPI MADT and MP table of acpi.h describe it:
 * ISA IRQ 0 (the PIT) reaches I/O APIC pin 2 (the MADT's IRQ0->GSI2
 * override), GSI 2 is the PIC cascade and goes nowhere, and every other GSI
 * reaches the I/O APIC pin of its number, and PIC pin too below 16. KVM's own
 * default wires the PIT to pin 0, which makes Linux's timer check fail on
 * these tables ("APIC timer disabled due to verification failure").
 */
#define NR_DEFAULT_ROUTES ((16u - 1u) + (KVM_NR_GSIS - 1u))

static int push_routes(struct hvabs_be_vm *vm);

int kvm_irq_init(struct hvabs_be_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int rc = push_routes(vm);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void kvm_irq_fini(struct hvabs_be_vm *vm)
{
	free(vm->msi);
	vm->msi = NULL;
	vm->nmsi = vm->msi_cap = 0;
}

static void fill_default_routes(struct kvm_irq_routing_entry *e)
{
	uint32_t n = 0;

	for (uint32_t gsi = 0; gsi < KVM_NR_GSIS; gsi++) {
		if (gsi == 2)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n++].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		if (gsi < 16) {
			e[n].gsi = gsi;
			e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			e[n].u.irqchip.irqchip =
			    gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e[n++].u.irqchip.pin = gsi % 8;
		}
	}
}

/* Installs the default routes plus one MSI route per MSI irqfd. vm->lock held. */
static int push_routes(struct hvabs_be_vm *vm)
{
	uint32_t n = NR_DEFAULT_ROUTES + vm->nmsi;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));

	if (!t)
		return -ENOMEM;
	t->nr = n;
	fill_default_routes(t->entries);
	for (uint32_t i = 0; i < vm->nmsi; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[NR_DEFAULT_ROUTES + i];
		e->gsi = vm->msi[i].gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)vm->msi[i].addr;
		e->u.msi.address_hi = (uint32_t)(vm->msi[i].addr >> 32);
		e->u.msi.data = vm->msi[i].data;
	}
	int rc = kvm_vm_ioctl(vm, KVM_SET_GSI_ROUTING, t);
	free(t);
	if (rc)
		hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
				"KVM_SET_GSI_ROUTING (%u routes): %s", n, strerror(-rc));
	return rc;
}

int kvm_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level)
{
	if (gsi >= KVM_NR_GSIS || level > 1)
		return -EINVAL;
	if (vm->irqchip) {
		struct kvm_irq_level l = {.irq = gsi, .level = level};
		return kvm_vm_ioctl(vm, KVM_IRQ_LINE, &l);
	}
	uint32_t bit = 1u << gsi;
	pthread_mutex_lock(&vm->lock);
	int rising = level && !(vm->irq_levels & bit);
	vm->irq_levels = level ? vm->irq_levels | bit : vm->irq_levels & ~bit;
	if (rising) {
		atomic_fetch_or(&vm->irq_pending, bit);
		/* Under the lock: vCPU 0 cannot be destroyed while it is poked. */
		if (vm->vcpus && vm->vcpus[0])
			kvm_vcpu_poke(vm->vcpus[0], KVM_REQ_IRQ);
	}
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/*
 * Runs on vCPU 0's thread right before KVM_RUN, without the in-kernel
 * irqchip. KVM holds at most one external vector and may overwrite it, so one
 * is injected only when the last exit said the vCPU can take it
 * (ready_for_interrupt_injection: IF set, no vector pending, no interrupt
 * shadow); otherwise KVM is asked to exit when it can
 * (request_interrupt_window, api.rst 5 "kvm_run").
 */
void kvm_irq_inject_pending(struct hvabs_be_vcpu *v)
{
	struct hvabs_be_vm *vm = v->vm;
	struct kvm_run *run = v->run;

	if (!atomic_load(&vm->irq_pending)) {
		run->request_interrupt_window = 0;
		return;
	}
	pthread_mutex_lock(&vm->lock);
	uint32_t p = atomic_load(&vm->irq_pending);
	if (p && run->ready_for_interrupt_injection) {
		uint32_t gsi = (uint32_t)__builtin_ctz(p);
		struct kvm_interrupt ki = {.irq = vm->irq_base + gsi};
		int rc = kvm_vcpu_ioctl(v, KVM_INTERRUPT, &ki);
		if (rc)
			hvabs_host_logf(vm->host, HVABS_LOG_ERROR, KVM,
					"line %u: KVM_INTERRUPT vector 0x%x: %s", gsi, ki.irq,
					strerror(-rc));
		p &= ~(1u << gsi);
		atomic_store(&vm->irq_pending, p);
		/* Not ready again until KVM says so after the next KVM_RUN. */
		run->ready_for_interrupt_injection = 0;
	}
	run->request_interrupt_window = p ? 1 : 0;
	pthread_mutex_unlock(&vm->lock);
}

int kvm_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi m = {
	    .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};

	if (!(vm->features & HVABS_CAP_MSI))
		return -ENOTSUP;
	/* > 0: delivered; 0: the guest blocked it (masked, APIC off): both are success. */
	int rc = kvm_vm_ioctl(vm, KVM_SIGNAL_MSI, &m);
	return rc < 0 ? rc : 0;
}

static int irqfd_ioctl(struct hvabs_be_vm *vm, int fd, uint32_t gsi, int assign)
{
	struct kvm_irqfd f = {
	    .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0u : KVM_IRQFD_FLAG_DEASSIGN};

	return kvm_vm_ioctl(vm, KVM_IRQFD, &f);
}

/* Lowest GSI above the irqchip lines that no MSI route uses. vm->lock held. */
static uint32_t free_msi_gsi(struct hvabs_be_vm *vm)
{
	for (uint32_t gsi = FIRST_MSI_GSI;; gsi++) {
		uint32_t i = 0;
		while (i < vm->nmsi && vm->msi[i].gsi != gsi)
			i++;
		if (i == vm->nmsi)
			return gsi;
	}
}

static int msi_assign(struct hvabs_be_vm *vm, int fd, const struct hvabs_irq_route *route)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (NR_DEFAULT_ROUTES + vm->nmsi + 1 > vm->max_routes) {
		rc = -ENOSPC;
		goto out;
	}
	if (vm->nmsi == vm->msi_cap) {
		uint32_t cap = vm->msi_cap ? vm->msi_cap * 2 : 8;
		struct kvm_msi_route *p = realloc(vm->msi, cap * sizeof(*p));
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		vm->msi = p;
		vm->msi_cap = cap;
	}
	uint32_t gsi = free_msi_gsi(vm);
	vm->msi[vm->nmsi++] = (struct kvm_msi_route){
	    .fd = fd, .gsi = gsi, .addr = route->msi_addr, .data = route->msi_data};
	rc = push_routes(vm);
	if (!rc) {
		rc = irqfd_ioctl(vm, fd, gsi, 1);
		if (rc) {
			vm->nmsi--;
			(void)push_routes(vm);
		}
	} else {
		vm->nmsi--;
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int msi_deassign(struct hvabs_be_vm *vm, int fd)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->nmsi; i++) {
		if (vm->msi[i].fd != fd)
			continue;
		rc = irqfd_ioctl(vm, fd, vm->msi[i].gsi, 0);
		vm->msi[i] = vm->msi[--vm->nmsi];
		int r2 = push_routes(vm);
		if (!rc)
			rc = r2;
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int kvm_irqfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_irq_route *route, uint32_t assign)
{
	if (!(vm->features & HVABS_CAP_IRQFD))
		return -ENOTSUP;
	if (fd < 0 || !route)
		return -EINVAL;
	if (route->kind == HVABS_IRQ_ROUTE_GSI) {
		if (route->gsi >= KVM_NR_GSIS)
			return -EINVAL;
		return irqfd_ioctl(vm, fd, route->gsi, assign != 0);
	}
	if (route->kind != HVABS_IRQ_ROUTE_MSI)
		return -EINVAL;
	if (!vm->max_routes)
		return -ENOTSUP;
	return assign ? msi_assign(vm, fd, route) : msi_deassign(vm, fd);
}

int kvm_ioeventfd(struct hvabs_be_vm *vm, int fd, const struct hvabs_ioeventfd_spec *ev,
		  uint32_t assign)
{
	int pio = ev->space == HVABS_SPACE_PIO;
	int match = (ev->flags & HVABS_IOEVENTFD_F_DATAMATCH) != 0;

	if (ev->space > HVABS_SPACE_MMIO || fd < 0)
		return -EINVAL;
	if (!(vm->features & (pio ? HVABS_CAP_IOEVENTFD_PIO : HVABS_CAP_IOEVENTFD_MMIO)))
		return -ENOTSUP;
	if (pio ? !(ev->len == 1 || ev->len == 2 || ev->len == 4) || ev->addr > 0xffff
		: !(ev->len == 0 || ev->len == 1 || ev->len == 2 || ev->len == 4 || ev->len == 8))
		return -EINVAL;
	/* Length 0 matches any access and cannot match data (api.rst 4.59). */
	if (ev->len == 0 && (match || !kvm_check_cap(vm, KVM_CAP_IOEVENTFD_ANY_LENGTH)))
		return match ? -EINVAL : -ENOTSUP;
	struct kvm_ioeventfd k = {
	    .datamatch = ev->datamatch,
	    .addr = ev->addr,
	    .len = ev->len,
	    .fd = fd,
	    .flags = (pio ? (uint32_t)KVM_IOEVENTFD_FLAG_PIO : 0u) |
		     (match ? (uint32_t)KVM_IOEVENTFD_FLAG_DATAMATCH : 0u) |
		     (assign ? 0u : (uint32_t)KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	return kvm_vm_ioctl(vm, KVM_IOEVENTFD, &k);
}
