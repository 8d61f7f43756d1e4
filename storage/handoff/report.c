/*
 * report.c - the handoff engine and the switch (lbd's lb/report.c,
 * lib/handoff_wire.h "reports"): the old node's REDIRECT (and a rollback's
 * RECLAIM) with its retries until lbd's ACK; the switch's MOVE requests
 * (operator handoff, drain, load trigger through lbd); this node's LOAD
 * report every second.  Reports go out on h->rep_fd; MOVEs arrive on h->mv,
 * which also carries lbd's cluster map for the NFS service.
 *
 * Everything is sealed with this node's key K(n) (lib/handoff_key.h), which
 * only the switch and this node hold: a MOVE that passes is the switch's.
 * Replay: this process's epoch (h->epoch, chosen at start) goes into every
 * message and must come back as the peer epoch of everything the switch
 * sends, so nothing recorded before this start is taken; per switch id the
 * MOVEs' (epoch, seq) must grow (ho_fresh).  lbd learns our epoch from a
 * STALE answer and we learn its epoch from its STALE answers.
 */
#include "handoff_int.h"
#include "storage/nfs/nfs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/cluster_wire.h"
#include "lib/wire.h"
#include "lib/log.h"
#include "lib/log_flow.h"
#include "lib/maglev.h"

/* The next message to the switch: this process's epoch, a seq above the
 * last one in it (lbd refuses a seq not above the last it took from this
 * node in this epoch), the switch's epoch as last learned. */
static void stamp(struct handoff *h, struct ho_report *r)
{
	r->sender = h->my_key;
	r->epoch = h->epoch;
	r->seq = ++h->rep_seq;
	if (!r->peer_epoch)
		r->peer_epoch = h->rep_peer_epoch;
}

/* A STALE answer from the switch (authentic, and fresh: it echoes our epoch
 * and the nonce of what we sent): its epoch is the one to send to; `held`
 * above ours means we restarted with a clock behind our last epoch: move
 * above it (held equal to ours: only its epoch was new to us). */
static void learn(struct handoff *h, const struct ho_report *a)
{
	h->rep_peer_epoch = a->epoch;
	if (a->held > h->epoch) {
		h->epoch = ho_new_epoch(a->held);
		h->rep_seq = 0;
		log_warnx("handoff: the switch holds an epoch of ours above this one (clock went back?): "
			  "moved to %llu", (unsigned long long)h->epoch);
	}
	h->load_now = 1;
}

/* An answer from the switch for us: authentic, an ACK from a switch, with
 * our epoch.  0 with it in *a, or -1. */
static int switch_answer(struct handoff *h, const uint8_t *buf, size_t n, struct ho_report *a)
{
	const char *why;

	if (ho_report_parse(buf, n, h->node_key.k, h->node_key.len, a, &why) < 0 ||
	    a->op != HO_OP_ACK || a->sender != 0 || a->peer_epoch != h->epoch)
		return -1;
	return 0;
}

/* One try of report p: a new seq and nonce.  0, or -1 with a message (the
 * sendto failed: it counts as a lost try). */
static int rep_try(struct handoff *h, struct rep_pending *p, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&h->cfg->switch_addr, h->cfg->switch_port, &ss);
	uint8_t buf[HO_REPORT_MAX];

	p->r.peer_epoch = 0;
	stamp(h, &p->r);
	if (getrandom(&p->r.nonce, sizeof(p->r.nonce), 0) != sizeof(p->r.nonce))
		p->r.nonce = (uint32_t)now_ns();
	p->r.nonce &= 0xffffff;
	size_t len = ho_report_encode(&p->r, h->node_key.k, h->node_key.len, buf);
	h->reports++;
	if (p->tries++)
		h->report_retries++;
	p->sent_ns = now_ns();
	if (sendto(h->rep_fd, buf, len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)len) {
		snprintf(err, errlen, "report: sendto: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Ask the switch to send key's flow to node `to` (op REDIRECT; RECLAIM when
 * a rolled-back handoff takes its flow back).  0 once the first try is
 * out, or -1 with a message (nothing was sent). */
int rep_send(struct handoff *h, struct rep_pending *p, uint8_t op, const struct lb_flow_key *key,
		    const char *to, uint32_t txid, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->last_status = -1;
	p->want = maglev_node_key32(to);
	p->to = to;
	p->r = (struct ho_report){ .op = op, .txid = (uint16_t)txid, .cluster = h->cfg->cluster_id,
				   .key = *key, .node_key = p->want };
	return rep_try(h, p, err, errlen);
}

uint64_t rep_deadline(const struct handoff *h, const struct rep_pending *p)
{
	return p->sent_ns + (uint64_t)h->cfg->report_timeout_ms * 1000000;
}

/* Out of tries: the error (refused with the last status, or no ACK). */
static int rep_give_up(struct handoff *h, struct rep_pending *p, char *err, size_t errlen)
{
	h->report_failed++;
	if (p->last_status >= 0)
		snprintf(err, errlen, "switch refused the redirect to %s (status %d)", p->to,
			 p->last_status);
	else
		snprintf(err, errlen, "no ack from the switch for the redirect to %s (%u tries)", p->to,
			 h->cfg->report_tries);
	return -1;
}

int rep_answer(struct handoff *h, struct rep_pending *p, const struct ho_report *a, char *err,
	       size_t errlen)
{
	if (a->nonce != p->r.nonce)
		return REP_NONE;	/* an answer to an earlier try or another report */
	if (a->status == HO_ST_OK && a->node_key == p->want)
		return REP_ACKED;
	if (a->status == HO_ST_STALE && p->stale < 2) {
		learn(h, a);	/* the switch did nothing: send again at once */
		p->stale++;
		p->tries--;
		rep_try(h, p, err, errlen);	/* a failed sendto counts as a lost try */
		return REP_AGAIN;
	}
	p->last_status = a->status;
	if (a->status != HO_ST_PEER || p->tries >= h->cfg->report_tries) {
		rep_give_up(h, p, err, errlen);
		return REP_REFUSED;
	}
	rep_try(h, p, err, errlen);	/* the pair peer did not confirm: a new try now */
	return REP_AGAIN;
}

int rep_expired(struct handoff *h, struct rep_pending *p, char *err, size_t errlen)
{
	if (p->tries >= h->cfg->report_tries)
		return rep_give_up(h, p, err, errlen);
	rep_try(h, p, err, errlen);	/* a failed sendto counts as a lost try */
	return 0;
}

/* The MOVE replay window of switch id (authenticated), a new one if there
 * is room; NULL when all are taken (refused: a window is never forgotten). */
static struct ho_window *sw_window(struct handoff *h, uint32_t switch_id)
{
	int free_slot = -1;

	for (int i = 0; i < SW_WINDOWS; i++) {
		if (h->sw[i].used && h->sw[i].switch_id == switch_id)
			return &h->sw[i].w;
		if (!h->sw[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return NULL;
	h->sw[free_slot].used = 1;
	h->sw[free_slot].switch_id = switch_id;
	memset(&h->sw[free_slot].w, 0, sizeof(h->sw[free_slot].w));
	return &h->sw[free_slot].w;
}

/* Answer switch request r with an ACK of status st (to its source). */
static void answer_switch(struct handoff *h, int fd, struct ho_report *r, uint8_t st, uint64_t held,
			  const struct sockaddr_storage *from, socklen_t fl)
{
	uint8_t out[HO_REPORT_MAX];

	r->op = HO_OP_ACK;
	r->status = st;
	r->peer_epoch = r->epoch;	/* the switch's own: it knows the answer is fresh */
	r->held = held;
	stamp(h, r);
	size_t len = ho_report_encode(r, h->node_key.k, h->node_key.len, out);
	if (sendto(fd, out, len, MSG_DONTWAIT, (const struct sockaddr *)from, fl) != (ssize_t)len)
		log_warn("handoff: answering the switch");
}

/* The connection of a flow-table key, of any kind; 0 / -1 (none). */
static int conn_of_key(struct nasd *n, const struct lb_flow_key *k, struct ho_conn *x)
{
	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++) {
		x->ops = *o;
		x->p = (*o)->of_key(n, k);
		if (x->p)
			return 0;
	}
	return -1;
}

/* A datagram on the switch socket that is a MOVE for us: authenticated,
 * from a switch (sender 0) of our cluster, fresh.  1 with it in *r, or 0:
 * not one (refused and counted; lbd's cluster map goes to nfs_cluster.c,
 * its node states to policy.c, lib/cluster_wire.h). */
static int move_check(struct handoff *h, int fd, const uint8_t *buf, size_t n,
		      const struct sockaddr_storage *from, socklen_t fl, struct ho_report *r)
{
	const char *why;
	char ep[TADDR_STRLEN + 10];

	if (cw_type(buf, n) == CW_T_NODES) {
		states_input(h, fd, buf, n, from, fl);
		return 0;
	}
	if (cw_is_cluster(buf, n)) {
		nfs_cluster_input(h->n, fd, buf, n, from, fl, h->node_key.k, h->node_key.len,
				  h->cfg->cluster_id);
		return 0;
	}
	if (ho_report_parse(buf, n, h->node_key.k, h->node_key.len, r, &why) < 0) {
		log_debug("handoff: switch request refused: %s", why);
		h->rej_sw_bad++;
		return 0;
	}
	if (r->op != HO_OP_MOVE || r->sender != 0 || r->cluster != h->cfg->cluster_id) {
		h->rej_sw_bad++;
		return 0;
	}
	struct ho_window *w = sw_window(h, r->switch_id);
	int fresh = w ? ho_fresh(w, r->epoch, r->seq, 0) : 0;
	if (fresh == 0) {
		log_event(LOG_WARNING, "switch_request_refused", KV_S("addr", handoff_endpoint(from, ep, sizeof(ep))),
			  KV_U("switch", r->switch_id), KV_S("reason", w ? "replayed" : "too many switches"));
		h->rej_sw_replay++;
		return 0;
	}
	if (fresh < 0 || r->peer_epoch != h->epoch) {
		/* from before our start, or the switch does not know our epoch
		 * yet (or it restarted with its clock behind): nothing done */
		log_event(LOG_INFO, "switch_request_refused", KV_S("addr", handoff_endpoint(from, ep, sizeof(ep))),
			  KV_U("switch", r->switch_id),
			  KV_S("reason", fresh < 0 ? "stale: an old epoch of the switch" :
						   "stale: another epoch of this node"));
		h->rej_sw_stale++;
		answer_switch(h, fd, r, HO_ST_STALE, w->epoch, from, fl);
		return 0;
	}
	ho_fresh(w, r->epoch, r->seq, 1);
	return 1;
}

/* Run the switch's MOVE r (synchronous: the handoff has finished when this
 * returns); the status for its ACK. */
/* A MOVE being run: what its ACK needs once the handoff has finished. */
struct move_pending {
	struct ho_report r;
	struct sockaddr_storage from;
	socklen_t fl;
};

static void move_answer(struct handoff *h, struct move_pending *m, uint8_t st)
{
	if (st == HO_ST_OK)
		h->moves_ok++;
	else
		h->moves_refused++;
	answer_switch(h, h->mv.fd, &m->r, st, 0, &m->from, m->fl);
	free(m);
}

/* The MOVE's handoff finished (otx_start's done): its ACK. */
static void move_done(struct handoff *h, json_t *res, void *arg)
{
	uint8_t st = json_is_true(json_object_get(res, "ok")) ? HO_ST_OK :
		     json_is_true(json_object_get(res, "busy")) ? HO_ST_BUSY : HO_ST_ERROR;

	json_decref(res);
	move_answer(h, arg, st);
}

/* Start the switch's MOVE m (owned: answered and freed here or by
 * move_done when the handoff has finished). */
static void move_run(struct handoff *h, struct move_pending *m)
{
	char ep[TADDR_STRLEN + 10];
	const struct ho_report *r = &m->r;
	struct ho_conn x;
	int pi = -1;

	for (unsigned k = 0; k < h->cfg->npeers && pi < 0; k++)
		if (maglev_node_key32(h->cfg->peers[k].name) == r->node_key)
			pi = (int)k;
	if (pi < 0)
		return move_answer(h, m, HO_ST_NO_NODE);
	if (conn_of_key(h->n, &r->key, &x) < 0)
		return move_answer(h, m, HO_ST_NO_FLOW);
	struct log_flow f;
	log_flow(&f, &r->key);
	log_event(LOG_INFO, "switch_request", KV_S("addr", handoff_endpoint(&m->from, ep, sizeof(ep))),
		  KV_U("switch", r->switch_id), KV_S("app", x.ops->service), KV_FLOW(&f),
		  KV_S("peer", h->cfg->peers[pi].name));
	if (otx_start(h, &x, pi, HO_CAUSE_SWITCH, move_done, m) < 0)
		move_answer(h, m, HO_ST_ERROR);
}

/* MOVEs from the switch: hand that session to node_key's node, then ACK
 * (once the handoff has finished: the loop serves everything else
 * meanwhile). */
void move_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct handoff *h = io->arg;

	for (int i = 0; i < 16; i++) {
		uint8_t buf[CW_MAX_DGRAM];	/* ~30 KiB: a whole cluster map */
		struct move_pending *m;
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct ho_report r;

		if (n < 0)
			return;
		if (!move_check(h, io->fd, buf, (size_t)n, &from, fl, &r))
			continue;
		h->moves++;
		if (!(m = malloc(sizeof(*m)))) {
			h->moves_refused++;
			answer_switch(h, io->fd, &r, HO_ST_ERROR, 0, &from, fl);
			continue;
		}
		m->r = r;
		m->from = from;
		m->fl = fl;
		move_run(h, m);
	}
}

void rep_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct handoff *h = io->arg;
	uint8_t in[512];
	struct ho_report a;

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(io->fd, in, sizeof(in), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (switch_answer(h, in, (size_t)n, &a) < 0)
			continue;
		if (otx_rep_answer(h, &a))
			continue;	/* an outgoing handoff's REDIRECT or RECLAIM */
		/* a LOAD's STALE answer */
		if (a.status == HO_ST_STALE && a.nonce == h->load_nonce)
			learn(h, &a);
	}
}

/* Every second: our load to the switch (HO_OP_LOAD, unanswered), for its
 * load trigger: live sessions and the bytes/s sent since the last one. */
void report_load(struct handoff *h)
{
	uint64_t now = now_ns(), bytes = h->n->st.bytes_out;
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&h->cfg->switch_addr, h->cfg->switch_port, &ss);
	uint8_t buf[HO_REPORT_MAX];
	unsigned live = 0;

	if (h->load_last_ns && now - h->load_last_ns < 900000000ull && !h->load_now)
		return;
	h->load_now = 0;
	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++)
		if ((*o)->live)
			live += (*o)->live(h->n);
	uint64_t mibps = 0;
	if (h->load_last_ns && now > h->load_last_ns)
		mibps = (bytes - h->load_last_bytes) * 1000000000ull / (now - h->load_last_ns) >> 20;
	h->load_last_ns = now;
	h->load_last_bytes = bytes;
	struct ho_report r = { .op = HO_OP_LOAD, .nonce = live > 0xffffff ? 0xffffff : live,
			       .txid = (uint16_t)(mibps > 0xffff ? 0xffff : mibps),
			       .cluster = h->cfg->cluster_id, .node_key = h->my_key };
	r.key.family = 4;
	uint64_t pv;
	int stale;
	if (nfs_policy_summary(h->n, &pv, &stale)) {	/* lib/handoff_wire.h: LOAD */
		wire_put32((uint8_t *)r.key.saddr, (uint32_t)(pv >> 32));
		wire_put32((uint8_t *)r.key.daddr, (uint32_t)pv);
		r.key.sport = htons((uint16_t)(HO_LOAD_POLICY | (stale ? HO_LOAD_POLICY_STALE : 0)));
	}
	stamp(h, &r);
	h->load_nonce = r.nonce;
	size_t len = ho_report_encode(&r, h->node_key.k, h->node_key.len, buf);
	if (sendto(h->rep_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) == (ssize_t)len)
		h->loads_sent++;
}
