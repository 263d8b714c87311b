/* SPDX-License-Identifier: Apache-2.0 */
/* The transport-neutral calls of virtio devices, forwarded to virtio-mmio or virtio-pci. */
#include <errno.h>

#include "transport_priv.h"

void hvabs_virtio_transport_lock(struct hvabs_virtio_transport *tp)
{
	tp->ops->lock(tp->impl);
}

void hvabs_virtio_transport_unlock(struct hvabs_virtio_transport *tp)
{
	tp->ops->unlock(tp->impl);
}

struct hvabs_virtq *hvabs_virtio_transport_queue(struct hvabs_virtio_transport *tp, uint32_t index)
{
	return tp->ops->queue(tp->impl, index);
}

int hvabs_virtio_transport_signal_used(struct hvabs_virtio_transport *tp, uint32_t index)
{
	return tp->ops->signal_used(tp->impl, index);
}

int hvabs_virtio_transport_config_changed(struct hvabs_virtio_transport *tp)
{
	return tp->ops->config_changed(tp->impl);
}

void hvabs_virtio_transport_set_needs_reset(struct hvabs_virtio_transport *tp)
{
	tp->ops->set_needs_reset(tp->impl);
}

int hvabs_virtio_transport_kick(struct hvabs_virtio_transport *tp, uint32_t index)
{
	return tp->ops->kick(tp->impl, index);
}

uint64_t hvabs_virtio_transport_features(const struct hvabs_virtio_transport *tp)
{
	return tp->ops->features(tp->impl);
}

int virtio_transport_create(struct hvabs_vm *vm, struct hvabs_virtio_mmio_params *mp,
			    const struct hvabs_virtio_pci_params *pci,
			    const struct hvabs_virtio_device_ops *ops, void *opaque,
			    struct hvabs_virtio_mmio **mmio, struct hvabs_virtio_pci **pcit,
			    struct hvabs_virtio_transport **tp)
{
	int rc;

	*mmio = NULL;
	*pcit = NULL;
	if (pci) {
		struct hvabs_virtio_pci_params pp = *pci;

		if (!pp.name)
			pp.name = mp->name;
		rc = hvabs_virtio_pci_create(vm, &pp, ops, opaque, pcit);
		if (!rc) {
			mp->loop = pp.loop;
			*tp = hvabs_virtio_pci_transport(*pcit);
		}
		return rc;
	}
	rc = hvabs_virtio_mmio_create(vm, mp, ops, opaque, mmio);
	if (!rc)
		*tp = hvabs_virtio_mmio_transport(*mmio);
	return rc;
}

void virtio_transport_destroy(struct hvabs_virtio_mmio *mmio, struct hvabs_virtio_pci *pcit)
{
	hvabs_virtio_mmio_destroy(mmio);
	hvabs_virtio_pci_destroy(pcit);
}
