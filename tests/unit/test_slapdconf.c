/*
 * The "directory" section (what parses, defaults, a clear message for each
 * mistake) and the slapd.conf tandem-failover generates from it: a switch's
 * provider in mirror mode, a node's read-only replica, the listen URLs and
 * the first entries.  That slapd takes the text: t_directory_mirror.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "failover/slapdconf.h"

#define HEAD "{\"client_interface\":\"eth0\",\"storage_interface\":\"eth1\"," \
	"\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.1\"}]," \
	"\"vips\":[{\"name\":\"v1\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\",\"port\":80}]}],"
#define SYNC(id) "\"sync\":{\"switch_id\":" #id ",\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.2\",\"key_file\":\"/k\"},"
#define PROV "\"providers\":[{\"switch_id\":1,\"address\":\"10.0.2.2\"},{\"switch_id\":2,\"address\":\"fd00:2::3\"}]"
#define PW "\"root_password_file\":\"/r\",\"replica_password_file\":\"/p\""
#define DIR(x) "\"directory\":{\"mode\":\"pair\",\"base\":\"dc=tandem,dc=test\"," x "}}"

static void section(void)
{
	char err[300] = "";
	const struct cfg_directory *d = &cfg.directory;

	CHECK(parse(HEAD SYNC(1) DIR(PROV "," PW), err, sizeof(err)) == 0, "pair parses (%s)", err);
	CHECK(d->mode == CFG_DIR_PAIR && d->port == 389 && !strcmp(d->root_dn, "cn=admin,dc=tandem,dc=test") &&
	      !strcmp(d->replica_dn, "cn=replica,dc=tandem,dc=test") &&
	      !strcmp(d->data_dir, "/var/lib/tandem/ldap") && !strcmp(d->schema_dir, "/etc/ldap/schema") &&
	      d->nproviders == 2 && d->providers[1].addr.family == 6, "pair: defaults and providers");
	CHECK(parse(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=site\",\"uri\":\"ldaps://ldap.site\"}}",
		    err, sizeof(err)) == 0 && d->mode == CFG_DIR_EXTERNAL && !strcmp(d->uri, "ldaps://ldap.site"),
	      "external parses (%s)", err);
	CHECK(parse(HEAD "\"directory\":{\"mode\":\"pair\",\"base\":\"dc=x\",\"providers\":"
		    "[{\"switch_id\":1,\"address\":\"10.0.2.2\"}]," PW "}}", err, sizeof(err)) == 0 &&
	      d->nproviders == 1, "a standalone switch: one provider (%s)", err);
	bad(HEAD SYNC(3) DIR(PROV "," PW), "a pair needs two \"providers\", one of them this switch (sync.switch_id 3)");
	bad(HEAD "\"directory\":{\"mode\":\"pair\",\"base\":\"dc=x\"," PROV "," PW "}}",
	    "a standalone switch (no \"sync\") has one provider");
	bad(HEAD SYNC(1) DIR("\"providers\":[{\"switch_id\":1,\"address\":\"10.0.2.2\"},"
			     "{\"switch_id\":1,\"address\":\"10.0.2.3\"}]," PW),
	    "directory.providers[1]: same \"switch_id\" or \"address\"");
	bad(HEAD SYNC(1) DIR("\"providers\":[{\"switch_id\":5000,\"address\":\"10.0.2.2\"}]," PW),
	    "\"switch_id\" is 5000");
	bad(HEAD SYNC(1) DIR(PROV), "\"root_password_file\"");
	bad(HEAD SYNC(1) DIR(PROV "," PW ",\"uri\":\"ldap://x\""), "\"uri\" is for \"mode\": \"external\"");
	bad(HEAD SYNC(1) DIR(PROV "," PW ",\"ca_file\":\"/ca\""), "go together");
	bad(HEAD SYNC(1) DIR(PROV "," PW ",\"root_dn\":\"cn=a\\\"b,dc=x\""), "\"root_dn\" \"cn=a\"b,dc=x\": not a DN");
	bad(HEAD SYNC(1) DIR(PROV "," PW ",\"replica_dn\":\"cn=admin,dc=tandem,dc=test\""), "must differ");
	bad(HEAD "\"directory\":{\"mode\":\"nis\",\"base\":\"dc=x\"}}", "\"mode\" \"nis\": must be");
	bad(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"tandem\",\"uri\":\"ldap://x\"}}", "\"base\" \"tandem\": not a DN");
	bad(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=x\",\"uri\":\"http://x\"}}", "must start with ldap://");
	bad(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=x\",\"uri\":\"ldap://x\"," PROV "}}",
	    "\"providers\" is for \"mode\": \"pair\"");
	bad(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=x\",\"uri\":\"ldap://x\",\"bogus\":1}}", "bogus");
}

/* The text of a run into a malloc'd string (caller frees). */
static char *gen(enum slapd_role role, int (*what)(FILE *, const struct config *, const struct slapd_opts *))
{
	struct slapd_opts op = { .role = role, .config_path = "/etc/tandem/tandem.json", .root_pw = "r00t",
				 .replica_pw = "rep", .data_dir = "/d", .run_dir = "/run/t l" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = what(f, &cfg, &op);

	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int has(const char *text, const char *want)
{
	int ok = text && strstr(text, want);

	if (!ok)
		printf("# missing: %s\n", want);
	return ok;
}

static void provider(void)
{
	char err[300] = "", *t;

	CHECK(parse(HEAD SYNC(1) DIR(PROV "," PW) , err, sizeof(err)) == 0, "parses (%s)", err);
	t = gen(SLAPD_PROVIDER, slapdconf_write);
	CHECK(has(t, "include /etc/ldap/schema/nis.schema\n") && has(t, "moduleload syncprov\n") &&
	      has(t, "pidfile /run/t l/slapd.pid\n") && has(t, "serverID 1\n") &&
	      has(t, "suffix \"dc=tandem,dc=test\"\nrootdn \"cn=admin,dc=tandem,dc=test\"\nrootpw \"r00t\"\n"
		  "directory /d\n"), "provider: schema, serverID, suffix, root");
	CHECK(has(t, "syncrepl rid=002 provider=ldap://[fd00:2::3]:389 bindmethod=simple "
		  "binddn=\"cn=admin,dc=tandem,dc=test\" credentials=\"r00t\"\n"
		  "  searchbase=\"dc=tandem,dc=test\" scope=sub type=refreshAndPersist\n"
		  "  retry=\"1 +\" timeout=3 network-timeout=3 keepalive=5:3:1\nmultiprovider on\n") &&
	      !strstr(t, "rid=001") && !strstr(t, "starttls"), "provider: the peer only, mirror mode");
	CHECK(has(t, "access to *\n  by dn.exact=\"cn=replica,dc=tandem,dc=test\" read\n  by users read\n"
		  "  by anonymous auth\n  by * none\n") && has(t, "overlay syncprov\n") &&
	      has(t, "limits dn.exact=\"cn=replica,dc=tandem,dc=test\" size=unlimited"),
	      "provider: the replicas read everything, syncprov");
	free(t);
	CHECK(parse(HEAD SYNC(2) DIR(PROV "," PW ",\"ca_file\":\"/ca\",\"cert_file\":\"/c\",\"key_file\":\"/k\""),
		    err, sizeof(err)) == 0, "parses (%s)", err);
	t = gen(SLAPD_PROVIDER, slapdconf_write);
	CHECK(has(t, "serverID 2\n") && has(t, "rid=001 provider=ldap://10.0.2.2:389 ") &&
	      has(t, "  starttls=critical tls_reqcert=demand tls_cacert=/ca\n") &&
	      has(t, "TLSCACertificateFile /ca\nTLSCertificateFile /c\nTLSCertificateKeyFile /k\n"),
	      "switch 2: serverID 2, pulls from switch 1 over StartTLS");
	free(t);
}

static void replica(void)
{
	char err[300] = "", *t, urls[512];
	struct slapd_opts op = { .role = SLAPD_REPLICA, .run_dir = "/run/t l" };

	CHECK(parse(HEAD SYNC(1) DIR(PROV "," PW), err, sizeof(err)) == 0, "parses (%s)", err);
	t = gen(SLAPD_REPLICA, slapdconf_write);
	CHECK(has(t, "rootdn \"cn=replica,dc=tandem,dc=test\"\ndirectory /d\n") &&
	      has(t, "syncrepl rid=101 provider=ldap://10.0.2.2:389 bindmethod=simple "
		  "binddn=\"cn=replica,dc=tandem,dc=test\" credentials=\"rep\"\n") &&
	      has(t, "syncrepl rid=102 provider=ldap://[fd00:2::3]:389 ") &&
	      has(t, "access to attrs=userPassword\n  by anonymous auth\n  by * none\naccess to *\n  by * read\n") &&
	      !strstr(t, "rootpw") && !strstr(t, "multiprovider") && !strstr(t, "syncprov") &&
	      !strstr(t, "serverID") && !strstr(t, "r00t"),
	      "replica: both switches, no password of its own, no provider parts");
	free(t);
	CHECK(slapdconf_urls(urls, sizeof(urls), &cfg, &op) == 0 &&
	      !strcmp(urls, "ldap://127.0.0.1:389/ ldapi://%2Frun%2Ft%20l%2Fldapi"), "replica urls: %s", urls);
	op.role = SLAPD_PROVIDER;
	CHECK(slapdconf_urls(urls, sizeof(urls), &cfg, &op) == 0 &&
	      !strcmp(urls, "ldap://10.0.2.2:389/ ldap://127.0.0.1:389/ ldapi://%2Frun%2Ft%20l%2Fldapi"),
	      "provider urls: %s", urls);
}

static int init_ldif(FILE *f, const struct config *c, const struct slapd_opts *op)
{
	return slapdconf_init_ldif(f, c, op->replica_pw);
}

static void init(void)
{
	char err[300] = "", *t;

	CHECK(parse(HEAD SYNC(1) DIR(PROV "," PW), err, sizeof(err)) == 0, "parses (%s)", err);
	t = gen(SLAPD_PROVIDER, init_ldif);
	CHECK(has(t, "dn: dc=tandem,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: tandem\n") &&
	      has(t, "dn: ou=netgroup,dc=tandem,dc=test\n") &&
	      has(t, "dn: cn=replica,dc=tandem,dc=test\nobjectClass: organizationalRole\n"
		  "objectClass: simpleSecurityObject\ncn: replica\nuserPassword: rep\n"), "init: suffix, ous, replica");
	free(t);
	CHECK(parse(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=site\",\"uri\":\"ldaps://l\"}}",
		    err, sizeof(err)) == 0, "external parses");
	t = gen(SLAPD_PROVIDER, slapdconf_write);
	CHECK(t == NULL, "external: no slapd.conf");
}

/* text of fn into a string (free it) */
static char *gen_nss(int nslcd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = nslcd ? slapdconf_nslcd(f, &cfg) : slapdconf_nsswitch(f);

	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A node's NSS files: nslcd.conf against its replica (pair) or the site
 * (external), nsswitch.conf; none without a directory.  nslcd and glibc take
 * them: t_nfs_manage_gids, t_nfs_netgroup (the lab writes them this way). */
static void node_nss(void)
{
	char err[300] = "", *t;

	CHECK(parse(HEAD SYNC(1) DIR(PROV "," PW), err, sizeof(err)) == 0, "parses (%s)", err);
	t = gen_nss(1);
	CHECK(t && has(t, "uid nslcd\ngid nslcd\n") && has(t, "uri ldap://127.0.0.1:389/\n") &&
	      has(t, "base dc=tandem,dc=test\n") && has(t, "timelimit 2\nbind_timelimit 2\n") &&
	      !strstr(t, "10.0.2.2"), "pair: nslcd reads the node's own replica, not the switches");
	free(t);
	CHECK(parse(HEAD "\"directory\":{\"mode\":\"external\",\"base\":\"o=site\",\"uri\":\"ldaps://ldap.site\"}}",
		    err, sizeof(err)) == 0, "external parses (%s)", err);
	t = gen_nss(1);
	CHECK(t && has(t, "uri ldaps://ldap.site\n") && has(t, "base o=site\n"),
	      "external: nslcd reads the site's directory");
	free(t);
	t = gen_nss(0);
	CHECK(t && has(t, "passwd: files ldap\n") && has(t, "group: files ldap\n") &&
	      has(t, "netgroup: ldap\n") && has(t, "shadow: files\n"), "nsswitch.conf");
	free(t);
	cfg.directory.mode = CFG_DIR_NONE;
	CHECK(gen_nss(1) == NULL, "no directory: no nslcd.conf");
}

int main(void)
{
	section();
	provider();
	replica();
	init();
	node_nss();
	return check_done();
}
