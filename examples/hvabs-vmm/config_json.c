/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's own JSON config layout (flat keys; an unknown key is an error,
 * so a typo is never silently ignored), reading a config file, and telling
 * our layout from Firecracker's. JSON goes through jansson (Debian's
 * libjansson) rather than a hand-written parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_json.h"

const char *vmm_jstr(json_t *o, const char *key, int *bad)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* hypervisor, backend_options, kernel, initrd, cmdline, console: strings. */
static int is_string_key(const char *key)
{
	static const char *const keys[] = {"hypervisor", "backend_options", "kernel",
					   "initrd",	 "cmdline",	    "console"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

static int load_string(struct vmm_config *c, const char *key, json_t *v, char *err, size_t errlen)
{
	if (!json_is_string(v))
		return ERR("config: '%s' must be a string", key);
	const char *s = json_string_value(v);
	if (!strcmp(key, "hypervisor"))
		vmm_set_str(&c->hypervisor, s);
	else if (!strcmp(key, "backend_options"))
		vmm_set_str(&c->backend_options, s);
	else if (!strcmp(key, "kernel"))
		vmm_set_str(&c->kernel, s);
	else if (!strcmp(key, "initrd"))
		vmm_set_str(&c->initrd, s);
	else if (!strcmp(key, "cmdline"))
		vmm_set_str(&c->cmdline, s);
	else if (vmm_set_console(c, s, err, errlen))
		return -1;
	return 0;
}

/* "memory": "256M" or a number of MiB; "cpus": a number. */
static int load_size(struct vmm_config *c, const char *key, json_t *v, char *err, size_t errlen)
{
	char buf[32];

	if (!strcmp(key, "cpus")) {
		if (!json_is_integer(v))
			return ERR("config: 'cpus' must be a number");
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return vmm_set_cpus(c, buf, err, errlen);
	}
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "M", json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else
		return ERR("config: 'memory' must be \"256M\" or a number of MiB");
	return vmm_set_memory(c, buf, err, errlen);
}

/* "disks": [{path, readonly, direct, serial}], "net": [{tap, mac}], through --disk/--net. */
static int load_list(struct vmm_config *c, const char *key, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return ERR("config: '%s' must be an array", key);
	json_array_foreach(v, i, e)
	{
		char spec[1024];
		int ro = json_is_true(json_object_get(e, "readonly"));
		int direct = json_is_true(json_object_get(e, "direct"));
		if (!json_is_object(e))
			return ERR("config: %s[%zu] must be an object", key, i);
		if (!strcmp(key, "disks")) {
			const char *path = vmm_jstr(e, "path", &bad);
			const char *serial = vmm_jstr(e, "serial", &bad);
			if (bad || !path)
				return ERR("config: disks[%zu] needs a string 'path'", i);
			snprintf(spec, sizeof(spec), "path=%s,readonly=%s,direct=%s%s%s", path,
				 ro ? "on" : "off", direct ? "on" : "off", serial ? ",serial=" : "",
				 serial ? serial : "");
			if (vmm_add_disk(c, spec, err, errlen))
				return -1;
		} else {
			const char *tap = vmm_jstr(e, "tap", &bad);
			const char *mac = vmm_jstr(e, "mac", &bad);
			if (bad || !tap)
				return ERR("config: net[%zu] needs a string 'tap'", i);
			snprintf(spec, sizeof(spec), "tap=%s%s%s", tap, mac ? ",mac=" : "",
				 mac ? mac : "");
			if (vmm_add_net(c, spec, err, errlen))
				return -1;
		}
	}
	return 0;
}

static int load_vsock(struct vmm_config *c, json_t *v, char *err, size_t errlen)
{
	int bad = 0;
	json_int_t cid = json_integer_value(json_object_get(v, "cid"));
	const char *sock = vmm_jstr(v, "socket", &bad);

	if (!json_is_object(v) || bad || !sock || cid < 3)
		return ERR("config: 'vsock' needs {\"cid\": N>=3, \"socket\": PATH}");
	c->vsock_cid = (uint32_t)cid;
	vmm_set_str(&c->vsock_socket, sock);
	return 0;
}

static int load_key(struct vmm_config *c, const char *key, json_t *v, char *err, size_t errlen)
{
	if (is_string_key(key))
		return load_string(c, key, v, err, errlen);
	if (!strcmp(key, "memory") || !strcmp(key, "cpus"))
		return load_size(c, key, v, err, errlen);
	if (!strcmp(key, "disks") || !strcmp(key, "net"))
		return load_list(c, key, v, err, errlen);
	if (!strcmp(key, "vsock"))
		return load_vsock(c, v, err, errlen);
	if (!strcmp(key, "reboot")) {
		if (!json_is_string(v) || vmm_set_reboot(c, json_string_value(v), err, errlen))
			return ERR("config: 'reboot' must be \"exit\" or \"restart\"");
	} else if (!strcmp(key, "rng")) {
		if (!json_is_boolean(v))
			return ERR("config: 'rng' must be true or false");
		c->rng = json_is_true(v);
	} else if (!strcmp(key, "xen_domid")) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return ERR("config: 'xen_domid' must be a domain number");
		c->xen_domid = (int)json_integer_value(v);
	} else {
		return ERR("config: unknown key '%s'", key);
	}
	return 0;
}

/* Our flat layout: every key known, or the file is refused. */
static int load_ours(struct vmm_config *c, json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v)
	{
		if (load_key(c, key, v, err, errlen))
			return -1;
	}
	return 0;
}

int vmm_config_load_json(struct vmm_config *c, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (!root)
		return ERR("config: line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ERR("config: the top level must be an object");
	}
	if (json_object_get(root, "boot-source") || json_object_get(root, "machine-config"))
		rc = vmm_config_load_firecracker(c, root, err, errlen);
	else
		rc = load_ours(c, root, err, errlen);
	json_decref(root);
	return rc;
}

int vmm_config_load_file(struct vmm_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;

	if (!f)
		return ERR("config %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return ERR("config %s: unreadable or larger than 1 MiB", path);
	}
	text = calloc(1, (size_t)n + 1);
	if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		fclose(f);
		return ERR("config %s: read failed", path);
	}
	fclose(f);
	char sub[512];
	int rc = vmm_config_load_json(c, text, sub, sizeof(sub));
	free(text);
	if (rc)
		return ERR("%s: %s", path, sub);
	return 0;
}
