/*
 * health.c - health checks, one per (node, proto/port) over all services:
 * TCP ports always (a connect, plus the port's probe if it has one), UDP
 * ports that have a probe (lb/probe.c does the I/O).
 *
 * A check goes to the node's own address (not the VIP: the switch cannot
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

int health_state(const struct lbd *l, int node, uint8_t proto, uint16_t port)
{
	for (unsigned i = 0; i < l->nchecks; i++)
		if (l->checks[i].node == node && l->checks[i].proto == proto &&
		    l->checks[i].port == port)
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

/* Check c changed state: health_up, or health_down with the failure why. */
static void log_check(const struct lbd *l, const struct hcheck *c, int up, const char *why)
{
	char service[16];

	snprintf(service, sizeof(service), "%s/%u", proto_name(c->proto), c->port);
	if (up)
		log_event(LOG_NOTICE, "health_up", KV_S("node", l->nodes[c->node].name),
			  KV_S("service", service), KV_U("rtt_ms", c->rtt_ms));
	else
		log_event(LOG_WARNING, "health_down", KV_S("node", l->nodes[c->node].name),
			  KV_S("service", service), KV_S("reason", why));
}

static void verdict(struct lbd *l, struct hcheck *c, int good, const char *why)
{
	check_stop(l, c);
	c->probed = 1;
	c->due_ms = loop_now_ms() + l->cfg.health.interval_ms;
	snprintf(c->last_error, sizeof(c->last_error), "%s", good ? "" : why);
	if (good) {
		c->rtt_ms = loop_now_ms() - c->started_ms;
		c->fall_cnt = 0;
		if (c->rise_cnt < l->cfg.health.rise)
			c->rise_cnt++;
		if (!c->ok && c->rise_cnt >= l->cfg.health.rise) {
			c->ok = 1;
			log_check(l, c, 1, NULL);
			l->sched_dirty = 1;
		}
	} else {
		c->rise_cnt = 0;
		if (c->fall_cnt < l->cfg.health.fall)
			c->fall_cnt++;
		if ((c->ok || !c->seen) && c->fall_cnt >= l->cfg.health.fall) {
			if (c->ok)
				log_check(l, c, 0, why);
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
	char why[sizeof(c->last_error)] = "";
	uint32_t want = 0;
	int r = probe_step(c, &want, why, sizeof(why));

	(void)lp;
	(void)events;
	if (r == PROBE_WAIT) {
		if (want && loop_mod(&c->lbd->loop, &c->io, want) < 0)
			verdict(c->lbd, c, 0, "epoll failed");
		return;
	}
	verdict(c->lbd, c, r == PROBE_PASS, why);
}

static void check_start(struct lbd *l, struct hcheck *c)
{
	char why[sizeof(c->last_error)] = "";
	uint32_t events = 0;
	int r;

	c->started_ms = loop_now_ms();
	c->deadline_ms = c->started_ms + l->cfg.health.timeout_ms;
	r = probe_start(c, &l->cfg.nodes[c->node].addr, &events, why, sizeof(why));
	if (r != PROBE_WAIT)
		verdict(l, c, r == PROBE_PASS, why);
	else if (loop_add(&l->loop, &c->io, events) < 0)
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
	free(l->hprobes);
	l->checks = NULL;
	l->hprobes = NULL;
	l->nchecks = 0;
}

/* The checked proto/ports of the config: every TCP port, the UDP ports with
 * a probe, once each; probes[i] is column i's probe (zeroed: none). */
struct hcol { uint8_t proto; uint16_t port; int has_probe; };
static unsigned check_columns(const struct config *cfg, struct hcol *cols, struct cfg_probe *probes)
{
	unsigned n = 0;

	for (unsigned v = 0; v < cfg->nvips; v++)
		for (unsigned s = 0; s < cfg->vips[v].nsvc; s++) {
			const struct cfg_service *cs = &cfg->vips[v].svc[s];
			const struct cfg_probe *p = config_probe(cfg, cs->proto, cs->port);
			int dup = 0;
			if (cs->proto != IPPROTO_TCP && !p)
				continue;
			for (unsigned k = 0; k < n; k++)
				dup |= cols[k].proto == cs->proto && cols[k].port == cs->port;
			if (dup)
				continue;
			cols[n] = (struct hcol){ cs->proto, cs->port, p != NULL };
			if (p)
				probes[n] = *p;
			n++;
		}
	return n;
}

/* Check c of node n on column col: its state carried over from the old
 * check of the same node name and proto/port, else as the data plane shows. */
static void check_init(struct lbd *l, struct hcheck *c, unsigned n, const struct hcol *col,
		       const struct cfg_probe *probe, const struct hcheck *old, unsigned nold)
{
	c->io.fd = -1;
	c->io.cb = check_ready;
	c->io.arg = c;
	c->lbd = l;
	c->node = (int)n;
	c->proto = col->proto;
	c->port = col->port;
	c->probe = col->has_probe ? probe : NULL;
	snprintf(c->node_name, sizeof(c->node_name), "%s", l->nodes[n].name);
	/* A drained node is in no table: trust its node state. */
	c->ok = l->nodes[n].up &&
		(l->nodes[n].drain || sched_node_was_in(l, (int)n, c->proto, c->port));
	c->seen = c->ok;
	if (c->ok)
		c->rise_cnt = l->cfg.health.rise;
	for (unsigned o = 0; o < nold; o++)
		if (old[o].proto == c->proto && old[o].port == c->port &&
		    !strcmp(old[o].node_name, l->nodes[n].name)) {
			c->ok = old[o].ok;
			c->seen = old[o].seen;
			c->rise_cnt = old[o].rise_cnt;
			c->fall_cnt = old[o].fall_cnt;
			c->rtt_ms = old[o].rtt_ms;
		}
}

/*
 * Rebuild the check list from the config.  A check that existed before
 * (same node name, proto and port) keeps its state, so a reload does not
 * flap nodes.  A new check starts in the state the data plane shows (node up
 * and in the port's Maglev table), so a restarted lbd neither takes working
 * nodes out nor lets failed services back in while its first checks run.
 * The checks use their own copies of the probes (l->hprobes): they never
 * point into a configuration that a reload replaces.
 */
int health_setup(struct lbd *l)
{
	struct hcol cols[LB_MAX_SVCS];
	struct hcheck *old = l->checks, *checks;
	struct cfg_probe *probes;
	unsigned nold = l->nchecks, ncols, nchecks;

	probes = calloc(LB_MAX_SVCS, sizeof(*probes));
	if (!probes)
		return -1;
	ncols = check_columns(&l->cfg, cols, probes);
	nchecks = l->cfg.nnodes * ncols;
	checks = calloc(nchecks ? nchecks : 1, sizeof(*checks));
	if (!checks) {
		free(probes);
		return -1;
	}
	for (unsigned i = 0; i < nold; i++)
		check_stop(l, &old[i]);
	uint64_t now = loop_now_ms();
	unsigned k = 0;
	for (unsigned n = 0; n < l->cfg.nnodes; n++)
		for (unsigned p = 0; p < ncols; p++, k++) {
			check_init(l, &checks[k], n, &cols[p], &probes[p], old, nold);
			/* spread first checks over the interval */
			checks[k].due_ms = now + (l->cfg.health.interval_ms * k) / (nchecks + 1);
		}
	free(old);
	free(l->hprobes);
	l->checks = checks;
	l->nchecks = nchecks;
	l->hprobes = probes;
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
			snprintf(why, whylen, "node %s %s/%u not checked yet", l->checks[i].node_name,
				 proto_name(l->checks[i].proto), l->checks[i].port);
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

/* Every service of VIP vip has a node to send new sessions to. */
int health_vip_ok(const struct lbd *l, int vip)
{
	int any = 0;

	for (unsigned i = 0; i < l->nsvcs; i++) {
		if (l->svcs[i].vip_index != vip)
			continue;
		if (l->svcs[i].nodes_in_table <= 0)
			return 0;
		any = 1;
	}
	return any;
}
