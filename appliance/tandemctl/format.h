/*
 * format.h - human output for tandemctl: text tables and number/time/address
 * formatting.  Everything here is pure (no I/O except table_print), so the
 * helpers can be unit-tested on their own.
 *
 * Buffer convention: fmt_*() write a NUL-terminated string of at most len-1
 * bytes into buf (truncating if needed) and return buf, so they can be used
 * inline as printf arguments.
 */
#ifndef TANDEMCTL_FORMAT_H
#define TANDEMCTL_FORMAT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Shown for any value the daemon did not send (or sent with a wrong type). */
#define FMT_MISSING "-"

/* Room for any fmt_*() result, including "[<IPv6>]:65535". */
#define FMT_BUFLEN 96

/* Packet/flow counts: exact below 10000, then SI units with 2-3 significant
 * digits: 12345 -> "12k", 1234567 -> "1.2M", 3.4e9 -> "3.4G". */
char *fmt_count(char *buf, size_t len, uint64_t n);

/* Byte counts: exact with "B" below 1024, then binary units:
 * 1536 -> "1.5KiB", 3650722201 -> "3.4GiB". */
char *fmt_bytes(char *buf, size_t len, uint64_t n);

/* An age or short interval, two units at most: "850ms", "12s", "3m04s",
 * "2h05m", "3d04h". */
char *fmt_age_ms(char *buf, size_t len, uint64_t ms);

/* An uptime: "HH:MM:SS", or "Nd HH:MM:SS" from one day on. */
char *fmt_uptime(char *buf, size_t len, uint64_t s);

/* "addr:port", "[addr]:port" when addr contains ':' (IPv6) (the form
 * taddr_parse_endpoint() reads back); port < 0 means
 * no port (the address alone, without brackets).  addr NULL -> "-". */
char *fmt_hostport(char *buf, size_t len, const char *addr, long port);

/*
 * Tolerant readers of a reply object (o may be NULL or not an object):
 * j_u64 returns 0 and sets *v when o[key] is a non-negative number, else -1;
 * j_text renders o[key] as text (string as is, integer, true/false as
 * "yes"/"no") or FMT_MISSING, into buf.
 */
int j_u64(const json_t *o, const char *key, uint64_t *v);
char *j_text(char *buf, size_t len, const json_t *o, const char *key);

/* Column description: header text and whether the column is right-aligned
 * (numbers are). */
struct col {
	const char *name;
	int right;
};

struct table;

/* A table with n columns described by cols (not copied: it must outlive the
 * table).  Never returns NULL: out of memory exits (1). */
struct table *table_new(const struct col *cols, int n);
/* Start a new row; cells are then added left to right.  Cells not added
 * print as FMT_MISSING; cells beyond the last column are ignored. */
void table_row(struct table *t);
/* Add a cell (copied); NULL means FMT_MISSING. */
void table_cell(struct table *t, const char *s);
void table_cellf(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print header and rows, columns two spaces apart, each as wide as its
 * widest entry; no trailing blanks. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
