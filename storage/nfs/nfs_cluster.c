/*
 * nfs_cluster.c - the NFS namespace from the switch ("cluster map
 * from the appliance config, handed to the nodes by lbd").  With
 * nfs.namespace.from_switch, lbd's cluster map (lib/cluster_wire.h) brings
 * the homes, the peers, the handoff threshold, the export's name and its
 * client networks; until the first one arrives the virtual root lists
 * nothing (its homes table is empty) and LOOKUPs under it fail NOENT.
 *
 * The datagram arrives on the handoff agent's switch socket
 * (storage/handoff/report.c dispatches on the first byte), authenticated with this node's key K(n)
 * (lib/handoff_key.h: only the switch and this node hold it, so no other
 * node can forge a map to it).  A map is applied when it carries this
 * process's epoch (handoff_epoch: nothing recorded before this node's start
 * is taken) and its (switch epoch, generation) is newer than the last one
 * taken from the same switch (a pair: one window per switch id); an older
 * generation is counted as replayed and not answered; the same one (lbd
 * resends every 2 s) is only answered.  A map refused for an epoch (lbd
 * does not know ours yet, or the map is from before our start, or from an
 * older switch epoch) is answered CW_ACK_STALE with our epoch, and lbd
 * seals it again.  Each authenticated map is answered with an ACK carrying
 * the generation this node holds, so `tandemctl cluster` shows who is
 * current.
 *
 * This node in the map: its node_name (the name lbd knows it by), else its
 * handoff channel address (its storage address).  Its NFS node id is the
 * map's (lbd's node id + 1, stable); a node_id in nasd's own config must be
 * the same, or the map is refused (handles this node issued would change
 * owner).  Peers: every other node of the map at address:2049, homes' nodes
 * first, at most 16.  A peer that changed (another node at that index, or a
 * new address) has its forwarding connection closed: calls waiting on it
 * answer JUKEBOX and the clients retry.
 */
#include "nfs_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "storage/handoff/handoff.h"

#define NFS_PORT 2049

static const struct cw_node *find_self(const struct nasd *n, const struct cw_map *m)
{
	for (unsigned i = 0; i < m->nnodes; i++)
		if (n->cfg.node_name[0] && !strcmp(m->nodes[i].name, n->cfg.node_name))
			return &m->nodes[i];
	for (unsigned i = 0; i < m->nnodes; i++)
		if (n->cfg.ho.enabled && taddr_equal(&m->nodes[i].addr, &n->cfg.ho.listen_addr))
			return &m->nodes[i];
	return NULL;
}

static int add_peer(struct nasd_nfs_config *c, const struct cw_node *nd)
{
	for (unsigned j = 0; j < c->npeers; j++)
		if (c->peers[j].node_id == nd->nfs_id)
			return 0;
	if (c->npeers >= 16)
		return -1;
	c->peers[c->npeers].node_id = nd->nfs_id;
	c->peers[c->npeers].addr = nd->addr;
	c->peers[c->npeers].port = NFS_PORT;
	c->npeers++;
	return 0;
}

/* The peers whose bit is set in changed (cfg->peers index) are others now:
 * the connections' forwarding state toward them (byte counts, a move to
 * their data wanted: nfs_home.c) starts again, their upstreams close. */
static void peers_changed(struct nfs_server *s, uint32_t changed)
{
	for (struct nfs_conn *cn = s->conns; cn; cn = cn->next) {
		for (unsigned i = 0; i < 16; i++)
			if (changed >> i & 1)
				cn->fwd_bytes[i] = 0;
		if (cn->home_peer && (changed >> (cn->home_peer - 1) & 1))
			cn->home_want = cn->home_peer = 0;
	}
	nfs_proxy_reset(s, changed);
}

/* Take map m into the running configuration.  CW_ACK_OK, or why not. */
static uint8_t apply(struct nasd *n, struct nfs_server *s, const struct cw_map *m)
{
	struct nasd_nfs_config *c = &n->cfg.nfs;	/* s->cfg points here */
	const struct cw_node *self = find_self(n, m);
	char a[TADDR_STRLEN];

	if (!s->cl.node_id_seen) {
		s->cl.node_id_seen = 1;
		s->cl.node_id_cfg = c->node_id;
	}
	if (!self || (s->cl.node_id_cfg && s->cl.node_id_cfg != self->nfs_id)) {
		log_event(LOG_WARNING, "cluster_map_refused", KV_U("generation", m->h.generation),
			  KV_U("switch", m->h.switch_id), KV_S("node", n->cfg.node_name),
			  KV_S("reason", !self ? "the map does not name this node" :
				 "the map's NFS id for this node is not its configured node_id"),
			  KV_U("nfs_id", self ? self->nfs_id : 0), KV_U("node_id", s->cl.node_id_cfg));
		if (self)
			return CW_ACK_REFUSED;
		s->cl.nfs_id = 0;
		return CW_ACK_NOT_MEMBER;
	}
	s->cl.nfs_id = self->nfs_id;
	if (c->node_id && c->node_id != self->nfs_id)
		log_warnx("cluster: this node's NFS id changes from %u to %u", c->node_id, self->nfs_id);
	c->node_id = self->nfs_id;

	struct { uint8_t node_id; struct taddr addr; uint16_t port; } old[16];
	unsigned nold = c->npeers;
	for (unsigned i = 0; i < nold; i++) {
		old[i].node_id = c->peers[i].node_id;
		old[i].addr = c->peers[i].addr;
		old[i].port = c->peers[i].port;
	}
	/* peers: the homes' nodes first (they must be reachable), then the
	 * rest (their forwarded calls are accepted whatever "clients" says) */
	c->npeers = 0;
	for (unsigned i = 0; i < m->nhomes; i++) {
		const struct cw_node *nd = cw_map_node(m, m->homes[i].nfs_id);
		if (nd != self && add_peer(c, nd) < 0)
			log_warnx("cluster: more than 16 peers: home \"%s\" on node %u is unreachable from here",
				  m->homes[i].dir, nd->nfs_id);
	}
	for (unsigned i = 0; i < m->nnodes; i++)
		if (&m->nodes[i] != self)
			(void)add_peer(c, &m->nodes[i]);
	uint32_t changed = 0;
	for (unsigned i = 0; i < 16; i++) {
		int same = i < nold && i < c->npeers && old[i].node_id == c->peers[i].node_id &&
			   old[i].port == c->peers[i].port && taddr_equal(&old[i].addr, &c->peers[i].addr);
		if (!same && (i < nold || i < c->npeers))
			changed |= 1u << i;
	}
	c->nhomes = m->nhomes;
	for (unsigned i = 0; i < m->nhomes; i++) {
		memcpy(c->homes[i].dir, m->homes[i].dir, sizeof(c->homes[i].dir));
		c->homes[i].node_id = m->homes[i].nfs_id;
	}
	c->handoff_threshold = m->handoff_threshold;
	snprintf(c->export_name, sizeof(c->export_name), "%s", m->export_name);
	if (m->nclients) {
		c->nclients = m->nclients;
		for (unsigned i = 0; i < m->nclients; i++) {
			c->clients[i].addr = m->clients[i].addr;
			c->clients[i].plen = m->clients[i].plen;
		}
	}
	if (changed)
		peers_changed(s, changed);
	nfs_server_reclassify(s);
	log_event(LOG_INFO, "cluster_map", KV_U("generation", m->h.generation),
		  KV_U("switch", m->h.switch_id), KV_S("addr", taddr_fmt(&self->addr, a, sizeof(a))),
		  KV_U("nfs_id", self->nfs_id), KV_S("export", c->export_name),
		  KV_U("homes", c->nhomes), KV_U("peers", c->npeers),
		  KV_S("peers_changed", changed ? "yes" : "no"));
	return CW_ACK_OK;
}

/* Authenticated map m for this node's ACK *ack: apply it if it is new and
 * fresh.  0 answer with *ack, -1 refused without an answer (a replay). */
static int take_map(struct nasd *n, struct nfs_server *s, const struct cw_map *m,
		    struct cw_ack *ack)
{
	int fresh = cw_replay_check(&s->cl.replay, m->h.switch_id, m->h.epoch, m->h.generation);

	s->cl.maps++;
	if (fresh == CW_OLD || fresh == CW_FULL || fresh == CW_OLD_EPOCH)
		s->cl.replayed++;
	if (fresh == CW_OLD || fresh == CW_FULL) {
		log_event(LOG_WARNING, "cluster_map_refused", KV_U("generation", m->h.generation),
			  KV_U("switch", m->h.switch_id),
			  KV_S("reason", fresh == CW_OLD ? "older than the last one (replayed)" :
							   "too many switches"));
		return -1;
	}
	if (fresh == CW_OLD_EPOCH || m->h.peer_epoch != handoff_epoch(n)) {
		s->cl.replay.stale++;
		log_event(LOG_INFO, "cluster_map_refused", KV_U("generation", m->h.generation),
			  KV_U("switch", m->h.switch_id),
			  KV_S("reason", fresh == CW_OLD_EPOCH ? "stale: from an older start of the switch" :
				 "stale: not sealed for this start of the node"));
		ack->status = CW_ACK_STALE;
		ack->held = cw_replay_held(&s->cl.replay, m->h.switch_id);
		return 0;
	}
	if (fresh == CW_SAME) {
		s->cl.unchanged++;
	} else {
		cw_replay_commit(&s->cl.replay, m->h.switch_id, m->h.epoch, m->h.generation);
		s->cl.status = apply(n, s, m);
		if (s->cl.status == CW_ACK_OK) {
			s->cl.applied++;
			s->cl.generation = m->h.generation;
			s->cl.switch_id = m->h.switch_id;
			s->cl.at_ms = loop_now_ms();
		} else if (s->cl.status == CW_ACK_NOT_MEMBER) {
			s->cl.not_member++;
		} else {
			s->cl.refused++;
		}
	}
	ack->status = s->cl.status;
	ack->nfs_id = s->cl.status == CW_ACK_OK ? s->cl.nfs_id : 0;
	ack->h.generation = m->h.generation;	/* the newest seen from that switch */
	return 0;
}

void nfs_cluster_input(struct nasd *n, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, socklen_t fromlen, const uint8_t *key,
		       size_t keylen, uint32_t cluster_id)
{
	struct nfs_server *s = n->nfs;
	struct cw_map *m = malloc(sizeof(*m));
	struct cw_ack ack = { .h = { .type = CW_T_ACK, .cluster_id = cluster_id } };
	uint8_t type, out[CW_ACK_LEN];
	const char *why;

	if (!m)
		return;
	if (cw_parse(buf, len, key, keylen, &type, m, NULL, &why) < 0 || m->h.cluster_id != cluster_id) {
		log_debug("cluster: datagram refused: %s", m->h.cluster_id != cluster_id ? "cluster id" : why);
		if (s)
			s->cl.bad++;
		free(m);
		return;
	}
	ack.h.switch_id = m->h.switch_id;
	ack.h.epoch = handoff_epoch(n);
	ack.h.peer_epoch = m->h.epoch;	/* the switch's own: it knows the ACK is fresh */
	if (!s || !s->cfg->from_switch) {
		ack.status = CW_ACK_UNUSED;	/* generation 0: this node holds none */
	} else if (take_map(n, s, m, &ack) < 0) {
		free(m);
		return;
	}
	free(m);
	size_t l = cw_ack_encode(&ack, key, keylen, out, sizeof(out));
	if (l && sendto(fd, out, l, MSG_DONTWAIT, (const struct sockaddr *)from, fromlen) != (ssize_t)l)
		log_debug("cluster: ack not sent");
}

json_t *nfs_cluster_status(struct nasd *n)
{
	struct nfs_server *s = n->nfs;

	if (!s)
		return json_null();
	return json_pack("{s:b, s:I, s:i, s:I, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"from_switch", s->cfg->from_switch,
		"generation", (json_int_t)s->cl.generation,
		"switch_id", (int)s->cl.switch_id,
		"age_ms", (json_int_t)(s->cl.at_ms ? loop_now_ms() - s->cl.at_ms : 0),
		"nfs_id", (int)s->cl.nfs_id,
		"last_status", s->cl.maps ? cw_ack_status_name(s->cl.status) : "none",
		"maps", (json_int_t)s->cl.maps, "applied", (json_int_t)s->cl.applied,
		"unchanged", (json_int_t)s->cl.unchanged, "bad", (json_int_t)s->cl.bad,
		"replayed", (json_int_t)s->cl.replayed, "not_member", (json_int_t)s->cl.not_member,
		"refused", (json_int_t)s->cl.refused, "stale", (json_int_t)s->cl.replay.stale);
}
