/*
 * lat_hist.c - the fixed-bucket latency histogram (lat_hist.h).
 */
#include "lat_hist.h"

static const uint64_t le_us[LAT_HIST_N] = LAT_HIST_LE_US;

void lat_hist_add(struct lat_hist *h, uint64_t us)
{
	for (int i = 0; i < LAT_HIST_N; i++)
		if (us <= le_us[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum_us += us;
}

json_t *lat_hist_json(const struct lat_hist *h)
{
	json_t *le = json_array(), *counts = json_array();
	uint64_t cum = 0;

	for (int i = 0; i < LAT_HIST_N; i++) {
		cum += h->bucket[i];
		json_array_append_new(le, json_integer((json_int_t)le_us[i]));
		json_array_append_new(counts, json_integer((json_int_t)cum));
	}
	return json_pack("{s:o, s:o, s:I, s:I}", "le_us", le, "counts", counts,
			 "count", (json_int_t)h->count, "sum_us", (json_int_t)h->sum_us);
}
