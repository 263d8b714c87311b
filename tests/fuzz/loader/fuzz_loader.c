/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Linux loader (loader/): a kernel image from fuzzed
 * bytes, a bzImage or a PVH ELF vmlinux (told apart by the loader), with a
 * fuzzed command line, initrd and platform, into 8 MiB of guest RAM. Traps
 * on a broken promise of loader.h: success that puts the kernel, initrd,
 * command line or entry point outside RAM, or a failure without a reason.
 *
 * Input: [flags][ncpus][cmdline length][initrd length][cmdline][initrd][kernel...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hvabs/loader.h>
#include <hvabs/mem.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define RAM (8u << 20)

static struct hvabs_mem *mem;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	void *ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || hvabs_mem_create(&mem) ||
	    hvabs_mem_add_region(mem, 0, RAM, ram, 0))
		abort();
	return 0;
}

static int inside(uint64_t a, uint64_t n)
{
	return a <= RAM && n <= RAM - a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hvabs_acpi_device dev = {0};
	static char cmdline[256];
	char err[256] = "";

	if (size < 4)
		return 0;
	size_t ncmd = data[2], nrd = data[3], pos = 4;
	if (ncmd > size - pos)
		ncmd = size - pos;
	memcpy(cmdline, data + pos, ncmd);
	cmdline[ncmd] = 0;
	pos += ncmd;
	if (nrd > size - pos)
		nrd = size - pos;
	const uint8_t *initrd = data + pos;
	pos += nrd;
	struct hvabs_linux_config cfg = {
	    .kernel = data + pos,
	    .kernel_size = size - pos,
	    .initrd = nrd ? initrd : NULL,
	    .initrd_size = nrd,
	    .cmdline = data[0] & 4 ? NULL : cmdline,
	    .flags = data[0] & 3,
	    .platform = {.nr_cpus = data[1] % 5,
			 .devices = data[0] & 8 ? &dev : NULL,
			 .nr_devices = data[0] & 8 ? 1 : 0,
			 .apic_id_stride = data[0] >> 6},
	};
	struct hvabs_linux_boot b;
	int rc = hvabs_linux_load(mem, &cfg, &b, err, sizeof(err));
	CHECK(rc <= 0);
	if (getenv("FUZZ_VERBOSE")) /* to check what a seed reaches */
		fprintf(stderr, "load: %d %s\n", rc, err);
	if (rc) {
		CHECK(err[0] != 0);
		return 0;
	}
	CHECK(b.entry_kind == HVABS_LINUX_ENTRY_BZIMAGE || b.entry_kind == HVABS_LINUX_ENTRY_PVH);
	CHECK(inside(b.kernel_start, b.kernel_end - b.kernel_start) &&
	      b.kernel_end >= b.kernel_start);
	CHECK(inside(b.entry, 1));
	CHECK(inside(b.initrd_start, b.initrd_size) && b.initrd_size == nrd);
	CHECK(inside(b.cmdline, b.cmdline_size) && b.cmdline_size >= 1);
	CHECK(!nrd || b.initrd_start >= b.kernel_end || b.initrd_start + nrd <= b.kernel_start);
	return 0;
}
