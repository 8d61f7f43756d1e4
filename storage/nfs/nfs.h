/*
 * nfs.h - tandem-nasd's NFS service as the rest of the daemon sees it: the
 * server's life cycle and status, and the NFS half of a session handoff.
 * Its modules and their internals: nfs_int.h.
 */
#ifndef TANDEM_NASD_NFS_H
#define TANDEM_NASD_NFS_H

#include "storage/nasd.h"

/* ---- NFSv3 + MOUNT v3 + portmapper v2 over TCP (doc/nasd.md "NFS") ---- */
/* nfs_server.c */
struct nfs_server;
/* Start if configured: key, export, listeners.  0 / -1 (logged). */
int nfs_server_open(struct nasd *n);
void nfs_server_close(struct nasd *n);
/* Once a second (main.c's tick): forwarded calls that timed out. */
void nfs_server_tick(struct nasd *n);
/* The "nfs" object of status (null when not configured). */
json_t *nfs_status(struct nasd *n);
/* The export policy this node enforces (nfs_policy.c): its version digest
 * and whether it is stale.  1 if the export has client_groups, else 0. */
int nfs_policy_summary(const struct nasd *n, uint64_t *digest, int *stale);
/* Whether the NFS export policy lets a client at ss write (an HTTP
 * export's "nfs_policy"): 1 or 0 (also without an NFS server). */
int nfs_policy_may_write(const struct nasd *n, const struct sockaddr_storage *ss);
/* nfs_ctl.c: control commands "nfs-conns", "nfs-state" {"id"}, "nfs-rebuild" {"id"}
 * (doc/nasd.md "NFS"); NULL if cmd is none of them. */
json_t *nfs_ctl(struct nasd *n, const char *cmd, const json_t *req);
/*
 * The NFS half of a session handoff, nfs_freeze.c (same contract as
 * session_pause ... session_restore in storage/http/http.h; the blob is
 * oncrpc.h's rpc_conn_state):
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
/* Its pin (an operator's move brought it here; storage/nasd.h). */
struct ho_pin *nfs_conn_pin(struct nfs_conn *c);
/* nfs_home.c: the move of connection id to its data's home ended: moved 1
 * (it left), 0 (it failed and stays, held: unheld here), -1 (it could not
 * be scheduled, not held).  Counted; a connection that stays tries again
 * at the call boundary after its next call, a few times in all. */
void nfs_home_moved(struct nasd *n, uint64_t id, int moved);

/* ---- nfs_half.c: the half handoff (doc/tch.md "Half handoff") ---- */
/* Old node: c's reply is still being written: send peer `to` a copy of
 * the calls behind it (PREPARE) and move c there once the reply is out.
 * The control reply (outcome "half", or "failed" at stage "prepare"), or
 * NULL when c has no reply in progress (the caller runs an ordinary
 * handoff). */
json_t *nfs_half_start(struct nasd *n, struct nfs_conn *c, const char *to);
/* New node: start on the calls in req[0..len) (a PREPARE's copy of stream
 * bytes; rewritten in place): each READ of a file of this export is read
 * ahead (*files: how many).  Returns the calls found.  Answers nothing. */
int nfs_half_prepare(struct nasd *n, uint8_t *req, size_t len, unsigned *files);

/* ---- nfs_cluster.c: the cluster map from lbd (lib/cluster_wire.h) ---- */
/* A cluster datagram that arrived on the handoff agent's switch socket fd
 * (storage/handoff/report.c dispatches on its first byte): authenticate with key, apply it
 * if the namespace is from_switch and it is newer, answer with an ACK.
 * The counters are in status.nfs.cluster (or status.cluster without NFS). */
void nfs_cluster_input(struct nasd *n, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, socklen_t fromlen, const uint8_t *key,
		       size_t keylen, uint32_t cluster_id);
json_t *nfs_cluster_status(struct nasd *n);

#endif
