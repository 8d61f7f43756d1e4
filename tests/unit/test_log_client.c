/*
 * The fields events name flows and clients by, and the rate limit of
 * tandem-nasd's client-caused lines: a flow key becomes client,
 * client_port, vip, vip_port and proto (lib/log_flow.c), IPv4 and IPv6, and
 * an unknown one no pairs at all; a client's socket address becomes client
 * and client_port; log_rate_allow lets a burst of LOG_RATE_BURST through,
 * then one a second, and the next line allowed counts those left out
 * (storage/log_client.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "lib/log_flow.h"
#include "lib/log_fmt.h"
#include "storage/log_client.h"

static void flow_fields(void)
{
	struct lb_flow_key k;
	struct taddr c, v;
	struct log_flow f;
	char line[256];

	taddr_parse("10.0.0.5", &c);
	taddr_parse("192.0.2.10", &v);
	flowkey_make(&k, &c, 41000, &v, 80, IPPROTO_TCP);
	log_flow(&f, &k);
	struct log_kv kv[] = { KV_FLOW(&f), KV_S("node", "n2") };
	log_fmt_event(line, sizeof(line), "flow_repoint", kv, sizeof(kv) / sizeof(kv[0]));
	CHECK(!strcmp(line, "flow_repoint client=10.0.0.5 client_port=41000 vip=192.0.2.10 "
			    "vip_port=80 proto=tcp node=n2"), "an IPv4 TCP flow: %s", line);

	taddr_parse("2001:db8::5", &c);
	taddr_parse("2001:db8::10", &v);
	flowkey_make(&k, &c, 5353, &v, 53, IPPROTO_UDP);
	log_flow(&f, &k);
	struct log_kv kv6[] = { KV_FLOW(&f) };
	log_fmt_event(line, sizeof(line), "e", kv6, sizeof(kv6) / sizeof(kv6[0]));
	CHECK(!strcmp(line, "e client=2001:db8::5 client_port=5353 vip=2001:db8::10 vip_port=53 "
			    "proto=udp"), "an IPv6 UDP flow: %s", line);

	memset(&k, 0, sizeof(k));
	log_flow(&f, &k);
	struct log_kv kv0[] = { KV_FLOW(&f), KV_S("reason", "channel lost") };
	log_fmt_event(line, sizeof(line), "handoff_in_failed", kv0, sizeof(kv0) / sizeof(kv0[0]));
	CHECK(!strcmp(line, "handoff_in_failed reason=\"channel lost\""),
	      "a key not filled in (family 0): its pairs left out: %s", line);
	log_flow(&f, NULL);
	CHECK(!f.client[0] && !f.vip_port[0] && !f.proto, "... and so for no key at all");
}

static void client_fields(void)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char a[TADDR_STRLEN];
	uint16_t port;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(812);
	inet_pton(AF_INET6, "::ffff:10.0.0.7", &s6->sin6_addr);
	log_client(&ss, a, &port);
	CHECK(!strcmp(a, "10.0.0.7") && port == 812,
	      "an IPv4-mapped client is its IPv4 address, as in the flow key: %s %u", a, port);
	ss.ss_family = AF_UNIX;
	log_client(&ss, a, &port);
	CHECK(!strcmp(a, "-") && port == 0, "another family: \"-\", port 0 (%s %u)", a, port);
}

static void rate(void)
{
	struct log_rate r = { 0 };
	char more[24];
	int allowed = 0;

	for (int i = 0; i < 25; i++)
		allowed += log_rate_allow(&r, more, sizeof(more));
	CHECK(allowed == LOG_RATE_BURST, "a burst of %d of 25 at once (%d)", LOG_RATE_BURST, allowed);
	r.at_ms -= 1000;	/* a second later */
	CHECK(log_rate_allow(&r, more, sizeof(more)) == 1 && !strcmp(more, "15"),
	      "a second later one more, not_logged 15 (%s)", more);
	CHECK(log_rate_allow(&r, more, sizeof(more)) == 0, "... and only one");
	r.at_ms -= 60000;	/* a quiet minute */
	allowed = 0;
	for (int i = 0; i < 25; i++)
		allowed += log_rate_allow(&r, more, sizeof(more));
	CHECK(allowed == LOG_RATE_BURST, "after a quiet minute a burst again, no more (%d)", allowed);
}

int main(void)
{
	flow_fields();
	client_fields();
	rate();
	return check_done();
}
