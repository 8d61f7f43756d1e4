/*
 * lb_bpf_maps.h - the data plane's BPF map definitions, included once, by
 * lb.bpf.c (clang -target bpf only).  Keys, values and pin names are the
 * contract in lb_maps.h; this is the BPF side of it (types, sizes, flags),
 * kept apart so the program file holds the packet path.
 */
#ifndef TANDEM_LB_BPF_MAPS_H
#define TANDEM_LB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_maps.h"

/* Names are the LB_PIN_* strings of lb_maps.h. */

/* Userspace resizes with bpf_map__set_max_entries() before load (up to 8M). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_flow_val);
	__uint(max_entries, 1048576);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_svc_key);
	__type(value, struct lb_svc_val);
	__uint(max_entries, LB_MAX_SVCS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_svcs SEC(".maps");

/* Flows lbd re-pointed, never evicted (lb_maps.h, "Pinned flows").
 * Userspace sets max_entries before load; entries only from userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_flow_val);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_flow_pins SEC(".maps");

/* The insert budget's count per CPU and second (lb_insert_allowed).  Not
 * pinned: a restart of lbd starting a fresh second is harmless. */
struct lb_budget {
	__u64 second;		/* bpf_ktime_get_coarse_ns() / 1e9 of the count */
	__u64 used;		/* inserts budgeted in that second */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_budget);
	__uint(max_entries, 1);
} lb_budget SEC(".maps");

/*
 * The last service lookup of this CPU (lb_svc_lookup): the key, what lb_svcs
 * held for it (found 0: nothing, not a VIP service) and the lb_config.svc_gen
 * it was read under (| LB_SVC_CACHE_VALID, so a zeroed slot never matches).
 * seq is odd while the slot is being written.  Not pinned: a newly loaded
 * program starts empty.
 */
#define LB_SVC_CACHE_VALID 0x10000u

struct lb_svc_cache {
	__u32 seq;
	__u32 gen;
	struct lb_svc_key key;
	struct lb_svc_val val;
	__u32 found;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_svc_cache);
	__uint(max_entries, 1);
} lb_svc_cache SEC(".maps");

/* Flow adds for tandem-syncd; see lb_maps.h. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LB_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_events SEC(".maps");

/* Keys userspace changed (written by lbd, read by syncd); unused here. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(key_size, 0);
	__uint(value_size, sizeof(struct lb_flow_key));
	__uint(max_entries, LB_REPL_Q_LEN);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_repl_q SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_vip_key);
	__type(value, __u32);
	__uint(max_entries, LB_MAX_SVCS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_vip_addrs SEC(".maps");

/*
 * Maglev tables.  The contract (lb_maps.h) is a flat __u32 array that lbd
 * writes through mmap, indexed with lb_maglev_index().  The kernel pads BPF
 * array elements to 8 bytes, so a map of __u32 values would show userspace
 * every id followed by 4 bytes of padding.  Each element therefore holds two
 * consecutive ids: the mmap view is then exactly the flat __u32 array, and
 * id i is element i / 2, word i % 2.  max_entries is set by userspace to the
 * number of ids (LB_MAX_SVCS * 2 * maglev_size): twice what is needed, the
 * same memory a padded __u32 array would take.
 */
struct lb_maglev_pair {
	__u32 node[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_maglev_pair);
	__uint(max_entries, LB_MAX_SVCS * 2 * LB_MAGLEV_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_node_val);
	__uint(max_entries, LB_MAX_NODES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_counters);
	__uint(max_entries, LB_MAX_NODES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_node_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_counters);
	__uint(max_entries, LB_MAX_SVCS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LB_V_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_verdicts SEC(".maps");

/* Knobs written by lbd: our MAC, the insert budget. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_config SEC(".maps");

#endif
