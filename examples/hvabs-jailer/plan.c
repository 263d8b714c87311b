/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the jail holds: the paths hvabs-vmm's own arguments name (parsed with
 * hvabs-vmm's parser, so the jailer and the VMM agree on every option and on
 * config files), the backend's device nodes, and the VMM binary, libhvabs,
 * its plugin directory and the shared libraries all of them load.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../hvabs-vmm/config.h"
#include "jailer.h"

/* "/a/./b//c/../d" -> "/a/b/d", in place; -1 for a path that climbs above "/". */
static int normalize(char *p)
{
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t n = (size_t)(in - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out == p)
				return -1;
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
	return 0;
}

int jail_add(struct jail *j, const char *path, enum jail_kind kind)
{
	char abs[PATH_MAX * 2];

	snprintf(abs, sizeof(abs), "%s/%s", path[0] == '/' ? "" : j->cwd, path);
	if (normalize(abs) || strlen(abs) >= PATH_MAX)
		return jail_usage_error("%s: not a path the jail can hold", path);
	for (size_t i = 0; i < j->nents; i++)
		if (!strcmp(j->ents[i].path, abs)) {
			/* Read-write wins: a file named both ways stays usable. */
			if (kind == JAIL_RW && j->ents[i].kind == JAIL_RO)
				j->ents[i].kind = JAIL_RW;
			return 0;
		}
	if (j->nents == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 32;
		struct jail_entry *e = realloc(j->ents, cap * sizeof(*e));
		if (!e)
			return jail_fail("plan", "", ENOMEM);
		j->ents = e;
		j->cap = cap;
	}
	struct jail_entry e = {strdup(abs), strdup(path), kind};
	if (!e.path || !e.source) {
		free(e.path);
		free(e.source);
		return jail_fail("plan", path, ENOMEM);
	}
	j->ents[j->nents++] = e;
	return 0;
}

/*
 * A socket or output file the VMM creates: its directory, owned by the VMM.
 * An output file that already exists (a FIFO, a log) is bound read-write.
 */
static int add_created(struct jail *j, const char *path, bool socket)
{
	struct stat st;
	char dir[PATH_MAX * 2];

	if (!socket && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return jail_add(j, path, JAIL_RW);
	snprintf(dir, sizeof(dir), "%s/%s", path[0] == '/' ? "" : j->cwd, path);
	char *d = dirname(dir);
	if (normalize(d) || !strcmp(d, "/"))
		return jail_usage_error("%s: put it in a directory of its own: that directory "
					"is given to the VMM",
					path);
	return jail_add(j, d, JAIL_OWNED_DIR);
}

static int add_backend(struct jail *j, const char *hv)
{
	static const char *const xen_nodes[] = {"privcmd",  "evtchn", "gntdev",
						"gntalloc", "xenbus", "hypercall"};
	static const char *const xen_libs[] = {"libxenctrl.so.4.17", "libxendevicemodel.so.1",
					       "libxenforeignmemory.so.1", "libxenevtchn.so.1"};
	char p[64];
	int rc = 0;

	if (hv && strcmp(hv, "kvm") && strcmp(hv, "mshv") && strcmp(hv, "xen") &&
	    strcmp(hv, "mock"))
		return jail_usage_error("hypervisor '%s': the jailer knows kvm, mshv, xen and "
					"mock (give it --hypervisor NAME)",
					hv);
	if (hv ? !strcmp(hv, "kvm") : access("/dev/kvm", F_OK) == 0)
		rc |= jail_add(j, "/dev/kvm", JAIL_DEV);
	if (hv ? !strcmp(hv, "mshv") : access("/dev/mshv", F_OK) == 0)
		rc |= jail_add(j, "/dev/mshv", JAIL_DEV);
	if (hv ? !strcmp(hv, "xen") : access("/dev/xen", F_OK) == 0) {
		for (size_t i = 0; i < sizeof(xen_nodes) / sizeof(xen_nodes[0]); i++) {
			snprintf(p, sizeof(p), "/dev/xen/%s", xen_nodes[i]);
			if (access(p, F_OK) == 0)
				rc |= jail_add(j, p, JAIL_DEV);
		}
		/* The Xen plugin dlopens these by soname: no ELF header names them. */
		for (size_t i = 0; i < sizeof(xen_libs) / sizeof(xen_libs[0]); i++)
			if (jail_add_soname(j, xen_libs[i]) && hv)
				return -1;
	}
	return rc ? -1 : 0;
}

/* The --config / --config-file files: parsed by the VMM again inside the jail. */
static int add_config_files(struct jail *j)
{
	for (int i = 0; i < j->vmm_argc; i++) {
		const char *a = j->vmm_argv[i];
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		if ((n == 8 && !strncmp(a, "--config", 8)) ||
		    (n == 13 && !strncmp(a, "--config-file", 13))) {
			const char *f = eq ? eq + 1 : i + 1 < j->vmm_argc ? j->vmm_argv[++i] : NULL;
			if (f && jail_add(j, f, JAIL_RO))
				return -1;
		}
	}
	return 0;
}

/* The mock backend's script=FILE (tests/guest/tiny.script); other options name no file. */
static int add_backend_files(struct jail *j, const char *opts)
{
	char *copy = strdup(opts), *save = NULL;
	int rc = copy ? 0 : jail_fail("plan", "", ENOMEM);

	for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv && !rc;
	     kv = strtok_r(NULL, ",", &save))
		if (!strncmp(kv, "script=", 7) && kv[7])
			rc = jail_add(j, kv + 7, JAIL_RO);
	free(copy);
	return rc;
}

static int add_vm(struct jail *j, const struct vmm_config *c)
{
	int rc = 0;

	if (c->backend_options)
		rc |= add_backend_files(j, c->backend_options);

	if (c->kernel)
		rc |= jail_add(j, c->kernel, JAIL_RO);
	if (c->initrd)
		rc |= jail_add(j, c->initrd, JAIL_RO);
	for (unsigned i = 0; i < c->ndisks; i++)
		rc |= jail_add(j, c->disks[i].path, c->disks[i].readonly ? JAIL_RO : JAIL_RW);
	if (c->console_path)
		rc |= add_created(j, c->console_path, c->console == VMM_CONSOLE_SOCKET);
	if (c->vsock_socket)
		rc |= add_created(j, c->vsock_socket, true);
	if (c->api_sock)
		rc |= add_created(j, c->api_sock, true);
	if (c->trace_exits)
		rc |= add_created(j, c->trace_exits, false);
	if (c->metrics_path)
		rc |= add_created(j, c->metrics_path, false);
	if (c->logger.path)
		rc |= add_created(j, c->logger.path, false);
	if (c->nnets)
		rc |= jail_add(j, "/dev/net/tun", JAIL_DEV);
	return rc ? -1 : 0;
}

/* hvabs-vmm's arguments as it will see them; --help and --version name no file. */
static int add_vmm_args(struct jail *j)
{
	struct vmm_config c;
	char err[512];
	int rc = 0;

	for (int i = 0; i < j->vmm_argc; i++)
		if (!strcmp(j->vmm_argv[i], "--help") || !strcmp(j->vmm_argv[i], "-h") ||
		    !strcmp(j->vmm_argv[i], "--version"))
			return 0;
	char **argv = calloc((size_t)j->vmm_argc + 2, sizeof(*argv));
	if (!argv)
		return jail_fail("plan", "", ENOMEM);
	argv[0] = j->exec_file;
	memcpy(argv + 1, j->vmm_argv, (size_t)j->vmm_argc * sizeof(*argv));
	vmm_config_init(&c);
	if (vmm_config_parse_args(&c, j->vmm_argc + 1, argv, err, sizeof(err)) != VMM_PARSE_RUN)
		rc = jail_usage_error("hvabs-vmm's options: %s", err);
	if (!rc)
		rc = add_vm(j, &c) || add_config_files(j) ||
		     add_backend(j, j->hypervisor ? j->hypervisor : c.hypervisor);
	vmm_config_fini(&c);
	free(argv);
	return rc ? -1 : 0;
}

/* The VMM, libhvabs beside the plugins it loads, and every library of both. */
static int add_program(struct jail *j)
{
	char lib[PATH_MAX], plugins[PATH_MAX + 8];

	if (jail_add(j, j->exec_file, JAIL_RO) || jail_add_libs(j, j->exec_file, true))
		return -1;
	if (access("/etc/ld.so.cache", R_OK) == 0 && jail_add(j, "/etc/ld.so.cache", JAIL_RO))
		return -1;
	/* core/plugin_path.c: plugins are in <dir of realpath(libhvabs)>/hvabs. */
	for (size_t i = 0; i < j->nents; i++) {
		const char *base = strrchr(j->ents[i].path, '/');
		if (strncmp(base, "/libhvabs.so", 12) || !realpath(j->ents[i].path, lib))
			continue;
		snprintf(plugins, sizeof(plugins), "%s/hvabs", dirname(lib));
		DIR *d = opendir(plugins);
		if (!d)
			return 0; /* a static libhvabs, or no plugins installed */
		struct dirent *e;
		while ((e = readdir(d))) {
			char so[PATH_MAX * 2];
			size_t n = strlen(e->d_name);
			snprintf(so, sizeof(so), "%s/%s", plugins, e->d_name);
			if (n > 3 && !strcmp(e->d_name + n - 3, ".so"))
				jail_add_libs(j, so, false);
		}
		closedir(d);
		return jail_add(j, plugins, JAIL_RO);
	}
	return 0;
}

void jail_fini(struct jail *j)
{
	for (size_t i = 0; i < j->nents; i++) {
		free(j->ents[i].path);
		free(j->ents[i].source);
	}
	free(j->ents);
	j->ents = NULL;
	j->nents = j->cap = 0;
}

int jail_plan(struct jail *j)
{
	const char *name = strrchr(j->exec_file, '/') + 1;

	if (!getcwd(j->cwd, sizeof(j->cwd)))
		return jail_fail("getcwd", "", errno);
	if (snprintf(j->root, sizeof(j->root), "%s/%s/%s/root", j->base, name, j->id) >=
	    (int)sizeof(j->root))
		return jail_usage_error("--chroot-base-dir %s: too long", j->base);
	if (!j->parent_cgroup)
		j->parent_cgroup = name;
	if (add_program(j) || add_vmm_args(j))
		return -1;
	return jail_add(j, "/dev/urandom", JAIL_DEV);
}
