/*
 * handoff_wire.h - the Transport Connection Handoff protocols
 * (doc/architecture.md, doc/nasd.md).  Two formats, both pure (parse(ctx, buf, len)) and fuzzed.
 *
 * 1. Node <-> node channel: a persistent TCP connection opened ahead of
 *    need, so a handoff costs one round trip.  Stream of frames:
 *
 *      u32 frame_len (bytes after this field, <= HO_MAX_FRAME; before the
 *                     channel is up <= HO_HELLO_MAX)
 *      header (20 bytes, big-endian):
 *         0 u16 magic 0x5448 ("TH")   2 u8 version 2   3 u8 type HO_T_*
 *         4 u32 txid (handoff transaction; 0 for HELLO)
 *         8 u64 seq (per direction: 1, 2, 3 ... never repeats on a channel)
 *        16 u32 body_len
 *      body: TLV records (u16 type, u16 len, value; large blobs are split
 *            into consecutive records of the same type and concatenated)
 *      HMAC-SHA256 (32) over header and body
 *
 *    Handshake (version 2), under the pair key K(c, a) that only the two
 *    nodes hold (lib/handoff_key.h), c the connecting node, a the accepting:
 *      c -> a  HELLO seq 1 {NODE c, NONCE nc}                     pair key
 *      a -> c  HELLO seq 1 {NODE a, NONCE na, ECHO nc}            pair key
 *      c -> a  HELLO seq 2 {ECHO na}                              channel key
 *    with the channel key HMAC(K(c, a), "tandem-ho2" | nc | na).  Each side
 *    has its own fresh nonce echoed back under a key only the other node
 *    holds, so a recorded handshake is worthless: c's first HELLO may be
 *    replayed, but no one else can answer a's nonce.  Every later frame is
 *    authenticated with the channel key and seq must be exactly previous +
 *    1, so none can be replayed, dropped or reordered within a channel, and
 *    a frame recorded on one channel is worthless on any other.
 *
 *    Transaction (old node O hands a session to new node N):
 *      O -> N  OPEN      flow, sizes: "can you take this session?"
 *      N -> O  OPEN_RESP accepted (or FAIL)
 *      O -> N  UPDATE    TCP state + application state (O has frozen it)
 *      N -> O  COMPLETE  restored (O has re-pointed the switch to N meanwhile)
 *      O -> N  ACK       O closed its socket silently: N resumes
 *      N -> O  DONE
 *    FAIL from either side at any point: O thaws and keeps the session.
 *    States: IDLE, OPEN, ACTIVE, HALF_ACTIVE, WAIT, DONE, FAIL.
 *
 * 2. Node <-> switch report ("EAP"), one UDP datagram each way:
 *      0 u8  version 2 (high 4 bits) | operation (low 4 bits)
 *      1 u24 nonce (echoed in the answer)
 *      4 u8  protocol   5 u16 src port   7 u16 dst port   (the client's 5-tuple:
 *                                                         src = client, dst = VIP)
 *      9 u16 transaction id   11 u32 cluster id
 *     15 u8  address family (4|6), then src and dst address (4 or 16 bytes each)
 *      then u32 node key (redirect/set: the new owner; ack: the owner now)
 *           u8  status (ack: HO_ST_*; requests: 0)
 *           u32 sender (node key of the sender; the switch: 0)
 *           u32 switch id (the switch's sync.switch_id when sender is 0; else 0)
 *           u64 epoch (the sender's, chosen at its start: ho_new_epoch)
 *           u64 seq (per sender epoch, increasing)
 *           u64 peer epoch (the addressee's epoch as the sender knows it; 0: not yet)
 *           u64 held (a STALE answer: the epoch the answering side holds for
 *                     the addressee; one above its own means its clock went
 *                     back across a restart: it moves its own above; else 0)
 *      HMAC-SHA256 (32) over everything before it, with the node key K(n) of
 *      the node n that sends it or that it is sent to (lib/handoff_key.h)
 *
 *    Replay: a receiver takes a message only if its peer epoch is the
 *    receiver's own current epoch (so nothing recorded before the receiver's
 *    last start is taken), and, per authenticated sender (a node by its key,
 *    a switch by its id), if its epoch is above the last one taken (the
 *    sender restarted: a new window) or equal with a greater seq
 *    (ho_fresh).  An authentic message refused only for an epoch (the
 *    sender does not know the receiver's current epoch, or its own is below
 *    the one the receiver holds) is answered with an ACK of status
 *    HO_ST_STALE carrying the receiver's epoch and `held`; the sender learns
 *    the epoch (and moves its own above a greater held) and sends again
 *    with a new seq.  A seq at or below the last one of the same epoch is
 *    dropped without an answer.
 *    Operations: query (who owns this 5-tuple), redirect (re-point it to node),
 *    set (insert it for node), ack (the switch's answer: sent only once its
 *    flow map, and the peer's through tandem-syncd, holds the new owner),
 *    move (switch -> node: hand this session to node key; the node acks).
 */
#ifndef TANDEM_HANDOFF_WIRE_H
#define TANDEM_HANDOFF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/flow_key.h"
#include "wire.h"

/* ---- node <-> node channel ---- */

#define HO_MAGIC 0x5448
#define HO_VERSION 2
#define HO_HDR_LEN 20
#define HO_MAX_FRAME (48u << 20)	/* queues + app state of one session */
#define HO_HELLO_MAX 1024u		/* any frame before the channel is up */
#define HO_NONCE_LEN 16
#define HO_KEY_MAX 64

enum ho_type {
	HO_T_HELLO = 1,
	HO_T_OPEN,
	HO_T_OPEN_RESP,
	HO_T_UPDATE,
	HO_T_COMPLETE,
	HO_T_ACK,
	HO_T_DONE,
	HO_T_FAIL,
	HO_T_PREPARE,		/* O -> N, no answer, no transaction (txid 0): the
				 * client's requests queued behind the reply O still
				 * streams (HO_R_FLOW, HO_R_SERVICE, HO_R_APP_STATE:
				 * the request bytes); N starts on them and waits for
				 * the session (half handoff, doc/tch.md) */
	HO_T_MAX
};

enum ho_rec {
	HO_R_NODE = 1,		/* node name (1..63 bytes) */
	HO_R_NONCE,		/* 16 bytes */
	HO_R_FLOW,		/* 40 bytes: struct lb_flow_key layout, big-endian fields */
	HO_R_TCP_STATE,		/* libtch state (storage/tch/tch_state.h), possibly split */
	HO_R_APP_STATE,		/* the service's session state, possibly split */
	HO_R_REASON,		/* u16 code + text */
	HO_R_SIZE,		/* u64: announced total of TCP + app state (OPEN) */
	HO_R_SERVICE,		/* service name, e.g. "http" */
	HO_R_ECHO,		/* 16 bytes: the other side's HELLO nonce */
	HO_R_CAUSE,		/* u8 HO_CAUSE_* (OPEN): why the old node moves it.  Added to
				 * version 2 compatibly: a node that does not know it skips it
				 * (records are looked up by type), an OPEN without it says
				 * nothing (HO_CAUSE_UNSAID) */
	HO_R_HELD,		/* ACK: the client's packets the old node held while the
				 * session was frozen (storage/tch/tch_held.h), possibly
				 * split; skipped by a node that does not know it, as
				 * HO_R_CAUSE (it then only misses the replay) */
};

/* Why a session moves (HO_R_CAUSE).  The new node pins a session an
 * operator moved (OPERATOR, SWITCH): its own automatic moves leave it there
 * for a while (tandem-nasd's handoff.pin_hold_s). */
enum ho_cause {
	HO_CAUSE_UNSAID = 0,	/* not said (an older node) */
	HO_CAUSE_DATA = 1,	/* the old node's data-location rule (to the data's home) */
	HO_CAUSE_OPERATOR = 2,	/* the old node's control command (handoff, handoff_all) */
	HO_CAUSE_SWITCH = 3,	/* the switch's MOVE: tandemctl handoff/migrate, drain, load */
};

enum ho_state {
	HO_S_IDLE = 0, HO_S_OPEN, HO_S_ACTIVE, HO_S_HALF_ACTIVE, HO_S_WAIT, HO_S_DONE, HO_S_FAIL
};
const char *ho_state_name(enum ho_state s);

enum ho_err {
	HO_OK = 0,
	HO_E_SHORT,		/* not a whole frame yet (stream: read more) */
	HO_E_LENGTH,		/* frame_len/body_len inconsistent or too large */
	HO_E_MAGIC,
	HO_E_VERSION,
	HO_E_TYPE,
	HO_E_MAC,
	HO_E_SEQ,		/* not previous + 1 */
	HO_E_RECORD,
	HO_E_MAX
};
const char *ho_err_name(enum ho_err e);

struct ho_key {
	uint8_t k[HO_KEY_MAX];
	size_t len;
};

struct ho_hdr {
	uint8_t type;
	uint32_t txid;
	uint64_t seq;
	uint32_t body_len;
};

/*
 * Parse the frame at the start of buf[0..len): returns HO_OK with *h, body
 * pointers and *frame_total (bytes consumed), HO_E_SHORT when more bytes are
 * needed, or an error (the channel must then be closed).  A frame_len above
 * max_frame (<= HO_MAX_FRAME) is HO_E_LENGTH as soon as its 4 bytes are
 * there, so a caller never buffers more than it allows.  Checks the MAC with
 * key and that seq == expect_seq.  Pure.
 */
enum ho_err ho_parse(const uint8_t *buf, size_t len, const struct ho_key *key, uint64_t expect_seq,
		     size_t max_frame, struct ho_hdr *h, const uint8_t **body, size_t *frame_total);
/*
 * The node name a HELLO at the start of buf[0..len) claims, NOT
 * authenticated: only to choose the pair key its MAC is then checked with.
 * HO_OK with name (NUL-terminated, cap >= 2), HO_E_SHORT (read more), or
 * another error (not a whole well-formed HELLO of at most HO_HELLO_MAX
 * bytes whose name record fits cap).  Pure.
 */
enum ho_err ho_hello_name(const uint8_t *buf, size_t len, char *name, size_t cap);

/* Growable frame builder (heap: UPDATE frames carry whole queues). */
struct ho_frame {
	uint8_t *buf;
	size_t len, cap;
	int oom;		/* an append failed: seal returns 0 */
};
void ho_begin(struct ho_frame *f, uint8_t type, uint32_t txid);
void ho_add(struct ho_frame *f, uint16_t rtype, const void *val, size_t len);	/* splits > 65535 */
void ho_add_u64(struct ho_frame *f, uint16_t rtype, uint64_t v);
void ho_add_flow(struct ho_frame *f, const struct lb_flow_key *k);
void ho_add_reason(struct ho_frame *f, uint16_t code, const char *text);
/* Write seq and MAC; returns the bytes to send (f->buf), 0 on failure. */
size_t ho_seal(struct ho_frame *f, const struct ho_key *key, uint64_t seq);
void ho_frame_free(struct ho_frame *f);

/* Decoders of record values; -1 if malformed. */
int ho_decode_flow(const uint8_t *v, uint16_t len, struct lb_flow_key *k);
int ho_decode_u64(const uint8_t *v, uint16_t len, uint64_t *out);
int ho_decode_reason(const uint8_t *v, uint16_t len, uint16_t *code, char *text, size_t textlen);
/* Concatenate every record of rtype in body into a new buffer (caller frees);
 * *out_len set.  Returns 0 (NULL, 0 if none) or -1 on a malformed body or
 * more than max bytes. */
int ho_collect(const uint8_t *body, size_t len, uint16_t rtype, size_t max,
	       uint8_t **out, size_t *out_len);

/* Channel key from the pair key and both HELLO nonces. */
void ho_channel_key(const struct ho_key *pair, const uint8_t nonce_connect[HO_NONCE_LEN],
		    const uint8_t nonce_accept[HO_NONCE_LEN], struct ho_key *out);

/* ---- node -> switch report ---- */

#define HO_REPORT_VERSION 2
/* MOVE (switch -> node, to the owner's storage address, port 7406): "hand
 * this 5-tuple's session to node_key" (operator handoff, sender 0, the
 * switch's increasing seq); the node answers with an ACK (sender: its own
 * key) once its handoff finished: HO_ST_OK and node_key = the new owner,
 * HO_ST_NO_FLOW (no such session), HO_ST_NO_NODE (not a peer) or
 * HO_ST_ERROR (the handoff failed; the session stays).
 * LOAD (node -> switch, every second, not answered): the node's load for
 * the load trigger.  The fixed layout is reused rather than adding a second
 * message format: nonce = active client sessions (capped at 2^24-1), txid =
 * bytes sent per second in MiB (capped at 65535), node_key = the sender's
 * own key; the flow key is all zero (family 4, protocol 0) but for the
 * NFS export policy the node enforces, if it has one: sport (network
 * order) HO_LOAD_POLICY, with HO_LOAD_POLICY_STALE when its directory could
 * not be read; saddr's 4 bytes then daddr's, the policy version (64 bits,
 * big-endian; storage/nfs/nfs_policy.c).
 * RECLAIM (old node -> switch): a handoff (txid) failed after the old node
 * sent its REDIRECT: point the flow back to the sender, and refuse any
 * REDIRECT of this flow with this txid from now on (a delayed retry must
 * not take the flow from the session that stayed). */
enum { HO_LOAD_POLICY = 1, HO_LOAD_POLICY_STALE = 2 };
enum ho_op { HO_OP_QUERY = 1, HO_OP_REDIRECT = 2, HO_OP_SET = 3, HO_OP_ACK = 4, HO_OP_MOVE = 5,
	     HO_OP_LOAD = 6, HO_OP_RECLAIM = 7 };
enum ho_status {
	HO_ST_OK = 0,
	HO_ST_NO_FLOW = 1,	/* query/redirect of a 5-tuple the switch does not know */
	HO_ST_NO_NODE = 2,	/* node key not configured */
	HO_ST_NODE_DOWN = 3,
	HO_ST_PEER = 4,		/* the peer switch did not confirm in time */
	HO_ST_ERROR = 5,
	HO_ST_BUSY = 6,		/* MOVE: the session cannot pause right now (a call forwarded
				 * to another node, a large write half received); nothing
				 * happened: ask again shortly */
	HO_ST_STALE = 7,	/* nothing done: the request's peer epoch is not the
				 * receiver's, or its epoch is below the one the receiver
				 * holds (`held`): learn, and send again with a new seq */
};

struct ho_report {
	uint8_t op;
	uint32_t nonce;		/* 24 bits */
	uint16_t txid;
	uint32_t cluster;
	struct lb_flow_key key;	/* the client's 5-tuple as the data plane keys it */
	uint32_t node_key;
	uint8_t status;
	uint32_t sender;
	uint32_t switch_id;
	uint64_t epoch, seq, peer_epoch, held;
};

#define HO_REPORT_TAIL (4 + 1 + 4 + 4 + 8 + 8 + 8 + 8)	/* after the addresses */
#define HO_REPORT_MAX (16 + 32 + HO_REPORT_TAIL + WIRE_MAC_LEN)

/* Encode and MAC; returns the length written into buf (>= HO_REPORT_MAX). */
size_t ho_report_encode(const struct ho_report *r, const uint8_t *key, size_t keylen, uint8_t *buf);
/* Parse and authenticate.  0, or -1 with a reason (static string) in *why. */
int ho_report_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		    struct ho_report *r, const char **why);
/* The sender field of a datagram of a report's length, NOT authenticated:
 * only to choose the key ho_report_parse then checks.  0, or -1. */
int ho_report_sender(const uint8_t *buf, size_t len, uint32_t *sender);

/*
 * Per-sender replay state of a receiver (the rules above).  ho_fresh: 1 the
 * message is new (and *w is advanced if commit), 0 a repeat of a seq already
 * taken in that epoch (drop it silently), -1 its epoch is below w's (answer
 * STALE with held = w->epoch).  The caller checks the peer epoch after a 1
 * and before committing: call with commit 0, then again with commit 1.
 */
struct ho_window {
	uint64_t epoch, seq;	/* the last taken; epoch 0: nothing yet */
};
int ho_fresh(struct ho_window *w, uint64_t epoch, uint64_t seq, int commit);
/* An epoch for a process that starts now: CLOCK_REALTIME in ns (nonzero,
 * above any of an earlier start unless the clock went back: then the STALE
 * answers' `held` moves it up), and at least floor + 1. */
uint64_t ho_new_epoch(uint64_t floor);

#endif
