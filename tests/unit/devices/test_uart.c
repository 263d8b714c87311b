/* SPDX-License-Identifier: Apache-2.0 */
/* 16550A UART: Linux's probe, interrupts, FIFO, DLAB, loopback, host I/O, tail. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/uart8250.h>

#include "harness.h"

#define COM1 0x3f8
#define GSI  4
#define THR  (COM1 + 0)
#define IER  (COM1 + 1)
#define IIR  (COM1 + 2)
#define FCR  (COM1 + 2)
#define LCR  (COM1 + 3)
#define MCR  (COM1 + 4)
#define LSR  (COM1 + 5)
#define MSR  (COM1 + 6)
#define SCR  (COM1 + 7)
/* Output buffer of the rigs: small, so tests fill it quickly. */
#define OUTBUF 4096

/* A UART with pipes on both sides and a loop the test runs itself. */
struct rig {
	struct hvabs_uart *u;
	struct hvabs_event_loop *loop;
	int in[2];  /* the test writes in[1]; the UART reads in[0] */
	int out[2]; /* the UART writes out[1]; the test reads out[0] */
};

static void rig_up(struct hvabs_vm *vm, struct rig *r, bool nonblock_out)
{
	struct hvabs_uart_config cfg = HVABS_UART_CONFIG_INIT;

	assert_int_equal(hvabs_event_loop_create(&r->loop), 0);
	assert_int_equal(pipe2(r->in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r->out, O_CLOEXEC | (nonblock_out ? O_NONBLOCK : 0)), 0);
	assert_int_equal(fcntl(r->out[0], F_SETFL, O_NONBLOCK), 0);
	cfg.in_fd = r->in[0];
	cfg.out_fd = r->out[1];
	cfg.loop = r->loop;
	cfg.out_buffer = OUTBUF;
	assert_int_equal(hvabs_uart_create(vm, &cfg, &r->u), 0);
}

static void rig_down(struct rig *r)
{
	hvabs_uart_destroy(r->u);
	hvabs_event_loop_destroy(r->loop);
	for (int i = 0; i < 2; i++) {
		if (r->in[i] >= 0)
			close(r->in[i]);
		close(r->out[i]);
	}
}

static size_t drain_out(struct rig *r, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t k;

	while (n < cap && (k = read(r->out[0], buf + n, cap - n)) > 0)
		n += (size_t)k;
	return n;
}

static int pipe_fill(int fd)
{
	int n = 0;

	/* Make the pipe as small as Linux allows, then fill it to the brim. */
	(void)fcntl(fd, F_SETPIPE_SZ, 4096);
	char c = 'x';
	while (write(fd, &c, 1) == 1)
		n++;
	return n;
}

/*
 * The sequence Linux's 8250 driver runs on COM1: autoconfig() (IER test,
 * loopback test, EFR/FIFO test) and serial8250_do_startup() (FIFO clear,
 * LSR safety check, the THRE test, the TX-irq quick test), performed as
 * guest port accesses through the run loop.
 */
static void uart_linux_probe(struct hvabs_vm *vm, const char *backend)
{
	struct rig r;
	struct devt_io io[] = {
	    /* 0 */ DEVT_IN(IER),
	    DEVT_OUT(IER, 0),
	    DEVT_IN(IER),
	    DEVT_OUT(IER, 0x0f),
	    /* 4 */ DEVT_IN(IER),
	    DEVT_OUT(IER, 0),
	    DEVT_IN(MCR),
	    DEVT_IN(LCR),
	    /* 8 */ DEVT_OUT(MCR, 0x1a),
	    DEVT_IN(MSR),
	    DEVT_OUT(MCR, 0x0b),
	    /* 11 */ DEVT_OUT(LCR, 0xbf),
	    DEVT_OUT(IIR, 0),
	    DEVT_OUT(LCR, 0),
	    DEVT_OUT(FCR, 1),
	    /* 15 */ DEVT_IN(IIR),
	    DEVT_OUT(LCR, 0x03),
	    /* 17: clear FIFOs, read RX, clear IER */
	    DEVT_OUT(FCR, 0x07),
	    DEVT_OUT(FCR, 0),
	    DEVT_IN(THR),
	    DEVT_OUT(IER, 0),
	    /* 21: startup: clear interrupts, LSR safety check */
	    DEVT_IN(LSR),
	    DEVT_IN(THR),
	    DEVT_IN(IIR),
	    DEVT_IN(MSR),
	    DEVT_IN(LSR),
	    /* 26: THRE test */
	    DEVT_OUT(IER, 0x02),
	    DEVT_IN(IIR),
	    DEVT_OUT(IER, 0),
	    DEVT_OUT(IER, 0x02),
	    /* 30 */ DEVT_IN(IIR),
	    DEVT_OUT(IER, 0),
	    /* 32: 8N1, DTR|RTS|OUT2, TX irq quick test */
	    DEVT_OUT(LCR, 0x03),
	    DEVT_OUT(MCR, 0x0b),
	    DEVT_OUT(IER, 0x02),
	    DEVT_IN(LSR),
	    /* 36 */ DEVT_IN(IIR),
	    DEVT_OUT(IER, 0),
	    /* 38: FIFO on as set_termios does, then a byte of output */
	    DEVT_OUT(FCR, 0x81),
	    DEVT_OUT(THR, 'A'),
	};
	struct hvabs_exit ex;
	char buf[8];

	(void)backend;
	rig_up(vm, &r, false);
	devt_line_raises(vm, GSI);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(ex.kind, HVABS_EXIT_HLT);
	assert_int_equal(io[2].value & 0x0f, 0);     /* IER reads back 0 ... */
	assert_int_equal(io[4].value & 0x0f, 0x0f);  /* ... and 0x0f: a UART is there */
	assert_int_equal(io[9].value & 0xf0, 0x90);  /* loopback: RTS->CTS, OUT2->DCD */
	assert_int_equal(io[15].value & 0xc0, 0xc0); /* FIFO enabled bits: a 16550A */
	assert_int_not_equal(io[25].value, 0xff);    /* LSR safety check */
	assert_int_equal(io[27].value & 0x0f, 0x02); /* THRE interrupt right after ETBEI */
	assert_int_equal(io[30].value & 0x0f, 0x02); /* and again: no UART_BUG_THRE */
	assert_true(io[35].value & 0x40);	     /* TEMT ... */
	assert_int_equal(io[36].value & 0x01, 0);    /* ... with an interrupt: no UART_BUG_TXEN */
	/* ETBEI went on with THR empty four times (the IER test's 0x0f too):
	 * four edges, and the line is low again. */
	assert_int_equal(devt_line_raises(vm, GSI), 4);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	assert_int_equal(drain_out(&r, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'A');
	rig_down(&r);
}

static void uart_scratch_and_dlab(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart *u;

	(void)backend;
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	devt_outb(vm, SCR, 0xa5);
	assert_int_equal(devt_inb(vm, SCR), 0xa5);
	devt_outb(vm, IER, 0x05);
	/* DLAB turns offsets 0 and 1 into the divisor latch. */
	devt_outb(vm, LCR, 0x83);
	devt_outb(vm, THR, 0x0c);
	devt_outb(vm, IER, 0x00);
	assert_int_equal(devt_inb(vm, THR), 0x0c);
	assert_int_equal(devt_inb(vm, IER), 0x00);
	assert_int_equal(devt_inb(vm, LCR), 0x83);
	devt_outb(vm, LCR, 0x03);
	assert_int_equal(devt_inb(vm, IER), 0x05); /* IER untouched by the DLM write */
	devt_outb(vm, IER, 0xff);
	assert_int_equal(devt_inb(vm, IER), 0x0f); /* bits 4-7 do not exist */
	devt_outb(vm, LCR, 0x83);
	assert_int_equal(devt_inb(vm, THR), 0x0c);
	devt_outb(vm, LCR, 0x03);
	/* A 16-bit access is two byte cycles: LCR then MCR. */
	uint64_t v;
	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, LCR, 2, &v), 0);
	assert_int_equal(v, 0x0b03);
	hvabs_uart_destroy(u);
}

static void uart_thre_interrupt(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart *u;

	(void)backend;
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	assert_int_not_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(devt_inb(vm, IIR), 0x01);
	devt_outb(vm, IER, 0x02); /* ETBEI with THR empty: interrupt at once */
	assert_int_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	/* Reading the IIR that reported THRE acknowledged it. */
	assert_int_equal(devt_line_level(vm, GSI), 0);
	assert_int_equal(devt_inb(vm, IIR), 0x01);
	devt_line_raises(vm, GSI);
	/* Each transmitted byte empties THR again: a new edge per byte. */
	devt_outb(vm, THR, 'x');
	assert_int_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	devt_outb(vm, THR, 'y');
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	assert_int_equal(devt_line_raises(vm, GSI), 2);
	/* Writing THR also clears it; masking ETBEI drops the line. */
	devt_outb(vm, THR, 'z');
	assert_int_equal(devt_line_level(vm, GSI), 1);
	devt_outb(vm, IER, 0x00);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	assert_int_equal(devt_inb(vm, IIR), 0x01);
	/* Rewriting IER with ETBEI already set does not re-arm an acknowledged THRE. */
	devt_outb(vm, IER, 0x02);
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	devt_outb(vm, IER, 0x03);
	assert_int_equal(devt_inb(vm, IIR), 0x01);
	hvabs_uart_destroy(u);
}

static void uart_rx_fifo(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart *u;
	struct hvabs_uart_stats st;
	const char *msg = "0123456789abcdefghij";

	(void)backend;
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	devt_outb(vm, FCR, 0x81); /* FIFO on, trigger level 8 */
	devt_outb(vm, IER, 0x05); /* ERBFI | ELSI */
	assert_int_equal(hvabs_uart_inject(u, msg, 5, 0), 5);
	assert_int_equal(devt_inb(vm, LSR) & 0x01, 0x01);
	/* Below the trigger level: a character timeout (zero-length). */
	assert_int_equal(devt_inb(vm, IIR), 0xcc);
	assert_int_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(hvabs_uart_inject(u, msg + 5, 3, 0), 3);
	assert_int_equal(devt_inb(vm, IIR), 0xc4); /* at the trigger level */
	/* Without flags only what fits is taken; nothing is lost. */
	assert_int_equal(hvabs_uart_inject(u, msg + 8, 12, 0), 8);
	assert_int_equal(devt_inb(vm, LSR) & 0x02, 0);
	/* As a line: bytes that find the FIFO full are lost and flag an overrun. */
	assert_int_equal(hvabs_uart_inject(u, "XY", 2, HVABS_UART_INJECT_OVERRUN), 0);
	assert_int_equal(devt_inb(vm, IIR), 0xc6); /* line status outranks data */
	assert_int_equal(devt_inb(vm, LSR) & 0x03, 0x03);
	assert_int_equal(devt_inb(vm, LSR) & 0x03, 0x01); /* OE cleared by the read */
	assert_int_equal(devt_inb(vm, IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		assert_int_equal(devt_inb(vm, THR), (uint8_t)msg[i]);
	assert_int_equal(devt_inb(vm, LSR) & 0x01, 0);
	assert_int_equal(devt_inb(vm, IIR), 0xc1);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	hvabs_uart_get_stats(u, &st);
	assert_int_equal(st.rx_bytes, 16);
	assert_int_equal(st.rx_overruns, 2);
	/* FIFOs off (16450 mode): a one-byte holding register. */
	devt_outb(vm, FCR, 0x00);
	assert_int_equal(hvabs_uart_inject(u, "pq", 2, HVABS_UART_INJECT_OVERRUN), 1);
	assert_int_equal(devt_inb(vm, IIR), 0x06);
	assert_int_equal(devt_inb(vm, LSR) & 0x03, 0x03);
	assert_int_equal(devt_inb(vm, IIR), 0x04);
	assert_int_equal(devt_inb(vm, THR), 'p');
	/* FCR bit 1 clears the receive FIFO. */
	devt_outb(vm, FCR, 0x01);
	assert_int_equal(hvabs_uart_inject(u, "abc", 3, 0), 3);
	devt_outb(vm, FCR, 0x03);
	assert_int_equal(devt_inb(vm, LSR) & 0x01, 0);
	hvabs_uart_destroy(u);
}

static void uart_iir_priorities(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart *u;

	(void)backend;
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	devt_outb(vm, FCR, 0x01); /* FIFO on, trigger level 1 */
	/* Make every source pending: modem status delta, THRE, data, overrun. */
	devt_outb(vm, MCR, 0x10); /* loopback with outputs off: CTS, DSR, DCD drop */
	devt_outb(vm, MCR, 0x0b); /* and change back */
	for (int i = 0; i < 16; i++)
		devt_outb(vm, THR, 'a'); /* loopback is off again: goes to out_fd (none) */
	assert_int_equal(hvabs_uart_inject(u, "0123456789abcdefg", 17, HVABS_UART_INJECT_OVERRUN),
			 16);
	devt_outb(vm, IER, 0x0f);
	assert_int_equal(devt_inb(vm, IIR), 0xc6); /* line status */
	devt_inb(vm, LSR);
	assert_int_equal(devt_inb(vm, IIR), 0xc4); /* received data */
	for (int i = 0; i < 16; i++)
		devt_inb(vm, THR);
	assert_int_equal(devt_inb(vm, IIR),
			 0xc2); /* transmitter empty, acknowledged by this read */
	assert_int_equal(devt_inb(vm, IIR), 0xc0);	  /* modem status */
	assert_int_equal(devt_inb(vm, MSR) & 0x0f, 0x0b); /* DCTS, DDSR, DDCD; RI never rose */
	assert_int_equal(devt_inb(vm, IIR), 0xc1);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	hvabs_uart_destroy(u);
}

static void uart_loopback(struct hvabs_vm *vm, const char *backend)
{
	struct rig r;
	char buf[8];

	(void)backend;
	rig_up(vm, &r, false);
	devt_outb(vm, MCR, 0x10 | 0x0f);
	assert_int_equal(devt_inb(vm, MSR) & 0xf0, 0xf0);
	devt_outb(vm, MCR, 0x10 | 0x04); /* OUT1 stays: RI; CTS, DSR, DCD drop */
	assert_int_equal(devt_inb(vm, MSR), 0x40 | 0x0b);
	devt_outb(vm, MCR, 0x10); /* RI falls: trailing edge */
	assert_int_equal(devt_inb(vm, MSR), 0x04);
	devt_outb(vm, THR, 'L');
	assert_int_equal(devt_inb(vm, LSR) & 0x01, 0x01);
	assert_int_equal(devt_inb(vm, THR), 'L');
	/* The line is disconnected: injected bytes are not taken. */
	assert_int_equal(hvabs_uart_inject(r.u, "z", 1, 0), 0);
	devt_outb(vm, MCR, 0x0b);
	assert_int_equal(drain_out(&r, buf, sizeof(buf)), 0); /* nothing left the UART */
	rig_down(&r);
}

/*
 * Output to a full non-blocking pipe is buffered, in order, up to the
 * buffer's size; the transmitter stays ready, so past that the guest's bytes
 * are dropped and counted, not waited for.
 */
static void uart_output_backpressure(struct hvabs_vm *vm, const char *backend)
{
	static char got[70000];
	struct rig r;
	struct hvabs_uart_stats st;

	(void)backend;
	signal(SIGPIPE, SIG_IGN);
	rig_up(vm, &r, true);
	int prefill = pipe_fill(r.out[1]);
	assert_true(prefill > 0);
	for (int i = 0; i < OUTBUF; i++) {
		assert_int_equal(devt_inb(vm, LSR) & 0x60, 0x60);
		devt_outb(vm, THR, (uint8_t)('a' + i % 26));
	}
	/* The buffer is full, yet THR is free and ETBEI raises THRE at once. */
	assert_int_equal(devt_inb(vm, LSR) & 0x60, 0x60);
	devt_outb(vm, IER, 0x02);
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	devt_outb(vm, THR, '!'); /* no room: dropped */
	assert_int_equal(devt_inb(vm, IIR), 0x02);
	hvabs_uart_get_stats(r.u, &st);
	assert_int_equal(st.out_buffered, OUTBUF);
	assert_int_equal(st.tx_dropped, 1);
	assert_int_equal(st.tx_bytes, OUTBUF + 1);
	/* The reader catches up; the loop writes the rest out. */
	size_t n = 0;
	for (int spins = 0; spins < 100 && n < (size_t)prefill + OUTBUF; spins++) {
		n += drain_out(&r, got + n, sizeof(got) - n);
		hvabs_event_loop_run_once(r.loop, 100);
	}
	n += drain_out(&r, got + n, sizeof(got) - n);
	assert_int_equal(n, (size_t)prefill + OUTBUF);
	for (int i = 0; i < OUTBUF; i++)
		assert_int_equal(got[prefill + i], 'a' + i % 26);
	hvabs_uart_get_stats(r.u, &st);
	assert_int_equal(st.out_buffered, 0);
	/* With room again, output flows straight through. */
	devt_outb(vm, THR, 'Z');
	assert_int_equal(drain_out(&r, got, sizeof(got)), 1);
	assert_int_equal(got[0], 'Z');
	rig_down(&r);
}

/* ---- a host terminal that does not read ---- */

/* The guest side of uart_stalled_reader: THR writes on another thread, as a vCPU's. */
struct writer {
	struct hvabs_vm *vm;
	int n;
	int failed;
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *guest_writes(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->n; i++)
		if (hvabs_bus_write(w->vm, HVABS_SPACE_PIO, THR, 1, (uint8_t)('a' + i % 26)))
			w->failed++;
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Waits for the writer. The limit only guards against a hang (the writes
 * take microseconds): if it passes, the writer is stuck in the host's
 * write(2), so the test drains the pipe to free it and then fails.
 */
static bool writer_finished(struct writer *w, int out_rd)
{
	struct timespec until;
	bool done;
	char sink[4096];

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&w->mu);
	while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (done)
		return true;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		bool d = w->done;
		pthread_mutex_unlock(&w->mu);
		if (d)
			return false;
		(void)!read(out_rd, sink, sizeof(sink));
	}
}

/*
 * Output to a blocking pipe that nobody reads (a stopped terminal, ^S): the
 * guest's register writes all return, the bytes past the buffer are dropped
 * and counted, input still reaches the guest, the caller's descriptor keeps
 * its flags, and what was kept comes out in order once the reader is back.
 */
static void uart_stalled_reader(struct hvabs_vm *vm, const char *backend)
{
	static char got[3 * OUTBUF + 65536];
	struct rig r;
	struct hvabs_uart_stats st;
	struct writer w = {.vm = vm, .n = OUTBUF + 1000};
	pthread_t th;

	(void)backend;
	signal(SIGPIPE, SIG_IGN);
	rig_up(vm, &r, false);
	int fl = fcntl(r.out[1], F_GETFL);
	assert_false(fl & O_NONBLOCK);
	/* Fill the pipe through a non-blocking view of it; the UART's own fd stays blocking. */
	assert_int_equal(fcntl(r.out[1], F_SETFL, fl | O_NONBLOCK), 0);
	int prefill = pipe_fill(r.out[1]);
	assert_int_equal(fcntl(r.out[1], F_SETFL, fl), 0);
	assert_true(prefill > 0);

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	assert_int_equal(pthread_create(&th, NULL, guest_writes, &w), 0);
	bool prompt = writer_finished(&w, r.out[0]);
	pthread_join(th, NULL);
	if (!prompt)
		fail_msg("THR writes blocked on the host's output fd");
	assert_int_equal(w.failed, 0);
	/* A polling guest never waits: the transmitter is always ready. */
	assert_int_equal(devt_inb(vm, LSR) & 0x60, 0x60);
	hvabs_uart_get_stats(r.u, &st);
	assert_int_equal(st.tx_bytes, (uint64_t)w.n);
	assert_int_equal(st.out_buffered, OUTBUF);
	assert_int_equal(st.tx_dropped, (uint64_t)w.n - OUTBUF);
	assert_int_equal(fcntl(r.out[1], F_GETFL), fl);

	/* Input from the host, through the loop and injected, still reaches the guest. */
	devt_outb(vm, FCR, 0x01);
	assert_int_equal(write(r.in[1], "hi", 2), 2);
	assert_true(hvabs_event_loop_run_once(r.loop, 5000) > 0);
	assert_int_equal(hvabs_uart_inject(r.u, "!", 1, 0), 1);
	assert_int_equal(devt_inb(vm, THR), 'h');
	assert_int_equal(devt_inb(vm, THR), 'i');
	assert_int_equal(devt_inb(vm, THR), '!');

	/* The reader comes back: the buffered bytes follow the old ones, in order. */
	size_t n = 0, want = (size_t)prefill + OUTBUF;
	for (int spins = 0; spins < 200 && n < want; spins++) {
		n += drain_out(&r, got + n, sizeof(got) - n);
		hvabs_event_loop_run_once(r.loop, 100);
	}
	n += drain_out(&r, got + n, sizeof(got) - n);
	assert_int_equal(n, want);
	for (int i = 0; i < OUTBUF; i++)
		assert_int_equal(got[prefill + i], 'a' + i % 26);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	rig_down(&r);
}

/*
 * A pipe whose reader is gone: output is dropped rather than blocking or
 * failing the guest, and the caller's descriptor has its flags back after
 * destroy (whichever way the UART made its writes non-blocking).
 */
static void uart_reader_gone(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart_config cfg = HVABS_UART_CONFIG_INIT;
	struct hvabs_uart_stats st;
	struct hvabs_uart *u;
	int p[2];

	(void)backend;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	int fl = fcntl(p[1], F_GETFL);
	cfg.out_fd = p[1];
	assert_int_equal(hvabs_uart_create(vm, &cfg, &u), 0);
	devt_outb(vm, THR, 'x');
	devt_outb(vm, THR, 'y');
	hvabs_uart_get_stats(u, &st);
	assert_int_equal(st.tx_bytes, 2);
	assert_int_equal(st.tx_dropped, 2);
	hvabs_uart_destroy(u);
	assert_int_equal(fcntl(p[1], F_GETFL), fl);
	close(p[1]);
}

/*
 * A terminal, stopped as ^S stops it (TCOOFF): the guest's writes return and
 * the excess is dropped; the caller's terminal descriptor never becomes
 * non-blocking (the shell and the VMM's own stderr share it); once output
 * resumes, what was kept arrives.
 */
static void uart_stopped_terminal(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart_config cfg = HVABS_UART_CONFIG_INIT;
	struct hvabs_event_loop *loop;
	struct hvabs_uart_stats st;
	struct hvabs_uart *u;
	struct termios tio;
	char name[64], got[OUTBUF];

	(void)backend;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, name, sizeof(name)), 0);
	int t = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(t >= 0);
	assert_int_equal(tcgetattr(t, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(t, TCSANOW, &tio), 0);
	int fl = fcntl(t, F_GETFL);
	assert_int_equal(hvabs_event_loop_create(&loop), 0);
	cfg.out_fd = t;
	cfg.loop = loop;
	cfg.out_buffer = OUTBUF;
	assert_int_equal(hvabs_uart_create(vm, &cfg, &u), 0);
	assert_int_equal(fcntl(t, F_GETFL), fl);
	assert_int_equal(tcflow(t, TCOOFF), 0);
	int n = 300000;
	for (int i = 0; i < n; i++)
		devt_outb(vm, THR, (uint8_t)('a' + i % 26));
	hvabs_uart_get_stats(u, &st);
	assert_int_equal(st.tx_bytes, (uint64_t)n);
	assert_true(st.tx_dropped > 0);
	assert_int_equal(fcntl(t, F_GETFL), fl);
	/* Output resumes: the terminal delivers, in order, starting with the first byte. */
	assert_int_equal(tcflow(t, TCOON), 0);
	size_t k = 0;
	for (int spins = 0; spins < 200 && k < sizeof(got); spins++) {
		hvabs_event_loop_run_once(loop, 10);
		struct pollfd p = {.fd = m, .events = POLLIN};
		if (poll(&p, 1, 10) > 0) {
			ssize_t r = read(m, got + k, sizeof(got) - k);
			if (r > 0)
				k += (size_t)r;
		}
	}
	assert_true(k > 0);
	for (size_t i = 0; i < k && i < 1000; i++)
		assert_int_equal(got[i], 'a' + (int)(i % 26));
	hvabs_uart_destroy(u);
	hvabs_event_loop_destroy(loop);
	close(t);
	close(m);
}

static int pipe_pending(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* Input is read only as fast as the guest drains the FIFO; nothing is lost. */
static void uart_input_flow_control(struct hvabs_vm *vm, const char *backend)
{
	struct rig r;
	char msg[100], got[100];
	int n = 0;

	(void)backend;
	for (int i = 0; i < 100; i++)
		msg[i] = (char)(' ' + i % 90);
	rig_up(vm, &r, false);
	devt_outb(vm, FCR, 0x01);
	assert_int_equal(write(r.in[1], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	assert_true(hvabs_event_loop_run_once(r.loop, 5000) > 0);
	assert_int_equal(pipe_pending(r.in[0]), 100 - HVABS_UART_FIFO_SIZE);
	/* FIFO full: the UART no longer reads, however often the loop runs. */
	assert_int_equal(hvabs_event_loop_run_once(r.loop, 0), 0);
	assert_int_equal(pipe_pending(r.in[0]), 100 - HVABS_UART_FIFO_SIZE);
	for (int spins = 0; spins < 100 && n < 100; spins++) {
		while (n < 100 && (devt_inb(vm, LSR) & 0x01))
			got[n++] = (char)devt_inb(vm, THR);
		hvabs_event_loop_run_once(r.loop, 100);
	}
	assert_int_equal(n, 100);
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(devt_inb(vm, LSR) & 0x02, 0); /* no overrun */
	/* End of input: the source goes away and the loop stays idle. */
	close(r.in[1]);
	r.in[1] = -1;
	hvabs_event_loop_run_once(r.loop, 100);
	assert_int_equal(hvabs_event_loop_run_once(r.loop, 0), 0);
	rig_down(&r);
}

/* One socket for both directions, as a VMM gives a console socket. */
static void uart_shared_fd(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart_config cfg = HVABS_UART_CONFIG_INIT;
	struct hvabs_event_loop *loop;
	struct hvabs_uart *u;
	int sv[2];
	char c = 0;

	(void)backend;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(hvabs_event_loop_create(&loop), 0);
	cfg.in_fd = cfg.out_fd = sv[0];
	cfg.loop = loop;
	cfg.out_buffer = OUTBUF;
	assert_int_equal(hvabs_uart_create(vm, &cfg, &u), 0);
	devt_outb(vm, THR, 'o');
	assert_int_equal(read(sv[1], &c, 1), 1);
	assert_int_equal(c, 'o');
	assert_int_equal(write(sv[1], "i", 1), 1);
	assert_true(hvabs_event_loop_run_once(loop, 5000) > 0);
	assert_int_equal(devt_inb(vm, THR), 'i');
	/* A peer that stops reading: the guest's bytes are dropped, nobody blocks,
	 * and the socket (blocking, as given) keeps its flags. */
	int sndbuf = 4096;
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	for (int i = 0; i < 200000; i++)
		devt_outb(vm, THR, 'x');
	struct hvabs_uart_stats st;
	hvabs_uart_get_stats(u, &st);
	assert_true(st.tx_dropped > 0);
	assert_int_equal(st.out_buffered, OUTBUF);
	assert_false(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	hvabs_uart_destroy(u);
	hvabs_event_loop_destroy(loop);
	close(sv[0]);
	close(sv[1]);
}

static void put_str(struct hvabs_vm *vm, const char *s)
{
	while (*s)
		devt_outb(vm, THR, (uint8_t)*s++);
}

static void uart_tail(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart *u;
	char buf[HVABS_UART_TAIL_LINES * (HVABS_UART_TAIL_WIDTH + 1) + 64];
	char line[32];
	size_t len;

	(void)backend;
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	assert_int_equal(hvabs_uart_tail(u, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	put_str(vm, "line1\r\nline2\npart");
	assert_int_equal(hvabs_uart_tail(u, buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "line1\nline2\npart");
	assert_int_equal(len, strlen(buf));
	/* Only the last HVABS_UART_TAIL_LINES complete lines are kept. */
	put_str(vm, "\n");
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "boot %d\n", i);
		put_str(vm, line);
	}
	put_str(vm, "Kernel panic");
	assert_int_equal(hvabs_uart_tail(u, buf, sizeof(buf), &len), 0);
	snprintf(line, sizeof(line), "boot %d\n", 100 - HVABS_UART_TAIL_LINES);
	assert_int_equal(strncmp(buf, line, strlen(line)), 0);
	assert_non_null(strstr(buf, "boot 99\nKernel panic"));
	/* A small buffer keeps the newest output. */
	assert_int_equal(hvabs_uart_tail(u, buf, 24, &len), 0);
	assert_string_equal(buf, "boot 99\nKernel panic");
	assert_int_equal(hvabs_uart_tail(u, buf, 6, &len), 0);
	assert_string_equal(buf, "panic");
	assert_int_equal(hvabs_uart_tail(u, buf, 0, &len), -EINVAL);
	hvabs_uart_destroy(u);
}

static void uart_create_errors(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart_config cfg = HVABS_UART_CONFIG_INIT;
	struct hvabs_uart *u, *u2;

	(void)backend;
	cfg.in_fd = 0; /* input without a loop to watch it */
	assert_int_equal(hvabs_uart_create(vm, &cfg, &u), -EINVAL);
	assert_int_equal(hvabs_uart_create(vm, NULL, &u), 0);
	assert_int_equal(hvabs_uart_create(vm, NULL, &u2), -EEXIST);
	cfg.in_fd = -1;
	cfg.base = 0x2f8;
	cfg.gsi = 3;
	assert_int_equal(hvabs_uart_create(vm, &cfg, &u2), 0); /* COM2 beside it */
	devt_outb(vm, 0x2f8 + 1, 0x02);
	assert_int_equal(devt_line_level(vm, 3), 1);
	hvabs_uart_destroy(u2);
	hvabs_uart_destroy(u);
	hvabs_uart_destroy(NULL);
	/* Unregistered: the ports float again. */
	uint64_t v;
	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, LSR, 1, &v), -ENOENT);
}

DEVT_TEST(uart_linux_probe)
DEVT_TEST(uart_scratch_and_dlab)
DEVT_TEST(uart_thre_interrupt)
DEVT_TEST(uart_rx_fifo)
DEVT_TEST(uart_iir_priorities)
DEVT_TEST(uart_loopback)
DEVT_TEST(uart_output_backpressure)
DEVT_TEST(uart_stalled_reader)
DEVT_TEST(uart_reader_gone)
DEVT_TEST(uart_stopped_terminal)
DEVT_TEST(uart_input_flow_control)
DEVT_TEST(uart_shared_fd)
DEVT_TEST(uart_tail)
DEVT_TEST(uart_create_errors)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    DEVT_CASE(uart_linux_probe),
	    DEVT_CASE(uart_scratch_and_dlab),
	    DEVT_CASE(uart_thre_interrupt),
	    DEVT_CASE(uart_rx_fifo),
	    DEVT_CASE(uart_iir_priorities),
	    DEVT_CASE(uart_loopback),
	    DEVT_CASE(uart_output_backpressure),
	    DEVT_CASE(uart_stalled_reader),
	    DEVT_CASE(uart_reader_gone),
	    DEVT_CASE(uart_stopped_terminal),
	    DEVT_CASE(uart_input_flow_control),
	    DEVT_CASE(uart_shared_fd),
	    DEVT_CASE(uart_tail),
	    DEVT_CASE(uart_create_errors),
	};

	devt_init(argc, argv);
	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
