/*
 * mover.c - moving live sessions off a node: drain and the load trigger.
 *
 * A job per node walks the node's TCP flows once (a snapshot of the keys)
 * and asks the node's tandem-nasd to hand each session to a target (MOVE
 * through report.c), at most handoff.drain_parallel at a time.  The node
 * does the handoff (libtch) and re-points the flow to the target with a
 * REDIRECT report, and ACKs the MOVE; the job only counts outcomes.
 *
 * Targets.  Drain: the node a new session from that client would get now
 * (sched_maglev_pick: the tables no longer hold the drained node), so a
 * moved session lands where the consistent hash sends that client anyway;
 * if that is not usable, round robin over the usable nodes.  Load: the
 * usable node with the fewest reported sessions (counting the moves this
 * round already sent to it), never one at or above the threshold.
 *
 * Outcomes: moved (ACK ok), not_live (the node has no such session: the
 * flow entry outlived its connection, or the flow is not a tandem-nasd
 * session, e.g. iperf3), failed (refused or timed out: the session stays
 * where it was, that is the handoff's rollback contract; a BUSY answer, a
 * session that could not pause just then, is asked again a few times
 * first), gave_up (not
 * tried: the node never answered a MOVE, so it runs no handoff agent, or
 * the job was stopped).  A flow that is not moved simply ends on its node.
 *
 * Why a snapshot and not a live walk: the flow table changes under us
 * (LRU, new sessions of other nodes); the drained node gets no new
 * sessions, so its set of flows only shrinks after the snapshot.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl.h"
#include "lib/handoff_wire.h"
#include "lib/log.h"

#define LOAD_FRESH_MS 3000	/* a load report older than this is not acted on */
#define MOVE_RETRY_MS 100	/* a BUSY session is asked again this much later ... */
#define MOVE_RETRIES 5		/* ... this many times at most */

static int usable_target(const struct lbd *l, int t, int from, const struct lb_flow_key *k)
{
	return t >= 0 && t != from && l->nodes[t].in_use && l->nodes[t].up && !l->nodes[t].drain &&
	       health_state(l, t, k->proto, ntohs(k->dport)) == 1;
}

static int pick_target(struct move_job *j, const struct lb_flow_key *k)
{
	struct lbd *l = j->l;
	int n = (int)l->cfg.nnodes, best = -1;

	if (j->kind == MOVE_DRAIN) {
		int t = sched_maglev_pick(l, k);
		if (usable_target(l, t, j->node, k))
			return t;
		for (int i = 0; i < n; i++) {
			int c = (j->target_rr + i) % n;
			if (usable_target(l, c, j->node, k)) {
				j->target_rr = c + 1;
				return c;
			}
		}
		return -1;
	}
	/* load: the least loaded node under the threshold */
	uint64_t best_load = 0, max = l->cfg.handoff.load_max_sessions;
	for (int i = 0; i < n; i++) {
		if (!usable_target(l, i, j->node, k))
			continue;
		uint64_t load = (uint64_t)l->nodes[i].load_sessions + j->sent_to[i];
		if (load + 1 > max)
			continue;
		if (best < 0 || load < best_load) {
			best = i;
			best_load = load;
		}
	}
	return best;
}

static void job_end(struct move_job *j)
{
	struct lbd *l = j->l;

	j->running = 0;
	j->t_end_ms = loop_now_ms();
	free(j->keys);
	j->keys = NULL;
	free(j->retry);
	j->retry = NULL;
	j->nretry = j->cretry = 0;
	log_event(LOG_NOTICE, "move_done", KV_S("node", l->nodes[j->node].name),
		  KV_S("kind", j->kind == MOVE_DRAIN ? "drain" : "load"), KV_U("moved", j->moved),
		  KV_U("not_live", j->not_live), KV_U("failed", j->failed),
		  KV_U("not_tried", j->gave_up), KV_U("ms", j->t_end_ms - j->t0_ms));
}

static void pump(struct move_job *j);

static void moved(struct lbd *l, void *arg, const struct lb_flow_key *k, int ok, const char *err,
		  const char *owner, int status, uint64_t ms)
{
	struct move_job *j = arg;

	(void)k;
	(void)owner;
	(void)ms;
	j->in_flight--;
	struct move_retry *rt = NULL;
	for (size_t i = 0; i < j->nretry && !rt; i++)
		if (j->retry[i].in_flight && !memcmp(&j->retry[i].k, k, sizeof(*k)))
			rt = &j->retry[i];
	if (rt)
		rt->in_flight = 0;
	if (!ok && status == HO_ST_BUSY && !j->stopping && (!rt || rt->tries < MOVE_RETRIES)) {
		if (!rt && j->nretry == j->cretry) {
			size_t c = j->cretry ? j->cretry * 2 : 16;
			struct move_retry *nr = realloc(j->retry, c * sizeof(*nr));
			if (nr) {
				j->retry = nr;
				j->cretry = c;
			}
		}
		if (!rt && j->nretry < j->cretry) {
			rt = &j->retry[j->nretry++];
			memset(rt, 0, sizeof(*rt));
			rt->k = *k;
		}
		if (rt) {
			rt->tries++;
			rt->due_ms = loop_now_ms() + MOVE_RETRY_MS;
			pump(j);
			return;
		}
	}
	if (rt)
		rt->tries = -1;	/* settled */
	if (ok) {
		j->moved++;
	} else if (status == HO_ST_NO_FLOW) {
		j->not_live++;
	} else {
		j->failed++;
		snprintf(j->last_error, sizeof(j->last_error), "%s", err);
		/* not one answer yet: the node runs no handoff agent; do not
		 * spend a timeout on each of its flows */
		if (status == MOVE_NO_ANSWER && !j->moved && !j->not_live)
			j->stopping = 1;
	}
	pump(j);
}

static void pump(struct move_job *j)
{
	struct lbd *l = j->l;
	unsigned par = l->cfg.handoff.drain_parallel ? l->cfg.handoff.drain_parallel : 1;
	char err[200];

	while (!j->stopping && j->in_flight < par && j->next < j->nkeys &&
	       j->moved + j->in_flight < j->want) {
		const struct lb_flow_key *k = &j->keys[j->next++];
		struct lb_flow_val v;

		/* gone or already moved by someone else since the snapshot */
		if (bpf_map_lookup_elem(l->dp.fd_flows, k, &v) < 0 || v.node_id != l->nodes[j->node].id) {
			j->not_live++;
			continue;
		}
		int t = pick_target(j, k);
		if (t < 0) {
			snprintf(j->last_error, sizeof(j->last_error), "no usable node to move sessions to");
			j->stopping = 1;
			break;
		}
		if (report_send_move(l, k, j->node, t, l->cfg.handoff.move_timeout_ms, moved, j, err,
				     sizeof(err)) < 0) {
			/* all report slots busy (operator handoffs): retry on the next answer or tick */
			j->next--;
			snprintf(j->last_error, sizeof(j->last_error), "%s", err);
			break;
		}
		j->in_flight++;
		j->sent_to[t]++;
	}
	/* retries whose time has come (after the first pass, or in between) */
	size_t pending = 0;
	for (size_t i = 0; i < j->nretry && !j->stopping; i++) {
		struct move_retry *rt = &j->retry[i];
		if (rt->tries < 0 || rt->in_flight)
			continue;
		pending++;
		if (rt->due_ms > loop_now_ms() || j->in_flight >= par)
			continue;
		int t = pick_target(j, &rt->k);
		if (t < 0 || report_send_move(l, &rt->k, j->node, t, l->cfg.handoff.move_timeout_ms, moved,
					      j, err, sizeof(err)) < 0)
			continue;	/* next tick */
		rt->in_flight = 1;
		j->in_flight++;
		j->retried++;
	}
	if (j->in_flight || (pending && !j->stopping))
		return;
	for (size_t i = 0; i < j->nretry; i++)	/* stopped with retries pending: failed */
		if (j->retry[i].tries >= 0 && !j->retry[i].in_flight) {
			j->retry[i].tries = -1;
			j->failed++;
		}
	if (j->stopping || j->next >= j->nkeys || j->moved >= j->want) {
		j->gave_up += j->nkeys - j->next;
		j->next = j->nkeys;
		if (j->running)
			job_end(j);
	}
}

static int job_start(struct lbd *l, int node, enum move_kind kind, uint64_t want, char *err,
		     size_t errlen)
{
	struct move_job *j = &l->moves[node];
	struct lb_flow_key *keys;

	if (j->running) {
		if (j->kind == kind && kind == MOVE_DRAIN) {
			j->stopping = 0;	/* drain again while still moving: go on */
			return 0;
		}
		snprintf(err, errlen, "sessions are already being moved off %s", l->nodes[node].name);
		return -1;
	}
	long n = flows_of_node(l, l->nodes[node].id, IPPROTO_TCP, &keys);
	if (n < 0) {
		snprintf(err, errlen, "flow table walk failed");
		return -1;
	}
	memset(j, 0, sizeof(*j));
	j->l = l;
	j->node = node;
	j->kind = kind;
	j->keys = keys;
	j->nkeys = (size_t)n;
	j->want = want ? want : (uint64_t)n;
	j->t0_ms = loop_now_ms();
	j->running = 1;
	log_event(LOG_NOTICE, "move_start", KV_S("node", l->nodes[node].name),
		  KV_S("kind", kind == MOVE_DRAIN ? "drain" : "load"), KV_U("moving", j->want),
		  KV_I("sessions", n));
	pump(j);
	return 0;
}

/* A node whose tandem-nasd sends no LOAD reports runs no handoff agent
 * (e.g. another server): MOVEs to it would only time out. */
int mover_node_live(const struct lbd *l, int node)
{
	const struct node_rt *n = &l->nodes[node];

	return l->cfg.handoff.enabled && n->load_at_ms && loop_now_ms() - n->load_at_ms <= LOAD_FRESH_MS;
}

int mover_drain(struct lbd *l, int node, char *err, size_t errlen)
{
	if (!l->cfg.handoff.enabled || !l->cfg.handoff.drain_parallel) {
		snprintf(err, errlen, "handoff is not configured");
		return 0;	/* drain only stops new sessions */
	}
	if (!mover_node_live(l, node)) {
		snprintf(err, errlen, "%s runs no handoff agent (no load report from it)", l->nodes[node].name);
		return 0;
	}
	err[0] = '\0';
	return job_start(l, node, MOVE_DRAIN, 0, err, errlen);
}

void mover_stop(struct lbd *l, int node)
{
	struct move_job *j = &l->moves[node];

	if (!j->running)
		return;
	j->stopping = 1;
	pump(j);
}

/* Load trigger: a node whose latest report is over the threshold gets a job
 * moving the excess, once per load_check_ms and only after a report newer
 * than its previous job (the counts it acts on include that job's moves). */
void mover_tick(struct lbd *l)
{
	uint64_t now = loop_now_ms(), max = l->cfg.handoff.load_max_sessions;
	char err[160];

	for (unsigned i = 0; i < l->cfg.nnodes; i++)	/* jobs waiting for a slot or a retry */
		if (l->moves[i].running && (!l->moves[i].in_flight || l->moves[i].nretry))
			pump(&l->moves[i]);
	if (!l->cfg.handoff.enabled || !max || now - l->load_checked_ms < l->cfg.handoff.load_check_ms)
		return;
	l->load_checked_ms = now;
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		const struct node_rt *n = &l->nodes[i];
		const struct move_job *j = &l->moves[i];

		if (!n->in_use || !n->load_at_ms || now - n->load_at_ms > LOAD_FRESH_MS ||
		    n->load_sessions <= max || j->running || n->load_at_ms <= j->t_end_ms)
			continue;
		log_event(LOG_NOTICE, "load_trigger", KV_S("node", n->name),
			  KV_U("sessions", n->load_sessions), KV_U("threshold", max));
		if (job_start(l, (int)i, MOVE_LOAD, n->load_sessions - max, err, sizeof(err)) < 0)
			log_event(LOG_WARNING, "move_failed", KV_S("node", n->name), KV_S("kind", "load"),
				  KV_S("reason", err));
	}
}

json_t *mover_progress(const struct lbd *l, int node)
{
	const struct move_job *j = &l->moves[node];

	if (!j->t0_ms)
		return NULL;
	uint64_t end = j->running ? loop_now_ms() : j->t_end_ms;
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"kind", j->kind == MOVE_DRAIN ? "drain" : "load", "done", !j->running,
		"total", (json_int_t)j->nkeys, "want", (json_int_t)j->want,
		"moved", (json_int_t)j->moved, "not_live", (json_int_t)j->not_live,
		"failed", (json_int_t)j->failed, "in_flight", (json_int_t)j->in_flight,
		"not_tried", (json_int_t)(j->gave_up + (j->running ? j->nkeys - j->next : 0)),
		"elapsed_ms", (json_int_t)(end - j->t0_ms), "retried", (json_int_t)j->retried);
	if (j->last_error[0])
		json_object_set_new(o, "last_error", json_string(j->last_error));
	return o;
}

void mover_free(struct lbd *l)
{
	/* before report_close: it answers the MOVEs in flight, and a stopping
	 * job sends no more; the last answer ends the job (job_end frees) */
	for (unsigned i = 0; i < CFG_MAX_NODES; i++)
		l->moves[i].stopping = 1;
}
