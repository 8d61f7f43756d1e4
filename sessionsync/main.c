/*
 * tandem-syncd - replicates the switch's flow table to its peer so that a
 * VRRP takeover keeps every established session (or, in a scale-out group,
 * to every other member).  See syncd.h.
 */
#include "syncd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/keyfile.h"
#include "lib/log.h"

#define DEFAULT_CONFIG "/etc/tandem/tandem.json"
#define EPOCH_BASE 1577836800	/* 2020-01-01 */

static void usage(void)
{
	fprintf(stderr, "usage: tandem-syncd [-tv] [-c config]\n"
			"  -c FILE  configuration with a \"sync\" section (default " DEFAULT_CONFIG ")\n"
			"  -t       check the configuration and the key, then exit\n"
			"  -v       verbose\n");
	exit(2);
}

/*
 * The epoch orders restarts: the peer refuses any epoch older than the last
 * it saw, which is what makes a captured message useless after a restart.
 * Eighths of a second since 2020 fit 32 bits for 17 years, and no restart
 * (process start, key load, maps) takes less than 125 ms.
 */
static uint32_t make_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)((ts.tv_sec - EPOCH_BASE) * 8 + ts.tv_nsec / 125000000);
}

/*
 * A stop lingers.  The data plane stays attached when lbd exits (a restart
 * keeps every flow), so a switch being stopped still forwards whatever
 * reaches it until the clients take the peer's gratuitous ARPs, and each
 * flow it creates then must reach the peer, or the peer picks it up
 * midstream after the takeover.  A client can ignore the peer's first GARPs
 * (Linux ignores an ARP update within neigh locktime, 1 s, of the last one:
 * our own periodic GARP); keepalived repeats them garp_master_delay (1 s,
 * failover/genconf.c) later.  So on SIGTERM/SIGINT syncd goes on
 * replicating until the data plane has created no flow for LINGER_QUIET_MS
 * (that second and some margin) and the peer has acked everything, at most
 * LINGER_MAX_MS (the peer may be gone); a second signal exits at once.
 */
#define LINGER_QUIET_MS 1500
#define LINGER_MAX_MS 5000

static void on_signal(struct loop *lp, int signo, void *arg)
{
	struct syncd *s = arg;

	if (s->stop_at_ms || signo == SIGHUP) {
		log_event(LOG_NOTICE, "daemon_stop", KV_I("signal", signo));
		loop_stop(lp);
		return;
	}
	s->stop_at_ms = loop_now_ms();
	log_info("signal %d: exiting once the data plane is quiet (%d ms without a new flow, "
		 "everything acked; at most %d ms)", signo, LINGER_QUIET_MS, LINGER_MAX_MS);
}

static void linger_check(struct syncd *s, uint64_t now)
{
	uint64_t quiet_since = s->last_event_ms > s->stop_at_ms ? s->last_event_ms : s->stop_at_ms;

	if (now - s->stop_at_ms >= LINGER_MAX_MS) {
		log_event(LOG_WARNING, "daemon_stop", KV_U("not_acked", stream_in_flight(s)),
			  KV_U("linger_ms", LINGER_MAX_MS));
		loop_stop(&s->loop);
	} else if (now - quiet_since >= LINGER_QUIET_MS && !stream_in_flight(s)) {
		log_event(LOG_NOTICE, "daemon_stop", KV_U("not_acked", 0),
			  KV_U("linger_ms", now - s->stop_at_ms));
		loop_stop(&s->loop);
	}
}

static void on_tick(struct loop *lp, struct loop_timer *t)
{
	struct syncd *s = t->arg;
	uint64_t now = loop_now_ms();

	if (!table_is_open(s) && now - s->last_table_try_ms >= 500) {
		s->last_table_try_ms = now;
		table_open(s);
	}
	table_poll(s);
	stream_tick(s);
	if (now - s->sweep_at_ms >= 100) {	/* ~40k entries/s: 8M flows in ~3 min */
		s->sweep_at_ms = now;
		table_sweep(s, 4096);
	}
	if (s->stop_at_ms)
		linger_check(s, now);
	if (now - s->rate_at_ms >= 1000) {
		s->rate_tx = (s->st.tx_flows - s->rate_prev_tx) * 1000 / (now - s->rate_at_ms);
		s->rate_rx = (s->st.rx_flows - s->rate_prev_rx) * 1000 / (now - s->rate_at_ms);
		s->rate_prev_tx = s->st.tx_flows;
		s->rate_prev_rx = s->st.rx_flows;
		s->rate_at_ms = now;
	}
}

int main(int argc, char **argv)
{
	static struct syncd sd;	/* the context: static only for its size */
	struct syncd *s = &sd;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char err[512];
	int check_only = 0, verbose = 0, ch;

	s->config_path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:thv")) != -1) {
		switch (ch) {
		case 'c': s->config_path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("tandem-syncd", 0, verbose);
	if (config_load(s->config_path, &s->cfg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (!s->cfg.sync.enabled)
		fatalx("%s: no \"sync\" section: nothing to replicate to", s->config_path);
	if (keyfile_load(s->cfg.sync.key_file, s->key.k, &s->key.len, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (check_only) {
		if (s->cfg.sync.nmembers)
			printf("%s: configuration OK (sync group of %u members on port %u, key %zu bytes)\n",
			       s->config_path, s->cfg.sync.nmembers, s->cfg.sync.port, s->key.len);
		else
			printf("%s: configuration OK (sync to peer on port %u, key %zu bytes)\n",
			       s->config_path, s->cfg.sync.port, s->key.len);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	s->fd_flows = s->fd_names = s->fd_repl_q = s->fd_verdicts = s->fd_events = s->fd_pins = -1;
	s->ctl.io.fd = -1;
	s->epoch = make_epoch();
	s->started_ms = s->rate_at_ms = loop_now_ms();
	if (loop_init(&s->loop) < 0)
		fatal("epoll");
	if (loop_signals_init(&s->loop, &s->sigs, sigs, 3, on_signal, s) < 0)
		fatal("signalfd");
	if (stream_open(s) < 0)
		fatal("sync socket on port %u", s->cfg.sync.port);
	if (control_open(s) < 0)
		fatalx("cannot open the control socket");
	table_open(s);
	if (loop_timer_init(&s->loop, &s->tick, on_tick, s) < 0 ||
	    loop_timer_set(&s->tick, TICK_MS, TICK_MS) < 0)
		fatal("timerfd");
	log_event(LOG_NOTICE, "daemon_start", KV_S("config", s->config_path),
		  KV_U("switch", s->cfg.sync.switch_id), KV_U("epoch", s->epoch),
		  KV_S("control", s->cfg.sync.control_socket));
	stream_send_hello(s);
	if (loop_run(&s->loop) < 0)
		log_warn("event loop");
	control_close(s);
	table_close(s);
	loop_close(&s->loop);
	return 0;
}
