/*
 * log.h - logging for every Tandem program.
 * log_warn/fatal append strerror(errno); the *x variants do not.
 * Messages go to stderr with the program name (set by log_init), or to
 * syslog when log_init(..., 1).  fatal*() exit(1).
 *
 * Events: log_event() logs one thing an operator may want to find again
 * (a node went down, a handoff was refused) as one line of stable
 * key=value pairs, e.g.
 *
 *	log_event(LOG_NOTICE, "node_down", KV_S("node", n->name), KV_S("reason", why));
 *	-> node_down node=n1 reason="link down"
 *
 * Event names and keys are lowercase constants, catalogued in doc/logs.md;
 * the quoting rules are in lib/log_fmt.h.  Free-text log_info/log_warnx
 * stay for diagnostics.
 *
 * The journal: when the program runs under systemd with its stderr
 * connected to the journal (JOURNAL_STREAM names stderr's device:inode),
 * every line, event or free text, goes to journald natively instead
 * (sd_journal_sendv), with its PRIORITY, and an event also with the fields
 * TANDEM_EVENT=<name> and TANDEM_<KEY>=<value>, so `journalctl -o json`
 * and `journalctl TANDEM_NODE=n1` find it.  Instead, not also: a line
 * written to stderr as well would be a second, unstructured copy in the
 * same journal.  In syslog mode, native journald (when its socket exists)
 * replaces syslog(3) the same way.  Without a journal, stderr or syslog
 * get the text line.
 */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stddef.h>
#include <stdnoreturn.h>
#include <syslog.h>		/* LOG_NOTICE etc., the priorities of log_event */

void log_init(const char *progname, int use_syslog, int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One key=value pair of an event; make them with KV_S/KV_I/KV_U. */
enum log_kv_kind { LOG_KV_STR, LOG_KV_INT, LOG_KV_UINT };
struct log_kv {
	const char *key;	/* lowercase [a-z0-9_] constant */
	const char *str;	/* LOG_KV_STR: the value; NULL leaves the pair out */
	long long i;		/* LOG_KV_INT */
	unsigned long long u;	/* LOG_KV_UINT */
	enum log_kv_kind kind;
};
#define KV_S(k, v) { .key = (k), .str = (v), .kind = LOG_KV_STR }
#define KV_I(k, v) { .key = (k), .i = (long long)(v), .kind = LOG_KV_INT }
#define KV_U(k, v) { .key = (k), .u = (unsigned long long)(v), .kind = LOG_KV_UINT }

/*
 * Log event name (a constant of doc/logs.md) at syslog priority pri
 * (LOG_DEBUG ones only with verbose) with the pairs that follow, at least
 * one, in the order given.  Values are copied out before it returns.
 */
#define log_event(pri, event, ...)						\
	log_eventv((pri), (event), (const struct log_kv[]){ __VA_ARGS__ },	\
		   sizeof((const struct log_kv[]){ __VA_ARGS__ }) / sizeof(struct log_kv))
void log_eventv(int pri, const char *event, const struct log_kv *kv, size_t n);

#endif
