/*
 * config.c - tandem-webd's own JSON configuration (doc/api.md, example in
 * appliance/examples/webd.json).  webd_config_parse() is pure (text in,
 * struct out); unknown keys are errors so that typos do not pass silently.
 * There is deliberately no default LDAP user or password; the default
 * server is the appliance's own directory (its config's "directory"
 * section: the switch's slapd of a pair, or the site's LDAP), filled in by
 * webd_config_load, not by the pure parser.
 */
#include "webd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/jsonconf.h"
#include "lib/paths.h"

#define DEF_WWW TANDEM_WWWDIR
#define DEF_LBD "/run/tandem/lbd.sock"
#define DEF_CONFIG "/etc/tandem/tandem.json"

/* A template/filter with exactly one %s (tested on a dummy value). */
static int one_s(const char *t)
{
	char buf[WEBD_DN_MAX];

	return api_template_fill(t, "x", buf, sizeof(buf)) >= 0;
}

/*
 * ldap.uri: one URI or several separated by spaces (libldap tries them in
 * turn), each ldap://, ldaps:// or ldapi://.  A plain ldap:// one without
 * StartTLS would carry every login's password in clear: refused unless
 * allow_cleartext says so (a lab's local directory).
 */
static int check_uris(struct jconf *p, const struct webd_ldap *l)
{
	const char *u = l->uri;

	while (*u) {
		size_t n = strcspn(u, " \t");
		if (n == 0) {
			u++;
			continue;
		}
		if (strncmp(u, "ldap://", 7) && strncmp(u, "ldaps://", 8) && strncmp(u, "ldapi://", 8))
			return jconf_perr(p, "\"uri\" must start with ldap://, ldaps:// or ldapi://");
		if (!strncmp(u, "ldap://", 7) && !l->starttls && !l->allow_cleartext)
			return jconf_perr(p, "\"uri\" %.*s without \"starttls\": true would send passwords "
					  "in clear: use ldaps://, \"starttls\": true or ldapi://, or set "
					  "\"allow_cleartext\": true (labs only)", (int)(n > 200 ? 200 : n), u);
		u += n;
	}
	return 0;
}

/* What an ldap section must hold once complete (given, or filled from
 * the directory): a URI list, exactly one way to find users, both groups. */
static int ldap_checks(struct jconf *p, const struct webd_ldap *l, int has_search)
{
	snprintf(p->where, sizeof(p->where), "ldap");
	if (check_uris(p, l) < 0)
		return -1;
	if (!l->admin_group[0] || !l->viewer_group[0])
		return jconf_perr(p, "\"admin_group\" and \"viewer_group\" are required with \"uri\"");
	if (has_search == !!l->user_dn_template[0])
		return jconf_perr(p, "give exactly one of \"user_dn_template\" or \"search\"");
	if (l->user_dn_template[0] && !one_s(l->user_dn_template))
		return jconf_perr(p, "\"user_dn_template\" needs exactly one %%s (the user name)");
	return 0;
}

static int parse_search(struct jconf *p, json_t *s, struct webd_ldap *l)
{
	static const char *const skeys[] = { "base", "filter", "bind_dn", "bind_password_file",
					     NULL };

	snprintf(p->where, sizeof(p->where), "ldap.search");
	if (!json_is_object(s))
		return jconf_perr(p, "must be an object {base, filter, bind_dn?, bind_password_file?}");
	if (jconf_check_keys(p, s, skeys) < 0 ||
	    jconf_get_str(p, s, "base", l->search_base, sizeof(l->search_base), NULL) < 0 ||
	    jconf_get_str(p, s, "filter", l->search_filter, sizeof(l->search_filter), NULL) < 0 ||
	    jconf_get_str(p, s, "bind_dn", l->bind_dn, sizeof(l->bind_dn), "") < 0 ||
	    jconf_get_str(p, s, "bind_password_file", l->bind_password_file,
		    sizeof(l->bind_password_file), "") < 0)
		return -1;
	if (!one_s(l->search_filter) || l->search_filter[0] != '(')
		return jconf_perr(p, "\"filter\" must be an LDAP filter with exactly one %%s, e.g. \"(uid=%%s)\"");
	if (!l->bind_dn[0] != !l->bind_password_file[0])
		return jconf_perr(p, "give both \"bind_dn\" and \"bind_password_file\", or neither");
	return 0;
}

/* o: the "ldap" object, or NULL (absent: everything from the directory).
 * Without "uri" the server, and what else is not given, come later from
 * the appliance config's "directory" (webd_ldap_from_directory). */
static int parse_ldap(struct jconf *p, json_t *o, struct webd_ldap *l)
{
	static const char *const keys[] = { "uri", "user_dn_template", "search", "admin_group",
					    "viewer_group", "timeout_ms", "starttls", "ca_file",
					    "allow_cleartext", NULL };
	json_t *s, *empty = NULL;
	int rc = -1;

	snprintf(p->where, sizeof(p->where), "ldap");
	if (o && !json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (!o)
		o = empty = json_object();
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_str_empty(p, o, "uri", l->uri, sizeof(l->uri), "") < 0 ||
	    jconf_get_str(p, o, "user_dn_template", l->user_dn_template, sizeof(l->user_dn_template),
		    "") < 0 ||
	    jconf_get_str(p, o, "admin_group", l->admin_group, sizeof(l->admin_group), "") < 0 ||
	    jconf_get_str(p, o, "viewer_group", l->viewer_group, sizeof(l->viewer_group), "") < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &l->timeout_ms, 5000, 100, 60000) < 0 ||
	    jconf_get_bool(p, o, "starttls", &l->starttls, 0) < 0 ||
	    jconf_get_bool(p, o, "allow_cleartext", &l->allow_cleartext, 0) < 0 ||
	    jconf_get_str(p, o, "ca_file", l->ca_file, sizeof(l->ca_file), "") < 0)
		goto out;
	if (l->ca_file[0] && access(l->ca_file, R_OK) < 0) {
		jconf_perr(p, "\"ca_file\" %s: %s", l->ca_file, strerror(errno));
		goto out;
	}
	s = json_object_get(o, "search");
	if (s && parse_search(p, s, l) < 0)
		goto out;
	l->has_search = !!s;
	l->from_directory = !l->uri[0];
	if (!l->from_directory && ldap_checks(p, l, l->has_search) < 0)
		goto out;
	p->where[0] = '\0';
	rc = 0;
out:
	json_decref(empty);
	return rc;
}

int webd_ldap_from_directory(struct webd_ldap *l, const struct cfg_directory *d, char *err,
			     size_t errlen)
{
	struct jconf p = { .err = err, .errlen = errlen };
	int n = 0;

	if (d->mode == CFG_DIR_PAIR) {
		/* this switch's own slapd, over its local socket: no password on
		 * any network, and the switch's copy answers while the peer is away */
		if (config_dir_ldapi(d->run_dir, l->uri, sizeof(l->uri)) < 0)
			return jconf_perr(&p, "directory.run_dir is too long for \"ldap.uri\"");
	} else if (d->mode == CFG_DIR_EXTERNAL) {
		snprintf(l->uri, sizeof(l->uri), "%s", d->uri);
	} else {
		return jconf_perr(&p, "ldap: no \"uri\", and the appliance config (\"config_path\") has "
				  "no \"directory\" to take it from");
	}
	if (!l->user_dn_template[0] && !l->has_search)
		n |= snprintf(l->user_dn_template, sizeof(l->user_dn_template), "uid=%%s,ou=people,%s",
			      d->base) >= (int)sizeof(l->user_dn_template);
	if (!l->admin_group[0])
		n |= snprintf(l->admin_group, sizeof(l->admin_group), "cn=tandem-admins,ou=groups,%s",
			      d->base) >= (int)sizeof(l->admin_group);
	if (!l->viewer_group[0])
		n |= snprintf(l->viewer_group, sizeof(l->viewer_group), "cn=tandem-viewers,ou=groups,%s",
			      d->base) >= (int)sizeof(l->viewer_group);
	if (n)
		return jconf_perr(&p, "directory.base is too long for the login DNs");
	return ldap_checks(&p, l, l->has_search);
}

/* ldap without "uri": the appliance config (config_path) says where.  The
 * message names that file when it does not load. */
static int ldap_fill(struct webd_config *cfg, char *err, size_t errlen)
{
	struct config *app = malloc(sizeof(*app));
	int rc = -1;

	if (!app)
		return snprintf(err, errlen, "out of memory"), -1;
	if (config_load(cfg->config_path, app, err, errlen) == 0)
		rc = webd_ldap_from_directory(&cfg->ldap, &app->directory, err, errlen);
	free(app);
	return rc;
}

static int is_loopback(const struct taddr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == 4)
		return a->a[0] == 127;
	return !memcmp(a->a, v6lo, 16);
}

/* "listen" (the text in listen) into cfg, and what plain_http allows with it. */
static int parse_listen(struct jconf *p, const char *listen, struct webd_config *cfg)
{
	if (taddr_parse_endpoint(listen, &cfg->listen_addr, &cfg->listen_port) < 0 ||
	    !cfg->listen_port)
		return jconf_perr(p, "\"listen\": want \"addr:port\" or \"[v6addr]:port\"");
	if (cfg->plain_http && !is_loopback(&cfg->listen_addr))
		return jconf_perr(p, "\"plain_http\" is allowed only on a loopback \"listen\" address "
				  "(127.0.0.0/8, ::1): logins must not cross a network unencrypted");
	if (cfg->plain_http && (cfg->cert[0] || cfg->key[0]))
		return jconf_perr(p, "\"plain_http\" with \"cert\"/\"key\": choose one");
	return 0;
}

/* "login_rate" {max_failures, window_s, failure_delay_ms}, optional: the
 * defaults without it. */
static int parse_login_rate(struct jconf *p, json_t *root, struct webd_config *cfg)
{
	static const char *const rkeys[] = { "max_failures", "window_s", "failure_delay_ms", NULL };
	json_t *v = json_object_get(root, "login_rate"), *o;
	int rc;

	if (v) {
		snprintf(p->where, sizeof(p->where), "login_rate");
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object {max_failures, window_s, failure_delay_ms}");
		if (jconf_check_keys(p, v, rkeys) < 0)
			return -1;
	}
	o = v ? v : json_object();
	rc = jconf_get_uint(p, o, "max_failures", &cfg->rate_max, 5, 1, 1000) < 0 ||
	     jconf_get_uint(p, o, "window_s", &cfg->rate_window_s, 60, 1, 86400) < 0 ||
	     jconf_get_uint(p, o, "failure_delay_ms", &cfg->fail_delay_ms, 1000, 0, 30000) < 0 ? -1 : 0;
	if (!v)
		json_decref(o);
	return rc;
}

int webd_config_parse(const char *buf, size_t len, struct webd_config *cfg, char *err,
		      size_t errlen)
{
	static const char *const keys[] = { "listen", "plain_http", "cert", "key", "www",
					    "lbd_socket", "syncd_socket", "config_path", "ldap",
					    "session_idle_s", "session_max", "session_max_per_user",
					    "login_rate", "history_s", "metrics", NULL };
	struct jconf p = { .err = err, .errlen = errlen };
	json_error_t je;
	json_t *root, *v;
	char listen[80];
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		jconf_perr(&p, "the configuration must be a JSON object");
		goto out;
	}
	if (jconf_check_keys(&p, root, keys) < 0 ||
	    jconf_get_str(&p, root, "listen", listen, sizeof(listen), NULL) < 0 ||
	    jconf_get_bool(&p, root, "plain_http", &cfg->plain_http, 0) < 0 ||
	    jconf_get_str(&p, root, "cert", cfg->cert, sizeof(cfg->cert), cfg->plain_http ? "" : NULL) < 0 ||
	    jconf_get_str(&p, root, "key", cfg->key, sizeof(cfg->key), cfg->plain_http ? "" : NULL) < 0 ||
	    jconf_get_str(&p, root, "www", cfg->www, sizeof(cfg->www), DEF_WWW) < 0 ||
	    jconf_get_str(&p, root, "lbd_socket", cfg->lbd_socket, sizeof(cfg->lbd_socket), DEF_LBD) < 0 ||
	    jconf_get_str(&p, root, "syncd_socket", cfg->syncd_socket, sizeof(cfg->syncd_socket), "") < 0 ||
	    jconf_get_str(&p, root, "config_path", cfg->config_path, sizeof(cfg->config_path),
		    DEF_CONFIG) < 0 ||
	    jconf_get_uint(&p, root, "session_idle_s", &cfg->session_idle_s, 900, 30, 86400) < 0 ||
	    jconf_get_uint(&p, root, "session_max", &cfg->session_max, 256, 1, 65536) < 0 ||
	    jconf_get_uint(&p, root, "session_max_per_user", &cfg->session_max_per_user, 8, 1,
		    65536) < 0 ||
	    jconf_get_uint(&p, root, "history_s", &cfg->history_s, 600, 10, 86400) < 0 ||
	    parse_listen(&p, listen, cfg) < 0)
		goto out;
	if (parse_ldap(&p, json_object_get(root, "ldap"), &cfg->ldap) < 0 ||
	    parse_login_rate(&p, root, cfg) < 0)
		goto out;
	v = json_object_get(root, "metrics");
	if (v && metrics_config_parse(&p, v, &cfg->metrics, cfg->plain_http) < 0)
		goto out;
	if (cfg->metrics.listen_port == cfg->listen_port &&
	    taddr_equal(&cfg->metrics.listen_addr, &cfg->listen_addr)) {
		jconf_perr(&p, "\"metrics.listen\" is \"listen\" itself: /metrics is served there "
			   "anyway; give the plain listener another address or port");
		goto out;
	}
	p.where[0] = '\0';
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int webd_config_load(const char *path, struct webd_config *cfg, char *err, size_t errlen)
{
	char *buf, msg[400];
	size_t len;
	int rc;

	if (jconf_read_file(path, 1 << 20, &buf, &len, err, errlen) < 0)
		return -1;
	rc = webd_config_parse(buf, len, cfg, msg, sizeof(msg));
	free(buf);
	if (rc == 0 && cfg->ldap.from_directory)
		rc = ldap_fill(cfg, msg, sizeof(msg));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}
