/*
 * main.c - tandem-agentx: AgentX subagent for TANDEM-MIB (doc/snmp.md).
 *
 * usage: tandem-agentx [-f] [-v] [-s LBD_SOCKET] [-y SYNCD_SOCKET]
 *                      [-x AGENTX_SOCKET] [-i SECONDS] [-n MAX_SESSIONS] [-D TOKENS]
 *
 * Polls tandem-lbd's (and with -y tandem-syncd's) control socket every -i
 * seconds, serves the snapshot to the master agent (snmpd) over AgentX and
 * sends notifications on role, node and sync transitions.
 *
 * The event loop.  net-snmp owns its sockets: the AgentX session's fd
 * changes on every reconnect, and its timers (the AgentX ping that finds a
 * dead master and reopens the session, request timeouts) are "alarms" run
 * by run_alarms().  lib/loop.h's epoll loop wants handlers registered once,
 * so we would have to diff net-snmp's fd set into epoll on every turn.
 * Instead the loop here is net-snmp's own recipe (what
 * agent_check_and_process() does: snmp_select_info, select, snmp_read or
 * snmp_timeout, run_alarms, netsnmp_check_outstanding_agent_requests) with
 * our two descriptors added to the set: a signalfd (SIGTERM/SIGINT/SIGHUP:
 * handled as ordinary events, no work in signal handlers) and a timerfd for
 * the poll.  One thread; a poll and an SNMP request never overlap.  The
 * poll's control requests block for at most ctl_timeout_ms, which bounds
 * how long snmpd may wait for us (its AgentX timeout is 1 s by default).
 *
 * Reconnection: NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL = 1 s makes the agent
 * library ping the master every second and, once the session is gone
 * (snmpd killed or restarted), try to reopen it on the same alarm: back in
 * the tree one to two seconds after snmpd listens again.
 */
#include "agentx.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/log.h"

#define PROG "tandem-agentx"

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [-f] [-v] [-s LBD_SOCKET] [-y SYNCD_SOCKET] [-x AGENTX_SOCKET]\n"
		"                     [-i SECONDS] [-n MAX_SESSIONS]\n"
		"  -s  tandem-lbd control socket (default /run/tandem/lbd.sock)\n"
		"  -y  tandem-syncd control socket (default: none, no sync objects)\n"
		"  -x  master agent's AgentX socket (default /var/agentx/master;\n"
		"      a path, or tcp:HOST:PORT)\n"
		"  -i  poll interval in seconds (default 1; fractions allowed)\n"
		"  -n  at most this many rows in the session table (default 1000)\n"
		"  -f  stay in the foreground, log to stderr\n"
		"  -v  verbose (debug) logging\n"
		"  -D TOKENS  net-snmp debug output for TOKENS (comma separated, as snmpd -D)\n");
	exit(2);
}

static void parse_args(struct agx *a, int argc, char **argv)
{
	int c;
	char *end;
	double secs;
	unsigned long n;

	a->lbd_sock = "/run/tandem/lbd.sock";
	a->agentx_sock = "/var/agentx/master";
	a->interval_ms = 1000;
	a->session_limit = 1000;
	while ((c = getopt(argc, argv, "fvs:y:x:i:n:D:h")) != -1) {
		switch (c) {
		case 'f': a->foreground = 1; break;
		case 'v': a->verbose++; break;
		case 'D':		/* net-snmp debug tokens, as snmpd's -D */
			debug_register_tokens(optarg);
			snmp_set_do_debugging(1);
			break;
		case 's': a->lbd_sock = optarg; break;
		case 'y': a->syncd_sock = optarg; break;
		case 'x': a->agentx_sock = optarg; break;
		case 'i':
			secs = strtod(optarg, &end);
			if (*end || !(secs >= 0.1 && secs <= 3600))
				fatalx("-i: want seconds in [0.1, 3600], not \"%s\"", optarg);
			a->interval_ms = (unsigned)(secs * 1000.0);
			break;
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end || n < 1 || n > 1000000)
				fatalx("-n: want 1..1000000, not \"%s\"", optarg);
			a->session_limit = (unsigned)n;
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* a reply must come back well within snmpd's AgentX timeout (1 s) and
	 * within one poll interval */
	a->ctl_timeout_ms = a->interval_ms < 1000 ? a->interval_ms * 8 / 10 : 800;
}

/* Configure the agent library as an AgentX subagent.  Must run before
 * init_agent(). */
static void snmp_setup(struct agx *a)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, a->agentx_sock);
	/* alarms through run_alarms() in our loop, not SIGALRM */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* no snmp.conf, no persistent state under /var/lib/snmp, no MIB
	 * parsing (we serve numeric OIDs; Debian lacks the base MIBs anyway) */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
	setenv("MIBS", "", 1);
	if (a->foreground) {
		snmp_enable_stderrlog();
	} else {
		snmp_enable_calllog();
		snmp_enable_syslog_ident(PROG, LOG_DAEMON);
	}
}

/* net-snmp's AgentX subagent calls this when its session to the master
 * agent opens (INDEX_START) and when it is lost (INDEX_STOP: the master
 * hung up or did not answer a ping; the library reopens it every ping
 * interval).  Registered without a client argument: snmp_shutdown frees
 * every one still registered. */
static int agentx_session_event(int major, int minor, void *server, void *client)
{
	int up = minor == SNMPD_CALLBACK_INDEX_START;

	log_event(up ? LOG_NOTICE : LOG_WARNING, up ? "agentx_up" : "agentx_down",
		  KV_S("socket", netsnmp_ds_get_string(NETSNMP_DS_APPLICATION_ID,
						       NETSNMP_DS_AGENT_X_SOCKET)));
	return 0;
}

static int timer_open(unsigned ms)
{
	struct itimerspec its = { 0 };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -1;
	its.it_value.tv_nsec = 1000000;		/* first poll at once */
	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void poll_once(struct agx *a)
{
	struct snap s = { 0 };

	poll_snapshot(a, &s);
	if (a->lbd_said != 1 + !!s.lbd_up) {	/* once per change, not per poll */
		a->lbd_said = 1 + !!s.lbd_up;
		log_event(s.lbd_up ? LOG_NOTICE : LOG_WARNING, s.lbd_up ? "lbd_up" : "lbd_down",
			  KV_S("socket", a->lbd_sock));
	}
	mib_update(a, &s);
}

/* One turn of the loop (see the header comment).  Returns 1 to go on, 0 on
 * a terminating signal. */
static int loop_once(struct agx *a, int sigfd, int tfd)
{
	fd_set rd;
	struct timeval tv = { 1, 0 };
	int nfds = 0, block = 0, n;

	FD_ZERO(&rd);
	snmp_select_info(&nfds, &rd, &tv, &block);
	FD_SET(sigfd, &rd);
	FD_SET(tfd, &rd);
	nfds = (sigfd > nfds - 1 ? sigfd + 1 : nfds);
	nfds = (tfd > nfds - 1 ? tfd + 1 : nfds);
	n = select(nfds, &rd, NULL, NULL, block ? NULL : &tv);
	if (n < 0) {
		if (errno != EINTR)
			log_warn("select");
		return 1;
	}
	if (n > 0 && FD_ISSET(sigfd, &rd)) {
		struct signalfd_siginfo si;

		if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				log_event(LOG_NOTICE, "daemon_stop", KV_U("signal", si.ssi_signo));
				return 0;
			}
			log_info("SIGHUP: polling now");
			poll_once(a);
		}
		FD_CLR(sigfd, &rd);
		n--;
	}
	if (n > 0 && FD_ISSET(tfd, &rd)) {
		uint64_t ticks;

		if (read(tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
			poll_once(a);
		FD_CLR(tfd, &rd);
		n--;
	}
	if (n > 0)
		snmp_read(&rd);
	else if (n == 0)
		snmp_timeout();
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	return 1;
}

int main(int argc, char **argv)
{
	struct agx a = { 0 };
	sigset_t ss;
	int sigfd, tfd;

	parse_args(&a, argc, argv);
	log_init(PROG, !a.foreground, a.verbose);
	if (!a.foreground && daemon(0, 0) < 0)
		fatal("daemon");

	/* SIGPIPE: a write to a master that just went away must give EPIPE,
	 * which the agent library handles by reconnecting. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0 ||
	    (sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	if ((tfd = timer_open(a.interval_ms)) < 0)
		fatal("timerfd");

	snmp_setup(&a);
	if (init_agent(PROG) != 0)
		fatalx("init_agent failed");
	/* After init_agent, which sets the library default (15 s); before
	 * init_snmp, whose post-config step opens the session and arms the
	 * ping/reopen alarm with this period.  1 s: a restarted snmpd sees us
	 * again one to two seconds after it listens. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 1);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
			       agentx_session_event, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
			       agentx_session_event, NULL);
	if (mib_register(&a) < 0)
		fatalx("cannot register the MIB");
	init_snmp(PROG);
	log_event(LOG_NOTICE, "daemon_start", KV_S("agentx", a.agentx_sock), KV_S("lbd", a.lbd_sock),
		  KV_S("syncd", a.syncd_sock), KV_U("interval_ms", a.interval_ms));

	while (loop_once(&a, sigfd, tfd))
		;

	mib_unregister(&a);
	snmp_shutdown(PROG);
	snap_free(&a.cur);
	close(tfd);
	close(sigfd);
	return 0;
}
