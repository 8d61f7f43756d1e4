/*
 * roles.c - the switch's VRRP role, and with vrrp.groups (active-active,
 * doc/failover.md) one role per group: tandem-failover's notify hook says
 * each group's state ({"cmd":"role","group":G,"role":R}).  A switch holds
 * the VIPs of the groups it is master of: only those flows are its to
 * expire (pins.c) and only those VIPs it publishes in DNS (dns.c).  The
 * summary role (l->role, status "role") is "master" while it holds any
 * group, else the state most of the way there (backup, fault, init).
 */
#include "lbd.h"

#include <string.h>

#include "lib/ctl.h"
#include "lib/log.h"
#include "lib/vrrp_state.h"

static const char *const role_names[] = { "init", "fault", "backup", "master" };

static int role_rank(const char *r)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(r, role_names[i]))
			return i;
	return -1;
}

void roles_init(struct lbd *l)
{
	memset(&l->roles, 0, sizeof(l->roles));
	l->roles.peer_ready = -1;
	snprintf(l->role, sizeof(l->role), "%s", "init");
	roles_config(l);
}

void roles_config(struct lbd *l)
{
	struct group_role old[CFG_MAX_GROUPS];

	memcpy(old, l->roles.g, sizeof(old));
	memset(l->roles.g, 0, sizeof(l->roles.g));
	for (unsigned i = 0; i < l->cfg.vrrp.ngroups; i++) {
		struct group_role *g = &l->roles.g[i];
		/* memcpy, not snprintf: both live in *l, and gcc's -Wrestrict
		 * (sanitizer build) cannot tell the two arrays apart. */
		_Static_assert(sizeof(g->name) == sizeof(l->cfg.vrrp.groups[i].name), "group name sizes");
		memcpy(g->name, l->cfg.vrrp.groups[i].name, sizeof(g->name));
		snprintf(g->role, sizeof(g->role), "%s", "init");
		g->since_ms = loop_now_ms();
		for (int j = 0; j < CFG_MAX_GROUPS; j++)
			if (old[j].name[0] && !strcmp(old[j].name, g->name))
				*g = old[j];
	}
}

/* The summary role from the groups': the highest rank any group has. */
static void summary(struct lbd *l)
{
	int best = 0;

	for (unsigned i = 0; i < l->cfg.vrrp.ngroups; i++) {
		int r = role_rank(l->roles.g[i].role);
		if (r > best)
			best = r;
	}
	if (strcmp(l->role, role_names[best])) {
		log_event(LOG_NOTICE, "role_change", KV_S("role", role_names[best]),
			  KV_S("from", l->role));
		l->role_changes++;
	}
	snprintf(l->role, sizeof(l->role), "%s", role_names[best]);
}

static void set_group(struct lbd *l, int gi, const char *role)
{
	struct group_role *g = &l->roles.g[gi];

	if (strcmp(g->role, role)) {
		log_event(LOG_NOTICE, "role_change", KV_S("role", role), KV_S("from", g->role),
			  KV_S("group", g->name));
		g->changes++;
		g->since_ms = loop_now_ms();
	}
	snprintf(g->role, sizeof(g->role), "%s", role);
}

json_t *roles_cmd(struct lbd *l, const json_t *req)
{
	const char *role = json_string_value(json_object_get(req, "role"));
	json_t *grp = json_object_get(req, "group"), *pr = json_object_get(req, "peer_ready");
	int gi = -1;

	if (!role || role_rank(role) < 0)
		return ctl_error("\"role\" must be init, backup, master or fault");
	if (grp && (!json_is_string(grp) ||
		    (gi = config_group_index(&l->cfg, json_string_value(grp))) < 0))
		return ctl_error("\"group\": not one of vrrp.groups");
	if (pr && !json_is_boolean(pr))
		return ctl_error("\"peer_ready\" must be true or false");
	/* the notify hook's word ("kernel_check"; an operator's is applied as
	 * said): dropped when keepalived has moved on since (vrrp_state.h) */
	if (json_is_true(json_object_get(req, "kernel_check")) && l->cfg.vrrp.enabled &&
	    vrrp_role_overtaken(&l->cfg, gi, role)) {
		l->roles.overtaken++;
		log_event(LOG_WARNING, "role_overtaken", KV_S("role", role),
			  KV_S("group", gi >= 0 ? l->cfg.vrrp.groups[gi].name : "all"),
			  KV_S("kept", gi >= 0 ? l->roles.g[gi].role : l->role));
		return json_pack("{s:b, s:b}", "ok", 1, "overtaken", 1);
	}
	if (pr)
		l->roles.peer_ready = json_is_true(pr);
	if (!l->cfg.vrrp.ngroups) {
		if (strcmp(role, l->role)) {
			log_event(LOG_NOTICE, "role_change", KV_S("role", role), KV_S("from", l->role));
			l->role_changes++;
		}
		snprintf(l->role, sizeof(l->role), "%s", role);
		return ctl_ok();
	}
	/* without "group": every group (an operator's or an old hook's word) */
	for (unsigned i = 0; i < l->cfg.vrrp.ngroups; i++)
		if (gi < 0 || (int)i == gi)
			set_group(l, (int)i, role);
	summary(l);
	return ctl_ok();
}

int roles_holds_vip(const struct lbd *l, int vip)
{
	if (!l->cfg.vrrp.enabled)
		return 1;
	if (!l->cfg.vrrp.ngroups || vip < 0 || vip >= (int)l->cfg.nvips || l->cfg.vips[vip].group < 0)
		return !strcmp(l->role, "master");
	return !strcmp(l->roles.g[l->cfg.vips[vip].group].role, "master");
}

int roles_holds_key(const struct lbd *l, const struct lb_flow_key *k)
{
	struct taddr dst = { .family = k->family };

	memcpy(dst.a, k->daddr, k->family == 4 ? 4 : 16);
	return roles_holds_vip(l, config_vip_by_addr(&l->cfg, &dst));
}

json_t *roles_json(const struct lbd *l)
{
	const struct cfg_vrrp *v = &l->cfg.vrrp;
	json_t *arr;
	uint64_t now = loop_now_ms();

	if (!v->ngroups)
		return NULL;
	arr = json_array();
	for (unsigned i = 0; i < v->ngroups; i++) {
		const struct group_role *g = &l->roles.g[i];
		json_t *vips = json_array();
		for (unsigned k = 0; k < v->groups[i].nvips; k++)
			json_array_append_new(vips, json_string(l->cfg.vips[v->groups[i].vips[k]].name));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:b, s:i, s:o, s:I, s:I}",
			"name", g->name, "role", g->role,
			"preferred", (json_int_t)v->groups[i].preferred,
			"preferred_here", v->groups[i].preferred == l->cfg.sync.switch_id,
			"router_id", (int)v->groups[i].router_id, "vips", vips,
			"changes", (json_int_t)g->changes, "since_ms", (json_int_t)(now - g->since_ms)));
	}
	return arr;
}
