/*
 * vrrp_state.h - keepalived's state as the kernel shows it: whether a VRRP
 * group's addresses are on this host's interfaces now.
 *
 * Why: keepalived runs the notify hook as a new process per transition, and
 * under load two hooks of a quick flap (MASTER, then BACKUP within a
 * millisecond: a backup that missed adverts and heard the master again)
 * can reach lbd and syncd in the wrong order, which left lbd "master" for
 * minutes while keepalived was backup (bench foload).  keepalived sets a
 * group's addresses before it runs the MASTER hook and removes them before
 * the BACKUP/FAULT one, so when a hook's word arrives the addresses say
 * which transition came last: a "master" while none of the group's VIPs is
 * here, or a "backup"/"fault" while all are, is an overtaken word.
 */
#ifndef TANDEM_VRRP_STATE_H
#define TANDEM_VRRP_STATE_H

#include <stddef.h>

#include "lib/addr.h"
#include "lib/config.h"

/* Whether the VRRP-moved VIPs of group gi (-1: every VIP, the pair's one
 * group) are among have[0..nhave): 1 all, 0 none, -1 some, or the group
 * has none (nothing to tell by).  BGP VIPs never move by VRRP: left out. */
int vrrp_vips_present(const struct config *cfg, int gi, const struct taddr *have, size_t nhave);

/* 1 when role ("master", "backup", "fault", "init") contradicts present
 * (vrrp_vips_present's answer): the word was overtaken by a later one. */
int vrrp_role_stale(const char *role, int present);

/* The addresses on this host's interfaces (getifaddrs), up to cap; their
 * number, or -1 with errno. */
int host_addrs(struct taddr *out, size_t cap);

/* Both steps for a daemon: whether role for group gi is overtaken, by the
 * addresses here now (0 when they cannot be read: the word is applied). */
int vrrp_role_overtaken(const struct config *cfg, int gi, const char *role);

#endif
