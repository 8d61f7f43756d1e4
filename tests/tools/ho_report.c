/*
 * ho_report - send one node -> switch handoff report and print the answer.
 *
 *   ho_report [-k KEYFILE] [-K HEXKEY] [-s SENDER] [-q SEQ] [-c CLUSTER] [-r FILE]
 *             SWITCH:PORT OP CLIENT:PORT VIP:PORT [NODE]
 *
 * OP: query | redirect | set.  NODE: the node name (its key is computed as
 * lbd does).  -r FILE also writes the exact datagram sent (to replay it with
 * -R FILE).  Prints "status=N node_key=0x... op=ack" and exits 0 when an
 * answer came, 1 when none came within 1 s, 2 on usage errors.
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
#include "lib/handoff_wire.h"
#include "lib/keyfile.h"
#include "lib/maglev.h"

static void usage(void)
{
	fprintf(stderr, "usage: ho_report [-k KEYFILE|-K HEX] [-s SENDER] [-q SEQ] [-c CLUSTER] "
			"[-r OUT|-R IN] SWITCH:PORT query|redirect|set CLIENT:PORT VIP:PORT [NODE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint8_t key[KEYFILE_MAX], buf[HO_REPORT_MAX], in[512];
	size_t keylen = 0, len;
	char err[300];
	const char *rec = NULL, *replay = NULL;
	struct ho_report r = { .cluster = 1, .sender = 0x4e4f4445 };
	struct timespec ts;
	int ch;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.seq = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	while ((ch = getopt(argc, argv, "k:K:s:q:c:r:R:")) != -1) {
		switch (ch) {
		case 'k':
			if (keyfile_load(optarg, key, &keylen, err, sizeof(err)) < 0) {
				fprintf(stderr, "ho_report: %s\n", err);
				return 2;
			}
			break;
		case 'K':
			if (keyfile_parse_hex(optarg, key, &keylen) < 0)
				usage();
			break;
		case 's': r.sender = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'q': r.seq = strtoull(optarg, NULL, 0); break;
		case 'c': r.cluster = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': rec = optarg; break;
		case 'R': replay = optarg; break;
		default: usage();
		}
	}
	if (argc - optind < 4 || !keylen)
		usage();
	struct taddr sw, ca, va;
	uint16_t swp, cp, vp;
	if (taddr_parse_endpoint(argv[optind], &sw, &swp) < 0 ||
	    taddr_parse_endpoint(argv[optind + 2], &ca, &cp) < 0 ||
	    taddr_parse_endpoint(argv[optind + 3], &va, &vp) < 0 || ca.family != va.family)
		usage();
	const char *op = argv[optind + 1];
	r.op = !strcmp(op, "query") ? HO_OP_QUERY : !strcmp(op, "redirect") ? HO_OP_REDIRECT :
	       !strcmp(op, "set") ? HO_OP_SET : 0;
	if (!r.op || (r.op != HO_OP_QUERY && argc - optind < 5))
		usage();
	if (argc - optind >= 5) {
		r.node_key = maglev_node_key32(argv[optind + 4]);
	}
	flowkey_make(&r.key, &ca, cp, &va, vp, 6);
	r.nonce = (uint32_t)(r.seq & 0xffffff);
	r.txid = (uint16_t)getpid();
	if (replay) {
		FILE *f = fopen(replay, "rb");
		if (!f)
			usage();
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	} else {
		len = ho_report_encode(&r, key, keylen, buf);
	}
	if (rec) {
		FILE *f = fopen(rec, "wb");
		if (!f || fwrite(buf, 1, len, f) != len)
			usage();
		fclose(f);
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	sl = taddr_sockaddr(&sw, swp, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)len) {
		perror("ho_report: send");
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1) {
		printf("no answer\n");
		return 1;
	}
	ssize_t n = recv(fd, in, sizeof(in), 0);
	struct ho_report a;
	const char *why;
	if (n < 0 || ho_report_parse(in, (size_t)n, key, keylen, &a, &why) < 0) {
		printf("bad answer: %s\n", n < 0 ? "recv" : why);
		return 1;
	}
	printf("op=%s status=%u node_key=0x%08x nonce_match=%d\n", a.op == HO_OP_ACK ? "ack" : "?",
	       a.status, a.node_key, a.nonce == r.nonce);
	return 0;
}
