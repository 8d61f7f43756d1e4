/*
 * tch_state.h - the serialized state of one frozen TCP connection: what
 * libtch (storage/tch/tch.h) dumps on the old node and restores on the new one
 * (doc/tch.md).  Pure encoder and decoder, no kernel
 * calls, so the decoder can be fuzzed (tests/fuzz/fuzz_tch_state.c).
 *
 * The bytes travel inside the authenticated node<->node handoff channel
 * (lib/handoff_wire.h, record HO_R_TCP_STATE), so there is no MAC here; the
 * decoder still trusts nothing: every length, size and field is checked.
 *
 * Wire format, version 1 (all integers big-endian, no padding, no bitfields):
 *
 *   header (12 bytes)
 *     0 u32 magic     0x54434853 ("TCHS")
 *     4 u16 version   1
 *     6 u16 flags     0 (reserved: a decoder refuses non-zero)
 *     8 u32 total_len header + records, must equal the buffer length
 *   records: u16 type, u16 len, len bytes of value
 *
 *   type len  value
 *     1   40  ADDR      u8 family (4|6), u8[3] zero, local addr[16], remote
 *                       addr[16] (network order; IPv4 in the first 4 bytes,
 *                       the other 12 zero), u16 local port, u16 remote port
 *     2    8  SEQ       u32 snd_seq: TCP_QUEUE_SEQ of the send queue (write_seq,
 *                       the sequence number after the last queued byte);
 *                       u32 rcv_seq: TCP_QUEUE_SEQ of the receive queue (rcv_nxt)
 *     3   16  QUEUES    u32 unacked_len, u32 unsent_len (the send queue:
 *                       SIOCOUTQ - SIOCOUTQNSD and SIOCOUTQNSD), u32 recv_len
 *                       (SIOCINQ), u32 app_len
 *     4   20  WINDOW    u32 snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
 *                       (struct tcp_repair_window)
 *     5    8  OPTIONS   u16 mss (the peer's MSS clamp, TCP_MAXSEG in repair
 *                       mode), u8 snd_wscale, u8 rcv_wscale, u32 flags TCH_OPT_*
 *     6    4  TIMESTAMP u32 TCP_TIMESTAMP (our tsval clock, ms)
 *     7   12  SOCKET    u32 sndbuf, u32 rcvbuf (SO_SNDBUF/SO_RCVBUF as read),
 *                       u32 flags TCH_SOCK_*
 *    16  1+  SENDQ     a chunk of the send queue (unacked bytes, then unsent)
 *    17  1+  RECVQ     a chunk of the receive queue (unread bytes)
 *    18  1+  APP       a chunk of the application's session state
 *
 *   Records 1..7 appear exactly once, in any order.  Chunks of one kind are
 *   concatenated in the order they appear; the SENDQ chunks must add up to
 *   unacked_len + unsent_len, the RECVQ chunks to recv_len and the APP
 *   chunks to app_len (a TLV record holds at most 65535 bytes, queues are
 *   larger; declaring every length means no cut can go unnoticed).  Types with the high
 *   bit set (0x8000..0xffff) are extensions a version-1 decoder skips; any
 *   other unknown type is refused.  Adding a required record means version 2.
 */
#ifndef TANDEM_TCH_STATE_H
#define TANDEM_TCH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/flow_key.h"

#define TCH_MAGIC 0x54434853u
#define TCH_VERSION 1
#define TCH_HDR_LEN 12

/* Bounds.  A queue larger than this is refused on both ends (the kernel's
 * own limits, tcp_wmem[2] and tcp_rmem[2], are 4 and 32 MiB here; a session
 * with more queued than 16 MiB each way is better left where it is). */
#define TCH_QUEUE_MAX (16u << 20)	/* each of: send queue, receive queue */
#define TCH_APP_MAX (64u << 10)		/* application state */
#define TCH_CHUNK_MAX 65535u
/* Largest valid encoding: header, fixed records, chunked data. */
#define TCH_FIXED_LEN (TCH_HDR_LEN + 4 * 7 + 40 + 8 + 16 + 20 + 8 + 4 + 12)
#define TCH_STATE_MAX \
	(TCH_FIXED_LEN + 2 * (TCH_QUEUE_MAX + 4 * (TCH_QUEUE_MAX / TCH_CHUNK_MAX + 1)) + \
	 TCH_APP_MAX + 4 * (TCH_APP_MAX / TCH_CHUNK_MAX + 1))

enum tch_rec {
	TCH_R_ADDR = 1,
	TCH_R_SEQ = 2,
	TCH_R_QUEUES = 3,
	TCH_R_WINDOW = 4,
	TCH_R_OPTIONS = 5,
	TCH_R_TIMESTAMP = 6,
	TCH_R_SOCKET = 7,
	TCH_R_SENDQ = 16,
	TCH_R_RECVQ = 17,
	TCH_R_APP = 18,
};
#define TCH_R_EXTENSION 0x8000u	/* types with this bit are skipped */

/* OPTIONS flags: what the connection negotiated (from TCP_INFO tcpi_options). */
#define TCH_OPT_SACK   0x1u
#define TCH_OPT_TS     0x2u	/* timestamps */
#define TCH_OPT_WSCALE 0x4u	/* window scaling (else both shifts are 0) */
#define TCH_OPT_ALL    0x7u
#define TCH_MAX_WSCALE 14	/* RFC 7323; the kernel refuses more */

/* SOCKET flags */
#define TCH_SOCK_NODELAY 0x1u
#define TCH_SOCK_ALL     0x1u

/*
 * One connection, decoded.  Addresses are in network order (as the kernel
 * and lb_flow_key keep them), ports and everything else in host order.
 * Sequence arithmetic is modulo 2^32.
 *
 * Ownership: sendq, recvq and app are malloc'd buffers owned by the state
 * (NULL when their length is 0); tch_state_free() releases them.  The
 * decoder and tch_freeze() allocate them; a caller filling a state itself
 * must malloc them too (tch_state_set_app() does it for app).
 */
struct tch_state {
	uint8_t family;			/* 4 or 6 */
	uint8_t local_addr[16];		/* the VIP (IPv4: first 4 bytes) */
	uint8_t remote_addr[16];	/* the client */
	uint16_t local_port, remote_port;

	uint32_t snd_seq;		/* write_seq: seq after the last byte of sendq */
	uint32_t rcv_seq;		/* rcv_nxt: seq after the last byte of recvq */

	/* struct tcp_repair_window */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;

	uint16_t mss;			/* peer's MSS clamp */
	uint8_t snd_wscale, rcv_wscale;
	uint32_t opts;			/* TCH_OPT_* */
	uint32_t ts_val;		/* TCP_TIMESTAMP */
	uint32_t sndbuf, rcvbuf;	/* SO_SNDBUF / SO_RCVBUF of the old socket */
	uint32_t sock_flags;		/* TCH_SOCK_* */

	uint8_t *sendq;			/* unacked_len + unsent_len bytes, oldest first */
	size_t unacked_len;		/* sent, not acknowledged: restored in repair mode */
	size_t unsent_len;		/* never sent: written normally after resume */
	uint8_t *recvq;			/* recv_len bytes not yet read by the application */
	size_t recv_len;
	uint8_t *app;			/* application session state */
	size_t app_len;
};

/* Why a state was refused. */
enum tch_err {
	TCH_OK = 0,
	TCH_E_SHORT,		/* shorter than the header */
	TCH_E_MAGIC,
	TCH_E_VERSION,
	TCH_E_FLAGS,		/* header flags not zero */
	TCH_E_LENGTH,		/* total_len disagrees with the buffer, or too large */
	TCH_E_TRUNC,		/* a record runs past the end */
	TCH_E_TYPE,		/* unknown record type (without the extension bit) */
	TCH_E_DUP,		/* a fixed record appears twice */
	TCH_E_MISSING,		/* a fixed record is absent */
	TCH_E_RECLEN,		/* a record's length does not fit its type */
	TCH_E_VALUE,		/* a field out of range (family, port, wscale, ...) */
	TCH_E_QUEUE,		/* chunks do not add up, or a queue/app state too large */
	TCH_E_NOMEM,
	TCH_E_SPACE,		/* encode: the buffer is too small */
	TCH_E_MAX
};
const char *tch_err_name(enum tch_err e);

/*
 * Check a state for everything the decoder would refuse (the encoder calls
 * it, so nothing invalid is ever sent).  TCH_OK or the error, with a
 * one-line message naming the field in why (whylen bytes; why may be NULL).
 */
enum tch_err tch_state_check(const struct tch_state *st, char *why, size_t whylen);

/* Bytes tch_state_encode() writes for st (st need not be valid). */
size_t tch_state_encoded_len(const struct tch_state *st);

/*
 * Encode st into buf (cap bytes).  TCH_OK with *len set, TCH_E_SPACE if cap
 * is too small (nothing useful written), or the tch_state_check() error.
 */
enum tch_err tch_state_encode(const struct tch_state *st, uint8_t *buf, size_t cap, size_t *len,
			      char *why, size_t whylen);

/*
 * From the first TCH_HDR_LEN bytes of an encoding: the total length to read
 * (for stream framing).  TCH_OK, TCH_E_SHORT if len < TCH_HDR_LEN, or the
 * magic/version/flags/length error.  Pure.
 */
enum tch_err tch_state_peek_len(const uint8_t *buf, size_t len, uint32_t *total);

/*
 * Decode buf[0..len) (exactly one encoding) into *st, which is overwritten
 * (not freed first).  On TCH_OK the caller owns st's buffers
 * (tch_state_free); on any error *st holds no allocation and why says what
 * was wrong.  Pure apart from malloc.
 */
enum tch_err tch_state_decode(const uint8_t *buf, size_t len, struct tch_state *st,
			      char *why, size_t whylen);

/* Release st's buffers and zero it.  NULL-safe. */
void tch_state_free(struct tch_state *st);

/* Replace st->app by a copy of data[0..len).  0, or -1 with errno EMSGSIZE
 * (len > TCH_APP_MAX) or ENOMEM (st unchanged then). */
int tch_state_set_app(struct tch_state *st, const void *data, size_t len);

/* The flow's 5-tuple as the client sends it and the data planes key it:
 * saddr = client (remote), daddr = VIP (local), ports network order, TCP. */
void tch_state_flow_key(const struct tch_state *st, struct lb_flow_key *k);

#endif
