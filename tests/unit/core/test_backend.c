#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* SPDX-License-Identifier: Apache-2.0 */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/*
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * Backend loading and selection: every refusal has its own error code and a
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * message naming the file and the reason; short tables and short structs are
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 * honoured; faults injected into the mock surface as the API documents.
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
 */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <elf.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <errno.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <fcntl.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <setjmp.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdarg.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stddef.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdint.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdio.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <stdlib.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <string.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <sys/mman.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <sys/stat.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <unistd.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <cmocka.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <hvabs/hvabs.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
#include <hvabs/mock.h>
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static char err[1024];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static char plugin_dir[512];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static char backend_dir[512];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int open_be(const char *name, struct hvabs_backend **be)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	err[0] = '\0';
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return hvabs_backend_open(name, &o, be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static const char *plugin(const char *n)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	static char path[1024];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(path, sizeof(path), "%s/hvabs-%s.so", plugin_dir, n);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return path;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void assert_contains(const char *hay, const char *needle)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (!strstr(hay, needle))
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		fail_msg("'%s' does not contain '%s'", hay, needle);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void wrong_abi_major_symbol(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("badmajor"), &be), -EPROTONOSUPPORT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, plugin("badmajor"));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "ABI major version mismatch: the plugin speaks ABI 2");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "speaks ABI 1");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void wrong_abi_major_table(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("badmajortable"), &be), -EPROTONOSUPPORT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, plugin("badmajortable"));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "the plugin speaks ABI 2.3, this libhvabs");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "speaks ABI 1.0");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* An older major is refused as clearly as a newer one, by symbol and by table. */
static void older_abi_major(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("oldmajor"), &be), -EPROTONOSUPPORT);
	assert_contains(err, plugin("oldmajor"));
	assert_contains(err, "ABI major version mismatch: the plugin speaks ABI 0 (it exports "
			     "hvabs_backend_entry_v0)");
	assert_contains(err, "speaks ABI 1");
	assert_int_equal(open_be(plugin("oldmajortable"), &be), -EPROTONOSUPPORT);
	assert_contains(err, plugin("oldmajortable"));
	assert_contains(err, "the plugin speaks ABI 0.9, this libhvabs");
	assert_contains(err, "speaks ABI 1.0");
}

static void no_entry_symbol(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("noentry"), &be), -ENOEXEC);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, plugin("noentry"));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "not an hvabs backend plugin: no symbol hvabs_backend_entry_v1");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void null_entry(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("nullentry"), &be), -ENOEXEC);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "returned no operations table");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void short_table_missing_mandatory(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("shorttable"), &be), -ENOSYS);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, plugin("shorttable"));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "mandatory op 'mem_alloc' is missing");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void not_an_elf(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(plugin("notelf"), &be), -ELIBBAD);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, plugin("notelf"));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "not a loadable plugin");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void not_found(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("nosuchthing", &be), -ENOENT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "backend 'nosuchthing' not found (searched ");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "/hvabs-nosuchthing.so");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("/nonexistent/hvabs-x.so", &be), -ENOENT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "/nonexistent/hvabs-x.so: backend plugin not found");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("Bad Name", &be), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "invalid backend name");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void probe_refusals(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_PROBE", "enodev", 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), -ENODEV);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "hvabs-mock.so: hypervisor 'mock' is not available on this host: ");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "HVABS_MOCK_PROBE=enodev");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_PROBE", "eacces", 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), -EACCES);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "no permission to use hypervisor 'mock'");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_MOCK_PROBE");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(hvabs_backend_name(be), "mock");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_backend_abi_version(be), HVABS_ABI_CURRENT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void selection_by_env_and_path(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	char path[1024];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_HYPERVISOR", "mock", 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(NULL, &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(hvabs_backend_name(be), "mock");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* An explicit name wins over the environment. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_HYPERVISOR", "nosuchthing", 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_HYPERVISOR");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(path, sizeof(path), "%s/hvabs-mock.so", backend_dir);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be(path, &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(hvabs_backend_path(be), path);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* With none of kvm, mshv, xen findable, auto-probe says so for each. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void autoprobe_reports_each(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend_opts o = {.errbuf = err,
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
				       .errbuf_len = sizeof(err),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
				       .search_path = plugin_dir,
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
				       .no_install_dir = 1};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_HYPERVISOR");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_backend_open(NULL, &o, &be), -ENOENT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "no usable hypervisor backend (tried kvm, mshv, xen)");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "backend 'kvm' not found");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "backend 'mshv' not found");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "backend 'xen' not found");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* Counts the functions a shared object exports (defined, global, in .dynsym). */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int exported_functions(const char *path, char *first, size_t first_len)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	int fd = open(path, O_RDONLY);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct stat st;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	int n = 0;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (fd < 0 || fstat(fd, &st))
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		return -1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	close(fd);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (p == MAP_FAILED)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		return -1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const Elf64_Ehdr *eh = (const void *)p;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const Elf64_Shdr *sh = (const void *)(p + eh->e_shoff);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	for (int i = 0; i < eh->e_shnum; i++) {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		if (sh[i].sh_type != SHT_DYNSYM)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
			continue;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		const Elf64_Sym *sym = (const void *)(p + sh[i].sh_offset);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		const char *str = (const char *)(p + sh[sh[i].sh_link].sh_offset);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC &&
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
			    ELF64_ST_BIND(sym[k].st_info) == STB_GLOBAL &&
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
			    sym[k].st_shndx != SHN_UNDEF) {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
				if (n++ == 0)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
					snprintf(first, first_len, "%s", str + sym[k].st_name);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
			}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	munmap((void *)p, (size_t)st.st_size);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return n;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void mock_exports_one_function(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	char path[1024], name[128] = "";
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(path, sizeof(path), "%s/hvabs-mock.so", backend_dir);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(exported_functions(path, name, sizeof(name)), 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(name, "hvabs_backend_entry_v1");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* A table shorter than ours: every op past its struct_size reads as absent. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void short_ops_table_optional_ops(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm *vm;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vcpu *cpu;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_fpu fpu;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	char size[32];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const void *t;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	void *ctx;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, mem_map));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_MOCK_OPS_SIZE");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* The mock has all of these, but its table says it does not. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_map_memory(vm, 0, 0x1000, &fpu, 0), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_map_memory(vm, 0, 0x1000, page, 0), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_irq_msi(vm, 0xfee00000, 0), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_get_fpu(cpu, &fpu), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_pause(vm), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_get_ext(vm, HVABS_MOCK_EXT_NAME, &t, &ctx), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* mandatory ops still work */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x1000, 0, NULL), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_irq_line(vm, 1, 1), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	munmap(page, 4096);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* Shorter still, cutting a mandatory op: refused at open. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, vcpu_run));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), -ENOSYS);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_MOCK_OPS_SIZE");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_contains(err, "mandatory op 'vcpu_run' is missing");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* A capabilities struct shorter than ours: the missing fields read as absent. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void short_caps_struct(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm *vm;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_caps c;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm_config cfg = {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    .max_vcpus = 1, .backend_options = "caps_size=16"}; /* hdr, max_vcpus, irqchip */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_get_caps(vm, &c), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(c.hdr.struct_size, sizeof(c));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(c.max_vcpus, 64);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(c.features, 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(c.nr_irqs, 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_false(hvabs_vm_has_cap(vm, HVABS_CAP_MSI));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_irq_msi(vm, 0xfee00000, 0), -ENOTSUP);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void fault_injection(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_backend *be;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm *vm;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vcpu *cpu;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_exit e;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_mock m = {0};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(open_be("mock", &be), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	setenv("HVABS_MOCK_FAIL", "vm_create:1:5", 1);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), -EIO);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	unsetenv("HVABS_MOCK_FAIL");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vm_config cfg = {.max_vcpus = 65};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mock_attach(vm, &m), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* mem_alloc failing leaves no region behind */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(m.ops->inject_fault(m.ctx, "mem_alloc", 1, -ENOMEM), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x10000, 0, NULL), -ENOMEM);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mem_region_count(hvabs_vm_mem(vm)), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x10000, 0, NULL), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* the second run fails: the loop returns the error, after the first exit */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mock_push_access(&m, 0, HVABS_SPACE_PIO, 0x80, 1, 1, 1), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mock_push_simple(&m, 0, HVABS_EXIT_HLT), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(m.ops->inject_fault(m.ctx, "vcpu_run", 2, -EIO), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), -EIO);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(m.ops->calls(m.ctx, "vcpu_run"), 2);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(e.kind, HVABS_EXIT_HLT);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	/* vcpu_create failing leaves the index free */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct hvabs_vcpu *cpu1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	cfg.max_vcpus = 2;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_mock_attach(vm, &m), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(m.ops->inject_fault(m.ctx, "vcpu_create", 1, -EBUSY), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_create(vm, 1, &cpu1), -EBUSY);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_vcpu_create(vm, 1, &cpu1), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(m.ops->inject_fault(m.ctx, "no_such_op", 1, -EIO), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_vm_destroy(vm);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	hvabs_backend_close(be);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
struct seen {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	char keys[64];
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	int nvals;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static int note_option(void *ctx, const char *key, const char *val)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct seen *s = ctx;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	strcat(s->keys, key);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	strcat(s->keys, val ? "=" : ";");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	s->nvals += val != NULL;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return strcmp(key, "stop") ? 0 : -E2BIG;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
/* The option helpers every backend parses its options with. */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
static void option_helpers(void **state)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	struct seen s = {{0}, 0};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	uint32_t v = 7;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	(void)state;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_options_foreach("a=1,flag,,b=x=y", note_option, &s), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(s.keys, "a=flag;b=");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(s.nvals, 2);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	memset(&s, 0, sizeof(s));
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_options_foreach("one,stop,two", note_option, &s), -E2BIG);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_string_equal(s.keys, "one;stop;");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_options_foreach(NULL, note_option, &s), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_option_u32("0x10", 100, &v), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(v, 16);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_option_u32("100", 100, &v), 0);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const char *bad[] = {"101", "-1", " 5", "5x", "", "4294967296", "99999999999999999999"};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		assert_int_equal(hvabs_option_u32(bad[i], 100, &v), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(hvabs_option_u32(NULL, 100, &v), -EINVAL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	assert_int_equal(v, 100); /* untouched by the failures */
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
int main(void)
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
{
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const char *pd = getenv("HVABS_TEST_PLUGIN_DIR");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const char *bd = getenv("HVABS_BACKEND_PATH");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	const struct CMUnitTest tests[] = {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(wrong_abi_major_symbol),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(wrong_abi_major_table),
	    cmocka_unit_test(older_abi_major),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(no_entry_symbol),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(null_entry),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(short_table_missing_mandatory),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(not_an_elf),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(not_found),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(probe_refusals),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(selection_by_env_and_path),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(autoprobe_reports_each),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(mock_exports_one_function),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(short_ops_table_optional_ops),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(short_caps_struct),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(fault_injection),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	    cmocka_unit_test(option_helpers),
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	};
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	if (!pd || !bd) {
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		fprintf(
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		    stderr,
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		    "HVABS_TEST_PLUGIN_DIR and HVABS_BACKEND_PATH must be set (run via ctest)\n");
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
		return 1;
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	}
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(plugin_dir, sizeof(plugin_dir), "%s", pd);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	snprintf(backend_dir, sizeof(backend_dir), "%s", bd);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
	return cmocka_run_group_tests_name("backend", tests, NULL, NULL);
#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"
}
