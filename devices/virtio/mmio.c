/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio transport, Version 2 (virtio 1.2 §4.2): the register file,
 * feature negotiation (§2.2, §3.1.1) and the device status machine (§2.1).
 * Notifications, interrupts and the event loop are in mmio_event.c.
 *
 * All state is guarded by the bus registration's lock, held around every
 * register access; queue work on the event loop takes the same lock, so a
 * register access never sees a half-processed request and a reset never
 * overlaps one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvabs/le.h"
#include "mmio_priv.h"

#define VERSION_1 HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)

#define WARN(t, ...)                                                                               \
	hvabs_log_ratelimited((t)->log, &(t)->rl, HVABS_LOG_WARN, VIRTIO_COMP, __VA_ARGS__)

static struct mmio_queue *sel_queue(struct hvabs_virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->q[t->queue_sel] : NULL;
}

/* ---- status machine ---- */

static void reset_device(struct hvabs_virtio_mmio *t)
{
	for (uint32_t i = 0; i < t->ops->num_queues; i++) {
		struct mmio_queue *mq = &t->q[i];
		hvabs_virtq_disable(mq->vq);
		mq->ready = false;
		mq->num = t->ops->queue_size_max;
		mq->desc = mq->driver = mq->device = 0;
	}
	t->status = 0;
	t->drv_features = 0;
	t->dev_features_sel = t->drv_features_sel = 0;
	t->queue_sel = 0;
	/* §4.2.2.1: reset clears InterruptStatus and every QueueReady. */
	t->isr = 0;
	mmio_update_line(t);
	t->st.resets++;
	if (t->ops->reset)
		t->ops->reset(t->opaque);
}

void hvabs_virtio_mmio_set_needs_reset(struct hvabs_virtio_mmio *t)
{
	if (t->status & HVABS_VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= HVABS_VIRTIO_STATUS_NEEDS_RESET;
	t->st.needs_reset++;
	WARN(t, "%s: device needs a reset (status 0x%x)", t->name, t->status);
	/* §2.1.2: once DRIVER_OK is set, NEEDS_RESET comes with a config change notification. */
	if (t->status & HVABS_VIRTIO_STATUS_DRIVER_OK) {
		t->st.config_irqs++;
		mmio_raise(t, HVABS_VIRTIO_MMIO_INT_CONFIG);
	}
}

/* §2.2.2, §6.1: the device refuses a subset it did not offer, or one without VERSION_1. */
static int check_features(struct hvabs_virtio_mmio *t)
{
	uint64_t extra = t->drv_features & ~t->dev_features;

	if (!(t->drv_features & VERSION_1)) {
		WARN(t,
		     "%s: driver did not accept VIRTIO_F_VERSION_1 (legacy driver?): "
		     "FEATURES_OK refused",
		     t->name);
		return -ENOTSUP;
	}
	if (extra) {
		WARN(t,
		     "%s: driver accepted features 0x%" PRIx64 " that were not offered: "
		     "FEATURES_OK refused",
		     t->name, extra);
		return -EINVAL;
	}
	return t->ops->features_ok ? t->ops->features_ok(t->opaque, t->drv_features) : 0;
}

static void write_status(struct hvabs_virtio_mmio *t, uint32_t val)
{
	uint32_t old = t->status;

	if (val == 0) {
		reset_device(t);
		return;
	}
	/* §2.1.1: the driver never clears a bit, and NEEDS_RESET is the device's. */
	uint32_t next = ((val & 0xff) | old) & ~HVABS_VIRTIO_STATUS_NEEDS_RESET;
	next |= old & HVABS_VIRTIO_STATUS_NEEDS_RESET;
	if (old & ~HVABS_VIRTIO_STATUS_NEEDS_RESET & ~val)
		WARN(t, "%s: driver tried to clear status bits (0x%x -> 0x%x): ignored", t->name,
		     old, val);
	if ((next & HVABS_VIRTIO_STATUS_FEATURES_OK) && !(old & HVABS_VIRTIO_STATUS_FEATURES_OK) &&
	    check_features(t))
		next &= ~HVABS_VIRTIO_STATUS_FEATURES_OK;
	if ((next & HVABS_VIRTIO_STATUS_DRIVER_OK) && !(old & HVABS_VIRTIO_STATUS_DRIVER_OK)) {
		if (!(next & HVABS_VIRTIO_STATUS_FEATURES_OK)) {
			WARN(t, "%s: DRIVER_OK without FEATURES_OK: refused", t->name);
			next &= ~HVABS_VIRTIO_STATUS_DRIVER_OK;
		}
	}
	t->status = next;
	if ((next & HVABS_VIRTIO_STATUS_DRIVER_OK) && !(old & HVABS_VIRTIO_STATUS_DRIVER_OK)) {
		if (t->ops->driver_ok)
			t->ops->driver_ok(t->opaque);
		/* Buffers may have been queued (and notified) before DRIVER_OK. */
		mmio_kick_ready(t);
	}
}

/* ---- queues ---- */

static void queue_ready(struct hvabs_virtio_mmio *t, struct mmio_queue *mq, uint32_t index,
			uint32_t val)
{
	if (!val) {
		/* §4.2.2.2: the driver stops a queue and reads QueueReady back. Chains
		 * the device holds are stale: it must drop them, or what it puts in
		 * them after the queue is enabled again is lost. */
		bool was_ready = mq->ready;
		hvabs_virtq_disable(mq->vq);
		mq->ready = false;
		if (was_ready && t->ops->queue_stop)
			t->ops->queue_stop(t->opaque, index);
		return;
	}
	if (mq->ready)
		return;
	if (!(t->status & HVABS_VIRTIO_STATUS_FEATURES_OK)) {
		WARN(t, "%s: queue %u made ready before FEATURES_OK", t->name, index);
		hvabs_virtio_mmio_set_needs_reset(t);
		return;
	}
	struct hvabs_virtq_layout l = {.size = mq->num,
				       .desc = mq->desc,
				       .avail = mq->driver,
				       .used = mq->device,
				       .features = t->drv_features};
	int rc = hvabs_virtq_enable(mq->vq, &l);
	if (!rc)
		rc = mmio_queue_arm(t, index);
	if (rc) {
		hvabs_virtq_disable(mq->vq);
		hvabs_virtio_mmio_set_needs_reset(t);
		return;
	}
	mq->ready = true;
	if (t->status & HVABS_VIRTIO_STATUS_DRIVER_OK)
		(void)hvabs_virtio_mmio_kick(t, index);
}

static void set_half(uint64_t *v, int high, uint32_t val)
{
	*v = high ? (*v & 0xffffffffull) | ((uint64_t)val << 32) : (*v & ~0xffffffffull) | val;
}

/* QueueNum and the ring addresses, which must not change while the queue is ready. */
static void write_queue_reg(struct hvabs_virtio_mmio *t, uint32_t off, uint32_t val)
{
	struct mmio_queue *mq = sel_queue(t);

	if (!mq) {
		WARN(t, "%s: write 0x%x to register 0x%x of queue %u, which does not exist",
		     t->name, val, off, t->queue_sel);
		return;
	}
	if (off == HVABS_VIRTIO_MMIO_QUEUE_READY) {
		queue_ready(t, mq, t->queue_sel, val);
		return;
	}
	if (mq->ready) {
		WARN(t, "%s: register 0x%x of queue %u written while it is ready: ignored", t->name,
		     off, t->queue_sel);
		return;
	}
	switch (off) {
	case HVABS_VIRTIO_MMIO_QUEUE_NUM:
		mq->num = val;
		break;
	case HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW:
	case HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&mq->desc, off == HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_half(&mq->driver, off == HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		break;
	default:
		set_half(&mq->device, off == HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		break;
	}
}

/* ---- register file ---- */

static void write_features(struct hvabs_virtio_mmio *t, uint32_t val)
{
	if (t->status & HVABS_VIRTIO_STATUS_FEATURES_OK) {
		WARN(t, "%s: DriverFeatures written after FEATURES_OK: ignored", t->name);
		return;
	}
	if (t->drv_features_sel > 1)
		return; /* no feature bits above 63 */
	int shift = 32 * (int)t->drv_features_sel;
	t->drv_features = (t->drv_features & ~(0xffffffffull << shift)) | ((uint64_t)val << shift);
}

static void reg_write(struct hvabs_virtio_mmio *t, uint32_t off, uint32_t val)
{
	switch (off) {
	case HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = val;
		break;
	case HVABS_VIRTIO_MMIO_DRIVER_FEATURES:
		write_features(t, val);
		break;
	case HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = val;
		break;
	case HVABS_VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case HVABS_VIRTIO_MMIO_QUEUE_NUM:
	case HVABS_VIRTIO_MMIO_QUEUE_READY:
	case HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW:
	case HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, val);
		break;
	case HVABS_VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Without a kernel or core ioeventfd the write lands here: hand it to the loop. */
		if ((val & 0xffff) >= t->ops->num_queues || hvabs_virtio_mmio_kick(t, val & 0xffff))
			WARN(t, "%s: notification for queue %u, which is not set up", t->name, val);
		break;
	case HVABS_VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~val;
		mmio_update_line(t);
		break;
	case HVABS_VIRTIO_MMIO_STATUS:
		write_status(t, val);
		break;
	case HVABS_VIRTIO_MMIO_SHM_SEL:
		break;
	default:
		WARN(t, "%s: write 0x%x to read-only or unknown register 0x%x: ignored", t->name,
		     val, off);
		break;
	}
}

static uint32_t reg_read(struct hvabs_virtio_mmio *t, uint32_t off)
{
	struct mmio_queue *mq = sel_queue(t);

	switch (off) {
	case HVABS_VIRTIO_MMIO_MAGIC_VALUE:
		return HVABS_VIRTIO_MMIO_MAGIC;
	case HVABS_VIRTIO_MMIO_VERSION:
		return 2;
	case HVABS_VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case HVABS_VIRTIO_MMIO_VENDOR_ID:
		return HVABS_VIRTIO_MMIO_VENDOR;
	case HVABS_VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel > 1
			   ? 0
			   : (uint32_t)(t->dev_features >> (32 * t->dev_features_sel));
	case HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX:
		return mq ? t->ops->queue_size_max : 0;
	case HVABS_VIRTIO_MMIO_QUEUE_READY:
		return mq && mq->ready;
	case HVABS_VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case HVABS_VIRTIO_MMIO_STATUS:
		return t->status;
	case HVABS_VIRTIO_MMIO_SHM_LEN_LOW:
	case HVABS_VIRTIO_MMIO_SHM_LEN_HIGH:
	case HVABS_VIRTIO_MMIO_SHM_BASE_LOW:
	case HVABS_VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions */
	case HVABS_VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_gen;
	default:
		return 0;
	}
}

/* Configuration space: byte-granular, any width; outside the device's size reads 0. */
static void config_access(struct hvabs_virtio_mmio *t, uint32_t off, uint32_t size, uint64_t *val,
			  int is_write)
{
	uint8_t buf[8] = {0};
	uint32_t n = 0;

	if (off < t->ops->config_size)
		n = t->ops->config_size - off < size ? t->ops->config_size - off : size;
	if (is_write) {
		hvabs_le_store(buf, size, *val);
		if (n && t->ops->config_write)
			t->ops->config_write(t->opaque, off, buf, n);
		else
			WARN(t, "%s: write to read-only configuration offset 0x%x: ignored",
			     t->name, off);
		return;
	}
	if (n)
		t->ops->config_read(t->opaque, off, buf, n);
	*val = hvabs_le_load(buf, size);
}

static int mmio_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hvabs_virtio_mmio *t = opaque;

	if (off >= HVABS_VIRTIO_MMIO_CONFIG) {
		config_access(t, (uint32_t)(off - HVABS_VIRTIO_MMIO_CONFIG), size, val, 0);
		return 0;
	}
	/* §4.2.2.2: control registers are only read 32 bits wide and aligned. */
	if (size != 4 || (off & 3)) {
		WARN(t, "%s: %u-byte read of register 0x%x: reads as 0", t->name, size,
		     (unsigned)off);
		*val = 0;
		return 0;
	}
	*val = reg_read(t, (uint32_t)off);
	return 0;
}

static int mmio_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hvabs_virtio_mmio *t = opaque;

	if (off >= HVABS_VIRTIO_MMIO_CONFIG) {
		config_access(t, (uint32_t)(off - HVABS_VIRTIO_MMIO_CONFIG), size, &val, 1);
		return 0;
	}
	if (size != 4 || (off & 3)) {
		WARN(t, "%s: %u-byte write of register 0x%x: ignored", t->name, size,
		     (unsigned)off);
		return 0;
	}
	reg_write(t, (uint32_t)off, (uint32_t)val);
	return 0;
}

static const struct hvabs_bus_ops mmio_bus_ops = {.read = mmio_read, .write = mmio_write};

/* ---- public API ---- */

static bool ops_valid(const struct hvabs_virtio_device_ops *o)
{
	uint32_t m = o->queue_size_max;

	return o->device_id && o->num_queues && o->num_queues <= HVABS_VIRTIO_MMIO_MAX_QUEUES &&
	       m && m <= HVABS_VIRTQ_MAX_SIZE && !(m & (m - 1)) &&
	       o->config_size <= HVABS_VIRTIO_MMIO_CONFIG_MAX &&
	       (!o->config_size || o->config_read) && o->queue_notify;
}

static void release(struct hvabs_virtio_mmio *t)
{
	/* No guest access, then no loop callback, can run after these two. */
	hvabs_bus_unregister(t->dev);
	mmio_event_fini(t);
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++)
		hvabs_virtq_destroy(t->q[i].vq);
	free(t);
}

/* The transport-neutral handle (virtio_transport.h) forwards here. */
static void tp_lock(void *impl)
{
	hvabs_virtio_mmio_lock(impl);
}

static void tp_unlock(void *impl)
{
	hvabs_virtio_mmio_unlock(impl);
}

static struct hvabs_virtq *tp_queue(void *impl, uint32_t index)
{
	return hvabs_virtio_mmio_queue(impl, index);
}

static int tp_signal_used(void *impl, uint32_t index)
{
	return hvabs_virtio_mmio_signal_used(impl, index);
}

static int tp_config_changed(void *impl)
{
	return hvabs_virtio_mmio_config_changed(impl);
}

static void tp_set_needs_reset(void *impl)
{
	hvabs_virtio_mmio_set_needs_reset(impl);
}

static int tp_kick(void *impl, uint32_t index)
{
	return hvabs_virtio_mmio_kick(impl, index);
}

static uint64_t tp_features(const void *impl)
{
	return hvabs_virtio_mmio_features(impl);
}

static const struct virtio_transport_ops mmio_tp_ops = {
    .lock = tp_lock,
    .unlock = tp_unlock,
    .queue = tp_queue,
    .signal_used = tp_signal_used,
    .config_changed = tp_config_changed,
    .set_needs_reset = tp_set_needs_reset,
    .kick = tp_kick,
    .features = tp_features,
};

struct hvabs_virtio_transport *hvabs_virtio_mmio_transport(struct hvabs_virtio_mmio *t)
{
	return &t->tp;
}

int hvabs_virtio_mmio_create(struct hvabs_vm *vm, const struct hvabs_virtio_mmio_params *p,
			     const struct hvabs_virtio_device_ops *ops, void *opaque,
			     struct hvabs_virtio_mmio **out)
{
	if (!vm || !p || !ops || !out || !p->loop || (p->base & (HVABS_VIRTIO_MMIO_SIZE - 1)) ||
	    (p->flags & ~HVABS_VIRTIO_MMIO_F_LEVEL) || !ops_valid(ops))
		return -EINVAL;
	struct hvabs_virtio_mmio *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tp.ops = &mmio_tp_ops;
	t->tp.impl = t;
	t->vm = vm;
	t->log = hvabs_vm_logger(vm);
	t->base = p->base;
	t->gsi = p->gsi;
	t->flags = p->flags;
	t->loop = p->loop;
	t->ops = ops;
	t->opaque = opaque;
	t->line = -1;
	t->epfd = -1;
	t->dev_features = ops->features | VERSION_1;
	snprintf(t->name, sizeof(t->name), "%s", p->name ? p->name : "virtio");
	int rc = 0;
	for (uint32_t i = 0; i < HVABS_VIRTIO_MMIO_MAX_QUEUES; i++)
		atomic_init(&t->q[i].notify_fd, -1);
	for (uint32_t i = 0; i < ops->num_queues && !rc; i++) {
		char qn[40];
		snprintf(qn, sizeof(qn), "%s.q%u", t->name, i);
		t->q[i].num = ops->queue_size_max;
		rc = hvabs_virtq_create(hvabs_vm_mem(vm), t->log, qn, ops->queue_size_max,
					&t->q[i].vq);
	}
	if (!rc)
		rc = mmio_event_init(t);
	if (!rc)
		rc = hvabs_bus_register(vm, HVABS_SPACE_MMIO, p->base, HVABS_VIRTIO_MMIO_SIZE,
					&mmio_bus_ops, t, 0, &t->dev);
	if (rc) {
		release(t);
		return rc;
	}
	*out = t;
	return 0;
}

void hvabs_virtio_mmio_destroy(struct hvabs_virtio_mmio *t)
{
	if (t)
		release(t);
}

void hvabs_virtio_mmio_lock(struct hvabs_virtio_mmio *t)
{
	hvabs_bus_dev_lock(t->dev);
}

void hvabs_virtio_mmio_unlock(struct hvabs_virtio_mmio *t)
{
	hvabs_bus_dev_unlock(t->dev);
}

struct hvabs_virtq *hvabs_virtio_mmio_queue(struct hvabs_virtio_mmio *t, uint32_t index)
{
	return index < t->ops->num_queues ? t->q[index].vq : NULL;
}

uint64_t hvabs_virtio_mmio_features(const struct hvabs_virtio_mmio *t)
{
	return t->status & HVABS_VIRTIO_STATUS_FEATURES_OK ? t->drv_features : 0;
}

int hvabs_virtio_mmio_config_changed(struct hvabs_virtio_mmio *t)
{
	t->config_gen++;
	if (!(t->status & HVABS_VIRTIO_STATUS_DRIVER_OK))
		return 0;
	t->st.config_irqs++;
	mmio_raise(t, HVABS_VIRTIO_MMIO_INT_CONFIG);
	return 0;
}

void hvabs_virtio_mmio_get_stats(struct hvabs_virtio_mmio *t, struct hvabs_virtio_mmio_stats *st)
{
	hvabs_bus_dev_lock(t->dev);
	*st = t->st;
	st->status = t->status;
	st->isr = t->isr;
	hvabs_bus_dev_unlock(t->dev);
}

void hvabs_virtio_mmio_describe(const struct hvabs_virtio_mmio *t, struct hvabs_acpi_device *out)
{
	memset(out, 0, sizeof(*out));
	out->type = HVABS_ACPI_DEV_VIRTIO_MMIO;
	out->flags = t->flags & HVABS_VIRTIO_MMIO_F_LEVEL ? HVABS_ACPI_DEV_LEVEL : 0;
	out->base = t->base;
	out->size = HVABS_VIRTIO_MMIO_SIZE;
	out->irq = t->gsi;
}

int hvabs_virtio_mmio_cmdline(const struct hvabs_virtio_mmio *t, char *buf, size_t size)
{
	/* Linux virtio_mmio.c vm_cmdline_set(): <size>@<base>:<irq>. */
	int n = snprintf(buf, size, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", t->base, t->gsi);

	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}
