/*
 * prom.c - the Prometheus text exposition writer (prom.h has the contract).
 *
 * Each family owns a growing buffer of its sample lines; prom_text() joins
 * HELP, TYPE and those lines family by family.  A series is identified by
 * its line up to the value ("name{labels} "), so a repeat is found by
 * comparing line starts: pages are a few hundred lines, a linear search per
 * sample costs nothing that matters at scrape rates.
 */
#include "prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

struct prom_family {
	char *name;
	char *help;
	enum prom_type type;
	struct buf lines;
};

static int fail(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->failed = 1;
	}
	return -1;
}

/* ------------------------------------------------------------ buffers -- */

static int buf_grow(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *n = realloc(b->p, cap);
	if (!n)
		return -1;
	b->p = n;
	b->cap = cap;
	return 0;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* s escaped for a label value (quote 1) or a HELP line (quote 0). */
static int buf_escaped(struct buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		const char *e = NULL;
		if (*s == '\\')
			e = "\\\\";
		else if (*s == '\n')
			e = "\\n";
		else if (*s == '"' && quote)
			e = "\\\"";
		if (e ? buf_str(b, e) < 0 : buf_add(b, s, 1) < 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- checking -- */

/* Is s valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF)?
 * Prometheus refuses a page with any other label value. */
static int utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned c = *s, n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
				   : (c & 0xf8) == 0xf0 ? 3 : 9;
		uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
		if (n == 9)
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

static int name_ok(const char *s, int colon)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* The suffixes a counter must have and the others must not. */
static int reserved_suffix(const char *name)
{
	static const char *const sfx[] = { "_total", "_count", "_sum", "_bucket" };

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (ends_with(name, sfx[i]))
			return 1;
	return 0;
}

static struct prom_family *family(struct prom *p, const char *name)
{
	for (size_t i = 0; i < p->nfam; i++)
		if (!strcmp(p->fam[i].name, name))
			return &p->fam[i];
	return NULL;
}

int prom_declare(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	if (p->failed)
		return -1;
	if (!name_ok(name, 1))
		return fail(p, "metric name \"%.80s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*", name);
	if (type == PROM_COUNTER ? !ends_with(name, "_total") : reserved_suffix(name))
		return fail(p, "%s: %s", name, type == PROM_COUNTER ? "a counter's name ends in _total"
			    : "only a counter's name ends in _total; _count, _sum, _bucket are reserved");
	if (!help || !*help || !utf8_ok(help))
		return fail(p, "%s: no HELP text, or not UTF-8", name);
	if (family(p, name))
		return fail(p, "%s: declared twice", name);
	if (p->nfam == p->capfam) {
		size_t cap = p->capfam ? p->capfam * 2 : 32;
		struct prom_family *f = realloc(p->fam, cap * sizeof(*f));
		if (!f)
			return fail(p, "out of memory");
		p->fam = f;
		p->capfam = cap;
	}
	struct prom_family *f = &p->fam[p->nfam];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->help = strdup(help);
	f->type = type;
	if (!f->name || !f->help) {
		free(f->name);
		free(f->help);
		return fail(p, "out of memory");
	}
	p->nfam++;
	return 0;
}

int prom_declare_all(struct prom *p, const struct prom_desc *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (prom_declare(p, d[i].name, d[i].type, d[i].help) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ samples -- */

/* "name{l1=\"v1\",...}" of a series into b: labels checked and escaped;
 * extra (a histogram's le) goes last.  0 / -1 (p failed). */
static int series(struct prom *p, struct buf *b, const char *name, const char *sfx,
		  const char *const *lbl, const char *le)
{
	if (buf_str(b, name) < 0 || buf_str(b, sfx) < 0)
		return fail(p, "out of memory");
	if ((!lbl || !lbl[0]) && !le)
		return 0;
	int first = 1, rc = buf_str(b, "{");
	for (size_t i = 0; lbl && lbl[i]; i += 2) {
		if (!lbl[i + 1])
			return fail(p, "%s: label \"%.40s\" has no value", name, lbl[i]);
		if (!name_ok(lbl[i], 0) || !strncmp(lbl[i], "__", 2) || !strcmp(lbl[i], "le"))
			return fail(p, "%s: bad label name \"%.40s\"", name, lbl[i]);
		for (size_t j = 0; j < i; j += 2)
			if (!strcmp(lbl[j], lbl[i]))
				return fail(p, "%s: label \"%s\" given twice", name, lbl[i]);
		if (!utf8_ok(lbl[i + 1]))
			return fail(p, "%s: the value of label \"%s\" is not UTF-8", name, lbl[i]);
		rc |= buf_str(b, first ? "" : ",") | buf_str(b, lbl[i]) | buf_str(b, "=\"") |
		      buf_escaped(b, lbl[i + 1], 1) | buf_str(b, "\"");
		first = 0;
	}
	if (le)
		rc |= buf_str(b, first ? "le=\"" : ",le=\"") | buf_str(b, le) | buf_str(b, "\"");
	rc |= buf_str(b, "}");
	return rc ? fail(p, "out of memory") : 0;
}

/* Has family f a line starting with key (a series and its space)? */
static int seen(const struct prom_family *f, const char *key, size_t keylen)
{
	for (size_t at = 0; at < f->lines.len;) {
		const char *nl = memchr(f->lines.p + at, '\n', f->lines.len - at);
		size_t end = nl ? (size_t)(nl - f->lines.p) + 1 : f->lines.len;
		if (end - at > keylen && !memcmp(f->lines.p + at, key, keylen))
			return 1;
		at = end;
	}
	return 0;
}

/* The shortest %g text of v that reads back as v (NaN, +Inf, -Inf by name). */
static void fmt_double(double v, char *out, size_t outlen)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {	/* "10", not "1e+01" (le labels are matched as text) */
		snprintf(out, outlen, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Append one line "series value\n" to f (the series checked for repeats). */
static int add_line(struct prom *p, struct prom_family *f, const char *sfx,
		    const char *const *lbl, const char *le, const char *value)
{
	struct buf s = { 0 };
	int rc = -1;

	if (series(p, &s, f->name, sfx, lbl, le) < 0)
		goto out;
	if (buf_str(&s, " ") < 0) {
		fail(p, "out of memory");
		goto out;
	}
	if (seen(f, s.p, s.len)) {
		fail(p, "%s: the series %.*s appears twice", f->name, (int)(s.len - 1), s.p);
		goto out;
	}
	if (buf_add(&f->lines, s.p, s.len) < 0 || buf_str(&f->lines, value) < 0 ||
	    buf_str(&f->lines, "\n") < 0) {
		fail(p, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(s.p);
	return rc;
}

/* The family a counter or gauge sample goes to, or NULL (p failed). */
static struct prom_family *scalar_family(struct prom *p, const char *name)
{
	struct prom_family *f;

	if (p->failed)
		return NULL;
	f = family(p, name);
	if (!f)
		return fail(p, "%.80s: no such family declared", name), NULL;
	if (f->type == PROM_HISTOGRAM)
		return fail(p, "%s: a histogram takes prom_histogram()", name), NULL;
	return f;
}

int prom_u64(struct prom *p, const char *name, const char *const *lbl, uint64_t v)
{
	struct prom_family *f = scalar_family(p, name);
	char val[32];

	if (!f)
		return -1;
	snprintf(val, sizeof(val), "%" PRIu64, v);
	return add_line(p, f, "", lbl, NULL, val);
}

int prom_double(struct prom *p, const char *name, const char *const *lbl, double v)
{
	struct prom_family *f = scalar_family(p, name);
	char val[40];

	if (!f)
		return -1;
	if (f->type == PROM_COUNTER && (isnan(v) || v < 0))
		return fail(p, "%s: a counter cannot be negative or NaN", name);
	fmt_double(v, val, sizeof(val));
	return add_line(p, f, "", lbl, NULL, val);
}

static int hist_check(struct prom *p, const char *name, const struct prom_hist *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (!isfinite(h->le[i]) || (i && h->le[i] <= h->le[i - 1]))
			return fail(p, "%s: bucket bounds must be finite and increasing", name);
		if ((i && h->cum[i] < h->cum[i - 1]) || h->cum[i] > h->count)
			return fail(p, "%s: cumulative bucket counts must not decrease nor exceed "
				    "the count", name);
	}
	if (isnan(h->sum))
		return fail(p, "%s: the sum is NaN", name);
	return 0;
}

int prom_histogram(struct prom *p, const char *name, const char *const *lbl,
		   const struct prom_hist *h)
{
	struct prom_family *f;
	char le[40], val[40];

	if (p->failed)
		return -1;
	f = family(p, name);
	if (!f || f->type != PROM_HISTOGRAM)
		return fail(p, "%.80s: no such histogram declared", name);
	if (hist_check(p, name, h) < 0)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		fmt_double(h->le[i], le, sizeof(le));
		snprintf(val, sizeof(val), "%" PRIu64, h->cum[i]);
		if (add_line(p, f, "_bucket", lbl, le, val) < 0)
			return -1;
	}
	snprintf(val, sizeof(val), "%" PRIu64, h->count);
	if (add_line(p, f, "_bucket", lbl, "+Inf", val) < 0)
		return -1;
	fmt_double(h->sum, val, sizeof(val));
	if (add_line(p, f, "_sum", lbl, NULL, val) < 0)
		return -1;
	snprintf(val, sizeof(val), "%" PRIu64, h->count);
	return add_line(p, f, "_count", lbl, NULL, val);
}

#define PROM_JSON_BUCKETS 64

/* A non-negative integer member of o (json_int_t), or -1. */
static json_int_t json_count(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

int prom_histogram_json(struct prom *p, const char *name, const char *const *lbl,
			const json_t *h)
{
	const json_t *le = json_object_get(h, "le_us"), *cnt = json_object_get(h, "counts");
	double bounds[PROM_JSON_BUCKETS];
	uint64_t cum[PROM_JSON_BUCKETS];
	json_int_t count = json_count(json_object_get(h, "count"));
	json_int_t sum = json_count(json_object_get(h, "sum_us"));
	size_t n = json_array_size(le);

	if (p->failed)
		return -1;
	if (!json_is_array(le) || !json_is_array(cnt) || json_array_size(cnt) != n ||
	    n > PROM_JSON_BUCKETS || count < 0 || sum < 0)
		return fail(p, "%s: want {\"le_us\": [...], \"counts\": [...] (as many, at most %d), "
			    "\"count\": N, \"sum_us\": N}", name, PROM_JSON_BUCKETS);
	for (size_t i = 0; i < n; i++) {
		json_int_t b = json_count(json_array_get(le, i)), c = json_count(json_array_get(cnt, i));
		if (b < 0 || c < 0)
			return fail(p, "%s: le_us[%zu] and counts[%zu] must be non-negative integers",
				    name, i, i);
		bounds[i] = (double)b / 1e6;
		cum[i] = (uint64_t)c;
	}
	struct prom_hist ph = { n, bounds, cum, (uint64_t)count, (double)sum / 1e6 };
	return prom_histogram(p, name, lbl, &ph);
}

/* --------------------------------------------------------------- page -- */

static const char *type_name(enum prom_type t)
{
	return t == PROM_COUNTER ? "counter" : t == PROM_GAUGE ? "gauge" : "histogram";
}

const char *prom_text(struct prom *p, size_t *len)
{
	struct buf b = { 0 };
	int rc = 0;

	if (p->failed)
		return NULL;
	free(p->out);
	p->out = NULL;
	for (size_t i = 0; i < p->nfam; i++) {
		const struct prom_family *f = &p->fam[i];
		if (!f->lines.len)	/* nothing to say (e.g. syncd absent) */
			continue;
		rc |= buf_str(&b, "# HELP ") | buf_str(&b, f->name) | buf_str(&b, " ") |
		      buf_escaped(&b, f->help, 0) | buf_str(&b, "\n# TYPE ") | buf_str(&b, f->name) |
		      buf_str(&b, " ") | buf_str(&b, type_name(f->type)) | buf_str(&b, "\n") |
		      buf_add(&b, f->lines.p, f->lines.len);
	}
	if (rc || (!b.p && buf_str(&b, "") < 0)) {
		free(b.p);
		fail(p, "out of memory");
		return NULL;
	}
	p->out = b.p;
	p->outlen = b.len;
	if (len)
		*len = b.len;
	return p->out;
}

const char *prom_error(const struct prom *p)
{
	return p->failed ? p->err : "";
}

void prom_init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

void prom_free(struct prom *p)
{
	for (size_t i = 0; i < p->nfam; i++) {
		free(p->fam[i].name);
		free(p->fam[i].help);
		free(p->fam[i].lines.p);
	}
	free(p->fam);
	free(p->out);
	prom_init(p);
}
