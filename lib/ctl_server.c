/*
 * ctl_server.c - see ctl_server.h.  Nothing here blocks the daemon's loop:
 * a reply goes out as far as the client's socket takes it, the rest waits
 * in the client's output buffer for EPOLLOUT, and the client's further
 * requests wait (unread) until it is gone.
 */
#include "ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"

struct ctl_client {
	struct loop_io io;
	struct ctl_server *cs;
	struct ctl_client *next, **prevp;	/* cs->clients */
	struct ctl_deferred *pending;	/* a reply owed: reading is paused */
	int in_dispatch;		/* its request is being dispatched right now */
	int deferred;			/* ... and the dispatch deferred its reply */
	int sent_in_dispatch;		/* reply()'s result for a reply given meanwhile */
	char *buf;			/* requests received, not yet answered */
	size_t len, cap;
	char *out;			/* a reply (with its newline) not yet sent */
	size_t out_len, out_off;
	uint64_t out_ms;		/* when out last made progress */
};

struct ctl_deferred {
	struct ctl_client *c;		/* NULL once the client hung up */
};

static void client_close(struct ctl_client *c)
{
	if (c->pending)
		c->pending->c = NULL;
	*c->prevp = c->next;
	if (c->next)
		c->next->prevp = c->prevp;
	c->cs->nclients--;
	loop_del(c->cs->loop, &c->io);
	close(c->io.fd);
	free(c->buf);
	free(c->out);
	free(c);
}

/* Send what the socket takes of the queued reply.  1 all sent, 0 some
 * left (the caller waits for EPOLLOUT), -1 the client is gone. */
static int flush_out(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
		c->out_ms = loop_now_ms();
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* Queue reply r (consumed) as one line and send what goes at once.
 * 1 sent, 0 queued (wait for EPOLLOUT), -1 failed (close the client). */
static int reply(struct ctl_client *c, json_t *r)
{
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(r);
	if (!s)
		return -1;
	n = strlen(s);
	c->out = realloc(s, n + 1);
	if (!c->out) {
		free(s);
		return -1;
	}
	c->out[n] = '\n';
	c->out_len = n + 1;
	c->out_off = 0;
	c->out_ms = loop_now_ms();
	return flush_out(c);
}

/* After a reply: go on with the client (1), wait for its socket (0: watch
 * EPOLLOUT only, so no new request is read meanwhile), or it is closed (-1). */
static int after_reply(struct ctl_client *c, int sent)
{
	if (sent < 0 || (sent == 0 && loop_mod(c->cs->loop, &c->io, EPOLLOUT) < 0)) {
		client_close(c);
		return -1;
	}
	return sent;
}

/*
 * Answer every complete line in the buffer, in order, until one is
 * deferred or a reply waits for the socket.  Returns -1 if the client was
 * closed.
 *
 * A dispatch may defer its reply (ctl_server_defer) and may even answer it
 * before it returns (ctl_deferred_reply from inside the dispatch, e.g.
 * syncd's barrier with nothing in flight).  So the line is taken out of the
 * buffer before the dispatch, and a reply given during the dispatch is only
 * queued (its fate settled here, after the dispatch): never a nested loop
 * over the same buffer.
 */
static int process_lines(struct ctl_client *c)
{
	char *nl;

	while (!c->pending && !c->out && (nl = memchr(c->buf, '\n', c->len))) {
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
			if (c->pending) {
				loop_mod(c->cs->loop, &c->io, 0);	/* HUP/ERR still reported */
				return 0;
			}
			/* answered during the dispatch */
			if (after_reply(c, c->sent_in_dispatch) < 0)
				return -1;
			continue;
		}
		if (after_reply(c, reply(c, r)) < 0)
			return -1;
	}
	return 0;
}

/* The queued reply went out: read requests again, answer those buffered. */
static void client_writable(struct ctl_client *c)
{
	int rc = flush_out(c);

	if (rc < 0) {
		client_close(c);
		return;
	}
	if (rc == 0)
		return;
	if (loop_mod(c->cs->loop, &c->io, EPOLLIN) < 0) {
		client_close(c);
		return;
	}
	process_lines(c);
}

/* A request longer than CTL_MAX_LINE: say so if the socket takes it, and
 * hang up either way. */
static void refuse_long(struct ctl_client *c)
{
	free(c->out);
	c->out = NULL;
	reply(c, ctl_error("request longer than %d bytes", CTL_MAX_LINE));
	client_close(c);
}

static void client_event(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct ctl_client *c = io->arg;

	if (c->pending) {	/* only HUP/ERR arrive while paused */
		client_close(c);
		return;
	}
	if (c->out) {		/* only EPOLLOUT (or HUP/ERR) is watched meanwhile */
		client_writable(c);
		return;
	}
	if (c->cap - c->len < 4096) {
		size_t ncap = c->cap ? c->cap * 2 : 8192;
		char *nb = ncap > CTL_MAX_LINE * 2 ? NULL : realloc(c->buf, ncap);
		if (!nb) {
			refuse_long(c);
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
	if (c->len > CTL_MAX_LINE)
		refuse_long(c);
}

/* Room for one more client: drop those whose reply has not moved for
 * CTL_STALL_MS (they stopped reading); 1 if there is room now. */
static int make_room(struct ctl_server *cs)
{
	uint64_t now = loop_now_ms();

	for (struct ctl_client *c = cs->clients, *next; c; c = next) {
		next = c->next;
		if (c->out && now - c->out_ms >= CTL_STALL_MS) {
			cs->dropped++;
			client_close(c);
		}
	}
	return cs->nclients < CTL_MAX_CLIENTS;
}

static void accept_ready(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct ctl_server *cs = io->arg;
	int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (!make_room(cs)) {
		cs->refused++;
		close(fd);	/* the client sees the connection closed */
		return;
	}
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->io.fd = fd;
	c->io.cb = client_event;
	c->io.arg = c;
	c->cs = cs;
	c->next = cs->clients;
	if (c->next)
		c->next->prevp = &c->next;
	c->prevp = &cs->clients;
	cs->clients = c;
	cs->nclients++;
	if (loop_add(lp, &c->io, EPOLLIN) < 0)
		client_close(c);
}

int ctl_server_open(struct ctl_server *cs, struct loop *l, const char *path,
		    ctl_dispatch_fn dispatch, void *arg)
{
	cs->loop = l;
	cs->dispatch = dispatch;
	cs->arg = arg;
	cs->clients = NULL;
	cs->nclients = 0;
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
	if (c->in_dispatch) {	/* answered before its dispatch returned: see process_lines */
		c->sent_in_dispatch = reply(c, r);
		return;
	}
	if (after_reply(c, reply(c, r)) <= 0)
		return;		/* closed, or waiting for EPOLLOUT */
	if (loop_mod(c->cs->loop, &c->io, EPOLLIN) < 0) {
		client_close(c);
		return;
	}
	process_lines(c);	/* requests that arrived while we waited */
}
