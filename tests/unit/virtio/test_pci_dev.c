/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng and virtio-blk on the virtio-pci transport, driven as Linux's virtio_pci
 * driver does it: find the function, walk the vendor capabilities to the
 * common, notify and ISR structures, set up MSI-X, negotiate, set up the
 * queue and notify it. The same device code runs on virtio-mmio in
 * test_rng.c and test_blk.c. Notify and ECAM stores go through the backend's run loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/virtio_blk.h>
#include <hvabs/devices/virtio_pci.h>
#include <hvabs/devices/virtio_rng.h>

#include "vt_harness.h"

#define ECAM	 0xe0000000ull
#define MMIO32	 0xc0000000ull
#define MMIO64	 0x4000000000ull
#define SLOT	 4u
#define CFG(r)	 (ECAM + ((uint64_t)f->slot << 15) + (r))
#define QVEC	 0xa0u /* MSI data of the queue's vector */
#define CVEC	 0xa1u /* ... and of the configuration vector */
#define NOVEC	 HVABS_VIRTIO_PCI_NO_VECTOR
#define COMMON	 HVABS_VIRTIO_PCI_COMMON_OFF
#define MSIX_TAB HVABS_VIRTIO_PCI_MSIX_OFF

struct fx {
	struct vt_env *env;
	uint32_t slot; /* the function under test */
	struct hvabs_pci_host *host;
	struct hvabs_virtio_rng *rng;
	uint64_t bar;		       /* where BAR 0 is */
	uint32_t off[5], len[5], mult; /* by cfg_type: offset and length in BAR 0 */
	uint32_t msix_cap;
	struct vqb b;
};

static struct fx fx;

static uint32_t cfg_rd(struct fx *f, uint32_t reg, uint32_t size)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, CFG(reg), size, &v), 0);
	return (uint32_t)v;
}

static void cfg_wr(struct fx *f, uint32_t reg, uint32_t size, uint32_t val)
{
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_MMIO, CFG(reg), size, val), 0);
}

static uint64_t rd(struct fx *f, uint64_t off, uint32_t size)
{
	uint64_t v = 0;

	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, f->bar + off, size, &v), 0);
	return v;
}

static void wr(struct fx *f, uint64_t off, uint32_t size, uint64_t val)
{
	assert_int_equal(hvabs_bus_write(f->env->vm, HVABS_SPACE_MMIO, f->bar + off, size, val), 0);
}

/* Linux's virtio_pci_find_capability() walk, through configuration space. */
static void find_caps(struct fx *f)
{
	for (uint32_t p = cfg_rd(f, HVABS_PCI_CAP_PTR, 1); p; p = cfg_rd(f, p + 1, 1)) {
		uint32_t id = cfg_rd(f, p, 1), type;

		if (id == HVABS_PCI_CAP_ID_MSIX)
			f->msix_cap = p;
		if (id != HVABS_PCI_CAP_ID_VNDR)
			continue;
		type = cfg_rd(f, p + 3, 1);
		assert_true(type >= 1 && type <= 4);
		assert_int_equal(cfg_rd(f, p + 4, 1), 0); /* BAR 0 */
		f->off[type] = cfg_rd(f, p + 8, 4);
		f->len[type] = cfg_rd(f, p + 12, 4);
		if (type == HVABS_VIRTIO_PCI_CAP_NOTIFY) {
			assert_int_equal(cfg_rd(f, p + 2, 1), 20);
			f->mult = cfg_rd(f, p + 16, 4);
		}
	}
}

static int setup(void **state)
{
	struct hvabs_pci_host_params hp = {.ecam_base = ECAM,
					   .mmio32_base = MMIO32,
					   .mmio32_size = 0x4000000,
					   .mmio64_base = MMIO64,
					   .mmio64_size = 0x100000000};
	struct hvabs_virtio_pci_params pp;
	struct hvabs_virtio_rng_config rc = {.queue_size = 16, .pci = &pp};

	if (vt_setup(state))
		return -1;
	memset(&fx, 0, sizeof(fx));
	fx.env = *state;
	fx.slot = SLOT;
	pp = (struct hvabs_virtio_pci_params){
	    .host = NULL, .loop = fx.env->loop, .name = "rng0", .slot = SLOT};
	if (hvabs_pci_host_create(fx.env->vm, &hp, &fx.host))
		return -1;
	pp.host = fx.host;
	if (hvabs_virtio_rng_create(fx.env->vm, &rc, &fx.rng))
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	hvabs_virtio_rng_destroy(f->rng);
	hvabs_pci_host_destroy(f->host);
	*state = f->env;
	return vt_teardown(state);
}

/* Memory decode on (a vCPU store to ECAM), MSI-X on with both vectors unmasked. */
static void bring_up(struct fx *f)
{
	uint32_t lo = cfg_rd(f, HVABS_PCI_BAR0, 4), hi = cfg_rd(f, HVABS_PCI_BAR0 + 4, 4);

	vt_store(f->env, CFG(HVABS_PCI_COMMAND), HVABS_PCI_CMD_MEMORY | HVABS_PCI_CMD_MASTER);
	f->bar = ((uint64_t)hi << 32) | (lo & ~0xfu);
	find_caps(f);
	cfg_wr(f, f->msix_cap + 2, 2, 0x8000);
	wr(f, MSIX_TAB, 8, 0xfee00000ull);
	wr(f, MSIX_TAB + 8, 4, QVEC);
	wr(f, MSIX_TAB + 12, 4, 0);
	wr(f, MSIX_TAB + 16, 8, 0xfee00000ull);
	wr(f, MSIX_TAB + 24, 4, CVEC);
	wr(f, MSIX_TAB + 28, 4, 0);
}

/* §3.1.1 over the common structure; returns the status read back. */
static uint32_t negotiate(struct fx *f, uint64_t accept)
{
	uint64_t c = f->off[HVABS_VIRTIO_PCI_CAP_COMMON], feat;

	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 0);
	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 1);
	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 3);
	wr(f, c + HVABS_VIRTIO_PCI_DFSELECT, 4, 0);
	feat = rd(f, c + HVABS_VIRTIO_PCI_DF, 4);
	wr(f, c + HVABS_VIRTIO_PCI_DFSELECT, 4, 1);
	feat |= rd(f, c + HVABS_VIRTIO_PCI_DF, 4) << 32;
	accept &= feat;
	for (uint32_t i = 0; i < 2; i++) {
		wr(f, c + HVABS_VIRTIO_PCI_GFSELECT, 4, i);
		wr(f, c + HVABS_VIRTIO_PCI_GF, 4, (uint32_t)(accept >> (32 * i)));
	}
	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 0xb);
	return (uint32_t)rd(f, c + HVABS_VIRTIO_PCI_STATUS, 1);
}

static void queue_up(struct fx *f, uint16_t vec)
{
	uint64_t c = f->off[HVABS_VIRTIO_PCI_CAP_COMMON];

	vt_vqb(f->env, &f->b, 0, 16);
	wr(f, c + HVABS_VIRTIO_PCI_Q_SELECT, 2, 0);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_Q_SIZE, 2), 16);
	/* 64-bit fields as Linux writes them: two 32-bit halves */
	wr(f, c + HVABS_VIRTIO_PCI_Q_DESC, 4, (uint32_t)f->b.desc);
	wr(f, c + HVABS_VIRTIO_PCI_Q_DESC + 4, 4, f->b.desc >> 32);
	wr(f, c + HVABS_VIRTIO_PCI_Q_DRIVER, 8, f->b.avail);
	wr(f, c + HVABS_VIRTIO_PCI_Q_DEVICE, 8, f->b.used);
	wr(f, c + HVABS_VIRTIO_PCI_Q_MSIX, 2, vec);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_Q_MSIX, 2), vec);
	wr(f, c + HVABS_VIRTIO_PCI_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_Q_ENABLE, 2), 1);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_Q_DESC, 8), f->b.desc);
	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 0xf); /* DRIVER_OK */
}

/* One 64-byte writable buffer, notified by a vCPU store; returns the used length. */
static uint32_t request(struct fx *f)
{
	uint64_t a = vqb_alloc(&f->b, 64);
	uint64_t notify = f->bar + f->off[HVABS_VIRTIO_PCI_CAP_NOTIFY] +
			  (uint64_t)f->mult * rd(f, f->off[1] + HVABS_VIRTIO_PCI_Q_NOFF, 2);
	uint32_t id, len = 0;

	memset(f->env->ram + a, 0, 64);
	vqb_add(&f->b, &(struct vqb_buf){a, 64, true}, 1);
	vt_store(f->env, notify, 0);
	vt_pump(f->env);
	assert_true(vqb_get_used(&f->b, &id, &len));
	for (int i = 0; i < 64 && len; i++)
		if (f->env->ram[a + (uint64_t)i])
			return len;
	fail_msg("the device reported %u bytes but left the buffer zero", len);
	return 0;
}

static void identity_and_capabilities(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_rd(f, HVABS_PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, HVABS_PCI_DEVICE_ID, 2), 0x1040 + HVABS_VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(f, HVABS_PCI_REVISION, 1), 1);
	assert_true(cfg_rd(f, HVABS_PCI_SUBSYS_ID, 2) >= 0x40);
	/* a 64-bit memory BAR 0 of 32 KiB */
	cfg_wr(f, HVABS_PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, HVABS_PCI_BAR0, 4), 0xffff8004);
	cfg_wr(f, HVABS_PCI_BAR0, 4, (uint32_t)MMIO64);
	find_caps(f);
	assert_int_equal(f->off[HVABS_VIRTIO_PCI_CAP_COMMON], COMMON);
	assert_int_equal(f->len[HVABS_VIRTIO_PCI_CAP_COMMON], 0x38);
	assert_int_equal(f->off[HVABS_VIRTIO_PCI_CAP_NOTIFY], HVABS_VIRTIO_PCI_NOTIFY_OFF);
	assert_int_equal(f->mult, 4);
	assert_int_equal(f->off[HVABS_VIRTIO_PCI_CAP_ISR], HVABS_VIRTIO_PCI_ISR_OFF);
	assert_int_equal(f->len[HVABS_VIRTIO_PCI_CAP_DEVICE], 0); /* rng has no config space */
	assert_int_not_equal(f->msix_cap, 0);
	assert_int_equal(cfg_rd(f, f->msix_cap + 2, 2) & 0x7ff, 1); /* 2 vectors */
	assert_null(hvabs_virtio_rng_transport(f->rng));
	assert_non_null(hvabs_virtio_rng_pci(f->rng));
}

static void negotiation(void **state)
{
	struct fx *f = *state;
	uint64_t c;

	bring_up(f);
	c = f->off[HVABS_VIRTIO_PCI_CAP_COMMON];
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_NUM_QUEUES, 2), 1);
	/* a driver without VIRTIO_F_VERSION_1 is refused FEATURES_OK */
	assert_int_equal(negotiate(f, 0) & HVABS_VIRTIO_STATUS_FEATURES_OK, 0);
	assert_int_equal(negotiate(f, ~0ull), 0xb);
	/* a vector the function lacks reads back as NO_VECTOR; a queue that does not exist has size 0 */
	wr(f, c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2, 7);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2), NOVEC);
	wr(f, c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2, 1);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2), 1);
	wr(f, c + HVABS_VIRTIO_PCI_Q_SELECT, 2, 1);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_Q_SIZE, 2), 0);
	/* a reset clears the status and the vectors */
	wr(f, c + HVABS_VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(rd(f, c + HVABS_VIRTIO_PCI_MSIX_CONFIG, 2), NOVEC);
}

static void entropy_with_msix(void **state)
{
	struct fx *f = *state;

	bring_up(f);
	assert_int_equal(negotiate(f, HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)), 0xb);
	queue_up(f, 0);
	assert_int_equal(request(f), 64);
	assert_int_equal(vt_msis(f->env, QVEC, 1), 1);
	assert_int_equal(rd(f, HVABS_VIRTIO_PCI_ISR_OFF, 1), 1); /* read clears */
	assert_int_equal(rd(f, HVABS_VIRTIO_PCI_ISR_OFF, 1), 0);
	/* the driver masks the vector: the message pends, and comes on unmask */
	wr(f, MSIX_TAB + 12, 4, 1);
	assert_int_equal(request(f), 64);
	assert_int_equal(vt_msis(f->env, QVEC, 0), 0);
	assert_int_equal(rd(f, MSIX_TAB + 32, 8), 1);
	wr(f, MSIX_TAB + 12, 4, 0);
	assert_int_equal(vt_msis(f->env, QVEC, 1), 1);
	assert_int_equal(hvabs_virtio_rng_bytes(f->rng), 128);
}

static void notify_follows_bar(void **state)
{
	struct fx *f = *state;
	struct hvabs_virtio_pci_stats st;
	uint64_t v;

	bring_up(f);
	assert_int_equal(negotiate(f, HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)), 0xb);
	queue_up(f, NOVEC);
	assert_int_equal(request(f), 64);
	/* the driver moves BAR 0: notifications and registers follow it */
	cfg_wr(f, HVABS_PCI_BAR0, 4, (uint32_t)MMIO64 + 0x100000);
	assert_int_equal(hvabs_bus_read(f->env->vm, HVABS_SPACE_MMIO, f->bar, 4, &v), -ENOENT);
	f->bar += 0x100000;
	assert_int_equal(request(f), 64);
	hvabs_virtio_pci_get_stats(hvabs_virtio_rng_pci(f->rng), &st);
	assert_int_equal(st.notifies, 2);
	assert_int_equal(st.kernel_ioeventfd, vt_kernel_ioeventfd() ? 1 : 0);
	/* no vector: nothing was sent, the ISR byte still says why */
	assert_int_equal(vt_msis(f->env, QVEC, 0), 0);
	assert_int_equal(rd(f, HVABS_VIRTIO_PCI_ISR_OFF, 1), 1);
}

/* The same blk code as on virtio-mmio: capacity in the device structure, a read of sector 1. */
static void blk_reads_sector(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/hvabs-pciblk-XXXXXX";
	int fd = mkstemp(path);
	static uint8_t img[65536];
	struct hvabs_virtio_pci_params pp = {
	    .host = f->host, .loop = f->env->loop, .name = "vda", .slot = 5};
	struct hvabs_virtio_blk_config bc = {.path = path, .queue_size = 16, .pci = &pp};
	struct hvabs_virtio_blk *blk;
	uint64_t hdr, data, st;
	uint32_t id, len;

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7 + i / 512);
	assert_int_equal(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
	assert_int_equal(hvabs_virtio_blk_create(f->env->vm, &bc, &blk), 0);
	f->slot = 5;
	assert_int_equal(cfg_rd(f, HVABS_PCI_DEVICE_ID, 2), 0x1040 + HVABS_VIRTIO_ID_BLOCK);
	assert_int_equal(cfg_rd(f, HVABS_PCI_CLASS_PROG + 1, 2), 0x0180); /* mass storage */
	bring_up(f);
	assert_int_equal(f->len[HVABS_VIRTIO_PCI_CAP_DEVICE], 60);
	assert_int_equal(rd(f, f->off[HVABS_VIRTIO_PCI_CAP_DEVICE], 8), sizeof(img) / 512);
	assert_int_equal(negotiate(f, HVABS_VIRTIO_BIT(HVABS_VIRTIO_F_VERSION_1)), 0xb);
	queue_up(f, 0);
	hdr = vqb_alloc(&f->b, 16);
	data = vqb_alloc(&f->b, 512);
	st = vqb_alloc(&f->b, 1);
	memset(f->env->ram + hdr, 0, 16);
	f->env->ram[hdr] = HVABS_VIRTIO_BLK_T_IN;
	f->env->ram[hdr + 8] = 1; /* sector 1 */
	f->env->ram[st] = 0xff;
	vqb_add(&f->b, (struct vqb_buf[]){{hdr, 16, false}, {data, 512, true}, {st, 1, true}}, 3);
	vt_store(f->env,
		 f->bar + f->off[HVABS_VIRTIO_PCI_CAP_NOTIFY] +
		     (uint64_t)f->mult * rd(f, f->off[1] + HVABS_VIRTIO_PCI_Q_NOFF, 2),
		 0);
	/* blk's disk I/O runs on its engine, off the event loop: pump until the
	 * request is on the used ring (the bound is a hang guard). */
	bool used = false;
	for (int i = 0; i < 20000 && !used; i++) {
		vt_pump(f->env);
		used = vqb_get_used(&f->b, &id, &len);
		if (!used)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	assert_true(used);
	assert_int_equal(len, 513);
	assert_int_equal(f->env->ram[st], 0);
	assert_memory_equal(f->env->ram + data, img + 512, 512);
	assert_int_equal(vt_msis(f->env, QVEC, 1), 1);
	hvabs_virtio_blk_destroy(blk);
	unlink(path);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    T(identity_and_capabilities), T(negotiation),      T(entropy_with_msix),
	    T(notify_follows_bar),	  T(blk_reads_sector),
	};

	vt_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
