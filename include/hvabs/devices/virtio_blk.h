/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_blk.h
 * @brief virtio-blk (virtio 1.2 §5.2) on a raw image file or a host block device.
 *
 * One request queue, or several (#HVABS_VIRTIO_BLK_F_MQ). Requests: read, write, flush (fdatasync(2)), get ID (the
 * serial, 20 bytes NUL-padded), discard (FALLOC_FL_PUNCH_HOLE) and write
 * zeroes (FALLOC_FL_ZERO_RANGE, or PUNCH_HOLE when the driver allows unmap,
 * falling back to writing zeroes where the host cannot). Offered features:
 * VIRTIO_BLK_F_SEG_MAX (queue size - 2), BLK_SIZE (512, or the host device's
 * logical block size), FLUSH, DISCARD and WRITE_ZEROES (each up to
 * #HVABS_VIRTIO_BLK_MAX_SEG ranges of up to #HVABS_VIRTIO_BLK_MAX_SECTORS
 * sectors), RO for a read-only disk, and the indirect-descriptor and
 * event-index ring features.
 *
 * The capacity is the size of the image in 512-byte sectors, rounded down
 * (to a multiple of 4 KiB with #HVABS_VIRTIO_BLK_DIRECT). A request that
 * reaches beyond it, has a header or data length the protocol does not
 * allow, or writes to a read-only disk fails with VIRTIO_BLK_S_IOERR; an
 * unknown request type with VIRTIO_BLK_S_UNSUPP. Such a request fails
 * alone; the device keeps working. A chain with no writable byte for the
 * status cannot be answered and is returned with nothing written. Malformed
 * chains set DEVICE_NEEDS_RESET (see virtio_queue.h).
 *
 * With #HVABS_VIRTIO_BLK_DIRECT the image is opened with O_DIRECT and data
 * goes through a 4 KiB-aligned bounce buffer (read-modify-write for requests
 * that do not cover whole 4 KiB blocks), so any guest buffer layout works.
 *
 * Caching: with FLUSH negotiated (every modern driver), writes complete
 * from the host's page cache and the driver's flush request makes them
 * stable (fdatasync(2)). A driver that does not negotiate FLUSH cannot ask
 * for that, so (virtio 1.2 §5.2.6.2) the device is then write-through: each
 * write, discard and write-zeroes is synced before it is completed, and a
 * failed sync fails the request with VIRTIO_BLK_S_IOERR.
 *
 * Threads: the event loop pops and checks requests under the device lock
 * and answers those that need no disk (GET_ID, malformed ones); the disk
 * I/O runs on the chosen engine (enum hvabs_virtio_blk_engine) with no lock
 * held, and its completion side takes the device lock only to put the chain
 * on the used ring. A stalled backing file therefore stalls only this
 * device's requests, never the event loop or a vCPU reading the registers.
 * With #HVABS_VIRTIO_BLK_F_MQ (num_queues above 1) the queues are served in
 * parallel. QueueReady=0 and a device reset cancel requests not yet started
 * and wait for running ones (the disk may still write into the driver's
 * buffers), so those register writes wait for a stalled disk; finished
 * requests of the old ring are forgotten.
 *
 * @ingroup virtio
 * @defgroup virtio_blk Virtio block device
 * @brief A disk for the guest backed by a host file or block device.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_BLK_H
#define HVABS_DEVICES_VIRTIO_BLK_H

#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Queue size offered unless the configuration says otherwise. */
#define HVABS_VIRTIO_BLK_QUEUE_SIZE 256u
/** Bytes of the device ID string (the serial), NUL-padded. */
#define HVABS_VIRTIO_BLK_ID_BYTES 20u
/** Ranges per discard or write-zeroes request (max_discard_seg, max_write_zeroes_seg). */
#define HVABS_VIRTIO_BLK_MAX_SEG 32u
/** Sectors per discard or write-zeroes range (max_discard_sectors, max_write_zeroes_sectors). */
#define HVABS_VIRTIO_BLK_MAX_SECTORS 0x400000u

/** @name Request types (virtio 1.2 §5.2.6)
 * @{ */
#define HVABS_VIRTIO_BLK_T_IN		0u  /**< Read. */
#define HVABS_VIRTIO_BLK_T_OUT		1u  /**< Write. */
#define HVABS_VIRTIO_BLK_T_FLUSH	4u  /**< Flush the write cache. */
#define HVABS_VIRTIO_BLK_T_GET_ID	8u  /**< Read the device ID string. */
#define HVABS_VIRTIO_BLK_T_DISCARD	11u /**< Discard ranges. */
#define HVABS_VIRTIO_BLK_T_WRITE_ZEROES 13u /**< Zero ranges. */
/** @} */

/** @name Request status byte values (virtio 1.2 §5.2.6)
 * @{ */
#define HVABS_VIRTIO_BLK_S_OK	  0u /**< Success. */
#define HVABS_VIRTIO_BLK_S_IOERR  1u /**< Device or driver error. */
#define HVABS_VIRTIO_BLK_S_UNSUPP 2u /**< Request type not supported. */
/** @} */

/** @name Feature bits (virtio 1.2 §5.2.3), as bit numbers
 * @{ */
#define HVABS_VIRTIO_BLK_F_SEG_MAX	2  /**< seg_max is valid. */
#define HVABS_VIRTIO_BLK_F_RO		5  /**< The device is read-only. */
#define HVABS_VIRTIO_BLK_F_BLK_SIZE	6  /**< blk_size is valid. */
#define HVABS_VIRTIO_BLK_F_FLUSH	9  /**< Flush is supported. */
#define HVABS_VIRTIO_BLK_F_MQ		12 /**< num_queues is valid: several request queues. */
#define HVABS_VIRTIO_BLK_F_DISCARD	13 /**< Discard is supported. */
#define HVABS_VIRTIO_BLK_F_WRITE_ZEROES 14 /**< Write zeroes is supported. */
/** @} */

/** hvabs_virtio_blk_config::flags: the guest may not write (VIRTIO_BLK_F_RO). */
#define HVABS_VIRTIO_BLK_READONLY (1u << 0)
/** hvabs_virtio_blk_config::flags: open the image with O_DIRECT (no host page cache). */
#define HVABS_VIRTIO_BLK_DIRECT (1u << 1)

/** How a device carries out its disk I/O (hvabs_virtio_blk_config::engine). */
enum hvabs_virtio_blk_engine {
	/**
	 * Worker threads, one per queue, with preadv(2), pwritev(2),
	 * fdatasync(2) and fallocate(2). Works everywhere.
	 */
	HVABS_VIRTIO_BLK_ENGINE_SYNC = 0,
	/**
	 * io_uring (liburing): reads, writes and flushes of a buffered image are
	 * submitted from the event loop and completed by a reaper thread;
	 * discard, write-zeroes and #HVABS_VIRTIO_BLK_DIRECT I/O go to the
	 * queue's worker thread as with the sync engine. Where io_uring is not
	 * available (a kernel without it, io_uring_disabled, a seccomp filter,
	 * or a build without liburing) hvabs_virtio_blk_create() fails with a
	 * log line saying so; it does not fall back silently.
	 */
	HVABS_VIRTIO_BLK_ENGINE_IO_URING = 1,
};

/** Most request queues a device can have (#HVABS_VIRTIO_BLK_F_MQ). */
#define HVABS_VIRTIO_BLK_MAX_QUEUES 16u

/** A virtio-blk device. */
struct hvabs_virtio_blk;

/** Parameters of hvabs_virtio_blk_create(). Zero what you do not set. */
struct hvabs_virtio_blk_config {
	struct hvabs_virtio_mmio_params mmio; /**< Window, interrupt, event loop. */
	const char *path;		      /**< Image file or block device. */
	const char *serial; /**< Device ID, at most 20 bytes, or NULL for an empty one. */
	uint32_t flags;	    /**< HVABS_VIRTIO_BLK_* flags. */
	uint32_t
	    queue_size; /**< QueueNumMax, a power of 2 >= 4; 0 selects #HVABS_VIRTIO_BLK_QUEUE_SIZE. */
	/** Put the device on virtio-pci with these parameters instead (then `mmio` is unused), or NULL. */
	const struct hvabs_virtio_pci_params *pci;
	/**
	 * Request queues, 1 .. #HVABS_VIRTIO_BLK_MAX_QUEUES; 0 means 1. More
	 * than one offers #HVABS_VIRTIO_BLK_F_MQ with num_queues in the
	 * configuration space; the queues are served in parallel.
	 */
	uint32_t num_queues;
	/** I/O engine: an enum hvabs_virtio_blk_engine value (0: sync). */
	uint32_t engine;
};

/**
 * Opens the image and creates a virtio-blk device on a new virtio-mmio
 * transport. Thread: any.
 * @param vm the VM.
 * @param cfg parameters.
 * @param out the device.
 * @return 0 or negative errno; failures are logged with the path and reason.
 * @retval -EINVAL no path, a serial longer than 20 bytes, a bad queue size,
 *         queue count or engine, or an image smaller than one sector (one
 *         4 KiB block with #HVABS_VIRTIO_BLK_DIRECT).
 * @retval -ENOENT, -EACCES, ... from open(2).
 * @retval -ENOSYS #HVABS_VIRTIO_BLK_ENGINE_IO_URING (or -EPERM, ...) where
 *         io_uring is not available (logged; use the sync engine).
 * @retval -EEXIST the MMIO window overlaps another device.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_blk_create(struct hvabs_vm *vm,
						       const struct hvabs_virtio_blk_config *cfg,
						       struct hvabs_virtio_blk **out);

/**
 * Stops taking requests, waits for the running ones (a stalled disk holds
 * this up) and for their completion, destroys the transport, stops the
 * engine's threads, then flushes and closes the image. NULL is a no-op.
 * Thread: any but the event loop's callbacks.
 * @param blk the device.
 */
HVABS_API void hvabs_virtio_blk_destroy(struct hvabs_virtio_blk *blk);

/**
 * The device's transport, for hvabs_virtio_mmio_describe() and
 * hvabs_virtio_mmio_cmdline().
 * @param blk the device.
 * @return the transport.
 */
HVABS_API struct hvabs_virtio_mmio *hvabs_virtio_blk_transport(struct hvabs_virtio_blk *blk);

/**
 * Flushes the image to stable storage (fdatasync(2)), as at an orderly
 * shutdown. Thread: any but the device's callbacks.
 * @param blk the device.
 * @return 0 or negative errno.
 */
HVABS_API int hvabs_virtio_blk_flush(struct hvabs_virtio_blk *blk);

/**
 * Gives the running disk another image, as Firecracker's PATCH /drives
 * does: opened with the same read-only and O_DIRECT settings, swapped in
 * under the device lock, once the requests still running on the old image
 * finished (a stalled disk holds this up) and the old image was flushed, and the driver told of the new capacity with a configuration
 * change interrupt. On any error the old image stays. Thread: any but the
 * device's callbacks.
 * @param blk the device.
 * @param path the new image.
 * @return 0 or negative errno.
 * @retval -EINVAL its logical block size differs from the old one's.
 * Other errors: the new image could not be opened, or the old one not
 * flushed; nothing changed.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtio_blk_set_path(struct hvabs_virtio_blk *blk,
							 const char *path);

/**
 * The disk's capacity in 512-byte sectors, as the guest sees it.
 * @param blk the device.
 * @return the capacity.
 */
HVABS_API uint64_t hvabs_virtio_blk_capacity(const struct hvabs_virtio_blk *blk);

/** Request counters of one device. */
struct hvabs_virtio_blk_stats {
	uint64_t reads;		/**< Read requests completed successfully. */
	uint64_t writes;	/**< Write requests completed successfully. */
	uint64_t flushes;	/**< Flush requests completed successfully. */
	uint64_t get_ids;	/**< Get-ID requests completed successfully. */
	uint64_t discards;	/**< Discard requests completed successfully. */
	uint64_t write_zeroes;	/**< Write-zeroes requests completed successfully. */
	uint64_t bytes_read;	/**< Bytes read for the guest. */
	uint64_t bytes_written; /**< Bytes written for the guest. */
	uint64_t ioerr;		/**< Requests failed with VIRTIO_BLK_S_IOERR. */
	uint64_t unsupp;	/**< Requests failed with VIRTIO_BLK_S_UNSUPP. */
	uint64_t unanswerable;	/**< Chains with no byte for a status, returned unanswered. */
	/**
	 * Syncs of the image made because the driver did not negotiate
	 * #HVABS_VIRTIO_BLK_F_FLUSH: each write, discard and write-zeroes is then
	 * made stable before it completes (write-through).
	 */
	uint64_t write_through_syncs;
};

/**
 * Copies the counters. Thread: any but the device's callbacks.
 * @param blk the device.
 * @param st out.
 */
HVABS_API void hvabs_virtio_blk_get_stats(struct hvabs_virtio_blk *blk,
					  struct hvabs_virtio_blk_stats *st);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
