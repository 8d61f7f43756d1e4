/*
 * loop.h - the one event loop of a Tandem process: epoll + signalfd + timerfd.
 *
 * Callers own their handler structs (embed them in their context); the loop
 * keeps only pointers.  A handler may remove itself or any other handler from
 * inside a callback: the loop takes one event per epoll_wait so a removed
 * handler is never called afterwards.  (Control-plane event rates make the
 * extra syscalls irrelevant.)
 * Return convention (whole project): 0 or a count on success, -1 with errno
 * set (or a message logged, where documented) on failure.
 */
#ifndef TANDEM_LOOP_H
#define TANDEM_LOOP_H

#include <signal.h>
#include <stdint.h>

struct loop;
struct loop_io;
typedef void (*loop_io_cb)(struct loop *l, struct loop_io *io, uint32_t events);

struct loop_io {
	int fd;
	loop_io_cb cb;
	void *arg;		/* for the callback's use */
};

struct loop_timer {
	struct loop_io io;	/* timerfd */
	void (*cb)(struct loop *l, struct loop_timer *t);
	void *arg;
};

struct loop_signals {
	struct loop_io io;	/* signalfd */
	void (*cb)(struct loop *l, int signo, void *arg);
	void *arg;
};

struct loop {
	int epfd;
	int running;
	uint64_t poll_until_ns;	/* busy-poll until then (loop_poll_until) */
};

int loop_init(struct loop *l);
void loop_close(struct loop *l);
/* Watch io->fd for events (EPOLLIN...).  io must stay valid until loop_del. */
int loop_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_del(struct loop *l, struct loop_io *io);
/* Create a timer; arm it with loop_timer_set.  Disarmed until then. */
int loop_timer_init(struct loop *l, struct loop_timer *t,
		    void (*cb)(struct loop *, struct loop_timer *), void *arg);
/* First expiry after first_ms (0 = disarm), then every every_ms (0 = once). */
int loop_timer_set(struct loop_timer *t, unsigned first_ms, unsigned every_ms);
void loop_timer_close(struct loop *l, struct loop_timer *t);
/* Block the signals in sigs[] (n entries) and deliver them through the loop. */
int loop_signals_init(struct loop *l, struct loop_signals *s, const int *sigs, int n,
		      void (*cb)(struct loop *, int, void *), void *arg);
/*
 * Until CLOCK_MONOTONIC ns `until` (a later one extends, an earlier one is
 * ignored), loop_run polls for events without sleeping (epoll_wait with
 * timeout 0, yielding the CPU between polls) and serves every handler as
 * usual.  For a process that expects an answer within microseconds (a
 * handoff's peer): waking a sleeping process on an idle virtual CPU costs
 * tens of microseconds; unlike a busy-wait on one socket, the loop's other
 * handlers are served meanwhile.
 */
void loop_poll_until(struct loop *l, uint64_t until);
/* Run until loop_stop().  Returns 0, or -1 if epoll_wait fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
/* Monotonic clock in ms / ns. */
uint64_t loop_now_ms(void);
uint64_t loop_now_ns(void);

#endif
