/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's resources as hvabs-vmm reads them (fc_resources.c), through
 * the config-file walker and fc_resource_apply() directly: our fixtures in
 * tests/vmm/firecracker use every field of Firecracker's example configs.
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

#include "config_priv.h"
#include "fc_resources.h"

static char err[512];

static char *read_fixture(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", FC_FIXTURES, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Loads JSON text as a config file would be; returns the loader's status. */
static int load(struct vmm_config *c, const char *text)
{
	err[0] = '\0';
	vmm_config_init(c);
	return vmm_config_load_json(c, text, err, sizeof(err));
}

static void expect_refused(const char *text, const char *msg)
{
	struct vmm_config c;

	if (load(&c, text) != -1)
		fail_msg("accepted: %s", text);
	if (!strstr(err, msg))
		fail_msg("'%s' lacks '%s'", err, msg);
	vmm_config_fini(&c);
}

static void getting_started_with_nulls(void **state)
{
	struct vmm_config c;

	(void)state;
	assert_int_equal(load(&c, read_fixture("getting_started.json")), 0);
	assert_string_equal(c.kernel, "@KERNEL@");
	assert_null(c.initrd); /* "initrd_path": null is absent */
	assert_int_equal(c.cpus, 2);
	assert_int_equal(c.mem_size, 128ull << 20);
	assert_int_equal(c.ndisks, 1);
	assert_string_equal(c.disks[0].id, "rootfs");
	assert_string_equal(c.disks[0].serial, "rootfs");
	assert_false(c.disks[0].readonly);
	assert_int_equal(c.vsock_cid, 0); /* "vsock": null */
	assert_false(c.rng);		  /* "entropy": null adds no device */
	assert_false(c.logger.set);
	char *cmd = vmm_config_kernel_cmdline(&c);
	assert_string_equal(cmd, "console=ttyS0 reboot=k panic=1 root=/dev/vda rw");
	free(cmd);
	vmm_config_fini(&c);
}

static void network_example_every_field(void **state)
{
	struct vmm_config c;

	(void)state;
	assert_int_equal(load(&c, read_fixture("network.json")), 0);
	assert_string_equal(c.initrd, "@INITRD@");
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.ndisks, 2);
	/* The root disk goes first, as Firecracker orders them. */
	assert_string_equal(c.disks[0].id, "root_part");
	assert_true(c.disks[0].readonly);
	assert_true(c.disks[0].io_uring); /* "io_engine": "Async" is io_uring */
	assert_false(c.disks[1].io_uring);
	assert_string_equal(c.disks[1].id, "scratch");
	/* A comma in a path is part of the path, not an option (issue 12, finding 1). */
	assert_string_equal(c.disks[1].path, "/srv/vm/scratch,readonly=off.img");
	assert_false(c.disks[1].readonly);
	assert_true(c.disks[1].cache_writeback);
	assert_int_equal(c.nnets, 2);
	assert_string_equal(c.nets[0].tap, "fc-tap0");
	assert_int_equal(c.nets[0].mac[0], 0x06);
	assert_false(c.nets[1].has_mac);
	assert_int_equal(c.vsock_cid, 3);
	assert_true(c.rng);
	assert_true(c.logger.set);
	assert_int_equal(c.logger.level, VMM_LOG_DEBUG);
	assert_true(c.logger.show_level);
	assert_string_equal(c.metrics_path, "/run/vm/metrics.fifo");
	char *cmd = vmm_config_kernel_cmdline(&c);
	assert_string_equal(cmd, "console=ttyS0 panic=1 root=PARTUUID=0eaa91a0-01 ro");
	free(cmd);
	vmm_config_fini(&c);
}

static void mmds_refused(void **state)
{
	(void)state;
	expect_refused(read_fixture("mmds.json"),
		       "config: mmds-config: mmds-config is not supported: hvabs-vmm has no MMDS");
}

static void strict_types(void **state)
{
	(void)state;
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [{"
		       "\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false,"
		       " \"is_read_only\": \"true\"}]}",
		       "drives[0]: invalid type for `is_read_only`: string \"true\", expected a "
		       "boolean");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
		       "{\"vcpu_count\": \"2\", \"mem_size_mib\": 256}}",
		       "invalid type for `vcpu_count`: string \"2\", expected an integer from 1 "
		       "to 64");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
		       "{\"vcpu_cnt\": 2, \"mem_size_mib\": 256}}",
		       "unknown field `vcpu_cnt`, expected one of `vcpu_count`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
		       "{\"mem_size_mib\": 256}}",
		       "machine-config: missing field `vcpu_count`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
		       "{\"vcpu_count\": 1}}",
		       "machine-config: missing field `mem_size_mib`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"entropy\": false}",
		       "invalid type for entropy: boolean false, expected an object");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\", \"initrd_path\": 3}}",
		       "invalid type for `initrd_path`: integer 3");
	expect_refused("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}",
		       "missing field `boot-source`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [{"
		       "\"drive_id\": \"d\", \"path_on_host\": \"/d\"}]}",
		       "drives[0]: missing field `is_root_device`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [{"
		       "\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false, "
		       "\"cache_type\": \"WriteBack\"}]}",
		       "unknown variant `WriteBack` for `cache_type`");
}

/* Fields Firecracker has but hvabs-vmm cannot honour: refused when set, fine at defaults. */
static void unsupported_when_set(void **state)
{
	static const char *const cases[][2] = {
	    {"\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true}",
	     "`smt`: true is not supported"},
	    {"\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, "
	     "\"track_dirty_pages\": true}",
	     "`track_dirty_pages`: true"},
	    {"\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": "
	     "\"2M\"}",
	     "`huge_pages`: 2M is not supported"},
	    {"\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, "
	     "\"cpu_template\": \"T2\"}",
	     "`cpu_template`: T2 is not supported"},
	    {"\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
	     "false, \"io_engine\": \"Uring\"}]",
	     "io_engine"},
	    {"\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
	     "false, \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}]",
	     "`rate_limiter`: rate limiters are not supported"},
	    {"\"drives\": [{\"drive_id\": \"d\", \"is_root_device\": false, \"socket\": \"/s\"}]",
	     "`socket`: vhost-user"},
	    {"\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", "
	     "\"tx_rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 10}}}]",
	     "`tx_rate_limiter`: rate limiters"},
	    {"\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", "
	     "\"mtu\": 9000}]",
	     "`mtu`"},
	    {"\"balloon\": {\"amount_mib\": 10, \"deflate_on_oom\": true}",
	     "balloon: balloon is not supported"},
	    {"\"cpu-config\": {\"kvm_capabilities\": [\"!121\"]}", "no CPU templates"},
	    {"\"pmem\": [{\"id\": \"p\", \"path_on_host\": \"/p\"}]", "pmem[0]: pmem is not"},
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"boot-source\": {\"kernel_image_path\": \"k\"}, %s}", cases[i][0]);
		expect_refused(text, cases[i][1]);
	}
}

/* Issue 12, finding 1: ids and serials are data, never options. */
static void separators_are_data(void **state)
{
	struct vmm_config c;

	(void)state;
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [{"
		       "\"drive_id\": \"x,readonly=off\", \"path_on_host\": \"/d\", "
		       "\"is_root_device\": false, \"is_read_only\": true}]}",
		       "invalid value for `drive_id`: \"x,readonly=off\"");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [{"
		       "\"drive_id\": \"r\", \"path_on_host\": \"/d\", \"is_root_device\": true, "
		       "\"partuuid\": \"1234 init=/bin/sh\"}]}",
		       "partuuid '1234 init=/bin/sh'");
	/* Our layout: the serial is taken as written and read-only stays read-only. */
	assert_int_equal(load(&c, "{\"kernel\": \"k\", \"disks\": [{\"path\": \"/a,b.img\", "
				  "\"readonly\": true, \"serial\": \"x,readonly=off\"}]}"),
			 0);
	assert_true(c.disks[0].readonly);
	assert_string_equal(c.disks[0].path, "/a,b.img");
	assert_string_equal(c.disks[0].serial, "x,readonly=off");
	vmm_config_fini(&c);
	expect_refused("{\"kernel\": \"k\", \"disks\": [{\"path\": \"/a\", \"readonly\": "
		       "\"true\"}]}",
		       "disks[0]: invalid type for `readonly`: string \"true\"");
}

/* Issue 12, finding 2: a file names a backend, never a path; no backend options unasked. */
static void files_cannot_load_code(void **state)
{
	struct vmm_config c;

	(void)state;
	expect_refused("{\"kernel\": \"k\", \"hypervisor\": \"/tmp/evil.so\"}",
		       "invalid value for `hypervisor`: \"/tmp/evil.so\"");
	expect_refused("{\"kernel\": \"k\", \"hypervisor\": \"../kvm\"}", "never a path");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"hypervisor\": \"kvm\"}",
		       "unknown field `hypervisor`: not part of Firecracker's config");
	expect_refused("{\"kernel\": \"k\", \"backend_options\": \"script=/x\"}",
		       "needs --allow-file-backend-options");
	vmm_config_init(&c);
	c.allow_file_backend_options = 1;
	assert_int_equal(vmm_config_load_json(&c,
					      "{\"kernel\": \"k\", \"hypervisor\": \"mock\", "
					      "\"backend_options\": \"script=/x\"}",
					      err, sizeof(err)),
			 0);
	assert_string_equal(c.hypervisor, "mock");
	assert_string_equal(c.backend_options, "script=/x");
	vmm_config_fini(&c);
}

/* Issue 12, finding 9: numbers out of range are refused, not truncated. */
static void ranges(void **state)
{
	(void)state;
	expect_refused("{\"kernel\": \"k\", \"vsock\": {\"cid\": 4294967299, \"socket\": \"/v\"}}",
		       "invalid value for `cid`: 4294967299");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"vsock\": "
		       "{\"guest_cid\": 4294967299, \"uds_path\": \"/v\"}}",
		       "invalid value for `guest_cid`: 4294967299");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"vsock\": "
		       "{\"guest_cid\": 2, \"uds_path\": \"/v\"}}",
		       "invalid value for `guest_cid`: 2, expected an integer from 3");
	expect_refused("{\"xen_domid\": 4294967296}", "invalid value for `xen_domid`: 4294967296");
	expect_refused("{\"kernel\": \"k\", \"cpus\": 4294967297}", "invalid value for `cpus`");
	expect_refused("{\"kernel\": \"k\", \"memory\": 18446744073709}", "`memory`");
	expect_refused("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
		       "{\"vcpu_count\": 1, \"mem_size_mib\": 2.5}}",
		       "invalid type for `mem_size_mib`: floating point 2.5");
}

static json_t *body(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	return j;
}

static int put(struct vmm_config *c, enum fc_resource k, const char *id, const char *text,
	       bool patch)
{
	json_t *j = body(text);
	err[0] = '\0';
	int rc = fc_resource_apply(c, k, id, j, patch, err, sizeof(err));
	json_decref(j);
	return rc;
}

/* What the API will call: PUT and PATCH, path ids, and nothing changes on error. */
static void apply_put_patch(void **state)
{
	struct vmm_config c;

	(void)state;
	vmm_config_init(&c);
	assert_int_equal(
	    put(&c, FC_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 8}", false),
	    -EINVAL);
	assert_int_equal(c.cpus, 1); /* unchanged: the whole body is refused */
	assert_int_equal(put(&c, FC_MACHINE_CONFIG, NULL, "{\"mem_size_mib\": 512}", true), 0);
	assert_int_equal(c.mem_size, 512ull << 20);
	assert_int_equal(put(&c, FC_MACHINE_CONFIG, NULL, "{}", true), -EINVAL);
	assert_int_equal(put(&c, FC_MACHINE_CONFIG, NULL,
			     "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true}", false),
			 -ENOTSUP);
	assert_int_equal(c.cpus, 1);

	const char *d = "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/a\", "
			"\"is_root_device\": true, \"is_read_only\": true}";
	assert_int_equal(put(&c, FC_DRIVE, "other", d, false), -EINVAL);
	assert_non_null(strstr(err, "does not match `drive_id`"));
	assert_int_equal(c.ndisks, 0);
	assert_int_equal(put(&c, FC_DRIVE, "rootfs", d, false), 0);
	assert_int_equal(put(&c, FC_DRIVE, "data",
			     "{\"drive_id\": \"data\", \"path_on_host\": \"/b\", "
			     "\"is_root_device\": true}",
			     false),
			 -EINVAL);
	assert_non_null(strstr(err, "a root block device already exists (drive rootfs)"));
	assert_int_equal(c.ndisks, 1);
	/* PUT on an existing id updates it in place. */
	assert_int_equal(put(&c, FC_DRIVE, "rootfs",
			     "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/c\", "
			     "\"is_root_device\": true, \"is_read_only\": false}",
			     false),
			 0);
	assert_int_equal(c.ndisks, 1);
	assert_string_equal(c.disks[0].path, "/c");
	assert_int_equal(put(&c, FC_DRIVE, "rootfs",
			     "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/new\"}", true),
			 0);
	assert_string_equal(c.disks[0].path, "/new");
	assert_int_equal(put(&c, FC_DRIVE, "nope", "{\"drive_id\": \"nope\"}", true), -EINVAL);
	assert_int_equal(
	    put(&c, FC_DRIVE, "rootfs", "{\"drive_id\": \"rootfs\", \"is_read_only\": true}", true),
	    -EINVAL);
	assert_non_null(strstr(err, "unknown field `is_read_only`"));

	assert_int_equal(put(&c, FC_NETWORK_INTERFACE, "eth0",
			     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", false),
			 0);
	assert_int_equal(put(&c, FC_NETWORK_INTERFACE, "eth1",
			     "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}", false),
			 -EINVAL);
	assert_non_null(strstr(err, "tap tap0 is already used by eth0"));
	assert_int_equal(put(&c, FC_NETWORK_INTERFACE, "eth0",
			     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"a/b\"}", false),
			 -EINVAL);
	assert_int_equal(put(&c, FC_BALLOON, NULL, "{\"amount_mib\": 1}", false), -ENOTSUP);
	assert_int_equal(fc_resource_apply(&c, FC_BALLOON, NULL, NULL, false, err, sizeof(err)), 0);
	vmm_config_fini(&c);
}

/* GET /vm/config: everything set shows, and the result reads back as the same config. */
static void config_to_json_round_trip(void **state)
{
	struct vmm_config c, again;

	(void)state;
	assert_int_equal(load(&c, read_fixture("network.json")), 0);
	json_t *j = fc_config_to_json(&c);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "drives"), 0), "partuuid")),
			    "0eaa91a0-01");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "machine-config"), "vcpu_count")),
	    4);
	assert_true(json_is_null(json_object_get(j, "balloon")));
	char *text = json_dumps(j, 0);
	assert_int_equal(load(&again, text), 0);
	json_t *j2 = fc_config_to_json(&again);
	assert_true(json_equal(j, j2));
	free(text);
	json_decref(j);
	json_decref(j2);
	vmm_config_fini(&again);
	vmm_config_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(getting_started_with_nulls),
	    cmocka_unit_test(network_example_every_field),
	    cmocka_unit_test(mmds_refused),
	    cmocka_unit_test(strict_types),
	    cmocka_unit_test(unsupported_when_set),
	    cmocka_unit_test(separators_are_data),
	    cmocka_unit_test(files_cannot_load_code),
	    cmocka_unit_test(ranges),
	    cmocka_unit_test(apply_put_patch),
	    cmocka_unit_test(config_to_json_round_trip),
	};
	return cmocka_run_group_tests_name("vmm-fc-resources", tests, NULL, NULL);
}
