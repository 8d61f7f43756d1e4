/*
 * tch_kick.c - the segments the new node sends right after it resumes a
 * session, so that neither end is left waiting on a timer (doc/tch.md,
 * "Nothing left to a timer").
 *
 * Why libtch writes these segments itself (a raw socket) instead of letting
 * the kernel send them: nothing a userspace program can ask of a TCP socket
 * makes the kernel send them.
 * - TCP_REPAIR=0 sends one window probe (tcp_send_window_probe): an empty
 *   ACK with seq snd_una - 1.  The client finds it outside its window and
 *   discards it before looking at its ACK field (tcp_validate_incoming), so
 *   it never learns the restored rcv_nxt from it; it only answers with a
 *   duplicate ACK - and that answer is rate-limited to one per
 *   tcp_invalid_ratelimit (500 ms) per connection (tcp_oow_rate_limited,
 *   counted as TcpExtTCPACKSkippedSeq).  A session handed off twice within
 *   500 ms gets no answer the second time.  Worse, it records as offered
 *   a window the client never sees (tch_resume in tch.c says what that
 *   cost), so tch_resume leaves repair mode without it and sends this
 *   instead.
 * - A restored socket has no RTT sample: its first tail-loss probe is 1 s
 *   out, its retransmission timeout 3 s (tcp_init_metrics), and no option
 *   shortens either.  Keepalive probes are the same rate-limited empty
 *   segment as the window probe.
 * What the kick sends, from the restored state alone:
 * 1. if the old node had bytes in flight: the first of them again
 *    (seq snd_una, at most KICK_DATA bytes).  A segment with data is never
 *    rate-limited: a client that has them answers at once with a duplicate
 *    ACK (D-SACK) telling the new node everything it holds, which frees the
 *    new socket's congestion window at once instead of at its 1 s probe;
 *    a client that lacks them (the old node's last segments lost) gets them.
 * 2. KICK_ACKS identical pure ACKs in the client's window (seq snd_nxt, ack
 *    rcv_nxt, the window the old node last offered).  The first acknowledges
 *    what the old node received but had not acknowledged yet (its delayed
 *    ACK was dropped with the flow), which opens the client's congestion
 *    window: it sends what it has, and SACKs of that let it repair holes by
 *    fast retransmit (RACK) instead of its RTO.  The next three are the
 *    classic duplicate ACKs: a client without SACK retransmits the segment
 *    after rcv_nxt at once (fast retransmit).  A SACK client ignores them.
 * Everything sent here is a segment the kernel socket itself could have
 * sent: same sequence space, same ACK, a window no larger than the one
 * already offered, the socket's own timestamp clock (tsecr 0: we do not
 * know the client's last tsval, and 0 means "no echo" to RTT estimation).
 */
#include "tch.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/wire.h"

#define KICK_DATA 1200	/* fits any path: IPv6's minimum MTU 1280, all headers */
#define KICK_ACKS 4	/* one ACK, then three duplicates */
#define TCP_HDR 20
#define TS_OPT 12	/* NOP NOP kind 8 len 10 tsval tsecr */

/* The TCP checksum of seg[0..len) (its checksum field zero) under the
 * pseudo-header of st's addresses, VIP -> client. */
static uint16_t tcp_csum(const struct tch_state *st, const uint8_t *seg, size_t len)
{
	size_t alen = st->family == 4 ? 4 : 16;
	uint8_t tail[4];
	uint32_t sum = 0;

	sum = tch_csum_add(sum, st->local_addr, alen);
	sum = tch_csum_add(sum, st->remote_addr, alen);
	wire_put32(tail, (uint32_t)len);	/* IPv4: zero, proto, u16 len; same sum */
	sum = tch_csum_add(sum, tail, 4);
	sum += IPPROTO_TCP;
	sum = tch_csum_add(sum, seg, len);
	return tch_csum_fold(sum);
}

size_t tch_kick_segment(const struct tch_state *st, uint32_t seq, const uint8_t *data,
			size_t dlen, uint32_t tsval, uint8_t *out, size_t cap)
{
	size_t opt = (st->opts & TCH_OPT_TS) ? TS_OPT : 0, len = TCP_HDR + opt + dlen;
	/* The window the old node last offered, counted from rcv_nxt: its right
	 * edge never moves left (rounded down to the scale). */
	uint32_t win = st->rcv_wup + st->rcv_wnd - st->rcv_seq;
	uint8_t *p = out;

	if (len > cap)
		return 0;
	if ((int32_t)win < 0)
		win = 0;
	if (st->opts & TCH_OPT_WSCALE)
		win >>= st->rcv_wscale;
	memset(p, 0, TCP_HDR + opt);
	wire_put16(p, st->local_port);
	wire_put16(p + 2, st->remote_port);
	wire_put32(p + 4, seq);
	wire_put32(p + 8, st->rcv_seq);
	p[12] = (uint8_t)(((TCP_HDR + opt) / 4) << 4);
	p[13] = dlen ? 0x18 : 0x10;	/* ACK, PSH with data */
	wire_put16(p + 14, (uint16_t)(win > 65535 ? 65535 : win));
	if (opt) {
		p[20] = p[21] = 1;	/* NOP NOP */
		p[22] = 8;
		p[23] = 10;
		wire_put32(p + 24, tsval);	/* tsecr stays 0 */
	}
	if (dlen)
		memcpy(p + TCP_HDR + opt, data, dlen);
	wire_put16(p + 16, tcp_csum(st, p, len));
	return len;
}

/* seg[0..len) as an IP packet VIP -> client through the process's raw
 * socket (tch_raw.c); pkt has room for the IP header before seg. */
static int send_seg(struct tch_raw *raw, const struct tch_state *st, uint8_t *pkt,
		    const uint8_t *seg, size_t len)
{
	size_t hl = tch_ip_header(st->family, st->local_addr, st->remote_addr, len, pkt);

	memmove(pkt + hl, seg, len);
	return tch_raw_send(raw, st->family, st->remote_addr, pkt, hl + len);
}

int tch_kick(int fd, const struct tch_state *st, struct tch_raw *raw, char *err, size_t errlen)
{
	uint8_t seg[TCP_HDR + TS_OPT + KICK_DATA], pkt[40 + sizeof(seg)];
	uint32_t una = st->snd_seq - (uint32_t)(st->unacked_len + st->unsent_len);
	uint32_t nxt = st->snd_seq - (uint32_t)st->unsent_len, tsval = 0;
	socklen_t vl = sizeof(int);
	size_t len;
	int v;

	if ((st->opts & TCH_OPT_TS) && getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v, &vl) == 0)
		tsval = (uint32_t)v;
	if (!raw)
		errno = EINVAL;
	if (!raw || tch_raw_fd(raw, st->family) < 0)
		return err_errno(err, errlen, "kick: raw socket (needs CAP_NET_RAW)");
	if (st->unacked_len) {
		len = tch_kick_segment(st, una, st->sendq,
				       st->unacked_len < KICK_DATA ? st->unacked_len : KICK_DATA,
				       tsval, seg, sizeof(seg));
		if (send_seg(raw, st, pkt, seg, len) < 0)
			return err_errno(err, errlen, "kick: send to the client");
	}
	len = tch_kick_segment(st, nxt, NULL, 0, tsval, seg, sizeof(seg));
	for (int i = 0; i < KICK_ACKS; i++)
		if (send_seg(raw, st, pkt, seg, len) < 0)
			return err_errno(err, errlen, "kick: send to the client");
	return 0;
}
