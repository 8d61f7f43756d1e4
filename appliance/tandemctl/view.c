#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"

/* How a number is shown: exact (stats, where counters are compared), or
 * humanised (overview tables, where magnitude matters more than digits). */
enum num_style { NUM_EXACT, NUM_COUNT, NUM_BYTES };

static void cell_num(struct table *t, const json_t *o, const char *key, enum num_style st)
{
	char buf[FMT_BUFLEN];
	uint64_t v;

	if (j_u64(o, key, &v) < 0)
		table_cell(t, NULL);
	else if (st == NUM_COUNT)
		table_cell(t, fmt_count(buf, sizeof(buf), v));
	else if (st == NUM_BYTES)
		table_cell(t, fmt_bytes(buf, sizeof(buf), v));
	else
		table_cellf(t, "%llu", (unsigned long long)v);
}

static void cell_text(struct table *t, const json_t *o, const char *key)
{
	char buf[FMT_BUFLEN];

	table_cell(t, j_text(buf, sizeof(buf), o, key));
}

/* o[key] as a port number, or -1 when absent. */
static long j_port(const json_t *o, const char *key)
{
	uint64_t v;

	return j_u64(o, key, &v) == 0 && v <= 65535 ? (long)v : -1;
}

static void cell_hostport(struct table *t, const json_t *o, const char *akey,
			  const char *pkey)
{
	char buf[FMT_BUFLEN];

	table_cell(t, fmt_hostport(buf, sizeof(buf),
				   json_string_value(json_object_get(o, akey)),
				   j_port(o, pkey)));
}

/* Array of objects with "name", or object name -> object: call fn on each. */
static void each_named(const json_t *v, void (*fn)(struct table *, const char *,
						   const json_t *, enum num_style),
		       struct table *t, enum num_style st)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			fn(t, json_string_value(json_object_get(item, "name")), item, st);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
			fn(t, key, item, st);
	}
}

/* ---- status ---- */

/* The tandem-syncd part of status (paired switches): state, lag, rates, errors. */
static void view_sync(const json_t *s, FILE *out)
{
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN];
	const json_t *peer, *tx, *rx, *rej, *lag, *rates, *v;
	const char *k;
	uint64_t total = 0, x;

	if (!s)
		return;
	if (!json_is_true(json_object_get(s, "ok"))) {
		fprintf(out, "sync         unreachable: %s\n", json_string_value(json_object_get(s, "error")) ?
			json_string_value(json_object_get(s, "error")) : "?");
		return;
	}
	peer = json_object_get(s, "peer");
	tx = json_object_get(s, "tx");
	rx = json_object_get(s, "rx");
	rej = json_object_get(s, "rejected");
	lag = json_object_get(s, "lag_ms");
	rates = json_object_get(s, "rates");
	fprintf(out, "sync         %s, %s; switch %s\n",
		json_is_true(json_object_get(s, "synced")) ? "in sync" : "NOT in sync",
		json_is_true(json_object_get(s, "ready")) ? "ready to take over" : "not ready",
		j_text(b1, sizeof(b1), s, "switch_id"));
	fprintf(out, "sync peer    %s %s, role %s, %s\n", j_text(b1, sizeof(b1), peer, "address"),
		json_is_true(json_object_get(peer, "alive")) ? "alive" : "GONE",
		j_text(b2, sizeof(b2), peer, "role"),
		json_is_true(json_object_get(peer, "synced")) ? "synced" : "not synced");
	if (json_is_number(json_object_get(lag, "p50")))
		fprintf(out, "sync lag     p50 %.3f ms, p99 %.3f ms (%s samples)\n",
			json_number_value(json_object_get(lag, "p50")),
			json_number_value(json_object_get(lag, "p99")), j_text(b1, sizeof(b1), lag, "samples"));
	fprintf(out, "sync rates   %s flows/s out, %s flows/s in\n",
		j_text(b1, sizeof(b1), rates, "tx_flows_per_s"), j_text(b2, sizeof(b2), rates, "rx_flows_per_s"));
	fprintf(out, "sync totals  %s flows out, %s in; %s retransmits; %s in flight\n",
		j_text(b1, sizeof(b1), tx, "flows"), j_text(b2, sizeof(b2), rx, "flows"),
		j_text(b3, sizeof(b3), tx, "retransmits"), j_text(b1, sizeof(b1), tx, "in_flight"));
	json_object_foreach((json_t *)rej, k, v)
		if (json_is_integer(v))
			total += (uint64_t)json_integer_value(v);
	fprintf(out, "sync errors  %llu rejected", (unsigned long long)total);
	json_object_foreach((json_t *)rej, k, v)
		if (json_is_integer(v) && json_integer_value(v) > 0)
			fprintf(out, " %s=%lld", k, (long long)json_integer_value(v));
	if (j_u64(json_object_get(s, "events"), "lost", &x) == 0 && x)
		fprintf(out, "; %llu events lost (resynced)", (unsigned long long)x);
	fputc('\n', out);
}

/* Active-active groups and the DNS records (status "groups", "dns"). */
static void view_groups_dns(const json_t *r, FILE *out)
{
	const json_t *gs = json_object_get(r, "groups"), *d = json_object_get(r, "dns"), *g, *v;
	const json_t *u = json_object_get(d, "updates");
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN];
	size_t i, k;

	json_array_foreach(gs, i, g) {
		fprintf(out, "group %-6s %-7s preferred: switch %s%s; vips", j_text(b1, sizeof(b1), g, "name"),
			j_text(b2, sizeof(b2), g, "role"), j_text(b3, sizeof(b3), g, "preferred"),
			json_is_true(json_object_get(g, "preferred_here")) ? " (this one)" : "");
		json_array_foreach(json_object_get(g, "vips"), k, v)
			fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
		fputc('\n', out);
	}
	if (!json_is_object(d))
		return;
	fprintf(out, "dns          %s at %s, TTL %s; updates %s ok, %s failed", j_text(b1, sizeof(b1), d, "name"),
		j_text(b2, sizeof(b2), d, "server"), j_text(b3, sizeof(b3), d, "ttl"),
		j_text(b1, sizeof(b1), u, "ok"), j_text(b2, sizeof(b2), u, "failed"));
	if (json_string_value(json_object_get(d, "last_error")) &&
	    json_string_length(json_object_get(d, "last_error")))
		fprintf(out, " (last: %s)", json_string_value(json_object_get(d, "last_error")));
	fputc('\n', out);
	json_array_foreach(json_object_get(d, "records"), i, v) {
		const json_t *pub = json_object_get(v, "published");
		fprintf(out, "dns record   %-4s %-4s %-15s %s%s\n", j_text(b1, sizeof(b1), v, "vip"),
			j_text(b2, sizeof(b2), v, "type"), j_text(b3, sizeof(b3), v, "address"),
			json_string_value(json_object_get(v, "want")) ? json_string_value(json_object_get(v, "want")) : "?",
			!strcmp(j_text(b1, sizeof(b1), v, "want"), "leave") ? "" :
			json_is_null(pub) ? " (pending)" : json_is_true(pub) ? " (published)" :
			json_is_false(pub) ? " (withdrawn)" : "");
	}
}

/* The BGP announcements (status "bgp"; also the answer of withdraw/announce). */
void view_bgp(const json_t *g, FILE *out)
{
	const json_t *c = json_object_get(g, "birdc"), *v;
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN], b4[FMT_BUFLEN];
	size_t i;

	if (!json_is_object(g))
		return;
	fprintf(out, "bgp          AS %s: %s%s; birdc %s ok, %s failed", j_text(b1, sizeof(b1), g, "local_as"),
		j_text(b2, sizeof(b2), g, "reason"),
		json_is_true(json_object_get(g, "withdrawn_by_operator")) ? " (held)" : "",
		j_text(b3, sizeof(b3), c, "ok"), j_text(b4, sizeof(b4), c, "failed"));
	if (json_string_length(json_object_get(g, "last_error")))
		fprintf(out, " (last: %s)", json_string_value(json_object_get(g, "last_error")));
	fputc('\n', out);
	json_array_foreach(json_object_get(g, "neighbors"), i, v)
		fprintf(out, "bgp peer     %-15s AS %-10s %s\n", j_text(b1, sizeof(b1), v, "address"),
			j_text(b2, sizeof(b2), v, "as"), j_text(b3, sizeof(b3), v, "state"));
	json_array_foreach(json_object_get(g, "vips"), i, v) {
		const json_t *an = json_object_get(v, "announced");
		int want = json_is_true(json_object_get(v, "want"));
		fprintf(out, "bgp route    %-4s %-15s %s\n", j_text(b1, sizeof(b1), v, "vip"),
			j_text(b2, sizeof(b2), v, "address"),
			json_is_true(an) ? "announced" : json_is_false(an) ? "withdrawn" :
			want ? "announcing (BIRD has not confirmed)" : "withdrawing (BIRD has not confirmed)");
	}
}

/* control "group": the BGP lines, then one line per sync group member. */
void view_group(const struct ctl_args *a, const json_t *r, FILE *out)
{
	const json_t *sy = json_object_get(r, "sync"), *m;
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN], b4[FMT_BUFLEN], b5[FMT_BUFLEN];
	size_t i;

	(void)a;
	view_bgp(json_object_get(r, "bgp"), out);
	if (!json_is_object(sy)) {
		fprintf(out, "sync         none (no \"sync\" section)\n");
		return;
	}
	fprintf(out, "sync         %s\n", json_is_true(json_object_get(sy, "ready")) ? "ready" :
		j_text(b1, sizeof(b1), sy, "why"));
	json_array_foreach(json_object_get(sy, "members"), i, m) {
		if (json_is_true(json_object_get(m, "self"))) {
			fprintf(out, "member       %-15s this switch\n", j_text(b1, sizeof(b1), m, "address"));
			continue;
		}
		fprintf(out, "member       %-15s %-6s %-7s in flight %s, flows sent %s, received %s, "
			"resyncs received %s\n", j_text(b1, sizeof(b1), m, "address"),
			json_is_true(json_object_get(m, "alive")) ? "alive" : "silent",
			json_is_true(json_object_get(m, "synced")) ? "synced" : "behind",
			j_text(b2, sizeof(b2), m, "in_flight"), j_text(b3, sizeof(b3), m, "tx_flows"),
			j_text(b4, sizeof(b4), m, "rx_flows"), j_text(b5, sizeof(b5), m, "resyncs_rx"));
	}
}

struct kv {
	const char *key;
	char val[2 * FMT_BUFLEN];
};

void view_status(const struct ctl_args *a, const json_t *r, FILE *out)
{
	struct kv kv[14];
	int n = 0, w = 0;
	uint64_t x, y;
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN];

	(void)a;
#define KV(k) (kv[n].key = (k), kv[n++].val)
	j_text(KV("instance"), FMT_BUFLEN, r, "instance");
	j_text(KV("pid"), FMT_BUFLEN, r, "pid");
	if (j_u64(r, "uptime_s", &x) == 0)
		fmt_uptime(KV("uptime"), FMT_BUFLEN, x);
	else
		strcpy(KV("uptime"), FMT_MISSING);
	j_text(KV("attach"), FMT_BUFLEN, r, "attach");
	snprintf(KV("interfaces"), 2 * FMT_BUFLEN, "client %s, storage %s",
		 j_text(b1, sizeof(b1), r, "client_interface"),
		 j_text(b2, sizeof(b2), r, "storage_interface"));
	if (j_u64(r, "flows", &x) == 0 && j_u64(r, "flow_table_size", &y) == 0 && y)
		snprintf(KV("flows"), 2 * FMT_BUFLEN, "%llu / %llu (%.1f%%)",
			 (unsigned long long)x, (unsigned long long)y, 100.0 * x / y);
	else
		snprintf(KV("flows"), 2 * FMT_BUFLEN, "%s / %s", j_text(b1, sizeof(b1), r, "flows"),
			 j_text(b2, sizeof(b2), r, "flow_table_size"));
	j_text(KV("maglev_size"), FMT_BUFLEN, r, "maglev_size");
	j_text(KV("vips"), FMT_BUFLEN, r, "vips");
	snprintf(KV("nodes"), 2 * FMT_BUFLEN, "%s up / %s total",
		 j_text(b1, sizeof(b1), r, "nodes_up"), j_text(b2, sizeof(b2), r, "nodes_total"));
	j_text(KV("reloads"), FMT_BUFLEN, r, "reloads");
	j_text(KV("config"), FMT_BUFLEN, r, "config");
	j_text(KV("role"), FMT_BUFLEN, r, "role");
#undef KV
	for (int i = 0; i < n; i++)
		if ((int)strlen(kv[i].key) > w)
			w = strlen(kv[i].key);
	for (int i = 0; i < n; i++)
		fprintf(out, "%-*s  %s\n", w, kv[i].key, kv[i].val);
	view_groups_dns(r, out);
	view_bgp(json_object_get(r, "bgp"), out);
	view_sync(json_object_get(r, "sync"), out);
}

/* ---- nodes ---- */

/* A health entry's service as text: "tcp/80" as sent, or built from
 * {proto, port}, or a bare number. */
static char *svc_text(char *buf, size_t len, const json_t *h)
{
	const json_t *s = json_object_get(h, "service");

	if (json_is_object(s)) {
		char p[FMT_BUFLEN], q[FMT_BUFLEN];
		snprintf(buf, len, "%s/%s", j_text(p, sizeof(p), s, "proto"),
			 j_text(q, sizeof(q), s, "port"));
		return buf;
	}
	return j_text(buf, len, h, "service");
}

/* "tcp/80:ok udp/53:down": one word per checked proto/port (a TCP connect or
 * a probe, TCP or UDP), in reply order. */
static void cell_health(struct table *t, const json_t *node)
{
	const json_t *hs = json_object_get(node, "health");
	char *s = NULL;
	size_t len = 0;
	FILE *m;
	json_t *h;
	size_t i;

	if (!json_is_array(hs) || !json_array_size(hs)) {
		table_cell(t, NULL);
		return;
	}
	m = open_memstream(&s, &len);
	if (!m) {
		table_cell(t, NULL);
		return;
	}
	json_array_foreach(hs, i, h) {
		char svc[FMT_BUFLEN];
		const json_t *ok = json_object_get(h, "ok");
		fprintf(m, "%s%s:%s", i ? " " : "", svc_text(svc, sizeof(svc), h),
			!json_is_boolean(ok) ? "?" : json_is_true(ok) ? "ok" : "down");
	}
	fclose(m);
	table_cell(t, s);
	free(s);
}

static const struct col node_cols[] = {
	{ "NAME", 0 }, { "ID", 1 }, { "ADDRESS", 0 }, { "MAC", 0 }, { "WEIGHT", 1 },
	{ "STATE", 0 }, { "DRAIN", 0 }, { "LINK", 0 }, { "FLOWS", 1 }, { "PACKETS", 1 },
	{ "BYTES", 1 }, { "NEW", 1 }, { "HO-IN", 1 }, { "HO-OUT", 1 }, { "HEALTH", 0 },
};

/* What a node's tandem-nasd reports (its load, the NFS export policy it
 * enforces) and the sessions being moved off it (drain, load trigger): one
 * line each, below the nodes table. */
static void node_notes(const json_t *n, FILE *out)
{
	const json_t *mv = json_object_get(n, "moving"), *ld = json_object_get(n, "load");
	const json_t *pol = json_object_get(n, "policy");
	char name[FMT_BUFLEN];
	uint64_t v[6] = { 0 };

	j_text(name, sizeof(name), n, "name");
	if (ld) {
		j_u64(ld, "sessions", &v[0]);
		j_u64(ld, "mibps", &v[1]);
		fprintf(out, "%s load: %llu live sessions, %llu MiB/s (tandem-nasd)\n", name,
			(unsigned long long)v[0], (unsigned long long)v[1]);
	}
	if (pol) {
		const char *ver = json_string_value(json_object_get(pol, "version"));
		const char *cv = json_string_value(json_object_get(pol, "cluster_version"));
		fprintf(out, "%s nfs policy: version %s%s", name, ver ? ver : "?",
			json_is_true(json_object_get(pol, "stale")) ?
			", STALE (its directory replica cannot be read or has lost its providers: "
			"the last policy read stays)" : "");
		if (json_is_true(json_object_get(pol, "mismatch")))
			fprintf(out, ", MISMATCH (the cluster enforces %s)", cv ? cv : "?");
		fputc('\n', out);
	}
	if (mv) {
		const char *kind = json_string_value(json_object_get(mv, "kind"));
		j_u64(mv, "moved", &v[0]);
		j_u64(mv, "total", &v[1]);
		j_u64(mv, "not_live", &v[2]);
		j_u64(mv, "failed", &v[3]);
		j_u64(mv, "in_flight", &v[4]);
		j_u64(mv, "elapsed_ms", &v[5]);
		fprintf(out, "%s %s: %s, moved %llu of %llu, %llu not live, %llu failed, %llu in flight, %.1f s\n",
			name, kind ? kind : "move",
			json_is_true(json_object_get(mv, "done")) ? "done" : "moving",
			(unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
			(unsigned long long)v[3], (unsigned long long)v[4], (double)v[5] / 1000.0);
	}
}

void view_nodes(const struct ctl_args *a, const json_t *r, FILE *out)
{
	struct table *t = table_new(node_cols, sizeof(node_cols) / sizeof(node_cols[0]));
	const json_t *nodes = json_object_get(r, "nodes");
	json_t *n, *h;
	size_t i, k;
	int errors = 0;

	(void)a;
	json_array_foreach(nodes, i, n) {
		table_row(t);
		cell_text(t, n, "name");
		cell_text(t, n, "id");
		cell_text(t, n, "address");
		cell_text(t, n, "mac");
		cell_text(t, n, "weight");
		cell_text(t, n, "state");
		cell_text(t, n, "drain");
		cell_text(t, n, "link");
		cell_num(t, n, "flows", NUM_COUNT);
		cell_num(t, n, "packets", NUM_COUNT);
		cell_num(t, n, "bytes", NUM_BYTES);
		cell_num(t, n, "new_flows", NUM_COUNT);
		cell_num(t, n, "handoffs_in", NUM_COUNT);
		cell_num(t, n, "handoffs_out", NUM_COUNT);
		cell_health(t, n);
	}
	table_print(t, out);
	table_free(t);

	/* What the nodes report, and sessions being moved: below the table. */
	json_array_foreach(nodes, i, n) {
		if (!json_object_get(n, "moving") && !json_object_get(n, "load") &&
		    !json_object_get(n, "policy"))
			continue;
		if (!errors++)
			fputs("\n", out);
		node_notes(n, out);
	}

	/* Why a check fails does not fit the table: list it below. */
	json_array_foreach(nodes, i, n) {
		json_array_foreach(json_object_get(n, "health"), k, h) {
			const char *e = json_string_value(json_object_get(h, "last_error"));
			char name[FMT_BUFLEN], svc[FMT_BUFLEN];
			if (json_is_true(json_object_get(h, "ok")) || !e || !*e)
				continue;
			if (!errors++)
				fputs("\n", out);
			fprintf(out, "%s %s: %s\n", j_text(name, sizeof(name), n, "name"),
				svc_text(svc, sizeof(svc), h), e);
		}
	}
}

/* ---- vips (and the VIP part of stats) ---- */

static const struct col vip_cols[] = {
	{ "VIP", 0 }, { "ADDRESS", 0 }, { "PROTO", 0 }, { "PORT", 1 }, { "NODES", 1 },
	{ "PACKETS", 1 }, { "BYTES", 1 }, { "NEW", 1 },
};

/* One row per service of the VIP (one row of "-" if it lists none). */
static void vip_rows(struct table *t, const char *name, const json_t *vip,
		     enum num_style st)
{
	const json_t *svcs = json_object_get(vip, "services");
	char addr[FMT_BUFLEN];
	json_t *s;
	size_t i;

	j_text(addr, sizeof(addr), vip, "address");
	if (!json_is_array(svcs) || !json_array_size(svcs))
		svcs = NULL;
	for (i = 0; i < (svcs ? json_array_size(svcs) : 1); i++) {
		s = svcs ? json_array_get(svcs, i) : NULL;
		table_row(t);
		table_cell(t, name);
		table_cell(t, addr);
		cell_text(t, s, "proto");
		cell_text(t, s, "port");
		cell_num(t, s, "nodes_in_table", NUM_EXACT);
		cell_num(t, s, "packets", st == NUM_EXACT ? NUM_EXACT : NUM_COUNT);
		cell_num(t, s, "bytes", st == NUM_EXACT ? NUM_EXACT : NUM_BYTES);
		cell_num(t, s, "new_flows", st == NUM_EXACT ? NUM_EXACT : NUM_COUNT);
	}
}

static void print_vips(const json_t *vips, enum num_style st, FILE *out)
{
	struct table *t = table_new(vip_cols, sizeof(vip_cols) / sizeof(vip_cols[0]));

	each_named(vips, vip_rows, t, st);
	table_print(t, out);
	table_free(t);
}

void view_vips(const struct ctl_args *a, const json_t *r, FILE *out)
{
	(void)a;
	print_vips(json_object_get(r, "vips"), NUM_COUNT, out);
}

/* ---- flows ---- */

static const struct col flow_cols[] = {
	{ "CLIENT", 0 }, { "VIP", 0 }, { "PROTO", 0 }, { "NODE", 0 }, { "FLAGS", 0 },
	{ "PACKETS", 1 }, { "BYTES", 1 }, { "AGE", 1 },
};

/* ["syn","migrated"] -> "syn,migrated"; [] -> "-". */
static void cell_flags(struct table *t, const json_t *f)
{
	const json_t *flags = json_object_get(f, "flags");
	char buf[2 * FMT_BUFLEN] = "";
	size_t used = 0;
	json_t *x;
	size_t i;

	json_array_foreach(flags, i, x) {
		const char *s = json_string_value(x);
		if (s && used < sizeof(buf))
			used += snprintf(buf + used, sizeof(buf) - used, "%s%s",
					 used ? "," : "", s);
	}
	table_cell(t, used ? buf : NULL);
}

void view_flows(const struct ctl_args *a, const json_t *r, FILE *out)
{
	struct table *t = table_new(flow_cols, sizeof(flow_cols) / sizeof(flow_cols[0]));
	const json_t *flows = json_object_get(r, "flows");
	char buf[FMT_BUFLEN];
	uint64_t age;
	json_t *f;
	size_t i;

	(void)a;
	json_array_foreach(flows, i, f) {
		table_row(t);
		cell_hostport(t, f, "client", "client_port");
		cell_hostport(t, f, "vip", "port");
		cell_text(t, f, "proto");
		cell_text(t, f, "node");
		cell_flags(t, f);
		cell_num(t, f, "packets", NUM_COUNT);
		cell_num(t, f, "bytes", NUM_BYTES);
		table_cell(t, j_u64(f, "age_ms", &age) == 0 ? fmt_age_ms(buf, sizeof(buf), age)
							     : NULL);
	}
	table_print(t, out);
	table_free(t);
	fprintf(out, "%zu flows shown of %s%s\n", json_array_size(flows),
		j_text(buf, sizeof(buf), r, "total"),
		json_is_true(json_object_get(r, "truncated")) ? " (limited: see --limit)" : "");
}

/* ---- stats ---- */

/* The order of lb_verdict (lb/lb_maps.h, doc/control.md). */
static const char *const verdict_names[] = {
	"pass_not_ip", "pass_not_vip", "fwd_hit", "fwd_new", "fwd_midstream",
	"fwd_rehash_syn", "fwd_rehash_down", "pass_trunc_l2", "drop_trunc_l3",
	"drop_trunc_l4", "drop_fragment", "drop_exthdr", "drop_no_node",
	"drop_redirect", "ip_options", "pass_icmp", "events_lost", "pass_other_host",
};
#define NVERDICTS (sizeof(verdict_names) / sizeof(verdict_names[0]))

static int known_verdict(const char *name)
{
	for (size_t i = 0; i < NVERDICTS; i++)
		if (!strcmp(verdict_names[i], name))
			return 1;
	return 0;
}

static void verdict_row(struct table *t, const json_t *v, const char *name, int all)
{
	uint64_t n;

	if (!json_object_get(v, name)) {
		if (all) {		/* asked for every verdict: show it is unknown */
			table_row(t);
			table_cell(t, name);
			table_cell(t, NULL);
		}
		return;
	}
	if (!all && j_u64(v, name, &n) == 0 && n == 0)
		return;
	table_row(t);
	table_cell(t, name);
	cell_num(t, v, name, NUM_EXACT);
}

static const struct col verdict_cols[] = { { "VERDICT", 0 }, { "COUNT", 1 } };

static const struct col node_stat_cols[] = {
	{ "NODE", 0 }, { "PACKETS", 1 }, { "BYTES", 1 }, { "NEW", 1 }, { "FLOWS", 1 },
};

static void node_stat_row(struct table *t, const char *name, const json_t *n,
			  enum num_style st)
{
	table_row(t);
	table_cell(t, name);
	cell_num(t, n, "packets", st);
	cell_num(t, n, "bytes", st);
	cell_num(t, n, "new_flows", st);
	cell_num(t, n, "flows", st);
}

void view_stats(const struct ctl_args *a, const json_t *r, FILE *out)
{
	const json_t *v = json_object_get(r, "verdicts");
	struct table *t = table_new(verdict_cols, 2);
	const char *key;
	json_t *x;

	for (size_t i = 0; i < NVERDICTS; i++)
		verdict_row(t, v, verdict_names[i], a->all);
	/* A newer daemon may count verdicts this tandemctl does not know. */
	if (json_is_object(v))
		json_object_foreach((json_t *)v, key, x)
			if (!known_verdict(key))
				verdict_row(t, v, key, a->all);
	table_print(t, out);
	table_free(t);

	fputc('\n', out);
	print_vips(json_object_get(r, "vips"), NUM_EXACT, out);

	fputc('\n', out);
	t = table_new(node_stat_cols, sizeof(node_stat_cols) / sizeof(node_stat_cols[0]));
	each_named(json_object_get(r, "nodes"), node_stat_row, t, NUM_EXACT);
	table_print(t, out);
	table_free(t);
}

/* ---- cluster (the NFS namespace map lbd hands to the nodes) ---- */

static const struct col home_cols[] = { { "DIR", 0 }, { "NODE", 0 }, { "NFS_ID", 1 } };
static const struct col cnode_cols[] = {
	{ "NODE", 0 }, { "NFS_ID", 1 }, { "ADDRESS", 0 }, { "ACKED", 1 }, { "STATUS", 0 }, { "AGE", 1 },
};

/* The node states lbd sends every node (which nodes drain: the nodes'
 * automatic moves send no session there), and how many nodes hold them. */
static void view_states(const json_t *st, FILE *out)
{
	const json_t *v;
	const char *name;
	uint64_t gen = 0;
	unsigned n = 0, cur = 0;
	size_t i;

	if (!json_is_object(st))
		return;
	j_u64(st, "generation", &gen);
	fprintf(out, "node states  generation %llu, draining:", (unsigned long long)gen);
	json_array_foreach(json_object_get(st, "draining"), i, v)
		fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
	if (!json_array_size(json_object_get(st, "draining")))
		fprintf(out, " none");
	json_object_foreach((json_t *)json_object_get(st, "held"), name, v) {
		n++;
		cur += json_is_true(json_object_get(v, "current"));
	}
	fprintf(out, "; %u of %u node(s) hold it\n", cur, n);
}

void view_cluster(const struct ctl_args *a, const json_t *r, FILE *out)
{
	char b1[FMT_BUFLEN], b2[FMT_BUFLEN], b3[FMT_BUFLEN];
	const json_t *cl = json_object_get(r, "clients"), *v;
	struct table *t;
	uint64_t gen = 0, x;
	size_t i;

	(void)a;
	view_states(json_object_get(r, "node_states"), out);
	if (!json_is_true(json_object_get(r, "enabled"))) {
		fprintf(out, "no cluster map: %s\n", j_text(b1, sizeof(b1), r, "reason"));
		return;
	}
	j_u64(r, "generation", &gen);
	fprintf(out, "generation   %llu (switch %s, cluster %s)\n", (unsigned long long)gen,
		j_text(b1, sizeof(b1), r, "switch_id"), j_text(b2, sizeof(b2), r, "cluster_id"));
	fprintf(out, "export       %s\n", j_text(b1, sizeof(b1), r, "export"));
	fprintf(out, "clients     ");
	json_array_foreach(cl, i, v)
		fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
	fputc('\n', out);
	if (j_u64(r, "handoff_threshold", &x) == 0)
		fprintf(out, "handoff at   %s forwarded per session%s\n", fmt_bytes(b1, sizeof(b1), x),
			x ? "" : " (never)");
	fprintf(out, "map          %s bytes to UDP port %s of every node, every %s ms\n",
		j_text(b1, sizeof(b1), r, "bytes"), j_text(b2, sizeof(b2), r, "port"),
		j_text(b3, sizeof(b3), r, "resend_ms"));
	fprintf(out, "datagrams    %s sent, %s send errors, ", j_text(b1, sizeof(b1), r, "sent"),
		j_text(b2, sizeof(b2), r, "send_errors"));
	fprintf(out, "%s acks (%s refused)\n\n", j_text(b1, sizeof(b1), r, "acks"),
		j_text(b2, sizeof(b2), r, "acks_refused"));
	t = table_new(home_cols, 3);
	json_array_foreach(json_object_get(r, "homes"), i, v) {
		table_row(t);
		cell_text(t, v, "dir");
		cell_text(t, v, "node");
		cell_text(t, v, "nfs_id");
	}
	table_print(t, out);
	table_free(t);
	fputc('\n', out);
	t = table_new(cnode_cols, 6);
	json_array_foreach(json_object_get(r, "nodes"), i, v) {
		table_row(t);
		cell_text(t, v, "name");
		cell_text(t, v, "nfs_id");
		cell_text(t, v, "address");
		if (j_u64(v, "acked_generation", &x) == 0)
			table_cell(t, x == gen ? "current" : j_text(b1, sizeof(b1), v, "acked_generation"));
		else
			table_cell(t, NULL);
		cell_text(t, v, "ack_status");
		table_cell(t, j_u64(v, "ack_age_ms", &x) == 0 ? fmt_age_ms(b1, sizeof(b1), x) : NULL);
	}
	table_print(t, out);
	table_free(t);
}
