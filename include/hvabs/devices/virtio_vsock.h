/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_vsock.h
 * @brief virtio-vsock (virtio 1.2 §5.10) with the host side on Unix sockets
 *        ("hybrid vsock", the convention of Firecracker).
 *
 * The guest gets a socket device with its context ID (CID) and talks to the
 * host, CID 2, with stream sockets. On the host there is no vsock at all:
 * each connection is a Unix stream socket, so the device needs no kernel
 * module and works the same on every hypervisor (vhost-vsock would need the
 * hypervisor's irqfd, ioeventfd and memory table in the host kernel, which
 * only KVM gives).
 * - Guest to host: a guest connecting to port P of CID 2 is connected to the
 *   Unix socket `<path>_<P>`, where a host program listens. No listener
 *   there: the guest's connect() is refused (an RST).
 * - Host to guest: the device listens on `<path>`. A host program connects,
 *   writes `CONNECT <P>\n`, and once the guest accepted on port P it reads
 *   `OK <H>\n`, H being the host-side port the guest sees (from 2^30 up);
 *   from then on the socket is the connection. If the guest refuses, or
 *   does not answer within 5 seconds, the host socket is closed.
 *   The line may arrive in pieces: the device reads what has come into a
 *   per-connection buffer (so a partial line never keeps the event loop
 *   busy) and takes nothing past the newline, which is the connection's
 *   data. A line longer than #HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX bytes, or
 *   one that does not arrive within the handshake deadline
 *   (hvabs_virtio_vsock_config.handshake_timeout_ms, 5 s by default), closes
 *   the host socket, so idle clients cannot hold every connection slot.
 *
 * The packet protocol is that of §5.10.6: REQUEST, RESPONSE, RST, SHUTDOWN,
 * RW, CREDIT_UPDATE and CREDIT_REQUEST on stream sockets (only
 * #HVABS_VIRTIO_VSOCK_F_STREAM is offered). Flow control is credit based in
 * both directions: the device reads a host socket only while the guest has
 * announced buffer space (buf_alloc, fwd_cnt) and has a receive buffer, and
 * it announces #HVABS_VIRTIO_VSOCK_BUF_ALLOC bytes (or the configured
 * amount) per connection for the other way, keeping what the host socket
 * does not take at once in a buffer of at most that size. Memory is bounded
 * per connection and by the number of connections.
 *
 * A guest that breaks the protocol gets an RST for that connection, and the
 * connection is closed on the host: data beyond the credit it was given, a
 * length that does not match the buffer, an unknown type or operation, a
 * packet for a connection that does not exist, a connection limit reached.
 * A packet too short for a header, or with a source CID other than the
 * guest's, is dropped and counted. Malformed chains set DEVICE_NEEDS_RESET
 * (see virtio_queue.h).
 *
 * A driver reset closes every connection. hvabs_virtio_vsock_reset_transport()
 * does the same from the host side and posts a TRANSPORT_RESET event
 * (§5.10.6.6), after which the guest drops its connections and reads its CID
 * again; that is what a VMM calls after restoring a snapshot, or after
 * hvabs_virtio_vsock_set_cid().
 *
 * Everything runs on the event loop given in the transport parameters. A
 * VMM should ignore SIGPIPE (the device itself never raises it).
 *
 * @ingroup virtio
 * @defgroup virtio_vsock Virtio socket device
 * @brief Guest AF_VSOCK stream sockets bridged to host Unix sockets.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_VSOCK_H
#define HVABS_DEVICES_VIRTIO_VSOCK_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Queue size offered unless the configuration says otherwise. */
#define HVABS_VIRTIO_VSOCK_QUEUE_SIZE 256u
/** Largest queue size accepted. */
#define HVABS_VIRTIO_VSOCK_QUEUE_MAX 1024u
/** The host's CID (§5.10.4). */
#define HVABS_VIRTIO_VSOCK_HOST_CID 2u
/** Bytes of struct virtio_vsock_hdr. */
#define HVABS_VIRTIO_VSOCK_HDR_SIZE 44u
/** Largest payload of one packet, either way. */
#define HVABS_VIRTIO_VSOCK_MAX_PAYLOAD 65536u
/** Receive space announced per connection (buf_alloc) unless configured. */
#define HVABS_VIRTIO_VSOCK_BUF_ALLOC 65536u
/** Connections at once unless configured. */
#define HVABS_VIRTIO_VSOCK_MAX_CONNS 256u
/** Longest `CONNECT <port>` line a host client may send, newline included. */
#define HVABS_VIRTIO_VSOCK_CONNECT_LINE_MAX 31u
/** Time a host client has to send its `CONNECT <port>` line unless configured. */
#define HVABS_VIRTIO_VSOCK_HANDSHAKE_MS 5000u
/** First host-side port given to host-initiated connections ("OK <port>"). */
#define HVABS_VIRTIO_VSOCK_HOST_PORT_BASE 0x40000000u

/** @name Feature bits (virtio 1.2 §5.10.3), as bit numbers
 * @{ */
#define HVABS_VIRTIO_VSOCK_F_STREAM    0 /**< Stream sockets. */
#define HVABS_VIRTIO_VSOCK_F_SEQPACKET 1 /**< Seqpacket sockets (not offered). */
/** @} */

/** @name Packet operations (§5.10.6)
 * @{ */
#define HVABS_VIRTIO_VSOCK_OP_INVALID	     0u /**< Never valid. */
#define HVABS_VIRTIO_VSOCK_OP_REQUEST	     1u /**< Connect. */
#define HVABS_VIRTIO_VSOCK_OP_RESPONSE	     2u /**< Connection accepted. */
#define HVABS_VIRTIO_VSOCK_OP_RST	     3u /**< Connection refused or aborted. */
#define HVABS_VIRTIO_VSOCK_OP_SHUTDOWN	     4u /**< No more receiving and/or sending. */
#define HVABS_VIRTIO_VSOCK_OP_RW	     5u /**< Payload. */
#define HVABS_VIRTIO_VSOCK_OP_CREDIT_UPDATE  6u /**< Here is my buffer space. */
#define HVABS_VIRTIO_VSOCK_OP_CREDIT_REQUEST 7u /**< Tell me your buffer space. */
/** @} */

/** Packet type: stream socket. */
#define HVABS_VIRTIO_VSOCK_TYPE_STREAM 1u
/** SHUTDOWN flag: the sender will receive no more. */
#define HVABS_VIRTIO_VSOCK_SHUTDOWN_RCV 1u
/** SHUTDOWN flag: the sender will send no more. */
#define HVABS_VIRTIO_VSOCK_SHUTDOWN_SEND 2u
/** Event id: the transport was reset (§5.10.6.6). */
#define HVABS_VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0u

/** A virtio-vsock device. */
struct hvabs_virtio_vsock;

/** Parameters of hvabs_virtio_vsock_create(). Zero what you do not set. */
struct hvabs_virtio_vsock_config {
	struct hvabs_virtio_mmio_params mmio; /**< Window, interrupt, event loop. */
	uint64_t guest_cid;		      /**< The guest's CID: 3 .. 0xfffffffe. */
	/** Host socket path: the device listens here, and connects to `<path>_<port>`;
	 *  short enough for `<path>_4294967295` to fit a sockaddr_un. */
	const char *path;
	/** Receive space announced per connection, 4096 .. 2^30; 0 selects
	 *  #HVABS_VIRTIO_VSOCK_BUF_ALLOC. */
	uint32_t buf_alloc;
	/** Most connections at once; 0 selects #HVABS_VIRTIO_VSOCK_MAX_CONNS. */
	uint32_t max_conns;
	/** QueueNumMax of the queues: a power of 2 up to #HVABS_VIRTIO_VSOCK_QUEUE_MAX;
	 *  0 selects #HVABS_VIRTIO_VSOCK_QUEUE_SIZE. */
	uint32_t queue_size;
	/** Milliseconds a host client has, from its connect(), to send its whole
	 *  `CONNECT <port>` line before its socket is closed; 0 selects
	 *  #HVABS_VIRTIO_VSOCK_HANDSHAKE_MS. */
	uint32_t handshake_timeout_ms;
	/** Put the device on virtio-pci with these parameters instead (then `mmio` is unused), or NULL. */
	const struct hvabs_virtio_pci_params *pci;
};

/**
 * Listens at the configured path and creates a virtio-vsock device on a new
 * virtio-mmio transport. Thread: any.
 * @param vm the VM.
 * @param cfg parameters.
 * @param out the device.
 * @return 0 or negative errno; failures are logged with the reason.
 * @retval -EINVAL a reserved CID, no path, or a bad size or limit.
 * @retval -ENAMETOOLONG the path is too long for the per-port socket names.
 * @retval -EADDRINUSE a live socket already listens at the path (a stale
 *         one is replaced).
 * @retval -EEXIST the MMIO window overlaps another device.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_virtio_vsock_create(struct hvabs_vm *vm, const struct hvabs_virtio_vsock_config *cfg,
			  struct hvabs_virtio_vsock **out);

/**
 * Destroys the device and its transport, closes every connection and the
 * listening socket, and removes the socket file. NULL is a no-op. Thread:
 * any but the event loop's callbacks.
 * @param vs the device.
 */
HVABS_API void hvabs_virtio_vsock_destroy(struct hvabs_virtio_vsock *vs);

/**
 * The device's transport, for hvabs_virtio_mmio_describe() and
 * hvabs_virtio_mmio_cmdline().
 * @param vs the device.
 * @return the transport.
 */
HVABS_API struct hvabs_virtio_mmio *hvabs_virtio_vsock_transport(struct hvabs_virtio_vsock *vs);

/**
 * Closes every connection on the host side and tells the guest with a
 * TRANSPORT_RESET event, delivered as soon as the guest has an event buffer.
 * Thread: any but the device's callbacks.
 * @param vs the device.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_vsock_reset_transport(struct hvabs_virtio_vsock *vs);

/**
 * Gives the guest a new CID (after a restore on another host, say): the
 * configuration space changes and the transport is reset as by
 * hvabs_virtio_vsock_reset_transport(). Thread: any but the device's callbacks.
 * @param vs the device.
 * @param cid the new CID, 3 .. 0xfffffffe.
 * @return 0 or negative errno.
 * @retval -EINVAL a reserved CID.
 */
HVABS_API int hvabs_virtio_vsock_set_cid(struct hvabs_virtio_vsock *vs, uint64_t cid);

/** Counters of one device. */
struct hvabs_virtio_vsock_stats {
	uint32_t connections;	 /**< Open now, handshakes included. */
	uint32_t pad;		 /**< Reserved. */
	uint64_t host_connects;	 /**< Host-initiated connections the guest accepted. */
	uint64_t guest_connects; /**< Guest-initiated connections to a host listener. */
	uint64_t refused;	 /**< Guest connects refused (no listener, limit reached). */
	uint64_t rst_sent;	 /**< RST packets given to the guest. */
	uint64_t rst_dropped;	 /**< RSTs not sent: too many were waiting for buffers. */
	uint64_t bad_packets;	 /**< Guest packets that broke the protocol. */
	uint64_t rx_bytes;	 /**< Payload bytes given to the guest. */
	uint64_t tx_bytes;	 /**< Payload bytes written to host sockets. */
	uint64_t events;	 /**< Events delivered on the event queue. */
	/** Host connections closed because their `CONNECT` line did not come in time. */
	uint64_t handshake_timeouts;
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param vs the device.
 * @param st out.
 */
HVABS_API void hvabs_virtio_vsock_get_stats(struct hvabs_virtio_vsock *vs,
					    struct hvabs_virtio_vsock_stats *st);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
