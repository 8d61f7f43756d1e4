/*
 * handoff.h - tandem-nasd's session handoff engine as the rest of the
 * daemon sees it (doc/nasd.md "Session handoff"): starting and stopping it,
 * its control commands and status, moves scheduled by a service, and the
 * table of functions each kind of movable connection provides.  Its parts
 * and what they share: handoff_int.h.
 */
#ifndef TANDEM_NASD_HANDOFF_H
#define TANDEM_NASD_HANDOFF_H

#include <stdio.h>

#include "storage/nasd.h"

struct session;
struct nfs_conn;
struct handoff;

/* ---- control.c: the agent's life, commands, status and scheduled moves ---- */

/* Start the agent if configured: flow drop, channel listener, connections
 * to the peers, report socket.  0 / -1 (logged). */
int handoff_open(struct nasd *n);
void handoff_close(struct nasd *n);
/* -t: read the key file as handoff_open would and say what it holds on
 * out (a warning for the master key).  0, or -1 with a message. */
int handoff_check(const struct nasd_config *cfg, FILE *out, char *err, size_t errlen);
/* This process's epoch in the switch link's replay protection
 * (lib/handoff_wire.h; 0: no handoff agent): nfs_cluster.c checks the
 * cluster maps with it. */
uint64_t handoff_epoch(const struct nasd *n);
/* Control commands: {"cmd":"handoff","session":ID|"client:port","to":"nX"},
 * {"cmd":"handoff_all","to":["nX",...]}; the agent's counters for status. */
json_t *handoff_cmd(struct nasd *n, const json_t *req);
json_t *handoff_all_cmd(struct nasd *n, const json_t *req);
json_t *handoff_status(struct nasd *n);
/* What handoff_schedule* answer: scheduled, or why not.  An automatic move
 * (the data-location rules) must not undo an operator's decision
 * (policy.c): the connection is pinned here after an operator's move, the
 * target node drains, or the connection was made to this node's own
 * address (no other node can rebuild it: not a VIP session). */
enum {
	HO_SCHED_OK = 0,
	HO_SCHED_FAILED = -1,		/* no handoff agent, no such peer, queue full */
	HO_SCHED_PINNED = -2,
	HO_SCHED_DRAINING = -3,
	HO_SCHED_NOT_VIP = -4,
};
/* Hand session s to node `to` soon, from a timer (never from inside the
 * session's own I/O callback); s is held (no I/O) until then.  HO_SCHED_*. */
int handoff_schedule(struct nasd *n, struct session *s, const char *to);
/* The same for a move an operator asked for earlier (a half handoff,
 * storage/http/half.c): the node's own policy (pins, draining) does not
 * veto it; the OPEN says HO_CAUSE_OPERATOR. */
int handoff_schedule_op(struct nasd *n, struct session *s, const char *to);
int handoff_schedule_nfs_op(struct nasd *n, struct nfs_conn *c, const char *to);
/* Half handoff, old node: send peer `to` a PREPARE (lib/handoff_wire.h)
 * with flow k, service svc and the request bytes req[0..len) on this
 * node's channel to it; nothing is answered.  0, or -1 with err (no such
 * peer, channel down, send failed). */
int handoff_prepare_send(struct nasd *n, const char *to, const struct lb_flow_key *k,
			 const char *svc, const uint8_t *req, size_t len, char *err, size_t errlen);

/* Hand NFS connection c to the node at storage address `home` soon (from a
 * timer); c is held until then.  HO_SCHED_*. */
int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *home);

/* Whether connected socket fd was made to a VIP (its local address is on a
 * loopback device, not 127/8 or ::1), so another node could rebuild it.
 * 1 or 0 (also when that cannot be found out).  policy.c. */
int handoff_fd_on_vip(int fd);

/* ---- the kinds of connections that move ---- */

/*
 * What the engine needs of one kind of client connection (an HTTP session,
 * an NFS connection).  The transaction is the same for every kind; only
 * finding, pausing, the blob and rebuilding differ.  Each service provides
 * its table beside its own code, on top of its public functions; the
 * engine holds a connection only as an opaque pointer `conn` with its ops.
 * Lookups return NULL when nothing matches.
 */
struct ho_conn_ops {
	const char *service;	/* its name in OPEN (HO_R_SERVICE) and in replies: "http" */
	const char *label;	/* in log lines: "HTTP" */
	const char *noun;	/* in log lines: "session" */

	/* lookups: by the control command's "session" selector (a JSON
	 * integer or string, as the kind understands it), by the flow-table
	 * key of a switch's MOVE, by id; list: the ids of all connections of
	 * the kind (*count of them), a malloc'ed array the caller frees, NULL
	 * when out of memory */
	void *(*find)(struct nasd *n, const json_t *sel);
	void *(*of_key)(struct nasd *n, const struct lb_flow_key *k);
	void *(*by_id)(struct nasd *n, uint64_t id);
	uint64_t *(*list)(struct nasd *n, size_t *count);
	/* connections counted live in the load report to the switch (NULL:
	 * this kind is not counted) */
	unsigned (*live)(struct nasd *n);

	/* the old node's side (same contracts as session_pause ... in
	 * storage/http/http.h): its socket and id; NULL if it may move now,
	 * else why not ("paused"); pause (0, or -1 with errno: EBUSY, try
	 * later), resume; snapshot its state into buf (the blob's length, or
	 * -1 with errno); release: forget it without touching the peer,
	 * returning its socket */
	int (*fd)(const void *conn);
	uint64_t (*id)(const void *conn);
	const char *(*unmovable)(const void *conn);
	int (*pause)(void *conn);
	void (*resume)(void *conn);
	ssize_t (*snapshot)(const void *conn, uint8_t *buf, size_t cap);
	int (*release)(void *conn);
	size_t blob_max;	/* the most snapshot ever writes */

	/* the new node's side: why this node takes none of this kind now
	 * (NULL, or NULL op: it does); check a blob before the old node lets
	 * go (NULL op: nothing to check; 0, or -1 with a message in err);
	 * rebuild a live connection from a blob and a connected socket (NULL
	 * with a message in err: the caller still owns fd) */
	const char *(*unavailable)(const struct nasd *n);
	int (*precheck)(struct nasd *n, const uint8_t *blob, size_t len, char *err, size_t errlen);
	void *(*restore)(struct nasd *n, int fd, const uint8_t *blob, size_t len, char *err,
			 size_t errlen);

	/* a move scheduled from a timer (handoff_schedule*): hold stops its
	 * reading until then; unhold takes that back when the move could not
	 * be scheduled; move_begin runs right before the move (NULL op:
	 * nothing); move_end after it, with the id and whether it moved:
	 * count it, and give a connection that stayed here its I/O back */
	void (*hold)(void *conn);
	void (*unhold)(void *conn);
	void (*move_begin)(void *conn);
	void (*move_end)(struct nasd *n, uint64_t id, int moved);

	/* the connection's pin (struct ho_pin in storage/nasd.h; NULL op: this
	 * kind is never pinned): the engine sets it when an operator's move
	 * brings the connection here and reads it before an automatic move */
	struct ho_pin *(*pin_of)(void *conn);
};

/* storage/http/session_handoff.c, storage/nfs/nfs_handoff.c */
extern const struct ho_conn_ops session_handoff_ops;
extern const struct ho_conn_ops nfs_handoff_ops;

/* For the kinds' lookups (outgoing.c): a socket address as text,
 * "a.b.c.d:port" or "[v6]:port" (len >= TADDR_STRLEN + 10); returns buf.
 * A connected socket's 5-tuple as the data plane keys it, and its client
 * endpoint as text into client[clen] (client may be NULL): 0, or -1
 * (errno: getpeername/getsockname). */
const char *handoff_endpoint(const struct sockaddr_storage *ss, char *buf, size_t len);
int handoff_flow_of(int fd, struct lb_flow_key *k, char *client, size_t clen);

#endif
