/*
 * control.c - the handoff engine as the daemon drives it (handoff.h): the
 * control commands "handoff" and "handoff_all", the "handoff" object of
 * status, moves scheduled by a service (data location) and run from a
 * timer, the 500 ms tick (reconnecting channels, LOAD report, flow
 * drop expiry), and starting and stopping the engine.  The kinds of
 * connections it moves are listed here (ho_kinds).
 */
#include "handoff_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/ctl.h"
#include "lib/ctl_server.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/maglev.h"
#include "storage/http/http.h"
#include "storage/nfs/nfs.h"
#include "storage/listen.h"

/* The kinds of movable connections, in lookup order (HTTP first). */
const struct ho_conn_ops *const ho_kinds[] = { &session_handoff_ops, &nfs_handoff_ops, NULL };
#define NKINDS (sizeof(ho_kinds) / sizeof(ho_kinds[0]) - 1)

/* The connection the control command's selector names: the first kind
 * that finds one (an HTTP session by id or client endpoint, else an NFS
 * connection by client endpoint or as "nfs:ID").  0 / -1. */
static int find_conn(struct nasd *n, const json_t *sel, struct ho_conn *x)
{
	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++) {
		x->ops = *o;
		x->p = (*o)->find(n, sel);
		if (x->p)
			return 0;
	}
	return -1;
}

/* A single handoff's reply (otx_start's done): the deferred control reply. */
static void cmd_done(struct handoff *h, json_t *res, void *arg)
{
	(void)h;
	ctl_deferred_reply(arg, res);
}

json_t *handoff_cmd(struct nasd *n, const json_t *req)
{
	struct handoff *h = n->ho;

	if (!h)
		return ctl_error("handoff is not configured");
	const char *to = json_string_value(json_object_get(req, "to"));
	const json_t *sel = json_object_get(req, "session");
	if (!to || !sel)
		return ctl_error("usage: {\"cmd\":\"handoff\",\"session\":ID or \"client:port\",\"to\":\"NODE\"}");
	int pi = peer_index(h, to);
	if (pi < 0)
		return ctl_error("no peer \"%s\"", to);
	struct ho_conn x;
	if (find_conn(n, sel, &x) < 0)
		return ctl_error("no such session");
	/* "half": the connection finishes its reply here first (storage/http/half.c,
	 * storage/nfs/nfs_half.c); none in progress: an ordinary handoff */
	if (json_is_true(json_object_get(req, "half"))) {
		const char *peer = h->cfg->peers[pi].name;
		json_t *r = x.ops == &session_handoff_ops ? http_half_start(n, x.p, peer) :
			    x.ops == &nfs_handoff_ops ? nfs_half_start(n, x.p, peer) : NULL;
		if (r)
			return r;
	}
	/* the reply once the handoff has finished; the loop goes on meanwhile */
	struct ctl_deferred *d = ctl_server_defer(&n->ctl);
	if (!d)
		return ctl_error("out of memory");
	if (otx_start(h, &x, pi, HO_CAUSE_OPERATOR, cmd_done, d) < 0)
		ctl_deferred_reply(d, ctl_error("out of memory"));
	return NULL;
}

/* handoff_all: the handoffs started, their replies as they come in; the
 * command's reply once the last one is in. */
struct all_batch {
	struct ctl_deferred *d;
	json_t *results;
	unsigned left;			/* replies still owed (+1 while starting) */
	unsigned moved, failed, skipped;
	uint64_t t0;
};

static void all_reply(struct handoff *h, struct all_batch *b)
{
	json_t *r = ctl_ok();

	json_object_set_new(r, "moved", json_integer(b->moved));
	json_object_set_new(r, "failed", json_integer(b->failed));
	json_object_set_new(r, "skipped", json_integer(b->skipped));
	json_object_set_new(r, "remaining", json_integer(h->n->nsessions));
	json_object_set_new(r, "total_us", json_integer((json_int_t)((now_ns() - b->t0) / 1000)));
	json_object_set_new(r, "results", b->results);
	ctl_deferred_reply(b->d, r);
	free(b);
}

static void all_done(struct handoff *h, json_t *res, void *arg)
{
	struct all_batch *b = arg;

	if (json_is_true(json_object_get(res, "ok")))
		b->moved++;
	else
		b->failed++;
	json_array_append_new(b->results, res);
	if (!--b->left)
		all_reply(h, b);
}

/* Whether connection (ops, id) is one of the nx in keep[]. */
static int kept(const struct ho_conn *keep, size_t nx, const struct ho_conn_ops *ops, uint64_t id)
{
	for (size_t i = 0; i < nx; i++)
		if (keep[i].ops == ops && ops->id(keep[i].p) == id)
			return 1;
	return 0;
}

/* Start the handoffs of every movable connection but keep[nx], round-robin
 * over pis[np] (ids first: the lists change as connections leave). */
static void all_start(struct handoff *h, struct all_batch *b, const int *pis, int np,
		      const struct ho_conn *keep, size_t nx)
{
	struct nasd *n = h->n;
	uint64_t *ids[NKINDS] = { NULL };
	size_t cnt[NKINDS] = { 0 };
	unsigned rr = 0;

	for (size_t k = 0; k < NKINDS; k++)
		ids[k] = ho_kinds[k]->list(n, &cnt[k]);
	for (size_t k = 0; k < NKINDS; k++) {
		for (size_t j = 0; ids[k] && j < cnt[k]; j++) {
			struct ho_conn x = { ho_kinds[k], ho_kinds[k]->by_id(n, ids[k][j]) };
			/* a connection made to this node's own address (lbd's health
			 * check) cannot be rebuilt elsewhere: it would only be frozen
			 * and rolled back */
			if (!x.p || x.ops->unmovable(x.p) || kept(keep, nx, x.ops, ids[k][j]) ||
			    !handoff_fd_on_vip(x.ops->fd(x.p))) {
				b->skipped++;
				continue;
			}
			b->left++;
			if (otx_start(h, &x, pis[rr++ % (unsigned)np], HO_CAUSE_OPERATOR, all_done, b) < 0) {
				b->left--;
				b->failed++;
			}
		}
		free(ids[k]);
	}
}

json_t *handoff_all_cmd(struct nasd *n, const json_t *req)
{
	struct handoff *h = n->ho;
	int pis[NASD_MAX_PEERS], np = 0;
	size_t i;
	json_t *v, *to = json_object_get(req, "to"), *except = json_object_get(req, "except");
	struct ho_conn keep[16];
	size_t nx = 0;

	if (!h)
		return ctl_error("handoff is not configured");
	if (!json_is_array(to) || !json_array_size(to) || (except && (!json_is_array(except) ||
	    json_array_size(except) > sizeof(keep) / sizeof(keep[0]))))
		return ctl_error("usage: {\"cmd\":\"handoff_all\",\"to\":[\"NODE\",...]"
				 "[,\"except\":[ID or \"client:port\",... (<= 16)]]}");
	json_array_foreach(except, i, v)
		if (find_conn(n, v, &keep[nx]) == 0)
			nx++;	/* one that is not here stays here anyway */
	json_array_foreach(to, i, v) {
		int pi = json_is_string(v) ? peer_index(h, json_string_value(v)) : -1;
		if (pi < 0 || np == NASD_MAX_PEERS)
			return ctl_error("\"to\"[%zu]: not a peer", i);
		pis[np++] = pi;
	}
	struct all_batch *b = calloc(1, sizeof(*b));
	if (!b || !(b->results = json_array()) || !(b->d = ctl_server_defer(&n->ctl))) {
		if (b)
			json_decref(b->results);
		free(b);
		return ctl_error("out of memory");
	}
	b->t0 = now_ns();
	b->left = 1;	/* the starting itself: no reply before every handoff is started */
	all_start(h, b, pis, np, keep, nx);
	if (!--b->left)
		all_reply(h, b);
	return NULL;
}

int handoff_drop(struct handoff *h, const struct lb_flow_key *key, uint64_t until_ns)
{
	if (h->cfg->hold_kb)
		return flowdrop_hold(&h->drop, key, until_ns, h->cfg->hold_kb * 1024);
	return flowdrop_add(&h->drop, key, until_ns);
}

json_t *handoff_status(struct nasd *n)
{
	struct handoff *h = n->ho;
	uint64_t din = 0, dout = 0, dexp = 0;

	if (!h)
		return json_null();
	json_t *peers = json_object();
	for (unsigned i = 0; i < h->cfg->npeers; i++) {
		int in_up = 0;
		for (struct chan *c = h->in; c; c = c->next)
			if (c->peer == (int)i && c->state == CH_UP)
				in_up = 1;
		json_object_set_new(peers, h->cfg->peers[i].name, json_pack("{s:b, s:b}",
			"out", h->out[i] && h->out[i]->state == CH_UP, "in", in_up));
	}
	flowdrop_counters(&h->drop, &din, &dout, &dexp);
	json_t *r = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I}}",
		"out_ok", (json_int_t)h->out_ok, "out_failed", (json_int_t)h->out_failed,
		"out_unconfirmed", (json_int_t)h->out_unconfirmed, "rollbacks", (json_int_t)h->rollbacks,
		"in_ok", (json_int_t)h->in_ok, "in_failed", (json_int_t)h->in_failed,
		"in_kick_failed", (json_int_t)h->in_kick_failed,
		"reports", (json_int_t)h->reports, "report_retries", (json_int_t)h->report_retries,
		"report_failed", (json_int_t)h->report_failed,
		"switch_moves", (json_int_t)h->moves, "switch_moves_ok", (json_int_t)h->moves_ok,
		"channels_opened", (json_int_t)h->channels_opened,
		"frozen_last_us", (json_int_t)h->lat_last_us, "frozen_max_us", (json_int_t)h->lat_max_us,
		"frozen_avg_us", (json_int_t)(h->out_ok ? h->lat_sum_us / h->out_ok : 0),
		"peers", peers,
		"flowdrop", "dropped_in", (json_int_t)din, "dropped_out", (json_int_t)dout,
		"expired", (json_int_t)dexp);
	json_object_set_new(r, "load_reports", json_integer((json_int_t)h->loads_sent));
	json_object_set_new(r, "out_running", json_integer(h->otx_running));
	json_object_set_new(r, "out_queued", json_integer(h->otx_count - h->otx_running));
	uint64_t held = 0, overflow = 0, evicted = 0;
	flowdrop_hold_counters(&h->drop, &held, &overflow, &evicted);
	json_object_set_new(r, "hold", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"hold_kb", (json_int_t)h->cfg->hold_kb, "held", (json_int_t)held,
		"overflow", (json_int_t)overflow, "evicted", (json_int_t)evicted,
		"sent", (json_int_t)h->held_sent, "bad", (json_int_t)h->held_bad,
		"replayed", (json_int_t)h->raw.replayed, "replay_failed", (json_int_t)h->raw.replay_failed,
		"replay_unconfirmed", (json_int_t)h->raw.replay_unconfirmed));
	json_object_set_new(r, "frozen", lat_hist_json(&h->frozen));
	json_object_set_new(r, "last_in", json_pack("{s:s, s:I, s:I}", "from", h->last_in_from,
		"txid", (json_int_t)h->last_in_txid, "resumed_at_ns", (json_int_t)h->last_in_resumed_ns));
	const struct nasd_stats *st = &h->n->st;
	json_object_set_new(r, "nfs_home", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"ok", (json_int_t)st->nfs_home_ok, "failed", (json_int_t)st->nfs_home_failed,
		"retried", (json_int_t)st->nfs_home_retried, "gave_up", (json_int_t)st->nfs_home_gave_up,
		"busy", (json_int_t)st->nfs_home_busy, "not_vip", (json_int_t)st->nfs_home_not_vip,
		"pinned", (json_int_t)st->nfs_home_pinned, "draining", (json_int_t)st->nfs_home_draining));
	json_t *pol = policy_status(h);	/* draining, node_states, pins ... */
	json_object_update(r, pol);
	json_decref(pol);
	json_object_set_new(r, "half", prepare_status(h));
	json_object_set_new(r, "rejected", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"bad_mac", (json_int_t)h->rej_mac, "replayed", (json_int_t)h->rej_seq,
		"bad_frame", (json_int_t)h->rej_frame, "hello", (json_int_t)h->rej_hello,
		"not_peer", (json_int_t)h->rej_addr, "limit", (json_int_t)h->rej_limit,
		"no_handshake", (json_int_t)h->rej_deadline,
		"switch_bad", (json_int_t)h->rej_sw_bad, "switch_replayed", (json_int_t)h->rej_sw_replay,
		"switch_stale", (json_int_t)h->rej_sw_stale));
	json_object_set_new(r, "epoch", json_integer((json_int_t)h->epoch));
	json_object_set_new(r, "switch_epoch", json_integer((json_int_t)h->rep_peer_epoch));
	return r;
}

/* ------------------------------------------- service-requested handoffs -- */

/* Queue connection conn's move to peer pi for the timer; it is held until
 * then.  HO_SCHED_OK, HO_SCHED_FAILED (pi < 0: no peer; no timer; queue
 * full), or why policy.c does not allow it now (HO_CAUSE_DATA only: an
 * operator's move is not the node's own policy's to veto). */
static int schedule(struct handoff *h, const struct ho_conn_ops *ops, void *conn, int pi,
		    uint8_t cause)
{
	if (pi < 0 || !h->sched_timer_ok || h->nsched >= sizeof(h->sched) / sizeof(h->sched[0]))
		return HO_SCHED_FAILED;
	int why = cause == HO_CAUSE_DATA ? auto_check(h, ops, conn, pi) : HO_SCHED_OK;
	if (why != HO_SCHED_OK)
		return why;
	h->sched[h->nsched].id = ops->id(conn);
	h->sched[h->nsched].pi = pi;
	h->sched[h->nsched].ops = ops;
	h->sched[h->nsched].cause = cause;
	h->nsched++;
	ops->hold(conn);
	if (loop_timer_set(&h->sched_timer, 1, 0) < 0) {
		h->nsched--;
		ops->unhold(conn);
		return HO_SCHED_FAILED;
	}
	return HO_SCHED_OK;
}

int handoff_schedule(struct nasd *n, struct session *s, const char *to)
{
	struct handoff *h = n->ho;

	return h ? schedule(h, &session_handoff_ops, s, peer_index(h, to), HO_CAUSE_DATA) :
		   HO_SCHED_FAILED;
}

int handoff_schedule_op(struct nasd *n, struct session *s, const char *to)
{
	struct handoff *h = n->ho;

	return h ? schedule(h, &session_handoff_ops, s, peer_index(h, to), HO_CAUSE_OPERATOR) :
		   HO_SCHED_FAILED;
}

int handoff_schedule_nfs_op(struct nasd *n, struct nfs_conn *c, const char *to)
{
	struct handoff *h = n->ho;

	return h ? schedule(h, &nfs_handoff_ops, c, peer_index(h, to), HO_CAUSE_OPERATOR) :
		   HO_SCHED_FAILED;
}

int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *home)
{
	struct handoff *h = n->ho;
	int pi = -1;

	if (!h)
		return HO_SCHED_FAILED;
	for (unsigned i = 0; i < h->cfg->npeers && pi < 0; i++)
		if (taddr_equal(&h->cfg->peers[i].addr, home))
			pi = (int)i;
	return schedule(h, &nfs_handoff_ops, c, pi, HO_CAUSE_DATA);
}

/* A scheduled move has finished: the kind counts it, and gives a
 * connection that stayed here its I/O back. */
struct sched_end {
	const struct ho_conn_ops *ops;
	uint64_t id;
	uint8_t cause;
};

static void sched_done(struct handoff *h, json_t *res, void *arg)
{
	struct sched_end *e = arg;
	int moved = json_is_true(json_object_get(res, "ok"));
	void *p;

	json_decref(res);
	if (e->cause == HO_CAUSE_DATA)
		e->ops->move_end(h->n, e->id, moved);	/* the data-location rule's accounting */
	else if (!moved && (p = e->ops->by_id(h->n, e->id)) != NULL)
		e->ops->unhold(p);	/* an operator's move (half handoff) failed: it stays */
	free(e);
}

/* The handoffs start here, outside any session callback (one may free the
 * connection), and finish from the loop. */
static void sched_cb(struct loop *l, struct loop_timer *t)
{
	struct handoff *h = t->arg;
	unsigned n = h->nsched;

	(void)l;
	h->nsched = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct ho_conn_ops *ops = h->sched[i].ops;
		uint64_t id = h->sched[i].id;
		uint8_t cause = h->sched[i].cause;
		struct ho_conn x = { ops, ops->by_id(h->n, id) };
		struct sched_end *e;
		if (!x.p)
			continue;
		if (ops->move_begin)
			ops->move_begin(x.p);
		if (!(e = malloc(sizeof(*e)))) {
			if (cause == HO_CAUSE_DATA)
				ops->move_end(h->n, id, 0);
			else
				ops->unhold(x.p);
			continue;
		}
		e->ops = ops;
		e->id = id;
		e->cause = cause;
		if (otx_start(h, &x, h->sched[i].pi, cause, sched_done, e) < 0) {
			free(e);
			if (cause == HO_CAUSE_DATA)
				ops->move_end(h->n, id, 0);
			else if ((x.p = ops->by_id(h->n, id)) != NULL)
				ops->unhold(x.p);
		}
	}
}

/* --------------------------------------------------------------- setup -- */

static void tick_cb(struct loop *l, struct loop_timer *t)
{
	struct handoff *h = t->arg;

	report_load(h);
	chan_expire(h);
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (h->out[i] && h->out[i]->broken)
			chan_close(h->out[i], "send failed");
	flowdrop_gc(&h->drop, now_ns());
	prepare_gc(h);
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (!h->out[i])
			chan_connect(h, (int)i);
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Exclusivity flag on"))	/* clsact already there */
		return 0;
	return fputs(msg, stderr);
}

/* Node name's keys from cfg's key file into ks: the node key and a pair key
 * for every configured peer.  0, or -1 with a message. */
static int load_keys(const struct nasd_handoff_config *cfg, const char *name, struct hokey_set *ks,
		     char *err, size_t errlen)
{
	uint8_t k[HOKEY_LEN];

	if (hokey_load(cfg->key_file, name, ks, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->npeers; i++)
		if (hokey_peer(ks, cfg->peers[i].name, k) < 0)
			return err_set(err, errlen, "%s: no key for peer \"%s\" (make the file again with "
				       "`tandemctl handoff-key` naming every peer)", cfg->key_file,
				       cfg->peers[i].name);
	return 0;
}

#define MASTER_WARNING "holds the switch's master key: this node could impersonate the " \
	"switch and every other node; give it its own key file (`tandemctl handoff-key`)"

int handoff_check(const struct nasd_config *cfg, FILE *out, char *err, size_t errlen)
{
	struct hokey_set *ks;

	if (!cfg->ho.enabled)
		return 0;
	if (!(ks = malloc(sizeof(*ks))))
		return err_set(err, errlen, "out of memory");
	int rc = load_keys(&cfg->ho, cfg->node_name, ks, err, errlen);
	if (rc == 0)
		fprintf(out, "handoff: key file %s: %s\n", cfg->ho.key_file, ks->from_master ?
			"WARNING: " MASTER_WARNING : "this node's own keys (the switch link and one per peer)");
	if (rc == 0 && cfg->ho.pin_hold_s)
		fprintf(out, "handoff: a session an operator moves here stays %u s against the "
			"data-location rules (pin_hold_s)\n", cfg->ho.pin_hold_s);
	else if (rc == 0)
		fprintf(out, "handoff: no pin after an operator's move (pin_hold_s 0): the data-location "
			"rules may move such a session at once\n");
	free(ks);
	return rc;
}

/* The keys, the flow drop, the snapshot buffer.  0 / -1 (logged). */
static int open_engine(struct handoff *h)
{
	const struct nasd_handoff_config *cfg = h->cfg;
	char err[300];

	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++)
		if ((*o)->blob_max > h->blob_cap)
			h->blob_cap = (*o)->blob_max;
	h->blob = malloc(h->blob_cap);
	if (!h->blob) {
		log_warnx("handoff: out of memory");
		return -1;
	}
	h->keys = malloc(sizeof(*h->keys));
	if (!h->keys || load_keys(cfg, h->n->cfg.node_name, h->keys, err, sizeof(err)) < 0) {
		log_warnx("handoff: %s", h->keys ? err : "out of memory");
		return -1;
	}
	if (h->keys->from_master)
		log_warnx("handoff: key file %s " MASTER_WARNING, cfg->key_file);
	memcpy(h->node_key.k, h->keys->node, HOKEY_LEN);
	h->node_key.len = HOKEY_LEN;
	for (unsigned i = 0; i < cfg->npeers; i++) {
		hokey_peer(h->keys, cfg->peers[i].name, h->pair[i].k);
		h->pair[i].len = HOKEY_LEN;
	}
	h->epoch = ho_new_epoch(0);
	libbpf_set_print(quiet_libbpf);
	if (flowdrop_open(&h->drop, cfg->interface,
			  cfg->egress_interface[0] ? cfg->egress_interface : NULL,
			  cfg->bpf_object[0] ? cfg->bpf_object : NULL,
			  cfg->pin_dir[0] ? cfg->pin_dir : NULL, (size_t)cfg->hold_total_kb * 1024,
			  err, sizeof(err)) < 0) {
		log_warnx("handoff: flow drop: %s", err);
		return -1;
	}
	h->drop_open = 1;
	return 0;
}

/* The channel listener, the report socket, and the switch's MOVEs on our
 * storage address at the report port.  0 / -1 (logged). */
static int open_sockets(struct handoff *h)
{
	const struct nasd_handoff_config *cfg = h->cfg;
	struct loop *l = &h->n->loop;

	h->lis.fd = tcp_listen(&cfg->listen_addr, cfg->listen_port, 16);
	if (h->lis.fd < 0) {
		log_warn("handoff: channel listener");
		return -1;
	}
	h->lis.cb = chan_accept;
	h->lis.arg = h;
	if (loop_add(l, &h->lis, EPOLLIN) < 0)
		return -1;
	struct sockaddr_storage rs;
	taddr_sockaddr(&cfg->switch_addr, 0, &rs);
	h->rep_fd = socket(rs.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->rep_fd < 0) {
		log_warn("handoff: report socket");
		return -1;
	}
	h->rep.fd = h->rep_fd;
	h->rep.cb = rep_readable;
	h->rep.arg = h;
	if (loop_add(l, &h->rep, EPOLLIN) < 0)
		return -1;
	h->mv.fd = udp_bind(&cfg->listen_addr, cfg->switch_port);
	if (h->mv.fd < 0) {
		log_warn("handoff: switch request socket (udp port %u)", cfg->switch_port);
		return -1;
	}
	h->mv.cb = move_readable;
	h->mv.arg = h;
	return loop_add(l, &h->mv, EPOLLIN);
}

/* What a failed handoff_open had opened. */
static void open_undo(struct handoff *h)
{
	struct loop *l = &h->n->loop;

	if (h->lis.fd >= 0) {
		loop_del(l, &h->lis);
		close(h->lis.fd);
	}
	if (h->rep_fd >= 0) {
		loop_del(l, &h->rep);
		close(h->rep_fd);
	}
	if (h->mv.fd >= 0) {
		loop_del(l, &h->mv);
		close(h->mv.fd);
	}
	if (h->drop_open)
		flowdrop_close(&h->drop);
	tch_raw_close(&h->raw);
	free(h->blob);
	free(h->keys);
	free(h);
}

int handoff_open(struct nasd *n)
{
	const struct nasd_handoff_config *cfg = &n->cfg.ho;
	struct handoff *h;

	if (!cfg->enabled)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h->n = n;
	h->cfg = cfg;
	h->lis.fd = -1;
	h->rep_fd = -1;
	h->mv.fd = -1;
	tch_raw_init(&h->raw);
	h->my_key = maglev_node_key32(n->cfg.node_name);
	if (open_engine(h) < 0 || open_sockets(h) < 0 ||
	    loop_timer_init(&n->loop, &h->tick, tick_cb, h) < 0 || loop_timer_set(&h->tick, 1, 500) < 0 ||
	    loop_timer_init(&n->loop, &h->sched_timer, sched_cb, h) < 0) {
		open_undo(h);
		return -1;
	}
	h->sched_timer_ok = 1;
	n->ho = h;
	log_info("handoff: node %s (key 0x%08x), channels on port %u, %u peer(s), switch report port %u, flow drop on %s",
		 n->cfg.node_name, h->my_key, cfg->listen_port, cfg->npeers, cfg->switch_port,
		 cfg->interface);
	return 0;
}

void handoff_close(struct nasd *n)
{
	struct handoff *h = n->ho;

	if (!h)
		return;
	otx_abort_all(h);
	while (h->txs)
		intx_free(h, h->txs);
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (h->out[i])
			chan_close(h->out[i], NULL);
	while (h->in)
		chan_close(h->in, NULL);
	loop_timer_close(&n->loop, &h->tick);
	if (h->sched_timer_ok)
		loop_timer_close(&n->loop, &h->sched_timer);
	loop_del(&n->loop, &h->lis);
	close(h->lis.fd);
	loop_del(&n->loop, &h->rep);
	close(h->rep_fd);
	loop_del(&n->loop, &h->mv);
	close(h->mv.fd);
	flowdrop_close(&h->drop);
	tch_raw_close(&h->raw);
	free(h->blob);
	free(h->keys);
	free(h);
	n->ho = NULL;
}

uint64_t handoff_epoch(const struct nasd *n)
{
	return n->ho ? n->ho->epoch : 0;
}
