/*
 * mount3.c - MOUNT v3 (RFC 1813 appendix I): MNT hands out the export's
 * root handle to clients inside a "clients" network (others: MNT3ERR_ACCES);
 * the path must be the configured export name (a trailing '/' allowed).
 * DUMP answers an empty list: nasd keeps no mount table (it would have to be
 * cluster-wide to mean anything behind a VIP); UMNT/UMNTALL are accepted.
 * Every MNT is logged (nfs_mount, nfs_mount_refused: doc/logs.md),
 * rate-limited: a client chooses how many, and the path's bytes (lib/log
 * escapes them: no control character reaches the log).
 */
#include "nfs_int.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"

#define MNT_LOG_PATH 96		/* path bytes shown */

/* Log r's MNT of path: nfs_mount, or nfs_mount_refused with why; unless
 * over its kind's rate (storage/log_client.h).  The path is cut at MNT_LOG_PATH
 * bytes or a NUL (path_len then says how long it was). */
static void mnt_log(struct nfs_req *r, const struct nfs3_str *path, const char *why)
{
	struct nfs_server *s = r->srv;
	char p[MNT_LOG_PATH + 1], client[TADDR_STRLEN], more[24], plen[24];
	size_t n = path->len < MNT_LOG_PATH ? path->len : MNT_LOG_PATH;
	uint16_t port;

	if (!log_rate_allow(why ? &s->log_mnt_refused : &s->log_mnt, more, sizeof(more)))
		return;
	memcpy(p, path->p, n);
	p[n] = '\0';
	snprintf(plen, sizeof(plen), "%u", (unsigned)path->len);
	log_client(r->peer, client, &port);
	log_event(why ? LOG_NOTICE : LOG_INFO, why ? "nfs_mount_refused" : "nfs_mount",
		  KV_S("client", client), KV_U("client_port", port), KV_S("path", p),
		  KV_S("path_len", strlen(p) < path->len ? plen : NULL), KV_S("reason", why),
		  KV_S("not_logged", more[0] ? more : NULL));
}

/*
 * The export itself (-> "", the root) or a directory below it (-> its
 * relative path, without empty segments): libnfs mounts the directory of
 * the file a URL names, and Linux's nfsd allows such subtree mounts too.
 * 0, or -1 (not under the export name, a NUL).
 */
static int path_below_export(const struct nfs_server *s, const struct nfs3_str *p, char *rel,
			     size_t cap)
{
	size_t l = strlen(s->cfg->export_name), pl = p->len, o = 0;

	while (pl > 1 && p->p[pl - 1] == '/')
		pl--;
	while (l > 1 && s->cfg->export_name[l - 1] == '/')
		l--;
	if (memchr(p->p, '\0', pl) || pl < l || memcmp(p->p, s->cfg->export_name, l))
		return -1;
	if (pl > l && p->p[l] != '/' && l > 1)
		return -1;
	for (size_t i = l; i < pl; i++) {
		if (p->p[i] == '/' && (o == 0 || rel[o - 1] == '/'))
			continue;
		if (o + 1 >= cap)
			return -1;
		rel[o++] = (char)p->p[i];
	}
	if (o && rel[o - 1] == '/')
		o--;
	rel[o] = '\0';
	return 0;
}

/* NULL, UMNT, UMNTALL: nothing to say (no mount table). */
static int m_void(struct nfs_req *r, const struct nfs3_str *path)
{
	return r->e->err ? -1 : 0;
}

static int m_dump(struct nfs_req *r, const struct nfs3_str *path)
{
	xdr_put_u32(r->e, 0);	/* no entries */
	return r->e->err ? -1 : 0;
}

/* MNT: refused outside "clients"; the export (the virtual root with a
 * namespace) or a directory below it, found on its home node. */
static int m_mnt(struct nfs_req *r, const struct nfs3_str *path)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	char rel[MNT_PATH_MAX + 1];
	struct nfs3_fh fh;

	if (!r->allowed) {
		mnt_log(r, path, "client not in \"clients\"");
		return mnt3_enc_mnt(e, MNT3ERR_ACCES, NULL);
	}
	if (path_below_export(s, path, rel, sizeof(rel)) < 0) {
		mnt_log(r, path, "not the export or below it");
		return mnt3_enc_mnt(e, MNT3ERR_NOENT, NULL);
	}
	if (!rel[0]) {
		nfs3_root_fh(s, &fh);	/* the virtual root with a namespace */
		mnt_log(r, path, NULL);
		return mnt3_enc_mnt(e, MNT3_OK, &fh);
	}
	if (s->cfg->vroot) {
		/* below a top-level directory: its home node answers */
		size_t tl = strcspn(rel, "/");
		uint8_t home = nfs_home_of(s, (const uint8_t *)rel, tl);
		if (!home)
			return mnt3_enc_mnt(e, MNT3ERR_NOENT, NULL);
		if (home != s->cfg->node_id) {
			if (nfs_proxy_forward(r, home) == 0)
				return NFS_FORWARDED;
			e->len = 0;
			return rpc_reply_accepted(e, r->call->xid, RPC_SYSTEM_ERR);
		}
	}
	uint32_t st = nfs3_subdir_fh(r, rel, &fh);
	mnt_log(r, path, st == MNT3_OK ? NULL : st == MNT3ERR_ACCES ? "no permission (as the caller)"
			 : st == MNT3ERR_NOTDIR ? "not a directory" : "no such directory");
	return mnt3_enc_mnt(e, st, st == MNT3_OK ? &fh : NULL);
}

/* EXPORT: the one export with the client networks as its groups. */
static int m_export(struct nfs_req *r, const struct nfs3_str *path)
{
	const struct nasd_nfs_config *cfg = r->srv->cfg;
	char groups[NASD_NFS_MAX_CLIENTS][64];
	const char *gp[NASD_NFS_MAX_CLIENTS];

	for (unsigned i = 0; i < cfg->nclients; i++) {
		char a[TADDR_STRLEN];
		snprintf(groups[i], sizeof(groups[i]), "%s/%u",
			 taddr_fmt(&cfg->clients[i].addr, a, sizeof(a)), cfg->clients[i].plen);
		gp[i] = groups[i];
	}
	return mnt3_enc_export(r->e, cfg->export_name, gp, cfg->nclients);
}

/* By procedure: whether the argument is a dirpath (else there is none),
 * and what writes the results after the accepted header.  As mount3_call. */
static const struct {
	const char *name;
	int dirpath;
	int (*fn)(struct nfs_req *r, const struct nfs3_str *path);
} procs[] = {
	[MNT3_NULL] = { "null", 0, m_void },
	[MNT3_MNT] = { "mnt", 1, m_mnt },
	[MNT3_DUMP] = { "dump", 0, m_dump },
	[MNT3_UMNT] = { "umnt", 1, m_void },
	[MNT3_UMNTALL] = { "umntall", 0, m_void },
	[MNT3_EXPORT] = { "export", 0, m_export },
};

int mount3_call(struct nfs_req *r)
{
	uint32_t proc = r->call->proc;
	struct nfs3_str path = { 0 };

	if (proc >= sizeof(procs) / sizeof(procs[0]))
		return nfs_reply_proc_unavail(r);
	if (procs[proc].dirpath ? mnt3_decode_dirpath(r->args, r->alen, &path) < 0 : r->alen != 0)
		return nfs_reply_garbage(r);
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	return procs[proc].fn(r, &path);
}
