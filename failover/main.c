/*
 * tandem-failover - keepalived glue for a Tandem switch (see failover.h).
 *
 *   tandem-failover [-c CONF] genconf [-o FILE]   keepalived.conf
 *   tandem-failover [-c CONF] birdconf [-o FILE]  bird.conf (config "bgp")
 *   tandem-failover [-c CONF] notify TYPE NAME STATE [PRIO]
 *   tandem-failover [-c CONF] check [-v]
 *   tandem-failover [-c CONF] paired
 *   tandem-failover [-c CONF] slapdconf ...       the directory's slapd.conf
 *                                                  (dircmd.c)
 *   tandem-failover [-c CONF] replicated
 *   tandem-failover [-c CONF] scaleout
 */
#include "failover.h"
#include "slapdconf.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define DEFAULT_CONFIG "/etc/tandem/tandem.json"

static void usage(void)
{
	fprintf(stderr,
		"usage: tandem-failover [-c CONF] genconf [-o FILE]\n"
		"       tandem-failover [-c CONF] birdconf [-o FILE]\n"
		"       tandem-failover [-c CONF] notify TYPE NAME STATE [PRIORITY]\n"
		"       tandem-failover [-c CONF] check [-v]\n"
		"       tandem-failover [-c CONF] paired\n"
		"       tandem-failover [-c CONF] slapdconf provider|replica|urls|init|nslcd|nsswitch ...\n"
		"       tandem-failover [-c CONF] replicated\n"
		"       tandem-failover [-c CONF] scaleout\n");
	exit(2);
}

/* genconf / birdconf [-o FILE]: keepalived.conf or bird.conf.  Exit code. */
static int write_conf(const struct config *cfg, const char *conf, int bird, int argc, char **argv)
{
	char confabs[PATH_MAX];
	FILE *out = stdout;

	if (!bird && !cfg->vrrp.enabled)
		fatalx("%s: no \"vrrp\" section", conf);
	if (bird && !cfg->bgp.enabled)
		fatalx("%s: no \"bgp\" section", conf);
	if (!realpath(conf, confabs))
		fatal("%s", conf);
	if (argc == 2 && !strcmp(argv[0], "-o")) {
		out = fopen(argv[1], "w");
		if (!out)
			fatal("%s", argv[1]);
	} else if (argc != 0) {
		usage();
	}
	if ((bird ? birdconf_write(out, cfg, confabs) : genconf_write(out, cfg, confabs)) < 0 ||
	    fflush(out) != 0)
		fatalx("cannot write the %s configuration", bird ? "BIRD" : "keepalived");
	if (out != stdout)
		fclose(out);
	return 0;
}

int main(int argc, char **argv)
{
	static struct config cfg;	/* large */
	const char *conf = DEFAULT_CONFIG;
	char err[512];
	int ch;

	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		if (ch == 'c')
			conf = optarg;
		else
			usage();
	}
	if (optind >= argc)
		usage();
	log_init("tandem-failover", 0, 0);
	const char *cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	if (config_load(conf, &cfg, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return !strcmp(cmd, "paired") || !strcmp(cmd, "replicated") ||
		       !strcmp(cmd, "scaleout") ? 255 : 1;
	}
	/* For systemd's ExecCondition= of tandem-syncd and keepalived: 0 when
	 * this switch is one of a pair (both "sync" and "vrrp"), 1 when it
	 * stands alone (the unit is skipped, not failed), 255 on a bad config
	 * (the unit fails, as it should). */
	if (!strcmp(cmd, "paired")) {
		if (argc != 0)
			usage();
		if (cfg.sync.enabled && cfg.vrrp.enabled)
			return 0;
		log_info("%s: a standalone switch (no \"sync\" and \"vrrp\" sections)", conf);
		return 1;
	}
	/* For tandem-syncd's ExecCondition=: 0 when the switch replicates its
	 * flows ("sync": one of a VRRP pair, or a switch behind an ECMP router
	 * that announces only while in sync), 1 without "sync", 255 on a bad
	 * config. */
	if (!strcmp(cmd, "replicated")) {
		if (argc != 0)
			usage();
		if (cfg.sync.enabled)
			return 0;
		log_info("%s: no \"sync\" section: nothing to replicate", conf);
		return 1;
	}
	/* For BIRD's ExecCondition= (appliance/systemd/bird.service.d): 0 with
	 * a "bgp" section, 1 without, 255 on a bad config. */
	if (!strcmp(cmd, "scaleout")) {
		if (argc != 0)
			usage();
		if (cfg.bgp.enabled)
			return 0;
		log_info("%s: no \"bgp\" section: no BIRD", conf);
		return 1;
	}
	if (!strcmp(cmd, "notify"))
		return hook_notify(&cfg, argc, argv);
	if (!strcmp(cmd, "slapdconf")) {
		char confabs[PATH_MAX];
		return slapdconf_cmd(&cfg, realpath(conf, confabs) ? confabs : conf, argc, argv);
	}
	if (!strcmp(cmd, "check"))
		return hook_check(&cfg, argc > 0 && !strcmp(argv[0], "-v"));
	if (!strcmp(cmd, "genconf") || !strcmp(cmd, "birdconf"))
		return write_conf(&cfg, conf, !strcmp(cmd, "birdconf"), argc, argv);
	usage();
}
