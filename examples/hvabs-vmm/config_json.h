/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two JSON layouts share: jansson, strict typed field readers
 * (null means absent; a wrong type names the field and the type it wants),
 * and Firecracker's entry point.
 */
#ifndef HVABS_VMM_CONFIG_JSON_H
#define HVABS_VMM_CONFIG_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "config_priv.h"

/*
 * The readers below return 1 when the field is present (value in *out), 0
 * when it is absent or null (*out untouched; with @p required that is an
 * error instead), or -1 with a reason naming the field in err.
 */
int vmm_json_str(const json_t *o, const char *name, bool required, const char **out, char *err,
		 size_t errlen);
int vmm_json_bool(const json_t *o, const char *name, bool required, int *out, char *err,
		  size_t errlen);
/* An integer from min to max; @p want describes the range for the message. */
int vmm_json_uint(const json_t *o, const char *name, bool required, uint64_t min, uint64_t max,
		  uint64_t *out, char *err, size_t errlen);

/* Refuses a field of @p o not in the NULL-terminated @p known. 0 or -1. */
int vmm_json_known(const json_t *o, const char *const *known, char *err, size_t errlen);

/* A short description of a JSON value for messages: string "2", integer 5, ... */
void vmm_json_describe(const json_t *v, char *buf, size_t len);

/* Firecracker's --config-file layout (the root has boot-source or machine-config). */
int vmm_config_load_firecracker(struct vmm_config *c, json_t *root, char *err, size_t errlen);

#endif
