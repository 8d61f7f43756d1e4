/*
 * ho_report - send one node -> switch handoff report and print the answer.
 *
 *   ho_report [-n NODE] [-S CLAIM] [-k KEYFILE] [-K HEXKEY] [-e EPOCH]
 *             [-E SWITCH_EPOCH] [-q SEQ] [-c CLUSTER] [-r FILE | -R FILE]
 *             SWITCH:PORT OP CLIENT:PORT VIP:PORT [TO]
 *
 * Speaks as node NODE ("NODE" unless given): its key K(NODE) comes from
 * KEYFILE (NODE's key file, or the master key) or from HEXKEY (a master key
 * in hex), lib/handoff_key.h; -S CLAIM puts node CLAIM's key in the sender
 * field instead (NODE impersonating CLAIM).  OP: query | redirect | set.  TO: the node the
 * flow goes to (its key is computed as lbd does).  The report carries
 * epoch EPOCH (1) and seq SEQ (the wall clock in ns), so that runs of the
 * tool are one sender whose seq grows; it does not know the switch's epoch
 * (unless -E): the switch answers STALE with it, and the tool sends again
 * (new seq) with it, as a node does.  -r FILE writes the exact datagram that
 * got the final answer; -R FILE sends FILE's bytes once instead (a replay).
 * Prints "op=ack status=N node_key=0x... nonce_match=1 stale=N" and exits 0
 * when an answer came, 1 when none came within 1 s, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/handoff_key.h"
#include "lib/handoff_wire.h"
#include "lib/maglev.h"

struct opts {
	const char *name, *claim, *rec, *replay;
	struct hokey_set ks;
	int have_key;
};

static void usage(void)
{
	fprintf(stderr, "usage: ho_report [-n NODE] [-S CLAIM] [-k KEYFILE|-K HEX] [-e EPOCH] [-E SWITCH_EPOCH] "
			"[-q SEQ] [-c CLUSTER] [-r OUT|-R IN] SWITCH:PORT query|redirect|set "
			"CLIENT:PORT VIP:PORT [TO]\n");
	exit(2);
}

/* The answer to what fd sent, within 1 s: 0 with it in *a, -1 (printed). */
static int wait_answer(int fd, const struct opts *o, struct ho_report *a)
{
	uint8_t in[512];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const char *why;

	if (poll(&p, 1, 1000) != 1) {
		printf("no answer\n");
		return -1;
	}
	ssize_t n = recv(fd, in, sizeof(in), 0);
	if (n < 0 || ho_report_parse(in, (size_t)n, o->ks.node, HOKEY_LEN, a, &why) < 0) {
		printf("bad answer: %s\n", n < 0 ? "recv" : why);
		return -1;
	}
	return 0;
}

static void save(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len)
		usage();
	fclose(f);
}

static int parse_opts(int argc, char **argv, struct opts *o, struct ho_report *r)
{
	char err[300];
	const char *keyfile = NULL, *hex = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "n:S:k:K:e:E:q:c:r:R:")) != -1) {
		switch (ch) {
		case 'n': o->name = optarg; break;
		case 'S': o->claim = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'K': hex = optarg; break;
		case 'e': r->epoch = strtoull(optarg, NULL, 0); break;
		case 'E': r->peer_epoch = strtoull(optarg, NULL, 0); break;
		case 'q': r->seq = strtoull(optarg, NULL, 0); break;
		case 'c': r->cluster = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': o->rec = optarg; break;
		case 'R': o->replay = optarg; break;
		default: usage();
		}
	}
	if ((keyfile && hokey_load(keyfile, o->name, &o->ks, err, sizeof(err)) < 0) ||
	    (hex && hokey_parse(hex, o->name, &o->ks, err, sizeof(err)) < 0)) {
		fprintf(stderr, "ho_report: %s\n", err);
		exit(2);
	}
	o->have_key = keyfile || hex;
	r->sender = maglev_node_key32(o->claim ? o->claim : o->name);
	return optind;
}

int main(int argc, char **argv)
{
	uint8_t buf[HO_REPORT_MAX];
	size_t len;
	struct opts o = { .name = "NODE" };
	struct ho_report r = { .cluster = 1, .epoch = 1 }, a;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.seq = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	int ai = parse_opts(argc, argv, &o, &r);
	if (argc - ai < 4 || !o.have_key)
		usage();
	struct taddr sw, ca, va;
	uint16_t swp, cp, vp;
	if (taddr_parse_endpoint(argv[ai], &sw, &swp) < 0 || taddr_parse_endpoint(argv[ai + 2], &ca, &cp) < 0 ||
	    taddr_parse_endpoint(argv[ai + 3], &va, &vp) < 0 || ca.family != va.family)
		usage();
	const char *op = argv[ai + 1];
	r.op = !strcmp(op, "query") ? HO_OP_QUERY : !strcmp(op, "redirect") ? HO_OP_REDIRECT :
	       !strcmp(op, "set") ? HO_OP_SET : 0;
	if (!r.op || (r.op != HO_OP_QUERY && argc - ai < 5))
		usage();
	if (argc - ai >= 5)
		r.node_key = maglev_node_key32(argv[ai + 4]);
	flowkey_make(&r.key, &ca, cp, &va, vp, 6);
	r.nonce = (uint32_t)(r.seq & 0xffffff);
	r.txid = (uint16_t)getpid();
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&sw, swp, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0), stale = 0;
	for (;;) {
		if (o.replay) {
			FILE *f = fopen(o.replay, "rb");
			if (!f)
				usage();
			len = fread(buf, 1, sizeof(buf), f);
			fclose(f);
		} else {
			len = ho_report_encode(&r, o.ks.node, HOKEY_LEN, buf);
		}
		if (fd < 0 || sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)len) {
			perror("ho_report: send");
			return 1;
		}
		if (wait_answer(fd, &o, &a) < 0)
			return 1;
		if (o.replay || a.status != HO_ST_STALE || a.peer_epoch != r.epoch || stale++ >= 2)
			break;
		r.peer_epoch = a.epoch;	/* the switch's epoch, learned as a node does */
		if (a.held > r.epoch)
			r.epoch = a.held + 1;
		r.seq++;
	}
	if (o.rec)
		save(o.rec, buf, len);
	printf("op=%s status=%u node_key=0x%08x nonce_match=%d stale=%d\n", a.op == HO_OP_ACK ? "ack" : "?",
	       a.status, a.node_key, a.nonce == r.nonce, stale);
	return 0;
}
