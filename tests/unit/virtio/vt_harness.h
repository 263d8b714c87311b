/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Harness for the virtio tests. The assertions are written once against a
 * VM and a test driver (tests/harness/driver.h), the only backend-specific
 * part: it makes the guest perform an MMIO write through the vCPU run loop
 * (so a QueueNotify takes the ioeventfd path the backend offers), and counts
 * the interrupts the hypervisor delivered on a line.
 *
 * Each program takes the driver as argv[1] (default "mock") and options as
 * argv[2]: "noirqfd" and "noioeventfd" ask for the core's fallbacks (the
 * mock takes them as backend options; the MSHV driver makes its fake
 * /dev/mshv lack MSHV_IOEVENTFD), any other word is a backend option.
 *
 * Register accesses that need no ioeventfd go straight through the bus
 * (hvabs_bus_read/write), as a vCPU's would after the exit. Device work runs
 * on the event loop, which the test thread pumps itself (vt_pump()), so
 * everything but the mock's kernel-irqfd thread is deterministic.
 */
#ifndef HVABS_TEST_VIRTIO_HARNESS_H
#define HVABS_TEST_VIRTIO_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/hvabs.h>

#include "driver.h"
#include "virtq_builder.h"

#define VT_RAM_SIZE (16ull << 20)
#define VT_BASE	    HVABS_VIRTIO_MMIO_BASE
#define VT_GSI	    5u
/* Guest RAM layout: rings of queue i at VT_RINGS + i * 1 MiB, buffers from VT_HEAP. */
#define VT_RINGS    0x100000ull
#define VT_HEAP	    0x800000ull
#define VT_HEAP_LEN 0x800000ull

struct vt_env {
	struct hvt_env h; /* what the driver sees */
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_event_loop *loop;
	struct hvabs_mem *mem;
	uint8_t *ram;
};

void vt_init(int argc, char **argv);
const char *vt_options(void);
/*
 * True when interrupts take the core's irqfd fallback (the test then pumps
 * the event loop that delivers them): the options turned the backend's off,
 * or the backend has no kernel irqfd.
 */
bool vt_fallback(void);
/* True when the hypervisor itself serves the transport's queue-notify ioeventfds. */
bool vt_kernel_ioeventfd(void);
/* True when the hypervisor itself serves the transport's irqfd. */
bool vt_kernel_irqfd(void);

/* cmocka setup/teardown: a fresh VM, RAM and event loop; *state is the env. */
int vt_setup(void **state);
int vt_teardown(void **state);

/* Runs the event loop until nothing is left to do. */
void vt_pump(struct vt_env *env);

/* Registers, straight through the bus. */
uint32_t vt_rd(struct vt_env *env, uint64_t base, uint32_t off);
void vt_wr(struct vt_env *env, uint64_t base, uint32_t off, uint32_t val);
/* The guest notifies queue @p q: a 32-bit write of QueueNotify through the run loop. */
void vt_notify(struct vt_env *env, uint64_t base, uint32_t q);
/* Interrupts on VT_GSI since the previous call, waiting for at least @p min. */
int vt_irqs(struct vt_env *env, int min);
int vt_line_level(struct vt_env *env);
/* vCPU 0 stores the 32-bit @p val at @p addr through the run loop (the range must be claimed). */
void vt_store(struct vt_env *env, uint64_t addr, uint32_t val);
/* MSIs with data @p data since the previous call, waiting (hang guard) for at least @p min. */
int vt_msis(struct vt_env *env, uint32_t data, int min);

/*
 * Linux's probe (§3.1.1): reset, ACKNOWLEDGE, DRIVER, features (the device's
 * & @p accept), FEATURES_OK. Returns the status read back; *features (may be
 * NULL) gets what was accepted.
 */
uint32_t vt_negotiate(struct vt_env *env, uint64_t base, uint64_t accept, uint64_t *features);
/* Sets up queue @p q at the builder's rings (QueueNum = b->size) and makes it ready. */
void vt_queue(struct vt_env *env, uint64_t base, uint32_t q, const struct vqb *b);
void vt_driver_ok(struct vt_env *env, uint64_t base);
/* vqb_init() for queue @p q of the layout above, heap slice @p q of 8. */
void vt_vqb(struct vt_env *env, struct vqb *b, uint32_t q, uint32_t size);

/* Guest RAM comparison. */
uint8_t *vt_ram_copy(struct vt_env *env);
/* Asserts RAM equals @p copy outside [skip[i].gpa, + skip[i].len). */
struct vt_range {
	uint64_t gpa, len;
};
void vt_ram_same(struct vt_env *env, const uint8_t *copy, const struct vt_range *skip, int n);

#define VT_CASE(fn) cmocka_unit_test_setup_teardown(fn, vt_setup, vt_teardown)

#endif
