/*
 * portmap.c - portmapper v2 (RFC 1833) answers for the services of this
 * node: NFS v3 on TCP 2049 (the first "listen" port), MOUNT v3, NLM v4 and
 * NSM v1 on TCP and UDP 2049, the portmapper itself on TCP and UDP 111 (nfs_udp.c serves
 * both programs over UDP on every listener address).  Nothing registers
 * here: SET/UNSET answer false, CALLIT is not offered (an amplifier, and
 * nothing to forward to).  Versions 3 and 4 (rpcbind) of the same program:
 * rpcbind.c.  The version 2 DUMP lists the version 2 services (not
 * rpcbind 3 and 4); GETPORT answers for them too.
 */
#include "nfs_int.h"
#include "nlm_xdr.h"
#include "rpcb_xdr.h"

#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17

struct pmap_ent { uint32_t prog, vers, prot; };

static uint16_t nfs_port(const struct nfs_server *s)
{
	return s->cfg->nlisten ? s->cfg->listen[0].port : NFS3_PORT;
}

uint32_t pmap_port(const struct nfs_server *s, uint32_t prog, uint32_t vers, uint32_t prot)
{
	if (prot != IPPROTO_TCP_NUM && prot != IPPROTO_UDP_NUM)
		return 0;
	if (prog == NFS3_PROG && vers == NFS3_VERS)
		return prot == IPPROTO_TCP_NUM ? nfs_port(s) : 0;	/* NFS: TCP only */
	if (prog == MOUNT_PROG && vers == MOUNT_VERS)
		return nfs_port(s);
	if ((prog == NLM_PROG && vers == NLM4_VERS) || (prog == NSM_PROG && vers == NSM_VERS))
		return nfs_port(s);	/* locking: TCP and UDP */
	if (prog == PMAP_PROG && vers >= PMAP_VERS && vers <= RPCB_VERS_HI)
		return s->cfg->npmap ? s->cfg->pmap[0].port : PMAP_PORT;
	return 0;
}

static uint32_t lookup(const struct nfs_server *s, const struct pmap_mapping *m)
{
	return pmap_port(s, m->prog, m->vers, m->prot);
}

static int pm_null(struct nfs_req *r, const struct pmap_mapping *m)
{
	return r->e->err ? -1 : 0;
}

/* SET and UNSET: false, nothing registers here. */
static int pm_false(struct nfs_req *r, const struct pmap_mapping *m)
{
	return xdr_put_u32(r->e, 0);
}

static int pm_getport(struct nfs_req *r, const struct pmap_mapping *m)
{
	return xdr_put_u32(r->e, lookup(r->srv, m));
}

static int pm_dump(struct nfs_req *r, const struct pmap_mapping *m)
{
	static const struct pmap_ent ents[] = {
		{ PMAP_PROG, PMAP_VERS, IPPROTO_TCP_NUM }, { PMAP_PROG, PMAP_VERS, IPPROTO_UDP_NUM },
		{ MOUNT_PROG, MOUNT_VERS, IPPROTO_TCP_NUM }, { MOUNT_PROG, MOUNT_VERS, IPPROTO_UDP_NUM },
		{ NFS3_PROG, NFS3_VERS, IPPROTO_TCP_NUM },
		{ NLM_PROG, NLM4_VERS, IPPROTO_TCP_NUM }, { NLM_PROG, NLM4_VERS, IPPROTO_UDP_NUM },
		{ NSM_PROG, NSM_VERS, IPPROTO_TCP_NUM }, { NSM_PROG, NSM_VERS, IPPROTO_UDP_NUM },
	};
	struct xdr_enc *e = r->e;

	for (unsigned i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		struct pmap_mapping q = { ents[i].prog, ents[i].vers, ents[i].prot, 0 };
		xdr_put_u32(e, 1);
		xdr_put_u32(e, q.prog);
		xdr_put_u32(e, q.vers);
		xdr_put_u32(e, q.prot);
		xdr_put_u32(e, lookup(r->srv, &q));
	}
	return xdr_put_u32(e, 0);
}

/* By procedure: whether the argument is a struct mapping (else there is
 * none), and what writes the results after the accepted header.  CALLIT
 * and above: PROC_UNAVAIL.  As portmap_call. */
static const struct {
	const char *name;
	int mapping;
	int (*fn)(struct nfs_req *r, const struct pmap_mapping *m);
} procs[] = {
	[PMAP_NULL] = { "null", 0, pm_null },
	[PMAP_SET] = { "set", 1, pm_false },
	[PMAP_UNSET] = { "unset", 1, pm_false },
	[PMAP_GETPORT] = { "getport", 1, pm_getport },
	[PMAP_DUMP] = { "dump", 0, pm_dump },
};

int portmap_call(struct nfs_req *r)
{
	uint32_t proc = r->call->proc;
	struct pmap_mapping m = { 0 };

	if (r->call->vers >= RPCB_VERS_LO)
		return rpcbind_call(r);	/* rpcbind.c */
	if (proc >= sizeof(procs) / sizeof(procs[0]))
		return nfs_reply_proc_unavail(r);
	if (procs[proc].mapping ? pmap_decode_mapping(r->args, r->alen, &m) < 0 : r->alen != 0)
		return nfs_reply_garbage(r);
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	return procs[proc].fn(r, &m);
}
