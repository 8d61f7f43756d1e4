#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int taddr_parse(const char *s, struct taddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = 6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

int taddr_af(const struct taddr *a)
{
	return a->family == 6 ? AF_INET6 : AF_INET;
}

const char *taddr_fmt(const struct taddr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(taddr_af(a), a->a, buf, (socklen_t)len))
		snprintf(buf, len, "-");
	return buf;
}

int taddr_equal(const struct taddr *x, const struct taddr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, 16) == 0;
}

int taddr_is_any(const struct taddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->a, zero, 16) == 0;	/* IPv4 keeps bytes 4..15 zero */
}

int taddr_parse_endpoint(const char *s, struct taddr *out, uint16_t *port)
{
	char host[64];
	const char *p;
	size_t hl;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':')
			return -1;
		hl = (size_t)(e - s - 1);
		s++;
		p = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || strchr(s, ':') != c)
			return -1;
		hl = (size_t)(c - s);
		p = c + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	char *end;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	if (taddr_parse(host, out) < 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int taddr_parse_cidr(const char *s, struct taddr *a, uint8_t *plen)
{
	char buf[64];
	const char *sl = strchr(s, '/');
	size_t al = sl ? (size_t)(sl - s) : strlen(s);
	char *end;

	if (al >= sizeof(buf))
		return -1;
	memcpy(buf, s, al);
	buf[al] = '\0';
	if (taddr_parse(buf, a) < 0)
		return -1;
	long max = a->family == 4 ? 32 : 128, pl = max;
	if (sl) {
		pl = strtol(sl + 1, &end, 10);
		if (!sl[1] || *end || pl < 0 || pl > max)
			return -1;
	}
	*plen = (uint8_t)pl;
	return 0;
}

socklen_t taddr_sockaddr(const struct taddr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->a, 16);
	return sizeof(*s6);
}

void flowkey_make(struct lb_flow_key *k, const struct taddr *src, uint16_t sport,
		  const struct taddr *dst, uint16_t dport, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, src->a, 16);
	memcpy(k->daddr, dst->a, 16);
	k->sport = htons(sport);
	k->dport = htons(dport);
	k->proto = proto;
	k->family = (__u8)src->family;
}

void flowkey_split(const struct lb_flow_key *k, struct taddr *src, uint16_t *sport,
		   struct taddr *dst, uint16_t *dport)
{
	src->family = dst->family = k->family;
	memcpy(src->a, k->saddr, 16);
	memcpy(dst->a, k->daddr, 16);
	*sport = ntohs(k->sport);
	*dport = ntohs(k->dport);
}

int proto_parse(const char *s)
{
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	return -1;
}

const char *proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : NULL;
}

int taddr_from_sockaddr(const struct sockaddr_storage *ss, struct taddr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = 4;
		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a->family = 4;
		memcpy(a->a, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		a->family = 6;
		memcpy(a->a, &s6->sin6_addr, 16);
	}
	return 0;
}
