/*
 * metrics.h - tandem-webd's Prometheus endpoint, GET /metrics
 * (doc/metrics.md lists the families; doc/api.md the "metrics" section).
 *
 * Modules:
 *   metrics_conf.c  the "metrics" section of webd.json (pure parser)
 *   metrics.c       the request: who may scrape (bearer token, client
 *                   certificate, the plain listener), the job that asks lbd
 *                   and syncd, the answer; webd's own counters
 *   metrics_page.c  the page from lbd's and syncd's replies (pure: JSON in,
 *                   lib/prom.h out; fuzzed by tests/fuzz/fuzz_metrics.c)
 *
 * One source of truth: every figure on the page is one of the control
 * sockets' (doc/control.md), read when the scrape comes, so Prometheus,
 * tandemctl and the console agree.
 */
#ifndef TANDEM_WEBD_METRICS_H
#define TANDEM_WEBD_METRICS_H

#include <jansson.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/keyfile.h"
#include "lib/loop.h"
#include "lib/prom.h"

#define METRICS_PATH_MAX 256

struct jconf;

/* The "metrics" section (absent: enabled 0, /metrics is not served). */
struct webd_metrics_config {
	int enabled;
	char token_file[METRICS_PATH_MAX];	/* bearer token file ("" none) */
	char client_ca[METRICS_PATH_MAX];	/* CA of scrapers' certificates ("" none) */
	struct taddr listen_addr;		/* the plain-HTTP listener ... */
	uint16_t listen_port;			/* ... 0: none */
	int listen_open;			/* "listen_auth": "none": no token there */
};

/*
 * Parse the "metrics" object o (pure; plain_http: webd's own listener is
 * plain HTTP, so client certificates cannot be asked for).  0, or -1 with
 * the message in p.  Rules (doc/api.md): at least one of token_file and
 * client_ca; client_ca only over HTTPS; listen an "addr:port" whose address
 * is not a wildcard (it is meant for a management address); listen_auth
 * "token" (default: needs token_file) or "none".
 */
int metrics_config_parse(struct jconf *p, json_t *o, struct webd_metrics_config *m,
			 int plain_http);

/* -t and every start: the token file loads (lib/bearer.h: mode 0600 or
 * stricter, 64..128 hex digits) and the CA file is readable.  0 / -1 with
 * the message in err. */
int metrics_check_files(const struct webd_metrics_config *m, char *err, size_t errlen);

/* What tandem-webd -t says about the section (one line, no newline). */
void metrics_config_describe(const struct webd_metrics_config *m, char *out, size_t outlen);

/* Login outcomes counted for tandem_webd_logins_total{result}. */
enum metrics_login {
	METRICS_LOGIN_SUCCESS,		/* a session was created */
	METRICS_LOGIN_FAILURE,		/* wrong user or password, empty password, in no group */
	METRICS_LOGIN_RATE_LIMITED,	/* 429 before LDAP was asked */
	METRICS_LOGIN_ERROR,		/* LDAP unreachable, webd busy, session table full */
	METRICS_LOGIN_RESULTS
};

/* webd's own figures on the page. */
struct metrics_webd_figs {
	uint64_t logins[METRICS_LOGIN_RESULTS];
	uint64_t scrapes_ok, scrapes_refused;
	uint32_t sessions;		/* live console sessions */
};

struct MHD_Daemon;

/* The metrics state in struct webd. */
struct webd_metrics {
	uint8_t token[KEYFILE_MAX];	/* from token_file, read at start */
	size_t token_len;
	struct metrics_webd_figs figs;
	/* the plain-HTTP listener (listen_port != 0), run like the console's */
	struct MHD_Daemon *mhd;
	struct loop_io io;
	struct loop_timer timer;
};

/*
 * The page (pure): lbd's status and stats replies and syncd's status
 * (each NULL when the daemon did not answer; sync_wanted: syncd is
 * configured, so its absence is reported as down) and webd's figures into
 * p.  0, or -1 with prom_error(p).
 */
int metrics_page(struct prom *p, const json_t *status, const json_t *stats, const json_t *sync,
		 int sync_wanted, const struct metrics_webd_figs *wf);

#endif
