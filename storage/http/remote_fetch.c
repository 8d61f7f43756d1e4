/*
 * remote_fetch.c - one request to a home node (data location, remote.c),
 * driven by nasd's event loop: a non-blocking connect, the request written
 * and the answer read as the socket becomes ready, a timer for the deadline
 * (data_location.timeout_ms, connect to last byte).  Nothing here waits:
 * the session that asked is held (fetch_wait: no I/O of its own) and woken
 * when bytes arrive or the fetch ends, while every other HTTP session, the
 * NFS service and the handoff agent go on being served.
 *
 * A HEAD gives the version of a file (its answer is kept in the fetch until
 * remote_open takes it).  A GET asks for one piece (Range, the ETag checked)
 * and writes its body into the session's memfd at its offsets as it comes,
 * moving s->fetch_end, so the session sends the first bytes of a piece
 * before the last ones are in.  One request per connection ("Connection:
 * close"), as the home's answers are read to their Content-Length only.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_resp.h"
#include "lib/log.h"
#include "storage/listen.h"

enum { FS_CONNECT = 1, FS_SEND, FS_HEAD, FS_BODY, FS_DONE };

#define READ_BUDGET (1u << 20)	/* body bytes read per event (fairness) */

struct remote_fetch {
	struct loop_io io;		/* the connection to the home (fd -1 once done) */
	struct loop_timer timer;	/* the deadline */
	int timer_ok;
	struct session *s;		/* who asked (and owns this) */
	int home, kind, state;
	char *path;
	uint64_t first, last;		/* GET: the range asked */
	uint64_t off, left;		/* GET: where the next body byte goes, bytes still to come */
	size_t req_len, req_off, hl;
	struct http_resp_head rh;
	int answer;			/* a HEAD's: 0, or the status to answer */
	uint64_t size, mtime_ns;	/* a HEAD's: the version */
	char req[HTTP_MAX_TARGET + 256];
	char head[HTTP_RESP_MAX_HEAD];
};

/* Percent-encode a clean path for a request line: unreserved bytes and '/'
 * as they are, everything else %XX.  0, or -1 if it does not fit. */
static int encode_path(const char *path, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		int plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("/-._~", *c);
		if (o + 4 > cap)
			return -1;
		if (plain) {
			out[o++] = (char)*c;
		} else {
			out[o++] = '%';
			out[o++] = hex[*c >> 4];
			out[o++] = hex[*c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* f's request: HEAD, or GET with its range; one request per connection.
 * 0, or -1 (too long). */
static int build_request(struct remote_fetch *f)
{
	char epath[HTTP_MAX_TARGET];
	int n;

	if (encode_path(f->path, epath, sizeof(epath)) < 0)
		return -1;
	if (f->kind == FETCH_GET)
		n = snprintf(f->req, sizeof(f->req), "GET %s HTTP/1.1\r\nHost: tandem-home\r\n"
			     "Range: bytes=%llu-%llu\r\nConnection: close\r\n\r\n", epath,
			     (unsigned long long)f->first, (unsigned long long)f->last);
	else
		n = snprintf(f->req, sizeof(f->req), "HEAD %s HTTP/1.1\r\nHost: tandem-home\r\n"
			     "Connection: close\r\n\r\n", epath);
	if (n < 0 || (size_t)n >= sizeof(f->req))
		return -1;
	f->req_len = (size_t)n;
	return 0;
}

static const struct nasd_home *home_of(const struct remote_fetch *f)
{
	return &f->s->nasd->cfg.dl.homes[f->home];
}

/* The connection and the timer go; the struct (a HEAD's answer) stays. */
static void hang_up(struct remote_fetch *f)
{
	struct loop *l = &f->s->nasd->loop;

	if (f->io.fd >= 0) {
		loop_del(l, &f->io);
		close(f->io.fd);
		f->io.fd = -1;
	}
	if (f->timer_ok) {
		loop_timer_close(l, &f->timer);
		f->timer_ok = 0;
	}
	f->state = FS_DONE;
}

void remote_cancel(struct session *s)
{
	struct remote_fetch *f = s->fetch;

	if (!f)
		return;
	hang_up(f);
	free(f->path);
	free(f);
	s->fetch = NULL;
	s->fetch_wait = 0;
}

/* The session, if it was waiting on its fetch, runs again (its I/O back;
 * kick: once even without a socket event, its request may be buffered). */
static void wake(struct session *s, int waiting)
{
	if (!waiting)
		return;
	s->fetch_wait = 0;
	s->kick = 1;
	session_watch(s);
}

/* The fetch failed (why): a HEAD answers 502; a GET ends the response at
 * what was fetched (fetch_failed: remote_more says so when the session gets
 * there).  Logged, counted. */
static void fail(struct remote_fetch *f, const char *why)
{
	struct session *s = f->s;
	int waiting = s->fetch_wait;

	s->nasd->st.dl_fetch_errors++;
	if (f->kind == FETCH_HEAD) {
		log_warnx("data location: HEAD %s at %s: %s", f->path, home_of(f)->node, why);
		f->answer = 502;
		hang_up(f);
	} else {
		log_warnx("data location: session %llu: %s bytes %llu-%llu from %s: %s",
			  (unsigned long long)s->id, f->path, (unsigned long long)f->first,
			  (unsigned long long)f->last, home_of(f)->node, why);
		s->fetch_failed = 1;
		remote_cancel(s);
	}
	wake(s, waiting);
}

/* A HEAD's head is in: what remote_open will answer. */
static void head_answered(struct remote_fetch *f)
{
	struct http_resp_head *rh = &f->rh;

	if (rh->status == 404 || rh->status == 403) {
		f->answer = rh->status;
	} else if (rh->status != 200 || !rh->has_length ||
		   http_resp_etag_split(rh->etag, &f->size, &f->mtime_ns) < 0 || f->size != rh->length) {
		f->s->nasd->st.dl_fetch_errors++;
		log_warnx("data location: HEAD %s at %s: status %d, no usable ETag", f->path,
			  home_of(f)->node, rh->status);
		f->answer = 502;
	} else {
		f->answer = 0;
	}
	hang_up(f);
	wake(f->s, f->s->fetch_wait);
}

/* n body bytes at p: into the memfd at f->off; the session may send them.
 * 0, or -1 (failed: f is gone). */
static int body_bytes(struct remote_fetch *f, const char *p, size_t n)
{
	struct session *s = f->s;
	int waiting = s->fetch_wait;
	char why[96];

	if (n > f->left)
		n = (size_t)f->left;
	if (pwrite(s->file_fd, p, n, (off_t)f->off) != (ssize_t)n) {
		snprintf(why, sizeof(why), "memfd: %s", strerror(errno));
		fail(f, why);
		return -1;
	}
	f->off += n;
	f->left -= n;
	s->fetch_end = f->off;
	s->fetched += n;
	s->nasd->st.dl_fetched_bytes += n;
	if (!f->left) {
		s->nasd->st.dl_fetches++;
		remote_cancel(s);	/* the piece is in: f is freed */
	}
	wake(s, waiting);
	return 0;
}

/* A GET's head is in (got bytes of head[0..hl)): the right piece of the
 * right version?  Then the body bytes that came with it.  0, or -1 (f gone). */
static int get_answered(struct remote_fetch *f, int got)
{
	const struct http_resp_head *rh = &f->rh;

	if (rh->status != 206) {
		fail(f, "not a 206");
		return -1;
	}
	if (strcmp(rh->etag, f->s->remote_etag)) {
		fail(f, "the file changed");
		return -1;
	}
	if (!rh->has_length || !rh->has_range || rh->first != f->first || rh->last != f->last ||
	    rh->length != f->last - f->first + 1) {
		fail(f, "the home answered another range than asked");
		return -1;
	}
	f->state = FS_BODY;
	f->off = f->first;
	f->left = rh->length;
	if ((size_t)got < f->hl)
		return body_bytes(f, f->head + got, f->hl - (size_t)got);
	return 0;
}

/* FS_HEAD: read the answer's head.  0 (wait, or go on), -1 (f gone or done). */
static int read_head(struct remote_fetch *f)
{
	const char *why;
	int got;

	if (f->hl == sizeof(f->head)) {
		fail(f, "response head too long");
		return -1;
	}
	ssize_t r = recv(f->io.fd, f->head + f->hl, sizeof(f->head) - f->hl, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {
		fail(f, "connection closed before the response head");
		return -1;
	}
	f->hl += (size_t)r;
	got = http_resp_parse(f->head, f->hl, &f->rh, &why);
	if (got < 0) {
		char m[128];
		snprintf(m, sizeof(m), "bad response: %s", why);
		fail(f, m);
		return -1;
	}
	if (got == 0)
		return 0;
	if (f->kind == FETCH_HEAD) {
		head_answered(f);
		return -1;
	}
	return get_answered(f, got);
}

/* FS_BODY: read what is there, within a budget.  -1 once f is gone. */
static int read_body(struct remote_fetch *f)
{
	struct session *s = f->s;
	struct nasd *n = s->nasd;
	size_t budget = READ_BUDGET;

	while (budget) {
		size_t want = f->left < NASD_SCRATCH ? (size_t)f->left : NASD_SCRATCH;
		ssize_t r = recv(f->io.fd, n->scratch, want, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r <= 0) {
			fail(f, "connection closed in the body");
			return -1;
		}
		if (body_bytes(f, n->scratch, (size_t)r) < 0 || s->fetch != f)
			return -1;	/* failed, or the piece is complete (f freed) */
		budget = (size_t)r < budget ? budget - (size_t)r : 0;
	}
	return 0;
}

/* FS_CONNECT and FS_SEND: the connection is up, the request goes out.
 * 0, or -1 (f failed). */
static int send_request(struct remote_fetch *f)
{
	int soe = 0;
	socklen_t sol = sizeof(soe);
	char why[96];

	if (f->state == FS_CONNECT) {
		if (getsockopt(f->io.fd, SOL_SOCKET, SO_ERROR, &soe, &sol) < 0 || soe) {
			snprintf(why, sizeof(why), "connect: %s", strerror(soe ? soe : errno));
			fail(f, why);
			return -1;
		}
		f->state = FS_SEND;
	}
	ssize_t w = send(f->io.fd, f->req + f->req_off, f->req_len - f->req_off, MSG_NOSIGNAL);
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (w < 0) {
		snprintf(why, sizeof(why), "send: %s", strerror(errno));
		fail(f, why);
		return -1;
	}
	f->req_off += (size_t)w;
	if (f->req_off == f->req_len) {
		f->state = FS_HEAD;
		loop_mod(&f->s->nasd->loop, &f->io, EPOLLIN);
	}
	return 0;
}

static void fetch_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct remote_fetch *f = io->arg;

	(void)l;
	(void)events;	/* errors show in SO_ERROR, send or recv */
	switch (f->state) {
	case FS_CONNECT:
	case FS_SEND:
		send_request(f);
		break;
	case FS_HEAD:
		read_head(f);
		break;
	case FS_BODY:
		read_body(f);
		break;
	default:
		break;
	}
}

static void fetch_deadline(struct loop *l, struct loop_timer *t)
{
	struct remote_fetch *f = t->arg;
	char why[64];

	(void)l;
	snprintf(why, sizeof(why), "%s in %u ms", f->state == FS_BODY ? "body not complete" :
		 "no response", f->s->nasd->cfg.dl.timeout_ms);
	fail(f, why);
}

/* f's connection, registered, its deadline armed.  0, or -1 with a message
 * in why (what is open is closed by hang_up). */
static int connect_home(struct remote_fetch *f, char *why, size_t cap)
{
	struct nasd *n = f->s->nasd;
	const struct nasd_home *h = home_of(f);
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&h->addr, h->port, &ss);

	if (loop_timer_init(&n->loop, &f->timer, fetch_deadline, f) < 0)
		return snprintf(why, cap, "timer: %s", strerror(errno)), -1;
	f->timer_ok = 1;
	f->io.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->io.fd < 0)
		return snprintf(why, cap, "socket: %s", strerror(errno)), -1;
	tcp_nodelay(f->io.fd);
	if (connect(f->io.fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		return snprintf(why, cap, "connect: %s", strerror(errno)), -1;
	f->io.cb = fetch_io;
	f->io.arg = f;
	if (loop_add(&n->loop, &f->io, EPOLLOUT) < 0)
		return snprintf(why, cap, "epoll: %s", strerror(errno)), -1;
	if (loop_timer_set(&f->timer, n->cfg.dl.timeout_ms, 0) < 0)
		return snprintf(why, cap, "timer: %s", strerror(errno)), -1;
	return 0;
}

int remote_fetch_start(struct session *s, int h, int kind, const char *path, uint64_t first,
		       uint64_t last)
{
	struct remote_fetch *f = calloc(1, sizeof(*f));
	char why[96] = "out of memory";

	if (!f || !(f->path = strdup(path)))
		goto fail;
	f->s = s;
	f->home = h;
	f->kind = kind;
	f->first = first;
	f->last = last;
	f->state = FS_CONNECT;
	f->io.fd = -1;
	s->fetch = f;
	if (build_request(f) < 0) {
		snprintf(why, sizeof(why), "path too long");
		goto fail;
	}
	if (connect_home(f, why, sizeof(why)) < 0)
		goto fail;
	return 0;
fail:
	s->nasd->st.dl_fetch_errors++;
	log_warnx("data location: %s %s at %s: %s", kind == FETCH_HEAD ? "HEAD" : "GET", path,
		  s->nasd->cfg.dl.homes[h].node, why);
	if (f && s->fetch == f)
		remote_cancel(s);
	else if (f)
		free(f);
	return -1;
}

int remote_head_answer(const struct session *s, const char *path, struct export_file *f,
		       char *etag, size_t cap)
{
	const struct remote_fetch *rf = s->fetch;

	if (!rf || rf->kind != FETCH_HEAD || strcmp(rf->path, path))
		return -1;
	if (rf->state != FS_DONE)
		return -2;
	if (rf->answer)
		return rf->answer;
	f->size = rf->size;
	f->mtime_ns = rf->mtime_ns;
	snprintf(etag, cap, "%s", rf->rh.etag);
	return 0;
}
