/*
 * control.c - lbd's commands on its control socket (doc/control.md); the
 * socket itself is lib/ctl_server.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/ctl_server.h"
#include "lib/handoff_wire.h"
#include "lib/log.h"
#include "lib/log_flow.h"

static json_t *dispatch(void *arg, const json_t *req)
{
	return control_dispatch(arg, req);
}

int control_open(struct lbd *l)
{
	if (ctl_server_open(&l->ctl, &l->loop, l->cfg.control_socket, dispatch, l) < 0) {
		log_warn("control socket %s", l->cfg.control_socket);
		return -1;
	}
	return 0;
}

void control_close(struct lbd *l)
{
	ctl_server_close(&l->ctl);
}

/* ---- commands ---- */

static void add_counters(json_t *o, const struct lb_counters *c)
{
	json_object_set_new(o, "packets", json_integer((json_int_t)c->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)c->bytes));
	json_object_set_new(o, "new_flows", json_integer((json_int_t)c->new_flows));
}

static json_t *cmd_status(struct lbd *l)
{
	long flows = flows_count(l, NULL);
	unsigned up = 0;

	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		up += l->nodes[i].up;
	json_t *r = ctl_ok();
	json_object_set_new(r, "instance", json_string(l->cfg.instance));
	json_object_set_new(r, "role", json_string(l->role));
	json_object_set_new(r, "role_changes", json_integer((json_int_t)l->role_changes));
	json_object_set_new(r, "role_overtaken", json_integer((json_int_t)l->roles.overtaken));
	if (l->cfg.vrrp.ngroups)
		json_object_set_new(r, "groups", roles_json(l));
	if (l->cfg.dns.enabled)
		json_object_set_new(r, "dns", dns_json(l));
	if (l->cfg.bgp.enabled)
		json_object_set_new(r, "bgp", bgp_json(l));
	char why[128] = "";
	int ready = health_ready(l, why, sizeof(why));
	json_object_set_new(r, "ready", json_boolean(ready));
	if (!ready)
		json_object_set_new(r, "not_ready", json_string(why));
	if (l->cfg.sync.enabled)
		json_object_set_new(r, "sync_control_socket", json_string(l->cfg.sync.control_socket));
	if (l->cfg.handoff.enabled)
		json_object_set_new(r, "handoff_reports", json_pack("{s:i, s:I, s:I, s:I, s:I}",
			"port", l->cfg.handoff.port, "handled", (json_int_t)l->report.handled,
			"failed", (json_int_t)l->report.failed, "rejected", (json_int_t)l->report.rejected,
			"replayed", (json_int_t)l->report.replayed));
	if (l->cfg.handoff.enabled)
		json_object_set_new(json_object_get(r, "handoff_reports"), "stale_refused",
				    json_integer((json_int_t)l->report.stale_refused));
	if (l->cfg.handoff.enabled)
		json_object_set_new(r, "handoffs", json_pack("{s:I, s:I, s:I, s:I, s:o}",
			"requested", (json_int_t)l->report.moves_sent, "ok", (json_int_t)l->report.moves_ok,
			"failed", (json_int_t)l->report.moves_failed, "load_reports", (json_int_t)l->report.loads,
			"duration", lat_hist_json(&l->report.move_lat)));
	json_object_set_new(r, "pid", json_integer(getpid()));
	json_object_set_new(r, "uptime_s", json_integer((json_int_t)((loop_now_ms() - l->started_ms) / 1000)));
	json_object_set_new(r, "attach", json_string(l->cfg.attach == CFG_ATTACH_XDP ? "xdp" : "tc"));
	json_object_set_new(r, "client_interface", json_string(l->cfg.client_if));
	json_object_set_new(r, "storage_interface", json_string(l->cfg.storage_if));
	json_object_set_new(r, "flows", json_integer(flows));
	json_object_set_new(r, "flow_table_size", json_integer(l->dp.flow_table_size));
	json_object_set_new(r, "flow_pressure", pins_pressure(l));
	json_object_set_new(r, "maglev_size", json_integer(l->dp.maglev_size));
	json_object_set_new(r, "config", json_string(l->config_path));
	json_object_set_new(r, "reloads", json_integer(l->reloads));
	json_object_set_new(r, "vips", json_integer(l->cfg.nvips));
	json_object_set_new(r, "nodes_up", json_integer(up));
	json_object_set_new(r, "nodes_total", json_integer(l->cfg.nnodes));
	return r;
}

static json_t *nodes_json(struct lbd *l)
{
	uint64_t counts[LB_MAX_NODES] = { 0 };
	json_t *arr = json_array();

	flows_count(l, counts);
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		const struct node_rt *n = &l->nodes[i];
		const struct cfg_node *cn = &l->cfg.nodes[i];
		char a[TADDR_STRLEN], mac[18] = "-";
		struct lb_counters c;
		json_t *health = json_array();

		taddr_fmt(&cn->addr, a, sizeof(a));
		if (n->mac_ok)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		for (unsigned k = 0; k < l->nchecks; k++) {
			const struct hcheck *h = &l->checks[k];
			char svc[16];
			if (h->node != (int)i)
				continue;
			snprintf(svc, sizeof(svc), "%s/%u", proto_name(h->proto), h->port);
			json_array_append_new(health, json_pack("{s:s, s:s, s:b, s:i, s:i, s:s, s:I}",
				"service", svc, "check", h->probe ? "probe" : "connect", "ok", h->ok,
				"rise_count", h->rise_cnt, "fall_count", h->fall_cnt,
				"last_error", h->last_error, "rtt_ms", (json_int_t)h->rtt_ms));
		}
		json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:b, s:s, s:o, s:I}",
			"name", n->name, "id", n->id, "address", a, "mac", mac,
			"weight", cn->weight, "state", n->up ? "up" : "down", "drain", n->drain,
			"link", n->link_up ? "up" : "down", "health", health,
			"flows", (json_int_t)counts[n->id]);
		if (cn->port[0])
			json_object_set_new(o, "port", json_string(cn->port));
		json_object_set_new(o, "handoffs_in", json_integer((json_int_t)n->handoffs_in));
		json_object_set_new(o, "handoffs_out", json_integer((json_int_t)n->handoffs_out));
		if (n->load_at_ms)
			json_object_set_new(o, "load", json_pack("{s:i, s:i, s:I}",
				"sessions", (int)n->load_sessions, "mibps", (int)n->load_mibps,
				"age_ms", (json_int_t)(loop_now_ms() - n->load_at_ms)));
		if (n->load_at_ms && n->policy_flags & HO_LOAD_POLICY) {
			char v[20];
			snprintf(v, sizeof(v), "%016llx", (unsigned long long)n->policy_version);
			json_t *po = json_pack("{s:s, s:b}", "version", v, "stale",
				!!(n->policy_flags & HO_LOAD_POLICY_STALE));
			uint64_t ag = 0;
			int mm = report_policy_mismatch(l, i, &ag);
			snprintf(v, sizeof(v), "%016llx", (unsigned long long)ag);
			json_object_set_new(po, "mismatch", json_boolean(mm));
			if (l->report.policy_has_agreed)	/* the cluster's (report.c) */
				json_object_set_new(po, "cluster_version", json_string(v));
			json_object_set_new(o, "policy", po);
		}
		json_t *mv = mover_progress(l, (int)i);
		if (mv)
			json_object_set_new(o, "moving", mv);
		dp_sum_counters(&l->dp, l->dp.fd_node_stats, n->id, &c);
		add_counters(o, &c);
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *vips_json(struct lbd *l)
{
	json_t *arr = json_array();

	for (unsigned v = 0; v < l->cfg.nvips; v++) {
		const struct cfg_vip *cv = &l->cfg.vips[v];
		char a[TADDR_STRLEN];
		json_t *svcs = json_array();

		for (unsigned i = 0; i < l->nsvcs; i++) {
			const struct svc_rt *r = &l->svcs[i];
			if (r->vip_index != (int)v)
				continue;
			const struct cfg_service *cs = &cv->svc[r->svc_index];
			struct lb_counters c;
			char dg[17];
			snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)sched_table_digest(l, i));
			json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:s}", "proto", proto_name(cs->proto),
					      "port", cs->port, "svc_id", r->svc_id,
					      "nodes_in_table", r->nodes_in_table, "table_digest", dg);
			dp_sum_counters(&l->dp, l->dp.fd_svc_stats, r->svc_id, &c);
			add_counters(o, &c);
			json_array_append_new(svcs, o);
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", cv->name,
			"address", taddr_fmt(&cv->addr, a, sizeof(a)), "services", svcs));
	}
	return arr;
}

static json_t *cmd_stats(struct lbd *l)
{
	uint64_t v[LB_V_MAX];
	json_t *verd = json_object();

	if (dp_verdicts(&l->dp, v) < 0)
		return ctl_error("cannot read verdict counters");
	for (int i = 0; i < LB_V_MAX; i++)
		json_object_set_new(verd, dp_verdict_name(i), json_integer((json_int_t)v[i]));
	json_t *r = ctl_ok();
	json_object_set_new(r, "verdicts", verd);
	json_object_set_new(r, "vips", vips_json(l));
	json_object_set_new(r, "nodes", nodes_json(l));
	return r;
}

static int find_vip(struct lbd *l, const char *s)
{
	struct taddr a;
	int isaddr = taddr_parse(s, &a) == 0;

	for (unsigned i = 0; i < l->cfg.nvips; i++)
		if (!strcmp(l->cfg.vips[i].name, s) || (isaddr && taddr_equal(&a, &l->cfg.vips[i].addr)))
			return (int)i;
	return -1;
}

static json_t *cmd_flows(struct lbd *l, const json_t *req)
{
	struct flow_filter f = { .vip = -1, .node_id = -1, .client_port = -1 };
	const char *vip = json_string_value(json_object_get(req, "vip"));
	const char *client = json_string_value(json_object_get(req, "client"));
	json_t *cport = json_object_get(req, "client_port");
	const char *node = json_string_value(json_object_get(req, "node"));
	json_t *lim = json_object_get(req, "limit"), *cur = json_object_get(req, "cursor");
	long limit = CTL_FLOWS_DEFAULT;

	if (vip && (f.vip = find_vip(l, vip)) < 0)
		return ctl_error("no VIP \"%s\"", vip);
	if (node) {
		int ni = sched_node_index(l, node);
		if (ni < 0)
			return ctl_error("no node \"%s\"", node);
		f.node_id = (int)l->nodes[ni].id;
	}
	if (client && taddr_parse(client, &f.client) < 0)
		return ctl_error("\"client\" is not an address: \"%s\"", client);
	if (cport) {
		if (!client || !json_is_integer(cport) || json_integer_value(cport) < 0 ||
		    json_integer_value(cport) > 65535)
			return ctl_error("\"client_port\" must be 0..65535, with \"client\"");
		f.client_port = (int)json_integer_value(cport);
	}
	if (lim) {
		if (!json_is_integer(lim) || json_integer_value(lim) < 0)
			return ctl_error("\"limit\" must be a non-negative integer");
		if (json_integer_value(lim) > CTL_FLOWS_PAGE_MAX)
			return ctl_error("\"limit\" is at most %d rows per request: ask for the "
					 "next page with the reply's \"cursor\"", CTL_FLOWS_PAGE_MAX);
		limit = (long)json_integer_value(lim);
	}
	if (cur && !json_is_string(cur))
		return ctl_error("\"cursor\" must be a string from an earlier flows reply");
	return flows_page(l, &f, limit, json_string_value(cur));
}

static int node_arg(struct lbd *l, const json_t *req, const char *key, json_t **err)
{
	const char *name = json_string_value(json_object_get(req, key));
	int ni;

	if (!name) {
		*err = ctl_error("\"%s\" (a node name) is required", key);
		return -1;
	}
	ni = sched_node_index(l, name);
	if (ni < 0)
		*err = ctl_error("no node \"%s\"", name);
	return ni;
}

static json_t *cmd_drain(struct lbd *l, const json_t *req, int drain)
{
	json_t *err = NULL;
	int ni = node_arg(l, req, "node", &err);

	if (ni < 0)
		return err;
	sched_set_drain(l, ni, drain);
	/* the nodes learn it before any session moves: their own automatic
	 * moves must not send sessions to a node that drains */
	cluster_states_send(l);
	/* drain also moves the node's live sessions (mover.c); the reply comes
	 * at once, progress is in "nodes" (tandemctl drain shows it) */
	char e[200] = "";
	if (drain) {
		if (mover_drain(l, ni, e, sizeof(e)) < 0)
			return ctl_error("%s is draining, but its sessions cannot be moved: %s",
					 l->nodes[ni].name, e);
	} else {
		mover_stop(l, ni);
	}
	json_t *r = ctl_ok();
	if (e[0])
		json_object_set_new(r, "sessions_stay", json_string(e));
	json_object_set_new(r, "node", json_string(l->nodes[ni].name));
	json_object_set_new(r, "drain", json_boolean(drain));
	json_t *mv = e[0] ? NULL : mover_progress(l, ni);
	if (mv)
		json_object_set_new(r, "moving", mv);
	return r;
}

/* {"client","client_port","vip","port"[,"proto"]} -> flow-table key.  0 / -1. */
static int flow_arg(const json_t *flow, struct lb_flow_key *k)
{
	const char *client = json_string_value(json_object_get(flow, "client"));
	const char *vip = json_string_value(json_object_get(flow, "vip"));
	const char *proto = json_string_value(json_object_get(flow, "proto"));
	json_t *cp = json_object_get(flow, "client_port"), *vp = json_object_get(flow, "port");
	struct taddr ca, va;
	int pr = proto ? proto_parse(proto) : IPPROTO_TCP;

	if (!client || taddr_parse(client, &ca) < 0 || !vip || taddr_parse(vip, &va) < 0 ||
	    ca.family != va.family || !json_is_integer(cp) || !json_is_integer(vp) || pr < 0 ||
	    json_integer_value(cp) < 1 || json_integer_value(cp) > 65535 ||
	    json_integer_value(vp) < 1 || json_integer_value(vp) > 65535)
		return -1;
	flowkey_make(k, &ca, (uint16_t)json_integer_value(cp), &va,
		     (uint16_t)json_integer_value(vp), (uint8_t)pr);
	return 0;
}

/*
 * handoff {"flow": {...as migrate...}, "to": NODE}: live session handoff.
 * The flow's owner (from the flow table) is asked to hand the session to
 * NODE (report.c: MOVE to its tandem-nasd); the reply waits for its answer.
 */
static json_t *cmd_handoff(struct lbd *l, const json_t *req)
{
	json_t *err = NULL, *flow = json_object_get(req, "flow");
	struct lb_flow_key k;
	struct lb_flow_val v;
	int to = node_arg(l, req, "to", &err);

	if (to < 0)
		return err;
	if (!json_is_object(flow) || flow_arg(flow, &k) < 0)
		return ctl_error("\"flow\" needs client, client_port, vip, port (same address family) "
				 "and optionally proto tcp|udp");
	if (!l->nodes[to].up)
		return ctl_error("node \"%s\" is down", l->nodes[to].name);
	if (bpf_map_lookup_elem(l->dp.fd_flows, &k, &v) < 0)
		return ctl_error("no such flow");
	int from = sched_node_by_id(l, v.node_id);
	if (from < 0)
		return ctl_error("the flow's owner (node id %u) is not configured", v.node_id);
	if (from == to)
		return ctl_error("the flow is already on \"%s\"", l->nodes[to].name);
	return report_move(l, &k, from, to);
}

/*
 * migrate of one flow (req's "flow") to node to.  A TCP session on a node
 * with a handoff agent moves live (its socket goes along, libtch):
 * re-pointing it alone would leave the client with a node that answers its
 * next segment with a reset.  Anything else (UDP, a node without
 * tandem-nasd, or "repoint": true) is re-pointed here.  The reply, or NULL
 * with *moved set (1) when it was re-pointed.
 */
static json_t *migrate_flow(struct lbd *l, const json_t *req, const json_t *flow, int to,
			    long *moved)
{
	struct lb_flow_key k;
	struct lb_flow_val v;
	struct log_flow f;
	int from = -1;

	if (flow_arg(flow, &k) < 0)
		return ctl_error("\"flow\" needs client, client_port, vip, port (same address family) "
				 "and optionally proto tcp|udp");
	if (bpf_map_lookup_elem(l->dp.fd_flows, &k, &v) == 0)
		from = sched_node_by_id(l, v.node_id);
	if (k.proto == IPPROTO_TCP && !json_is_true(json_object_get(req, "repoint")) &&
	    from >= 0 && from != to && mover_node_live(l, from))
		return report_move(l, &k, from, to);
	*moved = flows_migrate_one(l, &k, l->nodes[to].id);
	if (*moved < 0)
		return ctl_error("flow table update failed: %s", strerror(errno));
	if (*moved == 0)
		return ctl_error("no such flow");
	log_flow(&f, &k);
	log_event(LOG_NOTICE, "flow_repoint", KV_FLOW(&f), KV_S("node", l->nodes[to].name),
		  KV_S("from", from >= 0 ? l->nodes[from].name : NULL), KV_S("cause", "operator"));
	return NULL;
}

static json_t *cmd_migrate(struct lbd *l, const json_t *req)
{
	json_t *err = NULL, *flow = json_object_get(req, "flow");
	int to = node_arg(l, req, "to", &err);
	long moved = 0;

	if (to < 0)
		return err;
	if (!l->nodes[to].up)
		return ctl_error("node \"%s\" is down", l->nodes[to].name);
	if (flow) {
		json_t *r = migrate_flow(l, req, flow, to, &moved);
		if (r)
			return r;
	} else {
		int from = node_arg(l, req, "node", &err);
		if (from < 0)
			return err;
		moved = flows_migrate_node(l, l->nodes[from].id, l->nodes[to].id);
		if (moved < 0)
			return ctl_error("flow table walk failed");
		log_event(LOG_NOTICE, "flows_migrate", KV_S("from", l->nodes[from].name),
			  KV_S("node", l->nodes[to].name), KV_I("flows", moved));
	}
	json_t *r = ctl_ok();
	json_object_set_new(r, "moved", json_integer(moved));
	return r;
}

json_t *control_dispatch(struct lbd *l, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *r;

	if (!json_is_object(req) || !cmd)
		return ctl_error("request must be an object with a \"cmd\" string");
	if (!strcmp(cmd, "status"))
		return cmd_status(l);
	if (!strcmp(cmd, "ready")) {
		/* cheap (no flow-table walk): keepalived's check asks every second */
		char why[128] = "";
		int ready = health_ready(l, why, sizeof(why));
		r = ctl_ok();
		json_object_set_new(r, "ready", json_boolean(ready));
		json_object_set_new(r, "role", json_string(l->role));
		if (!ready)
			json_object_set_new(r, "not_ready", json_string(why));
		return r;
	}
	if (!strcmp(cmd, "nodes")) {
		r = ctl_ok();
		json_object_set_new(r, "nodes", nodes_json(l));
		return r;
	}
	if (!strcmp(cmd, "vips")) {
		r = ctl_ok();
		json_object_set_new(r, "vips", vips_json(l));
		return r;
	}
	if (!strcmp(cmd, "flows"))
		return cmd_flows(l, req);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(l);
	if (!strcmp(cmd, "drain"))
		return cmd_drain(l, req, 1);
	if (!strcmp(cmd, "undrain"))
		return cmd_drain(l, req, 0);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(l, req);
	if (!strcmp(cmd, "handoff"))
		return cmd_handoff(l, req);
	if (!strcmp(cmd, "cluster"))
		return cluster_cmd(l);
	if (!strcmp(cmd, "role"))
		return roles_cmd(l, req);
	if (!strcmp(cmd, "bgp"))
		return bgp_cmd(l, req);
	if (!strcmp(cmd, "leave"))
		return leave_cmd(l, req);
	if (!strcmp(cmd, "group"))
		return syncwatch_group_cmd(l);
	if (!strcmp(cmd, "reload")) {
		if (lbd_reload(l) < 0)
			return ctl_error("reload failed; the running configuration is unchanged (see the log)");
		r = ctl_ok();
		json_object_set_new(r, "reloads", json_integer(l->reloads));
		return r;
	}
	return ctl_error("unknown command \"%s\"", cmd);
}
