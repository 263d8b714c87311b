/* SPDX-License-Identifier: Apache-2.0 */
/* Contract cases: interrupt lines, MSIs, irqfds and ioeventfds, kernel or fallback. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract.h"

/* ---- interrupts ---- */

void irq_line_and_range(void **state)
{
	struct fx *f = *state;
	struct hvabs_caps c;

	assert_int_equal(hvabs_vm_get_caps(f->env.vm, &c), 0);
	assert_int_equal(hvabs_irq_line(f->env.vm, 4, 1), 0);
	ct_observe(f, 0, 4, 2000);
	assert_int_equal(hvabs_irq_line(f->env.vm, 4, 0), 0);
	assert_int_equal(hvabs_irq_pulse(f->env.vm, 3), 0);
	if (c.nr_irqs)
		assert_int_equal(hvabs_irq_line(f->env.vm, c.nr_irqs, 1), -EINVAL);
}

struct loop_thread {
	struct hvabs_event_loop *loop;
	pthread_t t;
};

static void *loop_main(void *arg)
{
	struct loop_thread *lt = arg;

	int rc = hvabs_event_loop_run(lt->loop);
	return rc ? (void *)1 : NULL;
}

/* A kernel irqfd routed to an MSI: a write to the fd reaches the guest as that MSI. */
void irqfd_msi(void **state)
{
	struct fx *f = *state;
	struct hvabs_irq_route r = {
	    .kind = HVABS_IRQ_ROUTE_MSI, .msi_addr = 0xfee00000, .msi_data = 0x4052};
	struct hvabs_irqfd *fd = NULL;
	int rc = hvabs_irqfd_create(f->env.vm, &r, NULL, &fd);

	if (!hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD) ||
	    !hvabs_vm_has_cap(f->env.vm, HVABS_CAP_MSI)) {
		/* No kernel irqfd (and no event loop for the fallback), or nothing to route to. */
		assert_int_equal(rc, -ENOTSUP);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), 1);
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	ct_observe(f, 1, 0x4052, 2000);
	hvabs_irqfd_destroy(fd);
}

/* With or without kernel irqfds, a write to the fd reaches the guest. */
void irqfd_any_path(void **state)
{
	struct fx *f = *state;
	struct loop_thread lt;
	struct hvabs_irq_route r = {.kind = HVABS_IRQ_ROUTE_GSI, .gsi = 6};
	struct hvabs_irqfd *fd;

	assert_int_equal(hvabs_event_loop_create(&lt.loop), 0);
	assert_int_equal(pthread_create(&lt.t, NULL, loop_main, &lt), 0);
	assert_int_equal(hvabs_irqfd_create(f->env.vm, &r, lt.loop, &fd), 0);
	assert_int_equal(hvabs_irqfd_is_kernel(fd), hvabs_vm_has_cap(f->env.vm, HVABS_CAP_IRQFD));
	assert_int_equal(hvabs_irqfd_trigger(fd), 0);
	ct_observe(f, 0, 6, 5000);
	hvabs_irqfd_destroy(fd);
	hvabs_event_loop_stop(lt.loop);
	pthread_join(lt.t, NULL);
	hvabs_event_loop_destroy(lt.loop);
}

/* With or without kernel ioeventfds, a matching guest write signals the fd, not the bus. */
void ioeventfd_any_path(void **state)
{
	struct fx *f = *state;
	struct hvabs_ioeventfd_spec ev = {.space = HVABS_SPACE_MMIO,
					  .len = 4,
					  .addr = CT_MMIO_GPA + 0x50,
					  .flags = HVABS_IOEVENTFD_F_DATAMATCH,
					  .datamatch = 3};
	struct hvabs_ioeventfd *io, *dup;
	uint64_t n = 0;

	assert_int_equal(hvabs_ioeventfd_create(f->env.vm, &ev, &io), 0);
	assert_int_equal(hvabs_ioeventfd_create(f->env.vm, &ev, &dup), -EEXIST);
	PROGRAM(f, f->cpu, {HVT_MMIO_WRITE, CT_MMIO_GPA + 0x50, 4, 1, 3},
		{HVT_MMIO_WRITE, CT_MMIO_GPA + 0x50, 4, 1, 4}, {HVT_HLT, 0, 0, 0, 0});
	assert_int_equal(ct_run_to_stop(f), HVABS_EXIT_HLT);
	struct pollfd p = {.fd = hvabs_ioeventfd_fd(io), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(p.fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	/* The non-matching value went to the device; the matching one did not. */
	assert_int_equal(f->mmio.nwrites, 1);
	assert_int_equal(f->mmio.writes[0], 4);
	hvabs_ioeventfd_destroy(io);
}
