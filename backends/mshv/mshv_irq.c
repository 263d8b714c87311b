/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupts. Microsoft Hypervisor emulates local APICs only: an interrupt
 * reaches a vCPU as HvCallAssertVirtualInterrupt, which is what the msi op
 * does with an MSI's address and data. Interrupt lines belong to a userspace
 * I/O APIC (devices/legacy/ioapic.c) that attaches to this backend through
 * the line-sink extension (HVABS_IRQ_SINK_EXT_NAME): irq_line forwards to
 * it, it turns the line into an MSI and calls msi. Level-triggered MSIs are
 * asserted as such, so the hypervisor reports the guest's EOI
 * (MSHV_MSG_X64_APIC_EOI), which becomes HVABS_EXIT_IOAPIC_EOI for the
 * core's run loop to hand to the I/O APIC.
 */
#include <errno.h>
#include <string.h>

#include "mshv_priv.h"

static int sink_attach(void *ctx, hvabs_irq_sink_fn fn, void *opaque)
{
	struct hvabs_be_vm *vm = ctx;
	int rc = 0;

	pthread_rwlock_wrlock(&vm->sink_lock);
	if (fn && vm->sink && (vm->sink != fn || vm->sink_opaque != opaque)) {
		rc = -EBUSY;
	} else {
		vm->sink = fn;
		vm->sink_opaque = fn ? opaque : NULL;
	}
	pthread_rwlock_unlock(&vm->sink_lock);
	return rc;
}

int mshv_irq_init(struct hvabs_be_vm *vm)
{
	vm->sink_ext.hdr = HVABS_HDR_INIT(struct hvabs_irq_sink_ext);
	vm->sink_ext.attach = sink_attach;
	return 0;
}

void mshv_irq_fini(struct hvabs_be_vm *vm)
{
	(void)sink_attach(vm, NULL, NULL);
}

int mshv_irq_line(struct hvabs_be_vm *vm, uint32_t gsi, uint32_t level)
{
	int rc;

	if (gsi >= MSHV_NR_GSIS)
		return -EINVAL;
	pthread_rwlock_rdlock(&vm->sink_lock);
	rc = vm->sink ? vm->sink(vm->sink_opaque, gsi, level) : -ENXIO;
	pthread_rwlock_unlock(&vm->sink_lock);
	if (rc == -ENXIO)
		mshv_log_guest(vm,
			       "GSI %u set to %u but no I/O APIC receives lines: MSHV has none "
			       "of its own; create one with hvabs_ioapic_create()",
			       gsi, level);
	return rc;
}

/*
 * An MSI as the local APIC architecture defines it (SDM vol. 3 §11.11):
 * address 0xFEExxxxx with the destination ID in bits 12-19 (and extended
 * destination bits 5-11, as Linux uses them past 255 CPUs without interrupt
 * remapping) and the destination mode in bit 2; data with the vector in bits
 * 0-7, the delivery mode in bits 8-10 and the trigger mode in bit 15. The
 * delivery modes are the hypervisor's interrupt types.
 */
int mshv_msi(struct hvabs_be_vm *vm, uint64_t addr, uint32_t data)
{
	uint32_t mode = (data >> 8) & 7u;
	uint32_t vector = data & 0xffu;
	struct mshv_in_assert_interrupt in = {0};

	if ((addr & 0xfff00000ull) != 0xfee00000ull || (addr >> 32))
		return -EINVAL;
	if (mode == 3 || mode == 6) /* reserved */
		return -EINVAL;
	if ((mode == MSHV_INTERRUPT_FIXED || mode == MSHV_INTERRUPT_LOWEST_PRIORITY) && vector < 16)
		return -EINVAL; /* vectors 0-15 are reserved for exceptions */
	in.control = mode;
	if (data & (1u << 15))
		in.control |= MSHV_INTCTL_LEVEL_TRIGGERED;
	if (addr & (1u << 2))
		in.control |= MSHV_INTCTL_LOGICAL_DEST;
	in.dest_addr = ((addr >> 12) & 0xffu) | (((addr >> 5) & 0x7fu) << 8);
	in.vector = vector;
	int rc = mshv_hvcall(vm->sys, vm->pt_fd, MSHV_HVCALL_ASSERT_VIRTUAL_INTERRUPT, 0, &in,
			     sizeof(in), NULL, 0);
	if (rc)
		mshv_log_guest(vm, "HvCallAssertVirtualInterrupt (vector 0x%x, dest 0x%llx): %s",
			       vector, (unsigned long long)in.dest_addr, strerror(-rc));
	return rc;
}

int mshv_vm_get_ext(struct hvabs_be_vm *vm, const char *name, const void **table, void **ctx)
{
	if (!name || strcmp(name, HVABS_IRQ_SINK_EXT_NAME))
		return -ENOTSUP;
	*table = &vm->sink_ext;
	*ctx = vm;
	return 0;
}
