/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small ACPI Machine Language encoder (ACPI 6.4 chapter 20 for the AML
 * grammar, chapter 6.4 for resource descriptors), shaped after rust-vmm's
 * acpi_tables crate: names, integers, strings, packages, scopes, devices
 * without methods, and resource templates. Internal to libhvabs.
 *
 * Errors are sticky: the first failure (out of memory, a bad name, a package
 * over 2^28 bytes) is kept in `err` and later calls do nothing, so a caller
 * builds a whole table and checks once at the end.
 */
#ifndef HVABS_LOADER_AML_H
#define HVABS_LOADER_AML_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer of AML, or of resource descriptors. */
struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err; /* 0 or the first negative errno */
};

void aml_init(struct aml *a);
void aml_fini(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* A NameString: "\\_SB_", "^FOO", "_SB_.COM1", "VR00"; segments shorter than four are padded. */
void aml_namestring(struct aml *a, const char *path);
/* An integer with the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
void aml_integer(struct aml *a, uint64_t v);
/* A String: printable ASCII, NUL terminated. */
void aml_string(struct aml *a, const char *s);
/* An EISA ID ("PNP0501") compressed into a DWord. */
void aml_eisaid(struct aml *a, const char *id);
/* NameOp + NameString; the caller appends the data object. */
void aml_name(struct aml *a, const char *name);

/*
 * Objects with a PkgLength: *_begin() returns a mark that aml_end() takes once
 * the contents are appended; aml_end() then encodes the length in front.
 */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
void aml_end(struct aml *a, size_t mark);

/* A Buffer object holding @p n bytes. */
void aml_buffer(struct aml *a, const void *p, size_t n);

/* Resource descriptors, appended to a struct aml used as a resource list. */
void aml_res_memory32_fixed(struct aml *r, int writable, uint32_t base, uint32_t len);
void aml_res_interrupt(struct aml *r, int consumer, int edge, int active_low, int shared,
		       uint32_t irq);
void aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *r, uint16_t mask);
/* Address space descriptor kinds (§6.4.3.5.1-3) and resource types. */
#define AML_ADDR_WORD  2u
#define AML_ADDR_DWORD 4u
#define AML_ADDR_QWORD 8u
#define AML_ADDR_MEM   0u
#define AML_ADDR_BUS   2u
/*
 * A Word/DWord/QWord address space descriptor (field width @p width bytes)
 * for a range a bridge produces: fixed minimum and maximum, positive
 * decode, granularity 0 (bus numbers) or @p len - 1 aligned ranges, no
 * translation. @p tflags: type-specific flags (memory: 1 = read-write).
 */
void aml_res_addr(struct aml *r, unsigned width, uint8_t type, uint8_t tflags, uint64_t min,
		  uint64_t len);
/* A ResourceTemplate: a Buffer of @p res's descriptors plus the end tag. */
void aml_resource_template(struct aml *a, const struct aml *res);

/* Size of the PkgLength encoding for a package whose contents are @p body bytes (0 = too big). */
size_t aml_pkglen_size(size_t body);

#endif
