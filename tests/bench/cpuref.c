/*
 * cpuref - the machine-speed reference of results files: a fixed amount of
 * single-threaded integer work, timed, so that figures measured on other
 * machines or days (fuzzing executions per second, benchmarks) can be put
 * side by side: "this machine did the reference in N ms of CPU".
 *
 * The work: STEPS xorshift64 steps, each with a branch the predictor
 * cannot learn and a load and a store in a 4 KiB table (L1): what a
 * parser does, more than what a vector unit does.  CPU time is the
 * process's own clock (other work on the machine changes it little);
 * wall time says how much the machine was shared.
 *
 * Usage: cpuref [STEPS]  (default 2^28: about 1 s on a recent x86 core).  Prints
 *   cpu_ms=N wall_ms=N steps=N check=HEX
 * Exit 0; 2 on a bad argument.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double ms(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The work; its result is printed, so none of it can be left out. */
static uint64_t work(uint64_t steps)
{
	static uint32_t tab[1024];
	uint64_t x = 88172645463325252ull, s = 0;

	for (uint64_t i = 0; i < steps; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x & 1)
			s += x >> 3;
		else
			s ^= x * 3;
		s += tab[x & 1023];
		tab[(x >> 10) & 1023] ^= (uint32_t)s;
	}
	return s;
}

int main(int argc, char **argv)
{
	uint64_t steps = 1ull << 28;
	char *end;

	if (argc > 2 || (argc == 2 && ((steps = strtoull(argv[1], &end, 0)) == 0 || *end))) {
		fprintf(stderr, "usage: cpuref [STEPS]\n");
		return 2;
	}
	double c0 = ms(CLOCK_PROCESS_CPUTIME_ID), w0 = ms(CLOCK_MONOTONIC);
	uint64_t check = work(steps);
	double c1 = ms(CLOCK_PROCESS_CPUTIME_ID), w1 = ms(CLOCK_MONOTONIC);

	printf("cpu_ms=%.0f wall_ms=%.0f steps=%" PRIu64 " check=%016" PRIx64 "\n", c1 - c0,
	       w1 - w0, steps, check);
	return 0;
}
