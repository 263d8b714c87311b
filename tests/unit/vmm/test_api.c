/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's API without a hypervisor: the router driven in process (every
 * endpoint, its success and error replies, the start handshake with a main
 * thread, pause, Ctrl+Alt+Del and drive changes on a fake machine), the
 * metrics and log files, and the server itself over a real Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"

/* ---- a fake machine ---- */

static struct {
	int machine; /* its address is the fake struct machine * */
	int pauses, resumes, cad, drive_calls;
	unsigned drive_index;
	char drive_path[256];
	int fail; /* the next op fails */
} fake;

static int f_pause(struct machine *m, bool pause, char *err, size_t errlen)
{
	assert_ptr_equal(m, (struct machine *)&fake.machine);
	if (fake.fail) {
		snprintf(err, errlen, "fake refuses");
		return -1;
	}
	pause ? fake.pauses++ : fake.resumes++;
	return 0;
}

static int f_cad(struct machine *m, char *err, size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	fake.cad++;
	return 0;
}

static int f_drive(struct machine *m, unsigned index, const char *path, char *err, size_t errlen)
{
	(void)m;
	fake.drive_calls++;
	fake.drive_index = index;
	snprintf(fake.drive_path, sizeof(fake.drive_path), "%s", path);
	if (fake.fail) {
		snprintf(err, errlen, "fake refuses");
		return -1;
	}
	return 0;
}

static void f_collect(void *opaque, json_t *root)
{
	(void)opaque;
	json_object_set_new(root, "vcpu", json_pack("{s:{s:i}}", "exits", "io", 42));
}

static const struct vmm_api_ops fake_ops = {
    .pause = f_pause, .ctrl_alt_del = f_cad, .drive_path = f_drive, .collect = f_collect};

/* ---- the rig ---- */

struct rig {
	struct vmm_config cfg;
	struct vmm_log log;
	struct vmm_metrics mt;
	struct vmm_api *api;
	char dir[64];
	char path[128]; /* scratch */
	pthread_t main_thread;
	int start_rc; /* what the fake main thread answers InstanceStart with */
};

static struct rig *rig_new(void)
{
	struct rig *g = calloc(1, sizeof(*g));
	char err[256];

	assert_non_null(g);
	memset(&fake, 0, sizeof(fake));
	vmm_config_init(&g->cfg);
	vmm_log_init(&g->log);
	vmm_metrics_init(&g->mt);
	snprintf(g->dir, sizeof(g->dir), "/tmp/hvabs-api-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	assert_int_equal(
	    vmm_api_create(&g->cfg, &g->log, &g->mt, &fake_ops, &g->api, err, sizeof(err)), 0);
	return g;
}

static const char *in_dir(struct rig *g, const char *name)
{
	snprintf(g->path, sizeof(g->path), "%s/%s", g->dir, name);
	return g->path;
}

static void rig_free(struct rig *g)
{
	char cmd[128];

	vmm_api_destroy(g->api);
	vmm_metrics_fini(&g->mt);
	vmm_log_fini(&g->log);
	vmm_config_fini(&g->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	assert_int_equal(system(cmd), 0);
	free(g);
}

/* One request; returns the status, the body (parsed) in *out when asked. */
static unsigned req(struct rig *g, const char *method, const char *url, const char *body,
		    json_t **out)
{
	struct vmm_api_reply r;

	vmm_api_handle(g->api, method, url, body, body ? strlen(body) : 0, &r);
	if (out)
		*out = r.body ? json_loads(r.body, 0, NULL) : NULL;
	free(r.body);
	return r.status;
}

/* A 400 whose fault_message contains @p want. */
static void fault(struct rig *g, const char *method, const char *url, const char *body,
		  const char *want)
{
	json_t *j = NULL;

	assert_int_equal(req(g, method, url, body, &j), 400);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	assert_non_null(msg);
	if (!strstr(msg, want))
		fail_msg("%s %s: fault '%s' does not say '%s'", method, url, msg, want);
	json_decref(j);
}

static const char *state_of(struct rig *g)
{
	static char s[32];
	json_t *j = NULL;

	assert_int_equal(req(g, "GET", "/", NULL, &j), 200);
	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);
	return s;
}

/* The main thread of hvabs-vmm, as far as the API sees it: wait, build, answer. */
static void *fake_main(void *arg)
{
	struct rig *g = arg;

	assert_int_equal(vmm_api_begin(g->api, false), 0);
	vmm_api_started(g->api, g->start_rc ? NULL : (struct machine *)&fake.machine, g->start_rc,
			g->start_rc ? "--kernel /nope: No such file" : NULL);
	return NULL;
}

static void start(struct rig *g, int rc)
{
	g->start_rc = rc;
	assert_int_equal(pthread_create(&g->main_thread, NULL, fake_main, g), 0);
}

/* ---- before the start ---- */

static void info_and_config(void **state)
{
	struct rig *g = rig_new();
	json_t *j = NULL;

	(void)state;
	assert_int_equal(req(g, "GET", "/", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Not started");
	assert_string_equal(json_string_value(json_object_get(j, "app_name")), "hvabs-vmm");
	assert_string_equal(json_string_value(json_object_get(j, "vmm_version")), hvabs_version());
	assert_non_null(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	assert_int_equal(req(g, "GET", "/version", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "firecracker_version")),
			    hvabs_version());
	json_decref(j);
	assert_int_equal(
	    req(g, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", NULL),
	    204);
	assert_int_equal(req(g, "PATCH", "/machine-config", "{\"vcpu_count\": 3}", NULL), 204);
	assert_int_equal(req(g, "GET", "/machine-config", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "vcpu_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "mem_size_mib")), 64);
	json_decref(j);
	assert_int_equal(req(g, "PUT", "/boot-source",
			     "{\"kernel_image_path\": \"/k\", \"boot_args\": \"quiet\"}", NULL),
			 204);
	assert_int_equal(req(g, "PUT", "/drives/rootfs",
			     "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.img\", "
			     "\"is_root_device\": true, \"is_read_only\": false}",
			     NULL),
			 204);
	assert_int_equal(req(g, "PUT", "/network-interfaces/eth0",
			     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
			     "\"guest_mac\": \"06:00:ac:10:00:02\"}",
			     NULL),
			 204);
	assert_int_equal(
	    req(g, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v.sock\"}", NULL), 204);
	assert_int_equal(req(g, "PUT", "/entropy", "{}", NULL), 204);
	/* GET /vm/config shows it all, as the config file would say it. */
	assert_int_equal(req(g, "GET", "/vm/config", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "boot-source"),
							      "kernel_image_path")),
			    "/k");
	assert_int_equal(json_array_size(json_object_get(j, "drives")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "network-interfaces")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "vsock"), "guest_cid")), 3);
	json_decref(j);
	assert_string_equal(g->cfg.kernel, "/k");
	assert_int_equal(g->cfg.ndisks, 1);
	assert_int_equal(g->cfg.rng, 1);
	rig_free(g);
}

static void bad_requests(void **state)
{
	struct rig *g = rig_new();

	(void)state;
	fault(g, "GET", "/nope", NULL, "Invalid request method and/or path: GET /nope");
	fault(g, "DELETE", "/", NULL, "Invalid request method and/or path: DELETE /");
	fault(g, "GET", "/actions", NULL, "Invalid request method and/or path");
	fault(g, "PUT", "/drives/", "{}", "Invalid request method and/or path");
	fault(g, "PUT", "/boot-source", NULL, "needs a JSON body");
	fault(g, "PUT", "/boot-source", "{\"kernel_image_path\": ", "Invalid JSON body");
	fault(g, "PUT", "/boot-source", "{\"a\": 1, \"a\": 2}", "Invalid JSON body");
	/* The shared validation names the field, and nothing changes. */
	fault(g, "PUT", "/machine-config", "{\"vcpu_cnt\": 2, \"mem_size_mib\": 64}", "vcpu_cnt");
	fault(g, "PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 64}",
	      "vcpu_count");
	assert_int_equal(g->cfg.cpus, 1);
	fault(g, "PUT", "/boot-source", "{\"boot_args\": \"x\"}", "kernel_image_path");
	assert_null(g->cfg.kernel);
	fault(g, "PUT", "/drives/a-b", "{\"drive_id\": \"a-b\"}", "Invalid ID");
	fault(g, "PUT", "/drives/one",
	      "{\"drive_id\": \"two\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
	      "two");
	assert_int_equal(g->cfg.ndisks, 0);
	/* Post-boot only, and things that need a running VM. */
	fault(g, "PATCH", "/drives/one", "{\"drive_id\": \"one\", \"path_on_host\": \"/x\"}",
	      "not supported before starting the microVM");
	fault(g, "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
	      "not supported before starting the microVM");
	fault(g, "PATCH", "/vm", "{\"state\": \"Paused\"}", "before starting");
	fault(g, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", "before starting");
	fault(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	      "without kernel configuration");
	fault(g, "PUT", "/actions", "{\"action_type\": \"Reboot\"}",
	      "Unknown action_type 'Reboot'");
	fault(g, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\", \"x\": 1}",
	      "Unknown field 'x'");
	fault(g, "PUT", "/actions", "{\"action_type\": 3}", "action_type");
	fault(g, "PATCH", "/vm", "{\"state\": \"Stopped\"}", "Unknown state 'Stopped'");
	/* What hvabs-vmm does not have says so. */
	fault(g, "PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true}",
	      "does not support balloon");
	fault(g, "GET", "/balloon/statistics", NULL, "does not support balloon");
	fault(g, "PUT", "/mmds", "{}", "does not support MMDS");
	fault(g, "PUT", "/mmds/config", "{}", "does not support MMDS");
	fault(g, "PUT", "/cpu-config", "{}", "CPU configuration templates");
	fault(g, "PUT", "/pmem/p0", "{}", "virtio-pmem");
	fault(g, "PUT", "/hotplug/memory", "{}", "memory hotplug");
	fault(g, "PUT", "/snapshot/create",
	      "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}",
	      "Snapshots are not supported yet");
	fault(g, "PUT", "/snapshot/load", "{}", "Snapshots are not supported yet");
	assert_string_equal(state_of(g), "Not started");
	rig_free(g);
}

/* ---- the start and a running machine ---- */

static void put_drive(struct rig *g, const char *id, const char *path)
{
	char body[256];
	char url[64];

	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": false}", id,
		 path);
	snprintf(url, sizeof(url), "/drives/%s", id);
	assert_int_equal(req(g, "PUT", url, body, NULL), 204);
}

static void lifecycle(void **state)
{
	struct rig *g = rig_new();

	(void)state;
	assert_int_equal(req(g, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", NULL),
			 204);
	put_drive(g, "a", "/a.img");
	put_drive(g, "b", "/b.img");
	assert_int_equal(req(g, "PUT", "/network-interfaces/eth0",
			     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", NULL),
			 204);
	start(g, 0);
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", NULL),
			 204);
	pthread_join(g->main_thread, NULL);
	assert_string_equal(state_of(g), "Running");
	/* Pre-boot resources are refused now, and change nothing. */
	fault(g, "PUT", "/boot-source", "{\"kernel_image_path\": \"/other\"}",
	      "not supported after starting the microVM");
	assert_string_equal(g->cfg.kernel, "/k");
	fault(g, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}",
	      "after starting");
	fault(g, "PATCH", "/machine-config", "{\"vcpu_count\": 2}", "after starting");
	fault(g, "PUT", "/drives/c",
	      "{\"drive_id\": \"c\", \"path_on_host\": \"/c\", "
	      "\"is_root_device\": false}",
	      "after starting");
	fault(g, "PUT", "/network-interfaces/e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}",
	      "after starting");
	fault(g, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}", "after starting");
	fault(g, "PUT", "/entropy", "{}", "after starting");
	fault(g, "PUT", "/logger", "{\"log_path\": \"/tmp/x\"}", "after starting");
	fault(g, "PUT", "/metrics", "{\"metrics_path\": \"/tmp/x\"}", "after starting");
	fault(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "after starting");
	/* Pause and resume reach the machine once each; repeating is harmless. */
	assert_int_equal(req(g, "PATCH", "/vm", "{\"state\": \"Paused\"}", NULL), 204);
	assert_string_equal(state_of(g), "Paused");
	assert_int_equal(req(g, "PATCH", "/vm", "{\"state\": \"Paused\"}", NULL), 204);
	assert_int_equal(fake.pauses, 1);
	assert_int_equal(req(g, "PATCH", "/vm", "{\"state\": \"Resumed\"}", NULL), 204);
	assert_string_equal(state_of(g), "Running");
	assert_int_equal(fake.resumes, 1);
	fake.fail = 1;
	fault(g, "PATCH", "/vm", "{\"state\": \"Paused\"}",
	      "Cannot pause the microVM: fake refuses");
	assert_string_equal(state_of(g), "Running");
	fake.fail = 0;
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", NULL),
			 204);
	assert_int_equal(fake.cad, 1);
	/* PATCH /drives gives the running disk its new file; a refusal keeps the old one. */
	assert_int_equal(req(g, "PATCH", "/drives/b",
			     "{\"drive_id\": \"b\", \"path_on_host\": "
			     "\"/b2.img\"}",
			     NULL),
			 204);
	assert_int_equal(fake.drive_calls, 1);
	assert_int_equal(fake.drive_index, 1);
	assert_string_equal(fake.drive_path, "/b2.img");
	assert_string_equal(g->cfg.disks[1].path, "/b2.img");
	fake.fail = 1;
	fault(g, "PATCH", "/drives/b", "{\"drive_id\": \"b\", \"path_on_host\": \"/b3.img\"}",
	      "fake refuses");
	assert_string_equal(g->cfg.disks[1].path, "/b2.img");
	fake.fail = 0;
	/* Only the path and a rate limiter may change; a PATCH without a path does nothing. */
	fault(g, "PATCH", "/drives/b", "{\"drive_id\": \"b\", \"is_read_only\": true}",
	      "is_read_only");
	assert_int_equal(req(g, "PATCH", "/drives/b", "{\"drive_id\": \"b\"}", NULL), 204);
	assert_int_equal(fake.drive_calls, 2);
	fault(g, "PATCH", "/drives/zz", "{\"drive_id\": \"zz\", \"path_on_host\": \"/z\"}", "zz");
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", NULL),
			 204);
	/* PATCH /network-interfaces: only rate limiters may change, and hvabs-vmm has none. */
	assert_int_equal(
	    req(g, "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}", NULL), 204);
	fault(g, "PATCH", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, "
	      "\"refill_time\": 100}}}",
	      "rate limiters are not supported");
	fault(g, "PATCH", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap9\"}", "host_dev_name");
	fault(g, "PATCH", "/network-interfaces/eth9", "{\"iface_id\": \"eth9\"}", "eth9");
	assert_string_equal(g->cfg.nets[0].tap, "tap0");
	/* The machine goes away (a reboot with --reboot=restart): actions wait for the next. */
	vmm_api_ended(g->api);
	fault(g, "PATCH", "/vm", "{\"state\": \"Paused\"}", "restarting");
	fault(g, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", "restarting");
	rig_free(g);
}

/* A failed build answers InstanceStart with the reason; the VMM waits for the next one. */
static void start_fails(void **state)
{
	struct rig *g = rig_new();

	(void)state;
	assert_int_equal(req(g, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nope\"}", NULL),
			 204);
	start(g, -1);
	fault(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	      "Cannot start the microVM: --kernel /nope: No such file");
	pthread_join(g->main_thread, NULL);
	assert_string_equal(state_of(g), "Not started");
	assert_int_equal(req(g, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", NULL),
			 204);
	start(g, 0);
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", NULL),
			 204);
	pthread_join(g->main_thread, NULL);
	assert_string_equal(state_of(g), "Running");
	rig_free(g);
}

/* A signal while waiting for InstanceStart ends the wait; a later InstanceStart is refused. */
static void signal_before_start(void **state)
{
	struct rig *g = rig_new();
	sigset_t set, old;
	struct timespec zero = {0, 0};

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(raise(SIGHUP), 0);
	assert_int_equal(vmm_api_begin(g->api, false), -1);
	assert_int_equal(sigtimedwait(&set, NULL, &zero), SIGHUP); /* still pending: the caller's */
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(req(g, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", NULL),
			 204);
	fault(g, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "shutting down");
	assert_string_equal(state_of(g), "Not started");
	rig_free(g);
}

/* ---- metrics and the log ---- */

static json_t *last_line(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	json_t *j = NULL;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		json_decref(j);
		j = json_loads(buf, 0, NULL);
		assert_non_null(j); /* every line is a JSON object */
	}
	fclose(f);
	return j;
}

static json_int_t at(json_t *j, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(j, a), b));
}

static void metrics_lines(void **state)
{
	struct rig *g = rig_new();
	char body[256];

	(void)state;
	/* Without a metrics file FlushMetrics does nothing, as on Firecracker. */
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", NULL),
			 204);
	fault(g, "PUT", "/metrics", "{\"metrics_path\": \"/nonexistent/dir/m\"}", "metrics_path");
	fault(g, "PUT", "/metrics", "{\"path\": \"/tmp/m\"}", "path");
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", in_dir(g, "metrics.json"));
	assert_int_equal(req(g, "PUT", "/metrics", body, NULL), 204);
	fault(g, "GET", "/nope", NULL, "Invalid");
	vmm_metrics_attach(&g->mt, f_collect, NULL);
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", NULL),
			 204);
	json_t *j = last_line(in_dir(g, "metrics.json"));
	assert_non_null(j);
	assert_true(json_integer_value(json_object_get(j, "utc_timestamp_ms")) > 0);
	/*
	 * The requests of the period: a flush, two bad PUT /metrics, one good, a
	 * GET; the flush that writes the line is counted in the next one.
	 */
	assert_int_equal(at(j, "put_api_requests", "metrics_count"), 3);
	assert_int_equal(at(j, "put_api_requests", "metrics_fails"), 2);
	assert_int_equal(at(j, "get_api_requests", "unknown_count"), 1);
	assert_int_equal(at(j, "put_api_requests", "actions_count"), 1);
	assert_int_equal(at(j, "api_server", "errors"), 3);
	assert_int_equal(at(j, "api_server", "requests"), 5);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(j, "vcpu"), "exits"), "io")),
			 42);
	json_decref(j);
	/* The next line counts what happened since: the machine's counters did not move. */
	assert_int_equal(req(g, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", NULL),
			 204);
	j = last_line(in_dir(g, "metrics.json"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(j, "vcpu"), "exits"), "io")),
			 0);
	assert_int_equal(at(j, "api_server", "requests"), 1); /* the previous flush */
	assert_null(json_object_get(json_object_get(j, "put_api_requests"), "metrics_count"));
	json_decref(j);
	vmm_metrics_guest_crash(&g->mt);
	char err[128];
	assert_int_equal(vmm_metrics_flush(&g->mt, err, sizeof(err)), 1);
	j = last_line(in_dir(g, "metrics.json"));
	assert_int_equal(at(j, "vmm", "guest_crash_count"), 1);
	json_decref(j);
	rig_free(g);
}

/* A FIFO nobody reads never blocks a flush: lines are dropped and counted. */
static void metrics_fifo(void **state)
{
	struct rig *g = rig_new();
	char err[128], body[256];
	int n = 0, rc;

	(void)state;
	assert_int_equal(mkfifo(in_dir(g, "fifo"), 0600), 0);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", g->path);
	assert_int_equal(req(g, "PUT", "/metrics", body, NULL), 204);
	while ((rc = vmm_metrics_flush(&g->mt, err, sizeof(err))) == 1 && n < 100000)
		n++;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "dropped"));
	assert_true(n > 10);
	/* A reader drains it; the next line tells how many were lost. */
	int fd = open(g->path, O_RDONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	static char buf[1 << 20];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(vmm_metrics_flush(&g->mt, err, sizeof(err)), 1);
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	assert_true(len > 0);
	buf[len] = '\0';
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_int_equal(at(j, "metrics", "dropped_lines"), 1);
	json_decref(j);
	close(fd);
	rig_free(g);
}

static void logger(void **state)
{
	struct rig *g = rig_new();
	char body[512], text[4096];

	(void)state;
	fault(g, "PUT", "/logger", "{\"log_path\": \"/tmp/l\", \"level\": \"Loud\"}", "level");
	fault(g, "PUT", "/logger", "{\"log_path\": \"/nonexistent/dir/l\"}", "log_path");
	snprintf(body, sizeof(body),
		 "{\"log_path\": \"%s\", \"level\": \"info\", \"show_level\": true, "
		 "\"show_log_origin\": true}",
		 in_dir(g, "log"));
	assert_int_equal(req(g, "PUT", "/logger", body, NULL), 204);
	assert_int_equal(req(g, "GET", "/version", NULL, NULL), 200);
	VMM_LOG(&g->log, VMM_LOG_DEBUG, "not at level info");
	fault(g, "GET", "/x\nFORGED line", NULL, "Invalid request");
	int fd = open(in_dir(g, "log"), O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, "[Info] [api_router.c:"));
	assert_non_null(strstr(text, "GET request on \"/version\""));
	assert_null(strstr(text, "not at level info"));
	assert_non_null(strstr(text, "/x?FORGED line"));
	assert_null(strstr(text, "\nFORGED"));
	assert_int_equal(req(g, "GET", "/vm/config", NULL, NULL), 200);
	rig_free(g);
}

/* ---- the server on a real socket ---- */

static void http(const char *sock, const char *request, char *out, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (got < len - 1 && (n = read(fd, out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
}

static void server(void **state)
{
	struct rig *g = rig_new();
	struct vmm_api *other = NULL;
	char err[256], reply[4096], sock[100];

	(void)state;
	snprintf(sock, sizeof(sock), "%.60s/api.sock", g->dir);
	/* A stale socket file (its listener is gone) is replaced. */
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);
	assert_int_equal(vmm_api_listen(g->api, sock, err, sizeof(err)), 0);
	http(sock, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", reply,
	     sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 200"));
	assert_non_null(strstr(reply, "\"state\":\"Not started\""));
	http(sock,
	     "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	     "Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"vcpu_count\": true}",
	     reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 400"));
	assert_non_null(strstr(reply, "fault_message"));
	assert_non_null(strstr(reply, "vcpu_count"));
	/* A second VMM on the same live socket is refused, and leaves it alone. */
	assert_int_equal(
	    vmm_api_create(&g->cfg, &g->log, &g->mt, &fake_ops, &other, err, sizeof(err)), 0);
	assert_int_equal(vmm_api_listen(other, sock, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another process is listening"));
	vmm_api_destroy(other);
	http(sock, "GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", reply,
	     sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 200"));
	/* Not a socket: refused, not removed. */
	assert_int_equal(
	    vmm_api_create(&g->cfg, &g->log, &g->mt, &fake_ops, &other, err, sizeof(err)), 0);
	int plain = open(in_dir(g, "plain"), O_CREAT | O_WRONLY, 0600);
	assert_true(plain >= 0);
	close(plain);
	assert_int_equal(vmm_api_listen(other, g->path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a socket"));
	vmm_api_destroy(other);
	struct stat st;
	assert_int_equal(stat(in_dir(g, "plain"), &st), 0);
	rig_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(info_and_config), cmocka_unit_test(bad_requests),
	    cmocka_unit_test(lifecycle),       cmocka_unit_test(start_fails),
	    cmocka_unit_test(metrics_lines),   cmocka_unit_test(metrics_fifo),
	    cmocka_unit_test(logger),	       cmocka_unit_test(signal_before_start),
	    cmocka_unit_test(server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
