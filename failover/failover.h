/*
 * failover.h - tandem-failover: the glue between keepalived and Tandem.
 *
 *   genconf.c  keepalived.conf from the appliance config (pure: config in,
 *              text out through a FILE*)
 *   hook.c     `notify`: keepalived's state changes -> lbd and syncd roles;
 *              `check`: keepalived's track_script, healthy only when lbd
 *              answers and syncd holds the peer's table (or has no peer)
 */
#ifndef TANDEM_FAILOVER_H
#define TANDEM_FAILOVER_H

#include <stdio.h>

#include "lib/config.h"

/* Write keepalived.conf for cfg: scripts run cfg->vrrp.notify (tandem-failover)
 * with config_path, which must be absolute.  0 / -1. */
int genconf_write(FILE *out, const struct config *cfg, const char *config_path);

/* keepalived notify: argv = TYPE NAME STATE [PRIORITY].  Exit code. */
int hook_notify(const struct config *cfg, int argc, char **argv);
/* track_script: 0 healthy, 1 not (reason on stderr). */
int hook_check(const struct config *cfg, int verbose);

#endif
