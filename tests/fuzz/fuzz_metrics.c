/* libFuzzer target: what the /metrics endpoints parse from outside must
 * never crash or leak, and a page they produce must keep the exposition
 * format's shape.  The first byte picks the parser; the rest is the input:
 *   0  the Authorization header against a token (lib/bearer.c)
 *   1  the "metrics" section of webd.json (mgmt-web/metrics_conf.c)
 *   2  a control-socket histogram (lib/prom.c, prom_histogram_json)
 *   3  a label value and HELP text (lib/prom.c escaping)
 *   4  lbd's stats reply as the switch's page sees it (mgmt-web/metrics_page.c)
 *   5  tandem-nasd's status reply as the node's page sees it (storage/metrics_page.c)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bearer.h"
#include "lib/jsonconf.h"
#include "lib/prom.h"
#include "mgmt-web/metrics.h"
#include "storage/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t token[32] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

/* Every line of a page is a comment or "series value" with its quotes
 * closed (each '"' not escaped opens or closes a label value), and the page
 * ends in a newline. */
static void page_shape(const char *t, size_t len)
{
	if (!t)
		return;
	if (len && t[len - 1] != '\n')
		abort();
	for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
		const char *end = strchr(l, '\n');
		int in = 0;
		if (*l == '#')
			continue;
		for (const char *c = l; c < end; c++) {
			if (in && *c == '\\')
				c++;
			else if (*c == '"')
				in = !in;
		}
		if (in || !memchr(l, ' ', (size_t)(end - l)))
			abort();
	}
}

static void json_page(const char *s, size_t n, int which)
{
	json_error_t je;
	json_t *j = json_loadb(s, n, 0, &je);
	struct metrics_webd_figs wf = { { 1, 2, 3, 4 }, 5, 6, 7 };
	struct prom p;
	size_t len = 0;

	prom_init(&p);
	if (which == 4 && metrics_page(&p, j, j, j, 1, &wf) == 0)
		page_shape(prom_text(&p, &len), len);
	if (which == 5 && nasd_metrics_page(&p, j) == 0)
		page_shape(prom_text(&p, &len), len);
	prom_free(&p);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[256] = "";
	struct prom p;
	size_t len = 0;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0: {
		int rc = bearer_check(s, size - 1, token, sizeof(token));
		if (rc != 0 && rc != 401 && rc != 403)
			abort();
		break;
	}
	case 1: {
		struct jconf jc = { .err = err, .errlen = sizeof(err) };
		struct webd_metrics_config m;
		json_error_t je;
		json_t *o = json_loadb(s, size - 1, 0, &je);
		int rc = metrics_config_parse(&jc, o, &m, size & 1);
		if (rc < 0 && !err[0])
			abort();	/* a refusal says why */
		if (rc == 0 && (!m.enabled || (!m.token_file[0] && !m.client_ca[0])))
			abort();
		json_decref(o);
		break;
	}
	case 2: {
		json_error_t je;
		json_t *o = json_loadb(s, size - 1, 0, &je);
		prom_init(&p);
		prom_declare(&p, "f_seconds", PROM_HISTOGRAM, "f");
		if (prom_histogram_json(&p, "f_seconds", NULL, o) == 0)
			page_shape(prom_text(&p, &len), len);
		prom_free(&p);
		json_decref(o);
		break;
	}
	case 3:
		prom_init(&p);
		prom_declare(&p, "f_info", PROM_GAUGE, s[0] ? s : "x");
		prom_u64(&p, "f_info", PROM_L("v", s), 1);
		page_shape(prom_text(&p, &len), len);
		prom_free(&p);
		break;
	default:
		json_page(s, size - 1, data[0] % 6);
		break;
	}
	free(s);
	return 0;
}
