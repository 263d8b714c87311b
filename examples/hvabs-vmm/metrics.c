/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's metrics: the API's own counters (requests by method and
 * resource, failures, latency) kept per line, and the machine's cumulative
 * counters (collected by the caller's callback) turned into the difference
 * since the previous line, so every line says what happened in its period.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "metrics.h"

static const char *const method_keys[VMM_API_METHODS] = {
    "get_api_requests", "put_api_requests", "patch_api_requests", "other_api_requests"};

void vmm_metrics_init(struct vmm_metrics *mt)
{
	memset(mt, 0, sizeof(*mt));
	pthread_mutex_init(&mt->lock, NULL);
	mt->fd = -1;
	for (int i = 0; i < VMM_API_METHODS; i++)
		mt->requests[i] = json_object();
}

void vmm_metrics_fini(struct vmm_metrics *mt)
{
	if (mt->fd >= 0)
		close(mt->fd);
	for (int i = 0; i < VMM_API_METHODS; i++)
		json_decref(mt->requests[i]);
	json_decref(mt->prev);
	pthread_mutex_destroy(&mt->lock);
}

int vmm_metrics_open(struct vmm_metrics *mt, const char *path, char *err, size_t errlen)
{
	int fd = vmm_open_nonblock(path);

	if (fd < 0) {
		snprintf(err, errlen, "metrics_path %s: %s", path,
			 errno == EINVAL ? "not a regular file or a FIFO" : strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&mt->lock);
	if (mt->fd >= 0)
		close(mt->fd);
	mt->fd = fd;
	pthread_mutex_unlock(&mt->lock);
	return 0;
}

void vmm_metrics_attach(struct vmm_metrics *mt, vmm_metrics_collect_fn fn, void *opaque)
{
	pthread_mutex_lock(&mt->lock);
	mt->collect = fn;
	mt->collect_opaque = opaque;
	pthread_mutex_unlock(&mt->lock);
}

static void bump(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

void vmm_metrics_request(struct vmm_metrics *mt, enum vmm_api_method method, const char *resource,
			 int status, uint64_t latency_us)
{
	char key[64];

	pthread_mutex_lock(&mt->lock);
	snprintf(key, sizeof(key), "%s_count", resource);
	bump(mt->requests[method], key);
	if (status >= 300) {
		snprintf(key, sizeof(key), "%s_fails", resource);
		bump(mt->requests[method], key);
		mt->req_errors++;
	}
	mt->req_total++;
	mt->lat_sum_us += latency_us;
	if (latency_us > mt->lat_max_us)
		mt->lat_max_us = latency_us;
	pthread_mutex_unlock(&mt->lock);
}

void vmm_metrics_guest_crash(struct vmm_metrics *mt)
{
	pthread_mutex_lock(&mt->lock);
	mt->guest_crashes++;
	pthread_mutex_unlock(&mt->lock);
}

/* @p cur - @p prev for every integer in @p cur, recursively; objects missing in prev count from 0. */
static json_t *difference(const json_t *cur, const json_t *prev)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)cur, k, v)
	{
		json_t *p = prev ? json_object_get(prev, k) : NULL;
		if (json_is_object(v))
			json_object_set_new(out, k, difference(v, json_is_object(p) ? p : NULL));
		else if (json_is_integer(v))
			json_object_set_new(
			    out, k,
			    json_integer(json_integer_value(v) -
					 (json_is_integer(p) ? json_integer_value(p) : 0)));
	}
	return out;
}

/* The cumulative counters: the machine's and the VMM's own. */
static json_t *cumulative(struct vmm_metrics *mt)
{
	json_t *c = json_object();

	if (mt->collect)
		mt->collect(mt->collect_opaque, c);
	json_object_set_new(c, "vmm",
			    json_pack("{s:I}", "guest_crash_count", (json_int_t)mt->guest_crashes));
	json_object_set_new(c, "metrics",
			    json_pack("{s:I}", "dropped_lines", (json_int_t)mt->dropped));
	return c;
}

/* The API's counters of this period; they start again from zero. */
static json_t *api_period(struct vmm_metrics *mt)
{
	json_t *a = json_pack("{s:I,s:I,s:I,s:I}", "requests", (json_int_t)mt->req_total, "errors",
			      (json_int_t)mt->req_errors, "latency_us_avg",
			      (json_int_t)(mt->req_total ? mt->lat_sum_us / mt->req_total : 0),
			      "latency_us_max", (json_int_t)mt->lat_max_us);

	mt->req_total = mt->req_errors = mt->lat_sum_us = mt->lat_max_us = 0;
	return a;
}

static json_t *build_line(struct vmm_metrics *mt)
{
	struct timespec ts;
	json_t *cur = cumulative(mt);
	json_t *line = difference(cur, mt->prev);

	json_decref(mt->prev);
	mt->prev = cur;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(line, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_set_new(line, "api_server", api_period(mt));
	for (int i = 0; i < VMM_API_METHODS; i++) {
		json_object_set_new(line, method_keys[i], mt->requests[i]);
		mt->requests[i] = json_object();
	}
	return line;
}

int vmm_metrics_flush(struct vmm_metrics *mt, char *err, size_t errlen)
{
	int rc = 1;

	pthread_mutex_lock(&mt->lock);
	if (mt->fd < 0) {
		pthread_mutex_unlock(&mt->lock);
		return 0;
	}
	json_t *line = build_line(mt);
	char *text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	size_t n = text ? strlen(text) : 0;
	if (text) {
		text[n] = '\n'; /* one write: the line and its newline, or nothing */
		ssize_t w = write(mt->fd, text, n + 1);
		if (w != (ssize_t)(n + 1)) {
			snprintf(err, errlen, "metrics line dropped: %s",
				 w < 0 ? strerror(errno) : "short write");
			mt->dropped++;
			rc = -1;
		} else {
			mt->flushes++;
		}
	}
	free(text);
	pthread_mutex_unlock(&mt->lock);
	return rc;
}
