/*
 * config_pair.c - the pairing sections of the configuration ("sync",
 * "vrrp" with its active-active groups) and the DNS front end ("dns");
 * called by config_parse (config.c) in that order, after "vips".
 */
#include "config_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paths.h"

/* "group": 2..CFG_SYNC_MAX_MEMBERS distinct addresses of local's family,
 * local among them. */
static int parse_sync_group(struct jconf *p, json_t *g, struct cfg_sync *s)
{
	json_t *a;
	size_t i;

	if (!json_is_array(g) || json_array_size(g) < 2 || json_array_size(g) > CFG_SYNC_MAX_MEMBERS)
		return jconf_perr(p, "\"group\" must be an array of 2 to %d addresses (every member, "
				  "this switch too)", CFG_SYNC_MAX_MEMBERS);
	s->self = CFG_SYNC_MAX_MEMBERS;
	json_array_foreach(g, i, a) {
		const char *t = json_string_value(a);
		if (!t || taddr_parse(t, &s->members[i]) < 0)
			return jconf_perr(p, "\"group\"[%zu] is not an IPv4 or IPv6 address", i);
		if (s->members[i].family != s->local.family)
			return jconf_perr(p, "\"group\"[%zu]: not the address family of \"local\"", i);
		for (size_t j = 0; j < i; j++)
			if (taddr_equal(&s->members[j], &s->members[i]))
				return jconf_perr(p, "\"group\"[%zu] \"%s\" is listed twice", i, t);
		if (taddr_equal(&s->members[i], &s->local))
			s->self = (unsigned)i;
	}
	if (s->self == CFG_SYNC_MAX_MEMBERS)
		return jconf_perr(p, "\"group\" must list \"local\" (this switch) too");
	s->nmembers = (unsigned)json_array_size(g);
	return 0;
}

int parse_sync(struct jconf *p, json_t *o, struct cfg_sync *s)
{
	static const char *const keys[] = { "switch_id", "local", "peer", "group", "port", "key_file",
		"control_socket", "peer_dead_ms", "idle_timeout_s", NULL };
	uint32_t port;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "sync");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0)
		return -1;
	if (!json_object_get(o, "switch_id"))
		return jconf_perr(p, "\"switch_id\" is required");
	if (jconf_get_uint(p, o, "switch_id", &s->switch_id, 0, 1, 0xffffffffu) < 0 ||
	    jconf_get_addr(p, o, "local", &s->local) < 0 ||
	    jconf_get_uint(p, o, "port", &port, 7405, 1, 65535) < 0 ||
	    jconf_get_str(p, o, "key_file", s->key_file, sizeof(s->key_file), NULL) < 0 ||
	    jconf_get_str(p, o, "control_socket", s->control_socket, sizeof(s->control_socket),
		    "/run/tandem/syncd.sock") < 0 ||
	    jconf_get_uint(p, o, "peer_dead_ms", &s->peer_dead_ms, 3000, 100, 600000) < 0 ||
	    jconf_get_uint(p, o, "idle_timeout_s", &s->idle_timeout_s, 3600, 0, 604800) < 0)
		return -1;
	if (!json_object_get(o, "peer") == !json_object_get(o, "group"))
		return jconf_perr(p, "one of \"peer\" (a pair) or \"group\" (a scale-out group) is required");
	if (json_object_get(o, "group")) {
		if (parse_sync_group(p, json_object_get(o, "group"), s) < 0)
			return -1;
		s->port = (uint16_t)port;
		s->enabled = 1;
		return 0;
	}
	if (jconf_get_addr(p, o, "peer", &s->peer) < 0)
		return -1;
	if (s->local.family != s->peer.family)
		return jconf_perr(p, "\"local\" and \"peer\" must be the same address family");
	if (taddr_equal(&s->local, &s->peer))
		return jconf_perr(p, "\"local\" and \"peer\" must differ");
	s->port = (uint16_t)port;
	s->enabled = 1;
	return 0;
}

/* An array of "addr/prefix" strings (VRRP-managed gateway addresses). */
static int parse_gateways(struct jconf *p, json_t *gw, const char *what,
			  char out[CFG_MAX_GW][64], unsigned *n)
{
	json_t *g;
	size_t i;

	if (!gw)
		return 0;
	if (!json_is_array(gw) || json_array_size(gw) > CFG_MAX_GW)
		return jconf_perr(p, "\"%s\" must be an array of at most %d \"addr/prefix\"", what, CFG_MAX_GW);
	json_array_foreach(gw, i, g) {
		char a[64];
		char *sl, *end;
		struct taddr t;
		if (!json_is_string(g) || json_string_length(g) >= sizeof(a))
			return jconf_perr(p, "%s[%zu]: must be \"addr/prefix\"", what, i);
		snprintf(a, sizeof(a), "%s", json_string_value(g));
		sl = strchr(a, '/');
		if (!sl)
			return jconf_perr(p, "%s[%zu] \"%s\": missing /prefix", what, i, a);
		*sl = '\0';
		long pl = strtol(sl + 1, &end, 10);
		if (taddr_parse(a, &t) < 0 || *end || sl[1] == '\0' || pl < 1 ||
		    pl > (t.family == 4 ? 32 : 128))
			return jconf_perr(p, "%s[%zu] \"%s\": not addr/prefix", what, i, json_string_value(g));
		snprintf(out[(*n)++], 64, "%s", json_string_value(g));
	}
	return 0;
}


/* The VIP names of a group's (or the dns or bgp section's) "vips" (config_parts.h). */
int vip_names(struct jconf *p, json_t *arr, const struct config *cfg, uint8_t *idx,
		     unsigned *n)
{
	json_t *v;
	size_t i;

	if (!arr || !json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CFG_MAX_VIPS)
		return jconf_perr(p, "\"vips\" must be a non-empty array of VIP names");
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		unsigned k;
		for (k = 0; name && k < cfg->nvips; k++)
			if (!strcmp(cfg->vips[k].name, name))
				break;
		if (!name || k == cfg->nvips)
			return jconf_perr(p, "vips[%zu]: not the name of one of \"vips\"", i);
		for (unsigned j = 0; j < *n; j++)
			if (idx[j] == k)
				return jconf_perr(p, "vips[%zu]: \"%s\" twice", i, name);
		idx[(*n)++] = (uint8_t)k;
	}
	return 0;
}

/* vrrp.groups[gi]: { "name", "vips", "preferred", "router_id" }. */
static int parse_group(struct jconf *p, json_t *g, size_t gi, struct config *cfg)
{
	static const char *const keys[] = { "name", "vips", "preferred", "router_id", NULL };
	struct cfg_vrrp_group *cg = &cfg->vrrp.groups[gi];
	uint32_t def_id = gi == 0 ? cfg->vrrp.router_id : cfg->vrrp.router_id + 1 + (uint32_t)gi;
	char name[CFG_NAME_MAX + 1];

	snprintf(p->where, sizeof(p->where), "vrrp.groups[%zu]", gi);
	if (!json_is_object(g))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, g, keys) < 0 || jconf_get_name(p, g, "name", name, NULL) < 0)
		return -1;
	if (strlen(name) > CFG_GROUP_NAME_MAX)
		return jconf_perr(p, "\"name\" \"%s\": at most %d characters", name, CFG_GROUP_NAME_MAX);
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	if (!json_object_get(g, "preferred"))
		return jconf_perr(p, "\"preferred\" is required (the sync.switch_id of the switch that holds the group by choice)");
	if (jconf_get_uint(p, g, "preferred", &cg->preferred, 0, 1, 0xffffffffu) < 0 ||
	    jconf_get_uint(p, g, "router_id", &cg->router_id, def_id > 255 ? 0 : def_id, 1, 255) < 0)
		return -1;
	if (!cg->router_id)
		return jconf_perr(p, "no free VRRP id after vrrp.router_id %u: give \"router_id\"",
				  cfg->vrrp.router_id);
	if (cg->router_id == cfg->vrrp.router_id + 1)
		return jconf_perr(p, "\"router_id\" %u is the storage side's (vrrp.router_id + 1)",
				  cg->router_id);
	if (vip_names(p, json_object_get(g, "vips"), cfg, cg->vips, &cg->nvips) < 0)
		return -1;
	for (size_t j = 0; j < gi; j++) {
		if (!strcmp(cfg->vrrp.groups[j].name, cg->name))
			return jconf_perr(p, "duplicate group name \"%s\"", cg->name);
		if (cfg->vrrp.groups[j].router_id == cg->router_id)
			return jconf_perr(p, "\"router_id\" %u is groups[%zu]'s too", cg->router_id, j);
	}
	for (unsigned k = 0; k < cg->nvips; k++) {
		struct cfg_vip *v = &cfg->vips[cg->vips[k]];
		if (v->bgp)
			return jconf_perr(p, "VIP \"%s\" is announced by BGP (bgp.vips), not moved by VRRP",
					  v->name);
		if (v->group >= 0)
			return jconf_perr(p, "VIP \"%s\" is in group \"%s\" already", v->name,
					  cfg->vrrp.groups[v->group].name);
		v->group = (int)gi;
	}
	return 0;
}

/* "groups" (active-active) and "backup_priority"; after the rest of "vrrp". */
static int parse_groups(struct jconf *p, json_t *o, struct config *cfg)
{
	json_t *arr = json_object_get(o, "groups"), *g;
	struct cfg_vrrp *v = &cfg->vrrp;
	size_t i;

	if (jconf_get_uint(p, o, "backup_priority", &v->backup_priority, 50, 1, 253) < 0)
		return -1;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > CFG_MAX_GROUPS)
		return jconf_perr(p, "\"groups\" must be an array of 1..%d groups", CFG_MAX_GROUPS);
	if (v->backup_priority >= v->priority)
		return jconf_perr(p, "\"backup_priority\" (%u) must be below \"priority\" (%u)",
				  v->backup_priority, v->priority);
	json_array_foreach(arr, i, g) {
		if (parse_group(p, g, i, cfg) < 0)
			return -1;
		v->ngroups++;
	}
	snprintf(p->where, sizeof(p->where), "vrrp.groups");
	for (unsigned k = 0; k < cfg->nvips; k++)
		if (cfg->vips[k].group < 0 && !cfg->vips[k].bgp)
			return jconf_perr(p, "VIP \"%s\" is in no group (every VIP not in bgp.vips needs one)",
					  cfg->vips[k].name);
	return 0;
}

int parse_vrrp(struct jconf *p, json_t *o, struct config *cfg)
{
	static const char *const keys[] = { "router_id", "priority", "advert_int_ms", "preempt",
		"storage_gateways", "client_gateways", "unicast_peer", "unicast_src", "notify", "pid_dir",
		"snmp_socket", "backup_priority", "groups", "rt_priority",
		NULL };
	struct cfg_vrrp *v = &cfg->vrrp;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "vrrp");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_uint(p, o, "router_id", &v->router_id, 51, 1, 254) < 0 ||
	    jconf_get_uint(p, o, "priority", &v->priority, 100, 1, 254) < 0 ||
	    jconf_get_uint(p, o, "advert_int_ms", &v->advert_int_ms, 20, 10, 40950) < 0 ||
	    jconf_get_uint(p, o, "rt_priority", &v->rt_priority, 50, 0, 99) < 0 ||
	    jconf_get_bool(p, o, "preempt", &v->preempt, 1) < 0 ||
	    jconf_get_str(p, o, "notify", v->notify, sizeof(v->notify), TANDEM_SBINDIR "/tandem-failover") < 0 ||
	    jconf_get_str(p, o, "pid_dir", v->pid_dir, sizeof(v->pid_dir), "/run/tandem") < 0 ||
	    jconf_get_str(p, o, "snmp_socket", v->snmp_socket, sizeof(v->snmp_socket), "") < 0)
		return -1;
	if (v->advert_int_ms % 10)
		return jconf_perr(p, "\"advert_int_ms\" must be a multiple of 10 (VRRPv3 centiseconds)");
	if (json_object_get(o, "unicast_peer")) {
		if (jconf_get_addr(p, o, "unicast_peer", &v->unicast_peer) < 0 ||
		    jconf_get_addr(p, o, "unicast_src", &v->unicast_src) < 0)
			return -1;
		if (v->unicast_peer.family != v->unicast_src.family)
			return jconf_perr(p, "\"unicast_peer\" and \"unicast_src\" must be the same family");
	} else if (json_object_get(o, "unicast_src")) {
		return jconf_perr(p, "\"unicast_src\" needs \"unicast_peer\"");
	}
	if (parse_gateways(p, json_object_get(o, "storage_gateways"), "storage_gateways",
			   v->gateway, &v->ngw) < 0 ||
	    parse_gateways(p, json_object_get(o, "client_gateways"), "client_gateways",
			   v->client_gw, &v->ncgw) < 0 ||
	    parse_groups(p, o, cfg) < 0)
		return -1;
	v->enabled = 1;
	return 0;
}

/* A host name: dot-separated labels of [A-Za-z0-9-], 1..63 each, not
 * starting or ending with '-', at most 253 in all; one trailing dot is
 * dropped.  1 if s is one. */
static int dns_name_ok(char *s)
{
	size_t n = strlen(s), lab = 0;

	if (n && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0 || n > CFG_DNS_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   (c == '-' && lab > 0)) {
			lab++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* name is zone or below it. */
static int in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	return !strcasecmp(name, zone) || (n > z + 1 && name[n - z - 1] == '.' &&
					  !strcasecmp(name + n - z, zone));
}

/* dns: the names and where updates go. */
static int dns_target(struct jconf *p, json_t *o, struct cfg_dns *d)
{
	const char *dot;
	uint32_t port;

	if (jconf_get_str(p, o, "name", d->name, sizeof(d->name), NULL) < 0)
		return -1;
	if (!dns_name_ok(d->name))
		return jconf_perr(p, "\"name\" \"%s\": not a host name", d->name);
	dot = strchr(d->name, '.');
	if (jconf_get_str(p, o, "zone", d->zone, sizeof(d->zone), dot ? dot + 1 : d->name) < 0)
		return -1;
	if (!dns_name_ok(d->zone))
		return jconf_perr(p, "\"zone\" \"%s\": not a domain name", d->zone);
	if (!in_zone(d->name, d->zone))
		return jconf_perr(p, "\"name\" \"%s\" is not in \"zone\" \"%s\"", d->name, d->zone);
	if (!json_object_get(o, "server"))
		return jconf_perr(p, "\"server\" is required (the primary that takes the updates)");
	if (jconf_get_addr(p, o, "server", &d->server) < 0 ||
	    jconf_get_uint(p, o, "port", &port, 53, 1, 65535) < 0)
		return -1;
	d->port = (uint16_t)port;
	return 0;
}

int parse_dns(struct jconf *p, json_t *o, struct config *cfg)
{
	static const char *const keys[] = { "name", "zone", "server", "port", "ttl", "key_file",
		"nsupdate", "timeout_ms", "retry_ms", "refresh_s", "vips", NULL };
	struct cfg_dns *d = &cfg->dns;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "dns");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 || dns_target(p, o, d) < 0 ||
	    jconf_get_uint(p, o, "ttl", &d->ttl, 5, 0, 86400) < 0 ||
	    jconf_get_str(p, o, "key_file", d->key_file, sizeof(d->key_file), NULL) < 0 ||
	    jconf_get_str(p, o, "nsupdate", d->nsupdate, sizeof(d->nsupdate), "/usr/bin/nsupdate") < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &d->timeout_ms, 3000, 100, 60000) < 0 ||
	    jconf_get_uint(p, o, "retry_ms", &d->retry_ms, 1000, 100, 60000) < 0 ||
	    jconf_get_uint(p, o, "refresh_s", &d->refresh_s, 60, 0, 86400) < 0)
		return -1;
	if (json_object_get(o, "vips")) {
		if (vip_names(p, json_object_get(o, "vips"), cfg, d->vips, &d->nvips) < 0)
			return -1;
	} else {
		for (unsigned k = 0; k < cfg->nvips; k++)
			d->vips[d->nvips++] = (uint8_t)k;
	}
	d->enabled = 1;
	return 0;
}
