/*
 * tch_held.c - held packets on the wire (tch_held.h).
 */
#include "tch_held.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/wire.h"

size_t tch_held_encoded_len(const struct flowdrop_pkt *list)
{
	size_t n = 0;

	for (const struct flowdrop_pkt *p = list; p; p = p->next)
		n += 4 + p->len;
	return n;
}

void tch_held_encode(const struct flowdrop_pkt *list, uint8_t *out)
{
	for (const struct flowdrop_pkt *p = list; p; p = p->next) {
		wire_put32(out, p->len);
		memcpy(out + 4, p->data, p->len);
		out += 4 + p->len;
	}
}

int tch_held_decode(const uint8_t *buf, size_t len, struct flowdrop_pkt **out, char *err,
		    size_t errlen)
{
	struct flowdrop_pkt *list = NULL, **tail = &list, *p;
	size_t off = 0;

	*out = NULL;
	if (len > TCH_HELD_MAX)
		return err_set(err, errlen, "held packets: %zu bytes, at most %u", len, TCH_HELD_MAX);
	while (off < len) {
		uint32_t n;
		if (len - off < 4) {
			err_set(err, errlen, "held packets: a length cut at byte %zu", off);
			goto fail;
		}
		n = wire_get32(buf + off);
		if (n < TCH_HELD_PKT_MIN || n > FLOWDROP_HOLD_PKT_MAX || n > len - off - 4) {
			err_set(err, errlen, "held packets: length %u at byte %zu", n, off);
			goto fail;
		}
		p = calloc(1, sizeof(*p) + n);
		if (!p) {
			err_set(err, errlen, "held packets: out of memory");
			goto fail;
		}
		p->len = n;
		memcpy(p->data, buf + off + 4, n);
		*tail = p;
		tail = &p->next;
		off += 4 + (size_t)n;
	}
	*out = list;
	return 0;
fail:
	while (list) {
		p = list->next;
		free(list);
		list = p;
	}
	return -1;
}
