/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file acpi_pm.h
 * @brief ACPI fixed-hardware PM1a registers (power off) and the 0xCF9 reset register.
 *
 * PM1a_EVT_BLK (4 bytes, default port 0x600): PM1_STS at +0 (write 1 to
 * clear) and PM1_EN at +2. PM1a_CNT_BLK (2 bytes, default 0x604): SCI_EN
 * (bit 0), SLP_TYP (bits 10-12) and SLP_EN (bit 13, write-only). Writing
 * SLP_EN with SLP_TYP equal to the configured S5 value asks the VM to power
 * off: hvabs_vm_request_stop() with #HVABS_STOP_POWEROFF, so
 * hvabs_vcpu_run_loop() returns #HVABS_EXIT_SYSTEM_EVENT of type
 * #HVABS_SYSTEM_EVENT_POWEROFF. Other sleep states are not supported: such
 * writes are logged (rate limited) and ignored, and the guest carries on.
 *
 * The DSDT must describe the same S5 value: with the default of 5,
 * `Name (_S5, Package () { 5, 5, 0, 0 })`. The FADT must point
 * PM1a_EVT_BLK and PM1a_CNT_BLK at the configured ports (lengths 4 and 2)
 * and have SMI_CMD = 0: SCI_EN reads as 1 from the start, so the OS finds
 * the machine already in ACPI mode.
 *
 * The power button can be pressed with hvabs_acpi_pm_power_button(): it sets
 * PWRBTN_STS and, while that status bit and PWRBTN_EN are both set and
 * SCI_EN is on, the SCI line (default GSI 9) is high, so the guest shuts down
 * in an orderly way. The MADT should declare the SCI level-triggered and
 * active-high.
 *
 * The reset control register at 0xCF9 (optional, on by default): a write
 * with bit 2 (RST_CPU) set resets the machine, hvabs_vm_request_stop() with
 * #HVABS_STOP_RESET; it is what the FADT RESET_REG (port 0xCF9, value 0x06)
 * and Linux's `reboot=pci` use. It overlaps PCI configuration mechanism #1
 * (0xCF8-0xCFF): a VMM with a PCI host bridge on those ports must turn it
 * off with #HVABS_ACPI_PM_F_NO_RESET_REG.
 *
 * @defgroup dev_acpi_pm ACPI PM registers
 * @brief PM1a event and control blocks, power button, reset register.
 * @{
 */
#ifndef HVABS_DEVICES_ACPI_PM_H
#define HVABS_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "../acpi.h"
#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The defaults are the platform the ACPI tables of acpi.h describe, so the
 * FADT and DSDT the loader writes and this device always agree.
 */
/** Default port of PM1a_EVT_BLK (the FADT's). */
#define HVABS_ACPI_PM1A_EVT_BASE HVABS_ACPI_PM1A_EVT_PORT
/** Default port of PM1a_CNT_BLK (the FADT's). */
#define HVABS_ACPI_PM1A_CNT_BASE HVABS_ACPI_PM1A_CNT_PORT
/** Default SCI interrupt line (the FADT's). */
#define HVABS_ACPI_SCI_GSI HVABS_ACPI_SCI_IRQ
/** Port of the reset control register. */
#define HVABS_ACPI_RESET_PORT 0xcf9

/** hvabs_acpi_pm_config::flags: do not register the reset register at 0xCF9. */
#define HVABS_ACPI_PM_F_NO_RESET_REG (1u << 0)

/** The PM1a registers (and the reset register). */
struct hvabs_acpi_pm;

/** Parameters of hvabs_acpi_pm_create(). Start from #HVABS_ACPI_PM_CONFIG_INIT. */
struct hvabs_acpi_pm_config {
	uint16_t evt_base;  /**< PM1a_EVT_BLK port; 0 selects #HVABS_ACPI_PM1A_EVT_BASE. */
	uint16_t cnt_base;  /**< PM1a_CNT_BLK port; 0 selects #HVABS_ACPI_PM1A_CNT_BASE. */
	uint32_t sci_gsi;   /**< SCI line; 0 selects #HVABS_ACPI_SCI_GSI. */
	uint8_t s5_slp_typ; /**< SLP_TYP that means S5 (0-7), as in the DSDT's `_S5`. */
	uint32_t flags;	    /**< HVABS_ACPI_PM_F_* bits. */
};

/** Initialiser for struct hvabs_acpi_pm_config with the defaults. */
#define HVABS_ACPI_PM_CONFIG_INIT                                                                  \
	{                                                                                          \
		HVABS_ACPI_PM1A_EVT_BASE, HVABS_ACPI_PM1A_CNT_BASE, HVABS_ACPI_SCI_GSI,            \
		    HVABS_ACPI_S5_SLP_TYP, 0                                                       \
	}

/**
 * Creates the registers and puts them on the port-I/O bus. Thread: any.
 * @param vm the VM.
 * @param cfg parameters, or NULL for #HVABS_ACPI_PM_CONFIG_INIT.
 * @param out the device.
 * @return 0 or negative errno.
 * @retval -EINVAL @p s5_slp_typ above 7, unknown flags, or overlapping blocks.
 * @retval -EEXIST a port is taken by another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_acpi_pm_create(struct hvabs_vm *vm,
						    const struct hvabs_acpi_pm_config *cfg,
						    struct hvabs_acpi_pm **out);

/**
 * Unregisters and frees the device. NULL is a no-op. Call it before
 * hvabs_vm_destroy(). Thread: any.
 * @param pm the device.
 */
HVABS_API void hvabs_acpi_pm_destroy(struct hvabs_acpi_pm *pm);

/**
 * Presses the power button: sets PWRBTN_STS and raises the SCI if the
 * guest enabled it. The guest sees a power-button event and normally shuts
 * down, ending with an S5 write. Thread: any.
 * @param pm the device.
 * @return 0 or negative errno.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_acpi_pm_power_button(struct hvabs_acpi_pm *pm);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
