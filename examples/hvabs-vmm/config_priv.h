/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checked setters every config source (command line, our JSON layout,
 * Firecracker's) goes through. Each returns 0, or -1 with a one-line reason
 * in err that names the option as the user wrote it.
 */
#ifndef HVABS_VMM_CONFIG_PRIV_H
#define HVABS_VMM_CONFIG_PRIV_H

#include "config.h"

/* Formats a reason into err and returns -1. */
__attribute__((format(printf, 3, 4))) int vmm_errf(char *err, size_t errlen, const char *fmt, ...);
#define ERR(...) vmm_errf(err, errlen, __VA_ARGS__)

/* Replaces *dst with a copy of src (NULL clears it). */
void vmm_set_str(char **dst, const char *src);

/* --disk path=FILE[,readonly=on][,serial=ID][,direct=on], or a bare path. */
int vmm_add_disk(struct vmm_config *c, const char *spec, char *err, size_t errlen);
/* --net tap=NAME[,mac=MAC]. */
int vmm_add_net(struct vmm_config *c, const char *spec, char *err, size_t errlen);
/* --vsock cid=N,socket=PATH. */
int vmm_set_vsock(struct vmm_config *c, const char *spec, char *err, size_t errlen);
/* --console stdio|pty|none|file=PATH|socket=PATH. */
int vmm_set_console(struct vmm_config *c, const char *v, char *err, size_t errlen);
/* --cpus N or boot=N. */
int vmm_set_cpus(struct vmm_config *c, const char *v, char *err, size_t errlen);
/* --memory SIZE: whole MiB, at least 16M. */
int vmm_set_memory(struct vmm_config *c, const char *v, char *err, size_t errlen);
/* --reboot exit|restart. */
int vmm_set_reboot(struct vmm_config *c, const char *v, char *err, size_t errlen);

/* Reads a JSON config file (at most 1 MiB) into c. */
int vmm_config_load_file(struct vmm_config *c, const char *path, char *err, size_t errlen);

#endif
