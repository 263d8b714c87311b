/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file hvabs.h
 * @brief Umbrella header: everything a VMM built on hvabs needs.
 *
 * hvabs is a C11 library for building virtual machine monitors that run
 * unchanged on KVM, Xen and Microsoft Hypervisor. Start with vm.h (backends
 * and VMs), then vcpu.h, mem.h, bus.h, irq.h and event.h; loader.h and
 * acpi.h boot Linux; the devices are in devices/ (one header each). Backend
 * authors read plugin/backend.h (applications never include plugin/);
 * device tests use mock.h and testing/ (libhvabs-testsupport).
 */
#ifndef HVABS_HVABS_H
#define HVABS_HVABS_H

#include "acpi.h"
#include "bus.h"
#include "event.h"
#include "irq.h"
#include "loader.h"
#include "machine.h"
#include "log.h"
#include "mem.h"
#include "types.h"
#include "vcpu.h"
#include "version.h"
#include "vm.h"
#include "x86emu.h"

#endif
