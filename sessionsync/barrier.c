/*
 * barrier.c - the control socket's "barrier": an answer once every live
 * peer holds every change made so far (stream.c carries the changes).
 */
#include "syncd.h"

#include "lib/ctl.h"

/*
 * Barriers: lbd answers a node's handoff report only once the peer switch
 * holds the new owner too (else a takeover right then would send the
 * session back to the old node).  lbd re-points the flow and queues the key,
 * then asks us for a barrier: we pull the queue and flush, so everything
 * changed so far is in messages up to next_dseq - 1 of each peer's stream,
 * and answer once every live peer acked those (a group: every member that
 * is alive holds the change; "confirmed" says whether any peer was there).
 */
static int peers_alive(const struct syncd *s)
{
	int n = 0;

	for (unsigned i = 0; i < s->npeers; i++)
		n += s->peers[i].peer_alive;
	return n;
}

static int barrier_done(const struct syncd *s, const struct barrier *b)
{
	for (unsigned i = 0; i < s->npeers; i++)
		if (s->peers[i].peer_alive && s->peers[i].acked < b->dseq[i])
			return 0;
	return 1;
}

void stream_barrier(struct syncd *s, struct ctl_deferred *d, unsigned timeout_ms)
{
	struct barrier now = { .d = d };

	table_poll(s);
	stream_flush(s);
	s->st.barriers++;
	for (unsigned i = 0; i < s->npeers; i++)
		now.dseq[i] = s->peers[i].next_dseq - 1;
	if (barrier_done(s, &now)) {
		json_t *r = ctl_ok();
		json_object_set_new(r, "confirmed", json_boolean(peers_alive(s) > 0));
		if (!peers_alive(s))
			json_object_set_new(r, "peer", json_string("absent"));
		ctl_deferred_reply(d, r);
		return;
	}
	for (int i = 0; i < MAX_BARRIERS; i++)
		if (!s->barriers[i].d) {
			s->barriers[i] = now;
			s->barriers[i].deadline_ms = loop_now_ms() + timeout_ms;
			return;
		}
	ctl_deferred_reply(d, ctl_error("too many barriers waiting"));
}

/* Answer the barriers that are done or late.  Replies may run new requests
 * of the same clients (even new barriers), so collect first, then reply. */
void stream_barriers_check(struct syncd *s)
{
	struct ctl_deferred *ok[MAX_BARRIERS], *late[MAX_BARRIERS];
	int nok = 0, nlate = 0;
	uint64_t now = loop_now_ms();

	for (int i = 0; i < MAX_BARRIERS; i++) {
		struct barrier *b = &s->barriers[i];
		if (!b->d)
			continue;
		if (barrier_done(s, b))
			ok[nok++] = b->d;
		else if (now >= b->deadline_ms)
			late[nlate++] = b->d;
		else
			continue;
		b->d = NULL;
	}
	for (int i = 0; i < nok; i++) {
		json_t *r = ctl_ok();
		json_object_set_new(r, "confirmed", json_boolean(peers_alive(s) > 0));
		ctl_deferred_reply(ok[i], r);
	}
	for (int i = 0; i < nlate; i++) {
		s->st.barrier_timeouts++;
		ctl_deferred_reply(late[i], ctl_error("the peer did not confirm in time"));
	}
}
