/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checked setters every config source (command line, our JSON layout,
 * Firecracker's) goes through. Each returns 0, or -1 with a one-line reason
 * in err that names the option as the user wrote it.
 */
#ifndef HVABS_VMM_CONFIG_PRIV_H
#define HVABS_VMM_CONFIG_PRIV_H

#include <stdbool.h>

#include "config.h"

/* Formats a reason into err and returns -1. */
__attribute__((format(printf, 3, 4))) int vmm_errf(char *err, size_t errlen, const char *fmt, ...);
#define ERR(...) vmm_errf(err, errlen, __VA_ARGS__)

/* Replaces *dst with a copy of src (NULL clears it). */
void vmm_set_str(char **dst, const char *src);

/*
 * Adds (or, when a disk with the same id exists, replaces) a disk filled by
 * any source. Checks what every source shares (serial, partuuid, one root
 * disk, unique ids); a root disk goes first so it is /dev/vda, as on
 * Firecracker. Takes the strings of @p d on success and on failure alike.
 */
int vmm_disk_put(struct vmm_config *c, struct vmm_disk *d, char *err, size_t errlen);
/* The same for a NIC (tap name, unicast MAC, unique id and tap). */
int vmm_net_put(struct vmm_config *c, struct vmm_net *n, char *err, size_t errlen);
void vmm_disk_free(struct vmm_disk *d);
void vmm_net_free(struct vmm_net *n);
/* The index of the disk / NIC with this id, or -1. */
int vmm_disk_find(const struct vmm_config *c, const char *id);
int vmm_net_find(const struct vmm_config *c, const char *id);

/* A backend named in a file: a plain name ([a-z0-9_-], at most 32), never a path. */
bool vmm_backend_name_ok(const char *name);
/* A host network interface name as Linux allows it (1-15 bytes, no '/', ':' or space). */
bool vmm_ifname_ok(const char *name);

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
