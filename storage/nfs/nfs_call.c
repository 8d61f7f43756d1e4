/*
 * nfs_call.c - the answer to one RPC call: a record of a connection
 * (nfs_conn.c hands them over in order) or a datagram (nfs_udp.c).  The
 * call header (oncrpc.h; a header that cannot be answered is dropped, a bad
 * one answered with its RPC error), the duplicate request cache (nfs_drc.c;
 * connections only: over UDP only the portmapper and MOUNT answer, neither
 * cached), then the program's dispatcher from the table below.  A
 * connection's reply goes into its out[] behind its record mark; a call
 * forwarded to its home node (nfs_proxy.c) is answered later through
 * nfs_conn_reply() (or, from a datagram, sent by nfs_udp.c's callback).
 */
#include "nfs_int.h"

#include <netinet/in.h>
#include <string.h>

#include "lib/log.h"
#include "nlm.h"
#include "rpcb_xdr.h"

/* An RPC program this service answers, in a range of versions. */
struct nfs_prog {
	uint32_t prog, vers, vers_hi;	/* the versions vers..vers_hi */
	int udp;		/* answered over UDP too (NFS is TCP only) */
	/* the whole reply (accepted header included) into r->e: 0,
	 * NFS_FORWARDED, or -1 if it did not fit */
	int (*call)(struct nfs_req *r);
	/* the procedures whose replies go to the DRC (NULL: none) */
	int (*drc)(uint32_t proc);
};

static const struct nfs_prog progs[] = {
	{ NFS3_PROG, NFS3_VERS, NFS3_VERS, 0, nfs3_call, nfs3_drc_wanted },	/* nfs3_call.c */
	{ MOUNT_PROG, MOUNT_VERS, MOUNT_VERS, 1, mount3_call, NULL },		/* mount3.c */
	{ PMAP_PROG, PMAP_VERS, RPCB_VERS_HI, 1, portmap_call, NULL },	/* portmap.c, rpcbind.c */
	{ NLM_PROG, NLM4_VERS, NLM4_VERS, 1, nlm_call, NULL },		/* nlm.c */
	{ NSM_PROG, NSM_VERS, NSM_VERS, 1, nsm_call, NULL },		/* nsm.c */
};

int nfs_req_local(const struct nfs_req *r, struct sockaddr_storage *ss)
{
	socklen_t l = sizeof(*ss);
	int fd = r->c ? r->c->io.fd : r->dg->fd;

	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, &l) < 0)
		return -1;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = s6->sin6_port };
		memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, &s4, sizeof(s4));
	}
	return ss->ss_family == AF_INET || ss->ss_family == AF_INET6 ? 0 : -1;
}

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
 * PROG_UNAVAIL (p NULL, or not over this transport).  As struct nfs_prog's
 * call. */
static int dispatch(struct nfs_req *r, const struct nfs_prog *p)
{
	struct nfs_server *s = r->srv;

	if (!p || (r->dg && !p->udp)) {
		s->st.prog_unavail++;
		return rpc_reply_accepted(r->e, r->call->xid, RPC_PROG_UNAVAIL);
	}
	if (r->call->vers < p->vers || r->call->vers > p->vers_hi) {
		s->st.prog_mismatch++;
		return rpc_reply_prog_mismatch(r->e, r->call->xid, p->vers, p->vers_hi);
	}
	return p->call(r);
}

/* A decoded call of r (srv, c or dg, peer, allowed set) answered into
 * r->e: the first reply again for a retransmission found in the DRC, else
 * the program's (put in the DRC when its procedure is cached; SYSTEM_ERR
 * when it did not fit).  0, or NFS_FORWARDED (e holds nothing). */
static int answer_call(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	const struct rpc_call *call = r->call;
	struct xdr_enc *e = r->e;
	const struct nfs_prog *p = prog_of(call->prog);
	int cache = p && call->vers >= p->vers && call->vers <= p->vers_hi && p->drc &&
		    p->drc(call->proc) && r->c;
	uint8_t a16[16];
	uint64_t ah = 0;

	r->args = r->rec + call->args_off;
	r->alen = r->rec_len - call->args_off;
	if (cache) {
		const struct nfs_drc_ent *hit;
		nfs_drc_addr(r->peer, a16);
		ah = nfs_drc_key(call, r->args, r->alen);	/* another uid: another entry */
		if ((hit = nfs_drc_find(s, a16, call->xid, call->prog, call->proc, ah))) {
			/* a retransmission: the first answer again, not a second run */
			s->st.drc_hits++;
			memcpy(e->p, hit->reply, hit->len);
			e->len = hit->len;
			return 0;
		}
	}
	int rc = dispatch(r, p);
	if (rc == NFS_FORWARDED)
		return NFS_FORWARDED;	/* the reply comes from the home node */
	if (rc < 0 || e->err) {
		log_warnx("nfs %s %llu xid %#x: reply does not fit: SYSTEM_ERR", r->c ? "conn" : "udp",
			  (unsigned long long)(r->c ? r->c->id : 0), call->xid);
		xdr_enc_init(e, e->p, e->cap);
		rpc_reply_accepted(e, call->xid, RPC_SYSTEM_ERR);
	} else if (cache) {
		nfs_drc_put(s, a16, call->xid, call->prog, call->proc, ah, e->p, e->len);
	}
	return 0;
}

/* A forwarded call (RPC_AUTH_TANDEM_FWD verifier): what the client's group
 * lets it do as the forwarding node saw it, into *acc, and r->acc pointed
 * at it.  Only from a namespace peer's connection: -1 from anyone else
 * (a client cannot choose its own squash). */
static int forwarded_access(struct nfs_req *r, const struct rpc_call *call,
			    struct nfs_access *acc)
{
	if (!r->c || !r->c->from_peer) {
		r->srv->st.auth_errors++;
		return -1;
	}
	*acc = (struct nfs_access){ .allowed = 1,
				    .writable = !!(call->fwd.flags & RPC_FWD_WRITABLE),
				    .root_squash = !!(call->fwd.flags & RPC_FWD_ROOT_SQUASH),
				    .anonuid = call->fwd.anonuid, .anongid = call->fwd.anongid,
				    .group = call->fwd.group == 0xffffffffu ? -1 : (int)call->fwd.group };
	r->acc = acc;
	r->allowed = 1;
	r->srv->st.fwd_decided++;
	return 0;
}

/* The call in r->rec answered into r->e (r: srv, c or dg, peer, allowed,
 * e, rec, rec_len set).  0: the reply is in e; -1 nothing to answer
 * (dropped); NFS_FORWARDED. */
static int answer_record(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	struct rpc_call call;
	char err[160];
	unsigned long long id = r->c ? r->c->id : 0;
	const char *kind = r->c ? "conn" : "udp";

	s->st.calls++;
	enum rpc_dec d = rpc_call_decode(r->rec, r->rec_len, &call, err, sizeof(err));
	if (d == RPC_DEC_DROP) {
		s->st.dropped++;
		log_debug("nfs %s %llu: %s (no reply)", kind, id, err);
		return -1;
	}
	if (d != RPC_DEC_OK) {
		if (d == RPC_DEC_RPC_MISMATCH)
			s->st.rpc_mismatch++;
		else
			s->st.auth_errors++;
		log_debug("nfs %s %llu xid %#x: %s", kind, id, call.xid, err);
		rpc_reply_for_dec(r->e, call.xid, d);
		return 0;
	}
	struct nfs_access fwd_acc;
	const struct nfs_access *acc0 = r->acc;
	int allowed0 = r->allowed;
	if (call.has_fwd && forwarded_access(r, &call, &fwd_acc) < 0) {
		rpc_reply_for_dec(r->e, call.xid, RPC_DEC_BADVERF);
		return 0;
	}
	if (r->c && call.cred_flavor == RPC_AUTH_SYS) {
		r->c->last_uid = call.sys.uid;
		r->c->last_gid = call.sys.gid;
		r->c->has_cred = 1;
	}
	r->call = &call;
	int rc = answer_call(r);
	r->call = NULL;	/* it lived on this stack */
	r->acc = acc0;	/* fwd_acc lived on this stack too */
	r->allowed = allowed0;
	return rc;
}

int nfs_call_answer(struct nfs_conn *c, const uint8_t *rec, size_t len)
{
	struct xdr_enc e;
	const struct nfs_access *acc = nfs_conn_access(c);
	struct nfs_req r = { .srv = c->srv, .c = c, .peer = &c->peer, .allowed = acc->allowed,
			     .acc = acc, .e = &e, .rec = rec, .rec_len = len };

	xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
	int rc = answer_record(&r);
	if (rc == NFS_FORWARDED)
		return 1;
	if (rc < 0)
		return -1;
	nfs_conn_framed(c, e.len);
	return 0;
}

size_t nfs_call_datagram(struct nfs_server *s, const struct nfs_dgram *dg, int allowed,
			 const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	struct xdr_enc e;
	struct nfs_access acc;
	int peer;

	nfs_conn_admissible(s, &dg->peer, &peer);
	nfs_policy_access(s, &dg->peer, allowed, peer, &acc);
	struct nfs_req r = { .srv = s, .dg = dg, .peer = &dg->peer, .allowed = acc.allowed,
			     .acc = &acc, .e = &e, .rec = buf, .rec_len = len };

	xdr_enc_init(&e, out, cap);
	if (answer_record(&r) != 0)
		return 0;
	s->st.replies++;
	return e.len;
}
