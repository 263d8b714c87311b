/* SPDX-License-Identifier: Apache-2.0 */
/* See fz_vm.h. */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

struct fz_vm fz;

static void quiet(void *o, enum hvabs_log_level l, const char *c, const char *m)
{
	(void)o, (void)l, (void)c, (void)m;
}

const struct hvabs_logger fz_quiet = {.fn = quiet, .max_level = HVABS_LOG_DEBUG};

void fz_vm_init(void)
{
	struct hvabs_backend_opts bo = {
	    .logger = fz_quiet, .search_path = FZ_BACKEND_DIR, .no_install_dir = 1};
	struct hvabs_vm_config vc = {.max_vcpus = 1, .backend_options = "noirqfd,noioeventfd"};
	void *hva = NULL;

	if (!fz.be &&
	    (hvabs_backend_open("mock", &bo, &fz.be) || hvabs_event_loop_create(&fz.loop)))
		abort();
	if (hvabs_vm_create(fz.be, &vc, &fz.vm) || hvabs_vm_add_ram(fz.vm, 0, FZ_RAM_SIZE, 0, &hva))
		abort();
	fz.mem = hvabs_vm_mem(fz.vm);
	fz.ram = hva;
}

void fz_vm_fini(void)
{
	fz_pump();
	hvabs_vm_destroy(fz.vm);
	fz.vm = NULL;
}

void fz_pump(void)
{
	for (int i = 0; i < 1000; i++)
		if (hvabs_event_loop_run_once(fz.loop, 0) <= 0)
			return;
	/* A device that keeps asking to be called again. */
	__builtin_trap();
}

/* Input reader: zeros once the input is used up. */
struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)u8(in) << (8 * i);
	return v;
}

/* Buffers of posted chains go here, then wrap. */
#define HEAP 0x8000u

static const uint16_t regs[] = {
    HVABS_VIRTIO_MMIO_MAGIC_VALUE,
    HVABS_VIRTIO_MMIO_DEVICE_FEATURES,
    HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL,
    HVABS_VIRTIO_MMIO_DRIVER_FEATURES,
    HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL,
    HVABS_VIRTIO_MMIO_QUEUE_SEL,
    HVABS_VIRTIO_MMIO_QUEUE_NUM_MAX,
    HVABS_VIRTIO_MMIO_QUEUE_NUM,
    HVABS_VIRTIO_MMIO_QUEUE_READY,
    HVABS_VIRTIO_MMIO_QUEUE_NOTIFY,
    HVABS_VIRTIO_MMIO_INTERRUPT_STATUS,
    HVABS_VIRTIO_MMIO_INTERRUPT_ACK,
    HVABS_VIRTIO_MMIO_STATUS,
    HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW,
    HVABS_VIRTIO_MMIO_QUEUE_DESC_HIGH,
    HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW,
    HVABS_VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
    HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW,
    HVABS_VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
    HVABS_VIRTIO_MMIO_SHM_SEL,
    HVABS_VIRTIO_MMIO_SHM_LEN_LOW,
    HVABS_VIRTIO_MMIO_CONFIG_GENERATION,
    HVABS_VIRTIO_MMIO_CONFIG,
    HVABS_VIRTIO_MMIO_CONFIG + 4,
};

static void wr(uint32_t off, uint32_t v)
{
	(void)hvabs_bus_write(fz.vm, HVABS_SPACE_MMIO, FZ_BASE + off, 4, v);
}

static uint32_t rd(uint32_t off)
{
	uint64_t v = 0;
	(void)hvabs_bus_read(fz.vm, HVABS_SPACE_MMIO, FZ_BASE + off, 4, &v);
	return (uint32_t)v;
}

static uint32_t qsize = 1; /* size given by the last quick_setup */
static uint32_t heap = HEAP;

/* Linux's probe and queue setup in one step: rings of queue q at q * 0x1000. */
static void quick_setup(uint32_t nqueues, uint32_t size_log2)
{
	qsize = 1u << (size_log2 % 6);
	wr(HVABS_VIRTIO_MMIO_STATUS, 0);
	wr(HVABS_VIRTIO_MMIO_STATUS, 1);
	wr(HVABS_VIRTIO_MMIO_STATUS, 3);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(HVABS_VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		uint32_t f = rd(HVABS_VIRTIO_MMIO_DEVICE_FEATURES);
		wr(HVABS_VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		wr(HVABS_VIRTIO_MMIO_DRIVER_FEATURES, f);
	}
	wr(HVABS_VIRTIO_MMIO_STATUS, 0xb);
	for (uint32_t q = 0; q < nqueues && q < 8; q++) {
		uint64_t base = (uint64_t)q * 0x1000;
		wr(HVABS_VIRTIO_MMIO_QUEUE_SEL, q);
		wr(HVABS_VIRTIO_MMIO_QUEUE_NUM, qsize);
		wr(HVABS_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
		wr(HVABS_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)base + 0x800);
		wr(HVABS_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)base + 0xc00);
		wr(HVABS_VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(HVABS_VIRTIO_MMIO_STATUS, 0xf);
}

/*
 * Posts a chain of 1..4 descriptors on queue q as set up by quick_setup(),
 * then notifies: per descriptor a length (up to 4 KiB), flags (NEXT is
 * added between descriptors unless bit 7 asks otherwise) and, for a
 * device-readable one, its first bytes from the input.
 */
static void post(struct in *in, uint32_t q, uint32_t nqueues)
{
	uint32_t nd = u8(in) % 4 + 1;
	uint64_t ring = (uint64_t)(q % 8) * 0x1000;
	uint16_t idx;

	memcpy(&idx, fz.ram + ring + 0x802, 2);
	uint32_t head = (idx * 4u) % qsize;
	for (uint32_t i = 0; i < nd; i++) {
		uint32_t len = (u8(in) | (uint32_t)u8(in) << 8) % 0x1001, f = u8(in);
		uint16_t flags = f & 6, next = (uint16_t)((head + i + 1) % qsize);
		if (i + 1 < nd && !(f & 0x80))
			flags |= 1;
		if (heap + len > FZ_RAM_SIZE)
			heap = HEAP;
		uint8_t *d = fz.ram + ring + 16 * ((head + i) % qsize);
		uint64_t addr = heap;
		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		if (!(flags & 2)) {
			uint32_t n = u8(in);
			for (uint32_t k = 0; k < n && k < len; k++)
				fz.ram[heap + k] = u8(in);
		}
		heap += len;
	}
	uint16_t h16 = (uint16_t)head;
	memcpy(fz.ram + ring + 0x804 + 2 * (idx % qsize), &h16, 2);
	idx++;
	memcpy(fz.ram + ring + 0x802, &idx, 2);
	wr(HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, q % (nqueues + 1));
	fz_pump();
}

void fz_drive(const uint8_t *data, size_t size, uint32_t nqueues)
{
	heap = HEAP;
	qsize = 1;
	struct in in = {data, size};
	static uint8_t buf[256];

	while (in.n) {
		uint8_t op = u8(&in);
		uint32_t off = regs[(op >> 3) % (sizeof(regs) / sizeof(regs[0]))];
		if (op >= 0xe0) {
			post(&in, op & 7, nqueues);
			continue;
		}
		switch (op & 7) {
		case 0:
			wr(off, u32(&in));
			break;
		case 1:
			(void)rd(off);
			break;
		case 2: { /* any width at any offset of the window */
			uint32_t a = u32(&in), w = 1u << ((op >> 3) & 3);
			uint64_t v = 0;
			if (op & 0x20)
				(void)hvabs_bus_write(fz.vm, HVABS_SPACE_MMIO,
						      FZ_BASE + (a & 0xfff), w, u32(&in));
			else
				(void)hvabs_bus_read(fz.vm, HVABS_SPACE_MMIO, FZ_BASE + (a & 0xfff),
						     w, &v);
			break;
		}
		case 3: { /* the driver writes guest memory */
			uint32_t gpa = u32(&in) % FZ_RAM_SIZE, len = u8(&in);
			for (uint32_t i = 0; i < len; i++)
				buf[i] = u8(&in);
			if (len > FZ_RAM_SIZE - gpa)
				len = FZ_RAM_SIZE - gpa;
			memcpy(fz.ram + gpa, buf, len);
			break;
		}
		case 4:
			wr(HVABS_VIRTIO_MMIO_QUEUE_NOTIFY, (op >> 3) % (nqueues + 1));
			fz_pump();
			break;
		case 5:
			quick_setup(nqueues, op >> 3);
			break;
		case 6:
			wr(HVABS_VIRTIO_MMIO_INTERRUPT_ACK, rd(HVABS_VIRTIO_MMIO_INTERRUPT_STATUS));
			break;
		default:
			fz_pump();
			break;
		}
	}
	fz_pump();
}
