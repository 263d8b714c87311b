/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's resources (boot-source, machine-config, drives, ...) as one
 * validation path, shared by --config-file and the API: each body is checked
 * as Firecracker checks it (strict types, unknown fields refused, required
 * fields required, null means absent) and applied to the config only when
 * the whole body is valid.
 */
#ifndef HVABS_VMM_FC_RESOURCES_H
#define HVABS_VMM_FC_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"

/* One of Firecracker's configurable resources. New values are only ever appended. */
enum fc_resource {
	FC_BOOT_SOURCE,
	FC_MACHINE_CONFIG,
	FC_DRIVE,
	FC_NETWORK_INTERFACE,
	FC_VSOCK,
	FC_ENTROPY,
	FC_LOGGER,
	FC_METRICS,
	/* Resources hvabs-vmm does not have: refused when set, accepted when null/empty. */
	FC_BALLOON,
	FC_MMDS_CONFIG,
	FC_CPU_CONFIG,
	FC_PMEM,
	FC_MEMORY_HOTPLUG,
	FC_SERIAL,
	FC_RESOURCE_COUNT, /* not a resource */
};

/*
 * Validates one resource body as Firecracker would (PUT semantics, or PATCH
 * when @p patch is true; @p id is the path id for drives and network
 * interfaces, NULL otherwise, in which case the body's own id is used) and
 * applies it to @p cfg only if it is valid. A NULL or JSON-null @p body means
 * "absent": accepted, nothing changes.
 * Returns 0, or -EINVAL (bad input) / -ENOTSUP (valid for Firecracker but not
 * something hvabs-vmm has) with a Firecracker-style fault message naming the
 * field in @p err. @p cfg is unchanged on error.
 */
int fc_resource_apply(struct vmm_config *cfg, enum fc_resource kind, const char *id,
		      const json_t *body, bool patch, char *err, size_t errlen);

/* The whole configuration as Firecracker's GET /vm/config returns it (new reference). */
json_t *fc_config_to_json(const struct vmm_config *cfg);

/* "machine-config" -> FC_MACHINE_CONFIG (config-file key / API path name). -1 when unknown. */
int fc_resource_from_name(const char *name, enum fc_resource *out);

/* The config-file key of @p kind ("boot-source", "drives", ...). */
const char *fc_resource_name(enum fc_resource kind);

/* True when @p id is a valid Firecracker resource id (1-64 of [A-Za-z0-9_]). */
bool fc_id_valid(const char *id);

#endif
