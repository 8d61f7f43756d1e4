/*
 * rpc_step.h - one libnfs raw-RPC call at a time, for the test tools on
 * libnfs (nfs_pipeline, nlm_client): queue a call with rpc_step_cb as its
 * callback and the rpc_step as its private pointer (or a struct whose first
 * member is the rpc_step), then rpc_step_wait.  While waiting, the tool's
 * own sockets (nlm_client's callback and portmapper sockets) are served too.
 */
#ifndef TANDEM_TOOLS_RPC_STEP_H
#define TANDEM_TOOLS_RPC_STEP_H

#include <poll.h>
#include <stdint.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>

#define RPC_STEP_EXTRA 2
#define RPC_STEP_WAIT_MS 20000	/* a call unanswered this long has failed */

struct rpc_step {
	struct rpc_context *rpc;
	int done, status;	/* the call's end, its RPC_STATUS_* */
	void *result;		/* its result: valid until the next call into libnfs */
	char err[256];
	/* the tool's own descriptors (-1: none), and what to do when one is
	 * readable: on_extra returns 1 to end the wait (rpc_step_serve's 1) */
	int extra_fd[RPC_STEP_EXTRA];
	int (*on_extra)(void *arg, int index);
	void *arg;
};

/* A step on ctx, no extra descriptors. */
void rpc_step_init(struct rpc_step *s, struct rpc_context *ctx);
uint64_t rpc_step_now_ms(void);
/* libnfs's callback for a step's call (priv: the rpc_step). */
void rpc_step_cb(struct rpc_context *rpc, int status, void *data, void *priv);
/* Serve the context (and the extra descriptors) until *flag (flag NULL:
 * only on_extra or the deadline ends it), on_extra says so, or deadline
 * (CLOCK_MONOTONIC ms).  0 (*flag), 1 (on_extra), -1 (error, timeout: err). */
int rpc_step_serve(struct rpc_step *s, const int *flag, uint64_t deadline_ms);
/* Wait for the call just queued (rc: its queueing result).  0, or -1 (err). */
int rpc_step_wait(struct rpc_step *s, int rc);

#endif
