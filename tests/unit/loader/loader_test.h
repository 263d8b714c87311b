/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the loader tests: a guest RAM map over anonymous memory, LE reads, image builders. */
#ifndef HVABS_LOADER_TEST_H
#define HVABS_LOADER_TEST_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <hvabs/loader.h>
#include <hvabs/mem.h>

#define MIB (1024u * 1024u)

/* A guest with RAM [0, low) and, when high > 0, [4 GiB, 4 GiB + high). */
struct guest {
	struct hvabs_mem *mem;
	uint8_t *low;
	size_t low_size;
	uint8_t *high;
	size_t high_size;
};

static inline void *anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline int guest_init(struct guest *g, size_t low, size_t high)
{
	memset(g, 0, sizeof(*g));
	if (hvabs_mem_create(&g->mem))
		return -1;
	g->low_size = low;
	g->low = anon(low);
	if (!g->low || hvabs_mem_add_region(g->mem, 0, low, g->low, 0))
		return -1;
	if (high) {
		g->high_size = high;
		g->high = anon(high);
		if (!g->high || hvabs_mem_add_region(g->mem, 1ull << 32, high, g->high, 0))
			return -1;
	}
	return 0;
}

static inline void guest_fini(struct guest *g)
{
	hvabs_mem_destroy(g->mem);
	if (g->low)
		munmap(g->low, g->low_size);
	if (g->high)
		munmap(g->high, g->high_size);
	memset(g, 0, sizeof(*g));
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Sum of bytes modulo 256: zero for a table with a correct checksum. */
static inline uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The byte pattern the test images carry, so loaded copies can be checked. */
static inline uint8_t pattern(size_t i, uint8_t seed)
{
	return (uint8_t)(i * 7u + seed + (i >> 8));
}

/* Fields of a synthetic bzImage (boot protocol setup header). */
struct bz_opts {
	uint16_t version;
	uint8_t setup_sects;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	size_t payload; /* bytes of protected-mode kernel */
};

/* A 2.15, relocatable, 64-bit kernel of 64 KiB that wants 8 MiB at 16 MiB. */
static inline struct bz_opts bz_defaults(void)
{
	struct bz_opts o = {
	    .version = 0x020f,
	    .setup_sects = 4,
	    .loadflags = 0x01,
	    .xloadflags = 0x0003,
	    .relocatable = 1,
	    .cmdline_size = 2047,
	    .initrd_addr_max = 0x7fffffff,
	    .kernel_alignment = 0x200000,
	    .pref_address = 0x1000000,
	    .init_size = 0x800000,
	    .payload = 0x10000,
	};
	return o;
}

/* Builds the image in @p buf (room for (setup_sects or 4 + 1) * 512 + payload); returns its length. */
static inline size_t bz_build(uint8_t *buf, const struct bz_opts *o)
{
	size_t setup = (size_t)((o->setup_sects ? o->setup_sects : 4) + 1) * 512;

	memset(buf, 0, setup);
	buf[0x1f1] = o->setup_sects;
	wr32(buf + 0x1f4, (uint32_t)((o->payload + 15) / 16));
	wr16(buf + 0x1fe, 0xaa55);
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a; /* header to 0x26c, as a 2.15 kernel has */
	memcpy(buf + 0x202, "HdrS", 4);
	wr16(buf + 0x206, o->version);
	wr16(buf + 0x1fa, 0xffff); /* vid_mode: normal */
	buf[0x211] = o->loadflags;
	wr32(buf + 0x22c, o->initrd_addr_max);
	wr32(buf + 0x230, o->kernel_alignment);
	buf[0x234] = o->relocatable;
	wr16(buf + 0x236, o->xloadflags);
	wr32(buf + 0x238, o->cmdline_size);
	wr64(buf + 0x258, o->pref_address);
	wr32(buf + 0x260, o->init_size);
	for (size_t i = 0; i < o->payload; i++)
		buf[setup + i] = pattern(i, 0x11);
	return setup + o->payload;
}

#endif
