/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin whose table's struct_size stops before mem_alloc, a mandatory op:
 * as if built against a smaller table. The op pointers beyond it must not
 * be trusted even though they are non-NULL here.
 */
#include <errno.h>
#include <stddef.h>

#include <hvabs/plugin/backend.h>

static int probe(const struct hvabs_host *host, char *why, size_t len)
{
	(void)host;
	(void)why;
	(void)len;
	return 0;
}

static int vm_create(const struct hvabs_host *host, const struct hvabs_be_vm_config *cfg,
		     struct hvabs_be_vm **out)
{
	(void)host;
	(void)cfg;
	(void)out;
	return -ENOSYS;
}

static void vm_destroy(struct hvabs_be_vm *vm)
{
	(void)vm;
}

static int vm_get_caps(struct hvabs_be_vm *vm, struct hvabs_caps *caps)
{
	(void)vm;
	(void)caps;
	return -ENOSYS;
}

static int mem_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
		     void **hva)
{
	(void)vm;
	(void)gpa;
	(void)size;
	(void)flags;
	(void)hva;
	return -ENOSYS;
}

static const struct hvabs_backend_ops ops = {
    .hdr = {HVABS_ABI_CURRENT, offsetof(struct hvabs_backend_ops, mem_alloc)},
    .name = "shorttable",
    .probe = probe,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_get_caps = vm_get_caps,
    .mem_alloc = mem_alloc,
};

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	(void)host;
	return &ops;
}
