/*
 * test_bpf.c - packet fixtures through the data plane (lb/lb.bpf.c) with
 * bpf_prog_test_run: input frame -> expected return code, output frame,
 * flow-table entry and verdict counter.  Every fixture runs through both
 * lb_tc and lb_xdp.  Nothing is attached or pinned and no packet leaves the
 * kernel (test runs do not perform redirects).
 *
 * Usage: test_bpf [path/to/lb.bpf.o]   (or env TANDEM_BPF_OBJ; default
 * build/lb.bpf.o).  Needs root.  Prints "ok N - ..." / "not ok N - ...",
 * exits 0 when every check passed, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb/lb_maps.h"
#include "lb/lb_hash.h"

#define FLOWS_MAX   4096
#define NSVC_TABLES 7			/* services 0..6 have Maglev tables */
#define MSIZE       LB_MAGLEV_DEFAULT	/* per-half table size used here */
#define NNODES      4			/* nodes 0..3 are PRESENT|UP */
#define NODE_NOIF   5			/* PRESENT|UP but ifindex 0 */
#define PKT_MAX     512

enum { P_TC, P_XDP, NPROG };
static const char *const prog_names[NPROG] = { "lb_tc", "lb_xdp" };

enum { A_PASS, A_DROP, A_REDIRECT };

/* Return codes per program for each action. */
static const __u32 act_rc[NPROG][3] = {
	[P_TC]  = { TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT },
	[P_XDP] = { XDP_PASS, XDP_DROP, XDP_REDIRECT },
};

static const char *const verdict_names[LB_V_MAX] = {
	"PASS_NOT_IP", "PASS_NOT_VIP", "FWD_HIT", "FWD_NEW", "FWD_MIDSTREAM",
	"FWD_REHASH_SYN", "FWD_REHASH_DOWN", "PASS_TRUNC_L2", "DROP_TRUNC_L3",
	"DROP_TRUNC_L4", "DROP_FRAGMENT", "DROP_EXTHDR", "DROP_NO_NODE",
	"DROP_REDIRECT", "IP_OPTIONS", "PASS_ICMP", "EVENTS_LOST", "PASS_OTHER_HOST",
	"FWD_UNTRACKED", "FWD_PINNED",
};

/* Test context: the loaded object, map fds and the TAP counters. */
struct t {
	int n, failed;
	int ncpu;
	struct bpf_object *obj;
	int prog_fd[NPROG];
	int flows, svcs, vips, nodes, node_stats, svc_stats, verdicts, pins;
	__u32 *maglev;			/* mmap of lb_maglev */
	size_t maglev_bytes;
};

/* Addresses used by the fixtures. */
#define CLIENT4 "192.0.2.10"
#define VIP4    "10.0.0.100"		/* svc0 TCP/80, svc1 UDP/53 */
#define VIP4B   "10.0.0.101"		/* svc3 TCP/80 NO_NODES, svc4 TCP/81 empty table */
					/* svc5 VIP4 TCP/5201 and svc6 VIP4B TCP/5201:
					 * client affinity, the same table */
#define OTHER4  "10.0.0.200"		/* not a VIP */
#define CLIENT6 "2001:db8:c::10"
#define VIP6    "2001:db8::100"		/* svc2 TCP/443 */
#define OTHER6  "2001:db8::200"

static const uint8_t sw_mac[6]     = { 0x02, 0, 0, 0, 0xff, 0x01 };	/* frame dst in */
static const uint8_t client_mac[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };	/* frame src in */
static const uint8_t egress_mac[6] = { 0x02, 0, 0, 0, 0xff, 0x02 };	/* node src_mac */

static void node_mac(uint8_t mac[6], __u32 node)
{
	static const uint8_t base[6] = { 0x02, 0, 0, 0, 0x01, 0 };

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)node;
}

/* ---- TAP output ---- */

__attribute__((format(printf, 3, 4)))
static bool check(struct t *t, bool cond, const char *fmt, ...)
{
	va_list ap;

	t->n++;
	if (!cond)
		t->failed++;
	printf("%sok %d - ", cond ? "" : "not ", t->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

/* ---- packet fixtures ---- */

struct pktspec {
	int family;		/* 4 or 6 */
	int vlan;		/* number of 802.1Q tags (0..2) */
	uint8_t proto;		/* IPv4 protocol / IPv6 next header */
	const char *src, *dst;
	uint16_t sport, dport;	/* host order */
	uint8_t tcp_flags;
	int opt_words;		/* IPv4 option words: ihl = 5 + opt_words */
	uint16_t frag_off;	/* IPv4 frag_off field, host order */
	int payload;		/* bytes after the L4 header */
};

#define TH_SYN 0x02
#define TH_ACK 0x10

static size_t l4_hdr_len(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;	/* UDP, ICMP, ICMPv6, HBH: 8 */
}

static size_t l2_len(const struct pktspec *s)
{
	return 14 + 4 * (size_t)s->vlan;
}

static size_t l3_hdr_len(const struct pktspec *s)
{
	return s->family == 4 ? 20 + 4 * (size_t)s->opt_words : 40;
}

/* Builds the frame into b (PKT_MAX bytes); returns its length.  Checksums
 * are left zero (the program does not look at them); IP lengths are exact. */
static size_t build(uint8_t *b, const struct pktspec *s)
{
	size_t off = 0, l3, l4, l4len = l4_hdr_len(s->proto) + (size_t)s->payload;
	int i;

	memset(b, 0, PKT_MAX);
	memcpy(b, sw_mac, 6);
	memcpy(b + 6, client_mac, 6);
	off = 12;
	for (i = 0; i < s->vlan; i++) {
		b[off] = 0x81; b[off + 1] = 0x00;		/* 802.1Q */
		b[off + 2] = 0x00; b[off + 3] = (uint8_t)(100 + i);	/* VID */
		off += 4;
	}
	b[off] = s->family == 4 ? 0x08 : 0x86;
	b[off + 1] = s->family == 4 ? 0x00 : 0xdd;
	off += 2;
	l3 = off;
	if (s->family == 4) {
		size_t hlen = l3_hdr_len(s);
		uint16_t tot = htons((uint16_t)(hlen + l4len)), frag = htons(s->frag_off);

		b[l3] = (uint8_t)(0x40 | (hlen / 4));
		memcpy(b + l3 + 2, &tot, 2);
		memcpy(b + l3 + 6, &frag, 2);
		b[l3 + 8] = 64;
		b[l3 + 9] = s->proto;
		inet_pton(AF_INET, s->src, b + l3 + 12);
		inet_pton(AF_INET, s->dst, b + l3 + 16);
		for (i = 0; i < s->opt_words * 4; i++)
			b[l3 + 20 + i] = 0x01;		/* NOP options */
		l4 = l3 + hlen;
	} else {
		uint16_t plen = htons((uint16_t)l4len);

		b[l3] = 0x60;
		memcpy(b + l3 + 4, &plen, 2);
		b[l3 + 6] = s->proto;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, s->src, b + l3 + 8);
		inet_pton(AF_INET6, s->dst, b + l3 + 24);
		l4 = l3 + 40;
	}
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		uint16_t sp = htons(s->sport), dp = htons(s->dport);

		memcpy(b + l4, &sp, 2);
		memcpy(b + l4 + 2, &dp, 2);
		if (s->proto == IPPROTO_TCP) {
			b[l4 + 12] = 5 << 4;		/* doff */
			b[l4 + 13] = s->tcp_flags;
		} else {
			uint16_t ulen = htons((uint16_t)l4len);

			memcpy(b + l4 + 4, &ulen, 2);
		}
	} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		b[l4] = s->proto == IPPROTO_ICMP ? 8 : 128;	/* echo request */
	} else {
		b[l4] = IPPROTO_TCP;	/* an extension header pointing at TCP */
	}
	for (i = 0; i < s->payload; i++)
		b[l4 + l4_hdr_len(s->proto) + i] = (uint8_t)(0xa0 + i);
	return l4 + l4len;
}

static size_t build_arp(uint8_t *b)
{
	static const uint8_t arp[28] = {
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,	/* request */
		0x02, 0, 0, 0, 0xcc, 0x01, 192, 0, 2, 10,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 100,
	};

	memset(b, 0, PKT_MAX);
	memset(b, 0xff, 6);
	memcpy(b + 6, client_mac, 6);
	b[12] = 0x08; b[13] = 0x06;
	memcpy(b + 14, arp, sizeof(arp));
	return 14 + sizeof(arp);
}

/* The flow key the data plane should build for a TCP/UDP fixture. */
static struct lb_flow_key spec_key(const struct pktspec *s)
{
	struct lb_flow_key k;
	int af = s->family == 4 ? AF_INET : AF_INET6;

	memset(&k, 0, sizeof(k));
	inet_pton(af, s->src, k.saddr);
	inet_pton(af, s->dst, k.daddr);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	k.family = (uint8_t)s->family;
	return k;
}

/* ---- map helpers ---- */

static void read_verdicts(struct t *t, __u64 sum[LB_V_MAX])
{
	__u64 vals[t->ncpu];
	__u32 v;
	int c;

	for (v = 0; v < LB_V_MAX; v++) {
		sum[v] = 0;
		if (bpf_map_lookup_elem(t->verdicts, &v, vals) == 0)
			for (c = 0; c < t->ncpu; c++)
				sum[v] += vals[c];
	}
}

static struct lb_counters read_counters(struct t *t, int fd, __u32 idx)
{
	struct lb_counters vals[t->ncpu], sum;
	int c;

	memset(&sum, 0, sizeof(sum));
	if (bpf_map_lookup_elem(fd, &idx, vals) == 0)
		for (c = 0; c < t->ncpu; c++) {
			sum.packets += vals[c].packets;
			sum.bytes += vals[c].bytes;
			sum.new_flows += vals[c].new_flows;
		}
	return sum;
}

static bool get_flow(struct t *t, const struct lb_flow_key *k, struct lb_flow_val *v)
{
	return bpf_map_lookup_elem(t->flows, k, v) == 0;
}

static void put_flow(struct t *t, const struct lb_flow_key *k, __u32 node, __u32 flags)
{
	struct lb_flow_val v = { .node_id = node, .flags = flags, .packets = 5, .bytes = 500 };

	bpf_map_update_elem(t->flows, k, &v, BPF_ANY);
}

static void set_node(struct t *t, __u32 id, __u32 flags, __u32 ifindex)
{
	struct lb_node_val nv;

	memset(&nv, 0, sizeof(nv));
	node_mac(nv.mac, id);
	memcpy(nv.src_mac, egress_mac, 6);
	nv.ifindex = ifindex;
	nv.flags = flags;
	bpf_map_update_elem(t->nodes, &id, &nv, BPF_ANY);
}

static void add_svc(struct t *t, const char *addr, uint16_t port, uint8_t proto,
		    __u32 svc_id, __u32 flags)
{
	struct lb_svc_key k;
	struct lb_svc_val v;
	struct lb_vip_key vk;
	__u32 one = 1;
	int fam = strchr(addr, ':') ? 6 : 4;

	memset(&k, 0, sizeof(k));
	inet_pton(fam == 4 ? AF_INET : AF_INET6, addr, k.addr);
	k.port = htons(port);
	k.proto = proto;
	k.family = (uint8_t)fam;
	memset(&v, 0, sizeof(v));
	v.svc_id = svc_id;
	v.flags = flags;
	v.maglev_size = MSIZE;
	bpf_map_update_elem(t->svcs, &k, &v, BPF_ANY);

	memset(&vk, 0, sizeof(vk));
	memcpy(vk.addr, k.addr, sizeof(vk.addr));
	vk.family = (uint8_t)fam;
	bpf_map_update_elem(t->vips, &vk, &one, BPF_ANY);
}

/* The node Maglev gives key in service svc_id's live half (as the data plane). */
static __u32 expect_node(struct t *t, const struct lb_flow_key *k, __u32 svc_id, __u32 half)
{
	return t->maglev[lb_maglev_index(svc_id, half, MSIZE, lb_flow_hash(k) % MSIZE)];
}

/* ---- running fixtures ---- */

struct result {
	int err;
	__u32 rc;
	uint8_t out[PKT_MAX];
	__u32 out_len;
	__u64 delta[LB_V_MAX];	/* verdict counter increments */
};

static void run(struct t *t, int p, const uint8_t *in, size_t len, struct result *r)
{
	__u64 before[LB_V_MAX], after[LB_V_MAX];
	int v;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = r->out,
		.data_size_out = sizeof(r->out),
		.repeat = 1,
	);

	memset(r->out, 0, sizeof(r->out));
	read_verdicts(t, before);
	r->err = bpf_prog_test_run_opts(t->prog_fd[p], &o) ? -errno : 0;
	read_verdicts(t, after);
	r->rc = o.retval;
	r->out_len = o.data_size_out;
	for (v = 0; v < LB_V_MAX; v++)
		r->delta[v] = after[v] - before[v];
}

/* True when exactly one primary verdict, `verdict`, went up by one, and the
 * informational IP_OPTIONS counter went up by `options`. */
static bool verdict_is(const struct result *r, __u32 verdict, __u64 options)
{
	__u64 primary = 0;
	int v;

	for (v = 0; v < LB_V_MAX; v++)
		if (v != LB_V_IP_OPTIONS && v != LB_V_EVENTS_LOST)
			primary += r->delta[v];
	return r->err == 0 && primary == 1 && r->delta[verdict] == 1 &&
	       r->delta[LB_V_IP_OPTIONS] == options;
}

static const char *verdict_seen(const struct result *r)
{
	int v;

	for (v = 0; v < LB_V_MAX; v++)
		if (v != LB_V_IP_OPTIONS && v != LB_V_EVENTS_LOST && r->delta[v])
			return verdict_names[v];
	return "none";
}

/*
 * Runs one fixture and checks return code and verdict in one TAP line.
 * Returns true when both matched.
 */
static bool expect(struct t *t, int p, const uint8_t *in, size_t len, int act,
		   __u32 verdict, __u64 options, struct result *r, const char *what)
{
	bool ok;

	run(t, p, in, len, r);
	ok = r->err == 0 && r->rc == act_rc[p][act] && verdict_is(r, verdict, options);
	check(t, ok, "%s: %s -> rc %u verdict %s", prog_names[p], what,
	      act_rc[p][act], verdict_names[verdict]);
	if (!ok)
		printf("#   got err %d rc %u verdict %s ip_options +%llu\n", r->err, r->rc,
		       verdict_seen(r), (unsigned long long)r->delta[LB_V_IP_OPTIONS]);
	return ok;
}

/* Output frame is the input with the Ethernet addresses set for node. */
static bool rewritten_for(const struct result *r, const uint8_t *in, size_t len, __u32 node)
{
	uint8_t mac[6];

	node_mac(mac, node);
	return r->out_len == len && memcmp(r->out, mac, 6) == 0 &&
	       memcmp(r->out + 6, egress_mac, 6) == 0 &&
	       memcmp(r->out + 12, in + 12, len - 12) == 0;
}

static bool untouched(const struct result *r, const uint8_t *in, size_t len)
{
	return r->out_len == len && memcmp(r->out, in, len) == 0;
}

/* ---- the fixtures, run once per program; sports differ per program ---- */

static struct pktspec tcp4(uint16_t sport, uint8_t flags)
{
	struct pktspec s = {
		.family = 4, .proto = IPPROTO_TCP, .src = CLIENT4, .dst = VIP4,
		.sport = sport, .dport = 80, .tcp_flags = flags, .payload = 10,
	};
	return s;
}

static struct pktspec tcp6(uint16_t sport, uint8_t flags)
{
	struct pktspec s = {
		.family = 6, .proto = IPPROTO_TCP, .src = CLIENT6, .dst = VIP6,
		.sport = sport, .dport = 443, .tcp_flags = flags, .payload = 10,
	};
	return s;
}

static struct pktspec udp4(uint16_t sport)
{
	struct pktspec s = {
		.family = 4, .proto = IPPROTO_UDP, .src = CLIENT4, .dst = VIP4,
		.sport = sport, .dport = 53, .payload = 12,
	};
	return s;
}

/* SYN -> new flow; ACK -> hit; counters and MAC rewrite. */
static void t_new_and_hit(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp4(sport, TH_SYN);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv;
	struct lb_counters n0, n1, s0, s1;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 node = expect_node(t, &k, 0, 0);
	bool have;

	n0 = read_counters(t, t->node_stats, node);
	s0 = read_counters(t, t->svc_stats, 0);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "IPv4 TCP SYN to VIP");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN,
	      "%s: SYN inserted flow -> Maglev node %u (got %d/%u flags %u)", prog_names[p],
	      node, have, have ? fv.node_id : 0, have ? fv.flags : 0);
	check(t, have && fv.packets == 1 && fv.bytes == len - 14 && fv.last_seen_ns != 0,
	      "%s: new flow counts 1 packet, %zu L3 bytes, last_seen set", prog_names[p], len - 14);
	check(t, rewritten_for(&r, in, len, node),
	      "%s: Ethernet dst = node MAC, src = egress MAC, rest unchanged", prog_names[p]);
	n1 = read_counters(t, t->node_stats, node);
	s1 = read_counters(t, t->svc_stats, 0);
	check(t, n1.packets == n0.packets + 1 && n1.bytes == n0.bytes + len - 14 &&
	      n1.new_flows == n0.new_flows + 1,
	      "%s: node stats +1 packet, +bytes, +1 new flow", prog_names[p]);
	check(t, s1.packets == s0.packets + 1 && s1.bytes == s0.bytes + len - 14 &&
	      s1.new_flows == s0.new_flows + 1,
	      "%s: service stats +1 packet, +bytes, +1 new flow", prog_names[p]);

	s.tcp_flags = TH_ACK;
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_HIT, 0, &r, "ACK of the same flow");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.packets == 2 && fv.flags == LB_FLOW_F_SYN &&
	      rewritten_for(&r, in, len, node),
	      "%s: ACK went to the same node, flow counts 2 packets", prog_names[p]);
	n0 = read_counters(t, t->node_stats, node);
	check(t, n0.new_flows == n1.new_flows && n0.packets == n1.packets + 1,
	      "%s: hit counts a packet, not a new flow", prog_names[p]);
}

/* Entries steer hits; SYN re-hashes; node down re-hashes. */
static void t_rehash(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp4(sport, TH_SYN);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 node = expect_node(t, &k, 0, 0), other = (node + 1) % NNODES;
	bool have;

	put_flow(t, &k, other, LB_FLOW_F_MIDSTREAM | LB_FLOW_F_MIGRATED);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_SYN, 0, &r,
	       "SYN meeting an existing entry (other node)");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN && fv.packets == 1 &&
	      rewritten_for(&r, in, len, node),
	      "%s: entry overwritten with Maglev node %u, flags SYN, counters reset",
	      prog_names[p], node);

	put_flow(t, &k, other, LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED);
	s.tcp_flags = TH_ACK;
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_HIT, 0, &r, "ACK to an entry on another node");
	check(t, rewritten_for(&r, in, len, other),
	      "%s: hit follows the entry (node %u), not the hash", prog_names[p], other);

	set_node(t, other, LB_NODE_F_PRESENT, 1);	/* not UP */
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_DOWN, 0, &r, "ACK whose node is down");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN && fv.packets == 7 &&
	      rewritten_for(&r, in, len, node),
	      "%s: re-hashed to node %u, SYN kept, MIGRATED cleared, counters carried",
	      prog_names[p], node);
	set_node(t, other, LB_NODE_F_PRESENT | LB_NODE_F_UP, 1);

	put_flow(t, &k, 200, LB_FLOW_F_SYNCED);		/* unconfigured node id */
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_DOWN, 0, &r,
	       "ACK whose entry names an unconfigured node");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == 0,
	      "%s: re-hashed to node %u, SYNCED cleared", prog_names[p], node);

	put_flow(t, &k, 1000, 0);			/* out of range node id */
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_DOWN, 0, &r,
	       "ACK whose entry names node id >= LB_MAX_NODES");

	put_flow(t, &k, NODE_NOIF, 0);
	expect(t, p, in, len, A_DROP, LB_V_DROP_REDIRECT, 0, &r,
	       "hit on a node without egress ifindex");
	set_node(t, NODE_NOIF, LB_NODE_F_UP, 1);		/* UP but not PRESENT */
	expect(t, p, in, len, A_DROP, LB_V_DROP_REDIRECT, 0, &r,
	       "hit on a node not PRESENT");
	set_node(t, NODE_NOIF, LB_NODE_F_PRESENT | LB_NODE_F_UP, 0);
}

/* Traffic that is not ours passes untouched. */
/*
 * With lb_config.mac set (lbd writes the client interface's MAC), a unicast
 * frame for another MAC is passed untouched and creates no flow (a bridge
 * flooding it must not make a second switch forward it); frames to our MAC
 * are handled as usual.
 */
static void t_other_host(struct t *t, int p, uint16_t sport)
{
	int cfd = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_CONFIG);
	struct lb_config c;
	struct pktspec s = tcp4(sport, TH_SYN);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 zero = 0;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, sw_mac, 6);
	c.mac[5] ^= 0x40;		/* the switch is someone else */
	bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
	expect(t, p, in, len, A_PASS, LB_V_PASS_OTHER_HOST, 0, &r, "SYN to a VIP, frame for another MAC");
	check(t, untouched(&r, in, len) && !get_flow(t, &k, &fv),
	      "%s: other host's frame untouched, no flow", prog_names[p]);
	memcpy(c.mac, sw_mac, 6);	/* now it is us */
	bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "SYN to a VIP, frame for our MAC");
	memset(&c, 0, sizeof(c));
	bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
}

static void t_pass(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp4(sport, TH_SYN);
	struct lb_flow_key k;
	struct lb_flow_val fv;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len;

	s.dst = OTHER4;
	len = build(in, &s);
	k = spec_key(&s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r, "IPv4 TCP SYN to a non-VIP");
	check(t, untouched(&r, in, len) && !get_flow(t, &k, &fv),
	      "%s: non-VIP frame untouched, no flow", prog_names[p]);

	s.dst = VIP4;
	s.dport = 81;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r, "TCP to a VIP address, other port");
	check(t, untouched(&r, in, len), "%s: other-port frame untouched", prog_names[p]);

	s = tcp6(sport, TH_SYN);
	s.dst = OTHER6;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r, "IPv6 TCP SYN to a non-VIP");
	check(t, untouched(&r, in, len), "%s: non-VIP IPv6 frame untouched", prog_names[p]);

	len = build_arp(in);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_IP, 0, &r, "ARP request");
	check(t, untouched(&r, in, len), "%s: ARP frame untouched", prog_names[p]);

	s = tcp4(sport, TH_SYN);
	s.vlan = 2;					/* QinQ: inner tag is "not IP" */
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_IP, 0, &r, "two VLAN tags");

	s = tcp4(sport, 0);
	s.proto = IPPROTO_ICMP;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_ICMP, 0, &r, "ICMP echo to a VIP address");
	check(t, untouched(&r, in, len), "%s: ICMP frame untouched", prog_names[p]);
	s.dst = OTHER4;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r, "ICMP echo to a non-VIP");

	s = tcp6(sport, 0);
	s.proto = IPPROTO_ICMPV6;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_ICMP, 0, &r, "ICMPv6 echo to a VIP address");
}

static void t_v6_udp_vlan(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp6(sport, TH_SYN);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 node = expect_node(t, &k, 2, 0);
	bool have;

	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "IPv6 TCP SYN to the IPv6 VIP");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN &&
	      fv.bytes == len - 14 && rewritten_for(&r, in, len, node),
	      "%s: IPv6 flow -> Maglev node %u, MACs rewritten", prog_names[p], node);
	s.tcp_flags = TH_ACK;
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_HIT, 0, &r, "IPv6 ACK of the same flow");

	/* svc1 (UDP/53) runs on Maglev half B; half A is all LB_NODE_NONE */
	s = udp4(sport);
	k = spec_key(&s);
	node = expect_node(t, &k, 1, 1);
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "UDP new flow (service on half B)");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN &&
	      rewritten_for(&r, in, len, node),
	      "%s: UDP flow -> half-B Maglev node %u, flags SYN", prog_names[p], node);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_HIT, 0, &r, "second UDP packet of the flow");

	s = tcp4(sport, TH_SYN);
	s.vlan = 1;
	k = spec_key(&s);
	node = expect_node(t, &k, 0, 0);
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "VLAN-tagged SYN to VIP");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.bytes == len - 18 &&
	      rewritten_for(&r, in, len, node),
	      "%s: VLAN tag kept, MACs rewritten, L3 bytes %zu", prog_names[p], len - 18);

	s = tcp4((uint16_t)(sport + 1), TH_SYN);
	s.opt_words = 1;				/* ihl = 6 */
	k = spec_key(&s);
	node = expect_node(t, &k, 0, 0);
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 1, &r, "IPv4 with options (ihl=6) SYN");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && rewritten_for(&r, in, len, node),
	      "%s: options packet forwarded to node %u, options intact", prog_names[p], node);
}

static void t_drops(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp4(sport, TH_ACK);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv;
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 node = expect_node(t, &k, 0, 0);
	uint16_t v;
	bool have;

	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_MIDSTREAM, 0, &r, "ACK without a flow entry");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_MIDSTREAM &&
	      rewritten_for(&r, in, len, node),
	      "%s: midstream insert -> Maglev node %u, flags MIDSTREAM", prog_names[p], node);

	s = tcp4((uint16_t)(sport + 1), TH_SYN);
	s.frag_off = 0x2000;				/* MF, offset 0 */
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_FRAGMENT, 0, &r, "first fragment (MF) to VIP");
	k = spec_key(&s);
	check(t, !get_flow(t, &k, &fv), "%s: fragment inserted no flow", prog_names[p]);
	s.frag_off = 100;				/* offset 800, last */
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_FRAGMENT, 0, &r, "non-first fragment to VIP");
	s.dst = OTHER4;
	s.frag_off = 0x2000;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r, "fragment to a non-VIP");
	check(t, untouched(&r, in, len), "%s: non-VIP fragment untouched", prog_names[p]);
	s.dst = VIP4;
	s.frag_off = 0x4000;				/* DF only: not a fragment */
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "DF set, not a fragment");

	s = tcp4((uint16_t)(sport + 2), TH_SYN);
	s.dst = VIP4B;					/* svc3: NO_NODES */
	len = build(in, &s);
	k = spec_key(&s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_NO_NODE, 0, &r, "SYN to a NO_NODES service");
	check(t, !get_flow(t, &k, &fv), "%s: no-node drop inserted no flow", prog_names[p]);
	s.dport = 81;					/* svc4: table of LB_NODE_NONE */
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_NO_NODE, 0, &r,
	       "SYN to a service whose slot is LB_NODE_NONE");

	s = tcp6((uint16_t)(sport + 3), TH_SYN);
	s.proto = 0;					/* hop-by-hop options */
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_EXTHDR, 0, &r, "IPv6 extension header to VIP");
	s.proto = 44;					/* fragment header */
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_EXTHDR, 0, &r, "IPv6 fragment header to VIP");
	s.dst = OTHER6;
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r,
	       "IPv6 extension header to a non-VIP");

	/* Bad IPv4 headers, complete frames */
	s = tcp4((uint16_t)(sport + 4), TH_SYN);
	len = build(in, &s);
	in[14] = 0x44;					/* ihl 4 */
	expect(t, p, in, len, A_DROP, LB_V_DROP_TRUNC_L3, 0, &r, "IPv4 ihl < 5");
	in[14] = 0x65;					/* version 6 in an IPv4 frame */
	expect(t, p, in, len, A_DROP, LB_V_DROP_TRUNC_L3, 0, &r, "IPv4 ethertype, version 6");
	in[14] = 0x45;
	v = htons(19);					/* tot_len < ihl*4 */
	memcpy(in + 16, &v, 2);
	expect(t, p, in, len, A_DROP, LB_V_DROP_TRUNC_L3, 0, &r, "IPv4 tot_len < ihl*4");
	v = htons(30);					/* room for 10 of 20 TCP bytes */
	memcpy(in + 16, &v, 2);
	expect(t, p, in, len, A_DROP, LB_V_DROP_TRUNC_L4, 0, &r,
	       "IPv4 tot_len cuts the TCP header (VIP)");
	s.dst = OTHER4;
	len = build(in, &s);
	memcpy(in + 16, &v, 2);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r,
	       "IPv4 tot_len cuts the TCP header (non-VIP)");
	s = tcp4((uint16_t)(sport + 4), TH_SYN);
	s.opt_words = 10;				/* ihl 15, frame ends in options */
	s.payload = 0;
	len = build(in, &s);
	expect(t, p, in, 14 + 50, A_DROP, LB_V_DROP_TRUNC_L3, 0, &r,
	       "IPv4 ihl=15 header beyond the frame");
}

/*
 * Every truncation of a valid frame: 0..full length.  The kernel refuses
 * some test-run frames with -EINVAL before running the program: shorter than
 * ETH_HLEN (14) for both tc and XDP, and for tc an untagged IPv4 / IPv6
 * frame shorter than 14 + the fixed IP header (20 / 40;
 * bpf_prog_test_run_skb pulls it).  For those lengths we only check the
 * refusal (no program run, no counter moved); the tc path's TRUNC_L3 is
 * still covered by the VLAN-tagged sweep, whose ethertype the kernel does
 * not look into.  Expected verdict by length: inside L2 (only possible with a VLAN tag)
 * TRUNC_L2 (pass); inside the IP header TRUNC_L3 (drop); inside the L4
 * header TRUNC_L4 (drop, VIP-bound); complete headers: FWD_HIT (the flow is
 * installed by running the full frame first; payload truncation is not
 * checked, the node's stack drops it).
 */
static void t_truncations(struct t *t, int p, const struct pktspec *s, const char *what)
{
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, s), n, l2 = l2_len(s), l3 = l2 + l3_hdr_len(s),
	       l4 = l3 + l4_hdr_len(s->proto);
	size_t refused = 14;		/* lengths below this are refused */
	int bad = 0, refused_ok = 1;

	if (p == P_TC && s->vlan == 0)
		refused = l3 - (size_t)s->opt_words * 4;

	run(t, p, in, len, &r);		/* install the flow */
	for (n = 0; n <= len; n++) {
		uint8_t cut[PKT_MAX];
		__u32 verdict;
		int act;

		memcpy(cut, in, n);
		run(t, p, cut, n, &r);
		if (n < refused) {
			__u64 sum = 0;
			int v;

			for (v = 0; v < LB_V_MAX; v++)
				sum += r.delta[v];
			if (r.err != -EINVAL || sum != 0)
				refused_ok = 0;
			continue;
		}
		if (n < l2) {
			verdict = LB_V_PASS_TRUNC_L2;
			act = A_PASS;
		} else if (n < l3) {
			verdict = LB_V_DROP_TRUNC_L3;
			act = A_DROP;
		} else if (n < l4) {
			verdict = LB_V_DROP_TRUNC_L4;
			act = A_DROP;
		} else {
			verdict = LB_V_FWD_HIT;
			act = A_REDIRECT;
		}
		if (r.err || r.rc != act_rc[p][act] || !verdict_is(&r, verdict, 0)) {
			if (bad++ < 5)
				printf("#   %s len %zu: want rc %u %s, got err %d rc %u %s\n",
				       what, n, act_rc[p][act], verdict_names[verdict], r.err,
				       r.rc, verdict_seen(&r));
		}
	}
	check(t, refused_ok, "%s: %s cut to 0..%zu bytes: refused by the kernel, no counter",
	      prog_names[p], what, refused - 1);
	check(t, bad == 0, "%s: %s cut to %zu..%zu bytes: one expected verdict each",
	      prog_names[p], what, refused, len);
}

/*
 * Client affinity: the connections of one client to the port of an
 * affinity service land on one node whatever their source ports, and
 * through either VIP when the services share their table (a client that
 * resolves a round-robin name once per connection, as iperf3 does).  The
 * 5-tuple hash of the same connections spreads them (the control case).
 */
static void t_affinity(struct t *t, int p, uint16_t sport)
{
	__u32 want = LB_NODE_NONE, seen5 = 0;
	int same = 0, fwd = 0;

	for (int j = 0; j < 8; j++) {
		struct pktspec s = tcp4((uint16_t)(sport + j), TH_SYN);
		struct lb_flow_key k;
		struct lb_flow_val fv;
		struct result r;
		uint8_t in[PKT_MAX];
		size_t len;

		s.dst = j & 1 ? VIP4B : VIP4;
		s.dport = 5201;
		k = spec_key(&s);
		len = build(in, &s);
		if (want == LB_NODE_NONE)
			want = t->maglev[lb_maglev_index(5, 0, MSIZE,
							 lb_svc_hash(&k, LB_SVC_F_AFFINITY) % MSIZE)];
		run(t, p, in, len, &r);
		fwd += r.rc == act_rc[p][A_REDIRECT] && verdict_is(&r, LB_V_FWD_NEW, 0);
		same += get_flow(t, &k, &fv) && fv.node_id == want && rewritten_for(&r, in, len, want);
		seen5 |= 1u << (t->maglev[lb_maglev_index(5, 0, MSIZE, lb_flow_hash(&k) % MSIZE)] & 31);
	}
	check(t, fwd == 8, "%s: 8 SYNs from one client to VIP4 and VIP4B tcp/5201 (affinity) forwarded "
	      "as new flows (%d)", prog_names[p], fwd);
	check(t, same == 8, "%s: client affinity: all 8 on node %u, through both VIPs (%d)",
	      prog_names[p], want, same);
	check(t, __builtin_popcount(seen5) > 1,
	      "%s: the 5-tuple hash of the same connections would spread them over nodes", prog_names[p]);
}

/* ---- setup ---- */

static int setup(struct t *t, const char *path)
{
	struct bpf_map *m;
	int fd, p;
	__u32 i, maglev_entries = NSVC_TABLES * 2 * MSIZE;

	t->obj = bpf_object__open_file(path, NULL);
	if (!t->obj) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(m, t->obj)
		bpf_map__set_pin_path(m, NULL);		/* never pin from a test */
	bpf_map__set_max_entries(bpf_object__find_map_by_name(t->obj, LB_PIN_FLOWS), FLOWS_MAX);
	bpf_map__set_max_entries(bpf_object__find_map_by_name(t->obj, LB_PIN_MAGLEV),
				 maglev_entries);
	if (bpf_object__load(t->obj)) {
		fprintf(stderr, "load %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (p = 0; p < NPROG; p++)
		t->prog_fd[p] = bpf_program__fd(bpf_object__find_program_by_name(t->obj,
										 prog_names[p]));
	t->flows = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_FLOWS);
	t->svcs = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_SVCS);
	t->vips = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_VIP_ADDRS);
	t->nodes = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_NODES);
	t->node_stats = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_NODE_STATS);
	t->svc_stats = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_SVC_STATS);
	t->verdicts = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_VERDICTS);
	t->pins = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_FLOW_PINS);
	if (bpf_object__find_map_fd_by_name(t->obj, LB_PIN_CONFIG) < 0 || t->flows < 0 || t->pins < 0 ||
	    t->svcs < 0 || t->vips < 0 || t->nodes < 0 || t->node_stats < 0 ||
	    t->svc_stats < 0 || t->verdicts < 0 || t->prog_fd[P_TC] < 0 || t->prog_fd[P_XDP] < 0) {
		fprintf(stderr, "object lacks a program or map of the contract\n");
		return -1;
	}

	/* Maglev table, written through the mmap as lbd does. */
	fd = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_MAGLEV);
	t->maglev_bytes = ((size_t)maglev_entries * 4 + 4095) & ~(size_t)4095;
	t->maglev = mmap(NULL, t->maglev_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t->maglev == MAP_FAILED) {
		perror("mmap lb_maglev");
		return -1;
	}
	for (i = 0; i < MSIZE; i++) {
		t->maglev[lb_maglev_index(0, 0, MSIZE, i)] = i % NNODES;
		t->maglev[lb_maglev_index(0, 1, MSIZE, i)] = LB_NODE_NONE;
		t->maglev[lb_maglev_index(1, 0, MSIZE, i)] = LB_NODE_NONE;
		t->maglev[lb_maglev_index(1, 1, MSIZE, i)] = NNODES - 1 - (i / 7) % NNODES;
		t->maglev[lb_maglev_index(2, 0, MSIZE, i)] = (i / 3) % NNODES;
		t->maglev[lb_maglev_index(2, 1, MSIZE, i)] = LB_NODE_NONE;
		t->maglev[lb_maglev_index(3, 0, MSIZE, i)] = i % NNODES;	/* flag wins */
		t->maglev[lb_maglev_index(3, 1, MSIZE, i)] = i % NNODES;
		t->maglev[lb_maglev_index(4, 0, MSIZE, i)] = LB_NODE_NONE;
		t->maglev[lb_maglev_index(4, 1, MSIZE, i)] = LB_NODE_NONE;
		for (__u32 sv = 5; sv <= 6; sv++) {	/* the same nodes: the same table */
			t->maglev[lb_maglev_index(sv, 0, MSIZE, i)] = (i * 7) % NNODES;
			t->maglev[lb_maglev_index(sv, 1, MSIZE, i)] = LB_NODE_NONE;
		}
	}

	for (i = 0; i < NNODES; i++)
		set_node(t, i, LB_NODE_F_PRESENT | LB_NODE_F_UP, 1);
	set_node(t, NODE_NOIF, LB_NODE_F_PRESENT | LB_NODE_F_UP, 0);

	add_svc(t, VIP4, 80, IPPROTO_TCP, 0, 0);
	add_svc(t, VIP4, 53, IPPROTO_UDP, 1, LB_SVC_F_ACTIVE_B);
	add_svc(t, VIP6, 443, IPPROTO_TCP, 2, 0);
	add_svc(t, VIP4B, 80, IPPROTO_TCP, 3, LB_SVC_F_NO_NODES);
	add_svc(t, VIP4B, 81, IPPROTO_TCP, 4, 0);
	add_svc(t, VIP4, 5201, IPPROTO_TCP, 5, LB_SVC_F_AFFINITY);
	add_svc(t, VIP4B, 5201, IPPROTO_TCP, 6, LB_SVC_F_AFFINITY);
	return 0;
}

/*
 * Pinned flows (lb_flow_pins): a flow lbd re-pointed survives the LRU
 * table's eviction of its entry (restored on its pinned node, FWD_PINNED),
 * and its pin goes away when the session does: a SYN on the 5-tuple, or
 * its node going down.
 */
static void t_pins(struct t *t, int p, uint16_t sport)
{
	struct pktspec s = tcp4(sport, TH_ACK);
	struct lb_flow_key k = spec_key(&s);
	struct lb_flow_val fv, pin = { .flags = LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED };
	struct result r;
	uint8_t in[PKT_MAX];
	size_t len = build(in, &s);
	__u32 node = expect_node(t, &k, 0, 0), other = (node + 1) % NNODES;
	bool have;

	pin.node_id = other;
	bpf_map_update_elem(t->pins, &k, &pin, BPF_ANY);
	bpf_map_delete_elem(t->flows, &k);	/* "evicted" */
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_PINNED, 0, &r,
	       "ACK of a pinned flow whose entry was evicted");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == other && fv.flags == (LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED) &&
	      rewritten_for(&r, in, len, other),
	      "%s: restored on its pinned node %u (not Maglev's %u), flags kept", prog_names[p],
	      other, node);
	check(t, bpf_map_lookup_elem(t->pins, &k, &pin) == 0 && pin.last_seen_ns != 0,
	      "%s: the pin stays, its idle clock restarted", prog_names[p]);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_HIT, 0, &r, "next ACK: a plain hit");

	bpf_map_delete_elem(t->flows, &k);
	s.tcp_flags = TH_SYN;
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_SYN, 0, &r,
	       "SYN on an evicted pinned flow's 5-tuple (a new session)");
	have = get_flow(t, &k, &fv);
	check(t, have && fv.node_id == node && fv.flags == LB_FLOW_F_SYN &&
	      bpf_map_lookup_elem(t->pins, &k, &pin) != 0,
	      "%s: Maglev's node %u, flags SYN, the stale pin dropped", prog_names[p], node);

	s.tcp_flags = TH_ACK;
	len = build(in, &s);
	pin.node_id = other;
	pin.flags = LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED;
	bpf_map_update_elem(t->pins, &k, &pin, BPF_ANY);
	put_flow(t, &k, other, LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED);
	set_node(t, other, LB_NODE_F_PRESENT, 1);	/* not UP */
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_DOWN, 0, &r,
	       "ACK of a pinned flow whose node is down");
	check(t, get_flow(t, &k, &fv) && fv.node_id == node &&
	      bpf_map_lookup_elem(t->pins, &k, &pin) != 0,
	      "%s: re-hashed to %u, the pin dropped", prog_names[p], node);

	pin.node_id = other;
	bpf_map_update_elem(t->pins, &k, &pin, BPF_ANY);
	bpf_map_delete_elem(t->flows, &k);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_REHASH_DOWN, 0, &r,
	       "ACK of an evicted pinned flow whose node is down");
	check(t, get_flow(t, &k, &fv) && fv.node_id == node && fv.flags == LB_FLOW_F_SYN &&
	      bpf_map_lookup_elem(t->pins, &k, &pin) != 0,
	      "%s: re-hashed to %u (MIGRATED cleared), the pin dropped", prog_names[p], node);
	set_node(t, other, LB_NODE_F_PRESENT | LB_NODE_F_UP, 1);
}

/*
 * The insert budget: with lb_config.insert_rate N, at most N misses per
 * second and CPU of non-SYN TCP or UDP create an entry; the others are
 * forwarded by Maglev without one (FWD_UNTRACKED).  SYNs and hits are not
 * budgeted.  Runs on one CPU (the budget is per CPU).
 */
static void t_budget(struct t *t, int p, uint16_t sport)
{
	int cfd = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_CONFIG);
	struct lb_config c, saved;
	__u32 zero = 0, rate = 3;
	struct result r;
	uint8_t in[PKT_MAX];
	unsigned fwd = 0, inserted = 0, untracked = 0, n = 10;
	cpu_set_t one, old;

	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	bpf_map_lookup_elem(cfd, &zero, &saved);
	c = saved;
	c.insert_rate = rate;
	bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
	for (int proto = 0; proto < 2; proto++) {
		int bfd = bpf_object__find_map_fd_by_name(t->obj, "lb_budget");
		__u64 fresh[2 * t->ncpu];

		memset(fresh, 0, sizeof(fresh));	/* a fresh second on every CPU */
		bpf_map_update_elem(bfd, &zero, fresh, BPF_ANY);
		fwd = inserted = untracked = 0;
		for (unsigned i = 0; i < n; i++) {
			struct pktspec s = proto ? udp4((uint16_t)(sport + 100 + i))
						 : tcp4((uint16_t)(sport + i), TH_ACK);
			struct lb_flow_key k = spec_key(&s);
			struct lb_flow_val fv;
			size_t len = build(in, &s);
			__u32 node = expect_node(t, &k, proto ? 1 : 0, proto ? 1 : 0);
			run(t, p, in, len, &r);
			fwd += r.rc == act_rc[p][A_REDIRECT] && rewritten_for(&r, in, len, node);
			inserted += get_flow(t, &k, &fv);
			untracked += (unsigned)r.delta[LB_V_FWD_UNTRACKED];
		}
		check(t, fwd == n, "%s: %u %s misses over a budget of %u/s: all forwarded to "
		      "Maglev's node (%u)", prog_names[p], n, proto ? "UDP" : "mid-stream TCP", rate, fwd);
		check(t, inserted >= rate && inserted <= 2 * rate && untracked == n - inserted,
		      "%s: %u inserted (budget %u, a second may turn), the other %u FWD_UNTRACKED",
		      prog_names[p], inserted, rate, untracked);
	}
	for (unsigned i = 0; i < 4; i++) {
		struct pktspec s = tcp4((uint16_t)(sport + 200 + i), TH_SYN);
		size_t len = build(in, &s);
		run(t, p, in, len, &r);
		fwd += verdict_is(&r, LB_V_FWD_NEW, 0);
	}
	check(t, fwd == n + 4, "%s: SYNs are not budgeted (4 FWD_NEW)", prog_names[p]);
	bpf_map_update_elem(cfd, &zero, &saved, BPF_ANY);
	sched_setaffinity(0, sizeof(old), &old);
}

/* What lbd does after each lb_svcs write (dp_svcs_changed): svc_gen + 1. */
static void svcs_changed(struct t *t)
{
	int cfd = bpf_object__find_map_fd_by_name(t->obj, LB_PIN_CONFIG);
	struct lb_config c;
	__u32 zero = 0;

	bpf_map_lookup_elem(cfd, &zero, &c);
	c.svc_gen++;
	bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
}

/*
 * The data plane keeps a per-CPU copy of its last service lookup
 * (lb_svc_lookup); a service changed or removed behind it, with svc_gen
 * bumped as lbd does, must be seen by the very next packet on that CPU.
 * Service VIP4B tcp/82 uses svc 0's Maglev table.
 */
static void t_svc_change(struct t *t, int p, uint16_t sport)
{
	struct lb_svc_key k;
	struct lb_svc_val v;
	struct result r;
	uint8_t in[PKT_MAX];
	cpu_set_t one, old;
	struct pktspec s;
	size_t len;

	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	memset(&k, 0, sizeof(k));
	inet_pton(AF_INET, VIP4B, k.addr);
	k.port = htons(82);
	k.proto = IPPROTO_TCP;
	k.family = 4;
	memset(&v, 0, sizeof(v));
	v.maglev_size = MSIZE;
	bpf_map_update_elem(t->svcs, &k, &v, BPF_ANY);
	svcs_changed(t);
	s = tcp4(sport, TH_SYN);
	s.dst = VIP4B;
	s.dport = 82;
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "SYN to a service just added");
	s.sport = (uint16_t)(sport + 1);
	len = build(in, &s);
	expect(t, p, in, len, A_REDIRECT, LB_V_FWD_NEW, 0, &r, "a second SYN to it (its copy)");

	v.flags = LB_SVC_F_NO_NODES;
	bpf_map_update_elem(t->svcs, &k, &v, BPF_EXIST);
	svcs_changed(t);
	s.sport = (uint16_t)(sport + 2);
	len = build(in, &s);
	expect(t, p, in, len, A_DROP, LB_V_DROP_NO_NODE, 0, &r,
	       "SYN right after the service became NO_NODES");

	bpf_map_delete_elem(t->svcs, &k);
	svcs_changed(t);
	s.sport = (uint16_t)(sport + 3);
	len = build(in, &s);
	expect(t, p, in, len, A_PASS, LB_V_PASS_NOT_VIP, 0, &r,
	       "SYN right after the service was removed: not a VIP service");
	sched_setaffinity(0, sizeof(old), &old);
}

/*
 * lb_repoint: lbd's in-place re-point.  The flow keeps its counters, gets
 * the new node and flags; a missing flow reports 0; and in a FULL table no
 * other flow is evicted (bpf_map_update_elem from userspace would evict).
 */
static void t_repoint(struct t *t)
{
	int fd = bpf_program__fd(bpf_object__find_program_by_name(t->obj, "lb_repoint"));
	struct pktspec s = tcp4(60001, TH_ACK);
	struct lb_flow_key k = spec_key(&s), other;
	struct lb_flow_val v;
	struct lb_repoint_args a;
	__u32 before = 0, after = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (!check(t, fd >= 0, "lb_repoint program loaded"))
		return;
	/* fill the table to the brim with other flows */
	other = k;
	for (__u32 i = 0; i < FLOWS_MAX * 2; i++) {
		other.sport = htons((uint16_t)(i & 0xffff));
		other.saddr[0] = htonl(0xc6120000u + (i >> 16));
		put_flow(t, &other, 1, LB_FLOW_F_SYN);
	}
	put_flow(t, &k, 1, LB_FLOW_F_SYN | LB_FLOW_F_SYNCED);
	get_flow(t, &k, &v);
	v.packets = 77;
	v.bytes = 7700;
	bpf_map_update_elem(t->flows, &k, &v, BPF_EXIST);
	for (struct lb_flow_key c, *pk = NULL; bpf_map_get_next_key(t->flows, pk, &c) == 0; pk = &other) {
		other = c;
		before++;
	}
	memset(&a, 0, sizeof(a));
	a.key = k;
	a.node_id = 2;
	a.flags_set = LB_FLOW_F_MIGRATED;
	a.flags_clear = LB_FLOW_F_SYNCED;
	for (int i = 0; i < 100; i++)	/* many re-points of one flow */
		bpf_prog_test_run_opts(fd, &o);
	check(t, o.retval == 1, "lb_repoint: existing flow moved (retval %u)", o.retval);
	check(t, get_flow(t, &k, &v) && v.node_id == 2 && v.packets == 77 && v.bytes == 7700 &&
	      v.flags == (LB_FLOW_F_SYN | LB_FLOW_F_MIGRATED),
	      "lb_repoint: new node and flags, counters kept");
	for (struct lb_flow_key c, *pk = NULL; bpf_map_get_next_key(t->flows, pk, &c) == 0; pk = &other) {
		other = c;
		after++;
	}
	check(t, before == after, "lb_repoint in a full table evicts nothing (%u -> %u entries)",
	      before, after);
	a.key.sport ^= 0xffff;
	a.key.saddr[0] = htonl(0x0a0a0a0a);
	bpf_prog_test_run_opts(fd, &o);
	check(t, o.retval == 0, "lb_repoint: unknown flow reports 0");
}

int main(int argc, char **argv)
{
	struct t t;
	const char *path = argc > 1 ? argv[1] : getenv("TANDEM_BPF_OBJ");
	int p;

	memset(&t, 0, sizeof(t));
	if (!path)
		path = "build/lb.bpf.o";
	t.ncpu = libbpf_num_possible_cpus();
	if (t.ncpu <= 0 || !check(&t, setup(&t, path) == 0, "load %s, fill maps", path)) {
		printf("1..%d\n", t.n);
		return 1;
	}

	for (p = 0; p < NPROG; p++) {
		uint16_t base = (uint16_t)(10000 + 10000 * p);
		struct pktspec s;

		t_new_and_hit(&t, p, base + 1);
		t_rehash(&t, p, base + 100);
		t_pass(&t, p, base + 200);
		t_other_host(&t, p, base + 250);
		t_v6_udp_vlan(&t, p, base + 300);
		t_drops(&t, p, base + 400);
		t_pins(&t, p, base + 600);
		t_budget(&t, p, base + 700);
		t_affinity(&t, p, base + 800);
		t_svc_change(&t, p, base + 900);

		s = tcp4(base + 500, TH_ACK);
		t_truncations(&t, p, &s, "IPv4 TCP");
		s = tcp6(base + 500, TH_ACK);
		t_truncations(&t, p, &s, "IPv6 TCP");
		s = tcp4(base + 501, TH_ACK);
		s.vlan = 1;
		t_truncations(&t, p, &s, "VLAN IPv4 TCP");
		s = udp4(base + 500);
		t_truncations(&t, p, &s, "IPv4 UDP");
	}

	t_repoint(&t);
	printf("1..%d\n", t.n);
	munmap(t.maglev, t.maglev_bytes);
	bpf_object__close(t.obj);
	return t.failed ? 1 : 0;
}
