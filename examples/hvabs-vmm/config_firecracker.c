/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's --config-file layout: a thin walker over its top-level keys
 * that hands each section to fc_resource_apply(), the same validation the
 * API uses, so a file means exactly what the same PUTs would. Only
 * Firecracker's keys are allowed: the hypervisor and Xen attach belong to
 * the command line (or our own layout), never to Firecracker's schema.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_json.h"
#include "fc_resources.h"

/* "drives", "network-interfaces", "pmem": arrays of bodies; the rest one body each. */
static bool is_list(enum fc_resource k)
{
	return k == FC_DRIVE || k == FC_NETWORK_INTERFACE || k == FC_PMEM;
}

static int apply_list(struct vmm_config *c, enum fc_resource k, const json_t *v, char *err,
		      size_t errlen)
{
	char sub[400];
	size_t i;
	json_t *e;

	if (!json_is_array(v)) {
		char got[64];
		vmm_json_describe(v, got, sizeof(got));
		return ERR("invalid type for `%s`: %s, expected an array", fc_resource_name(k),
			   got);
	}
	json_array_foreach((json_t *)v, i, e)
	{
		if (!json_is_object(e)) {
			char got[64];
			vmm_json_describe(e, got, sizeof(got));
			return ERR("%s[%zu]: invalid type: %s, expected an object",
				   fc_resource_name(k), i, got);
		}
		if (fc_resource_apply(c, k, NULL, e, false, sub, sizeof(sub)))
			return ERR("%s[%zu]: %s", fc_resource_name(k), i, sub);
	}
	return 0;
}

/* Every top-level key is one of Firecracker's resources. */
static int check_keys(const json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	enum fc_resource k;

	json_object_foreach((json_t *)root, key, v)
	{
		if (fc_resource_from_name(key, &k) == 0)
			continue;
		if (!strcmp(key, "hypervisor") || !strcmp(key, "xen_domid"))
			return ERR("unknown field `%s`: not part of Firecracker's config; use "
				   "--%s on the command line (or our own JSON layout)",
				   key, key[0] == 'h' ? "hypervisor" : "xen-domid");
		return ERR("unknown field `%s`, expected one of Firecracker's resources "
			   "(boot-source, machine-config, drives, network-interfaces, vsock, "
			   "entropy, logger, metrics, balloon, mmds-config, cpu-config, pmem, "
			   "memory-hotplug, serial)",
			   key);
	}
	return 0;
}

int vmm_config_load_firecracker(struct vmm_config *c, json_t *root, char *err, size_t errlen)
{
	char sub[400];

	if (check_keys(root, err, errlen))
		return -1;
	const json_t *boot = json_object_get(root, "boot-source");
	if (!boot || json_is_null(boot))
		return ERR("missing field `boot-source`");
	/* Without machine-config, Firecracker's defaults: 1 vCPU, 128 MiB. */
	const json_t *mc = json_object_get(root, "machine-config");
	if (!mc || json_is_null(mc)) {
		c->cpus = 1;
		c->mem_size = 128ull << 20;
	}
	/* In a fixed order, so the result does not depend on how the file orders its keys. */
	for (int i = 0; i < FC_RESOURCE_COUNT; i++) {
		enum fc_resource k = (enum fc_resource)i;
		const json_t *v = json_object_get(root, fc_resource_name(k));
		if (!v || json_is_null(v))
			continue;
		if (is_list(k)) {
			if (apply_list(c, k, v, err, errlen))
				return -1;
		} else if (fc_resource_apply(c, k, NULL, v, false, sub, sizeof(sub))) {
			return ERR("%s: %s", fc_resource_name(k), sub);
		}
	}
	return 0;
}
