/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A userspace I/O APIC: Intel 82093AA I/O Advanced Programmable Interrupt
 * Controller datasheet (order 290566), §3.0 "Register Description", with
 * delivery as an MSI (SDM vol. 3 §11.11). include/hvabs/devices/ioapic.h
 * says what is modelled and how a backend without an I/O APIC wires it.
 *
 * The state has its own mutex: the MMIO callbacks (under the bus's lock),
 * hvabs_ioapic_set_irq() from device and event-loop threads and
 * hvabs_ioapic_eoi() from vCPU threads all take it. MSIs are sent with it
 * held, so their order follows the pin changes; hvabs_irq_msi() never calls
 * back into this device.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/bus.h>
#include <hvabs/devices/ioapic.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#define COMP	     "ioapic"

#define NPINS	     HVABS_IOAPIC_PINS
#define WINDOW	     0x1000u
#define OFF_IOREGSEL 0x00u
#define OFF_IOWIN    0x10u
#define OFF_EOI	     0x40u

#define REG_ID	     0x00u
#define REG_VERSION  0x01u
#define REG_ARB	     0x02u
#define REG_REDIR    0x10u

/* Redirection entry bits (datasheet §3.2.4). */
#define RTE_VECTOR     0xffull
#define RTE_DELMODE(e) (((e) >> 8) & 7u)
#define RTE_DESTMODE   (1ull << 11)
#define RTE_DELIVS     (1ull << 12)
#define RTE_POLARITY   (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL      (1ull << 15)
#define RTE_MASK       (1ull << 16)
#define RTE_DEST(e)    ((uint32_t)((e) >> 56))
/* What the guest may write: all but the read-only status bits and reserved 17-55. */
#define RTE_WRITABLE                                                                               \
	(0xff000000000000ffull | (7ull << 8) | RTE_DESTMODE | RTE_POLARITY | RTE_LEVEL | RTE_MASK)

struct hvabs_ioapic {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_bus_dev *dev;
	const struct hvabs_irq_sink_ext *sink;
	void *sink_ctx;
	bool eoi_handler;
	pthread_mutex_t lock; /* everything below */
	uint32_t ioregsel;
	uint32_t id;
	uint64_t rte[NPINS];
	uint32_t level; /* bit n: pin n asserted */
	uint32_t irr;	/* bit n: an edge on pin n waits for it to be unmasked */
};

/* Sends pin @p pin's MSI; returns 0 when the hypervisor took it. Lock held. */
static int deliver(struct hvabs_ioapic *io, unsigned pin)
{
	uint64_t e = io->rte[pin];
	uint64_t addr =
	    0xfee00000ull | ((uint64_t)RTE_DEST(e) << 12) | ((e & RTE_DESTMODE) ? 1u << 2 : 0);
	uint32_t data = (uint32_t)(e & RTE_VECTOR) | (RTE_DELMODE(e) << 8) | (1u << 14) |
			((e & RTE_LEVEL) ? 1u << 15 : 0);
	int rc = hvabs_irq_msi(io->vm, addr, data);

	if (rc)
		hvabs_log_ratelimited(io->log, &io->rl, HVABS_LOG_WARN, COMP,
				      "pin %u: MSI 0x%llx/0x%x not delivered: %s", pin,
				      (unsigned long long)addr, data, strerror(-rc));
	return rc;
}

/* Delivers what pin @p pin's state asks for now. Lock held. */
static void service(struct hvabs_ioapic *io, unsigned pin)
{
	uint64_t *e = &io->rte[pin];

	if (*e & RTE_MASK)
		return;
	if (*e & RTE_LEVEL) {
		if ((io->level & (1u << pin)) && !(*e & RTE_REMOTE_IRR) && deliver(io, pin) == 0)
			*e |= RTE_REMOTE_IRR;
	} else if (io->irr & (1u << pin)) {
		io->irr &= ~(1u << pin);
		(void)deliver(io, pin);
	}
}

int hvabs_ioapic_set_irq(struct hvabs_ioapic *io, uint32_t pin, int level)
{
	if (!io || pin >= NPINS)
		return -EINVAL;
	uint32_t bit = 1u << pin;
	pthread_mutex_lock(&io->lock);
	uint32_t old = io->level;
	if (level)
		io->level |= bit;
	else
		io->level &= ~bit;
	/* An edge pin latches the rising edge; a level pin follows the line. */
	if (!(io->rte[pin] & RTE_LEVEL) && level && !(old & bit))
		io->irr |= bit;
	service(io, pin);
	pthread_mutex_unlock(&io->lock);
	return 0;
}

void hvabs_ioapic_eoi(struct hvabs_ioapic *io, uint32_t vector)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < NPINS; pin++) {
		uint64_t *e = &io->rte[pin];
		if ((*e & RTE_VECTOR) != (vector & 0xff) || !(*e & RTE_REMOTE_IRR))
			continue;
		*e &= ~RTE_REMOTE_IRR;
		service(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

int hvabs_ioapic_get_pin(const struct hvabs_ioapic *io, uint32_t pin)
{
	if (!io || pin >= NPINS)
		return -EINVAL;
	pthread_mutex_lock((pthread_mutex_t *)&io->lock);
	int v = !!(io->level & (1u << pin));
	pthread_mutex_unlock((pthread_mutex_t *)&io->lock);
	return v;
}

/* ---- registers ---- */

static uint32_t reg_read(struct hvabs_ioapic *io, uint32_t reg)
{
	if (reg == REG_ID)
		return io->id << 24;
	if (reg == REG_VERSION)
		return HVABS_IOAPIC_VERSION | ((NPINS - 1) << 16);
	if (reg == REG_ARB)
		return io->id << 24; /* the arbitration ID is loaded from the ID */
	if (reg >= REG_REDIR && reg < REG_REDIR + 2 * NPINS) {
		uint64_t e = io->rte[(reg - REG_REDIR) / 2];
		return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0; /* undefined registers read as zero, as on the 82093AA */
}

static void rte_write(struct hvabs_ioapic *io, unsigned pin, int high, uint32_t val)
{
	uint64_t *e = &io->rte[pin];
	uint64_t old = *e;
	uint64_t w = high ? ((uint64_t)val << 32) | (old & 0xffffffffull)
			  : (old & 0xffffffff00000000ull) | val;

	*e = (w & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
	/* Remote IRR means nothing for an edge-triggered pin, a latched edge nothing for a level one. */
	if (!(*e & RTE_LEVEL))
		*e &= ~RTE_REMOTE_IRR;
	else
		io->irr &= ~(1u << pin);
	service(io, pin);
}

static void reg_write(struct hvabs_ioapic *io, uint32_t reg, uint32_t val)
{
	if (reg == REG_ID) {
		io->id = (val >> 24) & 0xf;
	} else if (reg >= REG_REDIR && reg < REG_REDIR + 2 * NPINS) {
		rte_write(io, (reg - REG_REDIR) / 2, reg & 1, val);
	} else {
		hvabs_log_ratelimited(io->log, &io->rl, HVABS_LOG_DEBUG, COMP,
				      "write 0x%x to read-only or undefined register 0x%x ignored",
				      val, reg);
	}
}

static int mmio_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_ioapic *io = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&io->lock);
	if (off < OFF_IOREGSEL + 4)
		v = io->ioregsel >> (8 * off);
	else if (off >= OFF_IOWIN && off < OFF_IOWIN + 4)
		v = reg_read(io, io->ioregsel) >> (8 * (off - OFF_IOWIN));
	pthread_mutex_unlock(&io->lock);
	*val = size >= 4 ? v : v & ((1u << (8 * size)) - 1);
	return 0;
}

static int mmio_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_ioapic *io = opaque;

	pthread_mutex_lock(&io->lock);
	if (off == OFF_IOREGSEL) {
		io->ioregsel = (uint32_t)val & 0xff; /* bits 0-7 select the register */
	} else if (off == OFF_IOWIN && size == 4) {
		reg_write(io, io->ioregsel, (uint32_t)val);
	} else if (off == OFF_EOI) {
		pthread_mutex_unlock(&io->lock);
		hvabs_ioapic_eoi(io, (uint32_t)val & 0xff);
		return 0;
	} else {
		hvabs_log_ratelimited(io->log, &io->rl, HVABS_LOG_DEBUG, COMP,
				      "write of size %u at offset 0x%llx ignored", size,
				      (unsigned long long)off);
	}
	pthread_mutex_unlock(&io->lock);
	return 0;
}

static const struct hvabs_bus_ops ioapic_ops = {.read = mmio_read, .write = mmio_write};

/* ---- lifetime and wiring ---- */

static int line_sink(void *opaque, uint32_t gsi, uint32_t level)
{
	return hvabs_ioapic_set_irq(opaque, gsi, (int)level);
}

static void eoi_handler(void *opaque, uint32_t vector)
{
	hvabs_ioapic_eoi(opaque, vector);
}

static int attach_sink(struct hvabs_ioapic *io)
{
	const void *table;
	void *ctx;

	if (hvabs_vm_get_ext(io->vm, HVABS_IRQ_SINK_EXT_NAME, &table, &ctx))
		return 0; /* the backend routes lines itself, or nowhere */
	const struct hvabs_irq_sink_ext *ext = table;
	if (!HVABS_HAS_FIELD(ext, attach) || !ext->attach)
		return 0;
	int rc = ext->attach(ctx, line_sink, io);
	if (rc)
		return rc;
	io->sink = ext;
	io->sink_ctx = ctx;
	return 0;
}

int hvabs_ioapic_create(struct hvabs_vm *vm, const struct hvabs_ioapic_config *cfg,
			struct hvabs_ioapic **out)
{
	struct hvabs_ioapic_config c = cfg ? *cfg : (struct hvabs_ioapic_config){0};

	if (!vm || !out ||
	    (c.flags & ~(HVABS_IOAPIC_F_NO_EOI_HANDLER | HVABS_IOAPIC_F_NO_LINE_SINK)) ||
	    c.id > 15 || (c.base & (WINDOW - 1)))
		return -EINVAL;
	if (!c.base)
		c.base = HVABS_IOAPIC_ADDR;
	struct hvabs_ioapic *io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->vm = vm;
	io->log = hvabs_vm_logger(vm);
	io->id = c.id;
	pthread_mutex_init(&io->lock, NULL);
	/* Datasheet §3.2.4: every pin comes out of reset masked. */
	for (unsigned pin = 0; pin < NPINS; pin++)
		io->rte[pin] = RTE_MASK;
	int rc =
	    hvabs_bus_register(vm, HVABS_SPACE_MMIO, c.base, WINDOW, &ioapic_ops, io, 0, &io->dev);
	if (!rc && !(c.flags & HVABS_IOAPIC_F_NO_LINE_SINK))
		rc = attach_sink(io);
	if (rc) {
		hvabs_bus_unregister(io->dev);
		pthread_mutex_destroy(&io->lock);
		free(io);
		return rc;
	}
	if (!(c.flags & HVABS_IOAPIC_F_NO_EOI_HANDLER)) {
		hvabs_irq_set_eoi_handler(vm, eoi_handler, io);
		io->eoi_handler = true;
	}
	*out = io;
	return 0;
}

void hvabs_ioapic_destroy(struct hvabs_ioapic *io)
{
	if (!io)
		return;
	if (io->sink)
		(void)io->sink->attach(io->sink_ctx, NULL, NULL);
	if (io->eoi_handler)
		hvabs_irq_set_eoi_handler(io->vm, NULL, NULL);
	hvabs_bus_unregister(io->dev);
	pthread_mutex_destroy(&io->lock);
	free(io);
}
