/*
 * check.h - the unit tests' tiny harness: TAP-like lines, exit status 0 only
 * when every check passed.  Header-only so each test is one file.
 */
#ifndef TANDEM_CHECK_H
#define TANDEM_CHECK_H

#include <stdio.h>

struct check_state {
	int n, failed;
};

static struct check_state check_st;

#define CHECK(cond, ...) do {						\
	check_st.n++;							\
	if (cond) {							\
		printf("ok %d - ", check_st.n);				\
	} else {							\
		check_st.failed++;					\
		printf("not ok %d - (%s:%d) ", check_st.n, __FILE__, __LINE__); \
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

static inline int check_done(void)
{
	printf("# %d checks, %d failed\n", check_st.n, check_st.failed);
	return check_st.failed ? 1 : 0;
}

#endif
