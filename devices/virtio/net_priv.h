/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net state shared by net.c (setup, tap, transmit) and net_rx.c (receive). */
#ifndef HVABS_DEVICES_VIRTIO_NET_PRIV_H
#define HVABS_DEVICES_VIRTIO_NET_PRIV_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport_priv.h"
#include <hvabs/devices/virtio_net.h>

#define NET_COMP "virtio-net"
#define NET_RXQ	 0u
#define NET_TXQ	 1u
#define NET_HDR	 HVABS_VIRTIO_NET_HDR_SIZE
/* One frame read from the tap, with its header; one byte more tells a truncated read. */
#define NET_RX_BUF  (NET_HDR + HVABS_VIRTIO_NET_MAX_FRAME + 1u)
#define NET_IOV_MAX 1024

#define NET_WARN(n, ...)                                                                           \
	hvabs_log_ratelimited((n)->log, &(n)->rl, HVABS_LOG_WARN, NET_COMP, __VA_ARGS__)

struct hvabs_virtio_net {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci instead, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	char name[24];
	char ifname[IFNAMSIZ];
	uint8_t mac[6];
	uint8_t config[12];
	uint32_t qsize;

	int tap;
	struct hvabs_event *ev; /* the tap on the loop; NULL once destruction began */
	uint32_t watching;	/* HVABS_EVENT_* bits asked of the loop */
	uint32_t tun_supported; /* TUN_F_* the tap accepted when probed */
	uint32_t tun_offloads;	/* TUN_F_* set now */

	/* Under the device lock from here on. */
	uint64_t features; /* negotiated */
	bool active;	   /* DRIVER_OK seen, no reset since */
	bool tap_failed;   /* reading the tap failed: stop watching it */

	/* Receive: one frame from the tap and the receive chains held for it. */
	uint8_t *pkt;
	uint32_t pkt_len;	      /* 0: no frame waiting */
	struct hvabs_virtq_seg *pool; /* segments of the held chains, in order */
	uint32_t pool_cap, pool_used;
	struct hvabs_virtq_chain *held;		      /* popped, not yet used; oldest first */
	const struct hvabs_virtq_chain **push_chains; /* put_frame's batch, qsize entries */
	uint32_t *push_len;
	uint32_t nheld;
	uint64_t held_len; /* writable bytes in all held chains */

	/* Transmit. */
	struct hvabs_virtq_seg *txsegs;
	struct hvabs_virtq_chain txc;
	bool tx_waiting; /* txc was refused with EAGAIN: retry when the tap is writable */
	struct iovec iov[NET_IOV_MAX];

	struct hvabs_virtio_net_stats st;
};

/* net_rx.c; device lock held. */
int net_rx_init(struct hvabs_virtio_net *n);
void net_rx_fini(struct hvabs_virtio_net *n);
/* Moves frames from the tap to the guest; returns true if chains were pushed. */
bool net_rx_run(struct hvabs_virtio_net *n);
/* Forgets held chains and the waiting frame (reset, or the queue went away). */
void net_rx_drop(struct hvabs_virtio_net *n);

/* net.c; device lock held. */
void net_watch(struct hvabs_virtio_net *n, uint32_t bit, bool on);
bool net_queue_usable(struct hvabs_virtio_net *n, uint32_t index);

#endif
