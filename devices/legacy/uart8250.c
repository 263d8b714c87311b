/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 16550A UART. Registers follow the PC16550D data sheet; where it leaves
 * room, what Linux's 8250 driver probes for decides (8250_port.c:
 * autoconfig(), autoconfig_16550a(), serial8250_do_startup()).
 *
 * Locking: every guest-visible field is guarded by the bus registration's
 * lock. Bus callbacks run with it held; event-loop callbacks and the public
 * functions take it with hvabs_bus_dev_lock(). The loop runs callbacks with
 * its own lock held, so the order is loop lock, then device lock. Code that
 * holds the device lock on another thread therefore never adds or removes
 * sources (that takes the loop lock): it only calls hvabs_event_modify(),
 * which takes none, or signals an eventfd that makes the loop thread do it.
 * That is why a paused input is resumed through `kick_fd`.
 *
 * A source whose fd hung up reports it even with no events requested, so
 * the input source is removed, not just muted, while the FIFO is full; and
 * an output source that reports an error is removed for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <hvabs/bus.h>
#include <hvabs/devices/uart8250.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#include "host_out.h"
#include "line_tail.h"

#define COMP  "uart"
#define NREGS 8

enum {
	R_DATA = 0,
	R_IER = 1,
	R_IIR = 2,
	R_LCR = 3,
	R_MCR = 4,
	R_LSR = 5,
	R_MSR = 6,
	R_SCR = 7
};

#define IER_ERBFI    0x01 /* received data available */
#define IER_ETBEI    0x02 /* transmitter holding register empty */
#define IER_ELSI     0x04 /* receiver line status */
#define IER_EDSSI    0x08 /* modem status */
#define IER_MASK     0x0f /* bits 4-7 read as zero on a 16550A (Linux's XScale UUE test) */

#define IIR_MSR	     0x00
#define IIR_NONE     0x01
#define IIR_THRE     0x02
#define IIR_RDA	     0x04
#define IIR_RLS	     0x06
#define IIR_CTI	     0x0c
#define IIR_FIFO     0xc0 /* both set: a 16550A with working FIFOs */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB     0x80

#define MCR_DTR	     0x01
#define MCR_RTS	     0x02
#define MCR_OUT1     0x04
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10
#define MCR_MASK     0x1f

#define LSR_DR	     0x01
#define LSR_OE	     0x02
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define LSR_ERRS     0x1e /* OE, PE, FE, BI: cleared by reading the LSR */

#define MSR_DCTS     0x01
#define MSR_DDSR     0x02
#define MSR_TERI     0x04
#define MSR_DDCD     0x08
#define MSR_CTS	     0x10
#define MSR_DSR	     0x20
#define MSR_RI	     0x40
#define MSR_DCD	     0x80

struct hvabs_uart {
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_bus_dev *dev;
	uint16_t base;
	uint32_t gsi;
	struct hvabs_ratelimit rl;

	/* host side */
	int in_fd;
	int out_fd;
	int out_dup; /* our dup of the output fd when it equals in_fd (epoll keys on the fd) */
	struct host_out ho; /* bounded, non-blocking output; ho.buf is NULL without out_fd */
	int kick_fd;	    /* eventfd: asks the loop thread to resume input */
	struct hvabs_event_loop *loop;
	struct hvabs_event *ev_in;
	struct hvabs_event *ev_out;
	struct hvabs_event *ev_kick;
	bool in_paused;	   /* ev_in removed because the FIFO was full or in loopback */
	bool in_eof;	   /* input is over (EOF, error, or not pollable) */
	bool kick_pending; /* kick_fd signalled, not yet seen by the loop */
	bool out_armed;	   /* ev_out waits for EVENT_OUT */
	bool dying;

	/* registers */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_err;   /* latched LSR error bits */
	uint8_t msr_delta; /* MSR bits 0-3 */
	uint8_t rbr;	   /* the last byte read, returned again from an empty FIFO */
	uint8_t trigger;   /* RX FIFO trigger level */
	bool fifo_on;
	bool thre_pending;
	int irq_level; /* what the line was last set to, -1 before the first time */

	uint8_t rx[HVABS_UART_FIFO_SIZE];
	unsigned rx_head, rx_count;

	struct line_tail tail;

	struct hvabs_uart_stats st;
};

/* ---- interrupt state ---- */

static bool loopback(const struct hvabs_uart *u)
{
	return u->mcr & MCR_LOOP;
}

static unsigned rx_cap(const struct hvabs_uart *u)
{
	/* With FIFOs off the 16550A is a 16450: a one-byte holding register. */
	return u->fifo_on ? HVABS_UART_FIFO_SIZE : 1;
}

/* The highest-priority pending interrupt (PC16550D table 4). */
static uint8_t iir_source(const struct hvabs_uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr_err & LSR_ERRS))
		return IIR_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		if (!u->fifo_on || u->rx_count >= u->trigger)
			return IIR_RDA;
		return IIR_CTI;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && u->msr_delta)
		return IIR_MSR;
	return IIR_NONE;
}

/* Called after every state change: the line follows "an interrupt is pending". */
static void update_irq(struct hvabs_uart *u)
{
	int level = iir_source(u) != IIR_NONE;

	if (level == u->irq_level)
		return;
	int rc = hvabs_irq_line(u->vm, u->gsi, level);
	if (rc) {
		hvabs_log_ratelimited(u->log, &u->rl, HVABS_LOG_WARN, COMP,
				      "0x%x: cannot set GSI %u to %d: %s", u->base, u->gsi, level,
				      strerror(-rc));
		return;
	}
	u->irq_level = level;
}

/* ---- host output ---- */

/*
 * The transmitter is always ready (THRE and TEMT stay set): a byte goes into
 * a bounded buffer in front of a non-blocking descriptor, or is dropped and
 * counted when the buffer is full. Neither the vCPU thread nor the event
 * loop ever waits for the host's terminal while holding the device lock.
 */
static void set_out_events(struct hvabs_uart *u, bool want)
{
	if (!u->ev_out || u->out_armed == want)
		return;
	if (hvabs_event_modify(u->ev_out, want ? HVABS_EVENT_OUT : 0) == 0)
		u->out_armed = want;
}

/* Writes what the fd takes now; waits for EVENT_OUT for the rest. */
static void flush_out(struct hvabs_uart *u)
{
	if (!u->ho.buf || u->ho.broken)
		return;
	int rc = host_out_flush(&u->ho);
	if (rc != 0 && rc != -EAGAIN)
		hvabs_log_ratelimited(
		    u->log, &u->rl, HVABS_LOG_WARN, COMP,
		    "0x%x: output fd %d failed (%s); discarding output from now on", u->base,
		    u->out_fd, strerror(-rc));
	set_out_events(u, rc == -EAGAIN);
}

/* The guest transmitted @p c (not in loopback). */
static void transmit(struct hvabs_uart *u, uint8_t c)
{
	line_tail_put(&u->tail, c);
	u->st.tx_bytes++;
	if (!u->ho.buf)
		return;
	if (!host_out_put(&u->ho, c)) {
		if (!u->ho.broken)
			hvabs_log_ratelimited(u->log, &u->rl, HVABS_LOG_WARN, COMP,
					      "0x%x: output fd %d is not keeping up: %zu bytes "
					      "buffered, output dropped",
					      u->base, u->out_fd, u->ho.len);
		return;
	}
	/* While the loop waits for room, it writes; otherwise try now (oldest first). */
	if (!u->out_armed)
		flush_out(u);
}

static void on_out(void *opaque, uint32_t events)
{
	struct hvabs_uart *u = opaque;

	hvabs_bus_dev_lock(u->dev);
	if (!u->dying && u->ev_out) {
		if (events & (HVABS_EVENT_ERR | HVABS_EVENT_HUP)) {
			/* Nobody reads the fd any more; it would keep reporting this. */
			if (!u->ho.broken) {
				host_out_break(&u->ho);
				hvabs_log_ratelimited(u->log, &u->rl, HVABS_LOG_WARN, COMP,
						      "0x%x: output fd %d hung up; discarding "
						      "output from now on",
						      u->base, u->out_fd);
			}
			hvabs_event_remove(u->ev_out);
			u->ev_out = NULL;
		} else {
			flush_out(u);
		}
	}
	hvabs_bus_dev_unlock(u->dev);
}

/* ---- receiver and host input ---- */

/* Puts one byte from the line into the FIFO; a full FIFO is an overrun. */
static bool rx_push(struct hvabs_uart *u, uint8_t c)
{
	if (u->rx_count >= rx_cap(u)) {
		u->lsr_err |= LSR_OE;
		u->st.rx_overruns++;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % HVABS_UART_FIFO_SIZE] = c;
	u->rx_count++;
	return true;
}

static void rx_clear(struct hvabs_uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* Asks the loop thread to watch the input again if it was paused and there is room. */
static void maybe_resume_input(struct hvabs_uart *u)
{
	if (!u->in_paused || u->in_eof || u->kick_pending || loopback(u) ||
	    u->rx_count >= rx_cap(u))
		return;
	uint64_t one = 1;
	if (write(u->kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		u->kick_pending = true;
}

static void pause_input(struct hvabs_uart *u)
{
	hvabs_event_remove(u->ev_in);
	u->ev_in = NULL;
	u->in_paused = true;
}

static void input_over(struct hvabs_uart *u, const char *why)
{
	hvabs_log(u->log, HVABS_LOG_INFO, COMP, "0x%x: input fd %d: %s; no more input", u->base,
		  u->in_fd, why);
	if (u->ev_in)
		hvabs_event_remove(u->ev_in);
	u->ev_in = NULL;
	u->in_eof = true;
}

static void on_in(void *opaque, uint32_t events)
{
	struct hvabs_uart *u = opaque;
	uint8_t buf[HVABS_UART_FIFO_SIZE];

	(void)events;
	hvabs_bus_dev_lock(u->dev);
	if (u->dying || !u->ev_in)
		goto out;
	unsigned room = rx_cap(u) - u->rx_count;
	if (room && !loopback(u)) {
		ssize_t n = read(u->in_fd, buf, room);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				rx_push(u, buf[i]);
			u->st.rx_bytes += (uint64_t)n;
			update_irq(u);
		} else if (n == 0) {
			input_over(u, "end of file");
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			input_over(u, strerror(errno));
		}
	}
	/* Full (or disconnected by loopback): stop reading until the guest drains it. */
	if (u->ev_in && (loopback(u) || u->rx_count >= rx_cap(u)))
		pause_input(u);
out:
	hvabs_bus_dev_unlock(u->dev);
}

static void on_kick(void *opaque, uint32_t events)
{
	struct hvabs_uart *u = opaque;
	uint64_t v;

	(void)events;
	(void)!read(u->kick_fd, &v, sizeof(v));
	hvabs_bus_dev_lock(u->dev);
	u->kick_pending = false;
	if (!u->dying && u->in_paused && !u->in_eof && !loopback(u) && u->rx_count < rx_cap(u)) {
		/* On the loop thread, so adding a source cannot deadlock (see top). */
		int rc = hvabs_event_add(u->loop, u->in_fd, HVABS_EVENT_IN, on_in, u, &u->ev_in);
		if (rc) {
			u->ev_in = NULL;
			input_over(u, strerror(-rc));
		}
		u->in_paused = false;
	}
	hvabs_bus_dev_unlock(u->dev);
}

/* ---- registers ---- */

static uint8_t msr_lines(const struct hvabs_uart *u)
{
	if (!loopback(u))
		return MSR_CTS | MSR_DSR | MSR_DCD; /* a terminal is attached and ready */
	/* Loopback wires the modem outputs to the inputs (PC16550D 8.6). */
	return (uint8_t)((u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
			 (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0));
}

static void write_mcr(struct hvabs_uart *u, uint8_t val)
{
	uint8_t before = msr_lines(u);
	bool was_loop = loopback(u);

	u->mcr = val & MCR_MASK;
	uint8_t after = msr_lines(u);
	uint8_t changed = before ^ after;
	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((before & MSR_RI) && !(after & MSR_RI))
		u->msr_delta |= MSR_TERI; /* trailing edge only */
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	if (was_loop && !loopback(u))
		maybe_resume_input(u);
}

static void write_fcr(struct hvabs_uart *u, uint8_t val)
{
	static const uint8_t triggers[4] = {1, 4, 8, 14};
	bool on = val & FCR_ENABLE;

	if (on != u->fifo_on) {
		/* Changing the FIFO mode clears the FIFOs. */
		rx_clear(u);
		u->fifo_on = on;
	}
	/* FCR0 must be set for the other bits to be programmed (PC16550D 8.4). */
	if (on) {
		if (val & FCR_CLEAR_RX)
			rx_clear(u);
		u->trigger = triggers[val >> 6];
	}
	maybe_resume_input(u);
}

static void write_ier(struct hvabs_uart *u, uint8_t val)
{
	uint8_t old = u->ier;

	u->ier = val & IER_MASK;
	/* Enabling ETBEI with the THR empty raises the THRE interrupt at once;
	 * Linux's startup THRE test and start_tx rely on it. */
	if ((old ^ u->ier) & IER_ETBEI)
		u->thre_pending = u->ier & IER_ETBEI;
}

static void reg_write(struct hvabs_uart *u, unsigned reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case R_DATA:
		if (dlab) {
			u->dll = val;
			break;
		}
		u->thre_pending = false;
		if (loopback(u))
			rx_push(u, val);
		else
			transmit(u, val);
		u->thre_pending = true; /* THR is empty again at once */
		break;
	case R_IER:
		if (dlab)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case R_IIR:
		write_fcr(u, val);
		break;
	case R_LCR:
		u->lcr = val;
		break;
	case R_MCR:
		write_mcr(u, val);
		break;
	case R_SCR:
		u->scr = val;
		break;
	default: /* LSR and MSR are read-only (factory test writes are ignored) */
		break;
	}
	update_irq(u);
}

static uint8_t reg_read(struct hvabs_uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case R_DATA:
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			u->rbr = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % HVABS_UART_FIFO_SIZE;
			u->rx_count--;
			maybe_resume_input(u);
		}
		v = u->rbr;
		break;
	case R_IER:
		return dlab ? u->dlm : u->ier;
	case R_IIR:
		v = iir_source(u);
		/* Reading the IIR that reports THRE is what acknowledges it. */
		if (v == IIR_THRE)
			u->thre_pending = false;
		if (u->fifo_on)
			v |= IIR_FIFO;
		break;
	case R_LCR:
		return u->lcr;
	case R_MCR:
		return u->mcr;
	case R_LSR:
		v = u->lsr_err;
		if (u->rx_count)
			v |= LSR_DR;
		v |= LSR_THRE | LSR_TEMT;
		u->lsr_err &= (uint8_t)~LSR_ERRS;
		break;
	case R_MSR:
		v = msr_lines(u) | u->msr_delta;
		u->msr_delta = 0;
		break;
	default:
		return u->scr;
	}
	update_irq(u);
	return v;
}

/* Wider accesses are split into byte cycles, as the ISA bus does for an 8-bit device. */
static int uart_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_uart *u = opaque;
	uint64_t v = 0;

	for (uint32_t i = 0; i < size; i++) {
		uint64_t b = off + i < NREGS ? reg_read(u, (unsigned)(off + i)) : 0xff;
		v |= b << (8 * i);
	}
	*val = v;
	return 0;
}

static int uart_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_uart *u = opaque;

	for (uint32_t i = 0; i < size && off + i < NREGS; i++)
		reg_write(u, (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
	return 0;
}

static const struct hvabs_bus_ops uart_ops = {.read = uart_read, .write = uart_write};

int hvabs_uart_tail(struct hvabs_uart *u, char *buf, size_t size, size_t *len)
{
	if (!u || !buf || !size)
		return -EINVAL;
	hvabs_bus_dev_lock(u->dev);
	size_t n = line_tail_copy(&u->tail, buf, size);
	hvabs_bus_dev_unlock(u->dev);
	if (len)
		*len = n;
	return 0;
}

/* ---- public API ---- */

int hvabs_uart_inject(struct hvabs_uart *u, const void *buf, size_t len, uint32_t flags)
{
	const uint8_t *p = buf;
	int taken = 0;

	if (!u || (!buf && len) || (flags & ~HVABS_UART_INJECT_OVERRUN))
		return -EINVAL;
	if (len > INT_MAX)
		len = INT_MAX;
	hvabs_bus_dev_lock(u->dev);
	for (size_t i = 0; i < len; i++) {
		if (loopback(u)) {
			if (!(flags & HVABS_UART_INJECT_OVERRUN))
				break;
			continue; /* the line is disconnected in loopback: the byte is gone */
		}
		if (u->rx_count >= rx_cap(u) && !(flags & HVABS_UART_INJECT_OVERRUN))
			break;
		if (rx_push(u, p[i]))
			taken++;
	}
	u->st.rx_bytes += (uint64_t)taken;
	update_irq(u);
	hvabs_bus_dev_unlock(u->dev);
	return taken;
}

void hvabs_uart_get_stats(struct hvabs_uart *u, struct hvabs_uart_stats *stats)
{
	if (!u) {
		memset(stats, 0, sizeof(*stats));
		return;
	}
	hvabs_bus_dev_lock(u->dev);
	*stats = u->st;
	stats->tx_dropped = u->ho.dropped;
	stats->out_buffered = u->ho.len;
	hvabs_bus_dev_unlock(u->dev);
}

static void reset_registers(struct hvabs_uart *u)
{
	u->ier = 0;
	/* As PC firmware leaves COM1: 8N1, DTR, RTS and OUT2 (the IRQ enable) set. */
	u->lcr = 0x03;
	u->mcr = MCR_DTR | MCR_RTS | MCR_OUT2;
	u->dll = 0x01; /* 115200 baud with the PC's 1.8432 MHz clock */
	u->dlm = 0;
	u->trigger = 1;
	u->irq_level = -1;
}

/* Adds a source and publishes it under the device lock (guest accesses may already run). */
static int watch(struct hvabs_uart *u, int fd, uint32_t events, hvabs_event_fn fn,
		 struct hvabs_event **slot)
{
	struct hvabs_event *ev;
	int rc = hvabs_event_add(u->loop, fd, events, fn, u, &ev);

	if (rc)
		return rc;
	hvabs_bus_dev_lock(u->dev);
	*slot = ev;
	hvabs_bus_dev_unlock(u->dev);
	return 0;
}

static int setup_output(struct hvabs_uart *u)
{
	int fd = host_out_pollfd(&u->ho);

	if (fd == u->in_fd) {
		u->out_dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (u->out_dup < 0)
			return -errno;
		fd = u->out_dup;
	}
	int rc = watch(u, fd, 0, on_out, &u->ev_out);
	if (rc == -EPERM) {
		/* A regular file or /dev/null: writes never block, nothing to wait for. */
		if (u->out_dup >= 0)
			close(u->out_dup);
		u->out_dup = -1;
		return 0;
	}
	return rc;
}

static int setup_input(struct hvabs_uart *u)
{
	u->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->kick_fd < 0)
		return -errno;
	int rc = watch(u, u->kick_fd, HVABS_EVENT_IN, on_kick, &u->ev_kick);
	if (rc)
		return rc;
	rc = watch(u, u->in_fd, HVABS_EVENT_IN, on_in, &u->ev_in);
	if (rc == -EPERM) {
		hvabs_log(u->log, HVABS_LOG_WARN, COMP,
			  "0x%x: input fd %d cannot be watched (a regular file or /dev/null?): "
			  "console input disabled",
			  u->base, u->in_fd);
		u->in_eof = true;
		return 0;
	}
	return rc;
}

static void release(struct hvabs_uart *u)
{
	struct hvabs_event *evs[3];

	if (u->dev) {
		hvabs_bus_unregister(u->dev);
		/* Stop the loop callbacks from changing anything, then take their sources. */
		hvabs_bus_dev_lock(u->dev);
		u->dying = true;
		evs[0] = u->ev_kick;
		evs[1] = u->ev_in;
		evs[2] = u->ev_out;
		u->ev_kick = u->ev_in = u->ev_out = NULL;
		hvabs_bus_dev_unlock(u->dev);
		for (int i = 0; i < 3; i++)
			hvabs_event_remove(evs[i]);
	}
	if (u->ho.buf) {
		(void)host_out_flush(&u->ho);
		if (u->ho.len)
			hvabs_log(u->log, HVABS_LOG_WARN, COMP,
				  "0x%x: %zu bytes of output could not be written", u->base,
				  u->ho.len);
		host_out_fini(&u->ho);
	}
	if (u->kick_fd >= 0)
		close(u->kick_fd);
	if (u->out_dup >= 0)
		close(u->out_dup);
	line_tail_fini(&u->tail);
	free(u);
}

int hvabs_uart_create(struct hvabs_vm *vm, const struct hvabs_uart_config *cfg,
		      struct hvabs_uart **out)
{
	static const struct hvabs_uart_config defaults = HVABS_UART_CONFIG_INIT;
	struct hvabs_uart *u;
	int rc;

	if (!cfg)
		cfg = &defaults;
	if (!vm || !out || (cfg->in_fd >= 0 && !cfg->loop) || cfg->tail_lines > 65536 ||
	    cfg->out_buffer > HVABS_UART_OUT_BUFFER_MAX)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->vm = vm;
	u->log = hvabs_vm_logger(vm);
	u->base = cfg->base ? cfg->base : HVABS_UART_COM1_BASE;
	u->gsi = cfg->gsi ? cfg->gsi : HVABS_UART_COM1_GSI;
	u->in_fd = cfg->in_fd < 0 ? -1 : cfg->in_fd;
	u->out_fd = cfg->out_fd < 0 ? -1 : cfg->out_fd;
	u->out_dup = -1;
	u->kick_fd = -1;
	u->loop = cfg->loop;
	reset_registers(u);
	rc = line_tail_init(&u->tail, cfg->tail_lines ? cfg->tail_lines : HVABS_UART_TAIL_LINES,
			    HVABS_UART_TAIL_WIDTH);
	if (!rc && u->out_fd >= 0)
		rc = host_out_init(&u->ho, u->out_fd,
				   cfg->out_buffer ? cfg->out_buffer : HVABS_UART_OUT_BUFFER,
				   u->log, "uart");
	if (rc)
		goto err;
	rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, u->base, NREGS, &uart_ops, u, 0, &u->dev);
	if (rc)
		goto err;
	if (u->loop && u->out_fd >= 0)
		rc = setup_output(u);
	if (!rc && u->in_fd >= 0)
		rc = setup_input(u);
	if (rc)
		goto err;
	*out = u;
	return 0;
err:
	release(u);
	return rc;
}

void hvabs_uart_destroy(struct hvabs_uart *u)
{
	if (u)
		release(u);
}
