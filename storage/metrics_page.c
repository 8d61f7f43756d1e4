/*
 * metrics_page.c - the pure half of tandem-nasd's /metrics (metrics.h):
 * the "metrics" configuration section, and the page built from the status
 * reply of nasd's own control socket (doc/nasd.md), so the page and
 * `status` never disagree.  A member missing from the reply gives no sample.
 * Every sample carries node="<node_name>", the name the switch's
 * tandem_node_* families use, so a dashboard joins the two.
 */
#include "storage/metrics.h"

#include <stdio.h>
#include <string.h>

#include "lib/jsonconf.h"

int nasd_metrics_config_parse(struct jconf *p, json_t *o, struct nasd_metrics_config *m)
{
	static const char *const keys[] = { "listen", "token_file", "auth", NULL };
	char listen[80], auth[16];

	memset(m, 0, sizeof(*m));
	snprintf(p->where, sizeof(p->where), "metrics");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object {listen, token_file?, auth?}");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str(p, o, "listen", listen, sizeof(listen), NULL) < 0 ||
	    jconf_get_str(p, o, "token_file", m->token_file, sizeof(m->token_file), "") < 0 ||
	    jconf_get_str(p, o, "auth", auth, sizeof(auth), "token") < 0)
		return -1;
	if (taddr_parse_endpoint(listen, &m->addr, &m->port) < 0 || !m->port)
		return jconf_perr(p, "\"listen\": want \"addr:port\" or \"[v6addr]:port\"");
	if (taddr_is_any(&m->addr))
		return jconf_perr(p, "\"listen\" %s: give the node's management or storage address, "
				  "not a wildcard (the listener must not face the clients)", listen);
	if (!strcmp(auth, "none"))
		m->open = 1;
	else if (strcmp(auth, "token"))
		return jconf_perr(p, "\"auth\" must be \"token\" or \"none\"");
	else if (!m->token_file[0])
		return jconf_perr(p, "\"auth\": \"token\" (the default) needs \"token_file\"");
	m->enabled = 1;
	p->where[0] = '\0';
	return 0;
}

static const struct prom_desc families[] = {
	{ "tandem_nasd_uptime_seconds", PROM_GAUGE, "Seconds since tandem-nasd started." },
	{ "tandem_nasd_http_sessions", PROM_GAUGE, "Open HTTP sessions (client connections)." },
	{ "tandem_nasd_http_sessions_started_total", PROM_COUNTER, "HTTP sessions accepted (restored ones included)." },
	{ "tandem_nasd_http_requests_total", PROM_COUNTER, "HTTP requests answered." },
	{ "tandem_nasd_http_responses_total", PROM_COUNTER, "HTTP responses by status class (1xx..5xx)." },
	{ "tandem_nasd_http_sent_bytes_total", PROM_COUNTER, "Bytes sent on HTTP sessions (heads and bodies)." },
	{ "tandem_nasd_http_received_bytes_total", PROM_COUNTER, "Bytes received on HTTP sessions." },
	{ "tandem_nasd_nfs_connections", PROM_GAUGE, "Open NFS client connections." },
	{ "tandem_nasd_nfs_ops_total", PROM_COUNTER, "NFSv3 calls by procedure." },
	{ "tandem_nasd_nfs_read_bytes_total", PROM_COUNTER, "Bytes returned by NFS READ." },
	{ "tandem_nasd_nfs_written_bytes_total", PROM_COUNTER, "Bytes taken by NFS WRITE." },
	{ "tandem_nasd_handoffs_total", PROM_COUNTER, "Session handoffs by direction (out, in) and result (ok, failed, unconfirmed)." },
	{ "tandem_nasd_handoff_rollbacks_total", PROM_COUNTER, "Outgoing handoffs rolled back (the session stayed)." },
	{ "tandem_nasd_handoff_frozen_seconds", PROM_HISTOGRAM, "Time a handed-off session was frozen (client-visible pause), of the completed ones." },
};

/* A sample of family f from o[k] when that is a non-negative integer. */
static void put(struct prom *p, const char *f, const char *const *lbl, const json_t *o,
		const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		prom_u64(p, f, lbl, (uint64_t)json_integer_value(v));
}

static void handoff(struct prom *p, const char *node, const json_t *h)
{
	static const struct { const char *dir, *res, *key; } ho[] = {
		{ "out", "ok", "out_ok" }, { "out", "failed", "out_failed" },
		{ "out", "unconfirmed", "out_unconfirmed" },
		{ "in", "ok", "in_ok" }, { "in", "failed", "in_failed" },
	};

	for (size_t i = 0; i < sizeof(ho) / sizeof(ho[0]); i++)
		put(p, "tandem_nasd_handoffs_total",
		    PROM_L("node", node, "direction", ho[i].dir, "result", ho[i].res), h, ho[i].key);
	put(p, "tandem_nasd_handoff_rollbacks_total", PROM_L("node", node), h, "rollbacks");
	if (json_object_get(h, "frozen"))
		prom_histogram_json(p, "tandem_nasd_handoff_frozen_seconds", PROM_L("node", node),
				    json_object_get(h, "frozen"));
}

static void nfs(struct prom *p, const char *node, const json_t *o)
{
	const json_t *v;
	const char *k;

	put(p, "tandem_nasd_nfs_connections", PROM_L("node", node), o, "connections");
	put(p, "tandem_nasd_nfs_read_bytes_total", PROM_L("node", node), o, "bytes_read");
	put(p, "tandem_nasd_nfs_written_bytes_total", PROM_L("node", node), o, "bytes_written");
	json_object_foreach((json_t *)json_object_get(o, "procs"), k, v)
		put(p, "tandem_nasd_nfs_ops_total", PROM_L("node", node, "procedure", k),
		    json_object_get(o, "procs"), k);
}

int nasd_metrics_page(struct prom *p, const json_t *st)
{
	const char *node = json_string_value(json_object_get(st, "node"));
	const json_t *resp = json_object_get(st, "responses");

	if (prom_declare_all(p, families, sizeof(families) / sizeof(families[0])) < 0)
		return -1;
	if (!node)
		node = "";
	const char *const *l = PROM_L("node", node);
	put(p, "tandem_nasd_uptime_seconds", l, st, "uptime_s");
	put(p, "tandem_nasd_http_sessions", l, st, "sessions");
	put(p, "tandem_nasd_http_sessions_started_total", l, st, "sessions_total");
	put(p, "tandem_nasd_http_requests_total", l, st, "requests");
	for (int c = 1; c <= 5; c++) {
		char k[8];
		snprintf(k, sizeof(k), "%dxx", c);
		put(p, "tandem_nasd_http_responses_total", PROM_L("node", node, "class", k), resp, k);
	}
	put(p, "tandem_nasd_http_sent_bytes_total", l, st, "bytes_served");
	put(p, "tandem_nasd_http_received_bytes_total", l, st, "bytes_received");
	if (json_is_object(json_object_get(st, "nfs")))
		nfs(p, node, json_object_get(st, "nfs"));
	if (json_is_object(json_object_get(st, "handoff")))
		handoff(p, node, json_object_get(st, "handoff"));
	return prom_text(p, NULL) ? 0 : -1;
}
