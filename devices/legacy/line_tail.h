/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last lines of a console, kept for a VMM to show after a crash. Used by
 * the UART; any console device can keep one. Not thread-safe: the owner
 * serialises calls with its own lock.
 */
#ifndef HVABS_DEVICES_LINE_TAIL_H
#define HVABS_DEVICES_LINE_TAIL_H

#include <stddef.h>
#include <stdint.h>

struct line_tail {
	char *text;	/* nslots lines of `width` bytes */
	uint16_t *lens; /* bytes used in each line */
	uint32_t width;
	uint32_t nslots; /* the kept lines plus the one being written */
	uint32_t cur;	 /* the line being written */
	uint32_t used;	 /* complete lines kept */
};

/* Keeps @p lines complete lines of at most @p width bytes (longer ones wrap). */
int line_tail_init(struct line_tail *t, uint32_t lines, uint32_t width);
void line_tail_fini(struct line_tail *t);
/* Adds one byte of output: '\n' ends a line, '\r' and NUL are dropped. */
void line_tail_put(struct line_tail *t, uint8_t c);
/* Copies the tail, oldest first, NUL-terminated, dropping the oldest part
 * that does not fit in @p size (>= 1). Returns the bytes copied. */
size_t line_tail_copy(const struct line_tail *t, char *buf, size_t size);

#endif
