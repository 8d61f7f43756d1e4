/*
 * nfs_call.c - the answer to one RPC record of a connection (nfs_conn.c
 * hands them over in order): the call header (oncrpc.h; a header that
 * cannot be answered is dropped, a bad one answered with its RPC error),
 * the duplicate request cache (nfs_drc.c), then the program's dispatcher
 * from the table below.  The reply goes into the connection's out[] behind
 * its record mark; a call forwarded to its home node (nfs_proxy.c) is
 * answered later through nfs_conn_reply().
 */
#include "nfs_int.h"

#include <string.h>

#include "lib/log.h"

/* An RPC program this service answers, in one version. */
struct nfs_prog {
	uint32_t prog, vers;
	/* the whole reply (accepted header included) into r->e: 0,
	 * NFS_FORWARDED, or -1 if it did not fit */
	int (*call)(struct nfs_req *r);
	/* the procedures whose replies go to the DRC (NULL: none) */
	int (*drc)(uint32_t proc);
};

static const struct nfs_prog progs[] = {
	{ NFS3_PROG, NFS3_VERS, nfs3_call, nfs3_drc_wanted },	/* nfs3_call.c */
	{ MOUNT_PROG, MOUNT_VERS, mount3_call, NULL },		/* mount3.c */
	{ PMAP_PROG, PMAP_VERS, portmap_call, NULL },		/* portmap.c */
};

int nfs_reply_proc_unavail(struct nfs_req *r)
{
	r->srv->st.proc_unavail++;
	return rpc_reply_accepted(r->e, r->call->xid, RPC_PROC_UNAVAIL);
}

int nfs_reply_garbage(struct nfs_req *r)
{
	r->srv->st.garbage_args++;
	return rpc_reply_accepted(r->e, r->call->xid, RPC_GARBAGE_ARGS);
}

static const struct nfs_prog *prog_of(uint32_t prog)
{
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (progs[i].prog == prog)
			return &progs[i];
	return NULL;
}

/* The program's answer, PROG_MISMATCH (another version of it) or
 * PROG_UNAVAIL (p NULL).  As struct nfs_prog's call. */
static int dispatch(struct nfs_req *r, const struct nfs_prog *p)
{
	struct nfs_server *s = r->srv;

	if (!p) {
		s->st.prog_unavail++;
		return rpc_reply_accepted(r->e, r->call->xid, RPC_PROG_UNAVAIL);
	}
	if (r->call->vers != p->vers) {
		s->st.prog_mismatch++;
		return rpc_reply_prog_mismatch(r->e, r->call->xid, p->vers, p->vers);
	}
	return p->call(r);
}

/* A decoded call (payload rec[0, len)) answered into e: the first reply
 * again for a retransmission found in the DRC, else the program's (put in
 * the DRC when its procedure is cached; SYSTEM_ERR when it did not fit).
 * 0, or NFS_FORWARDED (e holds nothing). */
static int answer_call(struct nfs_conn *c, const struct rpc_call *call, const uint8_t *rec,
		       size_t len, struct xdr_enc *e)
{
	struct nfs_server *s = c->srv;
	struct nfs_req r = { .srv = s, .c = c, .call = call, .args = rec + call->args_off,
			     .alen = len - call->args_off, .e = e, .rec = rec, .rec_len = len };
	const struct nfs_prog *p = prog_of(call->prog);
	int cache = p && call->vers == p->vers && p->drc && p->drc(call->proc);
	uint8_t a16[16];
	uint64_t ah = 0;

	if (cache) {
		const struct nfs_drc_ent *hit;
		nfs_drc_addr(&c->peer, a16);
		ah = nfs_drc_key(call, r.args, r.alen);	/* another uid: another entry */
		if ((hit = nfs_drc_find(s, a16, call->xid, call->prog, call->proc, ah))) {
			/* a retransmission: the first answer again, not a second run */
			s->st.drc_hits++;
			memcpy(e->p, hit->reply, hit->len);
			e->len = hit->len;
			return 0;
		}
	}
	int rc = dispatch(&r, p);
	if (rc == NFS_FORWARDED)
		return NFS_FORWARDED;	/* the reply comes from the home node */
	if (rc < 0 || e->err) {
		log_warnx("nfs conn %llu xid %#x: reply does not fit: SYSTEM_ERR",
			  (unsigned long long)c->id, call->xid);
		xdr_enc_init(e, e->p, e->cap);
		rpc_reply_accepted(e, call->xid, RPC_SYSTEM_ERR);
	} else if (cache) {
		nfs_drc_put(s, a16, call->xid, call->prog, call->proc, ah, e->p, e->len);
	}
	return 0;
}

int nfs_call_answer(struct nfs_conn *c, const uint8_t *rec, size_t len)
{
	struct nfs_server *s = c->srv;
	struct rpc_call call;
	struct xdr_enc e;
	char err[160];

	s->st.calls++;
	xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
	enum rpc_dec d = rpc_call_decode(rec, len, &call, err, sizeof(err));
	if (d == RPC_DEC_DROP) {
		s->st.dropped++;
		log_debug("nfs conn %llu: %s (no reply)", (unsigned long long)c->id, err);
		return -1;
	}
	if (d != RPC_DEC_OK) {
		if (d == RPC_DEC_RPC_MISMATCH)
			s->st.rpc_mismatch++;
		else
			s->st.auth_errors++;
		log_debug("nfs conn %llu xid %#x: %s", (unsigned long long)c->id, call.xid, err);
		rpc_reply_for_dec(&e, call.xid, d);
	} else if (answer_call(c, &call, rec, len, &e) == NFS_FORWARDED) {
		return 1;
	}
	nfs_conn_framed(c, e.len);
	return 0;
}
