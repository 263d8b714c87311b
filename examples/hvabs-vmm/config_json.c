/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's own JSON config layout, reading a config file, and telling our
 * layout from Firecracker's. Values fill the config structs directly with
 * strict types (null means absent, a wrong type names the field and the type
 * it wants, an unknown key is an error), never through k=v strings. A file
 * names a backend only by its name, and gives it options only when the
 * command line allows it (--allow-file-backend-options). JSON goes through
 * jansson (Debian's libjansson).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_json.h"

void vmm_json_describe(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "string \"%.40s\"", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "floating point %g", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, len, "boolean %s", json_is_true(v) ? "true" : "false");
		break;
	case JSON_OBJECT:
		snprintf(buf, len, "an object");
		break;
	case JSON_ARRAY:
		snprintf(buf, len, "an array");
		break;
	default:
		snprintf(buf, len, "null");
		break;
	}
}

/* The field's value; NULL when absent or null (an error if required). */
static const json_t *field(const json_t *o, const char *name, bool required, int *rc, char *err,
			   size_t errlen)
{
	const json_t *v = json_object_get(o, name);

	*rc = 0;
	if (v && !json_is_null(v))
		return v;
	if (required)
		*rc = ERR("missing field `%s`", name);
	return NULL;
}

static int bad_type(const json_t *v, const char *name, const char *want, char *err, size_t errlen)
{
	char got[64];

	vmm_json_describe(v, got, sizeof(got));
	return ERR("invalid type for `%s`: %s, expected %s", name, got, want);
}

int vmm_json_str(const json_t *o, const char *name, bool required, const char **out, char *err,
		 size_t errlen)
{
	int rc;
	const json_t *v = field(o, name, required, &rc, err, errlen);

	if (!v)
		return rc;
	if (!json_is_string(v))
		return bad_type(v, name, "a string", err, errlen);
	*out = json_string_value(v);
	return 1;
}

int vmm_json_bool(const json_t *o, const char *name, bool required, int *out, char *err,
		  size_t errlen)
{
	int rc;
	const json_t *v = field(o, name, required, &rc, err, errlen);

	if (!v)
		return rc;
	if (!json_is_boolean(v))
		return bad_type(v, name, "a boolean (true or false)", err, errlen);
	*out = json_is_true(v);
	return 1;
}

int vmm_json_uint(const json_t *o, const char *name, bool required, uint64_t min, uint64_t max,
		  uint64_t *out, char *err, size_t errlen)
{
	int rc;
	const json_t *v = field(o, name, required, &rc, err, errlen);
	char want[96];

	if (!v)
		return rc;
	snprintf(want, sizeof(want), "an integer from %" PRIu64 " to %" PRIu64, min, max);
	if (!json_is_integer(v))
		return bad_type(v, name, want, err, errlen);
	json_int_t n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return ERR("invalid value for `%s`: %" JSON_INTEGER_FORMAT ", expected %s", name, n,
			   want);
	*out = (uint64_t)n;
	return 1;
}

int vmm_json_known(const json_t *o, const char *const *known, char *err, size_t errlen)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)o, key, v)
	{
		size_t i;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (known[i])
			continue;
		char list[512] = "";
		for (i = 0; known[i]; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s`%s`",
				 i ? ", " : "", known[i]);
		return ERR("unknown field `%s`, expected one of %s", key, list);
	}
	return 0;
}

/* Element i of "disks": {path, readonly, direct, serial}. */
static int load_disk(struct vmm_config *c, const json_t *e, char *err, size_t errlen)
{
	static const char *const known[] = {"path", "readonly", "direct", "serial", NULL};
	struct vmm_disk d = {0};
	const char *path = NULL, *serial = NULL;

	if (!json_is_object(e))
		return bad_type(e, "disks", "an object", err, errlen);
	if (vmm_json_known(e, known, err, errlen) ||
	    vmm_json_str(e, "path", true, &path, err, errlen) < 0 ||
	    vmm_json_str(e, "serial", false, &serial, err, errlen) < 0 ||
	    vmm_json_bool(e, "readonly", false, &d.readonly, err, errlen) < 0 ||
	    vmm_json_bool(e, "direct", false, &d.direct, err, errlen) < 0)
		return -1;
	d.path = strdup(path);
	d.serial = serial ? strdup(serial) : NULL;
	return vmm_disk_put(c, &d, err, errlen);
}

/* Element i of "net": {tap, mac}. */
static int load_net(struct vmm_config *c, const json_t *e, char *err, size_t errlen)
{
	static const char *const known[] = {"tap", "mac", NULL};
	struct vmm_net n = {0};
	const char *tap = NULL, *mac = NULL;

	if (!json_is_object(e))
		return bad_type(e, "net", "an object", err, errlen);
	if (vmm_json_known(e, known, err, errlen) ||
	    vmm_json_str(e, "tap", true, &tap, err, errlen) < 0 ||
	    vmm_json_str(e, "mac", false, &mac, err, errlen) < 0)
		return -1;
	if (mac && vmm_parse_mac(mac, n.mac))
		return ERR("invalid value for `mac`: \"%s\", expected xx:xx:xx:xx:xx:xx", mac);
	n.has_mac = mac != NULL;
	n.tap = strdup(tap);
	return vmm_net_put(c, &n, err, errlen);
}

static int load_list(struct vmm_config *c, const char *key, const json_t *v, char *err,
		     size_t errlen)
{
	size_t i;
	json_t *e;
	char sub[400];

	if (!json_is_array(v))
		return bad_type(v, key, "an array", err, errlen);
	json_array_foreach((json_t *)v, i, e)
	{
		int rc = !strcmp(key, "disks") ? load_disk(c, e, sub, sizeof(sub))
					       : load_net(c, e, sub, sizeof(sub));
		if (rc)
			return ERR("%s[%zu]: %s", key, i, sub);
	}
	return 0;
}

static int load_vsock(struct vmm_config *c, const json_t *v, char *err, size_t errlen)
{
	static const char *const known[] = {"cid", "socket", NULL};
	const char *sock = NULL;
	uint64_t cid = 0;

	if (!json_is_object(v))
		return bad_type(v, "vsock", "an object", err, errlen);
	if (vmm_json_known(v, known, err, errlen) ||
	    vmm_json_uint(v, "cid", true, 3, 0xfffffffeu, &cid, err, errlen) < 0 ||
	    vmm_json_str(v, "socket", true, &sock, err, errlen) < 0)
		return -1;
	if (!*sock)
		return ERR("invalid value for `socket`: \"\", expected a path");
	c->vsock_cid = (uint32_t)cid;
	vmm_set_str(&c->vsock_socket, sock);
	return 0;
}

/* hypervisor (a name, never a path) and backend_options (only when allowed). */
static int load_backend(struct vmm_config *c, const json_t *root, char *err, size_t errlen)
{
	const char *hv = NULL, *opts = NULL;

	if (vmm_json_str(root, "hypervisor", false, &hv, err, errlen) < 0 ||
	    vmm_json_str(root, "backend_options", false, &opts, err, errlen) < 0)
		return -1;
	if (hv && !vmm_backend_name_ok(hv))
		return ERR("invalid value for `hypervisor`: \"%s\": a config file names a backend "
			   "(kvm, xen, mshv, mock), never a path; give a path with --hypervisor "
			   "or HVABS_HYPERVISOR",
			   hv);
	if (opts && !c->allow_file_backend_options)
		return ERR("`backend_options` in a config file needs --allow-file-backend-options "
			   "on the command line");
	if (hv)
		vmm_set_str(&c->hypervisor, hv);
	if (opts)
		vmm_set_str(&c->backend_options, opts);
	return 0;
}

/* kernel, initrd, cmdline, console: strings. */
static int load_strings(struct vmm_config *c, const json_t *root, char *err, size_t errlen)
{
	static const char *const keys[] = {"kernel", "initrd", "cmdline"};
	char **dst[] = {&c->kernel, &c->initrd, &c->cmdline};
	const char *s;

	for (size_t i = 0; i < 3; i++) {
		s = NULL;
		if (vmm_json_str(root, keys[i], false, &s, err, errlen) < 0)
			return -1;
		if (s)
			vmm_set_str(dst[i], s);
	}
	s = NULL;
	if (vmm_json_str(root, "console", false, &s, err, errlen) < 0)
		return -1;
	return s ? vmm_set_console(c, s, err, errlen) : 0;
}

/* "memory": "256M" or a number of MiB; "cpus", "xen_domid": numbers; "reboot", "rng". */
static int load_scalars(struct vmm_config *c, const json_t *root, char *err, size_t errlen)
{
	const json_t *m = json_object_get(root, "memory");
	uint64_t n;
	int rc, rng;
	const char *reboot = NULL;

	if (m && json_is_integer(m)) {
		if (vmm_json_uint(root, "memory", true, 16, 1ull << 24, &n, err, errlen) < 0)
			return -1;
		c->mem_size = n << 20;
	} else if (m && json_is_string(m)) {
		if (vmm_set_memory(c, json_string_value(m), err, errlen))
			return -1;
	} else if (m && !json_is_null(m))
		return bad_type(m, "memory", "a size string (\"256M\") or an integer of MiB", err,
				errlen);
	if ((rc = vmm_json_uint(root, "cpus", false, 1, VMM_MAX_CPUS, &n, err, errlen)) < 0)
		return -1;
	if (rc)
		c->cpus = (uint32_t)n;
	if ((rc = vmm_json_uint(root, "xen_domid", false, 1, 0x7fef, &n, err, errlen)) < 0)
		return -1;
	if (rc)
		c->xen_domid = (int)n;
	if ((rc = vmm_json_bool(root, "rng", false, &rng, err, errlen)) < 0)
		return -1;
	if (rc)
		c->rng = rng;
	if (vmm_json_str(root, "reboot", false, &reboot, err, errlen) < 0)
		return -1;
	return reboot ? vmm_set_reboot(c, reboot, err, errlen) : 0;
}

/* Our layout: every key known, or the file is refused. */
static int load_ours(struct vmm_config *c, const json_t *root, char *err, size_t errlen)
{
	static const char *const known[] = {"hypervisor", "backend_options", "kernel", "initrd",
					    "cmdline",	  "console",	     "memory", "cpus",
					    "reboot",	  "disks",	     "net",    "rng",
					    "vsock",	  "xen_domid",	     NULL};
	const json_t *v;

	if (vmm_json_known(root, known, err, errlen) || load_backend(c, root, err, errlen) ||
	    load_strings(c, root, err, errlen) || load_scalars(c, root, err, errlen))
		return -1;
	if ((v = json_object_get(root, "disks")) && !json_is_null(v) &&
	    load_list(c, "disks", v, err, errlen))
		return -1;
	if ((v = json_object_get(root, "net")) && !json_is_null(v) &&
	    load_list(c, "net", v, err, errlen))
		return -1;
	if ((v = json_object_get(root, "vsock")) && !json_is_null(v) &&
	    load_vsock(c, v, err, errlen))
		return -1;
	return 0;
}

int vmm_config_load_json(struct vmm_config *c, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	char sub[400];
	int rc;

	if (!root)
		return ERR("config: line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ERR("config: the top level must be an object");
	}
	if (json_object_get(root, "boot-source") || json_object_get(root, "machine-config"))
		rc = vmm_config_load_firecracker(c, root, sub, sizeof(sub));
	else
		rc = load_ours(c, root, sub, sizeof(sub));
	json_decref(root);
	return rc ? ERR("config: %s", sub) : 0;
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
