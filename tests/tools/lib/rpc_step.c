/*
 * rpc_step.c - one libnfs raw-RPC call at a time (rpc_step.h).
 */
#include "rpc_step.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void rpc_step_init(struct rpc_step *s, struct rpc_context *ctx)
{
	memset(s, 0, sizeof(*s));
	s->rpc = ctx;
	for (int i = 0; i < RPC_STEP_EXTRA; i++)
		s->extra_fd[i] = -1;
}

uint64_t rpc_step_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rpc_step_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct rpc_step *s = priv;

	(void)rpc;
	s->done = 1;
	s->status = status;
	s->result = data;
	if (status != RPC_STATUS_SUCCESS)
		snprintf(s->err, sizeof(s->err), "%s", status == RPC_STATUS_ERROR && data ?
			 (const char *)data : "cancelled");
}

int rpc_step_serve(struct rpc_step *s, const int *flag, uint64_t deadline_ms)
{
	while (!flag || !*flag) {
		struct pollfd p[1 + RPC_STEP_EXTRA] = {
			{ .fd = rpc_get_fd(s->rpc), .events = (short)rpc_which_events(s->rpc) } };
		for (int i = 0; i < RPC_STEP_EXTRA; i++)
			p[1 + i] = (struct pollfd){ .fd = s->extra_fd[i], .events = POLLIN };
		if (rpc_step_now_ms() > deadline_ms) {
			snprintf(s->err, sizeof(s->err), "no answer in time");
			return -1;
		}
		if (poll(p, 1 + RPC_STEP_EXTRA, 50) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < RPC_STEP_EXTRA; i++)
			if ((p[1 + i].revents & POLLIN) && s->on_extra && s->on_extra(s->arg, i) == 1)
				return 1;
		if (rpc_service(s->rpc, p[0].revents) < 0) {
			snprintf(s->err, sizeof(s->err), "%s", rpc_get_error(s->rpc));
			return -1;
		}
	}
	return 0;
}

int rpc_step_wait(struct rpc_step *s, int rc)
{
	if (rc < 0) {
		snprintf(s->err, sizeof(s->err), "%s", rpc_get_error(s->rpc));
		return -1;
	}
	/* done is reset after the wait, not before: a callback run before
	 * this (the call queued, then answered within a service of another
	 * wait) is not lost */
	int rc2 = rpc_step_serve(s, &s->done, rpc_step_now_ms() + RPC_STEP_WAIT_MS);
	s->done = 0;
	if (rc2 < 0)
		return -1;
	return s->status == RPC_STATUS_SUCCESS ? 0 : -1;
}
