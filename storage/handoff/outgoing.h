/*
 * outgoing.h - one outgoing transaction (this node as the old node O), as
 * its two parts share it: outgoing.c runs its steps as a state machine
 * driven by the event loop, outgoing_run.c queues, starts and finishes
 * transactions (private to storage/handoff/).
 */
#ifndef TANDEM_NASD_HANDOFF_OUTGOING_H
#define TANDEM_NASD_HANDOFF_OUTGOING_H

#include "handoff_int.h"

/* What became of one transaction: the control command's reply. */
struct ho_result {
	const char *outcome;		/* "done", "failed", "committed" (no DONE) */
	const char *stage;
	char error[300];
	int rolled_back, repointed_back;
	int busy;			/* it could not pause now (EBUSY): try later */
	uint64_t t_open, t_freeze, t_complete, t_switch, t_close, t_done, t_total;	/* us */
	uint64_t frozen_at_ns;		/* CLOCK_MONOTONIC when the session stopped here */
	uint32_t txid;
	size_t state_bytes, app_bytes;
};

/* What the transaction has done so far (tx->done), for the rollback. */
enum {
	TX_PAUSED = 1 << 0,		/* the connection does no I/O here */
	TX_GUARD = 1 << 1,		/* the guard drop is taken on its flow */
	TX_FROZEN = 1 << 2,		/* its socket is in repair mode */
	TX_STATE = 1 << 3,		/* tx->st holds the frozen socket's state */
	TX_REDIRECTED = 1 << 4,		/* REDIRECT sent: the switch may point the flow at N */
};

/* Where a transaction is: what it waits for. */
enum {
	TXS_QUEUED = 0,			/* not started (more than OTX_PARALLEL asked for) */
	TXS_OPEN,			/* OPEN sent: N's OPEN_RESP */
	TXS_UPDATE,			/* frozen, REDIRECT and UPDATE sent: N's COMPLETE
					 * (and the switch's ACK, which may come first) */
	TXS_SWITCH,			/* COMPLETE in: the switch's ACK */
	TXS_CONFIRM,			/* committed, ACK sent: N's DONE */
	TXS_LINGER,			/* committed, the socket closed, still holding:
					 * packets the switch sent before its re-point
					 * may still be on their way (tx_linger) */
	TXS_RECLAIM,			/* rolling back: the switch's ACK for the RECLAIM */
};

/* One outgoing transaction (on h->otx from the request to its reply). */
struct ho_tx {
	struct ho_tx *next;
	struct handoff *h;
	const struct ho_conn_ops *ops;
	uint64_t id;			/* the connection's id: looked up at each step */
	void *conn;			/* the connection while paused (TX_PAUSED), else NULL */
	int pi;
	struct ho_result res;
	const char *to;			/* N's name */
	char client[TADDR_STRLEN + 10];
	struct chan *c;			/* the channel to N; NULL once lost */
	const char *tell_n;		/* the FAIL reason N is owed if we give up; NULL:
					 * nothing (N gave up itself, or no channel) */
	unsigned done;			/* TX_* */
	int state;			/* TXS_* */
	int acked;			/* the switch acked the REDIRECT (maybe before COMPLETE) */
	int rep_live;			/* tx->rep waits for the switch's answer */
	uint32_t txid;
	struct lb_flow_key key;
	struct tch_state st;
	struct rep_pending rep;		/* the REDIRECT, then a rollback's RECLAIM */
	uint64_t t0, t_pause, t_frozen, t_update, t_ack;	/* CLOCK_MONOTONIC ns */
	uint64_t t_linger;		/* the commit's close: the linger's start */
	uint8_t cause;			/* HO_CAUSE_*: told to N in the OPEN */
	struct flowdrop_pkt *held;	/* what the drop held until the close: to N with the ACK */
	struct loop_timer timer;	/* the current wait's deadline */
	int timer_ok;
	ho_done_fn on_done;
	void *arg;
};

/* outgoing.c: start a queued transaction (its first step, the OPEN); a
 * failure finishes it at once. */
void tx_begin(struct ho_tx *tx);
/* outgoing.c: at stop, roll back (no waiting) or finish tx as it stands. */
void tx_abort(struct ho_tx *tx);
/* outgoing_run.c: tx is over (res filled): log it, answer its starter,
 * forget it, start the next queued. */
void tx_finish(struct ho_tx *tx);

#endif
