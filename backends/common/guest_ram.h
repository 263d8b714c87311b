/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM a backend allocates itself (the mem_alloc op): anonymous memory,
 * reserved lazily, that the backend records in its own slot table and frees
 * when the slot goes. Compiled into each plugin that uses it.
 */
#ifndef HVABS_BACKEND_GUEST_RAM_H
#define HVABS_BACKEND_GUEST_RAM_H

#include <stdint.h>

#include "hvabs/plugin/backend.h"

/* Records RAM at @p hva in the backend's table; @p owned: the backend frees it on removal. */
typedef int (*guest_ram_add_fn)(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, void *hva,
				uint32_t flags, int owned);

/*
 * Maps @p size bytes and hands them to @p add as owned; unmaps them again if
 * @p add fails. 0 with the address in @p hva, -EINVAL, -ENOMEM or what @p add
 * returned.
 */
int guest_ram_alloc(struct hvabs_be_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
		    guest_ram_add_fn add, void **hva);

/* Frees RAM that guest_ram_alloc() mapped. */
void guest_ram_free(void *hva, uint64_t size);

#endif
