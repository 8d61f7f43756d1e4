/*
 * cluster.c - the NFS cluster map ("one namespace"): built from the
 * appliance config's "nfs" section and the nodes, sent to every node's
 * tandem-nasd (lib/cluster_wire.h), resent every CLUSTER_RESEND_MS so that a
 * node that restarts gets it without lbd noticing the restart.  And, with
 * or without "nfs", the node states (CW_T_NODES: which nodes drain) to
 * every node with the handoff section: a node's own automatic moves (the
 * data-location rule) must not hand sessions to a node the operator
 * drains.  They are sent at once when a drain starts or ends (before the
 * drain moves any session: cluster_states_send) and resent with the map.
 *
 * Where: each node's storage address, UDP port handoff.port, the socket
 * where nasd already takes the switch's MOVEs (it tells the two formats
 * apart by the first byte).  Reusing it needs no new port in the config,
 * in firewalls or in nasd, and the map is authenticated with the key that
 * already authenticates MOVEs: whoever may move sessions may also say
 * where directories live.  That is the node's own key K(n) (derived from
 * the master key, lib/handoff_key.h): the map is encoded once and sealed
 * for each node (cw_reseal) with our epoch and the node's (report.c keeps
 * both): a node takes only a map sealed for its current start, so nothing
 * recorded before it restarted is taken, and answers one that is not with
 * a STALE ACK carrying its epoch: we learn it and seal the map again.
 *
 * Generation: the wall clock in microseconds when the config was (re)loaded,
 * and at least the previous one + 1.  It grows across reloads; nodes refuse
 * a generation older than the last they took from this switch in the same
 * epoch of ours (a new lbd has a new epoch: its maps start a new window).
 *
 * NFS node id of a node = its data-plane node id + 1: ids are pinned by name
 * in bpffs (sched.c), so they survive restarts and reordered configs, and
 * file handles issued by a node stay valid.
 *
 * Nodes answer each map with an ACK (the generation they hold from this
 * switch and whether they use it); {"cmd":"cluster"} shows it per node.
 */
#include "lbd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/cluster_wire.h"
#include "lib/ctl.h"
#include "lib/handoff_key.h"
#include "lib/keyfile.h"
#include "lib/log.h"
#include "lib/maglev.h"

#define CLUSTER_RESEND_MS 2000

static uint32_t switch_id(const struct lbd *l)
{
	return report_switch_id(l);
}

/* A node's storage address as a v6 socket address (v4-mapped for v4): the
 * socket is dual-stack, as report.c's. */
static void node_sa(const struct taddr *a, uint16_t port, struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	if (a->family == 6) {
		memcpy(&sa->sin6_addr, a->a, 16);
	} else {
		sa->sin6_addr.s6_addr[10] = 0xff;
		sa->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa->sin6_addr.s6_addr[12], a->a, 4);
	}
}

/* The node whose storage address sent a datagram, or -1. */
static int node_of_sa(const struct lbd *l, const struct sockaddr_in6 *from)
{
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		struct sockaddr_in6 sa;
		node_sa(&l->cfg.nodes[i].addr, 0, &sa);
		if (!memcmp(&sa.sin6_addr, &from->sin6_addr, 16))
			return (int)i;
	}
	return -1;
}

/* Message buf[0, len) to node i (index of cfg.nodes and nodes), sealed for
 * it: its key, our epoch, its epoch as we know it (0 before it told us: it
 * answers STALE with it).  1 sent, 0 not. */
static int seal_send(struct lbd *l, int i, uint8_t *buf, size_t len)
{
	struct cluster_srv *c = &l->cluster;
	struct sockaddr_in6 sa;
	uint8_t k[HOKEY_LEN];
	const char *name = l->cfg.nodes[i].name;

	hokey_node(c->key, c->keylen, name, k);
	if (cw_reseal(buf, len, report_epoch(l), report_node_epoch(l, maglev_node_key32(name)), k,
		      sizeof(k)) < 0)
		return 0;
	node_sa(&l->cfg.nodes[i].addr, l->cfg.handoff.port, &sa);
	if (sendto(c->io.fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len)
		return 1;
	c->send_errors++;	/* e.g. no route yet, or an ICMP error of the last one */
	return 0;
}

/* The map (with "nfs") and the node states to node i. */
static void send_one(struct lbd *l, int i)
{
	struct cluster_srv *c = &l->cluster;

	if (c->dgram_len)
		c->sent += (uint64_t)seal_send(l, i, c->dgram, c->dgram_len);
	if (c->sdgram_len)
		c->states_sent += (uint64_t)seal_send(l, i, c->sdgram, c->sdgram_len);
}

/* A node's answer to the node states: it holds generation a->h.generation. */
static void states_ack(struct lbd *l, int ni, const struct cw_ack *a)
{
	struct cluster_srv *c = &l->cluster;
	uint32_t id = l->nodes[ni].id;

	if (a->status == CW_ACK_STALE)
		return;	/* resent by the caller */
	if (a->h.generation == c->states_gen && c->states_acked[id].gen != c->states_gen)
		log_debug("cluster: %s holds node states %llu", l->nodes[ni].name,
			  (unsigned long long)a->h.generation);
	c->states_acked[id].gen = a->h.generation;
	c->states_acked[id].at_ms = loop_now_ms();
}

/* A node's answer to the map. */
static void map_ack(struct lbd *l, int ni, const struct cw_ack *a)
{
	struct cluster_srv *c = &l->cluster;
	uint32_t id = l->nodes[ni].id;

	if (a->h.generation >= c->acked[id].gen || a->status != c->acked[id].status) {
		if (a->h.generation == c->generation && c->acked[id].gen != c->generation)
			log_event(LOG_INFO, "cluster_map_ack", KV_S("node", l->nodes[ni].name),
				  KV_U("generation", a->h.generation),
				  KV_S("status", cw_ack_status_name(a->status)));
		c->acked[id].gen = a->h.generation;
		c->acked[id].status = a->status;
	}
	c->acked[id].at_ms = loop_now_ms();
}

static void readable(struct loop *lp, struct loop_io *io, uint32_t events)
{
	struct lbd *l = io->arg;
	struct cluster_srv *c = &l->cluster;

	(void)lp;
	(void)events;
	for (int j = 0; j < 64; j++) {
		uint8_t buf[256], type;
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		struct cw_ack a;
		const char *why;
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;	/* EAGAIN; ECONNREFUSED from a node without nasd is expected too */
		int ni = from.sin6_family == AF_INET6 ? node_of_sa(l, &from) : -1;
		uint8_t k[HOKEY_LEN];
		if (ni >= 0)
			hokey_node(c->key, c->keylen, l->nodes[ni].name, k);
		int states = 0;
		if (ni < 0 || cw_parse(buf, (size_t)n, k, sizeof(k), &type, NULL, &a, &why) < 0 ||
		    a.h.cluster_id != l->cfg.handoff.cluster_id || a.h.switch_id != switch_id(l) ||
		    a.h.peer_epoch != report_epoch(l) ||
		    a.h.generation > ((states = type == CW_T_NODES_ACK) ? c->states_gen : c->generation) ||
		    (a.nfs_id && a.nfs_id != l->nodes[ni].id + 1)) {
			c->acks_refused++;
			continue;
		}
		c->acks++;
		/* authentic and fresh (it carries our epoch): the node's epoch */
		report_node_learn(l, maglev_node_key32(l->nodes[ni].name), a.h.epoch);
		if (a.status == CW_ACK_STALE) {
			report_epoch_above(l, a.held);
			send_one(l, ni);
		}
		if (states)
			states_ack(l, ni, &a);
		else
			map_ack(l, ni, &a);
	}
}

static int open_socket(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;
	int zero = 0;

	if (c->io.fd >= 0)
		return 0;
	c->io.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->io.fd < 0 || setsockopt(c->io.fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
		log_warn("cluster: map socket");
		if (c->io.fd >= 0)
			close(c->io.fd);
		c->io.fd = -1;
		return -1;
	}
	c->io.cb = readable;
	c->io.arg = l;
	if (loop_add(&l->loop, &c->io, EPOLLIN) < 0) {
		close(c->io.fd);
		c->io.fd = -1;
		return -1;
	}
	return 0;
}

static void send_all(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;

	c->next_send_ms = loop_now_ms() + CLUSTER_RESEND_MS;
	if ((!c->dgram_len && !c->sdgram_len) || open_socket(l) < 0)
		return;
	for (unsigned i = 0; i < l->cfg.nnodes; i++)
		send_one(l, (int)i);
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The map of the "nfs" section into c->dgram (a new generation).  0 / -1
 * (logged). */
static int build_map(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;
	const struct cfg_nfs *nf = &l->cfg.nfs;
	struct cw_map *m = c->map;
	const char *why;

	memset(m, 0, sizeof(*m));
	uint64_t gen = wall_us();
	c->generation = gen > c->generation ? gen : c->generation + 1;
	m->h.type = CW_T_MAP;
	m->h.cluster_id = l->cfg.handoff.cluster_id;
	m->h.switch_id = switch_id(l);
	m->h.generation = c->generation;
	m->handoff_threshold = nf->handoff_threshold;
	snprintf(m->export_name, sizeof(m->export_name), "%s", nf->export_name);
	m->nclients = nf->nclients;
	for (unsigned i = 0; i < nf->nclients; i++) {
		m->clients[i].addr = nf->clients[i].addr;
		m->clients[i].plen = nf->clients[i].plen;
	}
	m->nnodes = l->cfg.nnodes;
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		m->nodes[i].nfs_id = (uint8_t)(l->nodes[i].id + 1);	/* ids 0..254 */
		m->nodes[i].addr = l->cfg.nodes[i].addr;
		snprintf(m->nodes[i].name, sizeof(m->nodes[i].name), "%s", l->cfg.nodes[i].name);
	}
	m->nhomes = nf->nhomes;
	for (unsigned i = 0; i < nf->nhomes; i++) {
		int ni = config_node_index(&l->cfg, nf->homes[i].node);	/* checked by the parser */
		m->homes[i].nfs_id = (uint8_t)(l->nodes[ni].id + 1);
		snprintf(m->homes[i].dir, sizeof(m->homes[i].dir), "%s", nf->homes[i].dir);
	}
	c->dgram_len = cw_map_encode(m, c->key, c->keylen, c->dgram, CW_MAX_DGRAM, &why);
	if (!c->dgram_len) {
		log_warnx("cluster: cannot encode the map: %s", why);
		return -1;
	}
	log_event(LOG_INFO, "cluster_map", KV_U("generation", c->generation),
		  KV_S("export", m->export_name), KV_U("homes", m->nhomes), KV_U("nodes", m->nnodes),
		  KV_U("bytes", c->dgram_len));
	return 0;
}

/* The node states as they are now into c->sdgram, with a new generation
 * if they differ from the last built (or force).  1 changed, 0 the same,
 * -1 not encodable (logged). */
static int build_states(struct lbd *l, int force)
{
	struct cluster_srv *c = &l->cluster;
	struct cw_nodes *s = c->states;
	int changed = force || s->n != l->cfg.nnodes;
	const char *why;

	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		uint8_t f = l->nodes[i].drain ? CW_NODE_DRAINING : 0;
		changed |= strcmp(s->nodes[i].name, l->cfg.nodes[i].name) || s->nodes[i].flags != f;
		snprintf(s->nodes[i].name, sizeof(s->nodes[i].name), "%s", l->cfg.nodes[i].name);
		s->nodes[i].flags = f;
	}
	s->n = l->cfg.nnodes;
	if (!changed)
		return 0;
	uint64_t gen = wall_us();
	c->states_gen = gen > c->states_gen ? gen : c->states_gen + 1;
	s->h = (struct cw_hdr){ .type = CW_T_NODES, .cluster_id = l->cfg.handoff.cluster_id,
				.switch_id = switch_id(l), .generation = c->states_gen };
	c->sdgram_len = cw_nodes_encode(s, c->key, c->keylen, c->sdgram, CW_NODES_MAX_DGRAM, &why);
	if (!c->sdgram_len) {
		log_warnx("cluster: cannot encode the node states: %s", why);
		return -1;
	}
	return 1;
}

int cluster_apply(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;
	char err[300];

	if (!c->map) {
		c->io.fd = -1;
		c->map = calloc(1, sizeof(*c->map));
		c->dgram = malloc(CW_MAX_DGRAM);
		c->states = calloc(1, sizeof(*c->states));
		c->sdgram = malloc(CW_NODES_MAX_DGRAM);
		if (!c->map || !c->dgram || !c->states || !c->sdgram) {
			log_warnx("cluster: out of memory");
			return -1;
		}
	}
	c->dgram_len = c->sdgram_len = 0;	/* no "nfs" (any more): no map; no handoff: nothing */
	if (!l->cfg.handoff.enabled)
		return 0;
	if (keyfile_load(l->cfg.handoff.key_file, c->key, &c->keylen, err, sizeof(err)) < 0) {
		log_warnx("cluster: %s", err);
		return -1;
	}
	if (build_states(l, 1) < 0 || (l->cfg.nfs.enabled && build_map(l) < 0))
		return -1;
	send_all(l);
	return 0;
}

void cluster_tick(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;

	if (!c->sdgram_len)
		return;	/* no handoff section */
	if (build_states(l, 0) > 0 || loop_now_ms() >= c->next_send_ms)
		send_all(l);
}

void cluster_states_send(struct lbd *l)
{
	if (l->cluster.sdgram_len && build_states(l, 0) > 0)
		send_all(l);
}

static char *cidr_str(const struct taddr *a, uint8_t plen, char *buf, size_t len)
{
	char s[TADDR_STRLEN];

	snprintf(buf, len, "%s/%u", taddr_fmt(a, s, sizeof(s)), plen);
	return buf;
}

/* The node states as sent, and which generation each node holds: null
 * without the handoff section. */
static json_t *states_json(const struct lbd *l)
{
	const struct cluster_srv *c = &l->cluster;
	json_t *dr = json_array(), *held = json_object();
	uint64_t now = loop_now_ms();

	if (!c->sdgram_len)
		return json_null();
	for (unsigned i = 0; i < c->states->n; i++)
		if (c->states->nodes[i].flags & CW_NODE_DRAINING)
			json_array_append_new(dr, json_string(c->states->nodes[i].name));
	for (unsigned i = 0; i < l->cfg.nnodes; i++) {
		uint32_t id = l->nodes[i].id;
		json_object_set_new(held, l->nodes[i].name, !c->states_acked[id].at_ms ? json_null() :
			json_pack("{s:I, s:b, s:I}", "generation", (json_int_t)c->states_acked[id].gen,
				  "current", c->states_acked[id].gen == c->states_gen,
				  "age_ms", (json_int_t)(now - c->states_acked[id].at_ms)));
	}
	return json_pack("{s:I, s:o, s:o, s:I}", "generation", (json_int_t)c->states_gen, "draining",
			 dr, "held", held, "sent", (json_int_t)c->states_sent);
}

json_t *cluster_cmd(struct lbd *l)
{
	const struct cluster_srv *c = &l->cluster;
	const struct cw_map *m = c->map;
	json_t *r = ctl_ok(), *cl, *homes, *nodes;
	char b[TADDR_STRLEN + 8];
	uint64_t now = loop_now_ms();

	json_object_set_new(r, "node_states", states_json(l));
	json_object_set_new(r, "enabled", json_boolean(c->dgram_len > 0));
	if (!c->dgram_len) {
		json_object_set_new(r, "reason", json_string(l->cfg.nfs.enabled ?
			"the map could not be built (see lbd's log)" : "no \"nfs\" section in the configuration"));
		return r;
	}
	json_object_set_new(r, "generation", json_integer((json_int_t)c->generation));
	json_object_set_new(r, "switch_id", json_integer(m->h.switch_id));
	json_object_set_new(r, "cluster_id", json_integer(m->h.cluster_id));
	json_object_set_new(r, "export", json_string(m->export_name));
	json_object_set_new(r, "handoff_threshold", json_integer((json_int_t)m->handoff_threshold));
	cl = json_array();
	for (unsigned i = 0; i < m->nclients; i++)
		json_array_append_new(cl, json_string(cidr_str(&m->clients[i].addr, m->clients[i].plen,
							       b, sizeof(b))));
	json_object_set_new(r, "clients", cl);
	homes = json_array();
	for (unsigned i = 0; i < m->nhomes; i++) {
		const struct cw_node *nd = cw_map_node(m, m->homes[i].nfs_id);
		json_array_append_new(homes, json_pack("{s:s, s:s, s:i}", "dir", m->homes[i].dir,
			"node", nd ? nd->name : "?", "nfs_id", m->homes[i].nfs_id));
	}
	json_object_set_new(r, "homes", homes);
	nodes = json_array();
	for (unsigned i = 0; i < m->nnodes; i++) {
		uint32_t id = m->nodes[i].nfs_id - 1u;
		json_t *o = json_pack("{s:s, s:i, s:s}", "name", m->nodes[i].name, "nfs_id",
				      m->nodes[i].nfs_id, "address",
				      taddr_fmt(&m->nodes[i].addr, b, sizeof(b)));
		if (c->acked[id].at_ms) {
			json_object_set_new(o, "acked_generation", json_integer((json_int_t)c->acked[id].gen));
			json_object_set_new(o, "ack_status", json_string(cw_ack_status_name(c->acked[id].status)));
			json_object_set_new(o, "ack_age_ms", json_integer((json_int_t)(now - c->acked[id].at_ms)));
		} else {
			json_object_set_new(o, "acked_generation", json_null());
		}
		json_object_set_new(o, "current", json_boolean(c->acked[id].at_ms &&
			c->acked[id].gen == c->generation && c->acked[id].status == CW_ACK_OK));
		json_array_append_new(nodes, o);
	}
	json_object_set_new(r, "nodes", nodes);
	json_object_set_new(r, "port", json_integer(l->cfg.handoff.port));
	json_object_set_new(r, "bytes", json_integer((json_int_t)c->dgram_len));
	json_object_set_new(r, "resend_ms", json_integer(CLUSTER_RESEND_MS));
	json_object_set_new(r, "sent", json_integer((json_int_t)c->sent));
	json_object_set_new(r, "send_errors", json_integer((json_int_t)c->send_errors));
	json_object_set_new(r, "acks", json_integer((json_int_t)c->acks));
	json_object_set_new(r, "acks_refused", json_integer((json_int_t)c->acks_refused));
	return r;
}

void cluster_close(struct lbd *l)
{
	struct cluster_srv *c = &l->cluster;

	if (c->map && c->io.fd >= 0) {
		loop_del(&l->loop, &c->io);
		close(c->io.fd);
	}
	c->io.fd = -1;
	free(c->map);
	free(c->dgram);
	free(c->states);
	free(c->sdgram);
	c->map = NULL;
	c->dgram = NULL;
	c->states = NULL;
	c->sdgram = NULL;
	c->dgram_len = c->sdgram_len = 0;
}
