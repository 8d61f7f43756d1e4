/*
 * poll.c - one snapshot of tandem-lbd (and tandem-syncd) through their
 * control sockets (doc/control.md).  Only our own daemons' JSON is read
 * here, through jansson; fields that are missing read as 0 / "" so that a
 * daemon one version older or newer (a field added or not yet there, such
 * as lbd's per-node handoffs_in/handoffs_out) still gives a usable view.
 */
#include "agentx.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/ctl.h"
#include "lib/log.h"

int role_parse(const char *s)
{
	static const char *const names[] = { "init", "master", "backup", "fault" };

	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, names[i]))
			return ROLE_INIT + i;
	return ROLE_UNKNOWN;
}

const char *role_name(int role)
{
	static const char *const names[] = { "unknown", "init", "master", "backup", "fault" };

	return role >= ROLE_UNKNOWN && role <= ROLE_FAULT ? names[role - ROLE_UNKNOWN] : "?";
}

int inet_bytes(const char *s, uint8_t out[16])
{
	struct taddr a;

	if (!s || taddr_parse(s, &a) < 0) {
		memset(out, 0, 16);
		return 0;
	}
	memcpy(out, a.a, 16);
	return a.family == 4 ? INET_IPV4 : INET_IPV6;
}

/* Integer field of o (0 if absent or not a number); negative values read as 0. */
static uint64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	if (json_is_real(v))
		return json_real_value(v) > 0 ? (uint64_t)json_real_value(v) : 0;
	return 0;
}

/* Counter32 / Gauge32 / Unsigned32 from a JSON integer: Counter32 wraps by
 * definition, so truncation modulo 2^32 is the right reading. */
static uint32_t jint32(const json_t *o, const char *key)
{
	return (uint32_t)jint(o, key);
}

static int jbool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* The "proto" field: 17 for "udp", else 6 (TCP). */
static int jproto(const json_t *o)
{
	const char *p = json_string_value(json_object_get(o, "proto"));

	return p && proto_parse(p) == IPPROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static void jstr(char *dst, size_t len, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", s ? s : "");
}

/* One request to `path`; the reply if it says ok:true (caller owns it), else
 * NULL.  *why gets the reason (for the caller's log-on-change). */
static json_t *ask(struct agx *a, const char *path, json_t *req, char *why, size_t whylen)
{
	json_t *r = ctl_request(path, req, (int)a->ctl_timeout_ms, why, whylen);

	json_decref(req);
	if (r && !json_is_true(json_object_get(r, "ok"))) {
		const char *e = json_string_value(json_object_get(r, "error"));
		snprintf(why, whylen, "%s: %s", path, e ? e : "error");
		json_decref(r);
		r = NULL;
	}
	return r;
}

static void parse_status(struct snap *s, const json_t *r)
{
	const json_t *ho = json_object_get(r, "handoffs"), *rep = json_object_get(r, "handoff_reports");

	s->role = role_parse(json_string_value(json_object_get(r, "role")));
	s->uptime_s = jint32(r, "uptime_s");
	s->flows = jint32(r, "flows");
	s->flow_table_size = jint32(r, "flow_table_size");
	s->nodes_up = jint32(r, "nodes_up");
	s->nodes_total = jint32(r, "nodes_total");
	s->reloads = jint32(r, "reloads");
	s->ho_requested = jint32(ho, "requested");
	s->ho_ok = jint32(ho, "ok");
	s->ho_failed = jint32(ho, "failed");
	s->rep_handled = jint32(rep, "handled");
	s->rep_failed = jint32(rep, "failed");
	s->rep_rejected = jint32(rep, "rejected");
	s->rep_replayed = jint32(rep, "replayed");
}

/* The addresses of the records of group g's VIPs (names in vips) that the
 * status's "dns" says we published, into out. */
static void group_dns(char *out, size_t len, const json_t *vips, const json_t *dns)
{
	const json_t *rec, *v;
	size_t i, k, off = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(dns, "records"), i, rec) {
		const char *name = json_string_value(json_object_get(rec, "vip"));
		const char *addr = json_string_value(json_object_get(rec, "address"));
		if (!name || !addr || !json_is_true(json_object_get(rec, "published")) ||
		    strcmp(json_string_value(json_object_get(rec, "want")) ?: "", "publish"))
			continue;
		json_array_foreach(vips, k, v)
			if (json_string_value(v) && !strcmp(json_string_value(v), name) && off < len)
				off += (size_t)snprintf(out + off, len - off, "%s%s", off ? " " : "", addr);
	}
}

/* status "groups" (active-active), with each group's published records. */
static void parse_groups(struct snap *s, const json_t *r)
{
	const json_t *arr = json_object_get(r, "groups"), *g, *v;
	size_t i, k;

	if (!json_is_array(arr) || !json_array_size(arr))
		return;
	s->groups = calloc(json_array_size(arr), sizeof(*s->groups));
	if (!s->groups)
		return;
	json_array_foreach(arr, i, g) {
		struct group_row *row = &s->groups[s->ngroups++];
		size_t off = 0;
		row->index = (uint32_t)i + 1;
		jstr(row->name, sizeof(row->name), g, "name");
		row->role = role_parse(json_string_value(json_object_get(g, "role")));
		row->preferred = jint32(g, "preferred");
		row->preferred_here = jbool(g, "preferred_here");
		json_array_foreach(json_object_get(g, "vips"), k, v)
			if (json_string_value(v) && off < sizeof(row->vips))
				off += (size_t)snprintf(row->vips + off, sizeof(row->vips) - off, "%s%s",
							off ? " " : "", json_string_value(v));
		group_dns(row->dns, sizeof(row->dns), json_object_get(g, "vips"), json_object_get(r, "dns"));
	}
}

static int parse_nodes(struct snap *s, const json_t *r)
{
	const json_t *arr = json_object_get(r, "nodes"), *n;
	size_t i;

	if (!json_is_array(arr))
		return -1;
	s->nodes = calloc(json_array_size(arr) + 1, sizeof(*s->nodes));
	if (!s->nodes)
		return -1;
	json_array_foreach(arr, i, n) {
		struct node_row *row = &s->nodes[s->nnodes];
		const json_t *h, *hc;
		const char *st = json_string_value(json_object_get(n, "state"));
		size_t k;

		row->index = (uint32_t)jint(n, "id") + 1;
		jstr(row->name, sizeof(row->name), n, "name");
		row->atype = inet_bytes(json_string_value(json_object_get(n, "address")), row->addr);
		row->state = !st ? NODE_UNKNOWN : !strcmp(st, "up") ? NODE_UP
			     : !strcmp(st, "down") ? NODE_DOWN : NODE_UNKNOWN;
		row->drain = jbool(n, "drain");
		row->link_up = !strcmp(json_string_value(json_object_get(n, "link")) ?: "", "up");
		row->weight = jint32(n, "weight");
		row->flows = jint32(n, "flows");
		row->packets = jint(n, "packets");
		row->bytes = jint(n, "bytes");
		row->new_flows = jint(n, "new_flows");
		row->handoffs_in = jint(n, "handoffs_in");
		row->handoffs_out = jint(n, "handoffs_out");
		h = json_object_get(n, "health");
		json_array_foreach(h, k, hc) {
			row->checks++;
			if (jbool(hc, "ok")) {
				row->checks_ok++;
			} else if (!row->health_error[0]) {
				const char *svc = json_string_value(json_object_get(hc, "service"));
				const char *e = json_string_value(json_object_get(hc, "last_error"));
				snprintf(row->health_error, sizeof(row->health_error), "%s: %s",
					 svc ? svc : "?", e && *e ? e : "failing");
			}
		}
		if (row->atype)		/* a row without an address cannot be served */
			s->nnodes++;
	}
	return 0;
}

static int parse_vips(struct snap *s, const json_t *r)
{
	const json_t *arr = json_object_get(r, "vips"), *v, *svc;
	size_t i, k, n = 0;

	if (!json_is_array(arr))
		return -1;
	json_array_foreach(arr, i, v)
		n += json_array_size(json_object_get(v, "services"));
	s->vips = calloc(n + 1, sizeof(*s->vips));
	if (!s->vips)
		return -1;
	json_array_foreach(arr, i, v) {
		uint8_t addr[16];
		int atype = inet_bytes(json_string_value(json_object_get(v, "address")), addr);

		if (!atype)
			continue;
		json_array_foreach(json_object_get(v, "services"), k, svc) {
			struct vip_row *row = &s->vips[s->nvips++];

			row->index = jint32(svc, "svc_id") + 1;
			jstr(row->name, sizeof(row->name), v, "name");
			row->atype = atype;
			memcpy(row->addr, addr, sizeof(addr));
			row->proto = jproto(svc);
			row->port = jint32(svc, "port");
			row->nodes_in_table = jint32(svc, "nodes_in_table");
			row->packets = jint(svc, "packets");
			row->bytes = jint(svc, "bytes");
			row->new_flows = jint(svc, "new_flows");
		}
	}
	return 0;
}

static int parse_flows(struct snap *s, const json_t *r)
{
	const json_t *arr = json_object_get(r, "flows"), *f, *flags, *fl;
	size_t i, k;

	if (!json_is_array(arr))
		return -1;
	s->sess = calloc(json_array_size(arr) + 1, sizeof(*s->sess));
	if (!s->sess)
		return -1;
	json_array_foreach(arr, i, f) {
		struct sess_row *row = &s->sess[s->nsess];
		int t1 = inet_bytes(json_string_value(json_object_get(f, "client")), row->client);
		int t2 = inet_bytes(json_string_value(json_object_get(f, "vip")), row->vip);
		size_t used = 0;

		if (!t1 || t1 != t2)
			continue;
		row->atype = t1;
		row->client_port = jint32(f, "client_port");
		row->vip_port = jint32(f, "port");
		row->proto = jproto(f);
		jstr(row->node, sizeof(row->node), f, "node");
		for (size_t n = 0; n < s->nnodes; n++)
			if (!strcmp(s->nodes[n].name, row->node))
				row->node_index = s->nodes[n].index;
		row->packets = jint(f, "packets");
		row->bytes = jint(f, "bytes");
		row->idle_ms = jint32(f, "age_ms");
		flags = json_object_get(f, "flags");
		json_array_foreach(flags, k, fl) {
			const char *name = json_string_value(fl);
			int w;

			if (!name || used >= sizeof(row->flags) - 1)
				continue;
			w = snprintf(row->flags + used, sizeof(row->flags) - used, "%s%s",
				     used ? "," : "", name);
			used = w > 0 ? used + (size_t)w : used;
		}
		s->nsess++;
	}
	return 0;
}

/* The sync section: syncd's status (only with -y). */
static void poll_syncd(struct agx *a, struct snap *s, char *why, size_t whylen)
{
	json_t *r, *peer, *lag;

	if (!a->syncd_sock) {
		s->sync_state = SYNC_NOT_CONFIGURED;
		return;
	}
	r = ask(a, a->syncd_sock, json_pack("{s:s}", "cmd", "status"), why, whylen);
	if (!r) {
		s->sync_state = SYNC_SYNCD_DOWN;
		return;
	}
	peer = json_object_get(r, "peer");
	lag = json_object_get(r, "lag_ms");
	s->peer_alive = jbool(peer, "alive");
	s->synced = jbool(r, "synced");
	s->sync_state = !s->peer_alive ? SYNC_PEER_DOWN : !s->synced ? SYNC_SYNCING : SYNC_SYNCED;
	/* lag_ms percentiles may be fractional: keep microseconds */
	s->lag_p50_us = (uint32_t)(json_number_value(json_object_get(lag, "p50")) * 1000.0);
	s->lag_p99_us = (uint32_t)(json_number_value(json_object_get(lag, "p99")) * 1000.0);
	s->sync_tx_flows = jint(json_object_get(r, "tx"), "flows");
	s->sync_rx_flows = jint(json_object_get(r, "rx"), "flows");
	json_decref(r);
}

void poll_snapshot(struct agx *a, struct snap *s)
{
	char why[256] = "";
	json_t *st, *nodes = NULL, *vips = NULL, *flows = NULL;

	s->role = ROLE_UNKNOWN;
	poll_syncd(a, s, why, sizeof(why));
	if (why[0])
		log_debug("syncd: %s", why);
	why[0] = 0;
	/* status first: if lbd does not answer it there is no point in the rest */
	st = ask(a, a->lbd_sock, json_pack("{s:s}", "cmd", "status"), why, sizeof(why));
	if (st)
		nodes = ask(a, a->lbd_sock, json_pack("{s:s}", "cmd", "nodes"), why, sizeof(why));
	if (nodes)
		vips = ask(a, a->lbd_sock, json_pack("{s:s}", "cmd", "vips"), why, sizeof(why));
	if (vips)
		flows = ask(a, a->lbd_sock, json_pack("{s:s, s:i}", "cmd", "flows", "limit",
			    (int)a->session_limit), why, sizeof(why));
	if (flows) {
		parse_status(s, st);
		parse_groups(s, st);
		s->lbd_up = parse_nodes(s, nodes) == 0 && parse_vips(s, vips) == 0 &&
			    parse_flows(s, flows) == 0;
		if (!s->lbd_up)
			snprintf(why, sizeof(why), "%s: unexpected reply", a->lbd_sock);
	}
	if (!s->lbd_up)
		log_debug("lbd: %s", why);
	json_decref(st);
	json_decref(nodes);
	json_decref(vips);
	json_decref(flows);
}

void snap_free(struct snap *s)
{
	free(s->vips);
	free(s->nodes);
	free(s->sess);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}
