/*
 * cidr.h - client networks ("10.0.0.0/8", "2001:db8::/64") as tandem-nasd's
 * access lists hold them: parsing a "clients" entry and matching a peer's
 * socket address against it.  Used by every "clients" of nasd: the HTTP
 * exports' and data location's (config.c, storage/http/) and the NFS
 * export's (storage/nfs/nfs_config.c, nfs_conn.c).
 */
#ifndef TANDEM_NASD_CIDR_H
#define TANDEM_NASD_CIDR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/addr.h"

struct nasd_cidr {
	struct taddr addr;
	uint8_t plen;		/* prefix length: 0..32 (IPv4), 0..128 (IPv6) */
};

/* "a.b.c.d/len" or "v6/len"; a bare address is the host route.  Bits past
 * the prefix are allowed (and ignored by the match).  0, or -1. */
int nasd_cidr_parse(const char *s, struct nasd_cidr *c);

/* Whether ss (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * IPv4) lies in c: 1 or 0. */
int nasd_cidr_match(const struct nasd_cidr *c, const struct sockaddr_storage *ss);

/* Whether ss lies in one of the n networks of list: 1 or 0 (n == 0: 0). */
int nasd_cidr_list_match(const struct nasd_cidr *list, unsigned n,
			 const struct sockaddr_storage *ss);

/* A "clients" member of a configuration object (jsonconf): absent leaves
 * *n 0 (any client); else a non-empty array of at most max CIDR strings
 * into list[0..*n).  0, or -1 with the message in p. */
struct jconf;
int nasd_cidr_list_parse(struct jconf *p, json_t *obj, const char *key, struct nasd_cidr *list,
			 unsigned max, unsigned *n);

/* "addr/len" into buf (>= TADDR_STRLEN + 4).  Returns buf. */
const char *nasd_cidr_fmt(const struct nasd_cidr *c, char *buf, size_t len);

#endif
