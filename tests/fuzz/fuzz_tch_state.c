/* libFuzzer target: the frozen-connection state decoder (storage/tch/tch_state.h)
 * must refuse malformed input cleanly, and whatever it accepts must pass
 * the encoder's checks and survive a re-encode/decode round trip unchanged
 * (extension records, which the decoder skips, are the only bytes that may
 * differ). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/tch/tch_held.h"
#include "storage/tch/tch_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct tch_state *a, const struct tch_state *b)
{
	size_t sq = a->unacked_len + a->unsent_len;

	return a->family == b->family && !memcmp(a->local_addr, b->local_addr, 16) &&
	       !memcmp(a->remote_addr, b->remote_addr, 16) && a->local_port == b->local_port &&
	       a->remote_port == b->remote_port && a->snd_seq == b->snd_seq &&
	       a->rcv_seq == b->rcv_seq && a->snd_wl1 == b->snd_wl1 && a->snd_wnd == b->snd_wnd &&
	       a->max_window == b->max_window && a->rcv_wnd == b->rcv_wnd &&
	       a->rcv_wup == b->rcv_wup && a->mss == b->mss && a->snd_wscale == b->snd_wscale &&
	       a->rcv_wscale == b->rcv_wscale && a->opts == b->opts && a->ts_val == b->ts_val &&
	       a->sndbuf == b->sndbuf && a->rcvbuf == b->rcvbuf && a->sock_flags == b->sock_flags &&
	       a->unacked_len == b->unacked_len && a->unsent_len == b->unsent_len &&
	       a->recv_len == b->recv_len && a->app_len == b->app_len &&
	       (!sq || !memcmp(a->sendq, b->sendq, sq)) &&
	       (!a->recv_len || !memcmp(a->recvq, b->recvq, a->recv_len)) &&
	       (!a->app_len || !memcmp(a->app, b->app, a->app_len));
}

/* The held packets' decoder (tch_held.h) on the same input: what it
 * accepts re-encodes to exactly the input. */
static void held(const uint8_t *data, size_t size)
{
	struct flowdrop_pkt *list;
	char why[160];

	if (tch_held_decode(data, size, &list, why, sizeof(why)) < 0)
		return;
	size_t len = tch_held_encoded_len(list);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf || len != size)
		abort();
	tch_held_encode(list, buf);
	if (memcmp(buf, data, len))
		abort();
	free(buf);
	while (list) {
		struct flowdrop_pkt *n = list->next;
		free(list);
		list = n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tch_state st, back;
	char why[160];
	size_t len;

	held(data, size);
	if (tch_state_decode(data, size, &st, why, sizeof(why)) != TCH_OK)
		return 0;
	if (tch_state_check(&st, why, sizeof(why)) != TCH_OK)
		abort();	/* accepted but not encodable */
	len = tch_state_encoded_len(&st);
	if (len > size)
		abort();	/* the canonical encoding is never longer */
	uint8_t *buf = malloc(len);
	if (!buf || tch_state_encode(&st, buf, len, &len, why, sizeof(why)) != TCH_OK)
		abort();
	if (tch_state_decode(buf, len, &back, why, sizeof(why)) != TCH_OK || !same(&st, &back))
		abort();
	tch_state_free(&back);
	tch_state_free(&st);
	free(buf);
	return 0;
}
