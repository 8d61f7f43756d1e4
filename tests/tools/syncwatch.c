/*
 * syncwatch.c - watches tandem-syncd's status for the pair benchmarks of
 * `make bench` (tests/bench/run.sh --only pair).  Asks {"cmd":"status"} on
 * the control socket (doc/control.md) every INTERVAL ms.
 *
 *   syncwatch wait -s SOCK [-i MS] [-t SECONDS] [-f FLOWS]
 *       Until the status says synced=true and rx.flows >= FLOWS (a socket
 *       that is not there yet, or does not answer, is asked again).  Prints
 *       {"ok","seconds","first_answer_s","rx_flows","rx_msgs","polls",
 *        "resyncs_received","t_done"}: seconds from this tool's start
 *       (t_done in CLOCK_REALTIME seconds).  Exit 1 on timeout (ok false).
 *
 *   syncwatch poll -s SOCK [-i MS] [-t SECONDS]
 *       One line per answer, until SECONDS or SIGTERM:
 *       {"t","rx_flows","tx_flows","in_flight","events_lost","resyncs_sent",
 *        "retransmits","dups","synced"}  (t: CLOCK_REALTIME seconds).
 *
 * Exit: 0 done, 1 timeout / error, 2 usage.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/ctl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Integer at obj.a.b (b may be NULL), or -1. */
static long long get_int(json_t *st, const char *a, const char *b)
{
	json_t *v = json_object_get(st, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static json_t *status(const char *sock, json_t *req)
{
	char err[256];
	json_t *st = ctl_request(sock, req, 500, err, sizeof(err));

	if (st && !json_is_true(json_object_get(st, "ok"))) {
		json_decref(st);
		st = NULL;
	}
	return st;
}

static void usage(void)
{
	fprintf(stderr, "usage: syncwatch wait -s SOCK [-i MS] [-t SECONDS] [-f FLOWS]\n"
			"       syncwatch poll -s SOCK [-i MS] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *cmd;
	double every = 0.005, limit = 30, t0, first = -1;
	long long want = 0;
	unsigned long polls = 0;
	json_t *req;
	int opt, wait;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "wait") && strcmp(cmd, "poll"))
		usage();
	wait = !strcmp(cmd, "wait");
	optind = 2;
	while ((opt = getopt(argc, argv, "s:i:t:f:")) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'i': every = atof(optarg) / 1000.0; break;
		case 't': limit = atof(optarg); break;
		case 'f': want = atoll(optarg); break;
		default: usage();
		}
	}
	if (!sock || optind != argc || every <= 0 || limit <= 0)
		usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	req = json_pack("{s:s}", "cmd", "status");
	t0 = mono_s();
	while (!stop && mono_s() - t0 < limit) {
		double t = mono_s();
		json_t *st = status(sock, req);

		polls++;
		if (st) {
			if (first < 0)
				first = mono_s() - t0;
			if (wait && json_is_true(json_object_get(st, "synced")) &&
			    get_int(st, "rx", "flows") >= want) {
				printf("{\"ok\":true,\"seconds\":%.4f,\"first_answer_s\":%.4f,"
				       "\"rx_flows\":%lld,\"rx_msgs\":%lld,\"polls\":%lu,"
				       "\"resyncs_received\":%lld,\"t_done\":%.6f}\n",
				       mono_s() - t0, first, get_int(st, "rx", "flows"),
				       get_int(st, "rx", "msgs"), polls,
				       get_int(st, "resyncs", "received"), real_s());
				json_decref(st);
				json_decref(req);
				return 0;
			}
			if (!wait)
				printf("{\"t\":%.6f,\"rx_flows\":%lld,\"tx_flows\":%lld,\"in_flight\":%lld,"
				       "\"events_lost\":%lld,\"resyncs_sent\":%lld,\"retransmits\":%lld,"
				       "\"dups\":%lld,\"synced\":%s}\n",
				       real_s(), get_int(st, "rx", "flows"), get_int(st, "tx", "flows"),
				       get_int(st, "tx", "in_flight"), get_int(st, "events", "lost"),
				       get_int(st, "resyncs", "sent"), get_int(st, "tx", "retransmits"),
				       get_int(st, "rx", "dups"),
				       json_is_true(json_object_get(st, "synced")) ? "true" : "false");
			json_decref(st);
		}
		sleep_s(every - (mono_s() - t));
	}
	json_decref(req);
	if (wait) {
		printf("{\"ok\":false,\"seconds\":%.4f,\"first_answer_s\":%.4f,\"polls\":%lu}\n",
		       mono_s() - t0, first, polls);
		return 1;
	}
	return 0;
}
