/*
 * libFuzzer target for the data plane's packet parser: every input frame is
 * run through lb_tc and lb_xdp with bpf_prog_test_run (the verifier already
 * proves memory safety; this checks behaviour).  Invariants on any input:
 *   - exactly one primary verdict counter moves per run (ip_options and
 *     events_lost are extra);
 *   - the return code is pass, drop or redirect, nothing else;
 *   - a redirected frame carries a configured node's MAC and our source MAC.
 * Input: byte 0 bit 0 picks the program; the rest is the Ethernet frame.
 * Needs root and the object: $TANDEM_BPF_OBJ or the build's lb.bpf.o.
 * libFuzzer sees no coverage inside the BPF program, so this is mutation
 * fuzzing from the seed frames rather than coverage-guided exploration.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/addr.h"
#include "lb/lb_maps.h"
#include "lb/svc_key.h"

#ifndef TANDEM_BPF_OBJ_DEFAULT
#define TANDEM_BPF_OBJ_DEFAULT "build/lb.bpf.o"
#endif
#define NNODES 3
#define MSIZE LB_MAGLEV_DEFAULT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fz {
	struct bpf_object *obj;
	int prog[2];
	int verdicts, ncpus;
};

static struct fz F;	/* libFuzzer gives no context argument */
static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0xff, 0x02 };

static void die(const char *what)
{
	fprintf(stderr, "fuzz_packet: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void add_svc(int fd, const char *addr, uint16_t port, uint8_t proto, uint32_t id)
{
	struct taddr a;
	struct lb_svc_key k;
	struct lb_svc_val v = { .svc_id = id, .maglev_size = MSIZE };

	taddr_parse(addr, &a);
	svckey_make(&k, &a, port, proto);
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
		die("svc");
}

static void add_vip(int fd, const char *addr)
{
	struct taddr a;
	struct lb_vip_key k;
	uint32_t v = 0;

	memset(&k, 0, sizeof(k));
	taddr_parse(addr, &a);
	memcpy(k.addr, a.a, 16);
	k.family = (uint8_t)a.family;
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
		die("vip");
}

static void close_obj(void)	/* the object lives as long as the process */
{
	bpf_object__close(F.obj);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("TANDEM_BPF_OBJ");
	struct bpf_object *obj;
	struct bpf_map *m;
	uint32_t entries = 4 * 2 * MSIZE;

	if (!path)
		path = TANDEM_BPF_OBJ_DEFAULT;
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die(path);
	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, LB_PIN_FLOWS), 4096);
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, LB_PIN_MAGLEV), entries);
	if (bpf_object__load(obj))
		die("load");
	F.obj = obj;
	atexit(close_obj);
	F.prog[0] = bpf_program__fd(bpf_object__find_program_by_name(obj, "lb_tc"));
	F.prog[1] = bpf_program__fd(bpf_object__find_program_by_name(obj, "lb_xdp"));
	F.verdicts = bpf_object__find_map_fd_by_name(obj, LB_PIN_VERDICTS);
	F.ncpus = libbpf_num_possible_cpus();
	int mfd = bpf_object__find_map_fd_by_name(obj, LB_PIN_MAGLEV);
	uint32_t *t = mmap(NULL, ((size_t)entries * 4 + 4095) & ~(size_t)4095,
			   PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (t == MAP_FAILED)
		die("mmap");
	for (uint32_t i = 0; i < entries; i++)
		t[i] = i % NNODES;
	int nfd = bpf_object__find_map_fd_by_name(obj, LB_PIN_NODES);
	for (uint32_t i = 0; i < NNODES; i++) {
		struct lb_node_val v = { .mac = { 0x02, 0, 0, 0, 0xaa, (uint8_t)i },
					 .ifindex = 1, .flags = LB_NODE_F_PRESENT | LB_NODE_F_UP };
		memcpy(v.src_mac, src_mac, 6);
		if (bpf_map_update_elem(nfd, &i, &v, BPF_ANY))
			die("node");
	}
	int sfd = bpf_object__find_map_fd_by_name(obj, LB_PIN_SVCS);
	add_svc(sfd, "10.77.1.100", 80, IPPROTO_TCP, 0);
	add_svc(sfd, "10.77.1.100", 53, IPPROTO_UDP, 1);
	add_svc(sfd, "fd77:1::100", 80, IPPROTO_TCP, 2);
	int vfd = bpf_object__find_map_fd_by_name(obj, LB_PIN_VIP_ADDRS);
	add_vip(vfd, "10.77.1.100");
	add_vip(vfd, "fd77:1::100");
	return 0;
}

static uint64_t primary_total(void)
{
	uint64_t per[F.ncpus], sum = 0;

	for (uint32_t v = 0; v < LB_V_MAX; v++) {
		if (v == LB_V_IP_OPTIONS || v == LB_V_EVENTS_LOST)
			continue;
		if (bpf_map_lookup_elem(F.verdicts, &v, per))
			die("verdicts");
		for (int c = 0; c < F.ncpus; c++)
			sum += per[c];
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[2048];

	if (size < 1 || size > 1600)
		return 0;
	int p = data[0] & 1;
	uint64_t before = primary_total();
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data + 1, .data_size_in = (uint32_t)(size - 1),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(F.prog[p], &o)) {
		if (errno == EINVAL)
			return 0;	/* the kernel refuses frames too short to be one */
		die("test_run");
	}
	uint64_t after = primary_total();
	if (after != before + 1) {
		fprintf(stderr, "verdict counters moved by %lld\n", (long long)(after - before));
		abort();
	}
	uint32_t rc = o.retval;
	int redirect = p ? rc == XDP_REDIRECT : rc == TC_ACT_REDIRECT;
	int ok = p ? (rc == XDP_PASS || rc == XDP_DROP || rc == XDP_REDIRECT)
		   : (rc == TC_ACT_OK || rc == TC_ACT_SHOT || rc == TC_ACT_REDIRECT);
	if (!ok) {
		fprintf(stderr, "unexpected return code %u\n", rc);
		abort();
	}
	if (redirect && (o.data_size_out < 12 || memcmp(out + 6, src_mac, 6) ||
			 out[0] != 0x02 || out[4] != 0xaa || out[5] >= NNODES)) {
		fprintf(stderr, "redirected frame without a node's MAC\n");
		abort();
	}
	return 0;
}
