/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state one hvabs-vmm run shares between its rooms (machine assembly,
 * devices, run and report), and the calls each room offers the others.
 * The console and the exit trace keep their state to themselves.
 */
#ifndef HVABS_VMM_VMM_H
#define HVABS_VMM_VMM_H

#include <pthread.h>
#include <stdatomic.h>

#include <hvabs/devices/acpi_pm.h>
#include <hvabs/devices/i8042.h>
#include <hvabs/devices/ioapic.h>
#include <hvabs/devices/rtc.h>
#include <hvabs/devices/virtio_blk.h>
#include <hvabs/devices/virtio_console.h>
#include <hvabs/devices/virtio_net.h>
#include <hvabs/devices/virtio_rng.h>
#include <hvabs/devices/virtio_vsock.h>
#include <hvabs/machine.h>

#include "console.h"
#include "machine.h"
#include "trace.h"

struct vcpu_ctx {
	struct machine *m;
	struct hvabs_vcpu *cpu;
	pthread_t thread;
	int started;
};

struct mapped_file {
	void *p;
	size_t size;
};

/* Every device the config asks for, legacy and virtio. */
struct vmm_devices {
	struct hvabs_i8042 *kbc;
	struct hvabs_rtc *rtc;
	struct hvabs_acpi_pm *pm;
	struct hvabs_virtio_blk *disks[VMM_MAX_DISKS];
	struct hvabs_virtio_net *nets[VMM_MAX_NETS];
	struct hvabs_virtio_console *vcon;
	struct hvabs_virtio_rng *rng;
	struct hvabs_virtio_vsock *vsock;
	struct hvabs_pci_host *pci;	     /* with --transport pci */
	struct hvabs_virtio_pci_params pcip; /* where each virtio device goes then */
};

struct machine {
	const struct vmm_config *cfg;
	struct vmm_seccomp *sc; /* every thread's seccomp filter (seccomp.c) */
	struct hvabs_vm *vm;
	struct hvabs_machine *plan; /* memory map, windows, lines, announcements */
	struct hvabs_event_loop *loop;
	pthread_t loop_thread;
	int loop_started;
	struct vmm_serial *console;
	struct vmm_trace *trace;
	struct vmm_devices dev;
	struct hvabs_ioapic *ioapic;
	uint32_t apic_id_stride;
	struct vcpu_ctx cpus[VMM_MAX_CPUS];
	uint32_t ncpus;
	struct mapped_file kernel, initrd;
	atomic_int outcome;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t halted;
	int sigfd;
	struct vmm_metrics *metrics; /* set by vmm_machine_attach_metrics() */
};

/* devices.c: the legacy PC devices (i8042, RTC, ACPI PM). */
int vmm_devices_create_legacy(struct machine *m, char *err, size_t errlen);
/* devices.c: the virtio devices of the config, placed and announced through m->plan. */
int vmm_devices_create_virtio(struct machine *m, char *err, size_t errlen);
/* devices.c: flushes the disks, then destroys every device. */
void vmm_devices_destroy(struct machine *m);

/* run.c: ends the run with @p o unless it has ended already. Thread: any. */
void vmm_set_outcome(struct machine *m, enum vmm_outcome o);
/* run.c: the loop's thread-start hook: a library thread (disk I/O) installs its filter. */
int vmm_run_io_thread_start(void *opaque, const char *kind);
/* run.c: signals, the panic watchdog and --timeout on the event loop. */
int vmm_run_setup_events(struct machine *m, char *err, size_t errlen);

#endif
