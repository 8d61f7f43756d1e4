/*
 * dircmd.c - `tandem-failover slapdconf`: the pair's directory files
 * (slapdconf.h) from the appliance config.
 *
 *   slapdconf provider [-d DATA] [-r RUN] [-o FILE]   this switch's slapd.conf
 *   slapdconf replica  [-d DATA] [-r RUN] [-o FILE]   a storage node's
 *   slapdconf urls provider|replica [-r RUN]           slapd -h's argument
 *   slapdconf init [-o FILE]                           the first entries (LDIF)
 *   slapdconf nslcd|nsswitch [-o FILE]                  a node's nslcd.conf, nsswitch.conf
 *
 * -d and -r put one host's files elsewhere than the config says (a lab
 * runs every host on one machine).  Password files are checked like key
 * files (regular, mode 0600 or stricter, root's or ours); the output holds
 * passwords, so -o writes it mode 0600.
 */
#include "slapdconf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "lib/keyfile.h"
#include "lib/log.h"

#define PW_MAX 128

/* The first line of path into pw[PW_MAX + 1]: 1..PW_MAX printable
 * characters without '"' or '\' (it goes between quotes in slapd.conf).
 * 0 / -1 (logged). */
static int read_pw(const char *path, char *pw)
{
	char err[256];
	FILE *f;
	size_t n;

	if (keyfile_check(path, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	f = fopen(path, "r");
	if (!f || !fgets(pw, PW_MAX + 1, f)) {
		log_warn("%s", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (pw[i] < 0x20 || pw[i] > 0x7e || pw[i] == '"' || pw[i] == '\\')
			n = 0;
	if (n == 0) {
		log_warnx("%s: the password must be 1..%d printable characters without '\"' or '\\'",
			  path, PW_MAX);
		return -1;
	}
	return 0;
}

static FILE *open_out(const char *path)
{
	int fd;
	FILE *f;

	if (!path)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		log_warn("%s", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static int role_of(const char *s, enum slapd_role *r)
{
	if (!strcmp(s, "provider"))
		*r = SLAPD_PROVIDER;
	else if (!strcmp(s, "replica"))
		*r = SLAPD_REPLICA;
	else
		return -1;
	return 0;
}

/* The files of one run: 0, -1 logged. */
static int run(const struct config *cfg, const char *what, const struct slapd_opts *opts,
	       const char *out)
{
	struct slapd_opts o = *opts, *op = &o;
	char root_pw[PW_MAX + 1], rep_pw[PW_MAX + 1], urls[1024];
	FILE *f;
	int rc;

	if (!strcmp(what, "urls")) {
		if (slapdconf_urls(urls, sizeof(urls), cfg, op) < 0)
			return -1;
		printf("%s\n", urls);
		return 0;
	}
	if (read_pw(cfg->directory.replica_password_file, rep_pw) < 0 ||
	    (op->role == SLAPD_PROVIDER && read_pw(cfg->directory.root_password_file, root_pw) < 0))
		return -1;
	op->root_pw = root_pw;
	op->replica_pw = rep_pw;
	f = open_out(out);
	if (!f)
		return -1;
	rc = !strcmp(what, "init") ? slapdconf_init_ldif(f, cfg, rep_pw) : slapdconf_write(f, cfg, op);
	if (fflush(f) != 0)
		rc = -1;
	if (f != stdout)
		fclose(f);
	explicit_bzero(root_pw, sizeof(root_pw));
	explicit_bzero(rep_pw, sizeof(rep_pw));
	return rc;
}

/* slapdconf nslcd|nsswitch [-o FILE]: a node's NSS files (pair or
 * external). */
static int node_nss(const struct config *cfg, const char *config_path, int argc, char **argv)
{
	FILE *f;
	int rc;

	if (argc != 1 && (argc != 3 || strcmp(argv[1], "-o"))) {
		fprintf(stderr, "usage: tandem-failover [-c CONF] slapdconf nslcd|nsswitch [-o FILE]\n");
		return 2;
	}
	if (cfg->directory.mode == CFG_DIR_NONE) {
		log_warnx("%s: no \"directory\" section", config_path);
		return 1;
	}
	if (!(f = open_out(argc == 3 ? argv[2] : NULL)))
		return 1;
	rc = !strcmp(argv[0], "nslcd") ? slapdconf_nslcd(f, cfg) : slapdconf_nsswitch(f);
	if (fflush(f) != 0)
		rc = -1;
	if (f != stdout)
		fclose(f);
	return rc < 0 ? 1 : 0;
}

int slapdconf_cmd(const struct config *cfg, const char *config_path, int argc, char **argv)
{
	struct slapd_opts op = { .config_path = config_path,
				 .data_dir = cfg->directory.data_dir, .run_dir = cfg->directory.run_dir };
	const char *out = NULL, *what;
	int i = 1;

	if (argc >= 1 && (!strcmp(argv[0], "nslcd") || !strcmp(argv[0], "nsswitch")))
		return node_nss(cfg, config_path, argc, argv);
	if (cfg->directory.mode != CFG_DIR_PAIR) {
		log_warnx("%s: no \"directory\" with \"mode\": \"pair\" (an external directory "
			  "needs nothing generated)", config_path);
		return 1;
	}
	if (argc < 1)
		goto usage;
	what = argv[0];
	if (!strcmp(what, "urls")) {
		if (argc < 2 || role_of(argv[1], &op.role) < 0)
			goto usage;
		i = 2;
	} else if (strcmp(what, "init") && role_of(what, &op.role) < 0) {
		goto usage;
	}
	for (; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-d"))
			op.data_dir = argv[i + 1];
		else if (!strcmp(argv[i], "-r"))
			op.run_dir = argv[i + 1];
		else if (!strcmp(argv[i], "-o"))
			out = argv[i + 1];
		else
			goto usage;
	}
	if (i != argc)
		goto usage;
	if (run(cfg, what, &op, out) < 0) {
		log_warnx("slapdconf %s: nothing written", what);
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: tandem-failover [-c CONF] slapdconf provider|replica [-d DATA_DIR] "
		"[-r RUN_DIR] [-o FILE]\n"
		"       tandem-failover [-c CONF] slapdconf urls provider|replica [-r RUN_DIR]\n"
		"       tandem-failover [-c CONF] slapdconf init [-o FILE]\n"
		"       tandem-failover [-c CONF] slapdconf nslcd|nsswitch [-o FILE]\n");
	return 2;
}
