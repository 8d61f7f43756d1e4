/*
 * lat_hist.h - a small fixed-bucket latency histogram, for timings known
 * one event at a time: lbd's MOVEs (operator handoff, drain, load trigger:
 * from the MOVE sent to the node's ACK) and tandem-nasd's frozen time of a
 * handed-off session.  Shown on the control sockets in the JSON form
 * doc/control.md ("Histograms") describes, which lib/prom.h turns into a
 * Prometheus histogram.
 *
 * The bounds are fixed (LAT_HIST_LE_US: 100 µs to 10 s, 1-2.5-5 steps) so
 * that every daemon, release and scrape agrees on them; a value above the
 * last bound counts in `count` only (Prometheus's +Inf bucket).
 */
#ifndef TANDEM_LAT_HIST_H
#define TANDEM_LAT_HIST_H

#include <jansson.h>
#include <stdint.h>

#define LAT_HIST_N 16
#define LAT_HIST_LE_US { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, \
			 250000, 500000, 1000000, 2500000, 5000000, 10000000 }

struct lat_hist {
	uint64_t bucket[LAT_HIST_N];	/* observations in (le[i-1], le[i]]: not cumulative */
	uint64_t count, sum_us;
};

/* Count one observation of us microseconds. */
void lat_hist_add(struct lat_hist *h, uint64_t us);

/* {"le_us": [...], "counts": [cumulative], "count": N, "sum_us": S}
 * (a new reference; NULL when out of memory). */
json_t *lat_hist_json(const struct lat_hist *h);

#endif
