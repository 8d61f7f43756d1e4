/*
 * handoff.h - tandem-nasd's session handoff engine as the rest of the
 * daemon sees it (doc/nasd.md "Session handoff").
 */
#ifndef TANDEM_NASD_HANDOFF_H
#define TANDEM_NASD_HANDOFF_H

#include "storage/nasd.h"

struct session;
struct nfs_conn;

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

/* Hand NFS connection c to the node at storage address `home` soon (from a
 * timer); c is held until then.  0, or -1 (no handoff agent, no peer there). */
int handoff_schedule_nfs(struct nasd *n, struct nfs_conn *c, const struct taddr *home);

#endif
