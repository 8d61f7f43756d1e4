/*
 * http.c - libmicrohttpd inside the one event loop.
 *
 * Mode: MHD_USE_EPOLL without an internal thread.  libmicrohttpd keeps its
 * own epoll set (listen socket, connections, its inter-thread channel for
 * resume); we put that epoll fd into our loop and call MHD_run() when it is
 * readable, and arm a one-shot timerfd with MHD_get_timeout() after every
 * run (connection timeouts, TLS data already decrypted in buffers).  So HTTP
 * runs on the same thread as everything else in webd: no locking around the
 * session table or the history, unlike MHD_USE_INTERNAL_POLLING_THREAD,
 * which would call our handlers on its own thread.  Handlers never block:
 * anything slow (LDAP, the daemons) is a job in pool.c while the
 * connection is suspended (MHD_ALLOW_SUSPEND_RESUME).
 *
 * Request life: first call of the access handler allocates a webd_req;
 * body chunks are collected (at most WEBD_MAX_BODY, beyond: 413); on the
 * final call (upload_data_size 0) api_handle() either answers at once or
 * suspends; after http_resume() libmicrohttpd calls the handler again and
 * the stored reply is queued.  NOTIFY_COMPLETED frees the webd_req.
 */
#include "webd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api_guard.h"
#include "lib/jsonconf.h"
#include "lib/log.h"

#define COOKIE_FLAGS "; Path=/; HttpOnly; Secure; SameSite=Strict"

static void common_headers(struct webd *w, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	/* the console has no inline script or style: only our own files run */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	if (!w->cfg.plain_http)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* Queue r's JSON reply.  Consumes r->reply. */
static enum MHD_Result send_json(struct webd *w, struct webd_req *r)
{
	char *s = json_dumps(r->reply ? r->reply : json_object(), JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(r->reply);
	r->reply = NULL;
	if (!s)
		return MHD_NO;
	size_t l = strlen(s);
	s = realloc(s, l + 2);	/* a trailing newline: friendlier for curl users */
	if (!s)
		return MHD_NO;
	s[l] = '\n';
	s[l + 1] = '\0';
	resp = MHD_create_response_from_buffer(l + 1, s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	common_headers(w, resp);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->status == 429 && r->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (r->status == 405 && r->route.allow)
		MHD_add_response_header(resp, "Allow", r->route.allow);
	if (r->status == 401 && r->route.id != API_R_LOGIN)
		MHD_add_response_header(resp, "WWW-Authenticate", r->metrics ?
					"Bearer realm=\"tandem-metrics\"" : "Cookie realm=\"tandem\"");
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Queue r's text reply (a /metrics page).  Consumes r->text. */
static enum MHD_Result send_text(struct webd *w, struct webd_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->text_len, r->text, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;	/* r->text is freed with r */
	r->text = NULL;
	common_headers(w, resp);
	MHD_add_response_header(resp, "Content-Type", PROM_CONTENT_TYPE);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_reply(struct webd *w, struct webd_req *r)
{
	return r->text ? send_text(w, r) : send_json(w, r);
}

/* A file of the console, or 404.  Files are opened with RESOLVE_BENEATH
 * on top of api_static_path()'s checks: a symlink cannot lead out of www. */
static int open_static(struct webd *w, const char *path, char *rel, size_t rellen)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };

	if (w->www_fd < 0 || api_static_path(path, rel, rellen) < 0)
		return -1;
	return (int)syscall(SYS_openat2, w->www_fd, rel, &how, sizeof(how));
}

static enum MHD_Result send_static(struct webd *w, struct webd_req *r, const char *url)
{
	char rel[API_PATH_MAX];
	struct stat st;
	int fd = open_static(w, url, rel, sizeof(rel));
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		r->status = 404;
		r->reply = api_error("not found");
		return send_json(w, r);
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);	/* owns fd */
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	common_headers(w, resp);
	MHD_add_response_header(resp, "Content-Type", api_content_type(rel));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* r->client (the peer's address as text) and r->client_key. */
static void peer_addr(struct MHD_Connection *c, struct webd_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const void *a = NULL;

	snprintf(r->client, sizeof(r->client), "?");
	snprintf(r->client_key, sizeof(r->client_key), "a:?");
	if (sa && sa->sa_family == AF_INET)
		a = &((struct sockaddr_in *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((struct sockaddr_in6 *)sa)->sin6_addr;
	if (!a)
		return;
	inet_ntop(sa->sa_family, a, r->client, sizeof(r->client));
	api_client_key(sa->sa_family, a, r->client_key, sizeof(r->client_key));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct webd *w = cls;
	struct webd_req *r = *con_cls;
	char err[256];

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->w = w;
		r->conn = conn;
		peer_addr(conn, r);
		if (metrics_route(w, r, method, url)) {
			*con_cls = r;
			return MHD_YES;
		}
		if (api_route(method, url, &r->route, err, sizeof(err)) < 0) {
			r->status = r->route.status;
			r->reply = api_error("%s", err);
			r->handled = 1;
		}
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size) {	/* a body chunk */
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->handled || r->too_large)
			return MHD_YES;
		if (r->len + n > WEBD_MAX_BODY) {
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = (r->len + n + 1) * 2;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->handled)		/* an error from routing, or back from a job */
		return send_reply(w, r);
	r->handled = 1;
	if (r->too_large) {
		r->status = 413;
		r->reply = api_error("body too large (at most %d bytes)", WEBD_MAX_BODY);
		return send_json(w, r);
	}
	if (r->metrics && metrics_handle(w, r) == 0)
		return send_json(w, r);
	if (!r->metrics && r->route.id == API_R_STATIC)
		return send_static(w, r, url);
	if (!r->metrics && api_handle(w, r) == 0)
		return send_json(w, r);
	/* waits for a job: pool.c's completion resumes it */
	r->suspended = 1;
	w->suspended++;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

void http_resume(struct webd *w, struct webd_req *r, int status, json_t *reply)
{
	r->status = status;
	json_decref(r->reply);
	r->reply = reply;
	if (r->suspended) {
		r->suspended = 0;
		w->suspended--;
		MHD_resume_connection(r->conn);
	}
}

/* Arm later_timer for the earliest held-back reply (or disarm it). */
static void later_arm(struct webd *w)
{
	uint64_t now = loop_now_ms(), first = UINT64_MAX;

	for (struct webd_req *r = w->later; r; r = r->later_next)
		if (r->due_ms < first)
			first = r->due_ms;
	if (first == UINT64_MAX)
		loop_timer_set(&w->later_timer, 0, 0);
	else
		loop_timer_set(&w->later_timer, first > now ? (unsigned)(first - now) : 1, 0);
}

void http_resume_at(struct webd *w, struct webd_req *r, uint64_t due_ms, int status,
		    json_t *reply)
{
	if (due_ms <= loop_now_ms()) {
		http_resume(w, r, status, reply);
		return;
	}
	r->status = status;
	json_decref(r->reply);
	r->reply = reply;
	r->due_ms = due_ms;
	r->later_next = w->later;
	w->later = r;
	later_arm(w);
}

/* later_timer: resume the held-back replies that are due. */
static void on_later(struct loop *l, struct loop_timer *t)
{
	struct webd *w = t->arg;
	struct webd_req **pp = &w->later;
	uint64_t now = loop_now_ms();

	while (*pp) {
		struct webd_req *r = *pp;
		if (r->due_ms > now) {
			pp = &r->later_next;
			continue;
		}
		*pp = r->later_next;
		r->later_next = NULL;
		json_t *reply = r->reply;
		r->reply = NULL;
		http_resume(w, r, r->status, reply);
	}
	later_arm(w);
	http_run(w);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct webd_req *r = *con_cls;

	if (!r)
		return;
	json_decref(r->reply);
	free(r->text);
	if (r->body)
		explicit_bzero(r->body, r->len);	/* may hold a password */
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

/* Let daemon d work, then arm t for its next timeout. */
static void run_daemon(struct MHD_Daemon *d, struct loop_timer *t)
{
	MHD_UNSIGNED_LONG_LONG to;

	MHD_run(d);
	if (MHD_get_timeout(d, &to) == MHD_YES)
		loop_timer_set(t, to ? (unsigned)(to > 60000 ? 60000 : to) : 1, 0);
	else
		loop_timer_set(t, 60000, 0);
}

void http_run(struct webd *w)
{
	run_daemon(w->mhd, &w->mhd_timer);
	if (w->metrics.mhd)	/* the plain metrics listener (a resume may be its) */
		run_daemon(w->metrics.mhd, &w->metrics.timer);
}

static void on_mhd_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	http_run(io->arg);
}

static void on_mhd_timer(struct loop *l, struct loop_timer *t)
{
	http_run(t->arg);
}

/* A PEM file as a NUL-terminated string (libmicrohttpd takes them so), or
 * NULL (logged).  *len: its length. */
static char *read_pem(const char *path, size_t *len)
{
	char *buf, *z, err[512];

	if (jconf_read_file(path, 1 << 20, &buf, len, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return NULL;
	}
	z = realloc(buf, *len + 1);
	if (!z) {
		free(buf);
		return NULL;
	}
	z[*len] = '\0';
	return z;
}

/* Start a daemon on addr:port (cls: w) and put it in the loop (io: its
 * epoll fd, t: its timeouts).  opts ends with MHD_OPTION_END and has room
 * for the options added here.  NULL on failure (logged). */
static struct MHD_Daemon *start_daemon(struct webd *w, const struct taddr *addr, uint16_t port,
				       unsigned flags, struct MHD_OptionItem *opts, int n,
				       struct loop_io *io, struct loop_timer *t)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;

	taddr_sockaddr(addr, port, &ss);
	flags |= MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (addr->family == 6)
		flags |= MHD_USE_IPv6;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, w };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, 256, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, w };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d = MHD_start_daemon(flags, port, NULL, NULL, on_request, w, MHD_OPTION_ARRAY, opts,
			     MHD_OPTION_END);
	if (!d) {
		log_warnx("cannot start the HTTP%s server on port %u (address in use? bad "
			  "certificate or key?)", flags & MHD_USE_TLS ? "S" : "", port);
		return NULL;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	io->fd = di ? di->epoll_fd : -1;
	io->cb = on_mhd_io;
	io->arg = w;
	if (!di || loop_add(&w->loop, io, EPOLLIN) < 0 || loop_timer_init(&w->loop, t, on_mhd_timer, w) < 0) {
		MHD_stop_daemon(d);
		return NULL;
	}
	return d;
}

/*
 * The console's listener (HTTPS unless plain_http; with metrics.client_ca,
 * clients are asked for a certificate: libmicrohttpd requests one when it
 * has a trust list, metrics.c verifies it) and the plain metrics listener.
 */
int http_start(struct webd *w)
{
	struct webd_config *c = &w->cfg;
	char *cert = NULL, *key = NULL, *ca = NULL;
	size_t clen = 0, klen = 0, calen;
	unsigned flags = 0;
	struct MHD_OptionItem opts[16];
	int n = 0, rc = -1;

	if (!c->plain_http) {
		if (!(cert = read_pem(c->cert, &clen)) || !(key = read_pem(c->key, &klen)) ||
		    (c->metrics.client_ca[0] && !(ca = read_pem(c->metrics.client_ca, &calen))))
			goto out;
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, key };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
		if (ca)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, ca };
	}
	w->mhd = start_daemon(w, &c->listen_addr, c->listen_port, flags, opts, n, &w->mhd_io,
			      &w->mhd_timer);
	if (!w->mhd || loop_timer_init(&w->loop, &w->later_timer, on_later, w) < 0)
		goto out;
	if (c->metrics.listen_port) {
		w->metrics.mhd = start_daemon(w, &c->metrics.listen_addr, c->metrics.listen_port, 0,
					      opts, 0, &w->metrics.io, &w->metrics.timer);
		if (!w->metrics.mhd)
			goto out;
	}
	http_run(w);
	rc = 0;
out:
	if (key)
		explicit_bzero(key, klen);
	free(cert);
	free(key);
	free(ca);
	return rc;
}

void http_stop(struct webd *w)
{
	if (!w->mhd)
		return;
	loop_del(&w->loop, &w->mhd_io);
	if (w->metrics.mhd)
		loop_del(&w->loop, &w->metrics.io);
	/* libmicrohttpd aborts when stopped with suspended connections; they wait
	 * for a worker (a handoff may take 15 s): just leave, exit closes them. */
	if (w->suspended == 0) {
		MHD_stop_daemon(w->mhd);
		if (w->metrics.mhd)
			MHD_stop_daemon(w->metrics.mhd);
	}
	w->mhd = NULL;
	w->metrics.mhd = NULL;
}

/* ----------------------------------------------------------- helpers -- */

/* Not ctl_error (lib/ctl.c), though formatted alike: a REST error body is
 * {"error": ...} with the status in HTTP (doc/api.md), a control reply
 * carries "ok": false; and REST messages may quote a longer request. */
json_t *api_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", buf);
}

const char *http_header(struct webd_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct qctx {
	struct api_query *q;
	char *err;
	size_t errlen;
	int bad;
};

static enum MHD_Result q_iter(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	struct qctx *c = cls;

	if (c->bad)
		return MHD_NO;
	if (api_query_set(c->q, key, value ? value : "", c->err, c->errlen) < 0) {
		c->bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int http_query(struct webd_req *r, struct api_query *q, char *err, size_t errlen)
{
	struct qctx c = { q, err, errlen, 0 };

	api_query_init(q);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, q_iter, &c);
	return c.bad ? -1 : 0;
}
