/*
 * handoff_wire.h - the Transport Connection Handoff protocols
 * (doc/architecture.md, doc/nasd.md).  Two formats, both pure (parse(ctx, buf, len)) and fuzzed.
 *
 * 1. Node <-> node channel: a persistent TCP connection opened ahead of
 *    need, so a handoff costs one round trip.  Stream of frames:
 *
 *      u32 frame_len (bytes after this field, <= HO_MAX_FRAME)
 *      header (20 bytes, big-endian):
 *         0 u16 magic 0x5448 ("TH")   2 u8 version 1   3 u8 type HO_T_*
 *         4 u32 txid (handoff transaction; 0 for HELLO)
 *         8 u64 seq (per direction: 1, 2, 3 ... never repeats on a channel)
 *        16 u32 body_len
 *      body: TLV records (u16 type, u16 len, value; large blobs are split
 *            into consecutive records of the same type and concatenated)
 *      HMAC-SHA256 (32) over header and body
 *
 *    Both ends first send HELLO (node name, 16-byte random nonce) under the
 *    shared key; every later frame is authenticated with the channel key
 *    HMAC(shared, "tandem-ho" | nonce of the connecting side | nonce of the
 *    accepting side), so a frame recorded on one channel is worthless on
 *    any other, and seq must be exactly previous + 1, so none can be
 *    replayed, dropped or reordered within a channel.
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
 * 2. Node -> switch report ("EAP"), one UDP datagram each way:
 *      0 u8  version (high 4 bits) | operation (low 4 bits)
 *      1 u24 nonce (echoed in the answer)
 *      4 u8  protocol   5 u16 src port   7 u16 dst port   (the client's 5-tuple:
 *                                                         src = client, dst = VIP)
 *      9 u16 transaction id   11 u32 cluster id
 *     15 u8  address family (4|6), then src and dst address (4 or 16 bytes each)
 *      then u32 node key (redirect/set: the new owner; ack: the owner now)
 *           u8  status (ack: HO_ST_*; requests: 0)
 *           u32 sender (node key of the sender; the switch: 0)
 *           u64 seq (per sender, increasing: replay window as in sync)
 *      HMAC-SHA256 (32) over everything before it
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
#define HO_VERSION 1
#define HO_HDR_LEN 20
#define HO_MAX_FRAME (48u << 20)	/* queues + app state of one session */
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
 * needed, or an error (the channel must then be closed).  Checks the MAC with
 * key and that seq == expect_seq.  Pure.
 */
enum ho_err ho_parse(const uint8_t *buf, size_t len, const struct ho_key *key, uint64_t expect_seq,
		     struct ho_hdr *h, const uint8_t **body, size_t *frame_total);

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

/* Channel key from the shared key and both HELLO nonces. */
void ho_channel_key(const struct ho_key *shared, const uint8_t nonce_connect[HO_NONCE_LEN],
		    const uint8_t nonce_accept[HO_NONCE_LEN], struct ho_key *out);

/* ---- node -> switch report ---- */

#define HO_REPORT_VERSION 1
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
 * own key; the flow key is all zero (family 4, protocol 0).
 * RECLAIM (old node -> switch): a handoff (txid) failed after the old node
 * sent its REDIRECT: point the flow back to the sender, and refuse any
 * REDIRECT of this flow with this txid from now on (a delayed retry must
 * not take the flow from the session that stayed). */
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
	uint64_t seq;
};

#define HO_REPORT_MAX (15 + 1 + 32 + 4 + 1 + 4 + 8 + WIRE_MAC_LEN)

/* Encode and MAC; returns the length written into buf (>= HO_REPORT_MAX). */
size_t ho_report_encode(const struct ho_report *r, const uint8_t *key, size_t keylen, uint8_t *buf);
/* Parse and authenticate.  0, or -1 with a reason (static string) in *why. */
int ho_report_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		    struct ho_report *r, const char **why);

#endif
