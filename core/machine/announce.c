/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telling the guest what the machine has: each device that cannot be
 * discovered by probing is announced as a DSDT object and, optionally, as a
 * kernel command-line word (devices/virtio/mmio_machine.c does it for
 * virtio-mmio: `LNRO0005` and `virtio_mmio.device=`). The machine layer
 * knows no device: it records what it is given. The vCPUs, the legacy devices
 * and these entries together are the struct hvabs_platform the loader turns
 * into the ACPI and MP tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine_priv.h"

static int grow_devices(struct hvabs_machine *m)
{
	if (m->ndevices < m->devices_cap)
		return 0;
	size_t cap = m->devices_cap ? m->devices_cap * 2 : 16;
	struct hvabs_acpi_device *d = realloc(m->devices, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->devices = d;
	m->devices_cap = cap;
	return 0;
}

int hvabs_machine_announce(struct hvabs_machine *m, const struct hvabs_acpi_device *dev,
			   const char *word)
{
	size_t n = word ? strlen(word) : 0;

	if (!m || !dev)
		return -EINVAL;
	if (m->ndevices >= HVABS_PLATFORM_MAX_DEVICES)
		return -ENOSPC;
	int rc = grow_devices(m);
	if (rc)
		return rc;
	if (n) {
		/* Each word follows a space, so the list appends to any command line as it is. */
		char *w = realloc(m->words, m->words_len + n + 2);
		if (!w)
			return -ENOMEM;
		m->words = w;
		w[m->words_len] = ' ';
		memcpy(w + m->words_len + 1, word, n + 1);
		m->words_len += n + 1;
	}
	m->devices[m->ndevices++] = *dev;
	return 0;
}

size_t hvabs_machine_device_count(const struct hvabs_machine *m)
{
	return m ? m->ndevices : 0;
}

void hvabs_machine_platform(const struct hvabs_machine *m, struct hvabs_platform *out)
{
	memset(out, 0, sizeof(*out));
	out->nr_cpus = m->nr_cpus;
	out->flags = m->platform_flags;
	out->devices = m->ndevices ? m->devices : NULL;
	out->nr_devices = m->ndevices;
	out->apic_id_stride = m->apic_id_stride;
	out->pci = m->has_pci ? &m->pci : NULL;
}

int hvabs_machine_set_pci(struct hvabs_machine *m, const struct hvabs_acpi_pci_host *host)
{
	if (!m || !host)
		return -EINVAL;
	if (m->has_pci)
		return -EEXIST;
	m->pci = *host;
	m->has_pci = 1;
	return 0;
}

int hvabs_machine_cmdline(const struct hvabs_machine *m, const char *base, char *buf, size_t *len)
{
	if (!m || !len)
		return -EINVAL;
	if (!base)
		base = "";
	size_t blen = strlen(base);
	size_t need = blen + m->words_len + 1;
	if (!buf || *len < need) {
		*len = need;
		return -ENOSPC;
	}
	memcpy(buf, base, blen);
	if (m->words_len)
		memcpy(buf + blen, m->words, m->words_len);
	buf[blen + m->words_len] = '\0';
	*len = need;
	return 0;
}
