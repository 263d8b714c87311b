/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tiny guest, virtio mode: a polling virtio-mmio driver (Version 2, split
 * ring, no interrupts) for the command-line word "virtio". It finds the
 * devices from `virtio_mmio.device=<size>@<base>:<irq>` words, or else by
 * probing the hvabs-vmm windows (0x1000 bytes each from 0xd0000000), and
 * for each one prints one line per check:
 *   virtio-blk: capacity and serial, sector 0's first 16 bytes, a pattern
 *               written to sector 1 and flushed;
 *   virtio-rng: 16 random bytes.
 * Every line starts with "HVABS-TINY: " so tests can find it. The rings and
 * buffers are identity-mapped statics; each device is reset when done.
 */
#include <stddef.h>
#include <stdint.h>

#define COM1	   0x3f8
#define SCAN_BASE  0xd0000000ul
#define WIN	   0x1000ul
#define MAX_DEV	   8
#define QSIZE	   8
#define POLL_LIMIT (1ul << 28)

/* virtio-mmio registers (virtio 1.2 §4.2.2) */
#define R_MAGIC	    0x000
#define R_VERSION   0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEAT  0x010
#define R_DEV_FSEL  0x014
#define R_DRV_FEAT  0x020
#define R_DRV_FSEL  0x024
#define R_QSEL	    0x030
#define R_QNUM_MAX  0x034
#define R_QNUM	    0x038
#define R_QREADY    0x044
#define R_QNOTIFY   0x050
#define R_STATUS    0x070
#define R_QDESC	    0x080
#define R_QDRIVER   0x090
#define R_QDEVICE   0x0a0
#define R_GEN	    0x0fc
#define R_CONFIG    0x100

#define S_ACK	    1u
#define S_DRIVER    2u
#define S_DRIVER_OK 4u
#define S_FEAT_OK   8u

#define D_NEXT	    1u
#define D_WRITE	    2u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static struct desc ring_desc[QSIZE] __attribute__((aligned(4096)));
static volatile uint16_t ring_avail[3 + QSIZE] __attribute__((aligned(4096)));
static volatile uint32_t ring_used[1 + 2 * QSIZE + 1] __attribute__((aligned(4096)));
static uint8_t hdr[16] __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(512)));
static volatile uint8_t status_byte;
static uint16_t avail_idx, used_seen;

void tiny_virtio(const char *cmdline);

/* ---- output (the UART, as tiny.c drives it) ---- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putch(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putch('\r');
		putch(*s++);
	}
}

static void put_hex(uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putch("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}

static void put_dec(uint64_t v)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putch(buf[--n]);
}

static void put_bytes(const volatile uint8_t *p, int n)
{
	for (int i = 0; i < n; i++)
		put_hex(p[i], 2);
}

/* ---- registers and barriers ---- */

static inline void mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static uint32_t rd(uint64_t base, uint32_t off)
{
	return *(volatile uint32_t *)(base + off);
}

static void wr(uint64_t base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

/* ---- command line ---- */

static int starts(const char *s, const char *w)
{
	while (*w)
		if (*s++ != *w++)
			return 0;
	return 1;
}

/* Parses a number in C syntax (0x... hex, else decimal) with an optional K/M suffix. */
static const char *number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10, any = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, any = 1) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (*s == 'K' || *s == 'k')
		v <<= 10, s++;
	else if (*s == 'M' || *s == 'm')
		v <<= 20, s++;
	*out = v;
	return any ? s : NULL;
}

/* Collects the bases of `virtio_mmio.device=<size>@<base>:<irq>` words. */
static int parse_devices(const char *cmdline, uint64_t *bases)
{
	static const char key[] = "virtio_mmio.device=";
	int n = 0;

	for (const char *s = cmdline; s && *s && n < MAX_DEV; s++) {
		if ((s != cmdline && s[-1] != ' ') || !starts(s, key))
			continue;
		uint64_t size, base, irq;
		const char *p = number(s + sizeof(key) - 1, &size);
		if (p && *p == '@')
			p = number(p + 1, &base);
		else
			p = NULL;
		if (p && *p == ':')
			p = number(p + 1, &irq);
		else
			p = NULL;
		if (!p || size < 0x200) {
			puts_("HVABS-TINY: virtio: cannot parse a virtio_mmio.device word\n");
			continue;
		}
		bases[n++] = base;
	}
	return n;
}

static int scan_devices(uint64_t *bases)
{
	int n = 0;

	while (n < MAX_DEV && rd(SCAN_BASE + n * WIN, R_MAGIC) == 0x74726976)
		bases[n] = SCAN_BASE + (uint64_t)n * WIN, n++;
	return n;
}

/* ---- one device, one queue ---- */

/* Feature negotiation (§3.1.1): VERSION_1 and nothing else. */
static int dev_init(uint64_t base)
{
	wr(base, R_STATUS, 0);
	wr(base, R_STATUS, S_ACK);
	wr(base, R_STATUS, S_ACK | S_DRIVER);
	wr(base, R_DEV_FSEL, 1);
	if (!(rd(base, R_DEV_FEAT) & 1))
		return -1;
	wr(base, R_DRV_FSEL, 0);
	wr(base, R_DRV_FEAT, 0);
	wr(base, R_DRV_FSEL, 1);
	wr(base, R_DRV_FEAT, 1); /* VIRTIO_F_VERSION_1 is bit 32 */
	wr(base, R_STATUS, S_ACK | S_DRIVER | S_FEAT_OK);
	if (!(rd(base, R_STATUS) & S_FEAT_OK))
		return -2;
	wr(base, R_QSEL, 0);
	if (rd(base, R_QREADY) || rd(base, R_QNUM_MAX) < QSIZE)
		return -3;
	for (int i = 0; i < QSIZE; i++)
		ring_desc[i] = (struct desc){0, 0, 0, 0};
	for (int i = 0; i < 3 + QSIZE; i++)
		ring_avail[i] = 0;
	for (int i = 0; i < 2 + 2 * QSIZE; i++)
		ring_used[i] = 0;
	avail_idx = used_seen = 0;
	wr(base, R_QNUM, QSIZE);
	wr(base, R_QDESC, (uint32_t)(uintptr_t)ring_desc);
	wr(base, R_QDESC + 4, 0);
	wr(base, R_QDRIVER, (uint32_t)(uintptr_t)ring_avail);
	wr(base, R_QDRIVER + 4, 0);
	wr(base, R_QDEVICE, (uint32_t)(uintptr_t)ring_used);
	wr(base, R_QDEVICE + 4, 0);
	wr(base, R_QREADY, 1);
	wr(base, R_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	return (rd(base, R_STATUS) & 0x40) ? -4 : 0; /* DEVICE_NEEDS_RESET */
}

/* Publishes the chain at descriptor 0, notifies, and polls the used ring. */
static int submit(uint64_t base, uint32_t *len)
{
	ring_avail[2 + avail_idx % QSIZE] = 0;
	barrier(); /* the ring entry before the index (x86 keeps stores in order) */
	ring_avail[1] = ++avail_idx;
	mb(); /* the index before the notification */
	wr(base, R_QNOTIFY, 0);
	for (unsigned long i = 0; i < POLL_LIMIT; i++) {
		uint16_t idx = (uint16_t)(ring_used[0] >> 16); /* flags, then idx */
		if (idx != used_seen) {
			barrier(); /* the used index before the element */
			*len = ring_used[2 + 2 * (used_seen % QSIZE)];
			used_seen++;
			return 0;
		}
		__asm__ volatile("pause");
	}
	return -1;
}

static void set_desc(int i, const volatile void *p, uint32_t len, uint16_t flags)
{
	ring_desc[i].addr = (uint64_t)(uintptr_t)p;
	ring_desc[i].len = len;
	ring_desc[i].flags = flags;
	ring_desc[i].next = (uint16_t)(i + 1);
}

/* One virtio-blk request: header, optional data, status. Returns the status or -1. */
static int blk_req(uint64_t base, uint32_t type, uint64_t sector, uint32_t dlen, int dev_writes)
{
	uint32_t len;

	for (int i = 0; i < 16; i++)
		hdr[i] = 0;
	*(uint32_t *)(void *)hdr = type;
	*(uint64_t *)(void *)(hdr + 8) = sector;
	status_byte = 0xff;
	set_desc(0, hdr, 16, D_NEXT);
	int s = 1;
	if (dlen)
		set_desc(s++, data, dlen, (uint16_t)(D_NEXT | (dev_writes ? D_WRITE : 0)));
	set_desc(s, &status_byte, 1, D_WRITE);
	if (submit(base, &len))
		return -1;
	return status_byte;
}

static void blk(uint64_t base)
{
	uint32_t g0, lo, hi;

	do {
		g0 = rd(base, R_GEN);
		lo = rd(base, R_CONFIG);
		hi = rd(base, R_CONFIG + 4);
	} while (g0 != rd(base, R_GEN));
	puts_("HVABS-TINY: virtio-blk capacity ");
	put_dec((uint64_t)hi << 32 | lo);
	puts_(" sectors\n");

	for (int i = 0; i < 20; i++)
		data[i] = 0;
	int st = blk_req(base, 8, 0, 20, 1); /* VIRTIO_BLK_T_GET_ID */
	puts_("HVABS-TINY: virtio-blk id \"");
	for (int i = 0; i < 20 && data[i]; i++)
		putch((char)data[i]);
	puts_(st == 0 ? "\"\n" : "\" failed\n");

	st = blk_req(base, 0, 0, 512, 1); /* VIRTIO_BLK_T_IN, sector 0 */
	puts_("HVABS-TINY: virtio-blk sector0 ");
	put_bytes(data, 16);
	puts_(st == 0 ? " ok\n" : " failed\n");

	/* A pattern anyone can recompute: byte i of sector 1 is i * 7 + 1. */
	for (int i = 0; i < 512; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	st = blk_req(base, 1, 1, 512, 0);   /* VIRTIO_BLK_T_OUT, sector 1 */
	int fl = blk_req(base, 4, 0, 0, 0); /* VIRTIO_BLK_T_FLUSH */
	puts_("HVABS-TINY: virtio-blk wrote sector1 ");
	puts_(st == 0 ? "ok" : "failed");
	puts_(", flush ");
	puts_(fl == 0 ? "ok\n" : "failed\n");
}

static void rng(uint64_t base)
{
	uint32_t len = 0;

	for (int i = 0; i < 16; i++)
		data[i] = 0;
	set_desc(0, data, 16, D_WRITE);
	int rc = submit(base, &len);
	puts_("HVABS-TINY: virtio-rng ");
	put_dec(len);
	puts_(" bytes ");
	put_bytes(data, 16);
	puts_(rc == 0 && len == 16 ? " ok\n" : " failed\n");
}

void tiny_virtio(const char *cmdline)
{
	uint64_t bases[MAX_DEV];
	int n = parse_devices(cmdline, bases);

	if (!n)
		n = scan_devices(bases);
	puts_("HVABS-TINY: virtio devices ");
	put_dec((uint64_t)n);
	putch('\n');
	for (int i = 0; i < n; i++) {
		uint64_t b = bases[i];
		uint32_t id = rd(b, R_DEVICE_ID);
		if (rd(b, R_MAGIC) != 0x74726976 || rd(b, R_VERSION) != 2 || !id)
			continue;
		puts_("HVABS-TINY: virtio-mmio @0x");
		put_hex(b, 8);
		puts_(" device ");
		put_dec(id);
		int rc = id == 2 || id == 4 ? dev_init(b) : 1;
		if (rc < 0) {
			puts_(" init failed ");
			put_dec((uint64_t)-rc);
		}
		putch('\n');
		if (rc == 0 && id == 2)
			blk(b);
		else if (rc == 0 && id == 4)
			rng(b);
		wr(b, R_STATUS, 0);
	}
}
