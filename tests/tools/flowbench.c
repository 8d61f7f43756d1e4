/*
 * flowbench.c - flow-table benchmarks for `make bench`, on lb.bpf.o loaded
 * without pinning and never attached (as tests/unit/test_bpf.c does).
 *
 *   flowbench repoint [-n FLOWS] [-i ITERS] [-v VERIFY] OBJ
 *       lb_flows sized FLOWS (default 1048576, the default flow_table_size),
 *       filled with FLOWS IPv4 TCP flows to one VIP service; then ITERS
 *       re-points of random existing flows, each one bpf_map_update_elem
 *       (BPF_EXIST) of the flow's value with a new node id, timed one by one
 *       (CLOCK_MONOTONIC around the syscall); then ITERS of what lbd's
 *       "migrate" does per flow (lookup + update), timed the same way; then
 *       VERIFY re-points each followed by one packet of that flow through
 *       lb_tc (bpf_prog_test_run): it must be redirected with the new node's
 *       MAC.  Also the program's own run time on a flow-table hit
 *       (test_run repeat, kernel-measured average).
 *   flowbench paths [-n PACKETS] [-r RATE] [-o PATH] [-l LOOPS] OBJ
 *       The program's own run time (bpf_prog_test_run, kernel-measured,
 *       one run per packet, averaged over PACKETS distinct packets) per
 *       path: "hit" (ACK of an existing flow), "syn_new" (SYN, table
 *       miss: insert), "ack_midstream" (ACK, miss: insert), and, with an
 *       object that has them, "ack_untracked" (ACK, miss, lb_config
 *       insert_rate RATE (default 1) spent: no insert) and "ack_pinned"
 *       (ACK, miss, found in lb_flow_pins: restored), "syn_reuse" (a SYN on
 *       an existing flow, a client reusing a port: REHASH_SYN).  lb_flows holds
 *       8 x PACKETS entries, so the flows' lines are mostly not cached.
 *       Also "floor" (an empty tc program through the same one-run
 *       test_run: what the measurement adds; subtract it), "hit_hot" (one
 *       flow's ACK, test_run repeat 1000000: everything cached) and
 *       "line_ns_4k" / "line_ns_huge" (the latency of an uncached load on
 *       this machine, 4 KiB and huge pages: line_ns()).  -o PATH runs only
 *       that path (after the syn_new that fills the table), -l LOOPS runs
 *       hit, hit_hot and ack_untracked LOOPS times (a profiler's window:
 *       perf record -e cpu-clock -g over the run).  Prints one JSON
 *       object of ns per packet.
 *   flowbench mem OBJ N [N...]
 *       for each N: a map shaped like lb_flows (type, key/value size, flags
 *       from OBJ) with max_entries N, filled with N flows; the kernel's
 *       memory figure for it ("memlock:" of /proc/self/fdinfo/FD).
 *
 * Output: one JSON object per run/size on stdout.  Needs root.
 * Exit: 0 done, 1 error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb/lb_maps.h"

#define CHUNK  8192		/* batch size for fills and counts */
#define MSIZE  LB_MAGLEV_DEFAULT
#define NNODES 4
#define VIP    0x0a000064u	/* 10.0.0.100, host order */
#define VPORT  80

static const uint8_t sw_mac[6]     = { 0x02, 0, 0, 0, 0xff, 0x01 };
static const uint8_t client_mac[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };
static const uint8_t egress_mac[6] = { 0x02, 0, 0, 0, 0xff, 0x02 };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Flow i: client 11.0.0.0 + i, port 1024 + i % 60000, to VIP:80/tcp. */
static void flow_key(struct lb_flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->saddr[0] = htonl(0x0b000000u + i);
	k->daddr[0] = htonl(VIP);
	k->sport = htons((uint16_t)(1024 + i % 60000));
	k->dport = htons(VPORT);
	k->proto = IPPROTO_TCP;
	k->family = 4;
}

static void flow_val(struct lb_flow_val *v, uint32_t i)
{
	memset(v, 0, sizeof(*v));
	v->node_id = i % NNODES;
	v->flags = LB_FLOW_F_SYN;
	v->packets = 10;
	v->bytes = 1000;
}

/* Inserts flows [0, n) in batches.  Returns 0 or -1. */
static int fill(int fd, uint32_t n)
{
	static struct lb_flow_key keys[CHUNK];
	static struct lb_flow_val vals[CHUNK];
	uint32_t i = 0, j, cnt;

	while (i < n) {
		cnt = n - i < CHUNK ? n - i : CHUNK;
		for (j = 0; j < cnt; j++) {
			flow_key(&keys[j], i + j);
			flow_val(&vals[j], i + j);
		}
		if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL) < 0) {
			fprintf(stderr, "flowbench: update_batch at %u: %s\n", i, strerror(errno));
			return -1;
		}
		i += cnt;
	}
	return 0;
}

/* Entries in the map (batched walk), or -1. */
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

		if (err < 0 && errno != ENOENT) {
			fprintf(stderr, "flowbench: lookup_batch: %s\n", strerror(errno));
			return -1;
		}
		total += cnt;
		if (err < 0)
			return total;
		in = &token;
	}
}

/* The kernel's memory figure for map fd ("memlock:" in fdinfo), or -1. */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of sorted s[n], nearest rank. */
static uint64_t pct(const uint64_t *s, size_t n, double p)
{
	size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return s[r - 1];
}

static void print_lat(const char *name, uint64_t *s, size_t n)
{
	double sum = 0;
	size_t i;

	if (n == 0) {
		printf("\"%s\":null,", name);
		return;
	}
	qsort(s, n, sizeof(*s), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)s[i];
	printf("\"%s\":{\"n\":%zu,\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,"
	       "\"max_us\":%.3f,\"mean_us\":%.3f},", name, n,
	       (double)pct(s, n, 50) / 1e3, (double)pct(s, n, 90) / 1e3,
	       (double)pct(s, n, 99) / 1e3, (double)s[n - 1] / 1e3, sum / (double)n / 1e3);
}

/* ---- data plane setup (one service, NNODES nodes) ---- */

struct dp {
	struct bpf_object *obj;
	int prog, flows, svcs, vips, nodes;
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void node_mac(uint8_t mac[6], __u32 node)
{
	static const uint8_t base[6] = { 0x02, 0, 0, 0, 0x01, 0 };

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)node;
}

static int dp_setup(struct dp *d, const char *path, uint32_t flows_max)
{
	struct bpf_map *m;
	struct lb_svc_key sk;
	struct lb_svc_val sv;
	struct lb_vip_key vk;
	__u32 i, one = 1, maglev_ids = 2 * MSIZE;	/* svc 0: halves A and B */
	size_t bytes = ((size_t)maglev_ids * 4 + 4095) & ~(size_t)4095;
	__u32 *maglev;
	int fd;

	d->obj = bpf_object__open_file(path, NULL);
	if (!d->obj) {
		fprintf(stderr, "flowbench: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(m, d->obj)
		bpf_map__set_pin_path(m, NULL);		/* never pin from a bench */
	if (bpf_map__set_max_entries(bpf_object__find_map_by_name(d->obj, LB_PIN_FLOWS), flows_max) ||
	    bpf_map__set_max_entries(bpf_object__find_map_by_name(d->obj, LB_PIN_MAGLEV), maglev_ids) ||
	    bpf_object__load(d->obj)) {
		fprintf(stderr, "flowbench: load %s: %s\n", path, strerror(errno));
		return -1;
	}
	d->prog = bpf_program__fd(bpf_object__find_program_by_name(d->obj, "lb_tc"));
	d->flows = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_FLOWS);
	d->svcs = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_SVCS);
	d->vips = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_VIP_ADDRS);
	d->nodes = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_NODES);
	fd = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_MAGLEV);
	if (d->prog < 0 || d->flows < 0 || d->svcs < 0 || d->vips < 0 || d->nodes < 0 || fd < 0) {
		fprintf(stderr, "flowbench: %s lacks a program or map of the contract\n", path);
		return -1;
	}
	maglev = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (maglev == MAP_FAILED) {
		perror("flowbench: mmap lb_maglev");
		return -1;
	}
	for (i = 0; i < MSIZE; i++) {
		maglev[lb_maglev_index(0, 0, MSIZE, i)] = i % NNODES;
		maglev[lb_maglev_index(0, 1, MSIZE, i)] = LB_NODE_NONE;
	}
	munmap(maglev, bytes);

	for (i = 0; i < NNODES; i++) {
		struct lb_node_val nv;

		memset(&nv, 0, sizeof(nv));
		node_mac(nv.mac, i);
		memcpy(nv.src_mac, egress_mac, 6);
		nv.ifindex = 1;
		nv.flags = LB_NODE_F_PRESENT | LB_NODE_F_UP;
		if (bpf_map_update_elem(d->nodes, &i, &nv, BPF_ANY) < 0)
			return -1;
	}
	memset(&sk, 0, sizeof(sk));
	sk.addr[0] = htonl(VIP);
	sk.port = htons(VPORT);
	sk.proto = IPPROTO_TCP;
	sk.family = 4;
	memset(&sv, 0, sizeof(sv));
	sv.svc_id = 0;
	sv.maglev_size = MSIZE;
	memset(&vk, 0, sizeof(vk));
	vk.addr[0] = htonl(VIP);
	vk.family = 4;
	if (bpf_map_update_elem(d->svcs, &sk, &sv, BPF_ANY) < 0 ||
	    bpf_map_update_elem(d->vips, &vk, &one, BPF_ANY) < 0) {
		perror("flowbench: service maps");
		return -1;
	}
	return 0;
}

/* A TCP ACK with 10 bytes of payload for flow key k; returns its length. */
static size_t build_pkt(uint8_t *b, const struct lb_flow_key *k)
{
	uint16_t tot = htons(20 + 20 + 10);

	memset(b, 0, 64);
	memcpy(b, sw_mac, 6);
	memcpy(b + 6, client_mac, 6);
	b[12] = 0x08;
	b[13] = 0x00;
	b[14] = 0x45;
	memcpy(b + 16, &tot, 2);
	b[22] = 64;
	b[23] = IPPROTO_TCP;
	memcpy(b + 26, &k->saddr[0], 4);
	memcpy(b + 30, &k->daddr[0], 4);
	memcpy(b + 34, &k->sport, 2);
	memcpy(b + 36, &k->dport, 2);
	b[34 + 12] = 5 << 4;
	b[34 + 13] = 0x10;	/* ACK */
	return 14 + 20 + 20 + 10;
}

static int cmd_repoint(int argc, char **argv)
{
	struct dp d;
	uint32_t nflows = 1048576, iters = 100000, verify = 1000, i;
	uint64_t *lat_upd, *lat_mig;
	uint8_t *cur;
	size_t n_upd = 0, n_mig = 0;
	unsigned long missing = 0, vok = 0, vbad = 0, vmiss = 0;
	long before, after_fill, after;
	double t0, fill_s;
	uint8_t pkt[64], out[128];
	__u32 hit_ns = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:i:v:")) != -1) {
		switch (opt) {
		case 'n': nflows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'i': iters = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': verify = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || nflows < 1024 || iters < 1)
		return 2;
	memset(&d, 0, sizeof(d));
	if (dp_setup(&d, argv[optind], nflows) < 0)
		return 1;
	lat_upd = calloc(iters, sizeof(*lat_upd));
	lat_mig = calloc(iters, sizeof(*lat_mig));
	if (!lat_upd || !lat_mig)
		return 1;

	t0 = now_s();
	if (fill(d.flows, nflows) < 0)
		return 1;
	fill_s = now_s() - t0;
	after_fill = count_entries(d.flows);

	/* 1: the map update alone.  The new value is built from our own record
	 * of each flow's node (no lookup first: that would warm the bucket's
	 * cache lines and flatter the update). */
	cur = malloc(nflows);
	if (!cur)
		return 1;
	for (i = 0; i < nflows; i++)
		cur[i] = (uint8_t)(i % NNODES);
	for (i = 0; i < iters; i++) {
		struct lb_flow_key k;
		struct lb_flow_val v;
		uint32_t f = (uint32_t)(rnd() % nflows);
		uint64_t a, b;
		int err;

		flow_key(&k, f);
		flow_val(&v, f);
		v.node_id = (cur[f] + 1u) % NNODES;
		v.flags |= LB_FLOW_F_MIGRATED;
		a = now_ns();
		err = bpf_map_update_elem(d.flows, &k, &v, BPF_EXIST);
		b = now_ns();
		if (err < 0) {
			missing++;	/* evicted (LRU): not a re-point */
			continue;
		}
		cur[f] = (uint8_t)v.node_id;
		lat_upd[n_upd++] = b - a;
	}
	free(cur);
	before = count_entries(d.flows);

	/* 2: lbd's per-flow migrate: lookup, then update. */
	for (i = 0; i < iters; i++) {
		struct lb_flow_key k;
		struct lb_flow_val v;
		uint64_t a, b;

		flow_key(&k, (uint32_t)(rnd() % nflows));
		a = now_ns();
		if (bpf_map_lookup_elem(d.flows, &k, &v) < 0) {
			missing++;
			continue;
		}
		v.node_id = (v.node_id + 1) % NNODES;
		v.flags |= LB_FLOW_F_MIGRATED;
		if (bpf_map_update_elem(d.flows, &k, &v, BPF_EXIST) < 0) {
			missing++;
			continue;
		}
		b = now_ns();
		lat_mig[n_mig++] = b - a;
	}

	/* 3: re-point, then the flow's next packet must go to the new node. */
	for (i = 0; i < verify; i++) {
		struct lb_flow_key k;
		struct lb_flow_val v;
		uint8_t want[6];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		flow_key(&k, (uint32_t)(rnd() % nflows));
		if (bpf_map_lookup_elem(d.flows, &k, &v) < 0) {
			vmiss++;
			continue;
		}
		v.node_id = (v.node_id + 1 + (uint32_t)(rnd() % (NNODES - 1))) % NNODES;
		if (bpf_map_update_elem(d.flows, &k, &v, BPF_EXIST) < 0) {
			vmiss++;
			continue;
		}
		o.data_size_in = (__u32)build_pkt(pkt, &k);
		node_mac(want, v.node_id);
		if (bpf_prog_test_run_opts(d.prog, &o) == 0 && o.retval == TC_ACT_REDIRECT &&
		    o.data_size_out >= 14 && memcmp(out, want, 6) == 0)
			vok++;
		else
			vbad++;
	}

	/* 4: the program's own cost on a hit, averaged by the kernel. */
	{
		struct lb_flow_key k;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = 1000000);

		flow_key(&k, 12345 % nflows);
		o.data_size_in = (__u32)build_pkt(pkt, &k);
		if (bpf_prog_test_run_opts(d.prog, &o) == 0 && o.retval == TC_ACT_REDIRECT)
			hit_ns = o.duration;
	}
	after = count_entries(d.flows);

	printf("{\"flows\":%u,\"max_entries\":%u,\"fill_s\":%.3f,\"entries_after_fill\":%ld,"
	       "\"entries_after_repoints\":%ld,\"entries_at_end\":%ld,\"skipped_missing\":%lu,",
	       nflows, nflows, fill_s, after_fill, before, after, missing);
	print_lat("update", lat_upd, n_upd);
	print_lat("lookup_update", lat_mig, n_mig);
	printf("\"verify\":{\"ok\":%lu,\"bad\":%lu,\"missing\":%lu},\"test_run_hit_ns\":%u}\n",
	       vok, vbad, vmiss, hit_ns);
	bpf_object__close(d.obj);
	return vbad ? 1 : 0;
}

/* Average kernel run time (ns) of prog over n ACKs (flags) of flows
 * first..first+n-1; -1 if a run failed or did not return want. */
static double paths_run_prog(int prog, uint32_t first, uint32_t n, uint8_t flags, int want)
{
	uint8_t pkt[64], out[128];
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct lb_flow_key k;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		flow_key(&k, first + i);
		o.data_size_in = (__u32)build_pkt(pkt, &k);
		pkt[34 + 13] = flags;
		if (bpf_prog_test_run_opts(prog, &o) < 0 || (int)o.retval != want)
			return -1;
		sum += o.duration;
	}
	return (double)sum / n;
}

static double paths_run(struct dp *d, uint32_t first, uint32_t n, uint8_t flags)
{
	return paths_run_prog(d->prog, first, n, flags, TC_ACT_REDIRECT);
}

/* paths_run `loops` times over the same packets (a profiler's window):
 * the mean, or -1 if any round failed. */
static double paths_loop(struct dp *d, uint32_t first, uint32_t n, uint8_t flags,
			 uint32_t loops)
{
	double sum = 0, r;

	for (uint32_t l = 0; l < loops; l++) {
		r = paths_run(d, first, n, flags);
		if (r < 0)
			return -1;
		sum += r;
	}
	return sum / loops;
}

/*
 * A tc program that only returns TC_ACT_OK: what bpf_prog_test_run itself
 * adds to a one-run measurement (the clock read around the run, the run
 * context), so that floor subtracted from a path is the program's own cost.
 * Returns the program fd or -1.
 */
static int floor_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "lb_floor", "GPL", insns, 2, NULL);
}

/* The kernel's average over `repeat` runs of one ACK of flow 0 (a hit
 * whose entry, buckets and program stay in the CPU's caches: the best case,
 * and what one flow at a high packet rate sees), or -1. */
static double hit_hot(struct dp *d, uint32_t repeat)
{
	uint8_t pkt[64];
	struct lb_flow_key k;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = repeat);

	flow_key(&k, 0);
	o.data_size_in = (__u32)build_pkt(pkt, &k);
	if (bpf_prog_test_run_opts(d->prog, &o) < 0 || o.retval != TC_ACT_REDIRECT)
		return -1;
	return o.duration;
}

/*
 * The latency of one load that misses the caches on this machine: a
 * dependent walk (each address read from the previous line) through a random
 * cycle over MiB mebibytes of 64-byte lines, ns per step; with huge, on
 * transparent huge pages (MADV_HUGEPAGE: few TLB misses), else on 4 KiB
 * pages like a large BPF map's vmalloc area (a TLB miss per step, which in
 * a virtual machine walks two sets of page tables).  The yardstick for a
 * path's cold cost: a flow-table hit on a cold entry reads about three such
 * lines (bucket, entry key, entry value).  -1 without memory.
 */
static double line_ns(size_t mib, int huge)
{
	size_t n = (mib << 20) / 64, i, steps = 2000000;
	uint64_t *m = mmap(NULL, n * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *perm = malloc(n * sizeof(*perm));
	volatile uint64_t p = 0;
	uint64_t t0;

	if (m == MAP_FAILED || !perm) {
		if (m != MAP_FAILED)
			munmap(m, n * 64);
		free(perm);
		return -1;
	}
	if (huge)
		madvise(m, n * 64, MADV_HUGEPAGE);
	for (i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {	/* a random order (Fisher-Yates), linked below into one cycle */
		size_t j = (size_t)(rnd() % i), t = perm[i];
		perm[i] = perm[j];
		perm[j] = (uint32_t)t;
	}
	for (i = 0; i < n; i++)
		m[(size_t)perm[i] * 8] = (uint64_t)perm[(i + 1) % n] * 8;
	for (i = 0; i < steps / 10; i++)	/* page tables and caches in their steady state */
		p = m[p];
	t0 = now_ns();
	for (i = 0; i < steps; i++)
		p = m[p];
	t0 = now_ns() - t0;
	munmap(m, n * 64);
	free(perm);
	return (double)t0 / (double)steps;
}

/* Was path `name` asked for (only: NULL = all)? */
static int want_path(const char *only, const char *name)
{
	return !only || strcmp(only, name) == 0;
}

/* The paths that need an object with pins and the insert budget. */
static void paths_pinned(struct dp *d, uint32_t n, uint32_t rate, uint32_t loops,
			 const char *only)
{
	uint32_t zero = 0;
	struct lb_config c;
	int cfd = bpf_object__find_map_fd_by_name(d->obj, LB_PIN_CONFIG);
	int pins = bpf_object__find_map_fd_by_name(d->obj, "lb_flow_pins");

	if (pins < 0 || cfd < 0 || bpf_map_lookup_elem(cfd, &zero, &c) != 0)
		return;
	if (want_path(only, "ack_untracked")) {
		c.insert_rate = rate;
		bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
		paths_run(d, 2 * n, rate * 4, 0x10);	/* spend this second's budget (CPUs aside) */
		printf(",\"ack_untracked\":%.1f", paths_loop(d, 3 * n, n, 0x10, loops));
		c.insert_rate = 0;
		bpf_map_update_elem(cfd, &zero, &c, BPF_ANY);
	}
	if (!want_path(only, "ack_pinned"))
		return;
	for (uint32_t i = 0; i < n; i++) {
		struct lb_flow_key k;
		struct lb_flow_val v;
		flow_key(&k, 4 * n + i);
		flow_val(&v, 4 * n + i);
		v.flags |= LB_FLOW_F_MIGRATED;
		bpf_map_update_elem(pins, &k, &v, BPF_ANY);
	}
	printf(",\"ack_pinned\":%.1f", paths_run(d, 4 * n, n, 0x10));	/* restores: once */
}

static int cmd_paths(int argc, char **argv)
{
	struct dp d;
	uint32_t n = 50000, rate = 1, loops = 1;
	const char *only = NULL;
	int opt, fl;

	while ((opt = getopt(argc, argv, "n:r:o:l:")) != -1) {
		switch (opt) {
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': rate = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o': only = optarg; break;
		case 'l': loops = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || n < 1 || loops < 1)
		return 2;
	memset(&d, 0, sizeof(d));
	if (dp_setup(&d, argv[optind], 8 * n) < 0)
		return 1;
	fl = floor_prog();
	printf("{\"packets\":%u,\"floor\":%.1f", n,
	       fl >= 0 ? paths_run_prog(fl, 0, n, 0x10, TC_ACT_OK) : -1.0);
	if (fl >= 0)
		close(fl);
	/* syn_new inserts the flows hit uses; with -l, later rounds are SYNs
	 * meeting their own entry (REHASH_SYN: insert again + event) */
	printf(",\"syn_new\":%.1f", paths_run(&d, 0, n, 0x02));
	if (want_path(only, "hit"))
		printf(",\"hit\":%.1f", paths_loop(&d, 0, n, 0x10, loops));
	if (want_path(only, "hit_hot"))
		printf(",\"hit_hot\":%.1f", hit_hot(&d, 1000000 * loops));
	if (want_path(only, "syn_reuse"))	/* a SYN on each existing flow: REHASH_SYN */
		printf(",\"syn_reuse\":%.1f", paths_run(&d, 0, n, 0x02));
	if (want_path(only, "ack_midstream"))
		printf(",\"ack_midstream\":%.1f", paths_run(&d, n, n, 0x10));
	paths_pinned(&d, n, rate, loops, only);
	if (want_path(only, "line_ns"))	/* 32 MiB: a lab flow table (262144 x 136 B) */
		printf(",\"line_ns_4k\":%.1f,\"line_ns_huge\":%.1f", line_ns(32, 0), line_ns(32, 1));
	printf("}\n");
	bpf_object__close(d.obj);
	return 0;
}

static int cmd_mem(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_map *m;
	int i;

	if (argc < 3)
		return 2;
	obj = bpf_object__open_file(argv[1], NULL);
	m = obj ? bpf_object__find_map_by_name(obj, LB_PIN_FLOWS) : NULL;
	if (!m) {
		fprintf(stderr, "flowbench: %s: no map %s\n", argv[1], LB_PIN_FLOWS);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		uint32_t n = (uint32_t)strtoul(argv[i], NULL, 0);
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = bpf_map__map_flags(m));
		double t0, fill_s;
		long present;
		long long mem;
		int fd;

		if (n < 1)
			return 2;
		fd = bpf_map_create(bpf_map__type(m), "lb_flows", bpf_map__key_size(m),
				    bpf_map__value_size(m), n, &mo);
		if (fd < 0) {
			fprintf(stderr, "flowbench: create %u-entry map: %s\n", n, strerror(errno));
			return 1;
		}
		t0 = now_s();
		if (fill(fd, n) < 0)
			return 1;
		fill_s = now_s() - t0;
		present = count_entries(fd);
		mem = map_memlock(fd);
		printf("{\"max_entries\":%u,\"inserted\":%u,\"present\":%ld,\"fill_s\":%.3f,"
		       "\"memlock_bytes\":%lld,\"bytes_per_entry\":%.1f,\"key_size\":%u,"
		       "\"value_size\":%u,\"map_type\":%d}\n",
		       n, n, present, fill_s, mem, mem > 0 ? (double)mem / n : -1.0,
		       bpf_map__key_size(m), bpf_map__value_size(m), (int)bpf_map__type(m));
		fflush(stdout);
		close(fd);
	}
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	libbpf_set_print(libbpf_quiet);
	if (argc >= 2 && strcmp(argv[1], "repoint") == 0)
		rc = cmd_repoint(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "mem") == 0)
		rc = cmd_mem(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "paths") == 0)
		rc = cmd_paths(argc - 1, argv + 1);
	if (rc == 2)
		fprintf(stderr, "usage: flowbench repoint [-n FLOWS] [-i ITERS] [-v VERIFY] OBJ\n"
				"       flowbench paths [-n PACKETS] [-r RATE] OBJ\n"
				"       flowbench mem OBJ N [N...]\n");
	return rc;
}
