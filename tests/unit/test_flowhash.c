/*
 * Flow keys and the flow hash: key layout, endpoint parsing, and that the
 * hash spreads sequential ports and addresses evenly (chi-square over 64
 * buckets) and depends on every field of the 5-tuple; what client affinity
 * leaves out.
 */
#include <arpa/inet.h>
#include <string.h>

#include "lib/addr.h"
#include "check.h"
#include "lb/lb_hash.h"

int main(void)
{
	struct taddr c, v, x;
	struct lb_flow_key k, k2;
	uint16_t port;

	CHECK(sizeof(struct lb_flow_key) == 40, "flow key is 40 bytes, no holes");
	CHECK(taddr_parse("10.77.1.10", &c) == 0 && c.family == 4, "parse IPv4");
	CHECK(taddr_parse("fd77:1::10", &x) == 0 && x.family == 6, "parse IPv6");
	CHECK(taddr_parse("10.77.1", &x) < 0 && taddr_parse("", &x) < 0 && taddr_parse("::g", &x) < 0,
	      "reject bad addresses");
	CHECK(taddr_parse_endpoint("10.1.2.3:80", &x, &port) == 0 && port == 80, "endpoint v4");
	CHECK(taddr_parse_endpoint("[fd77:1::100]:5201", &x, &port) == 0 && port == 5201 &&
	      x.family == 6, "endpoint v6");
	CHECK(taddr_parse_endpoint("fd77::1:80", &x, &port) < 0 &&
	      taddr_parse_endpoint("1.2.3.4:99999", &x, &port) < 0 &&
	      taddr_parse_endpoint("1.2.3.4:", &x, &port) < 0 &&
	      taddr_parse_endpoint("[::1]80", &x, &port) < 0, "reject bad endpoints");

	taddr_parse("10.77.1.100", &v);
	flowkey_make(&k, &c, 40000, &v, 80, 6);
	CHECK(k.sport == htons(40000) && k.dport == htons(80) && k.proto == 6 && k.family == 4 &&
	      k.pad[0] == 0 && k.pad[1] == 0, "key fields in network order");
	struct taddr s2, d2;
	uint16_t sp, dp;
	flowkey_split(&k, &s2, &sp, &d2, &dp);
	CHECK(taddr_equal(&s2, &c) && taddr_equal(&d2, &v) && sp == 40000 && dp == 80, "split round trip");

	uint32_t h = lb_flow_hash(&k);
	CHECK(h == lb_flow_hash(&k), "hash deterministic");
	k2 = k; k2.sport = htons(40001);
	CHECK(lb_flow_hash(&k2) != h, "hash depends on source port");
	k2 = k; k2.dport = htons(81);
	CHECK(lb_flow_hash(&k2) != h, "hash depends on destination port");
	k2 = k; k2.proto = 17;
	CHECK(lb_flow_hash(&k2) != h, "hash depends on protocol");
	k2 = k; k2.saddr[0] ^= htonl(1);
	CHECK(lb_flow_hash(&k2) != h, "hash depends on source address");
	k2 = k; k2.daddr[0] ^= htonl(1);
	CHECK(lb_flow_hash(&k2) != h, "hash depends on destination address");

	/* Client affinity leaves out the client port, the protocol and the VIP
	 * (a client reaching several VIPs by one round-robin name), nothing else. */
	uint32_t ha = lb_svc_hash(&k, LB_SVC_F_AFFINITY);
	CHECK(lb_svc_hash(&k, 0) == h, "without affinity the service hash is the flow hash");
	k2 = k; k2.sport = htons(40001); k2.proto = 17; k2.daddr[0] ^= htonl(1);
	CHECK(lb_svc_hash(&k2, LB_SVC_F_AFFINITY) == ha,
	      "affinity: the hash ignores client port, protocol and VIP address");
	k2 = k; k2.saddr[0] ^= htonl(1);
	CHECK(lb_svc_hash(&k2, LB_SVC_F_AFFINITY) != ha, "affinity: the hash depends on the client address");
	k2 = k; k2.dport = htons(81);
	CHECK(lb_svc_hash(&k2, LB_SVC_F_AFFINITY) != ha, "affinity: the hash depends on the service port");

	/* Uniformity: 64 buckets, 640k sequential source ports x clients. */
	enum { B = 64, N = 640000 };
	unsigned long cnt[B] = { 0 };
	for (unsigned i = 0; i < N; i++) {
		struct taddr cc = c;
		cc.a[3] = (uint8_t)(i / 60000);
		flowkey_make(&k, &cc, (uint16_t)(1024 + i % 60000), &v, 80, 6);
		cnt[lb_flow_hash(&k) % B]++;
	}
	double chi = 0, e = (double)N / B;
	for (int b = 0; b < B; b++)
		chi += ((double)cnt[b] - e) * ((double)cnt[b] - e) / e;
	/* 63 degrees of freedom: p = 0.001 critical value is about 103. */
	CHECK(chi < 103.0, "sequential ports spread evenly (chi-square %.1f < 103)", chi);
	return check_done();
}
