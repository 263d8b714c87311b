/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend loading and selection: every refusal has its own error code and a
 * message naming the file and the reason; short tables and short structs are
 * honoured; faults injected into the mock surface as the API documents.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

#include "hvabs/plugin/backend.h"
#include "hvabs/plugin/helpers.h"

static char err[1024];
static char plugin_dir[512];
static char backend_dir[512];

static int open_be(const char *name, struct hvabs_backend **be)
{
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};

	err[0] = '\0';
	return hvabs_backend_open(name, &o, be);
}

static const char *plugin(const char *n)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/hvabs-%s.so", plugin_dir, n);
	return path;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void wrong_abi_major_symbol(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("badmajor"), &be), -EPROTONOSUPPORT);
	assert_contains(err, plugin("badmajor"));
	assert_contains(err, "ABI major version mismatch: the plugin speaks ABI 2");
	assert_contains(err, "speaks ABI 1");
}

static void wrong_abi_major_table(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("badmajortable"), &be), -EPROTONOSUPPORT);
	assert_contains(err, plugin("badmajortable"));
	assert_contains(err, "the plugin speaks ABI 2.3, this libhvabs");
	assert_contains(err, "speaks ABI 1.0");
}

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
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("noentry"), &be), -ENOEXEC);
	assert_contains(err, plugin("noentry"));
	assert_contains(err, "not an hvabs backend plugin: no symbol hvabs_backend_entry_v1");
}

static void null_entry(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("nullentry"), &be), -ENOEXEC);
	assert_contains(err, "returned no operations table");
}

static void short_table_missing_mandatory(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("shorttable"), &be), -ENOSYS);
	assert_contains(err, plugin("shorttable"));
	assert_contains(err, "mandatory op 'mem_alloc' is missing");
}

static void not_an_elf(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be(plugin("notelf"), &be), -ELIBBAD);
	assert_contains(err, plugin("notelf"));
	assert_contains(err, "not a loadable plugin");
}

static void not_found(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(open_be("nosuchthing", &be), -ENOENT);
	assert_contains(err, "backend 'nosuchthing' not found (searched ");
	assert_contains(err, "/hvabs-nosuchthing.so");
	assert_int_equal(open_be("/nonexistent/hvabs-x.so", &be), -ENOENT);
	assert_contains(err, "/nonexistent/hvabs-x.so: backend plugin not found");
	assert_int_equal(open_be("Bad Name", &be), -EINVAL);
	assert_contains(err, "invalid backend name");
}

static void probe_refusals(void **state)
{
	struct hvabs_backend *be;

	(void)state;
	setenv("HVABS_MOCK_PROBE", "enodev", 1);
	assert_int_equal(open_be("mock", &be), -ENODEV);
	assert_contains(err, "hvabs-mock.so: hypervisor 'mock' is not available on this host: ");
	assert_contains(err, "HVABS_MOCK_PROBE=enodev");
	setenv("HVABS_MOCK_PROBE", "eacces", 1);
	assert_int_equal(open_be("mock", &be), -EACCES);
	assert_contains(err, "no permission to use hypervisor 'mock'");
	unsetenv("HVABS_MOCK_PROBE");
	assert_int_equal(open_be("mock", &be), 0);
	assert_string_equal(hvabs_backend_name(be), "mock");
	assert_int_equal(hvabs_backend_abi_version(be), HVABS_ABI_CURRENT);
	hvabs_backend_close(be);
}

static void selection_by_env_and_path(void **state)
{
	struct hvabs_backend *be;
	char path[1024];

	(void)state;
	setenv("HVABS_HYPERVISOR", "mock", 1);
	assert_int_equal(open_be(NULL, &be), 0);
	assert_string_equal(hvabs_backend_name(be), "mock");
	hvabs_backend_close(be);
	/* An explicit name wins over the environment. */
	setenv("HVABS_HYPERVISOR", "nosuchthing", 1);
	assert_int_equal(open_be("mock", &be), 0);
	hvabs_backend_close(be);
	unsetenv("HVABS_HYPERVISOR");
	snprintf(path, sizeof(path), "%s/hvabs-mock.so", backend_dir);
	assert_int_equal(open_be(path, &be), 0);
	assert_string_equal(hvabs_backend_path(be), path);
	hvabs_backend_close(be);
}

/* With none of kvm, mshv, xen findable, auto-probe says so for each. */
static void autoprobe_reports_each(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_backend_opts o = {.errbuf = err,
				       .errbuf_len = sizeof(err),
				       .search_path = plugin_dir,
				       .no_install_dir = 1};

	(void)state;
	unsetenv("HVABS_HYPERVISOR");
	assert_int_equal(hvabs_backend_open(NULL, &o, &be), -ENOENT);
	assert_contains(err, "no usable hypervisor backend (tried kvm, mshv, xen)");
	assert_contains(err, "backend 'kvm' not found");
	assert_contains(err, "backend 'mshv' not found");
	assert_contains(err, "backend 'xen' not found");
}

/* Counts the functions a shared object exports (defined, global, in .dynsym). */
static int exported_functions(const char *path, char *first, size_t first_len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	int n = 0;

	if (fd < 0 || fstat(fd, &st))
		return -1;
	const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	const Elf64_Ehdr *eh = (const void *)p;
	const Elf64_Shdr *sh = (const void *)(p + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		const Elf64_Sym *sym = (const void *)(p + sh[i].sh_offset);
		const char *str = (const char *)(p + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC &&
			    ELF64_ST_BIND(sym[k].st_info) == STB_GLOBAL &&
			    sym[k].st_shndx != SHN_UNDEF) {
				if (n++ == 0)
					snprintf(first, first_len, "%s", str + sym[k].st_name);
			}
	}
	munmap((void *)p, (size_t)st.st_size);
	return n;
}

static void mock_exports_one_function(void **state)
{
	char path[1024], name[128] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/hvabs-mock.so", backend_dir);
	assert_int_equal(exported_functions(path, name, sizeof(name)), 1);
	assert_string_equal(name, "hvabs_backend_entry_v1");
}

/* A table shorter than ours: every op past its struct_size reads as absent. */
static void short_ops_table_optional_ops(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_fpu fpu;
	char size[32];
	const void *t;
	void *ctx;

	(void)state;
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, mem_map));
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
	assert_int_equal(open_be("mock", &be), 0);
	unsetenv("HVABS_MOCK_OPS_SIZE");
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), 0);
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
	/* The mock has all of these, but its table says it does not. */
	assert_int_equal(hvabs_vm_map_memory(vm, 0, 0x1000, &fpu, 0), -EINVAL);
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(hvabs_vm_map_memory(vm, 0, 0x1000, page, 0), -ENOTSUP);
	assert_int_equal(hvabs_irq_msi(vm, 0xfee00000, 0), -ENOTSUP);
	assert_int_equal(hvabs_vcpu_get_fpu(cpu, &fpu), -ENOTSUP);
	assert_int_equal(hvabs_vm_pause(vm), -ENOTSUP);
	assert_int_equal(hvabs_vm_get_ext(vm, HVABS_MOCK_EXT_NAME, &t, &ctx), -ENOTSUP);
	/* mandatory ops still work */
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x1000, 0, NULL), 0);
	assert_int_equal(hvabs_irq_line(vm, 1, 1), 0);
	munmap(page, 4096);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);

	/* Shorter still, cutting a mandatory op: refused at open. */
	snprintf(size, sizeof(size), "%zu", offsetof(struct hvabs_backend_ops, vcpu_run));
	setenv("HVABS_MOCK_OPS_SIZE", size, 1);
	assert_int_equal(open_be("mock", &be), -ENOSYS);
	unsetenv("HVABS_MOCK_OPS_SIZE");
	assert_contains(err, "mandatory op 'vcpu_run' is missing");
}

/* A capabilities struct shorter than ours: the missing fields read as absent. */
static void short_caps_struct(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_caps c;
	struct hvabs_vm_config cfg = {
	    .max_vcpus = 1, .backend_options = "caps_size=16"}; /* hdr, max_vcpus, irqchip */

	(void)state;
	assert_int_equal(open_be("mock", &be), 0);
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
	assert_int_equal(hvabs_vm_get_caps(vm, &c), 0);
	assert_int_equal(c.hdr.struct_size, sizeof(c));
	assert_int_equal(c.max_vcpus, 64);
	assert_int_equal(c.features, 0);
	assert_int_equal(c.nr_irqs, 0);
	assert_false(hvabs_vm_has_cap(vm, HVABS_CAP_MSI));
	assert_int_equal(hvabs_irq_msi(vm, 0xfee00000, 0), -ENOTSUP);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
}

static void fault_injection(void **state)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
	struct hvabs_exit e;
	struct hvabs_mock m = {0};

	(void)state;
	assert_int_equal(open_be("mock", &be), 0);
	setenv("HVABS_MOCK_FAIL", "vm_create:1:5", 1);
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), -EIO);
	unsetenv("HVABS_MOCK_FAIL");
	struct hvabs_vm_config cfg = {.max_vcpus = 65};
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), -EINVAL);
	assert_int_equal(hvabs_vm_create(be, NULL, &vm), 0);
	assert_int_equal(hvabs_mock_attach(vm, &m), 0);

	/* mem_alloc failing leaves no region behind */
	assert_int_equal(m.ops->inject_fault(m.ctx, "mem_alloc", 1, -ENOMEM), 0);
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x10000, 0, NULL), -ENOMEM);
	assert_int_equal(hvabs_mem_region_count(hvabs_vm_mem(vm)), 0);
	assert_int_equal(hvabs_vm_add_ram(vm, 0, 0x10000, 0, NULL), 0);

	/* the second run fails: the loop returns the error, after the first exit */
	assert_int_equal(hvabs_vcpu_create(vm, 0, &cpu), 0);
	assert_int_equal(hvabs_mock_push_access(&m, 0, HVABS_SPACE_PIO, 0x80, 1, 1, 1), 0);
	assert_int_equal(hvabs_mock_push_simple(&m, 0, HVABS_EXIT_HLT), 0);
	assert_int_equal(m.ops->inject_fault(m.ctx, "vcpu_run", 2, -EIO), 0);
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), -EIO);
	assert_int_equal(m.ops->calls(m.ctx, "vcpu_run"), 2);
	assert_int_equal(hvabs_vcpu_run_loop(cpu, &e), 0);
	assert_int_equal(e.kind, HVABS_EXIT_HLT);

	/* vcpu_create failing leaves the index free */
	struct hvabs_vcpu *cpu1;
	hvabs_vm_destroy(vm);
	cfg.max_vcpus = 2;
	assert_int_equal(hvabs_vm_create(be, &cfg, &vm), 0);
	assert_int_equal(hvabs_mock_attach(vm, &m), 0);
	assert_int_equal(m.ops->inject_fault(m.ctx, "vcpu_create", 1, -EBUSY), 0);
	assert_int_equal(hvabs_vcpu_create(vm, 1, &cpu1), -EBUSY);
	assert_int_equal(hvabs_vcpu_create(vm, 1, &cpu1), 0);
	assert_int_equal(m.ops->inject_fault(m.ctx, "no_such_op", 1, -EIO), -EINVAL);
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
}

struct seen {
	char keys[64];
	int nvals;
};

static int note_option(void *ctx, const char *key, const char *val)
{
	struct seen *s = ctx;

	strcat(s->keys, key);
	strcat(s->keys, val ? "=" : ";");
	s->nvals += val != NULL;
	return strcmp(key, "stop") ? 0 : -E2BIG;
}

/* The option helpers every backend parses its options with. */
static void option_helpers(void **state)
{
	struct seen s = {{0}, 0};
	uint32_t v = 7;

	(void)state;
	assert_int_equal(hvabs_options_foreach("a=1,flag,,b=x=y", note_option, &s), 0);
	assert_string_equal(s.keys, "a=flag;b=");
	assert_int_equal(s.nvals, 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(hvabs_options_foreach("one,stop,two", note_option, &s), -E2BIG);
	assert_string_equal(s.keys, "one;stop;");
	assert_int_equal(hvabs_options_foreach(NULL, note_option, &s), 0);
	assert_int_equal(hvabs_option_u32("0x10", 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(hvabs_option_u32("100", 100, &v), 0);
	const char *bad[] = {"101", "-1", " 5", "5x", "", "4294967296", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hvabs_option_u32(bad[i], 100, &v), -EINVAL);
	assert_int_equal(hvabs_option_u32(NULL, 100, &v), -EINVAL);
	assert_int_equal(v, 100); /* untouched by the failures */
}

int main(void)
{
	const char *pd = getenv("HVABS_TEST_PLUGIN_DIR");
	const char *bd = getenv("HVABS_BACKEND_PATH");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wrong_abi_major_symbol),
	    cmocka_unit_test(wrong_abi_major_table),
	    cmocka_unit_test(older_abi_major),
	    cmocka_unit_test(no_entry_symbol),
	    cmocka_unit_test(null_entry),
	    cmocka_unit_test(short_table_missing_mandatory),
	    cmocka_unit_test(not_an_elf),
	    cmocka_unit_test(not_found),
	    cmocka_unit_test(probe_refusals),
	    cmocka_unit_test(selection_by_env_and_path),
	    cmocka_unit_test(autoprobe_reports_each),
	    cmocka_unit_test(mock_exports_one_function),
	    cmocka_unit_test(short_ops_table_optional_ops),
	    cmocka_unit_test(short_caps_struct),
	    cmocka_unit_test(fault_injection),
	    cmocka_unit_test(option_helpers),
	};

	if (!pd || !bd) {
		fprintf(
		    stderr,
		    "HVABS_TEST_PLUGIN_DIR and HVABS_BACKEND_PATH must be set (run via ctest)\n");
		return 1;
	}
	snprintf(plugin_dir, sizeof(plugin_dir), "%s", pd);
	snprintf(backend_dir, sizeof(backend_dir), "%s", bd);
	return cmocka_run_group_tests_name("backend", tests, NULL, NULL);
}
