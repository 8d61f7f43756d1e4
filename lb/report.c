/*
 * report.c - handoff reports from the storage nodes (lib/handoff_wire.h,
 * "node -> switch report"): the node that hands a session off asks lbd to
 * re-point its 5-tuple to the new node (REDIRECT, sent right after its
 * freeze), and only completes the handoff once lbd's ack says the flow map
 * holds the new owner (a failed handoff re-points it back: RECLAIM).
 *
 * Paired switches: the ack waits until the peer's flow map holds the new
 * owner too (a barrier on tandem-syncd's control socket), so a takeover at
 * that moment cannot send the session back to the old node.
 *
 * Authenticated with the key of the node that sends it (HMAC-SHA256 with
 * K(n), derived from the master key in handoff.key_file: lib/handoff_key.h),
 * so a report is the node's its sender field names: no node can speak for
 * another.  Replay protection (lib/handoff_wire.h): a report must carry
 * this lbd's epoch (chosen at its start: nothing recorded before is taken)
 * and, per node, its (epoch, seq) must grow; a node that does not know our
 * epoch yet (it or we restarted) gets a STALE answer with it and sends
 * again.  Answers go back to the datagram's source.
 *
 * Operator handoff (control command "handoff"): lbd sends a MOVE from this
 * socket to the flow owner's storage address, same port; that node's
 * tandem-nasd hands the session over (its new node re-points the flow with
 * an ordinary REDIRECT here) and then ACKs the MOVE (matched by nonce;
 * replay-checked like reports, by the node's seq).  The control reply waits
 * for that ACK, or REPORT_MOVE_MS.
 */
#include "lbd.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/ctl_server.h"
#include "lib/handoff_key.h"
#include "lib/handoff_wire.h"
#include "lib/wire.h"
#include "lib/keyfile.h"
#include "lb_hash.h"
#include "lib/log.h"
#include "lib/log_flow.h"
#include "lib/maglev.h"

static int node_by_key(const struct lbd *l, uint32_t key)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		if (maglev_node_key32(l->nodes[i].name) == key)
			return (int)i;
	return -1;
}

/* K(n) of the node whose key is node_key, from the master key.  0 / -1 (no
 * such node configured). */
static int node_key_of(const struct lbd *l, uint32_t node_key, uint8_t out[HOKEY_LEN])
{
	int ni = node_by_key(l, node_key);

	if (ni < 0)
		return -1;
	hokey_node(l->report.key, l->report.keylen, l->nodes[ni].name, out);
	return 0;
}

uint32_t report_switch_id(const struct lbd *l)
{
	return l->cfg.sync.enabled ? l->cfg.sync.switch_id : 0;
}

uint64_t report_epoch(struct lbd *l)
{
	if (!l->report.epoch)
		l->report.epoch = ho_new_epoch(0);
	return l->report.epoch;
}

void report_epoch_above(struct lbd *l, uint64_t held)
{
	if (held <= report_epoch(l))
		return;
	l->report.epoch = ho_new_epoch(held);
	l->report.seq = 0;
	log_warnx("handoff: a node holds an epoch of this switch above ours (the clock went back?): "
		  "moved to %llu", (unsigned long long)l->report.epoch);
}

/* The replay window of node_key; with create, a new one if there is room
 * (a free slot, else one of a node no longer configured: the window of a
 * configured node is never forgotten).  NULL if none. */
static struct ho_window *window(struct lbd *l, uint32_t node_key, int create)
{
	struct report_srv *rs = &l->report;
	int slot = -1;

	for (int i = 0; i < REPORT_SENDERS; i++) {
		if (rs->senders[i].key == node_key)
			return &rs->senders[i].w;
		if (slot < 0 && (!rs->senders[i].key || node_by_key(l, rs->senders[i].key) < 0))
			slot = i;
	}
	if (!create || slot < 0)
		return NULL;
	rs->senders[slot].key = node_key;
	memset(&rs->senders[slot].w, 0, sizeof(rs->senders[slot].w));
	return &rs->senders[slot].w;
}

uint64_t report_node_epoch(const struct lbd *l, uint32_t node_key)
{
	for (int i = 0; i < REPORT_SENDERS; i++)
		if (l->report.senders[i].key == node_key)
			return l->report.senders[i].w.epoch;
	return 0;
}

void report_node_learn(struct lbd *l, uint32_t node_key, uint64_t epoch)
{
	struct ho_window *w = window(l, node_key, 1);

	if (w && epoch > w->epoch) {
		w->epoch = epoch;
		w->seq = 0;
	}
}

#define CANCEL_KEEP_MS 120000	/* longer than any node's handoff timeout */

static void remember_cancel(struct lbd *l, const struct ho_report *r)
{
	struct report_srv *rs = &l->report;
	unsigned i = rs->cancelled_next++ % (sizeof(rs->cancelled) / sizeof(rs->cancelled[0]));

	rs->cancelled[i].flow_hash = lb_flow_hash(&r->key);
	rs->cancelled[i].txid = r->txid;
	rs->cancelled[i].at_ms = loop_now_ms();
}

static int is_cancelled(const struct lbd *l, const struct ho_report *r)
{
	const struct report_srv *rs = &l->report;
	uint32_t fh = lb_flow_hash(&r->key);

	for (unsigned i = 0; i < sizeof(rs->cancelled) / sizeof(rs->cancelled[0]); i++)
		if (rs->cancelled[i].at_ms && rs->cancelled[i].flow_hash == fh &&
		    rs->cancelled[i].txid == r->txid && loop_now_ms() - rs->cancelled[i].at_ms < CANCEL_KEEP_MS)
			return 1;
	return 0;
}

static uint8_t handle(struct lbd *l, struct ho_report *r)
{
	struct lb_flow_val v;
	int ni;

	if (r->op == HO_OP_QUERY) {
		if (bpf_map_lookup_elem(l->dp.fd_flows, &r->key, &v) < 0)
			return HO_ST_NO_FLOW;
		ni = sched_node_by_id(l, v.node_id);
		r->node_key = ni >= 0 ? maglev_node_key32(l->nodes[ni].name) : 0;
		return HO_ST_OK;
	}
	ni = node_by_key(l, r->node_key);
	if (ni < 0)
		return HO_ST_NO_NODE;
	if (r->op == HO_OP_REDIRECT && is_cancelled(l, r)) {
		l->report.stale_refused++;
		struct log_flow f;
		log_flow(&f, &r->key);
		log_event(LOG_WARNING, "flow_repoint_refused", KV_FLOW(&f),
			  KV_S("node", l->nodes[ni].name), KV_U("txid", r->txid),
			  KV_S("reason", "its old node already rolled the handoff back"));
		return HO_ST_ERROR;
	}
	if (r->op == HO_OP_RECLAIM)
		remember_cancel(l, r);
	if (!l->nodes[ni].up)
		return HO_ST_NODE_DOWN;
	int old = -1;
	if (bpf_map_lookup_elem(l->dp.fd_flows, &r->key, &v) == 0)
		old = sched_node_by_id(l, v.node_id);
	int rc = flows_set_owner(l, &r->key, l->nodes[ni].id,
				 r->op == HO_OP_SET || r->op == HO_OP_RECLAIM);
	if (rc < 0)
		return HO_ST_ERROR;
	if (rc == 0)
		return HO_ST_NO_FLOW;
	/* per-node handoff counters (nodes reply, SNMP, console): a session
	 * re-pointed from one node to another; a retransmitted report for a
	 * flow already on ni counts nothing */
	if (old >= 0 && old != ni) {
		struct log_flow f;
		l->nodes[old].handoffs_out++;
		l->nodes[ni].handoffs_in++;
		log_flow(&f, &r->key);
		log_event(LOG_INFO, "flow_repoint", KV_FLOW(&f), KV_S("node", l->nodes[ni].name),
			  KV_S("from", l->nodes[old].name),
			  KV_S("cause", r->op == HO_OP_RECLAIM ? "handoff_rollback" : "handoff"));
	}
	return HO_ST_OK;
}

/* Answer node report r (its sender names the node) with an ACK of status
 * st; held: STALE's (the epoch we hold for the node). */
static void answer_held(struct lbd *l, struct ho_report *r, uint8_t st, uint64_t held,
			const struct sockaddr_storage *to, socklen_t tl)
{
	struct report_srv *rs = &l->report;
	uint8_t out[HO_REPORT_MAX], k[HOKEY_LEN];

	if (node_key_of(l, r->sender, k) < 0)
		return;	/* the node left the configuration meanwhile */
	if (st != HO_ST_STALE) {
		rs->handled++;
		if (st != HO_ST_OK)
			rs->failed++;
	}
	r->status = st;
	r->op = HO_OP_ACK;
	r->sender = 0;
	r->switch_id = report_switch_id(l);
	r->peer_epoch = r->epoch;	/* the node's own: it knows the answer is fresh */
	r->epoch = report_epoch(l);
	r->seq = ++rs->seq;
	r->held = held;
	size_t len = ho_report_encode(r, k, sizeof(k), out);
	sendto(rs->io.fd, out, len, MSG_DONTWAIT, (const struct sockaddr *)to, tl);
}

static void answer(struct lbd *l, struct ho_report *r, uint8_t st,
		   const struct sockaddr_storage *to, socklen_t tl)
{
	answer_held(l, r, st, 0, to, tl);
}

/* ---- waiting for the peer (tandem-syncd barrier) ---- */

struct pending {
	struct loop_io io;	/* UNIX socket to syncd; fd -1: free */
	struct lbd *l;
	struct ho_report r;
	struct sockaddr_storage to;
	socklen_t tl;
	char buf[256];
	size_t len;
};

static void pending_done(struct pending *p, uint8_t st)
{
	loop_del(&p->l->loop, &p->io);
	close(p->io.fd);
	p->io.fd = -1;
	answer(p->l, &p->r, st, &p->to, p->tl);
}

static void barrier_reply(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct pending *p = io->arg;
	ssize_t n = recv(io->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		pending_done(p, HO_ST_PEER);
		return;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	if (!memchr(p->buf, '\n', p->len) && p->len < sizeof(p->buf) - 1)
		return;
	/* {"ok":true,...} when the peer holds it (or there is no peer) */
	pending_done(p, strstr(p->buf, "\"ok\":true") ? HO_ST_OK : HO_ST_PEER);
}

/* Start a barrier for r; on any failure answer at once with HO_ST_PEER. */
static void wait_for_peer(struct lbd *l, struct ho_report *r, const struct sockaddr_storage *to,
			  socklen_t tl)
{
	struct report_srv *rs = &l->report;
	struct pending *p = NULL;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[64];

	for (int i = 0; i < REPORT_PENDING && !p; i++)
		if (rs->pending[i].io.fd < 0)
			p = &rs->pending[i];
	if (!p) {
		answer(l, r, HO_ST_PEER, to, tl);
		return;
	}
	p->l = l;
	p->r = *r;
	p->to = *to;
	p->tl = tl;
	p->len = 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->cfg.sync.control_socket);
	int n = snprintf(req, sizeof(req), "{\"cmd\":\"barrier\",\"timeout_ms\":%u}\n",
			 l->cfg.handoff.peer_confirm_ms);
	p->io.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->io.fd < 0 || connect(p->io.fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(p->io.fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		if (p->io.fd >= 0)
			close(p->io.fd);
		p->io.fd = -1;
		answer(l, r, HO_ST_PEER, to, tl);
		return;
	}
	p->io.cb = barrier_reply;
	p->io.arg = p;
	if (loop_add(&l->loop, &p->io, EPOLLIN) < 0) {
		close(p->io.fd);
		p->io.fd = -1;
		answer(l, r, HO_ST_PEER, to, tl);
	}
}

/* ---- operator handoff: MOVE to the owner node, wait for its ACK ---- */

static const char *move_status(uint8_t st)
{
	switch (st) {
	case HO_ST_NO_FLOW: return "no such session on the node";
	case HO_ST_NO_NODE: return "the target is not one of the node's handoff peers";
	case HO_ST_NODE_DOWN: return "the target node is down";
	case HO_ST_PEER: return "the peer switch did not confirm";
	case HO_ST_ERROR: return "the handoff failed (the session stays where it was; see the node's log)";
	case HO_ST_BUSY: return "the session is busy right now (a call forwarded to another node, a large write): try again";
	default: return "unknown status";
	}
}

static void operator_done(struct lbd *l, void *arg, const struct lb_flow_key *k, int ok,
			  const char *err, const char *owner, int status, uint64_t ms);

/*
 * The events of MOVE m: handoff_request when sent (request 1), else
 * handoff_done or handoff_failed.  An operator's moves are NOTICE; the
 * mover's, thousands in a drain, are DEBUG (its move_done sums them up),
 * except an unanswered MOVE: a node whose tandem-nasd does not answer is
 * worth a warning whoever asked.
 */
static void log_move(const struct report_move *m, int request, int ok, const char *err,
		     const char *owner, int status)
{
	int op = m->done == operator_done;
	struct log_flow f;

	log_flow(&f, &m->key);
	if (request)
		log_event(op ? LOG_NOTICE : LOG_DEBUG, "handoff_request", KV_FLOW(&f),
			  KV_S("from", m->from_name), KV_S("node", m->to_name));
	else if (ok)
		log_event(op ? LOG_NOTICE : LOG_DEBUG, "handoff_done", KV_FLOW(&f),
			  KV_S("from", m->from_name), KV_S("node", m->to_name), KV_S("owner", owner),
			  KV_U("ms", loop_now_ms() - m->t0_ms));
	else
		log_event(op || status == MOVE_NO_ANSWER ? LOG_WARNING : LOG_DEBUG, "handoff_failed",
			  KV_FLOW(&f), KV_S("from", m->from_name), KV_S("node", m->to_name),
			  KV_S("reason", err));
}

/* Ends a MOVE: the slot is free again before done runs (done may send more). */
static void move_finish(struct report_move *m, int ok, const char *err, const char *owner,
			int status)
{
	struct lbd *l = m->l;
	struct lb_flow_key k = m->key;
	move_done_fn done = m->done;
	void *arg = m->arg;

	log_move(m, 0, ok, err, owner, status);

	if (ok) {
		l->report.moves_ok++;
		lat_hist_add(&l->report.move_lat, (loop_now_ns() - m->t0_ns) / 1000);
	} else
		l->report.moves_failed++;
	if (m->timer_ok)
		loop_timer_close(&l->loop, &m->timer);
	m->timer_ok = 0;
	m->busy = 0;
	done(l, arg, &k, ok, err, owner, status, loop_now_ms() - m->t0_ms);
}

static void move_timeout(struct loop *lp, struct loop_timer *t)
{
	struct report_move *m = t->arg;
	char err[160];

	snprintf(err, sizeof(err), "no answer from %s's tandem-nasd in %u ms (is it running with "
		 "\"handoff\" configured?)", m->from_name, m->timeout_ms);
	move_finish(m, 0, err, NULL, MOVE_NO_ANSWER);
}

static int move_send(struct lbd *l, struct report_move *m, char *err, size_t errlen);

static void move_ack(struct lbd *l, const struct ho_report *a)
{
	struct report_move *m = NULL;

	for (int i = 0; i < REPORT_MOVES && !m; i++)
		if (l->report.moves[i].busy && l->report.moves[i].nonce == a->nonce &&
		    l->report.moves[i].from_key == a->sender &&
		    !memcmp(&l->report.moves[i].key, &a->key, sizeof(a->key)))
			m = &l->report.moves[i];
	if (!m) {
		l->report.rejected++;
		return;
	}
	if (a->status == HO_ST_STALE && m->stale < 2) {
		/* the node had not heard of our epoch (it restarted), or holds
		 * a higher one of ours: nothing was done; it is known now */
		char err[200];
		m->stale++;
		report_epoch_above(l, a->held);
		if (move_send(l, m, err, sizeof(err)) == 0)
			return;
		move_finish(m, 0, err, NULL, HO_ST_ERROR);
		return;
	}
	if (a->status != HO_ST_OK) {
		char err[320];
		snprintf(err, sizeof(err), "%s -> %s: %s", m->from_name, m->to_name,
			 move_status(a->status));
		move_finish(m, 0, err, NULL, a->status);
		return;
	}
	struct lb_flow_val v;
	const char *owner = "?";
	if (bpf_map_lookup_elem(l->dp.fd_flows, &m->key, &v) == 0) {
		int ni = sched_node_by_id(l, v.node_id);
		if (ni >= 0)
			owner = l->nodes[ni].name;
	}
	move_finish(m, 1, NULL, owner, HO_ST_OK);
}

/* Send MOVE m (again) to its node: sealed with the node's key, with our
 * epoch, a new seq, and the node's epoch as we know it.  0, or -1 with a
 * message. */
static int move_send(struct lbd *l, struct report_move *m, char *err, size_t errlen)
{
	struct report_srv *rs = &l->report;
	const struct taddr *na = &l->cfg.nodes[m->from].addr;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(l->cfg.handoff.port) };
	uint8_t out[HO_REPORT_MAX], k[HOKEY_LEN];

	if (node_key_of(l, m->from_key, k) < 0) {
		snprintf(err, errlen, "%s is no longer configured", m->from_name);
		return -1;
	}
	if (na->family == 4) {	/* the socket is dual-stack: v4-mapped */
		sa.sin6_addr.s6_addr[10] = sa.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa.sin6_addr.s6_addr[12], na->a, 4);
	} else {
		memcpy(&sa.sin6_addr, na->a, 16);
	}
	struct ho_report r = { .op = HO_OP_MOVE, .nonce = m->nonce, .cluster = l->cfg.handoff.cluster_id,
			       .key = m->key, .node_key = m->to_key, .sender = 0,
			       .switch_id = report_switch_id(l), .epoch = report_epoch(l),
			       .seq = ++rs->seq, .peer_epoch = report_node_epoch(l, m->from_key) };
	size_t len = ho_report_encode(&r, k, sizeof(k), out);
	if (sendto(rs->io.fd, out, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)len) {
		snprintf(err, errlen, "sending the handoff request to %s: %s", m->from_name, strerror(errno));
		return -1;
	}
	return 0;
}

int report_send_move(struct lbd *l, const struct lb_flow_key *k, int from, int to,
		     unsigned timeout_ms, move_done_fn done, void *arg, char *err, size_t errlen)
{
	struct report_srv *rs = &l->report;
	struct report_move *m = NULL;

	if (!l->cfg.handoff.enabled || rs->io.fd < 0) {
		snprintf(err, errlen, "handoff reports are not configured (\"handoff\" section)");
		return -1;
	}
	for (int i = 0; i < REPORT_MOVES && !m; i++)
		if (!rs->moves[i].busy)
			m = &rs->moves[i];
	if (!m) {
		snprintf(err, errlen, "too many handoffs in progress (%d)", REPORT_MOVES);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->l = l;
	m->done = done;
	m->arg = arg;
	m->timeout_ms = timeout_ms;
	m->key = *k;
	m->from = from;
	m->to = to;
	snprintf(m->from_name, sizeof(m->from_name), "%s", l->nodes[from].name);
	snprintf(m->to_name, sizeof(m->to_name), "%s", l->nodes[to].name);
	m->from_key = maglev_node_key32(m->from_name);
	m->to_key = maglev_node_key32(m->to_name);
	if (getrandom(&m->nonce, sizeof(m->nonce), 0) != sizeof(m->nonce))
		m->nonce = (uint32_t)loop_now_ns();
	m->nonce &= 0xffffff;
	if (loop_timer_init(&l->loop, &m->timer, move_timeout, m) < 0) {
		snprintf(err, errlen, "timer: %s", strerror(errno));
		return -1;
	}
	if (loop_timer_set(&m->timer, timeout_ms, 0) < 0) {
		snprintf(err, errlen, "timer: %s", strerror(errno));
		loop_timer_close(&l->loop, &m->timer);
		return -1;
	}
	if (move_send(l, m, err, errlen) < 0) {
		loop_timer_close(&l->loop, &m->timer);
		return -1;
	}
	m->timer_ok = 1;
	m->t0_ms = loop_now_ms();
	m->t0_ns = loop_now_ns();
	m->busy = 1;
	rs->moves_sent++;
	log_move(m, 1, 0, NULL, NULL, 0);
	return 0;
}

/* The operator's "handoff" command: its deferred control reply. */
struct operator_move {
	struct ctl_deferred *d;
	char from[CFG_NAME_MAX + 1], to[CFG_NAME_MAX + 1];
};

static void operator_done(struct lbd *l, void *arg, const struct lb_flow_key *k, int ok,
			  const char *err, const char *owner, int status, uint64_t ms)
{
	struct operator_move *om = arg;
	json_t *r;

	(void)k;
	(void)status;
	if (!ok) {
		r = ctl_error("%s", err);
	} else {
		r = ctl_ok();
		json_object_set_new(r, "from", json_string(om->from));
		json_object_set_new(r, "to", json_string(om->to));
		json_object_set_new(r, "owner", json_string(owner));
		json_object_set_new(r, "elapsed_ms", json_integer((json_int_t)ms));
	}
	if (om->d)
		ctl_deferred_reply(om->d, r);
	else
		json_decref(r);
	free(om);
}

json_t *report_move(struct lbd *l, const struct lb_flow_key *k, int from, int to)
{
	char err[200];
	struct operator_move *om = calloc(1, sizeof(*om));

	if (!om)
		return ctl_error("out of memory");
	snprintf(om->from, sizeof(om->from), "%s", l->nodes[from].name);
	snprintf(om->to, sizeof(om->to), "%s", l->nodes[to].name);
	if (report_send_move(l, k, from, to, REPORT_MOVE_MS, operator_done, om, err, sizeof(err)) < 0) {
		free(om);
		return ctl_error("%s", err);
	}
	/* dispatch is running: deferring cannot fail here (the ack comes later) */
	om->d = ctl_server_defer(&l->ctl);
	return NULL;
}

/* A datagram on the report socket that is a node's message for us:
 * authenticated with the key of the node it names, of our cluster, fresh
 * (else counted, and answered STALE when only an epoch was wrong).  1 with
 * it in *r, or 0. */
/*
 * The NFS export policy the cluster enforces.  Every node resolves its
 * policy from its own replica of the directory and reports the digest
 * (doc/directory.md "Export policy"); nodes reading the same directory hold
 * the same digest, so the version a strict majority of the fresh nodes
 * (reporting, not stale) enforce is the cluster's, and a node enforcing
 * another one for longer than a change takes to reach every node
 * (REPORT_POLICY_GRACE_MS: refresh and replication, with margin) is shown
 * as disagreeing (report_policy_mismatch): its replica or its NSS is not
 * what the others read.
 */
#define REPORT_POLICY_FRESH_MS 5000
#define REPORT_POLICY_GRACE_MS 10000

static int policy_fresh(const struct node_rt *n, uint64_t now)
{
	return n->load_at_ms && now - n->load_at_ms < REPORT_POLICY_FRESH_MS &&
	       (n->policy_flags & HO_LOAD_POLICY) && !(n->policy_flags & HO_LOAD_POLICY_STALE);
}

static void policy_agree(struct lbd *l)
{
	struct report_srv *rs = &l->report;
	uint64_t now = loop_now_ms(), best = 0;
	unsigned fresh = 0, most = 0;

	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		unsigned same = 0;

		if (!policy_fresh(&l->nodes[i], now))
			continue;
		fresh++;
		for (unsigned k = 0; k < l->cfg.nnodes; k++)
			same += policy_fresh(&l->nodes[k], now) &&
				l->nodes[k].policy_version == l->nodes[i].policy_version;
		if (same > most) {
			most = same;
			best = l->nodes[i].policy_version;
		}
	}
	if (!fresh || 2 * most <= fresh) {
		rs->policy_has_agreed = 0;
		return;
	}
	if (!rs->policy_has_agreed || rs->policy_agreed != best)
		rs->policy_agreed_since_ms = now;
	rs->policy_agreed = best;
	rs->policy_has_agreed = 1;
}

int report_policy_mismatch(const struct lbd *l, unsigned i, uint64_t *agreed)
{
	const struct report_srv *rs = &l->report;
	const struct node_rt *n = &l->nodes[i];
	uint64_t now = loop_now_ms();

	if (!rs->policy_has_agreed || !policy_fresh(n, now))
		return 0;
	*agreed = rs->policy_agreed;
	return n->policy_version != rs->policy_agreed &&
	       now - rs->policy_agreed_since_ms >= REPORT_POLICY_GRACE_MS &&
	       now - n->policy_since_ms >= REPORT_POLICY_GRACE_MS;
}

static int take(struct lbd *l, const uint8_t *buf, size_t n, struct ho_report *r,
		const struct sockaddr_storage *from, socklen_t fl)
{
	struct report_srv *rs = &l->report;
	uint8_t k[HOKEY_LEN];
	uint32_t sender;
	const char *why = "unknown sender";

	if (ho_report_sender(buf, n, &sender) < 0 || node_key_of(l, sender, k) < 0 ||
	    ho_report_parse(buf, n, k, sizeof(k), r, &why) < 0) {
		rs->rejected++;
		log_debug("handoff report refused: %s", why);
		return 0;
	}
	if (r->op == HO_OP_MOVE || r->cluster != l->cfg.handoff.cluster_id) {
		rs->rejected++;
		return 0;
	}
	struct ho_window *w = window(l, sender, 1);
	int fresh = w ? ho_fresh(w, r->epoch, r->seq, 0) : 0;
	if (fresh == 0) {
		rs->replayed++;
		return 0;
	}
	if (fresh < 0 || r->peer_epoch != report_epoch(l)) {
		/* from before our start, from an older start of the node, or the
		 * node does not know our epoch yet: nothing done, say which */
		rs->replayed++;
		log_debug("handoff report from %08x: %s epoch: answered STALE", sender,
			  fresh < 0 ? "an old node" : "another switch");
		if (r->op != HO_OP_ACK)
			answer_held(l, r, HO_ST_STALE, w->epoch, from, fl);
		return 0;
	}
	ho_fresh(w, r->epoch, r->seq, 1);
	return 1;
}

static void readable(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	struct report_srv *rs = &l->report;
	uint8_t buf[512];
	struct sockaddr_storage from;

	for (int i = 0; i < 64; i++) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct ho_report r;

		if (n < 0)
			return;
		if (!take(l, buf, (size_t)n, &r, &from, fl))
			continue;
		if (r.op == HO_OP_ACK) {	/* a node's answer to our MOVE */
			move_ack(l, &r);
			continue;
		}
		if (r.op == HO_OP_LOAD) {	/* not answered */
			int ni = node_by_key(l, r.sender);
			if (ni < 0 || r.node_key != r.sender) {
				rs->rejected++;
				continue;
			}
			l->nodes[ni].load_sessions = r.nonce;
			l->nodes[ni].load_mibps = r.txid;
			l->nodes[ni].load_at_ms = loop_now_ms();
			uint64_t pv = (uint64_t)wire_get32((const uint8_t *)r.key.saddr) << 32 |
				      wire_get32((const uint8_t *)r.key.daddr);
			if (pv != l->nodes[ni].policy_version || !l->nodes[ni].policy_since_ms)
				l->nodes[ni].policy_since_ms = loop_now_ms();
			l->nodes[ni].policy_flags = ntohs(r.key.sport);
			l->nodes[ni].policy_version = pv;
			rs->loads++;
			policy_agree(l);
			continue;
		}
		uint8_t st = handle(l, &r);
		if (st == HO_ST_OK && r.op != HO_OP_QUERY && l->cfg.sync.enabled)
			wait_for_peer(l, &r, &from, fl);
		else
			answer(l, &r, st, &from, fl);
	}
}

int report_open(struct lbd *l)
{
	struct report_srv *rs = &l->report;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	char err[300];
	int zero = 0;

	rs->io.fd = -1;
	if (!l->cfg.handoff.enabled)
		return 0;
	rs->pending = calloc(REPORT_PENDING, sizeof(*rs->pending));
	if (!rs->pending)
		return -1;
	for (int i = 0; i < REPORT_PENDING; i++)
		rs->pending[i].io.fd = -1;
	if (keyfile_load(l->cfg.handoff.key_file, rs->key, &rs->keylen, err, sizeof(err)) < 0) {
		log_warnx("handoff: %s", err);
		return -1;
	}
	/* One dual-stack socket: nodes report over IPv4 or IPv6. */
	sa.sin6_port = htons(l->cfg.handoff.port);
	rs->io.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rs->io.fd < 0 ||
	    setsockopt(rs->io.fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    bind(rs->io.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_warn("handoff report socket on port %u", l->cfg.handoff.port);
		return -1;
	}
	report_epoch(l);
	rs->io.cb = readable;
	rs->io.arg = l;
	return loop_add(&l->loop, &rs->io, EPOLLIN);
}

void report_close(struct lbd *l)
{
	for (int i = 0; i < REPORT_MOVES; i++)
		if (l->report.moves[i].busy)
			move_finish(&l->report.moves[i], 0, "lbd is shutting down", NULL, HO_ST_ERROR);
	for (int i = 0; l->report.pending && i < REPORT_PENDING; i++)
		if (l->report.pending[i].io.fd >= 0)
			pending_done(&l->report.pending[i], HO_ST_PEER);
	free(l->report.pending);
	l->report.pending = NULL;
	if (l->report.io.fd < 0)
		return;
	loop_del(&l->loop, &l->report.io);
	close(l->report.io.fd);
	l->report.io.fd = -1;
}
