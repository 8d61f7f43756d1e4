/*
 * rpcbind.c - rpcbind versions 3 and 4 (RFC 1833) for the services of this
 * node, beside the portmapper version 2 of portmap.c (same program, same
 * listeners, TCP and UDP).  What v3/v4 add is the universal address: a
 * service's address as text for any address family, so an IPv6 client can
 * find MOUNT and NFS (version 2 carries IPv4 ports only).
 *
 * The address given out is the one the call was made to (getsockname of
 * the connection or of the UDP socket, which is bound to its listener's
 * address): a client asking through the VIP is sent to the VIP, one asking
 * a node's own address to that address.  A netid of the other family than
 * that address gets "" (not registered): nasd does not know which of its
 * addresses of that family the client could reach.  Nothing registers
 * here: SET and UNSET answer false; CALLIT/INDIRECT (amplifiers),
 * UADDR2TADDR, TADDR2UADDR (netbufs of the client's own library) and
 * GETSTAT are PROC_UNAVAIL.
 */
#include "nfs_int.h"

#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "nlm_xdr.h"
#include "rpcb_xdr.h"

#define PROT_TCP 6
#define PROT_UDP 17

/* What the dumps list, in this order. */
static const struct { uint32_t prog, vers, prot; } svcs[] = {
	{ PMAP_PROG, 4, PROT_TCP }, { PMAP_PROG, 3, PROT_TCP }, { PMAP_PROG, 2, PROT_TCP },
	{ PMAP_PROG, 4, PROT_UDP }, { PMAP_PROG, 3, PROT_UDP }, { PMAP_PROG, 2, PROT_UDP },
	{ MOUNT_PROG, MOUNT_VERS, PROT_TCP }, { MOUNT_PROG, MOUNT_VERS, PROT_UDP },
	{ NFS3_PROG, NFS3_VERS, PROT_TCP },
	{ NLM_PROG, NLM4_VERS, PROT_TCP }, { NLM_PROG, NLM4_VERS, PROT_UDP },
	{ NSM_PROG, NSM_VERS, PROT_TCP }, { NSM_PROG, NSM_VERS, PROT_UDP },
};

/* The port of prog/vers over prot (portmap.c's table); with any_vers, of
 * any version of prog when vers is not served (GETADDR: the client then
 * learns the versions from PROG_MISMATCH).  0: none. */
static uint16_t port_of(const struct nfs_server *s, uint32_t prog, uint32_t vers, uint32_t prot,
			int any_vers)
{
	uint32_t p = pmap_port(s, prog, vers, prot);

	for (size_t i = 0; !p && any_vers && i < sizeof(svcs) / sizeof(svcs[0]); i++)
		if (svcs[i].prog == prog && svcs[i].prot == prot)
			p = pmap_port(s, prog, svcs[i].vers, prot);
	return (uint16_t)p;
}

/* GETADDR (any_vers) and GETVERSADDR: the universal address, "" if none. */
static int rb_getaddr(struct nfs_req *r, const struct rpcb_args *a, int any_vers)
{
	struct sockaddr_storage la;
	struct rpcb_netid n;
	char ua[RPCB_UADDR_MAX + 1] = "";

	if (nfs_req_local(r, &la) == 0) {
		if (rpcb_netid_parse(a->netid, a->netid_len, &n) < 0) {
			n.family = la.ss_family;	/* no netid we know: the call's own transport */
			n.prot = r->dg ? PROT_UDP : PROT_TCP;
		}
		uint16_t port = port_of(r->srv, a->prog, a->vers, n.prot, any_vers);
		if (port && n.family == la.ss_family && rpcb_uaddr_fmt(&la, port, ua, sizeof(ua)) < 0)
			ua[0] = 0;
	}
	return xdr_put_opaque(r->e, ua, (uint32_t)strlen(ua));
}

/* DUMP: rpcblist_ptr, every service at the call's address. */
static int rb_dump(struct nfs_req *r)
{
	struct sockaddr_storage la;
	char ua[RPCB_UADDR_MAX + 1];

	for (size_t i = 0; nfs_req_local(r, &la) == 0 && i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		uint16_t port = (uint16_t)pmap_port(r->srv, svcs[i].prog, svcs[i].vers, svcs[i].prot);
		if (!port || rpcb_uaddr_fmt(&la, port, ua, sizeof(ua)) < 0)
			continue;
		xdr_put_u32(r->e, 1);
		rpcb_put(r->e, svcs[i].prog, svcs[i].vers,
			 rpcb_netid_name(la.ss_family, svcs[i].prot), ua, "superuser");
	}
	return xdr_put_u32(r->e, 0);
}

/* GETADDRLIST (v4): rpcb_entry_list_ptr, prog/vers on every transport of
 * the call's address family. */
static int rb_addrlist(struct nfs_req *r, const struct rpcb_args *a)
{
	static const uint32_t prots[] = { PROT_TCP, PROT_UDP };
	struct sockaddr_storage la;
	char ua[RPCB_UADDR_MAX + 1];

	for (size_t i = 0; nfs_req_local(r, &la) == 0 && i < 2; i++) {
		uint16_t port = (uint16_t)pmap_port(r->srv, a->prog, a->vers, prots[i]);
		const char *fam = la.ss_family == AF_INET ? "inet" : "inet6";
		const char *proto = prots[i] == PROT_TCP ? "tcp" : "udp";
		if (!port || rpcb_uaddr_fmt(&la, port, ua, sizeof(ua)) < 0)
			continue;
		xdr_put_u32(r->e, 1);
		xdr_put_opaque(r->e, ua, (uint32_t)strlen(ua));
		const char *netid = rpcb_netid_name(la.ss_family, prots[i]);
		xdr_put_opaque(r->e, netid, (uint32_t)strlen(netid));
		xdr_put_u32(r->e, prots[i] == PROT_TCP ? 3 : 1);	/* NC_TPI_COTS_ORD / NC_TPI_CLTS */
		xdr_put_opaque(r->e, fam, (uint32_t)strlen(fam));
		xdr_put_opaque(r->e, proto, (uint32_t)strlen(proto));
	}
	return xdr_put_u32(r->e, 0);
}

int rpcbind_call(struct nfs_req *r)
{
	uint32_t proc = r->call->proc;
	struct rpcb_args a;
	char err[120];
	int takes_rpcb = proc == RPCB_SET || proc == RPCB_UNSET || proc == RPCB_GETADDR ||
			 proc == RPCB_GETVERSADDR || proc == RPCB_GETADDRLIST;

	if ((r->call->vers == 3 && proc > RPCB_TADDR2UADDR) || proc == RPCB_CALLIT ||
	    proc == RPCB_INDIRECT || proc == RPCB_UADDR2TADDR || proc == RPCB_TADDR2UADDR ||
	    proc > RPCB_GETADDRLIST)
		return nfs_reply_proc_unavail(r);
	if (takes_rpcb ? rpcb_decode(r->args, r->alen, &a, err, sizeof(err)) < 0 : r->alen != 0)
		return nfs_reply_garbage(r);
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	switch (proc) {
	case RPCB_SET:
	case RPCB_UNSET:
		return xdr_put_u32(r->e, 0);	/* false: nothing registers here */
	case RPCB_GETADDR:
		return rb_getaddr(r, &a, 1);
	case RPCB_GETVERSADDR:
		return rb_getaddr(r, &a, 0);
	case RPCB_DUMP:
		return rb_dump(r);
	case RPCB_GETTIME:
		return xdr_put_u32(r->e, (uint32_t)time(NULL));
	case RPCB_GETADDRLIST:
		return rb_addrlist(r, &a);
	default:		/* NULL */
		return r->e->err ? -1 : 0;
	}
}
