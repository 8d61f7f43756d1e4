/*
 * ctl_server.h - the server side of the control-socket protocol
 * (doc/control.md), shared by every daemon: accepts clients on the daemon's
 * event loop, splits requests into lines, calls the daemon's dispatch
 * function and writes each reply as one line.
 *
 * Nothing blocks the loop: a reply goes out as far as the client's socket
 * takes it and the rest is sent on EPOLLOUT; meanwhile that client's further
 * requests stay unread (one reply in memory per client).  At most
 * CTL_MAX_CLIENTS clients at once: a new one is refused when that many are
 * connected, after dropping those whose queued reply has not moved for
 * CTL_STALL_MS (they stopped reading).
 */
#ifndef TANDEM_CTL_SERVER_H
#define TANDEM_CTL_SERVER_H

#include <jansson.h>
#include <stdint.h>

#include "loop.h"

/* Returns a new reply object (ownership passes to the server). */
typedef json_t *(*ctl_dispatch_fn)(void *arg, const json_t *req);

struct ctl_client;
struct ctl_deferred;

#define CTL_MAX_CLIENTS 64
#define CTL_STALL_MS 30000

struct ctl_server {
	struct loop_io io;
	struct ctl_client *current;	/* the client whose request is being dispatched */
	struct ctl_client *clients;	/* every connected client */
	unsigned nclients;
	uint64_t refused, dropped;	/* clients refused (full), dropped (stalled) */
	struct loop *loop;
	ctl_dispatch_fn dispatch;
	void *arg;
	char path[108];
};

/* Listen at path.  0, or -1 with errno set. */
int ctl_server_open(struct ctl_server *cs, struct loop *l, const char *path,
		    ctl_dispatch_fn dispatch, void *arg);
/* Stop listening and remove the socket file (open clients finish their line). */
void ctl_server_close(struct ctl_server *cs);

/*
 * Deferred replies, for requests that complete later (e.g. "tell me when the
 * peer has this"): called from inside dispatch, which must then return
 * NULL.  The client's later requests wait (in order) until the reply is
 * given with ctl_deferred_reply(), which takes ownership of reply and frees
 * the handle; if the client hung up meanwhile the reply is dropped.
 */
struct ctl_deferred *ctl_server_defer(struct ctl_server *cs);
void ctl_deferred_reply(struct ctl_deferred *d, json_t *reply);

#endif
