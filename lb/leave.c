/*
 * leave.c - a switch leaves its BGP group gracefully (control "leave",
 * tandemctl leave): withdraw every VIP, wait until the router sends this
 * switch nothing more, then stop lbd.
 *
 * "The router has removed the route" is judged here by what reaches the
 * data plane, the one thing this switch can observe of the router's
 * forwarding: BIRD confirmed every VIP withdrawn (its export to the router
 * is gone), and no packet was forwarded to a node (the FWD_* verdicts) for
 * quiet_ms since.  BFD, BGP and ARP keep arriving (PASS_* verdicts) and do
 * not count.  Then lbd stops as on SIGTERM (the data plane stays attached;
 * on an appliance BIRD follows lbd down, BindsTo=).  The request's reply is
 * deferred until then; if traffic still arrives after timeout_ms, the
 * reply is an error and lbd keeps running, withdrawn (tandemctl announce
 * undoes it).  Other switches are not touched: the router moves this
 * switch's flows to them and they pick them up by their replicated
 * entries or the shared Maglev tables.
 */
#include "lbd.h"

#include "lib/ctl.h"
#include "lib/log.h"

#define LEAVE_QUIET_MS 2000
#define LEAVE_TIMEOUT_MS 60000

static uint64_t fwd_packets(struct lbd *l)
{
	uint64_t v[LB_V_MAX], n = 0;
	static const int fwd[] = { LB_V_FWD_HIT, LB_V_FWD_NEW, LB_V_FWD_MIDSTREAM, LB_V_FWD_REHASH_SYN,
				   LB_V_FWD_REHASH_DOWN, LB_V_FWD_UNTRACKED, LB_V_FWD_PINNED };

	if (dp_verdicts(&l->dp, v) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		n += v[fwd[i]];
	return n;
}

static int all_withdrawn(const struct lbd *l)
{
	for (unsigned i = 0; i < l->cfg.bgp.nvips; i++)
		if (l->bgp.vip[i].told != 0)
			return 0;
	return 1;
}

/* {"cmd":"leave","quiet_ms":N?,"timeout_ms":N?}: answered when lbd stops. */
json_t *leave_cmd(struct lbd *l, const json_t *req)
{
	struct leave *lv = &l->leave;
	const json_t *q = json_object_get(req, "quiet_ms"), *t = json_object_get(req, "timeout_ms");

	if (!l->cfg.bgp.enabled)
		return ctl_error("no \"bgp\" section in the configuration: nothing to leave");
	if (lv->d)
		return ctl_error("already leaving");
	if ((q && (!json_is_integer(q) || json_integer_value(q) < 100 || json_integer_value(q) > 600000)) ||
	    (t && (!json_is_integer(t) || json_integer_value(t) < 1000 || json_integer_value(t) > 3600000)))
		return ctl_error("\"quiet_ms\" must be in [100, 600000], \"timeout_ms\" in [1000, 3600000]");
	lv->quiet_ms = q ? (uint64_t)json_integer_value(q) : LEAVE_QUIET_MS;
	lv->started_ms = lv->quiet_since_ms = loop_now_ms();
	lv->deadline_ms = lv->started_ms + (t ? (uint64_t)json_integer_value(t) : LEAVE_TIMEOUT_MS);
	lv->first_fwd = lv->last_fwd = fwd_packets(l);
	lv->withdrawn_ms = 0;
	log_event(LOG_NOTICE, "bgp_leave", KV_S("op", "start"), KV_U("quiet_ms", lv->quiet_ms));
	l->bgp.held = 1;
	bgp_tick(l);
	lv->d = ctl_server_defer(&l->ctl);	/* dispatch is running: cannot fail */
	return NULL;
}

static json_t *leave_reply(struct lbd *l, uint64_t now)
{
	struct leave *lv = &l->leave;
	json_t *r = ctl_ok();

	json_object_set_new(r, "waited_ms", json_integer((json_int_t)(now - lv->started_ms)));
	json_object_set_new(r, "withdrawn_after_ms",
			    json_integer((json_int_t)(lv->withdrawn_ms - lv->started_ms)));
	json_object_set_new(r, "last_packet_after_ms",
			    json_integer((json_int_t)(lv->quiet_since_ms - lv->started_ms)));
	json_object_set_new(r, "quiet_ms", json_integer((json_int_t)lv->quiet_ms));
	json_object_set_new(r, "packets_while_leaving",
			    json_integer((json_int_t)(lv->last_fwd - lv->first_fwd)));
	return r;
}

/* Every tick while leaving: done, late, or go on waiting. */
void leave_tick(struct lbd *l)
{
	struct leave *lv = &l->leave;
	uint64_t now = loop_now_ms(), fwd;

	if (!lv->d)
		return;
	fwd = fwd_packets(l);
	if (fwd != lv->last_fwd) {
		lv->last_fwd = fwd;
		lv->quiet_since_ms = now;
	}
	if (!lv->withdrawn_ms && all_withdrawn(l))
		lv->withdrawn_ms = now;
	/* quiet for quiet_ms, counted from the confirmation at the earliest */
	if (lv->withdrawn_ms &&
	    now - (lv->quiet_since_ms > lv->withdrawn_ms ? lv->quiet_since_ms : lv->withdrawn_ms) >=
		    lv->quiet_ms) {
		log_event(LOG_NOTICE, "bgp_leave", KV_S("op", "stop"),
			  KV_U("waited_ms", now - lv->started_ms));
		ctl_deferred_reply(lv->d, leave_reply(l, now));
		lv->d = NULL;
		loop_stop(&l->loop);
		return;
	}
	if (now >= lv->deadline_ms) {
		log_event(LOG_WARNING, "bgp_leave", KV_S("op", "timeout"),
			  KV_S("reason", lv->withdrawn_ms ? "traffic still arrives" : "BIRD did not confirm"));
		ctl_deferred_reply(lv->d, ctl_error("%s after %llu ms: lbd keeps running, withdrawn "
			"(tandemctl announce undoes it)",
			lv->withdrawn_ms ? "packets still arrive for the VIPs" : "BIRD did not confirm the withdrawal",
			(unsigned long long)(now - lv->started_ms)));
		lv->d = NULL;
	}
}
