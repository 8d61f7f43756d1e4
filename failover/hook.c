/*
 * hook.c - what keepalived runs: the notify hook and the track script.
 *
 * notify: keepalived calls `tandem-failover -c CONF notify GROUP tandem STATE`
 * for the sync group (and INSTANCE lines for each instance, which we ignore:
 * the group's state is the switch's role).  With vrrp.groups (active-active)
 * each group has lines and a role of its own (notify_group).  The role goes
 * to lbd and syncd over their control sockets; a daemon that does not answer
 * is logged, not fatal: the check script is what demotes a switch whose
 * daemons died.
 */
#include "failover.h"

#include <string.h>
#include <strings.h>
#include "lib/ctl.h"
#include "lib/log.h"

static json_t *status(const char *sock, const char *cmd, char *err, size_t errlen);

/* Tell the daemon at sock its role (for group, or the whole switch when
 * group is NULL); peer_ready (-1: not said) whether the peer switch could
 * take the group over (lbd withdraws its DNS records when it could not). */
static int tell(const char *sock, const char *role, const char *group, int peer_ready, char *err,
		size_t errlen)
{
	/* kernel_check: the daemon drops this word if keepalived's addresses
	 * show a later transition (two hooks of a flap can arrive out of order:
	 * lib/vrrp_state.h) */
	json_t *req = json_pack("{s:s, s:s, s:b}", "cmd", "role", "role", role, "kernel_check", 1);
	json_t *rep;
	int ok;

	if (group)
		json_object_set_new(req, "group", json_string(group));
	if (peer_ready >= 0)
		json_object_set_new(req, "peer_ready", json_boolean(peer_ready));
	rep = ctl_request(sock, req, 2000, err, errlen);
	ok = rep && json_is_true(json_object_get(rep, "ok"));
	if (rep && !ok)
		snprintf(err, errlen, "%s: %s", sock, json_string_value(json_object_get(rep, "error")));
	json_decref(req);
	json_decref(rep);
	return ok ? 0 : -1;
}

/* Whether the peer switch is alive and holds our table (so it can take a
 * group over), as syncd sees it: 1 or 0 (also when syncd does not answer,
 * or there is no pair). */
static int peer_ready(const struct config *cfg)
{
	char err[300];
	json_t *st = cfg->sync.enabled ? status(cfg->sync.control_socket, "status", err, sizeof(err)) : NULL;
	json_t *peer = st ? json_object_get(st, "peer") : NULL;
	int r = peer && json_is_true(json_object_get(peer, "alive")) &&
		json_is_true(json_object_get(peer, "synced"));

	json_decref(st);
	return r;
}

/*
 * Which group a notify line is about.  Without vrrp.groups: the sync group
 * "tandem" speaks for the switch (*group NULL), its instances' lines are
 * ignored.  With groups (genconf.c, group_has_storage): the sync group
 * "tandem-G" of the first group and the lone instances "client-G" of the
 * others; the instance lines of a group in a sync group are ignored.  1: handle the line; 0: ignore it.
 */
static int notify_group(const struct config *cfg, const char *type, const char *name,
			const char **group)
{
	*group = NULL;
	if (!cfg->vrrp.ngroups)
		return !strcasecmp(type, "GROUP") && !strcmp(name, "tandem");
	if (!strcasecmp(type, "GROUP") && !strncmp(name, "tandem-", 7) &&
	    config_group_index(cfg, name + 7) == 0 && group_has_storage(cfg, 0)) {
		*group = name + 7;
		return 1;
	}
	if (!strcasecmp(type, "INSTANCE") && !strncmp(name, "client-", 7) &&
	    config_group_index(cfg, name + 7) >= 0 &&
	    !group_has_storage(cfg, (unsigned)config_group_index(cfg, name + 7))) {
		*group = name + 7;
		return 1;
	}
	return 0;
}

int hook_notify(const struct config *cfg, int argc, char **argv)
{
	char err[300];
	const char *role, *group;
	int rc = 0, ready;

	if (argc < 3) {
		fprintf(stderr, "tandem-failover: notify needs TYPE NAME STATE\n");
		return 2;
	}
	if (!notify_group(cfg, argv[0], argv[1], &group))
		return 0;
	if (!strcasecmp(argv[2], "MASTER"))
		role = "master";
	else if (!strcasecmp(argv[2], "BACKUP"))
		role = "backup";
	else if (!strcasecmp(argv[2], "FAULT") || !strcasecmp(argv[2], "STOP"))
		role = "fault";
	else {
		fprintf(stderr, "tandem-failover: unknown state %s\n", argv[2]);
		return 2;
	}
	/* the system log (journald natively when it runs: lib/log.h), as
	 * keepalived's own lines; a failure also on stderr, for keepalived's
	 * log and whoever runs the hook by hand */
	log_init("tandem-failover", 1, 0);
	ready = peer_ready(cfg);
	log_event(LOG_NOTICE, "failover_notify", KV_S("type", argv[0]), KV_S("name", argv[1]),
		  KV_S("role", role), KV_S("group", group), KV_S("peer_ready", ready ? "yes" : "no"));
	if (tell(cfg->control_socket, role, group, ready, err, sizeof(err)) < 0) {
		log_event(LOG_WARNING, "failover_notify_failed", KV_S("daemon", "tandem-lbd"),
			  KV_S("role", role), KV_S("group", group), KV_S("reason", err));
		fprintf(stderr, "tandem-failover: lbd: %s\n", err);
		rc = 1;
	}
	if (cfg->sync.enabled && tell(cfg->sync.control_socket, role, group, -1, err, sizeof(err)) < 0) {
		log_event(LOG_WARNING, "failover_notify_failed", KV_S("daemon", "tandem-syncd"),
			  KV_S("role", role), KV_S("group", group), KV_S("reason", err));
		fprintf(stderr, "tandem-failover: syncd: %s\n", err);
		rc = 1;
	}
	return rc;
}

static json_t *status(const char *sock, const char *cmd, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	json_t *rep = ctl_request(sock, req, 1500, err, errlen);

	json_decref(req);
	if (rep && !json_is_true(json_object_get(rep, "ok"))) {
		snprintf(err, errlen, "%s: not ok", sock);
		json_decref(rep);
		return NULL;
	}
	return rep;
}

int hook_check(const struct config *cfg, int verbose)
{
	char err[300];
	/* "ready", not "status": status walks the whole flow table */
	json_t *st = status(cfg->control_socket, "ready", err, sizeof(err));

	if (!st) {
		fprintf(stderr, "tandem-failover check: lbd: %s\n", err);
		return 1;
	}
	/* lbd answers but its nodes are not settled yet (just started) */
	if (json_is_false(json_object_get(st, "ready"))) {
		fprintf(stderr, "tandem-failover check: lbd not ready: %s\n",
			json_string_value(json_object_get(st, "not_ready")) ?
			json_string_value(json_object_get(st, "not_ready")) : "?");
		json_decref(st);
		return 1;
	}
	json_decref(st);
	if (cfg->sync.enabled) {
		st = status(cfg->sync.control_socket, "status", err, sizeof(err));
		if (!st) {
			fprintf(stderr, "tandem-failover check: syncd: %s\n", err);
			return 1;
		}
		int ready = json_is_true(json_object_get(st, "ready"));
		json_decref(st);
		if (!ready) {
			fprintf(stderr, "tandem-failover check: syncd does not hold the peer's table yet\n");
			return 1;
		}
	}
	if (verbose)
		printf("healthy\n");
	return 0;
}
