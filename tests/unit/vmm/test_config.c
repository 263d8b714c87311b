/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm's command line and config files (ours and Firecracker's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char err[512];

static enum vmm_parse parse(struct vmm_config *c, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"hvabs-vmm";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	vmm_config_init(c);
	return vmm_config_parse_args(c, argc, argv, err, sizeof(err));
}

static void sizes_and_macs(void **state)
{
	uint64_t v;
	uint8_t mac[6];

	(void)state;
	assert_int_equal(vmm_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(vmm_parse_size("size=1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(vmm_parse_size("512MiB", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(vmm_parse_size("65536K", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(vmm_parse_size("4096", &v), 0);
	/* decimal only: a leading zero is not octal, 0x is not hex */
	assert_int_equal(vmm_parse_size("0100M", &v), 0);
	assert_int_equal(v, 100ull << 20);
	assert_int_equal(vmm_parse_size("0x10M", &v), -1);
	assert_int_equal(vmm_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_equal(vmm_parse_size("2tiB", &v), 0);
	assert_int_equal(v, 2ull << 40);
	assert_int_equal(vmm_parse_size("12X", &v), -1);
	assert_int_equal(vmm_parse_size("-1M", &v), -1);
	assert_int_equal(vmm_parse_size("99999999999999999999G", &v), -1);
	assert_int_equal(vmm_parse_size("17179869184G", &v), -1); /* 2^64 bytes */
	assert_int_equal(vmm_parse_mac("52:54:00:ab:cd:ef", mac), 0);
	assert_int_equal(mac[3], 0xab);
	assert_int_equal(vmm_parse_mac("52:54:00:ab:cd", mac), -1);
	assert_int_equal(vmm_parse_mac("52:54:00:ab:cd:ef:00", mac), -1);
}

static void command_line(void **state)
{
	struct vmm_config c;
	const char *a[] = {"--kernel",
			   "vmlinuz",
			   "--initramfs",
			   "init.cpio",
			   "--cmdline",
			   "console=ttyS0",
			   "--memory",
			   "size=512M",
			   "--cpus",
			   "boot=2",
			   "--hypervisor",
			   "kvm",
			   "--disk",
			   "path=a.img,readonly=on,serial=abc",
			   "--disk",
			   "b.img",
			   "--net",
			   "tap=tap0,mac=52:54:00:00:00:01",
			   "--rng",
			   "--console",
			   "file=/tmp/out",
			   "--vsock",
			   "cid=3,socket=/tmp/v.sock",
			   "--reboot=restart",
			   NULL};

	(void)state;
	assert_int_equal(parse(&c, a), VMM_PARSE_RUN);
	assert_string_equal(c.kernel, "vmlinuz");
	assert_string_equal(c.initrd, "init.cpio");
	assert_string_equal(c.cmdline, "console=ttyS0");
	assert_int_equal(c.mem_size, 512ull << 20);
	assert_int_equal(c.cpus, 2);
	assert_string_equal(c.hypervisor, "kvm");
	assert_int_equal(c.ndisks, 2);
	assert_int_equal(c.disks[0].readonly, 1);
	assert_string_equal(c.disks[0].serial, "abc");
	assert_string_equal(c.disks[1].path, "b.img");
	assert_int_equal(c.disks[1].readonly, 0);
	assert_int_equal(c.nnets, 1);
	assert_int_equal(c.nets[0].mac[5], 1);
	assert_true(c.rng);
	assert_int_equal(c.console, VMM_CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/out");
	assert_int_equal(c.vsock_cid, 3);
	assert_int_equal(c.reboot, VMM_REBOOT_RESTART);
	vmm_config_fini(&c);
}

/* --serial as Cloud Hypervisor spells it, for COM1. */
static void serial_option(void **state)
{
	struct vmm_config c;
	const char *file[] = {"--kernel", "k", "--serial", "file=/tmp/com1", NULL};
	const char *off[] = {"--kernel", "k", "--serial", "null", NULL};
	const char *tty[] = {"--kernel", "k", "--serial", "off", "--serial", "tty", NULL};

	(void)state;
	assert_int_equal(parse(&c, file), VMM_PARSE_RUN);
	assert_int_equal(c.console, VMM_CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/com1");
	vmm_config_fini(&c);
	assert_int_equal(parse(&c, off), VMM_PARSE_RUN);
	assert_int_equal(c.console, VMM_CONSOLE_NONE);
	vmm_config_fini(&c);
	assert_int_equal(parse(&c, tty), VMM_PARSE_RUN);
	assert_int_equal(c.console, VMM_CONSOLE_STDIO);
	vmm_config_fini(&c);
}

static void bad_arguments(void **state)
{
	struct vmm_config c;
	struct {
		const char *args[8];
		const char *msg;
	} cases[] = {
	    {{"--memory", "1T0", NULL}, "--memory 1T0"},
	    {{"--kernel", "k", "--memory", "8M", NULL}, "at least 16M"},
	    {{"--kernel", "k", "--cpus", "0", NULL}, "--cpus 0"},
	    {{"--kernel", "k", "--cpus", "65", NULL}, "from 1 to 64"},
	    {{"--kernel", "k", "--bogus", NULL}, "unknown option --bogus"},
	    {{"--kernel", NULL}, "needs a value"},
	    {{"--cpus", "2", NULL}, "no kernel"},
	    {{"--kernel", "k", "--reboot=maybe", NULL}, "--reboot=maybe"},
	    {{"--kernel", "k", "--disk", "readonly=on", NULL}, "path= is required"},
	    {{"--kernel", "k", "--disk", "path=x,colour=red", NULL}, "unknown key 'colour'"},
	    {{"--kernel", "k", "--net", "tap=t,mac=01:00:00:00:00:01", NULL}, "multicast"},
	    {{"--kernel", "k", "--vsock", "cid=2,socket=/x", NULL}, "cid=2"},
	    {{"--kernel", "k", "--console", "serial", NULL}, "--console serial"},
	    {{"--kernel", "k", "extra", NULL}, "unexpected argument 'extra'"},
	    {{"--kernel", "k", "--serial", "pty", NULL}, "--console pty|socket=PATH gives"},
	    {{"--kernel", "k", "--serial", "socket=/s", NULL}, "COM1 on a pty or socket"},
	    {{"--kernel", "k", "--serial", "on", NULL}, "use tty, file=PATH, off or null"},
	    {{"--kernel", "k", "--console", "pty", "--serial", "tty", NULL}, "cannot be combined"},
	    {{"--kernel", "k", "--disk", "path=a,serial=abcdefghijklmnopqrstu", NULL},
	     "--disk: serial 'abcdefghijklmnopqrstu': at most 20"},
	    {{"--kernel", "k", "--net", "tap=a/b", NULL}, "--net: tap name 'a/b'"},
	    {{"--kernel", "k", "--vsock", "cid=4294967299,socket=/v", NULL}, "cid=4294967299"},
	    {{"--config", "/nonexistent.json", NULL}, "/nonexistent.json"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(&c, cases[i].args), VMM_PARSE_ERROR);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
		vmm_config_fini(&c);
	}
}

static const char *write_tmp(const char *text)
{
	static char path[] = "/tmp/hvabs-config-XXXXXX";
	strcpy(path, "/tmp/hvabs-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void our_json_and_override(void **state)
{
	struct vmm_config c;
	const char *path = write_tmp(
	    "{\"hypervisor\": \"mock\", \"kernel\": \"/k\", \"memory\": 128, \"cpus\": 2,"
	    " \"disks\": [{\"path\": \"/d.img\", \"readonly\": true, \"serial\": \"s1\"}],"
	    " \"net\": [{\"tap\": \"tap3\"}], \"rng\": true, \"reboot\": \"restart\","
	    " \"vsock\": {\"cid\": 7, \"socket\": \"/v\"}}");
	/* the command line wins over the file, wherever --config stands */
	const char *a[] = {"--cpus", "4", "--config", path, NULL};

	(void)state;
	assert_int_equal(parse(&c, a), VMM_PARSE_RUN);
	assert_string_equal(c.hypervisor, "mock");
	assert_int_equal(c.mem_size, 128ull << 20);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.ndisks, 1);
	assert_true(c.disks[0].readonly);
	assert_string_equal(c.disks[0].serial, "s1");
	assert_string_equal(c.nets[0].tap, "tap3");
	assert_int_equal(c.vsock_cid, 7);
	assert_int_equal(c.reboot, VMM_REBOOT_RESTART);
	vmm_config_fini(&c);
	unlink(path);
}

static void firecracker_json(void **state)
{
	struct vmm_config c;
	const char *path = write_tmp(
	    "{\"boot-source\": {\"kernel_image_path\": \"vmlinux\", \"boot_args\": \"console=ttyS0 "
	    "reboot=k\", \"initrd_path\": \"initrd.img\"},"
	    " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"rootfs.ext4\","
	    " \"is_root_device\": true, \"is_read_only\": false}],"
	    " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": false},"
	    " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"guest_mac\": "
	    "\"AA:FC:00:00:00:01\", \"host_dev_name\": \"tap0\"}],"
	    " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"./v.sock\"},"
	    " \"logger\": {\"level\": \"Info\"}}");
	const char *a[] = {"--config-file", path, NULL};

	(void)state;
	assert_int_equal(parse(&c, a), VMM_PARSE_RUN);
	assert_string_equal(c.kernel, "vmlinux");
	assert_string_equal(c.cmdline, "console=ttyS0 reboot=k");
	assert_string_equal(c.initrd, "initrd.img");
	assert_int_equal(c.cpus, 2);
	assert_int_equal(c.mem_size, 1024ull << 20);
	assert_int_equal(c.ndisks, 1);
	assert_string_equal(c.disks[0].path, "rootfs.ext4");
	assert_string_equal(c.disks[0].serial, "rootfs");
	assert_int_equal(c.nets[0].mac[0], 0xaa);
	assert_string_equal(c.vsock_socket, "./v.sock");
	assert_null(c.hypervisor);
	vmm_config_fini(&c);
	unlink(path);
}

static void bad_json(void **state)
{
	struct vmm_config c;
	const char *texts[][2] = {
	    {"{\"kernel\": \"k\", \"memroy\": 5}", "unknown field `memroy`"},
	    {"{\"kernel\": 5}", "invalid type for `kernel`: integer 5, expected a string"},
	    {"{\"kernel\": \"k\",}", "line 1"},
	    {"[1,2]", "top level must be an object"},
	    {"{\"kernel\": \"k\", \"kernel\": \"j\"}", "duplicate"},
	    {"{\"kernel\": \"k\", \"cpus\": \"two\"}",
	     "invalid type for `cpus`: string \"two\", expected an integer"},
	    {"{\"boot-source\": {}}", "kernel_image_path"},
	    {"{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
	     "{\"vcpu_count\": 1, \"mem_size_mib\": 1}}",
	     "invalid value for `mem_size_mib`: 1"},
	    {"{\"kernel\": \"k\", \"disks\": [{\"readonly\": true}]}",
	     "disks[0]: missing field `path`"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		vmm_config_init(&c);
		assert_int_equal(vmm_config_load_json(&c, texts[i][0], err, sizeof(err)), -1);
		if (!strstr(err, texts[i][1]))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, texts[i][1]);
		vmm_config_fini(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizes_and_macs),
	    cmocka_unit_test(command_line),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(serial_option),
	    cmocka_unit_test(our_json_and_override),
	    cmocka_unit_test(firecracker_json),
	    cmocka_unit_test(bad_json),
	};
	return cmocka_run_group_tests_name("vmm-config", tests, NULL, NULL);
}
