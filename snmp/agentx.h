/*
 * agentx.h - tandem-agentx: the AgentX subagent serving TANDEM-MIB.txt.
 *
 * Modules: main.c (options, net-snmp setup, the event loop), poll.c (one
 * snapshot of lbd's and syncd's control sockets, turned into plain structs),
 * mib.c (registration with the net-snmp agent library, the handlers that
 * serve the last snapshot, notifications on transitions).
 *
 * Data flow, once per poll interval: poll_snapshot() fills a fresh
 * struct snap; mib_update() compares it with the previous one (sending the
 * notifications), rebuilds the tables' rows and keeps it as the current
 * one.  Requests from snmpd only ever read the current snapshot: polling
 * and request handling run in the same thread, one after the other.
 */
#ifndef TANDEM_AGENTX_H
#define TANDEM_AGENTX_H

#include <stddef.h>
#include <stdint.h>

/* TandemRole values (TANDEM-MIB) */
enum { ROLE_UNKNOWN = 1, ROLE_INIT, ROLE_MASTER, ROLE_BACKUP, ROLE_FAULT };
/* tandemSyncPeerState values */
enum { SYNC_NOT_CONFIGURED = 1, SYNC_SYNCD_DOWN, SYNC_PEER_DOWN, SYNC_SYNCING, SYNC_SYNCED };
/* tandemNodeState values */
enum { NODE_UP = 1, NODE_DOWN, NODE_UNKNOWN };
/* InetAddressType values */
enum { INET_IPV4 = 1, INET_IPV6 = 2 };

#define AGX_NAME_MAX 64
#define AGX_TEXT_MAX 255

struct vip_row {
	uint32_t index;			/* svc_id + 1 */
	char name[AGX_NAME_MAX + 1];
	int atype;			/* INET_IPV4 / INET_IPV6 */
	uint8_t addr[16];		/* 4 or 16 bytes used (atype) */
	int proto;			/* 6 / 17 */
	uint32_t port;
	uint32_t nodes_in_table;
	uint64_t packets, bytes, new_flows;
};

struct node_row {
	uint32_t index;			/* node id + 1 */
	char name[AGX_NAME_MAX + 1];
	int atype;
	uint8_t addr[16];
	int state;			/* NODE_* */
	int drain;			/* 0/1 */
	int link_up;			/* 0/1 */
	uint32_t weight;
	uint32_t flows;
	uint64_t packets, bytes, new_flows;
	uint64_t handoffs_in, handoffs_out;	/* 0 when lbd does not report them */
	uint32_t checks, checks_ok;
	char health_error[AGX_TEXT_MAX + 1];
};

struct sess_row {
	int atype;			/* of both addresses */
	uint8_t client[16], vip[16];
	uint32_t client_port, vip_port;
	int proto;
	char node[AGX_NAME_MAX + 1];
	uint32_t node_index;		/* 0 if the name is not in the node table */
	uint64_t packets, bytes;
	uint32_t idle_ms;
	char flags[AGX_TEXT_MAX + 1];
};

struct group_row {			/* active-active: status "groups" (and "dns") */
	uint32_t index;			/* place in vrrp.groups + 1 */
	char name[AGX_NAME_MAX + 1];
	int role;			/* ROLE_* */
	uint32_t preferred;
	int preferred_here;		/* 0/1 */
	char vips[AGX_TEXT_MAX + 1];	/* names, space-separated */
	char dns[AGX_TEXT_MAX + 1];	/* addresses whose record we published */
};

/* One poll's view of the switch.  Arrays are malloc'ed and owned by the
 * snapshot (snap_free). */
struct snap {
	int lbd_up;			/* lbd answered every request of this poll */
	int role;			/* ROLE_* */
	uint32_t uptime_s, flows, flow_table_size, nodes_up, nodes_total, reloads;
	uint32_t ho_requested, ho_ok, ho_failed;
	uint32_t rep_handled, rep_failed, rep_rejected, rep_replayed;

	int sync_state;			/* SYNC_* */
	int peer_alive, synced;
	uint32_t lag_p50_us, lag_p99_us;
	uint64_t sync_tx_flows, sync_rx_flows;

	struct vip_row *vips;
	size_t nvips;
	struct node_row *nodes;
	size_t nnodes;
	struct sess_row *sess;
	size_t nsess;
	struct group_row *groups;
	size_t ngroups;
};

struct agx_tables;			/* mib.c's net-snmp objects */

/* The process context: options, the current snapshot, net-snmp handles. */
struct agx {
	const char *lbd_sock;		/* -s */
	const char *syncd_sock;		/* -y, NULL: no sync objects */
	const char *agentx_sock;	/* -x */
	unsigned interval_ms;		/* -i (seconds on the command line) */
	unsigned session_limit;		/* -n: rows of the session table */
	unsigned ctl_timeout_ms;	/* per control request */
	int foreground, verbose;

	struct snap cur;		/* what the MIB serves */
	int have_cur;			/* cur holds a successful poll (transitions need one) */
	int lbd_said;			/* the last lbd_up/lbd_down logged: 2 up, 1 down, 0 none */
	struct agx_tables *tab;
	uint64_t traps_sent;
};

/* poll.c */

/* Fill *s (zeroed by the caller) from the daemons' control sockets.  Never
 * fails as a whole: an unreachable lbd gives lbd_up = 0 (and empty arrays),
 * an unreachable syncd gives sync_state SYNC_SYNCD_DOWN.  Problems are
 * logged once per change of state by the caller. */
void poll_snapshot(struct agx *a, struct snap *s);
void snap_free(struct snap *s);
/* "master" -> ROLE_MASTER ...; ROLE_UNKNOWN for anything else. */
int role_parse(const char *s);
const char *role_name(int role);
/* Parse a literal address into 4 or 16 bytes; returns the InetAddressType, 0 if
 * s is not an address. */
int inet_bytes(const char *s, uint8_t out[16]);

/* mib.c */

/* Register the MIB's objects with the agent library (after init_agent,
 * before init_snmp).  Returns 0, -1 after logging. */
int mib_register(struct agx *a);
/* Take snapshot *s (ownership moves to a; *s is zeroed): notifications for
 * what changed since the previous one, then serve it. */
void mib_update(struct agx *a, struct snap *s);
void mib_unregister(struct agx *a);

#endif
