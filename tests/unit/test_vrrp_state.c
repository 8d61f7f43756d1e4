/*
 * vrrp_state: a hook's role word is overtaken exactly when keepalived's
 * addresses show the other side of the transition (lib/vrrp_state.h).
 */
#include <arpa/inet.h>
#include <string.h>

#include "check.h"
#include "lib/config.h"
#include "lib/vrrp_state.h"

static struct config cfg;

static struct taddr a4(const char *s)
{
	struct taddr t = { .family = 4 };
	inet_pton(AF_INET, s, t.a);
	return t;
}

static struct taddr a6(const char *s)
{
	struct taddr t = { .family = 6 };
	inet_pton(AF_INET6, s, t.a);
	return t;
}

int main(void)
{
	char err[300];
	/* the example's VIPs: nas 198.51.100.10, nas6 2001:db8::10 */
	struct taddr both[] = { a4("127.0.0.1"), a4("198.51.100.10"), a6("2001:db8::10") };
	struct taddr one[] = { a4("198.51.100.10"), a4("10.0.0.1") };
	struct taddr none[] = { a4("198.51.100.11"), a6("2001:db8::11") };
	struct taddr here[64];
	int n;

	CHECK(config_load("appliance/examples/tandem.json", &cfg, err, sizeof(err)) == 0,
	      "example config parses (%s)", err);
	CHECK(vrrp_vips_present(&cfg, -1, both, 3) == 1, "every VIP here: 1");
	CHECK(vrrp_vips_present(&cfg, -1, none, 2) == 0, "no VIP here (a neighbour address is not one): 0");
	CHECK(vrrp_vips_present(&cfg, -1, one, 2) == -1, "some: -1 (nothing to tell by)");
	CHECK(vrrp_vips_present(&cfg, -1, NULL, 0) == 0, "no address at all: 0");

	CHECK(vrrp_role_stale("master", 0), "master while no VIP is here: overtaken");
	CHECK(!vrrp_role_stale("master", 1), "master with the VIPs: applied");
	CHECK(vrrp_role_stale("backup", 1) && vrrp_role_stale("fault", 1),
	      "backup/fault while every VIP is here: overtaken");
	CHECK(!vrrp_role_stale("backup", 0) && !vrrp_role_stale("fault", 0), "backup/fault without: applied");
	CHECK(!vrrp_role_stale("master", -1) && !vrrp_role_stale("backup", -1) &&
	      !vrrp_role_stale("init", 0) && !vrrp_role_stale("init", 1), "cannot tell, or init: applied");

	/* BGP VIPs never move by VRRP: a config of BGP VIPs only tells nothing */
	for (unsigned i = 0; i < cfg.nvips; i++)
		cfg.vips[i].bgp = 1;
	CHECK(vrrp_vips_present(&cfg, -1, both, 3) == -1, "BGP VIPs are left out");
	for (unsigned i = 0; i < cfg.nvips; i++)
		cfg.vips[i].bgp = 0;

	n = host_addrs(here, 64);
	CHECK(n >= 1, "host_addrs reads this host's addresses (%d)", n);
	int lo = 0;
	for (int i = 0; i < n; i++)
		lo |= here[i].family == 4 && here[i].a[0] == 127;
	CHECK(lo, "... loopback's 127.x among them");
	return check_done();
}
