/*
 * dataplane.c - the BPF side of lbd: load lb.bpf.o, pin its maps under
 * <bpffs>/tandem/<instance>/ (reusing pinned maps, so a restarted lbd finds
 * every flow where it left it), attach the program, and read counters.
 *
 * Attachment is deliberately left in place when lbd exits: the data plane
 * keeps forwarding established flows while lbd restarts (tc keeps its own
 * reference to the program).  A new lbd replaces the filter atomically.
 */
#include "lbd.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

static const char *const verdict_names[LB_V_MAX] = {
	[LB_V_PASS_NOT_IP] = "pass_not_ip",
	[LB_V_PASS_NOT_VIP] = "pass_not_vip",
	[LB_V_FWD_HIT] = "fwd_hit",
	[LB_V_FWD_NEW] = "fwd_new",
	[LB_V_FWD_MIDSTREAM] = "fwd_midstream",
	[LB_V_FWD_REHASH_SYN] = "fwd_rehash_syn",
	[LB_V_FWD_REHASH_DOWN] = "fwd_rehash_down",
	[LB_V_PASS_TRUNC_L2] = "pass_trunc_l2",
	[LB_V_DROP_TRUNC_L3] = "drop_trunc_l3",
	[LB_V_DROP_TRUNC_L4] = "drop_trunc_l4",
	[LB_V_DROP_FRAGMENT] = "drop_fragment",
	[LB_V_DROP_EXTHDR] = "drop_exthdr",
	[LB_V_DROP_NO_NODE] = "drop_no_node",
	[LB_V_DROP_REDIRECT] = "drop_redirect",
	[LB_V_IP_OPTIONS] = "ip_options",
	[LB_V_PASS_ICMP] = "pass_icmp",
	[LB_V_EVENTS_LOST] = "events_lost",
	[LB_V_PASS_OTHER_HOST] = "pass_other_host",
	[LB_V_FWD_UNTRACKED] = "fwd_untracked",
	[LB_V_FWD_PINNED] = "fwd_pinned",
};

const char *dp_verdict_name(int v)
{
	return v >= 0 && v < LB_V_MAX && verdict_names[v] ? verdict_names[v] : "unknown";
}

static int mkdir_p(const char *path)
{
	char tmp[256];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * A pinned map keeps its size; libbpf would refuse to reuse it with an
 * unhelpful message.  Say what the operator must do instead.
 */
static int check_pinned_size(const struct dataplane *dp, const char *name, uint32_t want,
			     const char *what)
{
	char path[sizeof(dp->pin_dir) + 32];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;	/* not pinned yet: will be created */
	memset(&info, 0, sizeof(info));
	int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (rc < 0) {
		log_warn("%s: cannot inspect pinned map", path);
		return -1;
	}
	if (info.max_entries != want) {
		log_warnx("%s: pinned map has %u entries but the configuration asks for %u (%s); "
			  "to resize, stop lbd and remove %s (this drops every flow)",
			  path, info.max_entries, want, what, dp->pin_dir);
		return -1;
	}
	return 0;
}

static int open_names_map(struct dataplane *dp)
{
	char path[sizeof(dp->pin_dir) + 32];

	snprintf(path, sizeof(path), "%s/lb_node_names", dp->pin_dir);
	dp->fd_names = bpf_obj_get(path);
	if (dp->fd_names >= 0)
		return 0;
	dp->fd_names = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_node_names", sizeof(__u32),
				      NODE_NAME_LEN, LB_MAX_NODES, NULL);
	if (dp->fd_names < 0 || bpf_obj_pin(dp->fd_names, path) < 0) {
		log_warn("%s: cannot create node name map", path);
		return -1;
	}
	return 0;
}

static int map_fd(struct dataplane *dp, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(dp->obj, name);

	if (!m) {
		log_warnx("BPF object has no map %s", name);
		return -1;
	}
	return bpf_map__fd(m);
}

/* The program attached to the client interface. */
static const char *attach_prog(const struct config *cfg)
{
	return cfg->attach == CFG_ATTACH_XDP ? "lb_xdp" : "lb_tc";
}

static int attach(struct dataplane *dp, const struct config *cfg)
{
	const char *pname = attach_prog(cfg);
	struct bpf_program *prog = bpf_object__find_program_by_name(dp->obj, pname);
	int ifindex = (int)if_nametoindex(cfg->client_if);
	int err;

	if (!prog) {
		log_warnx("BPF object has no program %s", pname);
		return -1;
	}
	if (!ifindex) {
		log_warn("client_interface %s", cfg->client_if);
		return -1;
	}
	dp->attach_ifindex = ifindex;
	if (cfg->attach == CFG_ATTACH_XDP) {
		err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), 0, NULL);
		if (err) {
			errno = -err;
			log_warn("XDP attach to %s", cfg->client_if);
			return -1;
		}
		return 0;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("tc clsact on %s", cfg->client_if);
		return -1;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1,
			    .prog_fd = bpf_program__fd(prog), .flags = BPF_TC_F_REPLACE);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		errno = -err;
		log_warn("tc attach to %s ingress", cfg->client_if);
		return -1;
	}
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* bpf_tc_hook_create on an existing clsact (every restart) makes the
	 * kernel say this; we handle -EEXIST, so it is noise. */
	if (strstr(msg, "Exclusivity flag on"))
		return 0;
	return fputs(msg, stderr);
}

/* Open obj_path with the configured map sizes and load it (only the
 * program we attach, and lb_repoint).  0, or -1 after logging. */
static int load_object(struct dataplane *dp, const struct config *cfg, const char *obj_path)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = dp->pin_dir);
	const char *pname = attach_prog(cfg);
	struct bpf_program *p;
	struct bpf_map *m;
	int err;

	dp->obj = bpf_object__open_file(obj_path, &oopts);
	if (!dp->obj) {
		log_warn("%s: cannot open BPF object", obj_path);
		return -1;
	}
	m = bpf_object__find_map_by_name(dp->obj, LB_PIN_FLOWS);
	if (!m || bpf_map__set_max_entries(m, cfg->flow_table_size))
		goto bad_obj;
	m = bpf_object__find_map_by_name(dp->obj, LB_PIN_MAGLEV);
	if (!m || bpf_map__set_max_entries(m, (uint32_t)dp->maglev_entries))
		goto bad_obj;
	m = bpf_object__find_map_by_name(dp->obj, LB_PIN_FLOW_PINS);
	if (!m || bpf_map__set_max_entries(m, dp->pin_table_size))
		goto bad_obj;
	bpf_object__for_each_program(p, dp->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "lb_repoint") ||
					     !strcmp(bpf_program__name(p), pname));
	err = bpf_object__load(dp->obj);
	if (err) {
		errno = -err;
		log_warn("%s: load failed (pinned maps in %s from an incompatible build? "
			 "remove that directory)", obj_path, dp->pin_dir);
		return -1;
	}
	return 0;
bad_obj:
	log_warnx("%s: not a Tandem data-plane object (maps missing)", obj_path);
	return -1;
}

/* The loaded object's map and lb_repoint descriptors, and the Maglev map's
 * mmap.  0, or -1 after logging (every missing map is named). */
static int find_maps(struct dataplane *dp, const char *obj_path)
{
	const struct {
		const char *name;
		int *fd;
	} maps[] = {
		{ LB_PIN_FLOWS, &dp->fd_flows },	{ LB_PIN_SVCS, &dp->fd_svcs },
		{ LB_PIN_MAGLEV, &dp->fd_maglev },	{ LB_PIN_NODES, &dp->fd_nodes },
		{ LB_PIN_NODE_STATS, &dp->fd_node_stats }, { LB_PIN_SVC_STATS, &dp->fd_svc_stats },
		{ LB_PIN_VERDICTS, &dp->fd_verdicts },	{ LB_PIN_VIP_ADDRS, &dp->fd_vip_addrs },
		{ LB_PIN_REPL_Q, &dp->fd_repl_q },	{ LB_PIN_CONFIG, &dp->fd_config },
		{ LB_PIN_FLOW_PINS, &dp->fd_pins },
	};
	struct bpf_program *rp;
	int missing = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		*maps[i].fd = map_fd(dp, maps[i].name);
		missing |= *maps[i].fd < 0;
	}
	if (missing)
		return -1;
	rp = bpf_object__find_program_by_name(dp->obj, "lb_repoint");
	dp->fd_repoint = rp ? bpf_program__fd(rp) : -1;
	if (dp->fd_repoint < 0) {
		log_warnx("%s: no lb_repoint program", obj_path);
		return -1;
	}
	dp->maglev = mmap(NULL, dp->maglev_entries * sizeof(uint32_t), PROT_READ | PROT_WRITE,
			  MAP_SHARED, dp->fd_maglev, 0);
	if (dp->maglev == MAP_FAILED) {
		dp->maglev = NULL;
		log_warn("mmap of the Maglev map");
		return -1;
	}
	return 0;
}

uint32_t dp_pin_table_size(const struct config *cfg)
{
	uint32_t n = cfg->flow_table_size / DP_PIN_DIV;

	return n < DP_PIN_MIN ? DP_PIN_MIN : n;
}

uint32_t dp_insert_rate(const struct config *cfg)
{
	uint32_t n = cfg->flow_table_size / DP_TURNOVER_S;

	return n < DP_INSERT_MIN ? DP_INSERT_MIN : n;
}

/*
 * The verdict counters are the one pinned map a new build grows (a verdict
 * appended): libbpf would refuse the old pin and lbd would not start.  They
 * are only counters: start them over, and say so.  0 / -1 (logged).
 */
static int renew_verdicts(const struct dataplane *dp)
{
	char path[sizeof(dp->pin_dir) + 32];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, LB_PIN_VERDICTS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (rc == 0 && info.max_entries == LB_V_MAX)
		return 0;
	log_warnx("%s: %u verdict counters pinned, this build has %u: the counters start over",
		  path, info.max_entries, LB_V_MAX);
	if (unlink(path) < 0) {
		log_warn("%s", path);
		return -1;
	}
	return 0;
}

int dp_svcs_changed(struct dataplane *dp)
{
	struct lb_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->fd_config, &zero, &c) < 0)
		return -1;
	c.svc_gen++;
	return bpf_map_update_elem(dp->fd_config, &zero, &c, BPF_ANY);
}

int dp_write_config(struct dataplane *dp, const uint8_t *mac)
{
	struct lb_config c;
	__u32 zero = 0;

	memset(&c, 0, sizeof(c));
	if (bpf_map_lookup_elem(dp->fd_config, &zero, &c) < 0)
		memset(&c, 0, sizeof(c));
	if (mac)
		memcpy(c.mac, mac, 6);
	c.insert_rate = dp->insert_rate;
	return bpf_map_update_elem(dp->fd_config, &zero, &c, BPF_ANY);
}

int dp_open(struct dataplane *dp, const struct config *cfg, const char *obj_path)
{
	memset(dp, 0, sizeof(*dp));
	dp->fd_names = -1;
	libbpf_set_print(libbpf_log);
	dp->ncpus = libbpf_num_possible_cpus();
	dp->pin_table_size = dp_pin_table_size(cfg);
	/* per CPU: the data plane counts per CPU (no shared counter) */
	dp->insert_rate = (dp_insert_rate(cfg) + (uint32_t)dp->ncpus - 1) / (uint32_t)dp->ncpus;
	dp->maglev_size = cfg->maglev_size;
	dp->flow_table_size = cfg->flow_table_size;
	dp->maglev_entries = (size_t)LB_MAX_SVCS * 2 * cfg->maglev_size;
	dp->attach = cfg->attach;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s/tandem/%s", cfg->bpffs, cfg->instance);
	if (mkdir_p(dp->pin_dir) < 0) {
		log_warn("%s (is %s a mounted bpffs?)", dp->pin_dir, cfg->bpffs);
		return -1;
	}
	if (check_pinned_size(dp, LB_PIN_FLOWS, cfg->flow_table_size, "flow_table_size") < 0 ||
	    check_pinned_size(dp, LB_PIN_MAGLEV, (uint32_t)dp->maglev_entries,
			      "64 services x 2 x maglev_size") < 0 ||
	    check_pinned_size(dp, LB_PIN_FLOW_PINS, dp->pin_table_size,
			      "flow_table_size / 8: the pinned flows") < 0 ||
	    renew_verdicts(dp) < 0)
		return -1;
	if (open_names_map(dp) < 0 || load_object(dp, cfg, obj_path) < 0 ||
	    find_maps(dp, obj_path) < 0)
		return -1;
	if (dp_write_config(dp, NULL) < 0) {
		log_warn("%s: lb_config", dp->pin_dir);
		return -1;
	}
	return attach(dp, cfg);
}

void dp_close(struct dataplane *dp)
{
	if (dp->maglev)
		munmap(dp->maglev, dp->maglev_entries * sizeof(uint32_t));
	dp->maglev = NULL;
	if (dp->obj)
		bpf_object__close(dp->obj);
	dp->obj = NULL;
	if (dp->fd_names >= 0)
		close(dp->fd_names);
	dp->fd_names = -1;
}

int dp_sum_counters(struct dataplane *dp, int fd, uint32_t idx, struct lb_counters *out)
{
	struct lb_counters per[dp->ncpus];

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &idx, per) < 0)
		return -1;
	for (int c = 0; c < dp->ncpus; c++) {
		out->packets += per[c].packets;
		out->bytes += per[c].bytes;
		out->new_flows += per[c].new_flows;
	}
	return 0;
}

int dp_verdicts(struct dataplane *dp, uint64_t out[LB_V_MAX])
{
	__u64 per[dp->ncpus];

	for (uint32_t v = 0; v < LB_V_MAX; v++) {
		out[v] = 0;
		if (bpf_map_lookup_elem(dp->fd_verdicts, &v, per) < 0)
			return -1;
		for (int c = 0; c < dp->ncpus; c++)
			out[v] += per[c];
	}
	return 0;
}

void dp_count_lost(struct dataplane *dp)
{
	__u64 per[dp->ncpus];
	__u32 v = LB_V_EVENTS_LOST;

	if (bpf_map_lookup_elem(dp->fd_verdicts, &v, per) == 0) {
		per[0]++;
		bpf_map_update_elem(dp->fd_verdicts, &v, per, BPF_ANY);
	}
}

int dp_repoint(struct dataplane *dp, const struct lb_flow_key *k, uint32_t node_id,
	       uint32_t flags_set, uint32_t flags_clear)
{
	struct lb_repoint_args a = { .key = *k, .node_id = node_id, .flags_set = flags_set,
				     .flags_clear = flags_clear };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (bpf_prog_test_run_opts(dp->fd_repoint, &o) < 0)
		return -1;
	return (int)o.retval;
}
