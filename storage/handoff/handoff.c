/*
 * handoff.c - the session handoff engine's parts not yet in their own
 * file (handoff_int.h lists the parts and draws the protocol).
 */
#include "handoff_int.h"
#include "storage/nfs/nfs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/cluster_wire.h"
#include "lib/ctl.h"
#include "lib/netio.h"
#include "storage/listen.h"
#include "storage/tch/flowdrop.h"
#include "lib/handoff_wire.h"
#include "lib/keyfile.h"
#include "lib/log.h"
#include "lib/maglev.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_state.h"
#include "lib/err.h"

static void sa_taddr(const struct sockaddr_storage *ss, struct taddr *a, uint16_t *port)
{
	if (taddr_from_sockaddr(ss, a, port) < 0)
		*port = 0;
}

static const char *ep_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct taddr a;
	uint16_t port;
	char t[TADDR_STRLEN];

	sa_taddr(ss, &a, &port);
	snprintf(buf, len, a.family == 6 ? "[%s]:%u" : "%s:%u", taddr_fmt(&a, t, sizeof(t)), port);
	return buf;
}





/* ------------------------------------------------- the connection moved -- */

/* The kinds, in lookup order (HTTP first). */
const struct ho_conn_ops *const ho_kinds[] = { &session_handoff_ops, &nfs_handoff_ops, NULL };
#define NKINDS (sizeof(ho_kinds) / sizeof(ho_kinds[0]) - 1)

const char *handoff_endpoint(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	return ep_fmt(ss, buf, len);
}

int handoff_flow_of(int fd, struct lb_flow_key *k, char *client, size_t clen)
{
	struct sockaddr_storage pa, la;
	socklen_t pl = sizeof(pa), ll = sizeof(la);
	struct taddr p, l;
	uint16_t pp, lp;

	if (getpeername(fd, (struct sockaddr *)&pa, &pl) < 0 || getsockname(fd, (struct sockaddr *)&la, &ll) < 0 ||
	    taddr_from_sockaddr(&pa, &p, &pp) < 0 || taddr_from_sockaddr(&la, &l, &lp) < 0)
		return -1;
	flowkey_make(k, &p, pp, &l, lp, IPPROTO_TCP);
	if (client)
		ep_fmt(&pa, client, clen);
	return 0;
}

/* Its 5-tuple as the data plane keys it, and the client endpoint as text. */
static int conn_key(const struct ho_conn *x, struct lb_flow_key *k, char *client, size_t clen)
{
	return handoff_flow_of(x->ops->fd(x->p), k, client, clen);
}







/* ------------------------------------------------------- old node (O) -- */

struct ho_result {
	const char *outcome;		/* "done", "failed", "committed" (no DONE) */
	const char *stage;
	char error[300];
	int rolled_back, repointed_back;
	int busy;			/* it could not pause now (EBUSY): try later */
	uint64_t t_open, t_freeze, t_complete, t_switch, t_close, t_done, t_total;	/* us */
	uint64_t frozen_at_ns;		/* CLOCK_MONOTONIC when the session stopped here */
	uint32_t txid;
	size_t state_bytes, app_bytes;
};

/* Roll back a frozen session: it stays here. */
static void rollback(struct handoff *h, struct ho_conn *x, const struct lb_flow_key *key,
		     int maybe_repointed, uint32_t txid, struct ho_result *res)
{
	char err[256] = "";

	if (maybe_repointed) {
		if (report_redirect(h, HO_OP_RECLAIM, key, h->n->cfg.node_name, txid, err, sizeof(err)) < 0)
			log_warnx("handoff tx %u rollback: re-point to %s: %s", txid, h->n->cfg.node_name, err);
		else
			res->repointed_back = 1;
	}
	flowdrop_del(&h->drop, key);
	if (tch_thaw(x->ops->fd(x->p), err, sizeof(err)) < 0)
		log_warnx("handoff tx %u rollback: %s", txid, err);
	x->ops->resume(x->p);
	res->rolled_back = 1;
	h->rollbacks++;
}

static int reason_of(const uint8_t *body, size_t blen, uint16_t *code, char *text, size_t tl)
{
	uint8_t *r = NULL;
	size_t rl = 0;

	*code = 0;
	snprintf(text, tl, "no reason given");
	if (ho_collect(body, blen, HO_R_REASON, 1024, &r, &rl) < 0 || !r)
		return -1;
	ho_decode_reason(r, (uint16_t)rl, code, text, tl);
	free(r);
	return 0;
}

static void handoff_one(struct handoff *h, struct ho_conn *x, int pi, struct ho_result *res)
{
	const char *to = h->cfg->peers[pi].name;
	struct chan *c = h->out[pi];
	struct lb_flow_key key;
	uint8_t type, *body = NULL;
	size_t blen;
	uint64_t t0 = now_ns(), t1, t_frozen;
	uint32_t txid;
	int r, tmo = (int)h->cfg->timeout_ms;
	uint16_t code;
	char why[256];

	memset(res, 0, sizeof(*res));
	res->outcome = "failed";
	if (!c || c->state != CH_UP) {
		res->stage = "channel";
		snprintf(res->error, sizeof(res->error), "no channel to %s (down)", to);
		goto failed;
	}
	const char *busy = x->ops->unmovable(x->p);
	if (busy) {
		res->stage = "session";
		snprintf(res->error, sizeof(res->error), "session %s", busy);
		goto failed;
	}
	if (conn_key(x, &key, NULL, 0) < 0) {
		res->stage = "session";
		snprintf(res->error, sizeof(res->error), "socket: %s", strerror(errno));
		goto failed;
	}
	txid = ++h->next_txid ? h->next_txid : ++h->next_txid;
	res->txid = txid;

	/* OPEN: can you take it? */
	struct ho_frame f;
	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_OPEN, txid);
	ho_add_flow(&f, &key);
	ho_add(&f, HO_R_SERVICE, x->ops->service, strlen(x->ops->service));
	ho_add_u64(&f, HO_R_SIZE, 0);
	res->stage = "open";
	if (chan_send(c, &f) < 0) {
		chan_close(c, "send failed");
		snprintf(res->error, sizeof(res->error), "OPEN not sent to %s", to);
		goto failed;
	}
	r = chan_wait(c, txid, tmo, &type, &body, &blen);
	res->t_open = us_since(t0);
	if (r <= 0 || type != HO_T_OPEN_RESP) {
		if (r > 0 && type == HO_T_FAIL) {
			reason_of(body, blen, &code, why, sizeof(why));
			snprintf(res->error, sizeof(res->error), "%s refused: %s", to, why);
		} else {
			snprintf(res->error, sizeof(res->error), "%s: %s", to,
				 r == 0 ? "no OPEN_RESP in time" : r < 0 ? "channel lost" : "unexpected answer");
			if (r >= 0)
				send_fail(c, txid, RC_REFUSED, "giving up");
		}
		goto failed;
	}
	free(body);
	body = NULL;

	/* freeze */
	res->stage = "freeze";
	t1 = now_ns();
	if (x->ops->pause(x->p) < 0) {
		res->busy = errno == EBUSY;
		snprintf(res->error, sizeof(res->error), "pause: %s", strerror(errno));
		send_fail(c, txid, RC_REFUSED, "cancelled");
		goto failed;
	}
	if (flowdrop_add(&h->drop, &key, now_ns() + (uint64_t)h->cfg->guard_ms * 1000000) < 0) {
		snprintf(res->error, sizeof(res->error), "flow drop: %s", strerror(errno));
		x->ops->resume(x->p);
		send_fail(c, txid, RC_REFUSED, "cancelled");
		goto failed;
	}
	struct tch_state st;
	char err[256];
	if (tch_freeze(x->ops->fd(x->p), &st, err, sizeof(err)) < 0) {
		snprintf(res->error, sizeof(res->error), "%s", err);
		flowdrop_del(&h->drop, &key);
		x->ops->resume(x->p);
		send_fail(c, txid, RC_REFUSED, "cancelled");
		goto failed;
	}
	t_frozen = now_ns();
	res->frozen_at_ns = t1;
	/* Re-point the switch now: its round trip (and, on a pair, the peer's
	 * map update) overlaps the snapshot, the UPDATE and N's restore.  N
	 * drops the flow's packets from its OPEN_RESP on, so nothing reaches
	 * a node without a socket; from here on a rollback must RECLAIM. */
	struct rep_pending rep;
	if (rep_send(h, &rep, HO_OP_REDIRECT, &key, to, txid, err, sizeof(err)) < 0) {
		snprintf(res->error, sizeof(res->error), "%s", err);
		tch_state_free(&st);
		send_fail(c, txid, RC_REFUSED, "cancelled");
		rollback(h, x, &key, 0, txid, res);
		goto failed;
	}
	ssize_t bl = x->ops->snapshot(x->p, h->blob, h->blob_cap);
	uint8_t *enc = NULL;
	size_t elen = 0;
	if (bl < 0 || tch_state_set_app(&st, h->blob, (size_t)bl) < 0) {
		snprintf(res->error, sizeof(res->error), "snapshot: %s", strerror(errno));
		goto rb_local;
	}
	size_t cap = tch_state_encoded_len(&st);
	enc = malloc(cap);
	if (!enc || tch_state_encode(&st, enc, cap, &elen, why, sizeof(why)) != TCH_OK) {
		snprintf(res->error, sizeof(res->error), "encode: %s", enc ? why : "out of memory");
		goto rb_local;
	}
	res->state_bytes = elen;
	res->app_bytes = (size_t)bl;
	res->t_freeze = us_since(t1);

	/* UPDATE -> COMPLETE, and the switch's ACK */
	res->stage = "update";
	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_UPDATE, txid);
	ho_add(&f, HO_R_TCP_STATE, enc, elen);
	free(enc);
	enc = NULL;
	t1 = now_ns();
	if (chan_send(c, &f) < 0) {
		chan_close(c, "send failed");
		snprintf(res->error, sizeof(res->error), "UPDATE not sent to %s", to);
		tch_state_free(&st);
		rollback(h, x, &key, 1, txid, res);
		goto failed;
	}
	r = chan_wait(c, txid, tmo, &type, &body, &blen);
	res->t_complete = us_since(t1);
	if (r <= 0 || type != HO_T_COMPLETE) {
		if (r > 0 && type == HO_T_FAIL) {
			reason_of(body, blen, &code, why, sizeof(why));
			snprintf(res->error, sizeof(res->error), "%s refused the session: %s", to, why);
		} else {
			snprintf(res->error, sizeof(res->error), "%s: %s", to,
				 r == 0 ? "no COMPLETE in time" : r < 0 ? "channel lost" : "unexpected answer");
			if (r >= 0)
				send_fail(c, txid, RC_REFUSED, "giving up");
		}
		tch_state_free(&st);
		rollback(h, x, &key, 1, txid, res);
		goto failed;
	}
	free(body);
	body = NULL;
	tch_state_free(&st);
	res->stage = "switch";
	if (rep_wait(h, &rep, err, sizeof(err)) < 0) {
		snprintf(res->error, sizeof(res->error), "%s", err);
		send_fail(c, txid, RC_REFUSED, "the switch did not re-point");
		rollback(h, x, &key, 1, txid, res);
		goto failed;
	}
	res->t_switch = us_since(t1);

	/* commit: close silently, grace drop, ACK */
	res->stage = "close";
	t1 = now_ns();
	int fd = x->ops->release(x->p);
	x->p = NULL;
	if (tch_close_silently(fd, err, sizeof(err)) < 0)
		log_warnx("handoff tx %u: %s (socket kept open)", txid, err);
	flowdrop_add(&h->drop, &key, now_ns() + (uint64_t)h->cfg->grace_ms * 1000000);
	res->t_close = us_since(t1);
	res->stage = "done";
	t1 = now_ns();
	if (send_simple(c, HO_T_ACK, txid) < 0) {
		chan_close(c, "send failed");
		r = -1;
	} else {
		r = chan_wait(c, txid, tmo, &type, &body, &blen);
	}
	res->t_done = us_since(t1);
	res->t_total = us_since(t0);
	if (r > 0 && type == HO_T_DONE) {
		res->outcome = "done";
		h->out_ok++;
		uint64_t fr = (now_ns() - t_frozen) / 1000;
		h->lat_last_us = fr;
		h->lat_sum_us += fr;
		if (fr > h->lat_max_us)
			h->lat_max_us = fr;
	} else {
		res->outcome = "committed";
		if (r > 0 && type == HO_T_FAIL)
			reason_of(body, blen, &code, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", r == 0 ? "no DONE in time" : "channel lost");
		snprintf(res->error, sizeof(res->error), "%s after the commit: %s", to, why);
		h->out_unconfirmed++;
	}
	free(body);
	return;

rb_local:
	free(enc);
	tch_state_free(&st);
	send_fail(c, txid, RC_REFUSED, "cancelled");
	rollback(h, x, &key, 1, txid, res);	/* the REDIRECT is out */
failed:
	free(body);
	res->t_total = us_since(t0);
	h->out_failed++;
}

static json_t *result_json(const struct ho_result *r, uint64_t id, const char *client, const char *to,
			   const char *from)
{
	json_t *o = json_pack("{s:b, s:s, s:I, s:s, s:s, s:s}", "ok", !strcmp(r->outcome, "done"),
			      "outcome", r->outcome, "session", (json_int_t)id, "client", client,
			      "from", from, "to", to);
	if (strcmp(r->outcome, "done")) {
		json_object_set_new(o, "stage", json_string(r->stage ? r->stage : "?"));
		json_object_set_new(o, "error", json_string(r->error));
		json_object_set_new(o, "rolled_back", json_boolean(r->rolled_back));
		json_object_set_new(o, "repointed_back", json_boolean(r->repointed_back));
		if (r->busy)
			json_object_set_new(o, "busy", json_true());
	}
	json_object_set_new(o, "state_bytes", json_integer((json_int_t)r->state_bytes));
	json_object_set_new(o, "app_bytes", json_integer((json_int_t)r->app_bytes));
	json_object_set_new(o, "timings_us", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"open", (json_int_t)r->t_open, "freeze", (json_int_t)r->t_freeze,
		"update_to_complete", (json_int_t)r->t_complete,
		"update_to_switch_ack", (json_int_t)r->t_switch, "close", (json_int_t)r->t_close,
		"ack_to_done", (json_int_t)r->t_done, "total", (json_int_t)r->t_total));
	/* for a freeze->resume figure on one host (the lab): the new node's
	 * status has the CLOCK_MONOTONIC time of its last resume per txid */
	json_object_set_new(o, "txid", json_integer(r->txid));
	json_object_set_new(o, "frozen_at_ns", json_integer((json_int_t)r->frozen_at_ns));
	return o;
}

json_t *run_one(struct handoff *h, struct ho_conn *x, int pi)
{
	struct ho_result res;
	char client[TADDR_STRLEN + 10] = "?";
	struct lb_flow_key k;
	uint64_t id = x->ops->id(x->p);
	const char *svc = x->ops->service;

	conn_key(x, &k, client, sizeof(client));
	handoff_one(h, x, pi, &res);
	if (!strcmp(res.outcome, "failed"))
		log_warnx("handoff %s %llu (%s) -> %s failed at %s: %s%s", svc, (unsigned long long)id,
			  client, h->cfg->peers[pi].name, res.stage, res.error,
			  res.rolled_back ? " (rolled back: it stays here)" : "");
	else
		log_info("handoff %s %llu (%s) -> %s: %s, total %llu us", svc, (unsigned long long)id,
			 client, h->cfg->peers[pi].name, res.outcome, (unsigned long long)res.t_total);
	json_t *r = result_json(&res, id, client, h->cfg->peers[pi].name, h->n->cfg.node_name);
	json_object_set_new(r, "service", json_string(svc));
	return r;
}

/* ------------------------------------------------------------- control -- */

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
	return run_one(h, &x, pi);
}

json_t *handoff_all_cmd(struct nasd *n, const json_t *req)
{
	struct handoff *h = n->ho;
	int pis[NASD_MAX_PEERS], np = 0;
	size_t i;
	json_t *v, *to = json_object_get(req, "to");

	if (!h)
		return ctl_error("handoff is not configured");
	if (!json_is_array(to) || !json_array_size(to))
		return ctl_error("usage: {\"cmd\":\"handoff_all\",\"to\":[\"NODE\",...]}");
	json_array_foreach(to, i, v) {
		int pi = json_is_string(v) ? peer_index(h, json_string_value(v)) : -1;
		if (pi < 0 || np == NASD_MAX_PEERS)
			return ctl_error("\"to\"[%zu]: not a peer", i);
		pis[np++] = pi;
	}
	/* ids first: the lists change as connections leave */
	uint64_t *ids[NKINDS] = { NULL };
	size_t cnt[NKINDS] = { 0 };
	int oom = 0;
	for (size_t k = 0; k < NKINDS; k++)
		oom |= !(ids[k] = ho_kinds[k]->list(n, &cnt[k]));
	if (oom) {
		for (size_t k = 0; k < NKINDS; k++)
			free(ids[k]);
		return ctl_error("out of memory");
	}
	json_t *arr = json_array();
	unsigned moved = 0, failed = 0, skipped = 0, rr = 0;
	uint64_t t0 = now_ns();
	for (size_t k = 0; k < NKINDS; k++) {
		for (size_t j = 0; j < cnt[k]; j++) {
			struct ho_conn x = { ho_kinds[k], ho_kinds[k]->by_id(n, ids[k][j]) };
			if (!x.p || x.ops->unmovable(x.p)) {
				skipped++;
				continue;
			}
			json_t *r = run_one(h, &x, pis[rr++ % (unsigned)np]);
			if (json_is_true(json_object_get(r, "ok")))
				moved++;
			else
				failed++;
			json_array_append_new(arr, r);
		}
		free(ids[k]);
	}
	json_t *r = ctl_ok();
	json_object_set_new(r, "moved", json_integer(moved));
	json_object_set_new(r, "failed", json_integer(failed));
	json_object_set_new(r, "skipped", json_integer(skipped));
	json_object_set_new(r, "remaining", json_integer(n->nsessions));
	json_object_set_new(r, "total_us", json_integer((json_int_t)((now_ns() - t0) / 1000)));
	json_object_set_new(r, "results", arr);
	return r;
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
	json_t *r = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I}}",
		"out_ok", (json_int_t)h->out_ok, "out_failed", (json_int_t)h->out_failed,
		"out_unconfirmed", (json_int_t)h->out_unconfirmed, "rollbacks", (json_int_t)h->rollbacks,
		"in_ok", (json_int_t)h->in_ok, "in_failed", (json_int_t)h->in_failed,
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
	json_object_set_new(r, "last_in", json_pack("{s:s, s:I, s:I}", "from", h->last_in_from,
		"txid", (json_int_t)h->last_in_txid, "resumed_at_ns", (json_int_t)h->last_in_resumed_ns));
	json_object_set_new(r, "nfs_home", json_pack("{s:I, s:I}", "ok", (json_int_t)h->n->st.nfs_home_ok,
		"failed", (json_int_t)h->n->st.nfs_home_failed));
	json_object_set_new(r, "rejected", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		"bad_mac", (json_int_t)h->rej_mac, "replayed", (json_int_t)h->rej_seq,
		"bad_frame", (json_int_t)h->rej_frame, "hello", (json_int_t)h->rej_hello,
		"switch_bad", (json_int_t)h->rej_sw_bad, "switch_replayed", (json_int_t)h->rej_sw_replay));
	return r;
}

/* ------------------------------------------- service-requested handoffs -- */

/* Queue connection conn's move to peer pi for the timer; it is held until
 * then.  0 / -1 (pi < 0: no peer; no timer; queue full). */
static int schedule(struct handoff *h, const struct ho_conn_ops *ops, void *conn, int pi)
{
	if (pi < 0 || !h->sched_timer_ok || h->nsched >= sizeof(h->sched) / sizeof(h->sched[0]))
		return -1;
	h->sched[h->nsched].id = ops->id(conn);
	h->sched[h->nsched].pi = pi;
	h->sched[h->nsched].ops = ops;
	h->nsched++;
	ops->hold(conn);
	if (loop_timer_set(&h->sched_timer, 1, 0) < 0) {
		h->nsched--;
		ops->unhold(conn);
		return -1;
	}
	return 0;
}

int handoff_schedule(struct nasd *n, struct session *s, const char *to)
{
	struct handoff *h = n->ho;

	return schedule(h, &session_handoff_ops, s, h ? peer_index(h, to) : -1);
}

int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *home)
{
	struct handoff *h = n->ho;
	int pi = -1;

	for (unsigned i = 0; h && i < h->cfg->npeers && pi < 0; i++)
		if (taddr_equal(&h->cfg->peers[i].addr, home))
			pi = (int)i;
	return schedule(h, &nfs_handoff_ops, c, pi);
}

/* The handoff runs here, outside any session callback (it may free the
 * connection).  One that stays (the handoff failed) gets its I/O back. */
static void sched_cb(struct loop *l, struct loop_timer *t)
{
	struct handoff *h = t->arg;
	unsigned n = h->nsched;

	(void)l;
	h->nsched = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct ho_conn_ops *ops = h->sched[i].ops;
		uint64_t id = h->sched[i].id;
		struct ho_conn x = { ops, ops->by_id(h->n, id) };
		if (!x.p)
			continue;
		if (ops->move_begin)
			ops->move_begin(x.p);
		json_t *res = run_one(h, &x, h->sched[i].pi);
		int moved = json_is_true(json_object_get(res, "ok"));
		json_decref(res);
		ops->move_end(h->n, id, moved);
	}
}

/* --------------------------------------------------------------- setup -- */

static void tick_cb(struct loop *l, struct loop_timer *t)
{
	struct handoff *h = t->arg;

	report_load(h);
	flowdrop_gc(&h->drop, now_ns());
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

int handoff_open(struct nasd *n)
{
	const struct nasd_handoff_config *cfg = &n->cfg.ho;
	struct handoff *h;
	char err[300];
	uint8_t key[KEYFILE_MAX];
	size_t klen;

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
	h->my_key = maglev_node_key32(n->cfg.node_name);
	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++)
		if ((*o)->blob_max > h->blob_cap)
			h->blob_cap = (*o)->blob_max;
	h->blob = malloc(h->blob_cap);
	if (!h->blob) {
		log_warnx("handoff: out of memory");
		goto fail;
	}
	if (keyfile_load(cfg->key_file, key, &klen, err, sizeof(err)) < 0) {
		log_warnx("handoff: %s", err);
		goto fail;
	}
	memcpy(h->shared.k, key, klen);
	h->shared.len = klen;
	libbpf_set_print(quiet_libbpf);
	if (flowdrop_open(&h->drop, cfg->interface,
			  cfg->egress_interface[0] ? cfg->egress_interface : NULL,
			  cfg->bpf_object[0] ? cfg->bpf_object : NULL,
			  cfg->pin_dir[0] ? cfg->pin_dir : NULL, err, sizeof(err)) < 0) {
		log_warnx("handoff: flow drop: %s", err);
		goto fail;
	}
	h->drop_open = 1;
	h->lis.fd = tcp_listen(&cfg->listen_addr, cfg->listen_port, 16);
	if (h->lis.fd < 0) {
		log_warn("handoff: channel listener");
		goto fail;
	}
	h->lis.cb = chan_accept;
	h->lis.arg = h;
	if (loop_add(&n->loop, &h->lis, EPOLLIN) < 0)
		goto fail;
	struct sockaddr_storage rs;
	taddr_sockaddr(&cfg->switch_addr, 0, &rs);
	h->rep_fd = socket(rs.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->rep_fd < 0) {
		log_warn("handoff: report socket");
		goto fail;
	}
	/* the switch's MOVEs: on our storage address, the report port */
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&cfg->listen_addr, cfg->switch_port, &ss);
	int one = 1;
	h->mv.fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->mv.fd < 0 ||
	    setsockopt(h->mv.fd, SOL_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(h->mv.fd, (struct sockaddr *)&ss, sl) < 0) {
		log_warn("handoff: switch request socket (udp port %u)", cfg->switch_port);
		goto fail;
	}
	h->mv.cb = move_readable;
	h->mv.arg = h;
	if (loop_add(&n->loop, &h->mv, EPOLLIN) < 0)
		goto fail;
	if (loop_timer_init(&n->loop, &h->tick, tick_cb, h) < 0 || loop_timer_set(&h->tick, 1, 500) < 0)
		goto fail;
	if (loop_timer_init(&n->loop, &h->sched_timer, sched_cb, h) < 0)
		goto fail;
	h->sched_timer_ok = 1;
	n->ho = h;
	log_info("handoff: node %s (key 0x%08x), channels on port %u, %u peer(s), switch report port %u, flow drop on %s",
		 n->cfg.node_name, h->my_key, cfg->listen_port, cfg->npeers, cfg->switch_port,
		 cfg->interface);
	return 0;
fail:
	if (h->lis.fd >= 0) {
		loop_del(&n->loop, &h->lis);
		close(h->lis.fd);
	}
	if (h->rep_fd >= 0)
		close(h->rep_fd);
	if (h->mv.fd >= 0) {
		loop_del(&n->loop, &h->mv);
		close(h->mv.fd);
	}
	if (h->drop_open)
		flowdrop_close(&h->drop);
	free(h->blob);
	free(h);
	return -1;
}

void handoff_close(struct nasd *n)
{
	struct handoff *h = n->ho;

	if (!h)
		return;
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
	close(h->rep_fd);
	loop_del(&n->loop, &h->mv);
	close(h->mv.fd);
	flowdrop_close(&h->drop);
	free(h->blob);
	free(h);
	n->ho = NULL;
}
