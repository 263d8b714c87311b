/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2 §5.2): configuration space, feature negotiation,
 * the device's life cycle and its public API. Requests are in blk_req.c,
 * the engines in blk_worker.c and blk_uring.c, the image file in blk_io.c.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_priv.h"
#include "transport_priv.h"

#define CONFIG_SIZE 60u /* up to and including unused1 (§5.2.4) */

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* struct virtio_blk_config (§5.2.4), fields at their specified offsets. */
static void build_config(struct hvabs_virtio_blk *b)
{
	uint8_t *c = b->config;

	memset(c, 0, CONFIG_SIZE);
	put64(c + 0, b->f.size / BLK_SECTOR);	     /* capacity */
	put32(c + 12, b->qsize - 2);		     /* seg_max: room for header and status */
	put32(c + 20, b->f.lbs);		     /* blk_size */
	put16(c + 34, (uint16_t)b->nq);		     /* num_queues (read with VIRTIO_BLK_F_MQ) */
	put32(c + 36, HVABS_VIRTIO_BLK_MAX_SECTORS); /* max_discard_sectors */
	put32(c + 40, HVABS_VIRTIO_BLK_MAX_SEG);     /* max_discard_seg */
	put32(c + 44, b->f.lbs / BLK_SECTOR);	     /* discard_sector_alignment */
	put32(c + 48, HVABS_VIRTIO_BLK_MAX_SECTORS); /* max_write_zeroes_sectors */
	put32(c + 52, HVABS_VIRTIO_BLK_MAX_SEG);     /* max_write_zeroes_seg */
	c[56] = 1;				     /* write_zeroes_may_unmap */
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct hvabs_virtio_blk *b = opaque;

	memcpy(buf, b->config + off, len);
}

static int blk_features_ok(void *opaque, uint64_t features)
{
	struct hvabs_virtio_blk *b = opaque;

	b->features = features;
	/* §5.2.6.2: with FLUSH offered but not negotiated (and no CONFIG_WCE, which
	 * we do not offer), a completed write is stable: the cache is write-through. */
	b->write_through = !(features & HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_FLUSH));
	return 0;
}

/*
 * QueueReady=0 (§4.2.2.2): requests the disk is still working on may write
 * into the driver's buffers until they finish, so they are waited for
 * (device lock held: a stalled disk holds up this register write, and only
 * this device); then every chain of the old ring is forgotten.
 */
static void blk_queue_stop(void *opaque, uint32_t index)
{
	blk_queue_quiesce(opaque, index);
}

/* A reset (§2.4) waits for in-flight I/O the same way, on every queue. */
static void blk_reset(void *opaque)
{
	struct hvabs_virtio_blk *b = opaque;

	for (uint32_t i = 0; i < b->nq; i++)
		blk_queue_quiesce(b, i);
	b->features = 0;
	b->write_through = false;
}

/* ---- public API ---- */

static int check_config(const struct hvabs_virtio_blk_config *cfg, uint32_t *qs, uint32_t *nq)
{
	*qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_BLK_QUEUE_SIZE;
	*nq = cfg->num_queues ? cfg->num_queues : 1;
	if (!cfg->path || *qs < 4 || *qs > HVABS_VIRTQ_MAX_SIZE || (*qs & (*qs - 1)))
		return -EINVAL;
	if (*nq > HVABS_VIRTIO_BLK_MAX_QUEUES || cfg->engine > HVABS_VIRTIO_BLK_ENGINE_IO_URING)
		return -EINVAL;
	if (cfg->serial && strlen(cfg->serial) > HVABS_VIRTIO_BLK_ID_BYTES)
		return -EINVAL;
	if (cfg->flags & ~(HVABS_VIRTIO_BLK_READONLY | HVABS_VIRTIO_BLK_DIRECT))
		return -EINVAL;
	return 0;
}

static void setup_ops(struct hvabs_virtio_blk *b)
{
	b->ops.device_id = HVABS_VIRTIO_ID_BLOCK;
	b->ops.num_queues = b->nq;
	b->ops.queue_size_max = b->qsize;
	b->ops.config_size = CONFIG_SIZE;
	b->ops.features = HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_SEG_MAX) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_BLK_SIZE) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_FLUSH) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_DISCARD) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_WRITE_ZEROES) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX);
	if (b->f.ro)
		b->ops.features |= HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_RO);
	if (b->nq > 1)
		b->ops.features |= HVABS_VIRTIO_BIT(HVABS_VIRTIO_BLK_F_MQ);
	b->ops.config_read = blk_config_read;
	b->ops.features_ok = blk_features_ok;
	b->ops.queue_notify = blk_queue_notify;
	b->ops.reset = blk_reset;
	b->ops.queue_stop = blk_queue_stop;
}

/* Undoes blk_start() and the allocations; no request is in flight. */
static void blk_free(struct hvabs_virtio_blk *b)
{
	blk_workers_stop(b);
	blk_uring_fini(b);
	blk_queues_fini(b);
	blk_file_close(&b->f);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* Requests, workers and the io_uring ring, before the guest can reach the device. */
static int blk_start(struct hvabs_virtio_blk *b, const struct hvabs_virtio_blk_config *cfg)
{
	int rc = blk_file_open(&b->f, cfg->path, cfg->flags & HVABS_VIRTIO_BLK_READONLY,
			       cfg->flags & HVABS_VIRTIO_BLK_DIRECT, b->log);
	if (rc) {
		b->f.fd = -1;
		return rc;
	}
	rc = blk_queues_init(b);
	if (!rc)
		rc = blk_workers_start(b);
	if (!rc && b->engine == HVABS_VIRTIO_BLK_ENGINE_IO_URING)
		rc = blk_uring_init(b);
	return rc;
}

int hvabs_virtio_blk_create(struct hvabs_vm *vm, const struct hvabs_virtio_blk_config *cfg,
			    struct hvabs_virtio_blk **out)
{
	uint32_t qs, nq;

	if (!vm || !cfg || !out || check_config(cfg, &qs, &nq))
		return -EINVAL;
	struct hvabs_virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->log = hvabs_vm_logger(vm);
	b->qsize = qs;
	b->nq = nq;
	b->engine = cfg->engine;
	if (cfg->serial)
		memcpy(b->id, cfg->serial, strlen(cfg->serial));
	snprintf(b->name, sizeof(b->name), "%s", cfg->mmio.name ? cfg->mmio.name : "blk");
	b->loop = cfg->mmio.loop;
	int rc = blk_start(b, cfg);
	if (rc) {
		blk_free(b);
		return rc;
	}
	build_config(b);
	setup_ops(b);
	struct hvabs_virtio_mmio_params p = cfg->mmio;
	p.name = b->name;
	rc = virtio_transport_create(vm, &p, cfg->pci, &b->ops, b, &b->t, &b->pt, &b->tp);
	if (rc) {
		blk_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void hvabs_virtio_blk_destroy(struct hvabs_virtio_blk *b)
{
	if (!b)
		return;
	/* No new request, and none left running or half-completed, before the
	 * transport goes: a worker never touches it (or this memory) afterwards. */
	blk_drain_all(b);
	virtio_transport_destroy(b->t, b->pt);
	int rc = b->f.ro ? 0 : blk_file_flush(&b->f);
	if (rc)
		hvabs_log(b->log, HVABS_LOG_WARN, BLK_COMP, "%s: final flush failed: %s", b->name,
			  strerror(-rc));
	blk_free(b);
}

struct hvabs_virtio_mmio *hvabs_virtio_blk_transport(struct hvabs_virtio_blk *b)
{
	return b->t;
}

int hvabs_virtio_blk_flush(struct hvabs_virtio_blk *b)
{
	return blk_file_flush(&b->f);
}

int hvabs_virtio_blk_set_path(struct hvabs_virtio_blk *b, const char *path)
{
	struct blk_file nf, old;

	if (!b || !path)
		return -EINVAL;
	int rc = blk_file_open(&nf, path, b->f.ro, b->f.direct, b->log);
	if (rc)
		return rc;
	if (nf.lbs != b->f.lbs) {
		/* The driver set up its queue limits for the old block size. */
		blk_file_close(&nf);
		return -EINVAL;
	}
	bool swapped = false;
	hvabs_virtio_transport_lock(b->tp);
	/* No request starts under this lock; the running ones still use the old
	 * image, so wait for them. Then make the old image whole. */
	blk_wait_idle(b);
	rc = b->f.ro ? 0 : blk_file_flush(&b->f);
	if (!rc) {
		old = b->f;
		b->f = nf;
		build_config(b);
		swapped = true;
		/* The new image is in use; a lost interrupt only delays the driver's look at it. */
		(void)hvabs_virtio_transport_config_changed(b->tp);
	}
	hvabs_virtio_transport_unlock(b->tp);
	blk_file_close(swapped ? &old : &nf);
	return swapped ? 0 : rc;
}

uint64_t hvabs_virtio_blk_capacity(const struct hvabs_virtio_blk *b)
{
	return b->f.size / BLK_SECTOR;
}

void hvabs_virtio_blk_get_stats(struct hvabs_virtio_blk *b, struct hvabs_virtio_blk_stats *st)
{
	hvabs_virtio_transport_lock(b->tp);
	*st = b->st;
	hvabs_virtio_transport_unlock(b->tp);
}
