/*
 * nfs_ctl.c - the NFS control commands of nasd's control socket (nfs.h,
 * doc/nasd.md "NFS"): "nfs-conns" lists the connections, "nfs-state" {"id"}
 * shows one's handoff blob in hex, "nfs-rebuild" {"id"} runs the local half
 * of a handoff on it (pause, snapshot, release, restore on the same socket).
 */
#include "nfs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ctl.h"

static struct nfs_conn *ctl_conn(struct nasd *n, const json_t *req, json_t **err)
{
	json_t *id = json_object_get(req, "id");
	struct nfs_conn *c;

	if (!json_is_integer(id)) {
		*err = ctl_error("\"id\": an NFS connection id (see \"nfs-conns\") is required");
		return NULL;
	}
	if (!(c = nfs_conn_find(n, (uint64_t)json_integer_value(id))))
		*err = ctl_error("no NFS connection %lld", (long long)json_integer_value(id));
	return c;
}

static json_t *ctl_conns(struct nasd *n, const json_t *req)
{
	json_t *r, *arr = json_array();
	uint64_t now = loop_now_ms();
	char p[80];

	for (struct nfs_conn *c = n->nfs ? n->nfs->conns : NULL; c; c = c->next) {
		json_t *o = json_object();
		json_object_set_new(o, "id", nfs_ju(c->id));
		json_object_set_new(o, "client", json_string(nfs_peer_fmt(&c->peer, p, sizeof(p))));
		json_object_set_new(o, "allowed", json_boolean(c->allowed));
		json_object_set_new(o, "calls", nfs_ju(c->calls));
		json_object_set_new(o, "in", nfs_ju(c->in_len));
		json_object_set_new(o, "out", nfs_ju(c->out_len - c->out_off));
		json_object_set_new(o, "paused", json_boolean(c->paused));
		json_object_set_new(o, "restored", json_boolean(c->restored));
		json_object_set_new(o, "age_ms", nfs_ju(now - c->started_ms));
		json_object_set_new(o, "idle_ms", nfs_ju(now - c->last_ms));
		/* an operator's move brought it here: the rest of its hold */
		json_object_set_new(o, "pin_ms", nfs_ju(c->pin.until_ms > now ? c->pin.until_ms - now : 0));
		json_object_set_new(o, "home_tries", nfs_ju(c->home_tries));
		if (c->has_cred) {	/* numbers only: names are NSS's, not the loop's to ask */
			json_object_set_new(o, "uid", nfs_ju(c->last_uid));
			json_object_set_new(o, "gid", nfs_ju(c->last_gid));
		}
		json_array_append_new(arr, o);
	}
	r = ctl_ok();
	json_object_set_new(r, "conns", arr);
	return r;
}

/* The blob of connection c, in hex.  blob: RPC_CONN_MAX_BLOB bytes. */
static json_t *state_reply(struct nasd *n, struct nfs_conn *c, uint8_t *blob)
{
	long len = nfs_conn_snapshot(c, blob, RPC_CONN_MAX_BLOB);
	json_t *r;

	if (len < 0)
		return ctl_error("NFS connection %llu: %s", (unsigned long long)c->id,
				 strerror(errno));
	char *hex = malloc((size_t)len * 2 + 1);
	if (!hex)
		return ctl_error("out of memory");
	for (long i = 0; i < len; i++)
		snprintf(hex + i * 2, 3, "%02x", blob[i]);
	r = ctl_ok();
	json_object_set_new(r, "id", nfs_ju(c->id));
	json_object_set_new(r, "bytes", nfs_ju((uint64_t)len));
	json_object_set_new(r, "blob", json_string(hex));
	free(hex);
	return r;
}

/* The local half of a handoff on connection c, through blob
 * (RPC_CONN_MAX_BLOB bytes): pause, snapshot, release, restore on the same
 * socket. */
static json_t *rebuild_reply(struct nasd *n, struct nfs_conn *c, uint8_t *blob)
{
	uint64_t old = c->id;
	char e[200];
	json_t *r;

	if (nfs_conn_pause(c) < 0)
		return ctl_error("NFS connection %llu: %s", (unsigned long long)old,
				 strerror(errno));
	long len = nfs_conn_snapshot(c, blob, RPC_CONN_MAX_BLOB);
	if (len < 0) {
		int e2 = errno;
		nfs_conn_resume(c);
		return ctl_error("NFS connection %llu: snapshot: %s", (unsigned long long)old,
				 strerror(e2));
	}
	int fd = nfs_conn_release(c);
	struct nfs_conn *nc = nfs_conn_restore(n, fd, blob, (size_t)len, e, sizeof(e));
	if (!nc) {
		close(fd);
		return ctl_error("NFS connection %llu: restore: %s (connection lost)",
				 (unsigned long long)old, e);
	}
	r = ctl_ok();
	json_object_set_new(r, "old_id", nfs_ju(old));
	json_object_set_new(r, "id", nfs_ju(nc->id));
	json_object_set_new(r, "bytes", nfs_ju((uint64_t)len));
	return r;
}

/* "nfs-state" and "nfs-rebuild": the connection of req's "id" and a blob
 * buffer for the call (64 KiB: allocated per command, not kept). */
static json_t *ctl_blob(struct nasd *n, const json_t *req,
			json_t *(*fn)(struct nasd *n, struct nfs_conn *c, uint8_t *blob))
{
	json_t *err = NULL, *r;
	struct nfs_conn *c = ctl_conn(n, req, &err);
	uint8_t *blob;

	if (!c)
		return err;
	if (!(blob = malloc(RPC_CONN_MAX_BLOB)))
		return ctl_error("out of memory");
	r = fn(n, c, blob);
	free(blob);
	return r;
}

static json_t *ctl_state(struct nasd *n, const json_t *req)
{
	return ctl_blob(n, req, state_reply);
}

static json_t *ctl_rebuild(struct nasd *n, const json_t *req)
{
	return ctl_blob(n, req, rebuild_reply);
}

static const struct {
	const char *cmd;
	json_t *(*fn)(struct nasd *n, const json_t *req);
} cmds[] = {
	{ "nfs-conns", ctl_conns },
	{ "nfs-state", ctl_state },
	{ "nfs-rebuild", ctl_rebuild },
};

json_t *nfs_ctl(struct nasd *n, const char *cmd, const json_t *req)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].cmd))
			return cmds[i].fn(n, req);
	return NULL;
}
