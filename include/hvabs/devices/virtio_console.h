/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_console.h
 * @brief virtio-console (virtio 1.2 §5.3): one port on stdio, file
 *        descriptors, a pseudo-terminal or a Unix socket.
 *
 * One port, port 0 (receiveq 0, transmitq 1; no multiport, no control
 * queues), which Linux makes `hvc0`. The host side is one of:
 * - #HVABS_VIRTIO_CONSOLE_STDIO: the process's standard input and output;
 * - #HVABS_VIRTIO_CONSOLE_FDS: two descriptors the caller gives (a pipe, a
 *   socketpair, a file, or -1 for none);
 * - #HVABS_VIRTIO_CONSOLE_PTY: a new pseudo-terminal (posix_openpt(3)) in raw
 *   mode, whose path hvabs_virtio_console_pty_path() tells, for `screen` or
 *   `minicom`; the device keeps the terminal side open too, so the pty
 *   survives clients that come and go;
 * - #HVABS_VIRTIO_CONSOLE_SOCKET: a Unix stream socket the device listens on;
 *   one client at a time is served and the next is accepted when it leaves.
 *
 * Input is lossless and bounded: the host descriptor is read only into the
 * guest's receive buffers, directly, and is not watched while the guest has
 * none, so unread input waits in the host descriptor. Output is lossless and
 * bounded: transmitted bytes go through a buffer (64 KiB unless configured)
 * to the host descriptor; while it is full the device stops taking transmit
 * chains, which the guest sees as a console that is not drained (Linux's
 * hvc driver waits). So a console nobody reads stalls the guest's console
 * output once the buffers are full; with #HVABS_VIRTIO_CONSOLE_DISCARD a
 * socket console without a client discards output instead. If the output
 * descriptor fails (a closed pipe), output is discarded from then on and
 * counted.
 *
 * Optional features: #HVABS_VIRTIO_CONSOLE_F_SIZE when a size is configured
 * (hvabs_virtio_console_set_size() changes it and tells the guest), and
 * #HVABS_VIRTIO_CONSOLE_F_EMERG_WRITE always: a byte written to `emerg_wr`
 * is output at once, even before the driver is set up, or dropped (and
 * counted) when the output buffer is full.
 *
 * The descriptors of #HVABS_VIRTIO_CONSOLE_STDIO and
 * #HVABS_VIRTIO_CONSOLE_FDS are made non-blocking while the device exists
 * and restored by hvabs_virtio_console_destroy(); they are not closed, and
 * putting a terminal into raw mode is the caller's choice. Writing to a
 * closed pipe raises SIGPIPE: a VMM ignores that signal.
 *
 * Everything runs on the event loop given in the transport parameters.
 *
 * @ingroup virtio
 * @defgroup virtio_console Virtio console
 * @brief A guest console (hvc0) on a host terminal, pty, descriptors or socket.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_CONSOLE_H
#define HVABS_DEVICES_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Queue size offered unless the configuration says otherwise. */
#define HVABS_VIRTIO_CONSOLE_QUEUE_SIZE 64u
/** Largest queue size accepted (a chain must fit one readv(2)). */
#define HVABS_VIRTIO_CONSOLE_QUEUE_MAX 1024u
/** Output buffer size unless the configuration says otherwise. */
#define HVABS_VIRTIO_CONSOLE_OUT_BUFFER 65536u

/** @name Feature bits (virtio 1.2 §5.3.3), as bit numbers
 * @{ */
#define HVABS_VIRTIO_CONSOLE_F_SIZE	   0 /**< cols and rows are valid. */
#define HVABS_VIRTIO_CONSOLE_F_MULTIPORT   1 /**< Multiple ports (not offered). */
#define HVABS_VIRTIO_CONSOLE_F_EMERG_WRITE 2 /**< emerg_wr is valid. */
/** @} */

/** Where the console's bytes come from and go. */
enum hvabs_virtio_console_backend {
	HVABS_VIRTIO_CONSOLE_STDIO = 0, /**< Standard input and output (descriptors 0 and 1). */
	HVABS_VIRTIO_CONSOLE_FDS,	/**< hvabs_virtio_console_config::in_fd and out_fd. */
	HVABS_VIRTIO_CONSOLE_PTY,	/**< A new pseudo-terminal. */
	HVABS_VIRTIO_CONSOLE_SOCKET,	/**< A Unix socket at hvabs_virtio_console_config::path. */
};

/** hvabs_virtio_console_config::flags: a socket console without a client discards output. */
#define HVABS_VIRTIO_CONSOLE_DISCARD (1u << 0)

/** A virtio-console device. */
struct hvabs_virtio_console;

/** Parameters of hvabs_virtio_console_create(). Zero what you do not set. */
struct hvabs_virtio_console_config {
	struct hvabs_virtio_mmio_params mmio;	   /**< Window, interrupt, event loop. */
	enum hvabs_virtio_console_backend backend; /**< The host side. */
	int in_fd;	  /**< #HVABS_VIRTIO_CONSOLE_FDS: input, or -1 for none. */
	int out_fd;	  /**< #HVABS_VIRTIO_CONSOLE_FDS: output, or -1 to discard it. */
	const char *path; /**< #HVABS_VIRTIO_CONSOLE_SOCKET: where to listen. */
	uint16_t cols;	  /**< Columns; with @ref rows non-zero, F_SIZE is offered. */
	uint16_t rows;	  /**< Rows. */
	uint32_t flags;	  /**< HVABS_VIRTIO_CONSOLE_* flags. */
	/** Output buffer in bytes, at least 1; 0 selects #HVABS_VIRTIO_CONSOLE_OUT_BUFFER. */
	uint32_t out_buffer;
	/** QueueNumMax of both queues: a power of 2 up to #HVABS_VIRTIO_CONSOLE_QUEUE_MAX;
	 *  0 selects #HVABS_VIRTIO_CONSOLE_QUEUE_SIZE. */
	uint32_t queue_size;
	/** Put the device on virtio-pci with these parameters instead (then `mmio` is unused), or NULL. */
	const struct hvabs_virtio_pci_params *pci;
};

/**
 * Sets up the host side and creates a virtio-console device on a new
 * virtio-mmio transport. Thread: any.
 * @param vm the VM.
 * @param cfg parameters.
 * @param out the device.
 * @return 0 or negative errno; failures are logged with the reason.
 * @retval -EINVAL a bad backend, descriptor, flag or size, or no path for a socket.
 * @retval -ENAMETOOLONG the socket path does not fit a sockaddr_un.
 * @retval -EADDRINUSE a live socket already listens at the path (a stale
 *         one is replaced).
 * @retval -EEXIST the MMIO window overlaps another device.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_virtio_console_create(struct hvabs_vm *vm, const struct hvabs_virtio_console_config *cfg,
			    struct hvabs_virtio_console **out);

/**
 * Destroys the device and its transport; closes the pty or the socket
 * (removing the socket file), restores the flags of caller descriptors.
 * Output still buffered is lost. NULL is a no-op. Thread: any but the event
 * loop's callbacks.
 * @param con the device.
 */
HVABS_API void hvabs_virtio_console_destroy(struct hvabs_virtio_console *con);

/**
 * The device's transport, for hvabs_virtio_mmio_describe() and
 * hvabs_virtio_mmio_cmdline().
 * @param con the device.
 * @return the transport.
 */
HVABS_API struct hvabs_virtio_mmio *
hvabs_virtio_console_transport(struct hvabs_virtio_console *con);

/**
 * The terminal path of a #HVABS_VIRTIO_CONSOLE_PTY console (`/dev/pts/N`),
 * for the VMM to print. Thread: any.
 * @param con the device.
 * @return the path, or NULL for another backend.
 */
HVABS_API const char *hvabs_virtio_console_pty_path(const struct hvabs_virtio_console *con);

/**
 * Changes the console size the guest sees and sends a configuration change
 * notification (§5.3.6), as a VMM does on SIGWINCH. Thread: any but the
 * device's callbacks.
 * @param con the device.
 * @param cols columns.
 * @param rows rows.
 * @return 0 or negative errno.
 * @retval -ENOTSUP the device was created without a size, so F_SIZE is not offered.
 */
HVABS_API int hvabs_virtio_console_set_size(struct hvabs_virtio_console *con, uint16_t cols,
					    uint16_t rows);

/** Counters of one device. */
struct hvabs_virtio_console_stats {
	uint64_t rx_bytes;	/**< Bytes given to the guest. */
	uint64_t tx_bytes;	/**< Bytes written to the host side. */
	uint64_t discarded;	/**< Guest output discarded (no output, or it failed). */
	uint64_t emerg_bytes;	/**< Bytes written through emerg_wr and kept. */
	uint64_t emerg_dropped; /**< emerg_wr bytes dropped because the buffer was full. */
	uint64_t clients;	/**< Socket clients accepted so far. */
	uint32_t buffered;	/**< Output bytes waiting for the host side. */
	uint32_t connected;	/**< 1 while a socket client is connected. */
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param con the device.
 * @param st out.
 */
HVABS_API void hvabs_virtio_console_get_stats(struct hvabs_virtio_console *con,
					      struct hvabs_virtio_console_stats *st);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
