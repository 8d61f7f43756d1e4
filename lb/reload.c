/*
 * reload.c - SIGHUP / "reload": re-read the configuration and apply it
 * without touching flows.  An invalid file changes nothing.
 */
#include "lbd.h"

#include <string.h>

#include "lib/log.h"

/* Settings that shape pinned maps or attachment cannot change on reload. */
static int reload_compatible(const char *path, const struct config *a, const struct config *b)
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
		log_event(LOG_WARNING, "config_reload_failed", KV_S("path", path),
			  KV_S("reason", "a setting changed that needs a restart of lbd"),
			  KV_S("key", what));
	return what == NULL;
}

/* A refused reload's event; why may start with the path (config_load's
 * messages do), which the path field already says. */
static void reload_failed(const char *path, const char *why)
{
	size_t n = strlen(path);

	if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2))
		why += n + 2;
	log_event(LOG_WARNING, "config_reload_failed", KV_S("path", path), KV_S("reason", why));
}

int lbd_reload(struct lbd *l)
{
	static struct config ncfg;	/* large: keep it off the stack */
	char err[512];

	if (config_load(l->config_path, &ncfg, err, sizeof(err)) < 0) {
		reload_failed(l->config_path, err);
		return -1;
	}
	if (!reload_compatible(l->config_path, &l->cfg, &ncfg))
		return -1;
	l->cfg = ncfg;
	if (sched_apply_config(l) < 0 || health_setup(l) < 0) {
		reload_failed(l->config_path, "the data plane did not take it");
		return -1;
	}
	roles_config(l);
	dns_config(l);
	bgp_config(l);
	netmon_refresh(l);
	sched_update(l);
	cluster_apply(l);	/* a new generation even if "nfs" did not change (logged on failure) */
	l->reloads++;
	log_event(LOG_NOTICE, "config_reload", KV_S("path", l->config_path),
		  KV_U("nodes", l->cfg.nnodes), KV_U("vips", l->cfg.nvips), KV_U("services", l->nsvcs));
	return 0;
}
