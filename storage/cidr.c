/*
 * cidr.c - client networks for tandem-nasd's access lists (cidr.h).
 */
#include "cidr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonconf.h"

int nasd_cidr_parse(const char *s, struct nasd_cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long pl;
	char *end;

	if (al >= sizeof(buf))
		return -1;
	memcpy(buf, s, al);
	buf[al] = '\0';
	if (taddr_parse(buf, &c->addr) < 0)
		return -1;
	unsigned max = c->addr.family == 4 ? 32 : 128;
	if (!slash) {
		c->plen = (uint8_t)max;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	pl = strtoul(slash + 1, &end, 10);
	if (*end || pl > max)
		return -1;
	c->plen = (uint8_t)pl;
	return 0;
}

/* The address bytes of ss in c's family (network order), or NULL when ss
 * is of another family.  v4 holds an IPv4-mapped address's IPv4 part. */
static const uint8_t *addr_bytes(const struct nasd_cidr *c, const struct sockaddr_storage *ss,
				 uint8_t v4[4])
{
	if (ss->ss_family == AF_INET)
		return c->addr.family == 4 ? (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr
					   : NULL;
	if (ss->ss_family != AF_INET6)
		return NULL;
	const struct in6_addr *s6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(s6)) {
		if (c->addr.family != 4)
			return NULL;
		memcpy(v4, s6->s6_addr + 12, 4);
		return v4;
	}
	return c->addr.family == 6 ? s6->s6_addr : NULL;
}

int nasd_cidr_match(const struct nasd_cidr *c, const struct sockaddr_storage *ss)
{
	uint8_t v4[4];
	const uint8_t *a = addr_bytes(c, ss, v4);

	if (!a)
		return 0;
	unsigned full = c->plen / 8, rest = c->plen % 8;
	if (memcmp(a, c->addr.a, full))
		return 0;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & m) != (c->addr.a[full] & m))
			return 0;
	}
	return 1;
}

int nasd_cidr_list_match(const struct nasd_cidr *list, unsigned n,
			 const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < n; i++)
		if (nasd_cidr_match(&list[i], ss))
			return 1;
	return 0;
}

const char *nasd_cidr_fmt(const struct nasd_cidr *c, char *buf, size_t len)
{
	char a[TADDR_STRLEN];

	snprintf(buf, len, "%s/%u", taddr_fmt(&c->addr, a, sizeof(a)), c->plen);
	return buf;
}

int nasd_cidr_list_parse(struct jconf *p, json_t *obj, const char *key, struct nasd_cidr *list,
			 unsigned max, unsigned *n)
{
	json_t *arr = json_object_get(obj, key), *v;
	size_t i;

	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > max)
		return jconf_perr(p, "\"%s\" must be an array of 1..%u CIDRs", key, max);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || nasd_cidr_parse(json_string_value(v), &list[i]) < 0)
			return jconf_perr(p, "\"%s\"[%zu]: want \"addr/len\"", key, i);
	}
	*n = (unsigned)json_array_size(arr);
	return 0;
}
