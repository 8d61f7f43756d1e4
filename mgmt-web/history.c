/*
 * history.c - what the console's live charts draw: every second (the main
 * loop's timerfd tick) a worker asks lbd for `status` and `nodes`; the main
 * thread turns the replies into one sample and keeps the last history_s of
 * them in a ring.  Samples hold lbd's running counters, not rates: the
 * console derives throughput from deltas, so a missed second only widens
 * one interval instead of inventing a number.
 */
#include "webd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int history_init(struct history *h, uint32_t cap)
{
	memset(h, 0, sizeof(*h));
	h->ring = calloc(cap, sizeof(*h->ring));
	h->cap = cap;
	return h->ring ? 0 : -1;
}

void history_free(struct history *h)
{
	for (uint32_t i = 0; i < h->n; i++)
		json_decref(h->ring[(h->head + i) % h->cap]);
	free(h->ring);
	h->ring = NULL;
	h->n = 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Worker: status + nodes of lbd. */
static void sample_run(const struct webd_config *cfg, struct job *j)
{
	json_t *req = json_pack("{s:s}", "cmd", "status");

	j->t_ms = wall_ms();
	j->lbd = job_ctl(cfg->lbd_socket, req, 2000, j->err, sizeof(j->err));
	json_decref(req);
	if (!j->lbd)
		return;
	req = json_pack("{s:s}", "cmd", "nodes");
	j->nodes = job_ctl(cfg->lbd_socket, req, 2000, j->err, sizeof(j->err));
	json_decref(req);
}

static json_int_t int_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void sample_done(struct webd *w, struct job *j)
{
	struct history *h = &w->history;
	json_t *nodes, *n, *s;
	const char *role;
	size_t i;

	h->inflight = 0;
	if (!json_is_true(json_object_get(j->lbd, "ok")) ||
	    !json_is_true(json_object_get(j->nodes, "ok")))
		goto out;	/* lbd down: no sample for this second */
	role = json_string_value(json_object_get(j->lbd, "role"));
	if (!role)
		role = "";
	if (h->role[0] && strcmp(h->role, role)) {
		h->failovers++;
		h->role_since = j->t_ms;
	}
	snprintf(h->role, sizeof(h->role), "%s", role);
	nodes = json_object();
	json_array_foreach(json_object_get(j->nodes, "nodes"), i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));
		if (!name)
			continue;
		/* "flows" is the node's flow count in lbd's nodes reply;
		 * handoffs_in/out appear once lbd reports them (else 0). */
		json_object_set_new(nodes, name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I}", "bytes", int_of(n, "bytes"),
					      "packets", int_of(n, "packets"), "flows",
					      int_of(n, "flows"), "handoffs_in",
					      int_of(n, "handoffs_in"), "handoffs_out",
					      int_of(n, "handoffs_out")));
	}
	s = json_pack("{s:I, s:o, s:I, s:I, s:I, s:s}", "t", (json_int_t)j->t_ms, "nodes", nodes,
		      "flows", int_of(j->lbd, "flows"), "handoffs",
		      int_of(json_object_get(j->lbd, "handoffs"), "ok"), "failovers",
		      (json_int_t)h->failovers, "role", role);
	if (!s)
		goto out;
	if (h->n == h->cap) {	/* full: drop the oldest */
		json_decref(h->ring[h->head]);
		h->ring[h->head] = s;
		h->head = (h->head + 1) % h->cap;
	} else {
		h->ring[(h->head + h->n) % h->cap] = s;
		h->n++;
	}
	/* learn syncd's socket from lbd when not configured */
	const char *ss = json_string_value(json_object_get(j->lbd, "sync_control_socket"));
	if (!w->cfg.syncd_socket[0] && ss && strlen(ss) < sizeof(w->syncd_socket))
		strcpy(w->syncd_socket, ss);
out:
	job_free(j);
}

void history_tick(struct webd *w)
{
	struct job *j;

	if (w->history.inflight)
		return;
	j = job_new(sample_run, sample_done);
	if (!j)
		return;
	if (pool_submit(&w->pool, j) < 0) {
		job_free(j);
		return;
	}
	w->history.inflight = 1;
}

json_t *history_json(struct history *h, uint64_t since)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; i < h->n; i++) {
		json_t *s = h->ring[(h->head + i) % h->cap];
		if ((uint64_t)int_of(s, "t") > since)
			json_array_append(arr, s);
	}
	return json_pack("{s:i, s:o}", "interval_ms", 1000, "samples", arr);
}
