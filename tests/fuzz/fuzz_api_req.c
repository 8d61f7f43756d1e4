/* libFuzzer target: tandem-webd's request parsing (mgmt-web/api_req.c) and
 * header checks (mgmt-web/api_guard.c) must never crash or leak on any
 * input, and their results must keep their contracts.  The first byte
 * picks the parser; the rest is the input. */
#include <stdint.h>
#include <strings.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt-web/api_guard.h"
#include "mgmt-web/api_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (stops at an embedded NUL). */
static char *cstr(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

static void must_fail_with_message(int rc, const char *err)
{
	if (rc < 0 && (memchr(err, '\0', 256) == NULL || !err[0]))
		abort();	/* a failure must say why */
}

/* LDAP escaping and the DN/filter template. */
static void fuzz_ldap(const char *s)
{
	char out[512], t[600];
	int n = api_ldap_dn_escape(s, out, sizeof(out));

	if (n >= 0 && (size_t)n != strlen(out))
		abort();
	n = api_ldap_filter_escape(s, out, sizeof(out));
	if (n >= 0 && (strpbrk(out, "*()") || (size_t)n != strlen(out)))
		abort();
	api_template_fill(s, "v", t, sizeof(t));
}

/* api_guard.c: s is "ORIGIN\nHOST" for the Origin check (the Origin must
 * be exactly the scheme and Host), the whole for the others. */
static void fuzz_guard(char *s, const uint8_t *data, size_t size)
{
	char *host = strchr(s, '\n'), out[512];
	int n;

	if (host)
		*host++ = '\0';
	for (int tls = 0; tls < 2; tls++) {
		const char *sch = tls ? "https://" : "http://";
		if (api_origin_ok(s, host, tls) &&
		    (strncasecmp(s, sch, strlen(sch)) || !host || !host[0] || strchr(host, '/')))
			abort();
	}
	if (api_json_content_type(s) && !strcasestr(s, "application/json"))
		abort();
	n = api_user_key(s, out, sizeof(out));
	if (n >= 0 && ((size_t)n != strlen(out) || strpbrk(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ||
		       out[0] == ' ' || (n && out[n - 1] == ' ') || strstr(out, "  ")))
		abort();
	if (size >= 16) {
		n = api_client_key(data[0] & 1 ? AF_INET6 : AF_INET, data, out, sizeof(out));
		if (n < 0 || (size_t)n != strlen(out) || strncmp(out, "a:", 2))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "", out[512];
	uint8_t sel;
	char *s;

	if (size < 1)
		return 0;
	sel = data[0] % 9;
	data++;
	size--;
	s = cstr(data, size);
	switch (sel) {
	case 0: {
		struct api_route r;
		static const char *const m[] = { "GET", "POST", "HEAD", "PUT" };
		int rc = api_route(m[size % 4], s, &r, err, sizeof(err));
		must_fail_with_message(rc, err);
		if (rc < 0 && r.status != 404 && r.status != 405)
			abort();
		if (rc == 0 && (r.id == API_R_DRAIN || r.id == API_R_UNDRAIN) && !api_name_ok(r.node))
			abort();
		break;
	}
	case 1: {
		int n = api_static_path(s, out, sizeof(out));
		if (n >= 0 && (strstr(out, "..") && (!strncmp(out, "..", 2) || strstr(out, "/.."))))
			abort();
		if (n >= 0 && ((size_t)n != strlen(out) || out[0] == '/' || out[0] == '.'))
			abort();
		api_content_type(s);
		break;
	}
	case 2: {
		struct api_query q;
		api_query_init(&q);
		int rc = api_query_parse((const char *)data, size, &q, err, sizeof(err));
		must_fail_with_message(rc, err);
		if (rc == 0 && (q.limit < 1 || q.limit > API_LIMIT_MAX))
			abort();
		break;
	}
	case 3: {
		struct api_login lg;
		int rc = api_parse_login((const char *)data, size, &lg, err, sizeof(err));
		must_fail_with_message(rc, err);
		if (rc == 0 && !api_user_ok(lg.user))
			abort();
		break;
	}
	case 4:
	case 5: {
		json_t *r = sel == 4 ? api_parse_migrate((const char *)data, size, err, sizeof(err))
				     : api_parse_handoff((const char *)data, size, err, sizeof(err));
		must_fail_with_message(r ? 0 : -1, err);
		if (r && !json_is_string(json_object_get(r, "to")))
			abort();
		json_decref(r);
		break;
	}
	case 6: {
		int n = api_cookie_get(s, "tandem_session", out, sizeof(out));
		if (n >= 0 && (size_t)n != strlen(out))
			abort();
		api_token_ok(s);
		break;
	}
	case 7:
		fuzz_ldap(s);
		break;
	case 8:
		fuzz_guard(s, data, size);
		break;
	}
	free(s);
	return 0;
}
