/*
 * group.c - when a member of a scale-out group (cfg.sync.group) is ready,
 * i.e. may announce its VIPs (lbd asks syncd's "ready", lb/syncwatch.c).
 *
 * A pair is ready once it holds its peer's table, or when the peer stayed
 * silent (it is alone).  A group member is ready while every other member
 * is either
 *   - alive and in sync: we completed a resync from it since it (or our
 *     link to it) last came up, and its live stream follows; or
 *   - gone: silent to us AND to every member we hear.
 * A member silent to us but heard by another member is alive behind a
 * broken sync link: its new flows do not reach us, so a session the router
 * moves here from it would be picked up with our tables, not its own.  We
 * are behind, and must not announce until the link is back and a resync
 * from that member completed.  (With two members nobody can tell a cut
 * link from a dead switch: doc/scaleout.md.)
 *
 * Who hears whom travels in every HELLO (sync_hello.heard, one bit per
 * group index).  A member counts as heard there only when it spoke within
 * half of peer_dead_ms: when a switch dies, every survivor drops it from
 * its mask well before any survivor declares it down itself, so a dead
 * switch never looks "alive to the others" to anybody.
 *
 * A member that comes up while we are ready (a new switch, a restart) gets
 * peer_dead_ms to complete its resync before it counts against us: the
 * exchange takes a round trip, and a switch that withdrew its routes for
 * that moment would move its sessions for nothing.  One that comes back
 * while we are behind gets no grace: it is the link we wait for.
 */
#include "syncd.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"

uint16_t group_heard_mask(const struct syncd *s)
{
	uint64_t now = loop_now_ms();
	uint16_t m = (uint16_t)(1u << s->cfg.sync.self);

	for (unsigned i = 0; i < s->npeers; i++) {
		const struct sync_peer *p = &s->peers[i];
		if (p->peer_alive && now - p->peer_hello_ms <= s->cfg.sync.peer_dead_ms / 2)
			m |= (uint16_t)(1u << p->member);
	}
	return m;
}

/* The live member that hears p while we do not; NULL: nobody does. */
static const struct sync_peer *heard_by(const struct syncd *s, const struct sync_peer *p)
{
	for (unsigned i = 0; i < s->npeers; i++) {
		const struct sync_peer *q = &s->peers[i];
		if (q != p && q->peer_alive && (q->peer_hello.heard & (1u << p->member)))
			return q;
	}
	return NULL;
}

/* 1 and why in buf when we are behind p; 0 when p is no reason to wait. */
static int behind(const struct syncd *s, const struct sync_peer *p, char *buf, size_t len)
{
	uint64_t now = loop_now_ms();
	const struct sync_peer *q;

	if (p->peer_alive) {
		if (p->synced || (s->group_ok_once && now < p->grace_until_ms))
			return 0;
		snprintf(buf, len, "%s: resync not complete", p->peer_name);
		return 1;
	}
	if ((q = heard_by(s, p))) {
		snprintf(buf, len, "%s: silent here, heard by %s", p->peer_name, q->peer_name);
		return 1;
	}
	if (!s->group_ok_once && now - s->started_ms < s->cfg.sync.peer_dead_ms) {
		snprintf(buf, len, "%s: not heard yet", p->peer_name);
		return 1;
	}
	return 0;
}

void group_tick(struct syncd *s)
{
	char why[sizeof(s->group_why)] = "";
	int ok = 1;

	for (unsigned i = 0; i < s->npeers && ok; i++)
		ok = !behind(s, &s->peers[i], why, sizeof(why));
	if (ok != s->group_ok || (!ok && strcmp(why, s->group_why)))
		log_event(ok ? LOG_NOTICE : LOG_WARNING, ok ? "group_ready" : "group_behind",
			  KV_S("reason", ok ? "every member in sync or gone" : why));
	s->group_ok = ok;
	s->group_ok_once |= ok;
	snprintf(s->group_why, sizeof(s->group_why), "%s", why);
}

/* Silent for peer_dead_ms: whatever we hold of it may have gaps by the
 * time it speaks again, so it must resync us then (not anchored). */
void group_peer_down(struct sync_peer *p)
{
	p->synced = 0;
	p->anchored = 0;
	for (size_t i = 0; i < RX_WINDOW; i++)
		p->rx[i].dseq = 0;
}

void group_peer_up(struct sync_peer *p)
{
	struct syncd *s = p->s;

	p->up_ms = loop_now_ms();
	p->grace_until_ms = s->group_ok ? p->up_ms + s->cfg.sync.peer_dead_ms : 0;
}

/* status "members": one entry per group member (this switch too). */
json_t *group_status(const struct syncd *s)
{
	json_t *arr = json_array();
	uint64_t now = loop_now_ms();
	char a[TADDR_STRLEN];

	for (unsigned m = 0; m < s->cfg.sync.nmembers; m++) {
		const struct sync_peer *p = NULL;
		for (unsigned i = 0; i < s->npeers; i++)
			if (s->peers[i].member == m)
				p = &s->peers[i];
		taddr_fmt(&s->cfg.sync.members[m], a, sizeof(a));
		if (!p) {
			json_array_append_new(arr, json_pack("{s:s, s:b}", "address", a, "self", 1));
			continue;
		}
		json_array_append_new(arr, json_pack(
			"{s:s, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
			"address", a, "self", 0, "alive", p->peer_alive, "synced", p->synced,
			"last_hello_ms", p->peer_hello_ms ? (json_int_t)(now - p->peer_hello_ms) : (json_int_t)-1,
			"epoch", (json_int_t)p->peer_epoch, "in_flight", (json_int_t)stream_peer_in_flight(p),
			"tx_flows", (json_int_t)p->tx_flows, "rx_flows", (json_int_t)p->rx_flows,
			"resyncs_rx", (json_int_t)p->resyncs_rx, "resync_sending", p->rs_active));
	}
	return arr;
}
