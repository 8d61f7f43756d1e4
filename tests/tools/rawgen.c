/*
 * rawgen.c - one frame, sent again and again from an AF_PACKET socket (qdisc
 * bypassed), and the CPU time that took: the generator of the bench's "hop"
 * section, which isolates what one switch hop costs per packet.
 *
 *   rawgen -i IF -d DSTMAC -s SRC -t DST [-p SPORT] [-P DPORT] [-e ETHERTYPE]
 *          [-T SECONDS] [-b BATCH]
 *
 * The frame: Ethernet from IF's MAC to DSTMAC; IPv4 SRC -> DST, UDP SPORT
 * (default 40000) -> DPORT (default 5201), 18 bytes of payload (a 64-byte
 * frame on the wire); with -e, that EtherType instead of IPv4 (e.g. 0x88b5:
 * a frame no protocol takes, dropped where it arrives).  BATCH (default 64)
 * frames per sendmmsg for SECONDS (default 5).
 *
 * On veth every sent frame is carried through the receiving namespaces'
 * ingress (bridge, tc, routing, the next veth) in softirq on this CPU, in
 * this process's context, before sendmmsg returns: run it pinned to one CPU
 * and its own CPU time (getrusage) is the cost of the whole way the frame
 * went, up to the point where something dropped it.  What the kernel's
 * softirq thread did instead is not in it: the caller reads that from
 * ksoftirqd's counters.
 *
 * Prints one JSON object: {"sent":N,"seconds":S,"cpu_ns":C,"ns_per_packet":P,
 * "errors":E}.  Exit 0, 1 on a socket error, 2 on bad arguments.  Needs
 * CAP_NET_RAW.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 60	/* + 4 bytes of FCS on the wire: 64 */
#define BATCH_MAX 1024

struct args {
	const char *ifname, *src, *dst;
	uint8_t dmac[6];
	uint16_t sport, dport, ethertype;
	double seconds;
	unsigned batch;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* The IPv4 header checksum over hdr[0..20). */
static uint16_t ip_csum(const uint8_t *hdr)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)hdr[i] << 8 | hdr[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Builds the frame into f (FRAME_LEN bytes).  0, or -1 on a bad address. */
static int build(uint8_t *f, const struct args *a, const uint8_t smac[6])
{
	uint16_t v;
	uint8_t *ip = f + 14, *udp = f + 34;

	memset(f, 0, FRAME_LEN);
	memcpy(f, a->dmac, 6);
	memcpy(f + 6, smac, 6);
	v = htons(a->ethertype ? a->ethertype : ETHERTYPE_IP);
	memcpy(f + 12, &v, 2);
	ip[0] = 0x45;
	v = htons(20 + 8 + 18);
	memcpy(ip + 2, &v, 2);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	if (inet_pton(AF_INET, a->src, ip + 12) != 1 || inet_pton(AF_INET, a->dst, ip + 16) != 1)
		return -1;
	v = htons(ip_csum(ip));
	memcpy(ip + 10, &v, 2);
	v = htons(a->sport);
	memcpy(udp, &v, 2);
	v = htons(a->dport);
	memcpy(udp + 2, &v, 2);
	v = htons(8 + 18);
	memcpy(udp + 4, &v, 2);	/* UDP checksum 0: none (IPv4) */
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	a->sport = 40000;
	a->dport = 5201;
	a->seconds = 5;
	a->batch = 64;
	while ((opt = getopt(argc, argv, "i:d:s:t:p:P:e:T:b:")) != -1) {
		switch (opt) {
		case 'i': a->ifname = optarg; break;
		case 'd':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &a->dmac[0], &a->dmac[1],
				   &a->dmac[2], &a->dmac[3], &a->dmac[4], &a->dmac[5]) != 6)
				return -1;
			break;
		case 's': a->src = optarg; break;
		case 't': a->dst = optarg; break;
		case 'p': a->sport = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'P': a->dport = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'e': a->ethertype = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'T': a->seconds = strtod(optarg, NULL); break;
		case 'b': a->batch = (unsigned)strtoul(optarg, NULL, 0); break;
		default: return -1;
		}
	}
	if (!a->ifname || !a->src || !a->dst || a->seconds <= 0 || a->batch < 1 ||
	    a->batch > BATCH_MAX)
		return -1;
	return 0;
}

/* An AF_PACKET socket bound to ifname, qdisc bypassed; its MAC into smac. */
static int open_socket(const char *ifname, uint8_t smac[6], struct sockaddr_ll *sll)
{
	struct ifreq ifr;
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW, 0);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto bad;
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll->sll_ifindex || bind(fd, (struct sockaddr *)sll, sizeof(*sll)) < 0)
		goto bad;
	/* straight to the driver, as a traffic generator does: no qdisc */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return fd;
bad:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov;
	struct sockaddr_ll sll;
	uint8_t frame[FRAME_LEN], smac[6];
	unsigned long long sent = 0, errors = 0;
	struct args a;
	double t0, t;
	uint64_t c0, c;
	int fd;

	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: rawgen -i IF -d DSTMAC -s SRC -t DST [-p SPORT] [-P DPORT] "
				"[-e ETHERTYPE] [-T SECONDS] [-b BATCH]\n");
		return 2;
	}
	fd = open_socket(a.ifname, smac, &sll);
	if (fd < 0 || build(frame, &a, smac) < 0) {
		fprintf(stderr, "rawgen: %s: %s\n", a.ifname, fd < 0 ? strerror(errno) : "bad address");
		return fd < 0 ? 1 : 2;
	}
	iov.iov_base = frame;
	iov.iov_len = FRAME_LEN;
	for (unsigned i = 0; i < a.batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = mono();
	c0 = cpu_ns();
	do {
		int n = sendmmsg(fd, msgs, a.batch, 0);

		if (n > 0)
			sent += (unsigned)n;
		else
			errors++;
		t = mono();
	} while (t - t0 < a.seconds);
	c = cpu_ns() - c0;
	printf("{\"sent\":%llu,\"seconds\":%.3f,\"cpu_ns\":%llu,\"ns_per_packet\":%.1f,\"errors\":%llu}\n",
	       sent, t - t0, (unsigned long long)c, sent ? (double)c / (double)sent : -1.0, errors);
	close(fd);
	return 0;
}
