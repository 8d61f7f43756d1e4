/*
 * nlm_lock.h - the NLM lock table of one node: the byte-range locks on the
 * files homed here, and the blocked requests waiting for them (nlm.c asks;
 * no I/O here).
 *
 * A lock belongs to its owner, (caller_name, oh, svid) from the NLM
 * arguments, never to a connection or an address: a client whose session
 * moves to another node, or whose calls arrive through another node, is
 * the same owner.  POSIX semantics: an owner's locks never conflict with
 * each other; a new lock replaces the owner's overlapping ranges (upgrade,
 * downgrade, split), an unlock removes or trims them.  Two owners conflict
 * where their ranges overlap and either lock is exclusive.
 */
#ifndef TANDEM_NLM_LOCK_H
#define TANDEM_NLM_LOCK_H

#include <stdint.h>
#include <sys/socket.h>

#include "nlm_xdr.h"

/* A file, as its handle names it (nfs_fh.h). */
struct nlm_file {
	uint32_t export_id;
	uint64_t ino;
	uint32_t gen;
};

/* Where a waiter's GRANTED callback goes: the client's address and the one
 * it called (the VIP), or via_node, the node it called us through. */
struct nlm_cb_to {
	struct sockaddr_storage client, local;
	uint8_t via_node;	/* 0: the client called this node */
};

struct nlm_ent {
	struct nlm_ent *next;
	struct nlm_file f;
	int exclusive;
	struct nlm4_lock l;	/* caller, oh (and for a waiter fh) point into data[] */
	struct nlm_obj cookie;	/* waiters: the LOCK's cookie, into data[] */
	struct nlm_cb_to to;	/* waiters */
	uint32_t mode, access;	/* shares: fsh4_mode (deny), fsh4_access */
	uint8_t data[];
};

struct nlm_table {
	struct nlm_ent *locks, *waiters, *shares;
	unsigned nlocks, nwaiters, nshares;
};

/* The first lock of another owner that conflicts with l (exclusive or
 * not) on f, or NULL. */
const struct nlm_ent *nlm_conflict(const struct nlm_table *t, const struct nlm_file *f,
				   const struct nlm4_lock *l, int exclusive);
/* Add l for its owner (after removing the owner's overlapping ranges).
 * The caller checked nlm_conflict.  0, or -1 (ENOMEM: nothing changed). */
int nlm_lock_add(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l,
		 int exclusive);
/* Remove l's range from its owner's locks on f.  0, or -1 (ENOMEM
 * splitting a range: the table may hold the lock still). */
int nlm_unlock(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l);
/* The owner's locks on any file, every range (reclaim replays them). */
unsigned nlm_count_owner(const struct nlm_table *t, const struct nlm4_lock *l);

/* A blocked request: queued (a second identical one is not queued
 * twice).  0 / -1 (ENOMEM). */
int nlm_wait_add(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l,
		 int exclusive, const struct nlm_obj *cookie, const struct nlm_cb_to *to);
/* Remove the waiter of l's owner with l's range on f.  1 removed, 0 none. */
int nlm_wait_cancel(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *l);
/* The first waiter that no lock conflicts with any more, taken off the
 * queue (the caller grants it, then frees it), or NULL. */
struct nlm_ent *nlm_wait_ready(struct nlm_table *t);
/* DOS share reservations (SHARE, UNSHARE): one per owner (caller, oh;
 * svid not part of it) and file.  Two owners' shares conflict when either
 * one's access (read 1, write 2) meets the other's deny mode (the same
 * bits).  The first share of another owner on f that conflicts with
 * (mode, access), or NULL. */
const struct nlm_ent *nlm_share_conflict(const struct nlm_table *t, const struct nlm_file *f,
					 const struct nlm4_lock *owner, uint32_t mode,
					 uint32_t access);
/* Set the owner's share on f, replacing its earlier one (the caller
 * checked nlm_share_conflict).  0, or -1 (ENOMEM: nothing changed). */
int nlm_share_set(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *owner,
		  uint32_t mode, uint32_t access);
/* Remove the owner's share on f.  1 removed, 0 none. */
int nlm_share_remove(struct nlm_table *t, const struct nlm_file *f, const struct nlm4_lock *owner);
/* Drop every lock, waiter and share of the host caller[0, len).  How many. */
unsigned nlm_free_host(struct nlm_table *t, const uint8_t *caller, uint32_t len);
void nlm_table_free(struct nlm_table *t);

#endif
