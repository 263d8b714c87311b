/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU-create skeleton shared by the backends (vcpu_table.h). */
#include <errno.h>
#include <stdlib.h>

#include "vcpu_table.h"

int vcpu_table_create(const struct vcpu_table *t, struct hvabs_be_vm *vm, uint32_t index,
		      const struct vcpu_table_ops *ops, struct hvabs_be_vcpu **out)
{
	struct hvabs_be_vcpu *v;

	if (index >= t->limit)
		return -EINVAL;
	v = calloc(1, ops->size);
	if (!v)
		return -ENOMEM;
	int rc = ops->init(vm, v, index);
	if (!rc) {
		pthread_mutex_lock(t->lock);
		if (t->slots[index])
			rc = -EEXIST;
		else if (ops->attach)
			rc = ops->attach(v);
		if (!rc)
			t->slots[index] = v;
		pthread_mutex_unlock(t->lock);
	}
	if (rc) {
		if (ops->discard)
			ops->discard(v);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void vcpu_table_remove(const struct vcpu_table *t, uint32_t index, struct hvabs_be_vcpu *v)
{
	pthread_mutex_lock(t->lock);
	if (index < t->limit && t->slots[index] == v)
		t->slots[index] = NULL;
	pthread_mutex_unlock(t->lock);
}
