/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's API router: Firecracker's paths and methods, the replies it
 * gives (204 on success, 400 with {"fault_message": ...} otherwise), and
 * which resources may change before and after the start. Every PUT and
 * PATCH body is checked and applied by fc_resource_apply(), the validation
 * the config file uses too; this file only decides whether the request may
 * happen now.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_priv.h"
#include "fc_resources.h"

enum route_kind {
	R_INFO,
	R_VERSION,
	R_VM_CONFIG,
	R_RESOURCE, /* one of Firecracker's configurable resources */
	R_ACTIONS,
	R_VM,
	R_SNAPSHOT,
	R_ABSENT, /* a Firecracker resource hvabs-vmm does not have */
};

#define M_GET	(1u << VMM_API_GET)
#define M_PUT	(1u << VMM_API_PUT)
#define M_PATCH (1u << VMM_API_PATCH)

struct route {
	const char *path; /* exact, or a prefix ending in '/' followed by an id */
	bool has_id;
	unsigned methods;
	enum route_kind kind;
	enum fc_resource res; /* R_RESOURCE */
	const char *metric;   /* name in the metrics lines */
	const char *what;     /* R_ABSENT: what hvabs-vmm does not have */
};

static const struct route routes[] = {
    {"/", false, M_GET, R_INFO, 0, "instance_info", NULL},
    {"/version", false, M_GET, R_VERSION, 0, "vmm_version", NULL},
    {"/vm/config", false, M_GET, R_VM_CONFIG, 0, "vm_config", NULL},
    {"/machine-config", false, M_GET | M_PUT | M_PATCH, R_RESOURCE, FC_MACHINE_CONFIG,
     "machine_cfg", NULL},
    {"/boot-source", false, M_PUT, R_RESOURCE, FC_BOOT_SOURCE, "boot_source", NULL},
    {"/drives/", true, M_PUT | M_PATCH, R_RESOURCE, FC_DRIVE, "drive", NULL},
    {"/network-interfaces/", true, M_PUT | M_PATCH, R_RESOURCE, FC_NETWORK_INTERFACE, "network",
     NULL},
    {"/vsock", false, M_PUT, R_RESOURCE, FC_VSOCK, "vsock", NULL},
    {"/entropy", false, M_PUT, R_RESOURCE, FC_ENTROPY, "entropy", NULL},
    {"/logger", false, M_PUT, R_RESOURCE, FC_LOGGER, "logger", NULL},
    {"/metrics", false, M_PUT, R_RESOURCE, FC_METRICS, "metrics", NULL},
    {"/actions", false, M_PUT, R_ACTIONS, 0, "actions", NULL},
    {"/vm", false, M_PATCH, R_VM, 0, "vm", NULL},
    {"/snapshot/create", false, M_PUT, R_SNAPSHOT, 0, "snapshot_create", NULL},
    {"/snapshot/load", false, M_PUT, R_SNAPSHOT, 0, "snapshot_load", NULL},
    {"/balloon", false, ~0u, R_ABSENT, 0, "balloon", "balloon devices"},
    {"/balloon/", true, ~0u, R_ABSENT, 0, "balloon", "balloon devices"},
    {"/mmds", false, ~0u, R_ABSENT, 0, "mmds", "MMDS (the microVM metadata service)"},
    {"/mmds/", true, ~0u, R_ABSENT, 0, "mmds", "MMDS (the microVM metadata service)"},
    {"/cpu-config", false, ~0u, R_ABSENT, 0, "cpu_cfg", "CPU configuration templates"},
    {"/pmem/", true, ~0u, R_ABSENT, 0, "pmem", "virtio-pmem devices"},
    {"/hotplug/", true, ~0u, R_ABSENT, 0, "hotplug", "memory hotplug"},
    {"/serial", false, ~0u, R_ABSENT, 0, "serial", "the serial resource (use --console file=PATH)"},
};

void api_fault(struct vmm_api_reply *r, unsigned status, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(r, status, json_pack("{s:s}", "fault_message", msg));
}

void api_json(struct vmm_api_reply *r, unsigned status, json_t *body)
{
	r->status = status;
	free(r->body);
	r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
}

const char *vmm_api_state_name(struct vmm_api *api)
{
	switch (api->state) {
	case API_RUNNING:
		return "Running";
	case API_PAUSED:
		return "Paused";
	default:
		return "Not started";
	}
}

static enum vmm_api_method method_of(const char *m)
{
	if (!strcmp(m, "GET"))
		return VMM_API_GET;
	if (!strcmp(m, "PUT"))
		return VMM_API_PUT;
	if (!strcmp(m, "PATCH"))
		return VMM_API_PATCH;
	return VMM_API_OTHER;
}

/* The route of @p url, and the id after a prefix route ("" when none). */
static const struct route *find_route(const char *url, const char **id)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);
		if (!rt->has_id && !strcmp(url, rt->path)) {
			*id = "";
			return rt;
		}
		if (rt->has_id && !strncmp(url, rt->path, n) && url[n]) {
			*id = url + n;
			return rt;
		}
	}
	return NULL;
}

/* PUT /logger and /metrics: checked on a scratch config, opened, then recorded. */
static int put_sink(struct vmm_api *api, enum fc_resource res, const json_t *body, char *err,
		    size_t errlen)
{
	struct vmm_config tmp;
	int rc;

	vmm_config_init(&tmp);
	rc = fc_resource_apply(&tmp, res, NULL, body, false, err, errlen);
	if (!rc && res == FC_LOGGER)
		rc = vmm_log_open(api->log, &tmp.logger, err, errlen);
	else if (!rc)
		rc = vmm_metrics_open(api->metrics, tmp.metrics_path, err, errlen);
	if (!rc)
		rc = fc_resource_apply(api->cfg, res, NULL, body, false, err, errlen);
	vmm_config_fini(&tmp);
	return rc;
}

static void resource(struct vmm_api *api, const struct route *rt, const char *id,
		     enum vmm_api_method meth, const json_t *body, struct vmm_api_reply *r)
{
	char err[512] = "";
	bool patch = meth == VMM_API_PATCH;
	bool post_boot = patch && (rt->res == FC_DRIVE || rt->res == FC_NETWORK_INTERFACE);
	int rc;

	if (meth == VMM_API_GET) { /* GET /machine-config */
		json_t *all = fc_config_to_json(api->cfg);
		json_t *mc = json_object_get(all, "machine-config");
		api_json(r, 200, json_incref(mc ? mc : json_object()));
		json_decref(all);
		return;
	}
	if (rt->has_id && !fc_id_valid(id)) {
		api_fault(r, 400, "Invalid ID '%s': want 1 to 64 letters, digits or '_'.", id);
		return;
	}
	if (post_boot != (api->state != API_NOT_STARTED)) {
		api_fault(r, 400, "%s", post_boot ? API_BEFORE_START : API_AFTER_START);
		return;
	}
	if (rt->res == FC_DRIVE && post_boot) {
		api_patch_drive(api, id, body, r);
		return;
	}
	if (rt->res == FC_LOGGER || rt->res == FC_METRICS)
		rc = put_sink(api, rt->res, body, err, sizeof(err));
	else
		rc = fc_resource_apply(api->cfg, rt->res, rt->has_id ? id : NULL, body, patch, err,
				       sizeof(err));
	if (rc)
		api_fault(r, 400, "%s", err[0] ? err : "Invalid request.");
	else
		api_json(r, 204, NULL);
}

static json_t *instance_info(struct vmm_api *api)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "id", api->id, "state", vmm_api_state_name(api),
			 "vmm_version", hvabs_version(), "app_name", "hvabs-vmm");
}

static void dispatch(struct vmm_api *api, const struct route *rt, const char *url, const char *id,
		     enum vmm_api_method meth, const json_t *body, struct vmm_api_reply *r)
{
	switch (rt->kind) {
	case R_INFO:
		api_json(r, 200, instance_info(api));
		break;
	case R_VERSION:
		api_json(r, 200, json_pack("{s:s}", "firecracker_version", hvabs_version()));
		break;
	case R_VM_CONFIG:
		api_json(r, 200, fc_config_to_json(api->cfg));
		break;
	case R_RESOURCE:
		resource(api, rt, id, meth, body, r);
		break;
	case R_ACTIONS:
		api_put_actions(api, body, r);
		break;
	case R_VM:
		api_patch_vm(api, body, r);
		break;
	case R_SNAPSHOT:
		api_fault(r, 400, "Snapshots are not supported yet by hvabs-vmm (%s).", rt->path);
		break;
	case R_ABSENT:
		api_fault(r, 400, "hvabs-vmm does not support %s: %s is refused.", rt->what, url);
		break;
	}
}

/* The JSON body of a PUT or PATCH: an object, or a fault. */
static json_t *parse_body(const char *body, size_t len, struct vmm_api_reply *r)
{
	json_error_t je;

	if (!body || !len) {
		api_fault(r, 400, "The request needs a JSON body.");
		return NULL;
	}
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		api_fault(r, 400, "Invalid JSON body at line %d, column %d: %s.", je.line,
			  je.column, je.text);
	return j;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void vmm_api_handle(struct vmm_api *api, const char *method, const char *url, const char *body,
		    size_t len, struct vmm_api_reply *r)
{
	uint64_t t0 = now_us();
	enum vmm_api_method meth = method_of(method);
	const char *id = "";
	const struct route *rt = find_route(url, &id);
	json_t *j = NULL;

	r->status = 0;
	r->body = NULL;
	VMM_LOG(api->log, VMM_LOG_INFO, "The API server received a %s request on \"%s\".", method,
		url);
	if (!rt || meth == VMM_API_OTHER || !(rt->methods & (1u << meth)))
		api_fault(r, 400, "Invalid request method and/or path: %s %s.", method, url);
	else if (meth == VMM_API_GET || rt->kind == R_ABSENT || rt->kind == R_SNAPSHOT ||
		 (j = parse_body(body, len, r))) {
		pthread_mutex_lock(&api->lock);
		dispatch(api, rt, url, id, meth, j, r);
		pthread_mutex_unlock(&api->lock);
	}
	json_decref(j);
	if (r->status >= 300)
		VMM_LOG(api->log, VMM_LOG_INFO, "API request %s %s: %u: %s", method, url, r->status,
			r->body ? r->body : "");
	vmm_metrics_request(api->metrics, meth, rt ? rt->metric : "unknown", (int)r->status,
			    now_us() - t0);
}
