/* SPDX-License-Identifier: Apache-2.0 */
/* hvabs-vmm's console: the COM1 UART and where its bytes go (terminal, file, nowhere). */
#ifndef HVABS_VMM_CONSOLE_H
#define HVABS_VMM_CONSOLE_H

#include <stddef.h>

#include <hvabs/event.h>
#include <hvabs/vm.h>

#include "config.h"

struct vmm_serial;

/*
 * Creates the UART for cfg->console and, on a terminal, puts it in raw mode.
 * @p quit is called on the event loop when the user types Ctrl-A x.
 * 0, or -1 with a reason in @p err (nothing is left behind).
 */
int vmm_console_create(struct hvabs_vm *vm, struct hvabs_event_loop *loop,
		       const struct vmm_config *cfg, void (*quit)(void *), void *opaque,
		       struct vmm_serial **out, char *err, size_t errlen);
/* Gives the terminal its own mode back (before messages after the run). */
void vmm_console_restore(struct vmm_serial *c);
/* The last lines the guest printed (hvabs_uart_tail()); 0 when there are some. */
int vmm_console_tail(struct vmm_serial *c, char *buf, size_t size);
/* Restores the terminal and destroys the UART. NULL is a no-op. */
void vmm_console_destroy(struct vmm_serial *c);

#endif
