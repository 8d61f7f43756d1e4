/*
 * health.c - TCP connect checks, one per (node, TCP port) over all services.
 *
 * A check connects to the node's own address (not the VIP: the switch cannot
 * address one node's VIP) on the service port, non-blocking, with a deadline.
 * rise successes in a row mark it up, fall failures mark it down; the
 * scheduler is told only when a state flips.  All checks are driven by the
 * one periodic tick of lbd's loop.
 */
#include "lbd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

struct hcheck *health_find(struct lbd *l, int node, uint16_t port)
{
	for (unsigned i = 0; i < l->nchecks; i++)
		if (l->checks[i].node == node && l->checks[i].port == port)
			return &l->checks[i];
	return NULL;
}

int health_state(const struct lbd *l, int node, uint16_t port)
{
	for (unsigned i = 0; i < l->nchecks; i++)
		if (l->checks[i].node == node && l->checks[i].port == port)
			return l->checks[i].ok;
	return -1;
}

static void check_stop(struct lbd *l, struct hcheck *c)
{
	if (c->io.fd >= 0) {
		loop_del(&l->loop, &c->io);
		close(c->io.fd);
		c->io.fd = -1;
	}
}

static void verdict(struct lbd *l, struct hcheck *c, int good, const char *why)
{
	check_stop(l, c);
	c->probed = 1;
	c->due_ms = loop_now_ms() + l->cfg.health.interval_ms;
	snprintf(c->last_error, sizeof(c->last_error), "%s", good ? "" : why);
	if (good) {
		c->fall_cnt = 0;
		if (c->rise_cnt < l->cfg.health.rise)
			c->rise_cnt++;
		if (!c->ok && c->rise_cnt >= l->cfg.health.rise) {
			c->ok = 1;
			log_info("node %s tcp/%u: check passed", l->nodes[c->node].name, c->port);
			l->sched_dirty = 1;
		}
	} else {
		c->rise_cnt = 0;
		if (c->fall_cnt < l->cfg.health.fall)
			c->fall_cnt++;
		if ((c->ok || !c->seen) && c->fall_cnt >= l->cfg.health.fall) {
			if (c->ok)
				log_warnx("node %s tcp/%u: check failed: %s", l->nodes[c->node].name,
					  c->port, why);
			c->ok = 0;
			l->sched_dirty = 1;
		}
	}
	if (c->rise_cnt >= l->cfg.health.rise || c->fall_cnt >= l->cfg.health.fall)
		c->seen = 1;
}

static void check_ready(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct hcheck *c = io->arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	verdict(c->lbd, c, err == 0, err ? strerror(err) : "");
}

static void check_start(struct lbd *l, struct hcheck *c)
{
	const struct cfg_node *cn = &l->cfg.nodes[c->node];
	struct sockaddr_storage ss;
	socklen_t sl;

	sl = taddr_sockaddr(&cn->addr, c->port, &ss);
	c->io.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->io.fd < 0) {
		verdict(l, c, 0, "socket failed");
		return;
	}
	c->deadline_ms = loop_now_ms() + l->cfg.health.timeout_ms;
	if (connect(c->io.fd, (struct sockaddr *)&ss, sl) == 0) {
		verdict(l, c, 1, "");
		return;
	}
	if (errno != EINPROGRESS) {
		verdict(l, c, 0, strerror(errno));
		return;
	}
	if (loop_add(&l->loop, &c->io, EPOLLOUT) < 0)
		verdict(l, c, 0, "epoll failed");
}

void health_tick(struct lbd *l)
{
	uint64_t now = loop_now_ms();

	for (unsigned i = 0; i < l->nchecks; i++) {
		struct hcheck *c = &l->checks[i];
		if (c->io.fd >= 0 && now >= c->deadline_ms)
			verdict(l, c, 0, "timeout");
		else if (c->io.fd < 0 && now >= c->due_ms)
			check_start(l, c);
	}
}

void health_free(struct lbd *l)
{
	for (unsigned i = 0; i < l->nchecks; i++)
		check_stop(l, &l->checks[i]);
	free(l->checks);
	l->checks = NULL;
	l->nchecks = 0;
}

/*
 * Rebuild the check list from the config.  A check that existed before
 * (same node name and port) keeps its state, so a reload does not flap
 * nodes.  A new check starts in the state the data plane shows (node up and
 * in the port's Maglev table), so a restarted lbd neither takes working
 * nodes out nor lets failed services back in while its first checks run.
 */
int health_setup(struct lbd *l)
{
	uint16_t ports[LB_MAX_SVCS];
	unsigned nports = 0;
	struct hcheck *old = l->checks;
	unsigned nold = l->nchecks;

	for (unsigned i = 0; i < nold; i++)
		check_stop(l, &old[i]);
	for (unsigned v = 0; v < l->cfg.nvips; v++)
		for (unsigned s = 0; s < l->cfg.vips[v].nsvc; s++) {
			const struct cfg_service *cs = &l->cfg.vips[v].svc[s];
			int dup = 0;
			if (cs->proto != IPPROTO_TCP)
				continue;
			for (unsigned k = 0; k < nports; k++)
				dup |= ports[k] == cs->port;
			if (!dup)
				ports[nports++] = cs->port;
		}
	l->nchecks = l->cfg.nnodes * nports;
	l->checks = calloc(l->nchecks ? l->nchecks : 1, sizeof(*l->checks));
	if (!l->checks) {
		l->checks = old;
		l->nchecks = nold;
		return -1;
	}
	uint64_t now = loop_now_ms();
	unsigned k = 0;
	for (unsigned n = 0; n < l->cfg.nnodes; n++)
		for (unsigned p = 0; p < nports; p++, k++) {
			struct hcheck *c = &l->checks[k];
			c->io.fd = -1;
			c->io.cb = check_ready;
			c->io.arg = c;
			c->lbd = l;
			c->node = (int)n;
			c->port = ports[p];
			snprintf(c->node_name, sizeof(c->node_name), "%s", l->nodes[n].name);
			/* spread first checks over the interval */
			c->due_ms = now + (l->cfg.health.interval_ms * k) / (l->nchecks + 1);
			/* A drained node is in no table: trust its node state. */
			c->ok = l->nodes[n].up &&
				(l->nodes[n].drain || sched_node_was_in(l, (int)n, c->port));
			c->seen = c->ok;
			if (c->ok)
				c->rise_cnt = l->cfg.health.rise;
			for (unsigned o = 0; o < nold; o++)
				if (old[o].port == c->port && !strcmp(old[o].node_name, l->nodes[n].name)) {
					c->ok = old[o].ok;
					c->seen = old[o].seen;
					c->rise_cnt = old[o].rise_cnt;
					c->fall_cnt = old[o].fall_cnt;
				}
		}
	free(old);
	return 0;
}

/*
 * lbd is ready (may carry traffic as VRRP master) once every check has
 * probed at least once since start and no node is held down by something
 * else than its checks: a node whose check passes but whose MAC is not
 * resolved yet (right after a restart, the neighbour table may say FAILED)
 * would make the data plane re-hash its flows onto other nodes.
 */
int health_ready(const struct lbd *l, char *why, size_t whylen)
{
	for (unsigned i = 0; i < l->nchecks; i++)
		if (!l->checks[i].probed) {
			snprintf(why, whylen, "node %s tcp/%u not checked yet", l->checks[i].node_name,
				 l->checks[i].port);
			return 0;
		}
	for (unsigned n = 0; n < l->cfg.nnodes; n++) {
		int any_ok = 0;
		for (unsigned i = 0; i < l->nchecks; i++)
			any_ok |= l->checks[i].node == (int)n && l->checks[i].ok;
		if (any_ok && !l->nodes[n].up && l->nodes[n].link_up && l->storage_up) {
			snprintf(why, whylen, "node %s answers but is not up yet (%s)", l->nodes[n].name,
				 l->nodes[n].mac_ok ? "state" : "MAC unresolved");
			return 0;
		}
	}
	return 1;
}
