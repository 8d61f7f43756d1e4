/*
 * report.c - handoff reports from the storage nodes (lib/handoff_wire.h,
 * "node -> switch report"): a node that takes over a session asks lbd to
 * re-point its 5-tuple, and may only resume the session once lbd's ack says
 * the flow map holds the new owner.
 *
 * Paired switches: the ack waits until the peer's flow map holds the new
 * owner too (a barrier on tandem-syncd's control socket), so a takeover at
 * that moment cannot send the session back to the old node.
 *
 * Authenticated with the handoff key (HMAC-SHA256); replay protection: each
 * sender's seq must grow (nodes use a clock-based seq, so it grows across
 * their restarts too; a node retransmitting an unanswered report takes a
 * new seq).  Answers go back to the datagram's source.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "handoff_wire.h"
#include "keyfile.h"
#include "log.h"
#include "maglev.h"

static uint32_t node_key(const char *name)
{
	uint32_t k = (uint32_t)maglev_key(name);

	return k ? k : 1;	/* as tandem-syncd and tandem-nasd compute it */
}

static int node_by_key(const struct lbd *l, uint32_t key)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		if (node_key(l->nodes[i].name) == key)
			return (int)i;
	return -1;
}

/* Replay: the highest seq seen per sender (a small table: one per node). */
static int fresh(struct lbd *l, uint32_t sender, uint64_t seq)
{
	struct report_srv *rs = &l->report;
	int free_slot = -1;

	for (int i = 0; i < REPORT_SENDERS; i++) {
		if (rs->senders[i].key == sender) {
			if (seq <= rs->senders[i].seq)
				return 0;
			rs->senders[i].seq = seq;
			return 1;
		}
		if (!rs->senders[i].key && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		free_slot = (int)(seq % REPORT_SENDERS);	/* table full: recycle */
	rs->senders[free_slot].key = sender;
	rs->senders[free_slot].seq = seq;
	return 1;
}

static uint8_t handle(struct lbd *l, struct ho_report *r)
{
	struct lb_flow_val v;
	int ni;

	if (r->op == HO_OP_QUERY) {
		if (bpf_map_lookup_elem(l->dp.fd_flows, &r->key, &v) < 0)
			return HO_ST_NO_FLOW;
		ni = sched_node_by_id(l, v.node_id);
		r->node_key = ni >= 0 ? node_key(l->nodes[ni].name) : 0;
		return HO_ST_OK;
	}
	ni = node_by_key(l, r->node_key);
	if (ni < 0)
		return HO_ST_NO_NODE;
	if (!l->nodes[ni].up)
		return HO_ST_NODE_DOWN;
	int rc = flows_set_owner(l, &r->key, l->nodes[ni].id, r->op == HO_OP_SET);
	if (rc < 0)
		return HO_ST_ERROR;
	if (rc == 0)
		return HO_ST_NO_FLOW;
	return HO_ST_OK;
}

static void answer(struct lbd *l, struct ho_report *r, uint8_t st,
		   const struct sockaddr_storage *to, socklen_t tl)
{
	struct report_srv *rs = &l->report;
	uint8_t out[HO_REPORT_MAX];

	rs->handled++;
	if (st != HO_ST_OK)
		rs->failed++;
	r->status = st;
	r->op = HO_OP_ACK;
	r->sender = 0;
	r->seq = ++rs->seq;
	size_t len = ho_report_encode(r, rs->key, rs->keylen, out);
	sendto(rs->io.fd, out, len, MSG_DONTWAIT, (const struct sockaddr *)to, tl);
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
		const char *why;

		if (n < 0)
			return;
		if (ho_report_parse(buf, (size_t)n, rs->key, rs->keylen, &r, &why) < 0) {
			rs->rejected++;
			log_debug("handoff report refused: %s", why);
			continue;
		}
		if (r.op == HO_OP_ACK || r.cluster != l->cfg.handoff.cluster_id) {
			rs->rejected++;
			continue;
		}
		if (!fresh(l, r.sender, r.seq)) {
			rs->replayed++;
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
	rs->seq = loop_now_ns();
	rs->io.cb = readable;
	rs->io.arg = l;
	return loop_add(&l->loop, &rs->io, EPOLLIN);
}

void report_close(struct lbd *l)
{
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
