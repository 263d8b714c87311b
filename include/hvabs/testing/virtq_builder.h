/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file testing/virtq_builder.h
 * @brief The driver side of a split virtqueue, for testing virtio devices.
 *
 * @defgroup testing_vqb Virtqueue builder (test support)
 * @brief Plays a guest driver against a virtio device on the mock backend.
 *
 * Part of libhvabs-testsupport (`hvabs::testsupport` in CMake,
 * `pkg-config hvabs-testsupport`), not of libhvabs: link it into tests only.
 * It lays out the three rings of a split virtqueue (virtio 1.2 §2.7) in a
 * VM's guest RAM, hands out buffer memory from a heap, writes good chains
 * (direct and indirect) and every kind of malformed chain a device must
 * refuse, publishes them on the available ring and reads the used ring back.
 * All guest memory is written through the mem.h accessors, as a guest
 * driver's stores would land in it. docs/devices.md shows it in use.
 *
 * The names are short (`vqb_`, `VQB_`) because test code uses them on every
 * line; they never appear in libhvabs. A misuse of the builder itself (a ring
 * outside RAM, an exhausted heap) is a broken test: it prints why and aborts.
 * Not thread-safe: one test thread drives one builder.
 * @{
 */
#ifndef HVABS_TESTING_VIRTQ_BUILDER_H
#define HVABS_TESTING_VIRTQ_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include <hvabs/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Descriptor flag: the chain continues at `next` (virtio 1.2 §2.7.5). */
#define VQB_F_NEXT 1u
/** Descriptor flag: the buffer is device-writable. */
#define VQB_F_WRITE 2u
/** Descriptor flag: the buffer is a table of indirect descriptors. */
#define VQB_F_INDIRECT 4u

/** One virtqueue as a driver sees it. Fields are read-only for the caller. */
struct vqb {
	struct hvabs_mem *mem; /**< Guest memory the rings and buffers live in. */
	uint32_t size;	       /**< Queue size (number of descriptors). */
	uint64_t desc;	       /**< Guest address of the descriptor table. */
	uint64_t avail;	       /**< Guest address of the available ring. */
	uint64_t used;	       /**< Guest address of the used ring. */
	uint64_t ram_end;      /**< First address past the RAM region holding the rings. */
	uint64_t heap;	       /**< Start of the buffer heap. */
	uint64_t heap_end;     /**< End of the buffer heap. */
	uint64_t heap_next;    /**< Next free heap byte. */
	uint16_t avail_idx;    /**< Published available index. */
	uint16_t pending;      /**< Entries put on the available ring but not yet published. */
	uint16_t next_desc;    /**< Next free descriptor (handed out in order, wrapping). */
	uint16_t last_used;    /**< Used entries already taken by vqb_get_used(). */
};

/** One buffer of a chain. */
struct vqb_buf {
	uint64_t gpa; /**< Guest-physical address of the buffer. */
	uint32_t len; /**< Length in bytes. */
	bool write;   /**< true: device-writable; false: device-readable. */
};

/** Malformed chains (or ring states) a device must refuse with DEVICE_NEEDS_RESET. */
enum vqb_bad {
	VQB_BAD_BUF_OUTSIDE_RAM,	/**< A buffer past the end of RAM. */
	VQB_BAD_BUF_CROSSES_RAM_END,	/**< A buffer that starts in RAM and ends past it. */
	VQB_BAD_LEN_OVERFLOW,		/**< Buffers adding up to 4 GiB or more. */
	VQB_BAD_LOOP,			/**< A two-descriptor loop, 0 -> 1 -> 0. */
	VQB_BAD_SELF_LOOP,		/**< A descriptor chained to itself. */
	VQB_BAD_TOO_LONG,		/**< More descriptors than the queue size, via indirect. */
	VQB_BAD_NEXT_OUT_OF_RANGE,	/**< A `next` at or beyond the queue size. */
	VQB_BAD_HEAD_OUT_OF_RANGE,	/**< An available entry at or beyond the queue size. */
	VQB_BAD_READ_AFTER_WRITE,	/**< Device-readable after device-writable. */
	VQB_BAD_INDIRECT_NESTED,	/**< An indirect descriptor inside an indirect table. */
	VQB_BAD_INDIRECT_LEN_UNALIGNED, /**< Table length not a multiple of 16. */
	VQB_BAD_INDIRECT_EMPTY,		/**< Table length 0. */
	VQB_BAD_INDIRECT_TOO_BIG,	/**< More table entries than the queue size. */
	VQB_BAD_INDIRECT_OUTSIDE_RAM,	/**< A table past the end of RAM. */
	VQB_BAD_INDIRECT_WITH_NEXT,	/**< INDIRECT and NEXT on one descriptor. */
	VQB_BAD_INDIRECT_LOOP,		/**< A loop inside an indirect table. */
	VQB_BAD_INDIRECT_NEXT_OUT_OF_RANGE, /**< A table `next` beyond the table. */
	VQB_BAD_INDIRECT_READ_AFTER_WRITE,  /**< The order rule broken inside a table. */
	VQB_BAD_AVAIL_JUMP, /**< Available index moved by more than the queue size. */
	VQB_BAD_COUNT	    /**< Number of kinds (not a kind). */
};

/**
 * Names a malformed-chain kind, for test messages.
 * @param kind the kind.
 * @return a constant string ("?" for an unknown kind).
 */
const char *vqb_bad_name(enum vqb_bad kind);

/**
 * Lays out a queue: descriptor table at @p ring_base, then the available ring,
 * then the used ring at the next 4 KiB boundary; zeroes it.
 * @param b the builder to initialise.
 * @param mem guest memory (hvabs_vm_mem()).
 * @param size queue size; the device must be told the same (QueueNum).
 * @param ring_base guest address of the rings; vqb_ring_bytes() long.
 * @param heap guest address of buffer memory for vqb_alloc().
 * @param heap_len bytes of buffer memory.
 * @return 0, or -1 when the rings or the heap do not fit in RAM.
 */
int vqb_init(struct vqb *b, struct hvabs_mem *mem, uint32_t size, uint64_t ring_base, uint64_t heap,
	     uint64_t heap_len);

/**
 * Bytes the rings of a queue occupy from its ring base.
 * @param size queue size.
 * @return the length in bytes.
 */
uint64_t vqb_ring_bytes(uint32_t size);

/**
 * Zeroes the rings and forgets every index, as a driver does after a device reset.
 * @param b the builder.
 */
void vqb_reset(struct vqb *b);

/**
 * Takes zeroed buffer memory from the heap, 16-byte aligned.
 * @param b the builder.
 * @param len bytes wanted.
 * @return the buffer's guest address (aborts the test when the heap is exhausted).
 */
uint64_t vqb_alloc(struct vqb *b, uint32_t len);

/**
 * Writes descriptor @p i of the descriptor table as given (no checks).
 * @param b the builder.
 * @param i descriptor index (taken modulo the queue size).
 * @param addr buffer address.
 * @param len buffer length.
 * @param flags VQB_F_* flags.
 * @param next next descriptor when VQB_F_NEXT is set.
 */
void vqb_set_desc(struct vqb *b, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);

/**
 * Writes entry @p i of an indirect table as given (no checks).
 * @param b the builder.
 * @param table guest address of the table (from vqb_alloc()).
 * @param i entry index.
 * @param addr buffer address.
 * @param len buffer length.
 * @param flags VQB_F_* flags.
 * @param next next entry when VQB_F_NEXT is set.
 */
void vqb_set_table_desc(struct vqb *b, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next);

/**
 * Puts a chain head in the next available-ring slot, not yet visible to the device.
 * @param b the builder.
 * @param head the chain's first descriptor.
 */
void vqb_avail_put(struct vqb *b, uint16_t head);

/**
 * Publishes every entry put since the last publish (advances the available index).
 * @param b the builder.
 */
void vqb_publish(struct vqb *b);

/**
 * Sets the available index to any value, dropping unpublished entries.
 * @param b the builder.
 * @param idx the new index.
 */
void vqb_set_avail_idx(struct vqb *b, uint16_t idx);

/**
 * Writes the available ring's flags (VIRTQ_AVAIL_F_NO_INTERRUPT is 1).
 * @param b the builder.
 * @param flags the flags.
 */
void vqb_set_avail_flags(struct vqb *b, uint16_t flags);

/**
 * Writes used_event (with VIRTIO_F_EVENT_IDX: interrupt me after this used index).
 * @param b the builder.
 * @param v the value.
 */
void vqb_set_used_event(struct vqb *b, uint16_t v);

/**
 * Writes a chain of buffers into the next free descriptors.
 * @param b the builder.
 * @param bufs the buffers, device-readable ones first.
 * @param n number of buffers (at least 1).
 * @return the chain's head, not yet on the available ring.
 */
uint16_t vqb_chain(struct vqb *b, const struct vqb_buf *bufs, int n);

/**
 * Writes one descriptor pointing to an indirect table of buffers.
 * @param b the builder.
 * @param bufs the buffers, device-readable ones first.
 * @param n number of buffers (at least 1).
 * @return the chain's head, not yet on the available ring.
 */
uint16_t vqb_chain_indirect(struct vqb *b, const struct vqb_buf *bufs, int n);

/**
 * vqb_chain(), vqb_avail_put() and vqb_publish() in one call.
 * @param b the builder.
 * @param bufs the buffers, device-readable ones first.
 * @param n number of buffers (at least 1).
 * @return the chain's head.
 */
uint16_t vqb_add(struct vqb *b, const struct vqb_buf *bufs, int n);

/**
 * vqb_chain_indirect(), vqb_avail_put() and vqb_publish() in one call.
 * @param b the builder.
 * @param bufs the buffers, device-readable ones first.
 * @param n number of buffers (at least 1).
 * @return the chain's head.
 */
uint16_t vqb_add_indirect(struct vqb *b, const struct vqb_buf *bufs, int n);

/**
 * Writes a malformed chain (or ring state) of @p kind and publishes it.
 * @param b the builder.
 * @param kind what is wrong with it.
 * @return its head.
 */
uint16_t vqb_add_bad(struct vqb *b, enum vqb_bad kind);

/**
 * Reads the used ring's index as the device last wrote it.
 * @param b the builder.
 * @return the used index.
 */
uint16_t vqb_used_idx(struct vqb *b);

/**
 * Reads avail_event (with VIRTIO_F_EVENT_IDX: the device wants a notification
 * after this available index).
 * @param b the builder.
 * @return the value.
 */
uint16_t vqb_avail_event(struct vqb *b);

/**
 * Takes the next used element the device returned.
 * @param b the builder.
 * @param id out: the head of the chain the device used.
 * @param len out: bytes the device wrote into the chain.
 * @return true with @p id and @p len set, false when there is none.
 */
bool vqb_get_used(struct vqb *b, uint32_t *id, uint32_t *len);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
