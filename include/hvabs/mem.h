/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mem.h
 * @brief The guest memory map: bounds- and overflow-checked guest RAM access.
 *
 * A memory map is a sorted set of non-overlapping regions (guest-physical
 * address, size, host address, flags). Devices and loaders reach guest RAM
 * only through these accessors and never do pointer arithmetic on guest
 * addresses themselves: every access is checked against the regions, and an
 * address range that wraps, runs past the end or crosses a hole is refused.
 *
 * Each VM has one map (hvabs_vm_mem()); a standalone map can be created for
 * tests and tools. Regions are added and removed rarely; lookups are
 * lock-free and may run on any thread while a region is being added.
 *
 * @defgroup mem Guest memory
 * @brief Regions and checked accessors.
 * @{
 */
#ifndef HVABS_MEM_H
#define HVABS_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A guest memory map. */
struct hvabs_mem;

/** Size of a guest page as used by the dirty bitmaps. */
#define HVABS_PAGE_SIZE 4096u

/** hvabs_mem_region::flags: the guest cannot write (VMM writes are still allowed). */
#define HVABS_REGION_READONLY (1u << 0)

/** One region of the map, as reported by hvabs_mem_region_at(). */
struct hvabs_mem_region {
	uint64_t gpa;	/**< First guest-physical address. */
	uint64_t size;	/**< Length in bytes. */
	void *hva;	/**< Where the VMM sees the first byte. */
	uint32_t flags; /**< HVABS_REGION_* bits. */
};

/**
 * Creates an empty memory map. Thread: any.
 * @param out the new map.
 * @return 0 or negative errno.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_create(struct hvabs_mem **out);

/**
 * Destroys a map (not the memory it describes). NULL is a no-op. Thread: no
 * other thread may use the map.
 * @param mem the map.
 */
HVABS_API void hvabs_mem_destroy(struct hvabs_mem *mem);

/**
 * Adds a region. Thread: any, one writer at a time per map.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param size length, non-zero.
 * @param hva host address of the first byte.
 * @param flags HVABS_REGION_* bits.
 * @return 0 or negative errno.
 * @retval -EINVAL zero size, NULL @p hva, or @p gpa + @p size wraps.
 * @retval -EEXIST the range overlaps an existing region.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_add_region(struct hvabs_mem *mem, uint64_t gpa,
						    uint64_t size, void *hva, uint32_t flags);

/**
 * Removes the region that starts exactly at @p gpa. Thread: any, one writer
 * at a time; the caller must ensure no other thread still uses pointers into
 * the region.
 * @param mem the map.
 * @param gpa start of the region.
 * @return 0 or negative errno.
 * @retval -ENOENT no region starts at @p gpa.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_remove_region(struct hvabs_mem *mem, uint64_t gpa);

/**
 * Finds the region containing @p gpa. Thread: any.
 * @param mem the map.
 * @param gpa a guest-physical address.
 * @param out the region.
 * @return 0 or negative errno.
 * @retval -EFAULT no region contains @p gpa.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_region_at(const struct hvabs_mem *mem, uint64_t gpa,
						   struct hvabs_mem_region *out);

/**
 * Number of regions in the map. Thread: any.
 * @param mem the map.
 * @return the count.
 */
HVABS_API size_t hvabs_mem_region_count(const struct hvabs_mem *mem);

/**
 * Copies the @p index-th region (in address order) to @p out. Thread: any.
 * @param mem the map.
 * @param index 0 .. hvabs_mem_region_count() - 1.
 * @param out the region.
 * @return 0 or negative errno.
 * @retval -ERANGE no such index.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_region_get(const struct hvabs_mem *mem, size_t index,
						    struct hvabs_mem_region *out);

/**
 * Returns a host pointer to @p len bytes at @p gpa, or NULL when any of them
 * lies outside one single region, or @p gpa + @p len wraps. A @p len of 0 is
 * treated as 1. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param len number of bytes the caller will touch.
 * @return the pointer, or NULL.
 */
HVABS_API void *hvabs_mem_ptr(const struct hvabs_mem *mem, uint64_t gpa, uint64_t len);

/**
 * Copies @p len bytes from guest RAM into @p buf. The range may span
 * adjacent regions but not a hole. Nothing is copied on failure. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param buf destination.
 * @param len number of bytes.
 * @return 0 or negative errno.
 * @retval -EFAULT part of the range is not guest RAM, or it wraps.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_read(const struct hvabs_mem *mem, uint64_t gpa, void *buf,
					      uint64_t len);

/**
 * Copies @p len bytes from @p buf into guest RAM (read-only regions are
 * writable by the VMM). Nothing is written on failure. Marks the pages dirty
 * when dirty tracking is on. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param buf source.
 * @param len number of bytes.
 * @return 0 or negative errno.
 * @retval -EFAULT part of the range is not guest RAM, or it wraps.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_write(struct hvabs_mem *mem, uint64_t gpa, const void *buf,
					       uint64_t len);

/**
 * Fills @p len bytes of guest RAM with @p byte. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param byte fill value.
 * @param len number of bytes.
 * @return 0 or negative errno.
 * @retval -EFAULT part of the range is not guest RAM, or it wraps.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_fill(struct hvabs_mem *mem, uint64_t gpa, uint8_t byte,
					      uint64_t len);

/**
 * Reads a little-endian 16-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param out the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_read_u16(const struct hvabs_mem *mem, uint64_t gpa,
						  uint16_t *out);
/**
 * Reads a little-endian 32-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param out the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_read_u32(const struct hvabs_mem *mem, uint64_t gpa,
						  uint32_t *out);
/**
 * Reads a little-endian 64-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param out the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_read_u64(const struct hvabs_mem *mem, uint64_t gpa,
						  uint64_t *out);
/**
 * Writes a little-endian 16-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param val the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_write_u16(struct hvabs_mem *mem, uint64_t gpa,
						   uint16_t val);
/**
 * Writes a little-endian 32-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param val the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_write_u32(struct hvabs_mem *mem, uint64_t gpa,
						   uint32_t val);
/**
 * Writes a little-endian 64-bit value. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical address.
 * @param val the value.
 * @return 0 or -EFAULT.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_write_u64(struct hvabs_mem *mem, uint64_t gpa,
						   uint64_t val);

/**
 * Turns tracking of VMM-side writes on or off for every region (for
 * snapshots and migration). Turning it on clears the bitmaps. Thread: any.
 * @param mem the map.
 * @param on 1 to track, 0 to stop.
 * @return 0 or negative errno.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_track_dirty(struct hvabs_mem *mem, int on);

/**
 * Marks pages dirty after the VMM wrote to them through a pointer from
 * hvabs_mem_ptr(). A no-op when tracking is off. Thread: any.
 * @param mem the map.
 * @param gpa guest-physical start.
 * @param len number of bytes written.
 */
HVABS_API void hvabs_mem_mark_dirty(struct hvabs_mem *mem, uint64_t gpa, uint64_t len);

/**
 * Fetches and clears the VMM-side dirty bitmap of the region that starts at
 * @p gpa: one bit per #HVABS_PAGE_SIZE page, bit 0 of word 0 is the first
 * page. Thread: any.
 * @param mem the map.
 * @param gpa start of the region.
 * @param bitmap room for `ceil(size / 4096 / 64)` words.
 * @param words number of words in @p bitmap.
 * @return 0 or negative errno.
 * @retval -ENOENT no region starts at @p gpa.
 * @retval -ENOSPC @p bitmap is too small.
 * @retval -EINVAL tracking is off.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_mem_get_dirty(struct hvabs_mem *mem, uint64_t gpa,
						   uint64_t *bitmap, size_t words);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
