/*
 * nfs_gids.c - manage_gids: a caller's groups from the directory, not from
 * the call.  AUTH_SYS carries at most 16 groups; a user in more gets access
 * through all of them only when the server looks them up itself (knfsd's
 * rpc.mountd --manage-gids does the same).  The lookup goes through the
 * system's NSS (getpwuid_r, getgrouplist), so the node's nsswitch.conf
 * decides where from: on a Tandem node, nslcd and the node's read-only
 * directory replica (doc/directory.md).
 *
 * Cached per uid for cfg->gids_cache_ms in a fixed table (NFS_GIDS_SLOTS,
 * one slot per uid hash: a collision replaces the older entry), so memory
 * is bounded whatever the clients send and a warm cache costs one hash
 * probe per call.  A uid NSS does not know keeps the groups its call
 * carries (cached too, so unknown uids cannot make every call a lookup).
 * At most NFS_CRED_GIDS_MAX groups are used: a user in more gets the first
 * ones NSS lists, and the server counts it (gids_truncated).
 *
 * NSS is never called on the event loop: a lookup blocks while nslcd
 * waits for the directory (about a second while it reconnects to a
 * replica that is gone, up to its timelimit), and the loop serves every
 * client and the handoff agent.  So a connection whose next call is from
 * a uid not in the cache is held before the call is taken from its
 * buffer (nfs_gids_hold: no reading meanwhile, as while a call is with
 * its home node), the uid goes to a queue, and a resolver thread looks the
 * queued uids up (NFS_GIDS_BATCH at a time, one batch in flight), hands the
 * batch back through a pipe, and the loop fills the cache and runs the
 * held connections again.  A call held longer than NFS_GIDS_WAIT_MS is
 * answered with its own groups (counted: gids_timeouts), so a directory
 * that does not answer delays a caller by a bounded time, not for ever.
 * An entry past its time is still used while its refresh runs (a warm
 * cache never holds a call).
 */
#include "nfs_int.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/wire.h"

struct nfs_gids_ent {
	uint32_t uid;
	int used;
	int known;		/* NSS knows the uid: gids[] holds its groups */
	int queued;		/* in the queue or the batch in flight */
	uint32_t n;
	uint64_t expires_ms;
	uint32_t gids[NFS_CRED_GIDS_MAX];
};

/* One batch for the resolver thread: the uids, and what NSS said. */
struct gids_job {
	unsigned n;
	int wfd;
	uint64_t unknown, truncated;
	struct nfs_gids_ent e[NFS_GIDS_BATCH];
};

struct nfs_gids {
	struct nfs_gids_ent *tab;	/* NFS_GIDS_SLOTS */
	uint32_t q[NFS_GIDS_BATCH];	/* uids waiting for the next batch */
	unsigned nq;
	struct loop_io io;	/* the pipe's read end */
	int wfd, busy, ready;
	pthread_t thread;
	unsigned pass;		/* run_held's */
};

static struct nfs_gids_ent *slot(struct nfs_server *s, uint32_t uid)
{
	return &s->gids->tab[(uid * 2654435761u) % NFS_GIDS_SLOTS];
}

/* Fill e (uid set) from NSS.  In the resolver thread: touches only j. */
static void lookup(struct gids_job *j, struct nfs_gids_ent *e)
{
	struct passwd pw, *res = NULL;
	gid_t g[NFS_CRED_GIDS_MAX];
	char buf[4096];
	int ng = NFS_CRED_GIDS_MAX;

	e->known = 0;
	e->n = 0;
	if (getpwuid_r((uid_t)e->uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		j->unknown++;
		return;
	}
	if (getgrouplist(pw.pw_name, pw.pw_gid, g, &ng) < 0) {
		/* more than fit: glibc filled the array and says how many there are */
		j->truncated++;
		ng = NFS_CRED_GIDS_MAX;
	}
	for (int i = 0; i < ng && i < NFS_CRED_GIDS_MAX; i++)
		e->gids[e->n++] = (uint32_t)g[i];
	e->known = 1;
}

static void *resolver(void *arg)
{
	struct gids_job *j = arg;

	for (unsigned i = 0; i < j->n; i++)
		lookup(j, &j->e[i]);
	if (write(j->wfd, &j, sizeof(j)) != (ssize_t)sizeof(j))
		abort();	/* a pipe takes a pointer whole, or the process is broken */
	return NULL;
}

/* The queue to the resolver thread, if none is in flight. */
static void start_batch(struct nfs_server *s)
{
	struct nfs_gids *g = s->gids;
	struct gids_job *j;

	if (g->busy || !g->nq || !(j = calloc(1, sizeof(*j))))
		return;
	j->wfd = g->wfd;
	for (unsigned i = 0; i < g->nq; i++)
		j->e[j->n++].uid = g->q[i];
	if (pthread_create(&g->thread, NULL, resolver, j) != 0) {
		log_warnx("nfs manage_gids: no resolver thread: will try again");
		free(j);
		return;
	}
	g->nq = 0;
	g->busy = 1;
	s->st.gids_batches++;
}

/* uid to the queue (e its slot, taken for it).  Bounded: a full queue
 * takes it at the next batch (the held call asks again). */
static void enqueue(struct nfs_server *s, struct nfs_gids_ent *e, uint32_t uid)
{
	struct nfs_gids *g = s->gids;

	if (e->queued && e->uid == uid)
		return;
	if (g->nq == NFS_GIDS_BATCH) {
		start_batch(s);
		return;
	}
	if (!e->used || e->uid != uid)
		*e = (struct nfs_gids_ent){ .uid = uid };	/* not used until it is filled */
	e->queued = 1;
	g->q[g->nq++] = uid;
	start_batch(s);
}

/* Run the held connections again (over_ms: only those held that long,
 * and they go on with their own groups; 0: all, their groups may be in).
 * Running one may close others (a forwarded call's failure answers other
 * connections): each pass starts from the list's head, and a connection is
 * run once per pass (gids_pass). */
static void run_held(struct nfs_server *s, uint64_t over_ms)
{
	uint64_t now = loop_now_ms();
	unsigned pass = ++s->gids->pass;
	struct nfs_conn *c;

	for (;;) {
		for (c = s->conns; c; c = c->next)
			if (c->gids_wait_ms && !c->paused && c->gids_pass != pass &&
			    (!over_ms || now - c->gids_wait_ms >= over_ms))
				break;
		if (!c)
			return;
		c->gids_pass = pass;
		if (over_ms) {
			s->st.gids_timeouts++;
			c->gids_bypass = 1;
		}
		nfs_conn_run(c);
	}
}

/* A batch back: into the cache; the held connections run again. */
static void resolved(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_server *s = io->arg;
	struct nfs_gids *g = s->gids;
	struct gids_job *j;
	uint64_t now = loop_now_ms();

	(void)l;
	(void)events;
	if (read(io->fd, &j, sizeof(j)) != (ssize_t)sizeof(j))
		return;
	pthread_join(g->thread, NULL);
	g->busy = 0;
	s->st.gids_lookups += j->n;
	s->st.gids_unknown += j->unknown;
	s->st.gids_truncated += j->truncated;
	for (unsigned i = 0; i < j->n; i++) {
		struct nfs_gids_ent *e = slot(s, j->e[i].uid);

		*e = j->e[i];
		e->used = 1;
		e->expires_ms = now + s->cfg->gids_cache_ms;
	}
	free(j);
	start_batch(s);
	run_held(s, 0);
}

int nfs_gids_init(struct nfs_server *s)
{
	struct nfs_gids *g;
	int fds[2];

	if (!s->cfg->manage_gids)
		return 0;
	if (!(g = calloc(1, sizeof(*g))) || !(g->tab = calloc(NFS_GIDS_SLOTS, sizeof(*g->tab)))) {
		free(g);
		return -1;
	}
	s->gids = g;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("nfs manage_gids: pipe");
		return -1;
	}
	g->io = (struct loop_io){ .fd = fds[0], .cb = resolved, .arg = s };
	g->wfd = fds[1];
	if (loop_add(&s->nasd->loop, &g->io, EPOLLIN) < 0) {
		log_warn("nfs manage_gids: loop_add");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	g->ready = 1;
	return 0;
}

void nfs_gids_free(struct nfs_server *s)
{
	struct nfs_gids *g = s->gids;
	struct gids_job *j;

	if (!g)
		return;
	if (g->ready) {
		if (g->busy) {	/* bounded by nslcd's timelimit */
			pthread_join(g->thread, NULL);
			if (read(g->io.fd, &j, sizeof(j)) == (ssize_t)sizeof(j))
				free(j);
		}
		loop_del(&s->nasd->loop, &g->io);
		close(g->io.fd);
		close(g->wfd);
	}
	free(g->tab);
	free(g);
	s->gids = NULL;
}

const uint32_t *nfs_gids_of(struct nfs_server *s, uint32_t uid, uint32_t *n)
{
	struct nfs_gids_ent *e;

	if (!s->gids)
		return NULL;
	e = slot(s, uid);
	if (!e->used || e->uid != uid) {
		/* not held for (a timeout, or a call that was not): its own groups */
		s->st.gids_misses++;
		enqueue(s, e, uid);
		return NULL;
	}
	s->st.gids_hits++;
	if (loop_now_ms() >= e->expires_ms)
		enqueue(s, e, uid);	/* used meanwhile */
	if (!e->known)
		return NULL;
	*n = e->n;
	return e->gids;
}

int nfs_gids_hold(struct nfs_conn *c, const uint8_t *raw, size_t raw_len)
{
	struct nfs_server *s = c->srv;
	struct rpc_call call;
	struct nfs_gids_ent *e;
	size_t fl;

	if (!s->gids || raw_len < 4)
		return 0;
	if (c->gids_bypass) {	/* held too long: answered with its own groups */
		c->gids_bypass = 0;
		c->gids_wait_ms = 0;
		return 0;
	}
	/* the header from the first fragment (a header split over fragments
	 * is not held: nfs_gids_of answers it with the call's own groups) */
	fl = wire_get32(raw) & 0x7fffffffu;
	if (fl > raw_len - 4)
		fl = raw_len - 4;
	if (rpc_call_decode(raw + 4, fl, &call, NULL, 0) != RPC_DEC_OK ||
	    call.cred_flavor != RPC_AUTH_SYS || call.prog != NFS3_PROG ||
	    (call.sys.uid == 0 && (call.has_fwd ? !!(call.fwd.flags & RPC_FWD_ROOT_SQUASH) :
				   nfs_conn_access(c)->root_squash)))
		goto go;	/* no directory groups for it (nfs3_obj.c "effective") */
	e = slot(s, call.sys.uid);
	if (e->used && e->uid == call.sys.uid)
		goto go;
	enqueue(s, e, call.sys.uid);
	if (!c->gids_wait_ms) {
		c->gids_wait_ms = loop_now_ms();
		s->st.gids_held++;
	}
	return 1;
go:
	c->gids_wait_ms = 0;
	return 0;
}

void nfs_gids_tick(struct nfs_server *s)
{
	if (s->gids)
		run_held(s, NFS_GIDS_WAIT_MS);
}
