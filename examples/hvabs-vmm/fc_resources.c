/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's resources, validated once for --config-file and the API:
 * each body is read with strict types (null means absent), unknown fields
 * and missing required ones are refused, values Firecracker accepts but
 * hvabs-vmm cannot honour (rate limiters, SMT, huge pages, ...)
 * are refused with -ENOTSUP, and the config changes only when the whole
 * body is valid. Field names and rules follow Firecracker's published API
 * description (docs/firecracker.md lists every difference).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_json.h"
#include "fc_resources.h"

static const char *const names[FC_RESOURCE_COUNT] = {
    [FC_BOOT_SOURCE] = "boot-source",
    [FC_MACHINE_CONFIG] = "machine-config",
    [FC_DRIVE] = "drives",
    [FC_NETWORK_INTERFACE] = "network-interfaces",
    [FC_VSOCK] = "vsock",
    [FC_ENTROPY] = "entropy",
    [FC_LOGGER] = "logger",
    [FC_METRICS] = "metrics",
    [FC_BALLOON] = "balloon",
    [FC_MMDS_CONFIG] = "mmds-config",
    [FC_CPU_CONFIG] = "cpu-config",
    [FC_PMEM] = "pmem",
    [FC_MEMORY_HOTPLUG] = "memory-hotplug",
    [FC_SERIAL] = "serial",
};

/* What each unsupported resource would have needed, for the refusal. */
static const char *const missing_what[FC_RESOURCE_COUNT] = {
    [FC_BALLOON] = "a balloon device",
    [FC_MMDS_CONFIG] = "MMDS (the metadata service)",
    [FC_CPU_CONFIG] = "CPU templates",
    [FC_PMEM] = "virtio-pmem devices",
    [FC_MEMORY_HOTPLUG] = "memory hotplug (virtio-mem)",
    [FC_SERIAL] = "a configurable serial device (use --console)",
};

int fc_resource_from_name(const char *name, enum fc_resource *out)
{
	for (int i = 0; i < FC_RESOURCE_COUNT; i++)
		if (!strcmp(names[i], name)) {
			*out = (enum fc_resource)i;
			return 0;
		}
	return -1;
}

const char *fc_resource_name(enum fc_resource kind)
{
	return (unsigned)kind < FC_RESOURCE_COUNT ? names[kind] : "?";
}

bool fc_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '_')
			return false;
	return true;
}

/* -EINVAL with the message already in err (the readers write it and return -1). */
#define FAIL(...)   (vmm_errf(err, errlen, __VA_ARGS__), -EINVAL)
#define NOTSUP(...) (vmm_errf(err, errlen, __VA_ARGS__), -ENOTSUP)

/* One of the strings in the NULL-terminated @p values, as Firecracker's enums. */
static int str_enum(const json_t *o, const char *name, const char *const *values, const char **out,
		    char *err, size_t errlen)
{
	const char *s = NULL;
	int rc = vmm_json_str(o, name, false, &s, err, errlen);

	if (rc <= 0)
		return rc;
	for (size_t i = 0; values[i]; i++)
		if (!strcmp(values[i], s)) {
			*out = values[i];
			return 1;
		}
	char list[256] = "";
	for (size_t i = 0; values[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s`%s`", i ? ", " : "",
			 values[i]);
	return ERR("unknown variant `%s` for `%s`, expected one of %s", s, name, list);
}

/* true when v is null, {}, [] or an object/array of only such values. */
static bool json_empty(const json_t *v)
{
	const char *key;
	json_t *e;
	size_t i;

	if (!v || json_is_null(v))
		return true;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e)
		{
			if (!json_empty(e))
				return false;
		}
		return true;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_empty(e))
				return false;
		}
		return true;
	}
	return false;
}

/*
 * A RateLimiter object: its shape is checked, and any bucket in it is
 * refused until hvabs has rate limiters (issue 12); null or {} is no limit.
 */
static int rate_limiter(const json_t *o, const char *name, char *err, size_t errlen)
{
	static const char *const known[] = {"bandwidth", "ops", NULL};
	const json_t *v = json_object_get(o, name);
	char sub[300];

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		char got[64];
		vmm_json_describe(v, got, sizeof(got));
		return FAIL("invalid type for `%s`: %s, expected a rate limiter object", name, got);
	}
	if (vmm_json_known(v, known, sub, sizeof(sub)))
		return FAIL("`%s`: %s", name, sub);
	if (!json_empty(v))
		return NOTSUP("`%s`: rate limiters are not supported by hvabs-vmm yet", name);
	return 0;
}

static int boot_source(struct vmm_config *c, const json_t *b, bool patch, char *err, size_t errlen)
{
	static const char *const known[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
	const char *kernel = NULL, *args = NULL, *initrd = NULL;

	if (patch)
		return NOTSUP("boot-source cannot be patched; PUT it again");
	if (vmm_json_known(b, known, err, errlen) ||
	    vmm_json_str(b, "kernel_image_path", true, &kernel, err, errlen) < 0 ||
	    vmm_json_str(b, "boot_args", false, &args, err, errlen) < 0 ||
	    vmm_json_str(b, "initrd_path", false, &initrd, err, errlen) < 0)
		return -EINVAL;
	if (!*kernel)
		return FAIL("invalid value for `kernel_image_path`: \"\", expected a path");
	/* PUT replaces the whole boot source: what is absent goes back to the default. */
	vmm_set_str(&c->kernel, kernel);
	vmm_set_str(&c->cmdline, args);
	vmm_set_str(&c->initrd, initrd);
	return 0;
}

/* smt, track_dirty_pages, cpu_template, huge_pages: accepted at their defaults only. */
static int machine_extras(const json_t *b, char *err, size_t errlen)
{
	static const char *const templates[] = {"None", "C3",  "T2",   "T2S",
						"T2CL", "T2A", "V1N1", NULL};
	static const char *const huge[] = {"None", "Transparent", "2M", NULL};
	const char *t = NULL, *h = NULL;
	int smt = 0, dirty = 0;

	if (vmm_json_bool(b, "smt", false, &smt, err, errlen) < 0 ||
	    vmm_json_bool(b, "track_dirty_pages", false, &dirty, err, errlen) < 0 ||
	    str_enum(b, "cpu_template", templates, &t, err, errlen) < 0 ||
	    str_enum(b, "huge_pages", huge, &h, err, errlen) < 0)
		return -EINVAL;
	if (smt)
		return NOTSUP("`smt`: true is not supported: hvabs-vmm gives each vCPU a core");
	if (dirty)
		return NOTSUP("`track_dirty_pages`: true is not supported (no diff snapshots)");
	if (t && strcmp(t, "None"))
		return NOTSUP("`cpu_template`: %s is not supported: hvabs-vmm has no CPU templates",
			      t);
	if (h && strcmp(h, "None"))
		return NOTSUP("`huge_pages`: %s is not supported: guest RAM uses 4 KiB pages", h);
	return 0;
}

static int machine_config(struct vmm_config *c, const json_t *b, bool patch, char *err,
			  size_t errlen)
{
	static const char *const known[] = {
	    "vcpu_count",	 "mem_size_mib", "smt", "cpu_template",
	    "track_dirty_pages", "huge_pages",	 NULL};
	uint64_t cpus = c->cpus, mib = c->mem_size >> 20;
	int rc;

	if (patch && json_object_size(b) == 0)
		return FAIL("empty PATCH request for machine-config");
	if (vmm_json_known(b, known, err, errlen) ||
	    vmm_json_uint(b, "vcpu_count", !patch, 1, VMM_MAX_CPUS, &cpus, err, errlen) < 0 ||
	    vmm_json_uint(b, "mem_size_mib", !patch, 16, 1ull << 24, &mib, err, errlen) < 0)
		return -EINVAL;
	if ((rc = machine_extras(b, err, errlen)))
		return rc;
	c->cpus = (uint32_t)cpus;
	c->mem_size = mib << 20;
	return 0;
}

/* The body's id (drive_id / iface_id): valid, and the path's id when there is one. */
static int body_id(const json_t *b, const char *field, const char *path_id, const char **out,
		   char *err, size_t errlen)
{
	if (vmm_json_str(b, field, true, out, err, errlen) < 0)
		return -EINVAL;
	if (!fc_id_valid(*out))
		return FAIL(
		    "invalid value for `%s`: \"%.64s\", expected 1-64 letters, digits or '_'",
		    field, *out);
	if (path_id && strcmp(path_id, *out))
		return FAIL("the id from the path (%.64s) does not match `%s` in the body (%s)",
			    path_id, field, *out);
	return 0;
}

/*
 * Drive fields hvabs-vmm cannot honour (vhost-user, rate limits), and the
 * engine: Firecracker's Async is io_uring, as virtio-blk's io_uring engine is.
 */
static int drive_refusals(const json_t *b, int *io_uring, char *err, size_t errlen)
{
	static const char *const engines[] = {"Sync", "Async", NULL};
	const char *sock = NULL, *engine = NULL;
	int rc;

	if (vmm_json_str(b, "socket", false, &sock, err, errlen) < 0 ||
	    str_enum(b, "io_engine", engines, &engine, err, errlen) < 0)
		return -EINVAL;
	if (sock)
		return NOTSUP("`socket`: vhost-user block devices are not supported by hvabs-vmm");
	*io_uring = engine && !strcmp(engine, "Async");
	if ((rc = rate_limiter(b, "rate_limiter", err, errlen)))
		return rc;
	return 0;
}

static int drive_put(struct vmm_config *c, const json_t *b, const char *path_id, char *err,
		     size_t errlen)
{
	static const char *const known[] = {
	    "drive_id",	    "partuuid",	    "is_root_device", "cache_type", "is_read_only",
	    "path_on_host", "rate_limiter", "io_engine",      "socket",	    NULL};
	static const char *const caches[] = {"Unsafe", "Writeback", NULL};
	const char *id = NULL, *path = NULL, *partuuid = NULL, *cache = NULL;
	struct vmm_disk d = {0};
	char sub[256];
	int rc;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = body_id(b, "drive_id", path_id, &id, err, errlen)))
		return rc;
	if (vmm_json_bool(b, "is_root_device", true, &d.root, err, errlen) < 0 ||
	    vmm_json_bool(b, "is_read_only", false, &d.readonly, err, errlen) < 0 ||
	    vmm_json_str(b, "partuuid", false, &partuuid, err, errlen) < 0 ||
	    str_enum(b, "cache_type", caches, &cache, err, errlen) < 0)
		return -EINVAL;
	if ((rc = drive_refusals(b, &d.io_uring, err, errlen)))
		return rc;
	if (vmm_json_str(b, "path_on_host", true, &path, err, errlen) < 0)
		return -EINVAL;
	if (!*path)
		return FAIL("invalid value for `path_on_host`: \"\", expected a path");
	d.id = strdup(id);
	d.path = strdup(path);
	/* The guest reads the drive_id back as the disk's serial (20 bytes at most). */
	d.serial = strndup(id, 20);
	d.partuuid = partuuid ? strdup(partuuid) : NULL;
	d.cache_writeback = cache && !strcmp(cache, "Writeback");
	if (vmm_disk_put(c, &d, sub, sizeof(sub)))
		return FAIL("drive %s: %s", id, sub);
	return 0;
}

/* PATCH /drives/{id}: a new backing file (and rate limiter) for an existing drive. */
static int drive_patch(struct vmm_config *c, const json_t *b, const char *path_id, char *err,
		       size_t errlen)
{
	static const char *const known[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	const char *id = NULL, *path = NULL;
	int rc, i;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = body_id(b, "drive_id", path_id, &id, err, errlen)))
		return rc;
	if ((i = vmm_disk_find(c, id)) < 0)
		return FAIL("drive %s does not exist", id);
	if (vmm_json_str(b, "path_on_host", false, &path, err, errlen) < 0)
		return -EINVAL;
	if (path && !*path)
		return FAIL("invalid value for `path_on_host`: \"\", expected a path");
	if ((rc = rate_limiter(b, "rate_limiter", err, errlen)))
		return rc;
	if (path)
		vmm_set_str(&c->disks[i].path, path);
	return 0;
}

static int net_put(struct vmm_config *c, const json_t *b, const char *path_id, char *err,
		   size_t errlen)
{
	static const char *const known[] = {"iface_id", "host_dev_name",   "guest_mac",
					    "mtu",	"rx_rate_limiter", "tx_rate_limiter",
					    NULL};
	const char *id = NULL, *tap = NULL, *mac = NULL;
	struct vmm_net n = {0};
	uint64_t mtu = 0;
	char sub[256];
	int rc;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = body_id(b, "iface_id", path_id, &id, err, errlen)))
		return rc;
	if (vmm_json_str(b, "host_dev_name", true, &tap, err, errlen) < 0 ||
	    vmm_json_str(b, "guest_mac", false, &mac, err, errlen) < 0 ||
	    vmm_json_uint(b, "mtu", false, 68, 65535, &mtu, err, errlen) < 0)
		return -EINVAL;
	if (mac && vmm_parse_mac(mac, n.mac))
		return FAIL("invalid value for `guest_mac`: \"%.40s\", expected xx:xx:xx:xx:xx:xx",
			    mac);
	if (mtu)
		return NOTSUP("`mtu`: hvabs-vmm does not advertise an MTU to the guest");
	if ((rc = rate_limiter(b, "rx_rate_limiter", err, errlen)) ||
	    (rc = rate_limiter(b, "tx_rate_limiter", err, errlen)))
		return rc;
	n.has_mac = mac != NULL;
	n.id = strdup(id);
	n.tap = strdup(tap);
	if (vmm_net_put(c, &n, sub, sizeof(sub)))
		return FAIL("network interface %s: %s", id, sub);
	return 0;
}

/* PATCH /network-interfaces/{id}: only rate limiters, which hvabs-vmm does not have yet. */
static int net_patch(struct vmm_config *c, const json_t *b, const char *path_id, char *err,
		     size_t errlen)
{
	static const char *const known[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	const char *id = NULL;
	int rc;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = body_id(b, "iface_id", path_id, &id, err, errlen)))
		return rc;
	if (vmm_net_find(c, id) < 0)
		return FAIL("network interface %s does not exist", id);
	if ((rc = rate_limiter(b, "rx_rate_limiter", err, errlen)) ||
	    (rc = rate_limiter(b, "tx_rate_limiter", err, errlen)))
		return rc;
	return 0;
}

static int vsock(struct vmm_config *c, const json_t *b, bool patch, char *err, size_t errlen)
{
	static const char *const known[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	const char *uds = NULL, *vid = NULL;
	uint64_t cid = 0;

	if (patch)
		return NOTSUP("vsock cannot be patched; PUT it again");
	/* VMADDR_CID_ANY (0xffffffff) is not an address a guest can have. */
	if (vmm_json_known(b, known, err, errlen) ||
	    vmm_json_uint(b, "guest_cid", true, 3, 0xfffffffeu, &cid, err, errlen) < 0 ||
	    vmm_json_str(b, "uds_path", true, &uds, err, errlen) < 0 ||
	    vmm_json_str(b, "vsock_id", false, &vid, err, errlen) < 0)
		return -EINVAL;
	if (!*uds)
		return FAIL("invalid value for `uds_path`: \"\", expected a path");
	c->vsock_cid = (uint32_t)cid;
	vmm_set_str(&c->vsock_socket, uds);
	return 0;
}

static int entropy(struct vmm_config *c, const json_t *b, char *err, size_t errlen)
{
	static const char *const known[] = {"rate_limiter", NULL};
	int rc;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = rate_limiter(b, "rate_limiter", err, errlen)))
		return rc;
	c->rng = 1;
	return 0;
}

/* Firecracker's logger levels are case-insensitive. */
static int log_level(const json_t *b, enum vmm_log_level *out, char *err, size_t errlen)
{
	static const char *const levels[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
	const char *s = NULL;
	int rc = vmm_json_str(b, "level", false, &s, err, errlen);

	if (rc <= 0)
		return rc < 0 ? -EINVAL : 0;
	for (int i = 0; i < 6; i++)
		if (!strcasecmp(s, levels[i])) {
			*out = (enum vmm_log_level)i;
			return 0;
		}
	return FAIL("unknown variant `%.40s` for `level`, expected one of `Error`, `Warning`, "
		    "`Info`, `Debug`, `Trace`, `Off`",
		    s);
}

static int logger(struct vmm_config *c, const json_t *b, char *err, size_t errlen)
{
	static const char *const known[] = {"level",	       "log_path", "show_level",
					    "show_log_origin", "module",   NULL};
	struct vmm_logger l = {.set = 1, .level = VMM_LOG_INFO};
	const char *path = NULL, *module = NULL;
	int rc;

	if (vmm_json_known(b, known, err, errlen))
		return -EINVAL;
	if ((rc = log_level(b, &l.level, err, errlen)))
		return rc;
	if (vmm_json_str(b, "log_path", false, &path, err, errlen) < 0 ||
	    vmm_json_bool(b, "show_level", false, &l.show_level, err, errlen) < 0 ||
	    vmm_json_bool(b, "show_log_origin", false, &l.show_origin, err, errlen) < 0 ||
	    vmm_json_str(b, "module", false, &module, err, errlen) < 0)
		return -EINVAL;
	if (path && !*path)
		return FAIL("invalid value for `log_path`: \"\", expected a path");
	free(c->logger.path);
	free(c->logger.module);
	l.path = path ? strdup(path) : NULL;
	l.module = module ? strdup(module) : NULL;
	c->logger = l;
	return 0;
}

static int metrics(struct vmm_config *c, const json_t *b, char *err, size_t errlen)
{
	static const char *const known[] = {"metrics_path", NULL};
	const char *path = NULL;

	if (vmm_json_known(b, known, err, errlen) ||
	    vmm_json_str(b, "metrics_path", true, &path, err, errlen) < 0)
		return -EINVAL;
	if (!*path)
		return FAIL("invalid value for `metrics_path`: \"\", expected a path");
	vmm_set_str(&c->metrics_path, path);
	return 0;
}

int fc_resource_apply(struct vmm_config *cfg, enum fc_resource kind, const char *id,
		      const json_t *body, bool patch, char *err, size_t errlen)
{
	char got[64];

	if ((unsigned)kind >= FC_RESOURCE_COUNT)
		return FAIL("unknown resource %d", (int)kind);
	if (!body || json_is_null(body))
		return 0;
	if (!json_is_object(body)) {
		vmm_json_describe(body, got, sizeof(got));
		return FAIL("invalid type for %s: %s, expected an object", names[kind], got);
	}
	switch (kind) {
	case FC_BOOT_SOURCE:
		return boot_source(cfg, body, patch, err, errlen);
	case FC_MACHINE_CONFIG:
		return machine_config(cfg, body, patch, err, errlen);
	case FC_DRIVE:
		return patch ? drive_patch(cfg, body, id, err, errlen)
			     : drive_put(cfg, body, id, err, errlen);
	case FC_NETWORK_INTERFACE:
		return patch ? net_patch(cfg, body, id, err, errlen)
			     : net_put(cfg, body, id, err, errlen);
	case FC_VSOCK:
		return vsock(cfg, body, patch, err, errlen);
	case FC_ENTROPY:
		return entropy(cfg, body, err, errlen);
	case FC_LOGGER:
		return logger(cfg, body, err, errlen);
	case FC_METRICS:
		return metrics(cfg, body, err, errlen);
	default:
		/* Unsupported resources: harmless when empty, refused when they ask for something. */
		if (json_empty(body))
			return 0;
		return NOTSUP("%s is not supported: hvabs-vmm has no %s", names[kind],
			      missing_what[kind]);
	}
}
