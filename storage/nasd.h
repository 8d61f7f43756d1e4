/*
 * nasd.h - tandem-nasd's configuration and context, shared by its parts:
 *
 *   main.c, control.c, config.c, listen.c   the daemon: arguments, signals,
 *                    the control socket, the JSON configuration, listeners
 *   http/            the HTTP file service and its sessions (http.h)
 *   nfs/             NFSv3, MOUNT and the portmapper (nfs.h)
 *   handoff/         the session handoff engine (handoff.h)
 *   tch/             libtch: TCP_REPAIR freeze/restore and the flow drop
 *                    (tch.h, flowdrop.h); linked as its own library
 *
 * Ownership: struct nasd owns every HTTP session and the NFS server, the
 * handoff agent and their sockets; doc/architecture.md draws the whole.
 */
#ifndef TANDEM_NASD_H
#define TANDEM_NASD_H

#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/ctl_server.h"
#include "lib/keyfile.h"
#include "lib/loop.h"
#include "storage/cidr.h"
#include "storage/log_client.h"
#include "storage/metrics.h"
#include "storage/http/http_parse.h"

/* ---- config.c: the daemon's configuration (doc/nasd.md) ---- */

#define NASD_MAX_LISTEN 16
#define NASD_MAX_EXPORTS 16
#define NASD_MAX_THROTTLE 8
#define NASD_URL_MAX 128
#define NASD_NAME_MAX 64

struct nasd_listen {
	struct taddr addr;
	uint16_t port;
};

#define NASD_HTTP_MAX_CLIENTS 32

/* Who may write to a writable export ("write_auth"). */
enum nasd_write_auth {
	NASD_WAUTH_TOKEN = 0,	/* Authorization: Bearer <the token in write_token_file> */
	NASD_WAUTH_NONE,	/* anyone the "clients" list lets in (labs) */
};

struct nasd_export {
	char url[NASD_URL_MAX];		/* "/" or "/prefix/" */
	size_t url_len;
	char path[CFG_PATH_MAX * 4];	/* absolute directory */
	int writable;			/* PUT allowed: "writable" and a way to authenticate */
	int write_denied;		/* "writable" asked, but no token and no "write_auth":
					 * "none": served read-only (-t and the log say so) */
	int write_auth;			/* enum nasd_write_auth */
	char token_file[CFG_PATH_MAX];	/* "write_token_file" ("" none) */
	uint8_t token[KEYFILE_MAX];	/* its token, read by export_open_all */
	size_t token_len;
	struct nasd_cidr clients[NASD_HTTP_MAX_CLIENTS];	/* "clients" */
	unsigned nclients;		/* 0: any client */
	int nfs_policy;			/* "nfs_policy": a PUT also needs the NFS export's
					 * client_groups to let the client write */
	int dirfd;			/* O_PATH of path, opened by export_open_all */
};

struct nasd_throttle {
	char prefix[NASD_URL_MAX];	/* "/slow/": stripped, the rest is an export path */
	uint32_t rate;			/* bytes/s per session, or */
	char rate_arg[32];		/* ... from this query parameter ("bps") */
};

#define NASD_MAX_PEERS 16

/* A peer storage node for session handoff (its channel address). */
struct nasd_peer {
	char name[NASD_NAME_MAX];
	struct taddr addr;
	uint16_t port;
};

/* The "handoff" section (doc/nasd.md, "Session handoff"). */
struct nasd_handoff_config {
	int enabled;
	struct taddr listen_addr;	/* this node's channel endpoint (storage address) */
	uint16_t listen_port;
	struct nasd_peer peers[NASD_MAX_PEERS];
	unsigned npeers;
	struct taddr switch_addr;	/* where lbd takes reports (storage gateway) */
	uint16_t switch_port;
	char key_file[CFG_PATH_MAX];
	uint32_t cluster_id;
	char interface[32];		/* flowdrop: ingress (storage interface) */
	char egress_interface[32];	/* "" = interface */
	char bpf_object[CFG_PATH_MAX];	/* "" = FLOWDROP_OBJ_DEFAULT */
	char pin_dir[CFG_PATH_MAX];	/* bpffs directory, "" = no pinning */
	uint32_t grace_ms;		/* old node keeps dropping the flow after closing */
	uint32_t guard_ms;		/* expiry of every drop taken before freeze/restore */
	uint32_t timeout_ms;		/* waiting for the peer at each step */
	uint32_t report_timeout_ms;	/* waiting for the switch's ack (per try) */
	uint32_t report_tries;
	uint32_t pin_hold_s;		/* an operator's move pins a session that long (0: never) */
	uint32_t spin_us;		/* busy-wait for the next frame of a handoff */
	uint32_t hold_kb;		/* held per frozen session, KiB (0: only drop; doc/tch.md) */
	uint32_t hold_total_kb;		/* held in all, this process (the ring's 4 MiB come on top) */
};

/* ---- NFS: the "nfs" section, parsed by nfs_config.c ---- */
#define NASD_NFS_MAX_CLIENTS 32
#define NASD_NFS_MAX_GROUPS 16
#define NASD_NFS_GROUP_NAME 256
#define NASD_NFS_MAX_PROVIDERS 4	/* policy_providers */
#define NASD_NFS_POLICY_MAX_ADDRS 65536	/* resolved hosts of all groups together */

/* One of "client_groups" (nfs_policy_config.c, doc/directory.md "Export
 * policy"): who (a network, a directory netgroup or a host name, resolved
 * through NSS) and what it may do; the first group a client matches wins. */
enum nasd_nfs_cg_kind { NASD_CG_NETWORK = 0, NASD_CG_NETGROUP, NASD_CG_HOST };
struct nasd_nfs_client_group {
	int kind;			/* enum nasd_nfs_cg_kind */
	char name[NASD_NFS_GROUP_NAME];	/* the netgroup or host name; "" for a network */
	struct nasd_cidr net;		/* NASD_CG_NETWORK */
	int writable;			/* and the section's "writable" */
	int root_squash;
	uint32_t anonuid, anongid;
};
struct nasd_nfs_config {
	int enabled;
	struct nasd_listen listen[NASD_MAX_LISTEN];	/* NFS + MOUNT (2049) */
	unsigned nlisten;
	struct nasd_listen pmap[NASD_MAX_LISTEN];	/* portmapper (111) */
	unsigned npmap;
	char export_name[NASD_URL_MAX];	/* what clients mount: "/export" */
	char path[CFG_PATH_MAX * 4];	/* absolute directory */
	uint32_t export_id;
	struct nasd_cidr clients[NASD_NFS_MAX_CLIENTS];
	unsigned nclients;
	char fh_key_file[CFG_PATH_MAX];
	uint32_t node_id;		/* 1..255: in every handle this node issues */
	int writable;
	/* root_squash (the default): AUTH_SYS uid 0 and gid 0 (also among
	 * the groups) act as anonuid / anongid (65534 as exportfs); AUTH_NONE
	 * (MOUNT) is always anonymous */
	int root_squash;
	uint32_t anonuid, anongid;
	/* manage_gids: an AUTH_SYS caller's groups are its uid's groups from
	 * NSS (the directory), cached gids_cache_ms, instead of the at most 16
	 * its call carries (nfs_gids.c) */
	int manage_gids;
	uint32_t gids_cache_ms;
	/* "client_groups" (0: every client of "clients" gets the section's
	 * writable / root_squash / anon ids); evaluated again every
	 * policy_refresh_ms, netgroups with at most policy_max_members hosts */
	struct nasd_nfs_client_group groups[NASD_NFS_MAX_GROUPS];
	unsigned ngroups;
	uint32_t policy_refresh_ms;
	uint32_t policy_max_members;
	/* "policy_providers": the directory providers this node's replica
	 * pulls from ("addr:port"); without an established connection to any
	 * of them for dir_lost_ms ("policy_provider_lost_s") the policy is
	 * stale (nfs_dirlink.c) */
	struct taddr dir_prov[NASD_NFS_MAX_PROVIDERS];
	uint16_t dir_prov_port[NASD_NFS_MAX_PROVIDERS];
	unsigned ndir_prov;
	uint32_t dir_lost_ms;
	uint32_t max_io;		/* READ/WRITE size (rtmax/wtmax) */
	uint32_t idle_timeout_ms;	/* a client connection without traffic is closed */
	uint32_t max_conns_per_client;	/* connections from one client address */
	/* NLM: after a start, only reclaims are granted for this long (the
	 * clients of the node's previous life take their locks back first) */
	uint32_t nlm_grace_s;
	/* NLM: the client hosts that took locks here, kept across restarts
	 * so a restarted node tells them (SM_NOTIFY); "" none */
	char nlm_hosts_file[CFG_PATH_MAX];
	/* "namespace": a virtual root whose top-level
	 * directories each live on a home node; calls on another node's
	 * handles are forwarded to it (nfs_proxy.c) */
	int vroot;
	struct { char dir[256]; uint8_t node_id; } homes[64];
	unsigned nhomes;
	struct { uint8_t node_id; struct taddr addr; uint16_t port; } peers[16];
	unsigned npeers;
	uint32_t proxy_timeout_ms;
	uint64_t handoff_threshold;	/* forwarded READ/WRITE bytes before a handoff home */
	/* "from_switch": homes, peers, threshold, export and clients come from
	 * lbd's cluster map (nfs_cluster.c); until one arrives, no homes */
	int from_switch;
};
/* Parse the "nfs" object (nfs_config.c).  0 / -1 with the message in the jconf. */
struct jconf;
int nasd_nfs_config_parse(struct jconf *p, json_t *o, struct nasd_nfs_config *c);
/* "client_groups", "policy_refresh_s", "policy_max_members" of the "nfs"
 * object (nfs_policy_config.c; after the section's writable, root_squash
 * and anon ids, the groups' defaults).  0 / -1 (message in p). */
int nasd_nfs_policy_parse(struct jconf *p, json_t *o, struct nasd_nfs_config *c);
/* What the section allows, for -t (nfs_config.c): one line per fact. */
void nasd_nfs_describe(const struct nasd_nfs_config *c, FILE *f);
/* ---- end NFS ---- */

/* ---- remote.c: data location (files whose home is another node) ---- */
#define NASD_MAX_HOMES 16
struct nasd_home {
	char prefix[NASD_URL_MAX];	/* "/h1/": every path below lives on node */
	size_t prefix_len;
	char node[NASD_NAME_MAX];
	struct taddr addr;		/* the home's own HTTP address (not the VIP) */
	uint16_t port;
};
struct nasd_data_location {
	int enabled;
	uint64_t threshold;		/* bytes fetched for one session, then it goes home */
	uint64_t piece;			/* bytes per fetch */
	uint32_t timeout_ms;		/* one fetch, connect to last byte */
	struct nasd_home homes[NASD_MAX_HOMES];
	unsigned nhomes;
	struct nasd_cidr clients[NASD_HTTP_MAX_CLIENTS];	/* who may read other
						 * nodes' files through this one; 0: any */
	unsigned nclients;
};
struct jconf;
int remote_config_parse(struct jconf *p, json_t *o, struct nasd_data_location *dl);

struct nasd_config {
	char node_name[NASD_NAME_MAX];	/* "" = no /node, no X-Tandem-Node */
	struct nasd_listen listen[NASD_MAX_LISTEN];
	unsigned nlisten;
	struct nasd_export exports[NASD_MAX_EXPORTS];
	unsigned nexports;
	struct nasd_throttle throttle[NASD_MAX_THROTTLE];
	unsigned nthrottle;
	char control_socket[CFG_PATH_MAX];
	uint32_t max_sessions;
	uint64_t max_upload;
	uint64_t upload_reserve;	/* disk reserved ahead of a PUT body, per upload */
	uint64_t upload_reserve_total;	/* ... and for all uploads together */
	uint32_t idle_timeout_ms;	/* keep-alive connection without a request */
	uint32_t head_timeout_ms;	/* a request head arriving */
	uint32_t io_timeout_ms;		/* no progress sending or receiving a body */
	int fsync_uploads;
	struct nasd_handoff_config ho;	/* "handoff" section (enabled = 0: absent) */
	struct nasd_data_location dl;	/* "data_location" section (remote.c) */
	struct nasd_nfs_config nfs;	/* "nfs" section (enabled = 0: absent) */
	struct nasd_metrics_config metrics;	/* "metrics" section (metrics.h) */
};

/* Parse configuration text (pure).  0, or -1 with a one-line message. */
int nasd_config_parse(const char *text, size_t len, struct nasd_config *cfg, char *err,
		      size_t errlen);
/* Read and parse a file.  0 / -1 (message in err). */
int nasd_config_load(const char *path, struct nasd_config *cfg, char *err, size_t errlen);

struct session;
struct handoff;
struct nfs_server;

struct nasd_stats {
	uint64_t sessions_total, sessions_restored, sessions_released, refused_busy;
	uint64_t requests, bytes_out, bytes_in, body_bytes_out, body_bytes_in;
	uint64_t status_class[6];	/* [2] = 2xx ... [5] = 5xx */
	uint64_t uploads, bad_requests, timeouts;
	uint64_t dl_fetches, dl_fetched_bytes, dl_fetch_errors, dl_home_ok, dl_home_failed;
	/* NFS connections handed to their data's home (storage/nfs/nfs_home.c):
	 * moves done and failed; tries after a failed one; connections that
	 * stopped trying (NFS_HOME_TRIES); tries refused as busy (a large WRITE
	 * half received); connections never candidates (made to this node's
	 * own address), held back by a pin, or whose home drained */
	uint64_t nfs_home_ok, nfs_home_failed, nfs_home_retried, nfs_home_gave_up, nfs_home_busy;
	uint64_t nfs_home_not_vip, nfs_home_pinned, nfs_home_draining;
	/* half handoffs this node started (storage/http/half.c): asked for,
	 * moves scheduled at the end of the reply, cancelled */
	uint64_t half_started, half_scheduled, half_cancelled;
};

/*
 * A connection an operator's move brought to this node (a switch MOVE:
 * tandemctl handoff/migrate, drain, the load trigger; or a node's handoff
 * control command) is pinned here for handoff.pin_hold_s: the node's own
 * automatic moves (the data-location rules) leave it alone until then.
 * Each kind of connection keeps one (storage/handoff/policy.c sets and
 * reads it through its ops' pin_of).
 */
struct ho_pin {
	uint64_t until_ms;		/* loop_now_ms(); 0: not pinned */
	uint8_t cause;			/* HO_CAUSE_* (lib/handoff_wire.h) */
	char from[NASD_NAME_MAX];	/* the node it came from */
};

struct nasd_listener {
	struct loop_io io;
	struct nasd *nasd;
	struct nasd_listen addr;
};

struct nasd {
	struct loop loop;
	struct loop_signals sigs;
	struct loop_timer tick;		/* timeouts, once a second */
	struct loop_timer pace;		/* 10 ms while a session is throttled */
	int pace_armed;
	struct ctl_server ctl;
	const char *config_path;
	struct nasd_config cfg;
	struct nasd_listener listeners[NASD_MAX_LISTEN];
	unsigned nlisteners;
	struct session *sessions;	/* list head */
	unsigned nsessions, nthrottled;
	uint64_t next_id;
	uint64_t started_ms;
	struct http_limits lim;		/* the parser's, with max_body = max_upload */
	int accept_paused;		/* out of fds: listeners off until the next tick */
	struct nasd_stats st;
	struct log_rate http_log;	/* http_refused lines (http_server.c) */
	char *scratch;			/* upload copy buffer (NASD_SCRATCH) */
	uint64_t reserved;		/* disk reserved ahead of PUT bodies, all sessions */
	struct handoff *ho;		/* handoff agent (handoff/), NULL if not configured */
	struct nfs_server *nfs;		/* NFS service (nfs_server.c), NULL if not configured */
	struct nasd_metrics *metrics;	/* /metrics listener (metrics.c), NULL if not configured */
};

#define NASD_SCRATCH (256 * 1024)

/* ---- control.c ---- */
int control_open(struct nasd *n);
void control_close(struct nasd *n);
json_t *control_dispatch(struct nasd *n, const json_t *req);

#endif
