/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tiny guest, "irq" mode: one UART interrupt through the platform's own
 * interrupt controllers, as an OS would take it. The 8259s are masked, the
 * local APIC enabled (SDM vol. 3A 10.4.3), I/O APIC pin 4 (ISA IRQ 4, COM1;
 * 82093AA datasheet 3.2.4) routed to vector UART_VECTOR on this CPU, and the
 * UART asked for a "transmitter holding register empty" interrupt (IER bit
 * 1). The handler acknowledges it at the UART (reading IIR clears a THRE
 * interrupt, 16550 datasheet table 4; then IER is cleared) and at the local
 * APIC (EOI). The pin is edge-triggered, so the I/O APIC needs no EOI of its
 * own. A one-shot local APIC timer is the watchdog: if it fires first, the
 * interrupt never came.
 */
#include <stdint.h>

#define COM1	     0x3f8
#define LAPIC	     0xfee00000ul

#define UART_VECTOR  0x41
#define TIMER_VECTOR 0x42
#define SPURIOUS_VEC 0xff
#define IOAPIC	     0xfec00000ul
#define IOREDTBL(n)  (0x10 + 2 * (n))
#define COM1_IRQ     4
#define CODE_SEL     0x08 /* entry.S's 64-bit code segment */

struct interrupt_frame;

/* tiny.c's console; the rest this file needs it keeps to itself. */
void puts_uart(const char *s);
void put_dec(uint32_t v, int width);
int tiny_irq_test(void);

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

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}

static void put_hex(uint32_t v, int digits)
{
	char buf[11] = "0x";

	for (int i = 0; i < digits && i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (4 * (digits - 1 - i))) & 0xf];
	buf[2 + (digits < 8 ? digits : 8)] = '\0';
	puts_uart(buf);
}

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t attr; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static volatile uint32_t uart_irqs, timer_irqs;
static volatile uint8_t iir_seen;

static void set_gate(int vec, void (*fn)(struct interrupt_frame *))
{
	uintptr_t a = (uintptr_t)fn;

	idt[vec] = (struct idt_gate){
	    .off_lo = (uint16_t)a,
	    .sel = CODE_SEL,
	    .attr = 0x8e,
	    .off_mid = (uint16_t)(a >> 16),
	    .off_hi = (uint32_t)(a >> 32),
	};
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

__attribute__((interrupt)) static void uart_isr(struct interrupt_frame *f)
{
	(void)f;
	iir_seen = inb(COM1 + 2);
	outb(COM1 + 1, 0); /* no more THRE interrupts: the guest prints by polling */
	uart_irqs++;
	lapic_write(0xb0, 0); /* EOI */
}

__attribute__((interrupt)) static void timer_isr(struct interrupt_frame *f)
{
	(void)f;
	timer_irqs++;
	lapic_write(0xb0, 0);
}

__attribute__((interrupt)) static void spurious_isr(struct interrupt_frame *f)
{
	(void)f; /* a spurious vector gets no EOI (SDM vol. 3A 10.9) */
}

/* Anything else (an exception, a stray vector) is a failure to see, not to survive. */
__attribute__((interrupt)) static void stray_isr(struct interrupt_frame *f)
{
	(void)f;
	puts_uart("HVABS-TINY: unexpected interrupt or exception\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

int tiny_irq_test(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	uint32_t self = lapic_read(0x20) >> 24;

	for (int v = 0; v < 256; v++)
		set_gate(v, stray_isr);
	set_gate(UART_VECTOR, uart_isr);
	set_gate(TIMER_VECTOR, timer_isr);
	set_gate(SPURIOUS_VEC, spurious_isr);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	/* Both 8259s masked (OCW1): ISA lines reach the CPU through the I/O APIC only. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_write(0xf0, 0x100 | SPURIOUS_VEC); /* SVR: software-enable the APIC */
	lapic_write(0x80, 0);			 /* TPR: accept every priority */
	lapic_write(0x350, 0x10000);		 /* LINT0 masked: no ExtINT from the PIC */
	/* Watchdog: about 2 s at the 1 GHz APIC clock Xen and KVM both give. */
	lapic_write(0x3e0, 0x3);	  /* divide by 16 */
	lapic_write(0x320, TIMER_VECTOR); /* one-shot */
	lapic_write(0x380, 125000000);

	ioapic_write(IOREDTBL(COM1_IRQ) + 1, self << 24);
	ioapic_write(IOREDTBL(COM1_IRQ), UART_VECTOR); /* fixed, physical, edge, high, unmasked */

	outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2: OUT2 gates the IRQ on a PC */
	__asm__ volatile("cli");
	outb(COM1 + 1, 0x02); /* IER: transmitter holding register empty */
	/* sti's one-instruction shadow: an interrupt cannot slip in before hlt. */
	while (!uart_irqs && !timer_irqs)
		__asm__ volatile("sti; hlt; cli");
	lapic_write(0x380, 0);
	lapic_write(0x320, 0x10000 | TIMER_VECTOR);
	ioapic_write(IOREDTBL(COM1_IRQ), 0x10000 | UART_VECTOR);
	outb(COM1 + 1, 0);

	if (uart_irqs) {
		puts_uart("HVABS-TINY: uart irq ok (vector ");
		put_hex(UART_VECTOR, 2);
		puts_uart(", iir ");
		put_hex(iir_seen, 2);
		puts_uart(", ioapic pin 4, apic id ");
		put_dec(self, 1);
		puts_uart(")\n");
		return 1;
	}
	puts_uart("HVABS-TINY: uart irq timeout (the watchdog fired first)\n");
	return 0;
}
