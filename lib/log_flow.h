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

#include "lib/addr.h"
#include "lib/log.h"

/* The text of one flow key, for as long as the caller keeps it.  An empty
 * field is left out of the event (a flow not known yet). */
struct log_flow {
	char client[TADDR_STRLEN], vip[TADDR_STRLEN];
	char client_port[6], vip_port[6];	/* decimal */
	const char *proto;			/* "tcp", "udp"; NULL otherwise */
};

/* Fill *f from k: the source is the client, the destination the VIP, as in
 * every flow key of the project (lib/flow_key.h).  k NULL or of family 0
 * (not filled in): every field empty. */
void log_flow(struct log_flow *f, const struct lb_flow_key *k);

/* The five pairs of f, for log_event's argument list. */
#define LOG_FLOW_STR(s) ((s)[0] ? (s) : NULL)
#define KV_FLOW(f)								\
	KV_S("client", LOG_FLOW_STR((f)->client)),				\
	KV_S("client_port", LOG_FLOW_STR((f)->client_port)),			\
	KV_S("vip", LOG_FLOW_STR((f)->vip)),					\
	KV_S("vip_port", LOG_FLOW_STR((f)->vip_port)), KV_S("proto", (f)->proto)

#endif
