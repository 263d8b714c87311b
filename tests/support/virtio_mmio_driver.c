/* SPDX-License-Identifier: Apache-2.0 */
/* A guest driver's virtio-mmio register steps (virtio 1.2 §3.1.1, §4.2.3), for tests. */
#include <errno.h>

#include "hvabs/bus.h"
#include "hvabs/devices/virtio_mmio.h"
#include "hvabs/testing/virtio_mmio_driver.h"

uint32_t vqb_mmio_read(struct hvabs_vm *vm, uint64_t base, uint32_t off)
{
	uint64_t v = ~0ull;

	if (hvabs_bus_read(vm, HVABS_SPACE_MMIO, base + off, 4, &v))
		return ~0u;
	return (uint32_t)v;
}

int vqb_mmio_write(struct hvabs_vm *vm, uint64_t base, uint32_t off, uint32_t val)
{
	return hvabs_bus_write(vm, HVABS_SPACE_MMIO, base + off, 4, val);
}

uint32_t vqb_mmio_negotiate(struct hvabs_vm *vm, uint64_t base, uint64_t accept, uint64_t *features)
{
	const uint32_t ack = HVABS_VIRTIO_STATUS_ACKNOWLEDGE | HVABS_VIRTIO_STATUS_DRIVER;
	uint64_t dev = 0;

	vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_STATUS, 0);
	vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_STATUS, HVABS_VIRTIO_STATUS_ACKNOWLEDGE);
	vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_STATUS, ack);
	for (uint32_t sel = 0; sel < 2; sel++) {
		vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		dev |= (uint64_t)vqb_mmio_read(vm, base, HVABS_VIRTIO_MMIO_DEVICE_FEATURES)
		       << (32 * sel);
	}
	uint64_t f = dev & accept;
	for (uint32_t sel = 0; sel < 2; sel++) {
		vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_DRIVER_FEATURES,
			       (uint32_t)(f >> (32 * sel)));
	}
	vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_STATUS, ack | HVABS_VIRTIO_STATUS_FEATURES_OK);
	if (features)
		*features = f;
	return vqb_mmio_read(vm, base, HVABS_VIRTIO_MMIO_STATUS);
}

int vqb_mmio_queue(struct hvabs_vm *vm, uint64_t base, uint32_t index, const struct vqb *b)
{
	const struct {
		uint32_t off;
		uint32_t val;
	} regs[] = {
	    {HVABS_VIRTIO_MMIO_QUEUE_SEL, index},
	    {HVABS_VIRTIO_MMIO_QUEUE_NUM, b->size},
	    {HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)b->desc},
	    {HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(b->desc >> 32)},
	    {HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)b->avail},
	    {HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(b->avail >> 32)},
	    {HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)b->used},
	    {HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(b->used >> 32)},
	    {HVABS_VIRTIO_MMIO_QUEUE_READY, 1},
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		int rc = vqb_mmio_write(vm, base, regs[i].off, regs[i].val);
		if (rc)
			return rc;
	}
	return vqb_mmio_read(vm, base, HVABS_VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -EIO;
}

void vqb_mmio_driver_ok(struct hvabs_vm *vm, uint64_t base)
{
	uint32_t s = vqb_mmio_read(vm, base, HVABS_VIRTIO_MMIO_STATUS);

	vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_STATUS, s | HVABS_VIRTIO_STATUS_DRIVER_OK);
}

int vqb_mmio_notify(struct hvabs_vm *vm, uint64_t base, uint32_t index)
{
	return vqb_mmio_write(vm, base, HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, index);
}
