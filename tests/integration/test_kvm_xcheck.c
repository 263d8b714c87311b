/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration.kvm.xcheck: the KVM backend's x86 emulator cross-check
 * (backend option crosscheck=1) on /dev/kvm. Real-mode and long-mode guests
 * touch MMIO with MOV (register, immediate, moffs, RIP-relative, SIB),
 * MOVZX/MOVSX/MOVSXD, OR/AND/XOR/ADD/ADC (LOCK too), CMP/TEST, XCHG,
 * (REP) STOS and MOVS in both directions and between two MMIO addresses,
 * and an access split at a page boundary. The summary line the backend logs
 * when the VM goes must count every MMIO exit as checked, with no
 * disagreement; the guest must end exactly as it does without the switch.
 * Instructions the emulator does not know are counted apart and named; and
 * a fault injected into the emulator's view (crosscheck_corrupt=) must show
 * as disagreements, address ones on every exit and data ones on every write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kvm_itest.h"

#define CODE_GPA   0x1000
#define STACK_TOP  0x7000
#define SRC_GPA	   0x3000     /* RAM the guest copies to MMIO */
#define DST_GPA	   0x3100     /* RAM the guest copies MMIO into */
#define RM_RAM	   0x80000ull /* real mode: RAM below 0xa0000, MMIO at ES = 0xa000 */
#define RM_MMIO	   0xa000
#define LM_RAM	   0x200000ull	 /* long mode: 2 MiB of RAM... */
#define LM_MMIO_VA 0x40000000ull /* ...and MMIO seen at 1 GiB... */
#define LM_MMIO_PA 0xc0000000ull /* ...that is at 3 GiB */
#define PT_GPA	   0x10000	 /* PML4, PDPT, PD for 0-1 GiB, PD for 1-2 GiB */
#define MAX_EXITS  1000

/* ---- what the backend logs ---- */

struct logcap {
	pthread_mutex_t lock;
	char text[1 << 16];
	size_t len;
};

static void cap_log(void *opaque, enum hvabs_log_level level, const char *comp, const char *msg)
{
	struct logcap *c = opaque;

	pthread_mutex_lock(&c->lock);
	int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%d %s: %s\n", (int)level,
			 comp, msg);
	if (n > 0)
		c->len += (size_t)n < sizeof(c->text) - c->len ? (size_t)n : 0;
	pthread_mutex_unlock(&c->lock);
}

struct summary {
	int found;
	unsigned long long checked, disagreements, undecodable;
	int unchecked; /* the line says some exits could not be checked */
};

static struct summary parse_summary(const struct logcap *c)
{
	struct summary s = {0};
	const char *p = strstr(c->text, "x86emu cross-check: ");

	for (; p; p = strstr(p + 1, "x86emu cross-check: ")) {
		if (sscanf(
			p,
			"x86emu cross-check: %llu MMIO exits checked, %llu disagreements, %llu not "
			"decodable",
			&s.checked, &s.disagreements, &s.undecodable) == 3) {
			const char *eol = strchr(p, '\n');
			const char *nc = strstr(p, "not checked");
			s.found = 1;
			s.unchecked = nc && (!eol || nc < eol);
			break;
		}
	}
	return s;
}

/* ---- a VM, a guest run and what it did ---- */

struct xvm {
	struct logcap log;
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *cpu;
};

static int xvm_open(struct xvm *x, const char *options, uint64_t ram)
{
	struct hvabs_backend_opts o = {
	    .logger = {.fn = cap_log, .opaque = &x->log, .max_level = HVABS_LOG_INFO}};
	struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = options};
	void *hva;
	int rc;

	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->log.lock, NULL);
	rc = hvabs_backend_open("kvm", &o, &x->be);
	if (!rc)
		rc = hvabs_vm_create(x->be, &cfg, &x->vm);
	if (!rc)
		rc = hvabs_vm_add_ram(x->vm, 0, ram, 0, &hva);
	if (!rc)
		rc = hvabs_vcpu_create(x->vm, 0, &x->cpu);
	return rc;
}

/* Destroys the VM, which logs the summary. */
static void xvm_close(struct xvm *x)
{
	hvabs_vm_destroy(x->vm);
	hvabs_backend_close(x->be);
	x->vm = NULL;
	x->be = NULL;
	pthread_mutex_destroy(&x->log.lock); /* nothing logs any more */
}

struct outcome {
	unsigned exits, reads, writes;
	uint64_t trace; /* a hash of every exit: address, size, direction, write data */
	struct hvabs_regs regs;
	uint8_t dst[16]; /* RAM at DST_GPA */
};

/* What a device answers: depends on the address, so every read is told apart. */
static void answer(uint64_t addr, uint8_t *data, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		data[i] = (uint8_t)(((addr + i) * 37) ^ 0xa5);
}

static void run_to_hlt(struct xvm *x, struct outcome *o)
{
	struct hvabs_exit e;

	memset(o, 0, sizeof(*o));
	o->trace = 1469598103934665603ull;
	for (;;) {
		assert_int_equal(hvabs_vcpu_run(x->cpu, &e), 0);
		if (e.kind == HVABS_EXIT_HLT)
			break;
		assert_int_equal(e.kind, HVABS_EXIT_MMIO);
		assert_true(++o->exits < MAX_EXITS);
		if (e.u.mmio.is_write) {
			o->writes++;
		} else {
			o->reads++;
			answer(e.u.mmio.addr, e.u.mmio.data, e.u.mmio.size);
		}
		uint64_t v[3] = {e.u.mmio.addr, e.u.mmio.size | (uint64_t)e.u.mmio.is_write << 8,
				 0};
		memcpy(&v[2], e.u.mmio.data, e.u.mmio.is_write ? e.u.mmio.size : 0);
		for (size_t i = 0; i < sizeof(v); i++)
			o->trace = (o->trace ^ ((const uint8_t *)v)[i]) * 1099511628211ull;
	}
	assert_int_equal(hvabs_vcpu_get_regs(x->cpu, &o->regs), 0);
	assert_int_equal(hvabs_mem_read(hvabs_vm_mem(x->vm), DST_GPA, o->dst, sizeof(o->dst)), 0);
}

/* ---- guest programs ---- */

struct prog {
	uint8_t buf[1024];
	size_t len;
	unsigned mmio_exits; /* how many MMIO exits the program must make */
};

static void emit(struct prog *p, unsigned exits, const uint8_t *b, size_t n)
{
	assert_true(p->len + n <= sizeof(p->buf));
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	p->mmio_exits += exits;
}

/* I(p, exits, bytes...): one instruction that makes @p exits MMIO exits. */
#define I(p, exits, ...)                                                                           \
	emit(p, exits, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* Real mode: DS = SS = 0, ES = 0xa000 (MMIO), code at 0:0x1000. */
static void real_mode_prog(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	I(p, 0, 0xb8, 0x00, 0xa0, 0x8e, 0xc0);		   /* mov ax, 0xa000; mov es, ax */
	I(p, 0, 0xb8, 0x21, 0x43);			   /* mov ax, 0x4321 */
	I(p, 0, 0xbb, 0x20, 0x00);			   /* mov bx, 0x20 */
	I(p, 0, 0x66, 0xb9, 0x88, 0x77, 0x66, 0x55);	   /* mov ecx, 0x55667788 */
	I(p, 0, 0xbe, 0x04, 0x00);			   /* mov si, 4 */
	I(p, 1, 0x26, 0xa2, 0x10, 0x00);		   /* mov [es:0x10], al */
	I(p, 1, 0x26, 0xc6, 0x06, 0x11, 0x00, 0x5a);	   /* mov byte [es:0x11], 0x5a */
	I(p, 1, 0x26, 0x89, 0x1e, 0x12, 0x00);		   /* mov [es:0x12], bx */
	I(p, 1, 0x66, 0x26, 0x89, 0x0e, 0x14, 0x00);	   /* mov [es:0x14], ecx */
	I(p, 1, 0x26, 0x8b, 0x40, 0x04);		   /* mov ax, [es:bx+si+4] */
	I(p, 1, 0x26, 0x0f, 0xb6, 0x0e, 0x20, 0x00);	   /* movzx cx, byte [es:0x20] */
	I(p, 1, 0x66, 0x26, 0x0f, 0xbf, 0x16, 0x22, 0x00); /* movsx edx, word [es:0x22] */
	I(p, 2, 0x26, 0x83, 0x0e, 0x30, 0x00, 0x01);	   /* or word [es:0x30], 1 */
	I(p, 2, 0x26, 0x80, 0x26, 0x31, 0x00, 0xf0);	   /* and byte [es:0x31], 0xf0 */
	I(p, 1, 0x26, 0x39, 0x06, 0x32, 0x00);		   /* cmp [es:0x32], ax */
	I(p, 1, 0x26, 0x84, 0x06, 0x34, 0x00);		   /* test [es:0x34], al */
	I(p, 1, 0x26, 0xf6, 0x06, 0x35, 0x00, 0x80);	   /* test byte [es:0x35], 0x80 */
	I(p, 2, 0x26, 0x87, 0x1e, 0x36, 0x00);		   /* xchg [es:0x36], bx */
	I(p, 0, 0xbf, 0x40, 0x00, 0xb9, 0x03, 0x00);	   /* mov di, 0x40; mov cx, 3 */
	I(p, 0, 0xb8, 0x34, 0x12, 0xfc);		   /* mov ax, 0x1234; cld */
	I(p, 3, 0xf3, 0xab);				   /* rep stosw */
	I(p, 0, 0xbe, 0x00, 0x30, 0xbf, 0x50, 0x00);	   /* mov si, SRC_GPA; mov di, 0x50 */
	I(p, 0, 0xb9, 0x04, 0x00);			   /* mov cx, 4 */
	I(p, 4, 0xf3, 0xa4);				   /* rep movsb: RAM -> MMIO */
	I(p, 0, 0xbe, 0x60, 0x00, 0xbf, 0x70, 0x00);	   /* mov si, 0x60; mov di, 0x70 */
	I(p, 2, 0x26, 0xa5);				   /* movsw es:[si] -> es:[di] */
	I(p, 0, 0xbf, 0x8f, 0x00, 0xb9, 0x02, 0x00);	   /* mov di, 0x8f; mov cx, 2 */
	I(p, 0, 0xb0, 0x77, 0xfd);			   /* mov al, 0x77; std */
	I(p, 2, 0xf3, 0xaa);				   /* rep stosb, downwards */
	I(p, 0, 0xfc, 0x66, 0xbb, 0x90, 0x00, 0x00, 0x00); /* cld; mov ebx, 0x90 */
	I(p, 1, 0x67, 0x26, 0x89, 0x03);		   /* mov [es:ebx], ax */
	I(p, 0, 0x66, 0xb8, 0x44, 0x33, 0x22, 0x11);	   /* mov eax, 0x11223344 */
	I(p, 2, 0x66, 0x26, 0xa3, 0xfe, 0x0f);		   /* mov [es:0xffe], eax: two pages */
	I(p, 0, 0xf4);					   /* hlt */
}

/* rel32 from the end of an instruction of @p len bytes at the program's end to @p va. */
static void rip_rel(struct prog *p, unsigned exits, const uint8_t *op, size_t oplen, uint64_t va)
{
	uint8_t b[16];
	uint64_t next = CODE_GPA + p->len + oplen + 4;
	uint32_t rel = (uint32_t)(va - next);

	memcpy(b, op, oplen);
	memcpy(b + oplen, &rel, 4);
	emit(p, exits, b, oplen + 4);
}

/* Long mode: RBX = the MMIO window's virtual address, code at 0x1000 (identity mapped). */
static void long_mode_prog(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	I(p, 0, 0x48, 0xbb, 0x00, 0x00, 0x00, 0x40, 0, 0, 0, 0); /* mov rbx, LM_MMIO_VA */
	I(p, 0, 0xb8, 0x78, 0x56, 0x34, 0x12);			 /* mov eax, 0x12345678 */
	I(p, 0, 0x41, 0xb8, 0x02, 0x00, 0x00, 0x00);		 /* mov r8d, 2 */
	I(p, 1, 0x89, 0x03);					 /* mov [rbx], eax */
	I(p, 1, 0x48, 0x8b, 0x4b, 0x08);			 /* mov rcx, [rbx+8] */
	I(p, 1, 0x42, 0xc6, 0x44, 0x83, 0x10, 0x5a); /* mov byte [rbx+r8*4+0x10], 0x5a */
	I(p, 1, 0x0f, 0xb7, 0x43, 0x20);	     /* movzx eax, word [rbx+0x20] */
	I(p, 1, 0x48, 0x0f, 0xbe, 0x53, 0x22);	     /* movsx rdx, byte [rbx+0x22] */
	I(p, 1, 0x48, 0x63, 0x73, 0x24);	     /* movsxd rsi, dword [rbx+0x24] */
	rip_rel(p, 1, (const uint8_t[]){0x8b, 0x05}, 2, LM_MMIO_VA + 0x28); /* mov eax, [rip+x] */
	I(p, 2, 0x81, 0x4b, 0x30, 0x80, 0x00, 0x00, 0x00); /* or dword [rbx+0x30], 0x80 */
	I(p, 2, 0x66, 0x81, 0x63, 0x34, 0x00, 0xff);	   /* and word [rbx+0x34], 0xff00 */
	I(p, 2, 0x48, 0x31, 0x43, 0x38);		   /* xor [rbx+0x38], rax */
	I(p, 1, 0x39, 0x43, 0x40);			   /* cmp [rbx+0x40], eax */
	I(p, 1, 0xf6, 0x43, 0x44, 0x01);		   /* test byte [rbx+0x44], 1 */
	I(p, 2, 0x87, 0x4b, 0x48);			   /* xchg [rbx+0x48], ecx */
	I(p, 1, 0xa1, 0x50, 0x00, 0x00, 0x40, 0, 0, 0, 0); /* mov eax, [abs 0x40000050] */
	I(p, 1, 0xa2, 0x54, 0x00, 0x00, 0x40, 0, 0, 0, 0); /* mov [abs 0x40000054], al */
	I(p, 0, 0x48, 0x8d, 0x7b, 0x60);		   /* lea rdi, [rbx+0x60] */
	I(p, 0, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xfc);	   /* mov ecx, 4; cld */
	I(p, 4, 0xf3, 0xab);				   /* rep stosd */
	I(p, 0, 0xbe, 0x00, 0x30, 0x00, 0x00);		   /* mov esi, SRC_GPA */
	I(p, 0, 0x48, 0x8d, 0x7b, 0x70);		   /* lea rdi, [rbx+0x70] */
	I(p, 0, 0xb9, 0x03, 0x00, 0x00, 0x00);		   /* mov ecx, 3 */
	I(p, 3, 0xf3, 0xa4);				   /* rep movsb: RAM -> MMIO */
	I(p, 0, 0x48, 0x8d, 0xb3, 0x80, 0x00, 0x00, 0x00); /* lea rsi, [rbx+0x80] */
	I(p, 0, 0xbf, 0x00, 0x31, 0x00, 0x00);		   /* mov edi, DST_GPA */
	I(p, 0, 0xb9, 0x02, 0x00, 0x00, 0x00);		   /* mov ecx, 2 */
	I(p, 2, 0xf3, 0xa5);				   /* rep movsd: MMIO -> RAM */
	I(p, 0, 0x48, 0x8d, 0xb3, 0x90, 0x00, 0x00, 0x00); /* lea rsi, [rbx+0x90] */
	I(p, 0, 0x48, 0x8d, 0xbb, 0xa0, 0x00, 0x00, 0x00); /* lea rdi, [rbx+0xa0] */
	I(p, 2, 0x48, 0xa5);				   /* movsq: MMIO -> MMIO */
	I(p, 0, 0x48, 0x8d, 0xbb, 0xbf, 0x00, 0x00, 0x00); /* lea rdi, [rbx+0xbf] */
	I(p, 0, 0xb9, 0x02, 0x00, 0x00, 0x00);		   /* mov ecx, 2 */
	I(p, 0, 0xb0, 0x66, 0xfd);			   /* mov al, 0x66; std */
	I(p, 2, 0xf3, 0xaa);				   /* rep stosb, downwards */
	I(p, 0, 0xfc);					   /* cld */
	I(p, 2, 0x89, 0x83, 0xfe, 0x0f, 0x00, 0x00);	   /* mov [rbx+0xffe], eax: two pages */
	I(p, 2, 0xf0, 0x09, 0x83, 0xc0, 0x00, 0x00, 0x00); /* lock or [rbx+0xc0], eax */
	I(p, 2, 0x48, 0x01, 0x83, 0xc8, 0x00, 0x00, 0x00); /* add [rbx+0xc8], rax */
	I(p, 2, 0x83, 0x93, 0xd0, 0x00, 0x00, 0x00, 0x05); /* adc dword [rbx+0xd0], 5 */
	I(p, 1, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x01, 0x00, 0x40); /* mov rax, [abs 0x40000100] */
	I(p, 0, 0xf4);						 /* hlt */
}

/* Long mode with two instructions the emulator does not support among supported ones. */
static void unsupported_prog(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	I(p, 0, 0x48, 0xbb, 0x00, 0x00, 0x00, 0x40, 0, 0, 0, 0); /* mov rbx, LM_MMIO_VA */
	I(p, 1, 0x89, 0x03);					 /* mov [rbx], eax */
	I(p, 2, 0xff, 0x43, 0x04);				 /* inc dword [rbx+4] */
	I(p, 2, 0xf7, 0x53, 0x08);				 /* not dword [rbx+8] */
	I(p, 1, 0x8b, 0x43, 0x0c);				 /* mov eax, [rbx+12] */
	I(p, 0, 0xf4);						 /* hlt */
}

/* ---- loading ---- */

static void load_common(struct xvm *x, const struct prog *p)
{
	struct hvabs_mem *mem = hvabs_vm_mem(x->vm);
	uint8_t src[16];

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(0xc0 + i);
	assert_int_equal(hvabs_mem_write(mem, CODE_GPA, p->buf, p->len), 0);
	assert_int_equal(hvabs_mem_write(mem, SRC_GPA, src, sizeof(src)), 0);
}

static void load_real_mode(struct xvm *x, const struct prog *p)
{
	load_common(x, p);
	assert_int_equal(rm_cpu_setup(x->cpu, CODE_GPA, STACK_TOP), 0);
}

/* 2 MiB pages: VA 0-1 GiB = PA 0-1 GiB, VA 1-2 GiB = PA 3-4 GiB (the MMIO window). */
static void load_long_mode(struct xvm *x, const struct prog *p)
{
	struct hvabs_mem *mem = hvabs_vm_mem(x->vm);
	struct hvabs_sregs s;
	struct hvabs_regs r;

	load_common(x, p);
	assert_int_equal(hvabs_mem_write_u64(mem, PT_GPA, (PT_GPA + 0x1000) | 3), 0);
	assert_int_equal(hvabs_mem_write_u64(mem, PT_GPA + 0x1000, (PT_GPA + 0x2000) | 3), 0);
	assert_int_equal(hvabs_mem_write_u64(mem, PT_GPA + 0x1008, (PT_GPA + 0x3000) | 3), 0);
	for (uint64_t i = 0; i < 512; i++) {
		assert_int_equal(
		    hvabs_mem_write_u64(mem, PT_GPA + 0x2000 + i * 8, (i << 21) | 0x83), 0);
		assert_int_equal(hvabs_mem_write_u64(mem, PT_GPA + 0x3000 + i * 8,
						     (LM_MMIO_PA + (i << 21)) | 0x83),
				 0);
	}
	assert_int_equal(hvabs_vcpu_get_sregs(x->cpu, &s), 0);
	struct hvabs_segment cs = {
	    .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1};
	struct hvabs_segment ds = {
	    .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1, .s = 1, .db = 1, .g = 1};
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.cr3 = PT_GPA;
	s.cr4 = 0x20;	     /* PAE */
	s.cr0 = 0x80000011u; /* PG, ET, PE */
	s.efer = 0x500;	     /* LME, LMA */
	assert_int_equal(hvabs_vcpu_set_sregs(x->cpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = CODE_GPA;
	r.rsp = STACK_TOP;
	r.rflags = 2;
	assert_int_equal(hvabs_vcpu_set_regs(x->cpu, &r), 0);
}

typedef void (*loader_fn)(struct xvm *x, const struct prog *p);

/* Runs @p p in a fresh VM with @p options; the summary is parsed after the VM is gone. */
static struct summary run_prog(const char *options, uint64_t ram, loader_fn load,
			       const struct prog *p, struct outcome *o, struct xvm *x)
{
	assert_int_equal(xvm_open(x, options, ram), 0);
	load(x, p);
	run_to_hlt(x, o);
	xvm_close(x);
	return parse_summary(&x->log);
}

static struct xvm vm_a, vm_b; /* large (log text): not on the stack */

static void assert_all_agree(const struct summary *s, const struct outcome *o, const struct prog *p,
			     const struct xvm *x)
{
	if (!s->found || s->checked != o->exits || s->disagreements || s->undecodable)
		fprintf(stderr, "backend log:\n%s", x->log.text);
	assert_int_equal(o->exits, p->mmio_exits);
	assert_true(s->found);
	assert_int_equal(s->checked, o->exits);
	assert_int_equal(s->disagreements, 0);
	assert_int_equal(s->undecodable, 0);
	assert_false(s->unchecked);
	assert_null(strstr(x->log.text, "cross-check: disagreement"));
}

static void real_mode_agrees(void **state)
{
	struct prog p;
	struct outcome o;

	(void)state;
	real_mode_prog(&p);
	struct summary s = run_prog("crosscheck=1", RM_RAM, load_real_mode, &p, &o, &vm_a);
	assert_all_agree(&s, &o, &p, &vm_a);
	assert_true(o.reads > 0 && o.writes > 0);
}

/* Also: the guest ends as it does without the cross-check, and off means no summary. */
static void long_mode_agrees_and_changes_nothing(void **state)
{
	struct prog p;
	struct outcome off, on;

	(void)state;
	long_mode_prog(&p);
	struct summary s0 = run_prog(NULL, LM_RAM, load_long_mode, &p, &off, &vm_a);
	struct summary s1 = run_prog("crosscheck=1", LM_RAM, load_long_mode, &p, &on, &vm_b);
	assert_false(s0.found);
	assert_null(strstr(vm_a.log.text, "cross-check"));
	assert_all_agree(&s1, &on, &p, &vm_b);
	assert_int_equal(on.exits, off.exits);
	assert_true(on.trace == off.trace);
	assert_memory_equal(&on.regs, &off.regs, sizeof(on.regs));
	assert_memory_equal(on.dst, off.dst, sizeof(on.dst));
}

static void unsupported_counted_and_named(void **state)
{
	struct prog p;
	struct outcome o;

	(void)state;
	unsupported_prog(&p);
	struct summary s = run_prog("crosscheck=1", LM_RAM, load_long_mode, &p, &o, &vm_a);
	if (!s.found || s.undecodable != 4)
		fprintf(stderr, "backend log:\n%s", vm_a.log.text);
	assert_int_equal(o.exits, p.mmio_exits);
	assert_true(s.found);
	assert_int_equal(s.checked, o.exits);
	assert_int_equal(s.disagreements, 0);
	assert_int_equal(s.undecodable, 4); /* the read and the write of INC and of NOT */
	assert_non_null(strstr(vm_a.log.text, "not decodable: opcode ff /0, 2 exits"));
	assert_non_null(strstr(vm_a.log.text, "not decodable: opcode f7 /2, 2 exits"));
}

/* A fault in the emulator's view of addresses: every exit disagrees. */
static void corrupt_address_detected(void **state)
{
	struct prog p;
	struct outcome o;

	(void)state;
	long_mode_prog(&p);
	struct summary s =
	    run_prog("crosscheck=1,crosscheck_corrupt=addr", LM_RAM, load_long_mode, &p, &o, &vm_a);
	if (!s.found || s.disagreements != o.exits)
		fprintf(stderr, "backend log:\n%s", vm_a.log.text);
	assert_true(s.found);
	assert_int_equal(s.checked, o.exits);
	assert_int_equal(s.disagreements, o.exits);
	assert_non_null(strstr(vm_a.log.text, "x86emu cross-check: disagreement"));
	real_mode_prog(&p);
	s = run_prog("crosscheck=1,crosscheck_corrupt=addr", RM_RAM, load_real_mode, &p, &o, &vm_a);
	assert_int_equal(s.disagreements, o.exits);
}

/* A fault in the data the emulator writes: every write disagrees, no read does. */
static void corrupt_data_detected(void **state)
{
	struct prog p;
	struct outcome o;

	(void)state;
	long_mode_prog(&p);
	struct summary s =
	    run_prog("crosscheck=1,crosscheck_corrupt=data", LM_RAM, load_long_mode, &p, &o, &vm_a);
	if (!s.found || s.disagreements != o.writes)
		fprintf(stderr, "backend log:\n%s", vm_a.log.text);
	assert_true(s.found);
	assert_int_equal(s.checked, o.exits);
	assert_int_equal(s.disagreements, o.writes);
	real_mode_prog(&p);
	s = run_prog("crosscheck=1,crosscheck_corrupt=data", RM_RAM, load_real_mode, &p, &o, &vm_a);
	assert_int_equal(s.disagreements, o.writes);
}

static void bad_options_refused(void **state)
{
	static const char *const bad[] = {"crosscheck=2", "crosscheck=yes",
					  "crosscheck_corrupt=addr",
					  "crosscheck=1,crosscheck_corrupt=x"};
	struct hvabs_backend *be;

	(void)state;
	assert_int_equal(hvabs_backend_open("kvm", NULL, &be), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hvabs_vm_config cfg = {.max_vcpus = 1, .backend_options = bad[i]};
		struct hvabs_vm *vm = NULL;
		assert_int_equal(hvabs_vm_create(be, &cfg, &vm), -EINVAL);
		assert_null(vm);
	}
	hvabs_backend_close(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(real_mode_agrees),
	    cmocka_unit_test(long_mode_agrees_and_changes_nothing),
	    cmocka_unit_test(unsupported_counted_and_named),
	    cmocka_unit_test(corrupt_address_detected),
	    cmocka_unit_test(corrupt_data_detected),
	    cmocka_unit_test(bad_options_refused),
	};
	int rc = kt_check_kvm("integration.kvm.xcheck");

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("integration.kvm.xcheck", tests, NULL, NULL);
}
