/*
 * ctl_server.h - the server side of the control-socket protocol
 * (doc/control.md), shared by every daemon: accepts clients on the daemon's
 * event loop, splits requests into lines, calls the daemon's dispatch
 * function and writes each reply as one line.
 *
 * Replies are written whole with a 2 s send timeout: a client that stops
 * reading is dropped rather than stalling the loop longer.
 */
#ifndef TANDEM_CTL_SERVER_H
#define TANDEM_CTL_SERVER_H

#include <jansson.h>

#include "loop.h"

/* Returns a new reply object (ownership passes to the server). */
typedef json_t *(*ctl_dispatch_fn)(void *arg, const json_t *req);

struct ctl_client;
struct ctl_deferred;

struct ctl_server {
	struct loop_io io;
	struct ctl_client *current;	/* the client whose request is being dispatched */
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
