/*
 * handoff_int.h - the session handoff engine's parts and what they share
 * (private to storage/handoff/; the daemon sees handoff.h).  The engine
 * moves a live client connection (its TCP connection with libtch, its
 * application state as a blob) to another storage node, unnoticed by the
 * client (doc/nasd.md "Session handoff", doc/tch.md, lib/handoff_wire.h).
 *
 *   channel.c   the node-to-node channels: connect/accept, HELLO, framing,
 *               send/receive (an outbound channel's frames go to outgoing.c)
 *   report.c    the switch: REDIRECT/RECLAIM reports to lbd with their
 *               retries and ACKs, the switch's MOVE requests, LOAD reports
 *   incoming.c  this node as the new node N: the transactions it serves
 *   outgoing.c  this node as the old node O: the transaction itself, a state
 *               machine on the event loop (outgoing.h)
 *   outgoing_run.c  its queue, its reply to whoever started it
 *   control.c   control commands, status, scheduled moves, start and stop
 *   policy.c    what automatic moves may do: the switch's node states
 *               (drain), pins after an operator's move, VIP sessions only
 *
 * What moves is an opaque connection with its kind's ops (handoff.h):
 * storage/http/session_handoff.c, storage/nfs/nfs_handoff.c.
 *
 * Channels: one persistent TCP connection to every configured peer (opened
 * at start, reopened every 500 ms tick while down) and the ones peers open to
 * us, only from a configured peer's address, a few at a time (CHAN_*).
 * The handshake (three HELLOs under the pair key, lib/handoff_wire.h) must
 * finish within CHAN_HELLO_MS, in frames of at most HO_HELLO_MAX bytes;
 * later frames use the per-channel key (ho_channel_key) and seq = previous
 * + 1.  Keys: lib/handoff_key.h (the node key to the switch, a pair key
 * per peer).
 * This node runs the transactions it starts (old node, O) on its own
 * outgoing channel and serves the transactions of the peers (new node, N)
 * on the channels they opened, both from the event loop: O's transaction
 * is a state machine (outgoing.c) driven by its channel's frames, the
 * switch's answers and a timer per transaction (each wait at most
 * timeout_ms; the switch's ACK report_timeout_ms per try), up to
 * OTX_PARALLEL at once, the rest queued in order.  So the two roles never
 * share a channel's stream, and the node's other sessions are served while
 * a handoff runs.
 *
 *   O: OPEN ->                          N: flowdrop_add(guard) <- OPEN_RESP
 *                                          (or FAIL)
 *   O: session_pause, flowdrop_add(guard), tch_freeze, report REDIRECT
 *      (flow -> N) to the switch, session_snapshot -> st.app, UPDATE ->
 *                                       N: precheck the blob (file version),
 *                                          tch_restore <- COMPLETE
 *   O: wait for the switch's ACK (retries with a new seq), session_release,
 *      tch_close_silently, flowdrop_add(grace), ACK ->
 *                                       N: flowdrop_del, tch_resume,
 *                                          session_restore <- DONE
 *   The switch re-points while the UPDATE travels and N restores; N drops
 *   the flow from OPEN on, so a client packet re-pointed early finds no
 *   socket-less node (the client resends it).
 *   FAIL (or timeout, channel loss, no switch ACK) before O closed: O
 *   re-points the switch to itself (RECLAIM: the switch also refuses a
 *   late REDIRECT of this txid) if its REDIRECT was sent, flowdrop_del,
 *   tch_thaw, session_resume: the session goes on here; N closes its
 *   restored socket silently.
 */
#ifndef TANDEM_NASD_HANDOFF_INT_H
#define TANDEM_NASD_HANDOFF_INT_H

#include "handoff.h"

#include "lib/cluster_wire.h"
#include "lib/handoff_key.h"
#include "lib/handoff_wire.h"
#include "lib/lat_hist.h"
#include "storage/tch/flowdrop.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_state.h"

#define RX_MAX (HO_MAX_FRAME + 4)

/* Inbound channels (an attacker on the storage LAN may connect too): a
 * channel must finish its handshake within CHAN_HELLO_MS; at most
 * CHAN_PENDING_PER_SRC unfinished ones per source address and CHAN_MAX_IN
 * in all; an address that is no configured peer's is closed at once. */
#define CHAN_HELLO_MS 2000
#define CHAN_PENDING_PER_SRC 4
#define CHAN_MAX_IN (8 * NASD_MAX_PEERS)
#define CHAN_UP_PER_PEER 4	/* more up from one peer: the oldest are closed */
/* A receive buffer grown for a large frame shrinks back to this once the
 * frame is consumed; so does a send buffer once it is sent. */
#define CHAN_RX_KEEP (128u << 10)
/* Output waiting for the socket: at most two whole frames (an UPDATE each
 * of two transactions) and then some; a channel whose output has not moved
 * for CHAN_TX_STALL_MS is closed. */
#define CHAN_TX_MAX (2 * (size_t)HO_MAX_FRAME + (1u << 20))
#define CHAN_TX_STALL_MS 10000
/* Switches whose MOVEs this node keeps a replay window for (a pair is two;
 * room for replaced ones; when all are used a new switch id is refused). */
#define SW_WINDOWS 8

/* FAIL reason codes (HO_R_REASON) */
#define RC_REFUSED 1		/* N gives the transaction up (before its resume) */
#define RC_REPOINTED 2		/* N could not resume after O's ACK: the session is lost */

/* A connection that moves: its kind's ops and the kind's own pointer. */
struct ho_conn {
	const struct ho_conn_ops *ops;
	void *p;
};

/* The kinds of connections, in lookup order (HTTP first), NULL-terminated
 * (control.c). */
extern const struct ho_conn_ops *const ho_kinds[];

/* CH_HELLO: waiting for the peer's HELLO; CH_CONFIRM: the accepting side
 * answered it and waits for the connecting side's key confirmation. */
enum { CH_CONNECTING = 1, CH_HELLO, CH_CONFIRM, CH_UP };

/* A channel to or from a peer node. */
struct chan {
	struct loop_io io;
	struct handoff *h;
	struct chan *next;		/* inbound list */
	int peer;			/* index in cfg peers; -1 until HELLO (inbound) */
	int outbound;
	int state;
	uint32_t events;
	uint64_t t0_ms;			/* opened (the handshake's deadline runs from here) */
	struct taddr src;		/* inbound: the source address */
	uint8_t my_nonce[HO_NONCE_LEN], peer_nonce[HO_NONCE_LEN];
	struct ho_key key;		/* channel key (from CH_CONFIRM, or up) */
	uint64_t tx_seq, rx_seq;	/* next to send / expected */
	int broken;			/* a send failed (the stream may hold part of a
					 * frame): closed by the tick, unused until then */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	/* output the socket did not take yet (sent on EPOLLOUT, in order) */
	uint8_t *tx;
	size_t tx_off, tx_len, tx_cap;
	uint64_t tx_moved_ms;		/* when it last moved (a stalled one is closed) */
};

/* A transaction served here (this node is N). */
struct intx {
	struct intx *next;
	struct chan *ch;
	uint32_t txid;
	const struct ho_conn_ops *ops;	/* the OPEN's service */
	int state;			/* HO_S_OPEN, HO_S_HALF_ACTIVE (COMPLETE sent) */
	struct tch_state st;
	int have_st;
	int nfd;
	struct lb_flow_key key;
	uint64_t t0;
	uint8_t cause;			/* the OPEN's HO_R_CAUSE (HO_CAUSE_UNSAID if none) */
};

/* Which nodes one switch says drain (policy.c; the bits are peer indexes). */
struct ho_sw_states {
	int used;
	uint32_t switch_id;
	uint64_t gen, at_ms;		/* the states' generation, when last heard */
	uint32_t drain_peers;
	int drain_self;
};

/* Half handoff, new node (prepare.c): a session whose queued requests it
 * started on (a PREPARE), waiting for the session itself. */
#define HO_PREP_MAX 64
#define HO_PREP_TTL_NS (10ull * 1000000000)	/* then released (nothing is held but this) */
struct ho_prep {
	int used;
	struct lb_flow_key key;
	uint64_t at_ns;			/* when it was prepared (CLOCK_MONOTONIC) */
	unsigned requests;		/* requests started on */
};
struct ho_half_stats {
	uint64_t sent;			/* PREPAREs sent (old node) */
	uint64_t received, bad, requests;	/* PREPAREs taken, refused; requests started on */
	uint64_t files;			/* of those, files opened and read ahead */
	uint64_t arrived, arrived_requests;	/* prepared sessions that came; their requests */
	uint64_t expired, replaced;	/* released unused: timed out; pushed out (table full) */
	uint64_t last_prepare_ns;	/* when the last PREPARE was started on */
	unsigned last_requests;		/* and how many requests it held */
};

/* The engine's context (n->ho): one per process. */
struct handoff {
	struct nasd *n;
	const struct nasd_handoff_config *cfg;
	struct hokey_set *keys;		/* the key file (heap) */
	struct ho_key node_key;		/* K(this node): the switch link */
	struct ho_key pair[NASD_MAX_PEERS];	/* K(this node, peer i): its channels */
	struct flowdrop drop;
	int drop_open;
	struct tch_raw raw;		/* the kick's and replay's raw sockets (tch_raw.c) */
	struct loop_io lis;
	struct loop_timer tick;
	/* handoffs asked for by the service (data location), run from a timer */
	struct loop_timer sched_timer;
	int sched_timer_ok;
	struct { uint64_t id; int pi; const struct ho_conn_ops *ops; uint8_t cause; } sched[32];
	unsigned nsched;
	struct chan *out[NASD_MAX_PEERS];
	struct chan *in;		/* inbound channels */
	struct intx *txs;
	/* the outgoing transactions' snapshot buffer (the largest blob_max of
	 * the kinds): owned here, allocated by handoff_open, freed by
	 * handoff_close; used only inside one step (the blob is copied into
	 * the transaction's state at once) */
	uint8_t *blob;
	size_t blob_cap;
	int rep_fd;			/* UDP socket for switch reports (h->rep: its answers) */
	struct loop_io rep;		/* the switch's answers (otx_rep_answer, LOADs) */
	/* replay protection (lib/handoff_wire.h): this process's epoch, the seq
	 * of its reports and ACKs in it, the epoch of the switch that answers
	 * reports (0: not known yet), and per switch id the last MOVE taken */
	uint64_t epoch, rep_seq, rep_peer_epoch;
	struct { int used; uint32_t switch_id; struct ho_window w; } sw[SW_WINDOWS];
	int load_now;			/* send a LOAD on the next tick (epoch learned) */
	uint32_t load_nonce;		/* of the last LOAD: its STALE answer is fresh */
	struct loop_io mv;		/* UDP listen_addr:switch_port: the switch's MOVEs */
	uint64_t moves, moves_ok, moves_refused;
	uint32_t next_txid;
	/* this node's outgoing transactions (outgoing.c): running and queued,
	 * in the order they were asked for; how many run */
	struct ho_tx *otx;
	unsigned otx_count, otx_running;
	int otx_pumping;
	uint32_t my_key;		/* node key (maglev_key of the name) */
	/* counters */
	uint64_t out_ok, out_failed, out_unconfirmed, rollbacks, in_ok, in_failed;
	uint64_t in_kick_failed;	/* resumed without the kick (tch_resume 1) */
	uint64_t held_sent;		/* packets held here and sent with an ACK */
	uint64_t held_bad;		/* ACKs whose held packets did not decode (not replayed) */
	uint64_t reports, report_retries, report_failed, channels_opened, channel_errors;
	/* refused input (status "rejected"): channel frames by reason, HELLOs,
	 * switch requests that failed authentication or were replayed */
	uint64_t rej_mac, rej_seq, rej_frame, rej_hello, rej_sw_bad, rej_sw_replay;
	/* channels refused: not from a peer's address, over a limit, no
	 * handshake in time; switch requests answered STALE */
	uint64_t rej_addr, rej_limit, rej_deadline, rej_sw_stale;
	uint64_t lat_last_us, lat_max_us, lat_sum_us;
	struct lat_hist frozen;		/* the same frozen times, by bucket (status "frozen") */
	uint32_t last_in_txid;		/* the last session resumed here: its txid, */
	uint64_t last_in_resumed_ns;	/* when (CLOCK_MONOTONIC) */
	char last_in_from[64];		/* and from which peer */
	uint64_t load_last_ns, load_last_bytes, loads_sent;	/* LOAD reports (load trigger) */
	/* the switches' node states (policy.c): replay windows, per switch */
	struct cw_replay states_replay;
	struct ho_sw_states states[SW_WINDOWS];
	uint64_t states_msgs, states_applied, states_bad, states_replayed;
	uint64_t refused_draining;	/* OPENs refused: this node drains */
	uint64_t pinned;		/* connections pinned on arrival */
	/* half handoff, new node (prepare.c): the sessions whose requests it
	 * started on, until they arrive or expire; and its counters */
	struct ho_prep prep[HO_PREP_MAX];
	struct ho_half_stats half;
};

static inline uint64_t now_ns(void)
{
	return flowdrop_now_ns();
}

static inline uint64_t us_since(uint64_t t)
{
	return (now_ns() - t) / 1000;
}

/* ---- channel.c ---- */

/* Busy-wait at most spin_us for fd to turn readable (see channel.c; the
 * new node's side only: the old node's side never waits). */
void spin_readable(int fd, uint32_t spin_us);
/* The index of peer `name` in the configuration, or -1. */
int peer_index(const struct handoff *h, const char *name);
/* The name of c's peer ("?" before its HELLO). */
const char *peer_name(const struct chan *c);
/* Connect to peer i (non-blocking); HELLO once connected. */
void chan_connect(struct handoff *h, int i);
/* The listener's callback: a peer's channel (HELLO next). */
void chan_accept(struct loop *l, struct loop_io *io, uint32_t events);
/* From the tick: close channels whose handshake is past CHAN_HELLO_MS. */
void chan_expire(struct handoff *h);
/* Close c and free it; why != NULL: log it and count a channel error.
 * Transactions served on it are abandoned. */
void chan_close(struct chan *c, const char *why);
/* Seal and send frame f on c (freed): what the socket does not take now
 * waits in c->tx and goes out on EPOLLOUT, in order (nothing blocks).
 * 0 / -1 (not sent: the caller decides whether to close c). */
int chan_send(struct chan *c, struct ho_frame *f);
int send_simple(struct chan *c, uint8_t type, uint32_t txid);

/* Silence key's flow until until_ns for a handoff: flowdrop_hold with
 * hold_kb (what the client sends is held for the replay), or flowdrop_add
 * without (control.c). */
int handoff_drop(struct handoff *h, const struct lb_flow_key *key, uint64_t until_ns);
int send_fail(struct chan *c, uint32_t txid, uint16_t code, const char *why);
/* ---- report.c ---- */

/*
 * A report to the switch and its ACK, as events: the old node sends its
 * REDIRECT and does the rest of the handoff (snapshot, UPDATE, the new
 * node's restore) while the switch works on it.  rep_send sends a first
 * try; the switch's answers (rep_readable -> otx_rep_answer -> rep_answer)
 * and the transaction's timer (rep_deadline, rep_expired: a new try, new
 * seq and nonce, each report_timeout_ms, report_tries in all) do the rest.
 * The ACK comes once the switch's flow map, and its peer's, holds the new
 * owner.
 */
struct rep_pending {
	struct ho_report r;
	int last_status;		/* of a refusal or PEER answer; -1 none yet */
	uint32_t want;			/* node key the ACK must name */
	uint32_t tries;
	uint32_t stale;			/* STALE answers (each: learn, send again at once) */
	uint64_t sent_ns;
	const char *to;
};

/* Ask the switch to send key's flow to node `to` (op REDIRECT; RECLAIM when
 * a rolled-back handoff takes its flow back).  0 once the first try is
 * out, or -1 with a message (nothing was sent). */
int rep_send(struct handoff *h, struct rep_pending *p, uint8_t op, const struct lb_flow_key *key,
	     const char *to, uint32_t txid, char *err, size_t errlen);
/* When p's current try is given up on (report_timeout_ms after it). */
uint64_t rep_deadline(const struct handoff *h, const struct rep_pending *p);
/* What the switch's answer a (authentic, with our epoch) means for p:
 * REP_NONE not p's (another nonce); REP_ACKED done; REP_AGAIN a new try
 * went out (STALE: the epoch learned; PEER: the pair peer did not
 * confirm); REP_REFUSED with a message (a definite refusal, or PEER with no
 * tries left: it may still have done it). */
enum { REP_NONE = 0, REP_ACKED, REP_AGAIN, REP_REFUSED };
int rep_answer(struct handoff *h, struct rep_pending *p, const struct ho_report *a, char *err,
	       size_t errlen);
/* p's try timed out: 0 a new try went out (new deadline), or -1 with a
 * message (report_tries tries without an ACK). */
int rep_expired(struct handoff *h, struct rep_pending *p, char *err, size_t errlen);
/* The switch socket's callback: lbd's MOVEs (and its cluster maps). */
void move_readable(struct loop *l, struct loop_io *io, uint32_t events);
/* The report socket's callback: answers to outgoing transactions' reports
 * (otx_rep_answer), a LOAD's STALE. */
void rep_readable(struct loop *l, struct loop_io *io, uint32_t events);
/* Every second: our load to the switch. */
void report_load(struct handoff *h);

/* ---- incoming.c ---- */

/* A frame for the transactions served on inbound channel c. */
void serve_frame(struct chan *c, const struct ho_hdr *hd, const uint8_t *body, size_t blen);
/* prepare.c: a PREPARE (new node; nothing is answered), a session that
 * arrived (its preparation is used up), expiry (the tick), status */
void serve_prepare(struct chan *c, const uint8_t *body, size_t blen);
void prepare_arrived(struct handoff *h, const struct lb_flow_key *k);
void prepare_gc(struct handoff *h);
json_t *prepare_status(const struct handoff *h);
/* Channel c is going: abandon the transactions served on it. */
void intx_abandon(struct handoff *h, struct chan *c);
/* Forget transaction t: a restored socket is closed silently. */
void intx_free(struct handoff *h, struct intx *t);

/* ---- outgoing.c, outgoing_run.c ---- */

/* Outgoing transactions running at once; more wait in h->otx, in order.
 * Each running one may hold a frozen session, and N restores them one after
 * another: more at once only lengthen each one's freeze (measured with
 * ~220 in one handoff_all: 2 at once, frozen p50 < 250 us and the burst
 * 55 ms; 8 at once, p50 ~1.5 ms and 80 ms).  Two overlap one's round trips
 * with the other's work. */
#define OTX_PARALLEL 2

struct ho_tx;
/* What a finished transaction hands its starter: the control command's
 * reply for it (owned by done from then on). */
typedef void (*ho_done_fn)(struct handoff *h, json_t *res, void *arg);

/* Hand connection x to peer pi for cause (HO_CAUSE_*: the new node pins
 * what an operator moved), from the event loop: done(h, reply, arg) is
 * called exactly once when it has finished, which may be before this
 * returns (refused at once).  Nothing here touches x after this returns
 * except by looking it up again by id (it may go away while queued).
 * 0, or -1 (out of memory: done not called). */
int otx_start(struct handoff *h, const struct ho_conn *x, int pi, uint8_t cause, ho_done_fn done,
	      void *arg);
/* A frame on outbound channel c: to the transaction it names (a frame of
 * none is late, of one given up: ignored). */
void otx_frame(struct chan *c, const struct ho_hdr *hd, const uint8_t *body, size_t blen);
/* Outbound channel c is going: its transactions lose their new node. */
void otx_chan_lost(struct handoff *h, struct chan *c);
/* An answer of the switch (authentic, ours): 1 if it was an outgoing
 * transaction's, taken. */
int otx_rep_answer(struct handoff *h, const struct ho_report *a);
/* At stop: every transaction rolls back at once (no RECLAIM wait) and its
 * starter is answered. */
void otx_abort_all(struct handoff *h);
/* outgoing_run.c: the queue (start the next ones while fewer than
 * OTX_PARALLEL run), and a finished transaction's reply and log line. */
void otx_pump(struct handoff *h);

/* ---- policy.c ---- */

/* A node states datagram (lib/cluster_wire.h CW_T_NODES) from the switch
 * socket fd: authenticated with this node's key, replay-checked per switch
 * (as maps), taken, answered with a NODES_ACK (STALE when not sealed for
 * this start of the node). */
void states_input(struct handoff *h, int fd, const uint8_t *buf, size_t len,
		  const struct sockaddr_storage *from, socklen_t fromlen);
/* Whether a switch heard of lately says this node drains. */
int self_draining(const struct handoff *h);
/* conn (of kind ops) was just rebuilt here by a move for cause from node
 * `from`: pin it if an operator moved it (and pin_hold_s > 0). */
void pin_arrival(struct handoff *h, const struct ho_conn_ops *ops, void *conn, uint8_t cause,
		 const char *from);
/* May an automatic move hand conn to peer pi now?  HO_SCHED_OK, or
 * HO_SCHED_PINNED / _DRAINING / _NOT_VIP. */
int auto_check(struct handoff *h, const struct ho_conn_ops *ops, void *conn, int pi);
/* For status: draining nodes, node-state counters, the pins. */
json_t *policy_status(struct handoff *h);

#endif
