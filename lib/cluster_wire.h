/*
 * cluster_wire.h - the NFS cluster map, lbd -> storage nodes ("one
 * namespace ... cluster map from the appliance config, handed to the nodes
 * by lbd"), the node states (which nodes drain, lbd -> storage nodes), and
 * the nodes' acknowledgements.  Pure codec (fuzzed by
 * tests/fuzz/fuzz_cluster.c), one UDP datagram per message.
 *
 * lbd sends the map to every node's storage address on the handoff report
 * port (handoff.port), the UDP socket where tandem-nasd already takes the
 * switch's MOVEs.  The two formats share that socket and are told apart by
 * the first byte: a report starts with its version in the high nibble
 * (0x20..0x2f), a cluster message with CW_MAGIC's 0x54.
 *
 * Header (40 bytes, big-endian, no bitfields):
 *    0 u16 magic 0x5443 ("TC")   2 u8 version 2   3 u8 type CW_T_*
 *    4 u32 cluster id (handoff.cluster_id: both ends must agree)
 *    8 u32 switch id (sync.switch_id of the switch; 0: a switch without a pair)
 *   12 u64 generation (MAP: the map's version, grows with every (re)load of
 *          the appliance config; lbd takes it from the wall clock; ACK: the
 *          generation the node holds from that switch)
 *   20 u64 epoch (the sender's, as in the handoff report: lbd's for a MAP,
 *          the node's for an ACK; lib/handoff_wire.h)
 *   28 u64 peer epoch (the addressee's epoch as the sender knows it; 0: not yet)
 *   36 u16 body length   38 u16 zero
 * body, then HMAC-SHA256 (32) over header and body with the node key K(n)
 * of the node it goes to or comes from (lib/handoff_key.h): lbd seals the
 * map for each node (cw_reseal), so no node can forge a map to another.
 *
 * MAP body:
 *    u64 handoff_threshold
 *    u8 export length (1..127), export path (starts with '/')
 *    u8 client networks (0..32), each: u8 family (4|6), u8 prefix, address (4|16)
 *    u8 nodes (1..255), each: u8 NFS node id (1..255: lbd's data-plane node
 *       id + 1), u8 family, storage address (4|16), u8 name length (1..32), name
 *    u8 homes (0..64), each: u8 NFS node id (one of the nodes), u8 dir length
 *       (1..255), dir (one path component: no '/', NUL, not "." or "..")
 *    nothing after.
 * ACK body: u8 the node's NFS id (0: not in the map), u8 status CW_ACK_*,
 *    u64 held (the switch epoch this node holds for that switch id).
 *
 * NODES (node states; added in version 2 as a new type, so a node that does
 * not know it refuses it as "bad_type" and goes on taking maps): what the
 * switch's operator decided about each node, for the nodes' own automatic
 * moves (tandem-nasd's data-location rule must never hand a session to a
 * node that drains).  Sent to every node with a "handoff" section, with or
 * without an NFS map, whenever a node's state changes (before the drain
 * starts moving sessions) and every 2 s.  generation: the states' version
 * (lbd's wall clock in microseconds at the change; the same on a resend).
 * Body:
 *    u8 nodes (0..255), each: u8 name length (1..32), name, u8 flags
 *       (CW_NODE_DRAINING; the other bits are sent as 0 and ignored)
 *    nothing after.
 * NODES_ACK: the node's answer, an ACK's body (NFS id 0; status CW_ACK_OK,
 *    or CW_ACK_STALE with held as for a map); generation: the states'
 *    generation the node holds from that switch.  Replay: as for maps, in a
 *    window of its own (a node's cw_replay for states).
 *
 * Replay: a node applies a map only if it carries the node's current epoch
 * as its peer epoch (nothing recorded before the node's last start is
 * taken) and, per switch id, its epoch is above the last one taken (lbd
 * restarted) or equal with a generation above the last one (cw_replay_*):
 * an older generation is a replay and is refused without an answer; the
 * same one is lbd's periodic resend, answered with an ACK and otherwise
 * ignored.  A map refused only for an epoch is answered with an ACK of
 * status CW_ACK_STALE carrying the node's epoch and `held`: lbd learns the
 * node's epoch (and moves its own above held) and seals the map again.
 */
#ifndef TANDEM_CLUSTER_WIRE_H
#define TANDEM_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wire.h"

#define CW_MAGIC 0x5443
#define CW_VERSION 2
#define CW_HDR_LEN 40
#define CW_EXPORT_MAX 127
#define CW_MAX_CLIENTS 32
#define CW_MAX_NODES 255
#define CW_NAME_MAX 32
#define CW_MAX_HOMES 64
#define CW_DIR_MAX 255
/* The largest message: fits one UDP datagram (65507 bytes over IPv4). */
#define CW_MAX_DGRAM (CW_HDR_LEN + 8 + 1 + CW_EXPORT_MAX + 1 + CW_MAX_CLIENTS * 18 + \
		      1 + CW_MAX_NODES * (3 + 16 + CW_NAME_MAX) + 1 + CW_MAX_HOMES * (2 + CW_DIR_MAX) + \
		      WIRE_MAC_LEN)

enum cw_type { CW_T_MAP = 1, CW_T_ACK = 2, CW_T_NODES = 3, CW_T_NODES_ACK = 4 };
enum cw_ack_status {
	CW_ACK_OK = 0,		/* the node uses this map (it holds `generation`) */
	CW_ACK_NOT_MEMBER = 1,	/* the node is not in the map (name/address) */
	CW_ACK_UNUSED = 2,	/* the node takes its namespace from its own config */
	CW_ACK_REFUSED = 3,	/* the map does not fit this node (e.g. node id clash) */
	CW_ACK_STALE = 4,	/* not taken: its peer epoch is not the node's, or its
				 * epoch is below the one the node holds (held) */
};
const char *cw_ack_status_name(unsigned st);

struct cw_node {
	uint8_t nfs_id;
	struct taddr addr;
	char name[CW_NAME_MAX + 1];
};

struct cw_home {
	uint8_t nfs_id;
	char dir[CW_DIR_MAX + 1];
};

struct cw_cidr {
	struct taddr addr;
	uint8_t plen;
};

struct cw_hdr {
	uint8_t type;
	uint32_t cluster_id;
	uint32_t switch_id;
	uint64_t generation;
	uint64_t epoch, peer_epoch;
};

struct cw_map {
	struct cw_hdr h;		/* type CW_T_MAP */
	uint64_t handoff_threshold;
	char export_name[CW_EXPORT_MAX + 1];
	unsigned nclients;
	struct cw_cidr clients[CW_MAX_CLIENTS];
	unsigned nnodes;
	struct cw_node nodes[CW_MAX_NODES];
	unsigned nhomes;
	struct cw_home homes[CW_MAX_HOMES];
};

struct cw_ack {
	struct cw_hdr h;		/* type CW_T_ACK or CW_T_NODES_ACK */
	uint8_t nfs_id;
	uint8_t status;
	uint64_t held;
};
#define CW_ACK_LEN (CW_HDR_LEN + 10 + WIRE_MAC_LEN)

#define CW_NODE_DRAINING 0x01	/* the switch drains it: it takes no session */
struct cw_node_state {
	char name[CW_NAME_MAX + 1];
	uint8_t flags;			/* CW_NODE_*; parsed: unknown bits cleared */
};
struct cw_nodes {
	struct cw_hdr h;		/* type CW_T_NODES */
	unsigned n;
	struct cw_node_state nodes[CW_MAX_NODES];
};
#define CW_NODES_MAX_DGRAM (CW_HDR_LEN + 1 + CW_MAX_NODES * (2 + CW_NAME_MAX) + WIRE_MAC_LEN)

/* 1 if buf starts like a cluster message (dispatch on a shared socket). */
int cw_is_cluster(const uint8_t *buf, size_t len);
/* Its type byte, NOT authenticated (only to choose the parser, which then
 * checks everything): CW_T_*, or -1 if buf is no cluster message. */
int cw_type(const uint8_t *buf, size_t len);

/*
 * Encode map m (validated as cw_parse would) and MAC it into buf[0..cap).
 * Returns the length, or 0 if m is invalid or does not fit (*why says).
 */
size_t cw_map_encode(const struct cw_map *m, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap, const char **why);
/* Rewrite the epoch and peer epoch of the message buf[0..len) that
 * cw_map_encode or cw_ack_encode wrote, and MAC it again with key (one map
 * sealed for each node).  0, or -1 if buf is not such a message. */
int cw_reseal(uint8_t *buf, size_t len, uint64_t epoch, uint64_t peer_epoch, const uint8_t *key,
	      size_t keylen);
/* Encode an ACK (a->h.type CW_T_ACK or CW_T_NODES_ACK); returns its length
 * (cap >= CW_ACK_LEN), or 0. */
size_t cw_ack_encode(const struct cw_ack *a, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap);
/* Encode node states s (names as the map's: [A-Za-z0-9_-]{1,32}, no two
 * alike; flags with only known bits) and MAC it.  The length, or 0 if s is
 * invalid or cap < CW_NODES_MAX_DGRAM (*why says). */
size_t cw_nodes_encode(const struct cw_nodes *s, const uint8_t *key, size_t keylen, uint8_t *buf,
		       size_t cap, const char **why);
/* Parse and authenticate a NODES message into *s.  0, or -1 with a static
 * reason ("bad_type" for another type, or as cw_parse).  Pure. */
int cw_nodes_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		   struct cw_nodes *s, const char **why);

/*
 * Parse and authenticate one datagram.  *type gets the message type; a MAP
 * fills *map (may be NULL: a MAP is then refused as "unexpected_type"), an
 * ACK or a NODES_ACK *ack (likewise; ack->h.type tells which); a NODES is
 * "unexpected_type" here (cw_nodes_parse takes it).  0, or -1 with a static reason in *why ("short",
 * "bad_magic", "bad_length", "bad_mac", "bad_version", "bad_type", and
 * field names for a body that does not validate).  Pure.
 */
int cw_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen, uint8_t *type,
	     struct cw_map *map, struct cw_ack *ack, const char **why);

/* The node of the map with this NFS id, or NULL. */
const struct cw_node *cw_map_node(const struct cw_map *m, uint8_t nfs_id);

/*
 * Replay protection on the receiving side: the last (epoch, generation)
 * taken per switch id (a pair has two switches; CW_REPLAY_SLOTS leaves room
 * for replaced ones; when all are used a new switch id is refused, never
 * one forgotten).  cw_replay_check: CW_NEW (a new epoch, or a newer
 * generation of the same), CW_SAME (the same generation), CW_OLD (an older
 * generation of the same epoch: a replay), CW_OLD_EPOCH (an epoch below the
 * switch's last: answer STALE with cw_replay_held), CW_FULL (no free slot).
 * cw_replay_commit records them as the switch's last (never going back).
 * stale counts the
 * maps its owner refused for an epoch (answered CW_ACK_STALE).
 */
#define CW_REPLAY_SLOTS 8
enum { CW_NEW = 1, CW_SAME = 0, CW_OLD = -1, CW_OLD_EPOCH = -2, CW_FULL = -3 };
struct cw_replay {
	struct { int used; uint32_t switch_id; uint64_t epoch, gen; } s[CW_REPLAY_SLOTS];
	uint64_t stale;
};
int cw_replay_check(const struct cw_replay *r, uint32_t switch_id, uint64_t epoch, uint64_t gen);
void cw_replay_commit(struct cw_replay *r, uint32_t switch_id, uint64_t epoch, uint64_t gen);
uint64_t cw_replay_held(const struct cw_replay *r, uint32_t switch_id);

#endif
