/*
 * sync_wire.h - the switch<->switch sync protocol (doc/failover.md).
 *
 * One UDP datagram = one message:
 *
 *   header (44 bytes, big-endian, no padding, no bitfields)
 *     0  u16 magic   0x5453 ("TS")
 *     2  u8  version 2
 *     3  u8  type    SYNC_T_*
 *     4  u16 flags   0 (reserved; receivers reject non-zero)
 *     6  u16 body_len
 *     8  u32 sender  switch id of the sender
 *    12  u32 epoch   sender's boot epoch: a restart takes a larger one
 *    16  u64 seq     every message, from 1, per (sender, epoch): replay window
 *    24  u64 dseq    reliable-stream number (DATA, RESYNC_*), from 1; 0 otherwise
 *    32  u64 ack     highest contiguous dseq received from the peer
 *    40  u32 peer_epoch  the RECEIVER's epoch as the sender last heard it
 *                    (0: not heard yet); written at every (re)transmission
 *   body (body_len bytes): records, each u16 type, u16 len, len bytes value
 *   trailer: HMAC-SHA256 (32 bytes) over header and body, shared key
 *
 * Reliable types (DATA, RESYNC_*) are acked and retransmitted: a resent
 * message keeps its dseq and takes a new seq.  HELLO, ACK and NACK are not
 * retransmitted.
 *
 * Replay protection has two halves, and neither needs state on disk:
 *   - the receiver's replay window (struct sync_replay) is over seq, per
 *     sender epoch, and refuses every epoch older than the newest it
 *     accepted: a message captured before the SENDER restarted is refused;
 *   - every message names the receiver's own epoch (peer_epoch), which the
 *     receiver takes fresh at each start (a later start, a larger epoch):
 *     a message captured before the RECEIVER restarted names its previous
 *     epoch and is refused (SYNC_E_SESSION), although the receiver's replay
 *     window, kept in memory only, starts empty.
 * A HELLO naming another epoch is the one exception, and only half of one:
 * it tells the receiver the sender's epoch to name in its own messages
 * (the handshake after a start: each side's first HELLO cannot know the
 * other's epoch) and nothing else is taken from it.  A replayed HELLO can at
 * most make the receiver name a stale epoch until the peer's next genuine
 * HELLO, which names a newer one.
 * Version 1 (40-byte header, no peer_epoch) is refused as bad_version: both
 * switches of a pair are upgraded together.
 */
#ifndef TANDEM_SYNC_WIRE_H
#define TANDEM_SYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lb/lb_maps.h"

#define SYNC_MAGIC 0x5453
#define SYNC_VERSION 2
#define SYNC_HDR_LEN 44
#define SYNC_MAC_LEN 32
#define SYNC_MAX_MSG 1400	/* fits an Ethernet MTU with IP/UDP headers */
#define SYNC_MAX_BODY (SYNC_MAX_MSG - SYNC_HDR_LEN - SYNC_MAC_LEN)
#define SYNC_KEY_MAX 64

enum sync_type {
	SYNC_T_HELLO = 1,	/* heartbeat: role, sync state (record HELLO) */
	SYNC_T_DATA = 2,	/* flow records */
	SYNC_T_ACK = 3,		/* only the header's ack field */
	SYNC_T_NACK = 4,	/* record RANGE: please resend these seqs */
	SYNC_T_RESYNC_REQ = 5,	/* send me your whole table (record HELLO: my state) */
	SYNC_T_RESYNC_BEGIN = 6,	/* a bulk stream starts (record RESYNC) */
	SYNC_T_RESYNC_END = 7,	/* it ended (record RESYNC: count sent) */
	SYNC_T_MAX
};

enum sync_rec {
	SYNC_R_FLOW = 1,
	SYNC_R_RANGE = 2,
	SYNC_R_HELLO = 3,
	SYNC_R_RESYNC = 4,
};

#define SYNC_FLOW_ADD 1		/* new flow or re-point: upsert */
#define SYNC_FLOW_DEL 2

/* A flow record, decoded.  On the wire: 72 bytes, see sync_wire.c. */
struct sync_flow {
	uint8_t op;		/* SYNC_FLOW_ADD / DEL */
	struct lb_flow_key key;	/* as in the data plane: addresses/ports network order */
	uint32_t node_key;	/* stable hash of the node's name (ids differ per switch) */
	uint32_t flags;		/* LB_FLOW_F_* */
	uint64_t packets, bytes;
};
#define SYNC_FLOW_LEN 72

struct sync_hello {
	uint8_t role;		/* 0 init, 1 backup, 2 master, 3 fault */
	uint8_t synced;		/* 1 once this switch holds the peer's table */
	uint16_t heard;		/* group: members the sender hears now, bit per
				 * cfg.sync.group index (itself too); 0 in a pair */
	uint32_t flows;		/* entries in the sender's flow table */
	uint64_t resyncs;	/* bulk resyncs the sender has received */
};
#define SYNC_HELLO_LEN 16

struct sync_range {
	uint64_t from, to;	/* inclusive */
};
#define SYNC_RANGE_LEN 16

struct sync_resync {
	uint64_t id;		/* stream id */
	uint64_t count;		/* END: flows sent */
};
#define SYNC_RESYNC_LEN 16

struct sync_hdr {
	uint8_t type;
	uint16_t body_len;
	uint32_t sender, epoch;
	uint64_t seq, dseq, ack;
	uint32_t peer_epoch;	/* parsed; sync_seal writes it */
};

struct sync_key {
	uint8_t k[SYNC_KEY_MAX];
	size_t len;
};

/* Why a datagram was refused; counted per reason by syncd. */
enum sync_err {
	SYNC_OK = 0,
	SYNC_E_SHORT,		/* shorter than header + MAC */
	SYNC_E_MAGIC,
	SYNC_E_VERSION,
	SYNC_E_TYPE,
	SYNC_E_LENGTH,		/* body_len disagrees with the datagram */
	SYNC_E_FLAGS,
	SYNC_E_MAC,		/* HMAC mismatch: forged or wrong key */
	SYNC_E_RECORD,		/* malformed record (length, type, or value) */
	SYNC_E_REPLAY,		/* old epoch, or seq already seen / left of window */
	SYNC_E_SESSION,		/* names another receiver epoch: sent to (or captured
				 * from) a previous start of this receiver */
	SYNC_E_MAX
};
const char *sync_err_name(enum sync_err e);

/*
 * Parse and authenticate one datagram.  Pure: no I/O, no state.
 * On SYNC_OK, *h is filled and *body / *body_len point into buf.
 * Records are not validated here: walk them with sync_next_record.
 */
enum sync_err sync_parse(const uint8_t *buf, size_t len, const struct sync_key *key,
			 struct sync_hdr *h, const uint8_t **body, size_t *body_len);

/*
 * Record iterator over a body.  *off starts at 0.  Returns 1 with the record
 * type and value, 0 at the end, -1 (SYNC_E_RECORD) on a malformed record.
 */
int sync_next_record(const uint8_t *body, size_t body_len, size_t *off, uint16_t *type,
		     const uint8_t **val, uint16_t *len);

/* Decode record values; -1 if the length or contents are wrong. */
int sync_decode_flow(const uint8_t *v, uint16_t len, struct sync_flow *f);
int sync_decode_hello(const uint8_t *v, uint16_t len, struct sync_hello *h);
int sync_decode_range(const uint8_t *v, uint16_t len, struct sync_range *r);
int sync_decode_resync(const uint8_t *v, uint16_t len, struct sync_resync *r);
/*
 * Every record of a message of this type well formed and of a kind the type
 * carries (flows in DATA, a hello in HELLO and RESYNC_REQ, a range in NACK,
 * a resync in RESYNC_BEGIN/END)?  1 or 0.  Checked before any record of the
 * message is applied.
 */
int sync_body_valid(uint8_t type, const uint8_t *body, size_t len);

/* Message builder: header, then records, then seal (MAC). */
struct sync_builder {
	uint8_t buf[SYNC_MAX_MSG];
	size_t len;		/* header + body so far */
};
void sync_begin(struct sync_builder *b, const struct sync_hdr *h);
/* Append a record; -1 if it does not fit (send and begin a new message). */
int sync_add_flow(struct sync_builder *b, const struct sync_flow *f);
int sync_add_hello(struct sync_builder *b, const struct sync_hello *h);
int sync_add_range(struct sync_builder *b, const struct sync_range *r);
int sync_add_resync(struct sync_builder *b, const struct sync_resync *r);
/* Write seq, ack and peer_epoch (fresh on every (re)transmission), then the
 * MAC.  Returns the datagram length; b->buf holds it. */
size_t sync_seal(struct sync_builder *b, const struct sync_key *key, uint64_t seq, uint64_t ack,
		 uint32_t peer_epoch);
size_t sync_records_room(const struct sync_builder *b);

/*
 * Replay window per peer: the highest epoch seen and a 1024-seq bitmap
 * below the highest seq.  sync_replay_check() is pure (tells), and
 * sync_replay_commit() records a message that was accepted: call it only
 * after the whole message was processed.
 */
#define SYNC_WINDOW 1024
struct sync_replay {
	uint32_t epoch;
	uint64_t top;		/* highest seq accepted in this epoch */
	uint64_t bits[SYNC_WINDOW / 64];
};
enum sync_err sync_replay_check(const struct sync_replay *r, uint32_t epoch, uint64_t seq);
void sync_replay_commit(struct sync_replay *r, uint32_t epoch, uint64_t seq);

/* Parse a key given as hex (64..128 hex digits); 0 / -1. */
int sync_key_from_hex(const char *hex, struct sync_key *k);

#endif
