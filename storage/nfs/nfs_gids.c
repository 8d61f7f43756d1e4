/*
 * nfs_gids.c - manage_gids: a caller's groups from the directory, not from
 * the call.  AUTH_SYS carries at most 16 groups; a user in more gets access
 * through all of them only when the server looks them up itself (knfsd's
 * rpc.mountd --manage-gids does the same).  The lookup goes through the
 * system's NSS (getpwuid_r, getgrouplist), so the node's nsswitch.conf
 * decides where from: on a Tandem node, nslcd and the node's read-only
 * directory replica (doc/directory.md).
 *
 * Cached per uid for cfg->gids_cache_ms in a fixed table (NFS_GIDS_SLOTS,
 * one slot per uid hash: a collision replaces the older entry), so memory
 * is bounded whatever the clients send and a warm cache costs one hash
 * probe per call.  A miss calls NSS on the event loop: a lookup served by
 * the local replica takes well under a millisecond, and nslcd's own
 * timelimit bounds it when the replica is gone (the lab's nslcd.conf: 2 s);
 * a uid NSS does not know keeps the groups its call carries (cached too, so
 * unknown uids cannot make every call a lookup).  At most NFS_CRED_GIDS_MAX
 * groups are used: a user in more gets the first ones NSS lists, and the
 * server counts it (gids_truncated).
 */
#include "nfs_int.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/loop.h"

struct nfs_gids_ent {
	uint32_t uid;
	int used;
	int known;		/* NSS knows the uid: gids[] holds its groups */
	uint32_t n;
	uint64_t expires_ms;
	uint32_t gids[NFS_CRED_GIDS_MAX];
};

int nfs_gids_init(struct nfs_server *s)
{
	if (!s->cfg->manage_gids)
		return 0;
	s->gids = calloc(NFS_GIDS_SLOTS, sizeof(*s->gids));
	return s->gids ? 0 : -1;
}

void nfs_gids_free(struct nfs_server *s)
{
	free(s->gids);
	s->gids = NULL;
}

/* Fill e from NSS for uid. */
static void lookup(struct nfs_server *s, uint32_t uid, struct nfs_gids_ent *e)
{
	struct passwd pw, *res = NULL;
	gid_t g[NFS_CRED_GIDS_MAX];
	char buf[4096];
	int ng = NFS_CRED_GIDS_MAX;

	s->st.gids_lookups++;
	e->known = 0;
	e->n = 0;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		s->st.gids_unknown++;
		return;
	}
	if (getgrouplist(pw.pw_name, pw.pw_gid, g, &ng) < 0) {
		/* more than fit: glibc filled the array and says how many there are */
		s->st.gids_truncated++;
		ng = NFS_CRED_GIDS_MAX;
	}
	for (int i = 0; i < ng && i < NFS_CRED_GIDS_MAX; i++)
		e->gids[e->n++] = (uint32_t)g[i];
	e->known = 1;
}

const uint32_t *nfs_gids_of(struct nfs_server *s, uint32_t uid, uint32_t *n)
{
	struct nfs_gids_ent *e;
	uint64_t now = loop_now_ms();

	if (!s->gids)
		return NULL;
	e = &s->gids[(uid * 2654435761u) % NFS_GIDS_SLOTS];
	if (!e->used || e->uid != uid || now >= e->expires_ms) {
		e->uid = uid;
		e->used = 1;
		lookup(s, uid, e);
		e->expires_ms = loop_now_ms() + s->cfg->gids_cache_ms;
	} else {
		s->st.gids_hits++;
	}
	if (!e->known)
		return NULL;
	*n = e->n;
	return e->gids;
}
