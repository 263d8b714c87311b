/* SPDX-License-Identifier: Apache-2.0 */
/* i8042: Linux's controller and keyboard probe, AUX refusal, reset, port 0x61. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hvabs/devices/i8042.h>

#include "harness.h"

#define DATA	    0x60
#define PORTB	    0x61
#define STATUS	    0x64
#define GSI	    1

#define STR_OBF	    0x01
#define STR_AUXDATA 0x20
#define STR_UNLOCK  0x10

/*
 * What Linux sends at boot, in order: i8042_controller_check (flush),
 * _selftest (0xAA), _init (two CTR reads, CTR write with the keyboard
 * disabled), i8042_check_aux (flush, AUX loop 0xD3 0x5A, AUX test 0xA9),
 * i8042_enable_kbd_port, then atkbd's identify (0xF2), LEDs (0xED 00) and
 * enable (0xF4).
 */
static void i8042_linux_probe(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;
	struct devt_io io[] = {
	    /* 0 */ DEVT_IN(STATUS),
	    /* 1 */ DEVT_OUT(STATUS, 0xaa),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    /* 4 */ DEVT_OUT(STATUS, 0x20),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    /* 7 */ DEVT_OUT(STATUS, 0x20),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    /* 10 */ DEVT_IN(STATUS),
	    DEVT_OUT(STATUS, 0x60),
	    DEVT_OUT(DATA, 0x74),
	    /* 13: check_aux */
	    DEVT_IN(STATUS),
	    DEVT_OUT(STATUS, 0xd3),
	    DEVT_OUT(DATA, 0x5a),
	    DEVT_IN(STATUS),
	    /* 17 */ DEVT_OUT(STATUS, 0xa9),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    DEVT_IN(STATUS),
	    /* 21: enable the keyboard port, interrupts on */
	    DEVT_OUT(STATUS, 0x60),
	    DEVT_OUT(DATA, 0x65),
	};
	struct devt_io kbd[] = {
	    /* 0: atkbd: identify */
	    DEVT_OUT(DATA, 0xf2),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    /* 5 */ DEVT_IN(STATUS),
	    DEVT_IN(DATA),
	    /* 7: LEDs off, enable */
	    DEVT_OUT(DATA, 0xed),
	    DEVT_IN(DATA),
	    DEVT_OUT(DATA, 0x00),
	    DEVT_IN(DATA),
	    /* 11 */ DEVT_OUT(DATA, 0xf4),
	    DEVT_IN(DATA),
	    DEVT_IN(STATUS),
	};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(ex.kind, HVABS_EXIT_HLT);
	assert_int_equal(io[0].value & STR_OBF, 0);		/* a controller, nothing queued */
	assert_int_equal(io[0].value & STR_UNLOCK, STR_UNLOCK); /* keylock off */
	assert_int_equal(io[2].value & STR_OBF, STR_OBF);
	assert_int_equal(io[3].value, 0x55);	    /* self-test passed */
	assert_int_equal(io[6].value, io[9].value); /* a stable CTR */
	assert_int_equal(io[6].value, 0x65);	    /* KBDINT, SYS, AUXDIS, XLATE */
	/* AUX loop: the answer is keyboard data, so Linux's check fails at once. */
	assert_int_equal(io[16].value & (STR_OBF | STR_AUXDATA), STR_OBF);
	/* AUX test: an error code (not 0, 0xFA or 0xFF), and nothing left behind. */
	assert_int_equal(io[18].value & STR_OBF, STR_OBF);
	assert_int_equal(io[19].value, 0x02);
	assert_int_equal(io[20].value & STR_OBF, 0);

	devt_line_raises(vm, GSI);
	devt_guest_io(vm, kbd, sizeof(kbd) / sizeof(kbd[0]), &ex);
	assert_int_equal(ex.kind, HVABS_EXIT_HLT);
	/* The keyboard: ACK, then an MF2 ID as the translating controller shows it. */
	assert_int_equal(kbd[1].value & (STR_OBF | STR_AUXDATA), STR_OBF);
	assert_int_equal(kbd[2].value, 0xfa);
	assert_int_equal(kbd[4].value, 0xab);
	assert_int_equal(kbd[6].value, 0x41);
	assert_int_equal(kbd[8].value, 0xfa);
	assert_int_equal(kbd[10].value, 0xfa);
	assert_int_equal(kbd[12].value, 0xfa);
	assert_int_equal(kbd[13].value & STR_OBF, 0);
	/* Interrupts are on for the six keyboard bytes: one edge each. */
	assert_int_equal(devt_line_raises(vm, GSI), 6);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	hvabs_i8042_destroy(k);
}

static void i8042_keyboard_commands(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_outb(vm, DATA, 0xff); /* reset: ACK then self-test passed */
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(devt_inb(vm, DATA), 0xaa);
	devt_outb(vm, DATA, 0xee);
	assert_int_equal(devt_inb(vm, DATA), 0xee);
	devt_outb(vm, DATA, 0x5a); /* not a keyboard command */
	assert_int_equal(devt_inb(vm, DATA), 0xfe);
	devt_outb(vm, DATA, 0xf0);
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	devt_outb(vm, DATA, 0x00); /* which scan code set? */
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(devt_inb(vm, DATA), 0x02);
	/* Without translation the keyboard's own ID shows. */
	devt_outb(vm, STATUS, 0x60);
	devt_outb(vm, DATA, 0x25);
	devt_outb(vm, DATA, 0xf2);
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(devt_inb(vm, DATA), 0xab);
	assert_int_equal(devt_inb(vm, DATA), 0x83);
	assert_int_equal(devt_inb(vm, STATUS) & STR_OBF, 0);
	/* The keyboard's bytes wait while its interface is disabled. */
	devt_outb(vm, DATA, 0xf4);
	devt_outb(vm, STATUS, 0xad);
	assert_int_equal(devt_inb(vm, STATUS) & STR_OBF, STR_OBF); /* already in the buffer */
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	devt_outb(vm, DATA, 0xee);
	devt_outb(vm, STATUS, 0xad); /* the write re-enabled it; disable again */
	devt_inb(vm, DATA);
	devt_outb(vm, STATUS, 0xae);
	/* 0xD2 puts a byte in the output buffer as keyboard data. */
	devt_outb(vm, STATUS, 0xd2);
	devt_outb(vm, DATA, 0x9c);
	assert_int_equal(devt_inb(vm, DATA), 0x9c);
	/* Controller RAM and the interface test. */
	devt_outb(vm, STATUS, 0x61);
	devt_outb(vm, DATA, 0x42);
	devt_outb(vm, STATUS, 0x21);
	assert_int_equal(devt_inb(vm, DATA), 0x42);
	devt_outb(vm, STATUS, 0xab);
	assert_int_equal(devt_inb(vm, DATA), 0x00);
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_NONE);
	hvabs_i8042_destroy(k);
}

static void i8042_irq_per_byte(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_line_raises(vm, GSI);
	devt_outb(vm, DATA, 0xff); /* two bytes queued: FA AA */
	assert_int_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(devt_line_level(vm, GSI), 1);
	assert_int_equal(devt_inb(vm, DATA), 0xaa);
	assert_int_equal(devt_line_level(vm, GSI), 0);
	/* Two bytes, two edges: the line dropped between them. */
	assert_int_equal(devt_line_raises(vm, GSI), 2);
	/* With KBDINT clear the line stays low. */
	devt_outb(vm, STATUS, 0x60);
	devt_outb(vm, DATA, 0x64);
	devt_outb(vm, DATA, 0xee);
	assert_int_equal(devt_inb(vm, STATUS) & STR_OBF, STR_OBF);
	assert_int_equal(devt_line_raises(vm, GSI), 0);
	hvabs_i8042_destroy(k);
}

static void i8042_reset_fe(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;
	struct devt_io io[] = {DEVT_IN(STATUS), DEVT_OUT(STATUS, 0xfe)};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_guest_io(vm, io, 2, &ex);
	assert_int_equal(ex.kind, HVABS_EXIT_RESET);
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_RESET);
	hvabs_i8042_destroy(k);
}

static void i8042_reset_output_port(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;
	struct devt_io io[] = {DEVT_OUT(STATUS, 0xd0), DEVT_IN(DATA),
			       DEVT_OUT(STATUS, 0xd1), DEVT_OUT(DATA, 0x03),
			       DEVT_OUT(STATUS, 0xd1), DEVT_OUT(DATA, 0x02)};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(io[1].value & 0x03, 0x03); /* reset line high, A20 on */
	assert_int_equal(ex.kind, HVABS_EXIT_RESET);
	hvabs_i8042_destroy(k);
}

static void i8042_port61(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_i8042 *k;
	struct hvabs_i8042_config cfg = {0};
	uint64_t v;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_outb(vm, PORTB, 0xff);
	uint8_t a = devt_inb(vm, PORTB), b = devt_inb(vm, PORTB);
	assert_int_equal(a & 0xcf, 0x0f); /* bits 0-3 stored, NMI status clear */
	assert_int_equal(b & 0xcf, 0x0f);
	assert_int_equal((a ^ b) & 0x30, 0x30); /* refresh and timer 2 output move */
	devt_outb(vm, PORTB, 0x01);
	assert_int_equal(devt_inb(vm, PORTB) & 0x0f, 0x01);
	hvabs_i8042_destroy(k);
	cfg.flags = HVABS_I8042_F_NO_PORT61;
	assert_int_equal(hvabs_i8042_create(vm, &cfg, &k), 0);
	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, PORTB, 1, &v), -ENOENT);
	hvabs_i8042_destroy(k);
	cfg.flags = 0x80;
	assert_int_equal(hvabs_i8042_create(vm, &cfg, &k), -EINVAL);
	hvabs_i8042_destroy(NULL);
}

/* SendCtrlAltDel's keys: set 1 as translated by default, set 2 without translation. */
static void i8042_ctrl_alt_del(struct hvabs_vm *vm, const char *backend)
{
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	struct hvabs_i8042 *k;

	(void)backend;
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	devt_line_raises(vm, GSI);
	assert_int_equal(hvabs_i8042_send_ctrl_alt_del(k), 0);
	for (unsigned i = 0; i < sizeof(set1); i++) {
		assert_int_equal(devt_line_level(vm, GSI), 1); /* one interrupt per byte */
		assert_int_equal(devt_inb(vm, DATA), set1[i]);
	}
	assert_int_equal(devt_line_raises(vm, GSI), (int)sizeof(set1));
	assert_int_equal(devt_inb(vm, STATUS) & STR_OBF, 0);
	/* Translation off (command byte 0x25): the keyboard's set 2 shows. */
	devt_outb(vm, STATUS, 0x60);
	devt_outb(vm, DATA, 0x25);
	assert_int_equal(hvabs_i8042_send_ctrl_alt_del(k), 0);
	for (unsigned i = 0; i < sizeof(set2); i++)
		assert_int_equal(devt_inb(vm, DATA), set2[i]);
	/* A keyboard the guest disabled (0xF5) takes no keys; the queue is left as it was. */
	devt_outb(vm, DATA, 0xf5);
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(hvabs_i8042_send_ctrl_alt_del(k), -EAGAIN);
	assert_int_equal(devt_inb(vm, STATUS) & STR_OBF, 0);
	/* A guest that never reads cannot make the host's keys pile up. */
	devt_outb(vm, DATA, 0xf4);
	assert_int_equal(devt_inb(vm, DATA), 0xfa);
	assert_int_equal(hvabs_i8042_send_ctrl_alt_del(k), 0);
	assert_int_equal(hvabs_i8042_send_ctrl_alt_del(k), -EAGAIN);
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_NONE);
	hvabs_i8042_destroy(k);
}

DEVT_TEST(i8042_linux_probe)
DEVT_TEST(i8042_keyboard_commands)
DEVT_TEST(i8042_irq_per_byte)
DEVT_TEST(i8042_reset_fe)
DEVT_TEST(i8042_reset_output_port)
DEVT_TEST(i8042_port61)
DEVT_TEST(i8042_ctrl_alt_del)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    DEVT_CASE(i8042_linux_probe),	DEVT_CASE(i8042_keyboard_commands),
	    DEVT_CASE(i8042_irq_per_byte),	DEVT_CASE(i8042_reset_fe),
	    DEVT_CASE(i8042_reset_output_port), DEVT_CASE(i8042_port61),
	    DEVT_CASE(i8042_ctrl_alt_del),
	};

	devt_init(argc, argv);
	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
