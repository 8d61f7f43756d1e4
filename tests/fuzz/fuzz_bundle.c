/* libFuzzer target: the upgrade bundle's head (appliance/tandemctl/bundle.c),
 * the first thing tandemctl upgrade reads from a file an operator was given.
 * Invariants: never reads past len; on success the parsed sizes add up to
 * the total it reports, the version is a bounded printable string, and the
 * signature pointer lies inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/tandemctl/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle b;
	const uint8_t *sig;
	char err[256];
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);	/* exact-size heap copy: ASan sees overreads */
	if (bundle_parse(copy, size, &b, &sig, err, sizeof(err)) == 0) {
		uint64_t sum = b.payload_off;
		for (int i = 0; i < BUNDLE_PAYLOADS; i++)
			sum += b.p[i].size;
		if (sum != b.total || sig < copy || sig + BUNDLE_SIG_LEN > copy + size ||
		    strlen(b.version) == 0 || strlen(b.version) > BUNDLE_VERSION_MAX)
			abort();
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort();
	}
	free(copy);
	return 0;
}
