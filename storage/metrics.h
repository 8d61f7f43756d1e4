/*
 * metrics.h - tandem-nasd's own Prometheus endpoint: a small plain-HTTP
 * listener on the node's management or storage address that serves GET
 * /metrics and nothing else (doc/nasd.md "Metrics", doc/metrics.md lists
 * the families).
 *
 * Why its own listener, not a relay through the switch: the switch's webd
 * cannot reach the nodes' control sockets, and relaying through lbd would
 * put every NFS procedure's counter into the authenticated handoff-report
 * datagrams, with their sizes and rates fixed by that protocol.  Scraped
 * directly, each node is a Prometheus target of its own: `up` says when a
 * node's nasd is gone, its figures need no switch, and they come straight
 * from the control socket's status reply (one source of truth).
 *
 *   metrics_page.c  the "metrics" section and the page (pure, fuzzed)
 *   metrics.c       the listener (event loop, lib/bearer.h authentication)
 */
#ifndef TANDEM_NASD_METRICS_H
#define TANDEM_NASD_METRICS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/addr.h"
#include "lib/prom.h"

#define NASD_METRICS_PATH_MAX 256

struct jconf;

/* The "metrics" section (enabled 0: absent). */
struct nasd_metrics_config {
	int enabled;
	struct taddr addr;		/* listen: a specific address, never a wildcard */
	uint16_t port;
	char token_file[NASD_METRICS_PATH_MAX];	/* bearer token ("" none) */
	int open;			/* "auth": "none": scrapes need no token */
};

/*
 * Parse the "metrics" object o (pure).  Keys: "listen" (required, an
 * "addr:port" that is not a wildcard), "token_file", "auth" ("token", the
 * default, needs token_file; or "none").  0, or -1 with the message in p.
 */
int nasd_metrics_config_parse(struct jconf *p, json_t *o, struct nasd_metrics_config *m);

/* The node's page from its control socket's status reply (pure; NULL
 * status: only what says so).  0, or -1 with prom_error(p). */
int nasd_metrics_page(struct prom *p, const json_t *status);

/* -t: the token file loads (mode 0600 or stricter); one line on f saying
 * where /metrics is served and how.  0, or -1 with the message in err. */
int nasd_metrics_check(const struct nasd_metrics_config *m, FILE *f, char *err, size_t errlen);

struct nasd;
/* Open the listener if configured (token read, socket bound).  0 / -1 (logged). */
int nasd_metrics_open(struct nasd *n);
void nasd_metrics_close(struct nasd *n);

#endif
