/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file i8042.h
 * @brief The PC keyboard controller (i8042), chiefly for its reset line.
 *
 * Ports 0x60 (data) and 0x64 (status and command), and optionally 0x61
 * (system control port B). The controller answers what Linux's i8042
 * driver sends while probing (status reads, 0x20/0x60 command byte, 0xAA
 * self-test, 0xAB interface test) and has a keyboard attached that answers
 * the commands Linux's atkbd sends (reset, identify, LEDs, typematic rate,
 * enable, disable, scan code set) but never sends a key, so probing ends
 * without errors or timeouts.
 *
 * It has no AUX (mouse) port and behaves like an AT controller without one:
 * 0xA9 (AUX interface test) answers 0x02 (clock line stuck high); 0xD3 and
 * 0xD4 are not understood, so the byte that follows goes to the keyboard,
 * which answers 0xFE (resend) as a keyboard does to a byte it does not know.
 * Linux then sees its AUX loopback fail at once (the answer is not AUX
 * data) and gives up on the AUX port without waiting. A controller command
 * that answers replaces any answer the guest has not read.
 *
 * Pulsing output port bit 0 (command 0xFE, or any even command 0xF0-0xFE,
 * or 0xD1 with bit 0 clear) resets the machine: the device calls
 * hvabs_vm_request_stop() with #HVABS_STOP_RESET, so hvabs_vcpu_run_loop()
 * returns #HVABS_EXIT_RESET. The A20 gate cannot be closed (hypervisors keep
 * it open); output port bit 1 reads back as written.
 *
 * The keyboard interrupt is pulsed per byte: when the guest reads a byte and
 * another one is waiting, the line is lowered and raised again, since
 * Linux's handler takes one byte per interrupt and ISA IRQ 1 is
 * edge-triggered.
 *
 * Port 0x61: bits 0-3 read back as written (timer 2 gate, speaker, parity
 * and channel check enables); bit 4 (refresh) toggles on every read, as
 * delay loops expect; bit 5 (timer 2 output) toggles with it, because
 * without a PIT model a loop waiting for it would never end. Where the
 * hypervisor emulates the PIT (KVM's in-kernel PIT also claims 0x61) the
 * guest's accesses never reach this device. NMI status bits 6-7 read 0.
 *
 * @defgroup dev_i8042 i8042 keyboard controller
 * @brief Keyboard controller, reset line and system control port B.
 * @{
 */
#ifndef HVABS_DEVICES_I8042_H
#define HVABS_DEVICES_I8042_H

#include <stdint.h>

#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The keyboard's interrupt line on a PC, the default. */
#define HVABS_I8042_KBD_GSI 1

/** hvabs_i8042_config::flags: do not register port 0x61. */
#define HVABS_I8042_F_NO_PORT61 (1u << 0)

/** An i8042 controller with its keyboard. */
struct hvabs_i8042;

/** Parameters of hvabs_i8042_create(). A zeroed struct gives the defaults. */
struct hvabs_i8042_config {
	uint32_t kbd_gsi; /**< Keyboard interrupt line; 0 selects #HVABS_I8042_KBD_GSI. */
	uint32_t flags;	  /**< HVABS_I8042_F_* bits. */
};

/**
 * Creates the controller and registers ports 0x60, 0x64 and (unless
 * #HVABS_I8042_F_NO_PORT61) 0x61. Thread: any.
 * @param vm the VM.
 * @param cfg parameters, or NULL for the defaults.
 * @param out the controller.
 * @return 0 or negative errno.
 * @retval -EINVAL unknown flags.
 * @retval -EEXIST a port is taken by another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_i8042_create(struct hvabs_vm *vm,
						  const struct hvabs_i8042_config *cfg,
						  struct hvabs_i8042 **out);

/**
 * Presses and releases Ctrl+Alt+Del on the keyboard, as a user at the
 * console would: Linux's keyboard driver answers with ctrl_alt_del(), the
 * reboot Firecracker's SendCtrlAltDel asks for. The scan codes follow the
 * guest's setting: set 1 when the controller translates or the keyboard is
 * in set 1, else set 2. Thread: any.
 * @param kbc the controller.
 * @return 0 or negative errno.
 * @retval -EAGAIN the guest disabled the keyboard, or has not read enough of
 *         what it sent before.
 * @retval -ENOTSUP the keyboard is in scan code set 3.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_i8042_send_ctrl_alt_del(struct hvabs_i8042 *kbc);

/**
 * Unregisters and frees the controller. NULL is a no-op. Call it before
 * hvabs_vm_destroy(). Thread: any.
 * @param kbc the controller.
 */
HVABS_API void hvabs_i8042_destroy(struct hvabs_i8042 *kbc);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
