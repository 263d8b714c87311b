/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's configuration values: the struct every source fills (command
 * line, our JSON layout, Firecracker's) and the checked setters they all go
 * through, so a value means the same and is refused with the same words
 * wherever it comes from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

int vmm_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void vmm_config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_size = 256ull << 20;
	c->cpus = 1;
	c->xen_domid = -1;
}

void vmm_set_str(char **dst, const char *src)
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
		vmm_set_str(&d->path, v);
	else if (!strcmp(k, "serial") && *v)
		vmm_set_str(&d->serial, v);
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

int vmm_add_disk(struct vmm_config *c, const char *spec, char *err, size_t errlen)
{
	if (c->ndisks == VMM_MAX_DISKS)
		return ERR("too many disks (at most %d)", VMM_MAX_DISKS);
	struct vmm_disk *d = &c->disks[c->ndisks];
	memset(d, 0, sizeof(*d));
	/* A bare path is accepted too: --disk rootfs.img */
	if (!strchr(spec, '='))
		vmm_set_str(&d->path, spec);
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
		vmm_set_str(&n->tap, v);
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

int vmm_add_net(struct vmm_config *c, const char *spec, char *err, size_t errlen)
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

int vmm_set_console(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "stdio") || !strcmp(v, "tty"))
		c->console = VMM_CONSOLE_STDIO;
	else if (!strcmp(v, "pty"))
		c->console = VMM_CONSOLE_PTY;
	else if (!strcmp(v, "none") || !strcmp(v, "off"))
		c->console = VMM_CONSOLE_NONE;
	else if (!strncmp(v, "file=", 5) && v[5]) {
		c->console = VMM_CONSOLE_FILE;
		vmm_set_str(&c->console_path, v + 5);
	} else if (!strncmp(v, "socket=", 7) && v[7]) {
		c->console = VMM_CONSOLE_SOCKET;
		vmm_set_str(&c->console_path, v + 7);
	} else
		return ERR("--console %s: use stdio, pty, file=PATH, socket=PATH or none", v);
	return 0;
}

int vmm_set_cpus(struct vmm_config *c, const char *v, char *err, size_t errlen)
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

int vmm_set_memory(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	uint64_t sz;

	if (vmm_parse_size(v, &sz) || sz < (16ull << 20) || (sz & 0xfffff))
		return ERR("--memory %s: want a whole number of MiB, at least 16M (e.g. 256M, 1G)",
			   v);
	c->mem_size = sz;
	return 0;
}

int vmm_set_reboot(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "exit"))
		c->reboot = VMM_REBOOT_EXIT;
	else if (!strcmp(v, "restart"))
		c->reboot = VMM_REBOOT_RESTART;
	else
		return ERR("--reboot=%s: use exit or restart", v);
	return 0;
}
