/* SPDX-License-Identifier: Apache-2.0 */
/* The fixture of mshv_test.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "mshv_test.h"

static int dev_read(void *o, uint64_t off, uint32_t size, uint64_t *val)
{
	struct t_dev *d = o;

	*val = d->read_value << (8 * (off & 7));
	if (d->n < 256)
		d->log[d->n] = (struct t_access){off, size, 0, *val};
	d->n++;
	return 0;
}

static int dev_write(void *o, uint64_t off, uint32_t size, uint64_t val)
{
	struct t_dev *d = o;

	if (d->n < 256)
		d->log[d->n] = (struct t_access){off, size, 1, val};
	d->n++;
	return 0;
}

static const struct hvabs_bus_ops dev_ops = {.read = dev_read, .write = dev_write};

int t_open(struct t_vm *t, const char *opts, uint32_t fake_opts)
{
	struct hvabs_vm_config cfg = {.max_vcpus = 2, .backend_options = opts};
	struct hvabs_backend_opts bo = {.no_install_dir = 1};
	void *ram;

	memset(t, 0, sizeof(*t));
	t->f = fake_mshv_api_v1();
	t->f->reset();
	t->f->set_options(fake_opts);
	t->violations = t->f->violations(NULL, 0);
	if (hvabs_backend_open("mshv", &bo, &t->be) || hvabs_vm_create(t->be, &cfg, &t->vm) ||
	    hvabs_vm_add_ram(t->vm, 0, T_RAM_SIZE, 0, &ram) ||
	    hvabs_bus_register(t->vm, HVABS_SPACE_PIO, T_PORT, 8, &dev_ops, &t->pio, 0, NULL) ||
	    hvabs_bus_register(t->vm, HVABS_SPACE_MMIO, T_MMIO, 0x1000, &dev_ops, &t->mmio, 0,
			       NULL) ||
	    hvabs_vcpu_create(t->vm, 0, &t->cpu))
		return -1;
	t->ram = ram;
	t->pt = t->f->last_partition();
	return 0;
}

int t_add_dev(struct t_vm *t, enum hvabs_space space, uint64_t base, uint64_t len, struct t_dev *d,
	      struct hvabs_bus_dev **reg)
{
	return hvabs_bus_register(t->vm, space, base, len, &dev_ops, d, 0, reg);
}

void t_close(struct t_vm *t)
{
	char why[1024];

	hvabs_vm_destroy(t->vm);
	hvabs_backend_close(t->be);
	uint32_t n = t->f->violations(why, sizeof(why));
	if (n != t->violations)
		fail_msg("the fake /dev/mshv saw %u violation(s): %s", n - t->violations, why);
	assert_int_equal(t->f->open_fds(), 0);
}

void t_long_mode(struct t_vm *t)
{
	assert_int_equal(hvt_mshv_long_mode(t->cpu), 0);
}

void t_push(struct t_vm *t, const struct fake_mshv_step *s)
{
	assert_int_equal(t->f->push(t->pt, hvabs_vcpu_index(t->cpu), s), 0);
}

uint32_t t_run(struct t_vm *t, struct hvabs_exit *e)
{
	struct hvabs_exit local;

	if (!e)
		e = &local;
	assert_int_equal(hvabs_vcpu_run_loop(t->cpu, e), 0);
	return e->kind;
}

uint64_t t_reg(struct t_vm *t, uint32_t name)
{
	uint64_t v = 0;

	assert_int_equal(t->f->get_reg(t->pt, hvabs_vcpu_index(t->cpu), name, &v), 0);
	return v;
}

uint64_t t_result(struct t_vm *t, uint32_t nth)
{
	uint64_t v = 0;

	assert_int_equal(t->f->result(t->pt, hvabs_vcpu_index(t->cpu), nth, &v), 0);
	return v;
}
