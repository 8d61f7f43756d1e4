#include "format.h"

#include <stdarg.h>
#include <stdnoreturn.h>
#include <stdlib.h>
#include <string.h>

/*
 * n below `exact` is printed as it is, with units[0] ("9999", "1023B").
 * From there on it is scaled by base until it fits 3 digits and printed with
 * the unit: one decimal below 10 ("1.2M"), none from 10 on ("12M", "345M").
 * Values that would print with 4 digits go up a unit (999.7k -> "1.0M",
 * 1010KiB -> "1.0MiB").
 */
static char *human(char *buf, size_t len, uint64_t n, uint64_t exact, double base,
		   const char *const *units, int nunits)
{
	double v = (double)n;
	int i = 0;

	if (n < exact) {
		snprintf(buf, len, "%llu%s", (unsigned long long)n, units[0]);
		return buf;
	}
	while (v >= base && i < nunits - 1) {
		v /= base;
		i++;
	}
	if (v >= 999.5 && i < nunits - 1) {	/* "1000k", "1010KiB": 4 digits */
		v /= base;
		i++;
	}
	if (v < 9.95)
		snprintf(buf, len, "%.1f%s", v, units[i]);
	else
		snprintf(buf, len, "%.0f%s", v, units[i]);
	return buf;
}

char *fmt_count(char *buf, size_t len, uint64_t n)
{
	static const char *const u[] = { "", "k", "M", "G", "T", "P", "E" };

	return human(buf, len, n, 10000, 1000.0, u, sizeof(u) / sizeof(u[0]));
}

char *fmt_bytes(char *buf, size_t len, uint64_t n)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

	return human(buf, len, n, 1024, 1024.0, u, sizeof(u) / sizeof(u[0]));
}

char *fmt_age_ms(char *buf, size_t len, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

char *fmt_uptime(char *buf, size_t len, uint64_t s)
{
	unsigned long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;

	if (d)
		snprintf(buf, len, "%llud %02llu:%02llu:%02llu", d, h, m,
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%02llu:%02llu:%02llu", h, m, (unsigned long long)(s % 60));
	return buf;
}

char *fmt_hostport(char *buf, size_t len, const char *addr, long port)
{
	if (!addr)
		snprintf(buf, len, "%s", FMT_MISSING);
	else if (port < 0)
		snprintf(buf, len, "%s", addr);
	else if (strchr(addr, ':'))
		snprintf(buf, len, "[%s]:%ld", addr, port);
	else
		snprintf(buf, len, "%s:%ld", addr, port);
	return buf;
}

int j_u64(const json_t *o, const char *key, uint64_t *v)
{
	const json_t *x = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (json_is_integer(x) && json_integer_value(x) >= 0) {
		*v = (uint64_t)json_integer_value(x);
		return 0;
	}
	/* A counter beyond 2^63 would arrive as a real; accept it. */
	if (json_is_real(x) && json_real_value(x) >= 0) {
		*v = (uint64_t)json_real_value(x);
		return 0;
	}
	return -1;
}

char *j_text(char *buf, size_t len, const json_t *o, const char *key)
{
	const json_t *x = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (json_is_string(x) && json_string_length(x) > 0)
		snprintf(buf, len, "%s", json_string_value(x));
	else if (json_is_integer(x))
		snprintf(buf, len, "%lld", (long long)json_integer_value(x));
	else if (json_is_boolean(x))
		snprintf(buf, len, "%s", json_is_true(x) ? "yes" : "no");
	else
		snprintf(buf, len, "%s", FMT_MISSING);
	return buf;
}

/* Tables: rows of strdup'ed cells, nrows * ncols, NULL = missing. */
struct table {
	const struct col *cols;
	int ncols;
	int cur;		/* cells added to the last row */
	size_t nrows, cap;
	char **cells;
};

/* Out of memory in a one-shot CLI: give up.  (Not fatalx(): this module
 * stays free of lib/ so a unit test can link it alone.) */
static noreturn void oom(void)
{
	fputs("tandemctl: out of memory\n", stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		oom();
	return p;
}

struct table *table_new(const struct col *cols, int n)
{
	struct table *t = xrealloc(NULL, sizeof(*t));

	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = n;
	return t;
}

void table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
	}
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof(char *));
	t->nrows++;
	t->cur = 0;
}

void table_cell(struct table *t, const char *s)
{
	if (!t->nrows || t->cur >= t->ncols)
		return;
	if (s) {
		char *c = strdup(s);
		if (!c)
			oom();
		t->cells[(t->nrows - 1) * t->ncols + t->cur] = c;
	}
	t->cur++;
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	table_cell(t, s);
	free(s);
}

/* Width on a terminal: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static const char *cell_at(const struct table *t, size_t r, int c)
{
	const char *s = t->cells[r * t->ncols + c];

	return s ? s : FMT_MISSING;
}

static void print_line(const struct table *t, const size_t *width, FILE *f,
		       const char *(*get)(const struct table *, size_t, int), size_t r)
{
	for (int c = 0; c < t->ncols; c++) {
		const char *s = get(t, r, c);
		size_t pad = width[c] - text_width(s);
		int last = c == t->ncols - 1;

		if (c)
			fputs("  ", f);
		if (t->cols[c].right)
			fprintf(f, "%*s%s", (int)pad, "", s);
		else
			fprintf(f, "%s%*s", s, last ? 0 : (int)pad, "");
	}
	fputc('\n', f);
}

static const char *header_at(const struct table *t, size_t r, int c)
{
	(void)r;
	return t->cols[c].name;
}

void table_print(const struct table *t, FILE *f)
{
	size_t *width = xrealloc(NULL, t->ncols * sizeof(size_t));

	for (int c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->cols[c].name);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(cell_at(t, r, c));
			if (w > width[c])
				width[c] = w;
		}
	}
	print_line(t, width, f, header_at, 0);
	for (size_t r = 0; r < t->nrows; r++)
		print_line(t, width, f, cell_at, r);
	free(width);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
