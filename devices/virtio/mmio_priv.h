/* SPDX-License-Identifier: Apache-2.0 */
/* Internal state of a virtio-mmio transport, shared by mmio.c and mmio_event.c. */
#ifndef HVABS_DEVICES_VIRTIO_MMIO_PRIV_H
#define HVABS_DEVICES_VIRTIO_MMIO_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvabs/bus.h>
#include <hvabs/devices/virtio_mmio.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#include "transport_priv.h"

#define VIRTIO_COMP "virtio"

/* What the driver wrote for one queue, and how it is notified. */
struct mmio_queue {
	struct hvabs_virtq *vq;
	uint32_t num;
	uint64_t desc, driver, device;
	bool ready;
	atomic_int notify_fd;	      /* -1 until the queue is first made ready */
	struct hvabs_ioeventfd *ioev; /* owns notify_fd, or NULL if we own it */
};

struct hvabs_virtio_mmio {
	struct hvabs_virtio_transport tp; /* what the device sees */
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	char name[24];
	uint64_t base;
	uint32_t gsi;
	uint32_t flags;
	struct hvabs_event_loop *loop;
	const struct hvabs_virtio_device_ops *ops;
	void *opaque;

	struct hvabs_bus_dev *dev;
	struct hvabs_irqfd *irqfd; /* edge mode */
	int line;		   /* level mode: last level set, -1 before */
	int epfd;		   /* the queues' notify fds; watched by the loop */
	struct hvabs_event *ev;

	/* registers, under the device lock */
	uint64_t dev_features;
	uint64_t drv_features;
	uint32_t dev_features_sel, drv_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t isr;
	uint32_t config_gen;
	struct mmio_queue q[HVABS_VIRTIO_MMIO_MAX_QUEUES];

	struct hvabs_virtio_mmio_stats st;
};

/* mmio_event.c */
int mmio_event_init(struct hvabs_virtio_mmio *t);
void mmio_event_fini(struct hvabs_virtio_mmio *t);
int mmio_queue_arm(struct hvabs_virtio_mmio *t, uint32_t index);
void mmio_raise(struct hvabs_virtio_mmio *t, uint32_t bits);
void mmio_update_line(struct hvabs_virtio_mmio *t);
void mmio_kick_ready(struct hvabs_virtio_mmio *t);

#endif
