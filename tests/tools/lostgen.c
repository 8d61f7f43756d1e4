/*
 * lostgen.c - stands in for a data plane whose event ring overflows: adds
 * one to the events_lost counter of a pinned verdict map (lb_verdicts,
 * LB_V_EVENTS_LOST, the first CPU's slot) every MS milliseconds for
 * SECONDS, as lb.bpf.c does when bpf_ringbuf_reserve fails.  tandem-syncd
 * answers each move of that counter (tests/integration/
 * t_pair_resync_flood.sh: a sustained flood, without needing one).
 *
 * Usage: lostgen -m VERDICT_MAP [-e MS] [-t SECONDS]
 * Prints {"bumps":N}.  Exit: 0 done, 1 error, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb/lb_maps.h"

int main(int argc, char **argv)
{
	const char *map = NULL;
	double every_ms = 20, seconds = 10;
	int opt, fd, ncpu = libbpf_num_possible_cpus();
	unsigned long bumps = 0;
	struct timespec t0, now;

	while ((opt = getopt(argc, argv, "m:e:t:")) != -1) {
		switch (opt) {
		case 'm': map = optarg; break;
		case 'e': every_ms = atof(optarg); break;
		case 't': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: lostgen -m VERDICT_MAP [-e MS] [-t SECONDS]\n");
			return 2;
		}
	}
	if (!map || every_ms <= 0 || seconds <= 0 || ncpu <= 0) {
		fprintf(stderr, "usage: lostgen -m VERDICT_MAP [-e MS] [-t SECONDS]\n");
		return 2;
	}
	fd = bpf_obj_get(map);
	if (fd < 0) {
		fprintf(stderr, "lostgen: %s: %s\n", map, strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		__u64 per[ncpu];
		__u32 v = LB_V_EVENTS_LOST;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
		if (bpf_map_lookup_elem(fd, &v, per) == 0) {
			per[0]++;
			if (bpf_map_update_elem(fd, &v, per, BPF_ANY) == 0)
				bumps++;
		}
		usleep((useconds_t)(every_ms * 1000));
	}
	printf("{\"bumps\":%lu}\n", bumps);
	return 0;
}
