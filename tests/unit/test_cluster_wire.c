/*
 * test_cluster_wire.c - the NFS cluster map codec (lib/cluster_wire.h):
 * round trip, authentication, every length cut, validation of bodies that
 * authenticate but break the rules, ACKs, replay protection, the size bound.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/cluster_wire.h"
#include "lib/handoff_wire.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t badkey[32] = "0123456789abcdef0123456789abcdeX";

static void sample(struct cw_map *m)
{
	memset(m, 0, sizeof(*m));
	m->h = (struct cw_hdr){ CW_T_MAP, 1, 0, 1700000000123456ull, 1700000000000000001ull, 77 };
	m->handoff_threshold = 1048576;
	strcpy(m->export_name, "/export");
	m->nclients = 2;
	taddr_parse("10.77.1.0", &m->clients[0].addr);
	m->clients[0].plen = 24;
	taddr_parse("fd77:1::", &m->clients[1].addr);
	m->clients[1].plen = 64;
	m->nnodes = 3;
	for (unsigned i = 0; i < 3; i++) {
		char a[32];
		m->nodes[i].nfs_id = (uint8_t)(i + 1);
		snprintf(a, sizeof(a), "10.77.2.1%u", i + 1);
		taddr_parse(a, &m->nodes[i].addr);
		snprintf(m->nodes[i].name, sizeof(m->nodes[i].name), "n%u", i + 1);
	}
	m->nhomes = 3;
	static const char *const dirs[] = { "alpha", "beta", "gamma" };
	for (unsigned i = 0; i < 3; i++) {
		m->homes[i].nfs_id = (uint8_t)(i + 1);
		strcpy(m->homes[i].dir, dirs[i]);
	}
}

/* Re-MAC a modified datagram so the body rules, not the MAC, are tested. */
static void remac(uint8_t *b, size_t len)
{
	wire_hmac(key, sizeof(key), b, len - WIRE_MAC_LEN, b + len - WIRE_MAC_LEN);
}

int main(void)
{
	static struct cw_map m, got, big;
	static uint8_t buf[CW_MAX_DGRAM], cp[CW_MAX_DGRAM];
	const char *why;
	uint8_t type;
	size_t len;

	sample(&m);
	len = cw_map_encode(&m, key, sizeof(key), buf, sizeof(buf), &why);
	CHECK(len > CW_HDR_LEN + WIRE_MAC_LEN, "encode a 3-node map (%zu bytes)", len);
	CHECK(cw_is_cluster(buf, len) && buf[0] == 0x54, "starts with the magic");
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, &got, NULL, &why) == 0 && type == CW_T_MAP,
	      "parse it back");
	CHECK(got.h.generation == m.h.generation && got.h.cluster_id == 1 && got.h.switch_id == 0,
	      "header fields");
	CHECK(got.h.epoch == m.h.epoch && got.h.peer_epoch == 77, "both epochs");
	CHECK(got.handoff_threshold == 1048576 && !strcmp(got.export_name, "/export"), "threshold, export");
	CHECK(got.nclients == 2 && got.clients[1].plen == 64 && taddr_equal(&got.clients[1].addr, &m.clients[1].addr),
	      "clients");
	CHECK(got.nnodes == 3 && got.nodes[2].nfs_id == 3 && !strcmp(got.nodes[2].name, "n3") &&
	      taddr_equal(&got.nodes[2].addr, &m.nodes[2].addr), "nodes");
	CHECK(got.nhomes == 3 && !strcmp(got.homes[1].dir, "beta") && got.homes[1].nfs_id == 2, "homes");
	CHECK(cw_map_node(&got, 2) == &got.nodes[1] && !cw_map_node(&got, 9), "cw_map_node");

	/* a handoff report never looks like a cluster message */
	{
		struct ho_report r = { .op = HO_OP_MOVE, .key = { .family = 4, .proto = 6 } };
		uint8_t rb[HO_REPORT_MAX];
		size_t rl = ho_report_encode(&r, key, sizeof(key), rb);
		CHECK(!cw_is_cluster(rb, rl), "a MOVE report is not a cluster message (first byte 0x%02x)", rb[0]);
		CHECK(cw_parse(rb, rl, key, sizeof(key), &type, &got, NULL, &why) < 0, "... nor parses as one");
	}

	CHECK(cw_parse(buf, len, badkey, sizeof(badkey), &type, &got, NULL, &why) < 0 &&
	      !strcmp(why, "bad_mac"), "wrong key: bad_mac");
	int cut_ok = 1;
	for (size_t l = 0; l < len; l++)
		if (cw_parse(buf, l, key, sizeof(key), &type, &got, NULL, &why) == 0)
			cut_ok = 0;
	CHECK(cut_ok, "every truncation refused");
	int flip_ok = 1;
	for (size_t i = 0; i < len; i++) {
		memcpy(cp, buf, len);
		cp[i] ^= 0x01;
		if (cw_parse(cp, len, key, sizeof(key), &type, &got, NULL, &why) == 0)
			flip_ok = 0;
	}
	CHECK(flip_ok, "every single bit flip refused");
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, NULL, NULL, &why) < 0 &&
	      !strcmp(why, "unexpected_type"), "a MAP where only ACKs are expected");

	/* bodies that authenticate but break the rules */
	memcpy(cp, buf, len);
	cp[2] = CW_VERSION + 1;
	remac(cp, len);
	CHECK(cw_parse(cp, len, key, sizeof(key), &type, &got, NULL, &why) < 0 && !strcmp(why, "bad_version"),
	      "version %d: %s", CW_VERSION + 1, why);
	memcpy(cp, buf, len);
	cp[CW_HDR_LEN + 9] = 'x';	/* export must start with '/' */
	remac(cp, len);
	CHECK(cw_parse(cp, len, key, sizeof(key), &type, &got, NULL, &why) < 0 && !strcmp(why, "bad_export"),
	      "export without '/': %s", why);
	struct { const char *what, *want; void (*f)(struct cw_map *); } bad[] = {
		{ "a dir with '/'", "bad_dir", NULL }, { "a dir \"..\"", "bad_dir", NULL },
		{ "a duplicate dir", "duplicate_dir", NULL }, { "a home on no node", "home_not_a_node", NULL },
		{ "node id 0", "bad_node", NULL }, { "two nodes with id 2", "duplicate_node", NULL },
		{ "a bad node name", "bad_node", NULL }, { "a /33 client", "bad_client", NULL },
		{ "no nodes", "bad_nodes", NULL },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cw_map *x = &big;
		sample(x);
		switch (i) {
		case 0: strcpy(x->homes[0].dir, "a/b"); break;
		case 1: strcpy(x->homes[0].dir, ".."); break;
		case 2: strcpy(x->homes[1].dir, "alpha"); break;
		case 3: x->homes[0].nfs_id = 9; break;
		case 4: x->nodes[0].nfs_id = 0; break;
		case 5: x->nodes[0].nfs_id = 2; break;
		case 6: strcpy(x->nodes[0].name, "n 1"); break;
		case 7: x->clients[0].plen = 33; break;
		case 8: x->nnodes = 0; x->nhomes = 0; break;
		}
		CHECK(cw_map_encode(x, key, sizeof(key), cp, sizeof(cp), &why) == 0 && !strcmp(why, bad[i].want),
		      "encoder refuses %s: %s", bad[i].what, why);
	}
	/* the parser applies the same rules to what it reads: a dir with '/' */
	memcpy(cp, buf, len);
	for (size_t i = CW_HDR_LEN; i + 5 < len; i++)
		if (!memcmp(cp + i, "gamma", 5)) {
			cp[i + 2] = '/';
			break;
		}
	remac(cp, len);
	CHECK(cw_parse(cp, len, key, sizeof(key), &type, &got, NULL, &why) < 0 && !strcmp(why, "bad_dir"),
	      "parser refuses \"ga/ma\": %s", why);
	/* a trailing byte (length fields consistent, MAC valid) */
	memcpy(cp, buf, len - WIRE_MAC_LEN);
	cp[len - WIRE_MAC_LEN] = 0;
	wire_put16(cp + 36, (uint16_t)(wire_get16(cp + 36) + 1));
	remac(cp, len + 1);
	CHECK(cw_parse(cp, len + 1, key, sizeof(key), &type, &got, NULL, &why) < 0 && !strcmp(why, "bad_body"),
	      "a byte after the homes: %s", why);

	/* the biggest map fits CW_MAX_DGRAM, which fits a UDP datagram */
	memset(&big, 0, sizeof(big));
	big.h = m.h;
	memset(big.export_name, 'e', CW_EXPORT_MAX);
	big.export_name[0] = '/';
	big.nclients = CW_MAX_CLIENTS;
	for (unsigned i = 0; i < CW_MAX_CLIENTS; i++) {
		taddr_parse("fd00::", &big.clients[i].addr);
		big.clients[i].plen = 128;
	}
	big.nnodes = CW_MAX_NODES;
	for (unsigned i = 0; i < CW_MAX_NODES; i++) {
		big.nodes[i].nfs_id = (uint8_t)(i + 1);
		taddr_parse("fd00::1", &big.nodes[i].addr);
		memset(big.nodes[i].name, 'a', CW_NAME_MAX);
		snprintf(big.nodes[i].name, 4, "%03u", i);
		big.nodes[i].name[3] = 'a';
	}
	big.nhomes = CW_MAX_HOMES;
	for (unsigned i = 0; i < CW_MAX_HOMES; i++) {
		big.homes[i].nfs_id = (uint8_t)(i + 1);
		memset(big.homes[i].dir, 'd', CW_DIR_MAX);
		snprintf(big.homes[i].dir, 4, "%03u", i);
		big.homes[i].dir[3] = 'd';
	}
	len = cw_map_encode(&big, key, sizeof(key), buf, sizeof(buf), &why);
	CHECK(len == CW_MAX_DGRAM && CW_MAX_DGRAM <= 65507, "largest map: %zu bytes = CW_MAX_DGRAM (%d) <= 65507",
	      len, CW_MAX_DGRAM);
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, &got, NULL, &why) == 0 && got.nnodes == 255 &&
	      got.nhomes == 64, "... and parses");
	CHECK(cw_map_encode(&m, key, sizeof(key), buf, 100, &why) == 0, "encode refuses a small buffer");

	/* ACKs */
	struct cw_ack a = { { CW_T_ACK, 1, 7, 42, 1234, 5678 }, 3, CW_ACK_OK, 99 }, ga;
	len = cw_ack_encode(&a, key, sizeof(key), buf, sizeof(buf));
	CHECK(len == CW_HDR_LEN + 10 + WIRE_MAC_LEN && len == CW_ACK_LEN, "ack encodes (%zu bytes)", len);
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, NULL, &ga, &why) == 0 && type == CW_T_ACK &&
	      ga.nfs_id == 3 && ga.status == CW_ACK_OK && ga.h.generation == 42 && ga.h.switch_id == 7,
	      "ack parses back");
	CHECK(ga.h.epoch == 1234 && ga.h.peer_epoch == 5678 && ga.held == 99,
	      "... with both epochs and held");
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, &got, NULL, &why) < 0, "an ACK where a MAP is expected");
	buf[CW_HDR_LEN + 1] = 9;
	remac(buf, len);
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, NULL, &ga, &why) < 0, "ack status 9 refused");
	buf[CW_HDR_LEN + 1] = CW_ACK_STALE;
	remac(buf, len);
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, NULL, &ga, &why) == 0 && ga.status == CW_ACK_STALE &&
	      !strcmp(cw_ack_status_name(CW_ACK_STALE), "stale"), "ack status stale parses");
	buf[2] = 1;
	remac(buf, len);
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, NULL, &ga, &why) < 0 && !strcmp(why, "bad_version"),
	      "a version 1 message is refused");

	/* one map sealed for each node: its key, both epochs */
	len = cw_map_encode(&m, key, sizeof(key), buf, sizeof(buf), &why);
	CHECK(cw_reseal(buf, len, 111, 222, badkey, sizeof(badkey)) == 0 &&
	      cw_parse(buf, len, badkey, sizeof(badkey), &type, &got, NULL, &why) == 0 &&
	      got.h.epoch == 111 && got.h.peer_epoch == 222 && got.nhomes == 3,
	      "resealed for another key and epochs: parses with that key only");
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, &got, NULL, &why) < 0 && !strcmp(why, "bad_mac"),
	      "... and not with the first key");
	CHECK(cw_reseal(buf, len - 1, 1, 2, key, sizeof(key)) < 0, "reseal refuses a cut message");
	CHECK(!strcmp(cw_ack_status_name(CW_ACK_NOT_MEMBER), "not_member") && !strcmp(cw_ack_status_name(77), "?"),
	      "status names");

	/* node states (NODES) and their ACK */
	static struct cw_nodes ns, gs;
	memset(&ns, 0, sizeof(ns));
	ns.h = (struct cw_hdr){ CW_T_NODES, 1, 7, 1700000000777777ull, 1234, 5678 };
	ns.n = 3;
	for (unsigned i = 0; i < 3; i++)
		snprintf(ns.nodes[i].name, sizeof(ns.nodes[i].name), "n%u", i + 1);
	ns.nodes[1].flags = CW_NODE_DRAINING;
	len = cw_nodes_encode(&ns, key, sizeof(key), buf, sizeof(buf), &why);
	CHECK(len == CW_HDR_LEN + 1 + 3 * 4 + WIRE_MAC_LEN && cw_type(buf, len) == CW_T_NODES,
	      "node states encode (%zu bytes), type NODES", len);
	CHECK(cw_nodes_parse(buf, len, key, sizeof(key), &gs, &why) == 0 && gs.n == 3 &&
	      !strcmp(gs.nodes[1].name, "n2") && gs.nodes[1].flags == CW_NODE_DRAINING &&
	      gs.nodes[0].flags == 0 && gs.h.generation == ns.h.generation && gs.h.switch_id == 7 &&
	      gs.h.epoch == 1234 && gs.h.peer_epoch == 5678, "... parse back: n2 draining");
	CHECK(cw_parse(buf, len, key, sizeof(key), &type, &got, &ga, &why) < 0 &&
	      !strcmp(why, "unexpected_type") && type == CW_T_NODES, "cw_parse leaves NODES to cw_nodes_parse");
	CHECK(cw_nodes_parse(buf, len, badkey, sizeof(badkey), &gs, &why) < 0 && !strcmp(why, "bad_mac"),
	      "... authenticated with the node's key");
	CHECK(cw_reseal(buf, len, 9, 10, badkey, sizeof(badkey)) == 0 &&
	      cw_nodes_parse(buf, len, badkey, sizeof(badkey), &gs, &why) == 0 && gs.h.peer_epoch == 10,
	      "... resealed for another node like a map");
	cw_reseal(buf, len, 1234, 5678, key, sizeof(key));
	buf[CW_HDR_LEN + 4] = 0xfe;	/* n1's flags (count, length, "n1", flags): unknown bits */
	remac(buf, len);
	CHECK(cw_nodes_parse(buf, len, key, sizeof(key), &gs, &why) == 0 && gs.nodes[0].flags == 0,
	      "unknown flag bits are ignored (a later switch may send more)");
	unsigned taken = 0;
	for (size_t l = CW_HDR_LEN + WIRE_MAC_LEN; l < len; l++) {
		memcpy(cp, buf, l);
		wire_put16(cp + 36, (uint16_t)(l - CW_HDR_LEN - WIRE_MAC_LEN));
		remac(cp, l);
		taken += cw_nodes_parse(cp, l, key, sizeof(key), &gs, &why) == 0;
	}
	CHECK(taken == 0, "every cut of the body is refused");
	memcpy(cp, buf, len);
	cp[CW_HDR_LEN + 7] = '1';	/* n2's name (after n1's 4 bytes and its length) -> n1 */
	remac(cp, len);
	CHECK(cw_nodes_parse(cp, len, key, sizeof(key), &gs, &why) < 0 && !strcmp(why, "duplicate_node"),
	      "a name twice is refused");
	strcpy(ns.nodes[2].name, "n 3");
	CHECK(cw_nodes_encode(&ns, key, sizeof(key), cp, sizeof(cp), &why) == 0 && !strcmp(why, "bad_node"),
	      "encode refuses a bad name");
	strcpy(ns.nodes[2].name, "n3");
	ns.n = 0;
	len = cw_nodes_encode(&ns, key, sizeof(key), buf, sizeof(buf), &why);
	CHECK(len && cw_nodes_parse(buf, len, key, sizeof(key), &gs, &why) == 0 && gs.n == 0,
	      "no nodes at all is valid");
	CHECK(cw_nodes_parse(buf, len, key, sizeof(key), &gs, &why) == 0 &&
	      cw_nodes_encode(&ns, key, sizeof(key), buf, 100, &why) == 0, "encode refuses a small buffer");
	struct cw_ack na = { { CW_T_NODES_ACK, 1, 7, 42, 1, 2 }, 0, CW_ACK_STALE, 5 };
	len = cw_ack_encode(&na, key, sizeof(key), buf, sizeof(buf));
	CHECK(len == CW_ACK_LEN && cw_parse(buf, len, key, sizeof(key), &type, NULL, &ga, &why) == 0 &&
	      type == CW_T_NODES_ACK && ga.h.type == CW_T_NODES_ACK && ga.status == CW_ACK_STALE &&
	      ga.held == 5, "a NODES_ACK parses as an ACK of its own type");
	CHECK(cw_type(buf, 3) == -1 && cw_nodes_parse(buf, len, key, sizeof(key), &gs, &why) < 0 &&
	      !strcmp(why, "bad_type"), "cw_type needs a header; cw_nodes_parse refuses an ACK");

	/* replay protection: per switch id */
	struct cw_replay r;
	memset(&r, 0, sizeof(r));
	CHECK(cw_replay_check(&r, 0, 100, 5) == CW_NEW, "first map from a switch: new");
	cw_replay_commit(&r, 0, 100, 5);
	CHECK(cw_replay_check(&r, 0, 100, 5) == CW_SAME, "same generation: unchanged (periodic resend)");
	CHECK(cw_replay_check(&r, 0, 100, 4) == CW_OLD, "older generation: replay");
	CHECK(cw_replay_check(&r, 0, 100, 6) == CW_NEW, "newer: new");
	CHECK(cw_replay_check(&r, 2, 100, 1) == CW_NEW, "another switch has its own counter");
	CHECK(cw_replay_check(&r, 0, 101, 1) == CW_NEW, "a new epoch of the switch (it restarted): a new window");
	CHECK(cw_replay_check(&r, 0, 99, 9) == CW_OLD_EPOCH && cw_replay_held(&r, 0) == 100,
	      "an older epoch of the switch: stale, held names ours");
	for (uint32_t sw = 1; sw < CW_REPLAY_SLOTS; sw++)
		cw_replay_commit(&r, sw, 100, 1);
	CHECK(cw_replay_check(&r, 99, 100, 1) == CW_FULL, "one switch more than the slots: no slot");
	cw_replay_commit(&r, 0, 100, 3);
	CHECK(cw_replay_check(&r, 0, 100, 4) == CW_OLD, "commit never lowers a switch's generation");
	cw_replay_commit(&r, 0, 99, 50);
	CHECK(cw_replay_check(&r, 0, 100, 4) == CW_OLD && cw_replay_held(&r, 0) == 100,
	      "nor its epoch");
	return check_done();
}
