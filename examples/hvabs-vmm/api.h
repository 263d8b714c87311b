/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's control API (--api-sock): Firecracker's REST API on a Unix
 * socket, served on one thread. What main.c sees of it: create it, let it
 * listen, and bracket every machine the run builds with begin/started/ended
 * so the API knows the state and may reach the running machine. Every call
 * accepts a NULL api (no --api-sock) and then does nothing.
 */
#ifndef HVABS_VMM_API_H
#define HVABS_VMM_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "logger.h"
#include "machine.h"
#include "metrics.h"

struct vmm_api;

/* What the API does to a running machine (api_machine.c; fakes in the unit tests). */
struct vmm_api_ops {
	/* Pauses (@p pause) or resumes every vCPU. 0, or -1 with a reason in @p err. */
	int (*pause)(struct machine *m, bool pause, char *err, size_t errlen);
	/* Presses Ctrl+Alt+Del on the i8042 keyboard. */
	int (*ctrl_alt_del)(struct machine *m, char *err, size_t errlen);
	/* Gives disk @p index the image at @p path (PATCH /drives/{id}). */
	int (*drive_path)(struct machine *m, unsigned index, const char *path, char *err,
			  size_t errlen);
	/* Adds the machine's cumulative counters to a metrics line. */
	vmm_metrics_collect_fn collect;
};

/* api_machine.c: the real machine's side of the API. */
extern const struct vmm_api_ops vmm_api_machine_ops;

/*
 * api_machine.c: the metrics read @p m's counters from now on, and write a
 * line every VMM_METRICS_PERIOD_MS while it runs (before machine_run()).
 * Detach with vmm_metrics_attach(mt, NULL, NULL) once it has stopped.
 */
int vmm_machine_attach_metrics(struct machine *m, struct vmm_metrics *mt, char *err, size_t errlen);

/*
 * The API's state over @p cfg (which PUT and PATCH change before the start),
 * logging to @p log and counting into @p metrics (both the caller's). No
 * socket yet. 0 or -1 with @p err.
 */
int vmm_api_create(struct vmm_config *cfg, struct vmm_log *log, struct vmm_metrics *metrics,
		   const struct vmm_api_ops *ops, struct vmm_api **out, char *err, size_t errlen);

/*
 * A hook for the server's thread (hvabs-vmm installs its seccomp filter
 * with it): called with @p in_server false on a short-lived thread that
 * then starts libmicrohttpd's thread, which inherits what the hook set up
 * (a nonzero return refuses to serve); then with true in that thread before
 * each request. @p err gets the reason of a failure.
 */
typedef int (*vmm_api_thread_fn)(void *opaque, bool in_server, char *err, size_t errlen);

/* Sets the hook above; call before vmm_api_listen(). */
void vmm_api_set_thread_fn(struct vmm_api *api, vmm_api_thread_fn fn, void *opaque);

/*
 * Serves the API on a Unix socket at @p path from its own thread. A stale
 * socket file (nobody listening) is replaced; a live one is refused.
 */
int vmm_api_listen(struct vmm_api *api, const char *path, char *err, size_t errlen);

/* Stops serving, removes the socket file, frees. NULL is a no-op. */
void vmm_api_destroy(struct vmm_api *api);

/*
 * Main thread, before each machine_create(). The first time, unless
 * @p autostart (a kernel came from the command line or a config file),
 * waits for InstanceStart. Returns with the API's lock held (the config
 * cannot change while the machine is built), or -1 when a SIGINT, SIGTERM or
 * SIGHUP came while waiting (blocked by the caller, left pending).
 */
int vmm_api_begin(struct vmm_api *api, bool autostart);

/*
 * Main thread, after machine_create(): @p rc 0 and the machine, or its
 * failure with @p err. Releases the lock. Returns true when the start came
 * from InstanceStart and failed: the API told the client, the VMM waits for
 * the next InstanceStart (call vmm_api_begin() again).
 */
bool vmm_api_started(struct vmm_api *api, struct machine *m, int rc, const char *err);

/* Main thread, after machine_run(): the machine is going away. */
void vmm_api_ended(struct vmm_api *api);

/* ---- the router, without the socket (api_router.c), for the unit tests ---- */

struct vmm_api_reply {
	unsigned status; /* 200, 204, 400, ... */
	char *body;	 /* JSON (malloc'd) or NULL */
};

/*
 * Handles one request: @p method ("GET", ...), @p url, @p body of @p len
 * bytes (may be NULL). Fills @p r. Thread: the API thread (or a test).
 */
void vmm_api_handle(struct vmm_api *api, const char *method, const char *url, const char *body,
		    size_t len, struct vmm_api_reply *r);

/* The state as GET / says it: "Not started", "Running" or "Paused". */
const char *vmm_api_state_name(struct vmm_api *api);

#endif
