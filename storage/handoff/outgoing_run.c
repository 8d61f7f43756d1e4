/*
 * outgoing_run.c - this node's outgoing transactions as their starters see
 * them (handoff_int.h "outgoing.c, outgoing_run.c"): a request becomes a
 * struct ho_tx on h->otx, at most OTX_PARALLEL run at once (outgoing.c),
 * the rest wait in order; a finished one is logged and its reply goes to
 * its starter's callback (a control command's deferred reply, the switch's
 * MOVE ACK, a scheduled move's end).  Also the connection's flow and
 * endpoint helpers the kinds' lookups use.
 */
#include "outgoing.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/log_flow.h"

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

/* ------------------------------------------------------------ the queue -- */

void tx_finish(struct ho_tx *tx)
{
	struct handoff *h = tx->h;

	if (tx->state != TXS_QUEUED)
		h->otx_running--;
	for (struct ho_tx **pp = &h->otx; *pp; pp = &(*pp)->next)
		if (*pp == tx) {
			*pp = tx->next;
			h->otx_count--;
			break;
		}
	if (tx->timer_ok)
		loop_timer_close(&h->n->loop, &tx->timer);
	tch_state_free(&tx->st);
	flowdrop_pkts_free(tx->held);
	log_out(&tx->res, tx->ops->service, tx->id, &tx->key, tx->to);
	json_t *r = result_json(&tx->res, tx->id, tx->client, tx->to, h->n->cfg.node_name);
	json_object_set_new(r, "service", json_string(tx->ops->service));
	tx->on_done(h, r, tx->arg);
	free(tx);
	otx_pump(h);
}

void otx_pump(struct handoff *h)
{
	if (h->otx_pumping)
		return;	/* a start that finished at once, inside this loop */
	h->otx_pumping = 1;
	for (;;) {
		struct ho_tx *tx = h->otx;
		while (tx && tx->state != TXS_QUEUED)
			tx = tx->next;
		if (!tx || h->otx_running >= OTX_PARALLEL)
			break;
		h->otx_running++;
		tx->state = TXS_OPEN;	/* not queued any more (tx_begin sets its state) */
		tx_begin(tx);
	}
	h->otx_pumping = 0;
}

int otx_start(struct handoff *h, const struct ho_conn *x, int pi, uint8_t cause, ho_done_fn done,
	      void *arg)
{
	struct ho_tx *tx = calloc(1, sizeof(*tx));

	if (!tx)
		return -1;
	tx->h = h;
	tx->ops = x->ops;
	tx->id = x->ops->id(x->p);
	tx->pi = pi;
	tx->to = h->cfg->peers[pi].name;
	tx->cause = cause;
	tx->on_done = done;
	tx->arg = arg;
	tx->res.outcome = "failed";
	tx->state = TXS_QUEUED;
	snprintf(tx->client, sizeof(tx->client), "?");
	handoff_flow_of(x->ops->fd(x->p), &tx->key, tx->client, sizeof(tx->client));
	struct ho_tx **pp = &h->otx;
	int dup = 0;
	for (; *pp; pp = &(*pp)->next)
		dup |= (*pp)->ops == tx->ops && (*pp)->id == tx->id;
	*pp = tx;
	h->otx_count++;
	if (dup) {	/* one move of a connection at a time */
		h->otx_running++;	/* (tx_finish counts it out) */
		tx->state = TXS_OPEN;
		tx->res.stage = "session";
		err_set(tx->res.error, sizeof(tx->res.error), "a handoff of it is already running");
		h->out_failed++;
		tx_finish(tx);
		return 0;
	}
	otx_pump(h);
	return 0;
}

void otx_abort_all(struct handoff *h)
{
	h->otx_pumping = 1;	/* nothing new starts */
	while (h->otx)
		tx_abort(h->otx);
	h->otx_pumping = 0;
}
