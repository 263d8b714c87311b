/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Non-blocking, bounded output to a host descriptor (see host_out.h for why
 * each kind of descriptor is written the way it is).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_out.h"

#define COMP "uart"

/*
 * A second open file description of the object behind @p fd, write-only and
 * non-blocking, or -1. Checked to be the same object: /proc/self/fd is a
 * magic link, but a descriptor closed and reused by another thread between
 * the two calls must not make us write elsewhere.
 */
static int reopen_nonblock(int fd, const struct stat *st)
{
	char path[64];
	struct stat st2;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (r < 0)
		return -1;
	if (fstat(r, &st2) || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
		close(r);
		errno = ESTALE;
		return -1;
	}
	return r;
}

static int choose(struct host_out *o, const struct hvabs_logger *log, const char *who)
{
	struct stat st;
	int fl = fcntl(o->fd, F_GETFL);

	if (fl < 0 || fstat(o->fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || (fl & O_NONBLOCK)) {
		o->how = HOST_OUT_PLAIN;
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		o->how = HOST_OUT_SEND;
		return 0;
	}
	int r = reopen_nonblock(o->fd, &st);
	if (r >= 0) {
		o->wfd = r;
		o->how = HOST_OUT_REOPEN;
		return 0;
	}
	int err = errno;
	if (fcntl(o->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	o->saved_fl = fl;
	o->how = HOST_OUT_SETFLAG;
	hvabs_log(log, HVABS_LOG_WARN, COMP,
		  "%s: cannot reopen output fd %d non-blocking (%s); set O_NONBLOCK on it "
		  "until the device is destroyed",
		  who, o->fd, strerror(err));
	return 0;
}

int host_out_init(struct host_out *o, int fd, size_t cap, const struct hvabs_logger *log,
		  const char *who)
{
	memset(o, 0, sizeof(*o));
	o->fd = o->wfd = fd;
	o->saved_fl = -1;
	if (fd < 0 || !cap)
		return -EINVAL;
	o->buf = malloc(cap);
	if (!o->buf)
		return -ENOMEM;
	o->cap = cap;
	int rc = choose(o, log, who);
	if (rc) {
		free(o->buf);
		o->buf = NULL;
	}
	return rc;
}

void host_out_fini(struct host_out *o)
{
	if (!o->buf)
		return;
	(void)host_out_flush(o);
	if (o->how == HOST_OUT_REOPEN)
		close(o->wfd);
	if (o->how == HOST_OUT_SETFLAG)
		(void)fcntl(o->fd, F_SETFL, o->saved_fl);
	free(o->buf);
	o->buf = NULL;
}

bool host_out_put(struct host_out *o, uint8_t c)
{
	if (o->broken || o->len == o->cap) {
		o->dropped++;
		return false;
	}
	o->buf[(o->head + o->len) % o->cap] = c;
	o->len++;
	return true;
}

/* One non-blocking write: bytes written, 0 when it would block, or negative errno. */
static ssize_t write_once(struct host_out *o, const uint8_t *p, size_t n)
{
	for (;;) {
		ssize_t r = o->how == HOST_OUT_SEND
				? send(o->wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)
				: write(o->wfd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
}

void host_out_break(struct host_out *o)
{
	o->dropped += o->len;
	o->len = o->head = 0;
	o->broken = true;
}

int host_out_flush(struct host_out *o)
{
	while (o->len && !o->broken) {
		size_t chunk = o->cap - o->head;
		if (chunk > o->len)
			chunk = o->len;
		ssize_t r = write_once(o, o->buf + o->head, chunk);
		if (r < 0) {
			host_out_break(o);
			return (int)r;
		}
		if (r == 0)
			break;
		o->head = (o->head + (size_t)r) % o->cap;
		o->len -= (size_t)r;
	}
	if (!o->len)
		o->head = 0;
	if (o->broken)
		return -EPIPE;
	return o->len ? -EAGAIN : 0;
}
