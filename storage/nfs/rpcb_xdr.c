/*
 * rpcb_xdr.c - rpcbind v3/v4 codecs and universal addresses (rpcb_xdr.h).
 * Pure: no I/O, no allocation.
 */
#include "rpcb_xdr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"

int rpcb_decode(const uint8_t *buf, size_t len, struct rpcb_args *a, char *err, size_t errlen)
{
	struct xdr_dec d;

	memset(a, 0, sizeof(*a));
	xdr_dec_init(&d, buf, len);
	if (xdr_get_u32(&d, &a->prog) < 0 || xdr_get_u32(&d, &a->vers) < 0)
		return err_set(err, errlen, "rpcb: prog/vers truncated");
	if (xdr_get_opaque(&d, &a->netid, &a->netid_len, RPCB_NETID_MAX) < 0)
		return err_set(err, errlen, "rpcb: r_netid truncated or over %d bytes", RPCB_NETID_MAX);
	if (xdr_get_opaque(&d, &a->addr, &a->addr_len, RPCB_UADDR_MAX) < 0)
		return err_set(err, errlen, "rpcb: r_addr truncated or over %d bytes", RPCB_UADDR_MAX);
	if (xdr_get_opaque(&d, &a->owner, &a->owner_len, RPCB_OWNER_MAX) < 0)
		return err_set(err, errlen, "rpcb: r_owner truncated or over %d bytes", RPCB_OWNER_MAX);
	if (xdr_left(&d) != 0)
		return err_set(err, errlen, "rpcb: %zu bytes after r_owner", xdr_left(&d));
	return 0;
}

int rpcb_put(struct xdr_enc *e, uint32_t prog, uint32_t vers, const char *netid,
	     const char *uaddr, const char *owner)
{
	xdr_put_u32(e, prog);
	xdr_put_u32(e, vers);
	xdr_put_opaque(e, netid, (uint32_t)strlen(netid));
	xdr_put_opaque(e, uaddr, (uint32_t)strlen(uaddr));
	return xdr_put_opaque(e, owner, (uint32_t)strlen(owner));
}

static const struct {
	const char *name;
	struct rpcb_netid n;
} netids[] = {
	{ "tcp", { AF_INET, 6 } }, { "udp", { AF_INET, 17 } },
	{ "tcp6", { AF_INET6, 6 } }, { "udp6", { AF_INET6, 17 } },
};

int rpcb_netid_parse(const uint8_t *netid, size_t len, struct rpcb_netid *n)
{
	for (size_t i = 0; i < sizeof(netids) / sizeof(netids[0]); i++)
		if (strlen(netids[i].name) == len && memcmp(netids[i].name, netid, len) == 0) {
			*n = netids[i].n;
			return 0;
		}
	return -1;
}

const char *rpcb_netid_name(int family, uint32_t prot)
{
	for (size_t i = 0; i < sizeof(netids) / sizeof(netids[0]); i++)
		if (netids[i].n.family == family && netids[i].n.prot == prot)
			return netids[i].name;
	return NULL;
}

int rpcb_uaddr_fmt(const struct sockaddr_storage *ss, uint16_t port, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	} else {
		return -1;
	}
	int n = snprintf(out, cap, "%s.%u.%u", ip, port >> 8, port & 0xff);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The last two dot-separated decimal fields of s[0, *len) as a port: *len
 * becomes the length of the address text before them.  0 / -1. */
static int split_port(const uint8_t *s, size_t *len, uint16_t *port)
{
	unsigned v[2];
	size_t end = *len;

	for (int k = 1; k >= 0; k--) {
		size_t i = end, digits = 0;
		unsigned w = 1;
		v[k] = 0;
		while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' && digits < 3) {
			v[k] += (unsigned)(s[--i] - '0') * w;
			w *= 10;
			digits++;
		}
		if (digits == 0 || v[k] > 255 || i == 0 || s[i - 1] != '.')
			return -1;
		end = i - 1;
	}
	*len = end;
	*port = (uint16_t)(v[0] << 8 | v[1]);
	return 0;
}

int rpcb_uaddr_parse(const uint8_t *s, size_t len, struct sockaddr_storage *ss, char *err,
		     size_t errlen)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t alen = len;

	memset(ss, 0, sizeof(*ss));
	if (len > RPCB_UADDR_MAX || split_port(s, &alen, &port) < 0)
		return err_set(err, errlen, "uaddr: no .p1.p2 port (or over %d bytes)", RPCB_UADDR_MAX);
	if (alen == 0 || alen >= sizeof(ip) || memchr(s, 0, alen))
		return err_set(err, errlen, "uaddr: address part empty or too long");
	memcpy(ip, s, alen);
	ip[alen] = 0;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return err_set(err, errlen, "uaddr: address part is neither IPv4 nor IPv6");
}
