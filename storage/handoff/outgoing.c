/*
 * outgoing.c - this node as the old node O of a handoff: the transaction
 * that hands one connection to a peer (handoff_int.h draws the protocol),
 * run synchronously from a control command, a switch's MOVE or a scheduled
 * move, on this node's own channel to the peer (each answer waited for at
 * most timeout_ms; the switch's ACK report_timeout_ms per try).
 *
 * The transaction is a sequence of steps: tx_check, tx_open, tx_freeze,
 * tx_update, tx_switch, then the commit (tx_close, tx_confirm), after which
 * there is no way back.  Each step records in tx->done what it did (and in
 * tx->tell_n what the new node must be told if we give up); a step that
 * fails formats the error once, into the result, and returns -1; then
 * tx_undo takes back exactly what was done, in one place.
 */
#include "handoff_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/log_flow.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_held.h"

/* What became of one transaction: the control command's reply. */
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

/* What the transaction has done so far (tx->done), for tx_undo. */
enum {
	TX_PAUSED = 1 << 0,		/* the connection does no I/O here */
	TX_GUARD = 1 << 1,		/* the guard drop is taken on its flow */
	TX_FROZEN = 1 << 2,		/* its socket is in repair mode */
	TX_STATE = 1 << 3,		/* tx->st holds the frozen socket's state */
	TX_REDIRECTED = 1 << 4,		/* REDIRECT sent: the switch may point the flow at N */
};

/* One outgoing transaction. */
struct ho_tx {
	struct handoff *h;
	struct ho_conn *x;
	struct ho_result *res;
	const char *to;			/* N's name */
	struct chan *c;			/* the channel to N; NULL once it is closed */
	const char *tell_n;		/* the FAIL reason N is owed if we give up; NULL:
					 * nothing (N gave up itself, or no channel) */
	unsigned done;			/* TX_* */
	uint32_t txid;
	struct lb_flow_key key;
	struct tch_state st;
	struct rep_pending rep;		/* the REDIRECT */
	uint64_t t0, t_pause, t_frozen, t_update;	/* CLOCK_MONOTONIC ns */
	uint8_t cause;			/* HO_CAUSE_*: told to N in the OPEN */
	struct flowdrop_pkt *held;	/* what the drop held until the close: to N with the ACK */
};

/* ------------------------------------------------ the connection's flow -- */

const char *handoff_endpoint(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct taddr a;
	uint16_t port;
	char t[TADDR_STRLEN];

	if (taddr_from_sockaddr(ss, &a, &port) < 0)
		port = 0;
	snprintf(buf, len, a.family == 6 ? "[%s]:%u" : "%s:%u", taddr_fmt(&a, t, sizeof(t)), port);
	return buf;
}

int handoff_flow_of(int fd, struct lb_flow_key *k, char *client, size_t clen)
{
	struct sockaddr_storage pa, la;
	socklen_t pl = sizeof(pa), ll = sizeof(la);
	struct taddr p, l;
	uint16_t pp, lp;

	if (getpeername(fd, (struct sockaddr *)&pa, &pl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&la, &ll) < 0 ||
	    taddr_from_sockaddr(&pa, &p, &pp) < 0 || taddr_from_sockaddr(&la, &l, &lp) < 0)
		return -1;
	flowkey_make(k, &p, pp, &l, lp, IPPROTO_TCP);
	if (client)
		handoff_endpoint(&pa, client, clen);
	return 0;
}

/* ------------------------------------------------------ talking to N -- */

/* Send frame f to N; a failed send closes the channel (nothing owed). */
static int tx_send(struct ho_tx *tx, struct ho_frame *f)
{
	if (chan_send(tx->c, f) == 0)
		return 0;
	chan_close(tx->c, "send failed");
	tx->c = NULL;
	tx->tell_n = NULL;
	return -1;
}

/* Give N up: FAIL with the reason it is owed, once. */
static void tx_tell_n(struct ho_tx *tx)
{
	if (!tx->tell_n)
		return;
	send_fail(tx->c, tx->txid, RC_REFUSED, tx->tell_n);
	tx->tell_n = NULL;
}

/* The text of a FAIL's reason record ("no reason given" if none). */
static void reason_of(const uint8_t *body, size_t blen, char *text, size_t tl)
{
	uint8_t *r = NULL;
	size_t rl = 0;
	uint16_t code;

	snprintf(text, tl, "no reason given");
	if (ho_collect(body, blen, HO_R_REASON, 1024, &r, &rl) < 0 || !r)
		return;
	ho_decode_reason(r, (uint16_t)rl, &code, text, tl);
	free(r);
}

/*
 * Wait for N's answer `want` (named wname in the error).  0 when it came;
 * else -1 with the error ("<N> <refused>: <its reason>" for a FAIL) and
 * what N is owed: nothing after its FAIL or with the channel gone, a FAIL
 * "giving up" after no answer in time or an unexpected one.  *t_us: the
 * time since t_start, whatever came.
 */
static int tx_answer(struct ho_tx *tx, uint8_t want, const char *wname, const char *refused,
		     uint64_t t_start, uint64_t *t_us)
{
	struct ho_result *res = tx->res;
	uint8_t type, *body = NULL;
	size_t blen;
	char why[256];
	int r = chan_wait(tx->c, tx->txid, (int)tx->h->cfg->timeout_ms, &type, &body, &blen);

	*t_us = us_since(t_start);
	if (r > 0 && type == want) {
		free(body);
		return 0;
	}
	if (r > 0 && type == HO_T_FAIL) {
		reason_of(body, blen, why, sizeof(why));
		tx->tell_n = NULL;
		err_set(res->error, sizeof(res->error), "%s %s: %s", tx->to, refused, why);
	} else if (r < 0) {
		tx->c = NULL;	/* chan_wait closed it */
		tx->tell_n = NULL;
		err_set(res->error, sizeof(res->error), "%s: channel lost", tx->to);
	} else {
		tx->tell_n = "giving up";
		if (r == 0)
			err_set(res->error, sizeof(res->error), "%s: no %s in time", tx->to, wname);
		else
			err_set(res->error, sizeof(res->error), "%s: unexpected answer", tx->to);
	}
	free(body);
	return -1;
}

/* ------------------------------------------------------------ the steps -- */

/* Can it go now: the channel to N is up, the connection movable, its flow
 * known.  Then it gets its txid. */
static int tx_check(struct ho_tx *tx)
{
	struct ho_result *res = tx->res;
	struct handoff *h = tx->h;

	res->stage = "channel";
	if (!tx->c || tx->c->state != CH_UP)
		return err_set(res->error, sizeof(res->error), "no channel to %s (down)", tx->to);
	res->stage = "session";
	const char *busy = tx->x->ops->unmovable(tx->x->p);
	if (busy)
		return err_set(res->error, sizeof(res->error), "session %s", busy);
	if (handoff_flow_of(tx->x->ops->fd(tx->x->p), &tx->key, NULL, 0) < 0)
		return err_errno(res->error, sizeof(res->error), "socket");
	tx->txid = ++h->next_txid ? h->next_txid : ++h->next_txid;
	res->txid = tx->txid;
	return 0;
}

/* OPEN: can you take it?  N answers OPEN_RESP (and drops the flow from
 * then on) or FAIL.  Why it moves (HO_R_CAUSE): N pins what an operator
 * moved. */
static int tx_open(struct ho_tx *tx)
{
	const char *svc = tx->x->ops->service;
	struct ho_frame f;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_OPEN, tx->txid);
	ho_add_flow(&f, &tx->key);
	ho_add(&f, HO_R_SERVICE, svc, strlen(svc));
	ho_add_u64(&f, HO_R_SIZE, 0);
	ho_add(&f, HO_R_CAUSE, &tx->cause, 1);
	tx->res->stage = "open";
	if (tx_send(tx, &f) < 0)
		return err_set(tx->res->error, sizeof(tx->res->error), "OPEN not sent to %s", tx->to);
	if (tx_answer(tx, HO_T_OPEN_RESP, "OPEN_RESP", "refused", tx->t0, &tx->res->t_open) < 0)
		return -1;
	tx->tell_n = "cancelled";
	return 0;
}

/* Stop the connection here: pause it, drop its flow (the guard), freeze
 * its socket; then at once ask the switch to re-point the flow to N. */
static int tx_freeze(struct ho_tx *tx)
{
	struct ho_result *res = tx->res;
	struct handoff *h = tx->h;
	struct ho_conn *x = tx->x;
	char err[256];

	res->stage = "freeze";
	tx->t_pause = now_ns();
	if (x->ops->pause(x->p) < 0) {
		res->busy = errno == EBUSY;
		return err_errno(res->error, sizeof(res->error), "pause");
	}
	tx->done |= TX_PAUSED;
	if (handoff_drop(h, &tx->key, now_ns() + (uint64_t)h->cfg->guard_ms * 1000000) < 0)
		return err_errno(res->error, sizeof(res->error), "flow drop");
	tx->done |= TX_GUARD;
	if (tch_freeze(x->ops->fd(x->p), &tx->st, err, sizeof(err)) < 0)
		return err_set(res->error, sizeof(res->error), "%s", err);
	tx->done |= TX_FROZEN | TX_STATE;
	tx->t_frozen = now_ns();
	res->frozen_at_ns = tx->t_pause;
	/* Re-point the switch now: its round trip (and, on a pair, the peer's
	 * map update) overlaps the snapshot, the UPDATE and N's restore.  N
	 * drops the flow's packets from its OPEN_RESP on, so nothing reaches
	 * a node without a socket; from here on a rollback must RECLAIM. */
	if (rep_send(h, &tx->rep, HO_OP_REDIRECT, &tx->key, tx->to, tx->txid, err, sizeof(err)) < 0)
		return err_set(res->error, sizeof(res->error), "%s", err);
	tx->done |= TX_REDIRECTED;
	return 0;
}

/* The frozen socket's state with the connection's blob, encoded into *enc
 * (malloc'ed, *elen bytes). */
static int tx_encode(struct ho_tx *tx, uint8_t **enc, size_t *elen)
{
	struct ho_result *res = tx->res;
	struct handoff *h = tx->h;
	char why[256];
	ssize_t bl = tx->x->ops->snapshot(tx->x->p, h->blob, h->blob_cap);

	if (bl < 0 || tch_state_set_app(&tx->st, h->blob, (size_t)bl) < 0)
		return err_errno(res->error, sizeof(res->error), "snapshot");
	size_t cap = tch_state_encoded_len(&tx->st);
	*enc = malloc(cap);
	if (!*enc || tch_state_encode(&tx->st, *enc, cap, elen, why, sizeof(why)) != TCH_OK) {
		err_set(res->error, sizeof(res->error), "encode: %s", *enc ? why : "out of memory");
		free(*enc);
		*enc = NULL;
		return -1;
	}
	res->state_bytes = *elen;
	res->app_bytes = (size_t)bl;
	res->t_freeze = us_since(tx->t_pause);
	return 0;
}

/* UPDATE: the state to N, which restores it and answers COMPLETE. */
static int tx_update(struct ho_tx *tx)
{
	uint8_t *enc = NULL;
	size_t elen = 0;
	struct ho_frame f;
	int r;

	if (tx_encode(tx, &enc, &elen) < 0)
		return -1;
	tx->res->stage = "update";
	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_UPDATE, tx->txid);
	ho_add(&f, HO_R_TCP_STATE, enc, elen);
	free(enc);
	tx->t_update = now_ns();
	if (tx_send(tx, &f) < 0)
		return err_set(tx->res->error, sizeof(tx->res->error), "UPDATE not sent to %s", tx->to);
	r = tx_answer(tx, HO_T_COMPLETE, "COMPLETE", "refused the session", tx->t_update,
		      &tx->res->t_complete);
	tch_state_free(&tx->st);
	tx->done &= ~TX_STATE;
	return r;
}

/* The switch's ACK for the REDIRECT (it has been working since tx_freeze). */
static int tx_switch(struct ho_tx *tx)
{
	struct ho_result *res = tx->res;
	char err[256];

	res->stage = "switch";
	if (rep_wait(tx->h, &tx->rep, err, sizeof(err)) < 0) {
		tx->tell_n = "the switch did not re-point";
		return err_set(res->error, sizeof(res->error), "%s", err);
	}
	res->t_switch = us_since(tx->t_update);
	return 0;
}

/*
 * Take back what tx->done says, in reverse order: the connection goes on
 * here.  N is told first once the socket was frozen (the RECLAIM may wait
 * for the switch up to report_tries tries, and N holds a restored copy and
 * a drop meanwhile), last before that (the local undo is quick).  The
 * guard drop is lifted just before the thaw, as it always was.
 */
static void tx_undo(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	struct ho_conn *x = tx->x;
	const char *me = h->n->cfg.node_name;
	char err[256] = "";

	if (tx->done & TX_STATE)
		tch_state_free(&tx->st);
	if (tx->done & TX_FROZEN)
		tx_tell_n(tx);
	if (tx->done & TX_REDIRECTED) {
		if (report_redirect(h, HO_OP_RECLAIM, &tx->key, me, tx->txid, err, sizeof(err)) < 0)
			log_warnx("handoff tx %u rollback: re-point to %s: %s", tx->txid, me, err);
		else
			tx->res->repointed_back = 1;
	}
	if (tx->done & TX_GUARD)
		flowdrop_del(&h->drop, &tx->key);
	if ((tx->done & TX_FROZEN) && tch_thaw(x->ops->fd(x->p), err, sizeof(err)) < 0) {
		log_warnx("handoff tx %u rollback: %s", tx->txid, err);
	} else if (tx->done & TX_GUARD) {
		/* what the client sent meanwhile, to the session that stays */
		struct flowdrop_pkt *held;
		flowdrop_take(&h->drop, &tx->key, &held);
		tch_replay_list(&h->raw, held);
		flowdrop_pkts_free(held);
	}
	if (tx->done & TX_PAUSED)
		x->ops->resume(x->p);
	tx_tell_n(tx);
	if (tx->done & TX_FROZEN) {
		tx->res->rolled_back = 1;
		h->rollbacks++;
	}
}

/* The commit: forget the connection, close its socket silently, keep its
 * flow dropped for grace_ms (late packets).  No way back from here. */
static void tx_close(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	char err[256];
	uint64_t t1 = now_ns();

	tx->res->stage = "close";
	int fd = tx->x->ops->release(tx->x->p);
	tx->x->p = NULL;
	if (tch_close_silently(fd, err, sizeof(err)) < 0)
		log_warnx("handoff tx %u: %s (socket kept open)", tx->txid, err);
	flowdrop_add(&h->drop, &tx->key, now_ns() + (uint64_t)h->cfg->grace_ms * 1000000);
	/* the switch no longer sends the flow here (lbd's ACK): what the drop
	 * held goes to N with the ACK, for N to replay before anything else
	 * (packets still on their way to us now meet the grace drop) */
	flowdrop_take(&h->drop, &tx->key, &tx->held);
	tx->res->t_close = us_since(t1);
}

/* The ACK, with what the drop held (HO_R_HELD) if anything. */
static int send_ack(struct ho_tx *tx)
{
	size_t n = tch_held_encoded_len(tx->held);
	struct ho_frame f;
	uint8_t *b = n ? malloc(n) : NULL;
	int cnt = 0;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_ACK, tx->txid);
	if (b) {
		tch_held_encode(tx->held, b);
		ho_add(&f, HO_R_HELD, b, n);
		free(b);
		for (struct flowdrop_pkt *p = tx->held; p; p = p->next)
			cnt++;
		tx->h->held_sent += (uint64_t)cnt;
	}
	flowdrop_pkts_free(tx->held);
	tx->held = NULL;
	return chan_send(tx->c, &f);
}

/* ACK: N resumes and answers DONE ("done"); without a DONE the handoff is
 * "committed" all the same. */
static void tx_confirm(struct ho_tx *tx)
{
	struct ho_result *res = tx->res;
	struct handoff *h = tx->h;
	uint8_t type, *body = NULL;
	size_t blen;
	char why[256];
	uint64_t t1 = now_ns();
	int r = -1;

	res->stage = "done";
	if (send_ack(tx) < 0)
		chan_close(tx->c, "send failed");
	else
		r = chan_wait(tx->c, tx->txid, (int)h->cfg->timeout_ms, &type, &body, &blen);
	res->t_done = us_since(t1);
	res->t_total = us_since(tx->t0);
	if (r > 0 && type == HO_T_DONE) {
		uint64_t fr = (now_ns() - tx->t_frozen) / 1000;
		res->outcome = "done";
		h->out_ok++;
		h->lat_last_us = fr;
		h->lat_sum_us += fr;
		lat_hist_add(&h->frozen, fr);
		if (fr > h->lat_max_us)
			h->lat_max_us = fr;
	} else {
		res->outcome = "committed";
		if (r > 0 && type == HO_T_FAIL)
			reason_of(body, blen, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", r == 0 ? "no DONE in time" : "channel lost");
		err_set(res->error, sizeof(res->error), "%s after the commit: %s", tx->to, why);
		h->out_unconfirmed++;
	}
	free(body);
}

/* Hand x to peer pi for cause; what became of it in *res. */
static void handoff_one(struct handoff *h, struct ho_conn *x, int pi, uint8_t cause,
			struct ho_result *res)
{
	struct ho_tx tx = { .h = h, .x = x, .res = res, .to = h->cfg->peers[pi].name,
			    .c = h->out[pi], .t0 = now_ns(), .cause = cause };

	memset(res, 0, sizeof(*res));
	res->outcome = "failed";
	if (tx_check(&tx) < 0 || tx_open(&tx) < 0 || tx_freeze(&tx) < 0 || tx_update(&tx) < 0 ||
	    tx_switch(&tx) < 0) {
		tx_undo(&tx);
		res->t_total = us_since(tx.t0);
		h->out_failed++;
		return;
	}
	tx_close(&tx);
	tx_confirm(&tx);
}

/* ------------------------------------------------------------ the reply -- */

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

/*
 * The event of a handoff of app's session id (flow k) to peer: handoff_out
 * when it left (outcome done, or committed: gone from here, its arrival not
 * confirmed), handoff_out_failed when it stays here (rolled_back: it was
 * frozen, and runs again).
 */
static void log_out(const struct ho_result *res, const char *app, uint64_t id,
		    const struct lb_flow_key *k, const char *peer)
{
	struct log_flow f;
	int done = !strcmp(res->outcome, "done");

	log_flow(&f, k);
	if (strcmp(res->outcome, "failed"))
		log_event(done ? LOG_INFO : LOG_WARNING, "handoff_out", KV_S("app", app),
			  KV_U("session", id), KV_FLOW(&f), KV_S("peer", peer),
			  KV_S("outcome", res->outcome), KV_U("us", res->t_total),
			  KV_S("reason", done ? NULL : res->error));
	else
		log_event(LOG_WARNING, "handoff_out_failed", KV_S("app", app), KV_U("session", id),
			  KV_FLOW(&f), KV_S("peer", peer), KV_S("stage", res->stage),
			  KV_S("reason", res->error), KV_S("rolled_back", res->rolled_back ? "yes" : "no"));
}

json_t *run_one(struct handoff *h, struct ho_conn *x, int pi, uint8_t cause)
{
	struct ho_result res;
	char client[TADDR_STRLEN + 10] = "?";
	struct lb_flow_key k = { 0 };
	uint64_t id = x->ops->id(x->p);
	const char *svc = x->ops->service;

	handoff_flow_of(x->ops->fd(x->p), &k, client, sizeof(client));
	handoff_one(h, x, pi, cause, &res);
	log_out(&res, svc, id, &k, h->cfg->peers[pi].name);
	json_t *r = result_json(&res, id, client, h->cfg->peers[pi].name, h->n->cfg.node_name);
	json_object_set_new(r, "service", json_string(svc));
	return r;
}
