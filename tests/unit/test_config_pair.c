/*
 * Active-active groups (vrrp.groups) and the DNS front end (dns): what
 * parses, the defaults, a clear message for each kind of mistake; and the
 * nsupdate script lbd writes for a set of record changes (dns_script).
 */
#include <string.h>

#include "lb/lbd.h"
#include "lib/config.h"
#include "config_check.h"	/* after the headers: its cfg would shadow their parameters */

#define HEAD "{\"client_interface\":\"eth0\",\"storage_interface\":\"eth1\"," \
	"\"nodes\":[{\"name\":\"n1\",\"address\":\"10.0.0.1\"}]," \
	"\"vips\":[{\"name\":\"v1\",\"address\":\"10.0.1.1\",\"services\":[{\"proto\":\"tcp\",\"port\":80}]}," \
	"{\"name\":\"v2\",\"address\":\"10.0.1.2\",\"services\":[{\"proto\":\"tcp\",\"port\":80}]}," \
	"{\"name\":\"v6\",\"address\":\"fd00::1\",\"services\":[{\"proto\":\"tcp\",\"port\":80}]}]," \
	"\"sync\":{\"switch_id\":1,\"local\":\"10.9.0.1\",\"peer\":\"10.9.0.2\",\"key_file\":\"/k\"},"
#define GROUPS "\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"v6\"],\"preferred\":1}," \
	"{\"name\":\"g2\",\"vips\":[\"v2\"],\"preferred\":2}]"
#define VRRP(x) "\"vrrp\":{\"router_id\":70,\"priority\":150," x "}"
#define DNS(x) ",\"dns\":{\"name\":\"nas.example.test\",\"server\":\"10.0.1.53\",\"key_file\":\"/d\"" x "}"
#define DNS_NAMED(n, x) ",\"dns\":{\"name\":\"" n "\",\"server\":\"10.0.1.53\",\"key_file\":\"/d\"" x "}"

static void groups(void)
{
	char err[300] = "";

	CHECK(parse(HEAD VRRP(GROUPS) "}", err, sizeof(err)) == 0, "two groups parse (%s)", err);
	CHECK(cfg.vrrp.ngroups == 2 && cfg.vrrp.backup_priority == 50 &&
	      cfg.vrrp.groups[0].router_id == 70 && cfg.vrrp.groups[1].router_id == 72 &&
	      cfg.vrrp.groups[1].preferred == 2 && cfg.vips[0].group == 0 && cfg.vips[1].group == 1 &&
	      cfg.vips[2].group == 0, "groups: ids, defaults, each VIP's group");
	CHECK(config_group_index(&cfg, "g2") == 1 && config_group_index(&cfg, "x") < 0, "group by name");
	CHECK(parse(HEAD VRRP("\"preempt\":true") "}", err, sizeof(err)) == 0 && cfg.vrrp.ngroups == 0 &&
	      cfg.vips[0].group == -1, "without groups: active-standby, no group");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\"],\"preferred\":1}]") "}",
	    "VIP \"v2\" is in no group");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"v2\",\"v6\"]}]") "}",
	    "\"preferred\" is required");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"v2\"],\"preferred\":1},"
		      "{\"name\":\"g2\",\"vips\":[\"v2\",\"v6\"],\"preferred\":2}]") "}",
	    "VIP \"v2\" is in group \"g1\" already");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"nope\"],\"preferred\":1}]") "}",
	    "vrrp.groups[0]: vips[1]: not the name of one of \"vips\"");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"v2\"],\"preferred\":1},"
		      "{\"name\":\"g1\",\"vips\":[\"v6\"],\"preferred\":2}]") "}", "duplicate group name");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"g1\",\"vips\":[\"v1\",\"v2\"],\"preferred\":1,\"router_id\":71},"
		      "{\"name\":\"g2\",\"vips\":[\"v6\"],\"preferred\":2}]") "}", "the storage side's");
	bad(HEAD VRRP("\"backup_priority\":150," GROUPS) "}", "must be below \"priority\"");
	bad(HEAD VRRP("\"groups\":[]") "}", "1..8 groups");
	bad(HEAD VRRP("\"groups\":[{\"name\":\"this-name-is-too-long\",\"vips\":[\"v1\"],\"preferred\":1}]") "}",
	    "at most 16 characters");
}

static void dns(void)
{
	char err[300] = "", buf[2048];
	int8_t op[CFG_MAX_VIPS] = { 1, 0, -1 };

	CHECK(parse(HEAD VRRP(GROUPS) DNS("") "}", err, sizeof(err)) == 0, "dns parses (%s)", err);
	CHECK(!strcmp(cfg.dns.zone, "example.test") && cfg.dns.ttl == 5 && cfg.dns.port == 53 &&
	      cfg.dns.nvips == 3 && cfg.dns.retry_ms == 1000 && cfg.dns.refresh_s == 60 &&
	      !strcmp(cfg.dns.nsupdate, "/usr/bin/nsupdate"), "dns defaults: zone, ttl, every VIP");
	CHECK(dns_script(&cfg, op, buf, sizeof(buf)) == 2 &&
	      !strcmp(buf, "server 10.0.1.53 53\nzone example.test.\n"
			   "update add nas.example.test. 5 A 10.0.1.1\n"
			   "update delete nas.example.test. A 10.0.1.2\nsend\n"), "the script: server, zone, an add, a delete");
	op[0] = -1, op[1] = -1, op[2] = 1;
	CHECK(dns_script(&cfg, op, buf, sizeof(buf)) == 1 &&
	      strstr(buf, "update add nas.example.test. 5 AAAA fd00::1\n"), "AAAA for an IPv6 VIP");
	CHECK(dns_script(&cfg, op, buf, 40) < 0, "a short buffer is refused");
	CHECK(parse(HEAD VRRP(GROUPS) DNS_NAMED("x.nas.example.test.", ",\"zone\":\"example.test\","
					  "\"vips\":[\"v2\"],\"ttl\":0") "}", err, sizeof(err)) == 0 &&
	      !strcmp(cfg.dns.name, "x.nas.example.test") && cfg.dns.nvips == 1 && cfg.dns.vips[0] == 1,
	      "dns: a trailing dot, a zone two labels up, one VIP (%s)", err);
	bad(HEAD VRRP(GROUPS) ",\"dns\":{\"name\":\"a.b\",\"key_file\":\"/d\"}}", "\"server\" is required");
	bad(HEAD VRRP(GROUPS) DNS_NAMED("bad_name.test", "") "}", "not a host name");
	bad(HEAD VRRP(GROUPS) DNS_NAMED("-x.test", "") "}", "not a host name");
	bad(HEAD VRRP(GROUPS) DNS_NAMED("a..test", "") "}", "not a host name");
	bad(HEAD VRRP(GROUPS) DNS(",\"zone\":\"other.test\"") "}", "is not in \"zone\"");
	bad(HEAD VRRP(GROUPS) DNS(",\"zone\":\"ample.test\"") "}", "is not in \"zone\"");
	bad(HEAD VRRP(GROUPS) DNS(",\"vips\":[\"v9\"]") "}", "not the name of one of \"vips\"");
	bad(HEAD VRRP(GROUPS) DNS(",\"ttl\":86401") "}", "\"ttl\"");
	bad(HEAD VRRP(GROUPS) DNS(",\"color\":1") "}", "color");
}

int main(void)
{
	groups();
	dns();
	return check_done();
}
