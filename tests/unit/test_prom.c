/*
 * test_prom.c - the Prometheus exposition writer (lib/prom.h) and the
 * bearer-token check of the /metrics pages (lib/bearer.h): escaping,
 * family order, HELP/TYPE once per family, the naming rules, histograms
 * (also from the control sockets' JSON form), sticky errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bearer.h"
#include "lib/lat_hist.h"
#include "lib/prom.h"
#include "tests/unit/check.h"

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

static void test_order_and_headers(void)
{
	static const struct prom_desc d[] = {
		{ "t_node_packets_total", PROM_COUNTER, "Packets sent to the node." },
		{ "t_node_up", PROM_GAUGE, "1 when the node is up." },
		{ "t_empty", PROM_GAUGE, "Never gets a sample." },
	};
	struct prom p;
	const char *t;
	size_t len;

	prom_init(&p);
	CHECK(prom_declare_all(&p, d, 3) == 0, "declare a table");
	/* interleaved, as a caller walking its nodes once feeds them */
	prom_u64(&p, "t_node_up", PROM_L("node", "n1"), 1);
	prom_u64(&p, "t_node_packets_total", PROM_L("node", "n1"), 10);
	prom_u64(&p, "t_node_up", PROM_L("node", "n2"), 0);
	prom_u64(&p, "t_node_packets_total", PROM_L("node", "n2"), 18446744073709551615ull);
	t = prom_text(&p, &len);
	CHECK(t && strlen(t) == len, "a page: %s", prom_error(&p));
	if (!t)
		goto out;
	const char *want =
		"# HELP t_node_packets_total Packets sent to the node.\n"
		"# TYPE t_node_packets_total counter\n"
		"t_node_packets_total{node=\"n1\"} 10\n"
		"t_node_packets_total{node=\"n2\"} 18446744073709551615\n"
		"# HELP t_node_up 1 when the node is up.\n"
		"# TYPE t_node_up gauge\n"
		"t_node_up{node=\"n1\"} 1\n"
		"t_node_up{node=\"n2\"} 0\n";
	CHECK(!strcmp(t, want), "families in declaration order, samples together, uint64 exact:\n%s", t);
	CHECK(count(t, "# HELP") == 2 && count(t, "# TYPE") == 2, "HELP and TYPE once per family");
	CHECK(!strstr(t, "t_empty"), "a family without samples is left out");
out:
	prom_free(&p);
}

static void test_escaping(void)
{
	struct prom p;
	const char *t;

	prom_init(&p);
	prom_declare(&p, "t_info", PROM_GAUGE, "Help with a \\ backslash\nand a newline \"quoted\".");
	prom_u64(&p, "t_info", PROM_L("a", "q\"uote", "b", "back\\slash", "c", "new\nline"), 1);
	prom_u64(&p, "t_info", PROM_L("a", "", "b", "ünïcode", "c", "{},= #"), 2);
	t = prom_text(&p, NULL);
	CHECK(t && strstr(t, "# HELP t_info Help with a \\\\ backslash\\nand a newline \"quoted\".\n"),
	      "HELP: backslash and newline escaped, quotes kept");
	CHECK(t && strstr(t, "t_info{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 1\n"),
	      "label values: \\\" \\\\ \\n");
	CHECK(t && strstr(t, "t_info{a=\"\",b=\"ünïcode\",c=\"{},= #\"} 2\n"),
	      "empty, UTF-8 and punctuation pass as they are");
	CHECK(t && count(t, "\n") == 4, "one sample per line (no raw newline inside a line)");
	prom_free(&p);
}

static void test_values(void)
{
	struct prom p;
	const char *t;

	prom_init(&p);
	prom_declare(&p, "t_g", PROM_GAUGE, "g");
	prom_double(&p, "t_g", PROM_L("v", "a"), 0.1);
	prom_double(&p, "t_g", PROM_L("v", "b"), 1.0 / 3.0);
	prom_double(&p, "t_g", PROM_L("v", "c"), NAN);
	prom_double(&p, "t_g", PROM_L("v", "d"), -INFINITY);
	prom_double(&p, "t_g", PROM_L("v", "e"), 2.5e-7);
	prom_double(&p, "t_g", NULL, 12345678.0);
	t = prom_text(&p, NULL);
	CHECK(t && strstr(t, "t_g{v=\"a\"} 0.1\n") && strstr(t, "t_g{v=\"b\"} 0.3333333333333333\n"),
	      "doubles: the shortest text that reads back");
	CHECK(t && strstr(t, "t_g{v=\"c\"} NaN\n") && strstr(t, "t_g{v=\"d\"} -Inf\n") &&
	      strstr(t, "t_g{v=\"e\"} 2.5e-07\n") && strstr(t, "\nt_g 12345678\n"),
	      "NaN, -Inf, exponent, no labels: no braces");
	prom_free(&p);
}

/* Each case must fail, with a message, and leave prom_text() NULL. */
static void test_refusals(void)
{
	static const struct {
		const char *name;
		enum prom_type type;
		const char *label, *what;
	} bad[] = {
		{ "t_packets", PROM_COUNTER, NULL, "a counter without _total" },
		{ "t_up_total", PROM_GAUGE, NULL, "a gauge with _total" },
		{ "t_lat_count", PROM_HISTOGRAM, NULL, "a histogram ending in _count" },
		{ "9lives", PROM_GAUGE, NULL, "a name starting with a digit" },
		{ "t-dash", PROM_GAUGE, NULL, "a dash in a name" },
		{ "t_ok", PROM_GAUGE, "__name", "a label with the reserved __ prefix" },
		{ "t_ok", PROM_GAUGE, "le", "le outside a histogram" },
		{ "t_ok", PROM_GAUGE, "bad-label", "a dash in a label name" },
	};
	struct prom p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prom_init(&p);
		prom_declare(&p, bad[i].name, bad[i].type, "help");
		if (bad[i].label)
			prom_u64(&p, bad[i].name, PROM_L(bad[i].label, "x"), 1);
		CHECK(!prom_text(&p, NULL) && prom_error(&p)[0], "refused: %s (%s)", bad[i].what,
		      prom_error(&p));
		prom_free(&p);
	}
	prom_init(&p);
	prom_declare(&p, "t_x_total", PROM_COUNTER, "x");
	prom_declare(&p, "t_x_total", PROM_COUNTER, "x again");
	CHECK(!prom_text(&p, NULL) && strstr(prom_error(&p), "twice"), "a family declared twice");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_x_total", PROM_COUNTER, "x");
	prom_u64(&p, "t_x_total", PROM_L("node", "n1"), 1);
	prom_u64(&p, "t_x_total", PROM_L("node", "n1"), 2);
	CHECK(!prom_text(&p, NULL) && strstr(prom_error(&p), "appears twice"), "a repeated series");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_x_total", PROM_COUNTER, "x");
	prom_u64(&p, "t_y_total", NULL, 1);
	prom_double(&p, "t_x_total", NULL, -1);	/* after the first error: ignored */
	CHECK(!prom_text(&p, NULL) && strstr(prom_error(&p), "t_y_total: no such family"),
	      "an undeclared family; the first error is the one kept");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_x_total", PROM_COUNTER, "x");
	prom_double(&p, "t_x_total", NULL, -1);
	CHECK(!prom_text(&p, NULL), "a negative counter");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_x", PROM_GAUGE, "x");
	prom_u64(&p, "t_x", PROM_L("node", "n1", "node", "n2"), 1);
	CHECK(!prom_text(&p, NULL), "a label given twice");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_x", PROM_GAUGE, "x");
	CHECK(prom_u64(&p, "t_x", (const char *const[]){ "node", NULL }, 1) < 0,
	      "a label without a value");
	prom_free(&p);

	static const char *const bad_utf8[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
						"\xf4\x90\x80\x80" };
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		prom_init(&p);
		prom_declare(&p, "t_x", PROM_GAUGE, "x");
		CHECK(prom_u64(&p, "t_x", PROM_L("v", bad_utf8[i]), 1) < 0 &&
		      strstr(prom_error(&p), "UTF-8"), "a label value that is not UTF-8 (case %zu)", i);
		prom_free(&p);
	}
}

/* lib/lat_hist: fixed buckets, cumulative in JSON, and back through the writer. */
static void test_lat_hist(void)
{
	struct lat_hist h = { { 0 }, 0, 0 };
	struct prom p;
	const char *t;

	lat_hist_add(&h, 50);		/* <= 100 µs */
	lat_hist_add(&h, 100);		/* a bound is inclusive */
	lat_hist_add(&h, 3000);		/* <= 5 ms */
	lat_hist_add(&h, 20000000);	/* above 10 s: +Inf only */
	json_t *j = lat_hist_json(&h);
	CHECK(j && json_array_size(json_object_get(j, "le_us")) == LAT_HIST_N &&
	      json_integer_value(json_array_get(json_object_get(j, "counts"), 0)) == 2 &&
	      json_integer_value(json_array_get(json_object_get(j, "counts"), 5)) == 3 &&
	      json_integer_value(json_array_get(json_object_get(j, "counts"), LAT_HIST_N - 1)) == 3 &&
	      json_integer_value(json_object_get(j, "count")) == 4 &&
	      json_integer_value(json_object_get(j, "sum_us")) == 20003150, "lat_hist JSON");
	prom_init(&p);
	prom_declare(&p, "t_ho_seconds", PROM_HISTOGRAM, "h");
	prom_histogram_json(&p, "t_ho_seconds", NULL, j);
	t = prom_text(&p, NULL);
	CHECK(t && strstr(t, "t_ho_seconds_bucket{le=\"0.0001\"} 2\n") &&
	      strstr(t, "t_ho_seconds_bucket{le=\"10\"} 3\n") &&
	      strstr(t, "t_ho_seconds_bucket{le=\"+Inf\"} 4\n") && strstr(t, "t_ho_seconds_sum 20.00315\n"),
	      "lat_hist through prom_histogram_json");
	prom_free(&p);
	json_decref(j);
}

static void test_histogram(void)
{
	static const double le[] = { 0.001, 0.01, 0.1 };
	static const uint64_t cum[] = { 1, 3, 3 }, dec[] = { 2, 1, 3 };
	struct prom p;
	const char *t;

	prom_init(&p);
	prom_declare(&p, "t_lat_seconds", PROM_HISTOGRAM, "Latency.");
	struct prom_hist h = { 3, le, cum, 4, 2.5 };
	CHECK(prom_histogram(&p, "t_lat_seconds", PROM_L("node", "n1"), &h) == 0, "a histogram");
	t = prom_text(&p, NULL);
	const char *want =
		"# HELP t_lat_seconds Latency.\n"
		"# TYPE t_lat_seconds histogram\n"
		"t_lat_seconds_bucket{node=\"n1\",le=\"0.001\"} 1\n"
		"t_lat_seconds_bucket{node=\"n1\",le=\"0.01\"} 3\n"
		"t_lat_seconds_bucket{node=\"n1\",le=\"0.1\"} 3\n"
		"t_lat_seconds_bucket{node=\"n1\",le=\"+Inf\"} 4\n"
		"t_lat_seconds_sum{node=\"n1\"} 2.5\n"
		"t_lat_seconds_count{node=\"n1\"} 4\n";
	CHECK(t && !strcmp(t, want), "buckets with le last, +Inf = count, _sum, _count:\n%s", t ? t : "");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_lat_seconds", PROM_HISTOGRAM, "Latency.");
	struct prom_hist h2 = { 3, le, dec, 4, 1 };
	CHECK(prom_histogram(&p, "t_lat_seconds", NULL, &h2) < 0, "decreasing cumulative counts refused");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_lat_seconds", PROM_HISTOGRAM, "Latency.");
	struct prom_hist h3 = { 3, le, cum, 2, 1 };
	CHECK(prom_histogram(&p, "t_lat_seconds", NULL, &h3) < 0, "a bucket above the count refused");
	prom_free(&p);

	prom_init(&p);
	prom_declare(&p, "t_lat_seconds", PROM_HISTOGRAM, "Latency.");
	prom_declare(&p, "t_g", PROM_GAUGE, "g");
	CHECK(prom_u64(&p, "t_lat_seconds", NULL, 1) < 0, "a plain sample of a histogram refused");
	prom_free(&p);
	prom_init(&p);
	prom_declare(&p, "t_g", PROM_GAUGE, "g");
	CHECK(prom_histogram(&p, "t_g", NULL, &h) < 0, "a histogram of a gauge refused");
	prom_free(&p);
}

static void test_histogram_json(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"le_us\": [1000], \"counts\": [1, 2], \"count\": 2, \"sum_us\": 5}",
		"{\"le_us\": [2000, 1000], \"counts\": [1, 2], \"count\": 2, \"sum_us\": 5}",
		"{\"le_us\": [1000], \"counts\": [3], \"count\": 2, \"sum_us\": 5}",
		"{\"le_us\": [1000], \"counts\": [-1], \"count\": 2, \"sum_us\": 5}",
		"{\"le_us\": [\"1\"], \"counts\": [1], \"count\": 2, \"sum_us\": 5}",
		"{\"le_us\": [1000], \"counts\": [1], \"count\": 2}",
		"[1, 2]",
	};
	json_error_t je;
	json_t *j = json_loads("{\"le_us\": [1000, 250000], \"counts\": [2, 5], \"count\": 6, "
			       "\"sum_us\": 1500000}", 0, &je);
	struct prom p;
	const char *t;

	prom_init(&p);
	prom_declare(&p, "t_h_seconds", PROM_HISTOGRAM, "h");
	CHECK(prom_histogram_json(&p, "t_h_seconds", NULL, j) == 0, "the JSON form");
	t = prom_text(&p, NULL);
	CHECK(t && strstr(t, "t_h_seconds_bucket{le=\"0.001\"} 2\n") &&
	      strstr(t, "t_h_seconds_bucket{le=\"0.25\"} 5\n") &&
	      strstr(t, "t_h_seconds_bucket{le=\"+Inf\"} 6\n") && strstr(t, "t_h_seconds_sum 1.5\n") &&
	      strstr(t, "t_h_seconds_count 6\n"), "µs to seconds");
	json_decref(j);
	prom_free(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], 0, &je);
		prom_init(&p);
		prom_declare(&p, "t_h_seconds", PROM_HISTOGRAM, "h");
		CHECK(prom_histogram_json(&p, "t_h_seconds", NULL, j) < 0 && prom_error(&p)[0],
		      "malformed refused: %s (%s)", bad[i], prom_error(&p));
		prom_free(&p);
		json_decref(j);
	}
}

#define TOKEN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void test_bearer(void)
{
	char path[] = "/tmp/test_prom.XXXXXX", err[300];
	uint8_t tok[KEYFILE_MAX];
	size_t tl = 0;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN)) {
		CHECK(0, "token file");
		return;
	}
	close(fd);
	CHECK(bearer_load(path, tok, &tl, err, sizeof(err)) == 0 && tl == 32, "a 0600 token file loads");
	chmod(path, 0640);
	CHECK(bearer_load(path, tok, &tl, err, sizeof(err)) < 0 && strstr(err, "0640"),
	      "mode 0640 refused: %s", err);
	chmod(path, 0600);
	CHECK(bearer_load("/nonexistent/x", tok, &tl, err, sizeof(err)) < 0, "a missing file refused");
	unlink(path);

#define BC(s) bearer_check((s), strlen(s), tok, tl)
	CHECK(bearer_check(NULL, 0, tok, tl) == 401 && BC("") == 401 && BC("Basic dXNlcjpwYXNz") == 401 && BC("Bearer") == 401,
	      "no bearer credentials: 401");
	CHECK(BC("Bearer " TOKEN) == 0 && BC("bearer   " TOKEN) == 0 && BC("BEARER " TOKEN "\r\n") == 0,
	      "the token, scheme in any case, spaces: 0");
	CHECK(BC("Bearer " TOKEN "00") == 403 && BC("Bearer " TOKEN "x") == 403 &&
	      BC("Bearer 0011") == 403 && BC("Bearer ") == 403, "longer, not hex, short, empty: 403");
	CHECK(BC("Bearer 10112233445566778899aabbccddeeff00112233445566778899aabbccddeeff") == 403,
	      "another token: 403");
	CHECK(bearer_check("Bearer " TOKEN, 7 + 10, tok, tl) == 403, "a header cut short: 403");
	CHECK(bearer_check("Bearer 0011\0" TOKEN, 7 + 5 + 64, tok, tl) == 403, "a NUL inside: 403");
#undef BC
}

int main(void)
{
	test_order_and_headers();
	test_escaping();
	test_values();
	test_refusals();
	test_histogram();
	test_histogram_json();
	test_lat_hist();
	test_bearer();
	return check_done();
}
