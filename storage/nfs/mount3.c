/*
 * mount3.c - MOUNT v3 (RFC 1813 appendix I): MNT hands out the export's
 * root handle to clients inside a "clients" network (others: MNT3ERR_ACCES);
 * the path must be the configured export name (a trailing '/' allowed).
 * DUMP answers an empty list: nasd keeps no mount table (it would have to be
 * cluster-wide to mean anything behind a VIP); UMNT/UMNTALL are accepted.
 */
#include "nfs_int.h"

#include <string.h>

#include "lib/log.h"

static int garbage(struct nfs_req *r)
{
	r->srv->st.garbage_args++;
	return rpc_reply_accepted(r->e, r->call->xid, RPC_GARBAGE_ARGS);
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

int mount3_call(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	uint32_t xid = r->call->xid;
	struct nfs3_str path;
	struct nfs3_fh fh;

	switch (r->call->proc) {
	case MNT3_NULL:
	case MNT3_DUMP:
	case MNT3_UMNTALL:
		if (r->alen)
			return garbage(r);
		rpc_reply_accepted(e, xid, RPC_SUCCESS);
		if (r->call->proc == MNT3_DUMP)
			xdr_put_u32(e, 0);	/* no entries */
		return e->err ? -1 : 0;
	case MNT3_MNT:
	case MNT3_UMNT:
		if (mnt3_decode_dirpath(r->args, r->alen, &path) < 0)
			return garbage(r);
		rpc_reply_accepted(e, xid, RPC_SUCCESS);
		if (r->call->proc == MNT3_UMNT)
			return 0;
		if (!r->c->allowed) {
			log_info("nfs: MNT %.*s refused: client not in \"clients\"", (int)path.len,
				 (const char *)path.p);
			return mnt3_enc_mnt(e, MNT3ERR_ACCES, NULL);
		}
		char rel[MNT_PATH_MAX + 1];
		if (path_below_export(s, &path, rel, sizeof(rel)) < 0)
			return mnt3_enc_mnt(e, MNT3ERR_NOENT, NULL);
		if (!rel[0]) {
			nfs3_root_fh(s, &fh);	/* the virtual root with a namespace */
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
				return rpc_reply_accepted(e, xid, RPC_SYSTEM_ERR);
			}
		}
		uint32_t st = nfs3_subdir_fh(s, rel, &fh);
		return mnt3_enc_mnt(e, st, st == MNT3_OK ? &fh : NULL);
	case MNT3_EXPORT: {
		char groups[NASD_NFS_MAX_CLIENTS][64];
		const char *gp[NASD_NFS_MAX_CLIENTS];
		if (r->alen)
			return garbage(r);
		for (unsigned i = 0; i < s->cfg->nclients; i++) {
			char a[TADDR_STRLEN];
			snprintf(groups[i], sizeof(groups[i]), "%s/%u",
				 taddr_fmt(&s->cfg->clients[i].addr, a, sizeof(a)),
				 s->cfg->clients[i].plen);
			gp[i] = groups[i];
		}
		rpc_reply_accepted(e, xid, RPC_SUCCESS);
		return mnt3_enc_export(e, s->cfg->export_name, gp, s->cfg->nclients);
	}
	default:
		s->st.proc_unavail++;
		return rpc_reply_accepted(e, xid, RPC_PROC_UNAVAIL);
	}
}
