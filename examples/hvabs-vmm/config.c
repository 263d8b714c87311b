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
	free(c->logger.path);
	free(c->logger.module);
	free(c->metrics_path);
	free(c->api_sock);
	for (unsigned i = 0; i < c->ndisks; i++)
		vmm_disk_free(&c->disks[i]);
	for (unsigned i = 0; i < c->nnets; i++)
		vmm_net_free(&c->nets[i]);
	memset(c, 0, sizeof(*c));
}

/*
 * Decimal digits only: strtoull's base 0 would read "0100M" as octal and
 * "0x10M" as hex, which nobody writing a size means.
 */
int vmm_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;

	if (!strncmp(s, "size=", 5))
		s += 5;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	if (*end) {
		const char *u = strchr(units, *end >= 'a' ? *end - 'a' + 'A' : *end);
		if (!u)
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
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

char *vmm_config_kernel_cmdline(const struct vmm_config *c)
{
	const char *base = c->cmdline ? c->cmdline : "console=ttyS0 panic=-1";
	char root[128] = "";

	/* Firecracker's is_root_device: the disk is /dev/vdX (or its partition by PARTUUID). */
	for (unsigned i = 0; i < c->ndisks; i++) {
		const struct vmm_disk *d = &c->disks[i];
		if (!d->root)
			continue;
		if (d->partuuid)
			snprintf(root, sizeof(root), " root=PARTUUID=%s %s", d->partuuid,
				 d->readonly ? "ro" : "rw");
		else
			snprintf(root, sizeof(root), " root=/dev/vd%c %s", 'a' + (char)i,
				 d->readonly ? "ro" : "rw");
		break;
	}
	size_t len = strlen(base) + strlen(root) + 1;
	char *s = malloc(len);
	if (s)
		snprintf(s, len, "%s%s", base, root);
	return s;
}
