/* SPDX-License-Identifier: Apache-2.0 */
/* Shared fixture of the MSHV unit tests: a VM on the MSHV backend over the fake /dev/mshv. */
#ifndef HVABS_TEST_MSHV_TEST_H
#define HVABS_TEST_MSHV_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <hvabs/hvabs.h>

#include "fake_mshv.h"
#include "mshv_uapi.h"

#define T_RAM_SIZE 0x80000ull /* 512 KiB of RAM at GPA 0 */
#define T_MMIO	   0xd0000ull /* a recording MMIO device, 4 KiB */
#define T_PORT	   0x3e0      /* a recording port device, 8 ports */

/* What a recording device saw. */
struct t_access {
	uint64_t off;
	uint32_t size;
	int is_write;
	uint64_t value;
};

struct t_dev {
	struct t_access log[256];
	unsigned n;
	uint64_t read_value; /* a read returns this, shifted left by 8 * (offset & 7) */
};

struct t_vm {
	const struct fake_mshv_api *f;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	uint8_t *ram;
	int pt;
	uint32_t violations; /* the fake's count before the test */
	struct t_dev pio, mmio;
};

/* Creates the VM (backend options @p opts, fake options @p fake_opts) with one vCPU. */
int t_open(struct t_vm *t, const char *opts, uint32_t fake_opts);
/* Destroys it; fails the test on fake violations or leaked fds. */
void t_close(struct t_vm *t);
/* Switches the vCPU to flat 64-bit mode. */
void t_long_mode(struct t_vm *t);
void t_push(struct t_vm *t, const struct fake_mshv_step *s);
/* Registers another recording device. */
int t_add_dev(struct t_vm *t, enum hvabs_space space, uint64_t base, uint64_t len, struct t_dev *d,
	      struct hvabs_bus_dev **reg);
/* Runs the dispatching loop and returns the kind of exit that ended it. */
uint32_t t_run(struct t_vm *t, struct hvabs_exit *e);
uint64_t t_reg(struct t_vm *t, uint32_t name);
uint64_t t_result(struct t_vm *t, uint32_t nth);

#endif
