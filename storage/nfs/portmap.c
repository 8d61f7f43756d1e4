/*
 * portmap.c - portmapper v2 (RFC 1833) answers for the services of this
 * node: NFS v3 and MOUNT v3 on TCP 2049 (the first "listen" port), the
 * portmapper itself on 111.  Nothing registers here: SET/UNSET answer
 * false, CALLIT is not offered (an amplifier, and nothing to forward to).
 */
#include "nfs_int.h"

#define IPPROTO_TCP_NUM 6

struct pmap_ent { uint32_t prog, vers; };

static uint16_t nfs_port(const struct nfs_server *s)
{
	return s->cfg->nlisten ? s->cfg->listen[0].port : NFS3_PORT;
}

static uint32_t lookup(const struct nfs_server *s, const struct pmap_mapping *m)
{
	if (m->prot != IPPROTO_TCP_NUM)
		return 0;	/* no UDP service */
	if ((m->prog == NFS3_PROG && m->vers == NFS3_VERS) ||
	    (m->prog == MOUNT_PROG && m->vers == MOUNT_VERS))
		return nfs_port(s);
	if (m->prog == PMAP_PROG && m->vers == PMAP_VERS)
		return s->cfg->npmap ? s->cfg->pmap[0].port : PMAP_PORT;
	return 0;
}

int portmap_call(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	uint32_t xid = r->call->xid;
	struct pmap_mapping m;

	switch (r->call->proc) {
	case PMAP_NULL:
		if (r->alen) {
			s->st.garbage_args++;
			return rpc_reply_accepted(e, xid, RPC_GARBAGE_ARGS);
		}
		return rpc_reply_accepted(e, xid, RPC_SUCCESS);
	case PMAP_SET: case PMAP_UNSET: case PMAP_GETPORT:
		if (pmap_decode_mapping(r->args, r->alen, &m) < 0) {
			s->st.garbage_args++;
			return rpc_reply_accepted(e, xid, RPC_GARBAGE_ARGS);
		}
		rpc_reply_accepted(e, xid, RPC_SUCCESS);
		return xdr_put_u32(e, r->call->proc == PMAP_GETPORT ? lookup(s, &m) : 0);
	case PMAP_DUMP: {
		static const struct pmap_ent ents[] = {
			{ PMAP_PROG, PMAP_VERS }, { MOUNT_PROG, MOUNT_VERS }, { NFS3_PROG, NFS3_VERS },
		};
		if (r->alen) {
			s->st.garbage_args++;
			return rpc_reply_accepted(e, xid, RPC_GARBAGE_ARGS);
		}
		rpc_reply_accepted(e, xid, RPC_SUCCESS);
		for (unsigned i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			struct pmap_mapping q = { ents[i].prog, ents[i].vers, IPPROTO_TCP_NUM, 0 };
			xdr_put_u32(e, 1);
			xdr_put_u32(e, q.prog);
			xdr_put_u32(e, q.vers);
			xdr_put_u32(e, q.prot);
			xdr_put_u32(e, lookup(s, &q));
		}
		return xdr_put_u32(e, 0);
	}
	default:
		s->st.proc_unavail++;
		return rpc_reply_accepted(e, xid, RPC_PROC_UNAVAIL);
	}
}
