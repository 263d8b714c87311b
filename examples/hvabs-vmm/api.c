/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's API server: HTTP/1.1 on a Unix socket we bind ourselves,
 * served by libmicrohttpd from one internal thread. Request bodies are
 * gathered here (at most Firecracker's 50 KiB) and handed whole to the
 * router (api_router.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_priv.h"

/* Firecracker's default limit on a request body. */
#define API_MAX_BODY (50 * 1024)

struct request {
	char *buf;
	size_t len;
	size_t seen; /* bytes the client sent, kept or not */
};

int vmm_api_create(struct vmm_config *cfg, struct vmm_log *log, struct vmm_metrics *metrics,
		   const struct vmm_api_ops *ops, struct vmm_api **out, char *err, size_t errlen)
{
	struct vmm_api *api = calloc(1, sizeof(*api));

	if (!api) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&api->lock, NULL);
	pthread_cond_init(&api->cond, NULL);
	api->cfg = cfg;
	api->log = log;
	api->metrics = metrics;
	api->ops = ops;
	api->listen_fd = -1;
	snprintf(api->id, sizeof(api->id), "anonymous-instance");
	*out = api;
	return 0;
}

/* Keeps what fits of the body; the reply says when it did not all fit. */
static void gather(struct request *rq, const char *data, size_t n)
{
	rq->seen += n;
	if (rq->seen > API_MAX_BODY)
		return;
	char *p = realloc(rq->buf, rq->len + n + 1);
	if (!p) {
		rq->seen = API_MAX_BODY + 1; /* refused as too big rather than cut */
		return;
	}
	memcpy(p + rq->len, data, n);
	rq->len += n;
	p[rq->len] = '\0';
	rq->buf = p;
}

static enum MHD_Result reply(struct MHD_Connection *c, struct vmm_api_reply *r)
{
	size_t n = r->body ? strlen(r->body) : 0;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(n, n ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);

	free(r->body);
	if (!resp)
		return MHD_NO;
	if (n)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct vmm_api *api = cls;
	struct request *rq = *con_cls;
	struct vmm_api_reply r = {0};

	(void)version;
	if (api->thread_fn)
		(void)api->thread_fn(api->thread_opaque, true, NULL, 0);
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		*con_cls = rq;
		if (!rq)
			return MHD_NO;
		pthread_mutex_lock(&api->lock);
		api->inflight++;
		pthread_mutex_unlock(&api->lock);
		return MHD_YES;
	}
	if (*data_size) {
		gather(rq, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	if (rq->seen > API_MAX_BODY)
		api_fault(&r, 400,
			  "Request payload with size %zu is larger than the limit of %u allowed by "
			  "server.",
			  rq->seen, API_MAX_BODY);
	else
		vmm_api_handle(api, method, url, rq->buf, rq->len, &r);
	return reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct vmm_api *api = cls;
	struct request *rq = *con_cls;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	free(rq->buf);
	free(rq);
	*con_cls = NULL;
	pthread_mutex_lock(&api->lock);
	api->inflight--;
	pthread_cond_broadcast(&api->cond);
	pthread_mutex_unlock(&api->lock);
}

/*
 * Lets replies already being made reach their clients before the server
 * stops: an InstanceStart whose guest powers off at once must still get its
 * 204 (the server would otherwise close the connection under it). Bounded,
 * so a client that stalls mid-request cannot hold the VMM's exit.
 */
static void drain_replies(struct vmm_api *api)
{
	struct timespec step = {0, 10 * 1000 * 1000};

	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&api->lock);
		unsigned n = api->inflight;
		pthread_mutex_unlock(&api->lock);
		if (!n)
			return;
		nanosleep(&step, NULL);
	}
	VMM_LOG(api->log, VMM_LOG_WARNING, "API: stopping with a request still open");
}

/* A socket file nobody listens on is stale: 0 when it was, -1 with @p err when it is live. */
static int remove_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--api-sock %s: exists and is not a socket", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	int e = errno;
	if (probe >= 0)
		close(probe);
	if (live || (e != ECONNREFUSED && e != ENOENT)) {
		snprintf(err, errlen, "--api-sock %s: %s", path,
			 live ? "another process is listening on it" : strerror(e));
		return -1;
	}
	unlink(path);
	return 0;
}

static int bind_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--api-sock %s: want a path of 1 to %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--api-sock %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc && errno == EADDRINUSE) {
		if (remove_stale(path, &sa, err, errlen)) {
			close(fd);
			return -1;
		}
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc || listen(fd, 16)) {
		snprintf(err, errlen, "--api-sock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void vmm_api_set_thread_fn(struct vmm_api *api, vmm_api_thread_fn fn, void *opaque)
{
	api->thread_fn = fn;
	api->thread_opaque = opaque;
}

static struct MHD_Daemon *start_daemon(struct vmm_api *api)
{
	/* One internal thread serves every connection, one request at a time. */
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				on_request, api, MHD_OPTION_LISTEN_SOCKET, api->listen_fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
				MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT,
				60u, MHD_OPTION_END);
}

struct starter {
	struct vmm_api *api;
	char err[256];
};

/*
 * libmicrohttpd runs no code of ours in its thread before the first request,
 * but a thread inherits its creator's seccomp filter: this thread sets up
 * the hook (the filter), starts the server's thread and ends.
 */
static void *starter_main(void *arg)
{
	struct starter *st = arg;
	struct vmm_api *api = st->api;

	if (!api->thread_fn(api->thread_opaque, false, st->err, sizeof(st->err)))
		api->mhd = start_daemon(api);
	return NULL;
}

static int start_server(struct vmm_api *api, char *err, size_t errlen)
{
	struct starter st = {.api = api};
	pthread_t t;

	if (!api->thread_fn) {
		api->mhd = start_daemon(api);
		return 0;
	}
	int rc = pthread_create(&t, NULL, starter_main, &st);
	if (rc) {
		snprintf(err, errlen, "cannot start the API thread: %s", strerror(rc));
		return -1;
	}
	pthread_join(t, NULL);
	if (st.err[0]) {
		snprintf(err, errlen, "%s", st.err);
		return -1;
	}
	return 0;
}

int vmm_api_listen(struct vmm_api *api, const char *path, char *err, size_t errlen)
{
	int fd = bind_socket(path, err, errlen);

	if (fd < 0)
		return -1;
	api->listen_fd = fd;
	api->sock_path = strdup(path);
	if (start_server(api, err, errlen))
		return -1;
	if (!api->mhd) {
		snprintf(err, errlen, "--api-sock %s: cannot start the HTTP server", path);
		return -1;
	}
	VMM_LOG(api->log, VMM_LOG_INFO, "API server listening on %s", path);
	return 0;
}

void vmm_api_destroy(struct vmm_api *api)
{
	if (!api)
		return;
	/* A request waiting for the main thread (InstanceStart) gives up, so the server can stop. */
	pthread_mutex_lock(&api->lock);
	api->closing = true;
	pthread_cond_broadcast(&api->cond);
	pthread_mutex_unlock(&api->lock);
	if (api->mhd) {
		drain_replies(api);
		MHD_stop_daemon(api->mhd); /* closes the listening socket */
	} else if (api->listen_fd >= 0) {
		close(api->listen_fd);
	}
	if (api->sock_path)
		unlink(api->sock_path);
	free(api->sock_path);
	pthread_cond_destroy(&api->cond);
	pthread_mutex_destroy(&api->lock);
	free(api);
}
