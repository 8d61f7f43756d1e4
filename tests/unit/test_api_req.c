/* Unit tests of mgmt-web/api_req.c: routing, static paths, query strings, the
 * sessions page, login/migrate/handoff bodies, cookies, LDAP escaping; and
 * of mgmt-web/api_guard.c: Content-Type, Origin, rate limit keys. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "mgmt-web/api_guard.h"
#include "mgmt-web/api_req.h"
#include "check.h"

static void test_route(void)
{
	struct api_route r;
	char err[256];

	CHECK(api_route("POST", "/api/v1/login", &r, err, sizeof(err)) == 0 && r.id == API_R_LOGIN &&
	      !r.auth && r.post, "login: POST, no session needed");
	CHECK(api_route("GET", "/api/v1/login", &r, err, sizeof(err)) < 0 && r.status == 405 &&
	      !strcmp(r.allow, "POST"), "GET login -> 405 Allow POST");
	CHECK(api_route("GET", "/api/v1/nodes", &r, err, sizeof(err)) == 0 && r.id == API_R_NODES &&
	      r.auth && !r.post && !r.admin, "GET nodes");
	CHECK(api_route("HEAD", "/api/v1/status", &r, err, sizeof(err)) == 0, "HEAD status");
	CHECK(api_route("POST", "/api/v1/nodes/n1/drain", &r, err, sizeof(err)) == 0 &&
	      r.id == API_R_DRAIN && !strcmp(r.node, "n1") && r.admin && r.post, "drain n1");
	CHECK(api_route("POST", "/api/v1/nodes/web-2/undrain", &r, err, sizeof(err)) == 0 &&
	      r.id == API_R_UNDRAIN && !strcmp(r.node, "web-2"), "undrain web-2");
	CHECK(api_route("GET", "/api/v1/nodes/n1/drain", &r, err, sizeof(err)) < 0 && r.status == 405,
	      "GET drain -> 405");
	CHECK(api_route("POST", "/api/v1/nodes/n.1/drain", &r, err, sizeof(err)) < 0 && r.status == 404,
	      "bad node name -> 404");
	CHECK(api_route("POST", "/api/v1/nodes//drain", &r, err, sizeof(err)) < 0 && r.status == 404,
	      "empty node name -> 404");
	CHECK(api_route("POST", "/api/v1/nodes/n1/drain/x", &r, err, sizeof(err)) < 0 &&
	      r.status == 404, "trailing segment -> 404");
	CHECK(api_route("POST", "/api/v1/config/apply", &r, err, sizeof(err)) == 0 && r.admin,
	      "config apply is admin-only");
	CHECK(api_route("POST", "/api/v1/config/validate", &r, err, sizeof(err)) == 0 && !r.admin &&
	      r.post, "config validate: viewers too, but CSRF");
	CHECK(api_route("POST", "/api/v1/logout", &r, err, sizeof(err)) == 0 && !r.admin && r.auth,
	      "logout: any session");
	CHECK(api_route("GET", "/api/v2/nodes", &r, err, sizeof(err)) < 0 && r.status == 404,
	      "other API version -> 404");
	CHECK(api_route("GET", "/api/v1/", &r, err, sizeof(err)) < 0 && r.status == 404, "API root -> 404");
	CHECK(api_route("GET", "/index.html", &r, err, sizeof(err)) == 0 && r.id == API_R_STATIC &&
	      !r.auth, "static file, no session");
	CHECK(api_route("POST", "/index.html", &r, err, sizeof(err)) < 0 && r.status == 405,
	      "POST to a static path -> 405");
}

static void test_static(void)
{
	char out[64];

	CHECK(api_static_path("/", out, sizeof(out)) == 10 && !strcmp(out, "index.html"), "/ -> index.html");
	CHECK(api_static_path("/js/app.js", out, sizeof(out)) > 0 && !strcmp(out, "js/app.js"), "js/app.js");
	CHECK(api_static_path("/js/", out, sizeof(out)) > 0 && !strcmp(out, "js/index.html"),
	      "directory -> its index.html");
	CHECK(api_static_path("/../etc/passwd", out, sizeof(out)) < 0, "..");
	CHECK(api_static_path("/js/../../x", out, sizeof(out)) < 0, "inner ..");
	CHECK(api_static_path("/./x", out, sizeof(out)) < 0, ".");
	CHECK(api_static_path("/.git/config", out, sizeof(out)) < 0, "hidden");
	CHECK(api_static_path("//etc/passwd", out, sizeof(out)) < 0, "empty segment");
	CHECK(api_static_path("/a\\b", out, sizeof(out)) < 0, "backslash");
	CHECK(api_static_path("/a\nb", out, sizeof(out)) < 0, "control byte");
	CHECK(api_static_path("x", out, sizeof(out)) < 0, "relative");
	CHECK(api_static_path("/0123456789012345678901234567890123456789012345678901234567890123456789",
			      out, sizeof(out)) < 0, "too long");
	CHECK(!strcmp(api_content_type("a/b.JS"), "text/javascript; charset=utf-8"), "js type");
	CHECK(!strcmp(api_content_type("x.svg"), "image/svg+xml"), "svg type");
	CHECK(!strcmp(api_content_type("x.d/y"), "application/octet-stream"), "no extension");
}

static void test_query(void)
{
	struct api_query q;
	char err[256];

	api_query_init(&q);
	CHECK(q.limit == API_LIMIT_DEFAULT && q.offset == 0, "defaults");
	const char *qs = "vip=v4&node=n2&client=10.0.0.1&proto=udp&offset=20&limit=5";
	CHECK(api_query_parse(qs, strlen(qs), &q, err, sizeof(err)) == 0 && !strcmp(q.vip, "v4") && !strcmp(q.node, "n2") &&
	      !strcmp(q.client, "10.0.0.1") && q.proto == IPPROTO_UDP && q.offset == 20 && q.limit == 5,
	      "all filters");
	api_query_init(&q);
	CHECK(api_query_parse("client=fd77%3A1%3A%3A0010", 25, &q, err, sizeof(err)) == 0 &&
	      !strcmp(q.client, "fd77:1::10"), "%%-decoded and canonical v6 client: %s", q.client);
	CHECK(api_query_parse("limit=0", 7, &q, err, sizeof(err)) < 0 && strstr(err, "limit"), "limit 0");
	CHECK(api_query_parse("limit=10001", 11, &q, err, sizeof(err)) < 0, "limit too big");
	CHECK(api_query_parse("offset=-1", 9, &q, err, sizeof(err)) < 0, "negative offset");
	CHECK(api_query_parse("offset=99999999999", 18, &q, err, sizeof(err)) < 0, "offset overflow");
	CHECK(api_query_parse("proto=icmp", 10, &q, err, sizeof(err)) < 0 && strstr(err, "proto"), "proto");
	CHECK(api_query_parse("client=nothere", 14, &q, err, sizeof(err)) < 0, "bad client");
	CHECK(api_query_parse("node=a%2fb", 10, &q, err, sizeof(err)) < 0, "bad node");
	CHECK(api_query_parse("node=%zz", 8, &q, err, sizeof(err)) < 0, "bad escape");
	CHECK(api_query_parse("node=%4", 7, &q, err, sizeof(err)) < 0, "truncated escape");
	CHECK(api_query_parse("node=a%00", 9, &q, err, sizeof(err)) < 0, "NUL");
	api_query_init(&q);
	CHECK(api_query_parse("_=123&&x&since=42", 17, &q, err, sizeof(err)) == 0 && q.since == 42,
	      "unknown keys ignored, since");
}

static void test_page(void)
{
	json_t *rep = json_loads("{\"ok\":true,\"total\":4,\"truncated\":false,\"flows\":["
				 "{\"client\":\"10.0.0.1\",\"proto\":\"tcp\",\"client_port\":1},"
				 "{\"client\":\"10.0.0.2\",\"proto\":\"udp\",\"client_port\":2},"
				 "{\"client\":\"10.0.0.1\",\"proto\":\"udp\",\"client_port\":3},"
				 "{\"client\":\"10.0.0.1\",\"proto\":\"tcp\",\"client_port\":4}]}", 0, NULL);
	struct api_query q;
	json_t *p;

	api_query_init(&q);
	q.offset = 1;
	q.limit = 2;
	p = api_sessions_page(rep, &q);
	CHECK(p && json_integer_value(json_object_get(p, "total")) == 4 &&
	      json_array_size(json_object_get(p, "sessions")) == 2 &&
	      json_integer_value(json_object_get(json_array_get(json_object_get(p, "sessions"), 0),
						 "client_port")) == 2, "offset 1 limit 2");
	json_decref(p);
	api_query_init(&q);
	strcpy(q.client, "10.0.0.1");
	q.proto = IPPROTO_TCP;
	p = api_sessions_page(rep, &q);
	CHECK(p && json_integer_value(json_object_get(p, "total")) == 2, "client + proto filter");
	json_decref(p);
	api_query_init(&q);
	q.offset = 10;
	p = api_sessions_page(rep, &q);
	CHECK(p && json_array_size(json_object_get(p, "sessions")) == 0 &&
	      json_integer_value(json_object_get(p, "total")) == 4, "offset past the end");
	json_decref(p);
	json_t *bad = json_pack("{s:b}", "ok", 1);
	CHECK(api_sessions_page(bad, &q) == NULL, "no flows array");
	json_decref(bad);
	json_decref(rep);
}

static void test_bodies(void)
{
	struct api_login lg;
	char err[256];
	json_t *r;
	const char *s;

	s = "{\"user\":\"alice\",\"password\":\"alice-pw\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) == 0 && !strcmp(lg.user, "alice") &&
	      !strcmp(lg.password, "alice-pw"), "login");
	s = "{\"user\":\"alice\",\"password\":\"\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) == 0 && lg.password[0] == 0,
	      "empty password parses (refused with 401 later)");
	s = "{\"user\":\"\",\"password\":\"x\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) < 0, "empty user");
	s = "{\"user\":\"a\\u0000b\",\"password\":\"x\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) < 0, "NUL in user");
	s = "{\"user\":\"a\\nb\",\"password\":\"x\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) < 0, "newline in user");
	s = "{\"user\":\"a\",\"password\":\"x\",\"role\":\"admin\"}";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) < 0 && strstr(err, "role"),
	      "unknown field named: %s", err);
	s = "{\"user\":\"a\",";
	CHECK(api_parse_login(s, strlen(s), &lg, err, sizeof(err)) < 0 && strstr(err, "bad JSON"),
	      "bad JSON: %s", err);
	CHECK(api_parse_login("[]", 2, &lg, err, sizeof(err)) < 0, "not an object");
	CHECK(api_parse_login("", 0, &lg, err, sizeof(err)) < 0 && strstr(err, "empty"), "empty body");

	s = "{\"node\":\"n1\",\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(r && !strcmp(json_string_value(json_object_get(r, "cmd")), "migrate") &&
	      !strcmp(json_string_value(json_object_get(r, "node")), "n1"), "migrate node");
	json_decref(r);
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":5,\"vip\":\"10.77.1.100\",\"port\":80},"
	    "\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(r && !strcmp(json_string_value(json_object_get(json_object_get(r, "flow"), "proto")),
			   "tcp"), "migrate flow, proto defaults to tcp");
	CHECK(r && !json_object_get(r, "repoint"), "migrate flow: no repoint unless asked");
	json_decref(r);
	r = api_parse_handoff(s, strlen(s), err, sizeof(err));
	CHECK(r && !strcmp(json_string_value(json_object_get(r, "cmd")), "handoff"), "handoff flow");
	json_decref(r);
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":5,\"vip\":\"10.77.1.100\",\"port\":80},"
	    "\"to\":\"n2\",\"repoint\":true}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(r && json_is_true(json_object_get(r, "repoint")), "migrate flow with repoint");
	json_decref(r);
	r = api_parse_handoff(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "repoint"), "handoff takes no repoint: %s", err);
	s = "{\"node\":\"n1\",\"to\":\"n2\",\"repoint\":true}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "repoint"), "repoint needs a flow: %s", err);
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":5,\"vip\":\"10.77.1.100\",\"port\":80},"
	    "\"to\":\"n2\",\"repoint\":1}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "repoint"), "repoint must be a boolean: %s", err);
	s = "{\"node\":\"n1\",\"to\":\"n2\"}";
	r = api_parse_handoff(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "node"), "handoff takes no node: %s", err);
	s = "{\"node\":\"n1\",\"flow\":{},\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "not both"), "node and flow");
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":5,\"vip\":\"fd77::1\",\"port\":80},\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "family"), "mixed families: %s", err);
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":65536,\"vip\":\"10.0.0.2\",\"port\":80},\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "client_port"), "port range");
	s = "{\"flow\":{\"client\":\"10.0.0.1\",\"client_port\":1,\"vip\":\"10.0.0.2\",\"port\":80,\"proto\":\"sctp\"},\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "proto"), "proto");
	s = "{\"node\":\"n1\",\"to\":\"n 2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "\"to\""), "bad target name");
	s = "{\"node\":\"n1\",\"node\":\"n3\",\"to\":\"n2\"}";
	r = api_parse_migrate(s, strlen(s), err, sizeof(err));
	CHECK(!r && strstr(err, "duplicate"), "duplicate keys refused: %s", err);
}

static void test_cookie(void)
{
	char v[80];

	CHECK(api_cookie_get("a=1; tandem_session=abc; b=2", "tandem_session", v, sizeof(v)) == 3 &&
	      !strcmp(v, "abc"), "middle");
	CHECK(api_cookie_get("tandem_session=\"q\"", "tandem_session", v, sizeof(v)) == 1 &&
	      !strcmp(v, "q"), "quoted");
	CHECK(api_cookie_get("xtandem_session=1", "tandem_session", v, sizeof(v)) < 0, "prefix name");
	CHECK(api_cookie_get("tandem_session=1; tandem_session=2", "tandem_session", v, sizeof(v)) == 1 &&
	      !strcmp(v, "1"), "first wins");
	CHECK(api_cookie_get("junk; tandem_session=z", "tandem_session", v, sizeof(v)) == 1, "after junk");
	CHECK(api_cookie_get("tandem_session=0123456789", "tandem_session", v, 5) < 0, "too long");
	CHECK(api_cookie_get("", "tandem_session", v, sizeof(v)) < 0, "empty header");
	CHECK(api_token_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "token");
	CHECK(!api_token_ok("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"), "upper");
	CHECK(!api_token_ok("0123"), "short token");
}

static void test_ldap(void)
{
	char out[128];

	CHECK(api_ldap_dn_escape("alice", out, sizeof(out)) == 5 && !strcmp(out, "alice"), "plain");
	CHECK(api_ldap_dn_escape("a,b+c=d", out, sizeof(out)) > 0 && !strcmp(out, "a\\,b\\+c\\=d"),
	      "specials: %s", out);
	CHECK(api_ldap_dn_escape(" #x ", out, sizeof(out)) > 0 && !strcmp(out, "\\ #x\\ "),
	      "leading/trailing space: %s", out);
	CHECK(api_ldap_dn_escape("#x", out, sizeof(out)) > 0 && !strcmp(out, "\\#x"), "leading #");
	CHECK(api_ldap_dn_escape("a\\\"<>;", out, sizeof(out)) > 0 && !strcmp(out, "a\\\\\\\"\\<\\>\\;"),
	      "backslash quote angle semicolon: %s", out);
	CHECK(api_ldap_dn_escape("abcdef", out, 4) < 0, "does not fit");
	CHECK(api_ldap_filter_escape("a*(b)\\", out, sizeof(out)) > 0 &&
	      !strcmp(out, "a\\2a\\28b\\29\\5c"), "filter: %s", out);
	CHECK(api_template_fill("uid=%s,ou=people", "bob", out, sizeof(out)) > 0 &&
	      !strcmp(out, "uid=bob,ou=people"), "template");
	CHECK(api_template_fill("(uid=%s)(x=100%%)", "b", out, sizeof(out)) > 0 &&
	      !strcmp(out, "(uid=b)(x=100%)"), "%%%% literal");
	CHECK(api_template_fill("uid=%s,%s", "b", out, sizeof(out)) < 0, "two %%s");
	CHECK(api_template_fill("uid=x", "b", out, sizeof(out)) < 0, "no %%s");
	CHECK(api_template_fill("uid=%d", "b", out, sizeof(out)) < 0, "%%d");
	CHECK(api_user_ok("alice") && !api_user_ok("") && !api_user_ok("a\tb"), "user names");
	CHECK(api_name_ok("n1") && !api_name_ok("n/1") &&
	      !api_name_ok("012345678901234567890123456789012"), "node names");
}

static void test_guard(void)
{
	unsigned char a[16];
	char k[64];

	CHECK(api_json_content_type("application/json"), "json");
	CHECK(api_json_content_type("Application/JSON; charset=utf-8"), "json, case, charset");
	CHECK(api_json_content_type(" application/json ;x=y"), "json, spaces");
	CHECK(!api_json_content_type("text/plain"), "text/plain refused");
	CHECK(!api_json_content_type("application/x-www-form-urlencoded"), "form refused");
	CHECK(!api_json_content_type("multipart/form-data; boundary=x"), "multipart refused");
	CHECK(!api_json_content_type("application/jsonp"), "application/jsonp refused");
	CHECK(!api_json_content_type("text/plain; x=application/json"), "json in a parameter");
	CHECK(!api_json_content_type(NULL) && !api_json_content_type(""), "none");

	CHECK(api_origin_ok("https://10.77.1.1:8443", "10.77.1.1:8443", 1), "same origin");
	CHECK(api_origin_ok("https://Console.Example", "console.example:443", 1),
	      "case and default port");
	CHECK(api_origin_ok("https://[fd77:1::1]:8443", "[fd77:1::1]:8443", 1), "IPv6 host");
	CHECK(api_origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080", 0), "plain http");
	CHECK(!api_origin_ok("http://10.77.1.1:8443", "10.77.1.1:8443", 1), "scheme differs");
	CHECK(!api_origin_ok("https://evil.example", "10.77.1.1:8443", 1), "another site");
	CHECK(!api_origin_ok("https://10.77.1.1:8444", "10.77.1.1:8443", 1), "another port");
	CHECK(!api_origin_ok("https://10.77.1.1:8443.evil", "10.77.1.1:8443", 1), "suffix");
	CHECK(!api_origin_ok("https://10.77.1.1", "10.77.1.1:8443", 1), "port missing");
	CHECK(!api_origin_ok("null", "10.77.1.1:8443", 1), "null origin");
	CHECK(!api_origin_ok("https://", "", 1) && !api_origin_ok("https://x", NULL, 1), "no host");
	CHECK(!api_origin_ok("https://a/b", "a/b", 1), "a path in Host");

	inet_pton(AF_INET, "10.77.1.11", a);
	CHECK(api_client_key(AF_INET, a, k, sizeof(k)) > 0 && !strcmp(k, "a:10.77.1.11"), "v4: %s", k);
	inet_pton(AF_INET6, "fd77:1::1:2:3:4", a);
	CHECK(api_client_key(AF_INET6, a, k, sizeof(k)) > 0 && !strcmp(k, "a:fd77:1::/64"),
	      "v6 by /64: %s", k);
	inet_pton(AF_INET6, "2001:db8:aa:bb:ffff::1", a);
	CHECK(api_client_key(AF_INET6, a, k, sizeof(k)) > 0 && !strcmp(k, "a:2001:db8:aa:bb::/64"),
	      "v6 by /64: %s", k);
	inet_pton(AF_INET6, "::ffff:10.0.0.9", a);
	CHECK(api_client_key(AF_INET6, a, k, sizeof(k)) > 0 && !strcmp(k, "a:10.0.0.9"),
	      "v4-mapped as v4: %s", k);
	CHECK(api_client_key(AF_INET6, a, k, 8) < 0, "too small");
	CHECK(api_client_key(AF_UNIX, a, k, sizeof(k)) < 0, "other family");

	CHECK(api_user_key("Victor", k, sizeof(k)) == 6 && !strcmp(k, "victor"), "user key: case");
	CHECK(api_user_key("  John   SMITH ", k, sizeof(k)) == 10 && !strcmp(k, "john smith"),
	      "user key: spaces: '%s'", k);
	CHECK(api_user_key("Ünïcode", k, sizeof(k)) > 0 && !strcmp(k, "Ünïcode"),
	      "user key: non-ASCII bytes kept");
	CHECK(api_user_key("   ", k, sizeof(k)) == 0 && !k[0], "user key: only spaces");
	CHECK(api_user_key("abcdef", k, 6) < 0 && api_user_key("abcde", k, 6) == 5, "user key: fits");
}

int main(void)
{
	test_route();
	test_static();
	test_query();
	test_page();
	test_bodies();
	test_cookie();
	test_ldap();
	test_guard();
	return check_done();
}
