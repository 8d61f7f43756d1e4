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

int parse_sync(struct jconf *p, json_t *o, struct cfg_sync *s);
/* After "vips" (groups name them) and "sync". */
int parse_vrrp(struct jconf *p, json_t *o, struct config *cfg);
/* After "vips" and "vrrp". */
int parse_dns(struct jconf *p, json_t *o, struct config *cfg);
/* After "sync" (config_dir.c). */
int parse_directory(struct jconf *p, json_t *o, struct config *cfg);

#endif
