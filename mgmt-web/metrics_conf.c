/*
 * metrics_conf.c - the "metrics" section of webd.json (metrics.h has the
 * rules, doc/api.md the keys).  Pure: text in, struct out; the files it
 * names are checked by -t and at start (metrics.c), not here.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "lib/jsonconf.h"

/* "listen" and "listen_auth" of o into m. */
static int parse_listener(struct jconf *p, json_t *o, struct webd_metrics_config *m)
{
	char listen[80], auth[16];

	if (jconf_get_str(p, o, "listen", listen, sizeof(listen), "") < 0 ||
	    jconf_get_str(p, o, "listen_auth", auth, sizeof(auth), "token") < 0)
		return -1;
	if (!listen[0]) {
		if (json_object_get(o, "listen_auth"))
			return jconf_perr(p, "\"listen_auth\" without \"listen\"");
		return 0;
	}
	if (taddr_parse_endpoint(listen, &m->listen_addr, &m->listen_port) < 0 || !m->listen_port)
		return jconf_perr(p, "\"listen\": want \"addr:port\" or \"[v6addr]:port\"");
	if (taddr_is_any(&m->listen_addr))
		return jconf_perr(p, "\"listen\" %s: give the management address to bind, not a "
				  "wildcard (the plain listener must not face the clients)", listen);
	if (!strcmp(auth, "none"))
		m->listen_open = 1;
	else if (strcmp(auth, "token"))
		return jconf_perr(p, "\"listen_auth\" must be \"token\" or \"none\"");
	else if (!m->token_file[0])
		return jconf_perr(p, "\"listen\" with \"listen_auth\": \"token\" (the default) needs "
				  "\"token_file\"");
	return 0;
}

int metrics_config_parse(struct jconf *p, json_t *o, struct webd_metrics_config *m,
			 int plain_http)
{
	static const char *const keys[] = { "token_file", "client_ca", "listen", "listen_auth",
					    NULL };
	int rc;

	memset(m, 0, sizeof(*m));
	snprintf(p->where, sizeof(p->where), "metrics");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object {token_file?, client_ca?, listen?, listen_auth?}");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str(p, o, "token_file", m->token_file, sizeof(m->token_file), "") < 0 ||
	    jconf_get_str(p, o, "client_ca", m->client_ca, sizeof(m->client_ca), "") < 0)
		return -1;
	if (!m->token_file[0] && !m->client_ca[0])
		return jconf_perr(p, "give \"token_file\" (a bearer token) or \"client_ca\" (client "
				  "certificates), or both: scrapes are authenticated");
	if (m->client_ca[0] && plain_http)
		return jconf_perr(p, "\"client_ca\" needs HTTPS (\"plain_http\" is set)");
	rc = parse_listener(p, o, m);
	if (rc == 0) {
		m->enabled = 1;
		p->where[0] = '\0';
	}
	return rc;
}

void metrics_config_describe(const struct webd_metrics_config *m, char *out, size_t outlen)
{
	char a[TADDR_STRLEN];

	if (!m->enabled) {
		snprintf(out, outlen, "metrics: not served (no \"metrics\" section)");
		return;
	}
	int n = snprintf(out, outlen, "metrics: /metrics for %s%s%s", m->token_file[0] ?
			 "the bearer token in " : "", m->token_file,
			 m->client_ca[0] ? (m->token_file[0] ? " or a client certificate of "
				   : "a client certificate of ") : "");
	if (n < 0 || (size_t)n >= outlen)
		return;
	n += snprintf(out + n, outlen - (size_t)n, "%s", m->client_ca);
	if (m->listen_port && (size_t)n < outlen)
		snprintf(out + n, outlen - (size_t)n, "; plain HTTP on %s%s%s:%u %s",
			 m->listen_addr.family == 6 ? "[" : "",
			 taddr_fmt(&m->listen_addr, a, sizeof(a)), m->listen_addr.family == 6 ? "]" : "",
			 m->listen_port, m->listen_open ? "WITHOUT authentication (listen_auth none)"
							: "with the bearer token");
}
