/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's API actions and lifecycle: InstanceStart (handed to the main
 * thread, which builds the machine while the request waits), SendCtrlAltDel,
 * FlushMetrics, PATCH /vm (pause, resume), PATCH /drives/{id} on a running
 * VM, and the main thread's side of the start (begin, started, ended).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_priv.h"
#include "config_priv.h"
#include "fc_resources.h"

/* The body's one string field @p key, with no other field; NULL after a fault. */
static const char *only_string(const json_t *body, const char *key, struct vmm_api_reply *r)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body)) {
		api_fault(r, 400, "The body must be a JSON object with '%s'.", key);
		return NULL;
	}
	json_object_foreach((json_t *)body, k, v)
	{
		if (strcmp(k, key)) {
			api_fault(r, 400, "Unknown field '%s': only '%s' is allowed.", k, key);
			return NULL;
		}
	}
	v = json_object_get(body, key);
	if (!json_is_string(v)) {
		api_fault(r, 400, "'%s' is required and must be a string.", key);
		return NULL;
	}
	return json_string_value(v);
}

/* InstanceStart: the main thread builds and starts the machine; we wait for its answer. */
static void instance_start(struct vmm_api *api, struct vmm_api_reply *r)
{
	if (api->state != API_NOT_STARTED) {
		api_fault(r, 400, API_AFTER_START);
		return;
	}
	if (!api->cfg->kernel) {
		api_fault(r, 400, "Cannot start microvm without kernel configuration.");
		return;
	}
	if (api->closing) {
		api_fault(r, 400, "The VMM is shutting down.");
		return;
	}
	api->state = API_STARTING;
	api->start_waiting = true;
	api->start_done = false;
	pthread_cond_broadcast(&api->cond);
	while (!api->start_done && !api->closing)
		pthread_cond_wait(&api->cond, &api->lock);
	api->start_waiting = false;
	if (!api->start_done)
		api_fault(r, 400, "The VMM is shutting down.");
	else if (api->start_rc)
		api_fault(r, 400, "Cannot start the microVM: %s", api->start_err);
	else
		api_json(r, 204, NULL);
}

void api_put_actions(struct vmm_api *api, const json_t *body, struct vmm_api_reply *r)
{
	const char *a = only_string(body, "action_type", r);
	char err[512] = "";

	if (!a)
		return;
	if (!strcmp(a, "InstanceStart")) {
		instance_start(api, r);
	} else if (!strcmp(a, "FlushMetrics")) {
		if (vmm_metrics_flush(api->metrics, err, sizeof(err)) < 0)
			api_fault(r, 400, "Cannot flush the metrics: %s", err);
		else
			api_json(r, 204, NULL);
	} else if (!strcmp(a, "SendCtrlAltDel")) {
		if (api->state != API_RUNNING && api->state != API_PAUSED)
			api_fault(r, 400, API_BEFORE_START);
		else if (!api->m)
			api_fault(r, 400, "The guest is restarting; try again.");
		else if (api->ops->ctrl_alt_del(api->m, err, sizeof(err)))
			api_fault(r, 400, "Cannot send Ctrl+Alt+Del: %s", err);
		else
			api_json(r, 204, NULL);
	} else {
		api_fault(r, 400,
			  "Unknown action_type '%s': want InstanceStart, SendCtrlAltDel or "
			  "FlushMetrics.",
			  a);
	}
}

void api_patch_vm(struct vmm_api *api, const json_t *body, struct vmm_api_reply *r)
{
	const char *s = only_string(body, "state", r);
	char err[512] = "";

	if (!s)
		return;
	bool pause = !strcmp(s, "Paused");
	if (!pause && strcmp(s, "Resumed")) {
		api_fault(r, 400, "Unknown state '%s': want Paused or Resumed.", s);
		return;
	}
	if (api->state != API_RUNNING && api->state != API_PAUSED) {
		api_fault(r, 400, API_BEFORE_START);
		return;
	}
	if (!api->m) {
		api_fault(r, 400, "The guest is restarting; try again.");
		return;
	}
	if ((api->state == API_PAUSED) == pause) {
		api_json(r, 204, NULL); /* already so */
		return;
	}
	if (api->ops->pause(api->m, pause, err, sizeof(err))) {
		api_fault(r, 400, "Cannot %s the microVM: %s", pause ? "pause" : "resume", err);
		return;
	}
	api->state = pause ? API_PAUSED : API_RUNNING;
	VMM_LOG(api->log, VMM_LOG_INFO, "The microVM is %s.", pause ? "paused" : "resumed");
	api_json(r, 204, NULL);
}

/* PATCH /drives/{id} after the start: a new image for the running disk. */
void api_patch_drive(struct vmm_api *api, const char *id, const json_t *body,
		     struct vmm_api_reply *r)
{
	char err[512] = "";
	int i = vmm_disk_find(api->cfg, id);

	if (i < 0) {
		api_fault(r, 400, "Invalid drive_id '%s': no such drive.", id);
		return;
	}
	char *old = api->cfg->disks[i].path ? strdup(api->cfg->disks[i].path) : NULL;
	if (fc_resource_apply(api->cfg, FC_DRIVE, id, body, true, err, sizeof(err))) {
		api_fault(r, 400, "%s", err);
	} else if (!old || strcmp(old, api->cfg->disks[i].path)) {
		if (!api->m) {
			api_fault(r, 400, "The guest is restarting; try again.");
			vmm_set_str(&api->cfg->disks[i].path, old);
		} else if (api->ops->drive_path(api->m, (unsigned)i, api->cfg->disks[i].path, err,
						sizeof(err))) {
			api_fault(r, 400, "Cannot change the drive's backing file: %s", err);
			vmm_set_str(&api->cfg->disks[i].path, old);
		} else {
			api_json(r, 204, NULL);
		}
	} else {
		api_json(r, 204, NULL);
	}
	free(old);
}

/* ---- the main thread's side ---- */

static bool signal_pending(void)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, SIGINT) || sigismember(&set, SIGTERM) || sigismember(&set, SIGHUP);
}

int vmm_api_begin(struct vmm_api *api, bool autostart)
{
	if (!api)
		return 0;
	pthread_mutex_lock(&api->lock);
	if (api->started_once)
		return 0;
	if (autostart) {
		api->state = API_STARTING;
		return 0;
	}
	while (api->state != API_STARTING) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&api->cond, &api->lock, &ts);
		if (api->state != API_STARTING && signal_pending()) {
			api->closing = true; /* no InstanceStart may wait for us now */
			pthread_mutex_unlock(&api->lock);
			return -1;
		}
	}
	return 0;
}

bool vmm_api_started(struct vmm_api *api, struct machine *m, int rc, const char *err)
{
	bool retry = false;

	if (!api)
		return false;
	if (rc) {
		retry = api->start_waiting;
		if (retry)
			api->state = API_NOT_STARTED;
		snprintf(api->start_err, sizeof(api->start_err), "%s", err ? err : "");
	} else {
		api->m = m;
		api->started_once = true;
		if (api->state != API_PAUSED)
			api->state = API_RUNNING;
	}
	api->start_rc = rc;
	api->start_done = true;
	pthread_cond_broadcast(&api->cond);
	pthread_mutex_unlock(&api->lock);
	return retry;
}

void vmm_api_ended(struct vmm_api *api)
{
	if (!api)
		return;
	pthread_mutex_lock(&api->lock);
	api->m = NULL;
	/* A machine built again after a reboot starts running, whatever the last one was. */
	if (api->state == API_PAUSED)
		api->state = API_RUNNING;
	pthread_mutex_unlock(&api->lock);
}
