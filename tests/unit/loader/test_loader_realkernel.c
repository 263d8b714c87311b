/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A real kernel through hvabs_linux_load(): set HVABS_TEST_KERNEL to a
 * bzImage (e.g. Debian's /boot/vmlinuz-*) or a PVH vmlinux, and optionally
 * HVABS_TEST_INITRD. Skips when HVABS_TEST_KERNEL is unset; nothing is
 * downloaded by the test itself.
 */
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

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(fp);
	return buf;
}

static void loads(void **state)
{
	const char *kpath = getenv("HVABS_TEST_KERNEL"), *ipath = getenv("HVABS_TEST_INITRD");
	struct hvabs_acpi_device dev = {.base = 0xd0000000, .size = 0x1000, .irq = 5};
	struct hvabs_linux_config cfg = {0};
	struct hvabs_linux_boot boot;
	struct guest g;
	char err[256] = "";
	uint8_t *k, *initrd = NULL;
	size_t klen = 0, ilen = 0;

	(void)state;
	if (!kpath || !*kpath)
		skip();
	k = slurp(kpath, &klen);
	if (!k)
		fail_msg("cannot read %s", kpath);
	if (ipath && *ipath && !(initrd = slurp(ipath, &ilen)))
		fail_msg("cannot read %s", ipath);
	assert_int_equal(guest_init(&g, 1024 * MIB, 0), 0);
	cfg.kernel = k;
	cfg.kernel_size = klen;
	cfg.initrd = initrd;
	cfg.initrd_size = ilen;
	cfg.cmdline = "console=ttyS0 reboot=k panic=1 virtio_mmio.device=4K@0xd0000000:5";
	cfg.platform.nr_cpus = 2;
	cfg.platform.flags = HVABS_PLATFORM_COM1 | HVABS_PLATFORM_I8042;
	cfg.platform.devices = &dev;
	cfg.platform.nr_devices = 1;
	if (hvabs_linux_load(g.mem, &cfg, &boot, err, sizeof(err)))
		fail_msg("%s: %s", kpath, err);
	print_message("%s: %s, protocol %u.%02u, entry 0x%llx, kernel 0x%llx-0x%llx, initrd "
		      "0x%llx+%llu\n",
		      kpath, boot.entry_kind == HVABS_LINUX_ENTRY_PVH ? "PVH" : "bzImage",
		      boot.protocol >> 8, boot.protocol & 0xff, (unsigned long long)boot.entry,
		      (unsigned long long)boot.kernel_start, (unsigned long long)boot.kernel_end,
		      (unsigned long long)boot.initrd_start, (unsigned long long)boot.initrd_size);
	if (boot.entry_kind == HVABS_LINUX_ENTRY_BZIMAGE) {
		size_t setup = (size_t)((k[0x1f1] ? k[0x1f1] : 4) + 1) * 512;

		assert_true(boot.protocol >= 0x020c);
		assert_memory_equal(g.low + 0x100000, k + setup, klen - setup);
		assert_memory_equal(g.low + 0x7000 + 0x202, "HdrS", 4);
	}
	if (initrd)
		assert_memory_equal(g.low + boot.initrd_start, initrd, ilen);
	guest_fini(&g);
	free(k);
	free(initrd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(loads)};

	return cmocka_run_group_tests_name("loader.realkernel", tests, NULL, NULL);
}
