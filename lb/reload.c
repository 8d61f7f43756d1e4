/*
 * reload.c - SIGHUP / "reload": re-read the configuration and apply it
 * without touching flows.  An invalid file changes nothing.
 */
#include "lbd.h"

#include <string.h>

#include "lib/log.h"

/* Settings that shape pinned maps or attachment cannot change on reload. */
static int reload_compatible(const struct config *a, const struct config *b)
{
	const char *what = NULL;

	if (strcmp(a->instance, b->instance))
		what = "instance";
	else if (strcmp(a->bpffs, b->bpffs))
		what = "bpffs";
	else if (strcmp(a->client_if, b->client_if))
		what = "client_interface";
	else if (strcmp(a->storage_if, b->storage_if))
		what = "storage_interface";
	else if (a->attach != b->attach)
		what = "attach";
	else if (a->flow_table_size != b->flow_table_size)
		what = "flow_table_size";
	else if (a->maglev_size != b->maglev_size)
		what = "maglev_size";
	else if (strcmp(a->control_socket, b->control_socket))
		what = "control_socket";
	if (what)
		log_warnx("reload: \"%s\" changed; that needs a restart of lbd", what);
	return what == NULL;
}

int lbd_reload(struct lbd *l)
{
	static struct config ncfg;	/* large: keep it off the stack */
	char err[512];

	if (config_load(l->config_path, &ncfg, err, sizeof(err)) < 0) {
		log_warnx("reload: %s", err);
		return -1;
	}
	if (!reload_compatible(&l->cfg, &ncfg))
		return -1;
	l->cfg = ncfg;
	if (sched_apply_config(l) < 0 || health_setup(l) < 0) {
		log_warnx("reload: could not apply");
		return -1;
	}
	roles_config(l);
	dns_config(l);
	netmon_refresh(l);
	sched_update(l);
	cluster_apply(l);	/* a new generation even if "nfs" did not change (logged on failure) */
	l->reloads++;
	log_info("reloaded %s: %u node(s), %u VIP(s), %u service(s)", l->config_path,
		 l->cfg.nnodes, l->cfg.nvips, l->nsvcs);
	return 0;
}
