/*
 * lbd.h - tandem-lbd's context and the interfaces between its modules.
 *
 *   main.c       arguments, signals, startup/reload/shutdown
 *   dataplane.c  the BPF object: load, pin/reuse, attach, map access
 *   sched.c      node state -> node map and Maglev tables
 *   health.c     health checks per node and proto/port: rise/fall, state
 *   probe.c      one check's I/O: TCP connect, send/expect probes (TCP, UDP)
 *   netmon.c     libnl: links (carrier) and neighbours (node MACs)
 *   control.c    control socket (doc/control.md)
 *   flows.c      flow table walks: listing, counting, migration
 *   pins.c       re-pointed flows kept safe from eviction (lb_flow_pins)
 *   report.c     handoff reports from the storage nodes (re-point on request)
 *   mover.c      moving live sessions off a node: drain, load trigger
 *   cluster.c    the NFS cluster map (config "nfs") and the node states
 *                (drain) sent to the nodes
 *   roles.c      the VRRP role, per group in active-active (vrrp.groups)
 *   dns.c        the VIPs' A/AAAA records at the DNS server (config "dns")
 *   bgp.c        the VIPs' routes through BIRD to an ECMP router (config "bgp")
 *   child.c      helper programs (nsupdate, birdc) run off the loop
 *   syncwatch.c  tandem-syncd's "ready", for the BGP announcements
 */
#ifndef TANDEM_LBD_H
#define TANDEM_LBD_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "lib/ctl_server.h"
#include "lib/handoff_wire.h"
#include "lib/lat_hist.h"
#include "lib/loop.h"
#include "lb_maps.h"

/* ---- dataplane.c ---- */
struct dataplane {
	struct bpf_object *obj;
	char pin_dir[CFG_PATH_MAX + 64];
	int fd_flows, fd_svcs, fd_maglev, fd_nodes, fd_node_stats, fd_svc_stats, fd_verdicts;
	int fd_vip_addrs;
	int fd_config;		/* lb_config: our client-side MAC */
	int fd_repl_q;		/* keys lbd changed, for tandem-syncd */
	int fd_repoint;		/* lb_repoint syscall program */
	int fd_names;		/* userspace-only pinned map: node id -> name (stable ids) */
	int fd_pins;		/* lb_flow_pins: flows lbd re-pointed, never evicted */
	uint32_t pin_table_size;	/* its max_entries (dp_pin_table_size) */
	uint32_t insert_rate;	/* lb_config.insert_rate written: per CPU and second */
	uint32_t *maglev;	/* mmap of lb_maglev */
	size_t maglev_entries;
	uint32_t maglev_size;
	uint32_t flow_table_size;
	int attach_ifindex;
	enum cfg_attach attach;
	int ncpus;
};

#define NODE_NAME_LEN 64	/* value size of the names map */

/*
 * Sizes derived from flow_table_size (doc/config.md, "Floods"):
 *   pins: flow_table_size / 8 (at least 1024) re-pointed flows kept safe
 *         from eviction;
 *   insert budget: flow_table_size / 60 inserts per second from packets that
 *         prove nothing (non-SYN TCP, UDP; at least 1000): a spoofed flood
 *         turns the LRU table over at most once a minute.
 */
#define DP_PIN_DIV 8
#define DP_PIN_MIN 1024
#define DP_TURNOVER_S 60
#define DP_INSERT_MIN 1000
uint32_t dp_pin_table_size(const struct config *cfg);
uint32_t dp_insert_rate(const struct config *cfg);	/* per second, all CPUs */

/* Open the object, reuse or create pinned maps, load, attach.  0 / -1 (logged). */
int dp_open(struct dataplane *dp, const struct config *cfg, const char *obj_path);
void dp_close(struct dataplane *dp);	/* leaves program attached and maps pinned */
int dp_sum_counters(struct dataplane *dp, int map_fd, uint32_t idx, struct lb_counters *out);
int dp_verdicts(struct dataplane *dp, uint64_t out[LB_V_MAX]);
const char *dp_verdict_name(int v);
/* Write lb_config: the client interface's MAC (NULL: keep it) and the insert
 * budget.  0 / -1. */
int dp_write_config(struct dataplane *dp, const uint8_t *mac);
/* Call after every write to lb_svcs (update or delete): bumps
 * lb_config.svc_gen, which retires the data plane's per-CPU copies of
 * service lookups (lb_svc_lookup in lb.bpf.c).  0 / -1 with errno. */
int dp_svcs_changed(struct dataplane *dp);
/* Add one to the events_lost counter (userspace side of the same contract). */
void dp_count_lost(struct dataplane *dp);
/* Re-point one flow in place (no eviction, counters kept): 1 moved,
 * 0 no such flow, -1 error (errno). */
int dp_repoint(struct dataplane *dp, const struct lb_flow_key *k, uint32_t node_id,
	       uint32_t flags_set, uint32_t flags_clear);

/* ---- runtime state of nodes and services ---- */
struct node_rt {
	int in_use;
	char name[CFG_NAME_MAX + 1];
	uint32_t id;		/* data-plane node id (stable, from the names map) */
	int cfg_index;		/* index in cfg.nodes */
	int link_up;		/* storage interface (and node port, if any) has carrier */
	int mac_ok;
	uint8_t mac[6];
	int drain;
	int up;			/* as last written to the data plane */
	uint64_t handoffs_in, handoffs_out;	/* sessions re-pointed to / away from it by reports */
	/* last load report from its tandem-nasd (HO_OP_LOAD) */
	uint32_t load_sessions, load_mibps;
	uint64_t load_at_ms;	/* 0: never reported */
	/* ... and the NFS export policy it enforces (HO_LOAD_POLICY*: 0 none) */
	uint16_t policy_flags;
	uint64_t policy_version;
	uint64_t policy_since_ms;	/* it has reported this version since */
};

struct svc_rt {
	uint32_t svc_id;
	int vip_index, svc_index;
	int nodes_in_table;	/* -1: rebuild needed */
	uint64_t sig;		/* eligible nodes+weights of the table in use */
};

/* One health check: node x (proto, port).  TCP: a connect, then the
 * probe's send/expect if the port has one; UDP: the probe's datagram and
 * its answer (only ports with a probe are checked). */
enum probe_stage { PROBE_CONNECTING = 0, PROBE_READING = 1 };
struct hcheck {
	struct loop_io io;
	struct lbd *lbd;
	int node;		/* index into lbd.nodes */
	char node_name[CFG_NAME_MAX + 1];	/* to carry state across reloads */
	uint8_t proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t port;
	const struct cfg_probe *probe;	/* NULL: connect only (TCP); points into lbd.hprobes */
	int ok;			/* current state: 1 up, 0 down; starts down until rise */
	int seen;		/* 1 once a verdict exists */
	int probed;		/* 1 once a probe finished since lbd started */
	uint32_t rise_cnt, fall_cnt;
	uint64_t due_ms, deadline_ms;
	uint64_t started_ms;	/* when the running probe began */
	uint64_t rtt_ms;	/* how long the last passing probe took */
	enum probe_stage stage;
	uint16_t rx_len;	/* reply bytes so far (TCP) */
	uint8_t rx[CFG_PROBE_MAX];
	char last_error[96];
};

struct netmon;

#define REPORT_SENDERS 256
#define REPORT_PENDING 64	/* reports waiting for the peer switch's confirmation */
#define REPORT_MOVES 64	/* MOVEs waiting for the owner node's ack */
#define REPORT_MOVE_MS 15000	/* operator handoff: wait at most this long */
struct pending;
struct ctl_deferred;
struct report_move;
/* A MOVE's outcome: ok, or err (a sentence); owner: the flow map's owner now
 * (NULL if unknown); status: the node's HO_ST_* answer, or MOVE_NO_ANSWER. */
#define MOVE_NO_ANSWER (-1)
typedef void (*move_done_fn)(struct lbd *l, void *arg, const struct lb_flow_key *k, int ok,
			     const char *err, const char *owner, int status, uint64_t ms);
struct report_move {
	int busy;
	struct lbd *l;
	move_done_fn done;
	void *arg;
	struct loop_timer timer;
	int timer_ok;
	uint32_t nonce;
	unsigned timeout_ms;
	unsigned stale;		/* STALE answers: each one, the MOVE is sent again */
	uint32_t from_key, to_key;
	int from, to;		/* node indexes at send time */
	char from_name[CFG_NAME_MAX + 1], to_name[CFG_NAME_MAX + 1];
	struct lb_flow_key key;
	uint64_t t0_ms;
	uint64_t t0_ns;		/* the same, finer: the duration histogram */
};
struct report_srv {
	struct loop_io io;
	uint8_t key[64];	/* the master key (lib/handoff_key.h) */
	size_t keylen;
	/* replay (lib/handoff_wire.h): per node (by its key) the last epoch and
	 * seq taken from it; our epoch and the seq of our answers and MOVEs */
	struct { uint32_t key; struct ho_window w; } senders[REPORT_SENDERS];
	uint64_t epoch, seq;
	struct pending *pending;	/* REPORT_PENDING slots */
	struct report_move moves[REPORT_MOVES];
	uint64_t handled, failed, rejected, replayed;	/* replayed: also messages answered STALE */
	uint64_t moves_sent, moves_ok, moves_failed;
	struct lat_hist move_lat;	/* MOVE sent -> ACK ok, of the moves_ok */
	uint64_t loads;		/* LOAD reports taken */
	/* the NFS export policy version most fresh nodes enforce (report.c
	 * report_policy: the cluster's, against which a node disagrees) */
	uint64_t policy_agreed, policy_agreed_since_ms;
	int policy_has_agreed;
	/* failed handoffs (RECLAIM): a later REDIRECT of (flow, txid) is stale */
	struct { uint32_t flow_hash; uint16_t txid; uint64_t at_ms; } cancelled[256];
	unsigned cancelled_next;
	uint64_t stale_refused;
};

/* A job moving live sessions off one node (mover.c). */
enum move_kind { MOVE_DRAIN = 1, MOVE_LOAD = 2 };
struct move_job {
	struct lbd *l;
	int node;		/* index into nodes[] */
	enum move_kind kind;
	int running;		/* more to send, or answers outstanding */
	int stopping;		/* no more sends (undrain, give-up) */
	struct lb_flow_key *keys;
	size_t nkeys, next;
	uint64_t want;		/* moves wanted (drain: every flow) */
	uint64_t moved, not_live, failed, in_flight, gave_up;
	uint64_t t0_ms, t_end_ms;
	char last_error[200];
	/* BUSY answers (the session could not pause just then): asked again
	 * after MOVE_RETRY_MS, at most MOVE_RETRIES times each */
	struct move_retry { struct lb_flow_key k; uint64_t due_ms; int tries, in_flight; } *retry;
	size_t nretry, cretry;
	uint64_t retried;
	int target_rr;		/* round robin over the eligible targets */
	uint32_t sent_to[CFG_MAX_NODES];	/* load: moves sent per target this round */
};

/* Where a walk of a flow map is: the batch it is in (the kernel's token;
 * none: the map's start), entries of that batch already done, and whether
 * it stopped before the end. */
struct flow_walk_pos {
	struct lb_flow_key token;
	int have_token;
	uint32_t skip;
	int more;
};
/* Pinned flows (pins.c). */
struct pins {
	struct flow_walk_pos pos;	/* the idle sweep's place */
	uint64_t sweep_ms, full_logged_ms;
	uint64_t full, expired;		/* pins refused (table full), dropped idle */
	/* the insert budget at work: fwd_untracked sampled each sweep step */
	uint64_t untracked, untracked_per_s, sampled_ms, throttled_ms;
	int throttle_logged;	/* the state the last flow_pressure event said (1 throttling) */
};

/* VRRP roles per group (roles.c): as the failover hook said them. */
struct group_role {
	char name[CFG_GROUP_NAME_MAX + 1];	/* the group's (config), "" for a free slot */
	char role[16];			/* init/backup/master/fault */
	uint64_t changes, since_ms;	/* role changes; when the role was last set */
};
struct roles {
	struct group_role g[CFG_MAX_GROUPS];	/* as cfg.vrrp.groups (index) */
	int peer_ready;			/* the hook's last word on the peer: 1, 0, -1 unknown */
	uint64_t overtaken;		/* hook words the VIPs here showed overtaken (vrrp_state.h) */
};

/* A helper program lbd runs (child.c): nsupdate, birdc. */
struct child {
	pid_t pid;			/* running (0: none) */
	struct loop_io pidfd;		/* its exit */
	int out_fd;			/* its answer (stdout or stderr), read after the exit */
	int killed;			/* over its owner's timeout: killed */
	uint64_t started_ms;
};

/* The DNS records of the VIPs we hold (dns.c), as config dns.vips. */
struct dns_rec {
	int8_t want;		/* -1 leave alone, 0 withdraw, 1 publish */
	int8_t published;	/* the server holds `want` (as the last update said); -1 not yet */
	uint8_t mine;		/* ours to keep: we hold the VIP, or held it and no one took it */
	uint8_t timed;		/* the latency of this want was counted */
	uint64_t changed_ms;	/* when want last changed */
};
struct dns_pub {
	struct dns_rec rec[CFG_MAX_VIPS];
	int8_t sent_op[CFG_MAX_VIPS];	/* what the update in flight does per record */
	struct child ch;		/* nsupdate (its stderr) */
	uint64_t next_try_ms, refresh_at_ms;
	uint64_t sent, ok, failed, timeouts;
	char last_error[160];
	struct lat_hist add_lat, del_lat;	/* want changed -> the server took it */
};

/* The VIPs this switch announces through BIRD (bgp.c), as config bgp.vips. */
struct bgp_vip {
	int8_t want;		/* 1 announce, 0 withdraw */
	int8_t told;		/* BIRD confirmed `want` (its protocol is so); -1 not yet */
	int8_t logged;		/* the last state logged (bgp_announce/withdraw); -1 none */
	uint64_t changed_ms;	/* when want last changed */
};
#define BGP_STATE_LEN 24
/* A graceful leave in progress (leave.c); d NULL: none. */
struct leave {
	struct ctl_deferred *d;		/* the "leave" request, answered at the end */
	uint64_t quiet_ms, started_ms, deadline_ms;
	uint64_t withdrawn_ms;		/* BIRD confirmed every VIP withdrawn (0: not yet) */
	uint64_t first_fwd, last_fwd, quiet_since_ms;	/* FWD_* packets: at the start, last
						 * seen, and since when unchanged */
};

struct bgp_ann {
	struct bgp_vip vip[CFG_MAX_VIPS];
	char session[CFG_BGP_MAX_NEIGHBORS][BGP_STATE_LEN];	/* "Established", ... ("" unknown) */
	uint64_t sessions_ms;		/* when BIRD last told them */
	int8_t sent[CFG_MAX_VIPS];	/* what the birdc in flight does per VIP; -1 nothing */
	struct child ch;		/* birdc (its stdout) */
	int closing;			/* lbd stops: withdraw everything */
	int held;			/* the operator withdrew everything (tandemctl withdraw) */
	uint64_t next_try_ms, refresh_at_ms;
	uint64_t runs, ok, failed;
	char why[224];			/* why the wants last changed */
	char last_error[160];
};

/* tandem-syncd's "ready", asked for the BGP announcements (syncwatch.c). */
struct syncwatch {
	struct loop_io io;		/* the status request in flight (-1: none) */
	uint64_t asked_ms;
	int ready;			/* the last answer: 1 ready, 0 not (or no answer) */
	char why[224];			/* ... why not */
	size_t len;
	char buf[16384];		/* the answer so far (one JSON line) */
	json_t *members;		/* syncd's last "members" (a group), or NULL */
};

/* The NFS cluster map and node states sender (cluster.c). */
struct cw_map;
struct cw_nodes;
struct cluster_srv {
	struct loop_io io;		/* UDP, unbound: maps out, the nodes' ACKs in */
	uint8_t key[64];
	size_t keylen;
	uint64_t generation;		/* of the map built from the current config */
	struct cw_map *map;		/* that map (heap: ~30 KiB) */
	uint8_t *dgram;			/* ... encoded (CW_MAX_DGRAM) */
	size_t dgram_len;
	uint64_t next_send_ms;
	uint64_t sent, send_errors, acks, acks_refused;
	/* per data-plane node id: the generation it last acknowledged */
	struct { uint64_t gen; uint8_t status; uint64_t at_ms; } acked[LB_MAX_NODES];
	/* node states (which nodes drain), to every node with "handoff" */
	struct cw_nodes *states;	/* as last sent (heap) */
	uint8_t *sdgram;		/* ... encoded (CW_NODES_MAX_DGRAM) */
	size_t sdgram_len;
	uint64_t states_gen;
	uint64_t states_sent;
	struct { uint64_t gen; uint64_t at_ms; } states_acked[LB_MAX_NODES];
};

struct lbd {
	struct loop loop;
	struct loop_signals sigs;
	struct loop_timer tick;		/* health checks and periodic work */
	struct ctl_server ctl;
	const char *config_path;
	const char *obj_path;
	struct config cfg;
	struct dataplane dp;
	struct netmon *nm;
	struct report_srv report;
	struct node_rt nodes[CFG_MAX_NODES];
	struct svc_rt svcs[LB_MAX_SVCS];
	unsigned nsvcs;
	struct hcheck *checks;
	unsigned nchecks;
	struct cfg_probe *hprobes;	/* the checks' own copies of their probes (health.c) */
	int storage_ifindex;
	uint8_t storage_mac[6];
	uint8_t client_mac[6];	/* as last written to lb_config */
	int storage_up;
	uint64_t started_ms;
	unsigned reloads;
	char role[16];		/* VRRP role from tandem-failover: init/backup/master/fault;
				 * with groups: master of any, else backup of any, else ... */
	uint64_t role_changes;	/* role set to another value than it had */
	struct roles roles;	/* per group (active-active) */
	struct dns_pub dns;
	struct bgp_ann bgp;
	struct leave leave;
	struct syncwatch syncwatch;
	struct move_job moves[CFG_MAX_NODES];	/* one per node (index as nodes[]) */
	uint64_t load_checked_ms;
	int sched_dirty;
	struct cluster_srv cluster;
	struct pins pins;
};

/* ---- sched.c ---- */
/* Assign node and service ids (stable across restarts), write svcs map. */
int sched_apply_config(struct lbd *l);
/* Recompute node flags and Maglev tables from current state. */
void sched_update(struct lbd *l);
int sched_node_index(const struct lbd *l, const char *name);
int sched_node_by_id(const struct lbd *l, uint32_t id);
/* 1 if node i is usable for service svc (health ok for its port). */
int sched_node_svc_ok(const struct lbd *l, int node, int vip, int svc);
int sched_set_drain(struct lbd *l, int node, int drain);
int sched_node_was_in(const struct lbd *l, int node, uint8_t proto, uint16_t port);
/* The node a new session with key k would be given now (Maglev), or -1. */
int sched_maglev_pick(const struct lbd *l, const struct lb_flow_key *k);
/* Digest of service i's (index into svcs) live Maglev table by node
 * names: equal on switches that pick the same nodes.  0: no table. */
uint64_t sched_table_digest(const struct lbd *l, unsigned i);

/* ---- health.c ---- */
int health_setup(struct lbd *l);	/* (re)build checks from config */
void health_tick(struct lbd *l);	/* start due checks, time out late ones */
void health_free(struct lbd *l);
/* Check state for (node, proto, port): 1 ok, 0 down, -1 no such check (a
 * UDP port without a probe has none). */
int health_state(const struct lbd *l, int node, uint8_t proto, uint16_t port);
/* 1 when every node's state is settled (see health.c); else 0 and why. */
int health_ready(const struct lbd *l, char *why, size_t whylen);
/* Every service of VIP index vip has a node in its Maglev table (the VIP
 * is worth publishing in DNS, announcing by BGP). */
int health_vip_ok(const struct lbd *l, int vip);

/* ---- probe.c: one check's I/O, non-blocking on lbd's loop ---- */
enum probe_result { PROBE_WAIT = 0, PROBE_PASS = 1, PROBE_FAIL = 2 };
/* Open c->io.fd towards the node's address and c->port, connect (UDP: and
 * send the probe).  PROBE_WAIT: wait for *events on c->io.fd, then call
 * probe_step; PASS/FAIL: done (why says what failed).  The caller closes
 * c->io.fd in every case once the check ends. */
int probe_start(struct hcheck *c, const struct taddr *addr, uint32_t *events, char *why,
		size_t whylen);
/* c->io.fd is ready: the next step.  Same results as probe_start. */
int probe_step(struct hcheck *c, uint32_t *events, char *why, size_t whylen);
/* Pure: a reply buf[0..len) whose full size was full bytes (a datagram may
 * be longer than buf) against p's expect.  1 match; 0 not, and why. */
int probe_match(const struct cfg_probe *p, const uint8_t *buf, size_t len, size_t full, char *why,
		size_t whylen);
/* For `tandem-lbd -t`: what is checked per node for every proto/port. */
void probe_describe(const struct config *cfg, FILE *out);

/* ---- netmon.c ---- */
int netmon_open(struct lbd *l);
void netmon_close(struct lbd *l);
void netmon_refresh(struct lbd *l);	/* re-read links and neighbours into nodes[] */

/* ---- control.c ---- */
int control_open(struct lbd *l);
void control_close(struct lbd *l);
json_t *control_dispatch(struct lbd *l, const json_t *req);

/* ---- flows.c ---- */
typedef int (*flow_fn)(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v,
		       void *arg);
/*
 * Call fn for every entry of the flow map fd (lb_flows or lb_flow_pins)
 * from pos (NULL: the start), in batches; fn returns 0 to go on, 1 to stop,
 * and then pos (if given) is where the next walk resumes (pos->more: it
 * stopped before the end).  Not a snapshot.  Returns 0 / -1 (logged).
 */
int flows_walk_map(int fd, flow_fn fn, struct lbd *l, void *arg, struct flow_walk_pos *pos);
struct flow_filter {
	int vip;		/* vip index or -1 */
	int node_id;		/* or -1 */
	struct taddr client;	/* family 0: any client */
	int client_port;	/* or -1 */
};
/* Count flows per node id into counts[LB_MAX_NODES]; returns total or -1. */
long flows_count(struct lbd *l, uint64_t *counts);
/* The flows command's reply: one page of at most limit (<= CTL_FLOWS_PAGE_MAX)
 * rows matching f, from cursor (NULL: the start; else a "cursor" an earlier
 * page returned); doc/control.md. */
json_t *flows_page(struct lbd *l, const struct flow_filter *f, long limit, const char *cursor);
/* Re-point every flow of from_id to to_id (pinned ones the table evicted
 * too); returns number moved or -1. */
long flows_migrate_node(struct lbd *l, uint32_t from_id, uint32_t to_id);
/* Re-point one flow; 1 moved, 0 no such flow, -1 error. */
int flows_migrate_one(struct lbd *l, const struct lb_flow_key *k, uint32_t to_id);

/* The keys of every flow of node_id with this IP protocol, in a malloc'd
 * array (*keys, caller frees): the table's, and pinned flows the table
 * evicted; the count, or -1. */
long flows_of_node(struct lbd *l, uint32_t node_id, uint8_t proto, struct lb_flow_key **keys);

/* Make node_id the owner of k (create: insert if absent), tell syncd.
 * 1 done, 0 no such flow (and !create), -1 error. */
int flows_set_owner(struct lbd *l, const struct lb_flow_key *k, uint32_t node_id, int create);

/* ---- pins.c: re-pointed flows safe from eviction (lb_flow_pins) ---- */
/* Pin k to node_id (flags: its table entry's, for the origin bits).  0, or
 * -1 when the pin table is full (counted, logged once a minute). */
int pins_write(struct lbd *l, const struct lb_flow_key *k, uint32_t node_id, uint32_t flags);
int pins_get(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v);	/* 0 / -1 */
void pins_tick(struct lbd *l);		/* the idle sweep, a step at a time */
long pins_count(struct lbd *l);		/* or -1 */
/* Status "flow_pressure" (doc/control.md): the budget, untracked packets
 * (total, last second, "throttling" within 10 s of one), pins. */
json_t *pins_pressure(struct lbd *l);

/* ---- report.c: handoff reports from the nodes ---- */
int report_open(struct lbd *l);
/* Whether node i (fresh, not stale) has enforced another NFS export policy
 * version than the cluster's (*agreed: the one a strict majority of the
 * fresh nodes enforce) for longer than a change takes to spread.  1 / 0. */
int report_policy_mismatch(const struct lbd *l, unsigned i, uint64_t *agreed);
void report_close(struct lbd *l);
/* Ask node `from` (the flow's owner; its tandem-nasd, on its storage address
 * at the report port) to hand k's session to node `to` (HO_OP_MOVE).  done
 * is called exactly once: on the node's ACK, after timeout_ms, or when lbd
 * shuts down.  0, or -1 with a message in err (done is not called). */
int report_send_move(struct lbd *l, const struct lb_flow_key *k, int from, int to,
		     unsigned timeout_ms, move_done_fn done, void *arg, char *err, size_t errlen);
/* Operator handoff: report_send_move with the control reply deferred until
 * the outcome; returns NULL, or an error reply at once. */
json_t *report_move(struct lbd *l, const struct lb_flow_key *k, int from, int to);

/* The switch link's replay state, shared with cluster.c: our epoch (chosen
 * once, raised by report_epoch_above when a node holds one of ours at or
 * above it: our clock went back); a node's epoch as last taken (0: not
 * known yet); report_node_learn raises it from an authentic message that
 * carried our epoch. */
uint64_t report_epoch(struct lbd *l);
void report_epoch_above(struct lbd *l, uint64_t held);
uint64_t report_node_epoch(const struct lbd *l, uint32_t node_key);
void report_node_learn(struct lbd *l, uint32_t node_key, uint64_t epoch);
uint32_t report_switch_id(const struct lbd *l);

/* ---- mover.c: live sessions off a node (MOVEs through report.c) ---- */
/* drain: move every TCP session off node (targets: the Maglev tables that
 * no longer hold it).  0 (err: why nothing moves, or ""), or -1 with err. */
int mover_drain(struct lbd *l, int node, char *err, size_t errlen);
int mover_node_live(const struct lbd *l, int node);	/* it runs a handoff agent */
void mover_stop(struct lbd *l, int node);	/* undrain: send no more */
void mover_tick(struct lbd *l);			/* load trigger */
json_t *mover_progress(const struct lbd *l, int node);	/* NULL if never ran */
void mover_free(struct lbd *l);	/* shutdown: stop every job (before report_close) */

/* ---- roles.c: the VRRP role, per group with vrrp.groups ---- */
void roles_init(struct lbd *l);
/* After a reload: each group keeps its role by name, new ones start "init". */
void roles_config(struct lbd *l);
/* The control command "role" {role, group?, peer_ready?}: its reply. */
json_t *roles_cmd(struct lbd *l, const json_t *req);
/* This switch forwards for VIP vip now: the master of its group (or of the
 * pair without groups), or a switch that stands alone.  1 / 0. */
int roles_holds_vip(const struct lbd *l, int vip);
/* The same for the VIP a flow goes to (an unknown VIP: the switch's role). */
int roles_holds_key(const struct lbd *l, const struct lb_flow_key *k);
json_t *roles_json(const struct lbd *l);	/* status "groups" (NULL without groups) */

/* ---- child.c: helper programs off the loop ---- */
/* Run argv[0] (absolute path) with in[0..inlen) as its stdin and its fd
 * `capture` (1 stdout, 2 stderr) kept for child_output; cb(arg) runs on
 * the loop when it exits (the callback reaps it: waitpid, child_close).
 * 0 / -1 with errno (nothing runs). */
int child_spawn(struct loop *lp, struct child *c, char *const argv[], const char *in, size_t inlen,
		int capture, loop_io_cb cb, void *arg);
/* Its captured output (up to len - 1 bytes, NUL-terminated); its length. */
size_t child_output(const struct child *c, char *buf, size_t len);
void child_close(struct loop *lp, struct child *c);	/* after the reap */

/* ---- bgp.c: the VIPs' routes through BIRD (config "bgp") ---- */
void bgp_init(struct lbd *l);
void bgp_config(struct lbd *l);		/* after a reload */
void bgp_tick(struct lbd *l);
void bgp_close(struct lbd *l);		/* at exit: withdraws (waits up to timeout_ms) */
json_t *bgp_json(const struct lbd *l);	/* status "bgp" */
json_t *bgp_cmd(struct lbd *l, const json_t *req);	/* control "bgp" {withdraw} */
/* ---- leave.c: control "leave" (withdraw, wait for the router, stop) ---- */
json_t *leave_cmd(struct lbd *l, const json_t *req);	/* NULL: deferred */
void leave_tick(struct lbd *l);
/* -t and start: birdc is there.  0 / -1 with the message. */
int bgp_check(const struct config *cfg, char *err, size_t errlen);
/* Pure: the birdc script for sent[i] (per bgp.vips: -1 nothing, 0 disable,
 * 1 enable), then `show protocols "up*"` (the sessions); number of
 * enable/disable lines (0: nothing to run), -1 if buf is too small. */
int bgp_script(const struct config *cfg, const int8_t *sent, char *buf, size_t len);
/* Pure: the BGP sessions' states in birdc's output of `show protocols`
 * (protocol "upN" is bgp.neighbors[N]) into state[N]; how many found. */
int bgp_sessions(const struct config *cfg, const char *out, char (*state)[BGP_STATE_LEN]);
/* Pure: birdc's output out confirms VIP i of bgp.vips is (en|dis)abled. */
int bgp_answer_ok(const struct config *cfg, unsigned i, int enable, const char *out);

/* ---- syncwatch.c: replication in sync (for bgp.c) ---- */
void syncwatch_init(struct lbd *l);
void syncwatch_close(struct lbd *l);
/* 1 without a "sync" section or while tandem-syncd last said "ready";
 * else 0 and why.  Asks syncd again when due (never waits). */
int syncwatch_ready(struct lbd *l, char *why, size_t whylen);
json_t *syncwatch_group_cmd(struct lbd *l);	/* control "group" */

/* ---- dns.c: the VIPs' records in DNS (config "dns") ---- */
void dns_init(struct lbd *l);
void dns_config(struct lbd *l);		/* after a reload */
void dns_tick(struct lbd *l);
void dns_close(struct lbd *l);		/* at exit: may withdraw (waits up to timeout_ms) */
json_t *dns_json(const struct lbd *l);	/* status "dns" */
/* For -t: nsupdate is there, the key file is private.  0 / -1 with err. */
int dns_check(const struct config *cfg, char *err, size_t errlen);
/* Pure: the nsupdate script for op[i] (per dns.vips: -1 nothing, 0 delete,
 * 1 add) into buf.  The number of changes, or -1 if buf is too small. */
int dns_script(const struct config *cfg, const int8_t *op, char *buf, size_t len);

/* ---- cluster.c: the NFS cluster map (lib/cluster_wire.h) to every node ---- */
/* ---- cluster.c: the NFS cluster map and the node states (lib/cluster_wire.h)
 * to every node ---- */
/* After start and after every reload: new generation, send it now.  0, or
 * -1 (logged: e.g. the handoff key cannot be read; the old map stays). */
int cluster_apply(struct lbd *l);
void cluster_tick(struct lbd *l);	/* resend every CLUSTER_RESEND_MS */
/* A node's drain changed: the node states to every node now (before the
 * drain starts moving sessions), if they differ from the last sent. */
void cluster_states_send(struct lbd *l);
json_t *cluster_cmd(struct lbd *l);	/* {"cmd":"cluster"} */
void cluster_close(struct lbd *l);
/* main.c */
int lbd_reload(struct lbd *l);

#endif
