/*
 * report.c - the handoff engine and the switch (lbd's lb/report.c,
 * lib/handoff_wire.h "reports"): the old node's REDIRECT (and a rollback's
 * RECLAIM) with its retries until lbd's ACK; the switch's MOVE requests
 * (operator handoff, drain, load trigger through lbd), checked against
 * replay per switch address; this node's LOAD report every second.
 * Reports go out on h->rep_fd; MOVEs arrive on h->mv, which also carries
 * lbd's cluster map for the NFS service.
 */
#include "handoff_int.h"
#include "storage/nfs/nfs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/cluster_wire.h"
#include "lib/log.h"
#include "lib/maglev.h"

/* The seq of a report or an ACK: the CLOCK_REALTIME time in ns, and always
 * above the last one (lbd refuses a seq not above the last it saw from this
 * node). */
static uint64_t next_rep_seq(struct handoff *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t seq = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	h->rep_seq = seq > h->rep_seq ? seq : h->rep_seq + 1;
	return h->rep_seq;
}

/* One try of report p: a new seq and nonce.  0, or -1 with a message (the
 * sendto failed: rep_wait counts it as a lost try). */
static int rep_try(struct handoff *h, struct rep_pending *p, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&h->cfg->switch_addr, h->cfg->switch_port, &ss);
	uint8_t buf[HO_REPORT_MAX];
	uint64_t seq = next_rep_seq(h);

	p->r.seq = seq;
	if (getrandom(&p->r.nonce, sizeof(p->r.nonce), 0) != sizeof(p->r.nonce))
		p->r.nonce = (uint32_t)seq;
	p->r.nonce &= 0xffffff;
	size_t len = ho_report_encode(&p->r, h->shared.k, h->shared.len, buf);
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
	p->want = maglev_node_key32(to);
	p->to = to;
	p->r = (struct ho_report){ .op = op, .txid = (uint16_t)txid, .cluster = h->cfg->cluster_id,
				   .key = *key, .node_key = p->want, .sender = h->my_key };
	return rep_try(h, p, err, errlen);
}

/* 0 once the switch acked p, or -1 with a message (refused, or no ACK
 * after report_tries tries: it may still have done it). */
int rep_wait(struct handoff *h, struct rep_pending *p, char *err, size_t errlen)
{
	uint8_t in[512];
	int last_status = -1;

	for (;;) {
		uint64_t end = p->sent_ns + (uint64_t)h->cfg->report_timeout_ms * 1000000;
		for (;;) {
			spin_readable(h->rep_fd, h->cfg->spin_us);
			int64_t left = (int64_t)(end - now_ns()) / 1000000;
			struct pollfd pf = { .fd = h->rep_fd, .events = POLLIN };
			/* an ACK may be queued already: look before giving up */
			if (poll(&pf, 1, left > 0 ? (int)left : 0) <= 0)
				break;
			ssize_t n = recv(h->rep_fd, in, sizeof(in), MSG_DONTWAIT);
			struct ho_report a;
			const char *why;
			if (n <= 0 || ho_report_parse(in, (size_t)n, h->shared.k, h->shared.len, &a, &why) < 0)
				continue;
			if (a.op != HO_OP_ACK || a.nonce != p->r.nonce)
				continue;	/* an answer to an earlier try or report */
			if (a.status == HO_ST_OK && a.node_key == p->want)
				return 0;
			last_status = a.status;
			if (a.status != HO_ST_PEER)	/* definite refusal */
				goto refused;
			break;
		}
		if (p->tries >= h->cfg->report_tries)
			break;
		rep_try(h, p, err, errlen);	/* a failed sendto counts as a lost try */
	}
	h->report_failed++;
	if (last_status >= 0)
		snprintf(err, errlen, "switch refused the redirect to %s (status %d)", p->to, last_status);
	else
		snprintf(err, errlen, "no ack from the switch for the redirect to %s (%u tries)", p->to,
			 h->cfg->report_tries);
	return -1;
refused:
	h->report_failed++;
	snprintf(err, errlen, "switch refused the redirect to %s (status %d)", p->to, last_status);
	return -1;
}

int report_redirect(struct handoff *h, uint8_t op, const struct lb_flow_key *key,
			   const char *to, uint32_t txid, char *err, size_t errlen)
{
	struct rep_pending p;

	rep_send(h, &p, op, key, to, txid, err, errlen);	/* a lost first try: rep_wait retries */
	return rep_wait(h, &p, err, errlen);
}

/* Replay: each switch (by address) must send an increasing seq. */
static int sw_fresh(struct handoff *h, const struct taddr *a, uint64_t seq)
{
	int free_slot = -1;

	for (int i = 0; i < 4; i++) {
		if (h->sw_seq[i].a.family && taddr_equal(&h->sw_seq[i].a, a)) {
			if (seq <= h->sw_seq[i].seq)
				return 0;
			h->sw_seq[i].seq = seq;
			return 1;
		}
		if (!h->sw_seq[i].a.family && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		free_slot = (int)(seq % 4);
	h->sw_seq[free_slot].a = *a;
	h->sw_seq[free_slot].seq = seq;
	return 1;
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
 * lib/cluster_wire.h). */
static int move_check(struct handoff *h, int fd, const uint8_t *buf, size_t n,
		      const struct sockaddr_storage *from, socklen_t fl, struct ho_report *r)
{
	const char *why;
	struct taddr fa;
	uint16_t fp;
	char ep[TADDR_STRLEN + 10];

	if (cw_is_cluster(buf, n)) {
		nfs_cluster_input(h->n, fd, buf, n, from, fl, h->shared.k, h->shared.len,
				  h->cfg->cluster_id);
		return 0;
	}
	if (ho_report_parse(buf, n, h->shared.k, h->shared.len, r, &why) < 0) {
		log_debug("handoff: switch request refused: %s", why);
		h->rej_sw_bad++;
		return 0;
	}
	if (r->op != HO_OP_MOVE || r->sender != 0 || r->cluster != h->cfg->cluster_id) {
		h->rej_sw_bad++;
		return 0;
	}
	if (taddr_from_sockaddr(from, &fa, &fp) < 0)
		fp = 0;
	if (!sw_fresh(h, &fa, r->seq)) {
		log_warnx("handoff: replayed switch request from %s refused",
			  handoff_endpoint(from, ep, sizeof(ep)));
		h->rej_sw_replay++;
		return 0;
	}
	return 1;
}

/* Run the switch's MOVE r (synchronous: the handoff has finished when this
 * returns); the status for its ACK. */
static uint8_t move_run(struct handoff *h, const struct ho_report *r,
			const struct sockaddr_storage *from)
{
	char ep[TADDR_STRLEN + 10];
	struct ho_conn x;
	uint8_t st;
	int pi = -1;

	for (unsigned k = 0; k < h->cfg->npeers && pi < 0; k++)
		if (maglev_node_key32(h->cfg->peers[k].name) == r->node_key)
			pi = (int)k;
	if (pi < 0)
		return HO_ST_NO_NODE;
	if (conn_of_key(h->n, &r->key, &x) < 0)
		return HO_ST_NO_FLOW;
	log_info("handoff: the switch (%s) asks for an %s session's move to %s",
		 handoff_endpoint(from, ep, sizeof(ep)), x.ops->label, h->cfg->peers[pi].name);
	json_t *res = run_one(h, &x, pi);	/* the connection may be gone after this */
	st = json_is_true(json_object_get(res, "ok")) ? HO_ST_OK :
	     json_is_true(json_object_get(res, "busy")) ? HO_ST_BUSY : HO_ST_ERROR;
	json_decref(res);
	return st;
}

/* A MOVE from the switch: hand that session to node_key's node, then ACK
 * (synchronous: the handoff has finished when the ACK goes out). */
void move_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct handoff *h = io->arg;

	for (int i = 0; i < 16; i++) {
		uint8_t buf[CW_MAX_DGRAM], out[HO_REPORT_MAX];	/* ~30 KiB: a whole cluster map */
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct ho_report r;

		if (n < 0)
			return;
		if (!move_check(h, io->fd, buf, (size_t)n, &from, fl, &r))
			continue;
		h->moves++;
		uint8_t st = move_run(h, &r, &from);
		if (st == HO_ST_OK)
			h->moves_ok++;
		else
			h->moves_refused++;
		r.op = HO_OP_ACK;
		r.status = st;
		r.sender = h->my_key;
		r.seq = next_rep_seq(h);
		size_t len = ho_report_encode(&r, h->shared.k, h->shared.len, out);
		if (sendto(io->fd, out, len, MSG_DONTWAIT, (struct sockaddr *)&from, fl) != (ssize_t)len)
			log_warn("handoff: answering the switch");
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

	if (h->load_last_ns && now - h->load_last_ns < 900000000ull)
		return;
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
			       .cluster = h->cfg->cluster_id, .node_key = h->my_key,
			       .sender = h->my_key, .seq = next_rep_seq(h) };
	r.key.family = 4;
	size_t len = ho_report_encode(&r, h->shared.k, h->shared.len, buf);
	if (sendto(h->rep_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) == (ssize_t)len)
		h->loads_sent++;
}
