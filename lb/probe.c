/*
 * probe.c - one health check's I/O towards a node, step by step on lbd's
 * loop (nothing here blocks: every socket is non-blocking and the caller
 * waits for the events a step asks for, with its own deadline).
 *
 *   TCP, no probe    connect; the connect's outcome is the verdict.
 *   TCP, probe       connect, send the probe's bytes (if any), read until the
 *                    expected number of bytes is there (or a byte differs,
 *                    or the node closes): a banner or a request/response.
 *   UDP, probe       a socket connect()ed to the node's address and port
 *                    sends one datagram and takes one reply.  Connected: the
 *                    kernel delivers only datagrams from exactly that address
 *                    and port, so nobody else can answer "ok" for the node,
 *                    and the node's ICMP port unreachable comes back as
 *                    ECONNREFUSED (a failure at once, not at the timeout).
 *
 * Each probe has a socket of its own (a new source port): a late answer to
 * an earlier probe can never be taken for this one's.
 */
#include "lbd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "lib/err.h"

/* "why" for a reply that does not match: its size and first bytes in hex. */
static void reply_why(char *why, size_t whylen, const uint8_t *buf, size_t len, size_t full)
{
	size_t n = snprintf(why, whylen, "unexpected reply (%zu bytes):", full);

	for (size_t i = 0; i < len && i < 16 && n + 4 < whylen; i++)
		n += snprintf(why + n, whylen - n, " %02x", buf[i]);
}

int probe_match(const struct cfg_probe *p, const uint8_t *buf, size_t len, size_t full, char *why,
		size_t whylen)
{
	size_t want = p->expect_len;

	if (!want)
		return 1;
	if (full < want || (!p->expect_prefix && full != want) || len < want ||
	    memcmp(buf, p->expect, want)) {
		reply_why(why, whylen, buf, len, full);
		return 0;
	}
	return 1;
}

/* UDP: take the one reply. */
static int udp_reply(struct hcheck *c, char *why, size_t whylen)
{
	ssize_t n = recv(c->io.fd, c->rx, sizeof(c->rx), MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return PROBE_WAIT;
		err_errno(why, whylen, "no answer");
		return PROBE_FAIL;
	}
	size_t got = (size_t)n < sizeof(c->rx) ? (size_t)n : sizeof(c->rx);
	return probe_match(c->probe, c->rx, got, (size_t)n, why, whylen) ? PROBE_PASS : PROBE_FAIL;
}

/* TCP with a probe: read until expect_len bytes are there; stop at the first
 * byte that differs, or when the node closes first. */
static int tcp_reply(struct hcheck *c, char *why, size_t whylen)
{
	const struct cfg_probe *p = c->probe;
	ssize_t n = recv(c->io.fd, c->rx + c->rx_len, p->expect_len - c->rx_len, MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return PROBE_WAIT;
		err_errno(why, whylen, "reading the reply");
		return PROBE_FAIL;
	}
	if (n == 0) {
		err_set(why, whylen, "closed after %u of %u expected bytes", c->rx_len, p->expect_len);
		return PROBE_FAIL;
	}
	c->rx_len += (uint16_t)n;
	if (memcmp(c->rx, p->expect, c->rx_len)) {
		reply_why(why, whylen, c->rx, c->rx_len, c->rx_len);
		return PROBE_FAIL;
	}
	return c->rx_len == p->expect_len ? PROBE_PASS : PROBE_WAIT;
}

/* Connected (TCP) or ready to send (UDP): send the probe's bytes, if any,
 * and wait for the reply.  Small enough for a fresh socket's buffer, so a
 * short send is a failure, not a reason to wait. */
static int send_probe(struct hcheck *c, uint32_t *events, char *why, size_t whylen)
{
	const struct cfg_probe *p = c->probe;

	if (!p)
		return PROBE_PASS;	/* TCP connect check */
	if (p->send_len) {
		ssize_t n = send(c->io.fd, p->send, p->send_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			err_errno(why, whylen, "send");
			return PROBE_FAIL;
		}
		if ((size_t)n != p->send_len) {
			err_set(why, whylen, "short send (%zd of %u bytes)", n, p->send_len);
			return PROBE_FAIL;
		}
	}
	c->stage = PROBE_READING;
	c->rx_len = 0;
	*events = EPOLLIN;
	return PROBE_WAIT;
}

int probe_start(struct hcheck *c, const struct taddr *addr, uint32_t *events, char *why,
		size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(addr, c->port, &ss);
	int type = c->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;

	c->stage = PROBE_CONNECTING;
	c->io.fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->io.fd < 0) {
		err_errno(why, whylen, "socket");
		return PROBE_FAIL;
	}
	if (connect(c->io.fd, (struct sockaddr *)&ss, sl) == 0)
		return send_probe(c, events, why, whylen);
	if (errno != EINPROGRESS) {
		err_set(why, whylen, "%s", strerror(errno));
		return PROBE_FAIL;
	}
	*events = EPOLLOUT;
	return PROBE_WAIT;
}

int probe_step(struct hcheck *c, uint32_t *events, char *why, size_t whylen)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->stage == PROBE_READING)
		return c->proto == IPPROTO_UDP ? udp_reply(c, why, whylen) : tcp_reply(c, why, whylen);
	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		err_set(why, whylen, "%s", strerror(err));
		return PROBE_FAIL;
	}
	return send_probe(c, events, why, whylen);
}

/* ---- tandem-lbd -t ---- */

/* Up to 24 bytes of a probe's data: in hex if so given or not printable,
 * else as text. */
static void preview(FILE *out, const uint8_t *b, size_t n, int hex)
{
	int text = !hex;

	for (size_t i = 0; i < n; i++)
		text &= (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\r' || b[i] == '\n' || b[i] == '\t';
	fputs(text ? " \"" : " hex ", out);
	for (size_t i = 0; i < n && i < 24; i++) {
		if (!text)
			fprintf(out, "%02x", b[i]);
		else if (b[i] < 0x20)
			fprintf(out, "\\%c", b[i] == '\r' ? 'r' : b[i] == '\n' ? 'n' : 't');
		else
			fputc(b[i], out);
	}
	fprintf(out, "%s%s", n > 24 ? "..." : "", text ? "\"" : "");
}

static void describe_probe(FILE *out, const struct cfg_probe *p)
{
	if (p->send_len) {
		fprintf(out, "send %u bytes", p->send_len);
		preview(out, p->send, p->send_len, p->send_hex);
		fputs(p->expect_len ? ", " : "", out);
	}
	if (p->expect_len) {
		fprintf(out, "expect %s %u bytes", p->expect_prefix ? "a reply starting with" : "exactly",
			p->expect_len);
		preview(out, p->expect, p->expect_len, p->expect_hex);
	} else {
		fputs(", any reply from the node", out);
	}
}

/* A UDP service without a probe: which checks speak for it (as
 * sched_node_svc_ok decides). */
static void describe_udp_unchecked(FILE *out, const struct cfg_vip *v, const struct cfg_service *s)
{
	int any_tcp = 0, same = 0;

	for (unsigned i = 0; i < v->nsvc; i++) {
		any_tcp |= v->svc[i].proto == IPPROTO_TCP;
		same |= v->svc[i].proto == IPPROTO_TCP && v->svc[i].port == s->port;
	}
	fprintf(out, "  %s udp/%u: no probe, not checked itself: ", v->name, s->port);
	if (same)
		fprintf(out, "follows the node's tcp/%u check\n", s->port);
	else if (any_tcp)
		fprintf(out, "up while any tcp check of VIP %s passes on the node\n", v->name);
	else
		fputs("up while the node is\n", out);
}

void probe_describe(const struct config *cfg, FILE *out)
{
	const struct cfg_health *h = &cfg->health;

	fprintf(out, "health checks per node (every %u ms, timeout %u ms, rise %u, fall %u):\n",
		h->interval_ms, h->timeout_ms, h->rise, h->fall);
	for (unsigned v = 0; v < cfg->nvips; v++)
		for (unsigned i = 0; i < cfg->vips[v].nsvc; i++) {
			const struct cfg_service *s = &cfg->vips[v].svc[i];
			const struct cfg_probe *p = config_probe(cfg, s->proto, s->port);
			int first = 1;
			for (unsigned w = 0; w <= v && first; w++)
				for (unsigned k = 0; k < (w == v ? i : cfg->vips[w].nsvc); k++)
					first &= cfg->vips[w].svc[k].proto != s->proto ||
						 cfg->vips[w].svc[k].port != s->port;
			if (s->proto == IPPROTO_UDP && !p) {
				describe_udp_unchecked(out, &cfg->vips[v], s);
				continue;
			}
			if (!first)
				continue;
			fprintf(out, "  %s/%u: ", proto_name(s->proto), s->port);
			if (s->proto == IPPROTO_TCP)
				fputs(p ? "connect, " : "connect\n", out);
			if (p) {
				describe_probe(out, p);
				fputc('\n', out);
			}
		}
}
