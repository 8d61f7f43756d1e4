/*
 * sched.c - turns lbd's view of the nodes (config, link, neighbour, health,
 * drain) into the data plane's node map and per-service Maglev tables.
 *
 * Ids are stable: a node keeps its data-plane id for as long as its name is
 * configured (the name->id table is a pinned map, so it survives restarts),
 * and a service keeps the svc_id stored in the pinned service map.  Flows
 * hold node ids, so this is what lets a restart or a reordered config keep
 * every flow on its node.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lb_hash.h"
#include "svc_key.h"
#include "lib/log.h"
#include "lib/maglev.h"

int sched_node_index(const struct lbd *l, const char *name)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		if (!strcmp(l->nodes[i].name, name))
			return (int)i;
	return -1;
}

int sched_node_by_id(const struct lbd *l, uint32_t id)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		if (l->nodes[i].id == id)
			return (int)i;
	return -1;
}

static int assign_node_ids(struct lbd *l, struct node_rt *old, unsigned nold)
{
	char names[LB_MAX_NODES][NODE_NAME_LEN];
	int used[LB_MAX_NODES] = { 0 };

	for (uint32_t id = 0; id < LB_MAX_NODES; id++)
		if (bpf_map_lookup_elem(l->dp.fd_names, &id, names[id]) < 0)
			names[id][0] = '\0';
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		struct node_rt *n = &l->nodes[i];
		const struct cfg_node *cn = &l->cfg.nodes[i];
		int id = -1;

		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", cn->name);
		n->cfg_index = (int)i;
		n->in_use = 1;
		for (uint32_t k = 0; k < LB_MAX_NODES - 1 && id < 0; k++)
			if (!strcmp(names[k], cn->name))
				id = (int)k;
		for (uint32_t k = 0; k < LB_MAX_NODES - 1 && id < 0; k++)
			if (!names[k][0] && !used[k])
				id = (int)k;
		if (id < 0) {
			log_warnx("no free node id");
			return -1;
		}
		used[id] = 1;
		n->id = (uint32_t)id;
		if (strcmp(names[id], cn->name)) {
			char v[NODE_NAME_LEN] = { 0 };
			snprintf(v, sizeof(v), "%s", cn->name);
			if (bpf_map_update_elem(l->dp.fd_names, &n->id, v, BPF_ANY) < 0) {
				log_warn("node name map");
				return -1;
			}
			snprintf(names[id], NODE_NAME_LEN, "%s", cn->name);
		}
		/* Carry state across a reload, or pick it up from the pinned map
		 * after a restart: drain, last MAC, and whether it was up. */
		int kept = 0;
		for (unsigned j = 0; j < nold; j++) {
			if (old[j].in_use && !strcmp(old[j].name, n->name)) {
				n->link_up = old[j].link_up;
				n->mac_ok = old[j].mac_ok;
				memcpy(n->mac, old[j].mac, 6);
				n->drain = old[j].drain;
				n->up = old[j].up;
				kept = 1;
			}
		}
		if (!kept) {
			struct lb_node_val nv;
			if (bpf_map_lookup_elem(l->dp.fd_nodes, &n->id, &nv) == 0 &&
			    (nv.flags & LB_NODE_F_PRESENT)) {
				static const uint8_t zero[6];
				n->drain = !!(nv.flags & LB_NODE_F_DRAIN);
				n->up = !!(nv.flags & LB_NODE_F_UP);
				if (memcmp(nv.mac, zero, 6)) {
					memcpy(n->mac, nv.mac, 6);
					n->mac_ok = 1;
				}
				n->link_up = 1;	/* netmon corrects this at once */
			}
		}
	}
	/* Forget names no longer configured; their flows re-hash (node not present). */
	for (uint32_t id = 0; id < LB_MAX_NODES; id++) {
		if (!names[id][0] || used[id])
			continue;
		char v[NODE_NAME_LEN] = { 0 };
		struct lb_node_val nv = { 0 };
		bpf_map_update_elem(l->dp.fd_names, &id, v, BPF_ANY);
		bpf_map_update_elem(l->dp.fd_nodes, &id, &nv, BPF_ANY);
		log_event(LOG_NOTICE, "node_removed", KV_S("node", names[id]), KV_U("id", id));
	}
	return 0;
}

/* The configuration of runtime service r. */
static const struct cfg_service *svc_cfg(const struct lbd *l, const struct svc_rt *r)
{
	return &l->cfg.vips[r->vip_index].svc[r->svc_index];
}

/* Runtime service r's key in lb_svcs. */
static void svc_key(const struct lbd *l, const struct svc_rt *r, struct lb_svc_key *key)
{
	svckey_make(key, &l->cfg.vips[r->vip_index].addr, svc_cfg(l, r)->port, svc_cfg(l, r)->proto);
}

/* The Maglev half the data plane reads for a service with value v. */
static uint32_t live_half(const struct lb_svc_val *v)
{
	return (v->flags & LB_SVC_F_ACTIVE_B) ? 1 : 0;
}

/* Slot 0 of half `half` (size slots) of service svc_id's Maglev table, in
 * lbd's mmap of lb_maglev. */
static uint32_t *maglev_half(const struct lbd *l, uint32_t svc_id, uint32_t half, uint32_t size)
{
	return l->dp.maglev + lb_maglev_index(svc_id, half, size, 0);
}

static int assign_svc_ids(struct lbd *l)
{
	struct lb_svc_key k, next, *prev = NULL;
	int used[LB_MAX_SVCS] = { 0 };
	struct lb_svc_key stale[LB_MAX_SVCS * 2];
	unsigned nstale = 0;

	l->nsvcs = 0;
	for (unsigned v = 0; v < l->cfg.nvips; v++)
		for (unsigned s = 0; s < l->cfg.vips[v].nsvc; s++) {
			struct svc_rt *r = &l->svcs[l->nsvcs++];
			memset(r, 0, sizeof(*r));
			r->vip_index = (int)v;
			r->svc_index = (int)s;
			r->svc_id = LB_NODE_NONE;
		}
	/* Existing services keep their ids; the rest of the map is stale. */
	while (bpf_map_get_next_key(l->dp.fd_svcs, prev, &next) == 0) {
		struct lb_svc_val sv;
		int found = 0;
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(l->dp.fd_svcs, &k, &sv) < 0)
			continue;
		for (unsigned i = 0; i < l->nsvcs; i++) {
			struct svc_rt *r = &l->svcs[i];
			struct lb_svc_key want;
			svc_key(l, r, &want);
			if (!memcmp(&want, &k, sizeof(k)) && sv.svc_id < LB_MAX_SVCS &&
			    !used[sv.svc_id]) {
				r->svc_id = sv.svc_id;
				used[sv.svc_id] = 1;
				found = 1;
			}
		}
		if (!found && nstale < LB_MAX_SVCS * 2)
			stale[nstale++] = k;
	}
	for (unsigned i = 0; i < nstale; i++)
		bpf_map_delete_elem(l->dp.fd_svcs, &stale[i]);
	if (nstale && dp_svcs_changed(&l->dp) < 0)
		log_warn("lb_config (svc_gen)");
	for (unsigned i = 0; i < l->nsvcs; i++) {
		struct svc_rt *r = &l->svcs[i];
		if (r->svc_id != LB_NODE_NONE)
			continue;
		for (uint32_t id = 0; id < LB_MAX_SVCS; id++)
			if (!used[id]) {
				used[id] = 1;
				r->svc_id = id;
				break;
			}
		/* New service: empty until the first table is built. */
		struct lb_svc_key key;
		struct lb_svc_val val = { .svc_id = r->svc_id, .flags = LB_SVC_F_NO_NODES,
					  .maglev_size = l->dp.maglev_size };
		svc_key(l, r, &key);
		if (bpf_map_update_elem(l->dp.fd_svcs, &key, &val, BPF_ANY) < 0) {
			log_warn("service map");
			return -1;
		}
		if (dp_svcs_changed(&l->dp) < 0)
			log_warn("lb_config (svc_gen)");
	}
	return 0;
}

/* The VIP address set lets the data plane give port-less packets to a VIP
 * (fragments, ICMP, truncated L4) their deliberate verdict. */
static int write_vip_addrs(struct lbd *l)
{
	struct lb_vip_key k, next, *prev = NULL, stale[CFG_MAX_VIPS * 2];
	unsigned nstale = 0;

	while (bpf_map_get_next_key(l->dp.fd_vip_addrs, prev, &next) == 0) {
		int keep = 0;
		k = next;
		prev = &k;
		for (unsigned v = 0; v < l->cfg.nvips; v++)
			keep |= l->cfg.vips[v].addr.family == k.family &&
				!memcmp(l->cfg.vips[v].addr.a, k.addr, 16);
		if (!keep && nstale < CFG_MAX_VIPS * 2)
			stale[nstale++] = k;
	}
	for (unsigned i = 0; i < nstale; i++)
		bpf_map_delete_elem(l->dp.fd_vip_addrs, &stale[i]);
	for (unsigned v = 0; v < l->cfg.nvips; v++) {
		__u32 idx = v;
		memset(&k, 0, sizeof(k));
		memcpy(k.addr, l->cfg.vips[v].addr.a, 16);
		k.family = (__u8)l->cfg.vips[v].addr.family;
		if (bpf_map_update_elem(l->dp.fd_vip_addrs, &k, &idx, BPF_ANY) < 0) {
			log_warn("VIP address map");
			return -1;
		}
	}
	return 0;
}

int sched_apply_config(struct lbd *l)
{
	struct node_rt old[CFG_MAX_NODES];	/* ~25 KiB: fine on lbd's stack */
	unsigned nold = CFG_MAX_NODES;

	memcpy(old, l->nodes, sizeof(old));
	if (assign_node_ids(l, old, nold) < 0 || assign_svc_ids(l) < 0 || write_vip_addrs(l) < 0)
		return -1;
	for (unsigned i = 0; i < l->nsvcs; i++)
		l->svcs[i].nodes_in_table = -1;	/* force a rebuild */
	return 0;
}

/* A node's check state for a service: its own proto/port's check; a UDP
 * service without a probe has none and borrows the VIP's TCP ports. */
int sched_node_svc_ok(const struct lbd *l, int node, int vip, int svc)
{
	const struct cfg_vip *cv = &l->cfg.vips[vip];
	const struct cfg_service *s = &cv->svc[svc];
	int any_tcp = 0, st = health_state(l, node, s->proto, s->port);

	if (s->proto == IPPROTO_TCP || st >= 0)
		return st == 1;
	/* UDP: the VIP's TCP service on the same port speaks for it (iperf3:
	 * control over TCP, data over UDP, one server); else any TCP service. */
	for (unsigned i = 0; i < cv->nsvc; i++)
		if (cv->svc[i].proto == IPPROTO_TCP && cv->svc[i].port == s->port)
			return health_state(l, node, IPPROTO_TCP, s->port) == 1;
	for (unsigned i = 0; i < cv->nsvc; i++) {
		if (cv->svc[i].proto != IPPROTO_TCP)
			continue;
		any_tcp = 1;
		if (health_state(l, node, IPPROTO_TCP, cv->svc[i].port) == 1)
			return 1;
	}
	return !any_tcp;
}

/* Whether node i can take sessions; when not, *why says what holds it down
 * (the reason of its node_down event). */
static int node_alive(const struct lbd *l, int i, const char **why)
{
	const struct node_rt *n = &l->nodes[i];
	int any = 0;

	*why = !l->storage_up ? "storage interface down" : !n->link_up ? "link down" :
	       !n->mac_ok ? "neighbour unreachable" : "every health check failed";
	if (!n->link_up || !n->mac_ok || !l->storage_up)
		return 0;
	for (unsigned c = 0; c < l->nchecks; c++) {
		if (l->checks[c].node != i)
			continue;
		any = 1;
		if (l->checks[c].ok)
			return 1;
	}
	return !any;
}

static void write_node(struct lbd *l, int i)
{
	struct node_rt *n = &l->nodes[i];
	struct lb_node_val v;

	memset(&v, 0, sizeof(v));
	memcpy(v.mac, n->mac, 6);
	memcpy(v.src_mac, l->storage_mac, 6);
	v.ifindex = (uint32_t)l->storage_ifindex;
	v.flags = LB_NODE_F_PRESENT | (n->up ? LB_NODE_F_UP : 0) | (n->drain ? LB_NODE_F_DRAIN : 0);
	if (bpf_map_update_elem(l->dp.fd_nodes, &n->id, &v, BPF_ANY) < 0)
		log_warn("node map update for %s", n->name);
}

/* A service's table for new sessions changed: its service_table event. */
static void log_svc_table(const struct cfg_vip *cv, const struct cfg_service *cs, int live,
			  const char *names)
{
	char vip[TADDR_STRLEN], service[16];

	taddr_fmt(&cv->addr, vip, sizeof(vip));
	snprintf(service, sizeof(service), "%s/%u", proto_name(cs->proto), cs->port);
	log_event(live ? LOG_INFO : LOG_WARNING, "service_table", KV_S("vip_name", cv->name),
		  KV_S("vip", vip), KV_S("service", service), KV_I("nodes", live),
		  KV_S("members", names));
}

static void build_svc(struct lbd *l, struct svc_rt *r)
{
	const struct cfg_vip *cv = &l->cfg.vips[r->vip_index];
	const struct cfg_service *cs = &cv->svc[r->svc_index];
	struct maglev_node mn[CFG_MAX_NODES];
	size_t n = 0;
	struct lb_svc_key key;
	struct lb_svc_val val;
	char names[256] = "";

	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		const struct node_rt *nr = &l->nodes[i];
		if (!nr->up || nr->drain || !sched_node_svc_ok(l, (int)i, r->vip_index, r->svc_index))
			continue;
		mn[n].id = nr->id;
		mn[n].weight = l->cfg.nodes[i].weight;
		mn[n].key = maglev_key(nr->name);
		if (mn[n].weight) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, "%s%s", len ? "," : "", nr->name);
		}
		n++;
	}
	svc_key(l, r, &key);
	if (bpf_map_lookup_elem(l->dp.fd_svcs, &key, &val) < 0) {
		log_warn("service %s %s/%u missing from the map", cv->name, proto_name(cs->proto), cs->port);
		return;
	}
	uint32_t half = !live_half(&val);	/* the idle half */
	uint32_t *table = maglev_half(l, r->svc_id, half, l->dp.maglev_size);
	int live = maglev_build(mn, n, table, l->dp.maglev_size);
	if (live < 0) {
		log_warn("maglev build");
		return;
	}
	/* Publish: the flip is one map update, after the table is complete. */
	__sync_synchronize();
	val.flags = (val.flags & ~(LB_SVC_F_ACTIVE_B | LB_SVC_F_NO_NODES | LB_SVC_F_AFFINITY)) |
		    (half ? LB_SVC_F_ACTIVE_B : 0) | (live ? 0 : LB_SVC_F_NO_NODES) |
		    (cs->affinity ? LB_SVC_F_AFFINITY : 0);
	val.maglev_size = l->dp.maglev_size;
	if (bpf_map_update_elem(l->dp.fd_svcs, &key, &val, BPF_EXIST) < 0) {
		log_warn("service map update");
		return;
	}
	if (dp_svcs_changed(&l->dp) < 0)
		log_warn("lb_config (svc_gen)");
	if (live != r->nodes_in_table)
		log_svc_table(cv, cs, live, names);
	r->nodes_in_table = live;
}

/* Eligibility signature of a service: which node ids, with which weights. */
static uint64_t svc_signature(struct lbd *l, struct svc_rt *r)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		const struct node_rt *nr = &l->nodes[i];
		if (!nr->up || nr->drain || !sched_node_svc_ok(l, (int)i, r->vip_index, r->svc_index))
			continue;
		h = (h ^ (nr->id + 1)) * 0x100000001b3ull;
		h = (h ^ l->cfg.nodes[i].weight) * 0x100000001b3ull;
	}
	return h ^ l->cfg.vips[r->vip_index].svc[r->svc_index].affinity;
}

void sched_update(struct lbd *l)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		struct node_rt *n = &l->nodes[i];
		const char *why;
		int up = node_alive(l, (int)i, &why);
		if (up && !n->up)
			log_event(LOG_NOTICE, "node_up", KV_S("node", n->name));
		else if (!up && n->up)
			log_event(LOG_WARNING, "node_down", KV_S("node", n->name), KV_S("reason", why));
		n->up = up;
		write_node(l, (int)i);
	}
	for (unsigned i = 0; i < l->nsvcs; i++) {
		struct svc_rt *r = &l->svcs[i];
		uint64_t s = svc_signature(l, r);
		if (r->nodes_in_table >= 0 && r->sig == s)
			continue;
		r->sig = s;
		build_svc(l, r);
	}
	l->sched_dirty = 0;
}

int sched_set_drain(struct lbd *l, int node, int drain)
{
	if (l->nodes[node].drain != drain)
		log_event(LOG_NOTICE, drain ? "node_drain" : "node_undrain",
			  KV_S("node", l->nodes[node].name));
	l->nodes[node].drain = drain;
	sched_update(l);
	return 0;
}

/*
 * Was node i in the live Maglev table of some service on proto/port?  Read
 * back from the pinned maps after a restart, so that a service that was
 * failing on a node stays out until its check passes, and one that was
 * working stays in while the first checks run.
 */
int sched_node_was_in(const struct lbd *l, int node, uint8_t proto, uint16_t port)
{
	uint32_t id = l->nodes[node].id;

	for (unsigned i = 0; i < l->nsvcs; i++) {
		const struct svc_rt *r = &l->svcs[i];
		const struct cfg_service *cs = svc_cfg(l, r);
		struct lb_svc_key key;
		struct lb_svc_val val;
		const uint32_t *t;

		if (cs->proto != proto || cs->port != port)
			continue;
		svc_key(l, r, &key);
		if (bpf_map_lookup_elem(l->dp.fd_svcs, &key, &val) < 0 ||
		    (val.flags & LB_SVC_F_NO_NODES))
			continue;
		t = maglev_half(l, r->svc_id, live_half(&val), l->dp.maglev_size);
		for (uint32_t k = 0; k < l->dp.maglev_size; k++)
			if (t[k] == id)
				return 1;
	}
	return 0;
}

/*
 * The node a new session with key k would get now: the same Maglev lookup
 * as the data plane (lb.bpf.c: flow hash, client affinity, live half), read
 * from the mmap'ed tables.  Used to choose where a drained node's sessions
 * go, so that they land where the table sends that client anyway.  Node
 * index, or -1 (no such service, or no usable node).
 */
int sched_maglev_pick(const struct lbd *l, const struct lb_flow_key *k)
{
	for (unsigned i = 0; i < l->nsvcs; i++) {
		const struct svc_rt *r = &l->svcs[i];
		const struct cfg_service *cs = svc_cfg(l, r);
		struct lb_svc_key key;
		struct lb_svc_val val;
		uint32_t slot;

		if (cs->proto != k->proto || htons(cs->port) != k->dport)
			continue;
		svc_key(l, r, &key);
		if (key.family != k->family || memcmp(key.addr, k->daddr, sizeof(key.addr)))
			continue;
		if (bpf_map_lookup_elem(l->dp.fd_svcs, &key, &val) < 0 ||
		    (val.flags & LB_SVC_F_NO_NODES) || !val.maglev_size)
			return -1;
		slot = lb_svc_hash(k, val.flags) % val.maglev_size;
		return sched_node_by_id(l, maglev_half(l, r->svc_id, live_half(&val),
						       val.maglev_size)[slot]);
	}
	return -1;
}

/*
 * A digest of service i's live Maglev table as the data plane reads it:
 * FNV-1a over each slot's node NAME key (maglev_key: node ids are numbered
 * per switch, names are the same everywhere), 0 for an empty slot.  Two
 * switches with equal digests send every new flow of the service to the
 * same node (doc/scaleout.md).  0 when the service has no table.
 */
uint64_t sched_table_digest(const struct lbd *l, unsigned i)
{
	const struct svc_rt *r = &l->svcs[i];
	struct lb_svc_key key;
	struct lb_svc_val val;
	uint64_t h = 0xcbf29ce484222325ull;

	svc_key(l, r, &key);
	if (bpf_map_lookup_elem(l->dp.fd_svcs, &key, &val) < 0 || !val.maglev_size)
		return 0;
	const uint32_t *t = maglev_half(l, r->svc_id, live_half(&val), val.maglev_size);
	for (uint32_t k = 0; k < val.maglev_size; k++) {
		int n = (val.flags & LB_SVC_F_NO_NODES) ? -1 : sched_node_by_id(l, t[k]);
		uint64_t v = n >= 0 ? maglev_key(l->nodes[n].name) : 0;
		for (int b = 0; b < 8; b++) {
			h ^= (v >> (8 * b)) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}
