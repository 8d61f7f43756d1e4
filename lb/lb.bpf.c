// SPDX-License-Identifier: GPL-2.0
/*
 * lb.bpf.c - Tandem's data plane: client -> VIP packets are steered to a
 * storage node by an L2 rewrite (direct server return; the node owns the
 * VIP on lo).  Replies never come through here.
 *
 * Two entry points share one core (lb_process):
 *   lb_tc   cls_bpf direct-action at ingress of the client-facing interface
 *           (the lab default: on veth, tc is as fast as kernel forwarding);
 *   lb_xdp  the same logic for physical NICs.
 *
 * Maps and structs are the contract in lb_maps.h; the flow hash is shared
 * with userspace through lb_hash.h so lbd and tests can predict placement.
 *
 * Verdicts (lb_verdicts, per-CPU).  Every packet increments exactly one
 * primary verdict; LB_V_IP_OPTIONS and LB_V_EVENTS_LOST are extra
 * informational counters.
 *
 *   PASS_OTHER_HOST  unicast frame whose destination MAC is not our client
 *                    interface's (lb_config.mac, when set): not ours, pass.
 *   PASS_NOT_IP      not IPv4/IPv6 (ARP, LLDP, a second VLAN tag...): pass.
 *   PASS_TRUNC_L2    frame shorter than Ethernet (+ VLAN tag): passed,
 *                    since without an IP header we cannot tell whether it
 *                    is ours, and the kernel drops runts anyway.
 *   DROP_TRUNC_L3    IPv4 header truncated, version != 4, ihl < 5 or
 *                    tot_len < ihl*4; IPv6 header truncated or version != 6.
 *                    Dropped whatever the destination: the kernel would
 *                    drop it too.
 *   PASS_NOT_VIP     valid IP that is not for a VIP service, including
 *                    TCP/UDP to a VIP address on an unconfigured port, and
 *                    fragments / truncated L4 / IPv6 extension headers whose
 *                    destination is not a VIP address.
 *   PASS_ICMP        IPv4 protocol other than TCP/UDP, or IPv6 ICMPv6, to a
 *                    VIP address: the switch's own stack answers (it holds
 *                    the VIP through VRRP), fragments included.
 *   DROP_FRAGMENT    IPv4 TCP/UDP fragment (MF or offset) to a VIP address:
 *                    non-first fragments carry no ports, so no fragment could
 *                    be steered consistently; clients use PMTU discovery.
 *   DROP_EXTHDR      IPv6 to a VIP address whose next header is not
 *                    TCP/UDP/ICMPv6 (extension headers, incl. fragments):
 *                    we do not walk extension header chains.
 *   DROP_TRUNC_L4    TCP/UDP to a VIP address whose L4 header is cut short
 *                    (by the frame or by the IP length fields).
 *   DROP_NO_NODE     service flagged LB_SVC_F_NO_NODES, or its Maglev slot
 *                    holds LB_NODE_NONE (or the table is missing/empty).
 *   DROP_REDIRECT    chosen node not PRESENT or without an egress ifindex.
 *   FWD_HIT / FWD_NEW / FWD_MIDSTREAM / FWD_REHASH_SYN / FWD_REHASH_DOWN /
 *   FWD_PINNED / FWD_UNTRACKED
 *                    forwarded; see lb_process() for when each applies.
 *
 * "VIP address" means present in lb_vip_addrs (see lb_maps.h); "VIP service"
 * means present in lb_svcs.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_maps.h"
#include "lb_hash.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- maps: lb_bpf_maps.h ---- */
#include "lb_bpf_maps.h"

/* ---- packet layout bits not in the uapi headers ---- */

struct lb_vlan_hdr {		/* 802.1Q / 802.1AD tag after the MAC addresses */
	__be16 tci;
	__be16 encap_proto;
};

#define LB_IP_MF      0x2000	/* IPv4 frag_off, host order */
#define LB_IP_OFFSET  0x1fff
#define LB_TCP_SYN    0x02	/* TCP flags byte (offset 13) */
#define LB_TCP_ACK    0x10

/* What the hook should do with the packet. */
enum lb_act {
	LB_ACT_PASS,
	LB_ACT_DROP,
	LB_ACT_REDIRECT,
};

/* Parsers return a verdict, or LB_CONTINUE when the packet is a complete
 * TCP/UDP 5-tuple worth a service lookup. */
#define LB_CONTINUE LB_V_MAX

/*
 * Headers the tc hook wants in the linear area: VLAN-tagged Ethernet (18) +
 * IPv4 with maximum options (60) + TCP (20).  Covers IPv6 (18 + 40 + 20).
 */
#define LB_PULL_LEN 98

/* ---- small helpers ---- */

static __always_inline void lb_count(__u32 verdict)
{
	__u64 *c = bpf_map_lookup_elem(&lb_verdicts, &verdict);

	if (c)
		*c += 1;	/* per-CPU slot: no atomics needed */
}

/* Tell tandem-syncd about a new or re-hashed flow.  A full ring is counted;
 * syncd answers a moving EVENTS_LOST counter with a full resync, so no
 * change is lost silently. */
static __always_inline void lb_report(const struct lb_flow_key *key, __u32 node, __u32 flags)
{
	struct lb_event *ev = bpf_ringbuf_reserve(&lb_events, sizeof(*ev), 0);

	if (!ev) {
		lb_count(LB_V_EVENTS_LOST);
		return;
	}
	__builtin_memcpy(&ev->key, key, sizeof(ev->key));
	ev->type = LB_EV_FLOW_ADD;
	ev->node_id = node;
	ev->flags = flags;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* Counts a final non-forward verdict and says what to do with the packet. */
static __always_inline int lb_finish(__u32 verdict)
{
	lb_count(verdict);
	switch (verdict) {
	case LB_V_PASS_NOT_IP:
	case LB_V_PASS_NOT_VIP:
	case LB_V_PASS_ICMP:
	case LB_V_PASS_OTHER_HOST:
	case LB_V_PASS_TRUNC_L2:
		return LB_ACT_PASS;
	default:
		return LB_ACT_DROP;
	}
}

/* Is the key's destination a VIP address (any port, any protocol)? */
static __always_inline int lb_is_vip_addr(const struct lb_flow_key *key)
{
	struct lb_vip_key vk;

	__builtin_memset(&vk, 0, sizeof(vk));
	__builtin_memcpy(vk.addr, key->daddr, sizeof(vk.addr));
	vk.family = key->family;
	return bpf_map_lookup_elem(&lb_vip_addrs, &vk) != NULL;
}

/* The verdict for a packet to the key's destination that we cannot steer:
 * `vip_verdict` if the destination is a VIP address, else PASS_NOT_VIP. */
static __always_inline __u32 lb_if_vip(const struct lb_flow_key *key, __u32 vip_verdict)
{
	return lb_is_vip_addr(key) ? vip_verdict : LB_V_PASS_NOT_VIP;
}

/*
 * Reads ports (and TCP flags) of a TCP/UDP header at l4 into key.
 * l4_room: bytes the IP length field leaves for L4 (0xffffffff: unknown).
 * Returns LB_CONTINUE, or the verdict for a truncated header.
 */
static __always_inline __u32 lb_parse_l4(void *l4, void *data_end, __u32 l4_room,
					 struct lb_flow_key *key, __u8 *tcp_flags)
{
	__u32 hlen = key->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);

	*tcp_flags = 0;
	if (l4 + hlen > data_end || l4_room < hlen)
		return lb_if_vip(key, LB_V_DROP_TRUNC_L4);
	if (key->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)	/* re-check for the verifier */
			return lb_if_vip(key, LB_V_DROP_TRUNC_L4);
		key->sport = th->source;
		key->dport = th->dest;
		*tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return lb_if_vip(key, LB_V_DROP_TRUNC_L4);
		key->sport = uh->source;
		key->dport = uh->dest;
	}
	return LB_CONTINUE;
}

/*
 * IPv4 at nh.  l3_len: bytes from nh to the end of the packet (including any
 * non-linear part).  gso_size: tc only, non-zero for a GRO aggregate, which
 * may carry tot_len 0 when it exceeds 64K (BIG TCP).
 */
static __always_inline __u32 lb_parse_ipv4(void *nh, void *data_end, __u32 l3_len,
					   __u32 gso_size, struct lb_flow_key *key,
					   __u8 *tcp_flags)
{
	struct iphdr *iph = nh;
	__u32 ihl, hlen, tot_len;
	__u8 vihl;

	if ((void *)(iph + 1) > data_end)
		return LB_V_DROP_TRUNC_L3;
	vihl = *(__u8 *)iph;	/* version and ihl by hand: no bitfields */
	ihl = vihl & 0x0f;
	if ((vihl >> 4) != 4 || ihl < 5)
		return LB_V_DROP_TRUNC_L3;
	hlen = ihl * 4;
	if (nh + hlen > data_end)
		return LB_V_DROP_TRUNC_L3;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < hlen) {
		if (tot_len != 0 || gso_size == 0)
			return LB_V_DROP_TRUNC_L3;
		tot_len = l3_len;	/* BIG TCP: the skb length is the truth */
	}
	if (ihl > 5)
		lb_count(LB_V_IP_OPTIONS);	/* informational; parsed normally */

	key->family = 4;
	key->proto = iph->protocol;
	key->saddr[0] = iph->saddr;
	key->daddr[0] = iph->daddr;

	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP)
		return lb_if_vip(key, LB_V_PASS_ICMP);
	if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET))
		return lb_if_vip(key, LB_V_DROP_FRAGMENT);
	return lb_parse_l4(nh + hlen, data_end, tot_len - hlen, key, tcp_flags);
}

/* IPv6 at nh.  Only a TCP/UDP header directly after the fixed header is
 * steered; see the verdict list at the top for the rest. */
static __always_inline __u32 lb_parse_ipv6(void *nh, void *data_end,
					   struct lb_flow_key *key, __u8 *tcp_flags)
{
	struct ipv6hdr *ip6 = nh;
	__u32 room;

	if ((void *)(ip6 + 1) > data_end)
		return LB_V_DROP_TRUNC_L3;
	if ((*(__u8 *)ip6 >> 4) != 6)
		return LB_V_DROP_TRUNC_L3;

	key->family = 6;
	key->proto = ip6->nexthdr;
	__builtin_memcpy(key->saddr, &ip6->saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, &ip6->daddr, sizeof(key->daddr));

	if (key->proto == IPPROTO_ICMPV6)
		return lb_if_vip(key, LB_V_PASS_ICMP);
	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP)
		return lb_if_vip(key, LB_V_DROP_EXTHDR);
	/* payload_len 0 is a jumbo / BIG TCP aggregate: length unknown here */
	room = bpf_ntohs(ip6->payload_len);
	if (room == 0)
		room = 0xffffffffu;
	return lb_parse_l4(ip6 + 1, data_end, room, key, tcp_flags);
}

/* Maglev: the node for key in svc's live half, or LB_NODE_NONE. */
static __always_inline __u32 lb_maglev_pick(const struct lb_svc_val *svc,
					    const struct lb_flow_key *key)
{
	__u32 size = svc->maglev_size, half, idx, elem, h;
	struct lb_maglev_pair *pair;

	if ((svc->flags & LB_SVC_F_NO_NODES) || size == 0)
		return LB_NODE_NONE;
	half = (svc->flags & LB_SVC_F_ACTIVE_B) ? 1 : 0;
	h = lb_svc_hash(key, svc->flags);	/* client affinity or the 5-tuple */
	idx = lb_maglev_index(svc->svc_id, half, size, h % size);
	elem = idx / 2;					/* see lb_maglev above */
	pair = bpf_map_lookup_elem(&lb_maglev, &elem);	/* bounds-checked */
	return pair ? pair->node[idx & 1] : LB_NODE_NONE;
}

/* Adds one forwarded packet to a per-CPU lb_counters slot. */
static __always_inline void lb_stat(void *map, __u32 idx, __u32 bytes, int new_flow)
{
	struct lb_counters *c = bpf_map_lookup_elem(map, &idx);

	if (!c)
		return;
	c->packets += 1;
	c->bytes += bytes;
	if (new_flow)
		c->new_flows += 1;
}

/*
 * Frames not for us: a bridge floods unknown unicast to every port, and the
 * backup switch of a pair would otherwise forward a second copy of the
 * master's traffic to the nodes.  A unicast destination other than
 * lb_config.mac (when set) is someone else's; multicast/broadcast is not.
 */
static __always_inline int lb_other_host(const struct ethhdr *eth)
{
	__u32 zero = 0;
	struct lb_config *cfg;

	if (eth->h_dest[0] & 1)
		return 0;
	cfg = bpf_map_lookup_elem(&lb_config, &zero);
	return cfg && (cfg->mac[0] | cfg->mac[1] | cfg->mac[2] | cfg->mac[3] | cfg->mac[4] |
		       cfg->mac[5]) &&
	       ((eth->h_dest[0] ^ cfg->mac[0]) | (eth->h_dest[1] ^ cfg->mac[1]) |
		(eth->h_dest[2] ^ cfg->mac[2]) | (eth->h_dest[3] ^ cfg->mac[3]) |
		(eth->h_dest[4] ^ cfg->mac[4]) | (eth->h_dest[5] ^ cfg->mac[5]));
}

/*
 * The optional 802.1Q / 802.1AD tag after eth (whose header the caller has
 * bounds-checked): sets *proto to the EtherType of what follows (a second
 * tag stays a tag, "not IP") and *l2_len to the L2 header length.  Returns
 * 0, or -1 when the tag is cut short.  lb_process and lb_headers_len read
 * L2 the same way through this.
 */
static __always_inline int lb_l2_proto(struct ethhdr *eth, void *data_end, __u16 *proto,
				       __u32 *l2_len)
{
	*proto = eth->h_proto;
	*l2_len = sizeof(*eth);
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD)) {
		struct lb_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return -1;
		*proto = vh->encap_proto;
		*l2_len += sizeof(*vh);
	}
	return 0;
}

/*
 * L2 to L4 of the frame at data: fills *key (zeroed here) and *tcp_flags,
 * and *l3_len, the bytes from the IP header to the end of the frame
 * (frame_len and gso_size as for lb_process).  Returns LB_CONTINUE for a
 * TCP/UDP 5-tuple, else the frame's verdict.
 */
static __always_inline __u32 lb_parse(void *data, void *data_end, __u32 frame_len,
				      __u32 gso_size, struct lb_flow_key *key, __u8 *tcp_flags,
				      __u32 *l3_len)
{
	struct ethhdr *eth = data;
	__u32 l2_len;
	__u16 h_proto;

	if ((void *)(eth + 1) > data_end)
		return LB_V_PASS_TRUNC_L2;
	if (lb_other_host(eth))
		return LB_V_PASS_OTHER_HOST;
	if (lb_l2_proto(eth, data_end, &h_proto, &l2_len) < 0)
		return LB_V_PASS_TRUNC_L2;
	*l3_len = frame_len - l2_len;	/* frame_len >= linear length >= l2_len */

	__builtin_memset(key, 0, sizeof(*key));
	if (h_proto == bpf_htons(ETH_P_IP))
		return lb_parse_ipv4(data + l2_len, data_end, *l3_len, gso_size, key, tcp_flags);
	if (h_proto == bpf_htons(ETH_P_IPV6))
		return lb_parse_ipv6(data + l2_len, data_end, key, tcp_flags);
	return LB_V_PASS_NOT_IP;
}

#define lb_barrier() asm volatile("" ::: "memory")

/*
 * Is slot c a copy of the lookup of skey made under generation gen?  Then
 * *out and *found are its answer (1), else 0.  A run of this program that
 * interrupts another on the same CPU (a packet's softirq during a
 * bpf_prog_test_run) may rewrite the slot meanwhile: the answer counts only
 * if seq was even and is unchanged after the copy.
 */
static __always_inline int lb_svc_cached(struct lb_svc_cache *c, const struct lb_svc_key *skey,
					 __u32 gen, struct lb_svc_val *out, __u32 *found)
{
	__u32 seq = *(volatile __u32 *)&c->seq;

	lb_barrier();
	if ((seq & 1) || c->gen != gen || c->key.addr[0] != skey->addr[0] ||
	    c->key.addr[1] != skey->addr[1] || c->key.addr[2] != skey->addr[2] ||
	    c->key.addr[3] != skey->addr[3] || c->key.port != skey->port ||
	    c->key.proto != skey->proto || c->key.family != skey->family)
		return 0;
	*out = c->val;
	*found = c->found;
	lb_barrier();
	return *(volatile __u32 *)&c->seq == seq;
}

/* Stores the answer for skey under gen in slot c, unless the slot is being
 * written by the run this one interrupted (odd seq: that run finishes it). */
static __always_inline void lb_svc_remember(struct lb_svc_cache *c, const struct lb_svc_key *skey,
					    __u32 gen, const struct lb_svc_val *sv)
{
	__u32 seq = *(volatile __u32 *)&c->seq;

	if (seq & 1)
		return;
	*(volatile __u32 *)&c->seq = seq + 1;
	lb_barrier();
	c->key = *skey;
	c->gen = gen;
	c->found = sv != NULL;
	if (sv)
		c->val = *sv;
	lb_barrier();
	*(volatile __u32 *)&c->seq = seq + 2;
}

/*
 * The VIP service the key's destination and port belong to: copied to *out,
 * returns 1; 0 when there is none.  The answer of this CPU's previous lookup
 * (lb_svc_cache) is reused while the key and lb_config.svc_gen are the same:
 * most packets go to the service the one before went to, and the copy spares
 * the hash lookup (hashing the 20-byte key and comparing it: about 10 ns of
 * a cached hit's 70, more when the bucket is out of the cache; doc/
 * dataplane-cost.md).  lbd bumps svc_gen right after each lb_svcs write, so a
 * stale copy lives for the packets between the two writes, as a lookup
 * racing the write would.
 */
static __always_inline int lb_svc_lookup(const struct lb_flow_key *key, struct lb_svc_val *out)
{
	__u32 zero = 0, gen = LB_SVC_CACHE_VALID, found = 0;
	struct lb_config *cfg = bpf_map_lookup_elem(&lb_config, &zero);
	struct lb_svc_cache *c = bpf_map_lookup_elem(&lb_svc_cache, &zero);
	struct lb_svc_val *sv;
	struct lb_svc_key skey;

	__builtin_memcpy(skey.addr, key->daddr, sizeof(skey.addr));
	skey.port = key->dport;
	skey.proto = key->proto;
	skey.family = key->family;
	if (cfg)
		gen |= cfg->svc_gen;
	if (c && lb_svc_cached(c, &skey, gen, out, &found))
		return found;
	sv = bpf_map_lookup_elem(&lb_svcs, &skey);
	if (c)
		lb_svc_remember(c, &skey, gen, sv);
	if (!sv)
		return 0;
	*out = *sv;
	return 1;
}

/* Node id is configured and UP (an id >= LB_MAX_NODES finds no entry). */
static __always_inline int lb_node_up(__u32 id)
{
	struct lb_node_val *nv = bpf_map_lookup_elem(&lb_nodes, &id);

	return nv && (nv->flags & LB_NODE_F_UP);
}

/*
 * May a packet that proves nothing (a non-SYN TCP segment or UDP: anyone can
 * send one from any address) create a flow entry?  At most
 * lb_config.insert_rate per second on this CPU: a spoofed flood then evicts
 * the LRU table no faster than that, whatever its rate, while the packets
 * themselves are still forwarded (Maglev gives a real session the same node
 * either way).  Per-CPU counts: no atomics, no shared cache line.
 */
static __always_inline int lb_insert_allowed(void)
{
	__u32 zero = 0;
	struct lb_config *cfg = bpf_map_lookup_elem(&lb_config, &zero);
	struct lb_budget *b;
	__u64 sec;

	if (!cfg || !cfg->insert_rate)
		return 1;
	b = bpf_map_lookup_elem(&lb_budget, &zero);
	if (!b)
		return 1;
	sec = bpf_ktime_get_coarse_ns() / 1000000000ull;
	if (b->second != sec) {
		b->second = sec;
		b->used = 0;
	}
	if (b->used >= cfg->insert_rate)
		return 0;
	b->used++;
	return 1;
}

/*
 * A flow-table miss.  A pinned flow (lb_flow_pins) goes back to its node
 * while that node is UP (FWD_PINNED: no Maglev); with its node down it
 * re-hashes (REHASH_DOWN), and a SYN on its 5-tuple is a new session
 * (REHASH_SYN); in both the pin is *flowp, dropped by lb_flow_account.
 * Without a pin: FWD_NEW for a SYN or UDP, FWD_MIDSTREAM for other TCP, and
 * FWD_UNTRACKED instead of either for a non-SYN over the insert budget.
 */
static __always_inline __u32 lb_miss(const struct lb_flow_key *key, int syn,
				     struct lb_flow_val **flowp, __u32 *node)
{
	struct lb_flow_val *pin = bpf_map_lookup_elem(&lb_flow_pins, key);
	__u32 verdict;

	if (pin) {
		*flowp = pin;
		if (syn)
			return LB_V_FWD_REHASH_SYN;
		if (!lb_node_up(pin->node_id))
			return LB_V_FWD_REHASH_DOWN;
		*node = pin->node_id;
		return LB_V_FWD_PINNED;
	}
	verdict = (syn || key->proto == IPPROTO_UDP) ? LB_V_FWD_NEW : LB_V_FWD_MIDSTREAM;
	if (!syn && !lb_insert_allowed())
		verdict = LB_V_FWD_UNTRACKED;
	return verdict;
}

/*
 * The flow decision (the table above lb_process): looks the key up in
 * lb_flows (and on a miss in lb_flow_pins; *flowp: the entry found, NULL if
 * none; *in_table: 1 when it is lb_flows' own entry, not a pin) and picks
 * the node (*node).  Returns the FWD_* verdict, or DROP_NO_NODE when Maglev
 * has no node.  The hit path is one lookup in each
 * of lb_flows and lb_nodes, as before pins and budgets.
 */
static __always_inline __u32 lb_choose(const struct lb_svc_val *svc,
				       const struct lb_flow_key *key, __u8 tcp_flags,
				       struct lb_flow_val **flowp, int *in_table, __u32 *node)
{
	int syn = key->proto == IPPROTO_TCP &&
		  (tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN;
	struct lb_flow_val *flow = bpf_map_lookup_elem(&lb_flows, key);
	__u32 verdict;

	*flowp = flow;
	*in_table = flow != NULL;
	if (flow && syn) {
		verdict = LB_V_FWD_REHASH_SYN;
	} else if (flow) {
		if (lb_node_up(flow->node_id)) {
			*node = flow->node_id;
			return LB_V_FWD_HIT;
		}
		verdict = LB_V_FWD_REHASH_DOWN;
	} else {
		verdict = lb_miss(key, syn, flowp, node);
		if (verdict == LB_V_FWD_PINNED)
			return verdict;
	}
	/* The pick is not checked for UP: Maglev holds lbd's choice, and lbd
	 * rebuilds it when a node goes down. */
	*node = lb_maglev_pick(svc, key);
	return *node == LB_NODE_NONE ? LB_V_DROP_NO_NODE : verdict;
}

/*
 * The flow table's side of a forwarded packet: a hit adds to the entry's
 * counters; UNTRACKED writes nothing; PINNED restores the entry from its pin
 * (and restarts the pin's idle clock); any other FWD_* verdict writes a new
 * entry for node (flow: the old one, from lb_flows or the pins, or NULL) and
 * tells syncd.  An old entry lbd had re-pointed (MIGRATED) loses its pin
 * here: a SYN is a new session, REHASH_DOWN moved it off its pinned node.
 * in_table: flow is the entry in lb_flows (not a pin).
 */
static __always_inline void lb_flow_account(const struct lb_flow_key *key,
					    struct lb_flow_val *flow, int in_table, __u32 node,
					    __u32 verdict, __u32 l3_len)
{
	struct lb_flow_val nflow;
	__u32 unpin = 0;

	if (verdict == LB_V_FWD_HIT) {
		/* flow may be hit on other CPUs at once: atomic adds */
		__sync_fetch_and_add(&flow->packets, 1);
		__sync_fetch_and_add(&flow->bytes, l3_len);
		flow->last_seen_ns = bpf_ktime_get_coarse_ns();
		return;
	}
	if (verdict == LB_V_FWD_UNTRACKED)
		return;
	__builtin_memset(&nflow, 0, sizeof(nflow));
	nflow.node_id = node;
	nflow.last_seen_ns = bpf_ktime_get_coarse_ns();
	nflow.packets = 1;
	nflow.bytes = l3_len;
	if (verdict == LB_V_FWD_PINNED && flow) {
		nflow.flags = flow->flags & ~(__u32)LB_FLOW_F_UNPIN;
		flow->last_seen_ns = nflow.last_seen_ns;
		bpf_map_update_elem(&lb_flows, key, &nflow, BPF_ANY);
		return;		/* the peer holds the pin already: nothing to tell */
	}
	if (verdict == LB_V_FWD_MIDSTREAM) {
		nflow.flags = LB_FLOW_F_MIDSTREAM;
	} else if (verdict == LB_V_FWD_REHASH_DOWN && flow) {
		/* same session, new node: keep its history and origin, but it
		 * is no longer lbd's migration nor the peer's */
		nflow.flags = flow->flags & (LB_FLOW_F_SYN | LB_FLOW_F_MIDSTREAM);
		nflow.packets += flow->packets;
		nflow.bytes += flow->bytes;
	} else {
		nflow.flags = LB_FLOW_F_SYN;	/* NEW, REHASH_SYN: a new session */
	}
	if (flow && (flow->flags & LB_FLOW_F_MIGRATED)) {
		bpf_map_delete_elem(&lb_flow_pins, key);
		unpin = LB_FLOW_F_UNPIN;
	}
	/* A re-hash of an entry still in lb_flows (a SYN reusing a 5-tuple,
	 * its node gone) rewrites it where it is, as lb_repoint does: an
	 * update would take a free element first (in a full table, evicting
	 * another flow: its cold lines and the LRU lock) and then unlink this
	 * one.  Otherwise insert; an LRU update only fails on memory pressure,
	 * forwarding this packet is still right, the next one re-inserts. */
	if (in_table)
		*flow = nflow;
	else
		bpf_map_update_elem(&lb_flows, key, &nflow, BPF_ANY);
	lb_report(key, node, nflow.flags | unpin);
}

/*
 * The shared core.
 *   data, data_end  packet (Ethernet header first)
 *   frame_len       whole frame length incl. any non-linear part
 *   gso_size        see lb_parse_ipv4 (0 for XDP)
 *   ifindex         out: egress interface when LB_ACT_REDIRECT is returned
 * Returns an enum lb_act.  On LB_ACT_REDIRECT the Ethernet addresses have
 * been rewritten (a VLAN tag, in-band or in skb metadata, stays as is).
 *
 * Flow decisions (lb_choose, lb_miss):
 *   hit, node UP, not a pure SYN  -> same node             FWD_HIT
 *   hit, pure TCP SYN (port reuse) -> Maglev, flags SYN    FWD_REHASH_SYN
 *   hit, node not UP / unknown     -> Maglev, flags kept   FWD_REHASH_DOWN
 *   miss, pinned, node UP, no SYN  -> the pin's node       FWD_PINNED
 *   miss, pinned, SYN / node down  -> as hit (pin dropped) FWD_REHASH_*
 *   miss, pure SYN                 -> Maglev, flags SYN    FWD_NEW
 *   miss, UDP, within the budget   -> Maglev, flags SYN    FWD_NEW
 *   miss, other TCP, within budget -> Maglev, MIDSTREAM    FWD_MIDSTREAM
 *   miss, UDP/other TCP over budget -> Maglev, no entry    FWD_UNTRACKED
 * The midstream insert keeps sessions alive after an LRU eviction or a
 * switch takeover without synced state: Maglev is consistent, so the same
 * node is picked as long as the node set did not change.  That is also why
 * a packet over the insert budget is still forwarded.  Sessions lbd moved
 * off their Maglev node are what Maglev cannot find again: the pins.
 *
 * Split into __always_inline steps (parse, choose, account): inlined, they
 * compile to one program, so the split costs no cycles (measured with
 * bpf_prog_test_run when it was made).
 */
static __always_inline int lb_process(void *data, void *data_end, __u32 frame_len,
				      __u32 gso_size, __u32 *ifindex)
{
	struct ethhdr *eth = data;
	struct lb_flow_key key;
	struct lb_svc_val svc;
	struct lb_flow_val *flow;
	struct lb_node_val *nv;
	__u32 l3_len = 0, node = LB_NODE_NONE, verdict;
	__u8 tcp_flags = 0;
	int new_flow, in_table = 0;

	verdict = lb_parse(data, data_end, frame_len, gso_size, &key, &tcp_flags, &l3_len);
	if (verdict != LB_CONTINUE)
		return lb_finish(verdict);
	if (!lb_svc_lookup(&key, &svc))
		return lb_finish(LB_V_PASS_NOT_VIP);
	verdict = lb_choose(&svc, &key, tcp_flags, &flow, &in_table, &node);
	if (verdict == LB_V_DROP_NO_NODE)
		return lb_finish(verdict);

	nv = bpf_map_lookup_elem(&lb_nodes, &node);
	if (!nv || !(nv->flags & LB_NODE_F_PRESENT) || nv->ifindex == 0)
		return lb_finish(LB_V_DROP_REDIRECT);	/* flow table left alone */

	lb_flow_account(&key, flow, in_table, node, verdict, l3_len);
	lb_count(verdict);
	/* a new flow: an entry made for a session (not a hit, a restore, nor a
	 * packet over the insert budget: a flood must not inflate the count) */
	new_flow = verdict != LB_V_FWD_HIT && verdict != LB_V_FWD_PINNED &&
		   verdict != LB_V_FWD_UNTRACKED;
	lb_stat(&lb_node_stats, node, l3_len, new_flow);
	lb_stat(&lb_svc_stats, svc.svc_id, l3_len, new_flow);

	__builtin_memcpy(eth->h_dest, nv->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nv->src_mac, ETH_ALEN);
	*ifindex = nv->ifindex;
	return LB_ACT_REDIRECT;
}

/*
 * How many bytes of headers lb_process reads from this frame: Ethernet (+ one
 * VLAN tag), the IP header (IPv4 with its options), and 20 bytes of L4 (the
 * TCP header without options; more than UDP needs, which is harmless: a
 * frame shorter than that is entirely linear anyway).  LB_PULL_LEN when the
 * linear part is too short to tell.
 */
static __always_inline __u32 lb_headers_len(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 l2;
	__u16 proto;

	if ((void *)(eth + 1) > end || lb_l2_proto(eth, end, &proto, &l2) < 0)
		return LB_PULL_LEN;
	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 *vihl = data + l2;

		if ((void *)(vihl + 1) > end)
			return LB_PULL_LEN;
		return l2 + (*vihl & 0xf) * 4 + 20;
	}
	if (proto == bpf_htons(ETH_P_IPV6))
		return l2 + sizeof(struct ipv6hdr) + 20;
	return 0;
}

SEC("tc")
int lb_tc(struct __sk_buff *skb)
{
	__u32 ifindex = 0, linear = skb->data_end - skb->data;
	int act;

	/* Headers normally sit in the linear area; if a driver left them in
	 * fragments, pull them (direct packet access sees only linear data).
	 * Pull only when the headers we read are not all there: a pull of a
	 * cloned skb (every locally sent TCP segment) reallocates its head. */
	if (linear < LB_PULL_LEN && skb->len > linear) {
		__u32 need = lb_headers_len(skb);	/* <= LB_PULL_LEN */

		if (linear < need)
			bpf_skb_pull_data(skb, skb->len < need ? skb->len : need);
	}

	act = lb_process((void *)(long)skb->data, (void *)(long)skb->data_end,
			 skb->len, skb->gso_size, &ifindex);
	if (act == LB_ACT_REDIRECT)
		return bpf_redirect(ifindex, 0);	/* TC_ACT_REDIRECT */
	return act == LB_ACT_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = 0;
	int act;

	/* Single-buffer XDP (no xdp.frags): the frame is all linear. */
	act = lb_process(data, data_end, data_end - data, 0, &ifindex);
	if (act == LB_ACT_REDIRECT)
		return bpf_redirect(ifindex, 0);	/* XDP_REDIRECT */
	return act == LB_ACT_PASS ? XDP_PASS : XDP_DROP;
}

/*
 * lb_repoint - re-point one flow in place, run by lbd through
 * bpf_prog_test_run (BPF_PROG_TYPE_SYSCALL).  Userspace cannot modify an
 * LRU hash entry in place: bpf_map_update_elem() takes a free element first,
 * which in a full table evicts an unrelated flow, and it overwrites counters
 * the data plane is adding to.  Here the entry is changed where it is.
 * ctx: struct lb_repoint_args; retval 1 moved, 0 no such flow.
 */
SEC("syscall")
int lb_repoint(struct lb_repoint_args *args)
{
	struct lb_flow_key key;
	struct lb_flow_val *v;

	__builtin_memcpy(&key, &args->key, sizeof(key));
	v = bpf_map_lookup_elem(&lb_flows, &key);
	if (!v)
		return 0;
	v->node_id = args->node_id;
	v->flags = (v->flags & ~args->flags_clear) | args->flags_set;
	return 1;
}
