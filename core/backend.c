/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend plugin loading and selection. Plugins are opened with
 * RTLD_NOW | RTLD_LOCAL (so an unresolved symbol fails here, not in the
 * middle of a guest run, and two plugins cannot interpose on each other)
 * and never closed, as libvirt does with its modules: a backend may have
 * started threads or registered handlers that outlive any one handle.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvabs/version.h"
#include "priv.h"

static const char *const autoprobe_order[] = {"kvm", "mshv", "xen"};

struct mandatory {
	const char *name;
	size_t off;
};

#define M(op)                                                                                      \
	{                                                                                          \
#op, offsetof(struct hvabs_backend_ops, op)                                        \
	}
static const struct mandatory mandatory_ops[] = {
    M(probe),	 M(vm_create),	 M(vm_destroy),	  M(vm_get_caps), M(mem_alloc),
    M(irq_line), M(vcpu_create), M(vcpu_destroy), M(vcpu_run),	  M(vcpu_kick),
    M(get_regs), M(set_regs),	 M(get_sregs),	  M(set_sregs),
};
#undef M

const char *hvabs_version(void)
{
	return HVABS_VERSION_STRING;
}

/* Records the one-line reason for a failure: in the caller's buffer and the log. */
static HVABS_PRINTF(4, 5) int fail(const struct hvabs_backend_opts *o, int level, int rc,
				   const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A caller that takes the message in errbuf reports it itself: log it
	 * only at debug level then, so a CLI does not print it twice. */
	if (o && o->errbuf && o->errbuf_len) {
		snprintf(o->errbuf, o->errbuf_len, "%s", msg);
		level = HVABS_LOG_DEBUG;
	}
	hvabs_log(o ? &o->logger : NULL, (enum hvabs_log_level)level, CORE, "%s", msg);
	return rc;
}

static int valid_name(const char *name)
{
	if (!*name || strlen(name) > 24)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return 0;
	return 1;
}

/* Looks for the entry of another ABI major to turn "no symbol" into "wrong version". */
static int other_major(void *dl)
{
	char sym[64];

	for (int major = 0; major < 16; major++) {
		if (major == HVABS_ABI_MAJOR)
			continue;
		snprintf(sym, sizeof(sym), "hvabs_backend_entry_v%d", major);
		if (dlsym(dl, sym))
			return major;
	}
	return -1;
}

static int check_table(const char *path, const struct hvabs_backend_ops *ops,
		       const struct hvabs_backend_opts *o, int level)
{
	uint32_t major = HVABS_ABI_VERSION_MAJOR(ops->hdr.abi_version);

	if (major != HVABS_ABI_MAJOR)
		return fail(o, level, -EPROTONOSUPPORT,
			    "%s: plugin ABI major version mismatch: the plugin speaks ABI %u.%u, "
			    "this libhvabs %s speaks ABI %u.%u",
			    path, major, HVABS_ABI_VERSION_MINOR(ops->hdr.abi_version),
			    HVABS_VERSION_STRING, HVABS_ABI_MAJOR, HVABS_ABI_MINOR);
	if (ops->hdr.struct_size < offsetof(struct hvabs_backend_ops, probe))
		return fail(o, level, -ENOSYS, "%s: operations table too short (struct_size %u)",
			    path, ops->hdr.struct_size);
	for (size_t i = 0; i < sizeof(mandatory_ops) / sizeof(mandatory_ops[0]); i++) {
		size_t end = mandatory_ops[i].off + sizeof(void (*)(void));
		void *fn = NULL;
		if (ops->hdr.struct_size >= end)
			memcpy(&fn, (const char *)ops + mandatory_ops[i].off, sizeof(fn));
		if (!fn)
			return fail(o, level, -ENOSYS,
				    "%s: mandatory op '%s' is missing (operations table "
				    "struct_size %u, the op ends at %zu)",
				    path, mandatory_ops[i].name, ops->hdr.struct_size, end);
	}
	return 0;
}

static int load_path(const char *path, const struct hvabs_backend_opts *o, int level,
		     struct hvabs_backend **out)
{
	struct hvabs_backend *be;
	char why[256] = "";
	int rc;

	if (access(path, F_OK) != 0)
		return fail(o, level, -ENOENT, "%s: backend plugin not found", path);
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return fail(o, level, -ELIBBAD, "%s: not a loadable plugin: %s", path, dlerror());
	hvabs_backend_entry_v1_fn entry;
	*(void **)&entry = dlsym(dl, HVABS_BACKEND_ENTRY_V1);
	if (!entry) {
		int major = other_major(dl);
		if (major >= 0)
			return fail(o, level, -EPROTONOSUPPORT,
				    "%s: plugin ABI major version mismatch: the plugin speaks ABI "
				    "%d (it exports hvabs_backend_entry_v%d), this libhvabs %s "
				    "speaks ABI %d",
				    path, major, major, HVABS_VERSION_STRING, HVABS_ABI_MAJOR);
		return fail(o, level, -ENOEXEC,
			    "%s: not an hvabs backend plugin: no symbol " HVABS_BACKEND_ENTRY_V1,
			    path);
	}
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->path = strdup(path);
	if (o)
		be->logger = o->logger;
	be->host.hdr = HVABS_HDR_INIT(struct hvabs_host);
	be->host.core_version = HVABS_VERSION_STRING;
	be->host.log_opaque = be;
	be->host.log = core_host_log;

	be->ops = entry(&be->host);
	if (!be->ops) {
		rc = fail(o, level, -ENOEXEC,
			  "%s: hvabs_backend_entry_v1 returned no operations table", path);
		goto err;
	}
	rc = check_table(path, be->ops, o, level);
	if (rc)
		goto err;
	snprintf(be->name, sizeof(be->name), "%s", be->ops->name ? be->ops->name : "?");
	rc = be->ops->probe(&be->host, why, sizeof(why));
	if (rc == -EACCES) {
		rc = fail(o, level, rc, "%s: no permission to use hypervisor '%s': %s", path,
			  be->name, why[0] ? why : "access denied");
		goto err;
	} else if (rc < 0) {
		rc = fail(o, level, rc, "%s: hypervisor '%s' is not available on this host: %s",
			  path, be->name, why[0] ? why : strerror(-rc));
		goto err;
	}
	*out = be;
	return 0;
err:
	free(be->path);
	free(be);
	return rc;
}

static int open_named(const char *name, const struct hvabs_backend_opts *o, int level,
		      struct hvabs_backend **out)
{
	char tried[2048];

	if (strchr(name, '/'))
		return load_path(name, o, level, out);
	if (!valid_name(name))
		return fail(o, level, -EINVAL, "invalid backend name '%s'", name);
	char *path = core_plugin_search(name, o, tried, sizeof(tried));
	if (!path)
		return fail(o, level, -ENOENT, "backend '%s' not found (searched %s)", name,
			    tried[0] ? tried : "nothing: no search path");
	int rc = load_path(path, o, level, out);
	free(path);
	return rc;
}

static int autoprobe(const struct hvabs_backend_opts *o, struct hvabs_backend **out)
{
	char reasons[2048] = "";
	char errbuf[512];
	struct hvabs_backend_opts quiet = o ? *o : (struct hvabs_backend_opts){0};
	size_t used = 0;
	int saw_eacces = 0, saw_present = 0;

	quiet.errbuf = errbuf;
	quiet.errbuf_len = sizeof(errbuf);
	for (size_t i = 0; i < sizeof(autoprobe_order) / sizeof(autoprobe_order[0]); i++) {
		int rc = open_named(autoprobe_order[i], &quiet, HVABS_LOG_DEBUG, out);
		if (rc == 0)
			return 0;
		if (rc == -EACCES)
			saw_eacces = 1;
		if (rc != -ENOENT)
			saw_present = 1;
		int n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s", used ? "; " : "",
				 errbuf);
		if (n > 0 && (size_t)n < sizeof(reasons) - used)
			used += (size_t)n;
	}
	return fail(o, HVABS_LOG_ERROR,
		    saw_eacces	  ? -EACCES
		    : saw_present ? -ENODEV
				  : -ENOENT,
		    "no usable hypervisor backend (tried kvm, mshv, xen): %s", reasons);
}

int hvabs_backend_open(const char *name, const struct hvabs_backend_opts *opts,
		       struct hvabs_backend **out)
{
	if (!out)
		return -EINVAL;
	if (!name || !*name) {
		name = getenv("HVABS_HYPERVISOR");
		if (name && !*name)
			name = NULL;
	}
	if (!name || !strcmp(name, "auto"))
		return autoprobe(opts, out);
	return open_named(name, opts, HVABS_LOG_ERROR, out);
}

void hvabs_backend_close(struct hvabs_backend *be)
{
	if (!be)
		return;
	free(be->path);
	free(be);
}

const char *hvabs_backend_name(const struct hvabs_backend *be)
{
	return be->name;
}

const char *hvabs_backend_path(const struct hvabs_backend *be)
{
	return be->path;
}

uint32_t hvabs_backend_abi_version(const struct hvabs_backend *be)
{
	return be->ops->hdr.abi_version;
}
