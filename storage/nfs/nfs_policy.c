/*
 * nfs_policy.c - the NFS export policy: "client_groups" resolved from the
 * directory and applied to every call, including those of connections
 * opened before it changed (doc/directory.md "Export policy").
 *
 * A netgroup's hosts come from the system's NSS (setnetgrent /
 * getnetgrent_r: on a node, nslcd and the node's own read-only replica),
 * a host group's addresses from getaddrinfo: tandem-nasd has no LDAP code.
 * glibc walks nested netgroups itself and visits each once, so a loop in
 * the directory ends; policy_max_members bounds what one netgroup may
 * bring (the rest is left out, counted in "truncated" and logged).  A
 * triple without a host (a netgroup of users) matches no client: an export
 * is never opened to everyone by a wildcard.
 *
 * Every policy_refresh_ms the groups are resolved again and digested
 * (FNV-1a over the groups' options and their sorted addresses: nodes that
 * read the same directory hold the same digest, which status shows as the
 * policy "version").  A changed digest bumps seq; each connection compares
 * its acc_seq at its next call and takes its access again, so a client
 * removed from a netgroup gets NFS3ERR_ACCES, and one whose group turned
 * read-only NFS3ERR_ROFS, on the first call after the refresh.  When the
 * directory cannot be read (NSS unavailable: nslcd or the replica gone),
 * the last policy read stays in force and status says "stale" and why.
 *
 * The lookups block (nslcd answers from the local replica in well under a
 * millisecond per netgroup, but holds a caller about a second while it
 * reconnects to a replica that is gone), so they run in a resolver thread,
 * one read at a time: the thread reads into a job of its own (the
 * configuration it reads is never written after start), hands the job back
 * through a pipe, and the loop applies it.  Only the first read, at start,
 * runs on the loop: the policy is in place before the first client.
 */
#include "nfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"

/* What one refresh reads: the addresses, and why it failed ("" if not). */
struct pol_read {
	struct nfs_policy_addr *a;
	unsigned n, cap, truncated;
	char why[160];
	char cut[NASD_NFS_GROUP_NAME];	/* the first netgroup cut at max (logged by the loop) */
	uint32_t max;
};

static int add_addr(struct pol_read *rd, const struct nasd_cidr *c, unsigned group)
{
	if (rd->n == rd->cap)
		return -1;
	rd->a[rd->n].a = *c;
	rd->a[rd->n].group = (uint8_t)group;
	rd->n++;
	return 0;
}

/* name (an address literal or a host name, through NSS) into rd: every
 * address it has.  Unknown names add nothing.  0, or -1 (rd full). */
static int add_host(struct pol_read *rd, const char *name, unsigned group)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct nasd_cidr c;
	int rc = 0;

	if (nasd_cidr_parse(name, &c) == 0 && !strchr(name, '/'))
		return add_addr(rd, &c, group);
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && rc == 0; ai = ai->ai_next) {
		uint16_t port;
		struct sockaddr_storage ss = { 0 };

		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (taddr_from_sockaddr(&ss, &c.addr, &port) < 0)
			continue;
		c.plen = c.addr.family == 4 ? 32 : 128;
		rc = add_addr(rd, &c, group);
	}
	freeaddrinfo(res);
	return rc;
}

/* Netgroup name's hosts into rd, at most max.  0; -1 with rd->why when NSS
 * could not be asked (errno other than "not found"). */
static int read_netgroup(struct pol_read *rd, const char *name, unsigned group, uint32_t max)
{
	char buf[4096], *host, *user, *dom;
	unsigned got = 0;
	int rc = 0;

	errno = 0;
	if (!setnetgrent(name)) {
		int e = errno;

		endnetgrent();
		if (e && e != ENOENT) {
			snprintf(rd->why, sizeof(rd->why), "netgroup %s: %s", name, strerror(e));
			return -1;
		}
		return 0;	/* no such netgroup: no hosts */
	}
	while (rc == 0 && getnetgrent_r(&host, &user, &dom, buf, sizeof(buf)) == 1) {
		if (!host || !*host || !strcmp(host, "-"))
			continue;	/* a triple of users only: no client */
		if (got++ == max) {
			if (!rd->truncated++)
				snprintf(rd->cut, sizeof(rd->cut), "%s", name);
			break;
		}
		rc = add_host(rd, host, group);
	}
	endnetgrent();
	return 0;
}

static int cmp_addr(const void *x, const void *y)
{
	const struct nfs_policy_addr *a = x, *b = y;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->a.addr.family != b->a.addr.family)
		return a->a.addr.family < b->a.addr.family ? -1 : 1;
	return memcmp(a->a.addr.a, b->a.addr.a, sizeof(a->a.addr.a));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* The digest of groups and rd's sorted addresses (taddr_parse and
 * taddr_from_sockaddr zero an address's unused bytes: equal addresses are
 * equal bytes). */
static uint64_t digest(const struct nasd_nfs_config *c, const struct pol_read *rd)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < c->ngroups; i++) {
		const struct nasd_nfs_client_group *g = &c->groups[i];
		uint32_t v[5] = { (uint32_t)g->kind, (uint32_t)g->writable,
				  (uint32_t)g->root_squash, g->anonuid, g->anongid };

		h = fnv(h, v, sizeof(v));
		h = fnv(h, g->name, strlen(g->name) + 1);
		h = fnv(h, &g->net.addr.a, sizeof(g->net.addr.a));
		h = fnv(h, &g->net.plen, 1);
	}
	for (unsigned i = 0; i < rd->n; i++) {	/* field by field: no padding bytes */
		const struct nfs_policy_addr *a = &rd->a[i];
		uint8_t v[3] = { a->group, a->a.addr.family, a->a.plen };

		h = fnv(h, v, sizeof(v));
		h = fnv(h, a->a.addr.a, sizeof(a->a.addr.a));
	}
	return h;
}

/* One pass over the groups into rd.  0 / -1 (rd->why). */
static int read_groups(const struct nasd_nfs_config *c, struct pol_read *rd)
{
	for (unsigned i = 0; i < c->ngroups; i++) {
		const struct nasd_nfs_client_group *g = &c->groups[i];

		if (g->kind == NASD_CG_NETGROUP &&
		    read_netgroup(rd, g->name, i, c->policy_max_members) < 0)
			return -1;
		if (g->kind == NASD_CG_HOST && add_host(rd, g->name, i) < 0)
			break;
	}
	qsort(rd->a, rd->n, sizeof(*rd->a), cmp_addr);
	return 0;
}

/* A refresh in flight: filled by read_job (in the resolver thread, or on
 * the loop at start), applied by apply. */
struct pol_job {
	const struct nasd_nfs_config *cfg;
	struct pol_read rd;
	int rc;
	int link;		/* the replica's link to a provider: 1 up, 0 down, -1 not known */
	int wfd;		/* the pipe back to the loop */
	uint64_t t0_ns, t1_ns;
};

static struct pol_job *job_new(const struct nasd_nfs_config *c)
{
	struct pol_job *j = calloc(1, sizeof(*j));

	if (j && !(j->rd.a = calloc(NASD_NFS_POLICY_MAX_ADDRS, sizeof(*j->rd.a)))) {
		free(j);
		j = NULL;
	}
	if (j) {
		j->cfg = c;
		j->rd.cap = NASD_NFS_POLICY_MAX_ADDRS;
		j->t0_ns = loop_now_ns();
	}
	return j;
}

static void read_job(struct pol_job *j)
{
	j->rc = read_groups(j->cfg, &j->rd);
	j->link = j->cfg->ndir_prov ? nfs_dirlink_up(j->cfg) : -1;
	j->t1_ns = loop_now_ns();
}

/* A read that succeeded: fresh, unless the node's replica has had no
 * connection to any provider for dir_lost_ms (it answers from a copy no
 * longer kept current: nfs_dirlink.c). */
static void link_state(struct nfs_server *s, int link, uint64_t now)
{
	struct nfs_policy *p = &s->pol;
	int lost;

	if (link != 0)
		p->link_ms = now;
	lost = s->cfg->ndir_prov && now - p->link_ms >= s->cfg->dir_lost_ms;
	if (!lost) {
		if (p->stale)
			log_info("nfs policy: the directory reads again, its replica is connected");
		p->stale = 0;
		return;
	}
	snprintf(p->stale_why, sizeof(p->stale_why),
		 "the directory replica has had no connection to a provider for %llu s",
		 (unsigned long long)((now - p->link_ms) / 1000));
	if (!p->stale) {
		p->stale_since_ms = now;
		log_warnx("nfs policy: stale: %s", p->stale_why);
	}
	p->stale = 1;
}

/* The loop takes a finished read: the new policy (a new version if its
 * digest changed) or, if the directory could not be read, stale.  Frees j. */
static void apply(struct nfs_server *s, struct pol_job *j)
{
	struct nfs_policy *p = &s->pol;
	uint64_t now = loop_now_ms(), d;

	p->refresh_us = (j->t1_ns - j->t0_ns) / 1000;
	if (p->refresh_us > p->refresh_max_us)
		p->refresh_max_us = p->refresh_us;
	if (j->rc < 0) {
		p->failures++;
		if (!p->stale) {
			p->stale_since_ms = now;
			log_warnx("nfs policy: stale, the last one read stays in force: %s", j->rd.why);
		}
		p->stale = 1;
		snprintf(p->stale_why, sizeof(p->stale_why), "%s", j->rd.why);
		goto out;
	}
	p->refreshed_ms = now;
	if (j->rd.truncated && !p->truncated)
		log_warnx("nfs policy: netgroup %s has more than %u hosts: the rest left out",
			  j->rd.cut, s->cfg->policy_max_members);
	p->truncated = j->rd.truncated;
	link_state(s, j->link, now);
	d = digest(s->cfg, &j->rd);
	if (d == p->digest && p->seq)
		goto out;
	free(p->addrs);
	p->addrs = j->rd.a;
	j->rd.a = NULL;
	p->naddrs = j->rd.n;
	p->digest = d;
	p->seq++;
	p->changes++;
	p->changed_ms = now;
	log_info("nfs policy: version %016llx (%u resolved hosts)", (unsigned long long)d, p->naddrs);
out:
	free(j->rd.a);
	free(j);
}

static void *resolver(void *arg)
{
	struct pol_job *j = arg;

	read_job(j);
	if (write(j->wfd, &j, sizeof(j)) != (ssize_t)sizeof(j))
		abort();	/* a pipe takes a pointer whole, or the process is broken */
	return NULL;
}

/* The resolver's answer on the pipe: join it, apply what it read. */
static void resolved(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_server *s = io->arg;
	struct pol_job *j;

	(void)l;
	(void)events;
	if (read(io->fd, &j, sizeof(j)) != (ssize_t)sizeof(j))
		return;
	pthread_join(s->pol.thread, NULL);
	s->pol.busy = 0;
	apply(s, j);
}

/* A read in the resolver thread (on the loop if none can start).  The job
 * carries all the thread uses (the configuration, the pipe's write end):
 * it touches nothing of the server's. */
static void start_read(struct nfs_server *s)
{
	struct nfs_policy *p = &s->pol;
	struct pol_job *j;

	p->next_ms = loop_now_ms() + s->cfg->policy_refresh_ms;
	p->refreshes++;
	j = job_new(s->cfg);
	if (!j)
		return;
	j->wfd = p->wfd;
	if (p->ready && pthread_create(&p->thread, NULL, resolver, j) == 0) {
		p->busy = 1;
		return;
	}
	read_job(j);
	apply(s, j);
}

int nfs_policy_init(struct nfs_server *s)
{
	struct nfs_policy *p = &s->pol;
	int fds[2];

	if (!s->cfg->ngroups)
		return 0;
	p->link_ms = loop_now_ms();	/* a replica starting up has time to connect */
	start_read(s);		/* on the loop: in place before the first client */
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("nfs policy: pipe");
		return -1;
	}
	p->io = (struct loop_io){ .fd = fds[0], .cb = resolved, .arg = s };
	p->wfd = fds[1];
	if (loop_add(&s->nasd->loop, &p->io, EPOLLIN) < 0) {
		log_warn("nfs policy: loop_add");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	p->ready = 1;
	return 0;
}

void nfs_policy_free(struct nfs_server *s)
{
	struct nfs_policy *p = &s->pol;
	struct pol_job *j;

	if (p->ready) {
		if (p->busy) {	/* bounded by nslcd's timelimit */
			pthread_join(p->thread, NULL);
			if (read(p->io.fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
				free(j->rd.a);
				free(j);
			}
		}
		loop_del(&s->nasd->loop, &p->io);
		close(p->io.fd);
		close(p->wfd);
		p->ready = 0;
	}
	free(p->addrs);
	p->addrs = NULL;
}

void nfs_policy_tick(struct nfs_server *s)
{
	if (s->cfg->ngroups && !s->pol.busy && loop_now_ms() >= s->pol.next_ms)
		start_read(s);
}

/* Whether ss is one of group g's resolved hosts. */
static int in_group(const struct nfs_policy *p, unsigned g, const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < p->naddrs; i++)
		if (p->addrs[i].group == g && nasd_cidr_match(&p->addrs[i].a, ss))
			return 1;
	return 0;
}

void nfs_policy_access(const struct nfs_server *s, const struct sockaddr_storage *ss,
		       int admissible, int from_peer, struct nfs_access *out)
{
	const struct nasd_nfs_config *c = s->cfg;

	*out = (struct nfs_access){ .allowed = admissible, .writable = c->writable,
				    .root_squash = c->root_squash, .anonuid = c->anonuid,
				    .anongid = c->anongid, .group = -1 };
	if (!c->ngroups || from_peer || !admissible)
		return;
	out->allowed = 0;
	for (unsigned i = 0; i < c->ngroups; i++) {
		const struct nasd_nfs_client_group *g = &c->groups[i];

		if (g->kind == NASD_CG_NETWORK ? !nasd_cidr_match(&g->net, ss) :
		    !in_group(&s->pol, i, ss))
			continue;
		*out = (struct nfs_access){ .allowed = 1, .writable = g->writable,
					    .root_squash = g->root_squash,
					    .anonuid = g->anonuid, .anongid = g->anongid,
					    .group = (int)i };
		return;
	}
}

const struct nfs_access *nfs_conn_access(struct nfs_conn *c)
{
	struct nfs_server *s = c->srv;

	if (c->acc_seq != s->pol.seq + 1) {
		nfs_policy_access(s, &c->peer, c->allowed, c->from_peer, &c->acc);
		c->acc_seq = s->pol.seq + 1;	/* + 1: a new connection's 0 never matches */
	}
	return &c->acc;
}

json_t *nfs_policy_json(const struct nfs_server *s)
{
	const struct nfs_policy *p = &s->pol;
	uint64_t now = loop_now_ms();
	char v[20];

	if (!s->cfg->ngroups)
		return json_null();
	snprintf(v, sizeof(v), "%016llx", (unsigned long long)p->digest);
	return json_pack("{s:s, s:I, s:b, s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:I}",
			 "version", v, "seq", (json_int_t)p->seq, "stale", p->stale,
			 "stale_why", p->stale ? p->stale_why : "",
			 "refreshed_ms_ago", p->refreshed_ms ? (json_int_t)(now - p->refreshed_ms) : -1,
			 "changed_ms_ago", p->changed_ms ? (json_int_t)(now - p->changed_ms) : -1,
			 "stale_for_ms", (json_int_t)(p->stale ? now - p->stale_since_ms : 0),
			 "groups", (int)s->cfg->ngroups, "hosts", (int)p->naddrs,
			 "truncated", (json_int_t)p->truncated, "refreshes", (json_int_t)p->refreshes,
			 "failures", (json_int_t)p->failures, "refused_calls",
			 (json_int_t)p->refused_calls, "rofs_calls", (json_int_t)p->rofs_calls,
			 "refresh_us", (json_int_t)p->refresh_us, "refresh_max_us",
			 (json_int_t)p->refresh_max_us);
}

int nfs_policy_summary(const struct nasd *n, uint64_t *digest, int *stale)
{
	const struct nfs_server *s = n->nfs;

	if (!s || !s->cfg->ngroups)
		return 0;
	*digest = s->pol.digest;
	*stale = s->pol.stale;
	return 1;
}

int nfs_policy_may_write(const struct nasd *n, const struct sockaddr_storage *ss)
{
	struct nfs_access acc;

	if (!n->nfs)
		return 0;
	nfs_policy_access(n->nfs, ss, 1, 0, &acc);
	return acc.allowed && acc.writable;
}
