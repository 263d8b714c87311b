/* SPDX-License-Identifier: Apache-2.0 */
/* What the two JSON layouts share: jansson, a string lookup, and Firecracker's entry point. */
#ifndef HVABS_VMM_CONFIG_JSON_H
#define HVABS_VMM_CONFIG_JSON_H

#include <jansson.h>

#include "config_priv.h"

/* The string at o[key], NULL when absent; sets *bad when it is not a string. */
const char *vmm_jstr(json_t *o, const char *key, int *bad);

/* Firecracker's --config-file layout (the root has boot-source or machine-config). */
int vmm_config_load_firecracker(struct vmm_config *c, json_t *root, char *err, size_t errlen);

#endif
