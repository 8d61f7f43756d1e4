/*
 * config_dir.c - the "directory" section of the configuration: where users,
 * groups and netgroups live (doc/directory.md).  Called by config_parse
 * (config.c) after "sync": the pair's providers are named by switch id.
 */
#include "config_parts.h"

#include <stdio.h>
#include <string.h>

/* A DN we write into slapd.conf between double quotes and into LDAP
 * URLs' search bases: printable ASCII without '"' and '\' (escaped DNs
 * are legal LDAP but not worth the quoting rules here), at least one
 * "attr=value".  1 if s is one. */
static int dn_ok(const char *s)
{
	if (!strchr(s, '=') || s[0] == ' ' || s[strlen(s) - 1] == ' ')
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* A DN key with default "PREFIX,BASE". */
static int get_dn(struct jconf *p, json_t *o, const char *key, char *out, size_t outlen,
		  const char *prefix, const char *base)
{
	char def[CFG_DN_MAX + 1];

	if ((size_t)snprintf(def, sizeof(def), "%s,%s", prefix, base) >= sizeof(def))
		return jconf_perr(p, "\"base\" is too long");
	if (jconf_get_str(p, o, key, out, outlen, def) < 0)
		return -1;
	if (!dn_ok(out))
		return jconf_perr(p, "\"%s\" \"%s\": not a DN we take (attr=value,..., printable, "
				  "no '\"' or '\\\\')", key, out);
	return 0;
}

/* providers: [{switch_id, address}, ...], one per switch; this switch's
 * own among them when it is one of a pair (its serverID and its peer
 * come from there). */
static int get_providers(struct jconf *p, json_t *o, const struct cfg_sync *sync,
			 struct cfg_directory *d)
{
	static const char *const keys[] = { "switch_id", "address", NULL };
	json_t *a = json_object_get(o, "providers"), *e;
	size_t i;
	int self = 0;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > CFG_DIR_MAX_PROVIDERS)
		return jconf_perr(p, "\"providers\" must be an array of 1 or 2 {\"switch_id\", "
				  "\"address\"} (one per switch)");
	json_array_foreach(a, i, e) {
		snprintf(p->where, sizeof(p->where), "directory.providers[%zu]", i);
		if (!json_is_object(e))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, e, keys) < 0 ||
		    jconf_get_uint(p, e, "switch_id", &d->providers[i].switch_id, 0, 1, 4095) < 0 ||
		    jconf_get_addr(p, e, "address", &d->providers[i].addr) < 0)
			return -1;
		if (i == 1 && (d->providers[0].switch_id == d->providers[1].switch_id ||
			       taddr_equal(&d->providers[0].addr, &d->providers[1].addr)))
			return jconf_perr(p, "same \"switch_id\" or \"address\" as providers[0]");
		self |= sync->enabled && d->providers[i].switch_id == sync->switch_id;
		d->nproviders++;
	}
	snprintf(p->where, sizeof(p->where), "directory");
	if (sync->enabled && (!self || d->nproviders != 2))
		return jconf_perr(p, "a pair needs two \"providers\", one of them this switch "
				  "(sync.switch_id %u)", sync->switch_id);
	if (!sync->enabled && d->nproviders != 1)
		return jconf_perr(p, "a standalone switch (no \"sync\") has one provider");
	return 0;
}

/* TLS for replication: all three files or none. */
static int get_tls(struct jconf *p, json_t *o, struct cfg_directory *d)
{
	if (jconf_get_str_empty(p, o, "ca_file", d->ca_file, sizeof(d->ca_file), "") < 0 ||
	    jconf_get_str_empty(p, o, "cert_file", d->cert_file, sizeof(d->cert_file), "") < 0 ||
	    jconf_get_str_empty(p, o, "key_file", d->key_file, sizeof(d->key_file), "") < 0)
		return -1;
	if (!!d->ca_file[0] != !!d->cert_file[0] || !!d->ca_file[0] != !!d->key_file[0])
		return jconf_perr(p, "\"ca_file\", \"cert_file\" and \"key_file\" go together");
	return 0;
}

static int parse_pair(struct jconf *p, json_t *o, const struct config *cfg, struct cfg_directory *d)
{
	uint32_t port;

	if (get_providers(p, o, &cfg->sync, d) < 0 ||
	    jconf_get_uint(p, o, "port", &port, 389, 1, 65535) < 0 ||
	    get_dn(p, o, "root_dn", d->root_dn, sizeof(d->root_dn), "cn=admin", d->base) < 0 ||
	    get_dn(p, o, "replica_dn", d->replica_dn, sizeof(d->replica_dn), "cn=replica", d->base) < 0 ||
	    jconf_get_str(p, o, "root_password_file", d->root_password_file,
			  sizeof(d->root_password_file), NULL) < 0 ||
	    jconf_get_str(p, o, "replica_password_file", d->replica_password_file,
			  sizeof(d->replica_password_file), NULL) < 0 ||
	    jconf_get_str(p, o, "data_dir", d->data_dir, sizeof(d->data_dir), "/var/lib/tandem/ldap") < 0 ||
	    jconf_get_str(p, o, "run_dir", d->run_dir, sizeof(d->run_dir), "/run/tandem/ldap") < 0 ||
	    jconf_get_str(p, o, "schema_dir", d->schema_dir, sizeof(d->schema_dir), "/etc/ldap/schema") < 0 ||
	    jconf_get_str(p, o, "module_dir", d->module_dir, sizeof(d->module_dir), "/usr/lib/ldap") < 0 ||
	    get_tls(p, o, d) < 0)
		return -1;
	d->port = (uint16_t)port;
	if (!strcmp(d->root_dn, d->replica_dn))
		return jconf_perr(p, "\"root_dn\" and \"replica_dn\" must differ");
	return 0;
}

int parse_directory(struct jconf *p, json_t *o, struct config *cfg)
{
	static const char *const keys[] = { "mode", "base", "uri", "providers", "port", "root_dn",
		"root_password_file", "replica_dn", "replica_password_file", "data_dir", "run_dir",
		"schema_dir", "module_dir", "ca_file", "cert_file", "key_file", NULL };
	struct cfg_directory *d = &cfg->directory;
	char mode[16];

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "directory");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str(p, o, "mode", mode, sizeof(mode), NULL) < 0 ||
	    jconf_get_str(p, o, "base", d->base, sizeof(d->base), NULL) < 0)
		return -1;
	if (!dn_ok(d->base))
		return jconf_perr(p, "\"base\" \"%s\": not a DN we take (attr=value,..., printable, "
				  "no '\"' or '\\\\')", d->base);
	if (!strcmp(mode, "external")) {
		if (json_object_get(o, "providers"))
			return jconf_perr(p, "\"providers\" is for \"mode\": \"pair\"");
		if (jconf_get_str(p, o, "uri", d->uri, sizeof(d->uri), NULL) < 0)
			return -1;
		if (strncmp(d->uri, "ldap://", 7) && strncmp(d->uri, "ldaps://", 8))
			return jconf_perr(p, "\"uri\" \"%s\": must start with ldap:// or ldaps://", d->uri);
		d->mode = CFG_DIR_EXTERNAL;
		return 0;
	}
	if (strcmp(mode, "pair"))
		return jconf_perr(p, "\"mode\" \"%s\": must be \"pair\" or \"external\"", mode);
	if (json_object_get(o, "uri"))
		return jconf_perr(p, "\"uri\" is for \"mode\": \"external\" (the pair's own is made "
				  "from \"providers\")");
	if (parse_pair(p, o, cfg, d) < 0)
		return -1;
	d->mode = CFG_DIR_PAIR;
	return 0;
}

int config_dir_ldapi(const char *run_dir, char *buf, size_t len)
{
	size_t o = 0;
	int n;

	n = snprintf(buf, len, "ldapi://");
	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	for (const char *c = run_dir; *c; c++) {
		int esc = *c == '/' || *c == '%' || *c == ' ' || *c == '?' || *c == '#';
		n = esc ? snprintf(buf + o, len - o, "%%%02X", (unsigned char)*c) :
			snprintf(buf + o, len - o, "%c", *c);
		if (n < 0 || (size_t)n >= len - o)
			return -1;
		o += (size_t)n;
	}
	n = snprintf(buf + o, len - o, "%%2Fldapi");
	return n < 0 || (size_t)n >= len - o ? -1 : 0;
}
