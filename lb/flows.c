/*
 * flows.c - walks of the flow table for listing, counting and migration.
 *
 * Walks use batched lookups (one syscall per FLOW_BATCH entries) so listing
 * millions of flows stays practical.  A walk is not a snapshot: the data
 * plane keeps inserting and LRU-evicting while we read, which is fine for
 * counts and listings.  Migration changes the entry in place through the
 * lb_repoint program (dp_repoint), so counters keep every increment and a
 * full table evicts nothing.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl.h"
#include "lib/log.h"

#define FLOW_BATCH 4096

typedef int (*flow_fn)(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v,
		       void *arg);

/* Call fn for every flow; fn returns 0 to go on, 1 to stop.  Returns 0 / -1. */
static int flows_walk(struct lbd *l, flow_fn fn, void *arg)
{
	struct lb_flow_key *keys = calloc(FLOW_BATCH, sizeof(*keys));
	struct lb_flow_val *vals = calloc(FLOW_BATCH, sizeof(*vals));
	struct lb_flow_key in, out;
	void *inp = NULL;
	int rc = 0, done = 0;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	while (!done) {
		__u32 count = FLOW_BATCH;
		int err = bpf_map_lookup_batch(l->dp.fd_flows, inp, &out, keys, vals, &count, NULL);
		if (err < 0 && errno != ENOENT) {
			log_warn("flow table walk");
			rc = -1;
			break;
		}
		done = err < 0;	/* ENOENT: this was the last batch */
		for (__u32 i = 0; i < count && rc == 0; i++)
			if (fn(l, &keys[i], &vals[i], arg))
				done = 1;
		in = out;
		inp = &in;
	}
	free(keys);
	free(vals);
	return rc;
}

static int count_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	uint64_t *counts = arg;

	if (v->node_id < LB_MAX_NODES)
		counts[v->node_id]++;
	counts[LB_MAX_NODES]++;
	return 0;
}

long flows_count(struct lbd *l, uint64_t *counts)
{
	uint64_t c[LB_MAX_NODES + 1] = { 0 };

	if (flows_walk(l, count_fn, c) < 0)
		return -1;
	if (counts)
		memcpy(counts, c, sizeof(uint64_t) * LB_MAX_NODES);
	return (long)c[LB_MAX_NODES];
}

struct list_arg {
	const struct flow_filter *f;
	json_t *arr;
	long limit, total;
	uint64_t now_ns;
};

static int vip_of(struct lbd *l, const struct lb_flow_key *k)
{
	for (unsigned i = 0; i < l->cfg.nvips; i++) {
		const struct taddr *a = &l->cfg.vips[i].addr;
		if (a->family == k->family && !memcmp(a->a, k->daddr, 16))
			return (int)i;
	}
	return -1;
}

static json_t *flags_json(uint32_t f)
{
	json_t *a = json_array();

	if (f & LB_FLOW_F_SYN)
		json_array_append_new(a, json_string("syn"));
	if (f & LB_FLOW_F_MIDSTREAM)
		json_array_append_new(a, json_string("midstream"));
	if (f & LB_FLOW_F_MIGRATED)
		json_array_append_new(a, json_string("migrated"));
	if (f & LB_FLOW_F_SYNCED)
		json_array_append_new(a, json_string("synced"));
	return a;
}

static int list_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	struct list_arg *a = arg;
	int vip = vip_of(l, k);

	if (a->f->vip >= 0 && vip != a->f->vip)
		return 0;
	if (a->f->node_id >= 0 && v->node_id != (uint32_t)a->f->node_id)
		return 0;
	a->total++;
	if (a->total > a->limit)
		return 0;
	struct taddr src, dst;
	uint16_t sport, dport;
	char s[TADDR_STRLEN], d[TADDR_STRLEN];
	flowkey_split(k, &src, &sport, &dst, &dport);
	int ni = sched_node_by_id(l, v->node_id);
	const char *pn = proto_name(k->proto);
	json_array_append_new(a->arr, json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:s?, s:o, s:I, s:I, s:I}",
		"client", taddr_fmt(&src, s, sizeof(s)), "client_port", sport,
		"vip", taddr_fmt(&dst, d, sizeof(d)), "port", dport,
		"proto", pn ? pn : "?",
		"node", ni >= 0 ? l->nodes[ni].name : "?",
		"vip_name", vip >= 0 ? l->cfg.vips[vip].name : NULL,
		"flags", flags_json(v->flags),
		"packets", (json_int_t)v->packets, "bytes", (json_int_t)v->bytes,
		"age_ms", (json_int_t)(a->now_ns > v->last_seen_ns ?
				       (a->now_ns - v->last_seen_ns) / 1000000 : 0)));
	return 0;
}

json_t *flows_list(struct lbd *l, const struct flow_filter *f, long limit)
{
	struct list_arg a = { .f = f, .arr = json_array(), .limit = limit, .now_ns = loop_now_ns() };

	if (flows_walk(l, list_fn, &a) < 0) {
		json_decref(a.arr);
		return ctl_error("cannot read the flow table");
	}
	json_t *r = json_pack("{s:b, s:o, s:I, s:b}", "ok", 1, "flows", a.arr,
			      "total", (json_int_t)a.total, "truncated", a.total > limit);
	return r;
}

struct mig_arg {
	uint32_t from, to;
	long moved;
};

static int mig_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	struct mig_arg *m = arg;

	if (v->node_id != m->from)
		return 0;
	if (flows_migrate_one(l, k, m->to) == 1)
		m->moved++;
	return 0;
}

long flows_migrate_node(struct lbd *l, uint32_t from_id, uint32_t to_id)
{
	struct mig_arg m = { from_id, to_id, 0 };

	if (flows_walk(l, mig_fn, &m) < 0)
		return -1;
	return m.moved;
}

int flows_set_owner(struct lbd *l, const struct lb_flow_key *k, uint32_t node_id, int create)
{
	int rc = flows_migrate_one(l, k, node_id);

	if (rc != 0 || !create)
		return rc;
	struct lb_flow_val v = { .node_id = node_id, .flags = LB_FLOW_F_MIGRATED,
				 .last_seen_ns = loop_now_ns() };
	if (bpf_map_update_elem(l->dp.fd_flows, k, &v, BPF_NOEXIST) < 0)
		return errno == EEXIST ? flows_migrate_one(l, k, node_id) : -1;
	if (bpf_map_update_elem(l->dp.fd_repl_q, NULL, k, BPF_ANY) < 0)
		dp_count_lost(&l->dp);
	return 1;
}

int flows_migrate_one(struct lbd *l, const struct lb_flow_key *k, uint32_t to_id)
{
	int rc = dp_repoint(&l->dp, k, to_id, LB_FLOW_F_MIGRATED, LB_FLOW_F_SYNCED);

	if (rc <= 0)
		return rc;
	/* Tell tandem-syncd (if any) to replicate the new owner.  A full queue
	 * is not an error here: it moves the events_lost counter, which syncd
	 * answers with a resync. */
	if (bpf_map_update_elem(l->dp.fd_repl_q, NULL, k, BPF_ANY) < 0)
		dp_count_lost(&l->dp);
	return 1;
}

struct collect {
	uint32_t node_id;
	uint8_t proto;
	struct lb_flow_key *keys;
	size_t n, cap;
	int oom;
};

static int collect_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	struct collect *c = arg;

	if (v->node_id != c->node_id || k->proto != c->proto)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct lb_flow_key *nk = realloc(c->keys, cap * sizeof(*nk));
		if (!nk) {
			c->oom = 1;
			return 1;
		}
		c->keys = nk;
		c->cap = cap;
	}
	c->keys[c->n++] = *k;
	return 0;
}

long flows_of_node(struct lbd *l, uint32_t node_id, uint8_t proto, struct lb_flow_key **keys)
{
	struct collect c = { .node_id = node_id, .proto = proto };

	if (flows_walk(l, collect_fn, &c) < 0 || c.oom) {
		free(c.keys);
		*keys = NULL;
		return -1;
	}
	*keys = c.keys;
	return (long)c.n;
}
