/*
 * nfs_int.h - the NFS service's modules inside tandem-nasd, and what they
 * share (nfs.h is what the rest of nasd sees):
 *
 *   nfs_config.c    the "nfs" configuration section (pure)
 *   nfs_server.c    open and close, listeners, status
 *   nfs_conn.c      connections on the nasd loop: reading, record marking,
 *                   writing replies; client networks
 *   nfs_udp.c       the portmapper and MOUNT over UDP: one datagram, one call
 *   nfs_call.c      one call: its header, the DRC, then the program's
 *                   dispatcher (a table by program and version)
 *   nfs_drc.c       the duplicate request cache
 *   nfs_freeze.c    the NFS half of a session handoff (pause, snapshot,
 *                   release, restore; finding connections for the agent)
 *   nfs_ctl.c       the control commands nfs-conns, nfs-state, nfs-rebuild
 *   mount3.c        MOUNT v3
 *   portmap.c       portmapper v2 (answers for the services on this node)
 *   rpcbind.c       rpcbind v3/v4 (the same, with universal addresses)
 *   nlm*.c, nsm.c   NLM v4 and NSM: file locking (nlm.h)
 *   nfs3_call.c     NFSv3: the procedure table, routing to the home node
 *   nfs3_handle.c   NFSv3: the export, handles -> objects (inode cache)
 *   nfs3_obj.c      NFSv3: errno, attributes, credentials, names
 *   nfs3_attr.c     NFSv3: GETATTR SETATTR LOOKUP ACCESS READLINK FSSTAT
 *                   FSINFO PATHCONF
 *   nfs3_io.c       NFSv3: READ WRITE COMMIT
 *   nfs3_readdir.c  NFSv3: READDIR READDIRPLUS
 *   nfs3_entry.c    NFSv3: CREATE MKDIR SYMLINK MKNOD REMOVE RMDIR RENAME LINK
 *   nfs3_vroot.c    NFSv3: the namespace's virtual root
 *   nfs_proxy.c     one namespace: calls forwarded to their home node
 *   nfs_home.c      one namespace: a connection handed to its data's home
 *   nfs_xrename.c   one namespace: RENAME of a file to another home
 *   nfs_cluster.c   one namespace from lbd's cluster map
 *
 * The nfs3_*.c files share nfs3_int.h besides.  The codecs are pure, beside
 * them, and fuzzed (tests/fuzz/fuzz_rpc.c): oncrpc (record marking, call
 * header, replies, a connection's handoff blob), xdr (primitives), nfs3_xdr
 * (NFSv3, MOUNT and portmapper arguments and results), rpcb_xdr (rpcbind
 * v3/v4 and universal addresses), nfs_fh (the signed
 * handle).
 */
#ifndef TANDEM_NFS_INT_H
#define TANDEM_NFS_INT_H

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/cluster_wire.h"
#include "lib/keyfile.h"
#include "nfs.h"
#include "nfs_fh.h"
#include "storage/handoff/handoff.h"
#include "nfs3_xdr.h"
#include "oncrpc.h"
#include "storage/log_client.h"

#define NFS_REPLY_SLACK 65536	/* reply headers, attributes, READDIR beyond max_io */

/* A counter for status and control replies. */
static inline json_t *nfs_ju(uint64_t v)
{
	return json_integer((json_int_t)v);
}

#define NFS_INO_BUCKETS 4096
#define NFS_INO_MAX 262144	/* cache entries; over it the cache starts again */
#define NFS_REL_MAX 4096	/* a path below the export */

struct nfs_ino_ent {
	uint64_t ino;
	struct nfs_ino_ent *next;
	char rel[];		/* "" = the export root */
};

/*
 * Handles found stale by a scan of the export (nfs3_handle.c): remembered
 * for NFS_STALE_TTL_MS so the same handle again costs no second scan (a
 * scan reads up to 200 000 directory entries on the loop).  Direct-mapped
 * by inode (a collision replaces the older entry: bounded); an inode put
 * in the inode -> path cache (LOOKUP, CREATE, READDIR, MNT ...) drops its
 * entry at once.
 */
#define NFS_STALE_SLOTS 4096
#define NFS_STALE_TTL_MS 10000
struct nfs_stale_ent {
	uint64_t ino, at_ms;	/* at_ms 0: empty */
	uint32_t gen;
};

/*
 * Handles verified or signed (nfs3_handle.c): every call's handle is
 * checked by HMAC-SHA256 and every LOOKUP, CREATE, READDIRPLUS entry signs
 * one; OpenSSL's one-shot HMAC costs microseconds a call (a profile of
 * LOOKUP + GETATTR: 9% of nasd's CPU).  Identical bytes verified once with
 * the same key decode the same: a direct-mapped cache by MAC (verified
 * handles only: a forged one never enters it), and one by inode for the
 * handles signed.  Bounded, lost on restart (the key is loaded once).
 */
#define NFS_FHC_SLOTS 2048
struct nfs_fhc_ent {
	uint8_t h[NFS_FH_LEN];
	uint8_t used;
	struct nfs_fh f;
};

/*
 * Inode generations (FS_IOC_GETVERSION) by (device, inode, birth time)
 * (nfs3_handle.c): the ioctl needs an fd that is not O_PATH, opened through
 * /proc/self/fd (a path walk of procfs, open and close: three system calls
 * a handle, the largest cost of a LOOKUP after the network).  An inode
 * number that is reused belongs to a file born later, so (ino, btime)
 * names one inode; without a birth time (statx STATX_BTIME) the ioctl
 * runs every time.  Direct-mapped by inode, bounded.
 */
#define NFS_GEN_SLOTS 4096
struct nfs_gen_ent {
	uint64_t ino, dev;
	int64_t bsec;		/* 0 and bnsec 0: empty */
	uint32_t bnsec, gen;
};

/*
 * The duplicate request cache: replies of the non-idempotent NFSv3
 * procedures (SETATTR CREATE MKDIR SYMLINK MKNOD REMOVE RMDIR RENAME LINK),
 * keyed by client address, xid, program, procedure and a hash of the
 * version, the credential's identity (flavor, uid, gid, groups) and the
 * arguments (nfs_drc_key): a call from another uid that happens to reuse
 * an xid is run, not answered with someone else's reply.  A client
 * retransmits over TCP only after reconnecting; the
 * retransmission then gets the first answer instead of e.g. NFS3ERR_EXIST
 * for a CREATE that did happen.  Server-wide (a reconnection is a new
 * connection), a ring of the most recent NFS_DRC_SIZE.
 */
#define NFS_DRC_SIZE 256
/* manage_gids (nfs_gids.c): the groups one caller acts with, and the
 * uids cached */
#define NFS_CRED_GIDS_MAX 256
#define NFS_GIDS_SLOTS 1024
#define NFS_GIDS_BATCH 64	/* uids one resolver batch looks up */
#define NFS_GIDS_WAIT_MS 3000	/* a call held longer goes on with its own groups */
struct nfs_gids;
/* The ids a call acts with: its AUTH_SYS ones squashed, its groups from
 * NSS with manage_gids (more than AUTH_SYS's 16). */
struct nfs_cred {
	uint32_t uid, gid, ngids;
	uint32_t gids[NFS_CRED_GIDS_MAX];
};
struct nfs_drc_ent {
	int used;
	uint8_t addr[16];	/* v4 as v4-mapped v6 */
	uint32_t xid, prog, proc;
	uint64_t ahash;		/* nfs_drc_key */
	uint32_t len;
	uint8_t reply[RPC_CONN_DRC_REPLY];
};

struct nfs_listener {
	struct loop_io io;
	struct nfs_server *srv;
	struct nasd_listen addr;
};

/* A datagram's source: where the reply goes, from which socket (nfs_udp.c). */
struct nfs_dgram {
	int fd;			/* the UDP socket it came in on (bound to the address it was sent to) */
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

/* The largest datagram taken (a larger one is dropped: no MOUNT or
 * portmapper call comes near it) and the largest reply sent. */
#define NFS_UDP_MAX 8800

struct nfs_stats {
	uint64_t conns_total, records, calls, replies, dropped, garbage_args, proc_unavail,
		 prog_unavail, prog_mismatch, rpc_mismatch, auth_errors, refused, bad_handles,
		 stale, too_big, bytes_read, bytes_written, scans, drc_hits, frozen, restored,
		 forwarded, forward_errors, from_peers, idle_closed, client_limit, stale_cached;
	/* the handle and generation caches (nfs3_handle.c): answered from
	 * them, computed (HMAC, FS_IOC_GETVERSION) */
	uint64_t fh_hits, fh_macs, gen_hits, gen_reads;
	/* UDP (nfs_udp.c): datagrams in, replies out, from hosts outside
	 * "clients" (dropped unanswered), dropped as too long or unanswerable */
	uint64_t udp_in, udp_out, udp_refused, udp_dropped;
	/* manage_gids (nfs_gids.c): NSS lookups, cache hits, uids NSS does
	 * not know, users with more groups than NFS_CRED_GIDS_MAX */
	uint64_t gids_lookups, gids_hits, gids_unknown, gids_truncated;
	/* ... calls held for a lookup, held past NFS_GIDS_WAIT_MS, cache
	 * misses not held (their own groups), batches to the resolver */
	uint64_t gids_held, gids_timeouts, gids_misses, gids_batches;
	/* forwarded calls run with the client's group as the forwarding node
	 * decided (nfs_call.c; RPC_AUTH_TANDEM_FWD) */
	uint64_t fwd_decided;
	uint64_t proc[NFS3_NPROC];
};

/* What one client may do, as the export policy says now (nfs_policy.c). */
struct nfs_access {
	int allowed;		/* MOUNT and NFS calls answered at all */
	int writable;		/* else modifying calls get NFS3ERR_ROFS */
	int root_squash;
	uint32_t anonuid, anongid;
	int group;		/* the client group it matched, -1: none (or no groups) */
};

/* The export policy as resolved from the directory (nfs_policy.c): the
 * hosts of each netgroup / host group, its version and freshness. */
struct nfs_policy_addr {
	struct nasd_cidr a;	/* a host: /32 or /128 */
	uint8_t group;		/* index in cfg->groups */
};
struct nfs_policy {
	struct nfs_policy_addr *addrs;	/* sorted by group, then address */
	unsigned naddrs;
	uint64_t digest;	/* of the resolved policy: the same on every node */
	uint64_t seq;		/* bumped when digest changes: connections re-evaluate */
	uint64_t refreshed_ms, changed_ms, next_ms, stale_since_ms;
	uint64_t link_ms;	/* the replica was last seen connected to a provider */
	int stale;		/* the last refresh could not read the directory */
	char stale_why[160];
	unsigned truncated;	/* netgroups cut at policy_max_members */
	uint64_t refresh_us, refresh_max_us;	/* how long the last / longest read took */
	/* the resolver thread (one read at a time): it hands its result back
	 * through the pipe, read on the loop */
	struct loop_io io;	/* pipe's read end */
	int wfd, ready, busy;
	pthread_t thread;
	uint64_t refreshes, changes, failures, refused_calls, rofs_calls;
};

struct nfs_conn {
	struct loop_io io;
	struct nfs_server *srv;
	struct nfs_conn *prev, *next;
	uint64_t id;
	struct sockaddr_storage peer;
	int allowed;		/* peer inside a "clients" network */
	struct nfs_access acc;	/* what the policy of seq acc_seq lets it do */
	uint64_t acc_seq;
	uint32_t events;
	int paused;		/* frozen for a handoff: out of the loop */
	int waiting;		/* a call forwarded to its home node: no reading until the reply */
	int from_peer;		/* the peer is another node (forwarded calls) */
	int restored;		/* rebuilt from a blob */
	/* manage_gids (nfs_gids.c): held since (0: not) until its caller's
	 * groups are looked up; held too long, go on with the call's own */
	uint64_t gids_wait_ms;
	int gids_bypass;
	unsigned gids_pass;
	/* the AUTH_SYS ids of its last call (nfs-conns; tandemctl nfs-conns
	 * shows their names from NSS): has_cred 0 until one came */
	uint32_t last_uid, last_gid;
	int has_cred;
	/* data location (nfs_home.c): READ/WRITE bytes forwarded for it, per
	 * home (by cfg->peers index); the home it should move to (index + 1,
	 * 0: none yet); a move wanted at the next call boundary, not before
	 * home_after calls; moves tried; never a candidate (not a VIP
	 * session); what it was counted for; held: a handoff home is
	 * scheduled, read no call */
	uint64_t fwd_bytes[16];
	int home_peer, home_want, home_never, held;
	unsigned home_tries, home_counted;
	uint64_t home_after;
	struct ho_pin pin;	/* an operator's move brought it here */
	uint8_t *in;		/* raw stream bytes (record marks included) */
	size_t in_len, in_cap;
	uint8_t *out;		/* the reply being written: out[out_off, out_len) */
	size_t out_off, out_len, out_cap;
	uint64_t calls, started_ms, last_ms;
	char half_to[NASD_NAME_MAX + 1];	/* nfs_half.c: moves there once out[] is written */
};

struct nlm_server;

struct nfs_server {
	struct nasd *nasd;
	struct nlm_server *nlm;		/* NLM and NSM (nlm.h) */
	const struct nasd_nfs_config *cfg;
	struct nfs_listener ls[2 * NASD_MAX_LISTEN];
	unsigned nls;
	struct nfs_listener us[2 * NASD_MAX_LISTEN];	/* UDP, on the same addresses */
	unsigned nus;
	struct nfs_conn *conns;
	unsigned nconns;
	uint64_t next_id;
	uint8_t key[KEYFILE_MAX];
	size_t keylen;
	/* the export */
	int dirfd;		/* O_PATH of cfg->path */
	uint64_t root_ino;
	uint32_t root_gen;
	int has_gen;		/* FS_IOC_GETVERSION works on this file system */
	/* euid 0 with CAP_DAC_OVERRIDE: supplementary groups change nothing
	 * for nasd's own access, so a caller's stay set between calls and
	 * setgroups runs only when the next caller's differ (nfs3_obj.c) */
	int keep_groups;
	int groups_set;		/* cur_gids[cur_ngids] are the thread's groups */
	uint32_t cur_ngids;
	gid_t cur_gids[NFS_CRED_GIDS_MAX];
	/* the thread's fs uid and gid as nfs3_obj.c last set them (valid when
	 * fsids_known): a call made as root, or two in a row as one user,
	 * changes nothing and costs no setfsuid/setfsgid */
	int fsids_known;
	uint32_t cur_fsuid, cur_fsgid;
	int root_searches;	/* euid 0 with CAP_DAC_READ_SEARCH: fs uid 0 may search any directory */
	uint8_t wverf[8];	/* write verifier: this process's start time */
	struct nfs_upstream *ups[16];	/* nfs_proxy.c: one connection per peer */
	int closing;			/* shutting down: no new calls to peers */
	uint32_t next_up_xid;
	struct nfs_drc_ent *drc;	/* NFS_DRC_SIZE, a ring */
	unsigned drc_next;
	struct nfs_ino_ent *ino[NFS_INO_BUCKETS];
	unsigned nino;
	struct nfs_stale_ent *stale;	/* NFS_STALE_SLOTS */
	struct nfs_fhc_ent *fhc_dec;	/* NFS_FHC_SLOTS, by MAC */
	struct nfs_fhc_ent *fhc_enc;	/* NFS_FHC_SLOTS, by inode */
	struct nfs_gen_ent *gens;	/* NFS_GEN_SLOTS */
	/* client-caused lines in the log, each kind its own limit (mount3.c,
	 * nfs_server.c): MNTs answered, MNTs refused, connections refused */
	struct log_rate log_mnt, log_mnt_refused, log_conn_refused;
	struct nfs_stats st;
	struct nfs_gids *gids;		/* manage_gids: cache and resolver (nfs_gids.c) */
	struct nfs_policy pol;		/* client_groups (nfs_policy.c) */
	/* the cluster map from lbd (nfs_cluster.c; namespace.from_switch) */
	struct {
		struct cw_replay replay;	/* last generation per switch id */
		uint64_t generation;		/* of the map in use (0: none yet) */
		uint32_t switch_id;		/* ... and who sent it */
		uint64_t at_ms;			/* when it was applied */
		uint8_t status;			/* CW_ACK_* of the last new map */
		uint8_t nfs_id;			/* our id in it (0: not a member) */
		int node_id_seen;		/* node_id_cfg holds the configured node_id */
		uint32_t node_id_cfg;		/* 0: none configured, take the map's */
		uint64_t maps, applied, unchanged, bad, replayed, not_member, refused;
	} cl;
};

/* One call being answered: from a connection (c) or a datagram (dg). */
struct nfs_req {
	struct nfs_server *srv;
	struct nfs_conn *c;		/* NULL for a datagram */
	const struct nfs_dgram *dg;	/* NULL on a connection */
	const struct sockaddr_storage *peer;	/* the client, either way */
	int allowed;			/* peer is a namespace peer or inside "clients" */
	const struct nfs_access *acc;	/* what the policy lets the peer do */
	const struct rpc_call *call;
	const uint8_t *args;
	size_t alen;
	struct xdr_enc *e;	/* the reply, after the record mark */
	const uint8_t *rec;	/* the whole call (for forwarding it) */
	size_t rec_len;
};

/* A dispatcher's return: the call went to its home node (nfs_proxy.c,
 * nfs_xrename.c), the reply comes later through nfs_conn_reply(). */
#define NFS_FORWARDED 1

/* Each program's dispatcher writes the whole reply (accepted header
 * included) into r->e.  0, NFS_FORWARDED, or -1 if it did not fit (the
 * server then sends SYSTEM_ERR).  nfs_call.c's table names them. */
int nfs3_call(struct nfs_req *r);	/* nfs3_call.c */
int mount3_call(struct nfs_req *r);	/* mount3.c */

int portmap_call(struct nfs_req *r);	/* portmap.c: version 2, else rpcbind_call */
/* The port prog/vers is served on over prot (6 TCP, 17 UDP), 0 if not. */
uint32_t pmap_port(const struct nfs_server *s, uint32_t prog, uint32_t vers, uint32_t prot);
int rpcbind_call(struct nfs_req *r);	/* rpcbind.c: versions 3 and 4 */
/* nfs3_call.c: an NFSv3 procedure's name in status ("getattr"; NULL past
 * the last), and whether its replies go to the DRC (the non-idempotent). */
const char *nfs3_procname(uint32_t proc);
int nfs3_drc_wanted(uint32_t proc);

/* nfs_call.c: the answers every program gives alike, counted in status:
 * PROC_UNAVAIL (no such procedure), GARBAGE_ARGS (the arguments do not
 * decode).  As a dispatcher. */
int nfs_reply_proc_unavail(struct nfs_req *r);
/* The address r's call was made to (the connection's or the UDP socket's
 * own), a v4-mapped one as AF_INET.  0 / -1. */
int nfs_req_local(const struct nfs_req *r, struct sockaddr_storage *ss);
int nfs_reply_garbage(struct nfs_req *r);
/* nfs_call.c: answer the call in record payload rec[0, len) (len bytes,
 * the connection's in[]) into c->out.  0: the reply is framed in out[];
 * -1: nothing to answer (dropped); 1: forwarded (c->waiting, the reply
 * comes through nfs_conn_reply()). */
int nfs_call_answer(struct nfs_conn *c, const uint8_t *rec, size_t len);
/* nfs_call.c: answer the call in datagram buf[0, len) from dg (allowed:
 * its source is a namespace peer or in "clients") into out[0, cap): the
 * reply's length; 0: nothing to send now (dropped, or forwarded to its
 * home node: nfs_udp_forward's callback sends the reply).  Only the
 * portmapper and MOUNT answer over UDP; NFS is PROG_UNAVAIL there. */
size_t nfs_call_datagram(struct nfs_server *s, const struct nfs_dgram *dg, int allowed,
			 const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

/* ---- nfs_dirlink.c: the replica's link to the directory providers ---- */

/* Whether /proc/net/tcp[6] text[0, len) holds an ESTABLISHED connection to
 * one of the n providers prov[i]:port[i].  1 / 0.  Pure. */
int nfs_dirlink_scan(const char *text, size_t len, const struct taddr *prov,
		     const uint16_t *port, unsigned n);
/* The same from this network namespace's tables: 1 / 0, -1 (no memory). */
int nfs_dirlink_up(const struct nasd_nfs_config *c);

/* ---- nfs_policy.c: the export policy (client_groups) ---- */

/* Resolve the policy now (nfs_server_open; logged).  0 / -1 (no memory). */
int nfs_policy_init(struct nfs_server *s);
void nfs_policy_free(struct nfs_server *s);
/* Once a second: resolve the groups again when policy_refresh_ms is due;
 * a changed policy bumps pol.seq, so every connection's next call takes
 * its access again. */
void nfs_policy_tick(struct nfs_server *s);
/* What a client at ss may do (admissible: it passed "clients" or is a
 * namespace peer; from_peer: it is a peer, which gets the section's
 * options, its clients were checked where they came in). */
void nfs_policy_access(const struct nfs_server *s, const struct sockaddr_storage *ss,
		       int admissible, int from_peer, struct nfs_access *out);
/* c's access, taken again if the policy changed since the last time. */
const struct nfs_access *nfs_conn_access(struct nfs_conn *c);
/* The "policy" object of status. */
json_t *nfs_policy_json(const struct nfs_server *s);

/* ---- nfs_udp.c: the portmapper and MOUNT over UDP ---- */

/* The loop callback of a UDP socket (struct nfs_listener in io->arg; one
 * on every listener address, opened by nfs_server.c): its datagrams. */
void nfs_udp_ready(struct loop *l, struct loop_io *io, uint32_t events);
/* r's call came in a datagram: forward it to node_id, the reply goes back
 * to the datagram's source when it comes (SYSTEM_ERR if the node fails).
 * 0, or -1 (no such peer, queue full): the caller answers itself. */
int nfs_udp_forward(struct nfs_req *r, uint8_t node_id);

/* ---- nfs_conn.c: connections ---- */

/* Whether a connection from ss may be served: a peer of the namespace
 * (*peer set) or inside a "clients" network.  1 or 0. */
int nfs_conn_admissible(const struct nfs_server *s, const struct sockaddr_storage *ss, int *peer);
/* How many open connections come from ss's address (any port). */
unsigned nfs_conns_from(const struct nfs_server *s, const struct sockaddr_storage *ss);
/* A connection for a connected non-blocking socket fd, registered for
 * EPOLLIN, classified by its peer's address (the listener refused those
 * outside "clients" already; a restored one is classified here).  NULL on
 * failure (fd left open, logged). */
struct nfs_conn *nfs_conn_new(struct nfs_server *s, int fd, const struct sockaddr_storage *ss);
/* Once a second: close client connections idle for idle_timeout_ms (no
 * byte in or out; not a peer's, not one waiting for a forwarded call, paused
 * or held for a handoff). */
void nfs_conn_tick(struct nfs_server *s);
/* Close the socket and free c (logged at debug with why). */
void nfs_conn_close(struct nfs_conn *c, const char *why);
/* Out of the loop (unless paused: out already) and the server's list, its
 * buffers and c freed; the socket stays open (the caller's). */
void nfs_conn_forget(struct nfs_conn *c);
/* The reply payload of len bytes is in out[4, 4 + len): put the record mark
 * in front and count it; nfs_conn_run() writes it. */
void nfs_conn_framed(struct nfs_conn *c, size_t len);
/* Write what is pending, answer the whole records buffered while replies
 * go out without blocking, then watch for what the connection waits for;
 * closes c on a write error or an oversized record (c is gone then). */
void nfs_conn_run(struct nfs_conn *c);
/* Watch for what c waits for: nothing (a forwarded call), writability (a
 * reply), or input (unless held). */
void nfs_conn_watch(struct nfs_conn *c);
/* Deliver a reply (payload, no record mark) to a connection waiting for a
 * forwarded call, and go on with its next calls. */
void nfs_conn_reply(struct nfs_conn *c, const uint8_t *reply, size_t len);
struct nfs_conn *nfs_conn_by_id(struct nfs_server *s, uint64_t id);
/* Peers or client networks changed (cluster map): re-check every connection. */
void nfs_server_reclassify(struct nfs_server *s);
/* "addr:port" or "[v6]:port" into buf; returns buf. */
const char *nfs_peer_fmt(const struct sockaddr_storage *ss, char *buf, size_t len);


/* ---- nfs_drc.c: the duplicate request cache (struct nfs_drc_ent above) ---- */

/* The cache's key of a client address: v4 as v4-mapped v6. */
void nfs_drc_addr(const struct sockaddr_storage *ss, uint8_t a[16]);
/* The hash a call is cached under, besides address, xid, program and
 * procedure: its version, its credential's flavor and, for AUTH_SYS, uid,
 * gid and groups (not the stamp or machine name, which a retransmission
 * may change), and its arguments args[0, alen). */
uint64_t nfs_drc_key(const struct rpc_call *call, const uint8_t *args, size_t alen);
/* The entry of that call (NULL: none) */
struct nfs_drc_ent *nfs_drc_find(struct nfs_server *s, const uint8_t a[16], uint32_t xid,
				 uint32_t prog, uint32_t proc, uint64_t ahash);
/* Remember a reply (over RPC_CONN_DRC_REPLY bytes: not kept), replacing the
 * same call's entry or the oldest. */
void nfs_drc_put(struct nfs_server *s, const uint8_t a[16], uint32_t xid, uint32_t prog,
		 uint32_t proc, uint64_t ahash, const uint8_t *reply, size_t len);
/* For a connection's blob: peer's newest entries, newest first, appended to
 * st->drc (pointing into the cache: encode st before the cache changes). */
void nfs_drc_save(const struct nfs_server *s, const struct sockaddr_storage *peer,
		  struct rpc_conn_state *st);
/* From a blob: st's entries into the cache as peer's, the newest ending newest. */
void nfs_drc_load(struct nfs_server *s, const struct sockaddr_storage *peer,
		  const struct rpc_conn_state *st);

/* ---- nfs_home.c: a connection handed to its data's home ---- */

/* A forwarded READ or WRITE of c to peer (cfg->peers index) came back:
 * bytes (call and reply) count toward the threshold; past it a move home
 * is wanted at the next call boundary (unless c is no candidate). */
void nfs_home_forwarded(struct nfs_server *s, struct nfs_conn *c, unsigned peer, size_t bytes);
/* From c's processing, with its reply out and before the next call: if a
 * move is wanted and c is at a call boundary, schedule it.  1: scheduled
 * (c is held: stop), 0: go on. */
int nfs_home_boundary(struct nfs_conn *c);
/* nfs_half.c: the same for a half handoff waiting for c's reply to be out:
 * 1 scheduled (held: stop), 0 go on. */
int nfs_half_boundary(struct nfs_conn *c);
/* How many bytes c may read now, at most room: all of them, or while a
 * move is wanted only up to the end of the record in progress (0: none). */
size_t nfs_home_read_max(const struct nfs_conn *c, size_t room);

/* nfs_freeze.c: whether c's state fits a handoff blob now (nothing more
 * than a blob carries: not a large WRITE half received). */
int nfs_conn_fits_blob(const struct nfs_conn *c);

/* nfs_proxy.c: forward r's call to node_id (the connection waits).  0, or
 * -1 (no such peer, queue full): the caller answers itself. */
int nfs_proxy_forward(struct nfs_req *r, uint8_t node_id);
/* A call of nasd's own (payload: any xid, rewritten) to node_id; cb gets
 * the reply payload, or (NULL, 0) if the node failed or timed out.  cb runs
 * from the loop, never from inside nfs_proxy_call.  0, or -1 (no such
 * peer, queue full: cb is not called). */
typedef void (*nfs_proxy_cb)(struct nfs_server *s, void *arg, const uint8_t *reply, size_t len);
int nfs_proxy_call(struct nfs_server *s, uint8_t node_id, const uint8_t *call, size_t len,
		   nfs_proxy_cb cb, void *arg);
void nfs_proxy_tick(struct nfs_server *s);
/* The peers whose bit is set in `changed` (index into cfg->peers) were
 * replaced by a new cluster map: close their connections (calls waiting on
 * them get NFS3ERR_JUKEBOX and are retried by the clients); the next call
 * connects to the new peer. */
void nfs_proxy_reset(struct nfs_server *s, uint32_t changed);
void nfs_proxy_close(struct nfs_server *s);
/* The node id of the home of top-level directory name (len bytes), or 0. */
uint8_t nfs_home_of(const struct nfs_server *s, const uint8_t *name, size_t len);

/* nfs_xrename.c: RENAME of a regular file to a directory of another home
 * (this node is the source's home): copy it there, then unlink it here.
 * NFS_FORWARDED (the connection waits), or 0: answered already. */
int nfs_xrename_start(struct nfs_req *r, const struct nfs3_args *a, uint8_t to_node);

/* nfs3_entry.c, for nfs_xrename.c: the source of a cross-home RENAME:
 * its directory (O_PATH, *dirfd), the file opened for reading as the
 * caller (*fd), its stat and name.  NFS3_OK or the status to answer (a
 * directory or anything but a regular file: NFS3ERR_XDEV). */
uint32_t nfs3_xrename_source(struct nfs_req *r, const struct nfs3_diropargs *from, int *dirfd,
			     int *fd, struct stat *st, char *name);
/* Unlink the source as the caller once the copy is complete. */
uint32_t nfs3_xrename_unlink(struct nfs_server *s, const struct rpc_auth_sys *cred, int dirfd,
			     const char *name, uint64_t ino);

/* nfs_gids.c (manage_gids): the table (0 / -1 out of memory; nothing
 * without manage_gids), and uid's groups from NSS through the cache: NULL
 * when manage_gids is off or NSS does not know uid (the call's own groups
 * apply), else *n groups, valid until the next call. */
int nfs_gids_init(struct nfs_server *s);
void nfs_gids_free(struct nfs_server *s);
const uint32_t *nfs_gids_of(struct nfs_server *s, uint32_t uid, uint32_t *n);
/* Whether c's next call (the whole record raw[0, raw_len), marks
 * included) must wait for its caller's groups (queued for the resolver
 * thread; c is run again when they are in, or after NFS_GIDS_WAIT_MS). */
int nfs_gids_hold(struct nfs_conn *c, const uint8_t *raw, size_t raw_len);
/* Once a second: held calls past NFS_GIDS_WAIT_MS go on. */
void nfs_gids_tick(struct nfs_server *s);

/* nfs3_handle.c: the export and handles. */
int nfs3_export_open(struct nfs_server *s);	/* 0 / -1 (logged) */
void nfs3_export_close(struct nfs_server *s);
void nfs3_root_fh(struct nfs_server *s, struct nfs3_fh *fh);	/* the vroot with a namespace */
/* The handle of directory rel below the export (MNT of a subdirectory, as
 * libnfs does for nfs://host/export/dir/file URLs), reached as r's caller.
 * MNT3_OK or MNT3ERR_*. */
uint32_t nfs3_subdir_fh(struct nfs_req *r, const char *rel, struct nfs3_fh *fh);

#endif
