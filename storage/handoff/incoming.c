/*
 * incoming.c - this node as the new node N of a handoff (handoff_int.h
 * draws the protocol): the transactions the peers run on the channels they
 * opened to us, served from the event loop, one struct intx each.  OPEN
 * takes the guard drop on the flow at once; UPDATE checks the blob and
 * restores the socket in repair mode; ACK resumes it and rebuilds the
 * connection with its kind's restore.  Any refusal is a FAIL (RC_REFUSED)
 * while the old node can still roll back; after its ACK, a failure loses
 * the connection (RC_REPOINTED).
 */
#include "handoff_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/log_flow.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_held.h"

static struct intx *intx_find(struct handoff *h, struct chan *c, uint32_t txid)
{
	for (struct intx *t = h->txs; t; t = t->next)
		if (t->ch == c && t->txid == txid)
			return t;
	return NULL;
}

void intx_free(struct handoff *h, struct intx *t)
{
	for (struct intx **pp = &h->txs; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if (t->nfd >= 0 && tch_close_silently(t->nfd, NULL, 0) < 0)
		log_warn("handoff tx %u: restored socket not closed silently (left open)", t->txid);
	if (t->have_st)
		tch_state_free(&t->st);
	free(t);
}

/*
 * Transaction t ended here: handoff_in (resumed as session) when why is
 * NULL, else handoff_in_failed (lost: after the old node's ACK, so the
 * session is gone; before it, the old node keeps it).
 */
static void log_in(const struct intx *t, const char *why, int lost, uint64_t session)
{
	struct log_flow f;

	log_flow(&f, &t->key);
	if (!why)
		log_event(LOG_INFO, "handoff_in", KV_U("txid", t->txid),
			  KV_S("peer", peer_name(t->ch)), KV_S("app", t->ops->service),
			  KV_U("session", session), KV_FLOW(&f), KV_U("us", (now_ns() - t->t0) / 1000));
	else
		log_event(LOG_WARNING, "handoff_in_failed", KV_U("txid", t->txid),
			  KV_S("peer", peer_name(t->ch)), KV_S("app", t->ops ? t->ops->service : NULL),
			  KV_FLOW(&f), KV_S("reason", why), KV_S("lost", lost ? "yes" : "no"));
}

void intx_abandon(struct handoff *h, struct chan *c)
{
	for (struct intx *t = h->txs, *nx; t; t = nx) {
		nx = t->next;
		if (t->ch == c) {
			log_in(t, "channel lost", 0, 0);
			h->in_failed++;
			intx_free(h, t);
		}
	}
}

/* The kind an OPEN names (HO_R_SERVICE; none: HTTP, as older peers send),
 * or NULL: unknown. */
static const struct ho_conn_ops *open_kind(const uint8_t *body, size_t blen)
{
	const struct ho_conn_ops *k = NULL;
	uint8_t *svc = NULL;
	size_t svl = 0;

	ho_collect(body, blen, HO_R_SERVICE, 16, &svc, &svl);
	if (!svl)
		return &session_handoff_ops;
	for (const struct ho_conn_ops *const *o = ho_kinds; *o && !k; o++)
		if (svl == strlen((*o)->service) && !memcmp(svc, (*o)->service, svl))
			k = *o;
	free(svc);
	return k;
}

/* Refuse transaction t (log, FAIL with code and why) and forget it. */
static void serve_fail(struct intx *t, uint16_t code, const char *why)
{
	struct handoff *h = t->ch->h;

	log_in(t, why, 0, 0);
	h->in_failed++;
	send_fail(t->ch, t->txid, code, why);
	intx_free(h, t);
}

/* Why this node refuses an OPEN, or NULL (*ops: the kind it names). */
static const char *open_refused(struct chan *c, uint32_t txid, const uint8_t *body, size_t blen,
				const struct ho_conn_ops **ops)
{
	struct nasd *n = c->h->n;

	if (intx_find(c->h, c, txid))
		return "duplicate transaction";
	*ops = open_kind(body, blen);
	if (!*ops)
		return "unknown service";
	const char *why = (*ops)->unavailable ? (*ops)->unavailable(n) : NULL;
	if (why)
		return why;
	if (n->nsessions >= n->cfg.max_sessions)
		return "busy: max_sessions";
	if (self_draining(c->h)) {
		c->h->refused_draining++;	/* the operator drains this node: no session comes in */
		return "draining: the switch moves sessions off this node";
	}
	return NULL;
}

/* The OPEN's cause (HO_R_CAUSE), HO_CAUSE_UNSAID if none or malformed. */
static uint8_t open_cause(const uint8_t *body, size_t blen)
{
	uint8_t *v = NULL, cause = HO_CAUSE_UNSAID;
	size_t vl = 0;

	if (ho_collect(body, blen, HO_R_CAUSE, 1, &v, &vl) == 0 && vl == 1 && v[0] <= HO_CAUSE_SWITCH)
		cause = v[0];
	free(v);
	return cause;
}

static void serve_open(struct chan *c, const struct ho_hdr *hd, const uint8_t *body, size_t blen)
{
	struct handoff *h = c->h;
	const struct ho_conn_ops *ops = NULL;
	const char *why = open_refused(c, hd->txid, body, blen, &ops);
	struct intx *t;

	if (why) {
		send_fail(c, hd->txid, RC_REFUSED, why);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		send_fail(c, hd->txid, RC_REFUSED, "out of memory");
		return;
	}
	t->ch = c;
	t->txid = hd->txid;
	t->ops = ops;
	t->cause = open_cause(body, blen);
	t->state = HO_S_OPEN;
	t->nfd = -1;
	t->t0 = now_ns();
	t->next = h->txs;
	h->txs = t;
	/* The old node re-points the switch as soon as it has frozen the
	 * session, maybe before its UPDATE is here: from now on the client's
	 * packets may reach us, and with no socket for them the kernel would
	 * reset the connection.  Drop them until the session resumes here (or
	 * the guard expires after a failed handoff). */
	uint8_t *fl = NULL;
	size_t fll = 0;
	if (ho_collect(body, blen, HO_R_FLOW, sizeof(struct lb_flow_key) + 8, &fl, &fll) < 0 || !fl ||
	    ho_decode_flow(fl, (uint16_t)fll, &t->key) < 0) {
		free(fl);
		serve_fail(t, RC_REFUSED, "OPEN without a valid flow");
		return;
	}
	free(fl);
	if (handoff_drop(h, &t->key, now_ns() + (uint64_t)h->cfg->guard_ms * 1000000) < 0) {
		char err[128];
		err_errno(err, sizeof(err), "flow drop");
		serve_fail(t, RC_REFUSED, err);
		return;
	}
	if (send_simple(c, HO_T_OPEN_RESP, hd->txid) < 0) {
		intx_free(h, t);
		return;
	}
	spin_readable(c->io.fd, h->cfg->spin_us);	/* the UPDATE follows at once */
}

/* The UPDATE: the frozen connection's TCP state and blob.  Check the blob,
 * restore the socket (repair mode, still dropped), COMPLETE. */
static void serve_update(struct intx *t, const uint8_t *body, size_t blen)
{
	struct handoff *h = t->ch->h;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256], why[256];

	if (t->state != HO_S_OPEN) {
		serve_fail(t, RC_REFUSED, "UPDATE out of order");
		return;
	}
	if (ho_collect(body, blen, HO_R_TCP_STATE, TCH_STATE_MAX, &buf, &len) < 0 || !len) {
		free(buf);
		serve_fail(t, RC_REFUSED, "UPDATE without TCP state");
		return;
	}
	enum tch_err e = tch_state_decode(buf, len, &t->st, why, sizeof(why));
	free(buf);
	if (e != TCH_OK) {
		err_set(err, sizeof(err), "decode: %.200s", why);
		serve_fail(t, RC_REFUSED, err);
		return;
	}
	t->have_st = 1;
	if (t->ops->precheck && t->ops->precheck(h->n, t->st.app, t->st.app_len, err, sizeof(err)) < 0) {
		serve_fail(t, RC_REFUSED, err);
		return;
	}
	struct lb_flow_key sk;
	tch_state_flow_key(&t->st, &sk);
	if (memcmp(&sk, &t->key, sizeof(sk))) {
		serve_fail(t, RC_REFUSED, "UPDATE is for another flow than the OPEN");
		return;
	}
	/* the drop from OPEN on covers the restore: the restored socket
	 * (repair mode) must see no packet until it resumes */
	if (handoff_drop(h, &t->key, now_ns() + (uint64_t)h->cfg->guard_ms * 1000000) < 0) {
		err_errno(err, sizeof(err), "flow drop");
		serve_fail(t, RC_REFUSED, err);
		return;
	}
	if (tch_restore(&t->st, &t->nfd, err, sizeof(err)) < 0) {
		t->nfd = -1;
		serve_fail(t, RC_REFUSED, err);
		return;
	}
	t->state = HO_S_HALF_ACTIVE;
	if (send_simple(t->ch, HO_T_COMPLETE, t->txid) < 0) {
		serve_fail(t, RC_REFUSED, "COMPLETE not sent");
		return;
	}
	spin_readable(t->ch->io.fd, h->cfg->spin_us);	/* the ACK: then we resume */
}

/* After the old node's ACK there is no way back: a connection that cannot
 * resume here is lost.  Say so (RC_REPOINTED), close fd, forget t. */
static void serve_lost(struct intx *t, int fd, const char *what, const char *err)
{
	struct handoff *h = t->ch->h;
	char why[320];

	snprintf(why, sizeof(why), "%s: %s", what, err);
	log_in(t, why, 1, 0);
	t->nfd = -1;
	close(fd);
	h->in_failed++;
	send_fail(t->ch, t->txid, RC_REPOINTED, err);
	intx_free(h, t);
}

/* The old node's held packets in the ACK (HO_R_HELD), decoded into *out;
 * nothing (counted) if they do not decode: the client's own recovery
 * then delivers them. */
static void ack_held(struct handoff *h, const uint8_t *body, size_t blen, struct flowdrop_pkt **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[160];

	*out = NULL;
	if (ho_collect(body, blen, HO_R_HELD, TCH_HELD_MAX, &buf, &len) < 0 ||
	    tch_held_decode(buf, len, out, why, sizeof(why)) < 0)
		h->held_bad++;
	free(buf);
}

/* The ACK: the old node has closed.  Resume the socket (replaying what
 * both nodes held, which also ends our drop), rebuild the connection,
 * DONE. */
static void serve_ack(struct intx *t, const uint8_t *body, size_t blen)
{
	struct handoff *h = t->ch->h;
	struct tch_held held = { .drop = &h->drop, .key = t->key };
	char err[256];
	int fd = t->nfd;

	if (t->state != HO_S_HALF_ACTIVE) {
		serve_fail(t, RC_REFUSED, "ACK out of order");
		return;
	}
	/* the old node has closed: no way back from here */
	ack_held(h, body, blen, &held.from_old);
	if (!h->cfg->hold_kb)
		flowdrop_del(&h->drop, &t->key);
	int kicked = tch_resume(fd, &t->st, &h->raw, h->cfg->hold_kb ? &held : NULL, err, sizeof(err));
	flowdrop_pkts_free(held.from_old);
	if (kicked < 0) {
		serve_lost(t, fd, "resume", err);
		return;
	}
	/* resumed, but the client was not kicked: its timers recover (counted;
	 * logged the first time, then every 1000th: each handoff of a node
	 * that lacks CAP_NET_RAW would be one) */
	if (kicked > 0 && h->in_kick_failed++ % 1000 == 0)
		log_event(LOG_WARNING, "handoff_kick_failed", KV_U("count", h->in_kick_failed),
			  KV_S("error", err));
	void *conn = t->ops->restore(h->n, fd, t->st.app, t->st.app_len, err, sizeof(err));
	if (!conn) {
		serve_lost(t, fd, "session_restore", err);
		return;
	}
	t->nfd = -1;
	h->in_ok++;
	pin_arrival(h, t->ops, conn, t->cause, peer_name(t->ch));
	prepare_arrived(h, &t->key);
	h->last_in_txid = t->txid;
	h->last_in_resumed_ns = now_ns();
	snprintf(h->last_in_from, sizeof(h->last_in_from), "%s", peer_name(t->ch));
	log_in(t, NULL, 0, t->ops->id(conn));
	struct chan *c = t->ch;
	uint32_t txid = t->txid;
	intx_free(h, t);
	send_simple(c, HO_T_DONE, txid);
}

void serve_frame(struct chan *c, const struct ho_hdr *hd, const uint8_t *body, size_t blen)
{
	struct intx *t;

	if (hd->type == HO_T_OPEN) {
		serve_open(c, hd, body, blen);
		return;
	}
	if (hd->type == HO_T_PREPARE) {	/* no transaction (prepare.c) */
		serve_prepare(c, body, blen);
		return;
	}
	t = intx_find(c->h, c, hd->txid);
	if (!t) {
		if (hd->type != HO_T_FAIL)
			send_fail(c, hd->txid, RC_REFUSED, "unknown transaction");
		return;
	}
	switch (hd->type) {
	case HO_T_UPDATE: serve_update(t, body, blen); break;
	case HO_T_ACK: serve_ack(t, body, blen); break;
	case HO_T_FAIL:
		log_in(t, "the old node gave up", 0, 0);
		c->h->in_failed++;
		intx_free(c->h, t);	/* closes the restored socket silently; the drop expires */
		break;
	default:
		serve_fail(t, RC_REFUSED, "unexpected message");
	}
}
