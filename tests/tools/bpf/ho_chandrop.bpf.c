/*
 * ho_chandrop.bpf.c - cut a tandem-nasd handoff channel in the middle of a
 * transaction (t_nasd_handoff_edge: "the target dies in the middle of a
 * handoff").  tc clsact, direct action, on a switch port pX of the storage
 * bridge (never on a node's eth0: nasd's flow drop is the pref 1 da filter
 * there and its verdict ends classification):
 *
 *   update    on pX egress (what node X receives): latches on the first
 *             channel frame of type UPDATE (4) sent to X's port 7407
 *   complete  on pX ingress (what node X sends): latches on the first frame
 *             of type COMPLETE (5) sent from X's port 7407
 *
 * From the latching packet on, every IPv4 TCP packet from or to port 7407
 * through that hook is dropped (retransmissions too): the channel is dead
 * for the transaction, as if X had died at that moment.  `latched` and
 * `dropped` (.bss) tell the test when it happened (bpftool map dump).
 * Frames begin a segment: nasd sends each frame with one send() on a
 * TCP_NODELAY socket after the previous exchange finished; the header is
 * u32 length, u16 magic 0x5448, u8 version, u8 type (lib/handoff_wire.h).
 *
 * Built by the test: clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c F -o O
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define CHAN_PORT 7407

volatile __u32 latched;
volatile __u64 dropped;

/* want: frame type to latch on; to_port: 1 = dport is the channel port
 * (frames to the node), 0 = sport (frames from it). */
static __always_inline int cut(struct __sk_buff *skb, __u8 want, int to_port)
{
	struct iphdr ip;
	struct tcphdr th;
	__u8 fh[8];
	__u32 off;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	off = ETH_HLEN + ip.ihl * 4;
	if (bpf_skb_load_bytes(skb, off, &th, sizeof(th)) < 0)
		return TC_ACT_OK;
	if (th.source != bpf_htons(CHAN_PORT) && th.dest != bpf_htons(CHAN_PORT))
		return TC_ACT_OK;
	if (latched) {
		dropped++;
		return TC_ACT_SHOT;
	}
	if ((to_port ? th.dest : th.source) != bpf_htons(CHAN_PORT))
		return TC_ACT_OK;
	off += th.doff * 4;
	if (off > 120 || bpf_skb_load_bytes(skb, off, fh, sizeof(fh)) < 0)
		return TC_ACT_OK;
	if (fh[4] == 0x54 && fh[5] == 0x48 && fh[7] == want) {
		latched = 1;
		dropped++;
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

SEC("update")
int ho_cut_update(struct __sk_buff *skb)
{
	return cut(skb, 4, 1);
}

SEC("complete")
int ho_cut_complete(struct __sk_buff *skb)
{
	return cut(skb, 5, 0);
}

char _license[] SEC("license") = "GPL";
