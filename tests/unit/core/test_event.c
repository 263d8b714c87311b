/* SPDX-License-Identifier: Apache-2.0 */
/* The epoll event loop: fds, timers, removal from callbacks and other threads, stop. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <hvabs/event.h>

struct src {
	int fd;
	int calls;
	uint32_t last;
	struct hvabs_event *ev;
	struct hvabs_event *remove_other; /* removes this source from its callback */
	int sleep_ms;
	int in_cb;
};

static void on_fd(void *o, uint32_t events)
{
	struct src *s = o;
	uint64_t v;

	__atomic_store_n(&s->in_cb, 1, __ATOMIC_SEQ_CST);
	if (s->sleep_ms)
		usleep((useconds_t)s->sleep_ms * 1000);
	if (events & HVABS_EVENT_IN)
		(void)!read(s->fd, &v, sizeof(v));
	s->last = events;
	s->calls++;
	if (s->remove_other) {
		hvabs_event_remove(s->remove_other);
		s->remove_other = NULL;
	}
	__atomic_store_n(&s->in_cb, 0, __ATOMIC_SEQ_CST);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void fd_callbacks(void **state)
{
	struct hvabs_event_loop *l;
	struct src a = {.fd = eventfd(0, EFD_NONBLOCK)};

	(void)state;
	assert_int_equal(hvabs_event_loop_create(&l), 0);
	assert_int_equal(hvabs_event_add(l, a.fd, HVABS_EVENT_IN, on_fd, &a, &a.ev), 0);
	assert_int_equal(hvabs_event_add(l, a.fd, HVABS_EVENT_IN, on_fd, &a, NULL), -EEXIST);
	assert_int_equal(hvabs_event_add(l, -1, HVABS_EVENT_IN, on_fd, &a, NULL), -EINVAL);
	assert_int_equal(hvabs_event_loop_run_once(l, 0), 0);
	signal_fd(a.fd);
	assert_int_equal(hvabs_event_loop_run_once(l, 1000), 1);
	assert_int_equal(a.calls, 1);
	assert_true(a.last & HVABS_EVENT_IN);
	/* level-triggered OUT once asked for */
	assert_int_equal(hvabs_event_modify(a.ev, HVABS_EVENT_OUT), 0);
	assert_int_equal(hvabs_event_loop_run_once(l, 1000), 1);
	assert_true(a.last & HVABS_EVENT_OUT);
	hvabs_event_remove(a.ev);
	signal_fd(a.fd);
	assert_int_equal(hvabs_event_loop_run_once(l, 0), 0);
	hvabs_event_loop_destroy(l);
	close(a.fd);
}

static void on_timer(void *o, uint32_t events)
{
	int *n = o;

	(void)events;
	(*n)++;
}

static void timers(void **state)
{
	struct hvabs_event_loop *l;
	struct hvabs_event *periodic;
	int once = 0, many = 0;

	(void)state;
	assert_int_equal(hvabs_event_loop_create(&l), 0);
	assert_int_equal(hvabs_event_timer_add(l, 1000000, 0, on_timer, &once, NULL), 0);
	assert_int_equal(hvabs_event_timer_add(l, 1000000, 1000000, on_timer, &many, &periodic), 0);
	while (many < 3)
		assert_true(hvabs_event_loop_run_once(l, 1000) > 0);
	assert_int_equal(once, 1);
	hvabs_event_remove(periodic);
	int before = many;
	assert_int_equal(hvabs_event_loop_run_once(l, 20), 0);
	assert_int_equal(many, before);
	hvabs_event_loop_destroy(l);
}

/* A callback removes another source whose event is in the same batch. */
static void remove_from_callback(void **state)
{
	struct hvabs_event_loop *l;
	struct src a = {.fd = eventfd(0, EFD_NONBLOCK)}, b = {.fd = eventfd(0, EFD_NONBLOCK)};

	(void)state;
	assert_int_equal(hvabs_event_loop_create(&l), 0);
	assert_int_equal(hvabs_event_add(l, a.fd, HVABS_EVENT_IN, on_fd, &a, &a.ev), 0);
	assert_int_equal(hvabs_event_add(l, b.fd, HVABS_EVENT_IN, on_fd, &b, &b.ev), 0);
	a.remove_other = b.ev;
	b.remove_other = a.ev;
	signal_fd(a.fd);
	signal_fd(b.fd);
	/* Whichever runs first removes the other: exactly one callback runs. */
	assert_int_equal(hvabs_event_loop_run_once(l, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	hvabs_event_loop_destroy(l);
	close(a.fd);
	close(b.fd);
}

struct runner {
	struct hvabs_event_loop *l;
	pthread_t t;
	int rc;
};

static void *loop_main(void *arg)
{
	struct runner *r = arg;

	r->rc = hvabs_event_loop_run(r->l);
	return NULL;
}

/* Removing from another thread waits for the running callback, then stop works. */
static void remove_from_other_thread_and_stop(void **state)
{
	struct runner r = {0};
	struct src a = {.fd = eventfd(0, EFD_NONBLOCK), .sleep_ms = 200};

	(void)state;
	assert_int_equal(hvabs_event_loop_create(&r.l), 0);
	assert_int_equal(hvabs_event_add(r.l, a.fd, HVABS_EVENT_IN, on_fd, &a, &a.ev), 0);
	pthread_create(&r.t, NULL, loop_main, &r);
	signal_fd(a.fd);
	while (!__atomic_load_n(&a.in_cb, __ATOMIC_SEQ_CST))
		usleep(1000);
	hvabs_event_remove(a.ev);
	assert_int_equal(a.calls, 1); /* the callback had finished when remove returned */
	hvabs_event_loop_stop(r.l);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	hvabs_event_loop_destroy(r.l);
	close(a.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fd_callbacks),
	    cmocka_unit_test(timers),
	    cmocka_unit_test(remove_from_callback),
	    cmocka_unit_test(remove_from_other_thread_and_stop),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
