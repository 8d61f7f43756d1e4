/*
 * addr.h - IPv4/IPv6 addresses as the project stores them, and 5-tuple keys.
 *
 * struct taddr holds an address in network byte order: IPv4 in the first 4
 * bytes (rest zero), IPv6 in all 16.  This is the layout lb_flow_key (and
 * the data plane's service key) use, so a taddr copies straight into them.
 */
#ifndef TANDEM_ADDR_H
#define TANDEM_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/flow_key.h"

struct taddr {
	int family;		/* 4 or 6; 0 = unset */
	uint8_t a[16];
};

#define TADDR_STRLEN 46		/* INET6_ADDRSTRLEN */

/* Parse a literal IPv4 or IPv6 address.  Returns 0, or -1 if s is not one. */
int taddr_parse(const char *s, struct taddr *out);
/* Format into buf (>= TADDR_STRLEN).  Returns buf. */
const char *taddr_fmt(const struct taddr *a, char *buf, size_t len);
int taddr_equal(const struct taddr *x, const struct taddr *y);
/* 1 when a is the wildcard address (0.0.0.0 or ::). */
int taddr_is_any(const struct taddr *a);
/* AF_INET / AF_INET6 for a taddr family. */
int taddr_af(const struct taddr *a);

/* "addr:port" or "[v6addr]:port" -> address and host-order port.  0 / -1. */
int taddr_parse_endpoint(const char *s, struct taddr *out, uint16_t *port);
/* "addr/prefix" or a bare address (the host: prefix 32 or 128) -> address and
 * prefix length.  0 / -1. */
int taddr_parse_cidr(const char *s, struct taddr *a, uint8_t *plen);

/* The address and host-order port of a socket address; an IPv4-mapped IPv6
 * address becomes IPv4 (the data plane keys such a flow as IPv4).  0, or -1
 * for a family that is neither. */
int taddr_from_sockaddr(const struct sockaddr_storage *ss, struct taddr *a, uint16_t *port);

/* Fill *ss with a (host-order port); returns the sockaddr length. */
socklen_t taddr_sockaddr(const struct taddr *a, uint16_t port, struct sockaddr_storage *ss);

/* Build a flow key; ports in host order, proto IPPROTO_*.  Pad is zeroed. */
void flowkey_make(struct lb_flow_key *k, const struct taddr *src, uint16_t sport,
		  const struct taddr *dst, uint16_t dport, uint8_t proto);
/* Split a flow key back into its parts (ports host order). */
void flowkey_split(const struct lb_flow_key *k, struct taddr *src, uint16_t *sport,
		   struct taddr *dst, uint16_t *dport);

/* "tcp"/"udp" <-> IPPROTO_*; -1 / NULL if unknown. */
int proto_parse(const char *s);
const char *proto_name(int proto);

#endif
