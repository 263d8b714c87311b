/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm's API: the state its rooms (server, router, actions) share. */
#ifndef HVABS_VMM_API_PRIV_H
#define HVABS_VMM_API_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "api.h"

enum api_state {
	API_NOT_STARTED = 0,
	API_STARTING, /* InstanceStart accepted (or autostart), the machine is being built */
	API_RUNNING,
	API_PAUSED,
};

struct MHD_Daemon;

struct vmm_api {
	pthread_mutex_t lock; /* everything below; the main thread holds it while building */
	pthread_cond_t cond;
	struct vmm_config *cfg;
	struct vmm_log *log;
	struct vmm_metrics *metrics;
	const struct vmm_api_ops *ops;
	enum api_state state;
	bool started_once;  /* the first machine came (InstanceStart or autostart) */
	bool start_waiting; /* an InstanceStart request waits for the main thread */
	bool start_done;    /* ... and the main thread answered */
	bool closing;	    /* the main thread will build no machine any more */
	int start_rc;
	char start_err[512];
	struct machine *m; /* the running machine, or NULL */
	char id[40];	   /* instance id for GET / */
	unsigned inflight; /* requests begun whose reply is not sent yet */

	/* the server (api.c) */
	struct MHD_Daemon *mhd;
	int listen_fd;
	char *sock_path;
	vmm_api_thread_fn thread_fn; /* vmm_api_set_thread_fn() */
	void *thread_opaque;
};

/* Firecracker's refusals, word for word where clients may match them. */
#define API_AFTER_START	 "The requested operation is not supported after starting the microVM."
#define API_BEFORE_START "The requested operation is not supported before starting the microVM."

/* api_router.c: a reply with {"fault_message": ...}. */
void api_fault(struct vmm_api_reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* api_router.c: a reply with a JSON body (steals @p body). */
void api_json(struct vmm_api_reply *r, unsigned status, json_t *body);

/* api_actions.c: PUT /actions. Lock held. */
void api_put_actions(struct vmm_api *api, const json_t *body, struct vmm_api_reply *r);
/* api_actions.c: PATCH /vm. Lock held. */
void api_patch_vm(struct vmm_api *api, const json_t *body, struct vmm_api_reply *r);
/* api_actions.c: PATCH /drives/{id} on a running VM. Lock held. */
void api_patch_drive(struct vmm_api *api, const char *id, const json_t *body,
		     struct vmm_api_reply *r);

#endif
