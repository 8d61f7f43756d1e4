/*
 * tandem-webd - REST API, web console and LDAP logins of the appliance.
 * See mgmt-web/webd.h for the module map and doc/api.md for the API and the
 * configuration.
 */
#include "webd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"

#define DEFAULT_CONFIG "/etc/tandem/webd.json"

static void usage(void)
{
	fprintf(stderr,
		"usage: tandem-webd [-tv] [-c config]\n"
		"  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration (and the certificate and key) and exit\n"
		"  -v       verbose\n");
	exit(2);
}

static void on_signal(struct loop *lp, int signo, void *arg)
{
	if (signo == SIGHUP) {
		log_info("SIGHUP: nothing to reload (restart to change the configuration)");
		return;
	}
	log_event(LOG_NOTICE, "daemon_stop", KV_I("signal", signo));
	loop_stop(lp);
}

static void on_tick(struct loop *lp, struct loop_timer *t)
{
	struct webd *w = t->arg;

	sessions_expire(&w->sessions);
	history_tick(w);
}

/* -t: the files the configuration names must be usable too. */
static int check_files(const struct webd_config *c, char *err, size_t errlen)
{
	if (!c->plain_http) {
		if (access(c->cert, R_OK) < 0)
			return err_errno(err, errlen, "\"cert\" %s", c->cert);
		if (access(c->key, R_OK) < 0)
			return err_errno(err, errlen, "\"key\" %s", c->key);
	}
	if (c->ldap.bind_password_file[0] && access(c->ldap.bind_password_file, R_OK) < 0)
		return err_errno(err, errlen, "\"ldap.search.bind_password_file\" %s",
				 c->ldap.bind_password_file);
	return metrics_check_files(&c->metrics, err, errlen);
}

/* Does l send passwords in clear (an ldap:// URI, no StartTLS, allowed)? */
static int cleartext(const struct webd_ldap *l)
{
	return l->allow_cleartext && !l->starttls && strstr(l->uri, "ldap://");
}

int main(int argc, char **argv)
{
	static struct webd webd;	/* the context: static only for its size */
	struct webd *w = &webd;
	char err[768];
	int check_only = 0, verbose = 0, ch;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	w->config_file = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:thv")) != -1) {
		switch (ch) {
		case 'c': w->config_file = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("tandem-webd", 0, verbose);
	if (webd_config_load(w->config_file, &w->cfg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (check_files(&w->cfg, err, sizeof(err)) < 0)
		fatalx("%s: %s", w->config_file, err);
	if (check_only) {
		printf("%s: configuration OK (%s on port %u, LDAP %s%s; logins: %u failures in %u s "
		       "block, a failure answers after %u ms; sessions: %u, %u per user)\n",
		       w->config_file, w->cfg.plain_http ? "plain HTTP" : "HTTPS", w->cfg.listen_port,
		       w->cfg.ldap.uri, w->cfg.ldap.starttls ? " with StartTLS" : "",
		       w->cfg.rate_max, w->cfg.rate_window_s, w->cfg.fail_delay_ms,
		       w->cfg.session_max, w->cfg.session_max_per_user);
		if (cleartext(&w->cfg.ldap))
			printf("%s: warning: ldap.allow_cleartext: an ldap:// URI without StartTLS "
			       "carries passwords in clear (labs only)\n", w->config_file);
		metrics_config_describe(&w->cfg.metrics, err, sizeof(err));
		printf("%s: %s\n", w->config_file, err);
		return 0;
	}
	if (cleartext(&w->cfg.ldap))
		log_warnx("ldap.allow_cleartext: an ldap:// URI without StartTLS carries passwords "
			  "in clear (labs only)");
	signal(SIGPIPE, SIG_IGN);
	w->www_fd = open(w->cfg.www, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->www_fd < 0)
		log_warn("www directory %s (the console is not served)", w->cfg.www);
	if (metrics_start(w) < 0)
		fatalx("cannot read metrics.token_file");
	if (sessions_init(&w->sessions, &w->cfg) < 0 ||
	    history_init(&w->history, w->cfg.history_s) < 0)
		fatal("malloc");
	if (loop_init(&w->loop) < 0)
		fatal("epoll");
	if (loop_signals_init(&w->loop, &w->sigs, sigs, 3, on_signal, w) < 0)
		fatal("signalfd");
	if (loop_timer_init(&w->loop, &w->tick, on_tick, w) < 0 ||
	    loop_timer_set(&w->tick, 1000, 1000) < 0)
		fatal("timerfd");
	/* Workers after the signal mask is set: they inherit it, so signals
	 * reach the signalfd and never a worker. */
	if (pool_start(w) < 0)
		fatal("worker threads");
	if (http_start(w) < 0)
		fatalx("cannot start the web server");
	log_event(LOG_NOTICE, "daemon_start", KV_S("config", w->config_file),
		  KV_U("port", w->cfg.listen_port), KV_S("scheme", w->cfg.plain_http ? "http" : "https"),
		  KV_S("lbd", w->cfg.lbd_socket), KV_S("www", w->cfg.www));
	history_tick(w);
	if (loop_run(&w->loop) < 0)
		log_warn("epoll_wait");
	http_stop(w);
	pool_stop(&w->pool);
	if (w->pool.busy == 0) {
		history_free(&w->history);
		sessions_free(&w->sessions);
	}
	return 0;
}
