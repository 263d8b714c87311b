/* SPDX-License-Identifier: Apache-2.0 */
/* PVH ELF loading: segments, the entry note, hvm_start_info, and corrupt or unsuitable ELF files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader_test.h"

#define ELF_MAX	 0x8000
#define NOTE_OFF 0x200
#define SI	 HVABS_LINUX_START_INFO_ADDR
#define ENTRY	 0x1000100u

/* A segment of the test image: type, where its bytes are in the file and go in memory. */
struct eseg {
	uint32_t type;
	uint64_t off, paddr, filesz, memsz, align;
};

struct fx {
	struct guest g;
	uint8_t img[ELF_MAX];
	size_t len;
	struct eseg seg[4];
	unsigned nseg;
	uint8_t initrd[8192];
	struct hvabs_linux_config cfg;
	struct hvabs_linux_boot boot;
	char err[256];
};

static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t n = 12;

	wr32(p, namesz);
	wr32(p + 4, descsz);
	wr32(p + 8, type);
	memcpy(p + n, name, namesz);
	n += (namesz + 3) & ~3u;
	memcpy(p + n, desc, descsz);
	n += (descsz + 3) & ~3u;
	return n;
}

/* Notes like Linux's: a GNU build id, a Xen note of another type, then the PVH entry. */
static size_t put_notes(uint8_t *p, uint32_t entry_size)
{
	uint8_t id[20], entry[8];
	uint32_t ver = 0x2a;
	size_t n = 0;

	memset(id, 0xab, sizeof(id));
	wr64(entry, ENTRY);
	n += put_note(p + n, "GNU", 3, id, sizeof(id));
	n += put_note(p + n, "Xen", 6, &ver, 4); /* XEN_ELFNOTE_LOADER: not ours */
	if (entry_size)
		n += put_note(p + n, "Xen", 18, entry, entry_size);
	return n;
}

static void build(struct fx *f)
{
	uint8_t *k = f->img;

	static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};

	memset(k, 0, NOTE_OFF); /* the headers; notes and segment data are kept */
	memcpy(k, magic, 4);
	k[4] = 2; /* ELFCLASS64 */
	k[5] = 1; /* little endian */
	k[6] = 1;
	wr16(k + 16, 2);  /* ET_EXEC */
	wr16(k + 18, 62); /* x86-64 */
	wr32(k + 20, 1);
	wr64(k + 24, 0xffffffff81000000ull);
	wr64(k + 32, 64); /* e_phoff */
	wr16(k + 52, 64);
	wr16(k + 54, 56);
	wr16(k + 56, (uint16_t)f->nseg);
	for (unsigned i = 0; i < f->nseg; i++) {
		uint8_t *p = k + 64 + 56 * i;
		const struct eseg *s = &f->seg[i];

		wr32(p, s->type);
		wr32(p + 4, 5);
		wr64(p + 8, s->off);
		wr64(p + 16, s->paddr + 0xffffffff80000000ull);
		wr64(p + 24, s->paddr);
		wr64(p + 32, s->filesz);
		wr64(p + 40, s->memsz);
		wr64(p + 48, s->align);
		if (s->type == 1 && s->off < ELF_MAX)
			for (uint64_t j = 0; j < s->filesz && s->off + j < ELF_MAX; j++)
				k[s->off + j] = pattern((size_t)j, (uint8_t)(0x30 + i));
	}
}

/* Text at 16 MiB (0x3000 bytes), data + bss at 18 MiB (0x1000 in the file, 0x5000 in memory). */
static void default_segments(struct fx *f, uint32_t entry_size)
{
	memset(f->img + NOTE_OFF, 0, 0x1000 - NOTE_OFF);
	f->nseg = 3;
	f->seg[0] = (struct eseg){1, 0x1000, 0x1000000, 0x3000, 0x3000, 0x1000};
	f->seg[1] = (struct eseg){1, 0x4000, 0x1200000, 0x1000, 0x5000, 0x1000};
	f->seg[2] = (struct eseg){4, NOTE_OFF, 0, 0, 0, 4};
	f->seg[2].filesz = put_notes(f->img + NOTE_OFF, entry_size);
	build(f);
	f->len = 0x5000;
	f->cfg.kernel_size = f->len;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || guest_init(&f->g, 64 * MIB, 0))
		return -1;
	for (size_t i = 0; i < sizeof(f->initrd); i++)
		f->initrd[i] = pattern(i, 0x77);
	f->cfg.kernel = f->img;
	default_segments(f, 8);
	f->cfg.initrd = f->initrd;
	f->cfg.initrd_size = sizeof(f->initrd);
	f->cfg.cmdline = "console=hvc0";
	f->cfg.platform.nr_cpus = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	guest_fini(&f->g);
	free(f);
	return 0;
}

static int load(struct fx *f)
{
	f->err[0] = 0;
	return hvabs_linux_load(f->g.mem, &f->cfg, &f->boot, f->err, sizeof(f->err));
}

static void plan_is_reported(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.entry_kind, HVABS_LINUX_ENTRY_PVH);
	assert_int_equal(f->boot.protocol, 0);
	assert_int_equal(f->boot.entry, ENTRY);
	assert_int_equal(f->boot.boot_info, SI);
	assert_int_equal(f->boot.kernel_start, 0x1000000);
	assert_int_equal(f->boot.kernel_end, 0x1205000);
	assert_int_equal(f->boot.initrd_start, 64 * MIB - 8192);
	assert_int_equal(f->boot.initrd_size, 8192);
	assert_int_equal(f->boot.pml4, 0);
	assert_int_equal(f->boot.rsdp, 0xe0000);
}

static void segments_loaded_bss_zeroed(void **state)
{
	struct fx *f = *state;
	const uint8_t *ram = f->g.low;

	memset(f->g.low + 0x1200000, 0xaa, 0x6000); /* stale data where the bss goes */
	assert_int_equal(load(f), 0);
	for (size_t i = 0; i < 0x3000; i++)
		if (ram[0x1000000 + i] != pattern(i, 0x30))
			fail_msg("text byte %zu differs", i);
	for (size_t i = 0; i < 0x1000; i++)
		if (ram[0x1200000 + i] != pattern(i, 0x31))
			fail_msg("data byte %zu differs", i);
	for (size_t i = 0x1000; i < 0x5000; i++)
		if (ram[0x1200000 + i] != 0)
			fail_msg("bss byte 0x%zx is not zero", i);
	assert_int_equal(ram[0x1205000], 0xaa); /* nothing written past memsz */
	assert_memory_equal(ram + f->boot.initrd_start, f->initrd, sizeof(f->initrd));
	assert_string_equal((const char *)ram + HVABS_LINUX_CMDLINE_ADDR, "console=hvc0");
	assert_int_equal(rd64(ram + 0x500 + 0x08), 0x00cf9b000000ffffull); /* 32-bit code */
	assert_int_equal(rd64(ram + 0x500 + 0x20), 0x00008b0000000067ull); /* TSS */
}

static void start_info(void **state)
{
	struct fx *f = *state;
	const uint8_t *si = f->g.low + SI, *mod, *mm;

	assert_int_equal(load(f), 0);
	assert_int_equal(rd32(si), 0x336ec578);
	assert_int_equal(rd32(si + 4), 1);
	assert_int_equal(rd32(si + 8), 0);
	assert_int_equal(rd32(si + 12), 1);
	assert_int_equal(rd64(si + 24), HVABS_LINUX_CMDLINE_ADDR);
	assert_int_equal(rd64(si + 32), 0xe0000);
	mod = f->g.low + rd64(si + 16);
	assert_true(rd64(si + 16) > SI && rd64(si + 16) < SI + 4096);
	assert_int_equal(rd64(mod), f->boot.initrd_start);
	assert_int_equal(rd64(mod + 8), 8192);
	assert_int_equal(rd64(mod + 16), 0);
	assert_int_equal(rd32(si + 48), 5);
	assert_int_equal(f->boot.e820_entries, 5);
	mm = f->g.low + rd64(si + 40);
	assert_int_equal(rd64(mm + 0), 0);
	assert_int_equal(rd64(mm + 8), 0x9fc00);
	assert_int_equal(rd32(mm + 16), 1);
	assert_int_equal(rd64(mm + 2 * 24), 0xe0000);
	assert_int_equal(rd32(mm + 2 * 24 + 16), 3);
	assert_int_equal(rd64(mm + 4 * 24), 0x100000);
	assert_int_equal(rd64(mm + 4 * 24 + 8), 63 * MIB);
	assert_int_equal(rd32(mm + 4 * 24 + 16), 1);
}

static void four_byte_note_no_initrd(void **state)
{
	struct fx *f = *state;
	const uint8_t *si = f->g.low + SI;

	default_segments(f, 4);
	f->cfg.initrd = NULL;
	f->cfg.initrd_size = 0;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->boot.entry, ENTRY);
	assert_int_equal(rd32(si + 12), 0);
	assert_int_equal(rd64(si + 16), 0);
}

#define EXPECT_FAIL(f, code, needle)                                                               \
	do {                                                                                       \
		assert_int_equal(load(f), code);                                                   \
		if (!strstr((f)->err, needle))                                                     \
			fail_msg("error \"%s\" does not mention \"%s\"", (f)->err, needle);        \
	} while (0)

static void no_pvh_note(void **state)
{
	struct fx *f = *state;

	default_segments(f, 0);
	EXPECT_FAIL(f, -ENOTSUP, "no PVH entry note");
	f->nseg = 2; /* no PT_NOTE at all */
	build(f);
	EXPECT_FAIL(f, -ENOTSUP, "no PVH entry note");
}

static void not_x86_64(void **state)
{
	struct fx *f = *state;

	f->img[4] = 1;
	EXPECT_FAIL(f, -ENOTSUP, "64-bit");
	f->img[4] = 2;
	f->img[5] = 2;
	EXPECT_FAIL(f, -ENOTSUP, "little-endian");
	f->img[5] = 1;
	wr16(f->img + 18, 183); /* aarch64 */
	EXPECT_FAIL(f, -ENOTSUP, "not x86-64");
}

static void truncated_and_bad_headers(void **state)
{
	struct fx *f = *state;

	f->cfg.kernel_size = 40;
	EXPECT_FAIL(f, -ENOEXEC, "truncated");
	f->cfg.kernel_size = f->len;
	wr16(f->img + 54, 32);
	EXPECT_FAIL(f, -ENOEXEC, "program header size");
	wr16(f->img + 54, 56);
	wr16(f->img + 56, 0);
	EXPECT_FAIL(f, -ENOEXEC, "program headers");
	wr16(f->img + 56, 3);
	wr64(f->img + 32, f->len - 60); /* headers run off the end */
	EXPECT_FAIL(f, -ENOEXEC, "past the end");
	wr64(f->img + 32, UINT64_MAX - 8); /* phoff + size overflows */
	EXPECT_FAIL(f, -ENOEXEC, "past the end");
}

static void segment_outside_file(void **state)
{
	struct fx *f = *state;

	f->seg[1].filesz = 0x2000; /* 0x4000 + 0x2000 > file */
	build(f);
	EXPECT_FAIL(f, -ENOEXEC, "outside the");
	f->seg[1].filesz = 0x1000;
	f->seg[1].off = UINT64_MAX - 0x800; /* offset + size overflows */
	build(f);
	EXPECT_FAIL(f, -ENOEXEC, "outside the");
	f->seg[1].off = 0x4000;
	f->seg[1].filesz = 0x6000; /* more in the file than in memory */
	f->seg[1].memsz = 0x1000;
	f->len = 0xa000;
	f->cfg.kernel_size = f->len;
	build(f);
	EXPECT_FAIL(f, -ENOEXEC, "in memory");
	f->seg[1].filesz = 0x100; /* file bytes but no memory at all */
	f->seg[1].memsz = 0;
	build(f);
	EXPECT_FAIL(f, -ENOEXEC, "in memory");
}

static void corrupt_notes(void **state)
{
	struct fx *f = *state;

	wr32(f->img + NOTE_OFF, 0xfffffff0u); /* first note's namesz runs past the segment */
	EXPECT_FAIL(f, -ENOEXEC, "note at");
	default_segments(f, 8);
	wr32(f->img + NOTE_OFF + 4, 0xffffffffu); /* descsz */
	EXPECT_FAIL(f, -ENOEXEC, "note at");
	default_segments(f, 3);
	EXPECT_FAIL(f, -ENOEXEC, "3-byte");
}

static void segments_vs_memory(void **state)
{
	struct fx *f = *state;

	f->seg[1].paddr = 0x1002000; /* overlaps the text */
	build(f);
	EXPECT_FAIL(f, -EINVAL, "overlap");
	f->seg[1].paddr = 0x80000; /* the boot area */
	build(f);
	EXPECT_FAIL(f, -EINVAL, "below 1 MiB");
	f->seg[1].paddr = 0x8000000; /* past the 64 MiB of RAM */
	build(f);
	EXPECT_FAIL(f, -ENOSPC, "guest RAM");
	f->seg[1].paddr = UINT64_MAX - 0x1000; /* wraps */
	build(f);
	EXPECT_FAIL(f, -ENOSPC, "4 GiB");
	f->seg[1].paddr = 0xfffff000; /* beyond 4 GiB: no 32-bit entry can reach it */
	build(f);
	EXPECT_FAIL(f, -ENOSPC, "4 GiB");
}

static void entry_outside_segments(void **state)
{
	struct fx *f = *state;

	f->seg[0].paddr = 0x1100000;
	build(f);
	EXPECT_FAIL(f, -ENOEXEC, "in no loaded segment");
}

static void initrd_too_big(void **state)
{
	struct fx *f = *state;
	uint8_t *big = anon(63 * MIB);

	assert_non_null(big);
	f->cfg.initrd = big;
	f->cfg.initrd_size = 63 * MIB;
	EXPECT_FAIL(f, -ENOSPC, "initrd of");
	munmap(big, 63 * MIB);
}

/* Every single-byte corruption of the headers and notes: refused or loaded, never a crash. */
static void corrupted_files_never_crash(void **state)
{
	struct fx *f = *state;
	static const uint8_t vals[] = {0x00, 0x01, 0x80, 0xff};
	unsigned ok = 0, refused = 0;
	size_t end = NOTE_OFF + f->seg[2].filesz;

	for (size_t off = 0; off < end; off++) {
		uint8_t keep = f->img[off];

		for (size_t v = 0; v < sizeof(vals); v++) {
			int rc;

			f->img[off] = vals[v];
			rc = hvabs_linux_load(f->g.mem, &f->cfg, &f->boot, NULL, 0);
			assert_true(rc <= 0);
			rc ? refused++ : ok++;
		}
		f->img[off] = keep;
	}
	assert_true(ok > 0);
	assert_true(refused > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(plan_is_reported),
	    T(segments_loaded_bss_zeroed),
	    T(start_info),
	    T(four_byte_note_no_initrd),
	    T(no_pvh_note),
	    T(not_x86_64),
	    T(truncated_and_bad_headers),
	    T(segment_outside_file),
	    T(corrupt_notes),
	    T(segments_vs_memory),
	    T(entry_outside_segments),
	    T(initrd_too_big),
	    T(corrupted_files_never_crash),
	};
	return cmocka_run_group_tests_name("loader.pvh", tests, NULL, NULL);
}
