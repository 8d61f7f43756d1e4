/*
 * nfs_policy_config.c - the NFS export's "client_groups" (doc/directory.md
 * "Export policy").  Pure: JSON in, struct out; fuzzed through
 * tests/fuzz/fuzz_nfs_policy.c.
 *
 * "client_groups": [
 *     { "netgroup": "nfs-rw", "writable": true, "root_squash": true },
 *     { "host": "backup1.example", "writable": false, "root_squash": false },
 *     { "network": "10.77.1.0/24", "writable": false,
 *       "anonuid": 65534, "anongid": 65534 } ],
 * "policy_refresh_s": 2, "policy_max_members": 4096,
 * "policy_providers": [ "10.77.2.2:389", "10.77.2.3:389" ], "policy_provider_lost_s": 10
 *
 * Each group names exactly one of netgroup, host, network.  Its options
 * default to the section's own ("writable", "root_squash", "anonuid",
 * "anongid"); a group's "writable" cannot open what the section keeps
 * read-only.  The first group a client matches decides; a client matching
 * none is refused (MOUNT and every NFS call), even inside "clients", which
 * stays the gate at accept.
 */
#include "storage/nasd.h"

#include <string.h>

#include "lib/jsonconf.h"

/* Netgroup and host names as NSS takes them: printable, no blanks, no
 * parentheses or commas (the netgroup triple's syntax). */
static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr("(),\\\"", *s))
			return 0;
	return 1;
}

/* The one "netgroup" / "host" / "network" member of group o into g. */
static int parse_who(struct jconf *p, json_t *o, struct nasd_nfs_client_group *g)
{
	static const char *const kinds[] = { "network", "netgroup", "host" };
	json_t *v = NULL;
	int n = 0;

	for (int k = 0; k < 3; k++)
		if (json_object_get(o, kinds[k])) {
			v = json_object_get(o, kinds[k]);
			g->kind = k;
			n++;
		}
	if (n != 1)
		return jconf_perr(p, "exactly one of \"netgroup\", \"host\", \"network\"");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(g->name))
		return jconf_perr(p, "\"%s\" must be a string of at most %d characters",
				  kinds[g->kind], NASD_NFS_GROUP_NAME - 1);
	if (g->kind == NASD_CG_NETWORK) {
		if (nasd_cidr_parse(json_string_value(v), &g->net) < 0)
			return jconf_perr(p, "\"network\": want \"addr/len\"");
		return 0;
	}
	if (!name_ok(json_string_value(v)))
		return jconf_perr(p, "\"%s\": a name without blanks, '(', ')', ',', '\\\\' or '\"'",
				  kinds[g->kind]);
	strcpy(g->name, json_string_value(v));
	return 0;
}

static int parse_group(struct jconf *p, json_t *o, const struct nasd_nfs_config *c,
		       struct nasd_nfs_client_group *g)
{
	static const char *const keys[] = { "netgroup", "host", "network", "writable",
					    "root_squash", "anonuid", "anongid", NULL };

	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	memset(g, 0, sizeof(*g));
	if (jconf_check_keys(p, o, keys) < 0 || parse_who(p, o, g) < 0 ||
	    jconf_get_bool(p, o, "writable", &g->writable, c->writable) < 0 ||
	    jconf_get_bool(p, o, "root_squash", &g->root_squash, c->root_squash) < 0 ||
	    jconf_get_uint(p, o, "anonuid", &g->anonuid, c->anonuid, 0, 0xfffffffeu) < 0 ||
	    jconf_get_uint(p, o, "anongid", &g->anongid, c->anongid, 0, 0xfffffffeu) < 0)
		return -1;
	g->writable = g->writable && c->writable;
	return 0;
}

/* "policy_providers": [ "addr:port", ... ] (at most 4), and
 * "policy_provider_lost_s" (10; 1..3600). */
static int parse_providers(struct jconf *p, json_t *o, struct nasd_nfs_config *c)
{
	json_t *arr = json_object_get(o, "policy_providers"), *v;
	uint32_t lost_s;
	size_t i;

	c->ndir_prov = 0;
	if (jconf_get_uint(p, o, "policy_provider_lost_s", &lost_s, 10, 1, 3600) < 0)
		return -1;
	c->dir_lost_ms = lost_s * 1000;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > NASD_NFS_MAX_PROVIDERS)
		return jconf_perr(p, "\"policy_providers\" must be an array of at most %d \"addr:port\"",
				  NASD_NFS_MAX_PROVIDERS);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    taddr_parse_endpoint(json_string_value(v), &c->dir_prov[i], &c->dir_prov_port[i]) < 0)
			return jconf_perr(p, "\"policy_providers\"[%zu]: want \"addr:port\"", i);
		c->ndir_prov++;
	}
	return 0;
}

int nasd_nfs_policy_parse(struct jconf *p, json_t *o, struct nasd_nfs_config *c)
{
	json_t *arr = json_object_get(o, "client_groups"), *v;
	uint32_t refresh_s;
	size_t i;

	if (jconf_get_uint(p, o, "policy_refresh_s", &refresh_s, 2, 1, 3600) < 0 ||
	    jconf_get_uint(p, o, "policy_max_members", &c->policy_max_members, 4096, 1,
			   NASD_NFS_POLICY_MAX_ADDRS) < 0)
		return -1;
	c->policy_refresh_ms = refresh_s * 1000;
	if (parse_providers(p, o, c) < 0)
		return -1;
	c->ngroups = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > NASD_NFS_MAX_GROUPS)
		return jconf_perr(p, "\"client_groups\" must be an array of 1..%d groups",
				  NASD_NFS_MAX_GROUPS);
	json_array_foreach(arr, i, v) {
		snprintf(p->where, sizeof(p->where), "nfs.client_groups[%zu]", i);
		if (parse_group(p, v, c, &c->groups[i]) < 0)
			return -1;
		c->ngroups++;
	}
	snprintf(p->where, sizeof(p->where), "nfs");
	return 0;
}
