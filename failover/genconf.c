/*
 * genconf.c - keepalived.conf for a Tandem switch.
 *
 * Active-standby (no vrrp.groups): two VRRPv3 instances in one sync group,
 * so they always move together:
 *   client   on client_interface: the VIPs (and client-side gateways);
 *   storage  on storage_interface: the storage LAN's gateway, so the nodes'
 *            replies (direct server return) follow the takeover too.
 * Both track the interfaces and tandem-failover's check (lbd alive, syncd
 * holds the peer's table): a switch that lost its daemons or has not
 * pulled the table yet goes to FAULT and cannot be master.  The notify
 * hook tells lbd and syncd their role.  garp_lower_prio_repeat makes the
 * surviving master announce itself again when a split brain heals (it hears
 * the other side's lower-priority adverts), and garp_master_refresh
 * repeats them every 2 s in case it never hears one.
 */
#include "failover.h"

#include <string.h>

/* What one vrrp_instance carries: the VIPs of one group (all of them
 * without groups), the gateways or not, its id and priority, and the
 * notify line of a lone instance (no sync group around it). */
struct inst {
	const char *name, *dev;
	unsigned vrid, priority;
	int client;		/* the client side: VIPs (and client gateways) */
	int group;		/* index into vrrp.groups; -1: every VIP */
	int gateways;		/* carries the gateways of its side */
	int notify;		/* a lone instance: its own notify line */
};

static void addr_list(FILE *o, const struct config *cfg, const struct inst *in, int family)
{
	char a[TADDR_STRLEN];

	for (unsigned i = 0; i < cfg->nvips; i++)
		if (cfg->vips[i].addr.family == family && !cfg->vips[i].bgp &&
		    (in->group < 0 || cfg->vips[i].group == in->group))
			fprintf(o, "        %s/%d dev %s\n", taddr_fmt(&cfg->vips[i].addr, a, sizeof(a)),
				family == 4 ? 32 : 128, in->dev);
}

static int is_v6(const char *gw)
{
	return strchr(gw, ':') != NULL;
}

/* VRRPv3 instances are single-family: the other family's addresses
 * move with the instance as "excluded" (not in adverts). */
static void addresses(FILE *o, const struct config *cfg, const struct inst *in, int fam)
{
	const struct cfg_vrrp *v = &cfg->vrrp;
	unsigned ngw = !in->gateways ? 0 : in->client ? v->ncgw : v->ngw;
	const char (*gw)[64] = in->client ? v->client_gw : v->gateway;

	for (int excl = 0; excl < 2; excl++) {
		int f = excl ? (fam == 4 ? 6 : 4) : fam;
		fprintf(o, "    virtual_ipaddress%s {\n", excl ? "_excluded" : "");
		if (in->client)
			addr_list(o, cfg, in, f);
		for (unsigned i = 0; i < ngw; i++)
			if (is_v6(gw[i]) == (f == 6))
				fprintf(o, "        %s dev %s\n", gw[i], in->dev);
		fprintf(o, "    }\n");
	}
}

static void instance(FILE *o, const struct config *cfg, const struct inst *in,
		     const char *config_path)
{
	const struct cfg_vrrp *v = &cfg->vrrp;
	char a[TADDR_STRLEN];
	int fam = v->unicast_peer.family ? v->unicast_peer.family : 4;

	fprintf(o, "vrrp_instance %s {\n", in->name);
	fprintf(o, "    state BACKUP\n");
	fprintf(o, "    interface %s\n", in->dev);
	fprintf(o, "    virtual_router_id %u\n", in->vrid);
	fprintf(o, "    priority %u\n", in->priority);
	fprintf(o, "    advert_int %u.%02u\n", v->advert_int_ms / 1000, (v->advert_int_ms % 1000) / 10);
	if (!v->preempt)
		fprintf(o, "    nopreempt\n");
	fprintf(o, "    garp_master_delay 1\n    garp_master_repeat 3\n");
	fprintf(o, "    garp_lower_prio_repeat 3\n");
	/* ... and the master repeats its GARPs: after a split brain heals the
	 * other side may step down without ever advertising to us (then the
	 * line above never fires); this bounds how long clients keep its MAC. */
	fprintf(o, "    garp_master_refresh 2\n    garp_master_refresh_repeat 1\n");
	if (v->unicast_peer.family) {
		fprintf(o, "    unicast_src_ip %s\n", taddr_fmt(&v->unicast_src, a, sizeof(a)));
		fprintf(o, "    unicast_peer {\n        %s\n    }\n",
			taddr_fmt(&v->unicast_peer, a, sizeof(a)));
	}
	addresses(o, cfg, in, fam);
	/* an instance tracks its own interface anyway: name the other one */
	fprintf(o, "    track_interface {\n        %s\n    }\n",
		in->client ? cfg->storage_if : cfg->client_if);
	fprintf(o, "    track_script {\n        tandem_check\n    }\n");
	if (in->notify)
		fprintf(o, "    notify \"%s -c %s notify\"\n", v->notify, config_path);
	fprintf(o, "}\n\n");
}

/*
 * Active-active (vrrp.groups): the first group is a sync group of its
 * client instance and the storage instance (the gateways follow it: one
 * storage gateway is enough, doc/failover.md says why); every other group,
 * and the first one without storage gateways, is a lone instance with its
 * own notify line (keepalived drops a sync group of one member).  The preferred switch of a group gives it
 * "priority", the other one "backup_priority": crossed priorities.
 */
static void groups_write(FILE *o, const struct config *cfg, const char *config_path)
{
	const struct cfg_vrrp *v = &cfg->vrrp;
	char name[64];

	for (unsigned g = 0; g < v->ngroups; g++) {
		const struct cfg_vrrp_group *gr = &v->groups[g];
		unsigned prio = gr->preferred == cfg->sync.switch_id ? v->priority : v->backup_priority;
		struct inst in = { .name = name, .dev = cfg->client_if, .vrid = gr->router_id,
				   .priority = prio, .client = 1, .group = (int)g,
				   .gateways = g == 0, .notify = !group_has_storage(cfg, g) };
		if (group_has_storage(cfg, g)) {
			fprintf(o, "vrrp_sync_group tandem-%s {\n", gr->name);
			fprintf(o, "    group {\n        client-%s\n        storage\n    }\n", gr->name);
			fprintf(o, "    notify \"%s -c %s notify\"\n", v->notify, config_path);
			fprintf(o, "}\n\n");
		}
		snprintf(name, sizeof(name), "client-%s", gr->name);
		instance(o, cfg, &in, config_path);
		if (group_has_storage(cfg, g)) {
			struct inst st = { .name = "storage", .dev = cfg->storage_if,
					   .vrid = v->router_id + 1, .priority = prio, .group = 0,
					   .gateways = 1 };
			instance(o, cfg, &st, config_path);
		}
	}
}

int genconf_write(FILE *o, const struct config *cfg, const char *config_path)
{
	const char *self = cfg->vrrp.notify;

	if (!cfg->vrrp.enabled)
		return -1;
	fprintf(o, "# Generated by tandem-failover from %s: edit that file, not this one.\n\n",
		config_path);
	fprintf(o, "global_defs {\n");
	fprintf(o, "    router_id tandem-%s-%u\n", cfg->instance, cfg->sync.switch_id);
	fprintf(o, "    vrrp_version 3\n");
	/* With adverts every 20 ms the backup declares the master dead after
	 * 3 missed ones plus its skew (72 ms at priority 100): a VRRP process
	 * that waits behind busy CPUs for that long makes a takeover nobody
	 * asked for.  Real-time scheduling (SCHED_RR; the kernel's RT throttling
	 * bounds it) and locked memory keep its adverts and its timers on time
	 * under any load (doc/failover.md).  keepalived also limits the CPU
	 * time it may use between two blocking calls (RLIMIT_RTTIME), 10 ms by
	 * default, and past it the kernel kills the VRRP process: the packets
	 * that the kernel processes when it sends (softirq work charged to the
	 * sender) took it past 10 ms on a saturated lab switch, and the
	 * respawned process started as BACKUP: a takeover.  200 ms still stops
	 * a process that would spin. */
	if (cfg->vrrp.rt_priority)
		fprintf(o, "    vrrp_rt_priority %u\n    vrrp_rlimit_rttime 200000\n    vrrp_no_swap\n",
			cfg->vrrp.rt_priority);
	fprintf(o, "    script_user root\n");
	/* keepalived then runs scripts only from paths no other user can write */
	fprintf(o, "    enable_script_security\n");
	/* keepalived's own VRRP MIBs (KEEPALIVED-MIB, VRRPv3-MIB) through the
	 * same snmpd as tandem-agentx: an AgentX subagent on that socket */
	if (cfg->vrrp.snmp_socket[0]) {
		fprintf(o, "    enable_snmp_vrrp\n    enable_snmp_rfcv3\n");
		fprintf(o, "    snmp_socket %s\n", cfg->vrrp.snmp_socket);
	}
	fprintf(o, "}\n\n");
	fprintf(o, "vrrp_script tandem_check {\n");
	fprintf(o, "    script \"%s -c %s check\"\n", self, config_path);
	fprintf(o, "    interval 1\n    timeout 2\n    rise 1\n    fall 2\n");
	fprintf(o, "}\n\n");
	if (cfg->vrrp.ngroups) {
		groups_write(o, cfg, config_path);
		return ferror(o) ? -1 : 0;
	}
	fprintf(o, "vrrp_sync_group tandem {\n");
	fprintf(o, "    group {\n        client\n        storage\n    }\n");
	fprintf(o, "    notify \"%s -c %s notify\"\n", self, config_path);
	fprintf(o, "}\n\n");
	struct inst cl = { .name = "client", .dev = cfg->client_if, .vrid = cfg->vrrp.router_id,
			   .priority = cfg->vrrp.priority, .client = 1, .group = -1, .gateways = 1 };
	struct inst st = { .name = "storage", .dev = cfg->storage_if, .vrid = cfg->vrrp.router_id + 1,
			   .priority = cfg->vrrp.priority, .group = -1, .gateways = 1 };
	instance(o, cfg, &cl, config_path);
	instance(o, cfg, &st, config_path);
	return ferror(o) ? -1 : 0;
}
