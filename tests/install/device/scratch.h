/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A port-I/O device written outside hvabs: a 32-bit scratch register at
 * base + 0 (reads return the last value written) and a read-only write
 * counter at base + 4. Only 4-byte accesses are accepted.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stdint.h>

#include <hvabs/hvabs.h>

#define SCRATCH_PORTS 8u

struct scratch;

/* Registers the device at ports [base, base + SCRATCH_PORTS). 0 or negative errno. */
int scratch_create(struct hvabs_vm *vm, uint16_t base, struct scratch **out);
/* Unregisters and frees; NULL is a no-op. */
void scratch_destroy(struct scratch *s);
/* Accesses the device refused (wrong size or offset, writes to the counter). */
uint64_t scratch_refused(struct scratch *s);

#endif
