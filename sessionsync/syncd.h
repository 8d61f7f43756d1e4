/*
 * syncd.h - tandem-syncd: replicates the flow table to the peer switch.
 *
 *   main.c     arguments, config, signals, the tick
 *   stream.c   the reliable, authenticated stream over UDP (send window,
 *              acks, NACKs, retransmission, reorder buffer, replay window)
 *   table.c    the local data plane: event ring, replication queue, flow
 *              map reads (bulk resync) and writes (records from the peer)
 *   control.c  control socket: status, role (from the failover hook)
 *   barrier.c  control "barrier": answered once every live peer acked
 *   group.c    a scale-out group: when a member is ready, who hears whom
 *
 * Model: each switch sends every flow change its data plane makes (ring
 * buffer) or lbd makes (queue) as DATA records on one ordered stream; the
 * peer writes them straight into its own flow map.  A receiver that lost
 * its place (start, restart, a gap older than the sender's window) asks for
 * a bulk resync: the sender streams its whole table between RESYNC_BEGIN
 * (which re-anchors the receiver's sequence) and RESYNC_END.  A switch is
 * "ready" (may become VRRP master) once it completed such a resync, or
 * when no peer answered within peer_dead_ms (it is alone).
 *
 * A scale-out group (cfg.sync.group) runs one such stream per other member
 * (struct sync_peer), each switch sending its own flows to every member;
 * group.c says when the switch is ready then.
 */
#ifndef TANDEM_SYNCD_H
#define TANDEM_SYNCD_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/ctl_server.h"
#include "lib/loop.h"
#include "sync_wire.h"

#define TX_WINDOW 16384		/* unacked reliable messages kept for resend */
#define RX_WINDOW 4096		/* out-of-order messages held for reordering */
#define TICK_MS 10
#define HELLO_MS 100
#define RTO_MIN_MS 10	/* retransmission timeout bounds (adaptive in between) */
#define RTO_MAX_MS 1000
#define RESYNC_WINDOW 1024	/* messages in flight during a bulk resync: what the
				 * peer's socket buffer (4 MB) and RX_WINDOW absorb */
#define LAG_BUCKETS 32		/* log2 microseconds */

enum role { ROLE_INIT = 0, ROLE_BACKUP = 1, ROLE_MASTER = 2, ROLE_FAULT = 3 };

struct txslot {
	uint64_t dseq;		/* 0: free */
	uint64_t first_ns;	/* first transmission */
	uint64_t last_ns;	/* last (re)transmission */
	uint64_t oldest_event_ns;	/* for the lag figure; 0 for resync traffic */
	unsigned retries;	/* resends so far: the timeout doubles with each */
	struct sync_builder b;
};

struct rxslot {
	uint64_t dseq;		/* 0: free */
	size_t len;
	uint8_t type;
	uint8_t body[SYNC_MAX_BODY];
};

/* A control client waiting until the peer acked everything queued before it. */
#define MAX_BARRIERS 256
struct barrier {
	struct ctl_deferred *d;	/* NULL: free slot */
	uint64_t dseq[CFG_SYNC_MAX_MEMBERS];	/* per peer: done when its acked >= dseq */
	uint64_t deadline_ms;
};

struct syncd_stats {
	uint64_t tx_msgs, tx_flows, tx_bytes, retransmits, nacks_sent, nacks_rx;
	uint64_t rx_msgs, rx_flows, rx_dups, rx_reordered, rx_unknown_node, rx_unanchored;
	uint64_t rx_beyond_window, rx_handshakes;
	uint64_t rejects[SYNC_E_MAX];
	uint64_t resyncs_sent, resyncs_rx, resync_reqs_sent, resync_reqs_rx;
	uint64_t events, events_lost, window_full, expired, barriers, barrier_timeouts;
	uint64_t del_kept;	/* group: DELs not applied, the flow forwarded here since */
	uint64_t resyncs_coalesced;	/* losses during a walk: one more walk, no restart */
	uint64_t pins_set, pins_dropped, pins_full;	/* lb_flow_pins writes from the peer */
	uint64_t lag_hist[LAG_BUCKETS];	/* ack lag per message, log2 us */
	uint64_t lag_samples;
	uint64_t lag_sum_us;		/* of every sample: the histogram's sum */
};

/*
 * One member we replicate with: the pair's peer, or each other member of a
 * scale-out group (cfg.sync.group).  Every member link is a stream of its
 * own (its socket, sequence numbers, window, acks, replay window, resyncs),
 * exactly the pair's stream; our own flows go to every member (full mesh,
 * doc/scaleout.md "Replication in a group").
 */
struct sync_peer {
	struct syncd *s;
	unsigned member;	/* index in cfg.sync.members (group); 0 for a pair */
	struct taddr addr;
	struct loop_io sock;	/* bound to local:port, connected to addr:port */

	/* stream: sending */
	uint64_t seq;		/* last message seq used */
	uint64_t next_dseq;	/* next reliable dseq to assign */
	uint64_t acked;		/* peer acked every dseq <= this */
	uint64_t srtt_ns, rttvar_ns;	/* ack round trip (RFC 6298 style), 0 = no sample */
	struct txslot *tx;	/* TX_WINDOW slots, index dseq % TX_WINDOW */
	struct sync_builder cur;	/* DATA being filled */
	unsigned cur_flows;
	uint64_t cur_oldest_ns;

	/* stream: receiving */
	struct sync_replay replay;
	uint32_t peer_epoch;	/* of the stream we accept */
	uint32_t heard_epoch;	/* the peer's newest epoch: named in our messages (0: none yet) */
	int anchored;		/* rx_next is meaningful */
	uint64_t rx_next;	/* next dseq to apply */
	struct rxslot *rx;	/* RX_WINDOW slots */
	int ack_due;
	uint64_t last_nack_ms, last_req_ms;

	/* the peer */
	char peer_name[TADDR_STRLEN];	/* its address as text: the peer field of events */
	uint64_t reject_logged_ms, rejects_unlogged;	/* sync_reject lines (stream.c) */
	uint64_t peer_hello_ms;	/* 0: never heard */
	struct sync_hello peer_hello;
	int peer_alive;
	uint64_t up_ms;		/* group: when it last came up */
	uint64_t grace_until_ms;	/* group: not yet synced with it is no fault until then */

	/* resync we send */
	int rs_active;
	uint64_t rs_id, rs_count;
	int rs_have_cursor;
	struct lb_flow_key rs_cursor;
	int rs_pins;		/* the walk is in lb_flow_pins (after lb_flows) */
	int rs_again;		/* changes were lost during the walk: walk again after it */
	/* resync we receive */
	uint64_t rs_rx_id;
	int synced;		/* holds this peer's table (its resync completed) */
	uint64_t tx_flows, rx_flows, resyncs_rx;	/* this link's share of the stats */
};

struct syncd {
	struct loop loop;
	struct loop_signals sigs;
	struct loop_timer tick;
	struct ctl_server ctl;
	struct loop_io ring_io;
	const char *config_path;
	struct config cfg;
	struct sync_key key;
	uint64_t started_ms;
	int role;		/* with vrrp.groups: master of any group, else the highest other */
	int group_role[CFG_MAX_GROUPS];	/* per vrrp.groups entry (active-active) */
	uint64_t role_overtaken;	/* hook words the VIPs here showed overtaken (vrrp_state.h) */
	uint32_t epoch;

	struct sync_peer *peers;	/* npeers: 1 (pair) or the group's other members */
	unsigned npeers;
	int group;		/* cfg.sync.nmembers > 0 */
	int synced;		/* holds a good table: a resync completed from some peer */
	int group_ok;		/* group: group_tick's verdict (stream_ready) */
	int group_ok_once;	/* group: it was ready once (then new members get a grace) */
	char group_why[160];	/* group: why not ready ("" when ready) */

	/* idle expiry walk (master) */
	int sw_have_cursor;
	struct lb_flow_key sw_cursor;
	uint64_t sweep_at_ms;
	uint64_t stop_at_ms;		/* SIGTERM seen: lingering (main.c on_signal) */
	uint64_t last_event_ms;		/* the data plane's last flow event */

	/* local data plane */
	char pin_dir[CFG_PATH_MAX + 64];
	int fd_flows, fd_names, fd_repl_q, fd_verdicts, fd_events;
	int fd_pins;		/* lb_flow_pins (-1 with an lbd that has none) */
	struct ring_buffer *rb;
	uint64_t lost_seen;	/* events_lost counter last read */
	uint32_t node_keys[LB_MAX_NODES];	/* local id -> node key (0: none) */
	int ncpus;
	uint64_t last_table_try_ms;

	struct barrier barriers[MAX_BARRIERS];
	struct syncd_stats st;
	uint64_t rate_prev_tx, rate_prev_rx, rate_tx, rate_rx, rate_at_ms;
};

/* stream.c: per member link, and the whole (every peer) */
int stream_open(struct syncd *s);
void stream_tick(struct syncd *s);
/* Queue one flow record on every peer's live stream (batched; flushed by stream_flush). */
void stream_add_flow(struct syncd *s, const struct sync_flow *f, uint64_t event_ns);
/* ... on one peer's stream (its resync walk). */
void stream_add_flow_to(struct sync_peer *p, const struct sync_flow *f, uint64_t event_ns);
void stream_flush(struct syncd *s);
void stream_start_resync(struct sync_peer *p);
void stream_start_resync_all(struct syncd *s);
uint64_t stream_in_flight(const struct syncd *s);	/* summed over the peers */
uint64_t stream_peer_in_flight(const struct sync_peer *p);
void stream_send_hello(struct syncd *s);
/* Control "barrier": answer d once the peer holds every change made so far. */
void stream_barrier(struct syncd *s, struct ctl_deferred *d, unsigned timeout_ms);
void stream_barriers_check(struct syncd *s);
int stream_ready(const struct syncd *s);
double stream_lag_ms(const struct syncd *s, double q);

/* table.c */
int table_open(struct syncd *s);	/* 0 once the pinned maps are there */
void table_close(struct syncd *s);
int table_is_open(const struct syncd *s);
void table_poll(struct syncd *s);	/* repl queue, lost counter */
void table_apply(struct syncd *s, const struct sync_flow *f);
/* Apply n records in order; runs of adds go in one batched map update. */
void table_apply_many(struct syncd *s, const struct sync_flow *f, unsigned n);
/* Produce up to max resync records for p from its cursor; 1 when the walk ended. */
int table_resync_step(struct sync_peer *p, unsigned max);
long table_count(struct syncd *s);
void table_sweep(struct syncd *s, unsigned max);

/* group.c: readiness and the heard mask of a scale-out group */
/* Members (bit per cfg.sync.group index) we hear now, ourselves included. */
uint16_t group_heard_mask(const struct syncd *s);
/* Every tick: recompute group_ok (every member in sync with us, or gone). */
void group_tick(struct syncd *s);
/* A member fell silent / spoke again (group only): per-link sync state. */
void group_peer_down(struct sync_peer *p);
void group_peer_up(struct sync_peer *p);
json_t *group_status(const struct syncd *s);

/* control.c */
int control_open(struct syncd *s);
void control_close(struct syncd *s);
json_t *control_status(struct syncd *s);
const char *role_name(int r);
/* The flow's VIP is ours to expire: its group's master (or the pair's,
 * without groups).  1 / 0. */
int control_holds_key(const struct syncd *s, const struct lb_flow_key *k);

#endif
