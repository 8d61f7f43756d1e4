/*
 * api.c - the handlers of /api/v1 (doc/api.md).  Order of checks: the
 * Origin header (403) and a POST body's Content-Type (415) on every path;
 * then on every path but login: session (401), then for a POST the CSRF
 * header (403), then the role (403), then the body (400).  Everything the daemons know
 * comes from their control sockets through a job (pool.c); their replies
 * are passed on minus "ok", so the console and tandemctl agree.
 */
#include "webd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_guard.h"
#include "lib/config.h"
#include "lib/ctl.h"
#include "lib/err.h"
#include "lib/jsonconf.h"
#include "lib/log.h"

#define COOKIE_NAME "tandem_session"
#define COOKIE_FLAGS "; Path=/; HttpOnly; Secure; SameSite=Strict"

static int answer(struct webd_req *r, int status, json_t *reply)
{
	r->status = status;
	r->reply = reply;
	return 0;
}

/* A daemon's reply -> HTTP status and body (the reply minus "ok").
 * Consumes nothing: the result is a new reference. */
static int daemon_reply(json_t *rep, const char *err, const char *who, json_t **out)
{
	if (!rep) {
		*out = api_error("%s: %s", who, err);
		return 502;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		const char *e = json_string_value(json_object_get(rep, "error"));
		*out = api_error("%s", e ? e : "the daemon refused without saying why");
		return 409;
	}
	*out = json_deep_copy(rep);
	json_object_del(*out, "ok");
	return 200;
}

/* ------------------------------------------------------ daemon calls -- */

static void ctl_run(const struct webd_config *cfg, struct job *j)
{
	const char *cmd = json_string_value(json_object_get(j->lbd_req, "cmd"));

	if (j->lbd_req && cmd && !strcmp(cmd, "flows"))	/* paged by lbd: every page */
		j->lbd = ctl_flows_request(cfg->lbd_socket, j->lbd_req, j->timeout_ms, j->err,
					   sizeof(j->err));
	else if (j->lbd_req)
		j->lbd = job_ctl(cfg->lbd_socket, j->lbd_req, j->timeout_ms, j->err, sizeof(j->err));
	if (j->want_sync) {
		const char *sock = j->sync_sock;
		char e[256];
		if (!sock[0])
			sock = json_string_value(json_object_get(j->lbd, "sync_control_socket"));
		if (sock && sock[0]) {
			json_t *req = json_pack("{s:s}", "cmd", "status");
			j->sync = job_ctl(sock, req, 2000, e, sizeof(e));
			json_decref(req);
		}
	}
}

/* The daemon's answer for the route r waits for. */
static void ctl_done(struct webd *w, struct job *j)
{
	struct webd_req *r = j->req;
	json_t *out = NULL, *sync = NULL;
	int st = daemon_reply(j->lbd, j->err, "lbd", &out);

	if (j->sync && json_is_true(json_object_get(j->sync, "ok"))) {
		sync = json_deep_copy(j->sync);
		json_object_del(sync, "ok");
	}
	if (st != 200)
		goto reply;
	switch (r->route.id) {
	case API_R_STATUS: {
		json_t *role = json_object_get(out, "role");
		out = json_pack("{s:o, s:o, s:O}", "lbd", out, "sync", sync ? sync : json_null(),
				"role", role ? role : json_null());
		sync = NULL;
		break;
	}
	case API_R_FAILOVER: {
		struct history *h = &w->history;
		json_t *role = json_object_get(out, "role");
		json_t *peer = sync ? json_object_get(sync, "peer") : NULL;
		json_t *vrrp = json_pack("{s:O, s:O, s:O, s:O, s:I, s:o}",
			"role", role ? role : json_null(),
			"ready", json_object_get(out, "ready") ? json_object_get(out, "ready") : json_null(),
			"not_ready", json_object_get(out, "not_ready") ? json_object_get(out, "not_ready")
								      : json_null(),
			"peer", peer ? peer : json_null(), "failovers", (json_int_t)h->failovers,
			"role_since", h->role_since ? json_integer((json_int_t)h->role_since) : json_null());
		json_t *o = json_pack("{s:O, s:o, s:o}", "role", role ? role : json_null(), "sync",
				      sync ? sync : json_null(), "vrrp", vrrp);
		sync = NULL;
		json_decref(out);
		out = o;
		break;
	}
	case API_R_SESSIONS: {
		json_t *page = api_sessions_page(j->lbd, &r->q);
		json_decref(out);
		out = page ? page : api_error("lbd's flows reply has no \"flows\" array");
		st = page ? 200 : 502;
		break;
	}
	default:
		break;
	}
reply:
	json_decref(sync);
	if (r->route.post)
		log_event(st == 200 ? LOG_INFO : LOG_WARNING,
			  st == 200 ? "api_action_ok" : "api_action_failed",
			  KV_S("action", json_string_value(json_object_get(j->lbd_req, "cmd"))),
			  KV_S("node", r->route.node[0] ? r->route.node : NULL), KV_I("status", st));
	http_resume(w, r, st, out);
	job_free(j);
}

/* Send req (consumed) to lbd for r; 1 = suspended, 0 = answered (503). */
static int lbd_job(struct webd *w, struct webd_req *r, json_t *req, int timeout_ms, int want_sync)
{
	struct job *j = job_new(ctl_run, ctl_done);

	if (!j) {
		json_decref(req);
		return answer(r, 503, api_error("out of memory"));
	}
	j->req = r;
	j->lbd_req = req;
	j->timeout_ms = timeout_ms;
	j->want_sync = want_sync;
	snprintf(j->sync_sock, sizeof(j->sync_sock), "%s",
		 w->cfg.syncd_socket[0] ? w->cfg.syncd_socket : w->syncd_socket);
	if (pool_submit(&w->pool, j) < 0) {
		job_free(j);
		return answer(r, 503, api_error("busy: too many requests waiting for the daemons"));
	}
	return 1;
}

/* ------------------------------------------------------------ login -- */

#define RL_KEY (API_USER_MAX + 8)

/* The rate limit keys of a login of user through r: the client's address
 * (by api_client_key: IPv6 by its /64) and the user name (by api_user_key:
 * "Victor" is victor to LDAP, so it is to the limit). */
static void rl_keys(const struct webd_req *r, const char *user, char keys[2][RL_KEY])
{
	char ukey[API_USER_MAX + 1];

	if (api_user_key(user, ukey, sizeof(ukey)) < 0)
		snprintf(ukey, sizeof(ukey), "%s", user);
	snprintf(keys[0], RL_KEY, "%s", r->client_key);
	snprintf(keys[1], RL_KEY, "u:%s", ukey);
}

/* A 401 of j is held back until failure_delay_ms after its submission, so
 * that how long LDAP took (a search that found nobody, or a search and a
 * bind with a wrong password) does not tell which users exist. */
static uint64_t badcred_due(struct webd *w, struct job *j)
{
	uint64_t due = j->submit_ms + w->cfg.fail_delay_ms;

	if (w->cfg.fail_delay_ms && loop_now_ms() > due)
		log_warnx("a failed login took %llu ms, more than login_rate.failure_delay_ms (%u): "
			  "raise it, or answer times may tell which users exist",
			  (unsigned long long)(loop_now_ms() - j->submit_ms), w->cfg.fail_delay_ms);
	return due;
}

static void login_done(struct webd *w, struct job *j)
{
	struct webd_req *r = j->req;
	struct sessions *s = &w->sessions;
	char keys[2][RL_KEY];
	const char *user = j->login.user;
	uint64_t due = 0;
	struct session *se;
	int st;
	json_t *out;

	rl_keys(r, user, keys);
	if (j->auth == AUTH_OK_ADMIN || j->auth == AUTH_OK_VIEWER || j->auth == AUTH_NOGROUP)
		for (int i = 0; i < 2; i++)	/* the password was right: not a failure */
			rl_refund(s, keys[i], j->rl_win[i]);
	switch (j->auth) {
	case AUTH_OK_ADMIN:
	case AUTH_OK_VIEWER:
		se = session_create(s, user, j->auth == AUTH_OK_ADMIN);
		metrics_login(w, se ? METRICS_LOGIN_SUCCESS : METRICS_LOGIN_ERROR);
		if (!se) {
			st = 503;
			out = api_error("too many sessions: try again later");
			break;
		}
		snprintf(r->set_cookie, sizeof(r->set_cookie), COOKIE_NAME "=%s" COOKIE_FLAGS, se->id);
		st = 200;
		out = json_pack("{s:s, s:s, s:s}", "user", se->user, "role",
				se->admin ? "admin" : "viewer", "csrf", se->csrf);
		log_event(LOG_NOTICE, "login", KV_S("user", user), KV_S("client", r->client),
			  KV_S("role", se->admin ? "admin" : "viewer"));
		break;
	case AUTH_BADCRED:
		metrics_login(w, METRICS_LOGIN_FAILURE);
		st = 401;
		out = api_error("wrong user or password");
		due = badcred_due(w, j);
		log_event(LOG_NOTICE, "login_refused", KV_S("user", user), KV_S("client", r->client),
			  KV_S("reason", "wrong user or password"));
		break;
	case AUTH_NOGROUP:
		metrics_login(w, METRICS_LOGIN_FAILURE);
		st = 403;
		out = api_error("user \"%s\" is in neither the admin nor the viewer group", user);
		log_event(LOG_NOTICE, "login_refused", KV_S("user", user), KV_S("client", r->client),
			  KV_S("reason", "in neither the admin nor the viewer group"));
		break;
	default:
		metrics_login(w, METRICS_LOGIN_ERROR);
		st = 502;
		out = api_error("%s", j->err[0] ? j->err : "LDAP error");
		log_event(LOG_WARNING, "login_failed", KV_S("user", user), KV_S("client", r->client),
			  KV_S("reason", j->err));
		break;
	}
	http_resume_at(w, r, due, st, out);
	job_free(j);
}

/*
 * Rate limit of a login (before LDAP is asked: a blocked guesser costs us
 * nothing), then count it as a failure at once: it is taken back when the
 * login succeeds, so logins in flight count (concurrent guesses cannot
 * overtake the limit).  0 = go on, with the windows charged in win[]; 1 =
 * r is answered (429).
 */
static int login_charge(struct webd *w, struct webd_req *r, char keys[2][RL_KEY], uint64_t win[2])
{
	struct sessions *s = &w->sessions;
	unsigned wait_a = rl_blocked(s, keys[0]), wait_u = rl_blocked(s, keys[1]);

	if (!wait_a && !wait_u) {
		if (rl_fail(s, keys[0]) == 0) {
			win[0] = rl_window(s, keys[0]);
			if (rl_fail(s, keys[1]) == 0) {
				win[1] = rl_window(s, keys[1]);
				return 0;
			}
			rl_refund(s, keys[0], win[0]);
		}
		wait_a = 1;	/* no slot without forgetting a blocked key */
		wait_u = rl_blocked(s, keys[1]);
	}
	r->retry_after = wait_a > wait_u ? wait_a : wait_u;
	metrics_login(w, METRICS_LOGIN_RATE_LIMITED);
	log_event(LOG_NOTICE, "login_refused", KV_S("user", keys[1] + 2), KV_S("client", r->client),
		  KV_S("reason", "rate limited"), KV_U("retry_s", r->retry_after));
	answer(r, 429, wait_a ? api_error("too many failed logins from %s; retry in %u s", r->client,
					  r->retry_after)
			      : api_error("too many failed logins for this user; retry in %u s",
					  r->retry_after));
	return 1;
}

static int handle_login(struct webd *w, struct webd_req *r)
{
	struct api_login lg;
	char err[256], keys[2][RL_KEY];
	uint64_t win[2];
	struct job *j;

	if (api_parse_login(r->body ? r->body : "", r->len, &lg, err, sizeof(err)) < 0)
		return answer(r, 400, api_error("%s", err));
	rl_keys(r, lg.user, keys);
	if (login_charge(w, r, keys, win)) {
		explicit_bzero(&lg, sizeof(lg));
		return 0;
	}
	if (!lg.password[0]) {
		/* An empty password is an LDAP "unauthenticated bind" (RFC 4513
		 * 5.1.2) that most servers accept: never send it.  (Counted.) */
		metrics_login(w, METRICS_LOGIN_FAILURE);
		return answer(r, 401, api_error("wrong user or password"));
	}
	j = job_new(auth_run, login_done);
	if (j) {
		j->req = r;
		j->login = lg;
		j->submit_ms = loop_now_ms();
		memcpy(j->rl_win, win, sizeof(j->rl_win));
	}
	explicit_bzero(&lg, sizeof(lg));
	if (!j || pool_submit(&w->pool, j) < 0) {
		job_free(j);
		for (int i = 0; i < 2; i++)
			rl_refund(&w->sessions, keys[i], win[i]);
		metrics_login(w, METRICS_LOGIN_ERROR);
		return answer(r, 503, api_error("busy: too many requests waiting; try again"));
	}
	return 1;
}

/* ------------------------------------------------------------ config -- */

static int handle_config_get(struct webd *w, struct webd_req *r)
{
	char *buf, err[512];
	size_t len;
	json_error_t je;
	json_t *o;

	if (jconf_read_file(w->cfg.config_path, 16 << 20, &buf, &len, err, sizeof(err)) < 0)
		return answer(r, 500, api_error("%s", err));
	o = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!o)
		return answer(r, 500, api_error("%s: line %d: %s", w->cfg.config_path, je.line, je.text));
	return answer(r, 200, o);
}

/* Validate r's body with lbd's own parser.  0, or -1 with r answered 400. */
static int validate_body(struct webd_req *r)
{
	struct config *cfg = malloc(sizeof(*cfg));
	char err[512];
	int rc;

	if (!cfg)
		return answer(r, 503, api_error("out of memory")), -1;
	if (!r->len) {
		free(cfg);
		answer(r, 400, json_pack("{s:s, s:b}", "error", "empty body: want the configuration JSON",
					 "valid", 0));
		return -1;
	}
	rc = config_parse(r->body, r->len, cfg, err, sizeof(err));
	free(cfg);
	if (rc < 0) {
		answer(r, 400, json_pack("{s:s, s:b}", "error", err, "valid", 0));
		return -1;
	}
	return 0;
}

/* fsync the directory holding path (so a rename survives a crash). */
static void sync_dir(const char *path)
{
	char d[WEBD_PATH_MAX];
	int fd;

	snprintf(d, sizeof(d), "%s", path);
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Make `to` a hard-link copy of `from` atomically (tmp link + rename). */
static int link_as(const char *from, const char *to)
{
	char tmp[WEBD_PATH_MAX + 16];

	snprintf(tmp, sizeof(tmp), "%s.lnk%d", to, (int)getpid());
	unlink(tmp);
	if (link(from, tmp) < 0)
		return -1;
	if (rename(tmp, to) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Worker: write the new file atomically (temporary file in the same
 * directory, fsync, rename), keep the old one as PATH.prev, ask lbd to
 * reload; if lbd refuses, put the old file back, so the file on disk and
 * what lbd runs never disagree for long.
 */
static void apply_run(const struct webd_config *cfg, struct job *j)
{
	const char *path = cfg->config_path;
	char tmp[WEBD_PATH_MAX + 16], prev[WEBD_PATH_MAX + 8];
	struct stat st;
	mode_t mode = 0644;
	int fd, have_prev = 0;

	j->status = 500;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	snprintf(prev, sizeof(prev), "%s.prev", path);
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fd = mkstemp(tmp);
	if (fd < 0) {
		err_errno(j->err, sizeof(j->err), "cannot create a file beside %s", path);
		return;
	}
	if (fchmod(fd, mode) < 0 || write(fd, j->body, j->len) != (ssize_t)j->len ||
	    fsync(fd) < 0) {
		err_errno(j->err, sizeof(j->err), "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (access(path, F_OK) == 0) {
		if (link_as(path, prev) < 0) {
			err_errno(j->err, sizeof(j->err), "cannot keep the old file as %s", prev);
			unlink(tmp);
			return;
		}
		have_prev = 1;
	}
	if (rename(tmp, path) < 0) {
		err_errno(j->err, sizeof(j->err), "cannot rename %s to %s", tmp, path);
		unlink(tmp);
		return;
	}
	sync_dir(path);
	json_t *req = json_pack("{s:s}", "cmd", "reload");
	j->lbd = job_ctl(cfg->lbd_socket, req, 30000, j->err, sizeof(j->err));
	json_decref(req);
	if (j->lbd && json_is_true(json_object_get(j->lbd, "ok"))) {
		j->status = 200;
		return;
	}
	const char *why = j->lbd ? json_string_value(json_object_get(j->lbd, "error")) : j->err;
	char msg[400];
	snprintf(msg, sizeof(msg), "%.300s", why ? why : "no reason given");
	if (have_prev && link_as(prev, path) == 0) {
		sync_dir(path);
		snprintf(j->err, sizeof(j->err),
			 "lbd refused the new configuration: %.300s; the previous file is back", msg);
	} else {
		snprintf(j->err, sizeof(j->err),
			 "lbd refused the new configuration: %.250s (the new file stays in %.150s)", msg, path);
	}
	j->status = j->lbd ? 409 : 502;
}

static void apply_done(struct webd *w, struct job *j)
{
	json_t *out;

	if (j->status == 200) {
		json_t *rel = json_deep_copy(j->lbd);
		json_object_del(rel, "ok");
		out = json_pack("{s:b, s:o}", "applied", 1, "reload", rel);
		log_event(LOG_NOTICE, "config_apply", KV_S("path", w->cfg.config_path));
	} else {
		out = json_pack("{s:s, s:b}", "error", j->err, "applied", 0);
		log_event(LOG_WARNING, "config_apply_failed", KV_S("path", w->cfg.config_path),
			  KV_S("reason", j->err));
	}
	http_resume(w, j->req, j->status, out);
	job_free(j);
}

static int handle_config_apply(struct webd *w, struct webd_req *r)
{
	struct job *j;

	if (validate_body(r) < 0)
		return 0;
	j = job_new(apply_run, apply_done);
	if (!j)
		return answer(r, 503, api_error("out of memory"));
	j->req = r;
	j->body = r->body;	/* the job owns the body now */
	j->len = r->len;
	r->body = NULL;
	r->len = r->cap = 0;
	if (pool_submit(&w->pool, j) < 0) {
		job_free(j);
		return answer(r, 503, api_error("busy: try again"));
	}
	return 1;
}

/* ------------------------------------------------------------- main -- */

static json_t *cmd(const char *c)
{
	return json_pack("{s:s}", "cmd", c);
}

/*
 * The session r belongs to, checked in the order of every path but login:
 * session (401), then for a POST the CSRF header (403), then the role
 * (403).  NULL when r may not go on (r is answered).
 */
static struct session *authorize(struct webd *w, struct webd_req *r)
{
	char id[API_TOKEN_HEX + 8];
	const char *h = http_header(r, "Cookie");
	struct session *se = NULL;

	if (h && api_cookie_get(h, COOKIE_NAME, id, sizeof(id)) > 0)
		se = webd_session_find(&w->sessions, id);
	if (!se)
		return answer(r, 401, api_error("not logged in (or the session expired): POST /api/v1/login")),
		       NULL;
	if (r->route.post) {
		h = http_header(r, "X-CSRF-Token");
		if (!h || !token_eq(h, se->csrf))
			return answer(r, 403, api_error("missing or wrong X-CSRF-Token header")), NULL;
	}
	if (r->route.admin && !se->admin)
		return answer(r, 403, api_error("viewers may not make changes (user \"%s\" is a viewer)",
						se->user)), NULL;
	return se;
}

/*
 * Requests another site's page could make a browser send (doc/api.md,
 * "Cross-site requests"): an Origin header that is not this server's own
 * origin (403), and a POST whose body is not declared JSON (415; login
 * always needs one, other POSTs when they carry a body or a Content-Type).
 * 1 = r is answered.
 */
static int cross_site(struct webd *w, struct webd_req *r)
{
	const char *origin = http_header(r, "Origin"), *ct = http_header(r, "Content-Type");

	if (origin && !api_origin_ok(origin, http_header(r, "Host"), !w->cfg.plain_http)) {
		char o[101];
		snprintf(o, sizeof(o), "%s", origin);
		log_event(LOG_NOTICE, "origin_refused", KV_S("client", r->client), KV_S("origin", o));
		answer(r, 403, api_error("cross-site request refused: Origin %.100s is not this "
					 "console's origin", origin));
		return 1;
	}
	if (r->route.post && (r->route.id == API_R_LOGIN || r->len || ct) &&
	    !api_json_content_type(ct)) {
		answer(r, 415, api_error("the request body must be JSON (Content-Type: application/json)"));
		return 1;
	}
	return 0;
}

static int handle_logout(struct webd_req *r, struct session *se)
{
	json_t *o = json_pack("{s:s}", "user", se->user);

	log_event(LOG_INFO, "logout", KV_S("user", se->user), KV_S("client", r->client));
	session_end(se);
	snprintf(r->set_cookie, sizeof(r->set_cookie), COOKIE_NAME "=" COOKIE_FLAGS "; Max-Age=0");
	return answer(r, 200, o);
}

static int handle_sessions(struct webd *w, struct webd_req *r)
{
	char err[512];
	json_t *req;
	uint64_t lim;

	if (http_query(r, &r->q, err, sizeof(err)) < 0)
		return answer(r, 400, api_error("%s", err));
	/* lbd filters by vip and node itself; client and proto here
	 * (api_sessions_page), so then the whole (filtered) table. */
	lim = (r->q.client[0] || r->q.proto) ? 1000000 : (uint64_t)r->q.offset + r->q.limit;
	if (lim > 1000000)
		lim = 1000000;
	req = json_pack("{s:s, s:I}", "cmd", "flows", "limit", (json_int_t)lim);
	if (r->q.vip[0])
		json_object_set_new(req, "vip", json_string(r->q.vip));
	if (r->q.node[0])
		json_object_set_new(req, "node", json_string(r->q.node));
	return lbd_job(w, r, req, 15000, 0);
}

static int handle_history(struct webd *w, struct webd_req *r)
{
	char err[512];

	if (http_query(r, &r->q, err, sizeof(err)) < 0)
		return answer(r, 400, api_error("%s", err));
	return answer(r, 200, history_json(&w->history, r->q.since));
}

static int handle_drain(struct webd *w, struct webd_req *r, const struct session *se)
{
	const char *c = r->route.id == API_R_DRAIN ? "drain" : "undrain";
	json_t *req = json_pack("{s:s, s:s}", "cmd", c, "node", r->route.node);

	log_event(LOG_NOTICE, "api_action", KV_S("user", se->user), KV_S("client", r->client),
		  KV_S("action", c), KV_S("node", r->route.node));
	return lbd_job(w, r, req, 5000, 0);
}

/* POST migrate / handoff: the body checked here, the move done by lbd. */
static int handle_move(struct webd *w, struct webd_req *r, const struct session *se)
{
	int migrate = r->route.id == API_R_MIGRATE;
	char err[512];
	json_t *req = migrate ? api_parse_migrate(r->body ? r->body : "", r->len, err, sizeof(err))
			      : api_parse_handoff(r->body ? r->body : "", r->len, err, sizeof(err));

	if (!req)
		return answer(r, 400, api_error("%s", err));
	log_event(LOG_NOTICE, "api_action", KV_S("user", se->user), KV_S("client", r->client),
		  KV_S("action", migrate ? "migrate" : "handoff"));
	/* lbd answers a handoff after the nodes' ACK: up to 15 s (a migrate of
	 * one live TCP session is a handoff too) */
	return lbd_job(w, r, req, 20000, 0);
}

int api_handle(struct webd *w, struct webd_req *r)
{
	struct session *se;

	if (cross_site(w, r))
		return 0;
	if (r->route.id == API_R_LOGIN)
		return handle_login(w, r);
	se = authorize(w, r);
	if (!se)
		return 0;
	switch (r->route.id) {
	case API_R_SESSION:
		return answer(r, 200, json_pack("{s:s, s:s, s:s}", "user", se->user, "role",
						se->admin ? "admin" : "viewer", "csrf", se->csrf));
	case API_R_LOGOUT:
		return handle_logout(r, se);
	case API_R_STATUS:
	case API_R_FAILOVER:
		return lbd_job(w, r, cmd("status"), 5000, 1);
	case API_R_VIPS:
		return lbd_job(w, r, cmd("vips"), 5000, 0);
	case API_R_NODES:
		return lbd_job(w, r, cmd("nodes"), 5000, 0);
	case API_R_STATS:
		return lbd_job(w, r, cmd("stats"), 5000, 0);
	case API_R_CLUSTER:
		return lbd_job(w, r, cmd("cluster"), 5000, 0);
	case API_R_SESSIONS:
		return handle_sessions(w, r);
	case API_R_HISTORY:
		return handle_history(w, r);
	case API_R_CONFIG:
		return handle_config_get(w, r);
	case API_R_CONFIG_VALIDATE:
		if (validate_body(r) < 0)
			return 0;
		return answer(r, 200, json_pack("{s:b}", "valid", 1));
	case API_R_CONFIG_APPLY:
		return handle_config_apply(w, r);
	case API_R_DRAIN:
	case API_R_UNDRAIN:
		return handle_drain(w, r, se);
	case API_R_MIGRATE:
	case API_R_HANDOFF:
		return handle_move(w, r, se);
	default:
		return answer(r, 404, api_error("no such API path"));
	}
}
