/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vCPU table every backend keeps, and the one way a vCPU enters it:
 * index check, allocation, the backend's own setup, the duplicate check and
 * the hypervisor's part under the table lock, insertion, and cleanup of
 * whatever got done when a step fails. Compiled into each plugin that uses
 * it; the backend's struct hvabs_be_vcpu stays opaque here.
 */
#ifndef HVABS_BACKEND_VCPU_TABLE_H
#define HVABS_BACKEND_VCPU_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hvabs/plugin/backend.h"

/* A VM's vCPUs: slots[index] for index < limit, read and written under *lock. */
struct vcpu_table {
	pthread_mutex_t *lock;
	struct hvabs_be_vcpu **slots;
	uint32_t limit;
};

/* How a backend builds one of its vCPUs. */
struct vcpu_table_ops {
	size_t size; /* sizeof the backend's struct hvabs_be_vcpu */
	/*
	 * Fills a zeroed vCPU for @p index, without the table lock. Must leave
	 * @p v so that discard can run, even when it fails part-way.
	 */
	int (*init)(struct hvabs_be_vm *vm, struct hvabs_be_vcpu *v, uint32_t index);
	/*
	 * Optional: makes the vCPU exist in the hypervisor, with the table lock
	 * held and the slot known to be free (so a duplicate index never
	 * reaches the hypervisor).
	 */
	int (*attach)(struct hvabs_be_vcpu *v);
	/* Optional: releases what init and attach acquired; not @p v's memory. */
	void (*discard)(struct hvabs_be_vcpu *v);
};

/*
 * Creates vCPU @p index of @p vm and inserts it in @p t: 0, -EINVAL (index
 * out of range), -ENOMEM, -EEXIST (slot taken) or what init or attach
 * returned. Nothing is left behind on failure.
 */
int vcpu_table_create(const struct vcpu_table *t, struct hvabs_be_vm *vm, uint32_t index,
		      const struct vcpu_table_ops *ops, struct hvabs_be_vcpu **out);

/* Empties slot @p index if it still holds @p v (vcpu_destroy's first step). */
void vcpu_table_remove(const struct vcpu_table *t, uint32_t index, struct hvabs_be_vcpu *v);

#endif
