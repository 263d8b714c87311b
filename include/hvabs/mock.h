/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mock.h
 * @brief Driving the mock backend from tests.
 *
 * The mock backend (`hvabs-mock.so`) runs no guest code. A test queues the
 * exits each vCPU will report (port and MMIO reads and writes, HLT,
 * shutdown, ...) and reads back what the VMM did in answer: the value it gave
 * each completed read, every interrupt line change, MSI and ioeventfd
 * signal. Guest RAM is real memory; the VM's clock is virtual and only moves
 * when the test moves it. Faults can be injected into any op.
 *
 * Backend options (hvabs_vm_config::backend_options, comma separated):
 * `noirqfd`, `noioeventfd`, `nomsi` (do not claim those capabilities, so the
 * core's fallbacks run), `norecord` (do not record completed reads),
 * `max_vcpus=N`, `caps_size=N` (report a struct hvabs_caps only N bytes long),
 * `script=PATH` (queue the steps of a script file: one per line,
 * `<vcpu> io|mmio r|w <addr> <size> [<value>]` with hex numbers, or
 * `<vcpu> hlt|shutdown|reset|poweroff|crash`, `<vcpu> clock <ns>` (sets the
 * virtual clock), `<vcpu> end` (the VMM stopped the VM here); hvabs-vmm's
 * `--trace-exits` writes this format, so a run recorded on a real hypervisor
 * replays here. A read with a value must be answered with that value and an
 * `end` reached without a stop fails, both with vcpu_run's -EPROTO).
 * Environment: `HVABS_MOCK_PROBE=enodev|eacces` makes probe refuse;
 * `HVABS_MOCK_OPS_SIZE=N` makes the ops table advertise `struct_size` N.
 *
 * Use hvabs_mock_attach() on a VM created on the mock backend, then the
 * inline helpers below.
 *
 * @defgroup mock Mock backend
 * @brief Scripted exits, recorded events, virtual clock, fault injection.
 * @{
 */
#ifndef HVABS_MOCK_H
#define HVABS_MOCK_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "types.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the mock's extension, for hvabs_vm_get_ext(). */
#define HVABS_MOCK_EXT_NAME "hvabs-mock-v1"

/** One scripted exit. Unused fields must be zero. */
struct hvabs_mock_step {
	uint32_t kind;	    /**< The enum hvabs_exit_kind to report. */
	uint32_t is_write;  /**< IO/MMIO: 1 for a guest write. */
	uint64_t addr;	    /**< IO: port; MMIO: guest-physical address. */
	uint32_t size;	    /**< IO/MMIO: bytes per element (1, 2, 4, 8). */
	uint32_t count;	    /**< IO/MMIO: elements (0 = 1). */
	uint64_t data;	    /**< Write data of a single-element access. */
	const uint8_t *buf; /**< Write data of a multi-element access (copied), or NULL. */
	uint64_t repeat;    /**< Report this step this many times (0 = 1). */
	uint64_t arg
	    [4]; /**< SYSTEM_EVENT: type, data; HYPERCALL: nr, args; EOI: vector; INTERNAL_ERROR/UNKNOWN: code. */
};

/** Kinds of struct hvabs_mock_event. */
enum hvabs_mock_event_kind {
	HVABS_MOCK_EV_READ = 1, /**< The VMM completed a read: `value` is what it returned. */
	HVABS_MOCK_EV_IRQ_LINE =
	    2,			   /**< An interrupt line changed: `addr` = GSI, `value` = level. */
	HVABS_MOCK_EV_MSI = 3,	   /**< An MSI: `addr`, `value` = data. */
	HVABS_MOCK_EV_IOEVENT = 4, /**< A guest write signalled an ioeventfd: `addr`, `value`. */
	HVABS_MOCK_EV_IRQFD =
	    5, /**< An irqfd fired: `addr` = GSI or MSI address, `value` = MSI data. */
	HVABS_MOCK_EV_HYPERCALL =
	    6, /**< The VMM completed a hypercall: `addr` = nr, `value` = ret. */
};

/** Something the VMM did that the mock recorded. */
struct hvabs_mock_event {
	uint32_t kind;	/**< An enum hvabs_mock_event_kind value. */
	uint32_t vcpu;	/**< vCPU index (reads, hypercalls), else 0. */
	uint64_t addr;	/**< Port, address or GSI; see the kind. */
	uint64_t value; /**< Value; see the kind. For multi-element reads, the first element. */
	uint32_t size;	/**< Access size for reads. */
	uint32_t space; /**< enum hvabs_space for reads and ioevents. */
};

/** The mock's extension table (see hvabs_vm_get_ext()). */
struct hvabs_mock_ops {
	struct hvabs_hdr hdr; /**< ABI header. */
	/** Queues one step for vCPU @p vcpu. */
	int (*push)(void *ctx, uint32_t vcpu, const struct hvabs_mock_step *step);
	/** Number of steps (counting repeats) left for @p vcpu. */
	uint64_t (*pending)(void *ctx, uint32_t vcpu);
	/** Takes the oldest recorded event; waits up to @p timeout_ms; -EAGAIN when none. */
	int (*next_event)(void *ctx, struct hvabs_mock_event *ev, int timeout_ms);
	/** Sets the virtual clock (ns since the epoch). */
	void (*clock_set)(void *ctx, uint64_t ns);
	/** Moves the virtual clock forward. */
	void (*clock_advance)(void *ctx, uint64_t ns);
	/** Makes the @p nth next call (1 = the next) of op @p op fail with @p err (negative). */
	int (*inject_fault)(void *ctx, const char *op, uint32_t nth, int err);
	/** Last value an interrupt line was set to (-1 = never set). */
	int (*line_level)(void *ctx, uint32_t gsi);
	/**
	 * Number of calls so far of op @p op (e.g. "vcpu_run"); "vm_stop" counts
	 * every stop the core passed on, "vm_stop:poweroff" (reset, crash, host)
	 * those with one reason.
	 */
	uint64_t (*calls)(void *ctx, const char *op);
};

/** A handle on a mock VM for the helpers below. */
struct hvabs_mock {
	const struct hvabs_mock_ops *ops; /**< The mock's table. */
	void *ctx;			  /**< Its context. */
};

/**
 * Gets the mock handle of a VM.
 * @param vm a VM on the mock backend.
 * @param m out.
 * @return 0, or -ENOTSUP when @p vm is not a mock VM.
 */
static inline int hvabs_mock_attach(struct hvabs_vm *vm, struct hvabs_mock *m)
{
	const void *table;
	void *ctx;
	int rc = hvabs_vm_get_ext(vm, HVABS_MOCK_EXT_NAME, &table, &ctx);

	if (rc < 0)
		return rc;
	m->ops = (const struct hvabs_mock_ops *)table;
	m->ctx = ctx;
	return 0;
}

/**
 * Queues a scripted exit.
 * @param m the mock.
 * @param vcpu vCPU index.
 * @param step what to report.
 * @return 0 or negative errno.
 */
static inline int hvabs_mock_push(struct hvabs_mock *m, uint32_t vcpu,
				  const struct hvabs_mock_step *step)
{
	return m->ops->push(m->ctx, vcpu, step);
}

/**
 * Queues a single port or MMIO access.
 * @param m the mock.
 * @param vcpu vCPU index.
 * @param space #HVABS_SPACE_PIO or #HVABS_SPACE_MMIO.
 * @param addr port or address.
 * @param size bytes.
 * @param is_write 1 for a write of @p data.
 * @param data value written.
 * @return 0 or negative errno.
 */
static inline int hvabs_mock_push_access(struct hvabs_mock *m, uint32_t vcpu,
					 enum hvabs_space space, uint64_t addr, uint32_t size,
					 int is_write, uint64_t data)
{
	struct hvabs_mock_step s;

	memset(&s, 0, sizeof(s));
	s.kind = space == HVABS_SPACE_PIO ? HVABS_EXIT_IO : HVABS_EXIT_MMIO;
	s.addr = addr;
	s.size = size;
	s.is_write = is_write ? 1u : 0u;
	s.data = data;
	return m->ops->push(m->ctx, vcpu, &s);
}

/**
 * Queues an exit with no payload (HLT, SHUTDOWN, RESET, CANCELED).
 * @param m the mock.
 * @param vcpu vCPU index.
 * @param kind the enum hvabs_exit_kind.
 * @return 0 or negative errno.
 */
static inline int hvabs_mock_push_simple(struct hvabs_mock *m, uint32_t vcpu, uint32_t kind)
{
	struct hvabs_mock_step s;

	memset(&s, 0, sizeof(s));
	s.kind = kind;
	return m->ops->push(m->ctx, vcpu, &s);
}

/**
 * Takes the oldest recorded event.
 * @param m the mock.
 * @param ev out.
 * @param timeout_ms how long to wait for one (0 = do not wait).
 * @return 0, or -EAGAIN when there is none.
 */
static inline int hvabs_mock_next_event(struct hvabs_mock *m, struct hvabs_mock_event *ev,
					int timeout_ms)
{
	return m->ops->next_event(m->ctx, ev, timeout_ms);
}

#ifdef __cplusplus
}
#endif

/** @} */
#endif
