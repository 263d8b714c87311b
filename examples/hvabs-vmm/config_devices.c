/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The devices of hvabs-vmm's configuration: disks and NICs as every source
 * fills them (the command line's k=v lists, both JSON layouts, the API),
 * checked in one place, and the command line's --disk, --net and --vsock.
 * JSON sources fill the structs directly: no value is ever turned back into
 * a k=v string, so a comma inside a path or an id cannot add options.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/devices/virtio_blk.h>

#include "config_priv.h"

void vmm_disk_free(struct vmm_disk *d)
{
	free(d->id);
	free(d->path);
	free(d->serial);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

void vmm_net_free(struct vmm_net *n)
{
	free(n->id);
	free(n->tap);
	memset(n, 0, sizeof(*n));
}

int vmm_disk_find(const struct vmm_config *c, const char *id)
{
	for (unsigned i = 0; id && i < c->ndisks; i++)
		if (c->disks[i].id && !strcmp(c->disks[i].id, id))
			return (int)i;
	return -1;
}

int vmm_net_find(const struct vmm_config *c, const char *id)
{
	for (unsigned i = 0; id && i < c->nnets; i++)
		if (c->nets[i].id && !strcmp(c->nets[i].id, id))
			return (int)i;
	return -1;
}

bool vmm_backend_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

bool vmm_ifname_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 15 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || !isgraph((unsigned char)name[i]))
			return false;
	return true;
}

/* A serial is what the guest reads back as the disk's id: at most 20 printable bytes. */
static bool serial_ok(const char *s)
{
	if (strlen(s) > 20)
		return false;
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			return false;
	return true;
}

/* A PARTUUID goes onto the kernel command line: letters, digits and '-' only. */
static bool partuuid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* The first of "<prefix>0", "<prefix>1", ... that no entry uses. */
static char *free_id(const struct vmm_config *c, const char *prefix, bool disk)
{
	char id[32];

	for (unsigned i = 0;; i++) {
		snprintf(id, sizeof(id), "%s%u", prefix, i);
		if ((disk ? vmm_disk_find(c, id) : vmm_net_find(c, id)) < 0)
			return strdup(id);
	}
}

static int disk_check(const struct vmm_config *c, const struct vmm_disk *d, int self, char *err,
		      size_t errlen)
{
	if (!d->path || !*d->path)
		return ERR("a path is required");
	if (d->serial && !serial_ok(d->serial))
		return ERR("serial '%s': at most 20 printable bytes", d->serial);
	if (d->partuuid && !partuuid_ok(d->partuuid))
		return ERR("partuuid '%s': letters, digits and '-' only", d->partuuid);
	for (unsigned i = 0; d->root && i < c->ndisks; i++)
		if ((int)i != self && c->disks[i].root)
			return ERR("a root block device already exists (drive %s)", c->disks[i].id);
	if (self < 0 && c->ndisks == VMM_MAX_DISKS)
		return ERR("too many disks (at most %d)", VMM_MAX_DISKS);
	return 0;
}

int vmm_disk_put(struct vmm_config *c, struct vmm_disk *d, char *err, size_t errlen)
{
	int self = vmm_disk_find(c, d->id);

	if (disk_check(c, d, self, err, errlen)) {
		vmm_disk_free(d);
		return -1;
	}
	if (!d->id)
		d->id = free_id(c, "drive", true);
	if (self >= 0) {
		vmm_disk_free(&c->disks[self]);
		c->disks[self] = *d;
	} else {
		self = (int)c->ndisks++;
		c->disks[self] = *d;
	}
	/* The root disk is the first, so /dev/vda, as Firecracker orders them. */
	if (d->root && self > 0) {
		struct vmm_disk root = c->disks[self];
		memmove(&c->disks[1], &c->disks[0], (size_t)self * sizeof(c->disks[0]));
		c->disks[0] = root;
	}
	memset(d, 0, sizeof(*d));
	return 0;
}

static int net_check(const struct vmm_config *c, const struct vmm_net *n, int self, char *err,
		     size_t errlen)
{
	if (!n->tap || !vmm_ifname_ok(n->tap))
		return ERR("tap name '%s': 1-15 bytes, no '/', ':' or spaces",
			   n->tap ? n->tap : "");
	if (n->has_mac && (n->mac[0] & 1))
		return ERR("mac %02x:%02x:%02x:%02x:%02x:%02x is a multicast address", n->mac[0],
			   n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	for (unsigned i = 0; i < c->nnets; i++) {
		if ((int)i == self)
			continue;
		if (!strcmp(c->nets[i].tap, n->tap))
			return ERR("tap %s is already used by %s", n->tap, c->nets[i].id);
		if (n->has_mac && c->nets[i].has_mac && !memcmp(c->nets[i].mac, n->mac, 6))
			return ERR("the mac of %s is already used by %s", n->id ? n->id : n->tap,
				   c->nets[i].id);
	}
	if (self < 0 && c->nnets == VMM_MAX_NETS)
		return ERR("too many network interfaces (at most %d)", VMM_MAX_NETS);
	return 0;
}

int vmm_net_put(struct vmm_config *c, struct vmm_net *n, char *err, size_t errlen)
{
	int self = vmm_net_find(c, n->id);

	if (net_check(c, n, self, err, errlen)) {
		vmm_net_free(n);
		return -1;
	}
	if (!n->id)
		n->id = free_id(c, "net", false);
	if (self >= 0)
		vmm_net_free(&c->nets[self]);
	else
		self = (int)c->nnets++;
	c->nets[self] = *n;
	memset(n, 0, sizeof(*n));
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

/* Walks the command line's "k=v,k=v"; calls @p fn for each pair. */
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

/* --disk num_queues=1..16 and engine=sync|io_uring (virtio-blk's I/O engine). */
static int disk_io_kv(struct vmm_disk *d, const char *k, const char *v, char *err, size_t errlen)
{
	char *end;

	if (!strcmp(k, "engine")) {
		if (strcmp(v, "sync") && strcmp(v, "io_uring"))
			return ERR("--disk: engine=%s: use sync or io_uring", v);
		d->io_uring = !strcmp(v, "io_uring");
		return 0;
	}
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n < 1 || n > HVABS_VIRTIO_BLK_MAX_QUEUES)
		return ERR("--disk: num_queues=%s: use 1 to %u", v, HVABS_VIRTIO_BLK_MAX_QUEUES);
	d->num_queues = (unsigned)n;
	return 0;
}

static int disk_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_disk *d = ctx;

	if (!strcmp(k, "path") && *v)
		vmm_set_str(&d->path, v);
	else if (!strcmp(k, "serial") && *v)
		vmm_set_str(&d->serial, v);
	else if (!strcmp(k, "readonly")) {
		if (parse_bool(*v ? v : "on", &d->readonly))
			return ERR("--disk: readonly=%s: use on or off", v);
	} else if (!strcmp(k, "direct")) {
		if (parse_bool(*v ? v : "on", &d->direct))
			return ERR("--disk: direct=%s: use on or off", v);
	} else if (!strcmp(k, "num_queues") || !strcmp(k, "engine")) {
		return disk_io_kv(d, k, v, err, errlen);
	} else
		return ERR("--disk: unknown key '%s' (path, readonly, serial, direct, num_queues, "
			   "engine)",
			   k);
	return 0;
}

int vmm_add_disk(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	struct vmm_disk d = {0};

	/* A bare path is accepted too: --disk rootfs.img */
	if (!strchr(spec, '='))
		vmm_set_str(&d.path, spec);
	else if (each_kv(spec, disk_kv, &d, err, errlen)) {
		vmm_disk_free(&d);
		return -1;
	}
	if (!d.path) {
		vmm_disk_free(&d);
		return ERR("--disk %s: path= is required", spec);
	}
	if (vmm_disk_put(c, &d, err, errlen)) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%s", err);
		return ERR("--disk: %s", sub);
	}
	return 0;
}

static int net_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_net *n = ctx;

	if (!strcmp(k, "tap") && *v) {
		vmm_set_str(&n->tap, v);
	} else if (!strcmp(k, "mac")) {
		if (vmm_parse_mac(v, n->mac))
			return ERR("--net: bad mac '%s' (want xx:xx:xx:xx:xx:xx)", v);
		n->has_mac = 1;
	} else
		return ERR("--net: unknown key '%s' (tap, mac)", k);
	return 0;
}

int vmm_add_net(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	struct vmm_net n = {0};

	if (each_kv(spec, net_kv, &n, err, errlen)) {
		vmm_net_free(&n);
		return -1;
	}
	if (!n.tap) {
		vmm_net_free(&n);
		return ERR("--net: tap= is required");
	}
	if (vmm_net_put(c, &n, err, errlen)) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%s", err);
		return ERR("--net: %s", sub);
	}
	return 0;
}

static int vsock_kv(void *ctx, const char *k, const char *v, char *err, size_t errlen)
{
	struct vmm_config *c = ctx;
	char *end;

	if (!strcmp(k, "cid")) {
		unsigned long long cid = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || cid < 3 || cid >= 0xffffffffull)
			return ERR("--vsock: cid=%s: want a number from 3 to 4294967294", v);
		c->vsock_cid = (uint32_t)cid;
	} else if (!strcmp(k, "socket") && *v) {
		vmm_set_str(&c->vsock_socket, v);
	} else
		return ERR("--vsock: unknown key '%s' (cid, socket)", k);
	return 0;
}

int vmm_set_vsock(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	if (each_kv(spec, vsock_kv, c, err, errlen))
		return -1;
	if (!c->vsock_cid || !c->vsock_socket)
		return ERR("--vsock: both cid= and socket= are required");
	return 0;
}
