/*
 * cluster_wire.h - the NFS cluster map, lbd -> storage nodes ("one
 * namespace ... cluster map from the appliance config, handed to the nodes
 * by lbd"), and the nodes' acknowledgements.  Pure codec (fuzzed by
 * tests/fuzz/fuzz_cluster.c), one UDP datagram per message.
 *
 * lbd sends the map to every node's storage address on the handoff report
 * port (handoff.port), the UDP socket where tandem-nasd already takes the
 * switch's MOVEs.  The two formats share that socket and are told apart by
 * the first byte: a report starts with version 1 in its high nibble
 * (0x10..0x1f), a cluster message with CW_MAGIC's 0x54.
 *
 * Header (24 bytes, big-endian, no bitfields):
 *    0 u16 magic 0x5443 ("TC")   2 u8 version 1   3 u8 type CW_T_*
 *    4 u32 cluster id (handoff.cluster_id: both ends must agree)
 *    8 u32 switch id (sync.switch_id of the sender; 0: a switch without a pair)
 *   12 u64 generation (MAP: the map's version, grows with every (re)load of
 *          the appliance config, across lbd restarts too: lbd takes it from
 *          the wall clock; ACK: the generation the node holds from that switch)
 *   20 u16 body length   22 u16 zero
 * body, then HMAC-SHA256 (32) with the handoff key over header and body.
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
 * ACK body: u8 the node's NFS id (0: not in the map), u8 status CW_ACK_*.
 *
 * Replay: a node applies a map only if its generation is newer than the last
 * one it took from that switch id (cw_replay_*): an older one is a replay (or
 * a switch whose clock went back) and is refused; the same one is lbd's
 * periodic resend, answered with an ACK and otherwise ignored.
 */
#ifndef TANDEM_CLUSTER_WIRE_H
#define TANDEM_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wire.h"

#define CW_MAGIC 0x5443
#define CW_VERSION 1
#define CW_HDR_LEN 24
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

enum cw_type { CW_T_MAP = 1, CW_T_ACK = 2 };
enum cw_ack_status {
	CW_ACK_OK = 0,		/* the node uses this map (it holds `generation`) */
	CW_ACK_NOT_MEMBER = 1,	/* the node is not in the map (name/address) */
	CW_ACK_UNUSED = 2,	/* the node takes its namespace from its own config */
	CW_ACK_REFUSED = 3,	/* the map does not fit this node (e.g. node id clash) */
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
	struct cw_hdr h;		/* type CW_T_ACK */
	uint8_t nfs_id;
	uint8_t status;
};

/* 1 if buf starts like a cluster message (dispatch on a shared socket). */
int cw_is_cluster(const uint8_t *buf, size_t len);

/*
 * Encode map m (validated as cw_parse would) and MAC it into buf[0..cap).
 * Returns the length, or 0 if m is invalid or does not fit (*why says).
 */
size_t cw_map_encode(const struct cw_map *m, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap, const char **why);
/* Encode an ACK; returns its length (cap >= CW_HDR_LEN + 2 + 32), or 0. */
size_t cw_ack_encode(const struct cw_ack *a, const uint8_t *key, size_t keylen, uint8_t *buf,
		     size_t cap);

/*
 * Parse and authenticate one datagram.  *type gets the message type; a MAP
 * fills *map (may be NULL: a MAP is then refused as "unexpected_type"), an
 * ACK *ack (likewise).  0, or -1 with a static reason in *why ("short",
 * "bad_magic", "bad_length", "bad_mac", "bad_version", "bad_type", and
 * field names for a body that does not validate).  Pure.
 */
int cw_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen, uint8_t *type,
	     struct cw_map *map, struct cw_ack *ack, const char **why);

/* The node of the map with this NFS id, or NULL. */
const struct cw_node *cw_map_node(const struct cw_map *m, uint8_t nfs_id);

/*
 * Replay protection on the receiving side: the last generation taken per
 * switch id (a pair has two switches; CW_REPLAY_SLOTS leaves room for a
 * replaced one).  cw_replay_check: 1 newer than the last from that switch
 * (or the first), 0 the same, -1 older (a replay), -2 no free slot.
 * cw_replay_commit records gen as the switch's last.
 */
#define CW_REPLAY_SLOTS 4
struct cw_replay {
	struct { int used; uint32_t switch_id; uint64_t gen; } s[CW_REPLAY_SLOTS];
};
int cw_replay_check(const struct cw_replay *r, uint32_t switch_id, uint64_t gen);
void cw_replay_commit(struct cw_replay *r, uint32_t switch_id, uint64_t gen);

#endif
