/* SPDX-License-Identifier: Apache-2.0 */
/* Unix stream sockets for the host side of virtio-vsock and virtio-console. */
#ifndef HVABS_DEVICES_VIRTIO_VSOCK_UDS_H
#define HVABS_DEVICES_VIRTIO_VSOCK_UDS_H

#include <hvabs/log.h>

/*
 * Listens at @p path (non-blocking, close-on-exec). A socket file left by a
 * process that is gone (connecting to it is refused) is replaced; a live one
 * is not. Returns the socket or negative errno, logged under @p comp.
 */
int uds_listen(const char *path, int backlog, const struct hvabs_logger *log, const char *comp);

/* Connects to @p path without blocking: the socket, or negative errno. */
int uds_connect(const char *path);

#endif
