/*
 * log_flow.h - a flow's 5-tuple as the fields of an event (lib/log.h), so
 * every daemon names a flow the same way: client, client_port, vip,
 * vip_port, proto (doc/logs.md).
 *
 *	struct log_flow f;
 *	log_flow(&f, &key);
 *	log_event(LOG_NOTICE, "flow_repoint", KV_FLOW(&f), KV_S("node", to));
 */
#ifndef TANDEM_LOG_FLOW_H
#define TANDEM_LOG_FLOW_H

#include <stdint.h>

#include "lib/addr.h"
#include "lib/log.h"

/* The text of one flow key, for as long as the caller keeps it. */
struct log_flow {
	char client[TADDR_STRLEN], vip[TADDR_STRLEN];
	uint16_t client_port, vip_port;	/* host order */
	const char *proto;		/* "tcp", "udp"; NULL (the pair left out) otherwise */
};

/* Fill *f from k: the source is the client, the destination the VIP, as in
 * every flow key of the project (lib/flow_key.h). */
void log_flow(struct log_flow *f, const struct lb_flow_key *k);

/* The five pairs of f, for log_event's argument list. */
#define KV_FLOW(f)								\
	KV_S("client", (f)->client), KV_U("client_port", (f)->client_port),	\
	KV_S("vip", (f)->vip), KV_U("vip_port", (f)->vip_port), KV_S("proto", (f)->proto)

#endif
