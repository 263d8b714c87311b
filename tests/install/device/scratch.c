/* SPDX-License-Identifier: Apache-2.0 */
/* The scratch-register PIO device: see scratch.h and docs/devices.md of hvabs. */
#include <errno.h>
#include <stdlib.h>

#include "scratch.h"

struct scratch {
	struct hvabs_bus_dev *reg;
	uint32_t value;
	uint32_t writes;
	uint64_t refused;
};

/*
 * The bus holds this registration's lock around each callback, so the
 * callbacks see one access at a time. The guest picks offset and size:
 * anything unexpected is counted and refused, never trusted.
 */
static int scratch_read(void *opaque, uint64_t offset, uint32_t size, uint64_t *val)
{
	struct scratch *s = opaque;

	if (size != 4 || (offset != 0 && offset != 4)) {
		s->refused++;
		return -EINVAL; /* the core answers all ones */
	}
	*val = offset == 0 ? s->value : s->writes;
	return 0;
}

static int scratch_write(void *opaque, uint64_t offset, uint32_t size, uint64_t val)
{
	struct scratch *s = opaque;

	if (size != 4 || offset != 0) {
		s->refused++;
		return -EINVAL;
	}
	s->value = (uint32_t)val;
	s->writes++;
	return 0;
}

static const struct hvabs_bus_ops scratch_ops = {.read = scratch_read, .write = scratch_write};

int scratch_create(struct hvabs_vm *vm, uint16_t base, struct scratch **out)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	int rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, base, SCRATCH_PORTS, &scratch_ops, s, 0,
				    &s->reg);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void scratch_destroy(struct scratch *s)
{
	if (!s)
		return;
	hvabs_bus_unregister(s->reg); /* no callback runs after this returns */
	free(s);
}

uint64_t scratch_refused(struct scratch *s)
{
	hvabs_bus_dev_lock(s->reg);
	uint64_t n = s->refused;
	hvabs_bus_dev_unlock(s->reg);
	return n;
}
