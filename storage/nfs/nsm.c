/*
 * nsm.c - NSM v1, the status monitor (nlm.h), as far as a server needs it:
 *
 *   SM_STAT, SM_MON   STAT_SUCC and this node's state number (odd, new at
 *                     every start: a client that sees it change knows the
 *                     server restarted and reclaims its locks)
 *   SM_UNMON(_ALL)    this node's state
 *   SM_NOTIFY         a client host restarted: every lock and waiter of its
 *                     name goes (here and, in a namespace, on every node),
 *                     as NLM's FREE_ALL
 *   SIMU_CRASH        nothing (no result)
 *
 * SM_MON from another node of the namespace is how a home learns a client
 * that locked through that node (nlm_hosts.c): the node restarting tells
 * those clients with SM_NOTIFY.
 */
#include "nlm.h"

#include "lib/log.h"

int nsm_call(struct nfs_req *r)
{
	uint32_t proc = r->call->proc;
	struct nsm_args a;
	char err[160];

	if (proc > NSM_NOTIFY)
		return nfs_reply_proc_unavail(r);
	if (nsm_decode_args(proc, r->args, r->alen, &a, err, sizeof(err)) < 0) {
		log_debug("nsm xid %#x: %s", r->call->xid, err);
		return nfs_reply_garbage(r);
	}
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	switch (proc) {
	case NSM_MON:
		if (r->c && r->c->from_peer)	/* a peer forwarded a LOCK of this client here */
			nlm_host_note_uaddrs(r->srv, &a.mon_name, &a.my_name);
		/* fall through */
	case NSM_STAT:
		xdr_put_u32(r->e, r->allowed ? NSM_STAT_SUCC : NSM_STAT_FAIL);
		return xdr_put_u32(r->e, (uint32_t)r->srv->nlm->nsm_state);
	case NSM_UNMON:
	case NSM_UNMON_ALL:
		return xdr_put_u32(r->e, (uint32_t)r->srv->nlm->nsm_state);
	case NSM_NOTIFY:
		if (r->allowed) {
			r->srv->nlm->st.notified++;
			nlm_free_everywhere(r, a.mon_name.p, a.mon_name.len);
		}
		break;
	default:		/* NULL, SIMU_CRASH */
		break;
	}
	return r->e->err ? -1 : 0;
}
