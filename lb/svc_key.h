/*
 * svc_key.h - the data plane's service key (lb_maps.h) built from a
 * project address; for lbd and the tests that drive the BPF program.
 */
#ifndef TANDEM_LB_SVC_KEY_H
#define TANDEM_LB_SVC_KEY_H

#include <arpa/inet.h>
#include <string.h>

#include "lib/addr.h"
#include "lb_maps.h"

/* Service key for (addr, host-order port, proto); pad zeroed. */
static inline void svckey_make(struct lb_svc_key *k, const struct taddr *a, uint16_t port,
			       uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->a, 16);
	k->port = htons(port);
	k->proto = proto;
	k->family = (__u8)a->family;
}

#endif
