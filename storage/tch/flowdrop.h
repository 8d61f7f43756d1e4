/*
 * flowdrop.h - silence a flow on a storage node during a TCP handoff: drop
 * its packets in both directions (the userspace side of flowdrop.bpf.c; why
 * it exists: see there and doc/tch.md).
 *
 * flowdrop_open() loads the programs, attaches them to tc ingress and
 * egress of the node's storage interface (libbpf bpf_tc_*, netlink:
 * Debian's libbpf 1.1 has no tcx links) and, with a pin directory (a
 * mounted bpffs), pins the two maps there so a restarted daemon, bpftool
 * and tests find them (a restarted daemon reuses them, entries included).
 * flowdrop_close() detaches the programs; the clsact qdisc and pinned maps
 * stay.  One struct flowdrop per interface, owned by the caller.  A daemon
 * that dies leaves the programs attached: its entries expire by themselves.
 *
 * Keys are the 5-tuple as the client sends it (lb/lb_maps.h struct
 * lb_flow_key: saddr = client, daddr = VIP; tch_state_flow_key() builds
 * it); an entry drops both directions.  Times are CLOCK_MONOTONIC
 * nanoseconds, the clock of bpf_ktime_get_ns(): flowdrop_now_ns().
 *
 * Return convention: 0 (or a count) on success, -1 with errno set; the
 * open function also writes a one-line message into err (errlen bytes).
 */
#ifndef TANDEM_FLOWDROP_H
#define TANDEM_FLOWDROP_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "flowdrop_maps.h"
#include "lib/paths.h"

#define FLOWDROP_OBJ_DEFAULT TANDEM_LIBDIR "/flowdrop.bpf.o"
#define FLOWDROP_TC_HANDLE 0x7464	/* "td": our filter among others on the hook */
#define FLOWDROP_TC_PRIO 1		/* first: before anything that could consume the packet */

struct bpf_object;
struct ring_buffer;

/* A held packet (flowdrop_hold, flowdrop_take): the client's packet from
 * its IP header on, as it arrived (its TCP checksum may be partial, as
 * offloading leaves it: tch_replay fixes it). */
struct flowdrop_pkt {
	struct flowdrop_pkt *next;
	uint64_t t_ns;			/* when userspace took it from the ring */
	struct lb_flow_key key;
	uint32_t len;
	uint8_t data[];
};

#define FLOWDROP_HOLD_TOTAL_DEFAULT (8u << 20)	/* held bytes in userspace, all flows */
#define FLOWDROP_HOLD_TTL_NS (10ull * 1000000000ull)	/* an untaken packet is freed after */

struct flowdrop {
	struct bpf_object *obj;
	struct ring_buffer *ring;	/* held packets from the program */
	struct flowdrop_pkt *held, **held_tail;	/* taken from the ring, oldest first */
	size_t held_bytes, held_limit;	/* held_limit: flowdrop_open's hold_total */
	uint64_t held_evicted;		/* freed untaken, or refused: store full */
	int map_fd, stats_fd;
	int ifindex, out_ifindex;	/* out_ifindex 0: no egress program */
	int attached;			/* 0, 1 (ingress), 2 (ingress and egress) */
	int ncpus;
	char ifname[IF_NAMESIZE];
};

/*
 * Load obj_path (NULL: FLOWDROP_OBJ_DEFAULT), attach the ingress program to
 * ifname (where client packets arrive) and the egress program to
 * egress_ifname (where replies leave: NULL means ifname; a node with
 * asymmetric routing names its other interface; "" attaches no egress
 * program - then a frozen socket's own packets are not silenced, see
 * flowdrop.bpf.c), replacing earlier flowdrop filters there; pin the maps
 * in pin_dir if not NULL (reusing maps already pinned there).  Needs
 * CAP_NET_ADMIN and CAP_BPF (root).  0 or -1 (errno, err).  On failure *d
 * holds nothing and nothing stays attached.
 */
int flowdrop_open(struct flowdrop *d, const char *ifname, const char *egress_ifname,
		  const char *obj_path, const char *pin_dir, size_t hold_total, char *err,
		  size_t errlen);

/* The hold ring's size for hold_total bytes of held packets (config
 * handoff.hold_total_kb; 0: FLOWDROP_HOLD_TOTAL_DEFAULT): the largest power
 * of two not over it (a BPF ring buffer's size must be a power of two and
 * a multiple of the page size), at least FLOWDROP_HOLD_RING_MIN, at most
 * FLOWDROP_HOLD_RING_MAX.  So the kernel side never pins more than the
 * operator allowed, and a larger allowance gets a larger ring. */
#define FLOWDROP_HOLD_RING_MIN (64u << 10)
#define FLOWDROP_HOLD_RING_MAX (1u << 30)
uint32_t flowdrop_ring_size(size_t hold_total);

/* Before loading obj: the maps sized from the machine and the config (one
 * hold scratch slot per CPU, ncpus = libbpf_num_possible_cpus(); the hold
 * ring, flowdrop_ring_size(hold_total)).  0 or a negative errno, as
 * libbpf. */
int flowdrop_size_maps(struct bpf_object *obj, int ncpus, size_t hold_total);

/* The userspace side over a loaded flow-drop object's maps (flowdrop_open
 * does this; bpf_prog_test_run tests call it on an object they loaded):
 * map fds, the held packets' store and ring.  d->ncpus must be set; the
 * object stays the caller's.  0, or -1 with errno.  flowdrop_unbind frees
 * the ring and the store. */
int flowdrop_bind(struct flowdrop *d, struct bpf_object *obj);
void flowdrop_unbind(struct flowdrop *d);

/* Detach and release (NULL-safe, idempotent). */
void flowdrop_close(struct flowdrop *d);

/* Drop k's packets, both directions, until until_ns (absolute,
 * flowdrop_now_ns() clock); re-arms an existing entry (its packet count is
 * kept). */
int flowdrop_add(struct flowdrop *d, const struct lb_flow_key *k, uint64_t until_ns);

/* As flowdrop_add, and hold (FLOWDROP_F_HOLD, flowdrop_maps.h) up to
 * hold_max bytes of what arrives from the client; the count of held bytes
 * starts at 0.  flowdrop_add on the same key ends the holding (what was
 * held stays to be taken). */
int flowdrop_hold(struct flowdrop *d, const struct lb_flow_key *k, uint64_t until_ns,
		  uint32_t hold_max);

/* Let k's entry pass the flow's outgoing packets from now on, holding only
 * what arrives (FLOWDROP_F_IN_ONLY; tch_replay_held).  0, or -1 (ENOENT: no
 * entry). */
int flowdrop_hold_ingress(struct flowdrop *d, const struct lb_flow_key *k);

/* Every packet held so far for k, oldest first, unlinked into *out (NULL
 * if none; free with flowdrop_pkts_free).  Drains the ring first (packets
 * of other flows stay for their own take).  Returns how many. */
int flowdrop_take(struct flowdrop *d, const struct lb_flow_key *k, struct flowdrop_pkt **out);

/* Free a list from flowdrop_take (NULL-safe). */
void flowdrop_pkts_free(struct flowdrop_pkt *p);

/* Packets held, packets that should have been held but were only dropped
 * (the entry's hold_max or the ring full), and packets freed untaken or
 * refused by this process's limit. */
int flowdrop_hold_counters(struct flowdrop *d, uint64_t *held, uint64_t *overflow,
			   uint64_t *evicted);

/* Stop dropping k's packets.  0 also when there was no entry. */
int flowdrop_del(struct flowdrop *d, const struct lb_flow_key *k);

/* Entry of k: 0 with *out, -1 with errno ENOENT if there is none. */
int flowdrop_get(struct flowdrop *d, const struct lb_flow_key *k, struct flowdrop_val *out);

/* Remove every entry expired at now_ns, and free held packets older than
 * FLOWDROP_HOLD_TTL_NS that nobody took.  Returns how many entries were
 * removed. */
int flowdrop_gc(struct flowdrop *d, uint64_t now_ns);

/* Packets dropped coming in (client -> VIP) and going out, and packets that
 * met an expired entry; all CPUs. */
int flowdrop_counters(struct flowdrop *d, uint64_t *dropped_in, uint64_t *dropped_out,
		      uint64_t *expired);

/* CLOCK_MONOTONIC in ns (= bpf_ktime_get_ns()). */
uint64_t flowdrop_now_ns(void);

#endif
