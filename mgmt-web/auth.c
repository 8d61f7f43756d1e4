/*
 * auth.c - LDAP logins (OpenLDAP libldap), run on a worker thread (pool.c
 * says why).  One fresh connection per login: logins are rare, and a
 * connection bound as one user must never serve another.
 *
 *   1. the user's DN: the configured template with the name escaped per
 *      RFC 4514, or a search (base, filter with the name escaped per
 *      RFC 4515; anonymous or as a configured service DN) that must match
 *      exactly one entry;
 *   2. a simple bind as that DN with the password (the caller refused an
 *      empty one already: RFC 4513 5.1.2 makes DN + empty password an
 *      "unauthenticated" bind that succeeds without checking anything);
 *   3. still bound as the user: is the DN a `member` of the admin group,
 *      else of the viewer group (base-scope search of the group entry with
 *      the filter (member=DN)).
 *
 * Invalid credentials and an unknown user give the same answer
 * (AUTH_BADCRED) so that the API does not tell which user names exist.
 */
#include "webd.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static int fail(struct job *j, enum auth_result r, const char *fmt, const char *detail)
{
	j->auth = r;
	snprintf(j->err, sizeof(j->err), fmt, detail);
	return -1;
}

/* Connection errors are AUTH_ERROR (502), everything else a refusal. */
static int bind_err(struct job *j, int rc, const char *what)
{
	if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX ||
	    rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_UNWILLING_TO_PERFORM ||
	    rc == LDAP_INAPPROPRIATE_AUTH)
		return fail(j, AUTH_BADCRED, "wrong user or password%s", "");
	char msg[200];
	snprintf(msg, sizeof(msg), "%s: %s", what, ldap_err2string(rc));
	return fail(j, AUTH_ERROR, "LDAP server: %s", msg);
}

static int simple_bind(LDAP *ld, const char *dn, const char *pw)
{
	struct berval cred = { .bv_len = strlen(pw), .bv_val = (char *)pw };

	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* Read the service account's password (first line). 0 / -1. */
static int read_secret(const char *path, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, outlen - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -1;
}

/* Search mode: the one DN matching the filter, into j->dn. */
static int search_dn(const struct webd_ldap *c, LDAP *ld, struct job *j, struct timeval *tv)
{
	char esc[API_USER_MAX * 3 + 1], filter[WEBD_DN_MAX * 2];
	char *attrs[] = { LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL;
	int rc;

	if (c->bind_dn[0]) {
		char pw[256];
		if (read_secret(c->bind_password_file, pw, sizeof(pw)) < 0)
			return fail(j, AUTH_ERROR, "cannot read ldap.search.bind_password_file %s",
				    c->bind_password_file);
		rc = simple_bind(ld, c->bind_dn, pw);
		explicit_bzero(pw, sizeof(pw));
		if (rc != LDAP_SUCCESS) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s", ldap_err2string(rc));
			return fail(j, AUTH_ERROR, "LDAP search bind (bind_dn) failed: %s", msg);
		}
	}
	if (api_ldap_filter_escape(j->login.user, esc, sizeof(esc)) < 0 ||
	    api_template_fill(c->search_filter, esc, filter, sizeof(filter)) < 0)
		return fail(j, AUTH_BADCRED, "wrong user or password%s", "");
	rc = ldap_search_ext_s(ld, c->search_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL,
			       NULL, tv, 2, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		return bind_err(j, rc, "user search");
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED || ldap_count_entries(ld, res) != 1) {
		ldap_msgfree(res);
		return fail(j, AUTH_BADCRED, "wrong user or password%s", "");
	}
	char *dn = ldap_get_dn(ld, ldap_first_entry(ld, res));
	ldap_msgfree(res);
	if (!dn || strlen(dn) >= sizeof(j->dn)) {
		ldap_memfree(dn);
		return fail(j, AUTH_ERROR, "LDAP server: bad DN for user%s", "");
	}
	strcpy(j->dn, dn);
	ldap_memfree(dn);
	return 0;
}

/* 1 member, 0 not, -1 error (j->err set). */
static int is_member(LDAP *ld, const char *group, const char *dn, struct job *j,
		     struct timeval *tv)
{
	char esc[WEBD_DN_MAX * 3 + 1], filter[sizeof(esc) + 16];
	char *attrs[] = { LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL;
	int rc, n;

	if (api_ldap_filter_escape(dn, esc, sizeof(esc)) < 0)
		return fail(j, AUTH_ERROR, "user DN too long%s", "");
	snprintf(filter, sizeof(filter), "(member=%s)", esc);
	rc = ldap_search_ext_s(ld, group, LDAP_SCOPE_BASE, filter, attrs, 0, NULL, NULL, tv, 1,
			       &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		log_warnx("LDAP group %s does not exist (or is not visible to %s)", group, dn);
		return 0;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		bind_err(j, rc, "group search");
		j->auth = AUTH_ERROR;
		return -1;
	}
	n = ldap_count_entries(ld, res);
	ldap_msgfree(res);
	return n > 0;
}

void auth_run(const struct webd_config *cfg, struct job *j)
{
	const struct webd_ldap *c = &cfg->ldap;
	struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
			      .tv_usec = (c->timeout_ms % 1000) * 1000 };
	int v3 = LDAP_VERSION3, rc, m;
	LDAP *ld = NULL;

	j->auth = AUTH_ERROR;
	j->err[0] = '\0';
	if (!j->login.password[0]) {	/* never an unauthenticated bind */
		fail(j, AUTH_BADCRED, "wrong user or password%s", "");
		return;
	}
	rc = ldap_initialize(&ld, c->uri);
	if (rc != LDAP_SUCCESS) {
		bind_err(j, rc, c->uri);
		j->auth = AUTH_ERROR;
		return;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (c->ca_file[0]) {
		/* the directory's CA for StartTLS and ldaps://, on this handle
		 * only (a new TLS context), and the certificate must verify */
		int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file) != LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
			fail(j, AUTH_ERROR, "LDAP TLS: cannot use ldap.ca_file %s", c->ca_file);
			goto out;
		}
	}
	if (c->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		bind_err(j, rc, "StartTLS");
		j->auth = AUTH_ERROR;
		goto out;
	}
	if (c->user_dn_template[0]) {
		char esc[API_USER_MAX * 3 + 1];
		if (api_ldap_dn_escape(j->login.user, esc, sizeof(esc)) < 0 ||
		    api_template_fill(c->user_dn_template, esc, j->dn, sizeof(j->dn)) < 0) {
			fail(j, AUTH_BADCRED, "wrong user or password%s", "");
			goto out;
		}
	} else if (search_dn(c, ld, j, &tv) < 0) {
		goto out;
	}
	rc = simple_bind(ld, j->dn, j->login.password);
	if (rc != LDAP_SUCCESS) {
		bind_err(j, rc, "bind");
		goto out;
	}
	m = is_member(ld, c->admin_group, j->dn, j, &tv);
	if (m < 0)
		goto out;
	if (m) {
		j->auth = AUTH_OK_ADMIN;
		goto out;
	}
	m = is_member(ld, c->viewer_group, j->dn, j, &tv);
	if (m < 0)
		goto out;
	j->auth = m ? AUTH_OK_VIEWER : AUTH_NOGROUP;
out:
	explicit_bzero(j->login.password, sizeof(j->login.password));
	ldap_unbind_ext_s(ld, NULL, NULL);
}
