/*
 * api_guard.h - the pure checks tandem-webd makes on a request's headers
 * before it looks at the request itself (doc/api.md, "Cross-site requests"),
 * and the key a client address is rate-limited under.  Like api_req.h: no
 * I/O, no global state; unit-tested (tests/unit/test_api_req.c) and fuzzed
 * (tests/fuzz/fuzz_api_req.c).
 */
#ifndef TANDEM_API_GUARD_H
#define TANDEM_API_GUARD_H

#include <stddef.h>

/*
 * 1 if the Content-Type header value ct names application/json (media type
 * case-insensitive, optional parameters after ';' such as charset), else 0
 * (also for NULL).  A browser page on another site can send a cross-site
 * POST without a CORS preflight only as text/plain, a form or multipart:
 * requiring JSON refuses all of them.
 */
int api_json_content_type(const char *ct);

/*
 * 1 if the Origin header value origin is the origin of this server as the
 * client addressed it: "https://" (or "http://" when tls is 0) followed by
 * the Host header value host, compared case-insensitively, with the
 * scheme's default port (:443, :80) dropped on both sides.  0 otherwise,
 * also for "null", a path after the host, or a NULL/empty host.
 */
int api_origin_ok(const char *origin, const char *host, int tls);

/*
 * The login rate limit's key for a client address ("a:" + text): an IPv4
 * address as it is, an IPv4-mapped IPv6 address as IPv4, any other IPv6
 * address by its /64 ("a:2001:db8:1:2::/64"): one subscriber line or host
 * gets a whole /64, so rotating through it must not buy more guesses.
 * family is AF_INET (addr: 4 bytes) or AF_INET6 (16 bytes).  Returns the
 * length, or -1 (other family, outlen too small).
 */
int api_client_key(int family, const void *addr, char *out, size_t outlen);

/*
 * The form of a login name that limits and caps are keyed on: ASCII letters
 * folded to lower case, spaces trimmed at both ends and runs of spaces
 * made one.  LDAP compares uid and cn that way (caseIgnoreMatch,
 * insignificant spaces), so "Victor" and " victor" log in as victor and
 * must count as victor.  Returns the length, or -1 when outlen is too small.
 */
int api_user_key(const char *user, char *out, size_t outlen);

#endif
