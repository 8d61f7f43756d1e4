/*
 * metrics.c - tandem-nasd's /metrics listener (metrics.h says why it
 * exists).  Small on purpose: one request per connection (the answer says
 * Connection: close), at most METRICS_CONNS connections at a time (more are
 * closed at once), a request head of at most 8 KiB parsed by the file
 * service's own parser (storage/http/http_parse.h), METRICS_TIMEOUT_MS for
 * the whole exchange.  The page is built from the control socket's status
 * reply (metrics_page.c) when the request comes, in the event loop: a
 * status reply is cheap (no walk over sessions).
 *
 * Authentication: "Authorization: Bearer <token>" with the token of
 * metrics.token_file (lib/bearer.h: constant-time compare), unless
 * metrics.auth is "none".  401 without credentials, 403 with wrong ones.
 */
#include "nasd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/bearer.h"
#include "lib/err.h"
#include "lib/log.h"
#include "storage/http/http_parse.h"
#include "storage/listen.h"

#define METRICS_CONNS 8
#define METRICS_HEAD_MAX 8192
#define METRICS_TIMEOUT_MS 5000

struct metrics_conn {
	struct loop_io io;		/* fd -1: free slot */
	struct nasd_metrics *m;
	char in[METRICS_HEAD_MAX];
	size_t inlen;
	struct http_req req;
	char *out;			/* the whole answer, head and body */
	size_t outlen, outoff;
	uint64_t deadline_ms;
};

struct nasd_metrics {
	struct nasd *n;
	struct loop_io lis;
	struct loop_timer timer;	/* 1 s while connections are open */
	struct metrics_conn conns[METRICS_CONNS];
	uint8_t token[KEYFILE_MAX];
	size_t token_len;
};

static void conn_close(struct metrics_conn *c)
{
	loop_del(&c->m->n->loop, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	free(c->out);
	c->out = NULL;
}

/* The answer to send: status, a Content-Type and body (len bytes; not sent
 * for HEAD).  0 / -1 (out of memory). */
static int answer(struct metrics_conn *c, int status, const char *ctype, const char *body,
		  size_t len, int head_only)
{
	char h[512];
	int hl = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			  "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n", status,
			  http_reason(status), ctype, len,
			  status == 401 ? "WWW-Authenticate: Bearer realm=\"tandem-nasd-metrics\"\r\n" : "");

	if (head_only)
		len = 0;
	c->out = malloc((size_t)hl + len);
	if (!c->out)
		return -1;
	memcpy(c->out, h, (size_t)hl);
	memcpy(c->out + hl, body, len);
	c->outlen = (size_t)hl + len;
	c->outoff = 0;
	return 0;
}

static int answer_text(struct metrics_conn *c, int status, const char *msg)
{
	return answer(c, status, "text/plain; charset=utf-8", msg, strlen(msg), 0);
}

/* The page from the control socket's status reply. */
static int answer_page(struct metrics_conn *c, int head_only)
{
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *st = control_dispatch(c->m->n, req);
	struct prom p;
	const char *t;
	size_t len;
	int rc;

	prom_init(&p);
	if (nasd_metrics_page(&p, st) < 0 || !(t = prom_text(&p, &len))) {
		log_warnx("metrics: cannot build the page: %s", prom_error(&p));
		rc = answer_text(c, 500, "cannot build the metrics page\n");
	} else {
		rc = answer(c, 200, PROM_CONTENT_TYPE, t, len, head_only);
	}
	prom_free(&p);
	json_decref(st);
	json_decref(req);
	return rc;
}

/* The complete (or bad) request head of c: its answer. */
static int respond(struct metrics_conn *c, int parsed)
{
	const struct nasd_metrics_config *mc = &c->m->n->cfg.metrics;
	const struct http_req *r = &c->req;
	char path[64];
	int st;

	if (parsed < 0)
		return answer_text(c, r->status, "bad request\n");
	if (r->method != HTTP_M_GET && r->method != HTTP_M_HEAD)
		return answer_text(c, 405, "GET /metrics only\n");
	const char *q = memchr(r->target.p, '?', r->target.len);	/* the query is ignored */
	size_t plen = q ? (size_t)(q - r->target.p) : r->target.len;
	if (http_path_clean(r->target.p, plen, path, sizeof(path), &st) < 0 ||
	    strcmp(path, "/metrics"))
		return answer_text(c, 404, "this listener serves /metrics only\n");
	if (!mc->open) {
		st = bearer_check(r->authorization.p, r->authorization.len, c->m->token,
				  c->m->token_len);
		if (st)
			return answer_text(c, st, st == 401 ? "/metrics needs a bearer token\n"
							    : "wrong bearer token\n");
	}
	return answer_page(c, r->method == HTTP_M_HEAD);
}

static void on_conn(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct metrics_conn *c = io->arg;
	ssize_t k;

	if (!c->out) {
		k = recv(io->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (k < 0)
			return;
		c->inlen += (size_t)k;
		int rc = http_parse_request(&c->req, NULL, c->in, c->inlen);
		if (rc == 0 && c->inlen == sizeof(c->in)) {
			c->req.status = 431;
			rc = -1;
		}
		if (rc == 0)
			return;
		if (respond(c, rc) < 0 || loop_mod(l, io, EPOLLOUT) < 0) {
			conn_close(c);
			return;
		}
	}
	k = send(io->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k > 0)
		c->outoff += (size_t)k;
	if (k < 0 || c->outoff == c->outlen) {
		shutdown(io->fd, SHUT_WR);
		conn_close(c);
	}
}

static void on_accept(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nasd_metrics *m = io->arg;
	struct metrics_conn *c = NULL;
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < METRICS_CONNS && !c; i++)
		if (m->conns[i].io.fd < 0)
			c = &m->conns[i];
	if (!c) {
		close(fd);	/* a scraper does not need more */
		return;
	}
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->io = (struct loop_io){ .fd = fd, .cb = on_conn, .arg = c };
	http_req_init(&c->req);
	c->deadline_ms = loop_now_ms() + METRICS_TIMEOUT_MS;
	if (loop_add(l, &c->io, EPOLLIN) < 0) {
		close(fd);
		c->io.fd = -1;
	}
}

/* Once a second: connections past their time are closed. */
static void on_timer(struct loop *l, struct loop_timer *t)
{
	struct nasd_metrics *m = t->arg;
	uint64_t now = loop_now_ms();

	for (int i = 0; i < METRICS_CONNS; i++)
		if (m->conns[i].io.fd >= 0 && now > m->conns[i].deadline_ms)
			conn_close(&m->conns[i]);
}

int nasd_metrics_check(const struct nasd_metrics_config *m, FILE *f, char *err, size_t errlen)
{
	uint8_t tok[KEYFILE_MAX];
	char e[400], a[TADDR_STRLEN];
	size_t tl;

	if (!m->enabled)
		return 0;
	if (m->token_file[0] && bearer_load(m->token_file, tok, &tl, e, sizeof(e)) < 0)
		return err_set(err, errlen, "metrics.token_file %s", e);
	explicit_bzero(tok, sizeof(tok));
	fprintf(f, "  metrics: /metrics on %s%s%s:%u, %s%s\n", m->addr.family == 6 ? "[" : "",
		taddr_fmt(&m->addr, a, sizeof(a)), m->addr.family == 6 ? "]" : "", m->port,
		m->open ? "WITHOUT authentication (\"auth\": \"none\")" : "bearer token in ",
		m->open ? "" : m->token_file);
	return 0;
}

int nasd_metrics_open(struct nasd *n)
{
	const struct nasd_metrics_config *mc = &n->cfg.metrics;
	struct nasd_metrics *m;
	char err[400], a[TADDR_STRLEN];

	if (!mc->enabled)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	m->n = n;
	m->lis.fd = m->timer.io.fd = -1;
	for (int i = 0; i < METRICS_CONNS; i++)
		m->conns[i].io.fd = -1;
	n->metrics = m;
	if (mc->token_file[0] && bearer_load(mc->token_file, m->token, &m->token_len, err,
					     sizeof(err)) < 0) {
		log_warnx("metrics.token_file %s", err);
		return -1;
	}
	if (tcp_listen_io(&m->lis, &mc->addr, mc->port, 16, on_accept, m) < 0) {
		log_warn("metrics: listen on %s port %u", taddr_fmt(&mc->addr, a, sizeof(a)), mc->port);
		return -1;
	}
	if (loop_add(&n->loop, &m->lis, EPOLLIN) < 0 ||
	    loop_timer_init(&n->loop, &m->timer, on_timer, m) < 0 ||
	    loop_timer_set(&m->timer, 1000, 1000) < 0)
		return -1;
	log_info("metrics: /metrics on %s port %u%s", taddr_fmt(&mc->addr, a, sizeof(a)), mc->port,
		 mc->open ? " WITHOUT authentication (auth none)" : ", bearer token");
	return 0;
}

void nasd_metrics_close(struct nasd *n)
{
	struct nasd_metrics *m = n->metrics;

	if (!m)
		return;
	for (int i = 0; i < METRICS_CONNS; i++)
		if (m->conns[i].io.fd >= 0)
			conn_close(&m->conns[i]);
	if (m->lis.fd >= 0) {
		loop_del(&n->loop, &m->lis);
		close(m->lis.fd);
	}
	if (m->timer.io.fd >= 0)
		loop_timer_close(&n->loop, &m->timer);
	explicit_bzero(m->token, sizeof(m->token));
	free(m);
	n->metrics = NULL;
}
