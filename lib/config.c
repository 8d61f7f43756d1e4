#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parts.h"
#include "jsonconf.h"
#include "maglev.h"
#include "paths.h"

#define CONFIG_MAX_BYTES (16u << 20)	/* far above any real configuration */

static int parse_health(struct jconf *p, json_t *h, struct cfg_health *out)
{
	static const char *const keys[] = { "interval_ms", "timeout_ms", "rise", "fall", NULL };

	out->interval_ms = 1000, out->timeout_ms = 500, out->rise = 2, out->fall = 3;
	if (!h)
		return 0;
	snprintf(p->where, sizeof(p->where), "health");
	if (!json_is_object(h))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, h, keys) < 0 ||
	    jconf_get_uint(p, h, "interval_ms", &out->interval_ms, 1000, 100, 60000) < 0 ||
	    jconf_get_uint(p, h, "timeout_ms", &out->timeout_ms, 500, 10, 60000) < 0 ||
	    jconf_get_uint(p, h, "rise", &out->rise, 2, 1, 100) < 0 ||
	    jconf_get_uint(p, h, "fall", &out->fall, 3, 1, 100) < 0)
		return -1;
	if (out->timeout_ms > out->interval_ms)
		return jconf_perr(p, "\"timeout_ms\" (%u) must not exceed \"interval_ms\" (%u)",
			    out->timeout_ms, out->interval_ms);
	return 0;
}

/* arr, the value of "key": a non-empty array. */
static int need_array(struct jconf *p, json_t *arr, const char *key)
{
	if (!arr)
		return jconf_perr(p, "\"%s\" is required", key);
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return jconf_perr(p, "\"%s\" must be a non-empty array", key);
	return 0;
}

static int parse_nodes(struct jconf *p, json_t *arr, struct config *cfg)
{
	static const char *const keys[] = { "name", "address", "weight", "port", NULL };
	size_t i;
	json_t *n;

	p->where[0] = '\0';
	if (need_array(p, arr, "nodes") < 0)
		return -1;
	if (json_array_size(arr) > CFG_MAX_NODES)
		return jconf_perr(p, "\"nodes\": at most %d nodes", CFG_MAX_NODES);
	json_array_foreach(arr, i, n) {
		struct cfg_node *cn = &cfg->nodes[i];
		snprintf(p->where, sizeof(p->where), "nodes[%zu]", i);
		if (!json_is_object(n))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, n, keys) < 0 || jconf_get_name(p, n, "name", cn->name, NULL) < 0 ||
		    jconf_get_addr(p, n, "address", &cn->addr) < 0 ||
		    jconf_get_uint(p, n, "weight", &cn->weight, 100, 0, 1000) < 0 ||
		    jconf_get_str(p, n, "port", cn->port, sizeof(cn->port), "") < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->nodes[j].name, cn->name))
				return jconf_perr(p, "duplicate node name \"%s\"", cn->name);
			if (taddr_equal(&cfg->nodes[j].addr, &cn->addr))
				return jconf_perr(p, "address already used by node \"%s\"", cfg->nodes[j].name);
		}
		cfg->nnodes++;
	}
	return 0;
}

/* Hex digits (spaces between them ignored) into out[0..*len), at most max
 * bytes.  0, or -1 (odd count, not hex, too long). */
static int probe_hex(const char *s, uint8_t *out, size_t max, uint16_t *len)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;
		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (*s | 0x20) - 'a' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	*len = (uint16_t)n;
	return 0;
}

/* key (text) or key_hex (hex digits) of a probe: 1..CFG_PROBE_MAX bytes into
 * out; absent: *len = 0.  *hex: 1 if given in hex. */
static int probe_bytes(struct jconf *p, json_t *o, const char *key, uint8_t *out, uint16_t *len,
		       uint8_t *hex)
{
	char hkey[16];
	json_t *t = json_object_get(o, key), *h;

	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	h = json_object_get(o, hkey);
	*len = 0;
	*hex = h != NULL;
	if (t && h)
		return jconf_perr(p, "\"probe\": \"%s\" or \"%s\", not both", key, hkey);
	if (t) {
		if (!json_is_string(t) || !json_string_length(t) ||
		    json_string_length(t) > CFG_PROBE_MAX)
			return jconf_perr(p, "\"probe\": \"%s\" must be a string of 1..%d bytes", key,
					  CFG_PROBE_MAX);
		memcpy(out, json_string_value(t), json_string_length(t));
		*len = (uint16_t)json_string_length(t);
	} else if (h) {
		if (!json_is_string(h) ||
		    probe_hex(json_string_value(h), out, CFG_PROBE_MAX, len) < 0 || !*len)
			return jconf_perr(p, "\"probe\": \"%s\" must be 1..%d bytes as pairs of hex digits",
					  hkey, CFG_PROBE_MAX);
	}
	return 0;
}

/* A service's "probe" object (doc/config.md "health") into *out. */
static int parse_probe(struct jconf *p, json_t *o, uint8_t proto, struct cfg_probe *out)
{
	static const char *const keys[] = { "send", "send_hex", "expect", "expect_hex",
					    "expect_prefix", NULL };
	int prefix;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return jconf_perr(p, "\"probe\" must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    probe_bytes(p, o, "send", out->send, &out->send_len, &out->send_hex) < 0 ||
	    probe_bytes(p, o, "expect", out->expect, &out->expect_len, &out->expect_hex) < 0 ||
	    jconf_get_bool(p, o, "expect_prefix", &prefix, proto == IPPROTO_TCP) < 0)
		return -1;
	if (proto == IPPROTO_UDP && !out->send_len)
		return jconf_perr(p, "\"probe\": a udp probe needs \"send\" or \"send_hex\" (the datagram the node answers)");
	if (proto == IPPROTO_TCP && !out->expect_len)
		return jconf_perr(p, "\"probe\": a tcp probe needs \"expect\" or \"expect_hex\" (else the connect check says it all)");
	if (proto == IPPROTO_TCP && !prefix)
		return jconf_perr(p, "\"probe\": \"expect_prefix\" must be true for tcp (a stream has no end of reply)");
	if (!out->expect_len && json_object_get(o, "expect_prefix"))
		return jconf_perr(p, "\"probe\": \"expect_prefix\" without \"expect\" or \"expect_hex\"");
	out->expect_prefix = (uint8_t)prefix;
	return 0;
}

static int probe_equal(const struct cfg_probe *a, const struct cfg_probe *b)
{
	return a->send_len == b->send_len && a->expect_len == b->expect_len &&
	       a->expect_prefix == b->expect_prefix && !memcmp(a->send, b->send, a->send_len) &&
	       !memcmp(a->expect, b->expect, a->expect_len);
}

/* The "probe" of service s (cfg->vips[vi].svc[si], proto and port set):
 * stored in cfg->probes; it must equal every probe already given for that
 * proto/port (a node's check is one per proto/port, see config.h). */
static int service_probe(struct jconf *p, json_t *s, struct config *cfg, size_t vi, unsigned si)
{
	struct cfg_service *cs = &cfg->vips[vi].svc[si];
	json_t *o = json_object_get(s, "probe");
	struct cfg_probe *pr;

	cs->probe = -1;
	if (!o)
		return 0;
	pr = &cfg->probes[cfg->nprobes];
	if (parse_probe(p, o, cs->proto, pr) < 0)
		return -1;
	for (size_t v = 0; v <= vi; v++)
		for (unsigned i = 0; i < (v == vi ? si : cfg->vips[v].nsvc); i++) {
			const struct cfg_service *o2 = &cfg->vips[v].svc[i];
			if (o2->proto == cs->proto && o2->port == cs->port && o2->probe >= 0 &&
			    !probe_equal(&cfg->probes[o2->probe], pr))
				return jconf_perr(p, "\"probe\" differs from vips[%zu].services[%u]'s: one check per node and %s/%u, so one probe",
						  v, i, cs->proto == IPPROTO_TCP ? "tcp" : "udp", cs->port);
		}
	cs->probe = (int)cfg->nprobes++;
	return 0;
}

static int parse_services(struct jconf *p, json_t *arr, struct cfg_vip *v, struct config *cfg,
			  size_t vi)
{
	static const char *const keys[] = { "proto", "port", "affinity", "probe", NULL };
	size_t i;
	json_t *s;

	if (need_array(p, arr, "services") < 0)
		return -1;
	json_array_foreach(arr, i, s) {
		char proto[8];
		uint32_t port;
		snprintf(p->where, sizeof(p->where), "vips[%zu].services[%zu]", vi, i);
		if (!json_is_object(s))
			return jconf_perr(p, "must be an object");
		if (cfg->nsvc_total >= LB_MAX_SVCS)
			return jconf_perr(p, "at most %d services over all VIPs", LB_MAX_SVCS);
		if (jconf_check_keys(p, s, keys) < 0 || jconf_get_str(p, s, "proto", proto, sizeof(proto), NULL) < 0)
			return -1;
		int pr = proto_parse(proto);
		if (pr < 0)
			return jconf_perr(p, "\"proto\" \"%s\": must be \"tcp\" or \"udp\"", proto);
		if (!json_object_get(s, "port"))
			return jconf_perr(p, "\"port\" is required");
		if (jconf_get_uint(p, s, "port", &port, 0, 1, 65535) < 0)
			return -1;
		for (unsigned j = 0; j < v->nsvc; j++)
			if (v->svc[j].proto == pr && v->svc[j].port == port)
				return jconf_perr(p, "duplicate service %s/%u", proto, port);
		char aff[16];
		if (jconf_get_str(p, s, "affinity", aff, sizeof(aff), "none") < 0)
			return -1;
		if (strcmp(aff, "none") && strcmp(aff, "client"))
			return jconf_perr(p, "\"affinity\" \"%s\": must be \"none\" or \"client\"", aff);
		v->svc[v->nsvc].affinity = !strcmp(aff, "client");
		v->svc[v->nsvc].proto = (uint8_t)pr;
		v->svc[v->nsvc].port = (uint16_t)port;
		if (service_probe(p, s, cfg, vi, v->nsvc) < 0)
			return -1;
		v->nsvc++;
		cfg->nsvc_total++;
	}
	return 0;
}

static int parse_vips(struct jconf *p, json_t *arr, struct config *cfg)
{
	static const char *const keys[] = { "name", "address", "services", NULL };
	size_t i;
	json_t *v;

	p->where[0] = '\0';
	if (need_array(p, arr, "vips") < 0)
		return -1;
	if (json_array_size(arr) > CFG_MAX_VIPS)
		return jconf_perr(p, "\"vips\": at most %d", CFG_MAX_VIPS);
	json_array_foreach(arr, i, v) {
		struct cfg_vip *cv = &cfg->vips[i];
		cv->group = -1;
		snprintf(p->where, sizeof(p->where), "vips[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, keys) < 0 || jconf_get_name(p, v, "name", cv->name, NULL) < 0 ||
		    jconf_get_addr(p, v, "address", &cv->addr) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->vips[j].name, cv->name))
				return jconf_perr(p, "duplicate VIP name \"%s\"", cv->name);
			if (taddr_equal(&cfg->vips[j].addr, &cv->addr))
				return jconf_perr(p, "address already used by VIP \"%s\" (put all its services there)",
					    cfg->vips[j].name);
		}
		for (unsigned j = 0; j < cfg->nnodes; j++)
			if (taddr_equal(&cfg->nodes[j].addr, &cv->addr))
				return jconf_perr(p, "address is node \"%s\"'s address", cfg->nodes[j].name);
		if (parse_services(p, json_object_get(v, "services"), cv, cfg, i) < 0)
			return -1;
		cfg->nvips++;
	}
	return 0;
}

static int parse_handoff(struct jconf *p, json_t *o, struct cfg_handoff *h)
{
	static const char *const keys[] = { "port", "key_file", "cluster_id", "peer_confirm_ms",
					    "drain_parallel", "move_timeout_ms", "load_max_sessions",
					    "load_check_ms", NULL };
	uint32_t port;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "handoff");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 || jconf_get_uint(p, o, "port", &port, 7406, 1, 65535) < 0 ||
	    jconf_get_str(p, o, "key_file", h->key_file, sizeof(h->key_file), NULL) < 0 ||
	    jconf_get_uint(p, o, "cluster_id", &h->cluster_id, 1, 0, 0xffffffffu) < 0 ||
	    jconf_get_uint(p, o, "peer_confirm_ms", &h->peer_confirm_ms, 200, 1, 10000) < 0 ||
	    jconf_get_uint(p, o, "drain_parallel", &h->drain_parallel, 8, 0, 64) < 0 ||
	    jconf_get_uint(p, o, "move_timeout_ms", &h->move_timeout_ms, 5000, 100, 60000) < 0 ||
	    jconf_get_uint(p, o, "load_max_sessions", &h->load_max_sessions, 0, 0, 16000000) < 0 ||
	    jconf_get_uint(p, o, "load_check_ms", &h->load_check_ms, 2000, 200, 600000) < 0)
		return -1;
	h->port = (uint16_t)port;
	h->enabled = 1;
	return 0;
}

/*
 * "nfs": { "export": "/export", "clients": ["10.77.1.0/24"],
 *          "homes": [ { "dir": "alpha", "node": "n1" } ], "handoff_threshold": 1048576 }
 * Needs "handoff": the map travels to the nodes under the handoff key, on
 * the handoff port (lb/cluster.c).  Parsed after nodes (homes name them).
 */
static int parse_nfs(struct jconf *p, json_t *o, struct config *cfg)
{
	static const char *const keys[] = { "export", "clients", "homes", "handoff_threshold", NULL };
	static const char *const hkeys[] = { "dir", "node", NULL };
	struct cfg_nfs *c = &cfg->nfs;
	json_t *arr, *v;
	size_t i;

	if (!o)
		return 0;
	snprintf(p->where, sizeof(p->where), "nfs");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str(p, o, "export", c->export_name, sizeof(c->export_name), "/export") < 0 ||
	    jconf_get_u64(p, o, "handoff_threshold", &c->handoff_threshold, 1u << 20, 0, 1ull << 40) < 0)
		return -1;
	if (c->export_name[0] != '/')
		return jconf_perr(p, "\"export\" \"%s\": must start with '/'", c->export_name);
	if (!cfg->handoff.enabled)
		return jconf_perr(p, "needs the \"handoff\" section (its key and port carry the map to the nodes)");
	arr = json_object_get(o, "clients");
	if (!arr || !json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CFG_NFS_MAX_CLIENTS)
		return jconf_perr(p, "\"clients\" must be an array of 1..%d \"addr/prefix\"",
				  CFG_NFS_MAX_CLIENTS);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    taddr_parse_cidr(json_string_value(v), &c->clients[i].addr, &c->clients[i].plen) < 0)
			return jconf_perr(p, "clients[%zu]: want \"addr/prefix\"", i);
		c->nclients++;
	}
	arr = json_object_get(o, "homes");
	if (!arr || !json_is_array(arr) || json_array_size(arr) > CFG_NFS_MAX_HOMES)
		return jconf_perr(p, "\"homes\" must be an array of at most %d {dir, node}",
				  CFG_NFS_MAX_HOMES);
	json_array_foreach(arr, i, v) {
		char *dir = c->homes[i].dir;
		snprintf(p->where, sizeof(p->where), "nfs.homes[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, hkeys) < 0 ||
		    jconf_get_str(p, v, "dir", dir, sizeof(c->homes[i].dir), NULL) < 0 ||
		    jconf_get_str(p, v, "node", c->homes[i].node, sizeof(c->homes[i].node), NULL) < 0)
			return -1;
		if (!dir[0] || strchr(dir, '/') || !strcmp(dir, ".") || !strcmp(dir, ".."))
			return jconf_perr(p, "\"dir\" \"%s\": must be one name (no '/', not . or ..)", dir);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->homes[j].dir, dir))
				return jconf_perr(p, "\"dir\" \"%s\" twice", dir);
		if (config_node_index(cfg, c->homes[i].node) < 0)
			return jconf_perr(p, "\"node\" \"%s\" is not one of \"nodes\"", c->homes[i].node);
		c->nhomes++;
	}
	c->enabled = 1;
	return 0;
}

int config_parse(const char *buf, size_t len, struct config *cfg, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"instance", "bpffs", "control_socket", "client_interface", "storage_interface",
		"attach", "flow_table_size", "maglev_size", "health", "nodes", "vips", "sync", "vrrp", "handoff",
		"nfs", "dns", "directory", "bgp", NULL
	};
	struct jconf p = { .err = err, .errlen = errlen };
	json_error_t je;
	json_t *root;
	char attach[8];
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return jconf_perr(&p, "line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(root)) {
		jconf_perr(&p, "top level must be a JSON object");
		goto out;
	}
	if (jconf_check_keys(&p, root, keys) < 0 ||
	    jconf_get_name(&p, root, "instance", cfg->instance, "default") < 0 ||
	    jconf_get_str(&p, root, "bpffs", cfg->bpffs, sizeof(cfg->bpffs), "/sys/fs/bpf") < 0 ||
	    jconf_get_str(&p, root, "control_socket", cfg->control_socket, sizeof(cfg->control_socket),
		    "/run/tandem/lbd.sock") < 0 ||
	    jconf_get_str(&p, root, "client_interface", cfg->client_if, sizeof(cfg->client_if), NULL) < 0 ||
	    jconf_get_str(&p, root, "storage_interface", cfg->storage_if, sizeof(cfg->storage_if), NULL) < 0 ||
	    jconf_get_str(&p, root, "attach", attach, sizeof(attach), "tc") < 0 ||
	    jconf_get_uint(&p, root, "flow_table_size", &cfg->flow_table_size, 1048576, 1024, 16777216) < 0 ||
	    jconf_get_uint(&p, root, "maglev_size", &cfg->maglev_size, LB_MAGLEV_DEFAULT, 65537, 1048573) < 0)
		goto out;
	if (!strcmp(attach, "tc"))
		cfg->attach = CFG_ATTACH_TC;
	else if (!strcmp(attach, "xdp"))
		cfg->attach = CFG_ATTACH_XDP;
	else {
		jconf_perr(&p, "\"attach\" \"%s\": must be \"tc\" or \"xdp\"", attach);
		goto out;
	}
	if (!maglev_is_prime(cfg->maglev_size)) {
		jconf_perr(&p, "\"maglev_size\" %u is not prime (65537 is)", cfg->maglev_size);
		goto out;
	}
	if (!strcmp(cfg->client_if, cfg->storage_if)) {
		jconf_perr(&p, "\"client_interface\" and \"storage_interface\" must differ");
		goto out;
	}
	if (parse_health(&p, json_object_get(root, "health"), &cfg->health) < 0 ||
	    parse_nodes(&p, json_object_get(root, "nodes"), cfg) < 0 ||
	    parse_vips(&p, json_object_get(root, "vips"), cfg) < 0 ||
	    parse_sync(&p, json_object_get(root, "sync"), &cfg->sync) < 0 ||
	    parse_bgp(&p, json_object_get(root, "bgp"), cfg) < 0 ||
	    parse_vrrp(&p, json_object_get(root, "vrrp"), cfg) < 0 ||
	    parse_dns(&p, json_object_get(root, "dns"), cfg) < 0 ||
	    parse_directory(&p, json_object_get(root, "directory"), cfg) < 0 ||
	    parse_handoff(&p, json_object_get(root, "handoff"), &cfg->handoff) < 0 ||
	    parse_nfs(&p, json_object_get(root, "nfs"), cfg) < 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char msg[300];
	char *buf;
	size_t len;

	if (jconf_read_file(path, CONFIG_MAX_BYTES, &buf, &len, err, errlen) < 0)
		return -1;
	int rc = config_parse(buf, len, cfg, msg, sizeof(msg));
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}

const struct cfg_probe *config_probe(const struct config *cfg, uint8_t proto, uint16_t port)
{
	for (unsigned v = 0; v < cfg->nvips; v++)
		for (unsigned i = 0; i < cfg->vips[v].nsvc; i++) {
			const struct cfg_service *cs = &cfg->vips[v].svc[i];
			if (cs->proto == proto && cs->port == port && cs->probe >= 0)
				return &cfg->probes[cs->probe];
		}
	return NULL;
}

int config_node_index(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->nnodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return (int)i;
	return -1;
}

int config_vip_by_addr(const struct config *cfg, const struct taddr *a)
{
	for (unsigned i = 0; i < cfg->nvips; i++)
		if (taddr_equal(&cfg->vips[i].addr, a))
			return (int)i;
	return -1;
}

int config_group_index(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->vrrp.ngroups; i++)
		if (!strcmp(cfg->vrrp.groups[i].name, name))
			return (int)i;
	return -1;
}
