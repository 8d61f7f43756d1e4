/*
 * api_req.c - pure parsing for tandem-webd's REST API; see api_req.h.
 * Everything untrusted that reaches webd (path, query, cookie, bodies, the
 * user name that ends up in an LDAP DN or filter) passes through here, so
 * these functions are fuzzed; they never allocate except through Jansson
 * for the JSON they return.
 */
#include "api_req.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/err.h"
#include "lib/jsonconf.h"

/* ------------------------------------------------------------ routing -- */

struct route_ent {
	const char *path;	/* after API_PREFIX */
	enum api_route_id id;
	int post, admin;
};

/* Fixed paths.  Viewers may POST logout and config/validate (no change). */
static const struct route_ent routes[] = {
	{ "login", API_R_LOGIN, 1, 0 },
	{ "logout", API_R_LOGOUT, 1, 0 },
	{ "session", API_R_SESSION, 0, 0 },
	{ "status", API_R_STATUS, 0, 0 },
	{ "vips", API_R_VIPS, 0, 0 },
	{ "nodes", API_R_NODES, 0, 0 },
	{ "stats", API_R_STATS, 0, 0 },
	{ "sessions", API_R_SESSIONS, 0, 0 },
	{ "failover", API_R_FAILOVER, 0, 0 },
	{ "history", API_R_HISTORY, 0, 0 },
	{ "config", API_R_CONFIG, 0, 0 },
	{ "config/validate", API_R_CONFIG_VALIDATE, 1, 0 },
	{ "config/apply", API_R_CONFIG_APPLY, 1, 1 },
	{ "migrate", API_R_MIGRATE, 1, 1 },
	{ "handoff", API_R_HANDOFF, 1, 1 },
	{ "cluster", API_R_CLUSTER, 0, 0 },
};

static int method_ok(const char *method, int post)
{
	if (post)
		return !strcmp(method, "POST");
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

static int set_method_err(struct api_route *r, int post, const char *method, char *err,
			  size_t errlen)
{
	r->status = 405;
	r->allow = post ? "POST" : "GET";
	return err_set(err, errlen, "method %.16s not allowed here (use %s)", method, r->allow);
}

int api_route(const char *method, const char *path, struct api_route *r, char *err,
	      size_t errlen)
{
	size_t plen = strlen(API_PREFIX);

	memset(r, 0, sizeof(*r));
	if (strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0) {
		r->id = API_R_STATIC;
		if (!method_ok(method, 0))
			return set_method_err(r, 0, method, err, errlen);
		return 0;
	}
	if (strncmp(path, API_PREFIX, plen) != 0) {
		r->status = 404;
		return err_set(err, errlen, "no such API path (the API lives under %s)", API_PREFIX);
	}
	const char *p = path + plen;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(p, routes[i].path) != 0)
			continue;
		r->id = routes[i].id;
		r->post = routes[i].post;
		r->admin = routes[i].admin;
		r->auth = r->id != API_R_LOGIN;
		if (!method_ok(method, r->post))
			return set_method_err(r, r->post, method, err, errlen);
		return 0;
	}
	/* nodes/{name}/drain | undrain */
	if (!strncmp(p, "nodes/", 6)) {
		const char *name = p + 6, *slash = strchr(name, '/');
		size_t nl = slash ? (size_t)(slash - name) : 0;
		if (slash && nl > 0 && nl <= API_NAME_MAX &&
		    (!strcmp(slash + 1, "drain") || !strcmp(slash + 1, "undrain"))) {
			memcpy(r->node, name, nl);
			r->node[nl] = '\0';
			if (!api_name_ok(r->node)) {
				r->node[0] = '\0';
				r->status = 404;
				return err_set(err, errlen, "bad node name in path (want [A-Za-z0-9_-], 1..32)");
			}
			r->id = !strcmp(slash + 1, "drain") ? API_R_DRAIN : API_R_UNDRAIN;
			r->post = r->admin = r->auth = 1;
			if (!method_ok(method, 1))
				return set_method_err(r, 1, method, err, errlen);
			return 0;
		}
	}
	r->status = 404;
	return err_set(err, errlen, "no such API path");
}

/* ------------------------------------------------------- static files -- */

int api_static_path(const char *path, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = path;

	if (!outlen || p[0] != '/')
		return -1;
	p++;
	while (*p) {
		const char *seg = p;
		size_t n = 0;
		while (seg[n] && seg[n] != '/')
			n++;
		if (n == 0 || seg[0] == '.')	/* "//", ".", "..", ".hidden" */
			return -1;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)seg[i];
			if (c < 0x20 || c == 0x7f || c == '\\')
				return -1;
		}
		if (o + n + 1 >= outlen)
			return -1;
		memcpy(out + o, seg, n);
		o += n;
		p = seg + n;
		if (*p == '/') {
			out[o++] = '/';
			p++;
		}
	}
	if (o == 0 || out[o - 1] == '/') {
		static const char idx[] = "index.html";
		if (o + sizeof(idx) > outlen)
			return -1;
		memcpy(out + o, idx, sizeof(idx));
		return (int)(o + sizeof(idx) - 1);
	}
	out[o] = '\0';
	return (int)o;
}

const char *api_content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "ico", "image/x-icon" },
		{ "webp", "image/webp" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "ttf", "font/ttf" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "wasm", "application/wasm" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');

	if (dot) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	}
	return "application/octet-stream";
}

/* -------------------------------------------------------------- query -- */

void api_query_init(struct api_query *q)
{
	memset(q, 0, sizeof(*q));
	q->limit = API_LIMIT_DEFAULT;
}

/* Decimal in 0..max, digits only.  0 / -1. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int api_query_set(struct api_query *q, const char *key, const char *val, char *err,
		  size_t errlen)
{
	uint64_t v;

	if (!strcmp(key, "vip")) {
		if (strlen(val) >= sizeof(q->vip))
			return err_set(err, errlen, "\"vip\": too long");
		strcpy(q->vip, val);
	} else if (!strcmp(key, "node")) {
		if (*val && !api_name_ok(val))
			return err_set(err, errlen, "\"node\": want a node name ([A-Za-z0-9_-], 1..32)");
		strcpy(q->node, val);
	} else if (!strcmp(key, "client")) {
		struct taddr a;
		if (!*val) {
			q->client[0] = '\0';
			return 0;
		}
		if (taddr_parse(val, &a) < 0)
			return err_set(err, errlen, "\"client\": want an IPv4 or IPv6 address");
		taddr_fmt(&a, q->client, sizeof(q->client));
	} else if (!strcmp(key, "proto")) {
		int p = *val ? proto_parse(val) : 0;
		if (p < 0)
			return err_set(err, errlen, "\"proto\": want \"tcp\" or \"udp\"");
		q->proto = p;
	} else if (!strcmp(key, "offset")) {
		if (parse_u64(val, UINT32_MAX, &v) < 0)
			return err_set(err, errlen, "\"offset\": want an integer 0..%u", UINT32_MAX);
		q->offset = (uint32_t)v;
	} else if (!strcmp(key, "limit")) {
		if (parse_u64(val, API_LIMIT_MAX, &v) < 0 || v == 0)
			return err_set(err, errlen, "\"limit\": want an integer 1..%d", API_LIMIT_MAX);
		q->limit = (uint32_t)v;
	} else if (!strcmp(key, "since")) {
		if (parse_u64(val, UINT64_MAX / 2, &v) < 0)
			return err_set(err, errlen, "\"since\": want unix milliseconds");
		q->since = v;
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-decode s[0..n) ('+' = space) into out[outlen].  Length or -1 (bad
 * escape, NUL, too long). */
static int url_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

int api_query_parse(const char *qs, size_t len, struct api_query *q, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i, eq = (size_t)-1;
		char key[32], val[128];
		while (j < len && qs[j] != '&') {
			if (qs[j] == '=' && eq == (size_t)-1)
				eq = j;
			j++;
		}
		if (j > i) {
			size_t kend = eq == (size_t)-1 ? j : eq;
			if (url_decode(qs + i, kend - i, key, sizeof(key)) < 0)
				return err_set(err, errlen, "bad query string (escape, NUL or length)");
			if (eq == (size_t)-1)
				val[0] = '\0';
			else if (url_decode(qs + eq + 1, j - eq - 1, val, sizeof(val)) < 0)
				return err_set(err, errlen, "\"%s\": bad value (escape, NUL or length)", key);
			if (api_query_set(q, key, val, err, errlen) < 0)
				return -1;
		}
		i = j + 1;
	}
	return 0;
}

/* Does flow row r pass q's client and proto filters? */
static int row_match(const json_t *r, const struct api_query *q)
{
	if (q->client[0]) {
		const char *c = json_string_value(json_object_get(r, "client"));
		struct taddr a;
		char buf[64];
		/* canonical comparison: lbd prints canonical forms, be sure anyway */
		if (!c || taddr_parse(c, &a) < 0 || strcmp(taddr_fmt(&a, buf, sizeof(buf)), q->client))
			return 0;
	}
	if (q->proto) {
		const char *p = json_string_value(json_object_get(r, "proto"));
		if (!p || proto_parse(p) != q->proto)
			return 0;
	}
	return 1;
}

json_t *api_sessions_page(const json_t *flows_reply, const struct api_query *q)
{
	const json_t *flows = json_object_get(flows_reply, "flows");
	json_t *rows, *out, *r;
	size_t i, total = 0;

	if (!json_is_array(flows))
		return NULL;
	rows = json_array();
	if (!rows)
		return NULL;
	json_array_foreach(flows, i, r) {
		if (!row_match(r, q))
			continue;
		if (total >= q->offset && total - q->offset < q->limit)
			json_array_append(rows, r);
		total++;
	}
	/* Without our own filters lbd's "total" counts past its limit. */
	if (!q->client[0] && !q->proto) {
		json_t *t = json_object_get(flows_reply, "total");
		if (json_is_integer(t) && json_integer_value(t) > (json_int_t)total)
			total = (size_t)json_integer_value(t);
	}
	out = json_pack("{s:o, s:I, s:I, s:I}", "sessions", rows, "total", (json_int_t)total,
			"offset", (json_int_t)q->offset, "limit", (json_int_t)q->limit);
	return out;
}

/* ------------------------------------------------------------ bodies -- */

int api_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
		if (n >= API_NAME_MAX)
			return 0;
	}
	return n > 0;
}

int api_user_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c < 0x20 || c == 0x7f || n >= API_USER_MAX)
			return 0;
	}
	return n > 0;
}

/* Parse a JSON object body; NULL with a message. */
static json_t *load_obj(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;

	if (len == 0) {
		err_set(err, errlen, "empty body: want a JSON object");
		return NULL;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		err_set(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		err_set(err, errlen, "want a JSON object");
		return NULL;
	}
	return o;
}

/* Unknown fields are refused (a typo must not pass silently), with the
 * configuration parsers' check; where: "" or the object's name. */
static int only_keys(json_t *o, const char *const *allowed, const char *where, char *err,
		     size_t errlen)
{
	struct jconf p = { .err = err, .errlen = errlen };

	snprintf(p.where, sizeof(p.where), "%s", where);
	return jconf_check_keys(&p, o, allowed);
}

int api_parse_login(const char *buf, size_t len, struct api_login *out, char *err,
		    size_t errlen)
{
	static const char *const keys[] = { "user", "password", NULL };
	json_t *o = load_obj(buf, len, err, errlen), *u, *p;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -1;
	if (only_keys(o, keys, "", err, errlen) < 0)
		goto out;
	u = json_object_get(o, "user");
	p = json_object_get(o, "password");
	if (!json_is_string(u)) {
		err_set(err, errlen, "\"user\" must be a string");
		goto out;
	}
	if (!json_is_string(p)) {
		err_set(err, errlen, "\"password\" must be a string");
		goto out;
	}
	/* json_string_length vs strlen: an embedded \u0000 must not truncate. */
	if (json_string_length(u) != strlen(json_string_value(u)) ||
	    !api_user_ok(json_string_value(u))) {
		err_set(err, errlen, "\"user\": 1..%d bytes, no control characters", API_USER_MAX);
		goto out;
	}
	if (json_string_length(p) != strlen(json_string_value(p)) ||
	    json_string_length(p) > API_PASSWORD_MAX) {
		err_set(err, errlen, "\"password\": at most %d bytes, no NUL", API_PASSWORD_MAX);
		goto out;
	}
	strcpy(out->user, json_string_value(u));
	strcpy(out->password, json_string_value(p));
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* "flow" object -> a clean copy for lbd, or NULL with a message. */
static json_t *parse_flow(json_t *f, char *err, size_t errlen)
{
	static const char *const keys[] = { "client", "client_port", "vip", "port", "proto", NULL };
	const char *c, *v, *p = "tcp";
	json_t *cp, *vp, *pr;
	struct taddr ca, va;
	char cbuf[64], vbuf[64];

	if (!json_is_object(f)) {
		err_set(err, errlen, "\"flow\" must be an object {client, client_port, vip, port, proto}");
		return NULL;
	}
	if (only_keys(f, keys, "flow", err, errlen) < 0)
		return NULL;
	c = json_string_value(json_object_get(f, "client"));
	v = json_string_value(json_object_get(f, "vip"));
	cp = json_object_get(f, "client_port");
	vp = json_object_get(f, "port");
	pr = json_object_get(f, "proto");
	if (!c || taddr_parse(c, &ca) < 0) {
		err_set(err, errlen, "flow: \"client\" must be an IPv4 or IPv6 address");
		return NULL;
	}
	if (!v || taddr_parse(v, &va) < 0) {
		err_set(err, errlen, "flow: \"vip\" must be an IPv4 or IPv6 address");
		return NULL;
	}
	if (ca.family != va.family) {
		err_set(err, errlen, "flow: \"client\" and \"vip\" must be of one address family");
		return NULL;
	}
	if (!json_is_integer(cp) || json_integer_value(cp) < 1 || json_integer_value(cp) > 65535) {
		err_set(err, errlen, "flow: \"client_port\" must be an integer 1..65535");
		return NULL;
	}
	if (!json_is_integer(vp) || json_integer_value(vp) < 1 || json_integer_value(vp) > 65535) {
		err_set(err, errlen, "flow: \"port\" must be an integer 1..65535");
		return NULL;
	}
	if (pr) {
		p = json_string_value(pr);
		if (!p || proto_parse(p) < 0) {
			err_set(err, errlen, "flow: \"proto\" must be \"tcp\" or \"udp\"");
			return NULL;
		}
	}
	return json_pack("{s:s, s:I, s:s, s:I, s:s}", "client", taddr_fmt(&ca, cbuf, sizeof(cbuf)),
			 "client_port", json_integer_value(cp), "vip",
			 taddr_fmt(&va, vbuf, sizeof(vbuf)), "port", json_integer_value(vp), "proto",
			 proto_name(proto_parse(p)));
}

/* Common part of migrate and handoff; allow_node: migrate's "node". */
static json_t *parse_move(const char *cmd, int allow_node, const char *buf, size_t len,
			  char *err, size_t errlen)
{
	static const char *const mkeys[] = { "node", "flow", "to", "repoint", NULL };
	static const char *const hkeys[] = { "flow", "to", NULL };
	json_t *o = load_obj(buf, len, err, errlen), *req = NULL, *flow = NULL;
	const char *to, *node;

	if (!o)
		return NULL;
	if (only_keys(o, allow_node ? mkeys : hkeys, "", err, errlen) < 0)
		goto out;
	to = json_string_value(json_object_get(o, "to"));
	if (!to || !api_name_ok(to)) {
		err_set(err, errlen, "\"to\" must be a node name ([A-Za-z0-9_-], 1..32)");
		goto out;
	}
	node = json_string_value(json_object_get(o, "node"));
	json_t *rp = json_object_get(o, "repoint");
	if (rp && (!json_is_boolean(rp) || !json_object_get(o, "flow"))) {
		err_set(err, errlen, "\"repoint\" must be true or false, with \"flow\"");
		goto out;
	}
	if (allow_node && json_object_get(o, "node") && json_object_get(o, "flow")) {
		err_set(err, errlen, "give either \"node\" or \"flow\", not both");
		goto out;
	}
	if (allow_node && json_object_get(o, "node")) {
		if (!node || !api_name_ok(node)) {
			err_set(err, errlen, "\"node\" must be a node name ([A-Za-z0-9_-], 1..32)");
			goto out;
		}
		req = json_pack("{s:s, s:s, s:s}", "cmd", cmd, "node", node, "to", to);
		goto out;
	}
	if (!json_object_get(o, "flow")) {
		err_set(err, errlen, allow_node ? "give \"node\" or \"flow\"" : "\"flow\" is required");
		goto out;
	}
	flow = parse_flow(json_object_get(o, "flow"), err, errlen);
	if (!flow)
		goto out;
	req = json_pack("{s:s, s:o, s:s}", "cmd", cmd, "flow", flow, "to", to);
	if (req && json_is_true(rp))
		json_object_set_new(req, "repoint", json_true());
out:
	json_decref(o);
	if (!req && err && !err[0])
		err_set(err, errlen, "out of memory");
	return req;
}

json_t *api_parse_migrate(const char *buf, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	return parse_move("migrate", 1, buf, len, err, errlen);
}

json_t *api_parse_handoff(const char *buf, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	return parse_move("handoff", 0, buf, len, err, errlen);
}

/* ------------------------------------------------------------- cookie -- */

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int api_cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = h;

	while (*p) {
		while (is_ows(*p) || *p == ';')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		size_t kl = (size_t)(p - k);
		while (kl && is_ows(k[kl - 1]))
			kl--;
		if (*p != '=') {	/* a pair without '=': skip it */
			continue;
		}
		p++;
		while (is_ows(*p))
			p++;
		const char *v = p;
		while (*p && *p != ';')
			p++;
		size_t vl = (size_t)(p - v);
		while (vl && is_ows(v[vl - 1]))
			vl--;
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v++;
			vl -= 2;
		}
		if (kl == nl && !memcmp(k, name, nl)) {
			if (vl >= outlen)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return (int)vl;
		}
	}
	return -1;
}

int api_token_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) ||
		    i >= API_TOKEN_HEX)
			return 0;
	return i == API_TOKEN_HEX;
}

/* --------------------------------------------------------------- LDAP -- */

int api_ldap_dn_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, n = strlen(in);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int esc = strchr(",+\"\\<>;=", c) != NULL || (i == 0 && (c == ' ' || c == '#')) ||
			  (i == n - 1 && c == ' ');
		if (c < 0x20 || c == 0x7f) {	/* control bytes: hex pair */
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
			continue;
		}
		if (o + (esc ? 2 : 1) >= outlen)
			return -1;
		if (esc)
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int api_ldap_filter_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int api_template_fill(const char *tmpl, const char *val, char *out, size_t outlen)
{
	size_t o = 0, vl = strlen(val);
	int subs = 0;

	for (const char *p = tmpl; *p; p++) {
		if (*p == '%') {
			if (p[1] == 's') {
				if (subs++ || o + vl >= outlen)
					return -1;
				memcpy(out + o, val, vl);
				o += vl;
				p++;
				continue;
			}
			if (p[1] != '%')
				return -1;
			p++;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = *p;
	}
	if (subs != 1 || o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}
