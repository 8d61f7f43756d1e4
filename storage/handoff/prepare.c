/*
 * prepare.c - the half handoff's part on the channels (doc/tch.md "Half
 * handoff"; the HTTP part and the contract: storage/http/half.c).
 *
 * Old node: handoff_prepare_send puts a PREPARE on its channel to the new
 * node: the flow, the service and a copy of the requests queued behind the
 * reply it is still streaming.  No transaction, no answer: the move itself
 * comes later as an ordinary handoff (OPEN ... DONE) once the reply is out,
 * so a PREPARE that is lost or refused costs only the head start.
 *
 * New node: serve_prepare has the service start on the requests
 * (http_half_prepare, nfs_half_prepare: open and read ahead) and notes the flow with the
 * time, so the session's arrival can be matched to it (prepare_arrived,
 * from the incoming transaction once the session is restored).  A note
 * that no session claims within HO_PREP_TTL_NS is released (prepare_gc);
 * the table holds HO_PREP_MAX notes, the oldest is pushed out first.  The
 * notes hold no resource: what was started on lives in the page cache.
 */
#include "handoff_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "storage/http/http.h"
#include "storage/nfs/nfs.h"

#define PREP_REQ_MAX (64u * 1024)	/* request bytes a PREPARE may carry */

int handoff_prepare_send(struct nasd *n, const char *to, const struct lb_flow_key *k,
			 const char *svc, const uint8_t *req, size_t len, char *err, size_t errlen)
{
	struct handoff *h = n->ho;
	int pi = h ? peer_index(h, to) : -1;
	struct ho_frame f;

	if (pi < 0)
		return err_set(err, errlen, "no peer \"%s\"", to);
	if (!h->out[pi] || h->out[pi]->state != CH_UP)
		return err_set(err, errlen, "no channel to %s", to);
	if (len > PREP_REQ_MAX)
		len = PREP_REQ_MAX;
	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_PREPARE, 0);
	ho_add_flow(&f, k);
	ho_add(&f, HO_R_SERVICE, svc, strlen(svc));
	if (len)
		ho_add(&f, HO_R_APP_STATE, req, len);
	if (chan_send(h->out[pi], &f) < 0)
		return err_set(err, errlen, "PREPARE not sent to %s", to);
	h->half.sent++;
	return 0;
}

/* The note for k, or a free one (the oldest pushed out when none is). */
static struct ho_prep *prep_slot(struct handoff *h, const struct lb_flow_key *k)
{
	struct ho_prep *free_one = NULL, *oldest = &h->prep[0];

	for (unsigned i = 0; i < HO_PREP_MAX; i++) {
		struct ho_prep *p = &h->prep[i];
		if (p->used && !memcmp(&p->key, k, sizeof(*k)))
			return p;
		if (!p->used && !free_one)
			free_one = p;
		if (p->used && p->at_ns < oldest->at_ns)
			oldest = p;
	}
	if (free_one)
		return free_one;
	h->half.replaced++;
	return oldest;
}

void serve_prepare(struct chan *c, const uint8_t *body, size_t blen)
{
	struct handoff *h = c->h;
	struct lb_flow_key key;
	uint8_t *fl = NULL, *svc = NULL, *req = NULL;
	size_t fll = 0, svl = 0, rql = 0;
	int ok = ho_collect(body, blen, HO_R_FLOW, sizeof(key) + 8, &fl, &fll) == 0 && fl &&
		 ho_decode_flow(fl, (uint16_t)fll, &key) == 0 &&
		 ho_collect(body, blen, HO_R_SERVICE, 16, &svc, &svl) == 0 && svc &&
		 ((svl == 4 && !memcmp(svc, "http", 4)) || (svl == 3 && !memcmp(svc, "nfs", 3))) &&
		 ho_collect(body, blen, HO_R_APP_STATE, PREP_REQ_MAX, &req, &rql) == 0;

	int nfs = ok && svl == 3;

	free(fl);
	free(svc);
	if (!ok) {	/* not for a service that prepares, or malformed: ignored */
		h->half.bad++;
		free(req);
		return;
	}
	unsigned files = 0;
	int started = !req ? 0 : nfs ? nfs_half_prepare(h->n, req, rql, &files) :
		      http_half_prepare(h->n, req, rql, &files);
	free(req);
	struct ho_prep *p = prep_slot(h, &key);
	p->used = 1;
	p->key = key;
	p->at_ns = now_ns();
	p->requests = (unsigned)started;
	h->half.received++;
	h->half.requests += (uint64_t)started;
	h->half.files += files;
	h->half.last_prepare_ns = p->at_ns;
	h->half.last_requests = p->requests;
	log_event(LOG_INFO, "half_prepared", KV_S("peer", peer_name(c)), KV_U("bytes", rql),
		  KV_U("requests", (uint64_t)started), KV_U("files", files));
}

void prepare_arrived(struct handoff *h, const struct lb_flow_key *k)
{
	for (unsigned i = 0; i < HO_PREP_MAX; i++) {
		struct ho_prep *p = &h->prep[i];
		if (p->used && !memcmp(&p->key, k, sizeof(*k))) {
			h->half.arrived++;
			h->half.arrived_requests += p->requests;
			p->used = 0;
			return;
		}
	}
}

void prepare_gc(struct handoff *h)
{
	uint64_t now = now_ns();

	for (unsigned i = 0; i < HO_PREP_MAX; i++) {
		struct ho_prep *p = &h->prep[i];
		if (p->used && now - p->at_ns > HO_PREP_TTL_NS) {
			p->used = 0;
			h->half.expired++;
		}
	}
}

json_t *prepare_status(const struct handoff *h)
{
	const struct ho_half_stats *s = &h->half;
	const struct nasd_stats *st = &h->n->st;
	unsigned waiting = 0;

	for (unsigned i = 0; i < HO_PREP_MAX; i++)
		waiting += h->prep[i].used ? 1u : 0u;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
		"started", (json_int_t)st->half_started, "scheduled", (json_int_t)st->half_scheduled,
		"cancelled", (json_int_t)st->half_cancelled, "sent", (json_int_t)s->sent,
		"received", (json_int_t)s->received, "bad", (json_int_t)s->bad,
		"requests", (json_int_t)s->requests, "files", (json_int_t)s->files, "arrived", (json_int_t)s->arrived,
		"arrived_requests", (json_int_t)s->arrived_requests, "expired", (json_int_t)s->expired,
		"replaced", (json_int_t)s->replaced, "last_prepare_ns", (json_int_t)s->last_prepare_ns,
		"last_requests", (json_int_t)s->last_requests, "waiting", (int)waiting);
}
