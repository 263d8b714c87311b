/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Placing a virtio-mmio transport on a machine (core/machine) and announcing
 * it. A virtio-mmio device cannot be discovered by probing, so each one is
 * announced twice: as an `LNRO0005` object in the DSDT (stock distribution
 * kernels build virtio_mmio without its command-line parameter) and as a
 * `virtio_mmio.device=` word on the kernel command line (kernels without
 * ACPI). The machine layer knows no device, so this lives with the device.
 */
#include <errno.h>

#include "hvabs/devices/virtio_mmio.h"

/* "virtio_mmio.device=4K@0x" + 16 hex digits + ":" + 10 digits, and the NUL. */
#define WORD_MAX 96

int hvabs_virtio_mmio_place(struct hvabs_machine *m, struct hvabs_virtio_mmio_params *params)
{
	uint64_t base;
	uint32_t gsi;

	if (!m || !params)
		return -EINVAL;
	int rc = hvabs_machine_place(m, HVABS_VIRTIO_MMIO_SIZE, &base, &gsi);
	if (rc)
		return rc;
	params->base = base;
	params->gsi = gsi;
	return 0;
}

int hvabs_virtio_mmio_announce(const struct hvabs_virtio_mmio *t, struct hvabs_machine *m)
{
	struct hvabs_acpi_device dev;
	char word[WORD_MAX];

	if (!m || !t)
		return -EINVAL;
	int n = hvabs_virtio_mmio_cmdline(t, word, sizeof(word));
	if (n < 0)
		return n;
	hvabs_virtio_mmio_describe(t, &dev);
	return hvabs_machine_announce(m, &dev, word);
}
