/*
 * prom.h - the Prometheus text exposition format, version 0.0.4: the one
 * writer of every /metrics page (tandem-webd on the switch, tandem-nasd on
 * the storage nodes; doc/metrics.md lists the families).
 *
 * A page is a list of metric families.  A family is declared once (name,
 * type, help: prom_declare, or a const table through prom_declare_all) and
 * then gets samples in any order relative to the other families: the writer
 * keeps each family's samples together and prints the families in the order
 * they were declared, each with its "# HELP" and "# TYPE" line exactly once.
 * So a caller may walk its nodes once and feed five families on the way.
 *
 * Checked here, so that no caller can build a page Prometheus would refuse:
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 *     without the reserved "__" prefix, and no "le" but the histogram's own;
 *   - counters end in "_total"; gauges and histograms do not end in
 *     "_total", "_count", "_sum" or "_bucket" (the suffixes the format and
 *     promtool reserve);
 *   - a sample names a declared family of the right kind, and one label set
 *     appears once per family (a repeated series is an error);
 *   - counters are not negative or NaN; histogram bounds increase, their
 *     cumulative counts do not decrease and do not exceed the count.
 * Label values must be UTF-8 (as Prometheus wants) and are escaped
 * (backslash, double quote, newline: \\ \" \n),
 * HELP text too (backslash, newline).  Integers print exactly (uint64_t);
 * doubles as the shortest text that reads back to the same double, or
 * NaN, +Inf, -Inf.
 *
 * Errors are sticky: the first one is kept (prom_error()) and later calls
 * do nothing, so a caller makes all its calls and checks once, at
 * prom_text().  Return convention: 0, or -1 (the message in prom_error()).
 * Memory: struct prom owns everything it returns; prom_free() releases it.
 */
#ifndef TANDEM_PROM_H
#define TANDEM_PROM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_desc {
	const char *name;
	enum prom_type type;
	const char *help;
};

struct prom_family;

struct prom {
	struct prom_family *fam;	/* declared families, in order */
	size_t nfam, capfam;
	char *out;			/* the page, once prom_text() built it */
	size_t outlen;
	int failed;
	char err[200];
};

/* Labels: NULL (none) or a NULL-terminated list of name, value pairs:
 * PROM_L("node", "n1", "service", "tcp/80"). */
#define PROM_L(...) ((const char *const[]){ __VA_ARGS__, NULL })

void prom_init(struct prom *p);
void prom_free(struct prom *p);

/* Declare a family.  Declaring a name again is an error. */
int prom_declare(struct prom *p, const char *name, enum prom_type type, const char *help);
/* Every family of a const table of n descriptors, in table order. */
int prom_declare_all(struct prom *p, const struct prom_desc *d, size_t n);

/* One sample of counter or gauge `name`. */
int prom_u64(struct prom *p, const char *name, const char *const *lbl, uint64_t v);
int prom_double(struct prom *p, const char *name, const char *const *lbl, double v);

/* One histogram (a series of `name`): n upper bounds le[] (increasing,
 * finite; the +Inf bucket is added: it is count), cum[] the cumulative
 * count of observations <= le[i], count and sum of all observations. */
struct prom_hist {
	size_t n;
	const double *le;
	const uint64_t *cum;
	uint64_t count;
	double sum;
};
int prom_histogram(struct prom *p, const char *name, const char *const *lbl,
		   const struct prom_hist *h);

/*
 * A histogram in the control sockets' JSON form (doc/control.md,
 * "Histograms"): {"le_us": [upper bounds, µs], "counts": [cumulative
 * counts], "count": N, "sum_us": S}, written in seconds.  At most 64
 * bounds.  Malformed input (missing or ill-typed members, arrays of
 * different lengths, bounds not increasing, counts decreasing or above
 * count) is an error naming what is wrong.
 */
int prom_histogram_json(struct prom *p, const char *name, const char *const *lbl,
			const json_t *h);

/* The page: every declared family that got samples (HELP, TYPE, its
 * samples), in declaration order; a family without samples is left out.
 * NULL after an error.  The text stays p's (valid until prom_free). */
const char *prom_text(struct prom *p, size_t *len);

/* The first error's message, "" when there was none. */
const char *prom_error(const struct prom *p);

/* The format's Content-Type. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
