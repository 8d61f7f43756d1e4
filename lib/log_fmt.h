/*
 * log_fmt.h - the pure half of lib/log: how an event becomes a text line
 * and journald fields.  lib/log.c sends them; tests/unit/test_log_fmt.c
 * checks them.  doc/logs.md is the operator's side of these rules.
 *
 * Text form: one line, `EVENT key=value key="value with spaces"`.
 *   - EVENT and keys are lowercase [a-z0-9_]; any other byte of a name
 *     becomes '_' (names are constants in the code; this only keeps a
 *     mistake from breaking the line).
 *   - A value is written bare when it is non-empty and every byte is
 *     printable ASCII other than '"', '\\' and '='; otherwise it is quoted,
 *     and inside the quotes '"' and '\\' are escaped with '\\', newline,
 *     CR and tab as \n \r \t, and every other control byte or byte >= 0x80
 *     as \xHH.  So a line holds no control character, and no value can
 *     end early or forge another key (`a" b=c` is `"a\" b=c"`).
 *   - Pairs keep the caller's order.  A string pair whose value is NULL is
 *     left out (an optional key).  Numbers are decimal, bare.
 *   - A pair that does not fit the buffer is left out whole, and the line
 *     ends ` truncated=yes`.
 *
 * Journal fields: MESSAGE=<the text line>, PRIORITY=<0..7>,
 * SYSLOG_IDENTIFIER=<program>, TANDEM_EVENT=<event>, and per pair
 * TANDEM_<KEY uppercased>=<value>: the value escaped as in the text form
 * (control bytes, bytes >= 0x80 and '\\') but never quoted, and '"' kept
 * as it is, so `journalctl -o json` shows every field as a JSON string.
 */
#ifndef TANDEM_LOG_FMT_H
#define TANDEM_LOG_FMT_H

#include <stddef.h>
#include <sys/uio.h>

#include "lib/log.h"

#define LOG_EVENT_NAME_MAX 48	/* longer event names and keys are cut */
#define LOG_LINE_MIN 128	/* log_fmt_event's smallest buffer */

/*
 * Format the text form of an event into buf (cap >= LOG_LINE_MIN bytes):
 * NUL-terminated, no newline.  event: its name; kv[0..n-1]: its pairs.
 * Returns the length written.
 */
size_t log_fmt_event(char *buf, size_t cap, const char *event, const struct log_kv *kv, size_t n);

/*
 * The journal fields of one log line, for sd_journal_sendv: their text goes
 * into buf (cap bytes), iov[i] points into it, one field each.  msg: the
 * text line (MESSAGE); event NULL (and n 0) for a free-text line, which gets
 * MESSAGE, PRIORITY and SYSLOG_IDENTIFIER only.  A field that does not fit
 * buf or iov (maxiov) is left out whole, and the pairs' fields with
 * TANDEM_EVENT when it is; MESSAGE, PRIORITY and SYSLOG_IDENTIFIER come
 * first.  Returns the iovec count (lib/log.c sizes buf so that all fit).
 */
int log_fmt_journal(struct iovec *iov, int maxiov, char *buf, size_t cap, int pri,
		    const char *prog, const char *msg, const char *event,
		    const struct log_kv *kv, size_t n);

#endif
