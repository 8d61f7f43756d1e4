/*
 * config_bgp.c - the "bgp" section (doc/config.md, doc/scaleout.md): BIRD 2
 * on this switch announces VIPs to an ECMP router; called by config_parse
 * (config.c) after "vips" and before "vrrp", which must leave these VIPs
 * alone (a VIP is announced by BGP or moved by VRRP, never both).
 */
#include "config_parts.h"

#include <stdio.h>
#include <string.h>

/* bgp.neighbors[i]: { "address", "as" }. */
static int parse_neighbors(struct jconf *p, json_t *arr, struct cfg_bgp *b)
{
	static const char *const keys[] = { "address", "as", NULL };
	json_t *o;
	size_t i;

	if (!arr || !json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CFG_BGP_MAX_NEIGHBORS)
		return jconf_perr(p, "\"neighbors\" must be an array of 1..%d { \"address\", \"as\" }",
				  CFG_BGP_MAX_NEIGHBORS);
	json_array_foreach(arr, i, o) {
		snprintf(p->where, sizeof(p->where), "bgp.neighbors[%zu]", i);
		if (!json_is_object(o))
			return jconf_perr(p, "must be an object");
		if (!json_object_get(o, "as"))
			return jconf_perr(p, "\"as\" is required (the router's AS number)");
		if (jconf_check_keys(p, o, keys) < 0 ||
		    jconf_get_addr(p, o, "address", &b->neighbors[i].addr) < 0 ||
		    jconf_get_uint(p, o, "as", &b->neighbors[i].as, 0, 1, 0xffffffffu) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (taddr_equal(&b->neighbors[j].addr, &b->neighbors[i].addr))
				return jconf_perr(p, "\"address\" is neighbors[%zu]'s too", j);
		b->nneighbors++;
	}
	snprintf(p->where, sizeof(p->where), "bgp");
	return 0;
}

/* "bfd": { "interval_ms", "multiplier" }, or false (no BFD). */
static int parse_bfd(struct jconf *p, json_t *o, struct cfg_bgp *b)
{
	static const char *const keys[] = { "interval_ms", "multiplier", NULL };

	b->bfd_interval_ms = 100;
	b->bfd_multiplier = 3;
	if (!o)
		return 0;
	if (json_is_false(o)) {
		b->bfd_interval_ms = 0;
		return 0;
	}
	snprintf(p->where, sizeof(p->where), "bgp.bfd");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object or false");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_uint(p, o, "interval_ms", &b->bfd_interval_ms, 100, 10, 10000) < 0 ||
	    jconf_get_uint(p, o, "multiplier", &b->bfd_multiplier, 3, 1, 255) < 0)
		return -1;
	snprintf(p->where, sizeof(p->where), "bgp");
	return 0;
}

/* Every announced VIP needs a neighbor of its family (one session per
 * neighbor carries the routes of its own family only). */
static int families_covered(struct jconf *p, const struct config *cfg)
{
	const struct cfg_bgp *b = &cfg->bgp;

	for (unsigned k = 0; k < b->nvips; k++) {
		const struct cfg_vip *v = &cfg->vips[b->vips[k]];
		unsigned i;
		for (i = 0; i < b->nneighbors; i++)
			if (b->neighbors[i].addr.family == v->addr.family)
				break;
		if (i == b->nneighbors)
			return jconf_perr(p, "VIP \"%s\" is IPv%d and no neighbor is: give one, or leave it out of \"vips\"",
					  v->name, v->addr.family);
	}
	return 0;
}

int parse_bgp(struct jconf *p, json_t *o, struct config *cfg)
{
	static const char *const keys[] = { "local_as", "router_id", "neighbors", "hold_s", "bfd",
		"birdc", "socket", "timeout_ms", "refresh_ms", "vips", NULL };
	struct cfg_bgp *b = &cfg->bgp;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "bgp");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0)
		return -1;
	if (!json_object_get(o, "local_as") || !json_object_get(o, "router_id"))
		return jconf_perr(p, "\"local_as\" and \"router_id\" are required");
	if (jconf_get_uint(p, o, "local_as", &b->local_as, 0, 1, 0xffffffffu) < 0 ||
	    jconf_get_addr(p, o, "router_id", &b->router_id) < 0 ||
	    jconf_get_uint(p, o, "hold_s", &b->hold_s, 9, 3, 65535) < 0 ||
	    jconf_get_str(p, o, "birdc", b->birdc, sizeof(b->birdc), "/usr/sbin/birdc") < 0 ||
	    jconf_get_str(p, o, "socket", b->socket, sizeof(b->socket), "/run/bird/bird.ctl") < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &b->timeout_ms, 2000, 100, 60000) < 0 ||
	    jconf_get_uint(p, o, "refresh_ms", &b->refresh_ms, 2000, 100, 600000) < 0)
		return -1;
	if (b->router_id.family != 4)
		return jconf_perr(p, "\"router_id\" must be an IPv4 address (BGP identifiers are 32 bits)");
	if (parse_neighbors(p, json_object_get(o, "neighbors"), b) < 0 ||
	    parse_bfd(p, json_object_get(o, "bfd"), b) < 0)
		return -1;
	if (json_object_get(o, "vips")) {
		if (vip_names(p, json_object_get(o, "vips"), cfg, b->vips, &b->nvips) < 0)
			return -1;
	} else {
		for (unsigned k = 0; k < cfg->nvips; k++)
			b->vips[b->nvips++] = (uint8_t)k;
	}
	if (families_covered(p, cfg) < 0)
		return -1;
	for (unsigned k = 0; k < b->nvips; k++)
		cfg->vips[b->vips[k]].bgp = 1;
	b->enabled = 1;
	return 0;
}
