/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AML encoder. Opcodes and encodings are from ACPI 6.4 §20.2 (AML grammar);
 * resource descriptors from §6.4. Everything is little-endian.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"
#include "hvabs/le.h"

#define ZERO_OP	       0x00
#define ONE_OP	       0x01
#define NAME_OP	       0x08
#define BYTE_PREFIX    0x0a
#define WORD_PREFIX    0x0b
#define DWORD_PREFIX   0x0c
#define STRING_PREFIX  0x0d
#define QWORD_PREFIX   0x0e
#define SCOPE_OP       0x10
#define BUFFER_OP      0x11
#define PACKAGE_OP     0x12
#define EXT_OP_PREFIX  0x5b
#define DEVICE_OP      0x82 /* after EXT_OP_PREFIX */
#define DUAL_NAME      0x2e
#define MULTI_NAME     0x2f
#define ROOT_CHAR      '\\'
#define PARENT_CHAR    '^'
#define PKGLEN_RESERVE 4u
#define PKGLEN_MAX     0x0fffffffu /* 28 bits, §20.2.4 */

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_fini(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static uint8_t *grow(struct aml *a, size_t n)
{
	if (a->err)
		return NULL;
	if (n > PKGLEN_MAX || a->len + n > PKGLEN_MAX) {
		fail(a, -E2BIG);
		return NULL;
	}
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		uint8_t *p;

		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->buf, cap);
		if (!p) {
			fail(a, -ENOMEM);
			return NULL;
		}
		a->buf = p;
		a->cap = cap;
	}
	a->len += n;
	return a->buf + a->len - n;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	uint8_t *d = grow(a, n);

	if (d && n)
		memcpy(d, p, n);
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	hvabs_le_store(b, n, v);
	aml_bytes(a, b, n);
}

static int lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg (§20.2.2): a lead character, up to three more, padded with '_'. */
static int nameseg(const char *s, size_t n, uint8_t seg[4])
{
	if (n == 0 || n > 4 || !lead_char(s[0]))
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (i < n && !name_char(s[i]))
			return -EINVAL;
		seg[i] = i < n ? (uint8_t)s[i] : '_';
	}
	return 0;
}

void aml_namestring(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	size_t nseg = 0;
	const char *p = path;

	if (*p == ROOT_CHAR) {
		aml_byte(a, ROOT_CHAR);
		p++;
	} else {
		while (*p == PARENT_CHAR) {
			aml_byte(a, PARENT_CHAR);
			p++;
		}
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (nseg == 255 || nameseg(p, n, segs[nseg]) < 0) {
			fail(a, -EINVAL);
			return;
		}
		nseg++;
		p += n;
		if (*p == '.' && !*++p) {
			fail(a, -EINVAL); /* a trailing dot */
			return;
		}
	}
	if (nseg == 0) {
		aml_byte(a, ZERO_OP); /* NullName */
		return;
	}
	if (nseg == 2) {
		aml_byte(a, DUAL_NAME);
	} else if (nseg > 2) {
		aml_byte(a, MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, nseg * 4);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			fail(a, -EINVAL); /* AsciiCharList is 0x01-0x7f */
			return;
		}
	}
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * EISA ID (§19.6.43 EISAID): three letters of five bits each ('A' = 1) and four
 * hex digits, stored most significant byte first. Always a DWord, even when
 * the value would fit a shorter encoding, as ASL compilers emit it.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0) {
			fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)h << (4 * (6 - i));
	}
	aml_byte(a, DWORD_PREFIX);
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_namestring(a, name);
}

/* §20.2.4: the length counts its own encoding, one to four bytes. */
size_t aml_pkglen_size(size_t body)
{
	if (body + 1 <= 0x3f)
		return 1;
	if (body + 2 <= 0xfff)
		return 2;
	if (body + 3 <= 0xfffff)
		return 3;
	if (body + 4 <= PKGLEN_MAX)
		return 4;
	return 0;
}

static size_t pkg_begin(struct aml *a)
{
	size_t mark = a->len;

	grow(a, PKGLEN_RESERVE);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	size_t body, k, total;
	uint8_t *p;

	if (a->err)
		return;
	if (mark + PKGLEN_RESERVE > a->len) {
		fail(a, -EINVAL);
		return;
	}
	body = a->len - mark - PKGLEN_RESERVE;
	k = aml_pkglen_size(body);
	if (!k) {
		fail(a, -E2BIG);
		return;
	}
	total = body + k;
	p = a->buf + mark;
	if (k == 1) {
		p[0] = (uint8_t)total;
	} else {
		p[0] = (uint8_t)(((k - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < k; i++)
			p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(p + k, p + PKGLEN_RESERVE, body);
	a->len -= PKGLEN_RESERVE - k;
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, SCOPE_OP);
	mark = pkg_begin(a);
	aml_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, EXT_OP_PREFIX);
	aml_byte(a, DEVICE_OP);
	mark = pkg_begin(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, PACKAGE_OP);
	mark = pkg_begin(a);
	aml_byte(a, nr_elements);
	return mark;
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
	size_t mark;

	aml_byte(a, BUFFER_OP);
	mark = pkg_begin(a);
	aml_integer(a, n);
	aml_bytes(a, p, n);
	aml_end(a, mark);
}

/* §6.4.3.4 32-Bit Fixed Memory Range Descriptor (large item 0x06). */
void aml_res_memory32_fixed(struct aml *r, int writable, uint32_t base, uint32_t len)
{
	aml_byte(r, 0x86);
	put_le(r, 9, 2);
	aml_byte(r, writable ? 1 : 0);
	put_le(r, base, 4);
	put_le(r, len, 4);
}

/* §6.4.3.5.1-3: large items 0x8A (QWord), 0x87 (DWord), 0x88 (Word). */
void aml_res_addr(struct aml *r, unsigned width, uint8_t type, uint8_t tflags, uint64_t min,
		  uint64_t len)
{
	uint8_t tag = width == AML_ADDR_QWORD ? 0x8a : width == AML_ADDR_DWORD ? 0x87 : 0x88;

	aml_byte(r, tag);
	put_le(r, 3 + 5 * (uint64_t)width, 2);
	aml_byte(r, type);
	aml_byte(r, 0x0c); /* producer, positive decode, MinFixed, MaxFixed */
	aml_byte(r, tflags);
	put_le(r, 0, width); /* granularity: 0 = any alignment of a fixed range */
	put_le(r, min, width);
	put_le(r, min + len - 1, width);
	put_le(r, 0, width); /* translation offset */
	put_le(r, len, width);
}

/* §6.4.3.6 Extended Interrupt Descriptor (large item 0x09), one interrupt. */
void aml_res_interrupt(struct aml *r, int consumer, int edge, int active_low, int shared,
		       uint32_t irq)
{
	uint8_t flags = (uint8_t)((consumer ? 1u : 0u) | (edge ? 2u : 0u) | (active_low ? 4u : 0u) |
				  (shared ? 8u : 0u));

	aml_byte(r, 0x89);
	put_le(r, 6, 2);
	aml_byte(r, flags);
	aml_byte(r, 1);
	put_le(r, irq, 4);
}

/* §6.4.2.5 I/O Port Descriptor (small item 0x08, length 7), 16-bit decode. */
void aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(r, 0x47);
	aml_byte(r, 1);
	put_le(r, min, 2);
	put_le(r, max, 2);
	aml_byte(r, align);
	aml_byte(r, len);
}

/* §6.4.2.1 IRQ Descriptor (small item 0x04, length 2: no information byte). */
void aml_res_irq_noflags(struct aml *r, uint16_t mask)
{
	aml_byte(r, 0x22);
	put_le(r, mask, 2);
}

/* §6.4.2.9 End Tag: a zero checksum means "treat as correct". */
void aml_resource_template(struct aml *a, const struct aml *res)
{
	static const uint8_t end_tag[2] = {0x79, 0x00};
	uint8_t *tmp;

	if (res->err) {
		fail(a, res->err);
		return;
	}
	tmp = malloc(res->len + sizeof(end_tag));
	if (!tmp) {
		fail(a, -ENOMEM);
		return;
	}
	if (res->len)
		memcpy(tmp, res->buf, res->len);
	memcpy(tmp + res->len, end_tag, sizeof(end_tag));
	aml_buffer(a, tmp, res->len + sizeof(end_tag));
	free(tmp);
}
