/*
 * netmon.c - link and neighbour state through libnl's cache manager.
 *
 * The storage interface's carrier, each node's switch port (optional
 * `port` in the config) and each node's neighbour entry (its MAC) are
 * followed through rtnetlink notifications, so a link going down takes the
 * node out at once instead of after `fall` failed health checks.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/log.h"

struct netmon {
	struct nl_cache_mngr *mngr;
	struct nl_cache *links;
	struct nl_cache *neighs;
	struct loop_io io;
};

static int link_running(struct rtnl_link *lk)
{
	unsigned f = rtnl_link_get_flags(lk);

	return (f & IFF_UP) && (f & IFF_RUNNING);
}

/* Node n's MAC m learnt or changed: its neighbour_resolved event. */
static void log_resolved(const struct node_rt *n, const uint8_t *m)
{
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	log_event(LOG_INFO, "neighbour_resolved", KV_S("node", n->name), KV_S("mac", mac));
}

void netmon_refresh(struct lbd *l)
{
	struct netmon *nm = l->nm;
	struct rtnl_link *sl = rtnl_link_get_by_name(nm->links, l->cfg.storage_if);
	int storage_up = 0;

	if (sl) {
		struct nl_addr *a = rtnl_link_get_addr(sl);
		l->storage_ifindex = rtnl_link_get_ifindex(sl);
		if (a && nl_addr_get_len(a) == 6)
			memcpy(l->storage_mac, nl_addr_get_binary_addr(a), 6);
		storage_up = link_running(sl);
		rtnl_link_put(sl);
	}
	if (storage_up != l->storage_up)
		log_event(storage_up ? LOG_NOTICE : LOG_WARNING, storage_up ? "link_up" : "link_down",
			  KV_S("interface", l->cfg.storage_if));

	/* The data plane takes only frames sent to our client-side MAC. */
	struct rtnl_link *cl = rtnl_link_get_by_name(nm->links, l->cfg.client_if);
	if (cl) {
		struct nl_addr *a = rtnl_link_get_addr(cl);
		if (a && nl_addr_get_len(a) == 6 &&
		    memcmp(l->client_mac, nl_addr_get_binary_addr(a), 6)) {
			const uint8_t *mac = nl_addr_get_binary_addr(a);
			if (dp_write_config(&l->dp, mac) == 0)
				memcpy(l->client_mac, mac, 6);
		}
		rtnl_link_put(cl);
	}
	l->storage_up = storage_up;

	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		struct node_rt *n = &l->nodes[i];
		const struct cfg_node *cn = &l->cfg.nodes[i];
		int link = storage_up;

		if (cn->port[0]) {
			struct rtnl_link *pl = rtnl_link_get_by_name(nm->links, cn->port);
			link = link && pl && link_running(pl);
			if (pl)
				rtnl_link_put(pl);
		}
		if (link != n->link_up)
			log_event(link ? LOG_NOTICE : LOG_WARNING, link ? "link_up" : "link_down",
				  KV_S("node", n->name),
				  KV_S("interface", cn->port[0] ? cn->port : l->cfg.storage_if));
		n->link_up = link;

		struct nl_addr *dst = nl_addr_build(taddr_af(&cn->addr), cn->addr.a,
						    cn->addr.family == 4 ? 4 : 16);
		if (!dst)
			continue;
		struct rtnl_neigh *ne = rtnl_neigh_get(nm->neighs, l->storage_ifindex, dst);
		nl_addr_put(dst);
		if (!ne)
			continue;	/* aged out: keep the last MAC we knew */
		int st = rtnl_neigh_get_state(ne);
		struct nl_addr *ll = rtnl_neigh_get_lladdr(ne);
		if (st & (NUD_FAILED | NUD_INCOMPLETE)) {
			if (n->mac_ok)
				log_event(LOG_WARNING, "neighbour_unreachable", KV_S("node", n->name));
			n->mac_ok = 0;
		} else if (ll && nl_addr_get_len(ll) == 6) {
			if (!n->mac_ok || memcmp(n->mac, nl_addr_get_binary_addr(ll), 6)) {
				log_resolved(n, nl_addr_get_binary_addr(ll));
			}
			memcpy(n->mac, nl_addr_get_binary_addr(ll), 6);
			n->mac_ok = 1;
		}
		rtnl_neigh_put(ne);
	}
}

static void changed(struct nl_cache *c, struct nl_object *o, int action, void *arg)
{
	struct lbd *l = arg;

	l->sched_dirty = 1;
}

static void readable(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	int err = nl_cache_mngr_data_ready(l->nm->mngr);

	if (err < 0)
		log_warnx("netlink: %s", nl_geterror(err));
	if (l->sched_dirty) {
		netmon_refresh(l);
		sched_update(l);
	}
}

int netmon_open(struct lbd *l)
{
	struct netmon *nm = calloc(1, sizeof(*nm));
	int err;

	if (!nm)
		return -1;
	l->nm = nm;
	err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &nm->mngr);
	if (err >= 0)
		err = nl_cache_mngr_add(nm->mngr, "route/link", changed, l, &nm->links);
	if (err >= 0)
		err = nl_cache_mngr_add(nm->mngr, "route/neigh", changed, l, &nm->neighs);
	if (err < 0) {
		log_warnx("netlink cache manager: %s", nl_geterror(err));
		return -1;
	}
	nm->io.fd = nl_cache_mngr_get_fd(nm->mngr);
	nm->io.cb = readable;
	nm->io.arg = l;
	if (loop_add(&l->loop, &nm->io, EPOLLIN) < 0)
		return -1;
	netmon_refresh(l);
	if (!l->storage_ifindex) {
		log_warnx("storage_interface %s does not exist", l->cfg.storage_if);
		return -1;
	}
	return 0;
}

void netmon_close(struct lbd *l)
{
	if (!l->nm)
		return;
	loop_del(&l->loop, &l->nm->io);
	if (l->nm->mngr)
		nl_cache_mngr_free(l->nm->mngr);
	free(l->nm);
	l->nm = NULL;
}
