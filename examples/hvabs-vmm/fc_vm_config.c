/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The whole configuration in Firecracker's shape, as its GET /vm/config
 * returns it. The result is itself a valid --config-file: what hvabs-vmm
 * does not have is null, fields at their defaults are spelled out.
 */
#include <stdio.h>

#include "fc_resources.h"

static json_t *drives(const struct vmm_config *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->ndisks; i++) {
		const struct vmm_disk *d = &c->disks[i];
		json_array_append_new(a, json_pack("{s:s, s:s?, s:b, s:s, s:b, s:s, s:n, s:s, s:n}",
						   "drive_id", d->id, "partuuid", d->partuuid,
						   "is_root_device", d->root, "cache_type",
						   d->cache_writeback ? "Writeback" : "Unsafe",
						   "is_read_only", d->readonly, "path_on_host",
						   d->path, "rate_limiter", "io_engine",
						   d->io_uring ? "Async" : "Sync", "socket"));
	}
	return a;
}

static json_t *nets(const struct vmm_config *c)
{
	json_t *a = json_array();
	char mac[18];

	for (unsigned i = 0; a && i < c->nnets; i++) {
		const struct vmm_net *n = &c->nets[i];
		const uint8_t *m = n->mac;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:n, s:n}", "iface_id", n->id,
						   "host_dev_name", n->tap, "guest_mac",
						   n->has_mac ? mac : NULL, "rx_rate_limiter",
						   "tx_rate_limiter"));
	}
	return a;
}

static json_t *logger(const struct vmm_config *c)
{
	static const char *const levels[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
	const struct vmm_logger *l = &c->logger;

	if (!l->set)
		return json_null();
	return json_pack("{s:s, s:s?, s:b, s:b, s:s?}", "level", levels[l->level], "log_path",
			 l->path, "show_level", l->show_level, "show_log_origin", l->show_origin,
			 "module", l->module);
}

json_t *fc_config_to_json(const struct vmm_config *c)
{
	json_t *boot = c->kernel ? json_pack("{s:s, s:s?, s:s?}", "kernel_image_path", c->kernel,
					     "boot_args", c->cmdline, "initrd_path", c->initrd)
				 : json_null();
	json_t *vsock = c->vsock_cid
			    ? json_pack("{s:I, s:s}", "guest_cid", (json_int_t)c->vsock_cid,
					"uds_path", c->vsock_socket ? c->vsock_socket : "")
			    : json_null();
	json_t *machine = json_pack("{s:i, s:I, s:b, s:b, s:s}", "vcpu_count", (int)c->cpus,
				    "mem_size_mib", (json_int_t)(c->mem_size >> 20), "smt", 0,
				    "track_dirty_pages", 0, "huge_pages", "None");

	return json_pack("{s:n, s:o, s:o, s:n, s:o, s:o, s:o?, s:n, s:o, s:o, s:o?}", "balloon",
			 "drives", drives(c), "boot-source", boot, "cpu-config", "logger",
			 logger(c), "machine-config", machine, "metrics",
			 c->metrics_path ? json_pack("{s:s}", "metrics_path", c->metrics_path)
					 : NULL,
			 "mmds-config", "network-interfaces", nets(c), "vsock", vsock, "entropy",
			 c->rng ? json_pack("{s:n}", "rate_limiter") : NULL);
}
