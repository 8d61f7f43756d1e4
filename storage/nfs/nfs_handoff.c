/*
 * nfs_handoff.c - an NFS client connection as the handoff engine moves it
 * (storage/handoff/handoff.h, struct ho_conn_ops): nfs.h's handoff half
 * (nfs_conn_pause ... nfs_conn_restore, finding and naming connections)
 * behind the engine's table.  Built only on nfs.h's public functions.
 */
#include "nfs.h"
#include "oncrpc.h"
#include "storage/handoff/handoff.h"

#include <stdlib.h>
#include <string.h>

/* cap of the id list (handoff_all, lookups by endpoint) */
#define NFS_LIST_MAX 65536
#define NFS_FIND_MAX 4096

/* "nfs:ID" selects a connection by id, "a.b.c.d:port" by client endpoint. */
static void *nfs_find(struct nasd *n, const json_t *sel)
{
	char buf[TADDR_STRLEN + 10];
	const char *want = json_string_value(sel);

	if (!want)
		return NULL;
	if (!strncmp(want, "nfs:", 4))
		return nfs_conn_find(n, strtoull(want + 4, NULL, 10));
	uint64_t ids[NFS_FIND_MAX];
	size_t k = nfs_conn_ids(n, ids, NFS_FIND_MAX);
	for (size_t i = 0; i < k; i++) {
		struct nfs_conn *c = nfs_conn_find(n, ids[i]);
		struct lb_flow_key key;
		if (c && handoff_flow_of(nfs_conn_fd(c), &key, buf, sizeof(buf)) == 0 &&
		    !strcmp(buf, want))
			return c;
	}
	return NULL;
}

static void *nfs_of_key(struct nasd *n, const struct lb_flow_key *k)
{
	return nfs_conn_of_key(n, k);
}

static void *nfs_by_id(struct nasd *n, uint64_t id)
{
	return nfs_conn_find(n, id);
}

static uint64_t *nfs_list(struct nasd *n, size_t *count)
{
	uint64_t *ids = calloc(NFS_LIST_MAX, sizeof(*ids));

	if (ids)
		*count = nfs_conn_ids(n, ids, NFS_LIST_MAX);
	return ids;
}

static int nfs_fd(const void *conn)
{
	return nfs_conn_fd(conn);
}

static uint64_t nfs_id(const void *conn)
{
	return nfs_conn_id(conn);
}

static const char *nfs_unmovable(const void *conn)
{
	return nfs_conn_movable(conn) ? NULL : "paused";
}

static int nfs_pause(void *conn)
{
	return nfs_conn_pause(conn);
}

static void nfs_resume(void *conn)
{
	nfs_conn_resume(conn);
}

static ssize_t nfs_snapshot(const void *conn, uint8_t *buf, size_t cap)
{
	return (ssize_t)nfs_conn_snapshot(conn, buf, cap);
}

static int nfs_release(void *conn)
{
	return nfs_conn_release(conn);
}

static const char *nfs_unavailable(const struct nasd *n)
{
	return n->nfs ? NULL : "no NFS service here";
}

static void *nfs_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len, char *err,
			 size_t errlen)
{
	return nfs_conn_restore(n, fd, blob, len, err, errlen);
}

static void nfs_hold(void *conn)
{
	nfs_conn_hold(conn);
}

static void nfs_unhold(void *conn)
{
	nfs_conn_unhold(conn);
}

/* It stays held during the move; one that stays reads its calls again
 * (and tries again later: nfs_home.c). */
static void nfs_move_end(struct nasd *n, uint64_t id, int moved)
{
	nfs_home_moved(n, id, moved ? 1 : 0);
}

static struct ho_pin *nfs_pin_of(void *conn)
{
	return nfs_conn_pin(conn);
}

const struct ho_conn_ops nfs_handoff_ops = {
	.service = "nfs",
	.label = "NFS",
	.noun = "NFS connection",
	.find = nfs_find,
	.of_key = nfs_of_key,
	.by_id = nfs_by_id,
	.list = nfs_list,
	.fd = nfs_fd,
	.id = nfs_id,
	.unmovable = nfs_unmovable,
	.pause = nfs_pause,
	.resume = nfs_resume,
	.snapshot = nfs_snapshot,
	.release = nfs_release,
	.blob_max = RPC_CONN_MAX_BLOB,
	.unavailable = nfs_unavailable,
	.restore = nfs_restore,
	.hold = nfs_hold,
	.unhold = nfs_unhold,
	.move_end = nfs_move_end,
	.pin_of = nfs_pin_of,
};
