/*
 * webd.h - tandem-webd: the REST API (doc/api.md), the static web console
 * and LDAP logins.  Its only data source and action path are the control
 * sockets of tandem-lbd and tandem-syncd (doc/control.md).
 *
 * Modules:
 *   main.c     options, the event loop, signals, the 1 s tick
 *   config.c   webd's own JSON configuration (pure parser + file loader)
 *   http.c     libmicrohttpd inside our event loop; request bodies, replies
 *   api.c      the API handlers (routing from api_req.c)
 *   pool.c     worker threads for everything that blocks (LDAP, control
 *              sockets), completions back through an eventfd
 *   auth.c     LDAP bind and group membership (runs on a worker)
 *   session.c  session table, CSRF tokens, login rate limit
 *   api_guard.c  pure header checks (Origin, Content-Type), rate limit keys
 *   history.c  the 1 s samples of lbd for the console's charts
 *   metrics*.c GET /metrics for Prometheus (metrics.h)
 *
 * Threads: the main thread owns everything in struct webd.  Workers see only
 * the (immutable after start) configuration and the job they run; a job
 * belongs to the pool from pool_submit() until its done() runs on the main
 * thread.
 */
#ifndef TANDEM_WEBD_H
#define TANDEM_WEBD_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "lib/addr.h"
#include "api_req.h"
#include "lib/loop.h"
#include "metrics.h"

#define WEBD_PATH_MAX 256
#define WEBD_SOCK_MAX 108
#define WEBD_DN_MAX 512
#define WEBD_MAX_BODY (1024 * 1024)
#define WEBD_WORKERS 4
#define WEBD_MAX_QUEUED 64	/* jobs waiting: beyond, 503 */

struct webd_ldap {
	char uri[WEBD_PATH_MAX];
	char user_dn_template[WEBD_DN_MAX];	/* "" = search mode */
	char search_base[WEBD_DN_MAX];
	char search_filter[WEBD_DN_MAX];
	char bind_dn[WEBD_DN_MAX];		/* "" = anonymous search */
	char bind_password_file[WEBD_PATH_MAX];
	char admin_group[WEBD_DN_MAX];
	char viewer_group[WEBD_DN_MAX];
	uint32_t timeout_ms;
	int starttls;
	int allow_cleartext;		/* ldap:// without StartTLS accepted (labs) */
	char ca_file[WEBD_PATH_MAX];	/* "": libldap's default (ldap.conf TLS_CACERT) */
	int has_search;			/* "search" given */
	int from_directory;		/* no "uri": from the appliance config's "directory" */
};

struct webd_config {
	struct taddr listen_addr;
	uint16_t listen_port;
	int plain_http;			/* only with a loopback listen address */
	char cert[WEBD_PATH_MAX], key[WEBD_PATH_MAX];
	char www[WEBD_PATH_MAX];
	char lbd_socket[WEBD_SOCK_MAX];
	char syncd_socket[WEBD_SOCK_MAX];	/* "" = lbd's sync_control_socket, if any */
	char config_path[WEBD_PATH_MAX];
	struct webd_ldap ldap;
	uint32_t session_idle_s, session_max, session_max_per_user;
	uint32_t rate_max, rate_window_s;
	uint32_t fail_delay_ms;		/* a 401 login answers this long after submission */
	uint32_t history_s;
	struct webd_metrics_config metrics;	/* "metrics" (metrics_conf.c) */
};

/* Parse webd.json text (pure).  0, or -1 with a one-line message in err. */
int webd_config_parse(const char *buf, size_t len, struct webd_config *cfg, char *err,
		      size_t errlen);
/* Complete an ldap section without "uri" from the appliance config's
 * directory d (pure): a pair's local slapd over ldapi (d->run_dir), or the
 * site's uri; unless given, users at uid=%s,ou=people,BASE, groups
 * cn=tandem-admins and cn=tandem-viewers under ou=groups,BASE.  0 / -1. */
struct cfg_directory;
int webd_ldap_from_directory(struct webd_ldap *l, const struct cfg_directory *d, char *err,
			     size_t errlen);
/* Read and parse (and complete from the appliance config at config_path
 * when ldap has no "uri"); err is prefixed with the path. */
int webd_config_load(const char *path, struct webd_config *cfg, char *err, size_t errlen);

/* ------------------------------------------------------------- pool -- */

struct webd;
struct webd_req;

enum auth_result { AUTH_OK_ADMIN, AUTH_OK_VIEWER, AUTH_BADCRED, AUTH_NOGROUP, AUTH_ERROR };

struct job {
	struct job *next;
	/* run: on a worker, may block; sees only cfg and the job. */
	void (*run)(const struct webd_config *cfg, struct job *j);
	/* done: on the main thread; frees the job (job_free). */
	void (*done)(struct webd *w, struct job *j);
	struct webd_req *req;		/* the suspended request, or NULL */
	/* inputs */
	json_t *lbd_req;		/* request for lbd, or NULL */
	int timeout_ms;
	int want_sync;			/* also syncd's status */
	char sync_sock[WEBD_SOCK_MAX];	/* "" = lbd status's sync_control_socket */
	int want_nodes;			/* also lbd's nodes (history) */
	struct api_login login;		/* wiped by job_free */
	uint64_t submit_ms;		/* login: monotonic, when submitted */
	uint64_t rl_win[2];		/* login: windows charged (rl_fail) for "a:", "u:" */
	char *body;			/* config apply: the new file (malloc'd) */
	size_t len;
	/* outputs */
	json_t *lbd, *sync, *nodes;	/* daemon replies (NULL: none / unreachable) */
	json_t *stats;			/* lbd's stats (metrics) */
	char err[512];			/* why lbd could not be reached */
	enum auth_result auth;
	char dn[WEBD_DN_MAX];
	uint64_t t_ms;			/* wall clock when run */
	int status;			/* apply: HTTP status of the outcome */
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, **todo_tail, *done, **done_tail;
	unsigned queued;		/* submitted, not yet taken by a worker */
	unsigned busy;			/* submitted, done() not yet run */
	int stop;
	int nthreads;
	pthread_t th[WEBD_WORKERS];
	struct loop_io efd;		/* eventfd: completions waiting */
	const struct webd_config *cfg;
};

int pool_start(struct webd *w);
/* Hand j to a worker.  0, or -1 (queue full: the caller answers 503; j is
 * still the caller's). */
int pool_submit(struct pool *p, struct job *j);
/* Stop the workers at exit (joins them only when none is busy). */
void pool_stop(struct pool *p);
struct job *job_new(void (*run)(const struct webd_config *, struct job *),
		    void (*done)(struct webd *, struct job *));
void job_free(struct job *j);
/* Worker helper: lbd's (or a socket's) reply, or NULL with j->err set. */
json_t *job_ctl(const char *sock, const json_t *req, int timeout_ms, char *err, size_t errlen);

/* auth.c: the LDAP login of j->login (worker); sets j->auth, j->dn, j->err. */
void auth_run(const struct webd_config *cfg, struct job *j);

/* ---------------------------------------------------------- sessions -- */

struct session {
	int used;
	int admin;
	char id[API_TOKEN_HEX + 1];
	char csrf[API_TOKEN_HEX + 1];
	char user[API_USER_MAX + 1];	/* as typed at login */
	char ukey[API_USER_MAX + 1];	/* api_user_key(user): the per-user cap's key */
	uint64_t last_ms;		/* monotonic */
};

struct rl_ent {
	char key[API_USER_MAX + 8];	/* "a:ADDR" or "u:USER" */
	uint64_t first_ms;
	uint32_t count;
};

#define WEBD_RL_SLOTS 1024

struct sessions {
	struct session *tab;
	uint32_t n, idle_ms, per_user;
	struct rl_ent rl[WEBD_RL_SLOTS];
	uint32_t rl_max, rl_window_ms;
};

int sessions_init(struct sessions *s, const struct webd_config *cfg);
void sessions_free(struct sessions *s);
/*
 * New session for user.  A user (by api_user_key) holds at most per_user sessions: the
 * next login ends the user's least recently used one.  When the table is
 * full, the slot taken is, in this order: the user's own least recently
 * used session, the least recently used viewer session; an admin's session
 * is never ended for another user.  NULL when none of these exists (503).
 */
struct session *session_create(struct sessions *s, const char *user, int admin);
/* The live session with this id (touching it), or NULL. */
struct session *webd_session_find(struct sessions *s, const char *id);
void session_end(struct session *se);
void sessions_expire(struct sessions *s);
/*
 * Login rate limit (session.c has the policy).  rl_blocked: seconds until
 * key may try again, 0 = allowed now; an unknown key also waits while every
 * slot holds a blocked key (a block is never forgotten to make room).
 * rl_fail: count one failure of key; 0, or -1 when no slot can be had
 * without forgetting a block.  rl_window: the start of key's current window
 * (0: none), to give to rl_refund, which takes one failure back if that
 * window still runs (a login counted at submission that then succeeded).
 */
unsigned rl_blocked(struct sessions *s, const char *key);
int rl_fail(struct sessions *s, const char *key);
uint64_t rl_window(struct sessions *s, const char *key);
void rl_refund(struct sessions *s, const char *key, uint64_t window);
/* 64 hex chars of getrandom(): 0 / -1. */
int random_token(char out[API_TOKEN_HEX + 1]);
/* Constant-time string equality (tokens). 1/0. */
int token_eq(const char *a, const char *b);

/* ----------------------------------------------------------- history -- */

struct history {
	json_t **ring;			/* samples, oldest at head */
	uint32_t cap, head, n;
	int inflight;			/* a sample job is out */
	char role[16];			/* last role seen */
	uint64_t failovers;		/* role changes seen */
	uint64_t role_since;		/* unix ms of the last change, 0 = none */
};

int history_init(struct history *h, uint32_t cap);
void history_free(struct history *h);
/* Called every second: queue a sample job unless one is out. */
void history_tick(struct webd *w);
/* {"interval_ms","samples"} with t > since (caller owns). */
json_t *history_json(struct history *h, uint64_t since);

/* -------------------------------------------------------------- http -- */

struct MHD_Daemon;
struct MHD_Connection;

struct webd_req {
	struct webd *w;
	struct MHD_Connection *conn;
	char *body;
	size_t len, cap;
	int too_large;
	int suspended;
	int handled;			/* the handler ran */
	struct api_route route;
	struct api_query q;		/* GET /sessions, /history */
	char client[64];		/* peer address */
	char client_key[64];		/* its rate limit key (api_client_key) */
	/* a reply held back until due_ms (http_resume_at) */
	struct webd_req *later_next;
	uint64_t due_ms;
	struct session *sess;		/* during the handler only */
	int metrics;			/* GET /metrics: 1 console listener, 2 plain one */
	/* the reply, once known */
	int status;
	json_t *reply;
	char *text;			/* or a text reply (metrics), malloc'd */
	size_t text_len;
	char set_cookie[256];
	unsigned retry_after;
};

struct webd {
	struct webd_config cfg;
	const char *config_file;
	struct loop loop;
	struct loop_signals sigs;
	struct loop_timer tick;		/* 1 s: history, session expiry */
	struct loop_timer mhd_timer;	/* libmicrohttpd's own timeouts */
	struct loop_io mhd_io;		/* libmicrohttpd's epoll fd */
	struct loop_timer later_timer;	/* replies held back (http_resume_at) */
	struct webd_req *later;		/* their requests, unordered */
	struct MHD_Daemon *mhd;
	int www_fd;			/* O_PATH of cfg.www, -1 if missing */
	unsigned suspended;		/* connections waiting for a job */
	struct pool pool;
	struct sessions sessions;
	struct history history;
	char syncd_socket[WEBD_SOCK_MAX];	/* learnt from lbd's status when not configured */
	struct webd_metrics metrics;
};

int http_start(struct webd *w);
void http_stop(struct webd *w);
/* Let libmicrohttpd work now (after a resume) and re-arm its timer. */
void http_run(struct webd *w);
/* Answer a suspended request: takes reply, resumes the connection. */
void http_resume(struct webd *w, struct webd_req *r, int status, json_t *reply);
/* The same, but not before due_ms (monotonic, loop_now_ms()): the request
 * stays suspended until then. */
void http_resume_at(struct webd *w, struct webd_req *r, uint64_t due_ms, int status,
		    json_t *reply);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(struct webd_req *r, const char *name);
/* The query string's filters/paging into q (api_query_set on each pair). */
int http_query(struct webd_req *r, struct api_query *q, char *err, size_t errlen);

/* api.c: handle a complete request.  Returns 0 when r->status/r->reply are
 * set (answer now), 1 when the request waits for a job (suspended). */
int api_handle(struct webd *w, struct webd_req *r);
/* metrics.c: load metrics.token_file (0 / -1, logged). */
int metrics_start(struct webd *w);
/* A request for /metrics (r->metrics set, 1; a wrong method answered), or
 * any path on the plain metrics listener (answered 404, 1); 0: neither. */
int metrics_route(struct webd *w, struct webd_req *r, const char *method, const char *url);
/* As api_handle, for r->metrics. */
int metrics_handle(struct webd *w, struct webd_req *r);
void metrics_login(struct webd *w, enum metrics_login res);

/* Build {"error": msg}. */
json_t *api_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
