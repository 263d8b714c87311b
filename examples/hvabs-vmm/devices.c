/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The devices of the config: the legacy PC devices every guest gets (i8042
 * for the reset line, the CMOS RTC, the ACPI PM registers for power-off) and
 * the virtio devices asked for, in option order: disks, NICs, the
 * virtio-console, rng, vsock, on virtio-mmio or (--transport pci) on a PCI
 * host bridge. Where each virtio device goes (window and
 * interrupt line) and how the guest learns of it (DSDT entry, command-line
 * word) is the machine layer's (hvabs/machine.h); this file only says which
 * devices there are.
 */
#include <stdio.h>
#include <string.h>

#include "vmm.h"

int vmm_devices_create_legacy(struct machine *m, char *err, size_t errlen)
{
	struct hvabs_rtc_config rc_cfg = {0};

	hvabs_machine_ram_split(m->plan, &rc_cfg.mem_below_4g, &rc_cfg.mem_above_4g);
	if (hvabs_i8042_create(m->vm, NULL, &m->dev.kbc) ||
	    hvabs_rtc_create(m->vm, &rc_cfg, &m->dev.rtc) ||
	    hvabs_acpi_pm_create(m->vm, NULL, &m->dev.pm)) {
		snprintf(err, errlen, "cannot create the legacy devices");
		return -1;
	}
	return 0;
}

/*
 * A window and a line for the next virtio device, on this VM's event loop;
 * with --transport pci, the next free slot of the host bridge instead (*pci
 * set, the mmio parameters then only give the name and loop).
 */
static int place(struct machine *m, const char *name, struct hvabs_virtio_mmio_params *p,
		 const struct hvabs_virtio_pci_params **pci, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->loop = m->loop;
	p->name = name;
	*pci = m->dev.pci ? &m->dev.pcip : NULL;
	if (*pci)
		return 0;
	int rc = hvabs_virtio_mmio_place(m->plan, p);
	if (rc) {
		snprintf(err, errlen, "%s: no room for another virtio device: %s", name,
			 strerror(-rc));
		return -1;
	}
	p->loop = m->loop;
	p->name = name;
	return 0;
}

static int announce(struct machine *m, const char *name, struct hvabs_virtio_mmio *t, char *err,
		    size_t errlen)
{
	/* On PCI the guest finds the device by enumeration; the host bridge is announced once. */
	if (!t)
		return 0;
	int rc = hvabs_virtio_mmio_announce(t, m->plan);
	if (rc)
		snprintf(err, errlen, "%s: cannot announce it to the guest: %s", name,
			 strerror(-rc));
	return rc ? -1 : 0;
}

static int create_disks(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	char name[16];

	for (unsigned i = 0; i < c->ndisks; i++) {
		struct hvabs_virtio_blk_config bc = {0};
		snprintf(name, sizeof(name), "blk%u", i);
		if (place(m, name, &bc.mmio, &bc.pci, err, errlen))
			return -1;
		bc.path = c->disks[i].path;
		bc.serial = c->disks[i].serial;
		bc.flags = (c->disks[i].readonly ? HVABS_VIRTIO_BLK_READONLY : 0) |
			   (c->disks[i].direct ? HVABS_VIRTIO_BLK_DIRECT : 0);
		bc.num_queues = c->disks[i].num_queues;
		bc.engine = c->disks[i].io_uring ? HVABS_VIRTIO_BLK_ENGINE_IO_URING
						 : HVABS_VIRTIO_BLK_ENGINE_SYNC;
		int rc = hvabs_virtio_blk_create(m->vm, &bc, &m->dev.disks[i]);
		if (rc) {
			snprintf(err, errlen, "--disk %s: %s", c->disks[i].path, strerror(-rc));
			return -1;
		}
		if (announce(m, name, hvabs_virtio_blk_transport(m->dev.disks[i]), err, errlen))
			return -1;
	}
	return 0;
}

static int create_nets(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	char name[16];

	for (unsigned i = 0; i < c->nnets; i++) {
		struct hvabs_virtio_net_config nc = {0};
		snprintf(name, sizeof(name), "net%u", i);
		if (place(m, name, &nc.mmio, &nc.pci, err, errlen))
			return -1;
		nc.tap = c->nets[i].tap;
		nc.mac = c->nets[i].has_mac ? c->nets[i].mac : NULL;
		int rc = hvabs_virtio_net_create(m->vm, &nc, &m->dev.nets[i]);
		if (rc) {
			snprintf(err, errlen, "--net tap=%s: %s", c->nets[i].tap, strerror(-rc));
			return -1;
		}
		if (announce(m, name, hvabs_virtio_net_transport(m->dev.nets[i]), err, errlen))
			return -1;
	}
	return 0;
}

/* --console pty|socket: the interactive console is a virtio-console (hvc0). */
static int create_vcon(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	struct hvabs_virtio_console_config cc = {0};

	if (c->console != VMM_CONSOLE_PTY && c->console != VMM_CONSOLE_SOCKET)
		return 0;
	if (place(m, "console", &cc.mmio, &cc.pci, err, errlen))
		return -1;
	cc.backend =
	    c->console == VMM_CONSOLE_PTY ? HVABS_VIRTIO_CONSOLE_PTY : HVABS_VIRTIO_CONSOLE_SOCKET;
	cc.path = c->console_path;
	int rc = hvabs_virtio_console_create(m->vm, &cc, &m->dev.vcon);
	if (rc) {
		snprintf(err, errlen, "--console: virtio-console: %s", strerror(-rc));
		return -1;
	}
	if (c->console == VMM_CONSOLE_PTY)
		fprintf(stderr, "hvabs-vmm: virtio-console (hvc0) on %s\n",
			hvabs_virtio_console_pty_path(m->dev.vcon));
	return announce(m, "console", hvabs_virtio_console_transport(m->dev.vcon), err, errlen);
}

static int create_rng(struct machine *m, char *err, size_t errlen)
{
	struct hvabs_virtio_rng_config rc_cfg = {0};

	if (!m->cfg->rng)
		return 0;
	if (place(m, "rng", &rc_cfg.mmio, &rc_cfg.pci, err, errlen))
		return -1;
	int rc = hvabs_virtio_rng_create(m->vm, &rc_cfg, &m->dev.rng);
	if (rc) {
		snprintf(err, errlen, "--rng: %s", strerror(-rc));
		return -1;
	}
	return announce(m, "rng", hvabs_virtio_rng_transport(m->dev.rng), err, errlen);
}

static int create_vsock(struct machine *m, char *err, size_t errlen)
{
	const struct vmm_config *c = m->cfg;
	struct hvabs_virtio_vsock_config vc = {0};

	if (!c->vsock_cid)
		return 0;
	if (place(m, "vsock", &vc.mmio, &vc.pci, err, errlen))
		return -1;
	vc.guest_cid = c->vsock_cid;
	vc.path = c->vsock_socket;
	int rc = hvabs_virtio_vsock_create(m->vm, &vc, &m->dev.vsock);
	if (rc) {
		snprintf(err, errlen, "--vsock socket=%s: %s", c->vsock_socket, strerror(-rc));
		return -1;
	}
	return announce(m, "vsock", hvabs_virtio_vsock_transport(m->dev.vsock), err, errlen);
}

/* --transport pci: a host bridge with its windows from the machine layer, announced in ACPI. */
static int create_pci_host(struct machine *m, char *err, size_t errlen)
{
	struct hvabs_pci_host_params hp = {0};
	int rc;

	if (!m->cfg->transport_pci)
		return 0;
	rc = hvabs_pci_host_place(m->plan, &hp);
	if (!rc)
		rc = hvabs_pci_host_create(m->vm, &hp, &m->dev.pci);
	if (!rc)
		rc = hvabs_pci_host_announce(m->dev.pci, m->plan);
	if (rc) {
		snprintf(err, errlen, "--transport pci: cannot create the PCI host bridge: %s",
			 strerror(-rc));
		return -1;
	}
	m->dev.pcip =
	    (struct hvabs_virtio_pci_params){.host = m->dev.pci, .loop = m->loop, .slot = 0xff};
	return 0;
}

int vmm_devices_create_virtio(struct machine *m, char *err, size_t errlen)
{
	if (create_pci_host(m, err, errlen) || create_disks(m, err, errlen) ||
	    create_nets(m, err, errlen) || create_vcon(m, err, errlen) ||
	    create_rng(m, err, errlen) || create_vsock(m, err, errlen))
		return -1;
	return 0;
}

void vmm_devices_destroy(struct machine *m)
{
	struct vmm_devices *d = &m->dev;

	/* Orderly shutdown: the vCPUs have stopped; make written data durable, then tear down. */
	for (unsigned i = 0; i < VMM_MAX_DISKS; i++) {
		if (d->disks[i] && hvabs_virtio_blk_flush(d->disks[i]))
			fprintf(stderr, "hvabs-vmm: blk%u: flush failed\n", i);
		hvabs_virtio_blk_destroy(d->disks[i]);
	}
	hvabs_virtio_rng_destroy(d->rng);
	for (unsigned i = 0; i < VMM_MAX_NETS; i++)
		hvabs_virtio_net_destroy(d->nets[i]);
	hvabs_virtio_console_destroy(d->vcon);
	hvabs_virtio_vsock_destroy(d->vsock);
	hvabs_pci_host_destroy(d->pci);
	hvabs_i8042_destroy(d->kbc);
	hvabs_rtc_destroy(d->rtc);
	hvabs_acpi_pm_destroy(d->pm);
	memset(d, 0, sizeof(*d));
}
