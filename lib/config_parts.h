/*
 * config_parts.h - the section parsers of config.c that live in their own
 * files (config_pair.c: "sync", "vrrp" with its groups, "dns";
 * config_dir.c: "directory").  Private to
 * the configuration parser: each fills its part of *cfg, 0 / -1 with the
 * message in p (lib/jsonconf.h).  o is the section's value, NULL if absent.
 */
#ifndef TANDEM_CONFIG_PARTS_H
#define TANDEM_CONFIG_PARTS_H

#include <jansson.h>

#include "config.h"
#include "jsonconf.h"

/* The VIP names of array arr into idx[] (each a name of cfg->vips, no
 * twice), *n of them.  0 / -1. */
int vip_names(struct jconf *p, json_t *arr, const struct config *cfg, uint8_t *idx, unsigned *n);
/* After "vips", before "vrrp" (marks its VIPs: VRRP leaves them alone). */
int parse_bgp(struct jconf *p, json_t *o, struct config *cfg);
int parse_sync(struct jconf *p, json_t *o, struct cfg_sync *s);
/* After "vips" (groups name them) and "sync". */
int parse_vrrp(struct jconf *p, json_t *o, struct config *cfg);
/* After "vips" and "vrrp". */
int parse_dns(struct jconf *p, json_t *o, struct config *cfg);
/* After "sync" (config_dir.c). */
int parse_directory(struct jconf *p, json_t *o, struct config *cfg);

#endif
