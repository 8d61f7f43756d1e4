/*
 * hook.c - what keepalived runs: the notify hook and the track script.
 *
 * notify: keepalived calls `tandem-failover -c CONF notify GROUP tandem STATE`
 * for the sync group (and INSTANCE lines for each instance, which we ignore:
 * the group's state is the switch's role).  The role goes to lbd and syncd
 * over their control sockets; a daemon that does not answer is logged, not
 * fatal: the check script is what demotes a switch whose daemons died.
 */
#include "failover.h"

#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "lib/ctl.h"

static int tell(const char *sock, const char *role, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:s}", "cmd", "role", "role", role);
	json_t *rep = ctl_request(sock, req, 2000, err, errlen);
	int ok = rep && json_is_true(json_object_get(rep, "ok"));

	if (rep && !ok)
		snprintf(err, errlen, "%s: %s", sock, json_string_value(json_object_get(rep, "error")));
	json_decref(req);
	json_decref(rep);
	return ok ? 0 : -1;
}

int hook_notify(const struct config *cfg, int argc, char **argv)
{
	char err[300];
	const char *role;
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "tandem-failover: notify needs TYPE NAME STATE\n");
		return 2;
	}
	if (strcasecmp(argv[0], "GROUP"))
		return 0;	/* per-instance lines: the group speaks for the switch */
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
	openlog("tandem-failover", LOG_PID, LOG_DAEMON);
	syslog(LOG_NOTICE, "VRRP group %s: %s", argv[1], role);
	if (tell(cfg->control_socket, role, err, sizeof(err)) < 0) {
		syslog(LOG_WARNING, "lbd: %s", err);
		fprintf(stderr, "tandem-failover: lbd: %s\n", err);
		rc = 1;
	}
	if (cfg->sync.enabled && tell(cfg->sync.control_socket, role, err, sizeof(err)) < 0) {
		syslog(LOG_WARNING, "syncd: %s", err);
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
