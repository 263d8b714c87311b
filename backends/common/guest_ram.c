/* SPDX-License-Identifier: Apache-2.0 */
/* Backend-allocated guest RAM (guest_ram.h). */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

#include "guest_ram.h"

int guest_ram_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
		    guest_ram_add_fn add, void **hva)
{
	if (!size || size > SIZE_MAX)
		return -EINVAL;
	/* NORESERVE: a large guest costs nothing until it touches its pages. */
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	int rc = add(vm, gpa, size, p, flags, 1);
	if (rc) {
		guest_ram_free(p, size);
		return rc;
	}
	*hva = p;
	return 0;
}

void guest_ram_free(void *hva, uint64_t size)
{
	munmap(hva, (size_t)size);
}
