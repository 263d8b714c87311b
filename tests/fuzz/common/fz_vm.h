/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the device fuzz targets: a VM on the mock backend with 64 KiB of
 * RAM and an event loop the target pumps itself (the mock's irqfd and
 * ioeventfd are turned off, so the core's fallbacks run on that loop and
 * every run is deterministic), and an interpreter that plays fuzzed bytes as
 * a hostile driver: register accesses of every width, guest memory writes,
 * queue setup shortcuts and notifications.
 */
#ifndef HVABS_FUZZ_VM_H
#define HVABS_FUZZ_VM_H

#include <stddef.h>
#include <stdint.h>

#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/hvabs.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define FZ_RAM_SIZE 0x10000u
#define FZ_BASE	    HVABS_VIRTIO_MMIO_BASE
#define FZ_GSI	    5u

struct fz_vm {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_event_loop *loop;
	struct hvabs_mem *mem;
	uint8_t *ram;
};

extern struct fz_vm fz;
/* A logger that drops every line (the targets log a lot on purpose). */
extern const struct hvabs_logger fz_quiet;

/*
 * Opens the mock backend and the event loop (once per process) and creates a
 * fresh VM: the bus keeps retired tables until the VM dies, so one VM per
 * input keeps every input's allocations its own.
 */
void fz_vm_init(void);
/* Destroys the VM made by fz_vm_init(). */
void fz_vm_fini(void);
/* Runs the event loop until it is idle (bounded). */
void fz_pump(void);
/*
 * Plays @p data as a driver of the transport at FZ_BASE with @p nqueues
 * queues, the event loop pumped after each notification.
 */
void fz_drive(const uint8_t *data, size_t size, uint32_t nqueues);

#endif
