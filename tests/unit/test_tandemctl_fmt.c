/*
 * test_tandemctl_fmt - tandemctl's pure formatting helpers
 * (appliance/tandemctl/format.h): humanised counts, ages, host:port, tables.
 * Exit 0 when every check passes, 1 otherwise (each failure is printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/tandemctl/format.h"

static int failures;

static void expect(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want)) {
		fprintf(stderr, "FAIL %s: got \"%s\", want \"%s\"\n", what, got, want);
		failures++;
	}
}

static void test_count(void)
{
	static const struct { uint64_t n; const char *s; } c[] = {
		{ 0, "0" }, { 9999, "9999" }, { 10000, "10k" }, { 12345, "12k" },
		{ 999499, "999k" }, { 999700, "1.0M" }, { 1234567, "1.2M" },
		{ 3400000000ULL, "3.4G" }, { UINT64_MAX, "18E" },
	};
	char b[FMT_BUFLEN];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		expect("fmt_count", fmt_count(b, sizeof(b), c[i].n), c[i].s);
}

static void test_bytes(void)
{
	static const struct { uint64_t n; const char *s; } c[] = {
		{ 0, "0B" }, { 1023, "1023B" }, { 1024, "1.0KiB" }, { 1536, "1.5KiB" },
		{ 123456, "121KiB" }, { 1023 * 1024, "1.0MiB" },
		{ 3650722201ULL, "3.4GiB" }, { 5ULL << 40, "5.0TiB" },
	};
	char b[FMT_BUFLEN];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		expect("fmt_bytes", fmt_bytes(b, sizeof(b), c[i].n), c[i].s);
}

static void test_time(void)
{
	char b[FMT_BUFLEN];

	expect("age", fmt_age_ms(b, sizeof(b), 850), "850ms");
	expect("age", fmt_age_ms(b, sizeof(b), 12999), "12s");
	expect("age", fmt_age_ms(b, sizeof(b), 184000), "3m04s");
	expect("age", fmt_age_ms(b, sizeof(b), 7500000), "2h05m");
	expect("age", fmt_age_ms(b, sizeof(b), 273600000), "3d04h");
	expect("uptime", fmt_uptime(b, sizeof(b), 59), "00:00:59");
	expect("uptime", fmt_uptime(b, sizeof(b), 93784), "1d 02:03:04");
}

static void test_hostport(void)
{
	char b[FMT_BUFLEN];

	expect("hostport v4", fmt_hostport(b, sizeof(b), "10.0.0.1", 80), "10.0.0.1:80");
	expect("hostport v6", fmt_hostport(b, sizeof(b), "fd00::1", 443), "[fd00::1]:443");
	expect("hostport no port", fmt_hostport(b, sizeof(b), "fd00::1", -1), "fd00::1");
	expect("hostport missing", fmt_hostport(b, sizeof(b), NULL, 80), "-");
}

static void test_json(void)
{
	json_t *o = json_pack("{s:i, s:s, s:b, s:i, s:f}", "n", 42, "s", "x", "b", 1,
			      "neg", -1, "big", 1e19);
	char b[FMT_BUFLEN];
	uint64_t v = 0;

	expect("j_text int", j_text(b, sizeof(b), o, "n"), "42");
	expect("j_text str", j_text(b, sizeof(b), o, "s"), "x");
	expect("j_text bool", j_text(b, sizeof(b), o, "b"), "yes");
	expect("j_text missing", j_text(b, sizeof(b), o, "nope"), "-");
	expect("j_text not object", j_text(b, sizeof(b), NULL, "n"), "-");
	if (j_u64(o, "n", &v) || v != 42 || j_u64(o, "neg", &v) == 0 ||
	    j_u64(o, "s", &v) == 0 || j_u64(o, "big", &v) || v != 10000000000000000000ULL) {
		fprintf(stderr, "FAIL j_u64\n");
		failures++;
	}
	json_decref(o);
}

static void test_table(void)
{
	static const struct col cols[] = { { "NAME", 0 }, { "N", 1 }, { "LAST", 0 } };
	struct table *t = table_new(cols, 3);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	table_row(t);
	table_cell(t, "a");
	table_cellf(t, "%d", 12345);
	table_cell(t, "x");
	table_row(t);
	table_cell(t, "longer");
	table_cell(t, NULL);	/* missing, LAST not added: both "-" */
	table_print(t, f);
	fclose(f);
	expect("table", out,
	       "NAME        N  LAST\n"
	       "a       12345  x\n"
	       "longer      -  -\n");
	free(out);
	table_free(t);
}

int main(void)
{
	test_count();
	test_bytes();
	test_time();
	test_hostport();
	test_json();
	test_table();
	if (failures) {
		fprintf(stderr, "test_tandemctl_fmt: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_tandemctl_fmt: ok\n");
	return 0;
}
