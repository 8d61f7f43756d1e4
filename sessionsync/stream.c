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

static void send_raw(struct sync_peer *p, struct sync_builder *b)
{
	struct syncd *s = p->s;
	size_t n = sync_seal(b, &s->key, ++p->seq, p->anchored ? p->rx_next - 1 : 0,
			     p->heard_epoch);

	if (send(p->sock.fd, b->buf, n, MSG_DONTWAIT) == (ssize_t)n) {
		s->st.tx_msgs++;
		s->st.tx_bytes += n;
	}
	/* A send error (peer unreachable, buffer full) is handled like loss:
	 * the message stays in the window and is resent. */
}

static void send_unreliable(struct sync_peer *p, uint8_t type, const struct sync_range *r,
			    const struct sync_hello *h)
{
	struct syncd *s = p->s;
	struct sync_hdr hd = { .type = type, .sender = s->cfg.sync.switch_id, .epoch = s->epoch };
	struct sync_builder b;

	sync_begin(&b, &hd);
	if (r)
		sync_add_range(&b, r);
	if (h)
		sync_add_hello(&b, h);
	send_raw(p, &b);
}

uint64_t stream_peer_in_flight(const struct sync_peer *p)
{
	return p->next_dseq - 1 - p->acked;
}

uint64_t stream_in_flight(const struct syncd *s)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < s->npeers; i++)
		n += stream_peer_in_flight(&s->peers[i]);
	return n;
}

/* Take the next dseq for a reliable message built in *b; keep it for resends. */
static void send_reliable(struct sync_peer *p, struct sync_builder *b, uint64_t oldest_event_ns)
{
	struct syncd *s = p->s;
	uint64_t dseq = p->next_dseq;
	struct txslot *t = &p->tx[dseq % TX_WINDOW];

	if (t->dseq) {
		/* The window is full: the peer has not acked for TX_WINDOW
		 * messages.  Overwrite and repair with a resync once it answers. */
		s->st.window_full++;
	}
	p->next_dseq++;
	/* dseq sits in the header, written by sync_begin: patch it in. */
	for (int i = 0; i < 8; i++)
		b->buf[24 + i] = (uint8_t)(dseq >> (56 - 8 * i));
	t->dseq = dseq;
	t->retries = 0;
	t->first_ns = t->last_ns = loop_now_ns();
	t->oldest_event_ns = oldest_event_ns;
	t->b = *b;
	send_raw(p, &t->b);
}

static void begin_data(struct sync_peer *p, struct sync_builder *b, uint8_t type)
{
	struct syncd *s = p->s;
	/* dseq 1 is a placeholder so sync_begin writes a non-zero field. */
	struct sync_hdr hd = { .type = type, .sender = s->cfg.sync.switch_id, .epoch = s->epoch,
			       .dseq = 1 };
	sync_begin(b, &hd);
}

static void peer_flush(struct sync_peer *p)
{
	if (!p->cur_flows)
		return;
	send_reliable(p, &p->cur, p->cur_oldest_ns);
	p->cur_flows = 0;
	p->cur_oldest_ns = 0;
}

void stream_flush(struct syncd *s)
{
	for (unsigned i = 0; i < s->npeers; i++)
		peer_flush(&s->peers[i]);
}

void stream_add_flow_to(struct sync_peer *p, const struct sync_flow *f, uint64_t event_ns)
{
	if (p->cur_flows == 0)
		begin_data(p, &p->cur, SYNC_T_DATA);
	if (sync_add_flow(&p->cur, f) < 0) {
		peer_flush(p);
		begin_data(p, &p->cur, SYNC_T_DATA);
		sync_add_flow(&p->cur, f);
	}
	if (event_ns && (!p->cur_oldest_ns || event_ns < p->cur_oldest_ns))
		p->cur_oldest_ns = event_ns;
	p->cur_flows++;
	p->tx_flows++;
	p->s->st.tx_flows++;
}

/* A change of our own goes to every member (full mesh): each member hears
 * each flow from the switch that made it, one hop, no relaying. */
void stream_add_flow(struct syncd *s, const struct sync_flow *f, uint64_t event_ns)
{
	for (unsigned i = 0; i < s->npeers; i++)
		stream_add_flow_to(&s->peers[i], f, event_ns);
}

static void send_marker(struct sync_peer *p, uint8_t type, uint64_t id, uint64_t count)
{
	struct sync_builder b;
	struct sync_resync r = { id, count };

	peer_flush(p);
	begin_data(p, &b, type);
	sync_add_resync(&b, &r);
	send_reliable(p, &b, 0);
}

void stream_start_resync_all(struct syncd *s)
{
	for (unsigned i = 0; i < s->npeers; i++)
		stream_start_resync(&s->peers[i]);
}

/* Start (or restart) streaming our whole table to the peer. */
void stream_start_resync(struct sync_peer *p)
{
	struct syncd *s = p->s;
	/* Everything unacked is superseded by the walk, which reads the
	 * current state: drop it, so the window is free for the walk. */
	for (size_t i = 0; i < TX_WINDOW; i++)
		p->tx[i].dseq = 0;
	peer_flush(p);
	p->acked = p->next_dseq - 1;
	p->rs_active = 1;
	p->rs_id++;
	p->rs_count = 0;
	p->rs_have_cursor = 0;
	p->rs_pins = 0;
	p->rs_again = 0;
	s->st.resyncs_sent++;
	send_marker(p, SYNC_T_RESYNC_BEGIN, p->rs_id, 0);
	log_event(LOG_NOTICE, "resync_start", KV_U("id", p->rs_id), KV_S("peer", p->peer_name));
}

static void resync_continue(struct sync_peer *p)
{
	if (!p->rs_active)
		return;
	/* Keep half the window for live events. */
	while (stream_peer_in_flight(p) < RESYNC_WINDOW) {
		int end = table_resync_step(p, 1024);
		if (end) {
			send_marker(p, SYNC_T_RESYNC_END, p->rs_id, p->rs_count);
			p->rs_active = 0;
			log_event(LOG_NOTICE, "resync_sent", KV_U("id", p->rs_id),
				  KV_U("flows", p->rs_count), KV_S("peer", p->peer_name));
			if (p->rs_again)	/* changes lost during that walk (table.c) */
				stream_start_resync(p);
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

/* Smoothed ack round trip; the retransmission timeout follows it, so a
 * loaded peer is not flooded with resends it will ack anyway. */
static void rtt_sample(struct sync_peer *p, uint64_t rtt)
{
	if (!p->srtt_ns) {
		p->srtt_ns = rtt;
		p->rttvar_ns = rtt / 2;
		return;
	}
	uint64_t d = rtt > p->srtt_ns ? rtt - p->srtt_ns : p->srtt_ns - rtt;
	p->rttvar_ns = (3 * p->rttvar_ns + d) / 4;
	p->srtt_ns = (7 * p->srtt_ns + rtt) / 8;
}

static uint64_t rto_ns(const struct sync_peer *p)
{
	uint64_t rto = p->srtt_ns ? p->srtt_ns + 4 * p->rttvar_ns : 3 * (uint64_t)RTO_MIN_MS * 1000000;

	if (rto < (uint64_t)RTO_MIN_MS * 1000000)
		rto = (uint64_t)RTO_MIN_MS * 1000000;
	if (rto > (uint64_t)RTO_MAX_MS * 1000000)
		rto = (uint64_t)RTO_MAX_MS * 1000000;
	return rto;
}

static void on_ack(struct sync_peer *p, uint64_t ack)
{
	struct syncd *s = p->s;
	uint64_t now = loop_now_ns();

	if (ack >= p->next_dseq || ack <= p->acked)
		return;
	for (uint64_t d = p->acked + 1; d <= ack; d++) {
		struct txslot *t = &p->tx[d % TX_WINDOW];
		if (t->dseq == d) {
			if (t->oldest_event_ns)
				lag_sample(s, now - t->oldest_event_ns);
			if (!t->retries && d == ack)	/* Karn: never time a resent one */
				rtt_sample(p, now - t->first_ns);
			t->dseq = 0;
		}
	}
	p->acked = ack;
}

static void on_nack(struct sync_peer *p, const struct sync_range *r)
{
	struct syncd *s = p->s;
	s->st.nacks_rx++;
	for (uint64_t d = r->from; d <= r->to && d < p->next_dseq; d++) {
		if (d <= p->acked)
			continue;
		struct txslot *t = &p->tx[d % TX_WINDOW];
		if (t->dseq != d) {
			/* already overwritten: message-level repair is impossible */
			stream_start_resync(p);
			return;
		}
		/* resent less than a round trip ago: that copy is still on its way */
		if (t->retries && loop_now_ns() - t->last_ns < p->srtt_ns)
			continue;
		t->last_ns = loop_now_ns();
		t->retries++;
		s->st.retransmits++;
		send_raw(p, &t->b);
	}
}

static void retransmit(struct sync_peer *p)
{
	struct syncd *s = p->s;
	uint64_t now = loop_now_ns(), rto = rto_ns(p);
	unsigned budget = 256;

	if (!p->peer_alive)
		return;		/* nobody to send to: the peer resyncs when it returns */
	for (uint64_t d = p->acked + 1; d < p->next_dseq && budget; d++) {
		struct txslot *t = &p->tx[d % TX_WINDOW];
		unsigned shift = t->retries < 6 ? t->retries : 6;
		if (t->dseq != d || now - t->last_ns < (rto << shift))
			continue;
		t->last_ns = now;
		t->retries++;
		s->st.retransmits++;
		send_raw(p, &t->b);
		budget--;
	}
}

/* ---- receiving ---- */

static void send_ack(struct sync_peer *p)
{
	send_unreliable(p, SYNC_T_ACK, NULL, NULL);
	p->ack_due = 0;
}

/* The request carries our HELLO: the peer must know whether we hold a
 * good table (see on_resync_req) before it answers. */
static void request_resync(struct sync_peer *p)
{
	struct syncd *s = p->s;
	uint64_t now = loop_now_ms();
	struct sync_hello h = { .role = (uint8_t)s->role, .synced = (uint8_t)s->synced,
				.resyncs = s->st.resyncs_rx };

	if (!table_is_open(s) || (p->last_req_ms && now - p->last_req_ms < 300))
		return;
	p->last_req_ms = now;
	s->st.resync_reqs_sent++;
	send_unreliable(p, SYNC_T_RESYNC_REQ, NULL, &h);
}

/*
 * A resync request.  Normally we stream our table.  But a switch that has
 * just started (not synced yet) while its peer holds a good table must not
 * push its own: that table is whatever it held before it went away, older
 * than the peer's, and would overwrite re-points the peer made meanwhile.
 * It answers with an empty stream, which still re-anchors the peer.
 */
static void on_resync_req(struct sync_peer *p, const uint8_t *body, size_t len)
{
	struct syncd *s = p->s;
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	struct sync_hello h;
	int peer_synced = sync_next_record(body, len, &off, &rt, &v, &rl) == 1 &&
			  sync_decode_hello(v, rl, &h) == 0 && h.synced;

	s->st.resync_reqs_rx++;
	if (!s->synced && peer_synced) {
		stream_start_resync(p);
		p->rs_active = 0;	/* no walk */
		send_marker(p, SYNC_T_RESYNC_END, p->rs_id, 0);
		log_event(LOG_NOTICE, "resync_sent", KV_U("id", p->rs_id), KV_U("flows", 0),
			  KV_S("peer", p->peer_name), KV_S("reason", "the peer holds the newer table"));
		return;
	}
	stream_start_resync(p);
}

static void apply_body(struct sync_peer *p, uint8_t type, const uint8_t *body, size_t len)
{
	struct syncd *s = p->s;
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
			if (sync_decode_resync(v, rl, &r) == 0 && r.id == p->rs_rx_id) {
				if (!p->synced)
					log_event(LOG_NOTICE, "resync_done", KV_U("id", r.id),
						  KV_U("flows", r.count), KV_S("peer", p->peer_name));
				s->synced = 1;
				p->synced = 1;
				p->resyncs_rx++;
				s->st.resyncs_rx++;
			}
		}
	}
	if (n) {
		table_apply_many(s, flows, n);	/* in record order */
		s->st.rx_flows += n;
		p->rx_flows += n;
	}
}

/* Records were validated when the message was accepted (see sync_body_valid). */
static void deliver(struct sync_peer *p, uint64_t dseq, uint8_t type, const uint8_t *body, size_t len)
{
	apply_body(p, type, body, len);
	p->rx_next = dseq + 1;
	/* drain the reorder buffer */
	for (;;) {
		struct rxslot *r = &p->rx[p->rx_next % RX_WINDOW];
		if (r->dseq != p->rx_next)
			break;
		r->dseq = 0;
		apply_body(p, r->type, r->body, r->len);
		p->rx_next++;
	}
}

static void on_reliable(struct sync_peer *p, const struct sync_hdr *h, const uint8_t *body, size_t len)
{
	struct syncd *s = p->s;
	if (h->type == SYNC_T_RESYNC_BEGIN) {
		struct sync_resync r;
		size_t off = 0;
		uint16_t rt, rl;
		const uint8_t *v;
		/* A BEGIN older than where we are is a resend of one we applied. */
		if (p->anchored && h->dseq < p->rx_next) {
			s->st.rx_dups++;
			return;
		}
		if (sync_next_record(body, len, &off, &rt, &v, &rl) != 1 || rt != SYNC_R_RESYNC ||
		    sync_decode_resync(v, rl, &r) < 0)
			return;
		/* Re-anchor: whatever we missed before it is covered by the walk. */
		for (size_t i = 0; i < RX_WINDOW; i++)
			if (p->rx[i].dseq && p->rx[i].dseq < h->dseq)
				p->rx[i].dseq = 0;
		p->anchored = 1;
		p->rs_rx_id = r.id;
		deliver(p, h->dseq, h->type, body, len);
		return;
	}
	if (!p->anchored) {
		s->st.rx_unanchored++;
		request_resync(p);
		return;
	}
	if (h->dseq < p->rx_next) {
		s->st.rx_dups++;
		return;
	}
	if (h->dseq == p->rx_next) {
		deliver(p, h->dseq, h->type, body, len);
		return;
	}
	/* A gap: hold this one and ask for what is missing.  Beyond the
	 * reorder buffer, drop it: the sender resends it once the gap is
	 * filled (a resync here would restart the sender's walk: livelock
	 * under load). */
	if (h->dseq - p->rx_next >= RX_WINDOW) {
		s->st.rx_beyond_window++;
		goto nack;
	}
	struct rxslot *r = &p->rx[h->dseq % RX_WINDOW];
	if (r->dseq != h->dseq) {
		r->dseq = h->dseq;
		r->type = h->type;
		r->len = len;
		memcpy(r->body, body, len);
		s->st.rx_reordered++;
	}
nack:;
	uint64_t now = loop_now_ms();
	if (now - p->last_nack_ms >= 5) {
		/* the head of the gap only: the rest follows as acks advance */
		uint64_t to = h->dseq - 1 < p->rx_next + 63 ? h->dseq - 1 : p->rx_next + 63;
		struct sync_range rg = { p->rx_next, to };
		p->last_nack_ms = now;
		s->st.nacks_sent++;
		send_unreliable(p, SYNC_T_NACK, &rg, NULL);
	}
}

static void on_hello(struct sync_peer *p, const struct sync_hdr *h, const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	struct sync_hello hello;

	if (sync_next_record(body, len, &off, &rt, &v, &rl) != 1 || sync_decode_hello(v, rl, &hello))
		return;
	if (!p->peer_alive)
		log_event(LOG_NOTICE, "peer_up", KV_S("peer", p->peer_name), KV_U("switch", h->sender),
			  KV_U("epoch", h->epoch), KV_S("role", role_name(hello.role)),
			  KV_S("synced", hello.synced ? "yes" : "no"));
	if (!p->peer_alive && p->s->group)
		group_peer_up(p);
	p->peer_hello = hello;
	p->peer_alive = 1;
	p->peer_hello_ms = loop_now_ms();
	if (!p->anchored)
		request_resync(p);
}

/*
 * A HELLO that names another epoch of ours: the peer has not heard this
 * start of ours yet (sync_wire.h, "Replay protection").  Take only the
 * peer's epoch from it, to name in what we send, and answer with our HELLO
 * at once so the peer learns ours within one round trip.  Never an older
 * epoch than one already accepted or heard: a replayed HELLO of an earlier
 * start of the peer changes nothing once its current one spoke.
 */
static void on_hello_unconfirmed(struct sync_peer *p, const struct sync_hdr *h)
{
	struct syncd *s = p->s;
	s->st.rx_handshakes++;
	if (h->epoch < p->replay.epoch || h->epoch <= p->heard_epoch)
		return;
	p->heard_epoch = h->epoch;
	stream_send_hello(s);
}

/*
 * A refused datagram's sync_reject event, at most one per REJECT_LOG_MS: a
 * flood of forged or replayed datagrams must not flood the log (the
 * counters in status have them all).  count: the datagrams refused since
 * the last line, this one included; reason: this one's.
 */
#define REJECT_LOG_MS 10000
static void log_reject(struct sync_peer *p, enum sync_err e)
{
	uint64_t now = loop_now_ms();

	p->rejects_unlogged++;
	if (p->reject_logged_ms && now - p->reject_logged_ms < REJECT_LOG_MS)
		return;
	log_event(LOG_WARNING, "sync_reject", KV_S("peer", p->peer_name),
		  KV_S("reason", sync_err_name(e)), KV_U("count", p->rejects_unlogged));
	p->reject_logged_ms = now;
	p->rejects_unlogged = 0;
}

/* Authenticated, fresh, for this start of ours, well formed?  SYNC_OK, or
 * why not (counted by the caller); *handshake: a HELLO for another start
 * of ours (handled, not counted as a refusal). */
static enum sync_err accept_check(struct sync_peer *p, enum sync_err e, const struct sync_hdr *h,
				  const uint8_t *body, size_t len, int *handshake)
{
	struct syncd *s = p->s;
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
		e = sync_replay_check(&p->replay, h->epoch, h->seq);
	if (e == SYNC_OK && !sync_body_valid(h->type, body, len))
		e = SYNC_E_RECORD;
	return e;
}

static void on_datagram(struct sync_peer *p, const uint8_t *buf, size_t n)
{
	struct syncd *s = p->s;
	struct sync_hdr h;
	const uint8_t *body = NULL;
	size_t len = 0;
	int handshake;
	enum sync_err e = sync_parse(buf, n, &s->key, &h, &body, &len);

	e = accept_check(p, e, &h, body, len, &handshake);

	if (e != SYNC_OK) {
		s->st.rejects[e]++;
		log_reject(p, e);
		return;
	}
	if (handshake) {
		on_hello_unconfirmed(p, &h);
		return;
	}
	sync_replay_commit(&p->replay, h.epoch, h.seq);
	s->st.rx_msgs++;
	p->heard_epoch = h.epoch;	/* >= any accepted before: the replay window says so */
	if (h.epoch != p->peer_epoch) {
		if (p->peer_epoch)
			log_event(LOG_NOTICE, "peer_restart", KV_S("peer", p->peer_name),
				  KV_U("epoch", h.epoch), KV_U("old_epoch", p->peer_epoch));
		p->peer_epoch = h.epoch;
		p->anchored = 0;
		for (size_t i = 0; i < RX_WINDOW; i++)
			p->rx[i].dseq = 0;
		/* The new instance knows nothing of our stream either. */
		p->acked = p->next_dseq - 1;
		for (size_t i = 0; i < TX_WINDOW; i++)
			p->tx[i].dseq = 0;
	}
	on_ack(p, h.ack);
	switch (h.type) {
	case SYNC_T_HELLO:
		on_hello(p, &h, body, len);
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
			on_nack(p, &r);
		break;
	}
	case SYNC_T_RESYNC_REQ:
		on_resync_req(p, body, len);
		break;
	default:
		on_reliable(p, &h, body, len);
		p->ack_due = 1;
	}
}

static void sock_readable(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct sync_peer *p = io->arg;
	struct syncd *s = p->s;
	uint8_t buf[SYNC_MAX_MSG + 64];

	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(io->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		on_datagram(p, buf, (size_t)n);
	}
	if (p->ack_due)
		send_ack(p);
	resync_continue(p);
	stream_barriers_check(s);
}

void stream_send_hello(struct syncd *s)
{
	struct sync_hello h = { .role = (uint8_t)s->role, .synced = (uint8_t)stream_ready(s),
				.resyncs = s->st.resyncs_rx };

	if (s->group)
		h.heard = group_heard_mask(s);
	for (unsigned i = 0; i < s->npeers; i++)
		send_unreliable(&s->peers[i], SYNC_T_HELLO, NULL, &h);
}

int stream_ready(const struct syncd *s)
{
	if (s->group)
		return s->group_ok;
	if (s->synced)
		return 1;
	/* Alone: no peer answered within peer_dead_ms of our start. */
	return !s->peers[0].peer_alive && loop_now_ms() - s->started_ms >= s->cfg.sync.peer_dead_ms;
}

static void peer_tick(struct sync_peer *p, uint64_t now)
{
	struct syncd *s = p->s;

	if (p->peer_alive && now - p->peer_hello_ms > s->cfg.sync.peer_dead_ms) {
		log_event(LOG_WARNING, "peer_down", KV_S("peer", p->peer_name),
			  KV_U("silent_ms", now - p->peer_hello_ms));
		p->peer_alive = 0;
		if (s->group)
			group_peer_down(p);
	}
	peer_flush(p);
	retransmit(p);
	resync_continue(p);
	if (p->ack_due)
		send_ack(p);
}

void stream_tick(struct syncd *s)
{
	uint64_t now = loop_now_ms();
	static const uint64_t hello_ms = HELLO_MS;

	for (unsigned i = 0; i < s->npeers; i++)
		peer_tick(&s->peers[i], now);
	if (s->group)
		group_tick(s);
	if (now / hello_ms != (now - TICK_MS) / hello_ms)
		stream_send_hello(s);
	stream_barriers_check(s);
}

/* One socket per member link, bound to the sync address and port and
 * connected to that member: the kernel hands each member's datagrams to its
 * own socket (a connected UDP socket is the better match) and drops
 * datagrams from anyone else before we see them. */
static int peer_open(struct syncd *s, struct sync_peer *p, unsigned member, const struct taddr *a)
{
	struct sockaddr_storage local, peer;
	socklen_t ll, pl;
	int one = 1, buf = 8 << 20;

	p->s = s;
	p->member = member;
	p->addr = *a;
	p->tx = calloc(TX_WINDOW, sizeof(*p->tx));
	p->rx = calloc(RX_WINDOW, sizeof(*p->rx));
	if (!p->tx || !p->rx)
		return -1;
	p->next_dseq = 1;
	taddr_fmt(a, p->peer_name, sizeof(p->peer_name));
	ll = taddr_sockaddr(&s->cfg.sync.local, s->cfg.sync.port, &local);
	pl = taddr_sockaddr(a, s->cfg.sync.port, &peer);
	p->sock.fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->sock.fd < 0)
		return -1;
	setsockopt(p->sock.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(p->sock.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(p->sock.fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(p->sock.fd, (struct sockaddr *)&local, ll) < 0 ||
	    connect(p->sock.fd, (struct sockaddr *)&peer, pl) < 0)
		return -1;
	p->sock.cb = sock_readable;
	p->sock.arg = p;
	return loop_add(&s->loop, &p->sock, EPOLLIN);
}

/* The pair's one peer, or every other member of the group. */
int stream_open(struct syncd *s)
{
	const struct cfg_sync *c = &s->cfg.sync;

	s->group = c->nmembers > 0;
	s->npeers = s->group ? c->nmembers - 1 : 1;
	s->peers = calloc(s->npeers, sizeof(*s->peers));
	if (!s->peers)
		return -1;
	if (!s->group)
		return peer_open(s, &s->peers[0], 0, &c->peer);
	for (unsigned m = 0, i = 0; m < c->nmembers; m++)
		if (m != c->self && peer_open(s, &s->peers[i++], m, &c->members[m]) < 0)
			return -1;
	return 0;
}
