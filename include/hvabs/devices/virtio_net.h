/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_net.h
 * @brief virtio-net (virtio 1.2 §5.1) on a Linux tap device.
 *
 * One receive queue and one transmit queue (no control queue, no
 * multiqueue). The tap is opened by name through `/dev/net/tun` with
 * `IFF_TAP | IFF_NO_PI | IFF_VNET_HDR` and a 12-byte vnet header (the
 * modern `virtio_net_hdr_v1`), so a frame crosses the tap with the same
 * header the guest uses. A tap that does not exist is created, which needs
 * CAP_NET_ADMIN; an existing persistent tap must be owned by the caller.
 *
 * Offered features: #HVABS_VIRTIO_NET_F_MAC (the configured MAC, or a random
 * locally administered one), #HVABS_VIRTIO_NET_F_STATUS (link always up),
 * #HVABS_VIRTIO_NET_F_MRG_RXBUF, the ring features, and the offloads the tap
 * accepts: when it takes checksum offload, #HVABS_VIRTIO_NET_F_CSUM,
 * #HVABS_VIRTIO_NET_F_HOST_TSO4, #HVABS_VIRTIO_NET_F_HOST_TSO6,
 * #HVABS_VIRTIO_NET_F_HOST_ECN and #HVABS_VIRTIO_NET_F_GUEST_CSUM; when it
 * also takes TSO, #HVABS_VIRTIO_NET_F_GUEST_TSO4,
 * #HVABS_VIRTIO_NET_F_GUEST_TSO6 and #HVABS_VIRTIO_NET_F_GUEST_ECN. At
 * FEATURES_OK the receive offloads the driver accepted are applied to the tap
 * (`TUNSETOFFLOAD`), so the kernel only hands over partially checksummed or
 * GSO frames the guest agreed to; a feature set that breaks the dependencies
 * of §5.1.3.1 (GUEST_TSO4 without GUEST_CSUM, ...) is refused. A reset
 * turns the tap's offloads off again.
 *
 * Receive: the tap is read only while the guest has receive buffers; when
 * the receive queue runs dry the device stops watching the tap and resumes
 * on the driver's next notification, so nothing is lost by the device and
 * nothing is buffered beyond one frame (the kernel queues the rest, up to the
 * tap's txqueuelen). With MRG_RXBUF a frame is spread over as many buffers
 * as it needs and `num_buffers` says how many; without it a frame goes into
 * one buffer and a frame larger than the buffer is dropped (and counted).
 * Transmit: each chain (header and frame) is written to the tap with one
 * writev(2), from guest memory. A frame whose header the driver may not
 * send (a GSO type or checksum request it did not negotiate), that is
 * shorter than the header, or that the tap refuses is dropped and counted;
 * the device keeps working. Malformed chains set DEVICE_NEEDS_RESET (see
 * virtio_queue.h).
 *
 * Everything runs on the event loop given in the transport parameters.
 *
 * @ingroup virtio
 * @defgroup virtio_net Virtio network device
 * @brief An Ethernet card for the guest backed by a host tap device.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_NET_H
#define HVABS_DEVICES_VIRTIO_NET_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Queue size offered unless the configuration says otherwise. */
#define HVABS_VIRTIO_NET_QUEUE_SIZE 256u
/** Largest queue size accepted (a chain must fit one writev(2)). */
#define HVABS_VIRTIO_NET_QUEUE_MAX 512u
/** Bytes of the header before every frame (virtio_net_hdr_v1, §5.1.6). */
#define HVABS_VIRTIO_NET_HDR_SIZE 12u
/** Largest frame after the header: an IPv6 GSO frame (§5.1.6.3) plus a VLAN tag. */
#define HVABS_VIRTIO_NET_MAX_FRAME 65593u

/** @name Feature bits (virtio 1.2 §5.1.3), as bit numbers
 * @{ */
#define HVABS_VIRTIO_NET_F_CSUM	      0	 /**< The device takes partially checksummed frames. */
#define HVABS_VIRTIO_NET_F_GUEST_CSUM 1	 /**< The driver takes partially checksummed frames. */
#define HVABS_VIRTIO_NET_F_MAC	      5	 /**< The configuration holds the MAC address. */
#define HVABS_VIRTIO_NET_F_GUEST_TSO4 7	 /**< The driver takes TCPv4 GSO frames. */
#define HVABS_VIRTIO_NET_F_GUEST_TSO6 8	 /**< The driver takes TCPv6 GSO frames. */
#define HVABS_VIRTIO_NET_F_GUEST_ECN  9	 /**< The driver takes GSO frames with ECN. */
#define HVABS_VIRTIO_NET_F_HOST_TSO4  11 /**< The device takes TCPv4 GSO frames. */
#define HVABS_VIRTIO_NET_F_HOST_TSO6  12 /**< The device takes TCPv6 GSO frames. */
#define HVABS_VIRTIO_NET_F_HOST_ECN   13 /**< The device takes GSO frames with ECN. */
#define HVABS_VIRTIO_NET_F_MRG_RXBUF  15 /**< A received frame may span several buffers. */
#define HVABS_VIRTIO_NET_F_STATUS     16 /**< The configuration holds the link status. */
/** @} */

/** @name virtio_net_hdr flags and gso_type values (§5.1.6)
 * @{ */
#define HVABS_VIRTIO_NET_HDR_F_NEEDS_CSUM 1u /**< The checksum at csum_start/offset is partial. */
#define HVABS_VIRTIO_NET_HDR_F_DATA_VALID 2u /**< The checksum was validated. */
#define HVABS_VIRTIO_NET_HDR_GSO_NONE	  0u /**< Not a GSO frame. */
#define HVABS_VIRTIO_NET_HDR_GSO_TCPV4	  1u /**< TCPv4 segmentation. */
#define HVABS_VIRTIO_NET_HDR_GSO_UDP	  3u /**< UDP fragmentation (never offered). */
#define HVABS_VIRTIO_NET_HDR_GSO_TCPV6	  4u /**< TCPv6 segmentation. */
#define HVABS_VIRTIO_NET_HDR_GSO_ECN	  0x80u /**< Flag: the TCP frame has ECN set. */
/** @} */

/** Configuration `status` bit: the link is up. */
#define HVABS_VIRTIO_NET_S_LINK_UP 1u

/** hvabs_virtio_net_config::flags: offer no checksum or segmentation offload. */
#define HVABS_VIRTIO_NET_NO_OFFLOAD (1u << 0)

/** A virtio-net device. */
struct hvabs_virtio_net;

/** Parameters of hvabs_virtio_net_create(). Zero what you do not set. */
struct hvabs_virtio_net_config {
	struct hvabs_virtio_mmio_params mmio; /**< Window, interrupt, event loop. */
	const char *tap;		      /**< Tap interface name, shorter than IFNAMSIZ. */
	/** MAC address (6 bytes), or NULL for a random locally administered one. */
	const uint8_t *mac;
	uint32_t flags; /**< HVABS_VIRTIO_NET_* flags. */
	/** QueueNumMax of both queues: a power of 2, 2 .. #HVABS_VIRTIO_NET_QUEUE_MAX;
	 *  0 selects #HVABS_VIRTIO_NET_QUEUE_SIZE. */
	uint32_t queue_size;
	/** Put the device on virtio-pci with these parameters instead (then `mmio` is unused), or NULL. */
	const struct hvabs_virtio_pci_params *pci;
};

/**
 * Opens the tap and creates a virtio-net device on a new virtio-mmio
 * transport. Thread: any.
 * @param vm the VM.
 * @param cfg parameters.
 * @param out the device.
 * @return 0 or negative errno; failures are logged with the tap name and reason.
 * @retval -EINVAL no tap name, a name too long, a bad queue size or flag.
 * @retval -ENOENT `/dev/net/tun` does not exist.
 * @retval -EPERM the tap does not exist and the caller may not create it,
 *         or it belongs to someone else.
 * @retval -EBUSY the tap is attached to another process.
 * @retval -EEXIST the MMIO window overlaps another device.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_net_create(struct hvabs_vm *vm,
						       const struct hvabs_virtio_net_config *cfg,
						       struct hvabs_virtio_net **out);

/**
 * Destroys the device and its transport and closes the tap (a tap the
 * device created disappears with it). NULL is a no-op. Thread: any but the
 * event loop's callbacks.
 * @param net the device.
 */
HVABS_API void hvabs_virtio_net_destroy(struct hvabs_virtio_net *net);

/**
 * The device's transport, for hvabs_virtio_mmio_describe() and
 * hvabs_virtio_mmio_cmdline().
 * @param net the device.
 * @return the transport.
 */
HVABS_API struct hvabs_virtio_mmio *hvabs_virtio_net_transport(struct hvabs_virtio_net *net);

/**
 * The MAC address the guest is given. Thread: any.
 * @param net the device.
 * @param mac out: 6 bytes.
 */
HVABS_API void hvabs_virtio_net_mac(const struct hvabs_virtio_net *net, uint8_t mac[6]);

/**
 * The tap's interface name (the one asked for, or the kernel's choice for a
 * name pattern such as "tap%d"). Thread: any.
 * @param net the device.
 * @return the name, valid as long as the device.
 */
HVABS_API const char *hvabs_virtio_net_ifname(const struct hvabs_virtio_net *net);

/** Counters of one device. */
struct hvabs_virtio_net_stats {
	uint64_t rx_packets; /**< Frames given to the guest. */
	uint64_t rx_bytes;   /**< Their bytes, headers not counted. */
	uint64_t
	    rx_dropped; /**< Frames read from the tap that the guest's buffers could not hold. */
	uint64_t tx_packets; /**< Frames written to the tap. */
	uint64_t tx_bytes;   /**< Their bytes, headers not counted. */
	uint64_t
	    tx_dropped; /**< Frames refused: bad header, too short or long, or the tap said no. */
	uint64_t bad_buffers;	/**< Receive buffers too small for a header, returned empty. */
	uint32_t tap_offloads;	/**< Linux `TUN_F_*` offloads now set on the tap. */
	uint32_t tap_supported; /**< Linux `TUN_F_*` offloads the tap accepted when probed. */
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param net the device.
 * @param st out.
 */
HVABS_API void hvabs_virtio_net_get_stats(struct hvabs_virtio_net *net,
					  struct hvabs_virtio_net_stats *st);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
