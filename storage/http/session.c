/*
 * session.c - the session table: creation, teardown, epoll interest,
 * timeouts, pacing, and the handoff interface (pause / snapshot / resume /
 * release / restore, see nasd.h and doc/nasd.md).
 */
#include "http.h"
#include "storage/handoff/handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "storage/listen.h"

#define LINGER_MS 2000
#define PACE_MS 10
#define PACE_MIN 4096	/* smallest paced write: the bucket refills continuously,
			 * so without a floor a session would spin on tiny sends */

static struct session *session_alloc(struct nasd *n, int fd)
{
	struct session *s = calloc(1, sizeof(*s));
	socklen_t sl;

	if (!s)
		return NULL;
	s->in = malloc(NASD_INBUF);
	if (!s->in) {
		free(s);
		return NULL;
	}
	s->nasd = n;
	s->io.fd = fd;
	s->io.cb = http_session_io;
	s->io.arg = s;
	s->file_fd = -1;
	s->remote_home = s->last_home = -1;
	s->up.fd = s->up.dirfd = -1;
	s->phase = PH_HEAD;
	s->after = SST_AFTER_NEXT;
	s->started_ms = s->last_io_ms = s->phase_ms = loop_now_ms();
	sl = sizeof(s->peer);
	getpeername(fd, (struct sockaddr *)&s->peer, &sl);
	sl = sizeof(s->local);
	getsockname(fd, (struct sockaddr *)&s->local, &sl);
	tcp_nodelay(fd);
	return s;
}

static void free_session(struct session *s)
{
	free(s->in);
	free(s->file_path);
	free(s->up_path);
	free(s->target);
	free(s);
}

static void link_session(struct nasd *n, struct session *s)
{
	s->id = ++n->next_id;
	s->next = n->sessions;
	if (n->sessions)
		n->sessions->prev = s;
	n->sessions = s;
	n->nsessions++;
}

static void unlink_session(struct session *s)
{
	struct nasd *n = s->nasd;

	if (s->prev)
		s->prev->next = s->next;
	else
		n->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	n->nsessions--;
	if (s->throttled)
		n->nthrottled--;
	s->throttled = 0;
}

static uint32_t wanted_events(const struct session *s)
{
	if (s->throttled || s->held || s->fetch_wait)
		return 0;
	if (s->phase == PH_SEND || s->kick)
		return s->phase == PH_SEND ? EPOLLOUT : EPOLLIN | EPOLLOUT;
	return EPOLLIN;
}

void session_watch(struct session *s)
{
	uint32_t ev = wanted_events(s);

	if (s->paused || ev == s->events)
		return;
	if (loop_mod(&s->nasd->loop, &s->io, ev) < 0)
		log_warn("session %llu: epoll", (unsigned long long)s->id);
	s->events = ev;
}

struct session *session_new(struct nasd *n, int fd)
{
	struct session *s = session_alloc(n, fd);

	if (!s) {
		close(fd);
		return NULL;
	}
	link_session(n, s);
	n->st.sessions_total++;
	s->events = EPOLLIN;
	if (loop_add(&n->loop, &s->io, EPOLLIN) < 0) {
		log_warn("epoll");
		session_close(s, "epoll");
		return NULL;
	}
	return s;
}

void session_close(struct session *s, const char *why)
{
	log_debug("session %llu: %s after %llu request(s)", (unsigned long long)s->id, why,
		  (unsigned long long)s->requests);
	if (!s->paused)
		loop_del(&s->nasd->loop, &s->io);
	close(s->io.fd);
	remote_cancel(s);
	if (s->file_fd >= 0)
		close(s->file_fd);
	if (s->has_upload)
		upload_end(s, 1);
	unlink_session(s);
	free_session(s);
}

struct session *session_find(struct nasd *n, uint64_t id)
{
	for (struct session *s = n->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

const char *session_phase_name(const struct session *s)
{
	switch (s->phase) {
	case PH_HEAD: return s->in_len ? "head" : "idle";
	case PH_SEND: return "send";
	case PH_BODY: return "body";
	case PH_LINGER: return "linger";
	default: return "?";
	}
}

void session_tick(struct nasd *n)
{
	const struct nasd_config *c = &n->cfg;
	uint64_t now = loop_now_ms();
	struct session *s, *next;

	for (s = n->sessions; s; s = next) {
		const char *why = NULL;
		next = s->next;
		if (s->paused || s->throttled)
			continue;
		switch (s->phase) {
		case PH_HEAD:
			if (!s->in_len && now - s->last_io_ms > c->idle_timeout_ms)
				why = "idle";
			else if (s->in_len && now - s->phase_ms > c->head_timeout_ms)
				why = "request head too slow";
			break;
		case PH_SEND:
		case PH_BODY:
			if (now - s->last_io_ms > c->io_timeout_ms)
				why = "no progress";
			break;
		default:
			if (now - s->phase_ms > LINGER_MS)
				why = "linger over";
			break;
		}
		if (why) {
			if (s->phase != PH_LINGER)
				n->st.timeouts++;
			session_close(s, why);
		}
	}
}

/* ---- pacing: a token bucket per session, refilled by the 10 ms pacer ---- */

static uint64_t burst(const struct session *s)
{
	uint64_t b = s->rate / 10;

	return b < PACE_MIN ? PACE_MIN : b;
}

static void refill(struct session *s)
{
	uint64_t now = loop_now_ns(), dt = now - s->tokens_ns;

	if (dt > 1000000000ull)
		dt = 1000000000ull;
	s->tokens_ns = now;
	s->credit += (uint64_t)s->rate * dt;
	s->tokens += s->credit / 1000000000ull;
	s->credit %= 1000000000ull;
	if (s->tokens > burst(s))
		s->tokens = burst(s);
}

void session_set_rate(struct session *s, uint32_t rate)
{
	s->rate = rate;
	s->credit = 0;
	s->tokens_ns = loop_now_ns();
	s->tokens = rate ? burst(s) : 0;
}

uint64_t session_tokens(struct session *s, uint64_t want)
{
	refill(s);
	if (s->tokens < (want < PACE_MIN ? want : PACE_MIN))
		return 0;
	return want < s->tokens ? want : s->tokens;
}

void session_spend(struct session *s, uint64_t used)
{
	s->tokens = used > s->tokens ? 0 : s->tokens - used;
}

void session_throttle(struct session *s)
{
	struct nasd *n = s->nasd;

	if (s->throttled)
		return;
	s->throttled = 1;
	n->nthrottled++;
	if (!n->pace_armed && loop_timer_set(&n->pace, PACE_MS, PACE_MS) == 0)
		n->pace_armed = 1;
}

void session_pace(struct nasd *n)
{
	unsigned paced = 0;

	for (struct session *s = n->sessions; s; s = s->next) {
		paced += s->rate && s->file_fd >= 0 && !s->paused;
		if (!s->throttled)
			continue;
		refill(s);
		uint64_t left = s->file_end - s->file_off;
		if (s->tokens >= (left < PACE_MIN ? left : PACE_MIN)) {
			s->throttled = 0;
			n->nthrottled--;
			session_watch(s);
		}
	}
	/* the pacer stays armed while paced responses run: arming it at every
	 * throttle would cost two timerfd calls per 10 ms */
	if (!paced && n->pace_armed) {
		loop_timer_set(&n->pace, 0, 0);
		n->pace_armed = 0;
	}
}

/* ---- handoff interface ---- */

int session_pause(struct session *s)
{
	if (s->paused)
		return 0;
	if (s->phase == PH_LINGER) {
		errno = EBUSY;	/* write side already shut: nothing left to hand off */
		return -1;
	}
	if (s->throttled) {
		s->throttled = 0;
		s->nasd->nthrottled--;
	}
	/* a fetch from a home stops here: its request is still in in[] (a HEAD)
	 * or fetch_end says what is in the memfd (a GET); resume fetches again */
	remote_cancel(s);
	loop_del(&s->nasd->loop, &s->io);
	s->paused = 1;
	s->events = 0;
	return 0;
}

void session_resume(struct session *s)
{
	if (!s->paused)
		return;
	s->paused = 0;
	s->kick = 1;	/* run once: buffered input needs no new event */
	s->events = wanted_events(s);
	if (s->rate)
		s->tokens_ns = loop_now_ns();
	if (loop_add(&s->nasd->loop, &s->io, s->events) < 0)
		log_warn("session %llu: epoll", (unsigned long long)s->id);
}

void session_to_state(const struct session *s, struct session_state *st)
{
	memset(st, 0, sizeof(*st));
	switch (s->phase) {
	case PH_HEAD: st->phase = SST_PH_HEAD; break;
	case PH_SEND: st->phase = SST_PH_SEND; break;
	case PH_BODY: st->phase = SST_PH_BODY; break;
	default: st->phase = 0; break;	/* PH_LINGER: not encodable */
	}
	if (s->phase == PH_SEND)
		st->after = (uint8_t)s->after;
	else
		st->after = s->keepalive || s->phase == PH_HEAD ? SST_AFTER_NEXT : SST_AFTER_CLOSE;
	st->flags = (s->keepalive ? SST_F_KEEPALIVE : 0) | (s->http10 ? SST_F_HTTP10 : 0);
	st->rate = s->file_fd >= 0 ? s->rate : 0;
	st->requests = s->requests;
	st->bytes_in = s->bytes_in;
	st->bytes_out = s->bytes_out;
	st->in = (struct sst_bytes){ (const uint8_t *)s->in, s->in_len };
	if (s->out_off < s->out_len)
		st->out = (struct sst_bytes){ (const uint8_t *)s->out + s->out_off,
					      s->out_len - s->out_off };
	if (s->file_fd >= 0) {
		st->has_file = 1;
		st->file_off = s->file_off;
		st->file_end = s->file_end;
		st->file_size = s->file_size;
		st->file_mtime_ns = s->file_mtime_ns;
		st->file_path = (struct sst_bytes){ (const uint8_t *)s->file_path,
						    strlen(s->file_path) };
	}
	if (s->has_upload) {
		st->has_upload = 1;
		st->up_received = s->up_received;
		st->up_length = s->up_length;
		st->up_flags = s->up.existed ? SST_UP_EXISTED : 0;
		st->up_path = (struct sst_bytes){ (const uint8_t *)s->up_path, strlen(s->up_path) };
		st->up_tmp = (struct sst_bytes){ (const uint8_t *)s->up.tmp, strlen(s->up.tmp) };
	}
}

ssize_t session_snapshot(const struct session *s, uint8_t *buf, size_t cap)
{
	struct session_state st;

	if (s->phase == PH_LINGER) {
		errno = EBUSY;
		return -1;
	}
	session_to_state(s, &st);
	return session_state_encode(&st, buf, cap);
}

int session_release(struct session *s)
{
	struct nasd *n = s->nasd;
	int fd = s->io.fd;

	if (!s->paused) {
		errno = EINVAL;
		return -1;
	}
	remote_cancel(s);	/* (paused: nothing in flight) */
	if (s->file_fd >= 0)
		close(s->file_fd);	/* a remote response's memfd goes with it */
	if (s->has_upload)
		upload_end(s, 0);	/* the temp file now belongs to the new owner */
	unlink_session(s);
	free_session(s);
	n->st.sessions_released++;
	return fd;
}

static char *dup_bytes(struct sst_bytes b)
{
	return strndup((const char *)b.p, b.len);
}

/* The connection part of st into the fresh session s: unparsed input,
 * unwritten output, phase, the current request's flags, counters.  Sizes
 * were checked against this daemon's buffers. */
static void restore_conn(struct session *s, const struct session_state *st)
{
	memcpy(s->in, st->in.p ? (const char *)st->in.p : "", st->in.len);
	s->in_len = st->in.len;
	if (st->out.len)
		memcpy(s->out, st->out.p, st->out.len);
	s->out_len = st->out.len;
	s->phase = st->phase == SST_PH_HEAD ? PH_HEAD : st->phase == SST_PH_SEND ? PH_SEND : PH_BODY;
	s->after = st->after;
	s->keepalive = !!(st->flags & SST_F_KEEPALIVE);
	s->http10 = !!(st->flags & SST_F_HTTP10);
	s->requests = st->requests;
	s->bytes_in = st->bytes_in;
	s->bytes_out = st->bytes_out;
	s->restored = 1;
	s->kick = 1;
}

/* The file a response was sending, reopened here: it must be the version
 * (size and mtime) the old node sent from, or the client would get a mix
 * of two.  0, or -1 with a message in err (what s holds is freed by
 * restore_abandon). */
static int restore_file(struct session *s, const struct session_state *st, char *err,
			size_t errlen)
{
	struct export_ref ref;
	struct export_file f;

	s->file_path = dup_bytes(st->file_path);
	if (!s->file_path || export_find(&s->nasd->cfg, s->file_path, &ref) < 0)
		return err_set(err, errlen, "%s: not in an export here", s->file_path ? s->file_path : "?");
	int rc = export_open_file(&ref, &f);
	if (rc)
		return err_set(err, errlen, "%s: cannot open (HTTP %d)", s->file_path, rc);
	if (f.size != st->file_size || f.mtime_ns != st->file_mtime_ns) {
		close(f.fd);
		return err_set(err, errlen, "%s: not the version being sent (size/mtime differ)",
			       s->file_path);
	}
	s->file_fd = f.fd;
	s->file_off = st->file_off;
	s->file_end = st->file_end;
	s->file_size = st->file_size;
	s->file_mtime_ns = st->file_mtime_ns;
	session_set_rate(s, st->rate);
	/* an empty bucket: the burst was spent on the old node; a full
	 * one would let a session handed off often run far above its rate */
	s->tokens = 0;
	return 0;
}

/* The upload in progress: its temp file (handed on by the old node's
 * session_release) reopened and cut to the bytes received.  0, or -1 with a
 * message in err. */
static int restore_upload(struct session *s, const struct session_state *st, char *err,
			  size_t errlen)
{
	struct export_ref ref;
	char tmp[SST_MAX_NAME + 1];

	s->up_path = dup_bytes(st->up_path);
	if (!s->up_path || export_find(&s->nasd->cfg, s->up_path, &ref) < 0)
		return err_set(err, errlen, "%s: not in an export here", s->up_path ? s->up_path : "?");
	snprintf(tmp, sizeof(tmp), "%.*s", (int)st->up_tmp.len, (const char *)st->up_tmp.p);
	if (export_upload_reopen(&ref, tmp, st->up_received, &s->up) < 0)
		return err_set(err, errlen, "%s: temp file %s: %s", s->up_path, tmp, strerror(errno));
	s->up.existed = !!(st->up_flags & SST_UP_EXISTED);
	s->has_upload = 1;
	s->up_received = st->up_received;
	s->up_length = st->up_length;
	return 0;
}

/* Give up a session restore was building (not linked): its file and temp
 * file are closed (the temp file stays on disk), the socket is left to the
 * caller. */
static void restore_abandon(struct session *s)
{
	if (s->file_fd >= 0)
		close(s->file_fd);
	if (s->up.fd >= 0 || s->up.dirfd >= 0)
		export_upload_abort(&s->up, 0);
	free_session(s);
}

struct session *session_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len,
				char *err, size_t errlen)
{
	struct session_state st;
	char derr[128];
	struct session *s;
	int fl;

	if (session_state_decode(blob, len, &st, derr, sizeof(derr)) < 0) {
		snprintf(err, errlen, "bad session state: %s", derr);
		return NULL;
	}
	if (st.in.len > NASD_INBUF || st.out.len > NASD_OUTBUF) {
		snprintf(err, errlen, "session state: buffers larger than this daemon's");
		return NULL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	s = session_alloc(n, fd);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	restore_conn(s, &st);
	if ((st.has_file && restore_file(s, &st, err, errlen) < 0) ||
	    (st.has_upload && restore_upload(s, &st, err, errlen) < 0)) {
		restore_abandon(s);
		return NULL;
	}
	s->target = strdup(s->file_path ? s->file_path : s->up_path ? s->up_path : "");
	link_session(n, s);
	n->st.sessions_restored++;
	s->events = wanted_events(s);
	if (loop_add(&n->loop, &s->io, s->events) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		unlink_session(s);
		restore_abandon(s);
		return NULL;
	}
	return s;
}
