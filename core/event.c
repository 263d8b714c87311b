/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The epoll event loop. Callbacks run with the loop's (recursive) lock held,
 * which is what lets hvabs_event_remove() from another thread wait for a
 * running callback, while a callback may still add and remove sources on its
 * own thread. A source removed while a batch of epoll results is being
 * dispatched is freed only after the batch, since the batch may still point
 * at it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "priv.h"

#define BATCH 32

struct hvabs_event {
	struct hvabs_event_loop *loop;
	int fd;
	int is_timer;
	int dead;
	hvabs_event_fn fn;
	void *opaque;
	struct hvabs_event *next;
};

struct hvabs_event_loop {
	int epfd;
	int wakefd;
	pthread_mutex_t lock;
	int busy; /* epoll results are in flight */
	atomic_int stop;
	struct hvabs_event *live;
	struct hvabs_event *dead;
	hvabs_thread_start_fn thread_start; /* set before the devices, read-only after */
	void *thread_opaque;
};

int hvabs_event_loop_create(struct hvabs_event_loop **out)
{
	struct hvabs_event_loop *l = calloc(1, sizeof(*l));
	pthread_mutexattr_t a;
	struct epoll_event ee = {.events = EPOLLIN, .data.ptr = NULL};

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ee)) {
		int rc = -errno;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		free(l);
		return rc;
	}
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&l->lock, &a);
	pthread_mutexattr_destroy(&a);
	*out = l;
	return 0;
}

static void free_event(struct hvabs_event *e)
{
	if (e->is_timer)
		close(e->fd);
	free(e);
}

void hvabs_event_loop_destroy(struct hvabs_event_loop *l)
{
	if (!l)
		return;
	for (int pass = 0; pass < 2; pass++) {
		struct hvabs_event *e = pass ? l->dead : l->live;
		while (e) {
			struct hvabs_event *n = e->next;
			free_event(e);
			e = n;
		}
	}
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static uint32_t to_epoll(uint32_t ev)
{
	return (ev & HVABS_EVENT_IN ? EPOLLIN : 0u) | (ev & HVABS_EVENT_OUT ? EPOLLOUT : 0u);
}

static int add(struct hvabs_event_loop *l, int fd, int is_timer, uint32_t events, hvabs_event_fn fn,
	       void *opaque, struct hvabs_event **out)
{
	struct hvabs_event *e;

	if (!l || fd < 0 || !fn || (events & ~(HVABS_EVENT_IN | HVABS_EVENT_OUT)))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->loop = l;
	e->fd = fd;
	e->is_timer = is_timer;
	e->fn = fn;
	e->opaque = opaque;
	struct epoll_event ee = {.events = to_epoll(events), .data.ptr = e};
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ee)) {
		int rc = -errno;
		pthread_mutex_unlock(&l->lock);
		free(e);
		return rc;
	}
	e->next = l->live;
	l->live = e;
	pthread_mutex_unlock(&l->lock);
	if (out)
		*out = e;
	return 0;
}

int hvabs_event_add(struct hvabs_event_loop *l, int fd, uint32_t events, hvabs_event_fn fn,
		    void *opaque, struct hvabs_event **out)
{
	return add(l, fd, 0, events, fn, opaque, out);
}

int hvabs_event_modify(struct hvabs_event *e, uint32_t events)
{
	struct epoll_event ee = {.events = to_epoll(events), .data.ptr = e};

	if (!e || (events & ~(HVABS_EVENT_IN | HVABS_EVENT_OUT)))
		return -EINVAL;
	return epoll_ctl(e->loop->epfd, EPOLL_CTL_MOD, e->fd, &ee) ? -errno : 0;
}

int hvabs_event_timer_add(struct hvabs_event_loop *l, uint64_t first_ns, uint64_t period_ns,
			  hvabs_event_fn fn, void *opaque, struct hvabs_event **out)
{
	struct itimerspec its;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (!first_ns)
		first_ns = 1;
	its.it_value.tv_sec = (time_t)(first_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(first_ns % 1000000000ull);
	its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
	if (timerfd_settime(fd, 0, &its, NULL)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	int rc = add(l, fd, 1, HVABS_EVENT_IN, fn, opaque, out);
	if (rc)
		close(fd);
	return rc;
}

void hvabs_event_remove(struct hvabs_event *e)
{
	if (!e)
		return;
	struct hvabs_event_loop *l = e->loop;
	/* Taking the lock waits for this source's callback if another thread runs it. */
	pthread_mutex_lock(&l->lock);
	for (struct hvabs_event **pp = &l->live; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->dead = 1;
	if (l->busy) {
		e->next = l->dead;
		l->dead = e;
	} else {
		free_event(e);
	}
	pthread_mutex_unlock(&l->lock);
}

static void reap(struct hvabs_event_loop *l)
{
	while (l->dead) {
		struct hvabs_event *e = l->dead;
		l->dead = e->next;
		free_event(e);
	}
}

int hvabs_event_loop_run_once(struct hvabs_event_loop *l, int timeout_ms)
{
	struct epoll_event evs[BATCH];
	int ran = 0;

	pthread_mutex_lock(&l->lock);
	l->busy++;
	pthread_mutex_unlock(&l->lock);
	int n = epoll_wait(l->epfd, evs, BATCH, timeout_ms);
	int err = n < 0 ? errno : 0;
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < n; i++) {
		struct hvabs_event *e = evs[i].data.ptr;
		if (!e) {
			uint64_t v;
			(void)!read(l->wakefd, &v, sizeof(v));
			continue;
		}
		if (e->dead)
			continue;
		uint32_t bits = (evs[i].events & EPOLLIN ? HVABS_EVENT_IN : 0u) |
				(evs[i].events & EPOLLOUT ? HVABS_EVENT_OUT : 0u) |
				(evs[i].events & EPOLLERR ? HVABS_EVENT_ERR : 0u) |
				(evs[i].events & EPOLLHUP ? HVABS_EVENT_HUP : 0u);
		if (e->is_timer) {
			uint64_t expirations;
			if (read(e->fd, &expirations, sizeof(expirations)) < 0)
				continue;
		}
		e->fn(e->opaque, bits);
		ran++;
	}
	if (--l->busy == 0)
		reap(l);
	pthread_mutex_unlock(&l->lock);
	if (err && err != EINTR)
		return -err;
	return ran;
}

int hvabs_event_loop_run(struct hvabs_event_loop *l)
{
	while (!atomic_load(&l->stop)) {
		int rc = hvabs_event_loop_run_once(l, -1);
		if (rc < 0)
			return rc;
	}
	atomic_store(&l->stop, 0);
	return 0;
}

void hvabs_event_loop_stop(struct hvabs_event_loop *l)
{
	uint64_t one = 1;

	atomic_store(&l->stop, 1);
	(void)!write(l->wakefd, &one, sizeof(one));
}

void hvabs_event_loop_set_thread_start(struct hvabs_event_loop *loop, hvabs_thread_start_fn fn,
				       void *opaque)
{
	loop->thread_start = fn;
	loop->thread_opaque = opaque;
}

int hvabs_event_loop_thread_start(struct hvabs_event_loop *loop, const char *kind)
{
	if (!loop || !loop->thread_start)
		return 0;
	return loop->thread_start(loop->thread_opaque, kind ? kind : "?");
}
