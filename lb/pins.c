/*
 * pins.c - the flow table under pressure: flows lbd re-pointed (handoff,
 * migrate, drain) kept safe from eviction, and the insert budget watched.
 *
 * Pins: flows lbd re-pointed kept safe from
 * the LRU flow table's eviction: each is also written to lb_flow_pins, a
 * plain hash the data plane consults on a table miss (lb_maps.h, "Pinned
 * flows").  Without it a flood or plain table pressure would evict the
 * entry, and the session's next packet would re-hash to the node it was
 * moved away from, which answers with a reset.
 *
 * Pins end with their session: the data plane drops a pin on a SYN of its
 * 5-tuple or when its node goes down; the sweep here drops pins idle for
 * the idle timeout (sync.idle_timeout_s, else PIN_IDLE_S), on every switch
 * but a pair's backup (its entries' clocks are when they were synced, not
 * when traffic passed: the master's deletes reach it through syncd); in
 * active-active, the pins of the groups it holds (roles.c).
 *
 * Pressure: the data plane forwards mid-stream and UDP misses over its
 * insert budget without an entry (FWD_UNTRACKED, lb.bpf.c); once a second
 * the count is sampled here, so status can say whether it is happening now.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

#include "lib/log.h"

#define PIN_IDLE_S 3600		/* without a sync idle timeout */
#define PIN_SWEEP_MS 1000	/* a sweep step this often ... */
#define PIN_SWEEP_MAX 4096	/* ... looking at this many pins at most */
#define PRESSURE_HOLD_MS 10000	/* "throttling" this long after the last untracked packet */

int pins_write(struct lbd *l, const struct lb_flow_key *k, uint32_t node_id, uint32_t flags)
{
	struct lb_flow_val v = { .node_id = node_id, .last_seen_ns = loop_now_ns(),
				 .flags = (flags & (LB_FLOW_F_SYN | LB_FLOW_F_MIDSTREAM)) |
					  LB_FLOW_F_MIGRATED };
	uint64_t now = loop_now_ms();

	if (bpf_map_update_elem(l->dp.fd_pins, k, &v, BPF_ANY) == 0)
		return 0;
	l->pins.full++;
	if (now - l->pins.full_logged_ms >= 60000) {
		l->pins.full_logged_ms = now;
		log_event(LOG_WARNING, "flow_pins_full", KV_U("pin_table_size", l->dp.pin_table_size),
			  KV_U("refused", l->pins.full), KV_S("reason", strerror(errno)));
	}
	return -1;
}

int pins_get(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v)
{
	return bpf_map_lookup_elem(l->dp.fd_pins, k, v);
}

struct sweep {
	uint64_t now_ns, idle_ns;
	unsigned seen;
};

/* One pin (a flow_fn): dropped with its table entry when both are idle. */
static int sweep_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *pin, void *arg)
{
	struct sweep *sw = arg;
	struct lb_flow_val v;
	uint64_t last = pin->last_seen_ns;

	/* active-active: the pins of the groups we hold; the peer sweeps the others */
	if (l->cfg.vrrp.ngroups && !roles_holds_key(l, k))
		return ++sw->seen >= PIN_SWEEP_MAX;
	if (bpf_map_lookup_elem(l->dp.fd_flows, k, &v) == 0 && v.last_seen_ns > last)
		last = v.last_seen_ns;
	if (last + sw->idle_ns <= sw->now_ns && bpf_map_delete_elem(l->dp.fd_pins, k) == 0) {
		bpf_map_delete_elem(l->dp.fd_flows, k);
		l->pins.expired++;
		/* syncd sends the peer a DEL (neither map holds it now) */
		if (bpf_map_update_elem(l->dp.fd_repl_q, NULL, k, BPF_ANY) < 0)
			dp_count_lost(&l->dp);
	}
	return ++sw->seen >= PIN_SWEEP_MAX;
}

/* The untracked count, summed over CPUs; the last value on error. */
static uint64_t untracked(struct lbd *l)
{
	__u64 per[l->dp.ncpus], sum = 0;
	__u32 v = LB_V_FWD_UNTRACKED;

	if (bpf_map_lookup_elem(l->dp.fd_verdicts, &v, per) < 0)
		return l->pins.untracked;
	for (int c = 0; c < l->dp.ncpus; c++)
		sum += per[c];
	return sum;
}

/* Whether the data plane forwarded untracked packets lately (its budget of
 * new entries was spent): the flow_pressure state "throttling". */
static int throttling(const struct lbd *l, uint64_t now)
{
	return l->pins.throttled_ms && now - l->pins.throttled_ms < PRESSURE_HOLD_MS;
}

static void pressure_sample(struct lbd *l, uint64_t now)
{
	uint64_t u = untracked(l);

	if (l->pins.sampled_ms && u != l->pins.untracked)
		l->pins.throttled_ms = now;
	if (l->pins.sampled_ms && now > l->pins.sampled_ms)
		l->pins.untracked_per_s = (u - l->pins.untracked) * 1000 / (now - l->pins.sampled_ms);
	l->pins.untracked = u;
	l->pins.sampled_ms = now;
}

/* The flow_pressure event when the state changed since the last tick. */
static void pressure_log(struct lbd *l, uint64_t now)
{
	int busy = throttling(l, now);

	if (busy == l->pins.throttle_logged)
		return;
	l->pins.throttle_logged = busy;
	log_event(busy ? LOG_WARNING : LOG_NOTICE, "flow_pressure",
		  KV_S("state", busy ? "throttling" : "ok"),
		  KV_U("untracked_per_s", l->pins.untracked_per_s),
		  KV_U("insert_budget_per_s", (uint64_t)l->dp.insert_rate * l->dp.ncpus));
}

json_t *pins_pressure(struct lbd *l)
{
	uint64_t now = loop_now_ms(), v[LB_V_MAX] = { 0 };
	int busy;

	if (now - l->pins.sampled_ms >= 100)	/* a count moved since the last tick counts too */
		pressure_sample(l, now);
	busy = throttling(l, now);
	dp_verdicts(&l->dp, v);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"state", busy ? "throttling" : "ok",
		"insert_budget_per_s", (json_int_t)l->dp.insert_rate * l->dp.ncpus,
		"untracked", (json_int_t)v[LB_V_FWD_UNTRACKED],
		"untracked_per_s", (json_int_t)l->pins.untracked_per_s,
		"pinned_restored", (json_int_t)v[LB_V_FWD_PINNED],
		"pins", (json_int_t)pins_count(l), "pin_table_size", (json_int_t)l->dp.pin_table_size,
		"pins_full", (json_int_t)l->pins.full, "pins_expired", (json_int_t)l->pins.expired);
}

void pins_tick(struct lbd *l)
{
	uint32_t idle_s = l->cfg.sync.enabled && l->cfg.sync.idle_timeout_s ?
			  l->cfg.sync.idle_timeout_s : PIN_IDLE_S;
	struct sweep sw = { .now_ns = loop_now_ns(), .idle_ns = (uint64_t)idle_s * 1000000000ull };
	uint64_t now = loop_now_ms();

	if (now - l->pins.sweep_ms < PIN_SWEEP_MS)
		return;
	l->pins.sweep_ms = now;
	pressure_sample(l, now);
	pressure_log(l, now);
	if (!l->cfg.vrrp.ngroups && !strcmp(l->role, "backup"))
		return;
	if (flows_walk_map(l->dp.fd_pins, sweep_fn, l, &sw, &l->pins.pos) < 0 || !l->pins.pos.more)
		memset(&l->pins.pos, 0, sizeof(l->pins.pos));	/* from the start next time */
}

static int count_fn(struct lbd *l, const struct lb_flow_key *k, struct lb_flow_val *v, void *arg)
{
	(*(long *)arg)++;
	return 0;
}

long pins_count(struct lbd *l)
{
	long n = 0;

	return flows_walk_map(l->dp.fd_pins, count_fn, l, &n, NULL) < 0 ? -1 : n;
}
