/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-console state shared by console.c (setup, host side) and console_io.c (data). */
#ifndef HVABS_DEVICES_VIRTIO_CONSOLE_PRIV_H
#define HVABS_DEVICES_VIRTIO_CONSOLE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport_priv.h"
#include <hvabs/devices/virtio_console.h>

#define CON_COMP    "virtio-console"
#define CON_RXQ	    0u
#define CON_TXQ	    1u
#define CON_IOV_MAX 1024

#define CON_WARN(c, ...)                                                                           \
	hvabs_log_ratelimited((c)->log, &(c)->rl, HVABS_LOG_WARN, CON_COMP, __VA_ARGS__)

struct hvabs_virtio_console {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci instead, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	struct hvabs_event_loop *loop;
	char name[24];
	enum hvabs_virtio_console_backend kind;
	uint32_t flags;
	uint32_t qsize;
	uint8_t config[12];
	bool closing; /* destruction began: event sources are being removed */

	/* Host side. For a pty or a socket client, in_fd == out_fd. */
	int in_fd, out_fd;
	int saved_in_fl, saved_out_fl; /* caller descriptors' flags, -1: untouched */
	bool in_poll, out_poll;	       /* epoll can watch them (not regular files) */
	bool in_eof;		       /* no more input */
	bool out_dead;		       /* output failed: discard from now on */
	struct hvabs_event *in_ev;     /* in_fd; out_fd too when they are equal */
	struct hvabs_event *out_ev;    /* out_fd when it differs from in_fd */
	uint32_t in_bits, out_bits;    /* what they are asked to watch */
	int listen_fd;
	struct hvabs_event *listen_ev;
	char *path; /* socket path we created, to remove */
	int pty_slave;
	char pty_path[64];

	/* Guest side, under the device lock. */
	bool active;	 /* DRIVER_OK seen, no reset since */
	bool rx_starved; /* the receive ring was found empty */
	struct hvabs_virtq_seg *rxsegs, *txsegs;
	struct hvabs_virtq_chain rxc, txc;
	bool rx_held, tx_held; /* a chain popped and not finished */
	uint32_t tx_off;       /* bytes of txc already buffered */
	struct iovec iov[CON_IOV_MAX];

	/* Output ring buffer. */
	uint8_t *obuf;
	uint32_t ocap, ohead, olen;

	struct hvabs_virtio_console_stats st;
};

/* console_io.c; device lock held, loop thread unless said otherwise. */
bool con_rx_run(struct hvabs_virtio_console *c, bool *more);
bool con_tx_run(struct hvabs_virtio_console *c, bool *more);
void con_flush(struct hvabs_virtio_console *c);
/* Any thread: appends an emergency byte and gets it written. */
void con_emerg(struct hvabs_virtio_console *c, uint8_t byte);
/* Any thread: asks the loop for the events the state calls for. */
void con_watch(struct hvabs_virtio_console *c);

/* console.c; loop thread. */
void con_drop_client(struct hvabs_virtio_console *c);
void con_input_gone(struct hvabs_virtio_console *c, int err);
void con_output_gone(struct hvabs_virtio_console *c, int err);

#endif
