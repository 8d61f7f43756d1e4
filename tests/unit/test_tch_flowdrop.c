/*
 * test_tch_flowdrop.c - packet fixtures through the storage node's flow-drop
 * programs (storage/tch/flowdrop.bpf.c, ingress and egress) with
 * bpf_prog_test_run: input frame -> expected verdict, entry packet count and
 * counters; plus the userspace API (add/get/del/gc) on its map.  Nothing is
 * attached.
 *
 * Usage: test_tch_flowdrop [path/to/flowdrop.bpf.o] (or env
 * TANDEM_FLOWDROP_OBJ; default build/flowdrop.bpf.o).  Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "storage/tch/flowdrop.h"

#define CLIENT4 "10.77.1.10"
#define VIP4    "10.77.1.100"
#define CLIENT6 "fd77:1::10"
#define VIP6    "fd77:1::100"
#define CPORT   40001
#define VPORT   5201

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Ethernet (+ optional VLAN tag) header; returns the L3 offset. */
static size_t eth(struct frame *f, uint16_t proto, int vlan)
{
	memset(f, 0, sizeof(*f));
	memset(f->b, 0x02, 12);
	if (vlan) {
		put16(f->b + 12, ETH_P_8021Q);
		put16(f->b + 14, 7);
		put16(f->b + 16, proto);
		return 18;
	}
	put16(f->b + 12, proto);
	return 14;
}

/* IPv4 + TCP (or UDP) header from src:sport to dst:dport. */
static void v4(struct frame *f, const char *src, const char *dst, uint16_t sport, uint16_t dport,
	       int proto, int vlan, int ihl, uint16_t frag)
{
	size_t o = eth(f, ETH_P_IP, vlan);
	uint8_t *ip = f->b + o;

	ip[0] = (uint8_t)(0x40 | ihl);
	put16(ip + 2, (uint16_t)(ihl * 4 + 20));
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	uint8_t *l4 = ip + ihl * 4;
	put16(l4, sport);
	put16(l4 + 2, dport);
	l4[12] = 0x50;
	l4[13] = 0x10;	/* ACK */
	f->len = o + (size_t)ihl * 4 + 20;
}

static void v6(struct frame *f, const char *src, const char *dst, uint16_t sport, uint16_t dport,
	       int nexthdr)
{
	size_t o = eth(f, ETH_P_IPV6, 0);
	uint8_t *ip = f->b + o;

	ip[0] = 0x60;
	put16(ip + 4, 20);
	ip[6] = (uint8_t)nexthdr;
	ip[7] = 64;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	put16(ip + 40, sport);
	put16(ip + 42, dport);
	ip[52] = 0x50;
	f->len = o + 40 + 20;
}

static void key4(struct lb_flow_key *k, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET, src, k->saddr);
	inet_pton(AF_INET, dst, k->daddr);
	k->sport = htons(sport);
	k->dport = htons(dport);
	k->proto = 6;
	k->family = 4;
}

static void key6(struct lb_flow_key *k, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET6, src, k->saddr);
	inet_pton(AF_INET6, dst, k->daddr);
	k->sport = htons(sport);
	k->dport = htons(dport);
	k->proto = 6;
	k->family = 6;
}

static int run(int prog, const struct frame *f)
{
	uint8_t out[256];
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o) < 0) {
		printf("# bpf_prog_test_run (%zu bytes): %s\n", f->len, strerror(errno));
		return -1;
	}
	return (int)o.retval;
}

/* As run, with skb->mark set (struct __sk_buff as the context). */
static int run_mark(int prog, const struct frame *f, uint32_t mark)
{
	uint8_t out[256];
	struct __sk_buff ctx = { .mark = mark };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (bpf_prog_test_run_opts(prog, &o) < 0) {
		printf("# bpf_prog_test_run (%zu bytes, mark): %s\n", f->len, strerror(errno));
		return -1;
	}
	return (int)o.retval;
}

/*
 * Holding (FLOWDROP_F_HOLD): a held packet is dropped and lands in the ring
 * exactly, from its IP header on; past hold_max it is only dropped and
 * counted; FLOWDROP_F_IN_ONLY lets replies out; a replay's mark passes;
 * flowdrop_add ends the holding.
 */
static void hold_fixtures(struct flowdrop *d, int prog, int prog_out, const struct lb_flow_key *k4)
{
	uint64_t far = flowdrop_now_ns() + 60000000000ull, held, overflow, evicted;
	struct flowdrop_pkt *list;
	struct flowdrop_val v;
	struct frame f;

	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 1, 5, 0);	/* with a VLAN tag: IP at 18 */
	CHECK(flowdrop_hold(d, k4, far, 60) == 0, "hold: entry armed, 60 bytes");
	CHECK(run(prog, &f) == TC_ACT_SHOT, "hold: the packet is dropped");
	CHECK(flowdrop_take(d, k4, &list) == 1 && list->len == 40 && !memcmp(list->data, f.b + 18, 40),
	      "hold: ... and held, exactly, from its IP header on");
	flowdrop_pkts_free(list);
	CHECK(run(prog, &f) == TC_ACT_SHOT && flowdrop_take(d, k4, &list) == 0 && !list,
	      "hold: past hold_max (40 + 40 > 60): dropped, not held");
	CHECK(flowdrop_get(d, k4, &v) == 0 && v.held == 40 && v.overflow == 1 && v.flags == FLOWDROP_F_HOLD,
	      "hold: the entry counts 40 bytes held, 1 overflow");
	CHECK(flowdrop_hold_counters(d, &held, &overflow, &evicted) == 0 && held == 1 && overflow == 1 &&
	      evicted == 0, "hold: counters held 1, overflow 1, evicted 0");
	CHECK(flowdrop_hold(d, k4, far, 1000) == 0 && flowdrop_hold_ingress(d, k4) == 0,
	      "hold: re-armed (held back to 0), ingress only");
	v4(&f, VIP4, CLIENT4, VPORT, CPORT, 6, 0, 5, 0);
	CHECK(run(prog_out, &f) == TC_ACT_OK, "hold, ingress only: the reply passes egress");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_SHOT && flowdrop_take(d, k4, &list) == 1,
	      "hold, ingress only: the client's packet is still held");
	flowdrop_pkts_free(list);
	CHECK(run_mark(prog, &f, FLOWDROP_REPLAY_MARK) == TC_ACT_OK && flowdrop_take(d, k4, &list) == 0,
	      "hold: a replay (its mark) passes, not held again");
	CHECK(flowdrop_add(d, k4, far) == 0 && run(prog, &f) == TC_ACT_SHOT &&
	      flowdrop_take(d, k4, &list) == 0 && flowdrop_get(d, k4, &v) == 0 && v.flags == 0,
	      "flowdrop_add ends the holding: dropped, not held");
	v4(&f, VIP4, CLIENT4, VPORT, CPORT, 6, 0, 5, 0);
	CHECK(run(prog_out, &f) == TC_ACT_SHOT, "... and replies are dropped again");
	flowdrop_del(d, k4);
}

/* The hold ring's size follows the config's total, never above it. */
static void ring_sizes(void)
{
	CHECK(flowdrop_ring_size(0) == FLOWDROP_HOLD_TOTAL_DEFAULT, "default total: ring %u",
	      flowdrop_ring_size(0));
	CHECK(flowdrop_ring_size(8u << 20) == (8u << 20), "8 MiB -> 8 MiB");
	CHECK(flowdrop_ring_size((6u << 20) + 1) == (4u << 20), "6 MiB + 1 -> 4 MiB (not over it)");
	CHECK(flowdrop_ring_size(64u << 10) == FLOWDROP_HOLD_RING_MIN, "64 KiB -> the minimum");
	CHECK(flowdrop_ring_size(1000) == FLOWDROP_HOLD_RING_MIN, "below the minimum -> the minimum");
	CHECK(flowdrop_ring_size((size_t)1 << 40) == FLOWDROP_HOLD_RING_MAX, "1 TiB -> the maximum");
}

int main(int argc, char **argv)
{
	const char *obj = argc > 1 ? argv[1] : getenv("TANDEM_FLOWDROP_OBJ");
	struct bpf_object *o;
	struct flowdrop d;
	struct lb_flow_key k4, k6, other;
	struct flowdrop_val v;
	struct frame f;
	uint64_t dropped, dropped_out, expired, far;

	ring_sizes();
	if (!obj)
		obj = "build/flowdrop.bpf.o";
	if (geteuid() != 0) {
		CHECK(0, "running as root (BPF)");
		return check_done();
	}
	o = bpf_object__open_file(obj, NULL);
	if (o)	/* as flowdrop_open does */
		flowdrop_size_maps(o, libbpf_num_possible_cpus(), 0);
	if (!o || bpf_object__load(o)) {
		CHECK(0, "load %s", obj);
		return check_done();
	}
	CHECK(1, "%s loads (the verifier accepts it)", obj);
	int prog = bpf_program__fd(bpf_object__find_program_by_name(o, FLOWDROP_PROG));
	int prog_out = bpf_program__fd(bpf_object__find_program_by_name(o, FLOWDROP_PROG_OUT));
	/* The userspace API over the loaded object's maps (not attached). */
	memset(&d, 0, sizeof(d));
	d.obj = NULL;
	d.ncpus = libbpf_num_possible_cpus();
	CHECK(prog >= 0 && prog_out >= 0 && flowdrop_bind(&d, o) == 0, "programs and maps found");

	far = flowdrop_now_ns() + 60000000000ull;
	key4(&k4, CLIENT4, VIP4, CPORT, VPORT);
	key6(&k6, CLIENT6, VIP6, CPORT, VPORT);
	CHECK(flowdrop_add(&d, &k4, far) == 0 && flowdrop_add(&d, &k6, far) == 0, "add IPv4 and IPv6 entries");

	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_SHOT, "IPv4 client -> VIP packet of the flow: dropped");
	CHECK(flowdrop_get(&d, &k4, &v) == 0 && v.packets == 1 && v.until_ns == far, "entry counted 1 packet");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 1, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_SHOT, "same with an 802.1Q tag: dropped");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 7, 0);
	CHECK(run(prog, &f) == TC_ACT_SHOT, "same with IPv4 options (ihl 7): dropped");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0x2000);
	CHECK(run(prog, &f) == TC_ACT_SHOT, "first fragment (MF set, offset 0): dropped");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0x0010);
	CHECK(run(prog, &f) == TC_ACT_OK, "later fragment (no ports): passed");
	v4(&f, VIP4, CLIENT4, VPORT, CPORT, 6, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_OK, "the reverse direction: passed");
	v4(&f, CLIENT4, VIP4, CPORT + 1, VPORT, 6, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_OK, "another client port: passed");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 17, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_OK, "UDP with the same ports: passed");
	v6(&f, CLIENT6, VIP6, CPORT, VPORT, 6);
	CHECK(run(prog, &f) == TC_ACT_SHOT, "IPv6 client -> VIP packet of the flow: dropped");
	v6(&f, CLIENT6, VIP6, CPORT, VPORT, 0);
	CHECK(run(prog, &f) == TC_ACT_OK, "IPv6 with a hop-by-hop header: passed (not parsed)");

	/* Egress: the replies of the flow (VIP -> client), same entry. */
	v4(&f, VIP4, CLIENT4, VPORT, CPORT, 6, 0, 5, 0);
	CHECK(run(prog_out, &f) == TC_ACT_SHOT, "egress: IPv4 VIP -> client reply of the flow: dropped");
	v6(&f, VIP6, CLIENT6, VPORT, CPORT, 6);
	CHECK(run(prog_out, &f) == TC_ACT_SHOT, "egress: IPv6 reply of the flow: dropped");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	CHECK(run(prog_out, &f) == TC_ACT_OK, "egress: a client -> VIP packet going out: passed");
	v4(&f, VIP4, CLIENT4, VPORT, CPORT + 1, 6, 0, 5, 0);
	CHECK(run(prog_out, &f) == TC_ACT_OK, "egress: reply to another client port: passed");
	CHECK(flowdrop_get(&d, &k4, &v) == 0 && v.packets == 5, "the entry counts both directions (5)");

	/* Malformed frames pass untouched. */
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	f.len = 14 + 20 + 3;
	CHECK(run(prog, &f) == TC_ACT_OK, "TCP ports cut short: passed");
	/* (An IPv4 frame shorter than an IP header cannot be fed in: the
	 * kernel's test run refuses it with EINVAL.) */
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	f.b[14] = 0x43;	/* ihl 3 */
	CHECK(run(prog, &f) == TC_ACT_OK, "IPv4 ihl < 5: passed");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 1, 5, 0);
	f.len = 16;
	CHECK(run(prog, &f) == TC_ACT_OK, "VLAN tag cut short: passed");
	eth(&f, ETH_P_ARP, 0);
	f.len = 42;
	CHECK(run(prog, &f) == TC_ACT_OK, "ARP: passed");

	/* Expiry. */
	CHECK(flowdrop_add(&d, &k4, flowdrop_now_ns() - 1) == 0 &&
	      flowdrop_get(&d, &k4, &v) == 0 && v.packets == 5, "re-arming keeps the packet count (5)");
	v4(&f, CLIENT4, VIP4, CPORT, VPORT, 6, 0, 5, 0);
	CHECK(run(prog, &f) == TC_ACT_OK, "expired entry: passed");
	CHECK(flowdrop_counters(&d, &dropped, &dropped_out, &expired) == 0 && dropped == 5 &&
	      dropped_out == 2 && expired == 1, "counters: %llu dropped in, %llu out, %llu expired",
	      (unsigned long long)dropped, (unsigned long long)dropped_out, (unsigned long long)expired);

	/* gc removes exactly the expired entries. */
	key4(&other, CLIENT4, VIP4, CPORT + 2, VPORT);
	flowdrop_add(&d, &other, flowdrop_now_ns() - 1);
	for (int i = 0; i < 600; i++) {	/* more than one gc batch */
		struct lb_flow_key x;
		key4(&x, CLIENT4, VIP4, (uint16_t)(1000 + i), VPORT);
		flowdrop_add(&d, &x, i % 2 ? far : 1);
	}
	int removed = flowdrop_gc(&d, flowdrop_now_ns());
	CHECK(removed == 302, "gc removed the 302 expired entries (%d)", removed);
	CHECK(flowdrop_get(&d, &k4, &v) < 0 && errno == ENOENT && flowdrop_get(&d, &k6, &v) == 0,
	      "gc: expired IPv4 entry gone, live IPv6 entry kept");
	CHECK(flowdrop_del(&d, &k6) == 0 && flowdrop_del(&d, &k6) == 0, "del, and del of a missing entry, succeed");
	v6(&f, CLIENT6, VIP6, CPORT, VPORT, 6);
	CHECK(run(prog, &f) == TC_ACT_OK, "deleted entry: passed");

	hold_fixtures(&d, prog, prog_out, &k4);
	flowdrop_unbind(&d);
	bpf_object__close(o);
	return check_done();
}
