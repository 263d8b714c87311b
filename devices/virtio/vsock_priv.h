/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock state shared by vsock.c (device, loop, API), vsock_conn.c
 * (connections and their host sockets, packets to the guest) and
 * vsock_pkt.c (packets from the guest).
 */
#ifndef HVABS_DEVICES_VIRTIO_VSOCK_PRIV_H
#define HVABS_DEVICES_VIRTIO_VSOCK_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport_priv.h"
#include <hvabs/devices/virtio_vsock.h>

#define VS_COMP	    "virtio-vsock"
#define VS_RXQ	    0u
#define VS_TXQ	    1u
#define VS_EVQ	    2u
#define VS_HDR	    HVABS_VIRTIO_VSOCK_HDR_SIZE
#define VS_IOV_MAX  1024
#define VS_BUCKETS  64u
#define VS_RST_RING 256u
/* How long the guest has to answer a REQUEST, or to RST after our SHUTDOWN. */
#define VS_TIMEOUT_NS (5000000000ull)

#define VS_WARN(v, ...)                                                                            \
	hvabs_log_ratelimited((v)->log, &(v)->rl, HVABS_LOG_WARN, VS_COMP, __VA_ARGS__)

/* Packets a connection owes the guest, sent in this order. */
#define PEND_REQUEST  (1u << 0)
#define PEND_RESPONSE (1u << 1)
#define PEND_CREDIT   (1u << 2) /* CREDIT_UPDATE */
#define PEND_CREDREQ  (1u << 3) /* CREDIT_REQUEST */
#define PEND_SHUTDOWN (1u << 4)

enum vs_state {
	VS_HANDSHAKE,	/* host connected; waiting for "CONNECT <port>\n" */
	VS_CONNECTING,	/* REQUEST sent to the guest; waiting for RESPONSE */
	VS_ESTABLISHED, /* data flows */
	VS_CLOSING,	/* both sides are done; waiting for the guest's RST */
};

/* A header in host byte order. */
struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

struct vs_conn {
	struct vs_conn *hnext;	     /* hash chain (not in HANDSHAKE) */
	struct vs_conn *next, *prev; /* every connection */
	struct vs_conn *cnext;	     /* packets owed: FIFO */
	bool in_ctl, in_epoll, dead;
	enum vs_state state;
	uint32_t local_port; /* the host side's port */
	uint32_t peer_port;  /* the guest's port */
	int fd;
	uint32_t events;    /* what the private epoll set watches */
	uint32_t pend;	    /* PEND_* */
	uint32_t shut;	    /* SHUTDOWN flags owed to the guest */
	uint32_t peer_shut; /* SHUTDOWN flags the guest sent */
	bool host_eof;	    /* the host socket will send no more */
	bool host_hup;	    /* ... and receive no more */
	bool asked_credit;  /* a CREDIT_REQUEST went out since the last credit news */
	/* Host to guest: the guest's space, as it told us. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* Guest to host: our space, as we told the guest. */
	uint32_t rx_cnt, fwd_cnt, reported_fwd;
	uint8_t *buf; /* guest bytes the host socket has not taken, at most buf_alloc */
	uint32_t bhead, blen;
	uint64_t deadline_ns; /* 0: none */
	/* HANDSHAKE: the CONNECT line so far (consumed from the socket), NUL-terminated. */
	char line[HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX + 1];
	uint8_t line_len;
};

struct vs_rst {
	uint64_t src_cid;
	uint32_t src_port, dst_port;
};

struct hvabs_virtio_vsock {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci instead, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	char name[24];
	uint64_t cid;
	uint8_t config[8];
	uint32_t qsize, buf_alloc, max_conns;
	char *path;
	int listen_fd;
	int epfd;    /* the private epoll set: listener, timer, host sockets */
	int timerfd; /* ticks while some connection has a deadline */
	bool timer_on;
	uint64_t handshake_ns;	/* a host client's time to send its CONNECT line */
	uint64_t tick_ns;	/* timer period: fine enough for the shortest deadline */
	struct hvabs_event *ev; /* epfd on the loop; NULL once destruction began */

	/* Under the device lock from here on. */
	bool active;	 /* DRIVER_OK seen, no reset since */
	bool rx_starved; /* the receive ring was found empty */
	bool rx_pushed;	 /* packets went to the guest since the last interrupt */
	bool event_pending;
	struct vs_conn *buckets[VS_BUCKETS];
	struct vs_conn *conns;
	struct vs_conn *graveyard; /* killed, freed by vs_reap() before unlocking */
	uint32_t nconns;
	struct vs_conn *ctl_head, *ctl_tail;
	struct vs_rst rsts[VS_RST_RING];
	uint32_t rst_head, rst_len;
	uint32_t next_port;

	struct hvabs_virtq_seg *rxsegs, *txsegs, *evsegs;
	struct hvabs_virtq_chain rxc, txc;
	bool rx_held;
	struct iovec iov[VS_IOV_MAX];

	struct hvabs_virtio_vsock_stats st;
};

/* vsock.c */
uint64_t vs_now(void);
void vs_arm_timer(struct hvabs_virtio_vsock *v);

/* vsock_conn.c; device lock held. */
struct vs_conn *vs_conn_new(struct hvabs_virtio_vsock *v, int fd, enum vs_state state);
struct vs_conn *vs_lookup(struct hvabs_virtio_vsock *v, uint32_t local, uint32_t peer);
void vs_hash_add(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_kill(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_kill_all(struct hvabs_virtio_vsock *v);
void vs_reap(struct hvabs_virtio_vsock *v);
void vs_owe(struct hvabs_virtio_vsock *v, struct vs_conn *c, uint32_t pend);
void vs_queue_rst(struct hvabs_virtio_vsock *v, uint64_t src_cid, uint32_t src_port,
		  uint32_t dst_port);
void vs_rst_conn(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_arm(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_arm_all(struct hvabs_virtio_vsock *v);
void vs_rx_flush(struct hvabs_virtio_vsock *v);
void vs_host_event(struct hvabs_virtio_vsock *v, struct vs_conn *c, uint32_t events);
void vs_accept(struct hvabs_virtio_vsock *v);
void vs_host_flush(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_credit_check(struct hvabs_virtio_vsock *v, struct vs_conn *c);
void vs_maybe_finish(struct hvabs_virtio_vsock *v, struct vs_conn *c);

/* vsock_pkt.c; device lock held. */
int vs_tx_run(struct hvabs_virtio_vsock *v, struct hvabs_virtq *q);

#endif
