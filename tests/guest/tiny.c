/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tiny test guest (freestanding, long mode). It prints over the 16550 UART,
 * reads the CMOS RTC, counts the CPUs the ACPI MADT lists and wakes the
 * others with INIT/SIPI, then powers off through the ACPI PM1a control
 * register, or resets through the i8042, or triple-faults, as its command
 * line asks ("reset", "crash"), or halts for good ("hang"). With "irq" it first
 * takes one UART interrupt through the I/O APIC (irq.c). Every line starts with
 * "HVABS-TINY:" so tests can find them. With "virtio" it first drives the virtio-mmio devices (virtio.c).
 */
#include <stddef.h>
#include <stdint.h>

#define COM1	   0x3f8
#define PM1A_CNT   0x604
#define SLP_TYP_S5 (5u << 10)
#define SLP_EN	   (1u << 13)
#define LAPIC	   0xfee00000ul
#define TRAMP	   0x8000ul
#define AP_COUNT   ((volatile uint32_t *)0x8ff0ul)

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
};

extern const char ap_tramp_start[], ap_tramp_end[];
void tiny_main(uint32_t start_info);
void puts_uart(const char *s);
void put_dec(uint32_t v, int width);
int tiny_irq_test(void); /* irq.c */
void tiny_virtio(const char *cmdline);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_uart(char c)
{
	/* Wait for THR empty (LSR bit 5), bounded so a broken UART cannot hang us. */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts_uart(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_uart('\r');
		putc_uart(*s++);
	}
}

void put_dec(uint32_t v, int width)
{
	char buf[12];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 11);
	while (n < width)
		buf[n++] = '0';
	while (n)
		putc_uart(buf[--n]);
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static uint32_t from_bcd(uint8_t v, int binary)
{
	return binary ? v : (uint32_t)(v >> 4) * 10 + (v & 0xf);
}

static void show_rtc(void)
{
	/* Wait out an update in progress (status A bit 7), bounded. */
	for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
		;
	uint8_t b = cmos(0x0b);
	int binary = b & 0x04, h24 = b & 0x02;
	uint8_t hr = cmos(0x04);
	uint32_t hour = from_bcd(hr & 0x7f, binary);
	if (!h24) {
		hour %= 12;
		if (hr & 0x80)
			hour += 12;
	}
	puts_uart("HVABS-TINY: rtc ");
	put_dec(from_bcd(cmos(0x32), binary), 2);
	put_dec(from_bcd(cmos(0x09), binary), 2);
	putc_uart('-');
	put_dec(from_bcd(cmos(0x08), binary), 2);
	putc_uart('-');
	put_dec(from_bcd(cmos(0x07), binary), 2);
	putc_uart(' ');
	put_dec(hour, 2);
	putc_uart(':');
	put_dec(from_bcd(cmos(0x02), binary), 2);
	putc_uart(':');
	put_dec(from_bcd(cmos(0x00), binary), 2);
	puts_uart(binary ? " binary" : " bcd");
	puts_uart(h24 ? " 24h\n" : " 12h\n");
}

static int mem_eq(const void *a, const char *b, size_t n)
{
	const char *p = a;

	for (size_t i = 0; i < n; i++)
		if (p[i] != b[i])
			return 0;
	return 1;
}

/* Lists the enabled local APIC ids from the MADT; returns how many. */
static int madt_cpus(uint64_t rsdp, uint8_t *ids, int max)
{
	const uint8_t *r = (const uint8_t *)rsdp;
	int n = 0;

	if (!rsdp || !mem_eq(r, "RSD PTR ", 8) || r[15] < 2)
		return 0;
	const uint8_t *xsdt = (const uint8_t *)*(const uint64_t *)(r + 24);
	if (!mem_eq(xsdt, "XSDT", 4))
		return 0;
	uint32_t len = *(const uint32_t *)(xsdt + 4);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		const uint8_t *t = (const uint8_t *)*(const uint64_t *)(xsdt + off);
		if (!mem_eq(t, "APIC", 4))
			continue;
		uint32_t tlen = *(const uint32_t *)(t + 4);
		for (uint32_t e = 44; e + 2 <= tlen && t[e + 1] >= 2; e += t[e + 1])
			if (t[e] == 0 && (*(const uint32_t *)(t + e + 4) & 1) && n < max)
				ids[n++] = t[e + 3];
	}
	return n;
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}

/* INIT, then SIPI twice (SDM vol. 3A 8.4.4.1), to each CPU that is not us. */
static void wake_aps(const uint8_t *ids, int n)
{
	uint32_t self = lapic_read(0x20) >> 24;
	volatile uint8_t *dst = (volatile uint8_t *)TRAMP;

	for (const char *p = ap_tramp_start; p < ap_tramp_end; p++)
		*dst++ = (uint8_t)*p;
	*AP_COUNT = 0;
	for (int i = 0; i < n; i++) {
		if (ids[i] == self)
			continue;
		lapic_write(0x310, (uint32_t)ids[i] << 24);
		lapic_write(0x300, 0x4500);
		for (int s = 0; s < 2; s++) {
			lapic_write(0x310, (uint32_t)ids[i] << 24);
			lapic_write(0x300, 0x4600 | (TRAMP >> 12));
		}
	}
}

static int has_word(const char *start, const char *w)
{
	size_t n = 0;

	while (w[n])
		n++;
	for (const char *s = start; s && *s; s++)
		if ((s == start || s[-1] == ' ') && mem_eq(s, w, n) && (s[n] == ' ' || !s[n]))
			return 1;
	return 0;
}

void tiny_main(uint32_t si_addr)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)si_addr;
	const char *cmdline = NULL;
	uint8_t ids[64];

	puts_uart("HVABS-TINY: hello from long mode\n");
	if (si_addr && si->magic == 0x336ec578) {
		cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
		puts_uart("HVABS-TINY: start_info ok, cmdline \"");
		if (cmdline)
			puts_uart(cmdline);
		puts_uart("\"\n");
	} else {
		puts_uart("HVABS-TINY: no start_info\n");
	}
	show_rtc();

	int n = madt_cpus(si_addr ? si->rsdp_paddr : 0, ids, 64);
	if (n > 1) {
		wake_aps(ids, n);
		for (uint64_t spin = 0; spin < (1ull << 26) && *AP_COUNT < (uint32_t)(n - 1);
		     spin++)
			__asm__ volatile("pause");
	}
	puts_uart("HVABS-TINY: cpus ");
	put_dec((uint32_t)n, 1);
	puts_uart(" up ");
	put_dec(n > 1 ? *AP_COUNT + 1 : 1, 1);
	putc_uart('\n');

	if (has_word(cmdline, "virtio"))
		tiny_virtio(cmdline);
	if (has_word(cmdline, "irq"))
		(void)tiny_irq_test(); /* prints "uart irq ok" or why not */
	if (has_word(cmdline, "hang")) {
		/* Wait for the host to stop us (signal tests). */
		puts_uart("HVABS-TINY: hanging\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	if (has_word(cmdline, "crash")) {
		puts_uart("HVABS-TINY: triple fault\n");
		static const struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} idt = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(idt));
	}
	if (has_word(cmdline, "reset")) {
		puts_uart("HVABS-TINY: reset\n");
		outb(0x64, 0xfe);
	} else {
		puts_uart("HVABS-TINY: poweroff\n");
		outw(PM1A_CNT, (uint16_t)(SLP_TYP_S5 | SLP_EN));
	}
	puts_uart("HVABS-TINY: still running\n");
}
