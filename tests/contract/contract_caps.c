/* SPDX-License-Identifier: Apache-2.0 */
/* Contract cases: the ABI header, capability honesty, guest memory. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract.h"

/* ---- ABI and capability honesty ---- */

void abi_header(void **state)
{
	struct fx *f = *state;
	struct hvabs_caps c;

	assert_int_equal(HVABS_ABI_VERSION_MAJOR(hvabs_backend_abi_version(f->env.be)),
			 HVABS_ABI_MAJOR);
	assert_int_equal(hvabs_vm_get_caps(f->env.vm, &c), 0);
	assert_int_equal(c.hdr.struct_size, sizeof(c));
	assert_true(c.max_vcpus >= 1);
	assert_string_equal(hvabs_backend_name(f->env.be), ct_drv->backend);
}

/* Every optional feature: claimed => it works; not claimed => -ENOTSUP, nothing else. */
void caps_honest_vcpu_state(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	struct hvabs_fpu fpu;
	struct hvabs_lapic *lapic = calloc(1, sizeof(*lapic));
	struct hvabs_msr_entry msr = {.index = 0x174, .data = 0x10};
	int rc;

	assert_non_null(lapic);
	rc = hvabs_vcpu_get_fpu(f->cpu, &fpu);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_FPU)) {
		assert_int_equal(rc, 0);
		fpu.fcw = 0x27f;
		assert_int_equal(hvabs_vcpu_set_fpu(f->cpu, &fpu), 0);
		memset(&fpu, 0, sizeof(fpu));
		assert_int_equal(hvabs_vcpu_get_fpu(f->cpu, &fpu), 0);
		assert_int_equal(fpu.fcw, 0x27f);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vcpu_set_msrs(f->cpu, &msr, 1);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_MSRS)) {
		assert_true(rc == 0 || rc == 1);
		msr.data = 0;
		assert_true(hvabs_vcpu_get_msrs(f->cpu, &msr, 1) >= 0);
		assert_int_equal(msr.data, 0x10);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vcpu_get_lapic(f->cpu, lapic);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_LAPIC)) {
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vcpu_set_lapic(f->cpu, lapic), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	free(lapic);

	/* CPUID is set before a vCPU first runs, and a driver's attach may have run vCPU 0. */
	struct hvabs_cpuid_entry ids[256];
	struct hvabs_vcpu *fresh;
	uint32_t n = 256;
	assert_int_equal(hvabs_vcpu_create(vm, 1, &fresh), 0);
	rc = hvabs_vm_get_supported_cpuid(vm, ids, &n);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_CPUID)) {
		assert_int_equal(rc, 0);
		assert_true(n > 0);
		assert_int_equal(hvabs_vcpu_set_cpuid(fresh, ids, n), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}

	size_t len = 0;
	rc = hvabs_vcpu_get_state(f->cpu, NULL, &len);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_VCPU_STATE)) {
		assert_int_equal(rc, -ENOSPC);
		void *buf = malloc(len);
		assert_int_equal(hvabs_vcpu_get_state(f->cpu, buf, &len), 0);
		assert_int_equal(hvabs_vcpu_set_state(f->cpu, buf, len), 0);
		free(buf);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
}

void caps_honest_vm(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	size_t len = 0;
	int rc;

	rc = hvabs_vm_get_state(vm, NULL, &len);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_VM_STATE)) {
		assert_int_equal(rc, -ENOSPC);
		void *buf = malloc(len);
		assert_int_equal(hvabs_vm_get_state(vm, buf, &len), 0);
		assert_int_equal(hvabs_vm_set_state(vm, buf, len), 0);
		free(buf);
	} else {
		assert_int_equal(rc, -ENOTSUP);
	}
	rc = hvabs_vm_pause(vm);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_PAUSE)) {
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vm_resume(vm), 0);
	} else {
		assert_int_equal(rc, -ENOTSUP);
		assert_int_equal(hvabs_vm_resume(vm), -ENOTSUP);
	}
	rc = hvabs_vm_add_ram(vm, 0x200000, 0x10000, HVABS_MEM_READONLY, NULL);
	assert_int_equal(rc, hvabs_vm_has_cap(vm, HVABS_CAP_READONLY_MEM) ? 0 : -ENOTSUP);
	rc = hvabs_vm_add_ram(vm, 0x400000, 0x10000, HVABS_MEM_DIRTY_LOG, NULL);
	if (hvabs_vm_has_cap(vm, HVABS_CAP_DIRTY_LOG)) {
		uint64_t bm[1];
		assert_int_equal(rc, 0);
		assert_int_equal(hvabs_vm_get_dirty_log(vm, 0x400000, bm, 1), 0);
	} else {
		uint64_t bm[1];
		assert_int_equal(rc, -ENOTSUP);
		assert_int_equal(hvabs_vm_get_dirty_log(vm, 0, bm, 1), -ENOTSUP);
	}
	uint64_t ns = 0;
	assert_int_equal(hvabs_vm_get_time(vm, &ns), 0);
	assert_true(ns > 1600000000ull * 1000000000ull);
}

void caps_honest_msi(void **state)
{
	struct fx *f = *state;
	int rc = hvabs_irq_msi(f->env.vm, 0xfee00000, 0x4041);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_MSI)) {
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	ct_observe(f, 1, 0x4041, 2000);
}

void caps_honest_irqfd(void **state)
{
	struct fx *f = *state;
	struct hvabs_irq_route r = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 5};
	struct hvabs_irqfd *fd = NULL;
	int rc = hvabs_irqfd_create(f->env.vm, &r, NULL, &fd);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD)) {
		/* No kernel irqfd and no event loop for the fallback. */
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	ct_observe(f, 0, 5, 2000);
	hvabs_irqfd_destroy(fd);
}

/* ---- memory ---- */

void mem_map_unmap(void **state)
{
	struct fx *f = *state;
	struct hvabs_vm *vm = f->env.vm;
	struct hvabs_mem *mem = hvabs_vm_mem(vm);
	uint32_t v = 0;

	assert_int_equal(hvabs_mem_write_u32(mem, 0x1234, 0xfeedf00d), 0);
	assert_int_equal(*(uint32_t *)((char *)f->env.ram + 0x1234), 0xfeedf00d);
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x1000, 0, NULL), -EEXIST);
	assert_int_equal(hvabs_vm_add_ram(vm, 0x100000, 0x1001, 0, NULL), -EINVAL);

	void *buf = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	int rc = hvabs_vm_map_memory(vm, 0x100000, 0x4000, buf, 0);
	if (!hvabs_vm_has_cap(vm, HVABS_CAP_MEM_MAP)) {
		assert_int_equal(rc, -ENOTSUP);
	} else {
		assert_int_equal(rc, 0);
		((uint32_t *)buf)[1] = 0x11223344;
		assert_int_equal(hvabs_mem_read_u32(mem, 0x100004, &v), 0);
		assert_int_equal(v, 0x11223344);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), 0);
		assert_int_equal(hvabs_mem_read_u32(mem, 0x100004, &v), -EFAULT);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), -ENOENT);
		/* and the range can be used again */
		assert_int_equal(hvabs_vm_map_memory(vm, 0x100000, 0x4000, buf, 0), 0);
		assert_int_equal(hvabs_vm_unmap_memory(vm, 0x100000), 0);
	}
	munmap(buf, 0x4000);
	/* backend-allocated RAM can be removed and added back too */
	assert_int_equal(hvabs_vm_add_ram(vm, 0x300000, 0x2000, 0, NULL), 0);
	rc = hvabs_vm_unmap_memory(vm, 0x300000);
	assert_true(rc == 0 || rc == -ENOTSUP);
	if (rc == 0)
		assert_int_equal(hvabs_vm_add_ram(vm, 0x300000, 0x2000, 0, NULL), 0);
}
