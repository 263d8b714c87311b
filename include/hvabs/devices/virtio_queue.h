/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio_queue.h
 * @brief The device side of a split virtqueue (virtio 1.2 §2.7), with
 *        indirect descriptors and event-index notification suppression.
 *
 * A device takes descriptor chains the driver made available with
 * hvabs_virtq_pop(), reads and writes their buffers, and returns them with
 * hvabs_virtq_push(); hvabs_virtq_notify_needed() then says whether the
 * driver wants a used-buffer notification.
 *
 * Every chain is validated in full before the device sees any of it: each
 * buffer lies in guest RAM (inside one region), the lengths add up to less
 * than 4 GiB, the chain has no loop and no more descriptors than the queue
 * size (they are counted, flags are not trusted), an indirect table is only
 * used when #HVABS_VIRTIO_F_INDIRECT_DESC was negotiated, holds a whole
 * number of descriptors, at most the queue size, and contains no indirect
 * descriptor itself, a descriptor never has both NEXT and INDIRECT set, and
 * every device-readable buffer comes before every device-writable one. The
 * available index may not run more than the queue size ahead of the device.
 * A chain that breaks a rule is not handed out: hvabs_virtq_pop() returns
 * -EBADMSG, logs the reason (rate-limited) and the queue stays *broken*,
 * touching no guest memory, until it is disabled; the transport then sets
 * DEVICE_NEEDS_RESET. Descriptors are copied out of guest memory once and
 * only the copies are used, so a driver that rewrites them while the device
 * looks cannot make a validated chain invalid.
 *
 * The three rings are resolved to host pointers once, when the queue is
 * enabled, after checking that each lies within one RAM region with the
 * alignment §2.7 requires. Buffers are looked up on every pop.
 *
 * The ring layout is little-endian; hvabs runs on little-endian hosts.
 *
 * Thread safety: a queue is used by one thread at a time; the transport's
 * device lock (hvabs_virtio_mmio_lock()) provides that.
 *
 * @ingroup virtio
 * @defgroup virtq Split virtqueue
 * @brief Validated descriptor chains, used ring, notification suppression.
 * @{
 */
#ifndef HVABS_DEVICES_VIRTIO_QUEUE_H
#define HVABS_DEVICES_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../log.h"
#include "../mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest queue size a split virtqueue can have (§2.7). */
#define HVABS_VIRTQ_MAX_SIZE 32768u

/** A split virtqueue. */
struct hvabs_virtq;

/** Where the driver put a queue, and what was negotiated for it. */
struct hvabs_virtq_layout {
	uint32_t size;	   /**< Queue size: a power of 2, 1 .. the queue's maximum. */
	uint32_t pad;	   /**< Reserved, zero. */
	uint64_t desc;	   /**< Guest-physical address of the descriptor table (16-byte aligned). */
	uint64_t avail;	   /**< Guest-physical address of the available ring (2-byte aligned). */
	uint64_t used;	   /**< Guest-physical address of the used ring (4-byte aligned). */
	uint64_t features; /**< Negotiated feature bits; INDIRECT_DESC and EVENT_IDX matter here. */
};

/** One buffer of a chain: a guest-physical range and where the VMM sees it. */
struct hvabs_virtq_seg {
	void *hva;    /**< Host address of the first byte. */
	uint64_t gpa; /**< Guest-physical address of the first byte. */
	uint32_t len; /**< Length in bytes, non-zero (empty descriptors are left out). */
	uint32_t pad; /**< Reserved. */
};

/**
 * A descriptor chain taken from the available ring. The caller provides the
 * segment array (see hvabs_virtq_chain_init()); hvabs_virtq_pop() fills the
 * rest. Device-readable segments come first: `seg[0 .. nr_readable)`, then
 * the device-writable ones: `seg[nr_readable .. nr_readable + nr_writable)`.
 */
struct hvabs_virtq_chain {
	struct hvabs_virtq_seg *seg; /**< Segment array given by the caller. */
	uint32_t cap;		     /**< Entries in `seg`. */
	uint32_t nr_readable;	     /**< Device-readable segments. */
	uint32_t nr_writable;	     /**< Device-writable segments. */
	uint32_t readable_len;	     /**< Total bytes the device may read. */
	uint32_t writable_len;	     /**< Total bytes the device may write. */
	uint32_t nr_desc;	     /**< Descriptors in the chain, indirect ones included. */
	uint16_t head;	       /**< Index of the chain's first descriptor (the used-ring id). */
	uint16_t pad;	       /**< Reserved. */
	uint32_t generation;   /**< The queue's generation when popped (see hvabs_virtq_push()). */
	struct hvabs_mem *mem; /**< The memory map, for the copy helpers. */
};

/**
 * Prepares a chain for hvabs_virtq_pop(). Thread: any.
 * @param chain the chain.
 * @param segs segment storage; it must hold as many entries as the largest
 *        queue size the chain will be popped from, so every valid chain fits.
 * @param cap number of entries in @p segs.
 */
HVABS_API void hvabs_virtq_chain_init(struct hvabs_virtq_chain *chain, struct hvabs_virtq_seg *segs,
				      uint32_t cap);

/**
 * Creates a queue, disabled. Thread: any.
 * @param mem the guest memory map its rings and buffers live in.
 * @param log where to log, or NULL for the stderr default.
 * @param name short name used in log lines ("blk0.q0"); copied.
 * @param max_size the largest queue size the device accepts: a power of 2,
 *        at most #HVABS_VIRTQ_MAX_SIZE.
 * @param out the queue.
 * @return 0 or negative errno.
 * @retval -EINVAL NULL argument or a bad @p max_size.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtq_create(struct hvabs_mem *mem,
						  const struct hvabs_logger *log, const char *name,
						  uint32_t max_size, struct hvabs_virtq **out);

/**
 * Destroys a queue. NULL is a no-op. Thread: the queue's user.
 * @param q the queue.
 */
HVABS_API void hvabs_virtq_destroy(struct hvabs_virtq *q);

/**
 * Enables the queue at the driver's addresses: checks the size and that each
 * ring lies, aligned, within one RAM region, and resolves the rings to host
 * pointers. The device's ring indices start at 0. On failure the queue stays
 * disabled and the reason is logged (rate-limited). Thread: the queue's user.
 * @param q the queue.
 * @param layout size, ring addresses, negotiated features.
 * @return 0 or negative errno.
 * @retval -EINVAL the size is 0, not a power of 2, or above the maximum.
 * @retval -EFAULT a ring is misaligned, outside RAM, or spans two regions.
 * @retval -EBUSY the queue is already enabled.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtq_enable(struct hvabs_virtq *q,
						  const struct hvabs_virtq_layout *layout);

/**
 * Disables the queue (driver reset or QueueReady = 0): forgets its rings,
 * clears the broken state, and makes chains popped before stale, so that
 * hvabs_virtq_push() refuses them. Thread: the queue's user.
 * @param q the queue.
 */
HVABS_API void hvabs_virtq_disable(struct hvabs_virtq *q);

/**
 * Whether the queue is enabled.
 * @param q the queue.
 * @return true when enabled.
 */
HVABS_API bool hvabs_virtq_is_enabled(const struct hvabs_virtq *q);

/**
 * Whether the driver broke the queue with a malformed chain or ring index;
 * it stays broken until disabled.
 * @param q the queue.
 * @return true when broken.
 */
HVABS_API bool hvabs_virtq_is_broken(const struct hvabs_virtq *q);

/**
 * The size the driver chose, 0 while disabled.
 * @param q the queue.
 * @return the size.
 */
HVABS_API uint32_t hvabs_virtq_size(const struct hvabs_virtq *q);

/**
 * The largest size the queue accepts (as given to hvabs_virtq_create()).
 * @param q the queue.
 * @return the maximum size.
 */
HVABS_API uint32_t hvabs_virtq_max_size(const struct hvabs_virtq *q);

/**
 * Takes the next available chain and validates all of it. When the ring is
 * empty and #HVABS_VIRTIO_F_EVENT_IDX was negotiated, asks the driver to
 * notify on the next buffer (avail_event) and looks once more, so a buffer
 * made available meanwhile is never missed. Thread: the queue's user.
 * @param q the queue.
 * @param chain prepared with hvabs_virtq_chain_init(); filled on success.
 * @return 0 or negative errno.
 * @retval -ENOENT no chain is available.
 * @retval -ENODEV the queue is disabled.
 * @retval -EBADMSG the chain or the available ring is malformed: the queue is
 *         now broken.
 * @retval -EIO the queue was already broken.
 * @retval -EINVAL @p chain has fewer segment entries than the queue size.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtq_pop(struct hvabs_virtq *q,
					       struct hvabs_virtq_chain *chain);

/**
 * Returns a chain to the driver through the used ring, saying the device
 * wrote @p written bytes from the start of its writable part (§2.7.8), and
 * publishes the new used index. The bytes are marked dirty for migration.
 * Thread: the queue's user.
 * @param q the queue.
 * @param chain a chain popped from @p q.
 * @param written bytes written, at most `chain->writable_len`.
 * @return 0 or negative errno.
 * @retval -ESTALE the queue was disabled (reset) since the chain was popped:
 *         nothing is written.
 * @retval -EINVAL @p written is too large, or no chain is in flight.
 * @retval -ENODEV the queue is disabled.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_virtq_push(struct hvabs_virtq *q, const struct hvabs_virtq_chain *chain, uint32_t written);

/**
 * Returns @p n chains at once: writes every used element, then publishes the
 * used index once, so the driver sees all of them or none. A device that
 * spreads one message over several chains (virtio-net's mergeable receive
 * buffers, §5.1.6.4) must use this, or a driver polling in between sees a
 * partial message. All chains are checked before anything is written.
 * Thread: the queue's user.
 * @param q the queue.
 * @param chains the chains, each popped from @p q.
 * @param written bytes written into each.
 * @param n number of chains (0 is a no-op).
 * @return 0 or negative errno, as hvabs_virtq_push(); on error nothing is written.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_virtq_push_many(struct hvabs_virtq *q,
						     const struct hvabs_virtq_chain *const *chains,
						     const uint32_t *written, uint32_t n);

/**
 * Says whether the driver wants a used-buffer notification for the chains
 * pushed since the previous call: with #HVABS_VIRTIO_F_EVENT_IDX, when the
 * used index passed `used_event` (§2.7.10); without it, unless the driver set
 * VIRTQ_AVAIL_F_NO_INTERRUPT. Call it once after a batch of pushes, and
 * notify when it returns true. Thread: the queue's user.
 * @param q the queue.
 * @return true when the driver should be notified.
 */
HVABS_API bool hvabs_virtq_notify_needed(struct hvabs_virtq *q);

/**
 * Copies bytes out of the chain's device-readable part. Thread: any.
 * @param chain a popped chain.
 * @param offset where to start, from the start of the readable part.
 * @param buf destination.
 * @param len bytes wanted.
 * @return bytes copied: fewer than @p len when the readable part ends first.
 */
HVABS_API size_t hvabs_virtq_chain_read(const struct hvabs_virtq_chain *chain, uint64_t offset,
					void *buf, size_t len);

/**
 * Copies bytes into the chain's device-writable part and marks them dirty.
 * Thread: any.
 * @param chain a popped chain.
 * @param offset where to start, from the start of the writable part.
 * @param buf source.
 * @param len bytes to write.
 * @return bytes copied: fewer than @p len when the writable part ends first.
 */
HVABS_API size_t hvabs_virtq_chain_write(const struct hvabs_virtq_chain *chain, uint64_t offset,
					 const void *buf, size_t len);

/** hvabs_virtq_chain_iov() @p part: the device-readable segments. */
#define HVABS_VIRTQ_READABLE 0
/** hvabs_virtq_chain_iov() @p part: the device-writable segments. */
#define HVABS_VIRTQ_WRITABLE 1

/**
 * Describes @p len bytes of one part of a chain, from @p offset, as an iovec
 * array for readv/writev-style calls. Thread: any.
 * @param chain a popped chain.
 * @param part #HVABS_VIRTQ_READABLE or #HVABS_VIRTQ_WRITABLE.
 * @param offset where to start within the part.
 * @param len bytes to describe.
 * @param iov output array.
 * @param max_iov entries in @p iov.
 * @return the number of entries used, or negative errno.
 * @retval -ERANGE the part has fewer than @p offset + @p len bytes.
 * @retval -E2BIG more than @p max_iov entries would be needed.
 * @retval -EINVAL bad @p part.
 */
HVABS_API int hvabs_virtq_chain_iov(const struct hvabs_virtq_chain *chain, int part,
				    uint64_t offset, uint64_t len, struct iovec *iov, int max_iov);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
