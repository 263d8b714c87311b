/* SPDX-License-Identifier: Apache-2.0 */
/* CMOS RTC on the VM clock: formats, edges, setting the time, UIP, CMOS RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hvabs/devices/rtc.h>

#include "harness.h"

#define IDX  0x70
#define DAT  0x71
#define SEC  1000000000ull
#define MSEC 1000000ull
#define USEC 1000ull

/* Epoch seconds (UTC) of the instants used below, with their weekdays (Sunday = 1). */
#define T_LEAP_MIDNIGHT 1709164800ull /* 2024-02-29 00:00:00, Thursday (5) */
#define T_LEAP_NOON	1709208000ull /* 2024-02-29 12:00:00 */
#define T_LEAP_PM	1709211909ull /* 2024-02-29 13:05:09 */
#define T_2099_END	4102444799ull /* 2099-12-31 23:59:59, Thursday (5) */
#define T_1999_END	946684799ull  /* 1999-12-31 23:59:59, Friday (6) */

static uint8_t cmos_get(struct hvabs_vm *vm, uint8_t idx)
{
	devt_outb(vm, IDX, idx);
	return devt_inb(vm, DAT);
}

static void cmos_set(struct hvabs_vm *vm, uint8_t idx, uint8_t val)
{
	devt_outb(vm, IDX, idx);
	devt_outb(vm, DAT, val);
}

struct expect {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static void check_time(struct hvabs_vm *vm, const struct expect *e)
{
	assert_int_equal(cmos_get(vm, 0x00), e->sec);
	assert_int_equal(cmos_get(vm, 0x02), e->min);
	assert_int_equal(cmos_get(vm, 0x04), e->hour);
	assert_int_equal(cmos_get(vm, 0x06), e->wday);
	assert_int_equal(cmos_get(vm, 0x07), e->mday);
	assert_int_equal(cmos_get(vm, 0x08), e->mon);
	assert_int_equal(cmos_get(vm, 0x09), e->year);
	assert_int_equal(cmos_get(vm, 0x32), e->century);
}

/* B = 0x02 | DM (0x04) | 24h (0x02): every format at midnight, noon and 13:05:09. */
static void rtc_formats(struct hvabs_vm *vm, const char *backend)
{
	static const struct {
		uint64_t t;
		uint8_t b;
		struct expect e;
	} cases[] = {
	    /* BCD, 24 h */
	    {T_LEAP_MIDNIGHT, 0x02, {0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x24, 0x20}},
	    {T_LEAP_NOON, 0x02, {0x00, 0x00, 0x12, 5, 0x29, 0x02, 0x24, 0x20}},
	    {T_LEAP_PM, 0x02, {0x09, 0x05, 0x13, 5, 0x29, 0x02, 0x24, 0x20}},
	    /* BCD, 12 h: midnight is 12 AM, noon 12 PM (bit 7) */
	    {T_LEAP_MIDNIGHT, 0x00, {0x00, 0x00, 0x12, 5, 0x29, 0x02, 0x24, 0x20}},
	    {T_LEAP_NOON, 0x00, {0x00, 0x00, 0x92, 5, 0x29, 0x02, 0x24, 0x20}},
	    {T_LEAP_PM, 0x00, {0x09, 0x05, 0x81, 5, 0x29, 0x02, 0x24, 0x20}},
	    /* binary, 24 h */
	    {T_LEAP_MIDNIGHT, 0x06, {0, 0, 0, 5, 29, 2, 24, 20}},
	    {T_LEAP_NOON, 0x06, {0, 0, 12, 5, 29, 2, 24, 20}},
	    {T_LEAP_PM, 0x06, {9, 5, 13, 5, 29, 2, 24, 20}},
	    /* binary, 12 h */
	    {T_LEAP_MIDNIGHT, 0x04, {0, 0, 12, 5, 29, 2, 24, 20}},
	    {T_LEAP_NOON, 0x04, {0, 0, 0x80 | 12, 5, 29, 2, 24, 20}},
	    {T_LEAP_PM, 0x04, {9, 5, 0x80 | 1, 5, 29, 2, 24, 20}},
	    /* century edges */
	    {T_2099_END, 0x02, {0x59, 0x59, 0x23, 5, 0x31, 0x12, 0x99, 0x20}},
	    {T_2099_END + 1, 0x02, {0x00, 0x00, 0x00, 6, 0x01, 0x01, 0x00, 0x21}},
	    {T_2099_END + 1, 0x06, {0, 0, 0, 6, 1, 1, 0, 21}},
	    {T_1999_END, 0x00, {0x59, 0x59, 0x91, 6, 0x31, 0x12, 0x99, 0x19}},
	    {T_1999_END + 1, 0x00, {0x00, 0x00, 0x12, 7, 0x01, 0x01, 0x00, 0x20}},
	};
	struct hvabs_rtc *r;

	(void)backend;
	devt_clock_set(vm, T_LEAP_MIDNIGHT * SEC);
	assert_int_equal(hvabs_rtc_create(vm, NULL, &r), 0);
	assert_int_equal(cmos_get(vm, 0x0b), 0x02); /* BCD, 24 h by default */
	assert_int_equal(cmos_get(vm, 0x0d), 0x80); /* valid RAM and time */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu\n", i);
		devt_clock_set(vm, cases[i].t * SEC + 500 * MSEC);
		cmos_set(vm, 0x0b, cases[i].b);
		check_time(vm, &cases[i].e);
	}
	hvabs_rtc_destroy(r);
}

/* hwclock --systohc: SET, write the fields, clear SET; the clock runs from there. */
static void rtc_set_time(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_rtc *r;
	const struct expect set = {0x00, 0x30, 0x08, 7, 0x15, 0x06, 0x30, 0x20};
	const struct expect later = {0x02, 0x30, 0x08, 7, 0x15, 0x06, 0x30, 0x20};

	(void)backend;
	devt_clock_set(vm, T_LEAP_PM * SEC + 123 * MSEC);
	assert_int_equal(hvabs_rtc_create(vm, NULL, &r), 0);
	cmos_set(vm, 0x0b, 0x82); /* SET */
	devt_clock_set(vm, T_LEAP_PM * SEC + 5 * SEC);
	assert_int_equal(cmos_get(vm, 0x00), 0x09); /* halted: time stands still */
	/* 2030-06-15 08:30:00, as Linux's mc146818_set_time writes it */
	cmos_set(vm, 0x09, 0x30);
	cmos_set(vm, 0x08, 0x06);
	cmos_set(vm, 0x07, 0x15);
	cmos_set(vm, 0x04, 0x08);
	cmos_set(vm, 0x02, 0x30);
	cmos_set(vm, 0x00, 0x00);
	cmos_set(vm, 0x32, 0x20);
	assert_int_equal(cmos_get(vm, 0x02), 0x30);
	cmos_set(vm, 0x0b, 0x02); /* release: the new second starts now */
	check_time(vm, &set);	  /* and the day of week follows the date: Saturday */
	devt_clock_set(vm, T_LEAP_PM * SEC + 7 * SEC + 500 * MSEC);
	check_time(vm, &later);
	/* A single field written while the clock runs keeps the phase. */
	cmos_set(vm, 0x02, 0x45);
	assert_int_equal(cmos_get(vm, 0x02), 0x45);
	assert_int_equal(cmos_get(vm, 0x00), 0x02);
	devt_clock_set(vm, T_LEAP_PM * SEC + 8 * SEC);
	assert_int_equal(cmos_get(vm, 0x00), 0x03);
	/* 12-hour binary writes: 11 PM. */
	cmos_set(vm, 0x0b, 0x04);
	cmos_set(vm, 0x04, 0x80 | 11);
	cmos_set(vm, 0x0b, 0x06);
	assert_int_equal(cmos_get(vm, 0x04), 23);
	cmos_set(vm, 0x0b, 0x04);
	cmos_set(vm, 0x04, 12); /* 12 AM: midnight */
	cmos_set(vm, 0x0b, 0x06);
	assert_int_equal(cmos_get(vm, 0x04), 0);
	/* Nonsense is refused: a BCD byte with digit A, hour 13 in 12-hour mode. */
	cmos_set(vm, 0x0b, 0x02);
	cmos_set(vm, 0x00, 0x5a);
	assert_int_equal(cmos_get(vm, 0x00), 0x03);
	cmos_set(vm, 0x0b, 0x00);
	cmos_set(vm, 0x04, 0x13);
	assert_int_equal(cmos_get(vm, 0x04), 0x12);
	/* An explicit day of week sticks and moves with the days. */
	cmos_set(vm, 0x0b, 0x02);
	cmos_set(vm, 0x06, 0x02);
	assert_int_equal(cmos_get(vm, 0x06), 0x02);
	devt_clock_set(vm, T_LEAP_PM * SEC + 8 * SEC + 86400 * SEC);
	assert_int_equal(cmos_get(vm, 0x06), 0x03);
	/* Times the clock cannot hold (from 2200) are refused, running or held. */
	cmos_set(vm, 0x32, 0x23);
	assert_int_equal(cmos_get(vm, 0x32), 0x20);
	cmos_set(vm, 0x0b, 0x82);
	cmos_set(vm, 0x32, 0x99);
	cmos_set(vm, 0x0b, 0x02);
	assert_int_equal(cmos_get(vm, 0x32), 0x20);
	assert_int_equal(cmos_get(vm, 0x09), 0x30);
	hvabs_rtc_destroy(r);
}

/* Linux also holds the divider in reset while it writes; the first update is 500 ms later. */
static void rtc_divider_reset(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_rtc *r;
	const uint64_t t0 = T_LEAP_NOON * SEC + 700 * MSEC;

	(void)backend;
	devt_clock_set(vm, t0);
	assert_int_equal(hvabs_rtc_create(vm, NULL, &r), 0);
	cmos_set(vm, 0x0b, 0x82);
	cmos_set(vm, 0x0a, 0x26 | 0x70);
	cmos_set(vm, 0x00, 0x30);
	cmos_set(vm, 0x0b, 0x02); /* SET off, divider still in reset: still halted */
	devt_clock_set(vm, t0 + 3 * SEC);
	assert_int_equal(cmos_get(vm, 0x00), 0x30);
	cmos_set(vm, 0x0a, 0x26);
	devt_clock_set(vm, t0 + 3 * SEC + 499 * MSEC);
	assert_int_equal(cmos_get(vm, 0x00), 0x30);
	devt_clock_set(vm, t0 + 3 * SEC + 500 * MSEC);
	assert_int_equal(cmos_get(vm, 0x00), 0x31);
	assert_int_equal(cmos_get(vm, 0x0a), 0x26 | 0x80); /* right at an update: UIP */
	hvabs_rtc_destroy(r);
}

static bool uip(struct hvabs_vm *vm)
{
	return cmos_get(vm, 0x0a) & 0x80;
}

static void rtc_uip(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_rtc *r;
	const uint64_t s = T_LEAP_NOON * SEC;

	(void)backend;
	devt_clock_set(vm, s + 500 * MSEC);
	assert_int_equal(hvabs_rtc_create(vm, NULL, &r), 0);
	assert_false(uip(vm)); /* mid-second */
	devt_clock_set(vm, s + SEC - 244 * USEC - 1);
	assert_false(uip(vm));
	devt_clock_set(vm, s + SEC - 244 * USEC);
	assert_true(uip(vm)); /* 244 us before the update */
	/* The clock did not move: the update cannot be in progress any more. */
	assert_false(uip(vm));
	devt_clock_set(vm, s + SEC + 1983 * USEC);
	assert_true(uip(vm)); /* still updating */
	devt_clock_set(vm, s + SEC + 1984 * USEC);
	assert_false(uip(vm));
	/* A guest that loops like mc146818_avoid_UIP() on a stopped clock gets out. */
	devt_clock_set(vm, s + 2 * SEC - 100 * USEC);
	int tries = 0;
	while (uip(vm) && tries < 10)
		tries++;
	assert_true(tries < 10);
	/* Status A keeps its rate bits; UIP cannot be written. */
	cmos_set(vm, 0x0a, 0xa6);
	assert_int_equal(cmos_get(vm, 0x0a) & 0x7f, 0x26);
	/* Never during SET. */
	cmos_set(vm, 0x0b, 0x82);
	devt_clock_set(vm, s + 3 * SEC - 100 * USEC);
	assert_false(uip(vm));
	hvabs_rtc_destroy(r);
}

static void rtc_cmos_ram(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_rtc_config cfg = {0};
	struct hvabs_rtc *r;
	uint8_t v;

	(void)backend;
	cfg.mem_below_4g = 512ull << 20;
	cfg.mem_above_4g = 1ull << 30;
	assert_int_equal(hvabs_rtc_create(vm, &cfg, &r), 0);
	assert_int_equal(cmos_get(vm, 0x15) | cmos_get(vm, 0x16) << 8, 640);
	assert_int_equal(cmos_get(vm, 0x17) | cmos_get(vm, 0x18) << 8, 0xffff);
	assert_int_equal(cmos_get(vm, 0x30) | cmos_get(vm, 0x31) << 8, 0xffff);
	assert_int_equal(cmos_get(vm, 0x34) | cmos_get(vm, 0x35) << 8, (512 - 16) * 16);
	assert_int_equal(cmos_get(vm, 0x5b) | cmos_get(vm, 0x5c) << 8 | cmos_get(vm, 0x5d) << 16,
			 16384);
	unsigned sum = 0;
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += cmos_get(vm, i);
	assert_int_equal(cmos_get(vm, 0x2e) << 8 | cmos_get(vm, 0x2f), sum);
	/* The guest's own bytes; bit 7 of the index (NMI mask) is not part of it. */
	cmos_set(vm, 0x80 | 0x40, 0x5a);
	assert_int_equal(cmos_get(vm, 0x40), 0x5a);
	assert_int_equal(hvabs_rtc_cmos_read(r, 0x40, &v), 0);
	assert_int_equal(v, 0x5a);
	/* The VMM's, with the checksum kept right. */
	assert_int_equal(hvabs_rtc_cmos_write(r, 0x5f, 3), 0);
	assert_int_equal(cmos_get(vm, 0x5f), 3);
	assert_int_equal(hvabs_rtc_cmos_write(r, 0x14, 0x06), 0);
	assert_int_equal(cmos_get(vm, 0x2e) << 8 | cmos_get(vm, 0x2f), sum + 0x06);
	assert_int_equal(hvabs_rtc_cmos_write(r, 0x32, 0), -EINVAL);
	assert_int_equal(hvabs_rtc_cmos_write(r, 0x09, 0), -EINVAL);
	assert_int_equal(hvabs_rtc_cmos_read(r, 0x80, &v), -EINVAL);
	/* Alarms are stored; status C reads 0, D reads VRT; the index port floats. */
	cmos_set(vm, 0x01, 0x45);
	assert_int_equal(cmos_get(vm, 0x01), 0x45);
	assert_int_equal(cmos_get(vm, 0x0c), 0x00);
	cmos_set(vm, 0x0d, 0x00);
	assert_int_equal(cmos_get(vm, 0x0d), 0x80);
	assert_int_equal(devt_inb(vm, IDX), 0xff);
	hvabs_rtc_destroy(r);
	hvabs_rtc_destroy(NULL);
}

DEVT_TEST(rtc_formats)
DEVT_TEST(rtc_set_time)
DEVT_TEST(rtc_divider_reset)
DEVT_TEST(rtc_uip)
DEVT_TEST(rtc_cmos_ram)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    DEVT_CASE(rtc_formats), DEVT_CASE(rtc_set_time), DEVT_CASE(rtc_divider_reset),
	    DEVT_CASE(rtc_uip),	    DEVT_CASE(rtc_cmos_ram),
	};

	devt_init(argc, argv);
	return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
