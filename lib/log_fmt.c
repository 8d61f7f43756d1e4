/*
 * log_fmt.c - events as text lines and journald fields (rules: log_fmt.h).
 * Pure: no I/O, no state; every output is bounded by the caller's buffer.
 */
#include "log_fmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* An output buffer that remembers whether something did not fit. */
struct wbuf {
	char *p;
	size_t cap, len;	/* cap includes the NUL */
	int full;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->full || n >= w->cap - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct wbuf *w, const char *fmt, ...)
{
	char tmp[32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		w->full = 1;
	else
		put(w, tmp, (size_t)n);
}

/* An event name or key: [a-z0-9_], anything else '_', at most
 * LOG_EVENT_NAME_MAX bytes; upper: for a journal field name. */
static void put_name(struct wbuf *w, const char *s, int upper)
{
	for (size_t i = 0; s[i] && i < LOG_EVENT_NAME_MAX; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '_';
		else if (upper && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		put(w, &c, 1);
	}
}

static int bare_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

/* One byte of a value, escaped; quote: inside a text line's quotes ('"'
 * escaped too), else a journal field. */
static void put_esc(struct wbuf *w, unsigned char c, int quote)
{
	char e[5];

	if (c == '\\' || (quote && c == '"')) {
		e[0] = '\\';
		e[1] = (char)c;
		put(w, e, 2);
	} else if (c == '\n' || c == '\r' || c == '\t') {
		e[0] = '\\';
		e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		put(w, e, 2);
	} else if (c < 0x20 || c >= 0x7f) {
		snprintf(e, sizeof(e), "\\x%02x", c);
		put(w, e, 4);
	} else {
		e[0] = (char)c;
		put(w, e, 1);
	}
}

/* A pair's value: quote 1 for the text line (bare when bare_ok allows),
 * 0 for a journal field (escaped, never quoted). */
static void put_value(struct wbuf *w, const struct log_kv *kv, int quote)
{
	const unsigned char *s = (const unsigned char *)kv->str;
	int bare = 1;

	if (kv->kind == LOG_KV_INT) {
		putf(w, "%lld", kv->i);
		return;
	}
	if (kv->kind == LOG_KV_UINT) {
		putf(w, "%llu", kv->u);
		return;
	}
	for (size_t i = 0; s[i]; i++)
		bare = bare && bare_ok(s[i]);
	if (!quote || (bare && s[0])) {
		for (size_t i = 0; s[i]; i++)
			put_esc(w, s[i], 0);
		return;
	}
	put(w, "\"", 1);
	for (size_t i = 0; s[i]; i++)
		put_esc(w, s[i], 1);
	put(w, "\"", 1);
}

static int kv_present(const struct log_kv *kv)
{
	return kv->kind != LOG_KV_STR || kv->str;
}

size_t log_fmt_event(char *buf, size_t cap, const char *event, const struct log_kv *kv, size_t n)
{
	static const char trunc[] = " truncated=yes";
	/* room for the marker is kept back until the end */
	struct wbuf w = { buf, cap - (sizeof(trunc) - 1), 0, 0 };
	int cut = 0;

	buf[0] = '\0';
	put_name(&w, event, 0);
	for (size_t i = 0; i < n; i++) {
		size_t mark = w.len;

		if (!kv_present(&kv[i]))
			continue;
		put(&w, " ", 1);
		put_name(&w, kv[i].key, 0);
		put(&w, "=", 1);
		put_value(&w, &kv[i], 1);
		if (w.full) {	/* leave the pair out whole */
			w.len = mark;
			w.full = 0;
			buf[mark] = '\0';
			cut = 1;
		}
	}
	if (cut) {
		w.cap = cap;
		puts_(&w, trunc);
	}
	return w.len;
}

/* The journal fields being built: each is "NAME=value" in buf, NUL after
 * it (so a test can read it as a string), one iovec each. */
struct jfields {
	struct wbuf w;
	struct iovec *iov;
	int k, max;
};

/* Close the field that began at mark: keep it as iov[k], or roll it back
 * when it did not fit the buffer or the iovec array. */
static void field_end(struct jfields *j, size_t mark)
{
	if (j->w.full || j->k >= j->max) {
		j->w.len = mark;
		j->w.full = 0;
		if (mark < j->w.cap)
			j->w.p[mark] = '\0';
		return;
	}
	j->iov[j->k].iov_base = j->w.p + mark;
	j->iov[j->k].iov_len = j->w.len - mark;
	j->k++;
	j->w.len++;	/* past the NUL put() left: len <= cap */
}

int log_fmt_journal(struct iovec *iov, int maxiov, char *buf, size_t cap, int pri,
		    const char *prog, const char *msg, const char *event,
		    const struct log_kv *kv, size_t n)
{
	struct jfields j = { { buf, cap, 0, 0 }, iov, 0, maxiov };
	size_t mark;

	if (cap)
		buf[0] = '\0';
	mark = j.w.len;
	puts_(&j.w, "MESSAGE=");
	puts_(&j.w, msg);
	field_end(&j, mark);
	mark = j.w.len;
	putf(&j.w, "PRIORITY=%d", pri & 7);
	field_end(&j, mark);
	mark = j.w.len;
	puts_(&j.w, "SYSLOG_IDENTIFIER=");
	puts_(&j.w, prog);
	field_end(&j, mark);
	if (!event)
		return j.k;
	mark = j.w.len;
	puts_(&j.w, "TANDEM_EVENT=");
	put_name(&j.w, event, 0);
	field_end(&j, mark);
	if (j.k < 4)		/* no pairs without the event they belong to */
		return j.k;
	for (size_t i = 0; i < n; i++) {
		if (!kv_present(&kv[i]))
			continue;
		mark = j.w.len;
		puts_(&j.w, "TANDEM_");
		put_name(&j.w, kv[i].key, 1);
		put(&j.w, "=", 1);
		put_value(&j.w, &kv[i], 0);
		field_end(&j, mark);
	}
	return j.k;
}
