/*
 * tandem-webd's ldap section without "uri": the appliance's own directory
 * is the default (webd_ldap_from_directory): a pair's local slapd over
 * ldapi, or the site's LDAP; the login DNs under its base unless given;
 * and what is refused.
 */
#include <string.h>

#include "check.h"
#include "lib/config.h"
#include "mgmt-web/webd.h"

static struct webd_config wc;

#define W(x) "{\"listen\":\"127.0.0.1:8443\",\"cert\":\"/c\",\"key\":\"/k\"" x "}"

static int parse(const char *s, char *err, size_t n)
{
	return webd_config_parse(s, strlen(s), &wc, err, n);
}

int main(void)
{
	struct cfg_directory d = { .mode = CFG_DIR_PAIR, .base = "dc=tandem,dc=test",
				   .run_dir = "/run/tandem/ldap" };
	char err[400] = "";

	CHECK(parse(W(""), err, sizeof(err)) == 0 && wc.ldap.from_directory, "no ldap section: from the directory (%s)", err);
	CHECK(webd_ldap_from_directory(&wc.ldap, &d, err, sizeof(err)) == 0 &&
	      !strcmp(wc.ldap.uri, "ldapi://%2Frun%2Ftandem%2Fldap%2Fldapi") &&
	      !strcmp(wc.ldap.user_dn_template, "uid=%s,ou=people,dc=tandem,dc=test") &&
	      !strcmp(wc.ldap.admin_group, "cn=tandem-admins,ou=groups,dc=tandem,dc=test") &&
	      !strcmp(wc.ldap.viewer_group, "cn=tandem-viewers,ou=groups,dc=tandem,dc=test"),
	      "pair: this switch's slapd over ldapi, the default DNs (%s; %s)", err, wc.ldap.uri);
	CHECK(parse(W(",\"ldap\":{\"admin_group\":\"cn=ops,o=x\",\"search\":{\"base\":\"o=x\",\"filter\":\"(uid=%s)\"}}"),
		    err, sizeof(err)) == 0 && wc.ldap.from_directory, "groups and search given, no uri (%s)", err);
	CHECK(webd_ldap_from_directory(&wc.ldap, &d, err, sizeof(err)) == 0 &&
	      !strcmp(wc.ldap.admin_group, "cn=ops,o=x") && !wc.ldap.user_dn_template[0] &&
	      !strcmp(wc.ldap.viewer_group, "cn=tandem-viewers,ou=groups,dc=tandem,dc=test"),
	      "what is given stays, search is kept (%s)", err);
	d.mode = CFG_DIR_EXTERNAL;
	strcpy(d.uri, "ldaps://ldap.site");
	CHECK(parse(W(",\"ldap\":{}"), err, sizeof(err)) == 0 &&
	      webd_ldap_from_directory(&wc.ldap, &d, err, sizeof(err)) == 0 &&
	      !strcmp(wc.ldap.uri, "ldaps://ldap.site"), "external: the site's uri (%s)", err);
	strcpy(d.uri, "ldap://ldap.site");
	CHECK(parse(W(""), err, sizeof(err)) == 0 &&
	      webd_ldap_from_directory(&wc.ldap, &d, err, sizeof(err)) < 0 && strstr(err, "in clear"),
	      "external ldap:// without StartTLS: refused as ever (%s)", err);
	d.mode = CFG_DIR_NONE;
	CHECK(parse(W(""), err, sizeof(err)) == 0 &&
	      webd_ldap_from_directory(&wc.ldap, &d, err, sizeof(err)) < 0 &&
	      strstr(err, "has no \"directory\""), "no directory: refused (%s)", err);
	CHECK(parse(W(",\"ldap\":{\"uri\":\"ldaps://l\",\"user_dn_template\":\"uid=%s,o=x\"}"), err,
		    sizeof(err)) < 0 && strstr(err, "\"admin_group\" and \"viewer_group\" are required"),
	      "a uri without groups: refused (%s)", err);
	CHECK(parse(W(",\"ldap\":{\"uri\":\"ldaps://l\",\"admin_group\":\"cn=a\",\"viewer_group\":\"cn=v\"}"),
		    err, sizeof(err)) < 0 && strstr(err, "exactly one of"), "a uri without a way to find users (%s)", err);
	CHECK(parse(W(",\"ldap\":{\"uri\":\"ldaps://l\",\"admin_group\":\"cn=a\",\"viewer_group\":\"cn=v\","
		      "\"user_dn_template\":\"uid=%s,o=x\"}"), err, sizeof(err)) == 0 && !wc.ldap.from_directory,
	      "a complete section as before (%s)", err);
	return check_done();
}
