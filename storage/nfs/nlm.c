/*
 * nlm.c - the NLM v4 procedures (nlm.h): TEST, LOCK, CANCEL, UNLOCK,
 * GRANTED, FREE_ALL, NM_LOCK (a LOCK), SHARE and UNSHARE (DOS share
 * reservations, at the home as locks are), the _MSG forms and the _RES
 * forms (accepted, ignored).
 *
 * The _MSG forms (the asynchronous protocol some clients use over UDP):
 * the call is decided as its synchronous form, answered at once with an
 * empty reply, and its result goes to the client as a call of its own
 * _RES procedure (nlm_cb.c: the client's portmapper, then from the address
 * it called).  One for a file homed elsewhere goes to the home as the
 * synchronous call (a call of this node's own), and its reply comes back
 * here to be sent on as the _RES call.
 *
 * Lock state lives on the home node of the file (the node id in its
 * handle, as NFS calls are routed: nfs3_call.c), so a lock taken through
 * one node conflicts with a request through any other.  A call on another
 * node's file is forwarded whole to that node (nfs_proxy.c) and its reply
 * comes back the same way.  A lock belongs to its owner (caller_name, oh,
 * svid), not to a connection: a session handed to another node, or a
 * switch failover, leaves it where it is.
 *
 * Blocking: a LOCK that conflicts with block set is answered BLOCKED and
 * queued at the home; when the conflict goes, the home grants it and sends
 * GRANTED.  A client that called the home itself gets the callback from
 * the home (nlm_cb.c); one whose LOCK came through another node X: the
 * home sends GRANTED to X (the call it forwarded came from X), and X, which
 * remembered the client when it forwarded the LOCK (the relay table),
 * sends it on.  Either way the callback leaves from the address the client
 * called: the VIP.
 */
#include "nlm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "nfs_fh.h"
#include "rpcb_xdr.h"

int nlm_open(struct nfs_server *s)
{
	struct nlm_server *n = calloc(1, sizeof(*n));

	if (!n)
		return -1;
	/* a new odd state at every start, increasing (seconds since the epoch) */
	n->nsm_state = (int32_t)((uint32_t)time(NULL) | 1);
	n->next_xid = (uint32_t)loop_now_ns();
	if (s->cfg->nlm_grace_s)
		n->grace_until_ms = loop_now_ms() + (uint64_t)s->cfg->nlm_grace_s * 1000;
	s->nlm = n;
	nlm_hosts_load(s);
	return 0;
}

void nlm_close(struct nfs_server *s)
{
	if (!s->nlm)
		return;
	nlm_cb_close_all(s);
	nlm_table_free(&s->nlm->t);
	free(s->nlm);
	s->nlm = NULL;
}

json_t *nlm_status(const struct nfs_server *s)
{
	const struct nlm_server *n = s->nlm;
	uint64_t now = loop_now_ms();

	if (!n)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"locks", nfs_ju(n->t.nlocks), "waiting", nfs_ju(n->t.nwaiters),
		"nsm_state", nfs_ju((uint32_t)n->nsm_state),
		"grace_ms", nfs_ju(n->grace_until_ms > now ? n->grace_until_ms - now : 0),
		"granted", nfs_ju(n->st.granted), "denied", nfs_ju(n->st.denied),
		"blocked", nfs_ju(n->st.blocked), "cancelled", nfs_ju(n->st.cancelled),
		"unlocked", nfs_ju(n->st.unlocked), "tests", nfs_ju(n->st.tests),
		"grace_refused", nfs_ju(n->st.grace_refused), "forwarded", nfs_ju(n->st.forwarded),
		"relayed", nfs_ju(n->st.relayed), "callbacks", nfs_ju(n->st.callbacks),
		"callbacks_failed", nfs_ju(n->st.callbacks_failed), "freed", nfs_ju(n->st.freed),
		"notified", nfs_ju(n->st.notified), "hosts", nfs_ju(n->nhosts),
		"notify_sent", nfs_ju(n->st.notify_sent), "msgs", nfs_ju(n->st.msgs),
		"results_sent", nfs_ju(n->st.results), "shares", nfs_ju(n->t.nshares),
		"shared", nfs_ju(n->st.shared), "share_denied", nfs_ju(n->st.share_denied),
		"unshared", nfs_ju(n->st.unshared));
}

uint64_t nlm_relay_key(const struct nlm4_lock *l)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a over the owner, the file and the range */
	const struct nlm_obj *objs[3] = { &l->caller, &l->oh, &l->fh };
	uint64_t nums[3] = { (uint32_t)l->svid, l->off, l->len };

	for (int i = 0; i < 3; i++) {
		for (uint32_t j = 0; j < objs[i]->len; j++)
			h = (h ^ objs[i]->p[j]) * 1099511628211ull;
		h = (h ^ objs[i]->len) * 1099511628211ull;
		h = (h ^ nums[i]) * 1099511628211ull;
	}
	return h ? h : 1;
}

/* Where a GRANTED for r's client goes (nlm_cb_to). */
static void cb_to_of(const struct nfs_req *r, struct nlm_cb_to *to)
{
	memset(to, 0, sizeof(*to));
	to->client = *r->peer;
	nfs_req_local(r, &to->local);
	if (r->c && r->c->from_peer) {
		struct taddr a;
		uint16_t port;
		taddr_from_sockaddr(r->peer, &a, &port);
		for (unsigned i = 0; i < r->srv->cfg->npeers; i++)
			if (r->srv->cfg->peers[i].addr.family == a.family &&
			    memcmp(r->srv->cfg->peers[i].addr.a, a.a, 16) == 0)
				to->via_node = r->srv->cfg->peers[i].node_id;
	}
}

static void relay_put(struct nlm_server *n, const struct nlm4_lock *l, const struct nlm_cb_to *to)
{
	uint64_t k = nlm_relay_key(l);
	unsigned i;

	for (i = 0; i < NLM_RELAY_MAX && n->relay[i].key != k; i++)
		;
	if (i == NLM_RELAY_MAX)
		i = n->relay_next++ % NLM_RELAY_MAX;	/* the oldest goes */
	n->relay[i].key = k;
	n->relay[i].to = *to;
}

/* The answer of a node to a call sent to it without a client waiting. */
static void ignore_reply(struct nfs_server *s, void *arg, const uint8_t *reply, size_t len)
{
	(void)s, (void)arg, (void)reply, (void)len;
}

/* The GRANTED callback of a waiter just granted. */
static void grant_cb(struct nfs_server *s, const struct nlm_ent *w)
{
	uint8_t msg[4096];

	if (!w->to.via_node) {
		nlm_cb_send(s, &w->to, &w->cookie, w->exclusive, &w->l);
		return;
	}
	/* through the node the client called: it remembered the client */
	size_t len = nlm_granted_msg(msg, sizeof(msg), s->nlm->next_xid++, &w->cookie, w->exclusive,
				     &w->l);
	if (!len || nfs_proxy_call(s, w->to.via_node, msg, len, ignore_reply, NULL) < 0) {
		s->nlm->st.callbacks_failed++;
		log_warnx("nlm: GRANTED to node %u (for its client) not sent", w->to.via_node);
		return;
	}
	s->nlm->st.relayed++;
}

void nlm_grant_ready(struct nfs_server *s)
{
	struct nlm_ent *w;

	while ((w = nlm_wait_ready(&s->nlm->t))) {
		if (nlm_lock_add(&s->nlm->t, &w->f, &w->l, w->exclusive) == 0) {
			s->nlm->st.granted++;
			grant_cb(s, w);
		}
		free(w);
	}
}

/* The file l names, and its home.  0, or -1 (not a handle of ours). */
static int lock_file(const struct nfs_server *s, const struct nlm4_lock *l, struct nlm_file *f,
		     uint8_t *home)
{
	struct nfs_fh fh;

	if (nfs_fh_decode(l->fh.p, l->fh.len, s->key, s->keylen, &fh, NULL, 0) < 0 ||
	    fh.export_id != s->cfg->export_id)
		return -1;
	f->export_id = fh.export_id;
	f->ino = fh.ino;
	f->gen = fh.gen;
	*home = fh.node_id;
	return 0;
}

static int in_grace(const struct nfs_server *s)
{
	return s->nlm->grace_until_ms > loop_now_ms();
}

/* A client that calls LOCK here, for the restart's SM_NOTIFY: noted, when
 * it called this node itself (one forwarded by a peer is noted through the
 * peer's SM_MON, announce_host). */
static void note_host(const struct nfs_req *r, const struct nlm4_lock *l)
{
	struct sockaddr_storage local;

	if ((r->c && r->c->from_peer) || nfs_req_local(r, &local) < 0)
		return;
	nlm_host_note(r->srv, &l->caller, r->peer, &local);
}

/* A LOCK of r's client forwarded to home: the home learns the client
 * (SM_MON, my_name "CLIENT LOCAL" universal addresses). */
static void announce_host(struct nfs_req *r, const struct nlm4_lock *l, uint8_t home)
{
	struct sockaddr_storage local;
	char my[2 * RPCB_UADDR_MAX + 2];
	uint8_t msg[2048];
	struct xdr_enc e;
	int n;

	if (nfs_req_local(r, &local) < 0 || (n = rpcb_uaddr_fmt(r->peer, 0, my, sizeof(my))) < 0)
		return;
	my[n] = ' ';
	if (rpcb_uaddr_fmt(&local, 0, my + n + 1, sizeof(my) - (size_t)n - 1) < 0)
		return;
	xdr_enc_init(&e, msg, sizeof(msg));
	rpc_put_call_head(&e, r->srv->nlm->next_xid++, NSM_PROG, NSM_VERS, NSM_MON);
	xdr_put_opaque(&e, l->caller.p, l->caller.len);
	xdr_put_opaque(&e, my, (uint32_t)strlen(my));
	for (int i = 0; i < 3; i++)
		xdr_put_u32(&e, 0);	/* my_prog, my_vers, my_proc: not called back */
	xdr_put_fixed(&e, (const uint8_t[NSM_PRIV_SIZE]){ 0 }, NSM_PRIV_SIZE);
	if (!e.err && nfs_proxy_call(r->srv, home, msg, e.len, ignore_reply, NULL) < 0)
		log_debug("nlm: SM_MON of a client to node %u not sent", home);
}

static uint32_t do_lock(struct nfs_req *r, const struct nlm4_args *a, const struct nlm_file *f)
{
	struct nlm_server *n = r->srv->nlm;

	if (in_grace(r->srv) && !a->reclaim) {
		n->st.grace_refused++;
		return NLM4_DENIED_GRACE_PERIOD;	/* reclaims first */
	}
	note_host(r, &a->lock);
	if (nlm_conflict(&n->t, f, &a->lock, a->exclusive)) {
		struct nlm_cb_to to;
		if (!a->block) {
			n->st.denied++;
			return NLM4_DENIED;
		}
		cb_to_of(r, &to);
		if (nlm_wait_add(&n->t, f, &a->lock, a->exclusive, &a->cookie, &to) < 0)
			return NLM4_DENIED_NOLOCKS;
		n->st.blocked++;
		return NLM4_BLOCKED;
	}
	if (nlm_lock_add(&n->t, f, &a->lock, a->exclusive) < 0)
		return NLM4_DENIED_NOLOCKS;
	n->st.granted++;
	return NLM4_GRANTED_ST;
}

/* GRANTED arriving here: from another node, for a client whose blocked
 * LOCK this node forwarded (relay table); from anyone else: we hold no
 * client-side locks. */
static uint32_t do_granted(struct nfs_req *r, const struct nlm4_args *a)
{
	struct nlm_server *n = r->srv->nlm;
	uint64_t k = nlm_relay_key(&a->lock);

	if (!r->c || !r->c->from_peer)
		return NLM4_DENIED;
	for (unsigned i = 0; i < NLM_RELAY_MAX; i++)
		if (n->relay[i].key == k) {
			n->relay[i].key = 0;
			return nlm_cb_send(r->srv, &n->relay[i].to, &a->cookie, a->exclusive, &a->lock) == 0
				       ? NLM4_GRANTED_ST : NLM4_DENIED;
		}
	return NLM4_DENIED;
}

/* A lock procedure on a file homed here: the status it answers. */
static uint32_t run_here(struct nfs_req *r, const struct nlm4_args *a, const struct nlm_file *f,
			 const struct nlm_ent **holder)
{
	struct nlm_server *n = r->srv->nlm;

	switch (a->proc) {
	case NLM4_TEST:
		n->st.tests++;
		if (in_grace(r->srv)) {
			n->st.grace_refused++;
			return NLM4_DENIED_GRACE_PERIOD;
		}
		*holder = nlm_conflict(&n->t, f, &a->lock, a->exclusive);
		return *holder ? NLM4_DENIED : NLM4_GRANTED_ST;
	case NLM4_LOCK:
		return do_lock(r, a, f);
	case NLM4_CANCEL:
		if (!nlm_wait_cancel(&n->t, f, &a->lock))
			return NLM4_DENIED;
		n->st.cancelled++;
		return NLM4_GRANTED_ST;
	default:		/* UNLOCK */
		n->st.unlocked++;
		if (nlm_unlock(&n->t, f, &a->lock) < 0)
			return NLM4_DENIED_NOLOCKS;
		nlm_grant_ready(r->srv);
		return NLM4_GRANTED_ST;
	}
}

void nlm_free_everywhere(struct nfs_req *r, const uint8_t *name, uint32_t len)
{
	struct nfs_server *s = r->srv;

	s->nlm->st.freed += nlm_free_host(&s->nlm->t, name, len);
	nlm_grant_ready(s);
	if (!s->cfg->vroot || (r->c && r->c->from_peer))
		return;
	/* its locks on files homed elsewhere: the same call to every other node */
	for (unsigned i = 0; i < s->cfg->npeers; i++)
		if (nfs_proxy_call(s, s->cfg->peers[i].node_id, r->rec, r->rec_len, ignore_reply,
				   NULL) < 0)
			log_warnx("nlm: a host's release not passed to node %u", s->cfg->peers[i].node_id);
}

/* A _MSG call sent on to the home as its synchronous form: where its
 * result goes when the home answers. */
struct msg_fwd {
	struct nlm_cb_to to;
	uint32_t res_proc;
	struct nlm_obj cookie;		/* into buf */
	uint8_t buf[NLM_OBJ_MAX];
};

/* The home's reply to a forwarded _MSG call: its result body, sent on to
 * the client as the _RES call (DENIED_NOLOCKS if the home failed: the
 * client tries again). */
static void msg_fwd_reply(struct nfs_server *s, void *arg, const uint8_t *reply, size_t len)
{
	struct msg_fwd *m = arg;
	uint32_t xid, as;
	size_t off;

	if (reply && rpc_reply_decode(reply, len, &xid, &as, &off) == 0 && as == RPC_SUCCESS) {
		nlm_res_send(s, &m->to, m->res_proc, reply + off, len - off);
	} else {
		uint8_t b[NLM_OBJ_MAX + 16];
		struct xdr_enc e;
		xdr_enc_init(&e, b, sizeof(b));
		nlm4_put_res(&e, &m->cookie, NLM4_DENIED_NOLOCKS);
		nlm_res_send(s, &m->to, m->res_proc, b, e.err ? 0 : e.len);
	}
	free(m);
}

/* r's _MSG call (a: its synchronous form) to home as that form.  0 / -1. */
static int msg_forward(struct nfs_req *r, const struct nlm4_args *a, uint8_t home)
{
	struct msg_fwd *m;
	uint8_t *call;

	/* the call header: xid, CALL, RPC version, program, version, procedure */
	if (r->rec_len < 24 || a->cookie.len > sizeof(m->buf) || !(m = calloc(1, sizeof(*m))))
		return -1;
	if (!(call = malloc(r->rec_len))) {
		free(m);
		return -1;
	}
	memcpy(call, r->rec, r->rec_len);
	call[20] = call[21] = call[22] = 0;
	call[23] = (uint8_t)a->proc;
	cb_to_of(r, &m->to);
	m->res_proc = r->call->proc + (NLM4_TEST_RES - NLM4_TEST_MSG);
	memcpy(m->buf, a->cookie.p, a->cookie.len);
	m->cookie = (struct nlm_obj){ m->buf, a->cookie.len };
	int rc = nfs_proxy_call(r->srv, home, call, r->rec_len, msg_fwd_reply, m);
	free(call);
	if (rc < 0)
		free(m);
	return rc;
}

/* Whether the call is for another node: one namespace, the file homed
 * elsewhere, and not already sent here by a peer (lock state lives at the
 * file's home only). */
static int homed_elsewhere(const struct nfs_req *r, uint8_t home)
{
	const struct nfs_server *s = r->srv;

	return s->cfg->vroot && home != s->cfg->node_id && !(r->c && r->c->from_peer);
}

/* Send the call to its home (a _MSG form as its synchronous one when msg)
 * and count it.  0 / -1 (the home cannot be reached). */
static int to_home(struct nfs_req *r, const struct nlm4_args *a, uint8_t home, int msg)
{
	if ((msg ? msg_forward(r, a, home) : nfs_proxy_forward(r, home)) < 0)
		return -1;
	r->srv->nlm->st.forwarded++;
	return 0;
}

/* TEST LOCK CANCEL UNLOCK GRANTED after their decode (a _MSG form as its
 * synchronous one, msg set): the status decided here (and the holder of a
 * conflict), or -1 when the call went to the home (NFS_FORWARDED). */
static int64_t lock_decide(struct nfs_req *r, const struct nlm4_args *a, int msg,
			   const struct nlm_ent **holder)
{
	struct nfs_server *s = r->srv;
	struct nlm_file f;
	uint8_t home = 0;

	if (!r->allowed)
		return NLM4_DENIED_NOLOCKS;
	if (a->proc == NLM4_GRANTED)
		return do_granted(r, a);
	if (lock_file(s, &a->lock, &f, &home) < 0)
		return NLM4_STALE_FH;
	if (!homed_elsewhere(r, home))
		return run_here(r, a, &f, holder);
	if (to_home(r, a, home, msg) < 0)
		return NLM4_DENIED_NOLOCKS;	/* the home cannot be reached: try again */
	if (a->proc == NLM4_LOCK && s->cfg->nlm_hosts_file[0])
		announce_host(r, &a->lock, home);
	if (a->proc == NLM4_LOCK && a->block) {
		struct nlm_cb_to to;
		cb_to_of(r, &to);
		relay_put(s->nlm, &a->lock, &to);
	}
	return -1;
}

/* The result of a: nlm4_testres for TEST, else nlm4_res.  0 / -1. */
static int put_result(struct xdr_enc *e, const struct nlm4_args *a, uint32_t st,
		      const struct nlm_ent *holder)
{
	if (a->proc == NLM4_TEST)
		return nlm4_put_testres(e, &a->cookie, st, holder ? holder->exclusive : 0,
					holder ? &holder->l : NULL);
	return nlm4_put_res(e, &a->cookie, st);
}

/* The synchronous forms: forwarded to the home, or answered.  0 /
 * NFS_FORWARDED. */
static int lock_proc(struct nfs_req *r, const struct nlm4_args *a)
{
	const struct nlm_ent *holder = NULL;
	int64_t st = lock_decide(r, a, 0, &holder);

	if (st < 0)
		return NFS_FORWARDED;
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	return put_result(r->e, a, (uint32_t)st, holder);
}

/* SHARE, UNSHARE: at the file's home, like the locks. */
static int share_proc(struct nfs_req *r, const struct nlm4_args *a)
{
	struct nfs_server *s = r->srv;
	struct nlm_server *n = s->nlm;
	struct nlm_file f;
	uint8_t home = 0;
	uint32_t st;

	if (!r->allowed) {
		st = NLM4_DENIED_NOLOCKS;
	} else if (lock_file(s, &a->lock, &f, &home) < 0) {
		st = NLM4_STALE_FH;
	} else if (homed_elsewhere(r, home)) {
		if (to_home(r, a, home, 0) == 0)
			return NFS_FORWARDED;
		st = NLM4_DENIED_NOLOCKS;	/* the home cannot be reached: try again */
	} else if (a->proc == NLM4_UNSHARE) {
		n->st.unshared += (uint64_t)nlm_share_remove(&n->t, &f, &a->lock);
		st = NLM4_GRANTED_ST;
	} else if (in_grace(s) && !a->reclaim) {
		n->st.grace_refused++;
		st = NLM4_DENIED_GRACE_PERIOD;
	} else if (nlm_share_conflict(&n->t, &f, &a->lock, a->share_mode, a->share_access)) {
		n->st.share_denied++;
		st = NLM4_DENIED;
	} else if (nlm_share_set(&n->t, &f, &a->lock, a->share_mode, a->share_access) < 0) {
		st = NLM4_DENIED_NOLOCKS;
	} else {
		n->st.shared++;
		st = NLM4_GRANTED_ST;
	}
	rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
	return nlm4_put_shareres(r->e, &a->cookie, st, 0);
}

/* The _MSG forms: the empty reply now, the result as a _RES call to the
 * client (from here, or when the home answers). */
static int msg_proc(struct nfs_req *r, const struct nlm4_args *a)
{
	struct nlm4_args sa = *a;
	const struct nlm_ent *holder = NULL;

	sa.proc = a->proc - (NLM4_TEST_MSG - NLM4_TEST);
	r->srv->nlm->st.msgs++;
	int64_t st = lock_decide(r, &sa, 1, &holder);
	if (st >= 0) {
		uint8_t b[2 * NLM_OBJ_MAX + 64];
		struct xdr_enc e;
		struct nlm_cb_to to;
		xdr_enc_init(&e, b, sizeof(b));
		put_result(&e, &sa, (uint32_t)st, holder);
		cb_to_of(r, &to);
		nlm_res_send(r->srv, &to, a->proc + (NLM4_TEST_RES - NLM4_TEST_MSG), b,
			     e.err ? 0 : e.len);
	}
	return rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
}

int nlm_call(struct nfs_req *r)
{
	uint32_t proc = r->call->proc;
	struct nlm4_args a;
	char err[160];

	if (proc > NLM4_FREE_ALL || (proc > NLM4_GRANTED_RES && proc < NLM4_SHARE))
		return nfs_reply_proc_unavail(r);
	if (nlm4_decode_args(proc, r->args, r->alen, &a, err, sizeof(err)) < 0) {
		log_debug("nlm xid %#x: %s", r->call->xid, err);
		return nfs_reply_garbage(r);
	}
	switch (proc) {
	case NLM4_TEST:
	case NLM4_LOCK:
	case NLM4_CANCEL:
	case NLM4_UNLOCK:
	case NLM4_GRANTED:
		return lock_proc(r, &a);
	case NLM4_NM_LOCK:	/* decided as LOCK (forwarded as it came) */
		a.proc = NLM4_LOCK;
		return lock_proc(r, &a);
	case NLM4_SHARE:
	case NLM4_UNSHARE:
		return share_proc(r, &a);
	case NLM4_TEST_MSG:
	case NLM4_LOCK_MSG:
	case NLM4_CANCEL_MSG:
	case NLM4_UNLOCK_MSG:
	case NLM4_GRANTED_MSG:
		return msg_proc(r, &a);
	case NLM4_FREE_ALL:	/* a client rebooted (its statd told ours): its locks go */
		if (r->allowed)
			nlm_free_everywhere(r, a.name.p, a.name.len);
		break;
	default:		/* NULL, the _RES forms: no result */
		break;
	}
	return rpc_reply_accepted(r->e, r->call->xid, RPC_SUCCESS);
}
