/* log_flow.c - a flow key as event fields (log_flow.h). */
#include "log_flow.h"

void log_flow(struct log_flow *f, const struct lb_flow_key *k)
{
	struct taddr c, v;

	flowkey_split(k, &c, &f->client_port, &v, &f->vip_port);
	taddr_fmt(&c, f->client, sizeof(f->client));
	taddr_fmt(&v, f->vip, sizeof(f->vip));
	f->proto = proto_name(k->proto);
}
