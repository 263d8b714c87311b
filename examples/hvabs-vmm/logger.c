/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's log: stderr by default, or a file or FIFO set through
 * PUT /logger. A line is written with one write(2) so lines from several
 * threads never interleave, and never waits: a FIFO nobody drains drops the
 * line and counts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"

static const char *const level_names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};

void vmm_log_init(struct vmm_log *lg)
{
	memset(lg, 0, sizeof(*lg));
	pthread_mutex_init(&lg->lock, NULL);
	lg->fd = -1;
	lg->level = VMM_LOG_INFO;
}

void vmm_log_fini(struct vmm_log *lg)
{
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
	pthread_mutex_destroy(&lg->lock);
}

int vmm_open_nonblock(const char *path)
{
	struct stat st;

	/* A FIFO opened read-write never blocks on open and never raises SIGPIPE. */
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
}

int vmm_log_open(struct vmm_log *lg, const struct vmm_logger *cfg, char *err, size_t errlen)
{
	int fd = cfg->path ? vmm_open_nonblock(cfg->path) : -1;

	if (!cfg->path) {
		/* No log_path: the level and prefixes change, the lines stay on stderr. */
		pthread_mutex_lock(&lg->lock);
		lg->level = cfg->level;
		pthread_mutex_unlock(&lg->lock);
		return 0;
	}
	if (fd < 0) {
		snprintf(err, errlen, "log_path %s: %s", cfg->path,
			 errno == EINVAL ? "not a regular file or a FIFO" : strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&lg->lock);
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = fd;
	lg->level = cfg->level;
	lg->show_level = cfg->show_level;
	lg->show_origin = cfg->show_origin;
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

/* "2026-12-08T01:02:03.456789Z " */
static size_t timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, len - n, ".%06ldZ ", ts.tv_nsec / 1000);
	return n + (m > 0 ? (size_t)m : 0);
}

/*
 * Until PUT /logger, stderr takes the library's lines (already filtered by
 * HVABS_LOG) and the VMM's own warnings and errors, as before the API.
 */
static bool wanted(const struct vmm_log *lg, enum vmm_log_level level, bool lib)
{
	if (level == VMM_LOG_OFF)
		return false;
	if (lg->fd < 0)
		return lib || level <= VMM_LOG_WARNING;
	return level <= lg->level;
}

static void vlog(struct vmm_log *lg, enum vmm_log_level level, bool lib, const char *file, int line,
		 const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	pthread_mutex_lock(&lg->lock);
	if (!wanted(lg, level, lib)) {
		pthread_mutex_unlock(&lg->lock);
		return;
	}
	if (lg->fd < 0) {
		/* \r first: the terminal may be in raw mode while the guest runs. */
		n = (size_t)snprintf(buf, sizeof(buf), "\rhvabs-vmm: ");
	} else {
		n = timestamp(buf, sizeof(buf));
		if (lg->show_level)
			n +=
			    (size_t)snprintf(buf + n, sizeof(buf) - n, "[%s] ", level_names[level]);
		if (lg->show_origin && file) {
			const char *base = strrchr(file, '/');
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[%s:%d] ",
					      base ? base + 1 : file, line);
		}
	}
	size_t start = n;
	int m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	n = m < 0 ? n : n + (size_t)m;
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2; /* cut long lines, keep the newline */
	/* A client's URL or a guest's text must not start lines of its own. */
	for (size_t i = start; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[n++] = '\n';
	ssize_t w = write(lg->fd >= 0 ? lg->fd : STDERR_FILENO, buf, n);
	if (w == (ssize_t)n)
		lg->lines++;
	else
		lg->dropped++;
	pthread_mutex_unlock(&lg->lock);
}

void vmm_logf(struct vmm_log *lg, enum vmm_log_level level, const char *file, int line,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lg, level, false, file, line, fmt, ap);
	va_end(ap);
}

static void lib_log(struct vmm_log *lg, enum vmm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lib_log(struct vmm_log *lg, enum vmm_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lg, level, true, NULL, 0, fmt, ap);
	va_end(ap);
}

void vmm_log_hvabs(void *opaque, enum hvabs_log_level level, const char *comp, const char *msg)
{
	static const enum vmm_log_level map[] = {VMM_LOG_ERROR, VMM_LOG_WARNING, VMM_LOG_INFO,
						 VMM_LOG_DEBUG};
	static const char *const names[] = {"error", "warning", "info", "debug"};
	unsigned l = (unsigned)level <= 3 ? (unsigned)level : 3;

	lib_log(opaque, map[l], "%s: %s: %s", comp, names[l], msg);
}
