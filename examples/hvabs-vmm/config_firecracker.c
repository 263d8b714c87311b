/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's --config-file layout (boot-source, machine-config, drives,
 * network-interfaces, vsock, entropy), read into hvabs-vmm's config so
 * Firecracker users can bring their files. Sections we do not implement are
 * reported and skipped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config_json.h"

static int boot_source(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	const char *k = vmm_jstr(v, "kernel_image_path", &bad);
	const char *a = vmm_jstr(v, "boot_args", &bad);
	const char *i = vmm_jstr(v, "initrd_path", &bad);

	if (bad || !k)
		return ERR("config: boot-source needs a string kernel_image_path");
	vmm_set_str(&c->kernel, k);
	if (a)
		vmm_set_str(&c->cmdline, a);
	if (i)
		vmm_set_str(&c->initrd, i);
	return 0;
}

static int machine_config(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	json_t *n = json_object_get(v, "vcpu_count");
	json_t *m = json_object_get(v, "mem_size_mib");
	char buf[32];

	if (n) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(n));
		if (!json_is_integer(n) || vmm_set_cpus(c, buf, err, errlen))
			return ERR("config: machine-config.vcpu_count must be 1-%d", VMM_MAX_CPUS);
	}
	if (m) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "M", json_integer_value(m));
		if (!json_is_integer(m) || vmm_set_memory(c, buf, err, errlen))
			return ERR("config: machine-config.mem_size_mib must be >= 16");
	}
	return 0;
}

static int drives(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	size_t i;
	json_t *d;

	json_array_foreach(v, i, d)
	{
		char spec[1024];
		const char *path = vmm_jstr(d, "path_on_host", &bad);
		const char *id = vmm_jstr(d, "drive_id", &bad);
		int ro = json_is_true(json_object_get(d, "is_read_only"));
		if (bad || !path)
			return ERR("config: drives[%zu] needs path_on_host", i);
		snprintf(spec, sizeof(spec), "path=%s,readonly=%s%s%.20s", path, ro ? "on" : "off",
			 id ? ",serial=" : "", id ? id : "");
		if (vmm_add_disk(c, spec, err, errlen))
			return -1;
	}
	return 0;
}

static int network_interfaces(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	size_t i;
	json_t *n;

	json_array_foreach(v, i, n)
	{
		char spec[256];
		const char *tap = vmm_jstr(n, "host_dev_name", &bad);
		const char *mac = vmm_jstr(n, "guest_mac", &bad);
		if (bad || !tap)
			return ERR("config: network-interfaces[%zu] needs host_dev_name", i);
		snprintf(spec, sizeof(spec), "tap=%s%s%s", tap, mac ? ",mac=" : "", mac ? mac : "");
		if (vmm_add_net(c, spec, err, errlen))
			return -1;
	}
	return 0;
}

static int vsock(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	json_int_t cid = json_integer_value(json_object_get(v, "guest_cid"));
	const char *uds = vmm_jstr(v, "uds_path", &bad);

	if (bad || !uds || cid < 3)
		return ERR("config: vsock needs guest_cid >= 3 and uds_path");
	c->vsock_cid = (uint32_t)cid;
	vmm_set_str(&c->vsock_socket, uds);
	return 0;
}

int vmm_config_load_firecracker(struct vmm_config *c, json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0;

	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "boot-source"))
			rc = boot_source(c, v, err, errlen);
		else if (!strcmp(key, "machine-config"))
			rc = machine_config(c, v, err, errlen);
		else if (!strcmp(key, "drives"))
			rc = drives(c, v, err, errlen);
		else if (!strcmp(key, "network-interfaces"))
			rc = network_interfaces(c, v, err, errlen);
		else if (!strcmp(key, "vsock"))
			rc = vsock(c, v, err, errlen);
		else if (!strcmp(key, "entropy"))
			c->rng = 1;
		else if (!strcmp(key, "hypervisor")) {
			if (!json_is_string(v))
				return ERR("config: 'hypervisor' must be a string");
			vmm_set_str(&c->hypervisor, json_string_value(v));
		} else {
			/* logger, metrics, balloon, mmds-config, cpu-config, ... */
			fprintf(stderr,
				"hvabs-vmm: config: Firecracker section '%s' is not supported, "
				"ignored\n",
				key);
		}
		if (rc)
			return rc;
	}
	return 0;
}
