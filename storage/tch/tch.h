/*
 * tch.h - libtch: freeze, dump, restore and resume a live TCP connection
 * with TCP_REPAIR, so a session moves from one storage node to another
 * without the client noticing (doc/tch.md).
 *
 * The caller (the handoff agent in tandem-nasd) runs the sequence
 * (doc/tch.md explains each step's place):
 *
 *   old node                                new node
 *   flowdrop_add(key, now + guard)
 *   tch_freeze(fd, &st)
 *   tch_state_encode() --- channel --->     tch_state_decode()
 *                                           flowdrop_add(key, now + guard)
 *                                           tch_restore(&st, &nfd)
 *                                           re-point the switch to this node
 *                                           (nasd: the old node's REDIRECT,
 *                                           sent right after its freeze)
 *                                           flowdrop_del(key)
 *                                           tch_resume(nfd, &st)
 *                  <--- "resumed" ---
 *   tch_close_silently(fd)
 *   flowdrop_add(key, now + grace)
 *
 *   on any failure before the old node closed: re-point the switch back
 *   if it may have moved, flowdrop_del(key); tch_thaw(fd) on the old node,
 *   tch_close_silently(nfd) on the new one.
 *
 * Every function needs CAP_NET_ADMIN (TCP_REPAIR).  Return convention:
 * 0 on success, -1 with errno set AND a one-line message in err (errlen
 * bytes, may be NULL/0) naming the step that failed; nothing is logged, the
 * caller decides.  Not thread-safe per socket (the caller owns the fd).
 */
#ifndef TANDEM_TCH_H
#define TANDEM_TCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "flowdrop.h"
#include "tch_state.h"

/*
 * The process's raw sockets (tch_raw.c): IPPROTO_RAW, one per family, opened
 * on first use (so a process without CAP_NET_RAW finds out at its first
 * kick, which is best effort), owned by the caller (one in its context
 * struct), closed with tch_raw_close.
 */
struct tch_raw {
	int fd4, fd6;
	uint64_t replayed, replay_failed;	/* tch_replay_list's packets */
	uint64_t replay_unconfirmed;	/* tch_replay_held waited out */
};

void tch_raw_init(struct tch_raw *r);
void tch_raw_close(struct tch_raw *r);

/* The socket for family 4 or 6, opened now if need be; -1 with errno. */
int tch_raw_fd(struct tch_raw *r, int family);

/* Send pkt[0..len), a whole IP packet (header included), to dst (4 or 16
 * bytes, the packet's destination).  0 or -1 with errno. */
int tch_raw_send(struct tch_raw *r, int family, const uint8_t *dst, const uint8_t *pkt,
		 size_t len);

/* An IP header (20 bytes for IPv4, 40 for IPv6) for tcp_len bytes of TCP
 * from src to dst into out; its length.  IPv4 id and checksum are left to
 * the kernel (IP_HDRINCL fills them in). */
size_t tch_ip_header(int family, const uint8_t *src, const uint8_t *dst, size_t tcp_len,
		     uint8_t *out);

/* RFC 1071: one's-complement sum of p[0..n) added to sum, and its fold. */
uint32_t tch_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t tch_csum_fold(uint32_t sum);

/*
 * Replay one held client packet (flowdrop_take: IP header on, client ->
 * VIP) into this node's stack, to the session's socket, which must be out
 * of repair mode (tch_resume) or the socket would ACK bytes the caller
 * could still roll back.  Recomputes the TCP checksum in pkt (offloading
 * may have left it partial).  0, or -1 with errno and err: not a whole TCP
 * packet (EINVAL), or the send failed.
 */
int tch_replay(struct tch_raw *r, uint8_t *pkt, size_t len, char *err, size_t errlen);

/* tch_replay of every packet of list (NULL-safe; the list stays the
 * caller's), counted in r->replayed / r->replay_failed. */
void tch_replay_list(struct tch_raw *r, struct flowdrop_pkt *list);

#define TCH_REPLAY_WAIT_NS 20000000ull	/* 20 ms */

/* What the client sent while its session was frozen (doc/tch.md, "Holding
 * instead of dropping"), for tch_resume to replay. */
struct tch_held {
	struct flowdrop *drop;		/* this node's flow drop: key's entry armed by flowdrop_hold */
	struct lb_flow_key key;
	struct flowdrop_pkt *from_old;	/* the old node's held packets, oldest first; stays the caller's */
};

/*
 * tch_resume's replay, right after repair mode is left: h's drop entry
 * goes on holding the client's packets but lets the socket's out; the old
 * node's packets and this node's are replayed (tch_replay_list) and waited
 * for (at most TCH_REPLAY_WAIT_NS each time) until the socket has queued
 * the bytes they add in order; then the drop entry is removed and what it
 * held meanwhile replayed and waited for the same way.  Why wait: a packet
 * sent to a local address is queued on lo's backlog and processed by a
 * softirq, on a busy machine by ksoftirqd some time later, and the
 * socket's ACKs of the first replayed packets make the client send at
 * once: its new segments, processed before the rest of the replay, would
 * be SACKed beyond a hole and the held ones retransmitted (RACK) - the
 * retransmissions holding is for.  A wait that runs out is counted in
 * r->replay_unconfirmed; the session goes on.
 */
void tch_replay_held(int fd, const struct tch_state *st, struct tch_raw *r, struct tch_held *h);

/*
 * Put the established TCP socket fd into repair mode and dump it into *out
 * (overwritten; on success the caller owns its buffers: tch_state_free).
 * The application must have stopped using fd, and the flow's incoming
 * packets must already be dropped (flowdrop): a socket in repair mode still
 * ACKs what arrives, and those bytes would not be in the dump.  The dump is
 * taken until two consecutive reads of the sequence numbers and queue sizes
 * agree (packets already past the drop when it was installed are absorbed).
 * Refuses (EINVAL) a socket that is not TCP or not ESTABLISHED (a FIN seen
 * or sent cannot be restored) and (EMSGSIZE) queues over TCH_QUEUE_MAX.
 *
 * On success fd stays open in repair mode with the send queue selected, so
 * that it transmits no new data on its own (a repair-mode socket otherwise
 * still sends on its pacing/TSQ timers: the client would acknowledge bytes
 * the new node believes unsent, and the new node would discard all its
 * segments).  It stays so until tch_thaw() or tch_close_silently().  On
 * failure fd is back in normal mode (as tch_thaw) and *out holds nothing.
 */
int tch_freeze(int fd, struct tch_state *out, char *err, size_t errlen);

/*
 * Roll back a freeze on the old node: leave repair mode (TCP_REPAIR=0 with
 * the window probe, which makes the client answer with an ACK at once) so
 * the session continues here.  Remove the flow drop first, or that ACK is
 * dropped and the session waits for the client's retransmission timer.
 */
int tch_thaw(int fd, char *err, size_t errlen);

/*
 * Build the connection of *st on this node, in repair mode, and return it
 * in *fd_out (blocking, close-on-exec).  The local address (the VIP) must be
 * configured on this node; the switch must NOT send the flow here yet.
 * Order (each step needs the previous one; see doc/tch.md): socket,
 * TCP_REPAIR=1 (never SO_REUSEADDR after it: TCP_REPAIR sets the forced
 * reuse that lets us bind next to the service's listener), receive buffer,
 * bind, both TCP_QUEUE_SEQs, TCP_MAXSEG (the clamp: connect computes the
 * segment size from it), connect, TCP_REPAIR_OPTIONS, TCP_TIMESTAMP,
 * send buffer, receive queue, the sent-but-unacked part of the send queue,
 * then
 * TCP_REPAIR_WINDOW (the kernel checks it against rcv_nxt, which the
 * receive queue moves).  The unsent bytes are written by tch_resume().
 * On failure nothing is left behind (the socket is closed in repair mode).
 */
int tch_restore(const struct tch_state *st, int *fd_out, char *err, size_t errlen);

/*
 * After the switch sends the flow to this node: leave repair mode (without
 * the kernel's window probe, tch.c says why), kick the session (tch_kick,
 * from raw, the caller's per-process raw sockets; before it, with held,
 * what the client sent while the session was frozen is replayed to the
 * socket and the flow's drop entry removed, tch_replay_held; without, the
 * caller removes the entry before it calls this)
 * and write the unsent part of st's send queue normally, so the
 * kernel sends it under the client's window.  tch_restore() sized the send
 * buffer for it; if the kernel still refuses part of it, fails with EAGAIN
 * after waiting up to 1 s (the connection must then be closed: bytes would
 * be lost).  A buffer tch_restore() had to enlarge for the queues goes back
 * to the old socket's size, and SO_REUSEADDR is set as on a connection
 * accepted from a SO_REUSEADDR listener (leaving repair mode clears it; the
 * service could not listen again on VIP:port while the connection lives).
 * On success fd is an ordinary connected socket: 0, or 1 when the kick
 * could not be sent (err says why; the kernel's window probe went instead
 * and the client's timers recover: callers count it, since every handoff
 * of a node without CAP_NET_RAW would be one).  -1 with err on failure.
 */
int tch_resume(int fd, const struct tch_state *st, struct tch_raw *raw, struct tch_held *held,
	       char *err, size_t errlen);

/*
 * Right after TCP_REPAIR=0, before any new data (tch_resume calls it, best
 * effort: if it fails, the client's and the socket's own timers recover, as
 * before it existed): make both ends learn each other's state at once
 * instead of on a retransmission timer.  Sends from a raw socket (needs
 * CAP_NET_RAW) the first bytes in flight again, if any (the client answers
 * at once), and one pure ACK of rcv_nxt plus three duplicates of it (the
 * client learns what the old node received; a client without SACK
 * retransmits its first lost segment).  tch_kick.c and doc/tch.md ("Nothing
 * left to a timer") say why the kernel cannot be made to send these.
 * 0, or -1 with errno and a message in err (may be NULL).
 */
int tch_kick(int fd, const struct tch_state *st, struct tch_raw *raw, char *err,
	     size_t errlen);

/* One segment of the kick, VIP -> client, pure (unit-tested): TCP header,
 * a timestamp option if st negotiated them (tsval, tsecr 0), data[0..dlen);
 * ACK of st's rcv_nxt with the window st last offered; checksum filled in.
 * Its length, or 0 if cap is too small. */
size_t tch_kick_segment(const struct tch_state *st, uint32_t seq, const uint8_t *data,
			size_t dlen, uint32_t tsval, uint8_t *out, size_t cap);

/* st's address addr (st->local_addr or st->remote_addr) and port as a
 * sockaddr of st's family; its length. */
socklen_t tch_sockaddr(const struct tch_state *st, const uint8_t *addr, uint16_t port,
		       struct sockaddr_storage *ss);

/*
 * Close a socket without a FIN or RST: enters repair mode (if it is not in
 * it yet) and closes.  Used on the old node once the new one resumed, and on
 * the new node to abandon a restore.  If repair mode cannot be entered, fd
 * is NOT closed (a normal close would send FIN/RST to a client that now
 * talks to the other node) and -1 is returned: the caller keeps it (and the
 * flow drop) until it can retry.
 */
int tch_close_silently(int fd, char *err, size_t errlen);

#endif
