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
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl.h"
#include "lib/log.h"

#define FLOW_BATCH 4096

int flows_walk_map(int fd, flow_fn fn, struct lbd *l, void *arg, struct flow_walk_pos *pos)
{
	struct lb_flow_key *keys = calloc(FLOW_BATCH, sizeof(*keys)), out;
	struct lb_flow_val *vals = calloc(FLOW_BATCH, sizeof(*vals));
	struct flow_walk_pos start = { .have_token = 0 }, *p = pos ? pos : &start;
	int rc = -1;

	p->more = 0;
	while (keys && vals) {
		__u32 count = FLOW_BATCH;
		int err = bpf_map_lookup_batch(fd, p->have_token ? &p->token : NULL, &out, keys,
					       vals, &count, NULL);
		if (err < 0 && errno != ENOENT) {
			log_warn("flow table walk");
			break;
		}
		rc = 0;
		for (__u32 i = p->skip; i < count; i++) {
			if (fn(l, &keys[i], &vals[i], arg)) {
				p->skip = i + 1;
				p->more = err == 0 || i + 1 < count;
				goto done;
			}
		}
		if (err < 0)		/* ENOENT: that was the last batch */
			break;
		p->token = out;
		p->have_token = 1;
		p->skip = 0;
		rc = -1;
	}
done:
	free(keys);
	free(vals);
	return rc;
}

/* Call fn for every flow; fn returns 0 to go on, 1 to stop.  Returns 0 / -1. */
static int flows_walk(struct lbd *l, flow_fn fn, void *arg)
{
	return flows_walk_map(l->dp.fd_flows, fn, l, arg, NULL);
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

/*
 * The flows command, one page at a time: a viewer must not make lbd build a
 * million rows in its loop.  A page holds at most `limit` rows
 * (CTL_FLOWS_PAGE_MAX) and looks at most FLOWS_SCAN_MAX entries; a reply
 * that did not reach the end of the table carries a cursor to resume from:
 * "<batch token in hex>.<entries to skip in that batch>" ("-" for the
 * table's start).  The batch token is the kernel's (a bucket position,
 * checked by the kernel), so a resumed walk is as good as one walk: not a
 * snapshot, the data plane keeps inserting and evicting meanwhile.
 */
#define FLOWS_SCAN_MAX (16 * FLOW_BATCH)

struct page {
	const struct flow_filter *f;
	json_t *arr;
	long limit, rows, matched, scanned;
	uint64_t now_ns;
	struct flow_walk_pos pos;	/* where the page starts, then where it ended */
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

static json_t *flow_row(struct lbd *l, const struct lb_flow_key *k, const struct lb_flow_val *v,
			int vip, uint64_t now_ns)
{
	struct taddr src, dst;
	uint16_t sport, dport;
	char s[TADDR_STRLEN], d[TADDR_STRLEN];
	int ni = sched_node_by_id(l, v->node_id);
	const char *pn = proto_name(k->proto);

	flowkey_split(k, &src, &sport, &dst, &dport);
	return json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:s?, s:o, s:I, s:I, s:I}",
		"client", taddr_fmt(&src, s, sizeof(s)), "client_port", sport,
		"vip", taddr_fmt(&dst, d, sizeof(d)), "port", dport,
		"proto", pn ? pn : "?",
		"node", ni >= 0 ? l->nodes[ni].name : "?",
		"vip_name", vip >= 0 ? l->cfg.vips[vip].name : NULL,
		"flags", flags_json(v->flags),
		"packets", (json_int_t)v->packets, "bytes", (json_int_t)v->bytes,
		"age_ms", (json_int_t)(now_ns > v->last_seen_ns ? (now_ns - v->last_seen_ns) / 1000000 : 0));
}

/* The filter's client (address, and port when given) is k's source. */
static int client_matches(const struct flow_filter *f, const struct lb_flow_key *k)
{
	struct taddr src, dst;
	uint16_t sport, dport;

	if (!f->client.family)
		return 1;
	flowkey_split(k, &src, &sport, &dst, &dport);
	return taddr_equal(&src, &f->client) && (f->client_port < 0 || sport == f->client_port);
}

/* One entry of the page's walk (a flow_fn); 1 when the page is full. */
static int page_entry(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v,
		      void *arg)
{
	struct page *p = arg;
	int vip = vip_of(l, k);

	p->scanned++;
	if ((p->f->vip >= 0 && vip != p->f->vip) ||
	    (p->f->node_id >= 0 && v->node_id != (uint32_t)p->f->node_id) ||
	    !client_matches(p->f, k))
		return p->scanned >= FLOWS_SCAN_MAX;
	p->matched++;
	if (p->rows < p->limit) {
		json_array_append_new(p->arr, flow_row(l, k, v, vip, p->now_ns));
		p->rows++;
	}
	return (p->limit && p->rows >= p->limit) || p->scanned >= FLOWS_SCAN_MAX;
}

/* "<hex token>.<skip>" or "-.<skip>" -> p's position.  0 / -1. */
static int cursor_parse(const char *c, struct flow_walk_pos *p)
{
	uint8_t *t = (uint8_t *)&p->token;
	const char *dot = strchr(c, '.');
	char *end;
	unsigned long skip;

	if (!dot)
		return -1;
	if (dot - c == 1 && c[0] == '-') {
		p->have_token = 0;
	} else if ((size_t)(dot - c) == 2 * sizeof(p->token)) {
		for (size_t i = 0; i < sizeof(p->token); i++)
			if (!isxdigit((unsigned char)c[2 * i]) || !isxdigit((unsigned char)c[2 * i + 1]) ||
			    sscanf(c + 2 * i, "%2hhx", &t[i]) != 1)
				return -1;
		p->have_token = 1;
	} else {
		return -1;
	}
	errno = 0;
	skip = strtoul(dot + 1, &end, 10);
	if (errno || *end || end == dot + 1 || skip > FLOW_BATCH)
		return -1;
	p->skip = (__u32)skip;
	return 0;
}

static json_t *cursor_json(const struct flow_walk_pos *p)
{
	char c[2 * sizeof(p->token) + 16];
	const uint8_t *t = (const uint8_t *)&p->token;
	size_t n = 0;

	if (!p->have_token)
		c[n++] = '-';
	for (size_t i = 0; p->have_token && i < sizeof(p->token); i++)
		n += (size_t)snprintf(c + n, sizeof(c) - n, "%02x", t[i]);
	snprintf(c + n, sizeof(c) - n, ".%u", p->skip);
	return json_string(c);
}

json_t *flows_page(struct lbd *l, const struct flow_filter *f, long limit, const char *cursor)
{
	struct page p = { .f = f, .arr = json_array(), .limit = limit, .now_ns = loop_now_ns() };

	if (cursor && cursor_parse(cursor, &p.pos) < 0) {
		json_decref(p.arr);
		return ctl_error("\"cursor\" is not one this daemon gave");
	}
	if (flows_walk_map(l->dp.fd_flows, page_entry, l, &p, &p.pos) < 0) {
		json_decref(p.arr);
		return ctl_error("cannot read the flow table");
	}
	json_t *r = json_pack("{s:b, s:o, s:I, s:I}", "ok", 1, "flows", p.arr,
			      "matched", (json_int_t)p.matched, "scanned", (json_int_t)p.scanned);
	if (p.pos.more)
		json_object_set_new(r, "cursor", cursor_json(&p.pos));
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

	/* then the pins: a pinned flow the table evicted still comes back on
	 * its pinned node (one the table holds was moved by the first walk) */
	if (flows_walk(l, mig_fn, &m) < 0 || flows_walk_map(l->dp.fd_pins, mig_fn, l, &m, NULL) < 0)
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
	pins_write(l, k, node_id, 0);
	if (bpf_map_update_elem(l->dp.fd_repl_q, NULL, k, BPF_ANY) < 0)
		dp_count_lost(&l->dp);
	return 1;
}

/*
 * Re-point k in the table (in place: lb_repoint) and pin it there (pins.c),
 * so an eviction cannot send the session back.  A flow the table evicted
 * but still pinned is re-pinned: the data plane restores it from the pin.
 */
int flows_migrate_one(struct lbd *l, const struct lb_flow_key *k, uint32_t to_id)
{
	int rc = dp_repoint(&l->dp, k, to_id, LB_FLOW_F_MIGRATED, LB_FLOW_F_SYNCED);
	struct lb_flow_val v;

	if (rc < 0)
		return rc;
	if (rc == 1 ? bpf_map_lookup_elem(l->dp.fd_flows, k, &v) < 0 : pins_get(l, k, &v) < 0)
		return rc == 1 ? 1 : 0;	/* gone meanwhile / no such flow at all */
	pins_write(l, k, to_id, v.flags);
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
	int pins;		/* walking the pins: only flows the table evicted */
	struct lb_flow_key *keys;
	size_t n, cap;
	int oom;
};

static int collect_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	struct collect *c = arg;
	struct lb_flow_val tv;

	if (v->node_id != c->node_id || k->proto != c->proto)
		return 0;
	if (c->pins && bpf_map_lookup_elem(l->dp.fd_flows, k, &tv) == 0)
		return 0;	/* listed by the table's walk (or moved since) */
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
	int rc = flows_walk(l, collect_fn, &c);

	c.pins = 1;
	if (rc == 0 && !c.oom)
		rc = flows_walk_map(l->dp.fd_pins, collect_fn, l, &c, NULL);
	if (rc < 0 || c.oom) {
		free(c.keys);
		*keys = NULL;
		return -1;
	}
	*keys = c.keys;
	return (long)c.n;
}
