/* libFuzzer target: storage/http/http_resp must take any bytes: no crash, no read
 * outside the input, a head length within the input, the same answer for
 * any longer buffer with the same head, and self-consistent fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/http/http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp_head h, h2;
	const char *why;
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int n = http_resp_parse(buf, size, &h, &why);
	if (n > 0) {
		if ((size_t)n > size || h.status < 100 || h.status > 599)
			abort();
		if (h.has_range && (h.first > h.last || h.last >= h.total))
			abort();
		if (memchr(h.etag, '\0', sizeof(h.etag)) == NULL)
			abort();
		/* the head alone parses the same */
		if (http_resp_parse(buf, (size_t)n, &h2, &why) != n || h2.status != h.status ||
		    h2.length != h.length || strcmp(h2.etag, h.etag))
			abort();
		uint64_t s, m;
		(void)http_resp_etag_split(h.etag, &s, &m);
	} else if (n < 0 && !*why) {
		abort();	/* every refusal says why */
	}
	free(buf);
	return 0;
}
