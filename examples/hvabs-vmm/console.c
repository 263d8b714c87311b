/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's console: the COM1 UART (ttyS0) and the host side of it. On a
 * terminal the UART's output goes to stdout and keyboard input comes from
 * stdin in raw mode, with Ctrl-A x to quit and Ctrl-A Ctrl-A for a literal
 * Ctrl-A; input the guest has no room for waits here and is offered again on
 * a short timer. With --console file=PATH the output goes to the file and
 * there is no input; with none, nowhere. (The virtio-console of --console
 * pty|socket is a device like the others, in devices.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <hvabs/devices/uart8250.h>

#include "console.h"

#define CTRL_A 0x01

struct vmm_serial {
	struct hvabs_uart *uart;
	int out_fd;
	int close_out;
	struct termios saved_tio;
	int tio_saved;
	int escape;
	uint8_t pending[256];
	size_t npending;
	struct hvabs_event *retry_timer;
	struct hvabs_event *stdin_ev;
	void (*quit)(void *);
	void *quit_opaque;
};

void vmm_console_restore(struct vmm_serial *c)
{
	if (c && c->tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_tio);
		c->tio_saved = 0;
	}
}

static void flush_pending(struct vmm_serial *c)
{
	while (c->npending) {
		int n = hvabs_uart_inject(c->uart, c->pending, c->npending, 0);
		if (n <= 0)
			break;
		memmove(c->pending, c->pending + n, c->npending - (size_t)n);
		c->npending -= (size_t)n;
	}
}

static void retry_input(void *opaque, uint32_t events)
{
	(void)events;
	flush_pending(opaque);
}

/* Keyboard input: Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A. */
static void on_stdin(void *opaque, uint32_t events)
{
	struct vmm_serial *c = opaque;
	uint8_t buf[64];

	(void)events;
	if (c->npending) {
		flush_pending(c);
		return; /* the guest has not drained what we have: read no more yet */
	}
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		/* EOF on a pipe: no more input, but the guest goes on. */
		hvabs_event_remove(c->stdin_ev);
		c->stdin_ev = NULL;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t ch = buf[i];
		if (c->tio_saved && c->escape) {
			c->escape = 0;
			if (ch == 'x' || ch == 'X') {
				fprintf(stderr, "\r\nhvabs-vmm: Ctrl-A x: stopping the guest\r\n");
				c->quit(c->quit_opaque);
				return;
			}
			if (ch != CTRL_A)
				continue;
		} else if (c->tio_saved && ch == CTRL_A) {
			c->escape = 1;
			continue;
		}
		if (c->npending < sizeof(c->pending))
			c->pending[c->npending++] = ch;
	}
	flush_pending(c);
}

/* Where COM1's output goes; whether it takes keyboard input. */
static int open_output(struct vmm_serial *c, const struct vmm_config *cfg, int *want_input,
		       char *err, size_t errlen)
{
	*want_input = 0;
	switch (cfg->console) {
	case VMM_CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		*want_input = 1;
		break;
	case VMM_CONSOLE_FILE:
		c->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			snprintf(err, errlen, "--console file=%s: %s", cfg->console_path,
				 strerror(errno));
			return -1;
		}
		c->close_out = 1;
		break;
	case VMM_CONSOLE_NONE:
		break;
	default:
		/* pty, socket: the interactive console is virtio-console (hvc0); the
		 * boot log on COM1 still goes to stdout. */
		c->out_fd = STDOUT_FILENO;
		break;
	}
	return 0;
}

/* Raw mode on a terminal, and stdin watched on the loop. */
static int setup_input(struct vmm_serial *c, struct hvabs_event_loop *loop,
		       const struct vmm_config *cfg, char *err, size_t errlen)
{
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved_tio) == 0) {
		struct termios raw = c->saved_tio;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR; /* keep our own messages readable */
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->tio_saved = 1;
		if (!cfg->quiet)
			fprintf(stderr, "hvabs-vmm: console on this terminal; Ctrl-A x quits\r\n");
	}
	/* stdin may be /dev/null or a file, which epoll refuses: then no input. */
	if (hvabs_event_add(loop, STDIN_FILENO, HVABS_EVENT_IN, on_stdin, c, &c->stdin_ev) == 0 &&
	    hvabs_event_timer_add(loop, 20000000, 20000000, retry_input, c, &c->retry_timer)) {
		snprintf(err, errlen, "cannot set up console input");
		return -1;
	}
	return 0;
}

int vmm_console_create(struct hvabs_vm *vm, struct hvabs_event_loop *loop,
		       const struct vmm_config *cfg, void (*quit)(void *), void *opaque,
		       struct vmm_serial **out, char *err, size_t errlen)
{
	struct vmm_serial *c = calloc(1, sizeof(*c));
	struct hvabs_uart_config uc = HVABS_UART_CONFIG_INIT;
	int want_input;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->out_fd = -1;
	c->quit = quit;
	c->quit_opaque = opaque;
	if (open_output(c, cfg, &want_input, err, errlen))
		goto fail;
	uc.out_fd = c->out_fd;
	uc.loop = loop;
	if (hvabs_uart_create(vm, &uc, &c->uart)) {
		snprintf(err, errlen, "cannot create the UART");
		goto fail;
	}
	if (want_input && setup_input(c, loop, cfg, err, errlen))
		goto fail;
	*out = c;
	return 0;
fail:
	vmm_console_destroy(c);
	return -1;
}

int vmm_console_tail(struct vmm_serial *c, char *buf, size_t size)
{
	if (!c || !c->uart)
		return -1;
	return hvabs_uart_tail(c->uart, buf, size, NULL) == 0 ? 0 : -1;
}

void vmm_console_destroy(struct vmm_serial *c)
{
	if (!c)
		return;
	vmm_console_restore(c);
	hvabs_event_remove(c->retry_timer);
	hvabs_event_remove(c->stdin_ev);
	hvabs_uart_destroy(c->uart);
	if (c->close_out)
		close(c->out_fd);
	free(c);
}
