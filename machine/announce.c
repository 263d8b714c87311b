/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telling the guest what the machine has. A virtio-mmio device cannot be
 * discovered by probing, so each one is announced twice: as an `LNRO0005`
 * object in the DSDT (stock distribution kernels build virtio_mmio without
 * its command-line parameter) and as a `virtio_mmio.device=` word on the
 * kernel command line (kernels without ACPI). The vCPUs, the legacy devices
 * and these entries together are the struct hvabs_platform the loader turns
 * into the ACPI and MP tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine_priv.h"

/* Room for one word: "virtio_mmio.device=4K@0x" + 16 hex digits + ":" + 10 digits. */
#define WORD_MAX 96

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

int hvabs_machine_announce_virtio(struct hvabs_machine *m, const struct hvabs_virtio_mmio *t)
{
	char word[WORD_MAX];

	if (!m || !t)
		return -EINVAL;
	if (m->ndevices >= HVABS_PLATFORM_MAX_DEVICES)
		return -ENOSPC;
	int n = hvabs_virtio_mmio_cmdline(t, word, sizeof(word));
	if (n < 0)
		return n;
	int rc = grow_devices(m);
	if (rc)
		return rc;
	/* Each word follows a space, so the list appends to any command line as it is. */
	char *w = realloc(m->words, m->words_len + (size_t)n + 2);
	if (!w)
		return -ENOMEM;
	m->words = w;
	w[m->words_len] = ' ';
	memcpy(w + m->words_len + 1, word, (size_t)n + 1);
	m->words_len += (size_t)n + 1;
	hvabs_virtio_mmio_describe(t, &m->devices[m->ndevices++]);
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
