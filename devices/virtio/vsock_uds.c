/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix stream sockets for the host side of virtio-vsock (the listener at
 * the configured path and the per-port sockets the guest connects to) and
 * for a socket-backed virtio-console.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock_uds.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	if (!len)
		return -EINVAL;
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len);
	return 0;
}

int uds_connect(const char *path)
{
	struct sockaddr_un sa;
	int rc = fill_addr(&sa, path);

	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix stream connect completes at once, or fails (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* A socket file nobody listens on any more (its process died) may be replaced. */
static bool stale(const char *path)
{
	struct stat st;
	int fd = uds_connect(path);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -ECONNREFUSED && !lstat(path, &st) && S_ISSOCK(st.st_mode);
}

int uds_listen(const char *path, int backlog, const struct hvabs_logger *log, const char *comp)
{
	struct sockaddr_un sa;
	int rc = fill_addr(&sa, path);

	if (rc) {
		hvabs_log(log, HVABS_LOG_ERROR, comp, "socket path '%s': %s", path, strerror(-rc));
		return rc;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (rc == -EADDRINUSE && stale(path) && !unlink(path))
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (!rc)
		rc = listen(fd, backlog) ? -errno : 0;
	if (rc) {
		hvabs_log(log, HVABS_LOG_ERROR, comp, "cannot listen at %s: %s", path,
			  strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}
