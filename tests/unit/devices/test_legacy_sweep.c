/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every legacy device at once under a long run of random guest accesses
 * (fixed seed): whatever a guest writes, the devices must neither crash nor
 * trip the sanitizers, and what they report must stay well-formed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/devices/acpi_pm.h>
#include <hvabs/devices/i8042.h>
#include <hvabs/devices/rtc.h>
#include <hvabs/devices/uart8250.h>

#include "harness.h"

static uint32_t rnd(uint64_t *s)
{
	/* xorshift64*: reproducible without libc's global state */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

static const struct {
	uint16_t base, len;
} ranges[] = {
    {0x3f8, 8}, {0x60, 1}, {0x61, 1}, {0x64, 1}, {0x70, 2}, {0x600, 4}, {0x604, 2}, {0xcf9, 1},
};

static void check_read(uint16_t port, uint32_t size, uint64_t v)
{
	if (port == 0x3f8 + 2 && size == 1) {
		uint8_t id = v & 0x0f;
		assert_true(id == 0x01 || id == 0x00 || id == 0x02 || id == 0x04 || id == 0x06 ||
			    id == 0x0c);
		assert_int_equal(v & 0x30, 0); /* no 64-byte FIFO, no bit 4 */
	}
	if (port == 0x64 && size == 1)
		assert_int_equal(v & 0x02, 0); /* input buffer never stays full */
	if (size < 8)
		assert_true(v < (1ull << (8 * size)));
}

static void legacy_random_sweep(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_uart_config ucfg = HVABS_UART_CONFIG_INIT;
	struct hvabs_rtc_config rcfg = {.mem_below_4g = 256ull << 20};
	struct hvabs_event_loop *loop;
	struct hvabs_uart *u;
	struct hvabs_i8042 *k;
	struct hvabs_rtc *r;
	struct hvabs_acpi_pm *pm;
	int in[2], out[2];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char sink[4096], tail[512];

	(void)backend;
	assert_int_equal(hvabs_event_loop_create(&loop), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	ucfg.in_fd = in[0];
	ucfg.out_fd = out[1];
	ucfg.loop = loop;
	assert_int_equal(hvabs_uart_create(vm, &ucfg, &u), 0);
	assert_int_equal(hvabs_i8042_create(vm, NULL, &k), 0);
	assert_int_equal(hvabs_rtc_create(vm, &rcfg, &r), 0);
	assert_int_equal(hvabs_acpi_pm_create(vm, NULL, &pm), 0);
	for (int i = 0; i < 200000; i++) {
		uint32_t x = rnd(&seed);
		unsigned which = x % (sizeof(ranges) / sizeof(ranges[0]));
		uint16_t port = (uint16_t)(ranges[which].base + (x >> 8) % ranges[which].len);
		uint32_t size = 1u << ((x >> 16) % 3);
		uint64_t v = rnd(&seed);
		if ((x >> 20) & 1) {
			/* A wide access may run past a device's end into a neighbour or a hole. */
			(void)hvabs_bus_write(vm, HVABS_SPACE_PIO, port, size, v);
		} else if (hvabs_bus_read(vm, HVABS_SPACE_PIO, port, size, &v) == 0) {
			check_read(port, size, v);
		}
		if (i % 997 == 0) {
			assert_int_equal(write(in[1], "typed", 5), 5);
			(void)hvabs_event_loop_run_once(loop, 0);
			(void)!read(out[0], sink, sizeof(sink));
			assert_true(hvabs_uart_inject(u, "xy", 2, (x >> 24) & 1) >= 0);
			assert_int_equal(hvabs_acpi_pm_power_button(pm), 0);
		}
	}
	assert_int_equal(hvabs_uart_tail(u, tail, sizeof(tail), NULL), 0);
	hvabs_acpi_pm_destroy(pm);
	hvabs_rtc_destroy(r);
	hvabs_i8042_destroy(k);
	hvabs_uart_destroy(u);
	hvabs_event_loop_destroy(loop);
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
	}
}

DEVT_TEST(legacy_random_sweep)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    DEVT_CASE(legacy_random_sweep),
	};

	devt_init(argc, argv);
	return cmocka_run_group_tests_name("legacy_sweep", tests, NULL, NULL);
}
