/*
 * bpfstats.c - run-time statistics of one BPF program, for `make bench`.
 *
 * Prints {"id":N,"name":"...","run_time_ns":N,"run_cnt":N} for the program
 * chosen by one of:
 *   -i IFNAME   the tc ingress filter on IFNAME (in the current network
 *               namespace) with handle/priority -H/-P (default 1/1, what
 *               tandem-lbd attaches)
 *   -p ID       program id
 *   -n NAME     the only loaded program called NAME (fails if several)
 * run_time_ns/run_cnt only move while kernel.bpf_stats_enabled=1.
 *
 * Exit: 0 printed, 1 not found / error, 2 usage.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Info of program id into *info; returns 0 or -1. */
static int prog_info(__u32 id, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int by_name(const char *name, __u32 *out)
{
	struct bpf_prog_info info;
	__u32 id = 0;
	int found = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		if (prog_info(id, &info) < 0 || strcmp(info.name, name) != 0)
			continue;
		found++;
		*out = id;
	}
	if (found != 1) {
		fprintf(stderr, "bpfstats: %d programs named '%s' (want exactly 1)\n", found, name);
		return -1;
	}
	return 0;
}

static int by_tc(const char *ifname, __u32 handle, __u32 prio, __u32 *out)
{
	int ifindex = (int)if_nametoindex(ifname), err;

	if (ifindex == 0) {
		fprintf(stderr, "bpfstats: no interface '%s' here\n", ifname);
		return -1;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = prio);
	err = bpf_tc_query(&hook, &opts);
	if (err) {
		fprintf(stderr, "bpfstats: no tc ingress filter %u/%u on %s: %s\n", handle, prio,
			ifname, strerror(-err));
		return -1;
	}
	*out = opts.prog_id;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bpfstats -i IFNAME [-H HANDLE] [-P PRIO] | -p ID | -n NAME\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bpf_prog_info info;
	const char *ifname = NULL, *name = NULL;
	__u32 id = 0, handle = 1, prio = 1;
	int opt;

	while ((opt = getopt(argc, argv, "i:H:P:p:n:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'H': handle = (__u32)strtoul(optarg, NULL, 0); break;
		case 'P': prio = (__u32)strtoul(optarg, NULL, 0); break;
		case 'p': id = (__u32)strtoul(optarg, NULL, 0); break;
		case 'n': name = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (!!ifname + !!name + (id != 0)) != 1)
		usage();
	if (ifname && by_tc(ifname, handle, prio, &id) < 0)
		return 1;
	if (name && by_name(name, &id) < 0)
		return 1;
	if (prog_info(id, &info) < 0) {
		fprintf(stderr, "bpfstats: program %u: %s\n", id, strerror(errno));
		return 1;
	}
	printf("{\"id\":%u,\"name\":\"%s\",\"run_time_ns\":%llu,\"run_cnt\":%llu}\n", info.id,
	       info.name, (unsigned long long)info.run_time_ns, (unsigned long long)info.run_cnt);
	return 0;
}
