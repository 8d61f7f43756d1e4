/*
 * config.h - the appliance configuration (doc/config.md), parsed from JSON.
 *
 * config_parse() is pure: text in, struct out, no I/O, so it can be fuzzed
 * and unit-tested; config_load() reads a file and calls it.
 */
#ifndef TANDEM_CONFIG_H
#define TANDEM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "lib/flow_key.h"

#define CFG_NAME_MAX 32
#define CFG_MAX_NODES (LB_MAX_NODES - 1)	/* ids 0..254 */
#define CFG_MAX_VIPS 64
#define CFG_PATH_MAX 108			/* fits a UNIX socket path */

enum cfg_attach { CFG_ATTACH_TC = 0, CFG_ATTACH_XDP = 1 };

struct cfg_node {
	char name[CFG_NAME_MAX + 1];
	struct taddr addr;
	uint32_t weight;
	char port[16];		/* switch interface facing this node ("" = none) */
};

struct cfg_service {
	uint8_t proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t port;		/* host order */
	uint8_t affinity;	/* 1: all connections of a client go to one node */
	int probe;		/* index into config.probes, or -1: none given here */
};

/*
 * A service's health probe ("probe" in doc/config.md): bytes sent to the
 * node's own address and port, and the reply that must come back.  UDP:
 * send is one datagram (required), expect matched against the one reply
 * (absent: any reply from the node will do).  TCP: after the connect, send
 * (optional: banner protocols), then expect (required) is matched against
 * the start of the stream.  One check per node and proto/port: every
 * service on a proto/port shares the probe given on any of them.
 */
#define CFG_PROBE_MAX 512
struct cfg_probe {
	uint16_t send_len;	/* 0: send nothing (TCP only) */
	uint16_t expect_len;	/* 0: any reply (UDP only) */
	uint8_t expect_prefix;	/* 1: the reply starts with expect; 0: it is expect, exactly */
	uint8_t send_hex, expect_hex;	/* given in hex (so shown in hex by tandem-lbd -t) */
	uint8_t send[CFG_PROBE_MAX];
	uint8_t expect[CFG_PROBE_MAX];
};

struct cfg_vip {
	char name[CFG_NAME_MAX + 1];
	struct taddr addr;
	int group;		/* index into vrrp.groups; -1: no groups (the pair's one group) */
	int bgp;		/* announced by BGP (bgp.vips), never moved by VRRP */
	unsigned nsvc;
	struct cfg_service svc[LB_MAX_SVCS];
};

struct cfg_health {
	uint32_t interval_ms, timeout_ms, rise, fall;
};

/* Pairing: tandem-syncd (optional; absent = a single switch).  A pair
 * names its "peer"; a scale-out group (doc/scaleout.md) lists every
 * member's sync address in "group", the same list on every switch, this
 * switch's "local" among them: a member's index in it is its bit in the
 * HELLO's heard mask (sessionsync/group.c). */
#define CFG_SYNC_MAX_MEMBERS 8
struct cfg_sync {
	int enabled;
	uint32_t switch_id;		/* non-zero, differs between the switches */
	struct taddr local, peer;	/* addresses on the dedicated sync link (peer: pair only) */
	struct taddr members[CFG_SYNC_MAX_MEMBERS];	/* group: every member, local too */
	unsigned nmembers;		/* 0: a pair */
	unsigned self;			/* group: index of local in members */
	uint16_t port;
	char key_file[CFG_PATH_MAX];	/* hex HMAC key, >= 32 bytes */
	char control_socket[CFG_PATH_MAX];
	uint32_t peer_dead_ms;		/* no HELLO for this long: peer considered gone */
	uint32_t idle_timeout_s;	/* master deletes flows idle this long (0 = never) */
};

/* Handoff reports from the storage nodes to lbd (optional). */
struct cfg_handoff {
	int enabled;
	uint16_t port;			/* UDP port lbd listens on (all addresses) */
	char key_file[CFG_PATH_MAX];	/* hex HMAC key shared with the nodes */
	uint32_t cluster_id;
	uint32_t peer_confirm_ms;	/* paired: wait this long for the peer's copy */
	uint32_t drain_parallel;	/* drain moves sessions, this many at once; 0: it does not */
	uint32_t move_timeout_ms;	/* a drain/load MOVE without an answer fails after this */
	uint32_t load_max_sessions;	/* load trigger: move sessions off a node above this; 0 off */
	uint32_t load_check_ms;		/* ... looked at this often (and no sooner after a round) */
};

/* VRRP through keepalived (optional; generated config, see failover/). */
#define CFG_MAX_GW 4
#define CFG_MAX_GROUPS 8
#define CFG_GROUP_NAME_MAX 16

/*
 * Active-active ("vrrp.groups", doc/failover.md "Active-active"): each group
 * of VIPs is one VRRP instance of its own (one keepalived sync group), held
 * by its preferred switch while that one is up, by the other one else.  The
 * gateways (client and storage) travel with the first group.
 */
struct cfg_vrrp_group {
	char name[CFG_GROUP_NAME_MAX + 1];	/* [A-Za-z0-9_-] */
	uint32_t preferred;		/* sync.switch_id of the switch that holds it by choice */
	uint32_t router_id;		/* its client-side VRRP id (the storage side: vrrp.router_id + 1) */
	unsigned nvips;
	uint8_t vips[CFG_MAX_VIPS];	/* indexes into config.vips */
};

struct cfg_vrrp {
	int enabled;
	uint32_t router_id;		/* client side; storage side uses router_id + 1 */
	uint32_t priority;		/* groups: this switch's priority for the groups it prefers */
	uint32_t backup_priority;	/* groups: ... and for the others (< priority) */
	unsigned ngroups;		/* 0: active-standby, one sync group for every VIP */
	struct cfg_vrrp_group groups[CFG_MAX_GROUPS];
	uint32_t advert_int_ms;		/* default 20: crash takeover under 100 ms (doc/failover.md) */
	uint32_t rt_priority;		/* keepalived's VRRP process under SCHED_RR at this; 0: not */
	int preempt;
	unsigned ngw, ncgw;
	char gateway[CFG_MAX_GW][64];	/* storage-LAN gateway addresses with prefix ("10.0.2.1/24") */
	char client_gw[CFG_MAX_GW][64];	/* client-LAN gateway addresses, moved with the VIPs */
	struct taddr unicast_peer;	/* family 0: multicast adverts */
	struct taddr unicast_src;
	char notify[CFG_PATH_MAX];	/* tandem-failover binary */
	char pid_dir[CFG_PATH_MAX];	/* keepalived pid files */
	char snmp_socket[CFG_PATH_MAX];	/* AgentX master for keepalived's VRRP MIBs; "" off */
};

/* The NFS namespace (optional): the export, who may mount it and
 * which node is home to each top-level directory.  lbd hands it to the
 * nodes as the cluster map (lib/cluster_wire.h, lb/cluster.c). */
#define CFG_NFS_MAX_CLIENTS 32
#define CFG_NFS_MAX_HOMES 64
struct cfg_nfs {
	int enabled;
	char export_name[128];		/* "/export": starts with '/', < 128 bytes */
	unsigned nclients;
	struct { struct taddr addr; uint8_t plen; } clients[CFG_NFS_MAX_CLIENTS];
	unsigned nhomes;
	struct { char dir[256]; char node[CFG_NAME_MAX + 1]; } homes[CFG_NFS_MAX_HOMES];
	uint64_t handoff_threshold;	/* forwarded READ/WRITE bytes before a session goes home */
};

/*
 * The round-robin DNS front end (optional, doc/dns.md): the master of each
 * VRRP group keeps one A/AAAA record per published VIP of that group at
 * "name" true by RFC 2136 updates signed with TSIG, through nsupdate.
 */
#define CFG_DNS_NAME_MAX 253
struct cfg_dns {
	int enabled;
	char name[CFG_DNS_NAME_MAX + 1];	/* the service name, no trailing dot */
	char zone[CFG_DNS_NAME_MAX + 1];	/* the zone it lives in (name itself or a parent) */
	struct taddr server;		/* the primary that takes the updates */
	uint16_t port;
	uint32_t ttl;			/* of the records we add */
	char key_file[CFG_PATH_MAX];	/* TSIG key in BIND's format (tsig-keygen), mode 0600 */
	char nsupdate[CFG_PATH_MAX];	/* the nsupdate binary */
	uint32_t timeout_ms;		/* one update attempt */
	uint32_t retry_ms;		/* a failed update is retried after this */
	uint32_t refresh_s;		/* published records are re-added this often (0: never) */
	unsigned nvips;
	uint8_t vips[CFG_MAX_VIPS];	/* published VIPs, indexes into config.vips (default all) */
};

/*
 * The directory (optional, doc/directory.md): users, groups and netgroups
 * in LDAP.  "pair": slapd on both switches in multi-provider (mirror mode)
 * replication, read-only syncrepl replicas on the nodes, all generated by
 * `tandem-failover slapdconf` from this section; "external": a site's own
 * LDAP at uri, nothing generated.
 */
#define CFG_DIR_MAX_PROVIDERS 2
#define CFG_DN_MAX 255
enum cfg_dir_mode { CFG_DIR_NONE = 0, CFG_DIR_PAIR, CFG_DIR_EXTERNAL };
struct cfg_directory_provider {
	uint32_t switch_id;		/* 1..4095: it is slapd's serverID */
	struct taddr addr;		/* where the peer and the nodes' replicas reach it */
};
struct cfg_directory {
	enum cfg_dir_mode mode;
	char base[CFG_DN_MAX + 1];	/* the suffix, "dc=example,dc=com" */
	char uri[CFG_PATH_MAX];		/* external: "ldap://..." or "ldaps://..." */
	/* pair: one provider per switch, by sync.switch_id */
	unsigned nproviders;
	struct cfg_directory_provider providers[CFG_DIR_MAX_PROVIDERS];
	uint16_t port;
	char root_dn[CFG_DN_MAX + 1];		/* default "cn=admin,BASE" */
	char root_password_file[CFG_PATH_MAX];	/* cleartext, mode 0600: provider binds */
	char replica_dn[CFG_DN_MAX + 1];	/* default "cn=replica,BASE": the nodes' binds */
	char replica_password_file[CFG_PATH_MAX];
	char data_dir[CFG_PATH_MAX];		/* slapd's mdb */
	char run_dir[CFG_PATH_MAX];		/* pid file and ldapi socket */
	char schema_dir[CFG_PATH_MAX];
	char module_dir[CFG_PATH_MAX];
	char ca_file[CFG_PATH_MAX];		/* TLS ("" off): StartTLS for replication */
	char cert_file[CFG_PATH_MAX];
	char key_file[CFG_PATH_MAX];
};

/*
 * Scale-out behind an ECMP router (optional, doc/scaleout.md): BIRD 2 on
 * this switch announces each of bgp.vips to the neighbors while this switch
 * can serve it (tandem-lbd enables and disables the VIP's static protocol
 * through birdc); BFD makes a dead switch leave the router's ECMP group in
 * interval_ms x multiplier.  "tandem-failover birdconf" writes bird.conf.
 */
#define CFG_BGP_MAX_NEIGHBORS 8
/* bird.conf's static protocol holding the route of VIP index N (of
 * config.vips): "tdm_vipN", what tandem-lbd enables and disables. */
#define CFG_BGP_VIP_PROTO "tdm_vip%u"
struct cfg_bgp {
	int enabled;
	uint32_t local_as;		/* 1..4294967295 */
	struct taddr router_id;		/* IPv4 */
	unsigned nneighbors;
	struct { struct taddr addr; uint32_t as; } neighbors[CFG_BGP_MAX_NEIGHBORS];
	uint32_t hold_s;		/* BGP hold time (3..65535); BFD is what detects faster */
	uint32_t bfd_interval_ms;	/* 0: no BFD */
	uint32_t bfd_multiplier;
	char birdc[CFG_PATH_MAX];	/* the birdc binary */
	char socket[CFG_PATH_MAX];	/* BIRD's control socket */
	uint32_t timeout_ms;		/* one birdc run */
	uint32_t refresh_ms;		/* the wanted states are told again this often */
	unsigned nvips;
	uint8_t vips[CFG_MAX_VIPS];	/* announced VIPs, indexes into config.vips */
};

struct config {
	char instance[CFG_NAME_MAX + 1];
	char bpffs[CFG_PATH_MAX];
	char control_socket[CFG_PATH_MAX];
	char client_if[16];
	char storage_if[16];
	enum cfg_attach attach;
	uint32_t flow_table_size;
	uint32_t maglev_size;
	struct cfg_health health;
	unsigned nnodes;
	struct cfg_node nodes[CFG_MAX_NODES];
	unsigned nvips;
	struct cfg_vip vips[CFG_MAX_VIPS];
	unsigned nsvc_total;	/* services over all VIPs (<= LB_MAX_SVCS) */
	struct cfg_sync sync;
	struct cfg_vrrp vrrp;
	struct cfg_handoff handoff;
	struct cfg_nfs nfs;
	struct cfg_dns dns;
	struct cfg_directory directory;
	struct cfg_bgp bgp;
	unsigned nprobes;
	struct cfg_probe probes[LB_MAX_SVCS];	/* one per service that gives one */
};

/*
 * Parse JSON text buf[0..len) into *cfg (fully overwritten).  Returns 0, or
 * -1 with a one-line message naming the offending key in err (errlen bytes).
 */
int config_parse(const char *buf, size_t len, struct config *cfg, char *err, size_t errlen);

/* Read and parse a file; the message in err is prefixed with the path. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* The probe of the services on proto/port (any VIP), or NULL: none given
 * (TCP: a plain connect check; UDP: no check of its own). */
const struct cfg_probe *config_probe(const struct config *cfg, uint8_t proto, uint16_t port);

/* Index of the VIP with address a, or -1. */
int config_vip_by_addr(const struct config *cfg, const struct taddr *a);
/* Index of the VRRP group called name, or -1. */
int config_group_index(const struct config *cfg, const char *name);

/* The ldapi:// URL of the directory's slapd whose run_dir is given (its
 * socket run_dir/ldapi, percent-encoded) into buf.  0 / -1: does not fit. */
int config_dir_ldapi(const char *run_dir, char *buf, size_t len);

/* Index of the node called name, or -1. */
int config_node_index(const struct config *cfg, const char *name);

#endif
