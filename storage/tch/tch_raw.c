/*
 * tch_raw.c - the process's raw sockets (IPPROTO_RAW, one per address
 * family, opened on first use): the kick's segments (tch_kick.c) and the
 * held client packets replayed to a resumed session (tch_replay).
 *
 * Why IPPROTO_RAW and one per process: a raw TCP socket (what the kick used
 * first, one per handoff) costs a socket, a bind and a close per handoff,
 * and while it lives the kernel hands it a copy of every TCP packet the node
 * receives.  An IPPROTO_RAW socket receives nothing and sends whole IP
 * packets (IP_HDRINCL is implied, IPv4 and IPv6), so one serves every
 * handoff, and the same socket can send a client's packet (source = the
 * client, destination = the VIP) into this node's own stack: the VIP is a
 * local address, so the packet loops back through lo and reaches the
 * session's socket as if it had come from the switch (the flow drop sits on
 * the storage interface, not on lo).
 */
#include "tch.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/loop.h"
#include "lib/wire.h"

#define IP4_HDR 20
#define IP6_HDR 40

void tch_raw_init(struct tch_raw *r)
{
	r->fd4 = r->fd6 = -1;
	r->replayed = r->replay_failed = r->replay_unconfirmed = 0;
}

void tch_raw_close(struct tch_raw *r)
{
	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	r->fd4 = r->fd6 = -1;
}

int tch_raw_fd(struct tch_raw *r, int family)
{
	int *fd = family == 4 ? &r->fd4 : &r->fd6;

	if (*fd < 0) {
		*fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		/* The flow drop passes what carries this mark: a replay must not
		 * be held again where the drop sits on lo (tests); best effort */
		unsigned mark = FLOWDROP_REPLAY_MARK;
		if (*fd >= 0)
			setsockopt(*fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	}
	return *fd;
}

uint32_t tch_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

uint16_t tch_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t tch_ip_header(int family, const uint8_t *src, const uint8_t *dst, size_t tcp_len,
		     uint8_t *out)
{
	if (family == 4) {
		memset(out, 0, IP4_HDR);
		out[0] = 0x45;
		wire_put16(out + 2, (uint16_t)(IP4_HDR + tcp_len));
		wire_put16(out + 6, 0x4000);	/* DF; id and checksum: the kernel's */
		out[8] = 64;
		out[9] = IPPROTO_TCP;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		return IP4_HDR;
	}
	memset(out, 0, IP6_HDR);
	out[0] = 0x60;
	wire_put16(out + 4, (uint16_t)tcp_len);
	out[6] = IPPROTO_TCP;
	out[7] = 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	return IP6_HDR;
}

int tch_raw_send(struct tch_raw *r, int family, const uint8_t *dst, const uint8_t *pkt,
		 size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = tch_raw_fd(r, family);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, dst, 4);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, dst, 16);
		sl = sizeof(*a);
	}
	return sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0 ? -1 : 0;
}

/* The IP and TCP parts of pkt[0..len): family, header length, TCP length
 * (the IP length field, not len: a short frame may carry Ethernet padding),
 * or -1 if it is not an unfragmented TCP packet this code can replay. */
static int split(uint8_t *pkt, size_t len, int *family, size_t *hl, size_t *tl)
{
	size_t tot;

	if (len >= IP4_HDR && pkt[0] >> 4 == 4) {
		*family = 4;
		*hl = (size_t)(pkt[0] & 15) * 4;
		tot = wire_get16(pkt + 2);
		if (pkt[9] != IPPROTO_TCP || (wire_get16(pkt + 6) & 0x3fff))
			return -1;
	} else if (len >= IP6_HDR && pkt[0] >> 4 == 6) {
		*family = 6;
		*hl = IP6_HDR;
		tot = IP6_HDR + (size_t)wire_get16(pkt + 4);
		if (pkt[6] != IPPROTO_TCP)
			return -1;
	} else {
		return -1;
	}
	if (*hl < IP4_HDR || tot > len || tot < *hl + 20)
		return -1;
	*tl = tot - *hl;
	return 0;
}

socklen_t tch_sockaddr(const struct tch_state *st, const uint8_t *addr, uint16_t port,
		       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (st->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, addr, 4);
		a->sin_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	memcpy(&a->sin6_addr, addr, 16);
	a->sin6_port = htons(port);
	return sizeof(*a);
}

int tch_replay(struct tch_raw *r, uint8_t *pkt, size_t len, char *err, size_t errlen)
{
	size_t hl, tl, alen;
	uint8_t *tcp, tail[4];
	uint32_t sum = 0;
	int family;

	if (split(pkt, len, &family, &hl, &tl) < 0) {
		errno = EINVAL;
		return err_set(err, errlen, "replay: not a whole TCP packet");
	}
	/* The checksum again, whole: a packet taken on the storage interface
	 * may carry only the pseudo-header part (checksum offload left it to
	 * a device), and this one goes through lo, which verifies it. */
	alen = family == 4 ? 4 : 16;
	tcp = pkt + hl;
	wire_put16(tcp + 16, 0);
	sum = tch_csum_add(sum, pkt + (family == 4 ? 12 : 8), 2 * alen);
	wire_put32(tail, (uint32_t)tl);
	sum = tch_csum_add(sum, tail, 4);
	sum += IPPROTO_TCP;
	sum = tch_csum_add(sum, tcp, tl);
	wire_put16(tcp + 16, tch_csum_fold(sum));
	if (tch_raw_send(r, family, pkt + (family == 4 ? 16 : 24), pkt, hl + tl) < 0)
		return err_errno(err, errlen, "replay: send (needs CAP_NET_RAW)");
	return 0;
}

void tch_replay_list(struct tch_raw *r, struct flowdrop_pkt *list)
{
	for (struct flowdrop_pkt *p = list; p && r; p = p->next) {
		if (tch_replay(r, p->data, p->len, NULL, 0) == 0)
			r->replayed++;
		else
			r->replay_failed++;
	}
}

/* How many bytes the packets of list add to the receive queue in order from
 * rcv_nxt on (overlaps and duplicates counted once; beyond a hole not at
 * all): what the socket will have queued once it has processed them. */
static uint32_t in_order_bytes(uint32_t rcv_nxt, struct flowdrop_pkt *list)
{
	uint32_t rcv = rcv_nxt;
	int progress = 1;

	for (int pass = 0; progress && pass < 64; pass++) {
		progress = 0;
		for (struct flowdrop_pkt *p = list; p; p = p->next) {
			size_t hl, tl, doff;
			int family;
			if (split(p->data, p->len, &family, &hl, &tl) < 0)
				continue;
			doff = (size_t)(p->data[hl + 12] >> 4) * 4;
			if (doff < 20 || doff > tl)
				continue;
			uint32_t seq = wire_get32(p->data + hl + 4), end = seq + (uint32_t)(tl - doff);
			if ((int32_t)(seq - rcv) <= 0 && (int32_t)(end - rcv) > 0) {
				rcv = end;
				progress = 1;
			}
		}
	}
	return rcv - rcv_nxt;
}

/* Replay list to fd and wait (bounded) until the socket has queued the
 * bytes it adds in order from *rcv on; *rcv moves past them.  0, or -1 when
 * the wait ran out (counted). */
static int replay_wait(int fd, uint32_t *rcv, struct tch_raw *r, struct flowdrop_pkt *list)
{
	uint32_t want = in_order_bytes(*rcv, list);
	int inq0 = 0, inq;
	uint64_t end;

	if (!list)
		return 0;
	if (ioctl(fd, SIOCINQ, &inq0) < 0)
		inq0 = 0;
	tch_replay_list(r, list);
	*rcv += want;
	/* Bounded: a packet the socket refuses (it is only ever a
	 * duplicate or outside the window) must not hold the session. */
	end = loop_now_ns() + TCH_REPLAY_WAIT_NS;
	while (want) {
		if (ioctl(fd, SIOCINQ, &inq) == 0 && (uint32_t)(inq - inq0) >= want)
			return 0;
		if (loop_now_ns() >= end) {
			r->replay_unconfirmed++;
			return -1;
		}
		sched_yield();	/* the backlog may be ksoftirqd's to process */
	}
	return 0;
}

void tch_replay_held(int fd, const struct tch_state *st, struct tch_raw *r, struct tch_held *h)
{
	struct flowdrop_pkt *own = NULL, *late = NULL, **tail = &h->from_old;
	uint32_t rcv = st->rcv_seq;

	/* Still holding what arrives, but the socket's own segments go out:
	 * its ACKs of the replayed bytes make the client send at once, and
	 * those segments must wait until the replay is in (else the socket
	 * SACKs them beyond a hole and the client retransmits the held ones,
	 * RACK).  Only the ingress half can be held: the socket is live. */
	flowdrop_hold_ingress(h->drop, &h->key);
	flowdrop_take(h->drop, &h->key, &own);
	while (*tail)
		tail = &(*tail)->next;
	*tail = own;		/* the old node's first, then this node's */
	replay_wait(fd, &rcv, r, h->from_old);
	*tail = NULL;
	flowdrop_pkts_free(own);
	/* what arrived meanwhile: after the replay, in order */
	flowdrop_del(h->drop, &h->key);
	flowdrop_take(h->drop, &h->key, &late);
	replay_wait(fd, &rcv, r, late);
	flowdrop_pkts_free(late);
}
