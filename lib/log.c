#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log_fmt.h"

#define LOG_MSG_MAX 1024	/* a free-text line */
#define LOG_EVENT_MAX 2048	/* an event's text line */
#define LOG_FIELDS_MAX 64	/* journal fields of one event */
/* journald's native socket: fixed in libsystemd (sd_journal_sendv) */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* The one piece of process-wide state in lib/: logging is configured once
 * in main() and read everywhere, like the C library's own stderr. */
static struct {
	const char *prog;
	int syslog;
	int verbose;
	int journal;		/* send natively to journald (log.h says when) */
} L = { "tandem", 0, 0, 0 };

/* Whether stderr is the journal's stream: systemd sets JOURNAL_STREAM to
 * "DEVICE:INODE" of the stream it connected (systemd.exec(5)); a child
 * whose stderr went elsewhere inherits the variable, hence the fstat. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, int use_syslog, int verbose)
{
	L.prog = progname;
	L.syslog = use_syslog;
	L.verbose = verbose;
	L.journal = use_syslog ? access(JOURNAL_SOCKET, W_OK) == 0 : stderr_is_journal();
	if (use_syslog)	/* also the fallback when journald refuses a line */
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Send one line to journald: msg, with an event's fields when event is
 * set.  0, or -1 when journald did not take it (the caller falls back). */
static int journal_send(int pri, const char *msg, const char *event, const struct log_kv *kv,
			size_t n)
{
	char buf[LOG_MSG_MAX + LOG_EVENT_MAX + 512];
	struct iovec iov[LOG_FIELDS_MAX];
	int k = log_fmt_journal(iov, LOG_FIELDS_MAX, buf, sizeof(buf), pri, L.prog, msg, event,
				kv, n);

	return k > 0 && sd_journal_sendv(iov, k) == 0 ? 0 : -1;
}

/* Write one finished line where log_init said (errno preserved). */
static void emit(int pri, const char *msg, const char *event, const struct log_kv *kv, size_t n)
{
	int saved = errno;

	if (L.journal && journal_send(pri, msg, event, kv, n) == 0) {
		errno = saved;
		return;
	}
	if (L.syslog) {
		syslog(pri, "%s", msg);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, L.prog, msg);
	}
	errno = saved;
}

static void vlog(int pri, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];
	int saved = errno;
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	emit(pri, msg, NULL, NULL, 0);
	errno = saved;
}

void log_eventv(int pri, const char *event, const struct log_kv *kv, size_t n)
{
	char line[LOG_EVENT_MAX];

	if (pri == LOG_DEBUG && !L.verbose)
		return;
	log_fmt_event(line, sizeof(line), event, kv, n);
	emit(pri, line, event, kv, n);
}

#define LOGFN(name, pri, err)				\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		vlog(pri, err, fmt, ap);		\
		va_end(ap);				\
	}

LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!L.verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
