/*
 * pair_drop.bpf.c - packet droppers for the pair-mode integration tests
 * (no netem, no tc actions in our kernel).  tc clsact, direct action:
 *
 *   tc qdisc add dev DEV clsact
 *   tc filter add dev DEV ingress bpf da obj pair_drop.o sec drop20
 *
 *   drop20   drops ~20 % of IPv4 UDP datagrams at random (the sync link
 *            carries tandem-syncd's UDP; ARP and the rest pass)
 *   novrrp   drops VRRP (IPv4 protocol 112): a split brain while the LANs
 *            still work
 *
 * Built by the tests themselves:
 *   clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c F -o O
 * (in a directory of its own: the Makefile builds the .c files of tests/tools as host tools)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* The IPv4 protocol of the frame, or -1 if it is not IPv4. */
static __always_inline int ip_proto(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	return ip->protocol;
}

SEC("drop20")
int tdm_drop20(struct __sk_buff *skb)
{
	if (ip_proto(skb) != IPPROTO_UDP)
		return TC_ACT_OK;
	return bpf_get_prandom_u32() % 100 < 20 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("novrrp")
int tdm_novrrp(struct __sk_buff *skb)
{
	return ip_proto(skb) == 112 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
