/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.2 §5.4): one request queue whose device-writable
 * buffers we fill from getrandom(2). No configuration space, no features
 * beyond the ring ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <hvabs/devices/virtio_pci.h>
#include <hvabs/devices/virtio_rng.h>

#define COMP "virtio-rng"
/* Chains per queue_notify call, so register accesses do not wait long for the lock. */
#define BATCH 64

struct hvabs_virtio_rng {
	struct hvabs_virtio_mmio *t;	   /* on virtio-mmio, or NULL */
	struct hvabs_virtio_pci *pt;	   /* on virtio-pci, or NULL */
	struct hvabs_virtio_transport *tp; /* whichever it is */
	const struct hvabs_logger *log;
	struct hvabs_ratelimit rl;
	struct hvabs_virtio_device_ops ops;
	struct hvabs_virtq_seg *segs;
	uint32_t qsize;
	uint64_t bytes;
};

/* Fills @p len bytes at @p p; returns how many were filled. */
static size_t fill(struct hvabs_virtio_rng *r, uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno != EINTR) {
			hvabs_log_ratelimited(r->log, &r->rl, HVABS_LOG_WARN, COMP, "getrandom: %s",
					      strerror(errno));
			break;
		}
	}
	return done;
}

static int rng_notify(void *opaque, uint32_t index, struct hvabs_virtq *q)
{
	struct hvabs_virtio_rng *r = opaque;
	struct hvabs_virtq_chain c;

	(void)index;
	hvabs_virtq_chain_init(&c, r->segs, r->qsize);
	for (int n = 0; n < BATCH; n++) {
		if (hvabs_virtq_pop(q, &c))
			return 0; /* empty, or broken: the transport handles that */
		uint32_t done = 0, want = c.writable_len;
		if (want > HVABS_VIRTIO_RNG_MAX_CHAIN)
			want = HVABS_VIRTIO_RNG_MAX_CHAIN;
		for (uint32_t i = c.nr_readable; done < want && i < c.nr_readable + c.nr_writable;
		     i++) {
			size_t k = c.seg[i].len < want - done ? c.seg[i].len : want - done;
			size_t got = fill(r, c.seg[i].hva, k);
			done += (uint32_t)got;
			if (got < k)
				break;
		}
		r->bytes += done;
		if (hvabs_virtq_push(q, &c, done))
			return 0;
	}
	return 1;
}

int hvabs_virtio_rng_create(struct hvabs_vm *vm, const struct hvabs_virtio_rng_config *cfg,
			    struct hvabs_virtio_rng **out)
{
	if (!vm || !cfg || !out)
		return -EINVAL;
	uint32_t qs = cfg->queue_size ? cfg->queue_size : HVABS_VIRTIO_RNG_QUEUE_SIZE;
	if (qs > HVABS_VIRTQ_MAX_SIZE || (qs & (qs - 1)))
		return -EINVAL;
	struct hvabs_virtio_rng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->segs = calloc(qs, sizeof(*r->segs));
	if (!r->segs) {
		free(r);
		return -ENOMEM;
	}
	r->qsize = qs;
	r->log = hvabs_vm_logger(vm);
	r->ops.device_id = HVABS_VIRTIO_ID_RNG;
	r->ops.num_queues = 1;
	r->ops.queue_size_max = qs;
	r->ops.features = HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_INDIRECT_DESC) |
			  HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_EVENT_IDX);
	r->ops.queue_notify = rng_notify;
	int rc;
	if (cfg->pci) {
		struct hvabs_virtio_pci_params pp = *cfg->pci;
		if (!pp.name)
			pp.name = "rng";
		rc = hvabs_virtio_pci_create(vm, &pp, &r->ops, r, &r->pt);
		if (!rc)
			r->tp = hvabs_virtio_pci_transport(r->pt);
	} else {
		struct hvabs_virtio_mmio_params p = cfg->mmio;
		if (!p.name)
			p.name = "rng";
		rc = hvabs_virtio_mmio_create(vm, &p, &r->ops, r, &r->t);
		if (!rc)
			r->tp = hvabs_virtio_mmio_transport(r->t);
	}
	if (rc) {
		free(r->segs);
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void hvabs_virtio_rng_destroy(struct hvabs_virtio_rng *r)
{
	if (!r)
		return;
	hvabs_virtio_mmio_destroy(r->t);
	hvabs_virtio_pci_destroy(r->pt);
	free(r->segs);
	free(r);
}

struct hvabs_virtio_mmio *hvabs_virtio_rng_transport(struct hvabs_virtio_rng *r)
{
	return r->t;
}

struct hvabs_virtio_pci *hvabs_virtio_rng_pci(struct hvabs_virtio_rng *r)
{
	return r->pt;
}

uint64_t hvabs_virtio_rng_bytes(struct hvabs_virtio_rng *r)
{
	hvabs_virtio_transport_lock(r->tp);
	uint64_t n = r->bytes;
	hvabs_virtio_transport_unlock(r->tp);
	return n;
}
