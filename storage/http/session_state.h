/*
 * session_state.h - the application state of one tandem-nasd HTTP session as
 * a compact, versioned blob: what a handoff carries next to the TCP state
 * (libtch), and what session_restore() rebuilds a live session from.
 *
 * Pure: no I/O, no allocation; decode() checks everything against a table
 * of record sizes and the invariants below before the caller sees a field.
 *
 * A session can be frozen at any point between two events of the loop:
 *   HEAD  between requests, or in the middle of a request head: IN holds the
 *         bytes received but not parsed yet (a partial head, or pipelined
 *         requests).
 *   SEND  in the middle of a response: OUT holds the response bytes not yet
 *         handed to the kernel (part of a header block, or a small generated
 *         body), then FILE names the file and the byte span still to send
 *         [offset, end); `after` says what follows (next request, close, or
 *         the PUT body after a "100 Continue").
 *   BODY  in the middle of an upload: UPLOAD has the target path, the temp
 *         file (in the target's directory), bytes received (= bytes in the
 *         temp file) and the expected Content-Length.
 * Bytes the kernel holds (receive queue; sent-but-unacked and unsent send
 * queue) are not here: they travel with the TCP state.
 *
 * Layout (big-endian):
 *   0 u16 magic 0x544e ("TN")   2 u8 version 1   3 u8 phase (SST_PH_*)
 *   4 u32 body length, then TLV records (u16 type, u16 length, value):
 *     1 CONN    32  u8 after, u8 flags (SST_F_*), u16 0, u32 rate (bytes/s,
 *                   0 = unlimited), u64 requests, u64 bytes_in, u64 bytes_out
 *     2 IN      0..16512  received, unparsed bytes
 *     3 OUT     1..4096   response bytes not yet written
 *     4 FILE    32  u64 offset, u64 end, u64 size, u64 mtime (ns since epoch)
 *     5 FILE_PATH       export path of the file ("/dir/f", canonical)
 *     6 UPLOAD  24  u64 received, u64 length, u8 flags (SST_UP_*), 7 x u8 0
 *     7 UPLOAD_PATH     export path of the PUT target (canonical)
 *     8 UPLOAD_TMP      temp file name in the target's directory (".nasd-put.*")
 *   Types >= 0x8000 are optional: decoders skip the ones they do not know;
 *   any other unknown type, a duplicate or a wrong size is an error.
 */
#ifndef TANDEM_SESSION_STATE_H
#define TANDEM_SESSION_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SST_MAGIC 0x544e
#define SST_VERSION 1
#define SST_HDR_LEN 8
#define SST_MAX_IN 16512	/* HTTP_MAX_HEAD + empty lines before it, rounded */
#define SST_MAX_OUT 4096
#define SST_MAX_PATH 4095
#define SST_MAX_NAME 255
#define SST_TMP_PREFIX ".nasd-put."
/* Largest blob encode() can produce. */
#define SST_MAX_BLOB (SST_HDR_LEN + 8 * 4 + 32 + SST_MAX_IN + SST_MAX_OUT + 32 + \
		      SST_MAX_PATH + 24 + SST_MAX_PATH + SST_MAX_NAME)

enum sst_phase { SST_PH_HEAD = 1, SST_PH_SEND = 2, SST_PH_BODY = 3 };
enum sst_after { SST_AFTER_NEXT = 1, SST_AFTER_BODY = 2, SST_AFTER_CLOSE = 3 };
enum sst_type {
	SST_T_CONN = 1, SST_T_IN, SST_T_OUT, SST_T_FILE, SST_T_FILE_PATH,
	SST_T_UPLOAD, SST_T_UPLOAD_PATH, SST_T_UPLOAD_TMP,
	SST_T_MAX
};

#define SST_F_KEEPALIVE 0x01	/* the current request keeps the connection open */
#define SST_F_HTTP10 0x02	/* the current request is HTTP/1.0 */
#define SST_F_ALL 0x03
#define SST_UP_EXISTED 0x01	/* the target existed: answer 204, not 201 */
#define SST_UP_ALL 0x01

struct sst_bytes {
	const uint8_t *p;	/* NULL/0 when absent */
	size_t len;
};

struct session_state {
	uint8_t phase;		/* enum sst_phase */
	uint8_t after;		/* enum sst_after */
	uint8_t flags;		/* SST_F_* */
	uint32_t rate;
	uint64_t requests, bytes_in, bytes_out;
	struct sst_bytes in, out;
	int has_file;
	uint64_t file_off, file_end, file_size, file_mtime_ns;
	struct sst_bytes file_path;
	int has_upload;
	uint64_t up_received, up_length;
	uint8_t up_flags;
	struct sst_bytes up_path, up_tmp;
};

/* Bytes encode() needs for st. */
size_t session_state_size(const struct session_state *st);

/*
 * Encode st into buf (cap bytes).  Returns the length, or -1 with errno
 * EMSGSIZE (cap too small) or EINVAL (st breaks an invariant decode()
 * checks: then no blob could be decoded again).
 */
ssize_t session_state_encode(const struct session_state *st, uint8_t *buf, size_t cap);

/*
 * Decode and check a blob.  0 with *st filled (its byte fields point into
 * buf: valid as long as buf), or -1 with a one-line message in err.
 */
int session_state_decode(const uint8_t *buf, size_t len, struct session_state *st,
			 char *err, size_t errlen);

/* "head" / "send" / "body" / "?" */
const char *session_state_phase_name(int phase);

#endif
