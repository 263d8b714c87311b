/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the MSHV backend's intercept handling
 * (backends/mshv: port I/O, MMIO through the x86 emulator, CPUID, MSR,
 * hypercall, EOI and unknown messages): the fake /dev/mshv
 * (tests/fixtures/fake_mshv*) turns fuzzed script steps into the messages
 * the hypervisor would send, with fuzzed instruction bytes, sizes, ports,
 * addresses, register presets and raw payloads, and the vCPU run loop
 * handles them with a port and an MMIO device on the bus. The backend is an
 * instrumented copy of hvabs-mshv.so. Steps that only make the fake spin are
 * turned into HLT, and every script ends with one, so the run loop returns.
 * The fake's own checks (RIP advanced by the length the message reported,
 * ...) assume a hypervisor whose length matches the instruction bytes,
 * which fuzzed steps are not: its violation lines on stderr are noise here.
 *
 * Input: [mode][step...], each step the bytes of a struct fake_mshv_step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/bus.h>
#include <hvabs/hvabs.h>

#include "fake_mshv.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define RAM	  0x80000ull
#define MMIO	  0xd0000ull
#define PORT	  0x3e0
#define MAX_STEPS 8

static const struct fake_mshv_api *f;
static struct hvabs_backend *be;
static struct hvabs_vm *vm;
static struct hvabs_vcpu *cpu;
static struct hvabs_regs regs0;
static struct hvabs_sregs sregs0;
static int pt;
static uint64_t dev_value;

static int dev_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	(void)o;
	CHECK(size >= 1 && size <= 8);
	*val = dev_value >> (8 * (off & 7));
	return 0;
}

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	(void)o, (void)off, (void)val;
	CHECK(size >= 1 && size <= 8);
	return 0;
}

static const struct hvabs_bus_ops dev_ops = {.read = dev_read, .write = dev_write};

static void quiet(void *o, enum hvabs_log_level l, const char *c, const char *m)
{
	(void)o, (void)l, (void)c, (void)m;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct hvabs_backend_opts bo = {.logger = {.fn = quiet, .max_level = HVABS_LOG_DEBUG},
					.search_path = FZ_MSHV_DIR,
					.no_install_dir = 1};
	setenv("HVABS_MSHV_FAKE", FZ_MSHV_FAKE, 1);
	f = fake_mshv_api_v1();
	if (hvabs_backend_open("mshv", &bo, &be)) {
		fprintf(stderr, "fuzz_mshv: no MSHV backend over the fake\n");
		abort();
	}
	struct hvabs_vm_config cfg = {.max_vcpus = 1};
	void *ram;
	if (hvabs_vm_create(be, &cfg, &vm) || hvabs_vm_add_ram(vm, 0, RAM, 0, &ram) ||
	    hvabs_bus_register(vm, HVABS_SPACE_PIO, PORT, 8, &dev_ops, NULL, 0, NULL) ||
	    hvabs_bus_register(vm, HVABS_SPACE_MMIO, MMIO, 0x1000, &dev_ops, NULL, 0, NULL) ||
	    hvabs_vcpu_create(vm, 0, &cpu) || hvabs_vcpu_get_regs(cpu, &regs0) ||
	    hvabs_vcpu_get_sregs(cpu, &sregs0))
		abort();
	pt = f->last_partition();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_exit e;

	if (!size)
		return 0;
	/* One VM for the process (a partition is costly to make); each input
	 * starts from the vCPU's reset state with an empty script. */
	f->clear(pt, 0);
	f->set_options(data[0] & FAKE_MSHV_OPT_PAGE_GPA);
	CHECK(hvabs_vcpu_set_regs(cpu, &regs0) == 0 && hvabs_vcpu_set_sregs(cpu, &sregs0) == 0);
	dev_value = 0x1122334455667788ull * (data[0] | 1);
	size_t pos = 1;
	for (int n = 0; n < MAX_STEPS && pos < size; n++) {
		struct fake_mshv_step s;
		size_t k = size - pos < sizeof(s) ? size - pos : sizeof(s);
		memset(&s, 0, sizeof(s));
		memcpy(&s, data + pos, k);
		pos += k;
		s.kind = s.kind % FAKE_MSHV_RAW + 1;
		if (s.kind == FAKE_MSHV_SPIN)
			s.kind = FAKE_MSHV_HALT;
		/* What the hypervisor, not the guest, decides stays as it would: an
		 * instruction length of 1..15, at most the 16 bytes a message
		 * holds, and a memory intercept outside RAM. */
		if (!s.insn_len || s.insn_len > 15)
			s.insn_len = (uint8_t)(1 + s.insn_len % 15);
		s.insn_count %= 17;
		if (s.gpa < RAM)
			s.gpa = MMIO + (s.gpa & 0xfff);
		CHECK(f->push(pt, 0, &s) == 0);
	}
	struct fake_mshv_step halt = {.kind = FAKE_MSHV_HALT};
	CHECK(f->push(pt, 0, &halt) == 0);
	/* Each run ends at an exit the core hands back (HLT at the latest). */
	for (int i = 0; i < MAX_STEPS + 1 && f->pending(pt, 0); i++)
		if (hvabs_vcpu_run_loop(cpu, &e) || e.kind == HVABS_EXIT_INTERNAL_ERROR)
			break;
	return 0;
}
