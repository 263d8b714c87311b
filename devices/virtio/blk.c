/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2 §5.2): configuration space and request handling.
 * The image file itself is in blk_io.c.
 *
 * A request is a chain: a 16-byte header the device reads, data (read by the
 * device for writes, discards and write-zeroes; written for reads and
 * get-ID), and a status byte, the last device-writable byte. Everything the
 * driver controls is checked here and a bad request fails alone with
 * IOERR or UNSUPP (§5.2.6.2); only a malformed chain, caught by the
 * virtqueue, takes the whole device down to DEVICE_NEEDS_RESET.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_priv.h"
#include "transport_priv.h"

/* Requests per queue_notify call: register accesses wait at most this long for the lock. */
#define BATCH	    32
#define HDR_SIZE    16u
#define SECTOR	    512u
#define CONFIG_SIZE 60u /* up to and including unused1 (§5.2.4) */
#define DWZ_SIZE    16u /* struct virtio_blk_discard_write_zeroes */
#define DWZ_UNMAP   1u

struct hvabs_virtio_blk {
	struct hvabs_virtio_mmio *t;
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci instead, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	struct blk_file f;
	struct hvabs_virtq_seg *segs;
	uint32_t qsize;
	uint64_t features;  /* negotiated */
	bool write_through; /* FLUSH not negotiated: sync before completing changes */
	char id[HVABS_VIRTIO_BLK_ID_BYTES];
	uint8_t config[CONFIG_SIZE];
	char name[24];
	struct hvabs_virtio_blk_stats st;
};

#define REQ_WARN(b, ...)                                                                           \
	hvabs_log_ratelimited((b)->log, &(b)->rl, HVABS_LOG_WARN, BLK_COMP, __VA_ARGS__)

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

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
	put64(c + 0, b->f.size / SECTOR);	     /* capacity */
	put32(c + 12, b->qsize - 2);		     /* seg_max: room for header and status */
	put32(c + 20, b->f.lbs);		     /* blk_size */
	put32(c + 36, HVABS_VIRTIO_BLK_MAX_SECTORS); /* max_discard_sectors */
	put32(c + 40, HVABS_VIRTIO_BLK_MAX_SEG);     /* max_discard_seg */
	put32(c + 44, b->f.lbs / SECTOR);	     /* discard_sector_alignment */
	put32(c + 48, HVABS_VIRTIO_BLK_MAX_SECTORS); /* max_write_zeroes_sectors */
	put32(c + 52, HVABS_VIRTIO_BLK_MAX_SEG);     /* max_write_zeroes_seg */
	c[56] = 1;				     /* write_zeroes_may_unmap */
	put16(c + 34, 0);			     /* num_queues: no VIRTIO_BLK_F_MQ */
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

static void blk_reset(void *opaque)
{
	struct hvabs_virtio_blk *b = opaque;

	b->features = 0;
	b->write_through = false;
}

/* ---- requests ---- */

static bool in_range(const struct hvabs_virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = b->f.size / SECTOR;

	return sector <= cap && bytes / SECTOR <= cap - sector;
}

static uint8_t io_status(struct hvabs_virtio_blk *b, int rc, const char *what, uint64_t sector)
{
	if (!rc)
		return HVABS_VIRTIO_BLK_S_OK;
	REQ_WARN(b, "%s: %s at sector %llu failed: %s", b->name, what, (unsigned long long)sector,
		 strerror(-rc));
	return HVABS_VIRTIO_BLK_S_IOERR;
}

/* Reads and checks every range of a discard or write-zeroes request before acting on any. */
static uint8_t do_dwz(struct hvabs_virtio_blk *b, const struct hvabs_virtq_chain *c, uint32_t type,
		      uint64_t data_len)
{
	bool zeroes = type == HVABS_VIRTIO_BLK_T_WRITE_ZEROES;
	uint8_t seg[HVABS_VIRTIO_BLK_MAX_SEG][DWZ_SIZE];
	uint64_t n = data_len / DWZ_SIZE;

	if (!(b->features & HVABS_VIRTIO_BIT(zeroes ? HVABS_VIRTIO_BLK_F_WRITE_ZEROES
						    : HVABS_VIRTIO_BLK_F_DISCARD)))
		return HVABS_VIRTIO_BLK_S_UNSUPP;
	if (b->f.ro)
		return HVABS_VIRTIO_BLK_S_IOERR; /* §5.2.6.2: no writes to a read-only disk */
	if (data_len % DWZ_SIZE || !n || n > HVABS_VIRTIO_BLK_MAX_SEG) {
		REQ_WARN(b, "%s: %s with %llu bytes of ranges", b->name,
			 zeroes ? "write-zeroes" : "discard", (unsigned long long)data_len);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	hvabs_virtq_chain_read(c, HDR_SIZE, seg, (size_t)data_len);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sector = get64(seg[i]);
		uint32_t count = get32(seg[i] + 8);
		uint32_t flags = get32(seg[i] + 12);
		/* §5.2.6.2: unknown flags, and unmap on a discard, are unsupported. */
		if ((flags & ~DWZ_UNMAP) || (!zeroes && (flags & DWZ_UNMAP)))
			return HVABS_VIRTIO_BLK_S_UNSUPP;
		if (count > HVABS_VIRTIO_BLK_MAX_SECTORS ||
		    !in_range(b, sector, (uint64_t)count * SECTOR))
			return HVABS_VIRTIO_BLK_S_IOERR;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sector = get64(seg[i]);
		uint64_t bytes = (uint64_t)get32(seg[i] + 8) * SECTOR;
		bool unmap = get32(seg[i] + 12) & DWZ_UNMAP;
		int rc = zeroes ? blk_file_write_zeroes(&b->f, sector * SECTOR, bytes, unmap)
				: blk_file_discard(&b->f, sector * SECTOR, bytes);
		if (rc)
			return io_status(b, rc, zeroes ? "write-zeroes" : "discard", sector);
	}
	if (zeroes)
		b->st.write_zeroes++;
	else
		b->st.discards++;
	return HVABS_VIRTIO_BLK_S_OK;
}

static uint8_t do_read(struct hvabs_virtio_blk *b, const struct hvabs_virtq_chain *c,
		       uint64_t sector, uint64_t len, uint64_t *filled)
{
	if (len % SECTOR || !in_range(b, sector, len)) {
		REQ_WARN(b,
			 "%s: read of %llu bytes at sector %llu: beyond the disk or not whole "
			 "sectors",
			 b->name, (unsigned long long)len, (unsigned long long)sector);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	uint8_t s = io_status(b, blk_file_read(&b->f, c, sector * SECTOR, len), "read", sector);
	if (s == HVABS_VIRTIO_BLK_S_OK) {
		*filled = len;
		b->st.reads++;
		b->st.bytes_read += len;
	}
	return s;
}

static uint8_t do_write(struct hvabs_virtio_blk *b, const struct hvabs_virtq_chain *c,
			uint64_t sector, uint64_t len)
{
	if (b->f.ro)
		return HVABS_VIRTIO_BLK_S_IOERR; /* §5.2.6.2, and no data is written */
	if (len % SECTOR || !in_range(b, sector, len)) {
		REQ_WARN(b,
			 "%s: write of %llu bytes at sector %llu: beyond the disk or not whole "
			 "sectors",
			 b->name, (unsigned long long)len, (unsigned long long)sector);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	int rc = blk_file_write(&b->f, c, HDR_SIZE, sector * SECTOR, len);
	uint8_t s = io_status(b, rc, "write", sector);
	if (s == HVABS_VIRTIO_BLK_S_OK) {
		b->st.writes++;
		b->st.bytes_written += len;
	}
	return s;
}

/*
 * Write-through (FLUSH not negotiated): a request that changed the image is
 * made stable before it is completed, since the driver cannot ask for it.
 */
static uint8_t stable(struct hvabs_virtio_blk *b, uint8_t s, uint32_t type, uint64_t sector)
{
	bool changes = type == HVABS_VIRTIO_BLK_T_OUT || type == HVABS_VIRTIO_BLK_T_DISCARD ||
		       type == HVABS_VIRTIO_BLK_T_WRITE_ZEROES;

	if (!b->write_through || !changes || s != HVABS_VIRTIO_BLK_S_OK)
		return s;
	s = io_status(b, blk_file_flush(&b->f), "write-through sync", sector);
	b->st.write_through_syncs += s == HVABS_VIRTIO_BLK_S_OK;
	return s;
}

/* Carries out one request; *filled gets the data bytes written into the chain. */
static uint8_t handle(struct hvabs_virtio_blk *b, const struct hvabs_virtq_chain *c,
		      uint64_t *filled)
{
	uint8_t hdr[HDR_SIZE];
	uint64_t in_len = c->writable_len - 1, out_len;

	*filled = 0;
	if (hvabs_virtq_chain_read(c, 0, hdr, HDR_SIZE) < HDR_SIZE) {
		REQ_WARN(b, "%s: request header of %u bytes, not 16", b->name, c->readable_len);
		return HVABS_VIRTIO_BLK_S_IOERR;
	}
	/* The header is copied once: the driver cannot change it under us. */
	uint32_t type = get32(hdr);
	uint64_t sector = get64(hdr + 8);
	out_len = c->readable_len - HDR_SIZE;
	switch (type) {
	case HVABS_VIRTIO_BLK_T_IN:
		return do_read(b, c, sector, in_len, filled);
	case HVABS_VIRTIO_BLK_T_OUT:
		return stable(b, do_write(b, c, sector, out_len), type, sector);
	case HVABS_VIRTIO_BLK_T_FLUSH: {
		uint8_t s = io_status(b, blk_file_flush(&b->f), "flush", 0);
		b->st.flushes += s == HVABS_VIRTIO_BLK_S_OK;
		return s;
	}
	case HVABS_VIRTIO_BLK_T_GET_ID: {
		/* §5.2.6: up to 20 bytes, NUL-padded, no terminator at 20. */
		uint64_t n = in_len < sizeof(b->id) ? in_len : sizeof(b->id);
		*filled = hvabs_virtq_chain_write(c, 0, b->id, (size_t)n);
		b->st.get_ids++;
		return HVABS_VIRTIO_BLK_S_OK;
	}
	case HVABS_VIRTIO_BLK_T_DISCARD:
	case HVABS_VIRTIO_BLK_T_WRITE_ZEROES:
		return stable(b, do_dwz(b, c, type, out_len), type, sector);
	default:
		return HVABS_VIRTIO_BLK_S_UNSUPP;
	}
}

static int blk_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtio_blk *b = opaque;
	struct hvabs_virtq_chain c;

	(void)index;
	hvabs_virtq_chain_init(&c, b->segs, b->qsize);
	for (int n = 0; n < BATCH; n++) {
		if (hvabs_virtq_pop(q, &c))
			return 0; /* empty, or broken: the transport handles that */
		if (!c.writable_len) {
			/* No byte to put a status in: nothing can be said about this request. */
			REQ_WARN(b, "%s: request at descriptor %u has no status byte", b->name,
				 c.head);
			b->st.unanswerable++;
			if (hvabs_virtq_push(q, &c, 0))
				return 0;
			continue;
		}
		uint64_t filled;
		uint8_t status = handle(b, &c, &filled);
		if (status == HVABS_VIRTIO_BLK_S_IOERR)
			b->st.ioerr++;
		else if (status == HVABS_VIRTIO_BLK_S_UNSUPP)
			b->st.unsupp++;
		hvabs_virtq_chain_write(&c, c.writable_len - 1, &status, 1);
		/* §2.7.8.1: used len covers bytes written from the start of the writable
		 * part; with the data area unwritten, only an underestimate (0) is true. */
		uint32_t used = filled == c.writable_len - 1 ? c.writable_len : 0;
		if (hvabs_virtq_push(q, &c, used))
			return 0;
	}
	return 1;
}

/* ---- public API ---- */

static int check_config(const struct hvabs_virtio_blk_config *cfg, uint32_t *qs)
{
	*qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_BLK_QUEUE_SIZE;
	if (!cfg->path || *qs < 4 || *qs > HVABS_VIRTQ_MAX_SIZE || (*qs & (*qs - 1)))
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
	b->ops.num_queues = 1;
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
	b->ops.config_read = blk_config_read;
	b->ops.features_ok = blk_features_ok;
	b->ops.queue_notify = blk_notify;
	b->ops.reset = blk_reset;
}

int hvabs_virtio_blk_create(struct hvabs_vm *vm, const struct hvabs_virtio_blk_config *cfg,
			    struct hvabs_virtio_blk **out)
{
	uint32_t qs;

	if (!vm || !cfg || !out || check_config(cfg, &qs))
		return -EINVAL;
	struct hvabs_virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->log = hvabs_vm_logger(vm);
	b->qsize = qs;
	if (cfg->serial)
		memcpy(b->id, cfg->serial, strlen(cfg->serial));
	snprintf(b->name, sizeof(b->name), "%s", cfg->mmio.name ? cfg->mmio.name : "blk");
	b->segs = calloc(qs, sizeof(*b->segs));
	int rc = b->segs ? blk_file_open(&b->f, cfg->path, cfg->flags & HVABS_VIRTIO_BLK_READONLY,
					 cfg->flags & HVABS_VIRTIO_BLK_DIRECT, b->log)
			 : -ENOMEM;
	if (rc) {
		free(b->segs);
		free(b);
		return rc;
	}
	build_config(b);
	setup_ops(b);
	struct hvabs_virtio_mmio_params p = cfg->mmio;
	p.name = b->name;
	rc = virtio_transport_create(vm, &p, cfg->pci, &b->ops, b, &b->t, &b->pt, &b->tp);
	if (rc) {
		blk_file_close(&b->f);
		free(b->segs);
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void hvabs_virtio_blk_destroy(struct hvabs_virtio_blk *b)
{
	if (!b)
		return;
	virtio_transport_destroy(b->t, b->pt);
	int rc = b->f.ro ? 0 : blk_file_flush(&b->f);
	if (rc)
		hvabs_log(b->log, HVABS_LOG_WARN, BLK_COMP, "%s: final flush failed: %s", b->name,
			  strerror(-rc));
	blk_file_close(&b->f);
	free(b->segs);
	free(b);
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
	/* Requests run under this lock: none is in flight. Make the old image whole first. */
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
	return b->f.size / SECTOR;
}

void hvabs_virtio_blk_get_stats(struct hvabs_virtio_blk *b, struct hvabs_virtio_blk_stats *st)
{
	hvabs_virtio_transport_lock(b->tp);
	*st = b->st;
	hvabs_virtio_transport_unlock(b->tp);
}
