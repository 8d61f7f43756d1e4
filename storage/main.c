/*
 * tandem-nasd - the storage node's daemon: an HTTP/1.1 file service over
 * local exports whose sessions can be frozen into a blob and rebuilt on
 * another node's socket (the handoff).  See storage/nasd.h for the module
 * map and doc/nasd.md for the configuration and the control socket.
 */
#include "nasd.h"
#include "storage/handoff/handoff.h"
#include "storage/http/http.h"
#include "storage/nfs/nfs.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/log.h"

#define DEFAULT_CONFIG "/etc/tandem/nasd.json"

static void usage(void)
{
	fprintf(stderr,
		"usage: tandem-nasd [-tv] [-c config]\n"
		"  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration and exit\n"
		"  -v       verbose (a line per request)\n");
	exit(2);
}

static void on_signal(struct loop *lp, int signo, void *arg)
{
	struct nasd *n = arg;

	if (signo == SIGHUP) {
		log_info("SIGHUP: nothing to reload yet (%u session(s))", n->nsessions);
		return;
	}
	log_event(LOG_NOTICE, "daemon_stop", KV_I("signal", signo), KV_U("sessions_closed", n->nsessions));
	loop_stop(lp);
}

static void on_tick(struct loop *lp, struct loop_timer *t)
{
	struct nasd *n = t->arg;

	session_tick(n);
	http_server_tick(n);
	nfs_server_tick(n);	/* forwarded NFS calls' timeouts */
}

static void on_pace(struct loop *lp, struct loop_timer *t)
{
	session_pace(t->arg);
}

/* Room for every session's socket and file, if the hard limit allows. */
static void raise_nofile(uint32_t sessions)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)sessions * 3 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("setrlimit(NOFILE)");
}

/* -t: what the configuration says, on stdout; 0, or exits (fatalx) on an
 * error the daemon would stop at. */
static int check_config(struct nasd *n)
{
	char err[512];

	printf("%s: configuration OK (%u listen address(es), %u export(s))\n", n->config_path,
	       n->cfg.nlisten, n->cfg.nexports);
	export_describe(&n->cfg, stdout);
	nasd_nfs_describe(&n->cfg.nfs, stdout);
	if (nasd_metrics_check(&n->cfg.metrics, stdout, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (handoff_check(&n->cfg, stdout, err, sizeof(err)) < 0)
		fatalx("handoff: %s", err);
	return 0;
}

int main(int argc, char **argv)
{
	static struct nasd nasd;	/* the context: static only for its size */
	struct nasd *n = &nasd;
	char err[512];
	int check_only = 0, verbose = 0, ch;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	n->config_path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:thv")) != -1) {
		switch (ch) {
		case 'c': n->config_path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("tandem-nasd", 0, verbose);
	if (nasd_config_load(n->config_path, &n->cfg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (export_open_all(&n->cfg) < 0)
		fatalx("%s: cannot open the exports", n->config_path);
	if (check_only)
		return check_config(n);
	signal(SIGPIPE, SIG_IGN);	/* sendfile to a closed socket */
	raise_nofile(n->cfg.max_sessions);
	n->lim = http_default_limits;
	n->lim.max_body = n->cfg.max_upload;
	n->scratch = malloc(NASD_SCRATCH);
	if (!n->scratch)
		fatal("malloc");
	n->ctl.io.fd = -1;
	n->started_ms = loop_now_ms();
	if (loop_init(&n->loop) < 0)
		fatal("epoll");
	if (loop_signals_init(&n->loop, &n->sigs, sigs, 3, on_signal, n) < 0)
		fatal("signalfd");
	if (loop_timer_init(&n->loop, &n->tick, on_tick, n) < 0 ||
	    loop_timer_set(&n->tick, 1000, 1000) < 0 ||
	    loop_timer_init(&n->loop, &n->pace, on_pace, n) < 0)
		fatal("timerfd");
	if (http_server_open(n) < 0)
		fatalx("cannot listen");
	if (control_open(n) < 0)
		fatalx("cannot open the control socket");
	if (handoff_open(n) < 0)
		fatalx("cannot start the handoff agent");
	if (nfs_server_open(n) < 0)	/* NFS service, if configured */
		fatalx("cannot start the NFS service");
	if (nasd_metrics_open(n) < 0)	/* /metrics listener, if configured */
		fatalx("cannot start the metrics listener");
	log_event(LOG_NOTICE, "daemon_start", KV_S("config", n->config_path),
		  KV_S("node", n->cfg.node_name), KV_U("listeners", n->cfg.nlisten),
		  KV_U("exports", n->cfg.nexports), KV_S("control", n->cfg.control_socket));
	if (loop_run(&n->loop) < 0)
		log_warn("event loop");
	nasd_metrics_close(n);
	handoff_close(n);
	nfs_server_close(n);
	while (n->sessions)
		session_close(n->sessions, "shutdown");
	control_close(n);
	http_server_close(n);
	loop_timer_close(&n->loop, &n->pace);
	loop_timer_close(&n->loop, &n->tick);
	export_close_all(&n->cfg);
	loop_close(&n->loop);
	free(n->scratch);
	return 0;
}
