/*
 * control.c - syncd's control socket (doc/control.md, "tandem-syncd"):
 * status for tandemctl and the failover check, role from the notify hook.
 */
#include "syncd.h"

#include <string.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/ctl_server.h"
#include "lib/log.h"
#include "lib/vrrp_state.h"

static const char *const roles[] = { "init", "backup", "master", "fault" };

const char *role_name(int r)
{
	return r >= 0 && r <= ROLE_FAULT ? roles[r] : "?";
}

/*
 * The lag histogram in the control sockets' form (doc/control.md,
 * "Histograms"): bucket b of lag_hist holds the lags of floor(log2 µs) = b
 * (b 0: under 2 µs), so its bound is 2^(b+1) µs; the last bucket also
 * holds everything above, so it counts in "count" only.
 */
static json_t *lag_hist_json(const struct syncd *s)
{
	json_t *le = json_array(), *counts = json_array();
	uint64_t cum = 0;

	for (int b = 0; b < LAG_BUCKETS - 1; b++) {
		cum += s->st.lag_hist[b];
		json_array_append_new(le, json_integer((json_int_t)(2ull << b)));
		json_array_append_new(counts, json_integer((json_int_t)cum));
	}
	return json_pack("{s:o, s:o, s:I, s:I}", "le_us", le, "counts", counts,
			 "count", (json_int_t)s->st.lag_samples, "sum_us", (json_int_t)s->st.lag_sum_us);
}

static json_t *groups_json(const struct syncd *s)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < s->cfg.vrrp.ngroups; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "name", s->cfg.vrrp.groups[i].name,
			"role", role_name(s->group_role[i]),
			"preferred", (json_int_t)s->cfg.vrrp.groups[i].preferred));
	return arr;
}

json_t *control_status(struct syncd *s)
{
	char a[TADDR_STRLEN];
	json_t *r = ctl_ok(), *rej = json_object(), *peer;
	uint64_t now = loop_now_ms();
	/* a pair's peer; in a group the first other member ("members" has all) */
	const struct sync_peer *p = &s->peers[0];
	int sending = 0;

	for (unsigned i = 0; i < s->npeers; i++)
		sending |= s->peers[i].rs_active;
	for (int e = 1; e < SYNC_E_MAX; e++)
		json_object_set_new(rej, sync_err_name(e), json_integer((json_int_t)s->st.rejects[e]));
	peer = json_pack("{s:s, s:b, s:s, s:b, s:I, s:I}",
		"address", taddr_fmt(&p->addr, a, sizeof(a)),
		"alive", p->peer_alive, "role", role_name(p->peer_hello.role),
		"synced", p->peer_hello.synced, "epoch", (json_int_t)p->peer_epoch,
		"last_hello_ms", p->peer_hello_ms ? (json_int_t)(now - p->peer_hello_ms) : (json_int_t)-1);
	json_object_set_new(r, "pid", json_integer(getpid()));
	json_object_set_new(r, "switch_id", json_integer(s->cfg.sync.switch_id));
	json_object_set_new(r, "role", json_string(role_name(s->role)));
	json_object_set_new(r, "role_overtaken", json_integer((json_int_t)s->role_overtaken));
	if (s->cfg.vrrp.ngroups)
		json_object_set_new(r, "groups", groups_json(s));
	json_object_set_new(r, "maps", json_boolean(table_is_open(s)));
	json_object_set_new(r, "synced", json_boolean(s->synced));
	json_object_set_new(r, "ready", json_boolean(stream_ready(s) && table_is_open(s)));
	json_object_set_new(r, "epoch", json_integer(s->epoch));
	json_object_set_new(r, "peer", peer);
	if (s->group) {
		json_object_set_new(r, "members", group_status(s));
		json_object_set_new(r, "behind", json_string(s->group_why));
	}
	json_object_set_new(r, "tx", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"msgs", (json_int_t)s->st.tx_msgs, "flows", (json_int_t)s->st.tx_flows,
		"bytes", (json_int_t)s->st.tx_bytes, "retransmits", (json_int_t)s->st.retransmits,
		"in_flight", (json_int_t)stream_in_flight(s), "nacks_rx", (json_int_t)s->st.nacks_rx,
		"window_full", (json_int_t)s->st.window_full));
	json_object_set_new(r, "rx", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"msgs", (json_int_t)s->st.rx_msgs, "flows", (json_int_t)s->st.rx_flows,
		"dups", (json_int_t)s->st.rx_dups, "reordered", (json_int_t)s->st.rx_reordered,
		"nacks_sent", (json_int_t)s->st.nacks_sent,
		"unknown_node", (json_int_t)s->st.rx_unknown_node,
		"unanchored", (json_int_t)s->st.rx_unanchored));
	json_object_set_new(json_object_get(r, "rx"), "beyond_window",
			    json_integer((json_int_t)s->st.rx_beyond_window));
	json_object_set_new(json_object_get(r, "rx"), "handshakes",
			    json_integer((json_int_t)s->st.rx_handshakes));
	json_object_set_new(json_object_get(r, "tx"), "rto_ms",
			    json_real((double)(p->srtt_ns + 4 * p->rttvar_ns) / 1e6));
	json_object_set_new(r, "rejected", rej);
	json_object_set_new(r, "resyncs", json_pack("{s:I, s:I, s:I, s:I, s:b}",
		"sent", (json_int_t)s->st.resyncs_sent, "received", (json_int_t)s->st.resyncs_rx,
		"requests_sent", (json_int_t)s->st.resync_reqs_sent,
		"requests_received", (json_int_t)s->st.resync_reqs_rx, "sending", sending));
	json_object_set_new(json_object_get(r, "resyncs"), "coalesced",
			    json_integer((json_int_t)s->st.resyncs_coalesced));
	json_object_set_new(r, "pins", json_pack("{s:I, s:I, s:I}", "set", (json_int_t)s->st.pins_set,
		"dropped", (json_int_t)s->st.pins_dropped, "full", (json_int_t)s->st.pins_full));
	json_object_set_new(r, "events", json_pack("{s:I, s:I, s:I, s:I}", "reported",
		(json_int_t)s->st.events, "lost", (json_int_t)s->st.events_lost,
		"expired", (json_int_t)s->st.expired, "del_kept", (json_int_t)s->st.del_kept));
	json_object_set_new(r, "barriers", json_pack("{s:I, s:I}", "requested", (json_int_t)s->st.barriers,
		"timeouts", (json_int_t)s->st.barrier_timeouts));
	json_object_set_new(r, "lag_ms", json_pack("{s:f, s:f, s:I}", "p50", stream_lag_ms(s, 0.5),
		"p99", stream_lag_ms(s, 0.99), "samples", (json_int_t)s->st.lag_samples));
	json_object_set_new(r, "lag_hist", lag_hist_json(s));
	json_object_set_new(r, "rates", json_pack("{s:I, s:I}", "tx_flows_per_s", (json_int_t)s->rate_tx,
		"rx_flows_per_s", (json_int_t)s->rate_rx));
	return r;
}

/* Summary role with groups: master of any group, else the highest rank
 * (fault < backup; init lowest), as lbd's (lb/roles.c). */
static int summary_role(const struct syncd *s)
{
	static const int rank[] = { [ROLE_INIT] = 0, [ROLE_FAULT] = 1, [ROLE_BACKUP] = 2,
				    [ROLE_MASTER] = 3 };
	int best = ROLE_INIT;

	for (unsigned i = 0; i < s->cfg.vrrp.ngroups; i++)
		if (rank[s->group_role[i]] > rank[best])
			best = s->group_role[i];
	return best;
}

/* {"cmd":"role","role":R,"group":G?}: without "group", every group. */
static json_t *role_cmd(struct syncd *s, const json_t *req)
{
	const char *role = json_string_value(json_object_get(req, "role"));
	json_t *grp = json_object_get(req, "group");
	int r = -1, gi = -1;

	for (int i = 0; role && i <= ROLE_FAULT; i++)
		if (!strcasecmp(role, roles[i]))
			r = i;
	if (r < 0)
		return ctl_error("\"role\" must be init, backup, master or fault");
	if (grp && (!json_is_string(grp) ||
		    (gi = config_group_index(&s->cfg, json_string_value(grp))) < 0))
		return ctl_error("\"group\": not one of vrrp.groups");
	/* the notify hook's word, dropped when keepalived has moved on since
	 * (as lbd does: vrrp_state.h) */
	if (json_is_true(json_object_get(req, "kernel_check")) && s->cfg.vrrp.enabled &&
	    vrrp_role_overtaken(&s->cfg, gi, roles[r])) {
		s->role_overtaken++;
		log_event(LOG_WARNING, "role_overtaken", KV_S("role", roles[r]),
			  KV_S("group", gi >= 0 ? s->cfg.vrrp.groups[gi].name : "all"));
		return json_pack("{s:b, s:b}", "ok", 1, "overtaken", 1);
	}
	for (unsigned i = 0; i < s->cfg.vrrp.ngroups; i++)
		if ((gi < 0 || (int)i == gi) && s->group_role[i] != r) {
			log_event(LOG_NOTICE, "role_change", KV_S("role", role_name(r)),
				  KV_S("from", role_name(s->group_role[i])),
				  KV_S("group", s->cfg.vrrp.groups[i].name));
			s->group_role[i] = r;
		}
	if (s->cfg.vrrp.ngroups)
		r = summary_role(s);
	if (r != s->role)
		log_event(LOG_NOTICE, "role_change", KV_S("role", role_name(r)),
			  KV_S("from", role_name(s->role)));
	s->role = r;
	stream_send_hello(s);
	return ctl_ok();
}

int control_holds_key(const struct syncd *s, const struct lb_flow_key *k)
{
	struct taddr dst = { .family = k->family };
	int vip;

	if (!s->cfg.vrrp.ngroups)
		return s->role == ROLE_MASTER;
	memcpy(dst.a, k->daddr, k->family == 4 ? 4 : 16);
	vip = config_vip_by_addr(&s->cfg, &dst);
	if (vip < 0 || s->cfg.vips[vip].group < 0)
		return s->role == ROLE_MASTER;
	return s->group_role[s->cfg.vips[vip].group] == ROLE_MASTER;
}

static json_t *dispatch(void *arg, const json_t *req)
{
	struct syncd *s = arg;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!strcmp(cmd, "status"))
		return control_status(s);
	if (!strcmp(cmd, "role"))
		return role_cmd(s, req);
	if (!strcmp(cmd, "barrier")) {
		json_t *t = json_object_get(req, "timeout_ms");
		unsigned ms = json_is_integer(t) && json_integer_value(t) > 0 &&
			      json_integer_value(t) <= 10000 ? (unsigned)json_integer_value(t) : 500;
		struct ctl_deferred *d = ctl_server_defer(&s->ctl);
		if (!d)
			return ctl_error("cannot defer the reply");
		stream_barrier(s, d, ms);
		return NULL;
	}
	if (!strcmp(cmd, "resync")) {
		stream_start_resync_all(s);
		return ctl_ok();
	}
	return ctl_error("unknown command \"%s\"", cmd);
}

int control_open(struct syncd *s)
{
	if (ctl_server_open(&s->ctl, &s->loop, s->cfg.sync.control_socket, dispatch, s) < 0) {
		log_warn("control socket %s", s->cfg.sync.control_socket);
		return -1;
	}
	return 0;
}

void control_close(struct syncd *s)
{
	ctl_server_close(&s->ctl);
}
