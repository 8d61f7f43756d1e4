/*
 * Events as log lines (lib/log_fmt.c, lib/log.c): the text form keeps the
 * caller's key order, writes plain values bare and quotes and escapes the
 * rest, so a value with a space, quote, backslash, newline, '=' or a
 * non-ASCII byte stays one value on one line (read back by the parser
 * below, as an operator's script would, it gives the values that went in;
 * random values too); pairs that do not fit are left out whole and
 * marked.  The journal fields are the documented list (MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER, TANDEM_EVENT, TANDEM_<KEY>) with escaped values.
 * log_event() through lib/log.c writes the same line to stderr when stderr
 * is not the journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/log.h"
#include "lib/log_fmt.h"

#define MAXP 8

struct parsed {
	char event[64];
	int n;
	char key[MAXP][64];
	char val[MAXP][512];
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One quoted value starting after its opening quote; *pp ends after the
 * closing one.  -1 on a malformed escape or a missing quote. */
static int unquote(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t o = 0;

	for (; *p && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			p++;
			if (*p == 'n' || *p == 'r' || *p == 't')
				c = *p == 'n' ? '\n' : *p == 'r' ? '\r' : '\t';
			else if (*p == '"' || *p == '\\')
				c = *p;
			else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			} else
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	if (*p != '"')
		return -1;
	out[o] = '\0';
	*pp = p + 1;
	return 0;
}

/* Read a text line back as a consumer would: EVENT (key=value)*.  0 / -1. */
static int parse(const char *line, struct parsed *r)
{
	const char *p = line;
	size_t n;

	memset(r, 0, sizeof(*r));
	n = strcspn(p, " ");
	if (!n || n >= sizeof(r->event))
		return -1;
	memcpy(r->event, p, n);
	for (p += n; *p; r->n++) {
		if (*p++ != ' ' || r->n >= MAXP)
			return -1;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (!n || n >= sizeof(r->key[0]) || p[n] != '=')
			return -1;
		memcpy(r->key[r->n], p, n);
		p += n + 1;
		if (*p == '"') {
			p++;
			if (unquote(&p, r->val[r->n], sizeof(r->val[0])) < 0)
				return -1;
		} else {
			n = strcspn(p, " ");
			if (!n || n >= sizeof(r->val[0]) || memchr(p, '"', n) || memchr(p, '=', n))
				return -1;
			memcpy(r->val[r->n], p, n);
			p += n;
		}
	}
	return 0;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void text_form(void)
{
	char line[512];
	struct parsed r;
	struct log_kv kv[] = { KV_S("node", "n1"), KV_S("reason", "link down"),
			       KV_S("vip", NULL), KV_I("delta", -5),
			       KV_U("flows", 18446744073709551615ull) };

	log_fmt_event(line, sizeof(line), "node_down", kv, 5);
	CHECK(!strcmp(line, "node_down node=n1 reason=\"link down\" delta=-5 flows=18446744073709551615"),
	      "bare, quoted, numbers, a NULL value left out: %s", line);

	struct log_kv odd[] = { KV_S("q", "a\"b"), KV_S("bs", "a\\b"), KV_S("nl", "x\ny=1"),
				KV_S("eq", "a=b"), KV_S("empty", ""), KV_S("user", "jos\xc3\xa9"),
				KV_S("ctl", "\x01\t\x7f") };
	log_fmt_event(line, sizeof(line), "login_failed", odd, 7);
	CHECK(!strcmp(line, "login_failed q=\"a\\\"b\" bs=\"a\\\\b\" nl=\"x\\ny=1\" eq=\"a=b\" "
			    "empty=\"\" user=\"jos\\xc3\\xa9\" ctl=\"\\x01\\t\\x7f\""),
	      "quotes, backslashes, newline, '=', empty, non-ASCII, control bytes escaped: %s", line);
	CHECK(printable(line), "the line has no control character");
	CHECK(parse(line, &r) == 0 && r.n == 7, "read back: 7 pairs, no forged key (%d)", r.n);
	CHECK(!strcmp(r.key[2], "nl") && !strcmp(r.val[2], "x\ny=1") &&
	      !strcmp(r.key[3], "eq") && !strcmp(r.val[3], "a=b") && !strcmp(r.val[0], "a\"b"),
	      "the newline and '=' values come back as they went in");

	struct log_kv forge[] = { KV_S("user", "bob\" ok=1 x=\""), KV_S("addr", "1.2.3.4") };
	log_fmt_event(line, sizeof(line), "login_failed", forge, 2);
	CHECK(parse(line, &r) == 0 && r.n == 2 && !strcmp(r.key[1], "addr") &&
	      !strcmp(r.val[0], "bob\" ok=1 x=\""),
	      "a value cannot close its quotes and add a key: %s", line);

	struct log_kv badkey[] = { KV_S("Bad Key", "v") };
	log_fmt_event(line, sizeof(line), "Ev-1", badkey, 1);
	CHECK(!strcmp(line, "_v_1 _ad__ey=v"), "names outside [a-z0-9_] become '_': %s", line);
}

static void truncation(void)
{
	char line[LOG_LINE_MIN], big[300];
	struct parsed r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct log_kv kv[] = { KV_S("node", "n1"), KV_S("big", big), KV_S("peer", "n2") };
	size_t n = log_fmt_event(line, sizeof(line), "handoff_out", kv, 3);
	CHECK(n == strlen(line) && n < sizeof(line), "the line fits its buffer (%zu)", n);
	CHECK(!strcmp(line, "handoff_out node=n1 peer=n2 truncated=yes"),
	      "a pair that does not fit is left out whole and marked: %s", line);
	CHECK(parse(line, &r) == 0 && r.n == 3, "and the line still reads back");
}

/* Random values, every byte but NUL: what goes in comes back out. */
static void random_round_trip(void)
{
	char line[LOG_EVENT_NAME_MAX + MAXP * 600], vals[4][200];
	static const char *keys[] = { "a", "node", "reason", "b_2" };
	struct parsed r;
	int bad = 0, rounds = 3000;

	srand(7);
	for (int i = 0; i < rounds && !bad; i++) {
		struct log_kv kv[4];
		int n = 1 + rand() % 4;
		for (int k = 0; k < n; k++) {
			int len = rand() % (int)sizeof(vals[0]);
			for (int b = 0; b < len; b++)
				vals[k][b] = (char)(1 + rand() % 255);
			vals[k][len] = '\0';
			kv[k] = (struct log_kv)KV_S(keys[k], vals[k]);
		}
		log_fmt_event(line, sizeof(line), "ev", kv, (size_t)n);
		if (!printable(line) || parse(line, &r) < 0 || r.n != n)
			bad = 1;
		for (int k = 0; k < n && !bad; k++)
			bad = strcmp(r.key[k], keys[k]) || strcmp(r.val[k], vals[k]);
		if (bad)
			printf("# round %d: %s\n", i, line);
	}
	CHECK(!bad, "%d random events read back exactly", rounds);
}

static void journal_fields(void)
{
	struct iovec iov[16];
	char buf[1024];
	struct log_kv kv[] = { KV_S("node", "n1"), KV_S("vip", NULL),
			       KV_S("reason", "say \"no\"\nnow\\"), KV_U("flows", 3),
			       KV_S("user", "jos\xc3\xa9") };
	const char *want[] = { "MESSAGE=node_down node=n1", "PRIORITY=5",
			       "SYSLOG_IDENTIFIER=tandem-lbd", "TANDEM_EVENT=node_down",
			       "TANDEM_NODE=n1", "TANDEM_REASON=say \"no\"\\nnow\\\\",
			       "TANDEM_FLOWS=3", "TANDEM_USER=jos\\xc3\\xa9" };
	int k = log_fmt_journal(iov, 16, buf, sizeof(buf), LOG_NOTICE, "tandem-lbd",
				"node_down node=n1", "node_down", kv, 5);
	int same = k == 8;

	for (int i = 0; same && i < k; i++)
		same = iov[i].iov_len == strlen(want[i]) &&
		       !memcmp(iov[i].iov_base, want[i], iov[i].iov_len);
	CHECK(same, "event fields: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, TANDEM_EVENT, "
		    "TANDEM_<KEY> in order, values escaped, not quoted (%d fields)", k);

	k = log_fmt_journal(iov, 16, buf, sizeof(buf), LOG_WARNING, "tandem-nasd",
			    "free text", NULL, NULL, 0);
	CHECK(k == 3 && !strcmp(iov[1].iov_base, "PRIORITY=4"),
	      "a free-text line: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER (%d)", k);

	k = log_fmt_journal(iov, 6, buf, sizeof(buf), LOG_NOTICE, "p", "m", "ev", kv, 5);
	CHECK(k == 6 && !strcmp(iov[5].iov_base, "TANDEM_REASON=say \"no\"\\nnow\\\\"),
	      "fields past the iovec array are left out (%d)", k);

	k = log_fmt_journal(iov, 16, buf, 60, LOG_NOTICE, "p", "m", "node_down", kv, 5);
	same = k >= 3;
	for (int i = 0; same && i < k; i++)
		same = memchr(iov[i].iov_base, '=', iov[i].iov_len) &&
		       (char *)iov[i].iov_base + iov[i].iov_len <= buf + 60;
	CHECK(same && !strcmp(iov[0].iov_base, "MESSAGE=m") && k == 3,
	      "TANDEM_EVENT past the buffer: no TANDEM_* field at all, the first three kept (%d)", k);

	k = log_fmt_journal(iov, 16, buf, 80, LOG_NOTICE, "p", "m", "node_down", kv, 5);
	same = k == 5 && !strcmp(iov[3].iov_base, "TANDEM_EVENT=node_down") &&
	       !strcmp(iov[4].iov_base, "TANDEM_NODE=n1");
	CHECK(same, "pairs past the buffer are left out whole, the ones before kept (%d)", k);
}

/* log_event() through lib/log.c, stderr a file and not the journal. */
static void through_log(void)
{
	char path[] = "/tmp/test_log_fmt.XXXXXX", got[512] = "";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	FILE *f;

	if (fd < 0 || saved < 0)
		return;
	setenv("JOURNAL_STREAM", "1:1", 1);	/* someone else's stream */
	dup2(fd, STDERR_FILENO);
	log_init("test_log_fmt", 0, 0);
	log_event(LOG_NOTICE, "node_down", KV_S("node", "n1"), KV_S("reason", "link down"));
	log_event(LOG_DEBUG, "not_shown", KV_S("node", "n1"));
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	if (!fgets(got, sizeof(got), f))
		got[0] = '\0';
	CHECK(strstr(got, " test_log_fmt: node_down node=n1 reason=\"link down\"\n") != NULL,
	      "log_event writes the line to stderr: %s", got);
	CHECK(!fgets(got, sizeof(got), f), "a LOG_DEBUG event only with verbose");
	fclose(f);
	unlink(path);
}

int main(void)
{
	text_form();
	truncation();
	random_round_trip();
	journal_fields();
	through_log();
	return check_done();
}
