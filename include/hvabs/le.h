/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file le.h
 * @brief Little-endian loads and stores of 1 to 8 bytes.
 *
 * What a guest reads and writes through ports, MMIO, virtio fields and Xen
 * ioreq buffers is little-endian whatever the host. These two helpers move
 * such bytes to and from an integer, at any alignment. Header-only, so
 * applications, devices and backend plugins (which do not link libhvabs)
 * share the one definition.
 *
 * @defgroup le Little-endian bytes
 * @brief Byte buffers to integers and back.
 * @{
 */
#ifndef HVABS_LE_H
#define HVABS_LE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Reads a little-endian integer.
 * @param p    The bytes; any alignment.
 * @param size How many: 1 to 8 (more counts as 8, 0 gives 0).
 * @return The value, zero-extended to 64 bits.
 *
 * Any thread.
 */
static inline uint64_t hvabs_le_load(const void *p, uint32_t size)
{
	const uint8_t *b = (const uint8_t *)p;
	uint64_t v = 0;

	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/**
 * @brief Writes the low @p size bytes of @p val, least significant first.
 * @param p    Where; any alignment.
 * @param size How many bytes: 1 to 8 (more writes 8).
 * @param val  The value; bytes above @p size are dropped.
 *
 * Any thread.
 */
static inline void hvabs_le_store(void *p, uint32_t size, uint64_t val)
{
	uint8_t *b = (uint8_t *)p;

	for (uint32_t i = 0; i < size && i < 8; i++)
		b[i] = (uint8_t)(val >> (8 * i));
}

#ifdef __cplusplus
}
#endif

/** @} */
#endif
