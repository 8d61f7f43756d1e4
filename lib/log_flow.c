/* log_flow.c - a flow key as event fields (log_flow.h). */
#include "log_flow.h"

#include <stdio.h>
#include <string.h>

void log_flow(struct log_flow *f, const struct lb_flow_key *k)
{
	struct taddr c, v;
	uint16_t cp, vp;

	memset(f, 0, sizeof(*f));
	if (!k || !k->family)
		return;
	flowkey_split(k, &c, &cp, &v, &vp);
	taddr_fmt(&c, f->client, sizeof(f->client));
	taddr_fmt(&v, f->vip, sizeof(f->vip));
	snprintf(f->client_port, sizeof(f->client_port), "%u", cp);
	snprintf(f->vip_port, sizeof(f->vip_port), "%u", vp);
	f->proto = proto_name(k->proto);
}
