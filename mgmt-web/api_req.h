/*
 * api_req.h - the pure parsing of tandem-webd's REST API (doc/api.md):
 * routing of request paths, static-file paths, query strings (filters and
 * paging), JSON bodies of login/migrate/handoff, the Cookie header, and the
 * LDAP escaping of user names.  No I/O and no global state, so every function
 * here is unit-tested (tests/unit/test_api_req.c) and fuzzed
 * (tests/fuzz/fuzz_api_req.c); mgmt-web/ does the I/O around them.
 *
 * Return convention (project-wide): 0 or a length on success, -1 on failure
 * with a one-line message naming the offending field in err (errlen bytes),
 * where a function takes err.
 */
#ifndef TANDEM_API_REQ_H
#define TANDEM_API_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define API_PREFIX "/api/v1/"
#define API_NAME_MAX 32		/* node names: as lib/jsonconf.h's names */
#define API_USER_MAX 64		/* login names, bytes */
#define API_PASSWORD_MAX 256
#define API_TOKEN_HEX 64	/* session ids and CSRF tokens: 256 bits in hex */
#define API_PATH_MAX 256	/* static file paths, relative */
#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX 10000

enum api_route_id {
	API_R_STATIC = 0,	/* not under /api/: a file of the console */
	API_R_LOGIN,
	API_R_LOGOUT,
	API_R_SESSION,
	API_R_STATUS,
	API_R_VIPS,
	API_R_NODES,
	API_R_STATS,
	API_R_SESSIONS,
	API_R_FAILOVER,
	API_R_HISTORY,
	API_R_CONFIG,
	API_R_CONFIG_VALIDATE,
	API_R_CONFIG_APPLY,
	API_R_DRAIN,
	API_R_UNDRAIN,
	API_R_MIGRATE,
	API_R_HANDOFF,
	API_R_CLUSTER,		/* GET: lbd's "cluster" reply (the NFS namespace map) */
};

struct api_route {
	enum api_route_id id;
	int status;		/* on failure: 404 or 405 */
	const char *allow;	/* on 405: the method the path wants ("GET"/"POST") */
	int post;		/* 1: a POST (needs the CSRF header, except login) */
	int admin;		/* 1: viewers get 403 */
	int auth;		/* 1: needs a session (all but login and static) */
	char node[API_NAME_MAX + 1];	/* drain/undrain: the {name} segment */
};

/*
 * Route method + path (the path without query string, %-decoded as
 * libmicrohttpd hands it over).  Paths outside /api/ route to API_R_STATIC
 * (for GET/HEAD; other methods 405).  Returns 0, or -1 with r->status
 * (404/405) and a message in err.
 */
int api_route(const char *method, const char *path, struct api_route *r, char *err,
	      size_t errlen);

/*
 * The file a static path names, relative to the www directory: "/" and any
 * path ending in "/" get "index.html".  Refused (-1): not starting with "/",
 * empty/"."/".." segments, segments starting with "." (hidden files), bytes
 * < 0x20, 0x7f or '\\', longer than outlen-1.  Returns the length of out.
 */
int api_static_path(const char *path, char *out, size_t outlen);

/* Content type for a file name by its extension ("application/octet-stream"
 * when unknown).  Never NULL. */
const char *api_content_type(const char *name);

/* Filters and paging of GET /sessions, and `since` of GET /history. */
struct api_query {
	char vip[64];		/* name or address; "" = any */
	char node[API_NAME_MAX + 1];
	char client[64];	/* literal address, canonical form; "" = any */
	int proto;		/* IPPROTO_TCP/UDP; 0 = any */
	uint32_t offset, limit;
	uint64_t since;		/* unix ms; 0 = all */
};

void api_query_init(struct api_query *q);
/* Apply one decoded key=value.  Unknown keys are ignored (cache busters). */
int api_query_set(struct api_query *q, const char *key, const char *val, char *err,
		  size_t errlen);
/* Parse a raw query string "a=b&c=d" (without '?'; %XX and '+' decoded) of
 * len bytes into q (after api_query_init). */
int api_query_parse(const char *qs, size_t len, struct api_query *q, char *err, size_t errlen);

/*
 * The GET /sessions answer from lbd's `flows` reply (not consumed): rows
 * matching q's client and proto filters (vip and node are lbd's own
 * filters, given to it in the request), then offset/limit.  Returns
 * {"sessions","total","offset","limit"} (caller owns it), or NULL when the
 * reply has no "flows" array or memory runs out.
 */
json_t *api_sessions_page(const json_t *flows_reply, const struct api_query *q);

/* POST /login body. */
struct api_login {
	char user[API_USER_MAX + 1];
	char password[API_PASSWORD_MAX + 1];	/* may be "" (refused later with 401) */
};
int api_parse_login(const char *buf, size_t len, struct api_login *out, char *err,
		    size_t errlen);

/*
 * POST /migrate and /handoff bodies -> the lbd request to send
 * ({"cmd":"migrate"|"handoff", ...}, caller owns it), or NULL with a message.
 * migrate: exactly one of "node" (a name) or "flow"; handoff: "flow".
 * "flow": {client, client_port, vip, port, proto?} with literal addresses of
 * one family, ports 1..65535, proto "tcp" (default) or "udp"; "to": a name.
 */
json_t *api_parse_migrate(const char *buf, size_t len, char *err, size_t errlen);
json_t *api_parse_handoff(const char *buf, size_t len, char *err, size_t errlen);

/* A node name: 1..32 of [A-Za-z0-9_-] (what lib/config.c accepts).  1/0. */
int api_name_ok(const char *s);
/* A login name: 1..API_USER_MAX bytes, valid UTF-8 left to LDAP, no control
 * bytes (< 0x20, 0x7f).  1/0. */
int api_user_ok(const char *s);

/*
 * Value of cookie `name` in a Cookie header ("a=1; b=2") into out; the
 * value may be quoted.  Returns its length, or -1 when absent or longer than
 * outlen-1.  When the name appears twice, the first wins (RFC 6265 5.4 order).
 */
int api_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* 1 if s is exactly API_TOKEN_HEX lower-case hex digits. */
int api_token_ok(const char *s);

/*
 * LDAP escaping of an untrusted value.  dn: RFC 4514 attribute value
 * (escapes , + " \ < > ; = NUL, a leading space or '#', a trailing space);
 * filter: RFC 4515 (\2a \28 \29 \5c \00 for * ( ) \ NUL).  Return the length
 * written to out, or -1 when it does not fit.
 */
int api_ldap_dn_escape(const char *in, char *out, size_t outlen);
int api_ldap_filter_escape(const char *in, char *out, size_t outlen);
/* tmpl with its one "%s" replaced by val (no other '%' allowed: "%%" is a
 * literal '%').  Length, or -1 (no/two "%s", bad '%', too long). */
int api_template_fill(const char *tmpl, const char *val, char *out, size_t outlen);

#endif
