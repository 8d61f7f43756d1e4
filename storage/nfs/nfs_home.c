/*
 * nfs_home.c - moving an NFS client connection to its data (doc/nasd.md
 * "Moving to the data"): a connection whose READ and WRITE data forwarded
 * to one home (call and reply bytes) reaches namespace.handoff_threshold is
 * handed to that home, so its later calls run there without forwarding.
 *
 * When, and how often:
 *   - only a VIP session is a candidate: a connection made to this node's
 *     own address cannot be rebuilt on another node (handoff_fd_on_vip,
 *     asked once);
 *   - not while the connection is pinned here (an operator's move brought
 *     it: tandemctl handoff/migrate, drain, the load trigger) or while the
 *     switch drains the home (storage/handoff/policy.c): asked again at its
 *     next forwarded READ or WRITE;
 *   - at a call boundary: once the reply in progress is out and only whole
 *     calls are buffered.  A large WRITE half received cannot travel in the
 *     handoff blob (nfs_conn_pause: EBUSY), and a client writing a file
 *     keeps the next WRITE coming, so while a move is wanted the connection
 *     reads only up to the end of the record it is in (rpc_record_need):
 *     the boundary comes right after that call is answered;
 *   - a move that fails is tried again at the next call boundary after one
 *     more call, NFS_HOME_TRIES in all.
 * Counted in status.handoff.nfs_home (struct nasd_stats).
 */
#include "nfs_int.h"

#include "lib/log.h"

#define NFS_HOME_TRIES 3

/* Reasons a connection is counted for once. */
enum { C_NOT_VIP = 1, C_PINNED = 2, C_DRAINING = 4, C_BUSY = 8 };

static void count_once(struct nfs_conn *c, unsigned what, uint64_t *ctr)
{
	if (c->home_counted & what)
		return;
	c->home_counted |= what;
	(*ctr)++;
}

void nfs_home_forwarded(struct nfs_server *s, struct nfs_conn *c, unsigned peer, size_t bytes)
{
	struct nasd *n = s->nasd;
	uint64_t thr = s->cfg->handoff_threshold;

	if (peer >= 16)
		return;
	c->fwd_bytes[peer] += bytes;
	if (!thr || c->fwd_bytes[peer] < thr || !n->ho || c->home_never || c->home_want || c->held ||
	    c->home_tries >= NFS_HOME_TRIES)
		return;
	if (!c->home_peer && !handoff_fd_on_vip(c->io.fd)) {
		/* made to this node's own address, not through the switch */
		c->home_never = 1;
		count_once(c, C_NOT_VIP, &n->st.nfs_home_not_vip);
		log_event(LOG_INFO, "home_stay", KV_S("app", "nfs"), KV_U("session", c->id),
			  KV_U("bytes", c->fwd_bytes[peer]), KV_U("nfs_id", s->cfg->peers[peer].node_id),
			  KV_S("reason", "made to this node's own address, not a VIP"));
		return;
	}
	c->home_peer = peer + 1;
	c->home_want = 1;
}

/* One more try done; the connection gives up after NFS_HOME_TRIES. */
static void tried(struct nasd *n, struct nfs_conn *c)
{
	if (++c->home_tries > 1)
		n->st.nfs_home_retried++;
}

int nfs_home_boundary(struct nfs_conn *c)
{
	struct nfs_server *s = c->srv;
	struct nasd *n = s->nasd;

	if (!c->home_want || c->waiting || c->calls < c->home_after)
		return 0;
	if (!nfs_conn_fits_blob(c)) {
		/* a large call half received: the boundary is after it */
		count_once(c, C_BUSY, &n->st.nfs_home_busy);
		return 0;
	}
	unsigned peer = (unsigned)c->home_peer - 1;
	c->home_want = 0;
	int rc = handoff_schedule_nfs(n, c, &s->cfg->peers[peer].addr);
	switch (rc) {
	case HO_SCHED_OK:
		tried(n, c);
		log_event(LOG_INFO, "home_move", KV_S("app", "nfs"), KV_U("session", c->id),
			  KV_U("bytes", c->fwd_bytes[peer]), KV_U("nfs_id", s->cfg->peers[peer].node_id),
			  KV_U("try", c->home_tries));
		return 1;	/* held: the next call is for the home */
	case HO_SCHED_PINNED:	/* asked again at its next forwarded call */
		count_once(c, C_PINNED, &n->st.nfs_home_pinned);
		return 0;
	case HO_SCHED_DRAINING:
		count_once(c, C_DRAINING, &n->st.nfs_home_draining);
		return 0;
	case HO_SCHED_NOT_VIP:
		c->home_never = 1;
		count_once(c, C_NOT_VIP, &n->st.nfs_home_not_vip);
		return 0;
	default:		/* no peer there, queue full: a failed try */
		tried(n, c);
		n->st.nfs_home_failed++;
		nfs_home_moved(n, c->id, -1);
		return 0;
	}
}

size_t nfs_home_read_max(const struct nfs_conn *c, size_t room)
{
	if (!c->home_want)
		return room;
	size_t need = rpc_record_need(c->in, c->in_len);
	if (!need)
		need = c->in_len ? 0 : 4;	/* whole calls buffered: none more; else the next mark */
	return need < room ? need : room;
}

void nfs_home_moved(struct nasd *n, uint64_t id, int moved)
{
	struct nfs_conn *c = nfs_conn_find(n, id);

	if (moved > 0) {
		n->st.nfs_home_ok++;
		return;
	}
	if (moved == 0)
		n->st.nfs_home_failed++;
	if (!c)
		return;
	if (c->home_tries >= NFS_HOME_TRIES) {
		n->st.nfs_home_gave_up++;
		log_event(LOG_NOTICE, "home_stay", KV_S("app", "nfs"), KV_U("session", c->id),
			  KV_S("reason", "not handed to its data's home after every try: its calls "
					 "are forwarded"), KV_U("tries", c->home_tries));
	} else {
		c->home_want = 1;	/* at the boundary after its next call */
		c->home_after = c->calls + 1;
	}
	if (moved == 0)
		nfs_conn_unhold(c);
}
