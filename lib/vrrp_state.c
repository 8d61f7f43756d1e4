/* vrrp_state.c - keepalived's state by the addresses it set (vrrp_state.h). */
#include "lib/vrrp_state.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

static int have_addr(const struct taddr *a, const struct taddr *have, size_t nhave)
{
	for (size_t i = 0; i < nhave; i++)
		if (have[i].family == a->family && !memcmp(have[i].a, a->a, sizeof(a->a)))
			return 1;
	return 0;
}

int vrrp_vips_present(const struct config *cfg, int gi, const struct taddr *have, size_t nhave)
{
	unsigned n = 0, here = 0;

	for (unsigned i = 0; i < cfg->nvips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];
		if (v->bgp || (gi >= 0 && v->group != gi))
			continue;
		n++;
		here += (unsigned)have_addr(&v->addr, have, nhave);
	}
	if (!n || (here && here < n))
		return -1;
	return here == n;
}

int vrrp_role_stale(const char *role, int present)
{
	if (!strcmp(role, "master"))
		return present == 0;
	if (!strcmp(role, "backup") || !strcmp(role, "fault"))
		return present == 1;
	return 0;
}

int host_addrs(struct taddr *out, size_t cap)
{
	struct ifaddrs *ifa, *p;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return -1;
	for (p = ifa; p && n < cap; p = p->ifa_next) {
		if (!p->ifa_addr)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		if (p->ifa_addr->sa_family == AF_INET) {
			out[n].family = 4;
			memcpy(out[n].a, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, 4);
			n++;
		} else if (p->ifa_addr->sa_family == AF_INET6) {
			out[n].family = 6;
			memcpy(out[n].a, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, 16);
			n++;
		}
	}
	freeifaddrs(ifa);
	return (int)n;
}

int vrrp_role_overtaken(const struct config *cfg, int gi, const char *role)
{
	struct taddr have[256];
	int n = host_addrs(have, sizeof(have) / sizeof(have[0]));

	return n >= 0 && vrrp_role_stale(role, vrrp_vips_present(cfg, gi, have, (size_t)n));
}
