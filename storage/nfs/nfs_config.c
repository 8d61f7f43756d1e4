/*
 * nfs_config.c - the "nfs" section of tandem-nasd's configuration
 * (doc/nasd.md "NFS").  Pure: JSON in, struct out.
 *
 * "nfs": { "listen": ["10.77.1.100:2049"], "portmap": ["10.77.1.100:111"],
 *          "export": "/export", "path": "/srv/nfs", "export_id": 1,
 *          "clients": ["10.77.1.0/24"], "fh_key_file": "/etc/tandem/fh.key",
 *          "node_id": 1, "writable": true, "root_squash": true,
 *          "anonuid": 65534, "anongid": 65534, "max_io": 1048576,
 *          "idle_timeout_s": 300, "max_conns_per_client": 32,
 *          "manage_gids": false, "gids_cache_s": 30, "nlm_grace_s": 45 }
 */
#include "storage/nasd.h"

#include <string.h>

#include "lib/jsonconf.h"

static int get_eps(struct jconf *p, json_t *o, const char *key, struct nasd_listen *out,
		   unsigned *n, int required)
{
	json_t *arr = json_object_get(o, key), *v;
	size_t i;

	if (!arr && !required)
		return 0;
	if (!json_is_array(arr) || (required && json_array_size(arr) == 0) ||
	    json_array_size(arr) > NASD_MAX_LISTEN)
		return jconf_perr(p, "\"%s\" must be an array of 1..%d \"addr:port\"", key,
				  NASD_MAX_LISTEN);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    taddr_parse_endpoint(json_string_value(v), &out[*n].addr, &out[*n].port) < 0 ||
		    !out[*n].port)
			return jconf_perr(p, "\"%s\"[%zu]: want \"addr:port\" or \"[v6addr]:port\"", key, i);
		(*n)++;
	}
	return 0;
}

/* "namespace"."peers": the other nodes of a home, {node_id, address}. */
static int parse_peers(struct jconf *p, json_t *arr, struct nasd_nfs_config *c)
{
	static const char *const pkeys[] = { "node_id", "address", NULL };
	json_t *v, *d;
	size_t i;
	uint32_t id;

	if (!json_is_array(arr) || json_array_size(arr) > 16)
		return jconf_perr(p, "\"peers\" must be an array of at most 16 {node_id, address}");
	json_array_foreach(arr, i, v) {
		snprintf(p->where, sizeof(p->where), "nfs.namespace.peers[%zu]", i);
		d = json_object_get(v, "address");
		if (!json_is_object(v) || jconf_check_keys(p, v, pkeys) < 0 ||
		    jconf_get_uint(p, v, "node_id", &id, 0, 1, 255) < 0)
			return json_is_object(v) ? -1 : jconf_perr(p, "must be an object");
		if (id == c->node_id)
			return jconf_perr(p, "\"node_id\" %u is this node", id);
		for (unsigned j = 0; j < c->npeers; j++)
			if (c->peers[j].node_id == id)
				return jconf_perr(p, "node %u twice", id);
		if (!json_is_string(d) || taddr_parse_endpoint(json_string_value(d),
				&c->peers[c->npeers].addr, &c->peers[c->npeers].port) < 0 ||
		    !c->peers[c->npeers].port)
			return jconf_perr(p, "\"address\": want \"addr:port\"");
		c->peers[c->npeers++].node_id = (uint8_t)id;
	}
	return 0;
}

/* "namespace"."homes": the top-level directories {dir, node_id}; each home
 * is this node or a peer (parsed first). */
static int parse_homes(struct jconf *p, json_t *arr, struct nasd_nfs_config *c)
{
	static const char *const hkeys[] = { "dir", "node_id", NULL };
	json_t *v, *d;
	size_t i;
	uint32_t id;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 64)
		return jconf_perr(p, "\"homes\" must be an array of 1..64 {dir, node_id}");
	json_array_foreach(arr, i, v) {
		snprintf(p->where, sizeof(p->where), "nfs.namespace.homes[%zu]", i);
		d = json_object_get(v, "dir");
		if (!json_is_object(v) || jconf_check_keys(p, v, hkeys) < 0 ||
		    jconf_get_uint(p, v, "node_id", &id, 0, 1, 255) < 0)
			return json_is_object(v) ? -1 : jconf_perr(p, "must be an object");
		const char *dn = json_string_value(d);
		if (!dn || !dn[0] || strlen(dn) > 255 || strchr(dn, '/') || !strcmp(dn, ".") ||
		    !strcmp(dn, ".."))
			return jconf_perr(p, "\"dir\": one name (no '/', not . or ..)");
		for (unsigned j = 0; j < c->nhomes; j++)
			if (!strcmp(c->homes[j].dir, dn))
				return jconf_perr(p, "\"%s\" twice", dn);
		int known = id == c->node_id;
		for (unsigned j = 0; j < c->npeers && !known; j++)
			known = c->peers[j].node_id == id;
		if (!known)
			return jconf_perr(p, "home node %u is neither this node nor a peer", id);
		strcpy(c->homes[c->nhomes].dir, dn);
		c->homes[c->nhomes++].node_id = (uint8_t)id;
	}
	return 0;
}

/*
 * "namespace": { "homes": [ { "dir": "alpha", "node_id": 1 }, ... ],
 *                "peers": [ { "node_id": 2, "address": "10.77.2.12:2049" }, ... ],
 *                "proxy_timeout_ms": 5000, "handoff_threshold": 1048576 }
 * handoff_threshold: once READ/WRITE data forwarded for one client
 * connection to one home reaches it, the connection is handed to that home
 * (nfs_proxy.c; needs "handoff" with the home as a peer); 0: never.
 * Every top-level directory of the virtual root names its home node; every
 * other node of a home must be a peer (its NFS port on its own address).
 */
static int parse_namespace(struct jconf *p, json_t *o, struct nasd_nfs_config *c)
{
	static const char *const keys[] = { "homes", "peers", "proxy_timeout_ms", "handoff_threshold",
					    "from_switch", NULL };

	snprintf(p->where, sizeof(p->where), "nfs.namespace");
	if (!json_is_object(o) || jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_uint(p, o, "proxy_timeout_ms", &c->proxy_timeout_ms, 5000, 100, 60000) < 0 ||
	    jconf_get_u64(p, o, "handoff_threshold", &c->handoff_threshold, 1u << 20, 0, 1ull << 40) < 0)
		return json_is_object(o) ? -1 : jconf_perr(p, "must be an object");
	if (jconf_get_bool(p, o, "from_switch", &c->from_switch, 0) < 0)
		return -1;
	if (c->from_switch) {
		/* lbd's cluster map brings them (nfs_cluster.c); none until it arrives */
		if (json_object_get(o, "homes") || json_object_get(o, "peers") ||
		    json_object_get(o, "handoff_threshold"))
			return jconf_perr(p, "with \"from_switch\", \"homes\", \"peers\" and "
					  "\"handoff_threshold\" come from the switch's map");
		c->vroot = 1;
		return 0;
	}
	if (parse_peers(p, json_object_get(o, "peers"), c) < 0 ||
	    parse_homes(p, json_object_get(o, "homes"), c) < 0)
		return -1;
	c->vroot = 1;
	return 0;
}

/* The file and identity members: export, path, fh_key_file (required
 * strings), root_squash and its anonymous ids.  0 / -1 (message in p). */
static int parse_export(struct jconf *p, json_t *o, struct nasd_nfs_config *c)
{
	json_t *s;

	if (jconf_get_bool(p, o, "writable", &c->writable, 1) < 0 ||
	    jconf_get_bool(p, o, "root_squash", &c->root_squash, 1) < 0 ||
	    jconf_get_uint(p, o, "anonuid", &c->anonuid, 65534, 0, 0xfffffffeu) < 0 ||
	    jconf_get_uint(p, o, "anongid", &c->anongid, 65534, 0, 0xfffffffeu) < 0 ||
	    jconf_get_bool(p, o, "manage_gids", &c->manage_gids, 0) < 0 ||
	    jconf_get_uint(p, o, "gids_cache_s", &c->gids_cache_ms, 30, 1, 3600) < 0)
		return -1;
	c->gids_cache_ms *= 1000;
	if (!(s = json_object_get(o, "export")) || !json_is_string(s) ||
	    json_string_length(s) >= sizeof(c->export_name) || json_string_value(s)[0] != '/')
		return jconf_perr(p, "\"export\" is required: the mount path, \"/name\"");
	strcpy(c->export_name, json_string_value(s));
	if (!(s = json_object_get(o, "path")) || !json_is_string(s) ||
	    json_string_length(s) >= sizeof(c->path) || json_string_value(s)[0] != '/')
		return jconf_perr(p, "\"path\" is required: an absolute directory");
	strcpy(c->path, json_string_value(s));
	if (!(s = json_object_get(o, "fh_key_file")) || !json_is_string(s) ||
	    json_string_length(s) >= sizeof(c->fh_key_file) || !json_string_length(s))
		return jconf_perr(p, "\"fh_key_file\" is required (the cluster's file handle key)");
	strcpy(c->fh_key_file, json_string_value(s));
	return 0;
}

int nasd_nfs_config_parse(struct jconf *p, json_t *o, struct nasd_nfs_config *c)
{
	static const char *const keys[] = {
		"listen", "portmap", "export", "path", "export_id", "clients", "fh_key_file",
		"node_id", "writable", "root_squash", "anonuid", "anongid", "max_io",
		"idle_timeout_s", "max_conns_per_client", "namespace", "manage_gids", "gids_cache_s",
		"nlm_grace_s", "nlm_hosts_file", "client_groups", "policy_refresh_s",
		"policy_max_members", "policy_providers", "policy_provider_lost_s", NULL
	};
	uint32_t idle_s;

	memset(c, 0, sizeof(*c));
	snprintf(p->where, sizeof(p->where), "nfs");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    get_eps(p, o, "listen", c->listen, &c->nlisten, 1) < 0 ||
	    get_eps(p, o, "portmap", c->pmap, &c->npmap, 0) < 0 ||
	    jconf_get_uint(p, o, "export_id", &c->export_id, 1, 0, 0xffffffffu) < 0 ||
	    jconf_get_uint(p, o, "node_id", &c->node_id, 0, 1, 255) < 0 ||
	    jconf_get_uint(p, o, "max_io", &c->max_io, 1u << 20, 4096, 1u << 20) < 0 ||
	    jconf_get_uint(p, o, "idle_timeout_s", &idle_s, 300, 1, 86400) < 0 ||
	    jconf_get_uint(p, o, "max_conns_per_client", &c->max_conns_per_client, 32, 1,
			   1000000) < 0 ||
	    jconf_get_uint(p, o, "nlm_grace_s", &c->nlm_grace_s, 45, 0, 3600) < 0 ||
	    jconf_get_str(p, o, "nlm_hosts_file", c->nlm_hosts_file, sizeof(c->nlm_hosts_file),
			  "") < 0 ||
	    parse_export(p, o, c) < 0 || nasd_nfs_policy_parse(p, o, c) < 0)
		return -1;
	c->idle_timeout_ms = idle_s * 1000;
	if (!json_object_get(o, "clients"))
		return jconf_perr(p, "\"clients\" is required: the client networks allowed");
	if (nasd_cidr_list_parse(p, o, "clients", c->clients, NASD_NFS_MAX_CLIENTS,
				 &c->nclients) < 0)
		return -1;
	if (json_object_get(o, "namespace") && parse_namespace(p, json_object_get(o, "namespace"), c) < 0)
		return -1;
	p->where[0] = '\0';
	c->enabled = 1;
	return 0;
}

void nasd_nfs_describe(const struct nasd_nfs_config *c, FILE *f)
{
	char cl[NASD_NFS_MAX_CLIENTS * (TADDR_STRLEN + 8)], a[TADDR_STRLEN + 8];
	size_t o = 0;

	if (!c->enabled)
		return;
	cl[0] = '\0';
	for (unsigned i = 0; i < c->nclients && o < sizeof(cl); i++)
		o += (size_t)snprintf(cl + o, sizeof(cl) - o, "%s%s", i ? ", " : "",
				      nasd_cidr_fmt(&c->clients[i], a, sizeof(a)));
	fprintf(f, "  nfs export %s -> %s: %s; clients %s (others closed at accept)\n",
		c->export_name, c->path, c->writable ? "read-write" : "read-only", cl);
	if (c->root_squash)
		fprintf(f, "  nfs root_squash: AUTH_SYS uid/gid 0 act as %u/%u (\"root_squash\": "
			"false to let root be root)\n", c->anonuid, c->anongid);
	else
		fprintf(f, "  nfs NO root_squash: AUTH_SYS uid 0 from any allowed client acts as "
			"root\n");
	for (unsigned i = 0; i < c->ngroups; i++) {
		const struct nasd_nfs_client_group *g = &c->groups[i];
		static const char *const kinds[] = { "network", "netgroup", "host" };

		fprintf(f, "  nfs client group %u: %s %s: %s, %s (anon %u/%u)\n", i + 1,
			kinds[g->kind], g->kind == NASD_CG_NETWORK ? nasd_cidr_fmt(&g->net, a, sizeof(a)) :
			g->name, g->writable ? "read-write" : "read-only",
			g->root_squash ? "root squashed" : "root is root", g->anonuid, g->anongid);
	}
	if (c->ngroups)
		fprintf(f, "  nfs client groups: the first a client is in decides, none: refused; "
			"re-read every %u s, at most %u hosts per netgroup\n",
			c->policy_refresh_ms / 1000, c->policy_max_members);
	if (c->manage_gids)
		fprintf(f, "  nfs manage_gids: a caller's groups come from NSS (the directory), "
			"cached %u s, not from its call\n", c->gids_cache_ms / 1000);
	fprintf(f, "  nfs connections: closed after %u s without traffic; at most %u per client "
		"address\n", c->idle_timeout_ms / 1000, c->max_conns_per_client);
	fprintf(f, "  nfs locking (NLM v4, NSM): after a start only reclaims for %u s; %s%s\n",
		c->nlm_grace_s, c->nlm_hosts_file[0] ? "clients told of a restart, their list in " :
		"no nlm_hosts_file: clients not told of a restart", c->nlm_hosts_file);
}
