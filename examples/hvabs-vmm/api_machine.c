/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API and the metrics do to a running machine: pause and resume
 * it, press Ctrl+Alt+Del on its keyboard, give a disk another image, and
 * read its counters (vCPU exits by kind, every device's statistics) for a
 * metrics line. Nothing here runs per exit: counters are read when a line
 * is written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "vmm.h"

static int vm_pause(struct machine *m, bool pause, char *err, size_t errlen)
{
	if (!hvabs_vm_has_cap(m->vm, HVABS_CAP_PAUSE)) {
		snprintf(err, errlen, "this hypervisor cannot pause a VM");
		return -1;
	}
	int rc = pause ? hvabs_vm_pause(m->vm) : hvabs_vm_resume(m->vm);
	if (rc)
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc ? -1 : 0;
}

static int ctrl_alt_del(struct machine *m, char *err, size_t errlen)
{
	int rc = hvabs_i8042_send_ctrl_alt_del(m->dev.kbc);

	if (rc)
		snprintf(err, errlen, "%s",
			 rc == -EAGAIN ? "the guest has disabled its keyboard or not read the last "
					 "keys"
				       : strerror(-rc));
	return rc ? -1 : 0;
}

static int drive_path(struct machine *m, unsigned index, const char *path, char *err, size_t errlen)
{
	int rc = index < VMM_MAX_DISKS && m->dev.disks[index]
		     ? hvabs_virtio_blk_set_path(m->dev.disks[index], path)
		     : -ENODEV;

	if (rc)
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EINVAL ? "its block size differs from the old image's"
				       : strerror(-rc));
	return rc ? -1 : 0;
}

static json_t *vcpu_counters(struct machine *m)
{
	struct hvabs_stats st;
	json_t *exits = json_object();

	hvabs_vm_get_stats(m->vm, &st);
	for (uint32_t k = 0; k < HVABS_EXIT_KIND_COUNT; k++)
		json_object_set_new(exits, hvabs_exit_kind_name(k),
				    json_integer((json_int_t)st.exits[k]));
	return json_pack("{s:I,s:o,s:I,s:I}", "runs", (json_int_t)st.runs, "exits", exits,
			 "io_unhandled", (json_int_t)st.io_unhandled, "mmio_unhandled",
			 (json_int_t)st.mmio_unhandled);
}

static json_t *blk_counters(struct hvabs_virtio_blk *b)
{
	struct hvabs_virtio_blk_stats s;

	hvabs_virtio_blk_get_stats(b, &s);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "read_count", (json_int_t)s.reads,
			 "write_count", (json_int_t)s.writes, "flush_count", (json_int_t)s.flushes,
			 "read_bytes", (json_int_t)s.bytes_read, "write_bytes",
			 (json_int_t)s.bytes_written, "discard_count",
			 (json_int_t)(s.discards + s.write_zeroes), "io_errors",
			 (json_int_t)s.ioerr, "unsupported", (json_int_t)s.unsupp);
}

static json_t *net_counters(struct hvabs_virtio_net *n)
{
	struct hvabs_virtio_net_stats s;

	hvabs_virtio_net_get_stats(n, &s);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "rx_packets_count", (json_int_t)s.rx_packets,
			 "rx_bytes_count", (json_int_t)s.rx_bytes, "rx_dropped",
			 (json_int_t)s.rx_dropped, "tx_packets_count", (json_int_t)s.tx_packets,
			 "tx_bytes_count", (json_int_t)s.tx_bytes, "tx_dropped",
			 (json_int_t)s.tx_dropped);
}

static json_t *vsock_counters(struct hvabs_virtio_vsock *v)
{
	struct hvabs_virtio_vsock_stats s;

	hvabs_virtio_vsock_get_stats(v, &s);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "host_connects", (json_int_t)s.host_connects,
			 "guest_connects", (json_int_t)s.guest_connects, "conns_refused",
			 (json_int_t)s.refused, "rx_bytes_count", (json_int_t)s.rx_bytes,
			 "tx_bytes_count", (json_int_t)s.tx_bytes, "bad_packets",
			 (json_int_t)s.bad_packets);
}

/* Devices are keyed by their Firecracker id (drive_id, iface_id). */
static void collect(void *opaque, json_t *root)
{
	struct machine *m = opaque;
	const struct vmm_config *c = m->cfg;
	json_t *block = json_object(), *net = json_object();

	json_object_set_new(root, "vcpu", vcpu_counters(m));
	for (unsigned i = 0; i < c->ndisks; i++)
		if (m->dev.disks[i])
			json_object_set_new(block, c->disks[i].id, blk_counters(m->dev.disks[i]));
	for (unsigned i = 0; i < c->nnets; i++)
		if (m->dev.nets[i])
			json_object_set_new(net, c->nets[i].id, net_counters(m->dev.nets[i]));
	json_object_set_new(root, "block", block);
	json_object_set_new(root, "net", net);
	if (m->dev.vsock)
		json_object_set_new(root, "vsock", vsock_counters(m->dev.vsock));
}

const struct vmm_api_ops vmm_api_machine_ops = {
    .pause = vm_pause,
    .ctrl_alt_del = ctrl_alt_del,
    .drive_path = drive_path,
    .collect = collect,
};

/* Every 60 seconds while the machine runs, as Firecracker. */
static void on_metrics_tick(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	char err[256];

	(void)events;
	(void)vmm_metrics_flush(m->metrics, err, sizeof(err)); /* a lost line is counted */
}

int vmm_machine_attach_metrics(struct machine *m, struct vmm_metrics *mt, char *err, size_t errlen)
{
	uint64_t period = (uint64_t)VMM_METRICS_PERIOD_MS * 1000000u;

	m->metrics = mt;
	vmm_metrics_attach(mt, collect, m);
	if (hvabs_event_timer_add(m->loop, period, period, on_metrics_tick, m, NULL)) {
		snprintf(err, errlen, "cannot set up the metrics timer");
		return -1;
	}
	return 0;
}
