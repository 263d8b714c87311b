/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI PM1a registers: S5 power-off, other sleep states, power button SCI, 0xCF9 reset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hvabs/devices/acpi_pm.h>

#include "harness.h"

#define EVT	   0x600
#define STS	   (EVT + 0)
#define EN	   (EVT + 2)
#define CNT	   0x604
#define SCI	   9

#define SLP_EN	   (1u << 13)
#define SLP_TYP(t) ((unsigned)(t) << 10)
#define PWRBTN	   (1u << 8)

static uint64_t inw(struct hvabs_vm *vm, uint16_t port)
{
	uint64_t v;

	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, port, 2, &v), 0);
	return v;
}

static void outw(struct hvabs_vm *vm, uint16_t port, uint16_t v)
{
	assert_int_equal(hvabs_bus_write(vm, HVABS_SPACE_PIO, port, 2, v), 0);
}

/* ACPICA's S5 entry: clear WAK_STS, write SLP_TYP, then SLP_TYP | SLP_EN. */
static void pm_s5_powers_off(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_acpi_pm *pm;
	struct devt_io io[] = {
	    DEVT_OUTW(STS, 0x8000),
	    {CNT, 2, false, 0},
	    DEVT_OUTW(CNT, 1 | SLP_TYP(5)),
	    DEVT_OUTW(CNT, 1 | SLP_TYP(5) | SLP_EN),
	};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_acpi_pm_create(vm, NULL, &pm), 0);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(io[1].value & 1, 1); /* SCI_EN: already in ACPI mode */
	assert_int_equal(ex.kind, HVABS_EXIT_SYSTEM_EVENT);
	assert_int_equal(ex.u.system_event.type, HVABS_SYSTEM_EVENT_POWEROFF);
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_POWEROFF);
	hvabs_acpi_pm_destroy(pm);
}

static void pm_other_sleep_ignored(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_acpi_pm *pm;
	struct devt_io io[] = {
	    DEVT_OUTW(CNT, 1 | SLP_TYP(3) | SLP_EN), /* S3 */
	    DEVT_OUTW(CNT, 1 | SLP_TYP(5)),	     /* S5 type without SLP_EN */
	    {CNT, 2, false, 0},
	};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_acpi_pm_create(vm, NULL, &pm), 0);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(ex.kind, HVABS_EXIT_HLT);     /* the guest carried on */
	assert_int_equal(io[2].value, 1 | SLP_TYP(5)); /* SLP_EN reads 0 */
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_NONE);
	hvabs_acpi_pm_destroy(pm);
}

/* A custom S5 value and ports; byte-wide writes of the control block's high byte. */
static void pm_custom_config(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_acpi_pm_config cfg = HVABS_ACPI_PM_CONFIG_INIT;
	struct hvabs_acpi_pm *pm;

	(void)backend;
	cfg.evt_base = 0xb000;
	cfg.cnt_base = 0xb004;
	cfg.s5_slp_typ = 0; /* QEMU's DSDTs use 0 */
	cfg.flags = HVABS_ACPI_PM_F_NO_RESET_REG;
	assert_int_equal(hvabs_acpi_pm_create(vm, &cfg, &pm), 0);
	devt_outb(vm, 0xb005, (uint8_t)((SLP_TYP(5) | SLP_EN) >> 8));
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_NONE);
	devt_outb(vm, 0xb005, (uint8_t)((SLP_TYP(0) | SLP_EN) >> 8));
	assert_int_equal(hvabs_vm_stop_reason(vm), HVABS_STOP_POWEROFF);
	uint64_t v;
	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, 0xcf9, 1, &v), -ENOENT);
	hvabs_acpi_pm_destroy(pm);
	cfg.s5_slp_typ = 8;
	assert_int_equal(hvabs_acpi_pm_create(vm, &cfg, &pm), -EINVAL);
	cfg.s5_slp_typ = 5;
	cfg.cnt_base = 0xb002; /* inside the event block */
	assert_int_equal(hvabs_acpi_pm_create(vm, &cfg, &pm), -EINVAL);
	hvabs_acpi_pm_destroy(NULL);
}

static void pm_power_button(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_acpi_pm *pm;

	(void)backend;
	assert_int_equal(hvabs_acpi_pm_create(vm, NULL, &pm), 0);
	/* Not enabled: the status shows, the SCI stays low. */
	assert_int_equal(hvabs_acpi_pm_power_button(pm), 0);
	assert_int_equal(inw(vm, STS) & PWRBTN, PWRBTN);
	assert_int_not_equal(devt_line_level(vm, SCI), 1);
	outw(vm, EN, PWRBTN);
	assert_int_equal(inw(vm, EN), PWRBTN);
	assert_int_equal(devt_line_level(vm, SCI), 1);
	/* Write 1 to clear; writing 0 bits changes nothing. */
	outw(vm, STS, 0);
	assert_int_equal(devt_line_level(vm, SCI), 1);
	outw(vm, STS, PWRBTN);
	assert_int_equal(inw(vm, STS) & PWRBTN, 0);
	assert_int_equal(devt_line_level(vm, SCI), 0);
	/* SCI_EN off masks it. */
	outw(vm, CNT, 0);
	assert_int_equal(hvabs_acpi_pm_power_button(pm), 0);
	assert_int_equal(devt_line_level(vm, SCI), 0);
	outw(vm, CNT, 1);
	assert_int_equal(devt_line_level(vm, SCI), 1);
	/* Byte and dword access to the event block. */
	devt_outb(vm, STS + 1, PWRBTN >> 8);
	assert_int_equal(devt_line_level(vm, SCI), 0);
	uint64_t v;
	assert_int_equal(hvabs_bus_read(vm, HVABS_SPACE_PIO, EVT, 4, &v), 0);
	assert_int_equal(v, (uint64_t)PWRBTN << 16);
	hvabs_acpi_pm_destroy(pm);
}

static void pm_reset_register(struct hvabs_vm *vm, const char *backend)
{
	struct hvabs_acpi_pm *pm;
	struct devt_io io[] = {DEVT_OUT(0xcf9, 0x02), DEVT_IN(0xcf9), DEVT_OUT(0xcf9, 0x06)};
	struct hvabs_exit ex;

	(void)backend;
	assert_int_equal(hvabs_acpi_pm_create(vm, NULL, &pm), 0);
	devt_guest_io(vm, io, sizeof(io) / sizeof(io[0]), &ex);
	assert_int_equal(io[1].value, 0x02); /* SYS_RST alone does not reset */
	assert_int_equal(ex.kind, HVABS_EXIT_RESET);
	hvabs_acpi_pm_destroy(pm);
}

DEVT_TEST(pm_s5_powers_off)
DEVT_TEST(pm_other_sleep_ignored)
DEVT_TEST(pm_custom_config)
DEVT_TEST(pm_power_button)
DEVT_TEST(pm_reset_register)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    DEVT_CASE(pm_s5_powers_off),  DEVT_CASE(pm_other_sleep_ignored),
	    DEVT_CASE(pm_custom_config),  DEVT_CASE(pm_power_button),
	    DEVT_CASE(pm_reset_register),
	};

	devt_init(argc, argv);
	return cmocka_run_group_tests_name("acpi_pm", tests, NULL, NULL);
}
