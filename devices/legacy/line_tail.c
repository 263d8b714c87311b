/* SPDX-License-Identifier: Apache-2.0 */
/* A ring of fixed-width lines; see line_tail.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "line_tail.h"

int line_tail_init(struct line_tail *t, uint32_t lines, uint32_t width)
{
	t->width = width;
	t->nslots = lines + 1;
	t->cur = 0;
	t->used = 0;
	t->text = calloc(t->nslots, width);
	t->lens = calloc(t->nslots, sizeof(*t->lens));
	if (!t->text || !t->lens) {
		line_tail_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void line_tail_fini(struct line_tail *t)
{
	free(t->text);
	free(t->lens);
	t->text = NULL;
	t->lens = NULL;
}

static void newline(struct line_tail *t)
{
	t->cur = (t->cur + 1) % t->nslots;
	t->lens[t->cur] = 0;
	if (t->used < t->nslots - 1)
		t->used++;
}

void line_tail_put(struct line_tail *t, uint8_t c)
{
	if (c == '\r' || c == '\0')
		return;
	if (c == '\n') {
		newline(t);
		return;
	}
	if (t->lens[t->cur] == t->width)
		newline(t);
	t->text[(size_t)t->cur * t->width + t->lens[t->cur]++] = (char)c;
}

/* Segment @p i, oldest first: the complete lines (with their newline), then the current one. */
static size_t segment(const struct line_tail *t, uint32_t i, const char **p, bool *nl)
{
	uint32_t slot = (t->cur + t->nslots - t->used + i) % t->nslots;

	*p = t->text + (size_t)slot * t->width;
	*nl = i < t->used;
	return t->lens[slot] + (*nl ? 1u : 0u);
}

size_t line_tail_copy(const struct line_tail *t, char *buf, size_t size)
{
	uint32_t nseg = t->used + 1, first = 0;
	size_t total = 0, cap = size - 1, n = 0;
	const char *p;
	bool nl;

	for (uint32_t i = 0; i < nseg; i++)
		total += segment(t, i, &p, &nl);
	while (total > cap && first + 1 < nseg)
		total -= segment(t, first++, &p, &nl);
	size_t skip = total > cap ? total - cap : 0;
	for (uint32_t i = first; i < nseg; i++) {
		size_t len = segment(t, i, &p, &nl);
		for (size_t k = 0; k < len; k++) {
			if (skip) {
				skip--;
				continue;
			}
			buf[n++] = nl && k == len - 1 ? '\n' : p[k];
		}
	}
	buf[n] = '\0';
	return n;
}
