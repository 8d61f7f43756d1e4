/*
 * stream.c - the reliable, authenticated replication stream over UDP.
 *
 * Sending: records are packed into DATA messages of up to SYNC_MAX_MSG
 * bytes, each with the next dseq, kept in a TX_WINDOW ring until the peer's
 * cumulative ack covers it, and resent after the retransmission timeout
 * (rto_ns: smoothed RTT + 4 x its variance, within RTO_MIN_MS..RTO_MAX_MS,
 * doubled per resend of the same message, up to 64x).  A NACK asks for a
 * range at once.  When the window is full, or a NACK asks for a message
 * that already left the ring, the live stream cannot be repaired message by
 * message any more: we start a bulk resync, whose RESYNC_BEGIN re-anchors
 * the receiver.
 *
 * Receiving: messages are authenticated (HMAC, replay window) before
 * anything else; reliable ones are applied strictly in dseq order (a later
 * record may re-point a flow an earlier one added), out-of-order ones wait
 * in an RX_WINDOW buffer, and a gap is NACKed.  Every processed burst is
 * acked at once, so the sender's lag figure is one round trip plus work.
 */
#include "syncd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/log.h"

/* ---- sending ---- */

static void send_raw(struct syncd *s, struct sync_builder *b)
{
	size_t n = sync_seal(b, &s->key, ++s->seq, s->anchored ? s->rx_next - 1 : 0,
			     s->heard_epoch);

	if (send(s->sock.fd, b->buf, n, MSG_DONTWAIT) == (ssize_t)n) {
		s->st.tx_msgs++;
		s->st.tx_bytes += n;
	}
	/* A send error (peer unreachable, buffer full) is handled like loss:
	 * the message stays in the window and is resent. */
}

static void send_unreliable(struct syncd *s, uint8_t type, const struct sync_range *r,
			    const struct sync_hello *h)
{
	struct sync_hdr hd = { .type = type, .sender = s->cfg.sync.switch_id, .epoch = s->epoch };
	struct sync_builder b;

	sync_begin(&b, &hd);
	if (r)
		sync_add_range(&b, r);
	if (h)
		sync_add_hello(&b, h);
	send_raw(s, &b);
}

uint64_t stream_in_flight(const struct syncd *s)
{
	return s->next_dseq - 1 - s->acked;
}

/* Take the next dseq for a reliable message built in *b; keep it for resends. */
static void send_reliable(struct syncd *s, struct sync_builder *b, uint64_t oldest_event_ns)
{
	uint64_t dseq = s->next_dseq;
	struct txslot *t = &s->tx[dseq % TX_WINDOW];

	if (t->dseq) {
		/* The window is full: the peer has not acked for TX_WINDOW
		 * messages.  Overwrite and repair with a resync once it answers. */
		s->st.window_full++;
	}
	s->next_dseq++;
	/* dseq sits in the header, written by sync_begin: patch it in. */
	for (int i = 0; i < 8; i++)
		b->buf[24 + i] = (uint8_t)(dseq >> (56 - 8 * i));
	t->dseq = dseq;
	t->retries = 0;
	t->first_ns = t->last_ns = loop_now_ns();
	t->oldest_event_ns = oldest_event_ns;
	t->b = *b;
	send_raw(s, &t->b);
}

static void begin_data(struct syncd *s, struct sync_builder *b, uint8_t type)
{
	/* dseq 1 is a placeholder so sync_begin writes a non-zero field. */
	struct sync_hdr hd = { .type = type, .sender = s->cfg.sync.switch_id, .epoch = s->epoch,
			       .dseq = 1 };
	sync_begin(b, &hd);
}

void stream_flush(struct syncd *s)
{
	if (!s->cur_flows)
		return;
	send_reliable(s, &s->cur, s->cur_oldest_ns);
	s->cur_flows = 0;
	s->cur_oldest_ns = 0;
}

void stream_add_flow(struct syncd *s, const struct sync_flow *f, uint64_t event_ns)
{
	if (!s->cfg.sync.enabled)
		return;
	if (s->cur_flows == 0)
		begin_data(s, &s->cur, SYNC_T_DATA);
	if (sync_add_flow(&s->cur, f) < 0) {
		stream_flush(s);
		begin_data(s, &s->cur, SYNC_T_DATA);
		sync_add_flow(&s->cur, f);
	}
	if (event_ns && (!s->cur_oldest_ns || event_ns < s->cur_oldest_ns))
		s->cur_oldest_ns = event_ns;
	s->cur_flows++;
	s->st.tx_flows++;
}

static void send_marker(struct syncd *s, uint8_t type, uint64_t id, uint64_t count)
{
	struct sync_builder b;
	struct sync_resync r = { id, count };

	stream_flush(s);
	begin_data(s, &b, type);
	sync_add_resync(&b, &r);
	send_reliable(s, &b, 0);
}

/* Start (or restart) streaming our whole table to the peer. */
void stream_start_resync(struct syncd *s)
{
	/* Everything unacked is superseded by the walk, which reads the
	 * current state: drop it, so the window is free for the walk. */
	for (size_t i = 0; i < TX_WINDOW; i++)
		s->tx[i].dseq = 0;
	stream_flush(s);
	s->acked = s->next_dseq - 1;
	s->rs_active = 1;
	s->rs_id++;
	s->rs_count = 0;
	s->rs_have_cursor = 0;
	s->rs_pins = 0;
	s->rs_again = 0;
	s->st.resyncs_sent++;
	send_marker(s, SYNC_T_RESYNC_BEGIN, s->rs_id, 0);
	log_event(LOG_NOTICE, "resync_start", KV_U("id", s->rs_id), KV_S("peer", s->peer_name));
}

static void resync_continue(struct syncd *s)
{
	if (!s->rs_active)
		return;
	/* Keep half the window for live events. */
	while (stream_in_flight(s) < RESYNC_WINDOW) {
		int end = table_resync_step(s, 1024);
		if (end) {
			send_marker(s, SYNC_T_RESYNC_END, s->rs_id, s->rs_count);
			s->rs_active = 0;
			log_event(LOG_NOTICE, "resync_sent", KV_U("id", s->rs_id),
				  KV_U("flows", s->rs_count), KV_S("peer", s->peer_name));
			if (s->rs_again)	/* changes lost during that walk (table.c) */
				stream_start_resync(s);
			return;
		}
	}
}

static void lag_sample(struct syncd *s, uint64_t ns)
{
	uint64_t us = ns / 1000;
	int b = 0;

	while (us > 1 && b < LAG_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	s->st.lag_hist[b]++;
	s->st.lag_samples++;
	s->st.lag_sum_us += ns / 1000;
}

/* Upper bound of the bucket holding quantile q, in ms. */
double stream_lag_ms(const struct syncd *s, double q)
{
	uint64_t want = (uint64_t)((double)s->st.lag_samples * q), seen = 0;

	if (!s->st.lag_samples)
		return 0;
	for (int b = 0; b < LAG_BUCKETS; b++) {
		seen += s->st.lag_hist[b];
		if (seen > want || (seen == s->st.lag_samples))
			return (double)(2ull << b) / 1000.0;
	}
	return 0;
}

/*
 * Barriers: lbd answers a node's handoff report only once the peer switch
 * holds the new owner too (else a takeover right then would send the
 * session back to the old node).  lbd re-points the flow and queues the key,
 * then asks us for a barrier: we pull the queue and flush, so everything
 * changed so far is in messages up to next_dseq - 1, and answer once the
 * peer acked those.
 */
void stream_barrier(struct syncd *s, struct ctl_deferred *d, unsigned timeout_ms)
{
	table_poll(s);
	stream_flush(s);
	s->st.barriers++;
	if (!s->peer_alive || stream_in_flight(s) == 0) {
		json_t *r = ctl_ok();
		json_object_set_new(r, "confirmed", json_boolean(s->peer_alive));
		if (!s->peer_alive)
			json_object_set_new(r, "peer", json_string("absent"));
		ctl_deferred_reply(d, r);
		return;
	}
	for (int i = 0; i < MAX_BARRIERS; i++)
		if (!s->barriers[i].d) {
			s->barriers[i].d = d;
			s->barriers[i].dseq = s->next_dseq - 1;
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
		if (s->acked >= b->dseq || !s->peer_alive)
			ok[nok++] = b->d;
		else if (now >= b->deadline_ms)
			late[nlate++] = b->d;
		else
			continue;
		b->d = NULL;
	}
	for (int i = 0; i < nok; i++) {
		json_t *r = ctl_ok();
		json_object_set_new(r, "confirmed", json_boolean(s->peer_alive));
		ctl_deferred_reply(ok[i], r);
	}
	for (int i = 0; i < nlate; i++) {
		s->st.barrier_timeouts++;
		ctl_deferred_reply(late[i], ctl_error("the peer did not confirm in time"));
	}
}

/* Smoothed ack round trip; the retransmission timeout follows it, so a
 * loaded peer is not flooded with resends it will ack anyway. */
static void rtt_sample(struct syncd *s, uint64_t rtt)
{
	if (!s->srtt_ns) {
		s->srtt_ns = rtt;
		s->rttvar_ns = rtt / 2;
		return;
	}
	uint64_t d = rtt > s->srtt_ns ? rtt - s->srtt_ns : s->srtt_ns - rtt;
	s->rttvar_ns = (3 * s->rttvar_ns + d) / 4;
	s->srtt_ns = (7 * s->srtt_ns + rtt) / 8;
}

static uint64_t rto_ns(const struct syncd *s)
{
	uint64_t rto = s->srtt_ns ? s->srtt_ns + 4 * s->rttvar_ns : 3 * (uint64_t)RTO_MIN_MS * 1000000;

	if (rto < (uint64_t)RTO_MIN_MS * 1000000)
		rto = (uint64_t)RTO_MIN_MS * 1000000;
	if (rto > (uint64_t)RTO_MAX_MS * 1000000)
		rto = (uint64_t)RTO_MAX_MS * 1000000;
	return rto;
}

static void on_ack(struct syncd *s, uint64_t ack)
{
	uint64_t now = loop_now_ns();

	if (ack >= s->next_dseq || ack <= s->acked)
		return;
	for (uint64_t d = s->acked + 1; d <= ack; d++) {
		struct txslot *t = &s->tx[d % TX_WINDOW];
		if (t->dseq == d) {
			if (t->oldest_event_ns)
				lag_sample(s, now - t->oldest_event_ns);
			if (!t->retries && d == ack)	/* Karn: never time a resent one */
				rtt_sample(s, now - t->first_ns);
			t->dseq = 0;
		}
	}
	s->acked = ack;
}

static void on_nack(struct syncd *s, const struct sync_range *r)
{
	s->st.nacks_rx++;
	for (uint64_t d = r->from; d <= r->to && d < s->next_dseq; d++) {
		if (d <= s->acked)
			continue;
		struct txslot *t = &s->tx[d % TX_WINDOW];
		if (t->dseq != d) {
			/* already overwritten: message-level repair is impossible */
			stream_start_resync(s);
			return;
		}
		/* resent less than a round trip ago: that copy is still on its way */
		if (t->retries && loop_now_ns() - t->last_ns < s->srtt_ns)
			continue;
		t->last_ns = loop_now_ns();
		t->retries++;
		s->st.retransmits++;
		send_raw(s, &t->b);
	}
}

static void retransmit(struct syncd *s)
{
	uint64_t now = loop_now_ns(), rto = rto_ns(s);
	unsigned budget = 256;

	if (!s->peer_alive)
		return;		/* nobody to send to: the peer resyncs when it returns */
	for (uint64_t d = s->acked + 1; d < s->next_dseq && budget; d++) {
		struct txslot *t = &s->tx[d % TX_WINDOW];
		unsigned shift = t->retries < 6 ? t->retries : 6;
		if (t->dseq != d || now - t->last_ns < (rto << shift))
			continue;
		t->last_ns = now;
		t->retries++;
		s->st.retransmits++;
		send_raw(s, &t->b);
		budget--;
	}
}

/* ---- receiving ---- */

static void send_ack(struct syncd *s)
{
	send_unreliable(s, SYNC_T_ACK, NULL, NULL);
	s->ack_due = 0;
}

/* The request carries our HELLO: the peer must know whether we hold a
 * good table (see on_resync_req) before it answers. */
static void request_resync(struct syncd *s)
{
	uint64_t now = loop_now_ms();
	struct sync_hello h = { .role = (uint8_t)s->role, .synced = (uint8_t)s->synced,
				.resyncs = s->st.resyncs_rx };

	if (!table_is_open(s) || (s->last_req_ms && now - s->last_req_ms < 300))
		return;
	s->last_req_ms = now;
	s->st.resync_reqs_sent++;
	send_unreliable(s, SYNC_T_RESYNC_REQ, NULL, &h);
}

/*
 * A resync request.  Normally we stream our table.  But a switch that has
 * just started (not synced yet) while its peer holds a good table must not
 * push its own: that table is whatever it held before it went away, older
 * than the peer's, and would overwrite re-points the peer made meanwhile.
 * It answers with an empty stream, which still re-anchors the peer.
 */
static void on_resync_req(struct syncd *s, const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	struct sync_hello h;
	int peer_synced = sync_next_record(body, len, &off, &rt, &v, &rl) == 1 &&
			  sync_decode_hello(v, rl, &h) == 0 && h.synced;

	s->st.resync_reqs_rx++;
	if (!s->synced && peer_synced) {
		stream_start_resync(s);
		s->rs_active = 0;	/* no walk */
		send_marker(s, SYNC_T_RESYNC_END, s->rs_id, 0);
		log_event(LOG_NOTICE, "resync_sent", KV_U("id", s->rs_id), KV_U("flows", 0),
			  KV_S("peer", s->peer_name), KV_S("reason", "the peer holds the newer table"));
		return;
	}
	stream_start_resync(s);
}

static void apply_body(struct syncd *s, uint8_t type, const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	struct sync_flow flows[SYNC_MAX_BODY / (4 + SYNC_FLOW_LEN) + 1];
	unsigned n = 0;

	while (sync_next_record(body, len, &off, &rt, &v, &rl) == 1) {
		if (rt == SYNC_R_FLOW && type == SYNC_T_DATA) {
			if (n < sizeof(flows) / sizeof(flows[0]) && sync_decode_flow(v, rl, &flows[n]) == 0)
				n++;
		} else if (rt == SYNC_R_RESYNC && type == SYNC_T_RESYNC_END) {
			struct sync_resync r;
			if (sync_decode_resync(v, rl, &r) == 0 && r.id == s->rs_rx_id) {
				if (!s->synced)
					log_event(LOG_NOTICE, "resync_done", KV_U("id", r.id),
						  KV_U("flows", r.count), KV_S("peer", s->peer_name));
				s->synced = 1;
				s->st.resyncs_rx++;
			}
		}
	}
	if (n) {
		table_apply_many(s, flows, n);	/* in record order */
		s->st.rx_flows += n;
	}
}

/* Records were validated when the message was accepted (see sync_body_valid). */
static void deliver(struct syncd *s, uint64_t dseq, uint8_t type, const uint8_t *body, size_t len)
{
	apply_body(s, type, body, len);
	s->rx_next = dseq + 1;
	/* drain the reorder buffer */
	for (;;) {
		struct rxslot *r = &s->rx[s->rx_next % RX_WINDOW];
		if (r->dseq != s->rx_next)
			break;
		r->dseq = 0;
		apply_body(s, r->type, r->body, r->len);
		s->rx_next++;
	}
}

static void on_reliable(struct syncd *s, const struct sync_hdr *h, const uint8_t *body, size_t len)
{
	if (h->type == SYNC_T_RESYNC_BEGIN) {
		struct sync_resync r;
		size_t off = 0;
		uint16_t rt, rl;
		const uint8_t *v;
		/* A BEGIN older than where we are is a resend of one we applied. */
		if (s->anchored && h->dseq < s->rx_next) {
			s->st.rx_dups++;
			return;
		}
		if (sync_next_record(body, len, &off, &rt, &v, &rl) != 1 || rt != SYNC_R_RESYNC ||
		    sync_decode_resync(v, rl, &r) < 0)
			return;
		/* Re-anchor: whatever we missed before it is covered by the walk. */
		for (size_t i = 0; i < RX_WINDOW; i++)
			if (s->rx[i].dseq && s->rx[i].dseq < h->dseq)
				s->rx[i].dseq = 0;
		s->anchored = 1;
		s->rs_rx_id = r.id;
		deliver(s, h->dseq, h->type, body, len);
		return;
	}
	if (!s->anchored) {
		s->st.rx_unanchored++;
		request_resync(s);
		return;
	}
	if (h->dseq < s->rx_next) {
		s->st.rx_dups++;
		return;
	}
	if (h->dseq == s->rx_next) {
		deliver(s, h->dseq, h->type, body, len);
		return;
	}
	/* A gap: hold this one and ask for what is missing.  Beyond the
	 * reorder buffer, drop it: the sender resends it once the gap is
	 * filled (a resync here would restart the sender's walk: livelock
	 * under load). */
	if (h->dseq - s->rx_next >= RX_WINDOW) {
		s->st.rx_beyond_window++;
		goto nack;
	}
	struct rxslot *r = &s->rx[h->dseq % RX_WINDOW];
	if (r->dseq != h->dseq) {
		r->dseq = h->dseq;
		r->type = h->type;
		r->len = len;
		memcpy(r->body, body, len);
		s->st.rx_reordered++;
	}
nack:;
	uint64_t now = loop_now_ms();
	if (now - s->last_nack_ms >= 5) {
		/* the head of the gap only: the rest follows as acks advance */
		uint64_t to = h->dseq - 1 < s->rx_next + 63 ? h->dseq - 1 : s->rx_next + 63;
		struct sync_range rg = { s->rx_next, to };
		s->last_nack_ms = now;
		s->st.nacks_sent++;
		send_unreliable(s, SYNC_T_NACK, &rg, NULL);
	}
}

static void on_hello(struct syncd *s, const struct sync_hdr *h, const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	struct sync_hello hello;

	if (sync_next_record(body, len, &off, &rt, &v, &rl) != 1 || sync_decode_hello(v, rl, &hello))
		return;
	if (!s->peer_alive)
		log_event(LOG_NOTICE, "peer_up", KV_S("peer", s->peer_name), KV_U("switch", h->sender),
			  KV_U("epoch", h->epoch), KV_S("role", role_name(hello.role)),
			  KV_S("synced", hello.synced ? "yes" : "no"));
	s->peer_hello = hello;
	s->peer_alive = 1;
	s->peer_hello_ms = loop_now_ms();
	if (!s->anchored)
		request_resync(s);
}

/*
 * A HELLO that names another epoch of ours: the peer has not heard this
 * start of ours yet (sync_wire.h, "Replay protection").  Take only the
 * peer's epoch from it, to name in what we send, and answer with our HELLO
 * at once so the peer learns ours within one round trip.  Never an older
 * epoch than one already accepted or heard: a replayed HELLO of an earlier
 * start of the peer changes nothing once its current one spoke.
 */
static void on_hello_unconfirmed(struct syncd *s, const struct sync_hdr *h)
{
	s->st.rx_handshakes++;
	if (h->epoch < s->replay.epoch || h->epoch <= s->heard_epoch)
		return;
	s->heard_epoch = h->epoch;
	stream_send_hello(s);
}

/*
 * A refused datagram's sync_reject event, at most one per REJECT_LOG_MS: a
 * flood of forged or replayed datagrams must not flood the log (the
 * counters in status have them all).  count: the datagrams refused since
 * the last line, this one included; reason: this one's.
 */
#define REJECT_LOG_MS 10000
static void log_reject(struct syncd *s, enum sync_err e)
{
	uint64_t now = loop_now_ms();

	s->rejects_unlogged++;
	if (s->reject_logged_ms && now - s->reject_logged_ms < REJECT_LOG_MS)
		return;
	log_event(LOG_WARNING, "sync_reject", KV_S("peer", s->peer_name),
		  KV_S("reason", sync_err_name(e)), KV_U("count", s->rejects_unlogged));
	s->reject_logged_ms = now;
	s->rejects_unlogged = 0;
}

/* Authenticated, fresh, for this start of ours, well formed?  SYNC_OK, or
 * why not (counted by the caller); *handshake: a HELLO for another start
 * of ours (handled, not counted as a refusal). */
static enum sync_err accept_check(struct syncd *s, enum sync_err e, const struct sync_hdr *h,
				  const uint8_t *body, size_t len, int *handshake)
{
	*handshake = 0;
	if (e == SYNC_OK && h->sender == s->cfg.sync.switch_id)
		e = SYNC_E_REPLAY;	/* our own message reflected back */
	if (e == SYNC_OK && h->peer_epoch != s->epoch) {
		if (h->type != SYNC_T_HELLO || !sync_body_valid(h->type, body, len))
			return SYNC_E_SESSION;
		*handshake = 1;
		return SYNC_OK;
	}
	if (e == SYNC_OK)
		e = sync_replay_check(&s->replay, h->epoch, h->seq);
	if (e == SYNC_OK && !sync_body_valid(h->type, body, len))
		e = SYNC_E_RECORD;
	return e;
}

static void on_datagram(struct syncd *s, const uint8_t *buf, size_t n)
{
	struct sync_hdr h;
	const uint8_t *body = NULL;
	size_t len = 0;
	int handshake;
	enum sync_err e = sync_parse(buf, n, &s->key, &h, &body, &len);

	e = accept_check(s, e, &h, body, len, &handshake);

	if (e != SYNC_OK) {
		s->st.rejects[e]++;
		log_reject(s, e);
		return;
	}
	if (handshake) {
		on_hello_unconfirmed(s, &h);
		return;
	}
	sync_replay_commit(&s->replay, h.epoch, h.seq);
	s->st.rx_msgs++;
	s->heard_epoch = h.epoch;	/* >= any accepted before: the replay window says so */
	if (h.epoch != s->peer_epoch) {
		if (s->peer_epoch)
			log_event(LOG_NOTICE, "peer_restart", KV_S("peer", s->peer_name),
				  KV_U("epoch", h.epoch), KV_U("old_epoch", s->peer_epoch));
		s->peer_epoch = h.epoch;
		s->anchored = 0;
		for (size_t i = 0; i < RX_WINDOW; i++)
			s->rx[i].dseq = 0;
		/* The new instance knows nothing of our stream either. */
		s->acked = s->next_dseq - 1;
		for (size_t i = 0; i < TX_WINDOW; i++)
			s->tx[i].dseq = 0;
	}
	on_ack(s, h.ack);
	switch (h.type) {
	case SYNC_T_HELLO:
		on_hello(s, &h, body, len);
		break;
	case SYNC_T_ACK:
		break;
	case SYNC_T_NACK: {
		size_t off = 0;
		uint16_t rt, rl;
		const uint8_t *v;
		struct sync_range r;
		if (sync_next_record(body, len, &off, &rt, &v, &rl) == 1 &&
		    sync_decode_range(v, rl, &r) == 0)
			on_nack(s, &r);
		break;
	}
	case SYNC_T_RESYNC_REQ:
		on_resync_req(s, body, len);
		break;
	default:
		on_reliable(s, &h, body, len);
		s->ack_due = 1;
	}
}

static void sock_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct syncd *s = io->arg;
	uint8_t buf[SYNC_MAX_MSG + 64];

	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(io->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		on_datagram(s, buf, (size_t)n);
	}
	if (s->ack_due)
		send_ack(s);
	resync_continue(s);
	stream_barriers_check(s);
}

void stream_send_hello(struct syncd *s)
{
	struct sync_hello h = { .role = (uint8_t)s->role, .synced = (uint8_t)stream_ready(s),
				.resyncs = s->st.resyncs_rx };

	send_unreliable(s, SYNC_T_HELLO, NULL, &h);
}

int stream_ready(const struct syncd *s)
{
	if (s->synced)
		return 1;
	/* Alone: no peer answered within peer_dead_ms of our start. */
	return !s->peer_alive && loop_now_ms() - s->started_ms >= s->cfg.sync.peer_dead_ms;
}

void stream_tick(struct syncd *s)
{
	uint64_t now = loop_now_ms();
	static const uint64_t hello_ms = HELLO_MS;

	if (s->peer_alive && now - s->peer_hello_ms > s->cfg.sync.peer_dead_ms) {
		log_event(LOG_WARNING, "peer_down", KV_S("peer", s->peer_name),
			  KV_U("silent_ms", now - s->peer_hello_ms));
		s->peer_alive = 0;
	}
	if (now / hello_ms != (now - TICK_MS) / hello_ms)
		stream_send_hello(s);
	stream_flush(s);
	retransmit(s);
	resync_continue(s);
	if (s->ack_due)
		send_ack(s);
	stream_barriers_check(s);
}

int stream_open(struct syncd *s)
{
	struct sockaddr_storage local, peer;
	socklen_t ll, pl;
	int one = 1, buf = 8 << 20;

	s->tx = calloc(TX_WINDOW, sizeof(*s->tx));
	s->rx = calloc(RX_WINDOW, sizeof(*s->rx));
	if (!s->tx || !s->rx)
		return -1;
	s->next_dseq = 1;
	taddr_fmt(&s->cfg.sync.peer, s->peer_name, sizeof(s->peer_name));
	ll = taddr_sockaddr(&s->cfg.sync.local, s->cfg.sync.port, &local);
	pl = taddr_sockaddr(&s->cfg.sync.peer, s->cfg.sync.port, &peer);
	s->sock.fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->sock.fd < 0)
		return -1;
	setsockopt(s->sock.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s->sock.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(s->sock.fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	/* Bound to the sync-link address and connected to the peer: the
	 * kernel drops datagrams from anyone else before we see them. */
	if (bind(s->sock.fd, (struct sockaddr *)&local, ll) < 0 ||
	    connect(s->sock.fd, (struct sockaddr *)&peer, pl) < 0)
		return -1;
	s->sock.cb = sock_readable;
	s->sock.arg = s;
	return loop_add(&s->loop, &s->sock, EPOLLIN);
}
