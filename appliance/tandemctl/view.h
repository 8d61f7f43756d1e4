/*
 * view.h - human renderings of the read-only replies (status, nodes, vips,
 * flows, stats).  Each takes an ok:true reply object and tolerates missing
 * or mistyped fields, printing FMT_MISSING ("-") for them.
 */
#ifndef TANDEMCTL_VIEW_H
#define TANDEMCTL_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "commands.h"

void view_status(const struct ctl_args *a, const json_t *reply, FILE *out);
void view_nodes(const struct ctl_args *a, const json_t *reply, FILE *out);
void view_vips(const struct ctl_args *a, const json_t *reply, FILE *out);
void view_flows(const struct ctl_args *a, const json_t *reply, FILE *out);
void view_stats(const struct ctl_args *a, const json_t *reply, FILE *out);
void view_cluster(const struct ctl_args *a, const json_t *reply, FILE *out);
/* lbd's "bgp" object (status; withdraw/announce): the sessions, each VIP's route. */
void view_bgp(const json_t *bgp, FILE *out);
void view_group(const struct ctl_args *a, const json_t *reply, FILE *out);
/* tandem-nasd's "nfs-conns" (view_nasd.c): users and groups by name (NSS). */
void view_nfs_conns(const struct ctl_args *a, const json_t *reply, FILE *out);

#endif
