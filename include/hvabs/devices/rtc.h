/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file rtc.h
 * @brief The PC's CMOS real-time clock (MC146818 compatible) and CMOS RAM.
 *
 * Ports 0x70 (index; bit 7 is the NMI mask, accepted and ignored) and 0x71
 * (data). The time registers (0-9 and the century at 0x32) are computed
 * from hvabs_vm_get_time() plus an offset, so the clock follows the host's
 * clock, or the mock backend's virtual clock in tests. Status register B
 * selects binary or BCD (DM) and 12- or 24-hour format (in 12-hour format
 * bit 7 of the hours is PM), for reads and writes alike.
 *
 * Writes to the time registers move the offset, so `hwclock --systohc`
 * works. While SET (B bit 7) is on, or the divider chain is held in reset
 * (A bits 6-5 both set), the clock stands still and writes collect; the new
 * time starts when both are off again (500 ms into its first second after
 * a divider reset, as on the real part, else at the start of it). The day
 * of the week follows the date unless the guest writes it.
 *
 * Update-in-progress (A bit 7) is set from 244 us before each second of the
 * clock until the 1984 us update cycle after it ends, as on the real part,
 * so a guest that reads the time after seeing UIP clear, and checks UIP
 * again, reads consistent values. It is never set while the clock stands
 * still: a status A read that finds the VM clock where the previous one
 * left it reports UIP clear, so a guest waiting for UIP to drop cannot loop
 * for ever on a stopped (virtual) clock.
 *
 * Status D reads 0x80 (valid RAM and time). The periodic, alarm and
 * update-ended interrupts are not emulated: status C reads 0 and the
 * interrupt line is never raised; the alarm registers and the interrupt
 * enables are stored and read back.
 *
 * CMOS RAM bytes 0x0e-0x7f (but 0x32) are stored. The memory-size fields
 * that firmware-less guests and SeaBIOS read are filled from the
 * configuration: 0x15-0x16 base memory in KiB, 0x17-0x18 and 0x30-0x31
 * memory from 1 MiB in KiB (at most 0xffff), 0x34-0x35 memory from 16 MiB
 * below 4 GiB in 64 KiB units, 0x5b-0x5d memory above 4 GiB in 64 KiB units;
 * 0x2e-0x2f hold the checksum of 0x10-0x2d.
 *
 * @defgroup dev_rtc CMOS RTC
 * @brief Real-time clock and CMOS RAM on ports 0x70/0x71.
 * @{
 */
#ifndef HVABS_DEVICES_RTC_H
#define HVABS_DEVICES_RTC_H

#include <stdint.h>

#include "../vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The RTC's index port on a PC, the default. */
#define HVABS_RTC_BASE 0x70
/** CMOS index of the century register (for the ACPI FADT `CENTURY` field). */
#define HVABS_RTC_CENTURY 0x32

/** A CMOS RTC. */
struct hvabs_rtc;

/** Parameters of hvabs_rtc_create(). A zeroed struct gives the defaults. */
struct hvabs_rtc_config {
	uint16_t base; /**< Index port (data is base + 1); 0 selects #HVABS_RTC_BASE. */
	uint64_t
	    mem_below_4g; /**< Guest RAM below 4 GiB in bytes, for the size fields (0: leave 0). */
	uint64_t mem_above_4g; /**< Guest RAM above 4 GiB in bytes, for 0x5b-0x5d. */
};

/**
 * Creates the RTC, sets the CMOS memory-size fields and registers the two
 * ports. The clock starts at the VM's time. Thread: any.
 * @param vm the VM.
 * @param cfg parameters, or NULL for the defaults.
 * @param out the RTC.
 * @return 0 or negative errno.
 * @retval -EEXIST the ports are taken by another device.
 * @retval -ENOMEM out of memory.
 */
HVABS_API HVABS_MUST_CHECK int
hvabs_rtc_create(struct hvabs_vm *vm, const struct hvabs_rtc_config *cfg, struct hvabs_rtc **out);

/**
 * Unregisters and frees the RTC. NULL is a no-op. Call it before
 * hvabs_vm_destroy(). Thread: any.
 * @param rtc the RTC.
 */
HVABS_API void hvabs_rtc_destroy(struct hvabs_rtc *rtc);

/**
 * Sets a CMOS RAM byte, as firmware would before the guest starts (for
 * example 0x5f, which SeaBIOS reads as the number of CPUs minus one). A
 * write to 0x10-0x2d updates the checksum at 0x2e-0x2f. Thread: any.
 * @param rtc the RTC.
 * @param index 0x0e-0x7f, but not #HVABS_RTC_CENTURY (part of the clock).
 * @param val the value.
 * @return 0 or negative errno.
 * @retval -EINVAL @p index is a clock register or beyond 0x7f.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_rtc_cmos_write(struct hvabs_rtc *rtc, uint8_t index,
						    uint8_t val);

/**
 * Reads a CMOS RAM byte. Thread: any.
 * @param rtc the RTC.
 * @param index 0x0e-0x7f, but not #HVABS_RTC_CENTURY.
 * @param val out: the value.
 * @return 0 or negative errno.
 * @retval -EINVAL @p index is a clock register or beyond 0x7f.
 */
HVABS_API HVABS_MUST_CHECK int hvabs_rtc_cmos_read(struct hvabs_rtc *rtc, uint8_t index,
						   uint8_t *val);

#ifdef __cplusplus
}
#endif

/** @} */
#endif
