/*
 * table.c - syncd's side of the local data plane, through the maps lbd
 * pinned under <bpffs>/tandem/<instance>/ (syncd never loads a program).
 *
 * Node ids differ between the two switches (each lbd assigns its own), so
 * records carry a node key: a hash of the node's name, translated back to
 * the local id through the pinned name map.
 */
#include "syncd.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maglev.h"

#define NODE_NAME_LEN 64	/* value size of lbd's lb_node_names map */

static void refresh_names(struct syncd *s)
{
	char name[NODE_NAME_LEN];

	for (uint32_t id = 0; id < LB_MAX_NODES; id++) {
		s->node_keys[id] = 0;
		if (bpf_map_lookup_elem(s->fd_names, &id, name) == 0 && name[0]) {
			name[NODE_NAME_LEN - 1] = '\0';
			s->node_keys[id] = maglev_node_key32(name);
		}
	}
}

static int local_id(struct syncd *s, uint32_t key, uint32_t *id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < LB_MAX_NODES; i++)
			if (s->node_keys[i] == key) {
				*id = i;
				return 0;
			}
		refresh_names(s);	/* a node added since: look again once */
	}
	return -1;
}

static uint32_t key_of(struct syncd *s, uint32_t id)
{
	if (id >= LB_MAX_NODES)
		return 0;
	if (!s->node_keys[id])
		refresh_names(s);
	return s->node_keys[id];
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct syncd *s = ctx;
	const struct lb_event *ev = data;
	struct sync_flow f;

	if (size < sizeof(*ev) || ev->type != LB_EV_FLOW_ADD)
		return 0;
	memset(&f, 0, sizeof(f));
	f.op = SYNC_FLOW_ADD;
	f.key = ev->key;
	f.node_key = key_of(s, ev->node_id);
	f.flags = ev->flags & ~(uint32_t)LB_FLOW_F_SYNCED;
	if (!f.node_key)
		return 0;
	s->st.events++;
	s->last_event_ms = loop_now_ms();
	stream_add_flow(s, &f, loop_now_ns());
	return 0;
}

static void ring_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct syncd *s = io->arg;

	ring_buffer__consume(s->rb);
	stream_flush(s);
}

static int pinned(struct syncd *s, const char *name)
{
	char path[sizeof(s->pin_dir) + 32];

	snprintf(path, sizeof(path), "%s/%s", s->pin_dir, name);
	return bpf_obj_get(path);
}

int table_is_open(const struct syncd *s)
{
	return s->rb != NULL;
}

int table_open(struct syncd *s)
{
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s/tandem/%s", s->cfg.bpffs, s->cfg.instance);
	s->ncpus = libbpf_num_possible_cpus();
	s->fd_flows = pinned(s, LB_PIN_FLOWS);
	s->fd_names = pinned(s, "lb_node_names");
	s->fd_repl_q = pinned(s, LB_PIN_REPL_Q);
	s->fd_verdicts = pinned(s, LB_PIN_VERDICTS);
	s->fd_events = pinned(s, LB_PIN_EVENTS);
	s->fd_pins = pinned(s, LB_PIN_FLOW_PINS);	/* optional: an older lbd has none */
	if (s->fd_flows < 0 || s->fd_names < 0 || s->fd_repl_q < 0 || s->fd_verdicts < 0 ||
	    s->fd_events < 0) {
		table_close(s);
		return -1;	/* lbd has not pinned them yet */
	}
	s->rb = ring_buffer__new(s->fd_events, on_event, s, NULL);
	if (!s->rb) {
		log_warn("%s/%s: ring buffer", s->pin_dir, LB_PIN_EVENTS);
		table_close(s);
		return -1;
	}
	s->ring_io.fd = ring_buffer__epoll_fd(s->rb);
	s->ring_io.cb = ring_ready;
	s->ring_io.arg = s;
	if (loop_add(&s->loop, &s->ring_io, EPOLLIN) < 0) {
		table_close(s);
		return -1;
	}
	refresh_names(s);
	/* events_lost before we started is not ours to repair: the bulk
	 * resync the peer asks for on our start covers it. */
	s->lost_seen = 0;
	table_poll(s);
	s->st.events_lost = 0;
	log_info("data plane maps found in %s", s->pin_dir);
	return 0;
}

void table_close(struct syncd *s)
{
	if (s->rb) {
		loop_del(&s->loop, &s->ring_io);
		ring_buffer__free(s->rb);
		s->rb = NULL;
	}
	int *fds[] = { &s->fd_flows, &s->fd_names, &s->fd_repl_q, &s->fd_verdicts, &s->fd_events,
		       &s->fd_pins };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static uint64_t read_lost(struct syncd *s)
{
	uint64_t per[s->ncpus], sum = 0;
	uint32_t v = LB_V_EVENTS_LOST;

	if (bpf_map_lookup_elem(s->fd_verdicts, &v, per) < 0)
		return s->lost_seen;
	for (int c = 0; c < s->ncpus; c++)
		sum += per[c];
	return sum;
}

void table_poll(struct syncd *s)
{
	struct lb_flow_key k;
	struct lb_flow_val v;
	unsigned n = 0;

	if (!s->rb)
		return;
	/* lbd's re-points: send the current value of each key */
	while (n < 4096 && bpf_map_lookup_and_delete_elem(s->fd_repl_q, NULL, &k) == 0) {
		struct sync_flow f;
		n++;
		memset(&f, 0, sizeof(f));
		f.key = k;
		/* the table entry, else the pin (evicted but pinned), else gone */
		if (bpf_map_lookup_elem(s->fd_flows, &k, &v) < 0 &&
		    (s->fd_pins < 0 || bpf_map_lookup_elem(s->fd_pins, &k, &v) < 0)) {
			f.op = SYNC_FLOW_DEL;
		} else {
			f.op = SYNC_FLOW_ADD;
			f.node_key = key_of(s, v.node_id);
			f.flags = v.flags & ~(uint32_t)LB_FLOW_F_SYNCED;
			f.packets = v.packets;
			f.bytes = v.bytes;
			if (!f.node_key)
				continue;
		}
		s->st.events++;
		stream_add_flow(s, &f, loop_now_ns());
	}
	if (n)
		stream_flush(s);
	/* A change we could not report (ring or queue full): resync the peer. */
	uint64_t lost = read_lost(s);
	if (lost != s->lost_seen) {
		s->st.events_lost += lost - s->lost_seen;
		s->lost_seen = lost;
		for (unsigned i = 0, logged = 0; i < s->npeers; i++) {
			struct sync_peer *p = &s->peers[i];
			if (p->rs_active) {
				/* A restart would never end under a steady loss (a
				 * flood): the running walk reads what is ahead of it
				 * anyway, one more walk after it covers what it
				 * already passed. */
				if (!p->rs_again)
					s->st.resyncs_coalesced++;
				p->rs_again = 1;
				continue;
			}
			if (!logged++)
				log_event(LOG_WARNING, "flow_events_lost",
					  KV_U("lost_total", s->st.events_lost), KV_S("action", "resync"));
			stream_start_resync(p);
		}
	}
}

/*
 * The peer's record for a pinned flow (lb_maps.h, "Pinned flows"): a flow
 * its lbd re-pointed (MIGRATED) is pinned here too, so our data plane keeps
 * it on its node after a takeover even if our LRU table evicts it; UNPIN
 * (the session left its pinned node) and DEL drop our pin.
 */
static void pin_apply(struct syncd *s, const struct sync_flow *f, const struct lb_flow_val *v)
{
	if (s->fd_pins < 0)
		return;
	if (f->op == SYNC_FLOW_DEL || (f->flags & LB_FLOW_F_UNPIN)) {
		if (bpf_map_delete_elem(s->fd_pins, &f->key) == 0)
			s->st.pins_dropped++;
	} else if (v && (v->flags & LB_FLOW_F_MIGRATED)) {
		if (bpf_map_update_elem(s->fd_pins, &f->key, v, BPF_ANY) == 0)
			s->st.pins_set++;
		else
			s->st.pins_full++;
	}
}

/* The table entry for an ADD record: 0, or -1 (node unknown here: counted). */
static int entry_of(struct syncd *s, const struct sync_flow *f, uint64_t now,
		    struct lb_flow_val *v)
{
	uint32_t id;

	if (local_id(s, f->node_key, &id) < 0) {
		s->st.rx_unknown_node++;
		return -1;
	}
	memset(v, 0, sizeof(*v));
	v->node_id = id;
	v->flags = (f->flags & ~(uint32_t)LB_FLOW_F_UNPIN) | LB_FLOW_F_SYNCED;
	/* A pair's backup takes the sync time (same clock as bpf_ktime_get_ns):
	 * after a takeover the new master expires nothing for idle_timeout_s.
	 * A group member's copy is 0, "no packet here yet": it expires only
	 * by the DEL of the member that forwards the session (table_sweep),
	 * and a packet of it here writes a real time (the session moved). */
	v->last_seen_ns = s->group ? 0 : now;
	v->packets = f->packets;
	v->bytes = f->bytes;
	return 0;
}

/* A group member's DEL of a flow this switch forwarded a packet of within
 * idle_timeout_s is not applied: ECMP moved the session here, and its old
 * switch saw it go idle.  1 keep, 0 delete. */
static int group_keeps(const struct syncd *s, const struct lb_flow_key *k, uint64_t now)
{
	uint64_t idle = (uint64_t)s->cfg.sync.idle_timeout_s * 1000000000ull;
	struct lb_flow_val v;

	if (!s->group || !idle || bpf_map_lookup_elem(s->fd_flows, k, &v) < 0)
		return 0;
	return v.last_seen_ns && v.last_seen_ns + idle > now;
}

void table_apply(struct syncd *s, const struct sync_flow *f)
{
	struct lb_flow_val v;

	if (!s->rb)
		return;
	if (f->op == SYNC_FLOW_DEL) {
		if (group_keeps(s, &f->key, loop_now_ns())) {
			s->st.del_kept++;
			return;
		}
		bpf_map_delete_elem(s->fd_flows, &f->key);
		pin_apply(s, f, NULL);
		return;
	}
	if (entry_of(s, f, loop_now_ns(), &v) < 0)
		return;
	if (bpf_map_update_elem(s->fd_flows, &f->key, &v, BPF_ANY) < 0)
		log_warn("flow map update");
	pin_apply(s, f, &v);
}

void table_apply_many(struct syncd *s, const struct sync_flow *f, unsigned n)
{
	struct lb_flow_key keys[64];
	struct lb_flow_val vals[64];
	unsigned nb = 0;
	uint64_t now = loop_now_ns();

	if (!s->rb)
		return;
	for (unsigned i = 0; i <= n; i++) {
		/* flush the pending adds before a delete, when full, and at the end */
		if (nb && (i == n || f[i].op == SYNC_FLOW_DEL || nb == 64)) {
			__u32 count = nb;
			if (bpf_map_update_batch(s->fd_flows, keys, vals, &count, NULL) < 0)
				for (unsigned j = count; j < nb; j++)	/* what the batch did not do */
					bpf_map_update_elem(s->fd_flows, &keys[j], &vals[j], BPF_ANY);
			nb = 0;
		}
		if (i == n)
			break;
		if (f[i].op == SYNC_FLOW_DEL && group_keeps(s, &f[i].key, now)) {
			s->st.del_kept++;
		} else if (f[i].op == SYNC_FLOW_DEL) {
			bpf_map_delete_elem(s->fd_flows, &f[i].key);
			pin_apply(s, &f[i], NULL);
		} else if (entry_of(s, &f[i], now, &vals[nb]) == 0) {
			keys[nb] = f[i].key;
			pin_apply(s, &f[i], &vals[nb]);	/* rare: re-pointed flows only */
			nb++;
		}
	}
}

/*
 * Walk the flow table, then the pinned flows (flows the peer's table may
 * have evicted but its data plane still restores), in batches from the
 * saved cursor.  The batch token of a hash map is a bucket position, so a
 * walk can pause (flow control) and go on later; entries added behind the
 * cursor meanwhile travel as live events on the same stream.
 */
int table_resync_step(struct sync_peer *p, unsigned max)
{
	struct syncd *s = p->s;
	enum { BATCH = 256 };
	struct lb_flow_key keys[BATCH], out;
	struct lb_flow_val vals[BATCH];
	unsigned done = 0;

	if (!s->rb)
		return 1;
	while (done < max) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(p->rs_pins ? s->fd_pins : s->fd_flows,
					       p->rs_have_cursor ? &p->rs_cursor : NULL,
					       &out, keys, vals, &count, NULL);
		int last = err < 0;
		if (err < 0 && errno != ENOENT) {
			log_warn("flow table walk");
			return 1;
		}
		for (__u32 i = 0; i < count; i++) {
			struct sync_flow f = { .op = SYNC_FLOW_ADD, .key = keys[i],
					       .node_key = key_of(s, vals[i].node_id),
					       .flags = vals[i].flags & ~(uint32_t)LB_FLOW_F_SYNCED,
					       .packets = vals[i].packets, .bytes = vals[i].bytes };
			if (!f.node_key)
				continue;
			stream_add_flow_to(p, &f, 0);
			p->rs_count++;
		}
		done += count;
		if (last && (p->rs_pins || s->fd_pins < 0))
			return 1;
		if (last) {		/* the table is done: now the pins */
			p->rs_pins = 1;
			p->rs_have_cursor = 0;
			continue;
		}
		p->rs_cursor = out;
		p->rs_have_cursor = 1;
	}
	return 0;
}

long table_count(struct syncd *s)
{
	struct lb_flow_key k, next, *prev = NULL;
	long n = 0;

	if (!s->rb)
		return -1;
	while (bpf_map_get_next_key(s->fd_flows, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* Whether the sweep deletes this entry now (table_sweep says why). */
static int sweep_expires(const struct syncd *s, const struct lb_flow_key *k,
			 const struct lb_flow_val *v, uint64_t now, uint64_t idle)
{
	if (s->group)
		return v->last_seen_ns && v->last_seen_ns + idle <= now;
	return v->last_seen_ns + idle <= now && control_holds_key(s, k);
}

/*
 * Idle expiry, on the master only (active-active: the flows of the VIPs of
 * the groups we are master of; the peer expires the others, and the
 * synced copies here had no packet to refresh them): a flow without a packet for
 * idle_timeout_s is deleted here and on the peer (a DEL record).  The LRU
 * map would evict it eventually; expiring it keeps the table meaningful and
 * lets the peer drop it too.  The backup never expires by its own clock: its
 * entries' last_seen is when they were synced, not when traffic passed.
 * A scale-out group has no master: every member expires the flows it
 * forwarded (last_seen set by its data plane) and tells the others; a copy
 * (last_seen 0, entry_of) waits for that DEL, which a member that forwarded
 * the session since does not apply (group_keeps).
 * Incremental: at most `max` entries per call, resuming at a cursor.
 */

void table_sweep(struct syncd *s, unsigned max)
{
	enum { BATCH = 256 };
	struct lb_flow_key keys[BATCH], out;
	struct lb_flow_val vals[BATCH];
	uint64_t now = loop_now_ns(), idle = (uint64_t)s->cfg.sync.idle_timeout_s * 1000000000ull;
	unsigned done = 0;

	if (!s->rb || !idle || (!s->group && !s->cfg.vrrp.ngroups && s->role != ROLE_MASTER))
		return;
	while (done < max) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(s->fd_flows, s->sw_have_cursor ? &s->sw_cursor : NULL,
					       &out, keys, vals, &count, NULL);
		for (__u32 i = 0; i < count; i++) {
			if (!sweep_expires(s, &keys[i], &vals[i], now, idle))
				continue;
			if (bpf_map_delete_elem(s->fd_flows, &keys[i]) == 0) {
				struct sync_flow f = { .op = SYNC_FLOW_DEL, .key = keys[i] };
				s->st.expired++;
				stream_add_flow(s, &f, now);
			}
		}
		done += count;
		if (err < 0) {		/* ENOENT: the walk is complete; start over later */
			s->sw_have_cursor = 0;
			break;
		}
		s->sw_cursor = out;
		s->sw_have_cursor = 1;
	}
	stream_flush(s);
}
