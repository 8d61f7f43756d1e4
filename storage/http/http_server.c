/*
 * http_server.c - listeners and the per-session HTTP/1.1 state machine.
 *
 *   PH_HEAD ---request---> PH_SEND (GET/HEAD/errors: out[] then the file span)
 *      ^                      |  after NEXT (keep-alive): back to PH_HEAD,
 *      |                      |  pipelined bytes already in in[] first
 *      |                      |  after BODY ("100 Continue" sent): PH_BODY
 *      |                      |  after CLOSE: shutdown(WR), PH_LINGER
 *      +-- PUT -----------> PH_BODY (Content-Length bytes -> temp file,
 *                              rename, then PH_SEND with 201/204)
 *
 * Every step either makes progress or returns STEP_WAIT (the socket would
 * block); epoll is level-triggered, so a step that stops early because of
 * its byte budget (fairness between sessions) is called again.  Between two
 * events every session is in a state session_state can describe: that is
 * what makes a session freezable at any time (session.c).
 */
#include "http.h"
#include "storage/handoff/handoff.h"
#include "storage/nfs/nfs.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/netio.h"
#include "storage/listen.h"

#define SENDFILE_CHUNK (1u << 20)
#define LINGER_MAX (1u << 20)		/* input discarded after a final response */

/* ---- listeners ---- */

static void accept_ready(struct loop *l, struct loop_io *io, uint32_t events);

int http_server_open(struct nasd *n)
{
	char a[TADDR_STRLEN];

	for (unsigned i = 0; i < n->cfg.nlisten; i++) {
		struct nasd_listener *li = &n->listeners[i];
		li->nasd = n;
		li->addr = n->cfg.listen[i];
		if (tcp_listen_io(&li->io, &li->addr.addr, li->addr.port, 1024, accept_ready, li) < 0) {
			log_warn("listen %s port %u", taddr_fmt(&li->addr.addr, a, sizeof(a)),
				 li->addr.port);
			return -1;
		}
		n->nlisteners++;
		if (loop_add(&n->loop, &li->io, EPOLLIN) < 0) {
			log_warn("epoll");
			return -1;
		}
	}
	return 0;
}

void http_server_close(struct nasd *n)
{
	for (unsigned i = 0; i < n->nlisteners; i++) {
		if (!n->accept_paused)
			loop_del(&n->loop, &n->listeners[i].io);
		close(n->listeners[i].io.fd);
	}
	n->nlisteners = 0;
}

void http_server_tick(struct nasd *n)
{
	if (!n->accept_paused)
		return;
	n->accept_paused = 0;
	for (unsigned i = 0; i < n->nlisteners; i++)
		loop_add(&n->loop, &n->listeners[i].io, EPOLLIN);
}

static void accept_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: tandem-nasd\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct nasd_listener *li = io->arg;
	struct nasd *n = li->nasd;

	for (int i = 0; i < 32; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered: do not spin; try again at the next tick */
				log_warn("accept (pausing for a second)");
				for (unsigned j = 0; j < n->nlisteners; j++)
					loop_del(&n->loop, &n->listeners[j].io);
				n->accept_paused = 1;
			}
			return;
		}
		if (n->nsessions >= n->cfg.max_sessions) {
			n->st.refused_busy++;
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		session_new(n, fd);
		if (n->accept_paused)
			return;
	}
}

/* ---- responses ---- */

static void count_status(struct session *s, int status)
{
	s->last_status = status;
	if (status >= 100 && status < 600)
		s->nasd->st.status_class[status / 100]++;
}

/* Queue a response head (+ a small body) and go to PH_SEND. */
static int queue(struct session *s, const struct resp_hdr *h, const char *body, size_t blen)
{
	int n = http_response_head(s->nasd, h, s->out, sizeof(s->out));

	if (n < 0 || (size_t)n + blen > sizeof(s->out)) {
		log_warnx("session %llu: response head does not fit", (unsigned long long)s->id);
		return -1;
	}
	if (blen)
		memcpy(s->out + n, body, blen);
	s->out_off = 0;
	s->out_len = (size_t)n + blen;
	s->phase = PH_SEND;
	s->phase_ms = loop_now_ms();
	s->after = h->keepalive ? SST_AFTER_NEXT : SST_AFTER_CLOSE;
	count_status(s, h->status);
	return 0;
}

/* The contract is in http.h (errors, /node). */
int http_respond_text(struct session *s, int status, const char *text, int keepalive,
		      int head_only, const char *allow)
{
	char body[512];
	int bl;

	if (text)
		bl = snprintf(body, sizeof(body), "%s", text);
	else
		bl = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	if (bl < 0 || (size_t)bl >= sizeof(body))
		bl = (int)sizeof(body) - 1;
	struct resp_hdr h = {
		.status = status,
		.length = (uint64_t)bl,
		.content_type = "text/plain",
		.keepalive = keepalive && s->keepalive,
		.http10 = s->http10,
		.allow = allow,
	};
	if (!h.keepalive)
		s->keepalive = 0;
	return queue(s, &h, body, head_only ? 0 : (size_t)bl) < 0 ? STEP_CLOSE : STEP_AGAIN;
}

int http_respond_error(struct session *s, int status, int keepalive, int head_only)
{
	return http_respond_text(s, status, NULL, keepalive, head_only, NULL);
}

/* A refused request (access_status): 401 asks for the bearer token.  A PUT
 * ends the connection (its body is not read). */
static int respond_denied(struct session *s, int status, int method)
{
	char body[64];
	int bl = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));

	if (method == HTTP_M_PUT)
		s->keepalive = 0;
	if (status != 401)
		return http_respond_error(s, status, 1, method == HTTP_M_HEAD);
	struct resp_hdr h = {
		.status = 401, .length = (uint64_t)bl, .content_type = "text/plain",
		.keepalive = s->keepalive, .http10 = s->http10,
		.authenticate = "Bearer realm=\"tandem-nasd\"",
	};
	return queue(s, &h, body, (size_t)bl) < 0 ? STEP_CLOSE : STEP_AGAIN;
}

/* ---- requests ---- */

struct reqinfo {
	int method;
	char path[SST_MAX_PATH + 1];
	uint32_t rate;
	struct http_range range;
	int if_range_ok;	/* no If-Range, or it matches (decided once the file is open) */
	char if_range[128];
	int has_if_range;
};

/* /slow/x -> /x at the prefix's rate (GET/HEAD). */
static void apply_throttle(struct session *s, struct reqinfo *ri, const struct http_slice *target)
{
	const struct nasd_config *cfg = &s->nasd->cfg;

	for (unsigned i = 0; i < cfg->nthrottle; i++) {
		const struct nasd_throttle *t = &cfg->throttle[i];
		size_t pl = strlen(t->prefix);
		if (strncmp(ri->path, t->prefix, pl) != 0)
			continue;
		memmove(ri->path, ri->path + pl - 1, strlen(ri->path + pl - 1) + 1);
		ri->rate = t->rate;
		if (t->rate_arg[0]) {
			char v[24];
			char *end;
			ri->rate = 0;
			if (http_query_param(target->p, target->len, t->rate_arg, v, sizeof(v)) > 0) {
				unsigned long long r = strtoull(v, &end, 10);
				if (!*end && r <= UINT32_MAX)
					ri->rate = (uint32_t)r;
			}
		}
		return;
	}
}

/* Open the file a GET/HEAD names: the home's copy when another node is its
 * home (remote.c; *home its index), else the local file beneath its export
 * (*home -1).  0, or the HTTP status to answer. */
static int open_source(struct session *s, const char *path, struct export_file *f, int *home)
{
	struct export_ref ref;

	*home = remote_home_for(s->nasd, path);
	if (*home >= 0)
		return remote_open(s, path, f);
	if (export_find(&s->nasd->cfg, path, &ref) < 0)
		return 404;
	return export_open_file(&ref, f);
}

/* The span of f the response carries, [*first, *last]: the requested
 * range (*partial: a 206) when there is one and its If-Range, if any,
 * names this version (ETag or date); else the whole file.  0, or -1 when
 * the range cannot be satisfied (416). */
static int choose_span(const struct reqinfo *ri, const struct export_file *f, uint64_t *first,
		       uint64_t *last, int *partial)
{
	char etag[64], date[64];

	*first = *last = 0;
	*partial = 0;
	if (ri->range.kind != HTTP_RANGE_NONE) {
		int use = 1;
		if (ri->has_if_range) {
			http_etag(f->size, f->mtime_ns, etag, sizeof(etag));
			http_date(f->mtime_ns, date, sizeof(date));
			use = !strcmp(ri->if_range, etag) || !strcmp(ri->if_range, date);
		}
		int rr = use ? http_range_resolve(&ri->range, f->size, first, last) : 0;
		if (rr < 0)
			return -1;
		*partial = rr == 1;
	}
	if (!*partial) {
		*first = 0;
		*last = f->size ? f->size - 1 : 0;
	}
	return 0;
}

/* 416 with Content-Range: bytes * / size. */
static int respond_416(struct session *s, uint64_t size, int head_only)
{
	char body[64];
	int bl = snprintf(body, sizeof(body), "416 %s\n", http_reason(416));
	struct resp_hdr h = {
		.status = 416, .length = (uint64_t)bl, .content_type = "text/plain",
		.unsatisfied = 1, .total = size, .keepalive = s->keepalive, .http10 = s->http10,
	};

	return queue(s, &h, body, head_only ? 0 : (size_t)bl) < 0 ? STEP_CLOSE : STEP_AGAIN;
}

/* The response head is queued: the session sends [first, first + length)
 * of f after it (f->fd is the session's now, or closed on failure). */
static int start_body(struct session *s, const struct reqinfo *ri, const struct export_file *f,
		      uint64_t first, uint64_t length, int home)
{
	s->file_path = strdup(ri->path);
	if (!s->file_path) {
		close(f->fd);
		return STEP_CLOSE;
	}
	s->file_fd = f->fd;
	s->file_off = first;
	s->file_end = first + length;
	s->file_size = f->size;
	s->file_mtime_ns = f->mtime_ns;
	if (home >= 0) {	/* nothing fetched yet: remote_more fills from first */
		s->remote_home = s->last_home = home;
		s->fetch_end = s->punched = first;
		s->fetch_failed = 0;
	}
	session_set_rate(s, ri->rate);
	return STEP_AGAIN;
}

static int serve_file(struct session *s, struct reqinfo *ri)
{
	struct export_file f;
	uint64_t first, last;
	int head_only = ri->method == HTTP_M_HEAD, partial, home, st;

	if (s->nasd->cfg.node_name[0] && !strcmp(ri->path, "/node")) {
		char body[NASD_NAME_MAX + 2];
		snprintf(body, sizeof(body), "%s\n", s->nasd->cfg.node_name);
		return http_respond_text(s, 200, body, 1, head_only, NULL);
	}
	if ((st = open_source(s, ri->path, &f, &home)) != 0)
		return http_respond_error(s, st, 1, head_only);
	if (choose_span(ri, &f, &first, &last, &partial) < 0) {
		close(f.fd);
		return respond_416(s, f.size, head_only);
	}
	uint64_t length = f.size ? last - first + 1 : 0;
	struct resp_hdr h = {
		.status = partial ? 206 : 200,
		.length = length,
		.content_type = export_content_type(ri->path),
		.has_validators = 1, .mtime_ns = f.mtime_ns, .size = f.size,
		.has_range = partial, .first = first, .last = last, .total = f.size,
		.keepalive = s->keepalive, .http10 = s->http10,
	};
	if (queue(s, &h, NULL, 0) < 0) {
		close(f.fd);
		return STEP_CLOSE;
	}
	if (head_only || length == 0) {
		close(f.fd);
		return STEP_AGAIN;
	}
	return start_body(s, ri, &f, first, length, home);
}

/*
 * Whether the client may make request r on ri->path, decided before any
 * file is touched: 0, or the status to answer.  403: the client is outside
 * the "clients" of the export the path falls in (of "data_location" for
 * another node's file); for a PUT on a writable export, 401/403 from its
 * bearer token (export_write_auth), and 403 if the export follows the NFS
 * export's policy ("nfs_policy") and that does not let the client write:
 * checked on every request, so a connection already open is refused its
 * next PUT once the policy changed.  What is not decided here (no export,
 * a read-only one, no Content-Length, /node) keeps its own answer later.
 */
static int access_status(struct session *s, const struct reqinfo *ri, const struct http_req *r)
{
	const struct nasd_config *cfg = &s->nasd->cfg;
	struct export_ref ref;

	if (r->method != HTTP_M_PUT) {
		if (cfg->node_name[0] && !strcmp(ri->path, "/node"))
			return 0;
		if (remote_home_for(s->nasd, ri->path) >= 0)
			return !cfg->dl.nclients ||
			       nasd_cidr_list_match(cfg->dl.clients, cfg->dl.nclients, &s->peer) ? 0 : 403;
	}
	if (export_find(cfg, ri->path, &ref) < 0)
		return 0;
	if (!export_client_ok(ref.ex, &s->peer))
		return 403;
	if (r->method != HTTP_M_PUT || !ref.ex->writable || !r->has_length)
		return 0;
	if (ref.ex->nfs_policy && !nfs_policy_may_write(s->nasd, &s->peer))
		return 403;
	return export_write_auth(ref.ex, r->authorization);
}

/* Whether the session must wait before taking request r: a GET or HEAD the
 * client may make (ri: its path, throttle applied; access_status 0) of a
 * file whose home is another node, and the home's HEAD is not in yet
 * (remote_prepare started it).  The head then stays unconsumed in in[]
 * (the parser starts over when the answer is in), so the session is, in
 * the meantime, exactly one that has not read its request yet: it can be
 * frozen and handed off as such. */
static int wait_for_home(struct session *s, const struct http_req *r, const struct reqinfo *ri)
{
	if (r->method != HTTP_M_GET && r->method != HTTP_M_HEAD)
		return 0;
	if (access_status(s, ri, r) != 0 || !remote_prepare(s, ri->path))
		return 0;
	http_req_init(&s->req);
	return 1;
}

/* A complete head of `hl` bytes is in s->in. */
/* A request the exports' rules refuse (status 401/403): http_refused,
 * rate-limited (a client chooses how many). */
static void log_refused(struct session *s, const char *path, int status)
{
	char client[TADDR_STRLEN], more[24];
	uint16_t port;

	if (!log_rate_allow(&s->nasd->http_log, more, sizeof(more)))
		return;
	log_client(&s->peer, client, &port);
	log_event(LOG_NOTICE, "http_refused", KV_S("client", client), KV_U("client_port", port),
		  KV_U("session", s->id), KV_S("method", s->method), KV_S("path", path),
		  KV_I("status", status), KV_S("not_logged", more[0] ? more : NULL));
}

static int handle_request(struct session *s, int hl)
{
	struct http_req *r = &s->req;
	struct reqinfo rinfo, *ri = &rinfo;
	int known = r->method == HTTP_M_GET || r->method == HTTP_M_HEAD || r->method == HTTP_M_PUT;
	int st, rc, bad_path;
	char *target = NULL;

	memset(ri, 0, sizeof(*ri));
	bad_path = known && http_path_clean(r->target.p, r->target.len, ri->path, sizeof(ri->path),
					    &st) < 0;
	if (known && !bad_path) {
		target = strdup(ri->path);
		if (r->method != HTTP_M_PUT)
			apply_throttle(s, ri, &r->target);
		if (wait_for_home(s, r, ri)) {
			free(target);
			return STEP_WAIT;
		}
	}
	s->requests++;
	s->nasd->st.requests++;
	snprintf(s->method, sizeof(s->method), "%.*s", (int)r->method_str.len, r->method_str.p);
	s->keepalive = r->keep_alive;
	s->http10 = r->minor == 0;
	ri->method = r->method;
	ri->range = r->range;
	if (r->if_range.p) {
		ri->has_if_range = 1;
		snprintf(ri->if_range, sizeof(ri->if_range), "%.*s", (int)r->if_range.len,
			 r->if_range.p);
	}
	/* a body we will not read ends the connection after the response */
	if (r->method != HTTP_M_PUT && r->has_length && r->content_length > 0)
		s->keepalive = 0;
	free(s->target);
	s->target = target;
	if (!known) {
		rc = http_respond_text(s, 501, NULL, 1, 0, "GET, HEAD, PUT");
		goto consumed;
	}
	if (bad_path) {
		if (r->method == HTTP_M_PUT)
			s->keepalive = 0;
		rc = http_respond_error(s, st, 1, r->method == HTTP_M_HEAD);
		goto consumed;
	}
	log_debug("session %llu: %s %s", (unsigned long long)s->id, s->method, ri->path);
	if ((st = access_status(s, ri, r)) != 0) {
		log_refused(s, ri->path, st);
		rc = respond_denied(s, st, r->method);
		goto consumed;
	}
	/* the head's bytes are consumed before the body is read; r's slices die here */
	struct http_req copy = *r;
	memmove(s->in, s->in + hl, s->in_len - (size_t)hl);
	s->in_len -= (size_t)hl;
	http_req_init(&s->req);
	if (copy.method == HTTP_M_PUT)
		return upload_start(s, ri->path, &copy);
	return serve_file(s, ri);

consumed:
	memmove(s->in, s->in + hl, s->in_len - (size_t)hl);
	s->in_len -= (size_t)hl;
	http_req_init(&s->req);
	return rc;
}

/* ---- steps ---- */

/* PH_HEAD: parse what is buffered; a complete head becomes a request, a bad
 * one a final error response; else read more. */
static int do_head(struct session *s)
{
	if (s->in_len) {
		int hl = http_parse_request(&s->req, &s->nasd->lim, s->in, s->in_len);
		if (hl > 0)
			return handle_request(s, hl);
		if (hl < 0) {
			s->nasd->st.bad_requests++;
			log_debug("session %llu: bad request: %d %s", (unsigned long long)s->id,
				  s->req.status, s->req.error);
			char body[256];
			int status = s->req.status ? s->req.status : 400;
			snprintf(body, sizeof(body), "%d %s: %s\n", status, http_reason(status),
				 s->req.error ? s->req.error : "bad request");
			s->keepalive = 0;
			s->in_len = 0;	/* the rest of the stream cannot be framed */
			http_req_init(&s->req);
			return http_respond_text(s, status, body, 0, 0,
					    status == 501 ? "GET, HEAD, PUT" : NULL);
		}
		if (s->in_len >= NASD_INBUF) {	/* the parser limits make this unreachable */
			s->keepalive = 0;
			s->in_len = 0;
			return http_respond_error(s, 431, 0, 0);
		}
	}
	ssize_t n = recv(s->io.fd, s->in + s->in_len, NASD_INBUF - s->in_len, 0);
	if (n < 0)
		return errno == EAGAIN ? STEP_WAIT : errno == EINTR ? STEP_AGAIN : STEP_CLOSE;
	if (n == 0)
		return STEP_CLOSE;
	if (s->in_len == 0)
		s->phase_ms = loop_now_ms();	/* a new head starts: its timeout runs */
	s->in_len += (size_t)n;
	s->bytes_in += (uint64_t)n;
	s->nasd->st.bytes_in += (uint64_t)n;
	s->last_io_ms = loop_now_ms();
	return STEP_AGAIN;
}

/* do_send, part 1: what is left of out[] (head, small body).  STEP_DONE
 * once it is all written, else the step to return. */
static int send_out(struct session *s)
{
	struct nasd *n = s->nasd;
	int more = s->file_fd >= 0 ? MSG_MORE : 0;
	ssize_t w = send(s->io.fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL | more);

	if (w < 0)
		return errno == EAGAIN ? STEP_WAIT : errno == EINTR ? STEP_AGAIN : STEP_CLOSE;
	s->out_off += (size_t)w;
	s->bytes_out += (uint64_t)w;
	n->st.bytes_out += (uint64_t)w;
	s->last_io_ms = loop_now_ms();
	return s->out_off < s->out_len ? STEP_WAIT : STEP_DONE;
}

/* do_send, part 2: the file span, with sendfile, within the step's byte
 * budget, the session's rate, and (a remote file) what is fetched so far.
 * STEP_DONE once the span is sent (or there is none), else the step to
 * return. */
static int send_span(struct session *s)
{
	struct nasd *n = s->nasd;
	uint64_t budget = STEP_BUDGET;

	while (s->file_fd >= 0 && s->file_off < s->file_end) {
		if (s->remote_home >= 0 && s->file_off >= s->fetch_end) {
			int more = remote_more(s);
			if (more < 0)
				return STEP_CLOSE;
			if (more == 0)	/* the piece is on its way, or a handoff home is scheduled */
				return STEP_WAIT;
		}
		uint64_t want = s->file_end - s->file_off;
		if (s->remote_home >= 0 && want > s->fetch_end - s->file_off)
			want = s->fetch_end - s->file_off;
		if (want > SENDFILE_CHUNK)
			want = SENDFILE_CHUNK;
		if (s->rate) {
			want = session_tokens(s, want);
			if (!want) {
				session_throttle(s);
				return STEP_WAIT;
			}
		}
		off_t o = (off_t)s->file_off;
		ssize_t w = sendfile(s->io.fd, s->file_fd, &o, (size_t)want);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? STEP_WAIT : STEP_CLOSE;
		}
		if (w == 0) {
			log_warnx("session %llu: %s shrank while being sent: closing",
				  (unsigned long long)s->id, s->file_path);
			return STEP_CLOSE;
		}
		if (s->rate)
			session_spend(s, (uint64_t)w);
		s->file_off += (uint64_t)w;
		if (s->remote_home >= 0)
			remote_sent(s);
		s->bytes_out += (uint64_t)w;
		n->st.bytes_out += (uint64_t)w;
		n->st.body_bytes_out += (uint64_t)w;
		s->last_io_ms = loop_now_ms();
		if ((uint64_t)w >= budget)
			return STEP_WAIT;
		budget -= (uint64_t)w;
	}
	return STEP_DONE;
}

/* do_send, part 3: the response is out; what `after` says comes next. */
static int response_sent(struct session *s)
{
	if (s->file_fd >= 0) {
		close(s->file_fd);
		s->file_fd = -1;
	}
	free(s->file_path);
	s->file_path = NULL;
	s->rate = 0;
	s->remote_home = -1;
	remote_cancel(s);	/* nothing is in flight once the body is out; to be sure */
	s->out_off = s->out_len = 0;
	s->phase_ms = loop_now_ms();
	http_half_response_done(s);
	switch (s->after) {
	case SST_AFTER_BODY:
		s->phase = PH_BODY;
		return STEP_AGAIN;
	case SST_AFTER_NEXT:
		s->phase = PH_HEAD;
		http_req_init(&s->req);
		if (!s->held)	/* a half handoff's move is scheduled already */
			remote_response_done(s);
		return s->held ? STEP_WAIT : STEP_AGAIN;
	default:
		shutdown(s->io.fd, SHUT_WR);
		s->phase = PH_LINGER;
		return STEP_AGAIN;
	}
}

static int do_send(struct session *s)
{
	int r;

	if (s->out_off < s->out_len && (r = send_out(s)) != STEP_DONE)
		return r;
	if ((r = send_span(s)) != STEP_DONE)
		return r;
	return response_sent(s);
}

/* After a final response with Connection: close: read and drop what the
 * client still sends, so closing does not turn into a RST that could
 * destroy the response in flight. */
static int do_linger(struct session *s)
{
	ssize_t r = recv(s->io.fd, s->nasd->scratch, NASD_SCRATCH, 0);

	if (r < 0)
		return errno == EAGAIN ? STEP_WAIT : errno == EINTR ? STEP_AGAIN : STEP_CLOSE;
	if (r == 0)
		return STEP_CLOSE;
	s->linger_bytes += (uint64_t)r;
	return s->linger_bytes > LINGER_MAX ? STEP_CLOSE : STEP_AGAIN;
}

void http_session_run(struct session *s)
{
	for (;;) {
		int r;
		switch (s->phase) {
		case PH_HEAD: r = do_head(s); break;
		case PH_SEND: r = do_send(s); break;
		case PH_BODY: r = upload_body(s); break;
		default: r = do_linger(s); break;
		}
		if (r == STEP_CLOSE) {
			session_close(s, "closed");
			return;
		}
		if (r == STEP_WAIT)
			break;
	}
	session_watch(s);
}

void http_session_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct session *s = io->arg;

	s->kick = 0;
	if (s->throttled || s->fetch_wait || s->held) {
		/* no events are asked for while throttled, waiting for a home's
		 * answer or for a scheduled handoff: only errors get here */
		if (events & (EPOLLERR | EPOLLHUP))
			session_close(s, "connection lost");
		return;
	}
	http_session_run(s);
}
