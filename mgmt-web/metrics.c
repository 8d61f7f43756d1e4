/*
 * metrics.c - GET /metrics (metrics.h): who may scrape, the job that reads
 * lbd and syncd, the answer, and webd's own counters.
 *
 * Who may scrape (doc/api.md, "Metrics"):
 *   - on the console's HTTPS listener: a client certificate that verifies
 *     against metrics.client_ca, or "Authorization: Bearer <token>" with the
 *     token of metrics.token_file (compared in constant time, lib/bearer.h);
 *   - on the plain-HTTP listener (metrics.listen, a management address,
 *     nothing but /metrics): the bearer token, unless listen_auth is "none".
 * No credentials: 401 with WWW-Authenticate: Bearer; wrong ones: 403.  A
 * session cookie is no credential here: scrapers are not console users.
 *
 * Why a job: lbd's `stats` walks the flow table, and the control sockets
 * block; like every API read, the scrape waits suspended while a worker
 * asks (pool.c), so the event loop keeps serving.
 */
#include "webd.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bearer.h"
#include "lib/err.h"
#include "lib/log.h"

int metrics_check_files(const struct webd_metrics_config *m, char *err, size_t errlen)
{
	uint8_t tok[KEYFILE_MAX];
	size_t tl;
	char e[400];
	int rc = 0;

	if (m->token_file[0] && bearer_load(m->token_file, tok, &tl, e, sizeof(e)) < 0)
		rc = err_set(err, errlen, "\"metrics.token_file\" %s", e);
	else if (m->client_ca[0] && access(m->client_ca, R_OK) < 0)
		rc = err_errno(err, errlen, "\"metrics.client_ca\" %s", m->client_ca);
	explicit_bzero(tok, sizeof(tok));
	return rc;
}

int metrics_start(struct webd *w)
{
	const struct webd_metrics_config *m = &w->cfg.metrics;
	char err[400];

	if (!m->enabled || !m->token_file[0])
		return 0;
	if (bearer_load(m->token_file, w->metrics.token, &w->metrics.token_len, err,
			sizeof(err)) < 0) {
		log_warnx("metrics.token_file %s", err);
		return -1;
	}
	return 0;
}

void metrics_login(struct webd *w, enum metrics_login res)
{
	w->metrics.figs.logins[res]++;
}

int metrics_route(struct webd *w, struct webd_req *r, const char *method, const char *url)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_DAEMON);
	int plain = w->metrics.mhd && ci && ci->daemon == w->metrics.mhd;

	if (!w->cfg.metrics.enabled || strcmp(url, "/metrics")) {
		if (!plain)
			return 0;	/* the console's paths */
		r->status = 404;
		r->reply = api_error("this listener serves /metrics only");
		r->handled = 1;
		return 1;
	}
	r->metrics = 1 + plain;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r->status = 405;
		r->route.allow = "GET";
		r->reply = api_error("method %.16s not allowed on /metrics", method);
		r->handled = 1;
	}
	return 1;
}

/* Does the TLS peer of r present a certificate that verifies against
 * metrics.client_ca (libmicrohttpd's trust list)? */
static int client_cert_ok(struct webd_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned int status = 0, n = 0;
	gnutls_session_t s;

	if (!ci || !ci->tls_session)
		return 0;
	s = (gnutls_session_t)ci->tls_session;
	if (!gnutls_certificate_get_peers(s, &n) || n == 0)
		return 0;
	return gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
}

/* 0 = r may scrape; else the HTTP status to refuse it with (401/403). */
static int scrape_auth(struct webd *w, struct webd_req *r)
{
	const struct webd_metrics_config *m = &w->cfg.metrics;
	const char *h = http_header(r, "Authorization");
	int plain = r->metrics == 2;

	if (plain && m->listen_open)
		return 0;
	if (!plain && m->client_ca[0] && client_cert_ok(r))
		return 0;
	if (!m->token_file[0])
		return h ? 403 : 401;
	return bearer_check(h, h ? strlen(h) : 0, w->metrics.token, w->metrics.token_len);
}

/* Worker: lbd's status and stats, syncd's status. */
static void metrics_run(const struct webd_config *cfg, struct job *j)
{
	json_t *req = json_pack("{s:s}", "cmd", "status");
	const char *sock = j->sync_sock;
	char e[256];

	j->lbd = job_ctl(cfg->lbd_socket, req, 5000, j->err, sizeof(j->err));
	json_decref(req);
	if (j->lbd) {
		req = json_pack("{s:s}", "cmd", "stats");
		j->stats = job_ctl(cfg->lbd_socket, req, 5000, j->err, sizeof(j->err));
		json_decref(req);
	}
	if (!sock[0])
		sock = json_string_value(json_object_get(j->lbd, "sync_control_socket"));
	j->want_sync = sock && sock[0];
	if (j->want_sync) {
		req = json_pack("{s:s}", "cmd", "status");
		j->sync = job_ctl(sock, req, 2000, e, sizeof(e));
		json_decref(req);
	}
}

static const json_t *ok_reply(const json_t *rep)
{
	return json_is_true(json_object_get(rep, "ok")) ? rep : NULL;
}

static uint32_t live_sessions(const struct sessions *s)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->n; i++)
		n += s->tab[i].used != 0;
	return n;
}

/* Main thread: the page, or 500 with why. */
static void metrics_done(struct webd *w, struct job *j)
{
	struct webd_req *r = j->req;
	struct prom p;
	const char *text;
	size_t len;

	w->metrics.figs.sessions = live_sessions(&w->sessions);
	prom_init(&p);
	if (!ok_reply(j->lbd) && j->err[0])
		log_debug("metrics: lbd: %s", j->err);
	if (metrics_page(&p, ok_reply(j->lbd), ok_reply(j->stats), ok_reply(j->sync), j->want_sync,
			 &w->metrics.figs) < 0 || !(text = prom_text(&p, &len)) ||
	    !(r->text = malloc(len + 1))) {
		const char *why = prom_error(&p)[0] ? prom_error(&p) : "out of memory";
		log_warnx("metrics: cannot build the page: %s", why);
		http_resume(w, r, 500, api_error("cannot build the metrics page: %s", why));
		prom_free(&p);
		job_free(j);
		return;
	}
	memcpy(r->text, text, len + 1);
	r->text_len = len;
	prom_free(&p);
	http_resume(w, r, 200, NULL);
	job_free(j);
}

int metrics_handle(struct webd *w, struct webd_req *r)
{
	int st = scrape_auth(w, r);
	struct job *j;

	if (st) {
		w->metrics.figs.scrapes_refused++;
		log_event(LOG_NOTICE, "metrics_refused", KV_S("client", r->client),
			  KV_S("reason", st == 401 ? "no credentials" : "wrong credentials"));
		r->status = st;
		r->reply = api_error("%s", st == 401 ? "/metrics needs a bearer token or a client "
					"certificate" : "wrong bearer token or client certificate");
		return 0;
	}
	w->metrics.figs.scrapes_ok++;
	j = job_new(metrics_run, metrics_done);
	if (!j) {
		r->status = 503;
		r->reply = api_error("out of memory");
		return 0;
	}
	j->req = r;
	snprintf(j->sync_sock, sizeof(j->sync_sock), "%s",
		 w->cfg.syncd_socket[0] ? w->cfg.syncd_socket : w->syncd_socket);
	if (pool_submit(&w->pool, j) < 0) {
		job_free(j);
		r->status = 503;
		r->reply = api_error("busy: too many requests waiting for the daemons");
		return 0;
	}
	return 1;
}
