/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the KVM integration tests: the skip rule (exit 77 with a
 * reason when /dev/kvm cannot be used, a failure instead when
 * HVABS_REQUIRE_KVM=1), opening a VM with RAM at 0, loading real-mode code,
 * and a recording port device.
 */
#ifndef HVABS_TEST_KVM_ITEST_H
#define HVABS_TEST_KVM_ITEST_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hvabs/hvabs.h>

#include "kvm_rmcode.h"

#define KT_RAM_SIZE 0x100000ull /* 1 MiB: all of real mode */
#define KT_SKIP	    77

/*
 * Returns 0 when KVM works here, KT_SKIP (after saying why) when it does not,
 * or 1 when it does not but HVABS_REQUIRE_KVM=1 says it must.
 */
static inline int kt_check_kvm(const char *test)
{
	char err[512] = "";
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
	struct hvabs_backend *be;

	if (hvabs_backend_open("kvm", &o, &be) == 0) {
		hvabs_backend_close(be);
		return 0;
	}
	const char *req = getenv("HVABS_REQUIRE_KVM");
	int required = req && !strcmp(req, "1");
	fprintf(stderr, "%s: %s: KVM unavailable: %s\n", test, required ? "FAIL" : "SKIP", err);
	return required ? 1 : KT_SKIP;
}

struct kt_vm {
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	uint8_t *ram;
};

/* Opens kvm, creates a VM with @p flags and @p options, and gives it @p ram bytes of RAM at 0. */
static inline int kt_vm_open_ram(struct kt_vm *k, uint32_t max_vcpus, uint32_t flags,
				 const char *options, uint64_t ram_size)
{
	struct hvabs_vm_config cfg = {
	    .max_vcpus = max_vcpus, .flags = flags, .backend_options = options};
	void *ram = NULL;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = hvabs_backend_open("kvm", NULL, &k->be);
	if (!rc)
		rc = hvabs_vm_create(k->be, &cfg, &k->vm);
	if (!rc)
		rc = hvabs_vm_add_ram(k->vm, 0, ram_size, 0, &ram);
	k->ram = ram;
	return rc;
}

/* kt_vm_open_ram() with all of real mode's first MiB as RAM. */
static inline int kt_vm_open(struct kt_vm *k, uint32_t max_vcpus, uint32_t flags,
			     const char *options)
{
	return kt_vm_open_ram(k, max_vcpus, flags, options, KT_RAM_SIZE);
}

static inline void kt_vm_close(struct kt_vm *k)
{
	hvabs_vm_destroy(k->vm);
	hvabs_backend_close(k->be);
	k->vm = NULL;
	k->be = NULL;
}

/* Copies finished code to @p ip and points @p cpu there in real mode. */
static inline int kt_load(struct kt_vm *k, struct hvabs_vcpu *cpu, const struct rm_code *c,
			  uint16_t ip, uint16_t sp)
{
	if (c->err)
		return c->err;
	int rc = hvabs_mem_write(hvabs_vm_mem(k->vm), ip, c->buf, c->len);
	return rc ? rc : rm_cpu_setup(cpu, ip, sp);
}

/* A port device that records writes per port offset and answers reads from a table. */
struct kt_port {
	pthread_mutex_t lock;
	char text[8][256]; /* bytes written to each of the first 8 ports */
	size_t len[8];
	uint64_t last[16]; /* last value written to each port */
	unsigned writes;
	uint64_t answer[16]; /* what a read of each port returns */
	unsigned reads;
};

static inline int kt_port_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct kt_port *p = o;

	(void)size;
	pthread_mutex_lock(&p->lock);
	p->writes++;
	if (off < 16)
		p->last[off] = val;
	if (off < 8 && p->len[off] < sizeof(p->text[0]) - 1)
		p->text[off][p->len[off]++] = (char)val;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static inline int kt_port_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	struct kt_port *p = o;

	(void)size;
	pthread_mutex_lock(&p->lock);
	p->reads++;
	*val = off < 16 ? p->answer[off] : ~0ull;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct hvabs_bus_ops kt_port_ops = {.read = kt_port_read, .write = kt_port_write};

static inline int kt_port_register(struct kt_vm *k, struct kt_port *p, uint16_t base)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	return hvabs_bus_register(k->vm, HVABS_SPACE_PIO, base, 16, &kt_port_ops, p,
				  HVABS_BUS_F_NOLOCK, NULL);
}

/*
 * A hang guard for tests whose vCPU may block in the kernel (HLT with the
 * in-kernel irqchip): kicks the vCPU if the test is not done after
 * @p seconds, so a broken test fails with CANCELED instead of hanging.
 */
struct kt_watchdog {
	struct hvabs_vcpu *cpu;
	int seconds;
	int stop;
	int fired;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t t;
};

static inline void *kt_watchdog_main(void *arg)
{
	struct kt_watchdog *w = arg;
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += w->seconds;
	pthread_mutex_lock(&w->lock);
	while (!w->stop && rc == 0)
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &dl);
	w->fired = !w->stop;
	pthread_mutex_unlock(&w->lock);
	if (w->fired)
		(void)hvabs_vcpu_kick(w->cpu);
	return NULL;
}

static inline int kt_watchdog_start(struct kt_watchdog *w, struct hvabs_vcpu *cpu, int seconds)
{
	memset(w, 0, sizeof(*w));
	w->cpu = cpu;
	w->seconds = seconds;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	return pthread_create(&w->t, NULL, kt_watchdog_main, w) ? -EAGAIN : 0;
}

/* Stops the guard; returns 1 if it had fired. */
static inline int kt_watchdog_stop(struct kt_watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->t, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return w->fired;
}

/*
 * Runs @p cpu with hvabs_vcpu_run() until the guest writes to port @p port.
 * Returns the byte written (0-255), or -(HVABS_EXIT_*) for the first exit
 * that is neither a port access nor (with @p skip_hlt) a HLT. Reads of other
 * ports answer all ones; writes to them are ignored.
 */
static inline int kt_run_until_port(struct hvabs_vcpu *cpu, uint16_t port, int skip_hlt)
{
	struct hvabs_exit e;

	for (;;) {
		int rc = hvabs_vcpu_run(cpu, &e);
		if (rc)
			return rc < 0 ? rc : -1;
		if (e.kind == HVABS_EXIT_HLT && skip_hlt)
			continue;
		if (e.kind != HVABS_EXIT_IO)
			return -(int)e.kind;
		if (e.u.io.is_write && e.u.io.addr == port)
			return e.u.io.data[0];
		if (!e.u.io.is_write)
			memset(e.u.io.data, 0xff, (size_t)e.u.io.size * e.u.io.count);
	}
}

#endif
