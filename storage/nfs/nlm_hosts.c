/*
 * nlm_hosts.c - the client hosts that took locks on files homed here
 * (nlm.h), kept in the nfs section's "nlm_hosts_file" so that a node that
 * restarts (and so lost its locks, which live in memory) can tell them:
 * SM_NOTIFY to each host's status monitor, which has its lock manager
 * reclaim within the grace period.
 *
 * A host is its caller_name, its address and the address it called (the
 * VIP; SM_NOTIFY leaves from there and names it as mon_name, the name the
 * client knows its server by).  A LOCK that comes straight from a client
 * is noted here; one forwarded by another node X is noted through X, which
 * sends the home an SM_MON whose my_name carries "CLIENT LOCAL" (two
 * universal addresses; only accepted from a peer).  File: one host per
 * line, "CALLER CLIENT_UADDR LOCAL_UADDR", written whole (a new file
 * renamed over the old) when a host is added; at most NLM_HOSTS_MAX, the
 * oldest dropped.  A caller_name with a byte outside '!'..'~' is not kept.
 */
#include "nlm.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "rpcb_xdr.h"

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t x[16], y[16];

	nfs_drc_addr(a, x);
	nfs_drc_addr(b, y);
	return memcmp(x, y, 16) == 0;
}

static void save(const struct nfs_server *s)
{
	const struct nlm_server *n = s->nlm;
	char tmp[CFG_PATH_MAX + 8], c[RPCB_UADDR_MAX + 1], l[RPCB_UADDR_MAX + 1];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", s->cfg->nlm_hosts_file);
	if (!(f = fopen(tmp, "w"))) {
		log_warn("nlm: %s", tmp);
		return;
	}
	for (unsigned i = 0; i < n->nhosts; i++)
		if (rpcb_uaddr_fmt(&n->hosts[i].client, 0, c, sizeof(c)) > 0 &&
		    rpcb_uaddr_fmt(&n->hosts[i].local, 0, l, sizeof(l)) > 0)
			fprintf(f, "%s %s %s\n", n->hosts[i].caller, c, l);
	if (fclose(f) != 0 || rename(tmp, s->cfg->nlm_hosts_file) < 0)
		log_warn("nlm: %s", s->cfg->nlm_hosts_file);
}

/* Add a host (no save).  0, or -1 (a caller_name not kept). */
static int add(struct nlm_server *n, const uint8_t *caller, size_t len,
	       const struct sockaddr_storage *client, const struct sockaddr_storage *local)
{
	if (len == 0 || len > NLM_HOST_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (caller[i] < '!' || caller[i] > '~')
			return -1;
	if (n->nhosts == NLM_HOSTS_MAX)
		memmove(&n->hosts[0], &n->hosts[1], --n->nhosts * sizeof(n->hosts[0]));
	struct nlm_host *h = &n->hosts[n->nhosts++];
	memcpy(h->caller, caller, len);
	h->caller[len] = 0;
	h->client = *client;
	h->local = *local;
	return 0;
}

void nlm_host_note(struct nfs_server *s, const struct nlm_obj *caller,
		   const struct sockaddr_storage *client, const struct sockaddr_storage *local)
{
	struct nlm_server *n = s->nlm;

	if (!s->cfg->nlm_hosts_file[0])
		return;
	for (unsigned i = 0; i < n->nhosts; i++)
		if (strlen(n->hosts[i].caller) == caller->len &&
		    memcmp(n->hosts[i].caller, caller->p, caller->len) == 0 &&
		    same_addr(&n->hosts[i].client, client) && same_addr(&n->hosts[i].local, local))
			return;	/* known */
	if (add(n, caller->p, caller->len, client, local) == 0)
		save(s);
}

int nlm_host_note_uaddrs(struct nfs_server *s, const struct nlm_obj *caller,
			 const struct nlm_obj *my_name)
{
	struct sockaddr_storage c, l;
	const uint8_t *sp = memchr(my_name->p, ' ', my_name->len);

	if (!sp || rpcb_uaddr_parse(my_name->p, (size_t)(sp - my_name->p), &c, NULL, 0) < 0 ||
	    rpcb_uaddr_parse(sp + 1, my_name->len - (size_t)(sp + 1 - my_name->p), &l, NULL, 0) < 0)
		return -1;
	nlm_host_note(s, caller, &c, &l);
	return 0;
}

void nlm_hosts_load(struct nfs_server *s)
{
	char line[NLM_HOST_NAME_MAX + 2 * RPCB_UADDR_MAX + 8], name[NLM_HOST_NAME_MAX + 1];
	char c[RPCB_UADDR_MAX + 1], l[RPCB_UADDR_MAX + 1];
	struct sockaddr_storage cs, ls;
	FILE *f;

	if (!s->cfg->nlm_hosts_file[0] || !(f = fopen(s->cfg->nlm_hosts_file, "r")))
		return;	/* none yet */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %64s %64s", name, c, l) == 3 &&
		    rpcb_uaddr_parse((const uint8_t *)c, strlen(c), &cs, NULL, 0) == 0 &&
		    rpcb_uaddr_parse((const uint8_t *)l, strlen(l), &ls, NULL, 0) == 0)
			add(s->nlm, (const uint8_t *)name, strlen(name), &cs, &ls);
	fclose(f);
}

void nlm_hosts_notify(struct nfs_server *s)
{
	struct nlm_server *n = s->nlm;
	char mon[RPCB_UADDR_MAX + 1];

	for (unsigned i = 0; i < n->nhosts; i++) {
		struct nlm_cb_to to = { .client = n->hosts[i].client, .local = n->hosts[i].local };
		int len = rpcb_uaddr_fmt(&to.local, 0, mon, sizeof(mon));
		if (len < 4)
			continue;
		mon[len - 4] = 0;	/* the address alone: ".0.0" off */
		if (nlm_notify_send(s, &to, mon) == 0)
			n->st.notify_sent++;
	}
	if (n->nhosts)
		log_info("nlm: told %u client host(s) of this start (SM_NOTIFY, state %u)", n->nhosts,
			 (uint32_t)n->nsm_state);
}
