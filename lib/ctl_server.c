#include "ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctl.h"
#include "netio.h"

struct ctl_client {
	struct loop_io io;
	struct ctl_server *cs;
	struct ctl_deferred *pending;	/* a reply owed: reading is paused */
	int in_dispatch;		/* its request is being dispatched right now */
	int deferred;			/* ... and the dispatch deferred its reply */
	int broken;			/* a reply could not be sent: close after dispatch */
	char *buf;
	size_t len, cap;
};

struct ctl_deferred {
	struct ctl_client *c;		/* NULL once the client hung up */
};

static void client_close(struct ctl_client *c)
{
	if (c->pending)
		c->pending->c = NULL;
	loop_del(c->cs->loop, &c->io);
	close(c->io.fd);
	free(c->buf);
	free(c);
}

static int reply(struct ctl_client *c, json_t *r)
{
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(r);
	if (s) {
		rc = send_all(c->io.fd, s, strlen(s), 0, 0, NULL);
		if (rc == 0)
			rc = send_all(c->io.fd, "\n", 1, 0, 0, NULL);
	}
	free(s);
	return rc;
}

/*
 * Answer every complete line in the buffer, in order, until one is
 * deferred.  Returns -1 if the client was closed.
 *
 * A dispatch may defer its reply (ctl_server_defer) and may even answer it
 * before it returns (ctl_deferred_reply from inside the dispatch, e.g. a
 * barrier with nothing in flight).  So the line is taken out of the buffer
 * before the dispatch, and a reply given during the dispatch only sends:
 * the loop here goes on with the next line, never a nested one.
 */
static int process_lines(struct ctl_client *c)
{
	char *nl;

	while (!c->pending && (nl = memchr(c->buf, '\n', c->len))) {
		json_error_t je;
		size_t linelen = (size_t)(nl - c->buf);
		json_t *req = json_loadb(c->buf, linelen, JSON_REJECT_DUPLICATES, &je);
		json_t *r;
		memmove(c->buf, nl + 1, c->len - linelen - 1);
		c->len -= linelen + 1;
		if (!req)
			r = ctl_error("bad JSON: %s", je.text);
		else if (!json_is_object(req) || !json_is_string(json_object_get(req, "cmd")))
			r = ctl_error("request must be an object with a \"cmd\" string");
		else {
			c->cs->current = c;
			c->in_dispatch = 1;
			r = c->cs->dispatch(c->cs->arg, req);
			c->in_dispatch = 0;
			c->cs->current = NULL;
		}
		json_decref(req);
		if (c->deferred) {
			c->deferred = 0;
			json_decref(r);
			if (c->broken) {
				client_close(c);
				return -1;
			}
			if (c->pending) {
				loop_mod(c->cs->loop, &c->io, 0);	/* HUP/ERR still reported */
				return 0;
			}
			continue;	/* answered during the dispatch */
		}
		if (reply(c, r) < 0) {
			client_close(c);
			return -1;
		}
	}
	return 0;
}

static void client_readable(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct ctl_client *c = io->arg;

	if (c->pending) {	/* only HUP/ERR arrive while paused */
		client_close(c);
		return;
	}
	if (c->cap - c->len < 4096) {
		size_t ncap = c->cap ? c->cap * 2 : 8192;
		char *nb = ncap > CTL_MAX_LINE * 2 ? NULL : realloc(c->buf, ncap);
		if (!nb) {
			reply(c, ctl_error("request longer than %d bytes", CTL_MAX_LINE));
			client_close(c);
			return;
		}
		c->buf = nb;
		c->cap = ncap;
	}
	ssize_t n = recv(io->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	if (process_lines(c) < 0)
		return;
	if (c->len > CTL_MAX_LINE) {
		reply(c, ctl_error("request longer than %d bytes", CTL_MAX_LINE));
		client_close(c);
	}
}

static void accept_ready(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct ctl_server *cs = io->arg;
	struct timeval tv = { 2, 0 };
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->io.fd = fd;
	c->io.cb = client_readable;
	c->io.arg = c;
	c->cs = cs;
	if (loop_add(lp, &c->io, EPOLLIN) < 0)
		client_close(c);
}

int ctl_server_open(struct ctl_server *cs, struct loop *l, const char *path,
		    ctl_dispatch_fn dispatch, void *arg)
{
	cs->loop = l;
	cs->dispatch = dispatch;
	cs->arg = arg;
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	cs->io.fd = ctl_listen(path);
	if (cs->io.fd < 0)
		return -1;
	cs->io.cb = accept_ready;
	cs->io.arg = cs;
	return loop_add(l, &cs->io, EPOLLIN);
}

void ctl_server_close(struct ctl_server *cs)
{
	if (cs->io.fd < 0)
		return;
	loop_del(cs->loop, &cs->io);
	close(cs->io.fd);
	unlink(cs->path);
	cs->io.fd = -1;
}

struct ctl_deferred *ctl_server_defer(struct ctl_server *cs)
{
	struct ctl_client *c = cs->current;
	struct ctl_deferred *d;

	if (!c || c->pending || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->c = c;
	c->pending = d;
	c->deferred = 1;
	return d;
}

void ctl_deferred_reply(struct ctl_deferred *d, json_t *r)
{
	struct ctl_client *c = d->c;

	free(d);
	if (!c) {
		json_decref(r);
		return;
	}
	c->pending = NULL;
	if (c->in_dispatch) {	/* answered before its dispatch returned */
		if (reply(c, r) < 0)
			c->broken = 1;
		return;
	}
	if (reply(c, r) < 0) {
		client_close(c);
		return;
	}
	if (loop_mod(c->cs->loop, &c->io, EPOLLIN) < 0) {
		client_close(c);
		return;
	}
	process_lines(c);	/* requests that arrived while we waited */
}
