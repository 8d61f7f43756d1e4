/*
 * failover.h - tandem-failover: the glue between keepalived and Tandem.
 *
 *   genconf.c  keepalived.conf from the appliance config (pure: config in,
 *              text out through a FILE*)
 *   birdconf.c bird.conf (BIRD 2) for a switch behind an ECMP router
 *              (config "bgp"; pure like genconf.c)
 *   hook.c     `notify`: keepalived's state changes -> lbd and syncd roles;
 *              `check`: keepalived's track_script, healthy only when lbd
 *              answers and syncd holds the peer's table (or has no peer)
 */
#ifndef TANDEM_FAILOVER_H
#define TANDEM_FAILOVER_H

#include <stdio.h>

#include "lib/config.h"

/* With vrrp.groups: group gi is a sync group "tandem-NAME" of its client
 * instance and the storage instance (the first group, when there are
 * storage gateways: keepalived refuses an instance without addresses),
 * else a lone instance "client-NAME" with its own notify line. */
static inline int group_has_storage(const struct config *cfg, unsigned gi)
{
	return gi == 0 && cfg->vrrp.ngw > 0;
}

/* Write keepalived.conf for cfg: scripts run cfg->vrrp.notify (tandem-failover)
 * with config_path, which must be absolute.  0 / -1. */
int genconf_write(FILE *out, const struct config *cfg, const char *config_path);

/* Write bird.conf for cfg's "bgp" section; config_path names the source
 * in the header comment.  0 / -1 (no "bgp", or a write error). */
int birdconf_write(FILE *out, const struct config *cfg, const char *config_path);
/* keepalived notify: argv = TYPE NAME STATE [PRIORITY].  Exit code. */
int hook_notify(const struct config *cfg, int argc, char **argv);
/* track_script: 0 healthy, 1 not (reason on stderr). */
int hook_check(const struct config *cfg, int verbose);

#endif
