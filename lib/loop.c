#include "loop.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int loop_init(struct loop *l)
{
	l->running = 0;
	l->poll_until_ns = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -1 : 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static int ctl(struct loop *l, int op, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	return epoll_ctl(l->epfd, op, io->fd, &ev);
}

int loop_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, io, events);
}

int loop_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, io, events);
}

void loop_del(struct loop *l, struct loop_io *io)
{
	if (io->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

static void timer_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct loop_timer *t = io->arg;
	uint64_t n;

	if (read(io->fd, &n, sizeof(n)) != sizeof(n))
		return;		/* spurious: EAGAIN */
	t->cb(l, t);
}

int loop_timer_init(struct loop *l, struct loop_timer *t,
		    void (*cb)(struct loop *, struct loop_timer *), void *arg)
{
	t->cb = cb;
	t->arg = arg;
	t->io.cb = timer_ready;
	t->io.arg = t;
	t->io.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->io.fd < 0)
		return -1;
	return loop_add(l, &t->io, EPOLLIN);
}

int loop_timer_set(struct loop_timer *t, unsigned first_ms, unsigned every_ms)
{
	struct itimerspec its = {
		.it_value = { first_ms / 1000, (first_ms % 1000) * 1000000L },
		.it_interval = { every_ms / 1000, (every_ms % 1000) * 1000000L },
	};

	return timerfd_settime(t->io.fd, 0, &its, NULL);
}

void loop_timer_close(struct loop *l, struct loop_timer *t)
{
	loop_del(l, &t->io);
	if (t->io.fd >= 0)
		close(t->io.fd);
	t->io.fd = -1;
}

static void signal_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct loop_signals *s = io->arg;
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof(si)) == sizeof(si))
		s->cb(l, (int)si.ssi_signo, s->arg);
}

int loop_signals_init(struct loop *l, struct loop_signals *s, const int *sigs, int n,
		      void (*cb)(struct loop *, int, void *), void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	s->cb = cb;
	s->arg = arg;
	s->io.cb = signal_ready;
	s->io.arg = s;
	s->io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->io.fd < 0)
		return -1;
	return loop_add(l, &s->io, EPOLLIN);
}

void loop_poll_until(struct loop *l, uint64_t until)
{
	if (until > l->poll_until_ns)
		l->poll_until_ns = until;
}

int loop_run(struct loop *l)
{
	l->running = 1;
	while (l->running) {
		struct epoll_event ev;
		int polling = l->poll_until_ns && loop_now_ns() < l->poll_until_ns;
		int n = epoll_wait(l->epfd, &ev, 1, polling ? 0 : -1);

		if (!polling)
			l->poll_until_ns = 0;
		if (n == 0 && polling)
			sched_yield();	/* the answer may need this very CPU */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 1) {
			struct loop_io *io = ev.data.ptr;
			io->cb(l, io, ev.events);
		}
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->running = 0;
}

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000ull;
}
