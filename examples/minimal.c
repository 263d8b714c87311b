/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minimal: the smallest complete hvabs program. It opens a backend by name,
 * gives a VM 1 MiB of RAM and one vCPU, puts a few real-mode instructions in
 * RAM that talk to one port-I/O device, and runs the vCPU through the core's
 * run loop until it halts. On the mock backend, which runs no code, the same
 * accesses are queued as a script.
 *
 *   minimal [BACKEND]        e.g. `minimal kvm`, `minimal mock`
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hvabs/hvabs.h>
#include <hvabs/mock.h>

#define PORT 0x42
#define CODE 0x1000

/* The device: prints what the guest writes and answers reads with a counter. */
struct hello_dev {
	unsigned writes;
};

static int hello_write(void *opaque, uint64_t off, uint32_t size, uint64_t val)
{
	struct hello_dev *d = opaque;

	d->writes++;
	printf("guest wrote '%c' (size %u) to port 0x%llx\n", (int)val, size,
	       (unsigned long long)(PORT + off));
	return 0;
}

static int hello_read(void *opaque, uint64_t off, uint32_t size, uint64_t *val)
{
	struct hello_dev *d = opaque;

	(void)off;
	(void)size;
	*val = d->writes;
	printf("guest read port 0x%x -> %u\n", PORT, d->writes);
	return 0;
}

static const struct hvabs_bus_ops hello_ops = {.read = hello_read, .write = hello_write};

/* mov dx,0x42; mov al,'h'; out dx,al; mov al,'i'; out dx,al; in al,dx; hlt */
static const uint8_t code[] = {0xba, PORT, 0x00, 0xb0, 'h', 0xee, 0xb0, 'i', 0xee, 0xec, 0xf4};

/* The mock runs no code: tell it which exits the code above would cause. */
static int script_mock(struct hvabs_vm *vm)
{
	struct hvabs_mock m;
	int rc = hvabs_mock_attach(vm, &m);

	if (rc == -ENOTSUP)
		return 0; /* a real hypervisor: it will run the code */
	if (!rc)
		rc = hvabs_mock_push_access(&m, 0, HVABS_SPACE_PIO, PORT, 1, 1, 'h');
	if (!rc)
		rc = hvabs_mock_push_access(&m, 0, HVABS_SPACE_PIO, PORT, 1, 1, 'i');
	if (!rc)
		rc = hvabs_mock_push_access(&m, 0, HVABS_SPACE_PIO, PORT, 1, 0, 0);
	if (!rc)
		rc = hvabs_mock_push_simple(&m, 0, HVABS_EXIT_HLT);
	return rc;
}

/* Real mode, CS:IP = 0:CODE. */
static int setup_cpu(struct hvabs_vcpu *cpu)
{
	struct hvabs_sregs s;
	struct hvabs_regs r;
	int rc = hvabs_vcpu_get_sregs(cpu, &s);

	if (rc)
		return rc;
	s.cs.base = 0;
	s.cs.selector = 0;
	rc = hvabs_vcpu_set_sregs(cpu, &s);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.rip = CODE;
	r.rflags = 2;
	return hvabs_vcpu_set_regs(cpu, &r);
}

int main(int argc, char **argv)
{
	struct hvabs_backend *be = NULL;
	struct hvabs_vm *vm = NULL;
	struct hvabs_vcpu *cpu = NULL;
	struct hello_dev dev = {0};
	struct hvabs_exit exit;
	struct hvabs_stats st;
	char err[512] = "";
	struct hvabs_backend_opts opts = {.errbuf = err, .errbuf_len = sizeof(err)};
	int rc;

	rc = hvabs_backend_open(argc > 1 ? argv[1] : NULL, &opts, &be);
	if (rc) {
		fprintf(stderr, "minimal: %s\n", err);
		return 1;
	}
	printf("backend: %s (%s)\n", hvabs_backend_name(be), hvabs_backend_path(be));
	rc = hvabs_vm_create(be, NULL, &vm);
	if (!rc)
		rc = hvabs_vm_add_ram(vm, 0, 1 << 20, 0, NULL);
	if (!rc)
		rc = hvabs_mem_write(hvabs_vm_mem(vm), CODE, code, sizeof(code));
	if (!rc)
		rc = hvabs_bus_register(vm, HVABS_SPACE_PIO, PORT, 1, &hello_ops, &dev, 0, NULL);
	if (!rc)
		rc = hvabs_vcpu_create(vm, 0, &cpu);
	if (!rc)
		rc = setup_cpu(cpu);
	if (!rc)
		rc = script_mock(vm);
	if (!rc)
		rc = hvabs_vcpu_run_loop(cpu, &exit);
	if (rc) {
		fprintf(stderr, "minimal: %s\n", strerror(-rc));
	} else {
		hvabs_vcpu_get_stats(cpu, &st);
		printf("stopped on '%s' after %llu exits (%llu port I/O)\n",
		       hvabs_exit_kind_name(exit.kind), (unsigned long long)st.runs,
		       (unsigned long long)st.exits[HVABS_EXIT_IO]);
		rc = exit.kind == HVABS_EXIT_HLT && dev.writes == 2 ? 0 : -1;
	}
	hvabs_vm_destroy(vm);
	hvabs_backend_close(be);
	return rc ? 1 : 0;
}
