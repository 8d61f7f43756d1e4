/* libFuzzer target: tandem-nasd's session-state blob (what a handoff carries
 * next to the TCP state).  Anything decode() accepts must re-encode, and the
 * re-encoded blob must decode to the same state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/http/session_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SST_MAX_BLOB];
	struct session_state a, b;
	char err[160];

	if (session_state_decode(data, size, &a, err, sizeof(err)) < 0)
		return 0;
	ssize_t n = session_state_encode(&a, out, sizeof(out));
	if (n < 0)
		abort();	/* decode accepted a state encode refuses */
	if (session_state_decode(out, (size_t)n, &b, err, sizeof(err)) < 0)
		abort();
	if (a.phase != b.phase || a.after != b.after || a.flags != b.flags)
		abort();
	return 0;
}
