/*
 * config.c - tandem-nasd's own JSON configuration (doc/nasd.md).
 * nasd_config_parse() is pure (text in, struct out); unknown keys are
 * errors, so typos do not pass silently.  The appliance configuration will
 * generate this file (one per node) later.
 */
#include "nasd.h"

#include "lib/jsonconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_CONTROL "/run/tandem/nasd.sock"

/* A URL prefix: "/" or "/a/b/", no dot segments, no '%' or '?'. */
static int url_prefix_ok(const char *u)
{
	char clean[NASD_URL_MAX];
	int st;
	size_t l = strlen(u);

	if (l == 0 || u[0] != '/' || u[l - 1] != '/' || strpbrk(u, "%?#"))
		return 0;
	return http_path_clean(u, l, clean, sizeof(clean), &st) == (int)l && !strcmp(clean, u);
}

static int parse_listen(struct jconf *p, json_t *arr, struct nasd_config *cfg)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return jconf_perr(p, "\"listen\" must be a non-empty array of \"addr:port\"");
	if (json_array_size(arr) > NASD_MAX_LISTEN)
		return jconf_perr(p, "\"listen\": at most %d addresses", NASD_MAX_LISTEN);
	json_array_foreach(arr, i, v) {
		struct nasd_listen *l = &cfg->listen[cfg->nlisten];
		if (!json_is_string(v) ||
		    taddr_parse_endpoint(json_string_value(v), &l->addr, &l->port) < 0 || !l->port)
			return jconf_perr(p, "\"listen\"[%zu]: want \"addr:port\" or \"[v6addr]:port\"", i);
		for (unsigned j = 0; j < cfg->nlisten; j++)
			if (cfg->listen[j].port == l->port && taddr_equal(&cfg->listen[j].addr, &l->addr))
				return jconf_perr(p, "\"listen\"[%zu]: duplicate", i);
		cfg->nlisten++;
	}
	return 0;
}

/*
 * An export's write rule: "writable" alone is not enough, a PUT must also
 * authenticate ("write_token_file": a bearer token) unless "write_auth" is
 * "none" (labs).  A writable export with neither is served read-only
 * (write_denied: -t and the log say so); the token file itself is read by
 * export_open_all.
 */
static int parse_write_rule(struct jconf *p, json_t *v, struct nasd_export *ex)
{
	char wa[16];
	json_t *w = json_object_get(v, "writable");

	if (w && !json_is_boolean(w))
		return jconf_perr(p, "\"writable\" must be true or false");
	if (jconf_get_str(p, v, "write_token_file", ex->token_file, sizeof(ex->token_file), "") < 0 ||
	    jconf_get_str(p, v, "write_auth", wa, sizeof(wa), "token") < 0)
		return -1;
	if (!strcmp(wa, "none"))
		ex->write_auth = NASD_WAUTH_NONE;
	else if (!strcmp(wa, "token"))
		ex->write_auth = NASD_WAUTH_TOKEN;
	else
		return jconf_perr(p, "\"write_auth\": want \"token\" or \"none\"");
	if (ex->write_auth == NASD_WAUTH_NONE && ex->token_file[0])
		return jconf_perr(p, "\"write_auth\": \"none\" and a \"write_token_file\": choose one");
	if ((ex->token_file[0] || ex->write_auth == NASD_WAUTH_NONE) && !(w && json_is_true(w)))
		return jconf_perr(p, "\"write_token_file\"/\"write_auth\" on an export that is not \"writable\"");
	ex->writable = w && json_is_true(w) &&
		       (ex->token_file[0] || ex->write_auth == NASD_WAUTH_NONE);
	ex->write_denied = w && json_is_true(w) && !ex->writable;
	return 0;
}

static int parse_exports(struct jconf *p, json_t *arr, struct nasd_config *cfg)
{
	static const char *const keys[] = {
		"url", "path", "writable", "write_token_file", "write_auth", "clients",
		"nfs_policy", NULL
	};
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return jconf_perr(p, "\"exports\" must be a non-empty array");
	if (json_array_size(arr) > NASD_MAX_EXPORTS)
		return jconf_perr(p, "\"exports\": at most %d", NASD_MAX_EXPORTS);
	json_array_foreach(arr, i, v) {
		struct nasd_export *ex = &cfg->exports[cfg->nexports];
		snprintf(p->where, sizeof(p->where), "exports[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, keys) < 0 ||
		    jconf_get_str_empty(p, v, "url", ex->url, sizeof(ex->url), "/") < 0 ||
		    jconf_get_str_empty(p, v, "path", ex->path, sizeof(ex->path), NULL) < 0 ||
		    parse_write_rule(p, v, ex) < 0 ||
		    jconf_get_bool(p, v, "nfs_policy", &ex->nfs_policy, 0) < 0 ||
		    nasd_cidr_list_parse(p, v, "clients", ex->clients, NASD_HTTP_MAX_CLIENTS,
					 &ex->nclients) < 0)
			return -1;
		if (!url_prefix_ok(ex->url))
			return jconf_perr(p, "\"url\" \"%s\": want \"/\" or \"/name/\" (canonical)", ex->url);
		if (ex->path[0] != '/')
			return jconf_perr(p, "\"path\" must be absolute");
		ex->url_len = strlen(ex->url);
		ex->dirfd = -1;
		for (unsigned j = 0; j < cfg->nexports; j++)
			if (!strcmp(cfg->exports[j].url, ex->url))
				return jconf_perr(p, "\"url\" \"%s\" exported twice", ex->url);
		cfg->nexports++;
	}
	p->where[0] = '\0';
	return 0;
}

static int parse_throttle(struct jconf *p, json_t *arr, struct nasd_config *cfg)
{
	static const char *const keys[] = { "prefix", "rate", "rate_arg", NULL };
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return jconf_perr(p, "\"throttle\" must be an array");
	if (json_array_size(arr) > NASD_MAX_THROTTLE)
		return jconf_perr(p, "\"throttle\": at most %d", NASD_MAX_THROTTLE);
	json_array_foreach(arr, i, v) {
		struct nasd_throttle *t = &cfg->throttle[cfg->nthrottle];
		uint64_t rate;
		snprintf(p->where, sizeof(p->where), "throttle[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, keys) < 0 ||
		    jconf_get_str_empty(p, v, "prefix", t->prefix, sizeof(t->prefix), NULL) < 0 ||
		    jconf_get_str_empty(p, v, "rate_arg", t->rate_arg, sizeof(t->rate_arg), "") < 0 ||
		    jconf_get_u64(p, v, "rate", &rate, 0, 0, UINT32_MAX) < 0)
			return -1;
		if (!url_prefix_ok(t->prefix) || !strcmp(t->prefix, "/"))
			return jconf_perr(p, "\"prefix\" \"%s\": want \"/name/\"", t->prefix);
		if (!rate == !t->rate_arg[0])
			return jconf_perr(p, "give one of \"rate\" (bytes/s) or \"rate_arg\" (query parameter)");
		t->rate = (uint32_t)rate;
		cfg->nthrottle++;
	}
	p->where[0] = '\0';
	return 0;
}

/* One "addr:port" string. */
static int get_endpoint(struct jconf *p, json_t *obj, const char *key, struct taddr *a,
			uint16_t *port, int required)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			return jconf_perr(p, "\"%s\" is required", key);
		return 0;
	}
	if (!json_is_string(v) || taddr_parse_endpoint(json_string_value(v), a, port) < 0 || !*port)
		return jconf_perr(p, "\"%s\": want \"addr:port\" or \"[v6addr]:port\"", key);
	return 1;
}

/*
 * "handoff": { "listen": "10.77.2.11:7407",
 *              "peers": [ { "name": "n2", "address": "10.77.2.12:7407" } ],
 *              "switch": "10.77.2.1:7406", "key_file": "...", "cluster_id": 1,
 *              "interface": "eth0", "egress_interface": "", "bpf_object": "...",
 *              "pin_dir": "...", "grace_ms": 2000, "guard_ms": 5000,
 *              "timeout_ms": 2000, "report_timeout_ms": 250, "report_tries": 4,
 *              "spin_us": 1000, "pin_hold_s": 300, "hold_kb": 256,
 *              "hold_total_kb": 8192 }
 */
static int parse_handoff(struct jconf *p, json_t *o, struct nasd_config *cfg)
{
	static const char *const keys[] = {
		"listen", "peers", "switch", "key_file", "cluster_id", "interface",
		"egress_interface", "bpf_object", "pin_dir", "grace_ms", "guard_ms", "timeout_ms",
		"report_timeout_ms", "report_tries", "spin_us", "pin_hold_s", "hold_kb",
		"hold_total_kb", NULL
	};
	static const char *const pkeys[] = { "name", "address", NULL };
	struct nasd_handoff_config *h = &cfg->ho;
	size_t i;
	json_t *v, *peers;

	snprintf(p->where, sizeof(p->where), "handoff");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    get_endpoint(p, o, "listen", &h->listen_addr, &h->listen_port, 1) < 0 ||
	    get_endpoint(p, o, "switch", &h->switch_addr, &h->switch_port, 1) < 0 ||
	    jconf_get_str_empty(p, o, "key_file", h->key_file, sizeof(h->key_file), NULL) < 0 ||
	    jconf_get_str_empty(p, o, "interface", h->interface, sizeof(h->interface), NULL) < 0 ||
	    jconf_get_str_empty(p, o, "egress_interface", h->egress_interface, sizeof(h->egress_interface), "") < 0 ||
	    jconf_get_str_empty(p, o, "bpf_object", h->bpf_object, sizeof(h->bpf_object), "") < 0 ||
	    jconf_get_str_empty(p, o, "pin_dir", h->pin_dir, sizeof(h->pin_dir), "") < 0 ||
	    jconf_get_uint(p, o, "cluster_id", &h->cluster_id, 1, 0, 0xffffffffu) < 0 ||
	    jconf_get_uint(p, o, "grace_ms", &h->grace_ms, 2000, 0, 60000) < 0 ||
	    jconf_get_uint(p, o, "guard_ms", &h->guard_ms, 5000, 100, 60000) < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &h->timeout_ms, 2000, 10, 60000) < 0 ||
	    jconf_get_uint(p, o, "report_timeout_ms", &h->report_timeout_ms, 250, 10, 10000) < 0 ||
	    jconf_get_uint(p, o, "report_tries", &h->report_tries, 4, 1, 20) < 0 ||
	    jconf_get_uint(p, o, "spin_us", &h->spin_us, 1000, 0, 100000) < 0 ||
	    jconf_get_uint(p, o, "pin_hold_s", &h->pin_hold_s, 300, 0, 86400) < 0 ||
	    jconf_get_uint(p, o, "hold_kb", &h->hold_kb, 256, 0, 16384) < 0 ||
	    jconf_get_uint(p, o, "hold_total_kb", &h->hold_total_kb, 8192, 64, 1048576) < 0)
		return -1;
	if (h->guard_ms <= h->timeout_ms)
		return jconf_perr(p, "\"guard_ms\" must exceed \"timeout_ms\" (a drop must outlive the wait)");
	peers = json_object_get(o, "peers");
	if (!json_is_array(peers) || json_array_size(peers) > NASD_MAX_PEERS)
		return jconf_perr(p, "\"peers\" must be an array of at most %d {name, address}",
				  NASD_MAX_PEERS);
	json_array_foreach(peers, i, v) {
		struct nasd_peer *pe = &h->peers[h->npeers];
		snprintf(p->where, sizeof(p->where), "handoff.peers[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, pkeys) < 0 ||
		    jconf_get_str_empty(p, v, "name", pe->name, sizeof(pe->name), NULL) < 0 ||
		    get_endpoint(p, v, "address", &pe->addr, &pe->port, 1) < 0)
			return -1;
		if (!pe->name[0] || !strcmp(pe->name, cfg->node_name))
			return jconf_perr(p, "\"name\" must be another node's name");
		for (unsigned j = 0; j < h->npeers; j++)
			if (!strcmp(h->peers[j].name, pe->name))
				return jconf_perr(p, "peer \"%s\" twice", pe->name);
		h->npeers++;
	}
	p->where[0] = '\0';
	if (!cfg->node_name[0])
		return jconf_perr(p, "\"handoff\" needs \"node_name\"");
	h->enabled = 1;
	return 0;
}

/* Sessions, uploads (size, disk reserved ahead of a body) and timeouts. */
static int parse_limits(struct jconf *p, json_t *root, struct nasd_config *cfg)
{
	uint64_t v;

	if (jconf_get_u64(p, root, "max_sessions", &v, 4096, 1, 1000000) < 0)
		return -1;
	cfg->max_sessions = (uint32_t)v;
	if (jconf_get_u64(p, root, "max_upload", &cfg->max_upload, 64ull << 30, 0, INT64_MAX) < 0 ||
	    jconf_get_u64(p, root, "upload_reserve", &cfg->upload_reserve, 8ull << 20, 0,
			  1ull << 40) < 0 ||
	    jconf_get_u64(p, root, "upload_reserve_total", &cfg->upload_reserve_total, 256ull << 20,
			  0, 1ull << 50) < 0)
		return -1;
	if (jconf_get_u64(p, root, "idle_timeout_s", &v, 60, 1, 86400) < 0)
		return -1;
	cfg->idle_timeout_ms = (uint32_t)v * 1000;
	if (jconf_get_u64(p, root, "head_timeout_s", &v, 30, 1, 3600) < 0)
		return -1;
	cfg->head_timeout_ms = (uint32_t)v * 1000;
	if (jconf_get_u64(p, root, "io_timeout_s", &v, 60, 1, 86400) < 0)
		return -1;
	cfg->io_timeout_ms = (uint32_t)v * 1000;
	return 0;
}

int nasd_config_parse(const char *text, size_t len, struct nasd_config *cfg, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {
		"node_name", "listen", "exports", "throttle", "control_socket", "max_sessions",
		"max_upload", "upload_reserve", "upload_reserve_total", "idle_timeout_s",
		"head_timeout_s", "io_timeout_s", "fsync", "handoff",
		"data_location",	/* remote.c */
		"nfs",	/* nfs_config.c */
		"metrics",	/* metrics_page.c */
		NULL
	};
	struct jconf p = { .err = err, .errlen = errlen };
	json_error_t je;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return jconf_perr(&p, "line %d: %s", je.line, je.text);
	if (!json_is_object(root)) {
		jconf_perr(&p, "the configuration must be a JSON object");
		goto out;
	}
	if (jconf_check_keys(&p, root, keys) < 0 ||
	    jconf_get_str_empty(&p, root, "node_name", cfg->node_name, sizeof(cfg->node_name), "") < 0 ||
	    jconf_get_str_empty(&p, root, "control_socket", cfg->control_socket, sizeof(cfg->control_socket),
		    DEF_CONTROL) < 0 ||
	    parse_listen(&p, json_object_get(root, "listen"), cfg) < 0 ||
	    parse_exports(&p, json_object_get(root, "exports"), cfg) < 0)
		goto out;
	if (json_object_get(root, "throttle") &&
	    parse_throttle(&p, json_object_get(root, "throttle"), cfg) < 0)
		goto out;
	for (const char *c = cfg->node_name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')) {
			jconf_perr(&p, "\"node_name\": letters, digits, '-', '_' and '.' only");
			goto out;
		}
	if (parse_limits(&p, root, cfg) < 0)
		goto out;
	json_t *f = json_object_get(root, "fsync");
	if (f && !json_is_boolean(f)) {
		jconf_perr(&p, "\"fsync\" must be true or false");
		goto out;
	}
	cfg->fsync_uploads = f ? json_is_true(f) : 1;
	if (json_object_get(root, "handoff") &&
	    parse_handoff(&p, json_object_get(root, "handoff"), cfg) < 0)
		goto out;
	if (json_object_get(root, "data_location") &&
	    remote_config_parse(&p, json_object_get(root, "data_location"), &cfg->dl) < 0)
		goto out;
	/* the NFS service's section (nfs_config.c) */
	if (json_object_get(root, "nfs") &&
	    nasd_nfs_config_parse(&p, json_object_get(root, "nfs"), &cfg->nfs) < 0)
		goto out;
	if (json_object_get(root, "metrics") &&
	    nasd_metrics_config_parse(&p, json_object_get(root, "metrics"), &cfg->metrics) < 0)
		goto out;
	for (unsigned i = 0; i < cfg->nexports; i++)
		if (cfg->exports[i].nfs_policy && !cfg->nfs.ngroups) {
			jconf_perr(&p, "exports[%u]: \"nfs_policy\" needs the \"nfs\" section's "
				   "\"client_groups\"", i);
			goto out;
		}
	if (cfg->nfs.from_switch && !cfg->ho.enabled) {	/* the map comes on the handoff socket */
		jconf_perr(&p, "nfs.namespace.from_switch needs the \"handoff\" section (key, switch port)");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int nasd_config_load(const char *path, struct nasd_config *cfg, char *err, size_t errlen)
{
	char inner[400];
	char *buf;
	size_t len;
	int rc;

	if (jconf_read_file(path, 1u << 20, &buf, &len, err, errlen) < 0)
		return -1;
	rc = nasd_config_parse(buf, len, cfg, inner, sizeof(inner));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, inner);
	free(buf);
	return rc;
}
