/*
 * rpcb_xdr.h - rpcbind versions 3 and 4 (RFC 1833): the struct rpcb
 * argument, universal addresses and the DUMP / GETADDRLIST results, pure.
 *
 * A universal address is the text form of a transport address that any
 * client can read whatever its address family: "h1.h2.h3.h4.p1.p2" for
 * IPv4, "<inet_ntop text>.p1.p2" for IPv6, p1.p2 the port's two bytes in
 * decimal.  Version 2 of the portmapper (portmap.c) knows only IPv4 ports;
 * versions 3 and 4 are how an IPv6 client finds a service.
 */
#ifndef TANDEM_RPCB_XDR_H
#define TANDEM_RPCB_XDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "xdr.h"

#define RPCB_VERS_LO 3
#define RPCB_VERS_HI 4
#define RPCB_NETID_MAX 32	/* "tcp6"; a longer netid names no transport we know */
#define RPCB_UADDR_MAX 64	/* the longest IPv6 text (45) + ".255.255" */
#define RPCB_OWNER_MAX 255

/* Procedures of versions 3 and 4 (9 and above: version 4 only). */
enum {
	RPCB_NULL = 0, RPCB_SET, RPCB_UNSET, RPCB_GETADDR, RPCB_DUMP, RPCB_CALLIT,
	RPCB_GETTIME, RPCB_UADDR2TADDR, RPCB_TADDR2UADDR, RPCB_GETVERSADDR, RPCB_INDIRECT,
	RPCB_GETADDRLIST, RPCB_GETSTAT,
};

/* struct rpcb: strings point into the caller's buffer (not NUL-terminated). */
struct rpcb_args {
	uint32_t prog, vers;
	const uint8_t *netid, *addr, *owner;
	uint32_t netid_len, addr_len, owner_len;
};

/* The transports a universal address can name here: netid "tcp", "udp",
 * "tcp6", "udp6". */
struct rpcb_netid {
	int family;		/* AF_INET / AF_INET6 */
	uint32_t prot;		/* 6 (TCP) / 17 (UDP), as the version 2 mapping's */
};

/*
 * Decode a struct rpcb argument that is exactly buf[0, len) (netid <=
 * RPCB_NETID_MAX, addr <= RPCB_UADDR_MAX, owner <= RPCB_OWNER_MAX bytes).
 * 0, or -1 with the offending field named in err.
 */
int rpcb_decode(const uint8_t *buf, size_t len, struct rpcb_args *a, char *err, size_t errlen);
/* Encode one struct rpcb (strings NUL-terminated). 0 / -1 (e->err). */
int rpcb_put(struct xdr_enc *e, uint32_t prog, uint32_t vers, const char *netid,
	     const char *uaddr, const char *owner);

/* netid[0, len) -> family and protocol.  0, or -1 (not one we know). */
int rpcb_netid_parse(const uint8_t *netid, size_t len, struct rpcb_netid *n);
/* The netid for a family and protocol ("tcp", "udp6", ...), NULL for others. */
const char *rpcb_netid_name(int family, uint32_t prot);

/* The universal address of ss's IP address (AF_INET, AF_INET6: a v4-mapped
 * address stays IPv6 text, the caller maps it first) with port into out
 * (NUL-terminated).
 * The length, or -1 (another family, or cap too small). */
int rpcb_uaddr_fmt(const struct sockaddr_storage *ss, uint16_t port, char *out, size_t cap);
/* Parse a universal address s[0, len) into ss (address and port).  0, or
 * -1 with the reason in err.  rpcb_uaddr_fmt's output parses back to the
 * same address and port. */
int rpcb_uaddr_parse(const uint8_t *s, size_t len, struct sockaddr_storage *ss, char *err,
		     size_t errlen);

#endif
