/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm configuration. JSON goes through jansson (Debian's libjansson)
 * rather than a hand-written parser. Two file layouts are accepted: ours
 * (flat keys) and Firecracker's --config-file layout (boot-source,
 * machine-config, drives, network-interfaces, vsock), so Firecracker users
 * can bring their files. Unknown keys in our layout are errors (a typo must
 * not be silently ignored); Firecracker sections we do not implement are
 * reported and skipped.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/hvabs.h>
#include <jansson.h>

#include "config.h"

__attribute__((format(printf, 3, 4))) static int errf(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
#define ERR(...) errf(err, errlen, __VA_ARGS__)

void vmm_config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_size = 256ull << 20;
	c->cpus = 1;
	c->xen_domid = -1;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

void vmm_config_fini(struct vmm_config *c)
{
	free(c->hypervisor);
	free(c->backend_options);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->console_path);
	free(c->vsock_socket);
	free(c->trace_exits);
	for (unsigned i = 0; i < c->ndisks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].serial);
	}
	for (unsigned i = 0; i < c->nnets; i++)
		free(c->nets[i].tap);
	memset(c, 0, sizeof(*c));
}

int vmm_parse_size(const char *s, uint64_t *out)
{
	char *end;

	if (!strncmp(s, "size=", 5))
		s += 5;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift && *++end == 'i' && end[1] == 'B')
		end += 2;
	else if (shift && *end == 'B')
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int vmm_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Walks "k=v,k=v"; calls @p fn for each pair. */
static int each_kv(const char *spec, int (*fn)(void *, const char *, const char *, char *, size_t),
		   void *ctx, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int rc = 0;

	if (!copy)
		return ERR("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (eq)
			*eq++ = '\0';
		rc = fn(ctx, t, eq ? eq : "", err, errlen);
	}
	free(copy);
	return rc;
}

static int disk_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_disk *d = ctx;

	if (!strcmp(k, "path") && *v)
		set_str(&d->path, v);
	else if (!strcmp(k, "serial") && *v)
		set_str(&d->serial, v);
	else if (!strcmp(k, "readonly")) {
		if (parse_bool(*v ? v : "on", &d->readonly))
			return ERR("--disk: readonly=%s: use on or off", v);
	} else if (!strcmp(k, "direct")) {
		if (parse_bool(*v ? v : "on", &d->direct))
			return ERR("--disk: direct=%s: use on or off", v);
	} else
		return ERR("--disk: unknown key '%s' (path, readonly, serial, direct)", k);
	return 0;
}

static int add_disk(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	if (c->ndisks == VMM_MAX_DISKS)
		return ERR("too many disks (at most %d)", VMM_MAX_DISKS);
	struct vmm_disk *d = &c->disks[c->ndisks];
	memset(d, 0, sizeof(*d));
	/* A bare path is accepted too: --disk rootfs.img */
	if (!strchr(spec, '='))
		set_str(&d->path, spec);
	else if (each_kv(spec, disk_kv, d, err, errlen))
		goto bad;
	if (!d->path) {
		snprintf(err, errlen, "--disk %s: path= is required", spec);
		goto bad;
	}
	if (d->serial && strlen(d->serial) > 20) {
		snprintf(err, errlen, "--disk: serial '%s' longer than 20 bytes", d->serial);
		goto bad;
	}
	c->ndisks++;
	return 0;
bad:
	free(d->path);
	free(d->serial);
	memset(d, 0, sizeof(*d));
	return -1;
}

static int net_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_net *n = ctx;

	if (!strcmp(k, "tap") && *v) {
		if (strlen(v) >= 16)
			return ERR("--net: tap name '%s' too long (at most 15 bytes)", v);
		set_str(&n->tap, v);
	} else if (!strcmp(k, "mac")) {
		if (vmm_parse_mac(v, n->mac))
			return ERR("--net: bad mac '%s' (want xx:xx:xx:xx:xx:xx)", v);
		if (n->mac[0] & 1)
			return ERR("--net: mac %s is a multicast address", v);
		n->has_mac = 1;
	} else
		return ERR("--net: unknown key '%s' (tap, mac)", k);
	return 0;
}

static int add_net(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	if (c->nnets == VMM_MAX_NETS)
		return ERR("too many network interfaces (at most %d)", VMM_MAX_NETS);
	struct vmm_net *n = &c->nets[c->nnets];
	memset(n, 0, sizeof(*n));
	if (each_kv(spec, net_kv, n, err, errlen) || (!n->tap && ERR("--net: tap= is required"))) {
		free(n->tap);
		memset(n, 0, sizeof(*n));
		return -1;
	}
	c->nnets++;
	return 0;
}

static int vsock_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_config *c = ctx;
	char *end;

	if (!strcmp(k, "cid")) {
		unsigned long cid = strtoul(v, &end, 0);
		if (!*v || *end || cid < 3 || cid > 0xffffffffu)
			return ERR("--vsock: cid=%s: must be a number >= 3", v);
		c->vsock_cid = (uint32_t)cid;
	} else if (!strcmp(k, "socket") && *v) {
		set_str(&c->vsock_socket, v);
	} else
		return ERR("--vsock: unknown key '%s' (cid, socket)", k);
	return 0;
}

static int set_console(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "stdio") || !strcmp(v, "tty"))
		c->console = VMM_CONSOLE_STDIO;
	else if (!strcmp(v, "pty"))
		c->console = VMM_CONSOLE_PTY;
	else if (!strcmp(v, "none") || !strcmp(v, "off"))
		c->console = VMM_CONSOLE_NONE;
	else if (!strncmp(v, "file=", 5) && v[5]) {
		c->console = VMM_CONSOLE_FILE;
		set_str(&c->console_path, v + 5);
	} else if (!strncmp(v, "socket=", 7) && v[7]) {
		c->console = VMM_CONSOLE_SOCKET;
		set_str(&c->console_path, v + 7);
	} else
		return ERR("--console %s: use stdio, pty, file=PATH, socket=PATH or none", v);
	return 0;
}

static int set_cpus(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	char *end;

	if (!strncmp(v, "boot=", 5))
		v += 5;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || n < 1 || n > VMM_MAX_CPUS)
		return ERR("--cpus %s: want a number from 1 to %d", v, VMM_MAX_CPUS);
	c->cpus = (uint32_t)n;
	return 0;
}

static int set_memory(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	uint64_t sz;

	if (vmm_parse_size(v, &sz) || sz < (16ull << 20) || (sz & 0xfffff))
		return ERR("--memory %s: want a whole number of MiB, at least 16M (e.g. 256M, 1G)",
			   v);
	c->mem_size = sz;
	return 0;
}

static int set_reboot(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "exit"))
		c->reboot = VMM_REBOOT_EXIT;
	else if (!strcmp(v, "restart"))
		c->reboot = VMM_REBOOT_RESTART;
	else
		return ERR("--reboot=%s: use exit or restart", v);
	return 0;
}

/* ---- JSON ---- */

static const char *jstr(json_t *o, const char *key, int *bad)
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

/* Our flat layout. */
static int load_ours(struct vmm_config *c, json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v)
	{
		int bad = 0;
		if (!strcmp(key, "hypervisor") || !strcmp(key, "backend_options") ||
		    !strcmp(key, "kernel") || !strcmp(key, "initrd") || !strcmp(key, "cmdline") ||
		    !strcmp(key, "console")) {
			if (!json_is_string(v))
				return ERR("config: '%s' must be a string", key);
			const char *s = json_string_value(v);
			if (!strcmp(key, "hypervisor"))
				set_str(&c->hypervisor, s);
			else if (!strcmp(key, "backend_options"))
				set_str(&c->backend_options, s);
			else if (!strcmp(key, "kernel"))
				set_str(&c->kernel, s);
			else if (!strcmp(key, "initrd"))
				set_str(&c->initrd, s);
			else if (!strcmp(key, "cmdline"))
				set_str(&c->cmdline, s);
			else if (set_console(c, s, err, errlen))
				return -1;
		} else if (!strcmp(key, "memory")) {
			char buf[32];
			if (json_is_integer(v))
				snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "M",
					 json_integer_value(v));
			else if (json_is_string(v))
				snprintf(buf, sizeof(buf), "%s", json_string_value(v));
			else
				return ERR("config: 'memory' must be \"256M\" or a number of MiB");
			if (set_memory(c, buf, err, errlen))
				return -1;
		} else if (!strcmp(key, "cpus")) {
			char buf[32];
			if (!json_is_integer(v))
				return ERR("config: 'cpus' must be a number");
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			if (set_cpus(c, buf, err, errlen))
				return -1;
		} else if (!strcmp(key, "reboot")) {
			if (!json_is_string(v) || set_reboot(c, json_string_value(v), err, errlen))
				return ERR("config: 'reboot' must be \"exit\" or \"restart\"");
		} else if (!strcmp(key, "rng")) {
			if (!json_is_boolean(v))
				return ERR("config: 'rng' must be true or false");
			c->rng = json_is_true(v);
		} else if (!strcmp(key, "xen_domid")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return ERR("config: 'xen_domid' must be a domain number");
			c->xen_domid = (int)json_integer_value(v);
		} else if (!strcmp(key, "disks") || !strcmp(key, "net")) {
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
					const char *path = jstr(e, "path", &bad);
					const char *serial = jstr(e, "serial", &bad);
					if (bad || !path)
						return ERR(
						    "config: disks[%zu] needs a string 'path'", i);
					snprintf(spec, sizeof(spec),
						 "path=%s,readonly=%s,direct=%s%s%s", path,
						 ro ? "on" : "off", direct ? "on" : "off",
						 serial ? ",serial=" : "", serial ? serial : "");
					if (add_disk(c, spec, err, errlen))
						return -1;
				} else {
					const char *tap = jstr(e, "tap", &bad);
					const char *mac = jstr(e, "mac", &bad);
					if (bad || !tap)
						return ERR("config: net[%zu] needs a string 'tap'",
							   i);
					snprintf(spec, sizeof(spec), "tap=%s%s%s", tap,
						 mac ? ",mac=" : "", mac ? mac : "");
					if (add_net(c, spec, err, errlen))
						return -1;
				}
			}
		} else if (!strcmp(key, "vsock")) {
			json_int_t cid = json_integer_value(json_object_get(v, "cid"));
			const char *sock = jstr(v, "socket", &bad);
			if (!json_is_object(v) || bad || !sock || cid < 3)
				return ERR(
				    "config: 'vsock' needs {\"cid\": N>=3, \"socket\": PATH}");
			c->vsock_cid = (uint32_t)cid;
			set_str(&c->vsock_socket, sock);
		} else {
			return ERR("config: unknown key '%s'", key);
		}
	}
	return 0;
}

/* Firecracker's --config-file layout. */
static int load_firecracker(struct vmm_config *c, json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int bad = 0;

	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "boot-source")) {
			const char *k = jstr(v, "kernel_image_path", &bad);
			const char *a = jstr(v, "boot_args", &bad);
			const char *i = jstr(v, "initrd_path", &bad);
			if (bad || !k)
				return ERR("config: boot-source needs a string kernel_image_path");
			set_str(&c->kernel, k);
			if (a)
				set_str(&c->cmdline, a);
			if (i)
				set_str(&c->initrd, i);
		} else if (!strcmp(key, "machine-config")) {
			json_t *n = json_object_get(v, "vcpu_count");
			json_t *m = json_object_get(v, "mem_size_mib");
			char buf[32];
			if (n) {
				snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
					 json_integer_value(n));
				if (!json_is_integer(n) || set_cpus(c, buf, err, errlen))
					return ERR("config: machine-config.vcpu_count must be 1-%d",
						   VMM_MAX_CPUS);
			}
			if (m) {
				snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT "M",
					 json_integer_value(m));
				if (!json_is_integer(m) || set_memory(c, buf, err, errlen))
					return ERR(
					    "config: machine-config.mem_size_mib must be >= 16");
			}
		} else if (!strcmp(key, "drives")) {
			size_t i;
			json_t *d;
			json_array_foreach(v, i, d)
			{
				char spec[1024];
				const char *path = jstr(d, "path_on_host", &bad);
				const char *id = jstr(d, "drive_id", &bad);
				int ro = json_is_true(json_object_get(d, "is_read_only"));
				if (bad || !path)
					return ERR("config: drives[%zu] needs path_on_host", i);
				snprintf(spec, sizeof(spec), "path=%s,readonly=%s%s%.20s", path,
					 ro ? "on" : "off", id ? ",serial=" : "", id ? id : "");
				if (add_disk(c, spec, err, errlen))
					return -1;
			}
		} else if (!strcmp(key, "network-interfaces")) {
			size_t i;
			json_t *n;
			json_array_foreach(v, i, n)
			{
				char spec[256];
				const char *tap = jstr(n, "host_dev_name", &bad);
				const char *mac = jstr(n, "guest_mac", &bad);
				if (bad || !tap)
					return ERR(
					    "config: network-interfaces[%zu] needs host_dev_name",
					    i);
				snprintf(spec, sizeof(spec), "tap=%s%s%s", tap, mac ? ",mac=" : "",
					 mac ? mac : "");
				if (add_net(c, spec, err, errlen))
					return -1;
			}
		} else if (!strcmp(key, "vsock")) {
			json_int_t cid = json_integer_value(json_object_get(v, "guest_cid"));
			const char *uds = jstr(v, "uds_path", &bad);
			if (bad || !uds || cid < 3)
				return ERR("config: vsock needs guest_cid >= 3 and uds_path");
			c->vsock_cid = (uint32_t)cid;
			set_str(&c->vsock_socket, uds);
		} else if (!strcmp(key, "entropy")) {
			c->rng = 1;
		} else if (!strcmp(key, "hypervisor")) {
			if (!json_is_string(v))
				return ERR("config: 'hypervisor' must be a string");
			set_str(&c->hypervisor, json_string_value(v));
		} else {
			/* logger, metrics, balloon, mmds-config, cpu-config, ... */
			fprintf(stderr,
				"hvabs-vmm: config: Firecracker section '%s' is not supported, "
				"ignored\n",
				key);
		}
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
		rc = load_firecracker(c, root, err, errlen);
	else
		rc = load_ours(c, root, err, errlen);
	json_decref(root);
	return rc;
}

static int load_file(struct vmm_config *c, const char *path, char *err, size_t errlen)
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

enum {
	OPT_CONFIG = 0x100,
	OPT_REBOOT,
	OPT_XEN_DOMID,
	OPT_BACKEND_OPTS,
	OPT_TIMEOUT,
	OPT_TRACE,
};

static const struct option long_opts[] = {
    {"hypervisor", required_argument, NULL, 'H'},
    {"backend-options", required_argument, NULL, OPT_BACKEND_OPTS},
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"initramfs", required_argument, NULL, 'i'},
    {"cmdline", required_argument, NULL, 'c'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'n'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"config-file", required_argument, NULL, OPT_CONFIG},
    {"reboot", required_argument, NULL, OPT_REBOOT},
    {"disk", required_argument, NULL, 'd'},
    {"net", required_argument, NULL, 'N'},
    {"rng", no_argument, NULL, 'r'},
    {"console", required_argument, NULL, 'C'},
    {"vsock", required_argument, NULL, 'v'},
    {"xen-domid", required_argument, NULL, OPT_XEN_DOMID},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"trace-exits", required_argument, NULL, OPT_TRACE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void vmm_usage(FILE *out, const char *argv0)
{
	fprintf(
	    out,
	    "usage: %s --kernel FILE [options]\n"
	    "  --hypervisor NAME        kvm, xen, mshv, mock, or a plugin path (default:\n"
	    "                           $HVABS_HYPERVISOR, else the first of kvm, mshv, xen)\n"
	    "  --kernel FILE            bzImage, or ELF vmlinux with a PVH note\n"
	    "  --initrd FILE            initramfs (alias --initramfs)\n"
	    "  --cmdline STRING         kernel command line\n"
	    "  --memory SIZE            guest RAM, e.g. 256M or size=1G (default 256M)\n"
	    "  --cpus N                 vCPUs, also boot=N (default 1)\n"
	    "  --config FILE            JSON config; also Firecracker's layout (--config-file)\n"
	    "  --reboot=exit|restart    what a guest reboot does (default exit, status 0)\n"
	    "  --disk path=FILE[,readonly=on][,serial=ID][,direct=on]   (repeatable)\n"
	    "  --net tap=NAME[,mac=MAC] --rng\n"
	    "  --console stdio|file=P|none  COM1 (ttyS0) on the terminal, into a file, or off\n"
	    "  --console pty|socket=P   also a virtio-console (hvc0) on a pty or Unix socket\n"
	    "  --vsock cid=N,socket=PATH\n"
	    "  --xen-domid N            attach to an existing paused Xen domain\n"
	    "  --backend-options STR    backend-specific key=value,...\n"
	    "  --timeout SECONDS        stop the guest and fail after this long\n"
	    "  --trace-exits FILE       record every exit (replay it on the mock backend\n"
	    "                           with --backend-options script=FILE)\n"
	    "  --quiet                  no status lines from the VMM itself\n"
	    "  --help, --version\n"
	    "Exit status: 0 guest power-off or reboot, 1 guest crash/panic/triple fault or VMM\n"
	    "error, 2 bad arguments.\n",
	    argv0);
}

enum vmm_parse vmm_config_parse_args(struct vmm_config *c, int argc, char **argv, char *err,
				     size_t errlen)
{
	int opt;

	/* The config file first, so options on the command line override it. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1)
		if (opt == OPT_CONFIG && load_file(c, optarg, err, errlen))
			return VMM_PARSE_ERROR;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		int rc = 0;
		char *end;
		switch (opt) {
		case 'H':
			set_str(&c->hypervisor, optarg);
			break;
		case OPT_BACKEND_OPTS:
			set_str(&c->backend_options, optarg);
			break;
		case 'k':
			set_str(&c->kernel, optarg);
			break;
		case 'i':
			set_str(&c->initrd, optarg);
			break;
		case 'c':
			set_str(&c->cmdline, optarg);
			break;
		case 'm':
			rc = set_memory(c, optarg, err, errlen);
			break;
		case 'n':
			rc = set_cpus(c, optarg, err, errlen);
			break;
		case OPT_CONFIG:
			break;
		case OPT_REBOOT:
			rc = set_reboot(c, optarg, err, errlen);
			break;
		case 'd':
			rc = add_disk(c, optarg, err, errlen);
			break;
		case 'N':
			rc = add_net(c, optarg, err, errlen);
			break;
		case 'r':
			c->rng = 1;
			break;
		case 'C':
			rc = set_console(c, optarg, err, errlen);
			break;
		case 'v':
			rc = each_kv(optarg, vsock_kv, c, err, errlen);
			if (!rc && (!c->vsock_cid || !c->vsock_socket))
				rc = ERR("--vsock: both cid= and socket= are required");
			break;
		case OPT_XEN_DOMID: {
			long d = strtol(optarg, &end, 10);
			if (!*optarg || *end || d < 1 || d > 0x7fef)
				rc =
				    ERR("--xen-domid %s: want a domain id from 1 to 32751", optarg);
			else
				c->xen_domid = (int)d;
			break;
		}
		case OPT_TIMEOUT: {
			long t = strtol(optarg, &end, 10);
			if (!*optarg || *end || t < 1)
				rc = ERR("--timeout %s: want a number of seconds", optarg);
			else
				c->timeout_s = (int)t;
			break;
		}
		case OPT_TRACE:
			set_str(&c->trace_exits, optarg);
			break;
		case 'q':
			c->quiet = 1;
			break;
		case 'h':
			vmm_usage(stdout, argv[0]);
			return VMM_PARSE_EXIT;
		case 'V':
			printf("hvabs-vmm %s (libhvabs %s, plugin ABI %d.%d)\n", hvabs_version(),
			       hvabs_version(), HVABS_ABI_MAJOR, HVABS_ABI_MINOR);
			return VMM_PARSE_EXIT;
		case ':':
			rc = ERR("option %s needs a value", argv[optind - 1]);
			break;
		default:
			rc = ERR("unknown option %s", argv[optind - 1]);
			break;
		}
		if (rc)
			return VMM_PARSE_ERROR;
	}
	if (optind < argc) {
		(void)ERR("unexpected argument '%s'", argv[optind]);
		return VMM_PARSE_ERROR;
	}
	if (!c->kernel && c->xen_domid < 0) {
		(void)ERR("no kernel: give --kernel FILE (or a config file with one)");
		return VMM_PARSE_ERROR;
	}
	/* Xen attach mode: the toolstack built the domain and decides what a reboot does. */
	if (c->xen_domid >= 0 && (c->kernel || c->initrd)) {
		(void)ERR(
		    "--xen-domid serves a domain its toolstack loaded: no --kernel or --initrd");
		return VMM_PARSE_ERROR;
	}
	if (c->xen_domid >= 0 && c->reboot == VMM_REBOOT_RESTART) {
		(void)ERR(
		    "--reboot=restart cannot be used with --xen-domid: the toolstack restarts "
		    "the domain (xl's on_reboot)");
		return VMM_PARSE_ERROR;
	}
	return VMM_PARSE_RUN;
}
