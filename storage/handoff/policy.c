/*
 * policy.c - what the handoff engine allows the node's own automatic moves
 * (the data-location rules of HTTP and NFS, through handoff_schedule*),
 * besides the move itself (doc/nasd.md "Operator decisions").  Automatic
 * moves must not undo what an operator decided:
 *
 *   - a node that drains receives no session.  The switch says which
 *     nodes drain (lib/cluster_wire.h node states, CW_T_NODES: lbd sends
 *     them to every node when a drain starts or ends, before it moves any
 *     session, and every 2 s).  A move to a draining peer is not scheduled,
 *     and this node, while the switch drains it, refuses every OPEN (so
 *     also a peer that did not hear of the drain yet gets a FAIL before it
 *     froze anything).  States from a switch not heard of for
 *     STATES_TTL_MS count no more (a switch that stopped cannot keep a
 *     node closed);
 *   - a connection an operator's move brought here (a switch MOVE:
 *     tandemctl handoff/migrate, drain, the load trigger; or a node's
 *     handoff control command: the OPEN's HO_R_CAUSE) is pinned for
 *     handoff.pin_hold_s: no automatic move takes it away until then;
 *   - only a VIP session can move: a connection made to this node's own
 *     address (not through the switch) cannot be rebuilt on another node,
 *     which cannot bind that address.  A VIP is on the loopback device
 *     (every node has it there: the switch forwards to the nodes with the
 *     VIP as destination), a node's own address is not.
 */
#include "handoff_int.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/log.h"

#define STATES_TTL_MS 10000	/* five of lbd's resends */

/* ---- the node states from the switches ---- */

/* The slot of switch_id (a free one if new), or NULL: all taken. */
static struct ho_sw_states *states_slot(struct handoff *h, uint32_t switch_id)
{
	struct ho_sw_states *free_slot = NULL;

	for (int i = 0; i < SW_WINDOWS; i++) {
		if (h->states[i].used && h->states[i].switch_id == switch_id)
			return &h->states[i];
		if (!h->states[i].used && !free_slot)
			free_slot = &h->states[i];
	}
	return free_slot;
}

/* States s (authentic, fresh) from its switch: which peers drain, and this
 * node.  Logged when that changes. */
static void states_take(struct handoff *h, const struct cw_nodes *s)
{
	struct ho_sw_states *w = states_slot(h, s->h.switch_id);
	uint32_t peers = 0;
	int self = 0;

	if (!w)
		return;	/* cw_replay refused a new switch already */
	for (unsigned i = 0; i < s->n; i++) {
		if (!(s->nodes[i].flags & CW_NODE_DRAINING))
			continue;
		int pi = peer_index(h, s->nodes[i].name);
		if (pi >= 0)
			peers |= 1u << pi;
		else if (!strcmp(s->nodes[i].name, h->n->cfg.node_name))
			self = 1;
	}
	if (!w->used || w->drain_peers != peers || w->drain_self != self) {
		char list[NASD_MAX_PEERS * (NASD_NAME_MAX + 1) + 16] = "";
		for (unsigned i = 0; i < h->cfg->npeers; i++)
			if (peers >> i & 1)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 list[0] ? "," : "", h->cfg->peers[i].name);
		log_event(LOG_INFO, "drain_states", KV_U("switch", s->h.switch_id),
			  KV_S("peers_draining", list[0] ? list : "none"),
			  KV_S("self_draining", self ? "yes" : "no"));
	}
	w->used = 1;
	w->switch_id = s->h.switch_id;
	w->gen = s->h.generation;
	w->drain_peers = peers;
	w->drain_self = self;
	w->at_ms = loop_now_ms();
	h->states_applied++;
}

/* Authentic states s: take them if fresh (or refresh the same generation).
 * The ACK's status and held into *a; -1: a replay, no answer. */
static int states_check(struct handoff *h, const struct cw_nodes *s, struct cw_ack *a)
{
	int fresh = cw_replay_check(&h->states_replay, s->h.switch_id, s->h.epoch, s->h.generation);

	if (fresh == CW_OLD || fresh == CW_FULL) {
		h->states_replayed++;
		return -1;
	}
	if (fresh == CW_OLD_EPOCH || s->h.peer_epoch != h->epoch) {
		h->states_replay.stale++;
		a->status = CW_ACK_STALE;
		a->held = cw_replay_held(&h->states_replay, s->h.switch_id);
		return 0;
	}
	cw_replay_commit(&h->states_replay, s->h.switch_id, s->h.epoch, s->h.generation);
	states_take(h, s);	/* the same generation too: the switch is alive */
	a->status = CW_ACK_OK;
	return 0;
}

void states_input(struct handoff *h, int fd, const uint8_t *buf, size_t len,
		  const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct cw_nodes *s = malloc(sizeof(*s));	/* ~9 KiB */
	struct cw_ack a = { .h = { .type = CW_T_NODES_ACK, .cluster_id = h->cfg->cluster_id } };
	uint8_t out[CW_ACK_LEN];
	const char *why;

	if (!s)
		return;
	h->states_msgs++;
	if (cw_nodes_parse(buf, len, h->node_key.k, h->node_key.len, s, &why) < 0 ||
	    s->h.cluster_id != h->cfg->cluster_id) {
		log_debug("handoff: node states refused: %s", s->h.cluster_id != h->cfg->cluster_id ?
			  "cluster id" : why);
		h->states_bad++;
		free(s);
		return;
	}
	a.h.switch_id = s->h.switch_id;
	a.h.generation = s->h.generation;
	a.h.epoch = h->epoch;
	a.h.peer_epoch = s->h.epoch;	/* the switch's own: it knows the ACK is fresh */
	int rc = states_check(h, s, &a);
	free(s);
	if (rc < 0)
		return;
	size_t l = cw_ack_encode(&a, h->node_key.k, h->node_key.len, out, sizeof(out));
	if (l && sendto(fd, out, l, MSG_DONTWAIT, (const struct sockaddr *)from, fromlen) != (ssize_t)l)
		log_debug("handoff: node states ack not sent");
}

/* Whether a live switch says so: peer pi drains (pi >= 0), or this node
 * (pi < 0). */
static int draining(const struct handoff *h, int pi)
{
	uint64_t now = loop_now_ms();

	for (int i = 0; i < SW_WINDOWS; i++) {
		const struct ho_sw_states *w = &h->states[i];
		if (!w->used || now - w->at_ms > STATES_TTL_MS)
			continue;
		if (pi < 0 ? w->drain_self : (int)(w->drain_peers >> pi & 1))
			return 1;
	}
	return 0;
}

int self_draining(const struct handoff *h)
{
	return draining(h, -1);
}

/* ---- VIP sessions only ---- */

int handoff_fd_on_vip(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct taddr local, a;
	uint16_t port;
	struct ifaddrs *ifs;
	int vip = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    taddr_from_sockaddr(&ss, &local, &port) < 0 || getifaddrs(&ifs) < 0)
		return 0;
	for (struct ifaddrs *i = ifs; i && !vip; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_LOOPBACK) ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) ||
		    taddr_from_sockaddr((const struct sockaddr_storage *)i->ifa_addr, &a, &port) < 0)
			continue;
		/* 127.0.0.0/8 and ::1 are nobody's VIP */
		int lo = (a.family == 4 && a.a[0] == 127) ||
			 (a.family == 6 && !memcmp(a.a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16));
		vip = !lo && taddr_equal(&a, &local);
	}
	freeifaddrs(ifs);
	return vip;
}

/* ---- pins ---- */

void pin_arrival(struct handoff *h, const struct ho_conn_ops *ops, void *conn, uint8_t cause,
		 const char *from)
{
	struct ho_pin *p = ops->pin_of ? ops->pin_of(conn) : NULL;

	if (!p || !h->cfg->pin_hold_s || (cause != HO_CAUSE_OPERATOR && cause != HO_CAUSE_SWITCH))
		return;
	p->until_ms = loop_now_ms() + (uint64_t)h->cfg->pin_hold_s * 1000;
	p->cause = cause;
	snprintf(p->from, sizeof(p->from), "%s", from);
	h->pinned++;
}

/* conn's pin, if it holds now: its remaining ms (0: none). */
static uint64_t pin_left(const struct ho_conn_ops *ops, void *conn)
{
	const struct ho_pin *p = ops->pin_of ? ops->pin_of(conn) : NULL;
	uint64_t now = loop_now_ms();

	return p && p->until_ms > now ? p->until_ms - now : 0;
}

int auto_check(struct handoff *h, const struct ho_conn_ops *ops, void *conn, int pi)
{
	if (pin_left(ops, conn))
		return HO_SCHED_PINNED;
	if (draining(h, pi))
		return HO_SCHED_DRAINING;
	if (!handoff_fd_on_vip(ops->fd(conn)))
		return HO_SCHED_NOT_VIP;
	return HO_SCHED_OK;
}

/* ---- status ---- */

static const char *cause_name(uint8_t c)
{
	return c == HO_CAUSE_SWITCH ? "switch" : c == HO_CAUSE_OPERATOR ? "operator" : "?";
}

/* The pinned connections of every kind: service, id, client, from, by,
 * remaining_ms. */
static json_t *pins_json(struct handoff *h)
{
	json_t *arr = json_array();
	char client[TADDR_STRLEN + 10];

	if (!h->pinned)
		return arr;	/* none ever: no walk over every connection */
	for (const struct ho_conn_ops *const *o = ho_kinds; *o; o++) {
		size_t cnt = 0;
		uint64_t *ids = (*o)->pin_of ? (*o)->list(h->n, &cnt) : NULL;
		for (size_t i = 0; ids && i < cnt; i++) {
			void *conn = (*o)->by_id(h->n, ids[i]);
			uint64_t left = conn ? pin_left(*o, conn) : 0;
			struct lb_flow_key k;
			if (!left)
				continue;
			const struct ho_pin *p = (*o)->pin_of(conn);
			if (handoff_flow_of((*o)->fd(conn), &k, client, sizeof(client)) < 0)
				snprintf(client, sizeof(client), "?");
			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}", "service",
				(*o)->service, "id", (json_int_t)ids[i], "client", client, "from", p->from,
				"by", cause_name(p->cause), "remaining_ms", (json_int_t)left));
		}
		free(ids);
	}
	return arr;
}

json_t *policy_status(struct handoff *h)
{
	json_t *dr = json_array();

	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (draining(h, (int)i))
			json_array_append_new(dr, json_string(h->cfg->peers[i].name));
	if (self_draining(h))
		json_array_append_new(dr, json_string(h->n->cfg.node_name));
	return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:o}", "draining", dr,
		"node_states", "messages", (json_int_t)h->states_msgs, "applied",
		(json_int_t)h->states_applied, "bad", (json_int_t)h->states_bad, "replayed",
		(json_int_t)h->states_replayed, "stale", (json_int_t)h->states_replay.stale,
		"refused_draining", (json_int_t)h->refused_draining,
		"pin_hold_s", (json_int_t)h->cfg->pin_hold_s, "pinned", (json_int_t)h->pinned,
		"pins", pins_json(h));
}
