/*
 * nlm.h - NLM v4 and NSM v1 in tandem-nasd (doc/nasd.md "NLM"): what the
 * NFS modules share about locking.
 *
 *   nlm.c       the NLM procedures: the route to the lock's home node, the
 *               lock table there, the relay of GRANTED through the node a
 *               client called
 *   nlm_cb.c    the GRANTED callback to a client: its portmapper (GETPORT
 *               of NLM over UDP), then the call from the address the client
 *               called (the VIP)
 *   nlm_lock.c  the lock table (pure data structure)
 *   nlm_hosts.c the client hosts that took locks, kept in a file, told of
 *               a restart (SM_NOTIFY)
 *   nsm.c       NSM: SM_STAT, SM_MON, SM_UNMON(_ALL), SM_NOTIFY
 *   nlm_xdr.c   the codecs (pure, fuzzed)
 */
#ifndef TANDEM_NLM_H
#define TANDEM_NLM_H

#include "nlm_lock.h"
#include "storage/nfs/nfs_int.h"

#define NLM_RELAY_MAX 256	/* blocked requests forwarded by this node, remembered */
#define NLM_CB_TRIES 3		/* GETPORT sent this many times, 1 s apart */

/* A blocked LOCK this node forwarded to the lock's home: where the
 * GRANTED goes when the home sends it here. */
struct nlm_relay {
	uint64_t key;		/* nlm_relay_key of the lock (0: free) */
	struct nlm_cb_to to;
};

struct nlm_cb;

#define NLM_HOSTS_MAX 256
#define NLM_HOST_NAME_MAX 255

/* A client host that took locks here (nlm_hosts.c). */
struct nlm_host {
	char caller[NLM_HOST_NAME_MAX + 1];
	struct sockaddr_storage client, local;	/* ports not used */
};

struct nlm_server {
	struct nlm_table t;
	struct nlm_relay relay[NLM_RELAY_MAX];
	unsigned relay_next;
	struct nlm_cb *cbs;	/* callbacks in flight (nlm_cb.c) */
	struct nlm_host hosts[NLM_HOSTS_MAX];	/* nlm_hosts.c */
	unsigned nhosts;
	uint32_t next_xid;
	int32_t nsm_state;	/* odd: up; a new value at every start */
	uint64_t grace_until_ms;	/* only reclaims granted before this */
	struct {
		uint64_t granted, denied, blocked, cancelled, unlocked, tests, grace_refused,
			 forwarded, relayed, callbacks, callbacks_failed, freed, notified,
			 notify_sent, msgs, results, shared, share_denied, unshared;
	} st;
};

int nlm_open(struct nfs_server *s);	/* 0 / -1 (ENOMEM) */
void nlm_close(struct nfs_server *s);
json_t *nlm_status(const struct nfs_server *s);
/* Program dispatchers (nfs_call.c's table). */
int nlm_call(struct nfs_req *r);
int nsm_call(struct nfs_req *r);
/* Grant what waits and can be granted now; each gets its GRANTED. */
void nlm_grant_ready(struct nfs_server *s);
/* A host's locks and waiters dropped (FREE_ALL, SM_NOTIFY: r's call):
 * here, and in a namespace on every other node too (the same call sent
 * there; a call from a peer is not passed on). */
void nlm_free_everywhere(struct nfs_req *r, const uint8_t *name, uint32_t len);
/* The lock of l, as the relay table knows it. */
uint64_t nlm_relay_key(const struct nlm4_lock *l);

/* nlm_hosts.c (nothing without "nlm_hosts_file"): note a host that took a
 * lock (saved when new); the same from "CLIENT LOCAL" universal addresses
 * (an SM_MON from a peer: 0, or -1 if my_name is not that); load the file
 * (at open); SM_NOTIFY to every host (once the listeners are open). */
void nlm_host_note(struct nfs_server *s, const struct nlm_obj *caller,
		   const struct sockaddr_storage *client, const struct sockaddr_storage *local);
int nlm_host_note_uaddrs(struct nfs_server *s, const struct nlm_obj *caller,
			 const struct nlm_obj *my_name);
void nlm_hosts_load(struct nfs_server *s);
void nlm_hosts_notify(struct nfs_server *s);

/* nlm_cb.c: send GRANTED (cookie, exclusive, l) to the client of `to`
 * (via_node 0).  Fire and forget: counted in st.callbacks or
 * st.callbacks_failed when it ends.  0 / -1 (not started). */
int nlm_cb_send(struct nfs_server *s, const struct nlm_cb_to *to, const struct nlm_obj *cookie,
		int exclusive, const struct nlm4_lock *l);
/* The result of a _MSG call (body: its nlm4_res or nlm4_testres, len 0:
 * could not be made) as a call of res_proc (TEST_RES ... GRANTED_RES) to
 * the client of `to`, as nlm_cb_send (counted in st.results when started). */
int nlm_res_send(struct nfs_server *s, const struct nlm_cb_to *to, uint32_t res_proc,
		 const uint8_t *body, size_t len);
/* SM_NOTIFY (mon_name: this node as the client knows it, the address it
 * called; state: nsm_state) to the client of `to`, as nlm_cb_send. */
int nlm_notify_send(struct nfs_server *s, const struct nlm_cb_to *to, const char *mon_name);
/* An NLM GRANTED call message (no record mark) into buf.  Its length, or
 * 0 if it does not fit. */
size_t nlm_granted_msg(uint8_t *buf, size_t cap, uint32_t xid, const struct nlm_obj *cookie,
		       int exclusive, const struct nlm4_lock *l);
void nlm_cb_close_all(struct nfs_server *s);

#endif
