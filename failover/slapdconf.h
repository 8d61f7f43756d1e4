/*
 * slapdconf.h - the pair's directory: slapd.conf for a switch (provider,
 * mirror mode) or a storage node (read-only replica), its listen URLs and
 * the directory's first entries, from the appliance config's "directory"
 * section (doc/directory.md).  slapdconf.c is pure; dircmd.c is the
 * `tandem-failover slapdconf` command around it.
 */
#ifndef TANDEM_SLAPDCONF_H
#define TANDEM_SLAPDCONF_H

#include <stdio.h>

#include "lib/config.h"

enum slapd_role { SLAPD_PROVIDER, SLAPD_REPLICA };

/* What the config does not say, or says for another host. */
struct slapd_opts {
	enum slapd_role role;
	const char *config_path;	/* named in the header comment */
	const char *root_pw;		/* provider: root_dn's password (also the peer's bind) */
	const char *replica_pw;		/* replica: replica_dn's password */
	const char *data_dir;		/* the mdb directory (default directory.data_dir) */
	const char *run_dir;		/* pid file and ldapi socket (default directory.run_dir) */
};

/* slapd.conf for op->role.  -1: not a "pair" directory, or a provider
 * whose switch is not one of the providers.  Passwords are in the text. */
int slapdconf_write(FILE *out, const struct config *cfg, const struct slapd_opts *op);
/* slapd -h's URL list into buf: a provider's own address, 127.0.0.1 and
 * the ldapi socket in run_dir; a replica's 127.0.0.1 and ldapi.  0 / -1. */
int slapdconf_urls(char *buf, size_t len, const struct config *cfg, const struct slapd_opts *op);
/* LDIF of the suffix entry, ou=people/groups/netgroup/hosts and the
 * replicas' bind entry (replica_dn must be "cn=...").  0 / -1. */
int slapdconf_init_ldif(FILE *out, const struct config *cfg, const char *replica_pw);
/* A storage node's nslcd.conf: its replica (pair) or the site's uri
 * (external), the base, bounded lookups.  -1 without a directory. */
int slapdconf_nslcd(FILE *out, const struct config *cfg);
/* A storage node's nsswitch.conf: passwd, group, netgroup and hosts from
 * the directory (through nslcd) after the files.  0 / -1. */
int slapdconf_nsswitch(FILE *out);
/* `tandem-failover slapdconf ...` (argv after the word).  Exit code. */
int slapdconf_cmd(const struct config *cfg, const char *config_path, int argc, char **argv);

#endif
