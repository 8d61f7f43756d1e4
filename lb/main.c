/*
 * tandem-lbd - the switch's load-balancer daemon: loads and feeds the data
 * plane (lb.bpf.c), checks node health, follows links and neighbours, and
 * serves the control socket.  See lb/lbd.h for the module map.
 */
#include "lbd.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/paths.h"

#define DEFAULT_CONFIG "/etc/tandem/tandem.json"
#define INSTALLED_OBJ TANDEM_LIBDIR "/lb.bpf.o"
#define TICK_MS 50

static void usage(void)
{
	fprintf(stderr,
		"usage: tandem-lbd [-tv] [-c config] [-b lb.bpf.o]\n"
		"  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration and exit\n"
		"  -b FILE  data-plane object (default: lb.bpf.o next to the binary, else "
		INSTALLED_OBJ ")\n"
		"  -v       verbose\n");
	exit(2);
}

/* lb.bpf.o beside the executable (build tree), else the installed one. */
static const char *default_obj(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, len, "%s/lb.bpf.o", dirname(exe));
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return INSTALLED_OBJ;
}

static void on_signal(struct loop *lp, int signo, void *arg)
{
	struct lbd *l = arg;

	if (signo == SIGHUP) {
		lbd_reload(l);
		return;
	}
	/* the data plane and the flows stay in place (doc/logs.md says so) */
	log_event(LOG_NOTICE, "daemon_stop", KV_I("signal", signo));
	loop_stop(lp);
}

static void on_tick(struct loop *lp, struct loop_timer *t)
{
	struct lbd *l = t->arg;

	health_tick(l);
	if (l->sched_dirty) {
		netmon_refresh(l);
		sched_update(l);
	}
	mover_tick(l);
	cluster_tick(l);
	pins_tick(l);
	dns_tick(l);
	bgp_tick(l);
	leave_tick(l);
}

/* -t: what the configuration sets up, or why it cannot be used.  Exit code. */
static int check_config(struct lbd *l)
{
	char err[512];

	if (dns_check(&l->cfg, err, sizeof(err)) < 0 || bgp_check(&l->cfg, err, sizeof(err)) < 0)
		fatalx("%s: %s", l->config_path, err);
	printf("%s: configuration OK (%u node(s), %u VIP(s), %u service(s)); flow table %u, "
	       "%u pinned flows, at most %u inserts/s from non-SYN TCP and UDP misses\n",
	       l->config_path, l->cfg.nnodes, l->cfg.nvips, l->cfg.nsvc_total,
	       l->cfg.flow_table_size, dp_pin_table_size(&l->cfg), dp_insert_rate(&l->cfg));
	probe_describe(&l->cfg, stdout);
	if (l->cfg.dns.enabled)
		printf("dns: %s (%u record(s)) at %s port %u, TTL %u\n", l->cfg.dns.name,
		       l->cfg.dns.nvips, l->cfg.dns.zone, l->cfg.dns.port, l->cfg.dns.ttl);
	if (l->cfg.bgp.enabled)
		printf("bgp: AS %u, %u neighbor(s), %u VIP(s) announced through %s\n", l->cfg.bgp.local_as,
		       l->cfg.bgp.nneighbors, l->cfg.bgp.nvips, l->cfg.bgp.socket);
	return 0;
}

int main(int argc, char **argv)
{
	static struct lbd lbd;	/* the context: static only for its size */
	struct lbd *l = &lbd;
	char objbuf[PATH_MAX], err[512];
	int check_only = 0, verbose = 0, ch;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	l->config_path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "b:c:thv")) != -1) {
		switch (ch) {
		case 'b': l->obj_path = optarg; break;
		case 'c': l->config_path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("tandem-lbd", 0, verbose);
	if (config_load(l->config_path, &l->cfg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (check_only)
		return check_config(l);
	if (!l->obj_path)
		l->obj_path = default_obj(objbuf, sizeof(objbuf));
	signal(SIGPIPE, SIG_IGN);
	l->ctl.io.fd = -1;
	l->report.io.fd = -1;
	l->cluster.io.fd = -1;
	roles_init(l);
	dns_init(l);
	bgp_init(l);
	syncwatch_init(l);
	if (dns_check(&l->cfg, err, sizeof(err)) < 0 || bgp_check(&l->cfg, err, sizeof(err)) < 0)
		fatalx("%s: %s", l->config_path, err);
	l->started_ms = loop_now_ms();
	if (loop_init(&l->loop) < 0)
		fatal("epoll");
	if (loop_signals_init(&l->loop, &l->sigs, sigs, 3, on_signal, l) < 0)
		fatal("signalfd");
	if (dp_open(&l->dp, &l->cfg, l->obj_path) < 0)
		fatalx("cannot set up the data plane");
	if (sched_apply_config(l) < 0)
		fatalx("cannot apply the configuration to the data plane");
	if (netmon_open(l) < 0)
		fatalx("cannot monitor links and neighbours");
	if (health_setup(l) < 0)
		fatal("health checks");
	sched_update(l);
	if (control_open(l) < 0)
		fatalx("cannot open the control socket");
	if (report_open(l) < 0)
		fatalx("cannot open the handoff report socket");
	if (cluster_apply(l) < 0)
		fatalx("cannot build the NFS cluster map");
	if (loop_timer_init(&l->loop, &l->tick, on_tick, l) < 0 ||
	    loop_timer_set(&l->tick, TICK_MS, TICK_MS) < 0)
		fatal("timerfd");
	log_event(LOG_NOTICE, "daemon_start", KV_S("config", l->config_path),
		  KV_S("object", l->obj_path), KV_S("interface", l->cfg.client_if),
		  KV_S("attach", l->cfg.attach == CFG_ATTACH_XDP ? "xdp" : "tc"),
		  KV_U("nodes", l->cfg.nnodes), KV_U("services", l->nsvcs),
		  KV_U("flow_table", l->cfg.flow_table_size), KV_S("control", l->cfg.control_socket));
	if (loop_run(&l->loop) < 0)
		log_warn("event loop");
	dns_close(l);
	bgp_close(l);
	syncwatch_close(l);
	control_close(l);
	mover_free(l);
	report_close(l);
	cluster_close(l);
	health_free(l);
	netmon_close(l);
	dp_close(&l->dp);
	loop_close(&l->loop);
	return 0;
}
