/*
 * tch_held.h - held packets (flowdrop_take) on the wire between the old
 * and the new node (doc/tch.md, "Holding instead of dropping"): the old
 * node sends what its flow drop held, the new node replays it (tch_resume
 * with a struct tch_held).  Pure; the decoder is fuzzed (fuzz_tch_state).
 *
 * Format: per packet a big-endian u32 length, then the packet (IP header
 * on); nothing else, in order, oldest first.  Lengths are
 * TCH_HELD_PKT_MIN..FLOWDROP_HOLD_PKT_MAX.
 */
#ifndef TANDEM_TCH_HELD_H
#define TANDEM_TCH_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "flowdrop.h"

#define TCH_HELD_PKT_MIN 40	/* an IPv4 + TCP header */
#define TCH_HELD_MAX (64u << 20)	/* encoded bytes a receiver accepts */

/* Bytes tch_held_encode writes for list (NULL: 0). */
size_t tch_held_encoded_len(const struct flowdrop_pkt *list);

/* Encode list into out (tch_held_encoded_len bytes). */
void tch_held_encode(const struct flowdrop_pkt *list, uint8_t *out);

/* Decode buf[0..len) into *out (oldest first; NULL if len is 0; the caller
 * frees it with flowdrop_pkts_free).  0, or -1 with a message naming what
 * is wrong in err (nothing allocated then). */
int tch_held_decode(const uint8_t *buf, size_t len, struct flowdrop_pkt **out, char *err,
		    size_t errlen);

#endif
