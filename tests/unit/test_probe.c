/*
 * Health probes (lb/probe.c): the reply matcher, and the probes themselves
 * against real sockets on loopback: a UDP probe takes the node's answer,
 * ignores an "ok" sent from another port of the same host (its socket is
 * connect()ed), fails at once on ICMP port unreachable; a TCP probe reads a
 * banner and refuses a wrong one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "lb/lbd.h"

static struct cfg_probe mkprobe(const char *send, const char *expect, int prefix)
{
	struct cfg_probe p;

	memset(&p, 0, sizeof(p));
	p.send_len = (uint16_t)strlen(send);
	memcpy(p.send, send, p.send_len);
	p.expect_len = (uint16_t)strlen(expect);
	memcpy(p.expect, expect, p.expect_len);
	p.expect_prefix = (uint8_t)prefix;
	return p;
}

static int match(const struct cfg_probe *p, const char *reply, size_t full, char *why)
{
	size_t n = strlen(reply);
	return probe_match(p, (const uint8_t *)reply, n < full ? n : full, full, why, 96);
}

static void test_match(void)
{
	struct cfg_probe exact = mkprobe("x", "pong", 0), prefix = mkprobe("x", "SSH-", 1);
	struct cfg_probe any = mkprobe("x", "", 0);
	char why[96] = "";

	CHECK(match(&exact, "pong", 4, why), "exact: the same bytes match");
	CHECK(!match(&exact, "pong!", 5, why) && strstr(why, "unexpected reply (5 bytes): 70 6f 6e 67 21"),
	      "exact: a longer reply does not (%s)", why);
	CHECK(!match(&exact, "pong", 900, why) && strstr(why, "(900 bytes)"),
	      "exact: a datagram truncated in the buffer does not (%s)", why);
	CHECK(!match(&exact, "pon", 3, why), "exact: a shorter reply does not");
	CHECK(!match(&exact, "ping", 4, why), "exact: other bytes do not");
	CHECK(match(&prefix, "SSH-2.0-OpenSSH", 15, why), "prefix: a longer reply that starts so matches");
	CHECK(!match(&prefix, "SSH", 3, why), "prefix: a shorter one does not");
	CHECK(match(&any, "whatever", 8, why) && match(&any, "", 0, why), "no expect: any reply");
}

static int udp_server(struct sockaddr_in *a)
{
	socklen_t l = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)a, &l) < 0)
		return -1;
	return fd;
}

/* Wait (at most ms) for the probe's socket, then step; PROBE_WAIT if nothing came. */
static int step(struct hcheck *c, int ms, char *why)
{
	struct pollfd pf = { .fd = c->io.fd, .events = POLLIN | POLLOUT };
	uint32_t ev = 0;

	if (poll(&pf, 1, ms) <= 0)
		return PROBE_WAIT;
	return probe_step(c, &ev, why, 96);
}

static void test_udp(void)
{
	static struct hcheck c;
	struct cfg_probe p = mkprobe("ping?", "pong!", 0);
	struct sockaddr_in srv, from, spoof_a;
	socklen_t fl = sizeof(from);
	struct taddr lo;
	char buf[64], why[96] = "";
	uint32_t ev = 0;
	int s = udp_server(&srv), spoof = udp_server(&spoof_a);

	taddr_parse("127.0.0.1", &lo);
	c.proto = IPPROTO_UDP;
	c.port = ntohs(srv.sin_port);
	c.probe = &p;
	CHECK(s >= 0 && spoof >= 0 && probe_start(&c, &lo, &ev, why, sizeof(why)) == PROBE_WAIT &&
	      ev == EPOLLIN, "udp: probe sent, waiting for the answer (%s)", why);
	ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	CHECK(n == 5 && !memcmp(buf, "ping?", 5), "udp: the node got the probe's datagram");
	/* the right answer, from the same host but another port: not the node */
	sendto(spoof, "pong!", 5, 0, (struct sockaddr *)&from, fl);
	CHECK(step(&c, 200, why) == PROBE_WAIT, "udp: an answer from another port is not taken");
	sendto(s, "pong?", 5, 0, (struct sockaddr *)&from, fl);
	CHECK(step(&c, 1000, why) == PROBE_FAIL && strstr(why, "unexpected reply (5 bytes)"),
	      "udp: a wrong answer from the node fails the probe (%s)", why);
	close(c.io.fd);

	ev = 0;
	why[0] = '\0';
	CHECK(probe_start(&c, &lo, &ev, why, sizeof(why)) == PROBE_WAIT, "udp: second probe sent");
	fl = sizeof(from);
	recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	sendto(s, "pong!", 5, 0, (struct sockaddr *)&from, fl);
	CHECK(step(&c, 1000, why) == PROBE_PASS, "udp: the node's right answer passes (%s)", why);
	close(c.io.fd);

	close(s);	/* nobody on the port: ICMP port unreachable */
	ev = 0;
	why[0] = '\0';
	int r = probe_start(&c, &lo, &ev, why, sizeof(why));
	if (r == PROBE_WAIT)
		r = step(&c, 1000, why);
	CHECK(r == PROBE_FAIL && strstr(why, "refused"), "udp: a closed port fails at once (%s)", why);
	close(c.io.fd);
	close(spoof);
}

static void tcp_banner(const char *banner, int want, const char *what)
{
	static struct hcheck c;
	struct cfg_probe p = mkprobe("", "220 tandem", 1);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct taddr lo;
	char why[96] = "";
	uint32_t ev = 0;
	int ls = socket(AF_INET, SOCK_STREAM, 0), r;

	taddr_parse("127.0.0.1", &lo);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
		CHECK(0, "tcp: listener");
		return;
	}
	c.proto = IPPROTO_TCP;
	c.port = ntohs(a.sin_port);
	c.probe = &p;
	r = probe_start(&c, &lo, &ev, why, sizeof(why));
	int as = accept(ls, NULL, NULL);
	if (as >= 0 && banner)
		send(as, banner, strlen(banner), 0);
	if (as >= 0 && !banner)
		close(as);
	for (int i = 0; i < 10 && r == PROBE_WAIT; i++)
		r = step(&c, 200, why);
	CHECK(r == want, "tcp: %s (%s)", what, why);
	close(c.io.fd);
	if (as >= 0 && banner)
		close(as);
	close(ls);
}

int main(void)
{
	test_match();
	test_udp();
	tcp_banner("220 tandem ESMTP ready\r\n", PROBE_PASS, "the expected banner passes");
	tcp_banner("500 go away\r\n", PROBE_FAIL, "another banner fails");
	tcp_banner(NULL, PROBE_FAIL, "a node that closes at once fails");
	return check_done();
}
