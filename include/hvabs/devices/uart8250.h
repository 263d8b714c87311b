/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file uart8250.h
 * @brief A 16550A UART (the PC's COM port), for `console=ttyS0`.
 *
 * The UART occupies eight I/O ports (0x3f8-0x3ff for COM1) and drives one
 * interrupt line (GSI 4 for COM1) level-style: the line is high exactly
 * while the interrupt identification register reports a pending interrupt.
 * It models what Linux's 8250 driver probes and relies on: the scratch and
 * IER tests, loopback mode, the FIFO-enabled bits of the IIR, the interrupt
 * priorities (line status, then received data or character timeout, then
 * transmitter empty, then modem status), and the THRE interrupt rules
 * (enabling ETBEI while the transmitter is empty raises it; reading the IIR
 * that reports it, or writing the THR, clears it).
 *
 * Transmitted bytes go to a caller-given file descriptor, written as the
 * guest sends them but never with a write that can block: a slow or stopped
 * host terminal (a full pipe, ^S) must not stop the vCPU that transmits, nor
 * every thread that takes the UART's lock, nor the event loop that delivers
 * input. When the descriptor cannot take a byte, the byte is kept, in
 * order, in a bounded buffer (struct hvabs_uart_config.out_buffer bytes,
 * #HVABS_UART_OUT_BUFFER by default) that the event loop writes out when the
 * descriptor becomes writable. When that buffer is full, further bytes are
 * dropped and counted (hvabs_uart_stats.tx_dropped), as Firecracker's serial
 * console does: the transmitter always reports itself ready (LSR.THRE and
 * TEMT stay set), so a guest never waits for the host's terminal.
 *
 * How writes are made non-blocking without changing the caller's
 * descriptor (O_NONBLOCK belongs to the open file description, which a
 * terminal usually shares with the shell and with the VMM's own stderr):
 * a regular file or block device is written as it is (such writes do not
 * wait for a reader); a socket is written with send(2) and MSG_DONTWAIT |
 * MSG_NOSIGNAL; a descriptor that is already O_NONBLOCK is written as it
 * is; anything else (a pipe, a FIFO, a terminal) is reopened through
 * `/proc/self/fd/N` as a new, private, non-blocking open file description of
 * the same object. Only when that is impossible (no /proc, as in a bare
 * jail) does the UART set O_NONBLOCK on the caller's descriptor: it logs a
 * warning saying so and restores the flags in hvabs_uart_destroy().
 *
 * Received bytes come from a caller-given descriptor watched on an event
 * loop, or from hvabs_uart_inject(). The UART only reads from the
 * descriptor as many bytes as its receive FIFO has room for and stops
 * watching it while the FIFO is full, so the guest is never flooded and no
 * byte is lost; reading resumes when the guest drains the FIFO.
 *
 * The last lines of output are kept for hvabs_uart_tail(), so a VMM can show
 * the end of the console after a crash.
 *
 * The character timeout has length zero: input arrives in bursts, so once a
 * burst has been put in the FIFO, data below the trigger level is reported
 * at once (IIR 0xCC) rather than after four character times. The OUT2 bit of
 * the MCR does not gate the interrupt (as in other VMMs), so a guest that
 * forgets it still gets interrupts. Baud rate, parity and stop bits are
 * stored and read back but have no effect.
 *
 * A VMM that writes to pipes should ignore SIGPIPE: a write to a pipe whose
 * reader has gone raises it, as for any other write(2) (sockets are written
 * with MSG_NOSIGNAL).
 *
 * @defgroup dev_uart 16550A UART
 * @brief A PC serial port with host file-descriptor back ends.
 * @{
 */
#ifndef HVABS_DEVICES_UART8250_H
#define HVABS_DEVICES_UART8250_H

#include <stddef.h>
#include <stdint.h>

#include "../event.h"
#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** I/O port base of COM1, the default. */
#define HVABS_UART_COM1_BASE 0x3f8
/** Interrupt line of COM1, the default. */
#define HVABS_UART_COM1_GSI 4
/** Bytes in the receive FIFO (as on a 16550A). */
#define HVABS_UART_FIFO_SIZE 16
/** Default bytes of output held while the output descriptor cannot take them. */
#define HVABS_UART_OUT_BUFFER (1u << 20)
/** Largest struct hvabs_uart_config.out_buffer accepted. */
#define HVABS_UART_OUT_BUFFER_MAX (64u << 20)
/** Lines kept for hvabs_uart_tail() unless the configuration says otherwise. */
#define HVABS_UART_TAIL_LINES 64
/** Longest line kept for hvabs_uart_tail(); longer lines are split. */
#define HVABS_UART_TAIL_WIDTH 256

/** A 16550A UART. */
struct hvabs_uart;

/** Parameters of hvabs_uart_create(). Start from #HVABS_UART_CONFIG_INIT. */
struct hvabs_uart_config {
	uint16_t base; /**< First of the 8 I/O ports; 0 selects #HVABS_UART_COM1_BASE. */
	uint32_t gsi;  /**< Interrupt line; 0 selects #HVABS_UART_COM1_GSI. */
	int in_fd;     /**< Input descriptor (e.g. 0 for stdin), or -1 for none. */
	int out_fd;    /**< Output descriptor (e.g. 1 for stdout), or -1 to discard. */
	/**
	 * Event loop that watches @p in_fd and retries blocked output. Required
	 * when @p in_fd is given; without one, blocked output is retried on the
	 * guest's next transmitted byte.
	 */
	struct hvabs_event_loop *loop;
	uint32_t
	    tail_lines; /**< Lines kept for hvabs_uart_tail(); 0 selects #HVABS_UART_TAIL_LINES. */
	/**
	 * Bytes of output held while @p out_fd cannot take them, beyond which
	 * output is dropped; 0 selects #HVABS_UART_OUT_BUFFER, at most
	 * #HVABS_UART_OUT_BUFFER_MAX. Allocated once, touched as it fills.
	 */
	uint32_t out_buffer;
};

/** Initialiser for struct hvabs_uart_config: COM1, no input, output discarded. */
#define HVABS_UART_CONFIG_INIT                                                                     \
	{                                                                                          \
		HVABS_UART_COM1_BASE, HVABS_UART_COM1_GSI, -1, -1, NULL, 0, 0                      \
	}

/**
 * Creates a UART and registers it on the VM's port-I/O bus. The caller keeps
 * ownership of the descriptors and must keep them open until
 * hvabs_uart_destroy(). Output never blocks (see the file comment for how,
 * and for the one case where O_NONBLOCK is set on the caller's output
 * descriptor); the input descriptor's flags are never changed. An input
 * descriptor that cannot be watched with epoll (a regular file, /dev/null)
 * is logged and ignored. Thread: any.
 * @param vm the VM.
 * @param cfg parameters, or NULL for #HVABS_UART_CONFIG_INIT.
 * @param out the UART.
 * @return 0 or negative errno.
 * @retval -EINVAL @p in_fd given without @p loop, a bad tail length, or
 *         an @p out_buffer above #HVABS_UART_OUT_BUFFER_MAX.
 * @retval -EEXIST the ports are taken by another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_uart_create(struct hvabs_vm *vm,
						 const struct hvabs_uart_config *cfg,
						 struct hvabs_uart **out);

/**
 * Unregisters and frees a UART, after a last non-blocking attempt to write
 * buffered output. NULL is a no-op. Call it before hvabs_vm_destroy(), and
 * not from a callback of the UART's event loop sources. Thread: any.
 * @param uart the UART.
 */
HVABS_API void hvabs_uart_destroy(struct hvabs_uart *uart);

/** hvabs_uart_inject() flag: behave like a serial line, see there. */
#define HVABS_UART_INJECT_OVERRUN (1u << 0)

/**
 * Delivers bytes to the UART's receiver, as if they had arrived on the line.
 *
 * Without flags only as many bytes as the receive FIFO has room for are
 * taken (none in loopback mode, where the line is disconnected); the caller
 * keeps the rest and may try again after the guest has read some. With
 * #HVABS_UART_INJECT_OVERRUN every byte is offered, as a real line would:
 * bytes that find the FIFO full are lost and set the overrun error (LSR.OE).
 * Thread: any.
 * @param uart the UART.
 * @param buf the bytes.
 * @param len how many.
 * @param flags HVABS_UART_INJECT_* bits.
 * @return the number of bytes that went into the FIFO, or negative errno.
 * @retval -EINVAL unknown flags, or NULL @p buf with non-zero @p len.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_uart_inject(struct hvabs_uart *uart, const void *buf,
						 size_t len, uint32_t flags);

/**
 * Copies the last lines the guest printed, oldest first, each ending in a
 * newline except an unfinished last one, NUL-terminated. Carriage returns
 * are dropped. When @p size is too small the oldest lines are left out, so
 * the newest output is always kept. Thread: any.
 * @param uart the UART.
 * @param buf destination.
 * @param size size of @p buf, at least 1.
 * @param len out, may be NULL: bytes copied, not counting the NUL.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL @p buf or zero @p size.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_uart_tail(struct hvabs_uart *uart, char *buf, size_t size,
					       size_t *len);

/** Counters of one UART, for diagnostics. */
struct hvabs_uart_stats {
	uint64_t tx_bytes; /**< Bytes the guest transmitted (loopback excluded). */
	/**
	 * Bytes the guest transmitted that never reached the output descriptor:
	 * they found the output buffer full (the host did not keep up), or the
	 * descriptor had failed or hung up.
	 */
	uint64_t tx_dropped;
	uint64_t rx_bytes;     /**< Bytes that entered the receive FIFO from the line. */
	uint64_t rx_overruns;  /**< Bytes lost to a full FIFO (overrun errors). */
	uint64_t out_buffered; /**< Bytes now waiting for the output descriptor. */
};

/**
 * Copies the UART's counters. Thread: any.
 * @param uart the UART (NULL gives zeroes).
 * @param stats out.
 */
HVABS_API void hvabs_uart_get_stats(struct hvabs_uart *uart, struct hvabs_uart_stats *stats);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
