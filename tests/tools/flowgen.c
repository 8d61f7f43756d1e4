/*
 * flowgen.c - flow-table load for the pair benchmarks of `make bench`
 * (tests/bench/run.sh --only pair).  Works on a RUNNING switch's objects:
 * the tc program tandem-lbd attached and the flow map it pinned.
 *
 *   flowgen syn (-i IFNAME | -p PROGID) [-n COUNT] [-r RATE] [-b BASE]
 *               [-d VIP] [-P PORT] [-T MAX_SECONDS]
 *       Runs lbd's tc program (found as the tc ingress filter 1/1 on IFNAME
 *       in the current network namespace, or by id) with
 *       bpf_prog_test_run_opts on COUNT TCP SYNs to VIP:PORT, each from a
 *       different client (address 100.64.0.0 + (BASE + i) / 50000, port
 *       10000 + (BASE + i) % 50000; with an IPv6 VIP, address fd00:64:: +
 *       (BASE + i) / 50000, the same ports).  Each one is a table miss: the program
 *       inserts a flow into the switch's real flow map and reports it on
 *       the event ring, which tandem-syncd replicates.  (test_run does not
 *       perform the redirect: nothing leaves the machine.)  RATE > 0 paces
 *       the SYNs to RATE per second; 0 (default) goes flat out.  -T stops
 *       after MAX_SECONDS even if fewer than COUNT were sent ("count" says
 *       how many were).
 *       -A sends ACKs instead (mid-stream segments: a spoofed flood).
 *       Prints {"count","redirected","other","seconds","rate","t_start","t_end"}
 *       (t_* in CLOCK_REALTIME seconds).
 *
 *   flowgen fill -m MAP [-n COUNT] [-b BASE] [-N NODES]
 *       Inserts COUNT flows (same client numbering) straight into the
 *       pinned flow map MAP with bpf_map_update_batch, node ids
 *       i % NODES (default 3), flags SYN, last_seen now.  Nothing is
 *       reported to syncd: this is state for a bulk resync to carry.
 *       -D deletes those flows instead (a missing one is not an error).
 *       Prints {"count","seconds","entries"}.
 *
 *   flowgen lag (-i IFNAME | -p PROGID) -m PEERMAP [-t SECONDS] [-e MS]
 *               [-b BASE] [-d VIP] [-P PORT] [-w TIMEOUT_MS] [-u POLL_US]
 *       End-to-end replication lag: every MS ms (default 10) one SYN of a
 *       new client through the program (as `syn`), then the peer switch's
 *       pinned flow map PEERMAP is polled (every POLL_US, default 20; 0
 *       spins) until that flow is there.  Lag = SYN run -> flow present on
 *       the peer: event ring,
 *       syncd batching, HMAC, UDP, the peer's apply.  Prints
 *       {"n","missing","p50_ms","p90_ms","p99_ms","max_ms","mean_ms"}.
 *
 * Needs root (BPF).  Exit: 0 done, 1 error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb/lb_maps.h"

#define PER_ADDR 50000u
#define CHUNK 8192

struct opts {
	const char *ifname, *map;
	uint32_t prog_id;
	uint64_t count, base;
	double rate, seconds, every_ms, wait_ms;
	uint32_t vip[4];	/* network order; IPv4 in vip[0] (lib/flow_key.h) */
	int v6;			/* -d gave an IPv6 VIP: IPv6 clients and frames */
	uint16_t port;
	uint32_t nodes;
	int del;		/* fill -D: delete those flows instead */
	double poll_us;		/* lag: peer map poll interval (0: busy) */
	double limit_s;		/* syn -T: stop after this long even if COUNT is not reached */
	int ack;		/* syn -A: ACKs, not SYNs */
	uint8_t dmac[6];	/* frames go to the switch's own MAC (lb_config.mac) */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/* Client n's address (as in lb_flow_key: IPv4 in saddr[0]) and port. */
static void client_of(const struct opts *o, uint64_t n, uint32_t saddr[4], uint16_t *sport)
{
	memset(saddr, 0, 16);
	if (o->v6) {		/* fd00:64::/96 */
		saddr[0] = htonl(0xfd000064u);
		saddr[3] = htonl((uint32_t)(n / PER_ADDR));
	} else {		/* 100.64.0.0/10 */
		saddr[0] = htonl(0x64400000u + (uint32_t)(n / PER_ADDR));
	}
	*sport = htons((uint16_t)(10000 + n % PER_ADDR));
}

/*
 * The data plane takes only frames sent to the switch's MAC (lb_config.mac,
 * written by lbd): read it from the program's lb_config map so our SYNs are
 * addressed like a client's.  Zero (no check) when not found.
 */
static void prog_mac(int prog, uint8_t mac[6])
{
	struct bpf_prog_info pi;
	uint32_t ids[64], len = sizeof(pi);

	memset(mac, 0, 6);
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog, &pi, &len) < 0)
		return;
	for (uint32_t i = 0; i < pi.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi;
		uint32_t ml = sizeof(mi), zero = 0;
		int fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &ml) == 0 && !strcmp(mi.name, "lb_config")) {
			struct lb_config c;
			if (bpf_map_lookup_elem(fd, &zero, &c) == 0)
				memcpy(mac, c.mac, 6);
		}
		close(fd);
	}
}

/* The program: tc ingress filter 1/1 on ifname here, or by id.  fd or -1.
 * Also learns the switch's MAC into o->dmac. */
static int find_prog(struct opts *o)
{
	uint32_t id = o->prog_id;
	int fd;

	if (o->ifname) {
		int ifindex = (int)if_nametoindex(o->ifname), err;

		if (!ifindex) {
			fprintf(stderr, "flowgen: no interface %s here\n", o->ifname);
			return -1;
		}
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, to, .handle = 1, .priority = 1);
		err = bpf_tc_query(&hook, &to);
		if (err) {
			fprintf(stderr, "flowgen: no tc filter 1/1 on %s: %s\n", o->ifname,
				strerror(-err));
			return -1;
		}
		id = to.prog_id;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		fprintf(stderr, "flowgen: program %u: %s\n", id, strerror(errno));
	else
		prog_mac(fd, o->dmac);
	return fd;
}

#define FRAME_MAX 80

/* A frame for client n: Ethernet, IPv4 or IPv6, TCP SYN (no options);
 * 60 or 74 bytes into b (FRAME_MAX).  The checksums stay zero: the data
 * plane does not check them. */
static size_t build_syn(uint8_t *b, const struct opts *o, uint64_t n)
{
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0xfe, 0x02 };
	uint16_t len, sport, dport = htons(o->port);
	uint32_t saddr[4];
	size_t tcp;

	client_of(o, n, saddr, &sport);
	memset(b, 0, FRAME_MAX);
	memcpy(b, o->dmac, 6);
	memcpy(b + 6, smac, 6);
	if (o->v6) {
		b[12] = 0x86, b[13] = 0xdd;
		b[14] = 0x60;
		len = htons(20);	/* payload: the TCP header */
		memcpy(b + 18, &len, 2);
		b[20] = IPPROTO_TCP;
		b[21] = 64;
		memcpy(b + 22, saddr, 16);
		memcpy(b + 38, o->vip, 16);
		tcp = 54;
	} else {
		b[12] = 0x08;
		b[14] = 0x45;
		len = htons(40);
		memcpy(b + 16, &len, 2);
		b[22] = 64;
		b[23] = IPPROTO_TCP;
		memcpy(b + 26, &saddr[0], 4);
		memcpy(b + 30, &o->vip[0], 4);
		tcp = 34;
	}
	memcpy(b + tcp, &sport, 2);
	memcpy(b + tcp + 2, &dport, 2);
	b[tcp + 12] = 5 << 4;
	b[tcp + 13] = o->ack ? 0x10 : 0x02;	/* ACK or SYN */
	b[tcp + 15] = 0xff;	/* window */
	return o->v6 ? 74 : 60;
}

/* Runs the program on client n's SYN; 1 redirected, 0 other verdict, -1 error. */
static int run_syn(int prog, const struct opts *o, uint64_t n)
{
	uint8_t pkt[FRAME_MAX], out[128];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	t.data_size_in = (uint32_t)build_syn(pkt, o, n);
	if (bpf_prog_test_run_opts(prog, &t) < 0)
		return -1;
	return t.retval == TC_ACT_REDIRECT;
}

static int cmd_syn(struct opts *o)
{
	uint64_t i, redirected = 0, other = 0, t0, t1, gap = 0;
	double r0;
	int prog = find_prog(o);

	if (prog < 0)
		return 1;
	if (o->rate > 0)
		gap = (uint64_t)(1e9 / o->rate);
	r0 = real_s();
	t0 = mono_ns();
	for (i = 0; i < o->count; i++) {
		int rc;

		if (o->limit_s > 0 && (i & 1023) == 0 &&
		    mono_ns() - t0 >= (uint64_t)(o->limit_s * 1e9))
			break;
		rc = run_syn(prog, o, o->base + i);

		if (rc < 0) {
			fprintf(stderr, "flowgen: test_run: %s\n", strerror(errno));
			return 1;
		}
		rc ? redirected++ : other++;
		if (gap && (i & 63) == 63) {
			uint64_t due = t0 + (i + 1) * gap, now = mono_ns();

			if (due > now)
				sleep_ns(due - now);
		}
	}
	t1 = mono_ns();
	printf("{\"count\":%llu,\"redirected\":%llu,\"other\":%llu,\"seconds\":%.6f,"
	       "\"rate\":%.0f,\"t_start\":%.6f,\"t_end\":%.6f}\n",
	       (unsigned long long)i, (unsigned long long)redirected,
	       (unsigned long long)other, (double)(t1 - t0) / 1e9,
	       (double)i / ((double)(t1 - t0) / 1e9), r0, r0 + (double)(t1 - t0) / 1e9);
	return 0;
}

static void flow_key(struct lb_flow_key *k, const struct opts *o, uint64_t n)
{
	memset(k, 0, sizeof(*k));
	client_of(o, n, k->saddr, &k->sport);
	memcpy(k->daddr, o->vip, sizeof(k->daddr));
	k->dport = htons(o->port);
	k->proto = IPPROTO_TCP;
	k->family = o->v6 ? 6 : 4;
}

static long count_entries(int fd)
{
	static struct lb_flow_key keys[CHUNK];
	static struct lb_flow_val vals[CHUNK];
	__u64 token = 0;
	void *in = NULL;
	long total = 0;

	for (;;) {
		__u32 cnt = CHUNK;
		int err = bpf_map_lookup_batch(fd, in, &token, keys, vals, &cnt, NULL);

		if (err < 0 && errno != ENOENT)
			return -1;
		total += cnt;
		if (err < 0)
			return total;
		in = &token;
	}
}

static int cmd_fill(const struct opts *o)
{
	static struct lb_flow_key keys[CHUNK];
	static struct lb_flow_val vals[CHUNK];
	uint64_t i = 0, t0;
	int fd = bpf_obj_get(o->map);

	if (fd < 0) {
		fprintf(stderr, "flowgen: %s: %s\n", o->map, strerror(errno));
		return 1;
	}
	t0 = mono_ns();
	while (i < o->count) {
		__u32 cnt = o->count - i < CHUNK ? (__u32)(o->count - i) : CHUNK, j;
		uint64_t now = mono_ns();

		for (j = 0; j < cnt; j++) {
			flow_key(&keys[j], o, o->base + i + j);
			memset(&vals[j], 0, sizeof(vals[j]));
			vals[j].node_id = (uint32_t)((o->base + i + j) % o->nodes);
			vals[j].flags = LB_FLOW_F_SYN;
			vals[j].last_seen_ns = now;
			vals[j].packets = 1;
			vals[j].bytes = 60;
		}
		if (o->del) {
			/* stops at the first missing key: skip it */
			if (bpf_map_delete_batch(fd, keys, &cnt, NULL) < 0) {
				if (errno != ENOENT) {
					fprintf(stderr, "flowgen: delete_batch: %s\n", strerror(errno));
					return 1;
				}
				cnt++;
			}
		} else if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL) < 0) {
			fprintf(stderr, "flowgen: update_batch at %llu: %s\n", (unsigned long long)i,
				strerror(errno));
			return 1;
		}
		i += cnt;
	}
	printf("{\"count\":%llu,\"seconds\":%.3f,\"entries\":%ld}\n", (unsigned long long)o->count,
	       (double)(mono_ns() - t0) / 1e9, count_entries(fd));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *s, size_t n, double p)
{
	size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)s[r - 1] / 1e6;
}

static int cmd_lag(struct opts *o)
{
	uint64_t every = (uint64_t)(o->every_ms * 1e6), wait = (uint64_t)(o->wait_ms * 1e6);
	uint64_t end, next, *lat, n = 0, missing = 0, max_n, i;
	double sum = 0;
	int prog = find_prog(o), peer = bpf_obj_get(o->map);

	if (prog < 0)
		return 1;
	if (peer < 0) {
		fprintf(stderr, "flowgen: %s: %s\n", o->map, strerror(errno));
		return 1;
	}
	max_n = (uint64_t)(o->seconds * 1e9 / (double)every) + 2;
	lat = calloc(max_n, sizeof(*lat));
	if (!lat)
		return 1;
	next = mono_ns();
	end = next + (uint64_t)(o->seconds * 1e9);
	for (i = 0; next < end && n + missing < max_n; i++) {
		struct lb_flow_key k;
		struct lb_flow_val v;
		uint64_t t0, now;

		now = mono_ns();
		if (next > now)
			sleep_ns(next - now);
		next += every;
		flow_key(&k, o, o->base + i);
		t0 = mono_ns();
		if (run_syn(prog, o, o->base + i) != 1) {
			fprintf(stderr, "flowgen: the program did not forward the SYN\n");
			return 1;
		}
		for (;;) {
			now = mono_ns();
			if (bpf_map_lookup_elem(peer, &k, &v) == 0) {
				lat[n++] = now - t0;
				sum += (double)(now - t0);
				break;
			}
			if (now - t0 > wait) {
				missing++;
				break;
			}
			if (o->poll_us)
				sleep_ns((uint64_t)(o->poll_us * 1000));
		}
	}
	if (!n) {
		printf("{\"n\":0,\"missing\":%llu}\n", (unsigned long long)missing);
		return 0;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"n\":%llu,\"missing\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"max_ms\":%.3f,\"mean_ms\":%.3f}\n", (unsigned long long)n,
	       (unsigned long long)missing, pct_ms(lat, n, 50), pct_ms(lat, n, 90),
	       pct_ms(lat, n, 99), (double)lat[n - 1] / 1e6, sum / (double)n / 1e6);
	free(lat);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flowgen syn (-i IFNAME | -p PROGID) [-n COUNT] [-r RATE] [-b BASE] [-d VIP] [-P PORT]\n"
		"                   [-T MAX_SECONDS] [-A]\n"
		"       flowgen fill -m MAP [-n COUNT] [-b BASE] [-N NODES] [-d VIP] [-P PORT] [-D]\n"
		"       flowgen lag (-i IFNAME | -p PROGID) -m PEERMAP [-t SECONDS] [-e MS] [-w MS] [-u US]\n"
		"                   [-b BASE] [-d VIP] [-P PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 100000, .seconds = 5, .every_ms = 10, .wait_ms = 1000, .poll_us = 20,
			  .port = 80, .nodes = 3 };
	const char *cmd, *vip = "10.77.1.100";
	int opt;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "i:p:n:r:b:d:P:m:N:t:e:w:Du:T:A")) != -1) {
		switch (opt) {
		case 'i': o.ifname = optarg; break;
		case 'p': o.prog_id = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'n': o.count = strtoull(optarg, NULL, 0); break;
		case 'r': o.rate = atof(optarg); break;
		case 'b': o.base = strtoull(optarg, NULL, 0); break;
		case 'd': vip = optarg; break;
		case 'P': o.port = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'm': o.map = optarg; break;
		case 'N': o.nodes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': o.seconds = atof(optarg); break;
		case 'e': o.every_ms = atof(optarg); break;
		case 'w': o.wait_ms = atof(optarg); break;
		case 'D': o.del = 1; break;
		case 'u': o.poll_us = atof(optarg); break;
		case 'T': o.limit_s = atof(optarg); break;
		case 'A': o.ack = 1; break;
		default: usage();
		}
	}
	o.v6 = strchr(vip, ':') != NULL;
	if (optind != argc || inet_pton(o.v6 ? AF_INET6 : AF_INET, vip, o.vip) != 1 ||
	    o.nodes == 0 || o.every_ms <= 0 || o.seconds <= 0)
		usage();
	if (!strcmp(cmd, "syn")) {
		if (!o.ifname == !o.prog_id)
			usage();
		return cmd_syn(&o);
	}
	if (!strcmp(cmd, "fill")) {
		if (!o.map)
			usage();
		return cmd_fill(&o);
	}
	if (!strcmp(cmd, "lag")) {
		if (!o.map || !o.ifname == !o.prog_id)
			usage();
		return cmd_lag(&o);
	}
	usage();
	return 2;
}
