/*
 * flowdrop.bpf.c - tc programs of a storage node that silence the flows
 * being handed off (libtch, doc/tch.md).  Attached to the storage
 * interface twice: flowdrop_tc on ingress (client -> VIP packets) and
 * flowdrop_tc_egress on egress (VIP -> client packets, looked up with the
 * 5-tuple reversed, so one map entry covers both directions).
 *
 * Why ingress: a socket in repair mode still ACKs what arrives, and bytes
 * that arrive after the dump would be acknowledged to the client but exist
 * on neither node.  So the old node drops the flow's packets from just
 * before the freeze until a grace period after it closed the socket
 * silently (stragglers still on their way would otherwise hit the
 * service's listener and draw an RST); the new node drops them from before
 * the restore until it resumes (if it died in between, what its socket had
 * acknowledged would be lost).  The client retransmits what was dropped.
 *
 * Why egress: the frozen socket still sends delayed ACKs, retransmissions
 * and probes, stamped with its timestamp clock - which runs ahead of the
 * new socket's (restored from the dump, so behind by the handoff's
 * duration).  The client would take the newer timestamp and then drop the
 * new node's segments as old (PAWS) until its clock caught up; each such
 * loss costs the fresh socket a 1 s retransmission timeout.  Nothing that
 * leaves a frozen socket is useful to the client, so nothing leaves.
 *
 * Why BPF and not nftables: in the first prototype nftables rule updates
 * (netlink round trips, ruleset generation) were most of the ~1 ms handoff;
 * a hash-map update is ~1 us and the very next packet sees it.
 *
 * Parsing: Ethernet (one optional 802.1Q tag), IPv4 (not a non-first
 * fragment) or IPv6 (TCP right after the fixed header), TCP; an unexpired
 * entry drops (TC_ACT_SHOT) and counts.  Anything else passes untouched
 * (TC_ACT_OK).  An entry with FLOWDROP_F_HOLD also copies what it drops on
 * ingress into a ring buffer (hold()), so the daemon can replay it to the
 * session's new socket instead of leaving it to the client's
 * retransmission (doc/tch.md, "Holding instead of dropping").  Entries are only ever removed by userspace (flowdrop_gc):
 * a delete here could race with userspace re-arming the same entry.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flowdrop_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLOWDROP_MAX_FLOWS);
	__type(key, struct lb_flow_key);
	__type(value, struct flowdrop_val);
} tch_flowdrop SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWDROP_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tch_flowdrop_st SEC(".maps");

/* Held packets on their way to userspace (flowdrop_maps.h: FLOWDROP_F_HOLD). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FLOWDROP_HOLD_RING_SIZE);
} tch_flowhold SEC(".maps");

/* A record is assembled here (per CPU) and copied into the ring in one
 * bpf_ringbuf_output: a reservation must have a constant size, and most
 * packets held are far shorter than the longest. */
struct held_buf {
	struct flowdrop_held_hdr h;
	__u8 data[FLOWDROP_HOLD_PKT_MAX];
};

/* One per CPU (flowdrop_open sets max_entries to the number of CPUs): a
 * per-CPU array cannot hold values over 32 KiB.  The ingress program runs
 * in softirq, never nested on one CPU, so a CPU's slot is its own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct held_buf);
} tch_flowhold_buf SEC(".maps");

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&tch_flowdrop_st, &idx);

	if (c)
		*c += 1;
}

/* The packet's flow key, as the client sends it: reverse = the packet goes
 * VIP -> client (egress), so its source is the key's destination. */
static __always_inline int flow_key(struct __sk_buff *skb, struct lb_flow_key *k, int reverse,
				    __u32 *l3off)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	void *l3;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr_ *vh = l3;
		if ((void *)(vh + 1) > end)
			return -1;
		proto = vh->proto;
		l3 = vh + 1;
	}
	*l3off = (__u32)(l3 - data);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
			return -1;
		if (ip->frag_off & bpf_htons(0x1fff))	/* no ports in a later fragment */
			return -1;
		th = (void *)ip + ip->ihl * 4;
		k->saddr[0] = reverse ? ip->daddr : ip->saddr;
		k->daddr[0] = reverse ? ip->saddr : ip->daddr;
		k->family = 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		if (reverse) {
			__builtin_memcpy(k->saddr, &ip6->daddr, 16);
			__builtin_memcpy(k->daddr, &ip6->saddr, 16);
		} else {
			__builtin_memcpy(k->saddr, &ip6->saddr, 16);
			__builtin_memcpy(k->daddr, &ip6->daddr, 16);
		}
		th = (void *)(ip6 + 1);
		k->family = 6;
	} else {
		return -1;
	}
	if ((void *)th + 4 > end)	/* the ports are all we need */
		return -1;
	k->sport = reverse ? th->dest : th->source;
	k->dport = reverse ? th->source : th->dest;
	k->proto = IPPROTO_TCP;
	return 0;
}

/* Copy the packet (from its IP header) into the ring for userspace, if v
 * may still hold its length; 0 held, -1 not (counted as overflow). */
static __always_inline int hold(struct __sk_buff *skb, const struct lb_flow_key *k,
				struct flowdrop_val *v, __u32 l3off)
{
	__u32 cpu = bpf_get_smp_processor_id(), len = skb->len > l3off ? skb->len - l3off : 0;
	struct held_buf *b;

	if (len == 0 || len > FLOWDROP_HOLD_PKT_MAX || v->held + len > v->hold_max)
		return -1;
	b = bpf_map_lookup_elem(&tch_flowhold_buf, &cpu);
	if (!b)
		return -1;
	/* For the verifier: a bound it can see on the register itself (the
	 * compiler drops a plain mask, since the test above implies it). */
	__u64 n = len;
	asm volatile("%[n] &= 0xffff" : [n] "+r"(n));
	if (n == 0 || n > FLOWDROP_HOLD_PKT_MAX)
		return -1;
	if (bpf_skb_load_bytes(skb, l3off, b->data, (__u32)n) < 0)
		return -1;
	b->h.key = *k;
	b->h.len = (__u32)n;
	b->h.pad = 0;
	if (bpf_ringbuf_output(&tch_flowhold, b, sizeof(b->h) + n, 0) < 0)
		return -1;
	__sync_fetch_and_add(&v->held, len);
	return 0;
}

static __always_inline int verdict(struct __sk_buff *skb, int reverse)
{
	struct lb_flow_key k = {};
	struct flowdrop_val *v;
	__u32 l3off = 0;

	if (skb->mark == FLOWDROP_REPLAY_MARK)	/* a replay of what we held (lo) */
		return TC_ACT_OK;
	if (flow_key(skb, &k, reverse, &l3off) < 0)
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&tch_flowdrop, &k);
	if (!v)
		return TC_ACT_OK;
	if (bpf_ktime_get_ns() >= v->until_ns) {
		count(FLOWDROP_C_EXPIRED);
		return TC_ACT_OK;
	}
	if (reverse && (v->flags & FLOWDROP_F_IN_ONLY))
		return TC_ACT_OK;
	__sync_fetch_and_add(&v->packets, 1);
	count(reverse ? FLOWDROP_C_DROPPED_OUT : FLOWDROP_C_DROPPED);
	if (!reverse && (v->flags & FLOWDROP_F_HOLD)) {
		if (hold(skb, &k, v, l3off) == 0) {
			count(FLOWDROP_C_HELD);
		} else {
			__sync_fetch_and_add(&v->overflow, 1);
			count(FLOWDROP_C_HOLD_OVERFLOW);
		}
	}
	return TC_ACT_SHOT;
}

SEC("tc")
int flowdrop_tc(struct __sk_buff *skb)
{
	return verdict(skb, 0);
}

SEC("tc")
int flowdrop_tc_egress(struct __sk_buff *skb)
{
	return verdict(skb, 1);
}

char _license[] SEC("license") = "GPL";
