/*
 * metrics_page.c - the switch's /metrics page from the control sockets'
 * replies (metrics.h; doc/metrics.md lists every family).  Pure: JSON in,
 * lib/prom.h out, so it is fuzzed with arbitrary replies
 * (tests/fuzz/fuzz_metrics.c).  A member missing from a reply, or not a
 * non-negative integer, gives no sample (never an invented 0): an older
 * daemon simply shows fewer series.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define COUNTER PROM_COUNTER
#define GAUGE PROM_GAUGE
#define HIST PROM_HISTOGRAM

/* Every family, in page order. */
static const struct prom_desc families[] = {
	{ "tandem_daemon_up", GAUGE, "1 when the daemon answered webd's request for this scrape (daemon: lbd, syncd)." },
	{ "tandem_lbd_uptime_seconds", GAUGE, "Seconds since tandem-lbd started." },
	{ "tandem_lbd_reloads_total", COUNTER, "Configuration reloads done by tandem-lbd." },
	{ "tandem_flows", GAUGE, "Entries in the data plane's flow table." },
	{ "tandem_flow_table_size", GAUGE, "Capacity of the data plane's flow table (entries)." },
	{ "tandem_vip_info", GAUGE, "Always 1: a VIP's name and address." },
	{ "tandem_vip_packets_total", COUNTER, "Packets of a VIP's service forwarded to the nodes." },
	{ "tandem_vip_bytes_total", COUNTER, "Bytes of a VIP's service forwarded to the nodes." },
	{ "tandem_vip_new_flows_total", COUNTER, "New flows of a VIP's service (first packet of a 5-tuple)." },
	{ "tandem_vip_nodes_in_table", GAUGE, "Nodes in a service's Maglev table." },
	{ "tandem_node_up", GAUGE, "1 when lbd's health checks find the node up, 0 when down." },
	{ "tandem_node_drain", GAUGE, "1 while the node is drained (no new flows)." },
	{ "tandem_node_link_up", GAUGE, "1 when the node's switch port has link." },
	{ "tandem_node_weight", GAUGE, "The node's configured weight." },
	{ "tandem_node_health_up", GAUGE, "1 when the node's health check of a service passes." },
	{ "tandem_node_flows", GAUGE, "Flow-table entries pointing at the node." },
	{ "tandem_node_packets_total", COUNTER, "Packets forwarded to the node." },
	{ "tandem_node_bytes_total", COUNTER, "Bytes forwarded to the node." },
	{ "tandem_node_new_flows_total", COUNTER, "New flows given to the node." },
	{ "tandem_node_handoffs_in_total", COUNTER, "Sessions handed to the node (re-pointed to it by handoff reports)." },
	{ "tandem_node_handoffs_out_total", COUNTER, "Sessions handed away from the node." },
	{ "tandem_node_load_sessions", GAUGE, "Sessions on the node per its last LOAD report." },
	{ "tandem_node_load_bytes_per_second", GAUGE, "The node's throughput per its last LOAD report." },
	{ "tandem_verdicts_total", COUNTER, "Packets by the data plane's verdict (doc/control.md names them)." },
	{ "tandem_vrrp_role", GAUGE, "1 for the switch's VRRP role as keepalived's notify hook told lbd, 0 for the others." },
	{ "tandem_vrrp_role_changes_total", COUNTER, "VRRP role changes lbd was told of since it started." },
	{ "tandem_vrrp_ready", GAUGE, "1 when lbd may carry traffic as master (every node's state settled)." },
	{ "tandem_handoff_moves_requested_total", COUNTER, "MOVEs lbd sent to nodes (operator handoff, drain, load trigger)." },
	{ "tandem_handoff_moves_total", COUNTER, "MOVEs answered, by result (ok, failed)." },
	{ "tandem_handoff_move_duration_seconds", HIST, "Time from a MOVE sent to the node's ACK, of the successful ones." },
	{ "tandem_handoff_reports_total", COUNTER, "Handoff reports from the nodes by outcome (ok + failed = answered; rejected, replayed, stale_refused)." },
	{ "tandem_handoff_load_reports_total", COUNTER, "LOAD reports taken from the nodes." },
	{ "tandem_sync_role", GAUGE, "1 for tandem-syncd's role, 0 for the others." },
	{ "tandem_sync_synced", GAUGE, "1 when this switch holds the peer's flow table (in sync)." },
	{ "tandem_sync_ready", GAUGE, "1 when tandem-syncd may let this switch become master." },
	{ "tandem_sync_peer_alive", GAUGE, "1 when the peer switch's HELLOs arrive." },
	{ "tandem_sync_peer_hello_age_seconds", GAUGE, "Seconds since the peer's last HELLO." },
	{ "tandem_sync_messages_total", COUNTER, "Sync messages by direction (tx, rx)." },
	{ "tandem_sync_flows_total", COUNTER, "Flow records carried by direction (tx, rx)." },
	{ "tandem_sync_sent_bytes_total", COUNTER, "Bytes of sync messages sent." },
	{ "tandem_sync_retransmits_total", COUNTER, "Sync messages sent again." },
	{ "tandem_sync_in_flight", GAUGE, "Sync messages sent and not yet acked." },
	{ "tandem_sync_rejected_total", COUNTER, "Sync datagrams refused, by reason." },
	{ "tandem_sync_events_lost_total", COUNTER, "Flow events the data plane could not hand to tandem-syncd." },
	{ "tandem_sync_resyncs_total", COUNTER, "Bulk resyncs of the whole table, by direction (sent, received)." },
	{ "tandem_sync_lag_seconds", HIST, "Time from a flow event to the peer's ack of its message." },
	{ "tandem_webd_logins_total", COUNTER, "Console logins by result (success, failure, rate_limited, error)." },
	{ "tandem_webd_sessions", GAUGE, "Live console sessions." },
	{ "tandem_webd_scrapes_total", COUNTER, "Scrapes of /metrics by result (ok, refused: no or wrong credentials)." },
};

/* v = o[k] when it is a non-negative integer (also true/false as 1/0). */
static int num(const json_t *o, const char *k, uint64_t *v)
{
	const json_t *j = json_object_get(o, k);

	if (json_is_boolean(j)) {
		*v = json_is_true(j);
		return 1;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return 0;
	*v = (uint64_t)json_integer_value(j);
	return 1;
}

/* A sample of family f from o[k], if o has it. */
static void put(struct prom *p, const char *f, const char *const *lbl, const json_t *o,
		const char *k)
{
	uint64_t v;

	if (num(o, k, &v))
		prom_u64(p, f, lbl, v);
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* One 0/1 sample per known role, 1 for role. */
static void roles(struct prom *p, const char *f, const char *role)
{
	static const char *const names[] = { "init", "backup", "master", "fault" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		prom_u64(p, f, PROM_L("role", names[i]), !strcmp(role, names[i]));
}

static void lbd_status(struct prom *p, const json_t *st)
{
	const json_t *hr = json_object_get(st, "handoff_reports"), *ho = json_object_get(st, "handoffs");
	uint64_t handled, failed;

	put(p, "tandem_lbd_uptime_seconds", NULL, st, "uptime_s");
	put(p, "tandem_lbd_reloads_total", NULL, st, "reloads");
	put(p, "tandem_flows", NULL, st, "flows");
	put(p, "tandem_flow_table_size", NULL, st, "flow_table_size");
	if (json_is_string(json_object_get(st, "role")))
		roles(p, "tandem_vrrp_role", str(st, "role"));
	put(p, "tandem_vrrp_role_changes_total", NULL, st, "role_changes");
	put(p, "tandem_vrrp_ready", NULL, st, "ready");
	if (hr && num(hr, "handled", &handled) && num(hr, "failed", &failed) && failed <= handled) {
		prom_u64(p, "tandem_handoff_reports_total", PROM_L("result", "ok"), handled - failed);
		prom_u64(p, "tandem_handoff_reports_total", PROM_L("result", "failed"), failed);
	}
	put(p, "tandem_handoff_reports_total", PROM_L("result", "rejected"), hr, "rejected");
	put(p, "tandem_handoff_reports_total", PROM_L("result", "replayed"), hr, "replayed");
	put(p, "tandem_handoff_reports_total", PROM_L("result", "stale_refused"), hr, "stale_refused");
	put(p, "tandem_handoff_moves_requested_total", NULL, ho, "requested");
	put(p, "tandem_handoff_moves_total", PROM_L("result", "ok"), ho, "ok");
	put(p, "tandem_handoff_moves_total", PROM_L("result", "failed"), ho, "failed");
	put(p, "tandem_handoff_load_reports_total", NULL, ho, "load_reports");
	if (json_object_get(ho, "duration"))
		prom_histogram_json(p, "tandem_handoff_move_duration_seconds", NULL,
				    json_object_get(ho, "duration"));
}

static void vips(struct prom *p, const json_t *arr)
{
	const json_t *v, *s;
	size_t i, k;

	json_array_foreach(arr, i, v) {
		const char *name = str(v, "name");
		if (!*name)
			continue;
		prom_u64(p, "tandem_vip_info", PROM_L("vip", name, "address", str(v, "address")), 1);
		json_array_foreach(json_object_get(v, "services"), k, s) {
			char port[16];
			uint64_t pn;
			if (!num(s, "port", &pn))
				continue;
			snprintf(port, sizeof(port), "%llu", (unsigned long long)pn);
			const char *const *l = PROM_L("vip", name, "proto", str(s, "proto"), "port", port);
			put(p, "tandem_vip_packets_total", l, s, "packets");
			put(p, "tandem_vip_bytes_total", l, s, "bytes");
			put(p, "tandem_vip_new_flows_total", l, s, "new_flows");
			put(p, "tandem_vip_nodes_in_table", l, s, "nodes_in_table");
		}
	}
}

static void node(struct prom *p, const json_t *n, const char *name)
{
	const char *const *l = PROM_L("node", name);
	const json_t *h, *load = json_object_get(n, "load");
	uint64_t v;
	size_t k;

	if (json_is_string(json_object_get(n, "state")))
		prom_u64(p, "tandem_node_up", l, !strcmp(str(n, "state"), "up"));
	put(p, "tandem_node_drain", l, n, "drain");
	if (json_is_string(json_object_get(n, "link")))
		prom_u64(p, "tandem_node_link_up", l, !strcmp(str(n, "link"), "up"));
	put(p, "tandem_node_weight", l, n, "weight");
	json_array_foreach(json_object_get(n, "health"), k, h)
		if (*str(h, "service"))
			put(p, "tandem_node_health_up", PROM_L("node", name, "service", str(h, "service")),
			    h, "ok");
	put(p, "tandem_node_flows", l, n, "flows");
	put(p, "tandem_node_packets_total", l, n, "packets");
	put(p, "tandem_node_bytes_total", l, n, "bytes");
	put(p, "tandem_node_new_flows_total", l, n, "new_flows");
	put(p, "tandem_node_handoffs_in_total", l, n, "handoffs_in");
	put(p, "tandem_node_handoffs_out_total", l, n, "handoffs_out");
	put(p, "tandem_node_load_sessions", l, load, "sessions");
	if (num(load, "mibps", &v))
		prom_u64(p, "tandem_node_load_bytes_per_second", l, v * 1048576);
}

static void lbd_stats(struct prom *p, const json_t *stats)
{
	const json_t *n, *v;
	const char *k;
	size_t i;

	vips(p, json_object_get(stats, "vips"));
	json_array_foreach(json_object_get(stats, "nodes"), i, n)
		if (*str(n, "name"))
			node(p, n, str(n, "name"));
	json_object_foreach((json_t *)json_object_get(stats, "verdicts"), k, v)
		put(p, "tandem_verdicts_total", PROM_L("verdict", k), json_object_get(stats, "verdicts"), k);
}

static void sync_status(struct prom *p, const json_t *s)
{
	const json_t *peer = json_object_get(s, "peer"), *tx = json_object_get(s, "tx");
	const json_t *rx = json_object_get(s, "rx"), *rs = json_object_get(s, "resyncs"), *v;
	const char *k;
	uint64_t age;

	if (json_is_string(json_object_get(s, "role")))
		roles(p, "tandem_sync_role", str(s, "role"));
	put(p, "tandem_sync_synced", NULL, s, "synced");
	put(p, "tandem_sync_ready", NULL, s, "ready");
	put(p, "tandem_sync_peer_alive", NULL, peer, "alive");
	if (num(peer, "last_hello_ms", &age))	/* -1 (never): no sample */
		prom_double(p, "tandem_sync_peer_hello_age_seconds", NULL, (double)age / 1000);
	put(p, "tandem_sync_messages_total", PROM_L("direction", "tx"), tx, "msgs");
	put(p, "tandem_sync_messages_total", PROM_L("direction", "rx"), rx, "msgs");
	put(p, "tandem_sync_flows_total", PROM_L("direction", "tx"), tx, "flows");
	put(p, "tandem_sync_flows_total", PROM_L("direction", "rx"), rx, "flows");
	put(p, "tandem_sync_sent_bytes_total", NULL, tx, "bytes");
	put(p, "tandem_sync_retransmits_total", NULL, tx, "retransmits");
	put(p, "tandem_sync_in_flight", NULL, tx, "in_flight");
	json_object_foreach((json_t *)json_object_get(s, "rejected"), k, v)
		put(p, "tandem_sync_rejected_total", PROM_L("reason", k), json_object_get(s, "rejected"), k);
	put(p, "tandem_sync_events_lost_total", NULL, json_object_get(s, "events"), "lost");
	put(p, "tandem_sync_resyncs_total", PROM_L("direction", "sent"), rs, "sent");
	put(p, "tandem_sync_resyncs_total", PROM_L("direction", "received"), rs, "received");
	if (json_object_get(s, "lag_hist"))
		prom_histogram_json(p, "tandem_sync_lag_seconds", NULL, json_object_get(s, "lag_hist"));
}

static void webd_figs(struct prom *p, const struct metrics_webd_figs *wf)
{
	static const char *const res[METRICS_LOGIN_RESULTS] = {
		[METRICS_LOGIN_SUCCESS] = "success", [METRICS_LOGIN_FAILURE] = "failure",
		[METRICS_LOGIN_RATE_LIMITED] = "rate_limited", [METRICS_LOGIN_ERROR] = "error",
	};

	for (int i = 0; i < METRICS_LOGIN_RESULTS; i++)
		prom_u64(p, "tandem_webd_logins_total", PROM_L("result", res[i]), wf->logins[i]);
	prom_u64(p, "tandem_webd_sessions", NULL, wf->sessions);
	prom_u64(p, "tandem_webd_scrapes_total", PROM_L("result", "ok"), wf->scrapes_ok);
	prom_u64(p, "tandem_webd_scrapes_total", PROM_L("result", "refused"), wf->scrapes_refused);
}

int metrics_page(struct prom *p, const json_t *status, const json_t *stats, const json_t *sync,
		 int sync_wanted, const struct metrics_webd_figs *wf)
{
	if (prom_declare_all(p, families, sizeof(families) / sizeof(families[0])) < 0)
		return -1;
	prom_u64(p, "tandem_daemon_up", PROM_L("daemon", "lbd"), status && stats);
	if (sync_wanted)
		prom_u64(p, "tandem_daemon_up", PROM_L("daemon", "syncd"), sync != NULL);
	if (status && stats) {
		lbd_status(p, status);
		lbd_stats(p, stats);
	}
	if (sync)
		sync_status(p, sync);
	webd_figs(p, wf);
	return prom_text(p, NULL) ? 0 : -1;
}
