/*
 * nasd.h - tandem-nasd's context and the interfaces between its modules.
 *
 *   main.c           arguments, signals, startup/shutdown
 *   http_config.c    the daemon's JSON configuration (doc/nasd.md)
 *   http_server.c    listeners, accept, the per-session HTTP state machine
 *   http_response.c  response heads: status line, Date, ETag, Content-Range
 *   export.c         exports: resolving request paths beneath them (openat2),
 *                    opening files, PUT temp files and their atomic rename
 *   session.c        the session table: ids, timeouts, pacing, freeze/thaw,
 *                    snapshot to / restore from a session_state blob
 *   lib/session_state.c  the blob codec (pure, fuzzed; session_state.h)
 *   control.c        control socket commands (doc/nasd.md)
 *   handoff.c        the session handoff agent: node<->node channels, the
 *                    transaction (libtch + flow drop + switch report), the
 *                    handoff / handoff_all commands
 * The request parser is lib/http_parse (pure, fuzzed).
 *
 * Ownership: struct nasd owns every session; a session owns its socket,
 * open file, temp file (and its name on disk: an unfinished upload is
 * unlinked when the session ends, unless session_release() hands it on).
 */
#ifndef TANDEM_NASD_H
#define TANDEM_NASD_H

#include <jansson.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "ctl_server.h"
#include "http_parse.h"
#include "loop.h"
#include "session_state.h"

/* ---- http_config.c ---- */

#define NASD_MAX_LISTEN 16
#define NASD_MAX_EXPORTS 16
#define NASD_MAX_THROTTLE 8
#define NASD_URL_MAX 128
#define NASD_NAME_MAX 64

struct nasd_listen {
	struct taddr addr;
	uint16_t port;
};

struct nasd_export {
	char url[NASD_URL_MAX];		/* "/" or "/prefix/" */
	size_t url_len;
	char path[CFG_PATH_MAX * 4];	/* absolute directory */
	int writable;
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
	uint32_t spin_us;		/* busy-wait for the next frame of a handoff */
};

/* ---- NFS (issue 6): the "nfs" section, parsed by nfs_config.c ---- */
#define NASD_NFS_MAX_CLIENTS 32
struct nasd_cidr {
	struct taddr addr;
	uint8_t plen;
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
	int writable, root_squash;
	uint32_t max_io;		/* READ/WRITE size (rtmax/wtmax) */
	/* "namespace" (issue 6 part 2): a virtual root whose top-level
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
	uint32_t idle_timeout_ms;	/* keep-alive connection without a request */
	uint32_t head_timeout_ms;	/* a request head arriving */
	uint32_t io_timeout_ms;		/* no progress sending or receiving a body */
	int fsync_uploads;
	struct nasd_handoff_config ho;	/* "handoff" section (enabled = 0: absent) */
	struct nasd_data_location dl;	/* "data_location" section (remote.c) */
	struct nasd_nfs_config nfs;	/* "nfs" section (issue 6; enabled = 0: absent) */
};

/* Parse configuration text (pure).  0, or -1 with a one-line message. */
int nasd_config_parse(const char *text, size_t len, struct nasd_config *cfg, char *err,
		      size_t errlen);
/* Read and parse a file.  0 / -1 (message in err). */
int nasd_config_load(const char *path, struct nasd_config *cfg, char *err, size_t errlen);

/* ---- export.c ---- */

/* What a request path resolves to. */
struct export_ref {
	const struct nasd_export *ex;
	const char *rel;		/* path below the export root, no leading '/' ("" = root) */
};

/* Open every export's directory (O_PATH) and check openat2 works.  0 / -1 (logged). */
int export_open_all(struct nasd_config *cfg);
void export_close_all(struct nasd_config *cfg);
/* Longest export URL prefix matching a clean path; 0, or -1 (no export: 404). */
int export_find(const struct nasd_config *cfg, const char *path, struct export_ref *ref);

struct export_file {
	int fd;
	uint64_t size;
	uint64_t mtime_ns;
};

/*
 * Open a regular file beneath its export for reading.  Returns 0, or the
 * HTTP status to answer: 404 (missing, a temp file), 403 (escapes the
 * export, a directory or special file, permission), 414, 500.
 */
int export_open_file(const struct export_ref *ref, struct export_file *f);

struct export_upload {
	int dirfd;			/* O_PATH of the target's directory */
	int fd;				/* the temp file, write-only */
	char name[SST_MAX_NAME + 1];	/* target basename */
	char tmp[SST_MAX_NAME + 1];	/* temp file name in that directory */
	int existed;			/* target existed: 204, else 201 */
};

/*
 * Start a PUT: open the target's directory, check the target, create the
 * temp file (space reserved for `length` bytes where the filesystem can).
 * Returns 0, or the status: 403 (read-only export, escapes it, a temp file
 * name), 409 (no such directory, target is a directory), 414, 507, 500.
 * On failure nothing is left open or on disk.
 */
int export_upload_begin(const struct export_ref *ref, uint64_t length, uint64_t id,
			struct export_upload *u);
/* Reopen an upload's temp file after a handoff (restore): checks it holds at
 * least `received` bytes (cut to exactly that).  0, or -1 with errno. */
int export_upload_reopen(const struct export_ref *ref, const char *tmp, uint64_t received,
			 struct export_upload *u);
/* Finish: optional fsync, rename over the target.  0, or the status (500, 507). */
int export_upload_commit(struct export_upload *u, int do_fsync);
/* Abandon: close and unlink the temp file (unlink = 0: leave it on disk). */
void export_upload_abort(struct export_upload *u, int unlink_tmp);

/* Content-Type for a file name (by extension). */
const char *export_content_type(const char *name);

/* ---- sessions ---- */

enum sess_phase {
	PH_HEAD = 1,	/* waiting for / reading a request head */
	PH_SEND,	/* writing out[], then the file span if any */
	PH_BODY,	/* receiving a PUT body into the temp file */
	PH_LINGER,	/* final response sent, write side shut: discard input until EOF */
};

#define NASD_OUTBUF 4096	/* == SST_MAX_OUT */
#define NASD_INBUF SST_MAX_IN

struct nasd;

struct session {
	struct loop_io io;
	struct nasd *nasd;
	struct session *prev, *next;
	uint64_t id;
	int phase;		/* enum sess_phase */
	int after;		/* enum sst_after: what follows PH_SEND */
	int keepalive;		/* the current request keeps the connection */
	int http10;		/* the current request is HTTP/1.0 */
	int kick;		/* run the state machine once even without I/O (restore) */
	int paused;		/* frozen for a handoff: out of the loop */
	int throttled;		/* over its rate: waiting for the pacer */
	uint32_t events;	/* epoll events registered */
	struct sockaddr_storage peer, local;

	/* input */
	char *in;		/* NASD_INBUF bytes */
	size_t in_len;
	struct http_req req;

	/* output: out[out_off, out_len) still to write */
	char out[NASD_OUTBUF];
	size_t out_off, out_len;

	/* file body: [file_off, file_end) of file_fd still to send */
	int file_fd;
	uint64_t file_off, file_end, file_size, file_mtime_ns;
	char *file_path;	/* export path (canonical), for the blob and listings */

	/* upload */
	struct export_upload up;
	int has_upload;
	uint64_t up_received, up_length;
	char *up_path;

	/* pacing: token bucket (bytes) */
	uint32_t rate;
	uint64_t tokens, tokens_ns;

	/* listing and counters */
	char method[12];
	char *target;		/* last request's path, for listings */
	int last_status;
	uint64_t requests, bytes_in, bytes_out;
	uint64_t started_ms, last_io_ms;
	uint64_t phase_ms;	/* PH_HEAD: first byte of the head (or idle since); others: entered */
	uint64_t credit;	/* pacing remainder, byte-nanoseconds */
	uint64_t linger_bytes;
	int restored;		/* rebuilt from a blob */
	/* data location (remote.c): the body comes from another node's file */
	int remote_home;	/* index into cfg.dl.homes, -1: a local file */
	int last_home;		/* home of the last remote response, -1 none */
	uint64_t fetch_end;	/* file_fd (a memfd) holds [.., fetch_end) */
	uint64_t fetched;	/* bytes fetched for this session, all responses */
	char remote_etag[64];	/* the home's version, checked on every fetch */
	int home_tried;		/* a handoff home was attempted */
	int held;		/* waiting for a scheduled handoff: no I/O */
};

struct nasd_stats {
	uint64_t sessions_total, sessions_restored, sessions_released, refused_busy;
	uint64_t requests, bytes_out, bytes_in, body_bytes_out, body_bytes_in;
	uint64_t status_class[6];	/* [2] = 2xx ... [5] = 5xx */
	uint64_t uploads, bad_requests, timeouts;
	uint64_t dl_fetches, dl_fetched_bytes, dl_fetch_errors, dl_home_ok, dl_home_failed;
	uint64_t nfs_home_ok, nfs_home_failed;	/* NFS connections handed to their data's home */
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
	char *scratch;			/* upload copy buffer (NASD_SCRATCH) */
	struct handoff *ho;		/* handoff agent (handoff.c), NULL if not configured */
	struct nfs_server *nfs;		/* NFS service (nfs_server.c), NULL if not configured */
};

#define NASD_SCRATCH (256 * 1024)

/* ---- http_server.c ---- */
int http_server_open(struct nasd *n);	/* listeners; 0 / -1 (logged) */
void http_server_close(struct nasd *n);
void http_server_tick(struct nasd *n);	/* once a second: resume accepting */
/* The loop callback of a session socket (session.c registers it). */
void http_session_io(struct loop *l, struct loop_io *io, uint32_t events);
/* Run a session's state machine until it would block (after a thaw or a
 * restore).  May close and free s. */
void http_session_run(struct session *s);

/* ---- http_response.c ---- */
struct resp_hdr {
	int status;
	uint64_t length;		/* Content-Length */
	const char *content_type;	/* NULL: none */
	int has_validators;
	uint64_t mtime_ns, size;	/* Last-Modified / ETag */
	int has_range;
	uint64_t first, last, total;	/* Content-Range: bytes first-last/total */
	int unsatisfied;		/* Content-Range: bytes * / total */
	int keepalive;
	int http10;			/* the request was HTTP/1.0 */
	const char *allow;		/* Allow: (405/501) */
};
/* Format a response head into buf.  Returns its length, or -1 if it does not fit. */
int http_response_head(const struct nasd *n, const struct resp_hdr *h, char *buf, size_t cap);
/* The strong ETag of a file version ("size-mtime" in hex, quoted). */
int http_etag(uint64_t size, uint64_t mtime_ns, char *buf, size_t cap);
/* IMF-fixdate of a time in ns since the epoch (buf >= 30). */
void http_date(uint64_t t_ns, char *buf, size_t cap);

/* ---- session.c ---- */
/* A new session for an accepted (non-blocking) socket.  NULL on failure
 * (fd closed). */
struct session *session_new(struct nasd *n, int fd);
/* Close the socket, files; unlink an unfinished upload; free. */
void session_close(struct session *s, const char *why);
/* (Re)register the epoll events the phase needs. */
void session_watch(struct session *s);
struct session *session_find(struct nasd *n, uint64_t id);
/* Periodic: timeouts.  Pacing: refill the throttled sessions. */
void session_tick(struct nasd *n);
void session_pace(struct nasd *n);
/* Pace the current response at rate bytes/s (0: unlimited); full bucket. */
void session_set_rate(struct session *s, uint32_t rate);
/* Take tokens for up to `want` bytes; returns the bytes allowed (0: throttled). */
uint64_t session_tokens(struct session *s, uint64_t want);
void session_spend(struct session *s, uint64_t used);
void session_throttle(struct session *s);

/*
 * Handoff interface (the agent calls these; see doc/nasd.md):
 *   session_pause    stop all I/O on s (out of the loop, timers ignore it):
 *                    its state no longer changes.  0, or -1 (EBUSY: lingering).
 *   session_snapshot encode s's application state into buf.  Returns the
 *                    length or -1 (errno).  Does not change s.
 *   session_resume   thaw after a failed handoff: s continues where it was.
 *   session_release  after a committed handoff: forget s without touching
 *                    the peer (no FIN/RST: the socket fd is returned for the
 *                    agent to close in repair mode), keep the temp file.
 *   session_restore  build a live session from a blob and a connected socket
 *                    (restored by libtch, out of repair mode).  NULL with a
 *                    message in err on failure: the caller still owns fd.
 */
int session_pause(struct session *s);
ssize_t session_snapshot(const struct session *s, uint8_t *buf, size_t cap);
void session_resume(struct session *s);
int session_release(struct session *s);
struct session *session_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len,
				char *err, size_t errlen);
/* The session_state view of a live session (byte fields point into s). */
void session_to_state(const struct session *s, struct session_state *st);
const char *session_phase_name(const struct session *s);

/* ---- handoff.c: the session handoff agent (doc/nasd.md) ---- */
struct handoff;
/* Start the agent if configured: flow drop, channel listener, connections
 * to the peers, report socket.  0 / -1 (logged). */
int handoff_open(struct nasd *n);
void handoff_close(struct nasd *n);
/* Control commands: {"cmd":"handoff","session":ID|"client:port","to":"nX"},
 * {"cmd":"handoff_all","to":["nX",...]}; the agent's counters for status. */
json_t *handoff_cmd(struct nasd *n, const json_t *req);
json_t *handoff_all_cmd(struct nasd *n, const json_t *req);
json_t *handoff_status(struct nasd *n);
/* Hand session s to node `to` soon, from a timer (never from inside the
 * session's own I/O callback); s is held (no I/O) until then.  0, or -1
 * (no handoff agent, `to` is not a peer, queue full). */
int handoff_schedule(struct nasd *n, struct session *s, const char *to);

/* ---- remote.c ---- */
/* The home serving path when that is another node: index, else -1. */
int remote_home_for(const struct nasd *n, const char *path);
/* Start a response from home h's copy of path: HEAD there.  *f: a memfd of
 * the file's size (filled piece by piece later), its size and mtime.  0, or
 * the HTTP status to answer (404, 502, 504). */
int remote_open(struct session *s, int h, const char *path, struct export_file *f);
/* The body reached the end of what was fetched: 1 more is there (fetched),
 * 0 the session is held for a handoff home, -1 fetch failed (close). */
int remote_more(struct session *s);
/* A response ended and the session stays: go home if it fetched enough. */
void remote_response_done(struct session *s);
json_t *remote_status(const struct nasd *n);

/* ---- nfs_server.c: NFSv3 + MOUNT v3 + portmapper v2 over TCP (doc/nasd.md "NFS") ---- */
struct nfs_server;
/* Start if configured: key, export, listeners.  0 / -1 (logged). */
int nfs_server_open(struct nasd *n);
void nfs_server_close(struct nasd *n);
/* Once a second (main.c's tick): forwarded calls that timed out. */
void nfs_server_tick(struct nasd *n);
/* The "nfs" object of status (null when not configured). */
json_t *nfs_status(struct nasd *n);
/* Control commands "nfs-conns", "nfs-state" {"id"}, "nfs-rebuild" {"id"}
 * (doc/nasd.md "NFS"); NULL if cmd is none of them. */
json_t *nfs_ctl(struct nasd *n, const char *cmd, const json_t *req);
/*
 * The NFS half of a session handoff (same contract as session_pause ...
 * session_restore above; the blob is lib/oncrpc.h's rpc_conn_state):
 *   nfs_conn_pause    0, or -1 EBUSY: holds more than a blob carries (a big
 *                     WRITE half received: try again once it is answered)
 *   nfs_conn_snapshot the blob's length, or -1 (errno)
 *   nfs_conn_release  forget c without touching the peer: returns its fd
 *   nfs_conn_restore  a live connection from a blob and a connected socket;
 *                     NULL with a message (the caller still owns fd)
 */
struct nfs_conn;
struct nfs_conn *nfs_conn_find(struct nasd *n, uint64_t id);
int nfs_conn_pause(struct nfs_conn *c);
long nfs_conn_snapshot(const struct nfs_conn *c, uint8_t *buf, size_t cap);
void nfs_conn_resume(struct nfs_conn *c);
int nfs_conn_release(struct nfs_conn *c);
struct nfs_conn *nfs_conn_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len,
				  char *err, size_t errlen);
/* For the handoff agent: the socket, the id, whether it may move now (not
 * paused, not another node's forwarding connection), the connection of a
 * flow-table key (NULL if none), and up to cap movable connection ids. */
int nfs_conn_fd(const struct nfs_conn *c);
uint64_t nfs_conn_id(const struct nfs_conn *c);
int nfs_conn_movable(const struct nfs_conn *c);
struct nfs_conn *nfs_conn_of_key(struct nasd *n, const struct lb_flow_key *k);
size_t nfs_conn_ids(struct nasd *n, uint64_t *ids, size_t cap);
/* Hold: read no further call (the reply in progress still goes out), until
 * unhold, or the handoff takes it (data-location trigger). */
int nfs_conn_hold(struct nfs_conn *c);
void nfs_conn_unhold(struct nfs_conn *c);
/* Hand NFS connection c to the node at storage address `home` soon (from a
 * timer); c is held until then.  0, or -1 (no handoff agent, no peer there). */
int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *home);

/* ---- nfs_cluster.c: the cluster map from lbd (lib/cluster_wire.h) ---- */
/* A cluster datagram that arrived on the handoff agent's switch socket fd
 * (handoff.c dispatches on its first byte): authenticate with key, apply it
 * if the namespace is from_switch and it is newer, answer with an ACK.
 * The counters are in status.nfs.cluster (or status.cluster without NFS). */
void nfs_cluster_input(struct nasd *n, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, socklen_t fromlen, const uint8_t *key,
		       size_t keylen, uint32_t cluster_id);
json_t *nfs_cluster_status(struct nasd *n);

/* ---- control.c ---- */
int control_open(struct nasd *n);
void control_close(struct nasd *n);
json_t *control_dispatch(struct nasd *n, const json_t *req);

#endif
