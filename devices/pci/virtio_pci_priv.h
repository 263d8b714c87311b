/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio-pci transport's state, shared by virtio_pci.c and virtio_pci_event.c. */
#ifndef HVABS_VIRTIO_PCI_PRIV_H
#define HVABS_VIRTIO_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvabs/devices/virtio_pci.h>
#include <hvabs/irq.h>
#include <hvabs/log.h>

#include "../virtio/transport_priv.h"

#define VPCI_COMP "virtio-pci"

struct vpci_queue {
	struct hvabs_virtq *vq;
	uint32_t num;
	uint64_t desc, driver, device;
	bool ready;
	uint16_t msix;
	int own_fd;		      /* our eventfd: bus writes and kicks */
	struct hvabs_ioeventfd *ioev; /* at the current notify address, or NULL */
};

struct hvabs_virtio_pci {
	struct hvabs_virtio_transport tp;
	struct hvabs_vm *vm;
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	char name[24];
	struct hvabs_event_loop *loop;
	const struct hvabs_virtio_device_ops *ops;
	void *opaque;
	struct hvabs_pci_dev *pdev;

	int epfd; /* every queue's notify fds; the loop watches it */
	struct hvabs_event *ev;
	pthread_mutex_t ev_lock; /* the fds in epfd against a BAR move */

	/* registers, under the function lock */
	uint64_t dev_features, drv_features;
	uint32_t dfsel, gfsel;
	uint16_t qsel, config_msix;
	uint8_t status, isr, config_gen;
	struct vpci_queue q[HVABS_VIRTIO_MMIO_MAX_QUEUES];
	struct hvabs_virtio_pci_stats st;
};

#define VPCI_WARN(t, ...)                                                                          \
	hvabs_log_ratelimited((t)->log, &(t)->rl, HVABS_LOG_WARN, VPCI_COMP, __VA_ARGS__)

/* virtio_pci_event.c */
int vpci_event_init(struct hvabs_virtio_pci *t);
void vpci_event_fini(struct hvabs_virtio_pci *t);
void vpci_bar_moved(void *opaque, uint32_t bar, uint64_t gpa);
int vpci_kick(void *impl, uint32_t index);
void vpci_kick_ready(struct hvabs_virtio_pci *t);
int vpci_signal_used(void *impl, uint32_t index);
void vpci_raise_config(struct hvabs_virtio_pci *t);
void vpci_set_needs_reset(void *impl);

/* virtio_pci.c: the registers of BAR 0. */
const struct hvabs_bus_ops *vpci_bar_ops(void);

#endif
