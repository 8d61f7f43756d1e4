/*
 * outgoing.c - this node as the old node O of a handoff: the transaction
 * that hands one connection to a peer (handoff_int.h draws the protocol),
 * as a state machine driven by the event loop, so the node's other
 * sessions are served while it runs.  Its inputs are events: a frame of N
 * on this node's channel to it (otx_frame), an answer of the switch on the
 * report socket (otx_rep_answer), the transaction's timer (each wait at
 * most timeout_ms; the switch's ACK report_timeout_ms per try), the loss of
 * the channel (otx_chan_lost).  Nothing here waits or spins: a step does
 * its local work (pause, freeze, snapshot, close: tens of microseconds),
 * sends, arms the timer for what it waits for, and returns.
 *
 *   TXS_OPEN     OPEN sent                      <- OPEN_RESP: pause, guard
 *                                                  drop, tch_freeze, REDIRECT,
 *                                                  snapshot, UPDATE
 *   TXS_UPDATE   waits for COMPLETE (the switch's ACK may come first)
 *   TXS_SWITCH   COMPLETE in, waits for the switch's ACK (retries)
 *                                               <- ACK: the commit: release,
 *                                                  tch_close_silently, grace
 *                                                  drop, ACK with held packets
 *   TXS_LINGER   (a client that was sending) holds on for what the switch
 *                sent before its re-point and is still on its way here
 *   TXS_CONFIRM  waits for DONE ("done"; without it "committed")
 *   TXS_RECLAIM  rolling back: waits for the switch's ACK of the RECLAIM,
 *                then thaws the session here
 *
 * Each step records in tx->done what it did (and in tx->tell_n what N
 * must be told if we give up); a step that fails formats the error once,
 * into tx->res, and the rollback (tx_fail) takes back exactly what was
 * done.  The connection is looked up by id until it is paused (it may go
 * away meanwhile); a paused one stays (no I/O, no timeouts) until resumed
 * or released.
 */
#include "outgoing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"

/* The commit's linger (tx_linger): a step while packets still come, and
 * the most it may add to the freeze. */
#define LINGER_STEP_NS 1000000ull
#define LINGER_MAX_NS 4000000ull

static void tx_send_ack(struct ho_tx *tx);
#include "storage/tch/tch.h"
#include "storage/tch/tch_held.h"

static void undo_finish(struct ho_tx *tx);

/* Wait until `at` (CLOCK_MONOTONIC ns) for the current state's input. */
static void tx_arm(struct ho_tx *tx, uint64_t at)
{
	uint64_t now = now_ns();
	uint64_t ms = at > now ? (at - now + 999999) / 1000000 : 1;

	if (tx->timer_ok)
		loop_timer_set(&tx->timer, (unsigned)(ms ? ms : 1), 0);
}

static void tx_arm_answer(struct ho_tx *tx)
{
	tx_arm(tx, now_ns() + (uint64_t)tx->h->cfg->timeout_ms * 1000000);
}

/* The session is frozen and the answer (N's COMPLETE, the switch's ACK)
 * due within microseconds: the loop polls without sleeping for spin_us
 * (loop_poll_until: every other handler is served meanwhile). */
static void tx_poll(struct ho_tx *tx)
{
	if (tx->h->cfg->spin_us)
		loop_poll_until(&tx->h->n->loop, now_ns() + (uint64_t)tx->h->cfg->spin_us * 1000);
}

/* ------------------------------------------------------ talking to N -- */

/* Send frame f to N.  A failed send marks the channel broken (the tick
 * closes it; the stream may hold part of a frame): nothing owed to N. */
static int tx_send(struct ho_tx *tx, struct ho_frame *f)
{
	if (tx->c && chan_send(tx->c, f) == 0)
		return 0;
	if (tx->c)
		tx->c->broken = 1;
	else
		ho_frame_free(f);
	tx->c = NULL;
	tx->tell_n = NULL;
	return -1;
}

/* Give N up: FAIL with the reason it is owed, once. */
static void tx_tell_n(struct ho_tx *tx)
{
	if (!tx->tell_n || !tx->c)
		return;
	if (send_fail(tx->c, tx->txid, RC_REFUSED, tx->tell_n) < 0)
		tx->c->broken = 1;
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
 * N's frame (type, body) where `want` (named wname in the error) was
 * awaited.  0 when it is that; else -1 with the error ("<N> <refused>: <its
 * reason>" for a FAIL) and what N is owed: nothing after its FAIL, a FAIL
 * "giving up" after an unexpected answer.
 */
static int tx_answer(struct ho_tx *tx, uint8_t type, const uint8_t *body, size_t blen,
		     uint8_t want, const char *refused)
{
	struct ho_result *res = &tx->res;
	char why[256];

	if (type == want)
		return 0;
	if (type == HO_T_FAIL) {
		reason_of(body, blen, why, sizeof(why));
		tx->tell_n = NULL;
		return err_set(res->error, sizeof(res->error), "%s %s: %s", tx->to, refused, why);
	}
	tx->tell_n = "giving up";
	return err_set(res->error, sizeof(res->error), "%s: unexpected answer", tx->to);
}

/* ------------------------------------------------------------ the steps -- */

/* Can it go now: the connection still here and movable, the channel to N
 * up, its flow known.  Then it gets its txid. */
static int tx_check(struct ho_tx *tx, void *conn)
{
	struct ho_result *res = &tx->res;
	struct handoff *h = tx->h;

	res->stage = "session";
	if (!conn)
		return err_set(res->error, sizeof(res->error), "no such session (gone)");
	const char *busy = tx->ops->unmovable(conn);
	if (busy)
		return err_set(res->error, sizeof(res->error), "session %s", busy);
	res->stage = "channel";
	if (!tx->c || tx->c->state != CH_UP || tx->c->broken)
		return err_set(res->error, sizeof(res->error), "no channel to %s (down)", tx->to);
	if (handoff_flow_of(tx->ops->fd(conn), &tx->key, NULL, 0) < 0)
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
	const char *svc = tx->ops->service;
	struct ho_frame f;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_OPEN, tx->txid);
	ho_add_flow(&f, &tx->key);
	ho_add(&f, HO_R_SERVICE, svc, strlen(svc));
	ho_add_u64(&f, HO_R_SIZE, 0);
	ho_add(&f, HO_R_CAUSE, &tx->cause, 1);
	tx->res.stage = "open";
	if (tx_send(tx, &f) < 0)
		return err_set(tx->res.error, sizeof(tx->res.error), "OPEN not sent to %s", tx->to);
	tx->state = TXS_OPEN;
	tx_arm_answer(tx);
	return 0;
}

/* Stop the connection here: pause it, drop its flow (the guard), freeze
 * its socket; then at once ask the switch to re-point the flow to N. */
static int tx_freeze(struct ho_tx *tx)
{
	struct ho_result *res = &tx->res;
	struct handoff *h = tx->h;
	void *conn = tx->ops->by_id(h->n, tx->id);
	char err[256];

	res->stage = "freeze";
	if (!conn || tx->ops->unmovable(conn))
		return err_set(res->error, sizeof(res->error), "session %s", conn ?
			       tx->ops->unmovable(conn) : "gone");
	tx->t_pause = now_ns();
	if (tx->ops->pause(conn) < 0) {
		res->busy = errno == EBUSY;
		return err_errno(res->error, sizeof(res->error), "pause");
	}
	tx->conn = conn;
	tx->done |= TX_PAUSED;
	if (handoff_drop(h, &tx->key, now_ns() + (uint64_t)h->cfg->guard_ms * 1000000) < 0)
		return err_errno(res->error, sizeof(res->error), "flow drop");
	tx->done |= TX_GUARD;
	if (tch_freeze(tx->ops->fd(conn), &tx->st, err, sizeof(err)) < 0)
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
	tx->rep_live = 1;
	return 0;
}

/* The frozen socket's state with the connection's blob, encoded into *enc
 * (malloc'ed, *elen bytes). */
static int tx_encode(struct ho_tx *tx, uint8_t **enc, size_t *elen)
{
	struct ho_result *res = &tx->res;
	struct handoff *h = tx->h;
	char why[256];
	ssize_t bl = tx->ops->snapshot(tx->conn, h->blob, h->blob_cap);

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

	if (tx_encode(tx, &enc, &elen) < 0)
		return -1;
	tx->res.stage = "update";
	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_UPDATE, tx->txid);
	ho_add(&f, HO_R_TCP_STATE, enc, elen);
	free(enc);
	tx->t_update = now_ns();
	if (tx_send(tx, &f) < 0)
		return err_set(tx->res.error, sizeof(tx->res.error), "UPDATE not sent to %s", tx->to);
	tx->state = TXS_UPDATE;
	tx_arm_answer(tx);
	tx_poll(tx);
	return 0;
}

/* --------------------------------------------------- giving up: rollback -- */

/*
 * Take back what tx->done says, in reverse order: the connection goes on
 * here.  N is told first once the socket was frozen (the RECLAIM may wait
 * for the switch up to report_tries tries, and N holds a restored copy and
 * a drop meanwhile), last before that (the local undo is quick).  After a
 * REDIRECT the session stays frozen until the switch acked the RECLAIM
 * (TXS_RECLAIM), then undo_finish thaws it.
 */
static void tx_fail(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	char err[256] = "";

	tx->res.outcome = "failed";
	tx->rep_live = 0;
	if (tx->done & TX_STATE)
		tch_state_free(&tx->st);
	tx->done &= ~TX_STATE;
	if (tx->done & TX_FROZEN)
		tx_tell_n(tx);
	if (tx->done & TX_REDIRECTED) {
		if (rep_send(h, &tx->rep, HO_OP_RECLAIM, &tx->key, h->n->cfg.node_name, tx->txid, err,
			     sizeof(err)) < 0)
			log_warnx("handoff tx %u rollback: re-point to %s: %s (retrying)", tx->txid,
				  h->n->cfg.node_name, err);
		tx->rep_live = 1;	/* a lost first try: the timer retries */
		tx->state = TXS_RECLAIM;
		tx_arm(tx, rep_deadline(h, &tx->rep));
		return;
	}
	undo_finish(tx);
}

/* The rest of the rollback, once the switch points the flow here again
 * (or could not be told): lift the guard, thaw, replay what was held,
 * resume the connection. */
static void undo_finish(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	char err[256];

	tx->rep_live = 0;
	if (tx->done & TX_GUARD)
		flowdrop_del(&h->drop, &tx->key);
	if ((tx->done & TX_FROZEN) && tch_thaw(tx->ops->fd(tx->conn), err, sizeof(err)) < 0) {
		log_warnx("handoff tx %u rollback: %s", tx->txid, err);
	} else if (tx->done & TX_GUARD) {
		/* what the client sent meanwhile, to the session that stays */
		struct flowdrop_pkt *held;
		flowdrop_take(&h->drop, &tx->key, &held);
		tch_replay_list(&h->raw, held);
		flowdrop_pkts_free(held);
	}
	if (tx->done & TX_PAUSED)
		tx->ops->resume(tx->conn);
	tx->conn = NULL;
	tx_tell_n(tx);
	if (tx->done & TX_FROZEN) {
		tx->res.rolled_back = 1;
		h->rollbacks++;
	}
	tx->res.t_total = us_since(tx->t0);
	h->out_failed++;
	tx_finish(tx);
}

/* ------------------------------------------------------------ the commit -- */

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
	return tx_send(tx, &f);
}

/* "committed": gone from here without N's DONE (why). */
static void tx_unconfirmed(struct ho_tx *tx, const char *why)
{
	struct ho_result *res = &tx->res;

	res->outcome = "committed";
	err_set(res->error, sizeof(res->error), "%s after the commit: %s", tx->to, why);
	tx->h->out_unconfirmed++;
	res->t_done = us_since(tx->t_ack);
	res->t_total = us_since(tx->t0);
	tx_finish(tx);
}

/* The commit, once N restored and the switch acked: forget the
 * connection, close its socket silently, keep its flow dropped for
 * grace_ms (late packets), and tell N to resume (ACK).  No way back. */
static void tx_commit(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	char err[256];
	uint64_t t1 = now_ns();

	tx->res.t_switch = us_since(tx->t_update);
	tx->res.stage = "close";
	int fd = tx->ops->release(tx->conn);
	tx->conn = NULL;
	if (tch_close_silently(fd, err, sizeof(err)) < 0)
		log_warnx("handoff tx %u: %s (socket kept open)", tx->txid, err);
	/* the switch no longer sends the flow here (lbd's ACK): what the drop
	 * held goes to N with the ACK, for N to replay before anything else */
	flowdrop_take(&h->drop, &tx->key, &tx->held);
	tx->res.t_close = us_since(t1);
	tx->t_linger = tx->t_ack = now_ns();
	if (tx->held && h->cfg->hold_kb) {
		tx->state = TXS_LINGER;
		return tx_arm(tx, tx->t_linger + LINGER_STEP_NS);
	}
	tx_send_ack(tx);
}

/* The end of the commit: the grace drop for what still comes (it ends the
 * holding), the last of what was held, the ACK to N. */
static void tx_send_ack(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	struct flowdrop_pkt *more = NULL, **tail = &tx->held;

	flowdrop_add(&h->drop, &tx->key, now_ns() + (uint64_t)h->cfg->grace_ms * 1000000);
	flowdrop_take(&h->drop, &tx->key, &more);
	while (*tail)
		tail = &(*tail)->next;
	*tail = more;
	tx->res.stage = "done";
	tx->t_ack = now_ns();
	if (send_ack(tx) < 0)
		return tx_unconfirmed(tx, "channel lost");
	tx->state = TXS_CONFIRM;
	tx_arm_answer(tx);
}

/* Why linger: the switch's ACK of the re-point and the packets it forwarded
 * just before it travel different CPUs' queues (lbd's socket on one, the
 * data plane's softirq on another), so some of those packets can reach us
 * after the ACK.  Dropped, they would reach N after the packets the switch
 * sends it next: a hole the client fills by fast retransmission (seen as
 * 27 retransmitted segments of an upload in one of 500 handoffs).  So a
 * session whose client was sending keeps its holding for LINGER_STEP_NS at
 * a time while more still comes (at most LINGER_MAX_NS), and N, which
 * holds what the switch sends it until our ACK, replays ours first.  An
 * idle client (nothing held) pays nothing. */
static void tx_linger(struct ho_tx *tx)
{
	struct flowdrop_pkt *more = NULL, **tail = &tx->held;

	if (flowdrop_take(&tx->h->drop, &tx->key, &more) > 0) {
		while (*tail)
			tail = &(*tail)->next;
		*tail = more;
		if (now_ns() - tx->t_linger < LINGER_MAX_NS)
			return tx_arm(tx, now_ns() + LINGER_STEP_NS);
	}
	tx_send_ack(tx);
}

/* N's DONE: the session runs there. */
static void tx_done(struct ho_tx *tx)
{
	struct ho_result *res = &tx->res;
	struct handoff *h = tx->h;
	uint64_t fr = (now_ns() - tx->t_frozen) / 1000;

	res->t_done = us_since(tx->t_ack);
	res->t_total = us_since(tx->t0);
	res->outcome = "done";
	h->out_ok++;
	h->lat_last_us = fr;
	h->lat_sum_us += fr;
	lat_hist_add(&h->frozen, fr);
	if (fr > h->lat_max_us)
		h->lat_max_us = fr;
	tx_finish(tx);
}

/* ------------------------------------------------------------ the events -- */

/* OPEN_RESP: freeze, REDIRECT, UPDATE. */
static void on_open_resp(struct ho_tx *tx)
{
	tx->res.t_open = us_since(tx->t0);
	tx->tell_n = "cancelled";
	if (tx_freeze(tx) < 0 || tx_update(tx) < 0)
		tx_fail(tx);
}

/* COMPLETE: N holds the restored socket; commit once the switch acked. */
static void on_complete(struct ho_tx *tx)
{
	tx->res.t_complete = us_since(tx->t_update);
	tch_state_free(&tx->st);
	tx->done &= ~TX_STATE;
	tx->res.stage = "switch";
	if (tx->acked)
		return tx_commit(tx);
	tx->state = TXS_SWITCH;
	tx_arm(tx, rep_deadline(tx->h, &tx->rep));
	tx_poll(tx);
}

void otx_frame(struct chan *c, const struct ho_hdr *hd, const uint8_t *body, size_t blen)
{
	struct ho_tx *tx = c->h->otx;
	char why[256];

	while (tx && !(tx->c == c && tx->txid == hd->txid && tx->state != TXS_QUEUED))
		tx = tx->next;
	if (!tx || tx->state == TXS_RECLAIM) {
		log_debug("handoff: late frame type %u tx %u from %s", hd->type, hd->txid, peer_name(c));
		return;
	}
	switch (tx->state) {
	case TXS_OPEN:
		if (tx_answer(tx, hd->type, body, blen, HO_T_OPEN_RESP, "refused") < 0)
			return tx_fail(tx);
		return on_open_resp(tx);
	case TXS_UPDATE:
		if (tx_answer(tx, hd->type, body, blen, HO_T_COMPLETE, "refused the session") < 0)
			return tx_fail(tx);
		return on_complete(tx);
	case TXS_SWITCH:	/* N has nothing to say here: a FAIL gives up */
		if (hd->type == HO_T_FAIL) {
			reason_of(body, blen, why, sizeof(why));
			tx->tell_n = NULL;
			err_set(tx->res.error, sizeof(tx->res.error), "%s gave up: %s", tx->to, why);
			return tx_fail(tx);
		}
		return;
	case TXS_LINGER:	/* N waits for our ACK: a FAIL gives up */
		if (hd->type == HO_T_FAIL) {
			reason_of(body, blen, why, sizeof(why));
			return tx_unconfirmed(tx, why);
		}
		return;
	case TXS_CONFIRM:
		if (hd->type == HO_T_DONE)
			return tx_done(tx);
		if (hd->type == HO_T_FAIL)
			reason_of(body, blen, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "unexpected answer");
		return tx_unconfirmed(tx, why);
	}
}

/* The switch's answer a for tx (its REDIRECT or RECLAIM). */
static void tx_rep(struct ho_tx *tx, int r, const char *err)
{
	if (tx->state == TXS_RECLAIM) {
		if (r == REP_ACKED)
			tx->res.repointed_back = 1;
		else if (r == REP_REFUSED)
			log_warnx("handoff tx %u rollback: %s", tx->txid, err);
		if (r != REP_AGAIN)
			return undo_finish(tx);
	} else if (r == REP_ACKED) {
		tx->acked = 1;
		tx->rep_live = 0;
		if (tx->state == TXS_SWITCH)
			return tx_commit(tx);
		return;	/* COMPLETE still to come */
	} else if (r == REP_REFUSED) {
		tx->tell_n = "the switch did not re-point";
		err_set(tx->res.error, sizeof(tx->res.error), "%s", err);
		return tx_fail(tx);
	}
	if (tx->state == TXS_SWITCH || tx->state == TXS_RECLAIM)
		tx_arm(tx, rep_deadline(tx->h, &tx->rep));	/* a new try went out */
}

int otx_rep_answer(struct handoff *h, const struct ho_report *a)
{
	char err[256] = "";

	for (struct ho_tx *tx = h->otx; tx; tx = tx->next) {
		if (!tx->rep_live)
			continue;
		int r = rep_answer(h, &tx->rep, a, err, sizeof(err));
		if (r == REP_NONE)
			continue;
		tx_rep(tx, r, err);
		return 1;
	}
	return 0;
}

/* The current wait of tx is over. */
static void tx_timer(struct loop *l, struct loop_timer *t)
{
	struct ho_tx *tx = t->arg;
	struct ho_result *res = &tx->res;
	char err[256] = "";

	(void)l;
	switch (tx->state) {
	case TXS_OPEN:
	case TXS_UPDATE:
		tx->tell_n = "giving up";
		err_set(res->error, sizeof(res->error), "%s: no %s in time", tx->to,
			tx->state == TXS_OPEN ? "OPEN_RESP" : "COMPLETE");
		return tx_fail(tx);
	case TXS_SWITCH:
	case TXS_RECLAIM:
		if (rep_expired(tx->h, &tx->rep, err, sizeof(err)) == 0)
			return tx_arm(tx, rep_deadline(tx->h, &tx->rep));
		if (tx->state == TXS_RECLAIM) {
			log_warnx("handoff tx %u rollback: %s", tx->txid, err);
			return undo_finish(tx);
		}
		tx->tell_n = "the switch did not re-point";
		err_set(res->error, sizeof(res->error), "%s", err);
		return tx_fail(tx);
	case TXS_CONFIRM:
		return tx_unconfirmed(tx, "no DONE in time");
	case TXS_LINGER:
		return tx_linger(tx);
	}
}

void otx_chan_lost(struct handoff *h, struct chan *c)
{
again:
	for (struct ho_tx *tx = h->otx; tx; tx = tx->next) {
		if (tx->c != c)
			continue;
		tx->c = NULL;
		tx->tell_n = NULL;
		if (tx->state == TXS_CONFIRM || tx->state == TXS_LINGER) {
			tx_unconfirmed(tx, "channel lost");
		} else if (tx->state != TXS_RECLAIM) {
			/* before the commit N has not resumed: the session stays */
			err_set(tx->res.error, sizeof(tx->res.error), "%s: channel lost", tx->to);
			tx_fail(tx);
		}
		goto again;	/* the list may have changed */
	}
}

void tx_begin(struct ho_tx *tx)
{
	struct handoff *h = tx->h;
	void *conn = tx->ops->by_id(h->n, tx->id);

	tx->c = h->out[tx->pi];
	tx->t0 = now_ns();
	if (loop_timer_init(&h->n->loop, &tx->timer, tx_timer, tx) == 0)
		tx->timer_ok = 1;
	if (!tx->timer_ok) {
		tx->res.stage = "session";
		err_errno(tx->res.error, sizeof(tx->res.error), "timer");
	}
	if (!tx->timer_ok || tx_check(tx, conn) < 0 || tx_open(tx) < 0) {
		tx->res.t_total = us_since(tx->t0);
		h->out_failed++;
		tx_finish(tx);
	}
}

void tx_abort(struct ho_tx *tx)
{
	if (tx->state == TXS_QUEUED) {
		tx->res.stage = "queued";
		err_set(tx->res.error, sizeof(tx->res.error), "the node stops");
		tx_finish(tx);
	} else if (tx->state == TXS_CONFIRM || tx->state == TXS_LINGER) {
		tx_unconfirmed(tx, "the node stops");
	} else if (tx->state == TXS_RECLAIM) {
		undo_finish(tx);	/* no waiting for the RECLAIM's ACK */
	} else {
		int redirected = tx->done & TX_REDIRECTED;
		err_set(tx->res.error, sizeof(tx->res.error), "the node stops");
		tx_fail(tx);	/* with a REDIRECT: sends the RECLAIM's first try */
		if (redirected)
			undo_finish(tx);
	}
}
