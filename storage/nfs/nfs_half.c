/*
 * nfs_half.c - the half handoff of an NFS connection (doc/tch.md "Half
 * handoff"; the contract is HTTP's, storage/http/half.c, with a reply in
 * progress being the one in out[]).
 *
 * Old node: a connection whose reply cannot be written out yet (out[] not
 * empty: a large READ against a slow reader) sends the new node a copy of
 * the calls behind it (what in[] holds and a MSG_PEEK of the receive
 * queue: record marks included, nothing consumed) and moves at the call
 * boundary once that reply is out: nfs_half_boundary, from process(), with
 * the calls still unanswered in in[] or in the receive queue, as for any
 * handoff.  New node: each READ in the copy whose handle is this
 * export's is opened and its range read ahead; nothing is answered from
 * the copy, and no client access check is made (nothing leaves the node).
 */
#include "nfs_int.h"
#include "nfs3_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

#define HALF_REQ_MAX (64u * 1024)	/* stream bytes one PREPARE carries */
#define HALF_PREP_CALLS 64u		/* calls the new node starts on per PREPARE */
#define NFS_PROG 100003u
#define NFS3_PROC_READ 6u

json_t *nfs_half_start(struct nasd *n, struct nfs_conn *c, const char *to)
{
	uint8_t buf[HALF_REQ_MAX];
	struct lb_flow_key key;
	char client[TADDR_STRLEN + 10], err[160];

	if (c->out_off >= c->out_len || c->paused || c->held || c->waiting || c->from_peer)
		return NULL;	/* no reply to finish first: an ordinary handoff */
	if (handoff_flow_of(c->io.fd, &key, client, sizeof(client)) < 0)
		return NULL;
	size_t len = c->in_len < sizeof(buf) ? c->in_len : sizeof(buf);
	memcpy(buf, c->in, len);
	ssize_t r = recv(c->io.fd, buf + len, sizeof(buf) - len, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0)
		len += (size_t)r;
	if (handoff_prepare_send(n, to, &key, "nfs", buf, len, err, sizeof(err)) < 0)
		return json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "outcome", "failed", "stage", "prepare",
				 "error", err);
	snprintf(c->half_to, sizeof(c->half_to), "%s", to);
	n->st.half_started++;
	log_event(LOG_INFO, "half_handoff", KV_S("app", "nfs"), KV_U("session", c->id),
		  KV_S("client", client), KV_S("peer", to), KV_U("request_bytes", len),
		  KV_U("reply_left", c->out_len - c->out_off));
	char id[32];
	snprintf(id, sizeof(id), "nfs:%llu", (unsigned long long)c->id);
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I}", "ok", 1, "outcome", "half",
			 "session", id, "client", client, "to", to, "request_bytes", (json_int_t)len,
			 "reply_left", (json_int_t)(c->out_len - c->out_off));
}

int nfs_half_boundary(struct nfs_conn *c)
{
	struct nasd *n = c->srv->nasd;

	if (!c->half_to[0] || c->waiting || !nfs_conn_fits_blob(c))
		return 0;	/* (a large call half received: the boundary is after it) */
	int rc = handoff_schedule_nfs_op(n, c, c->half_to);
	c->half_to[0] = 0;
	if (rc != HO_SCHED_OK) {
		n->st.half_cancelled++;
		log_event(LOG_WARNING, "half_handoff_cancelled", KV_S("app", "nfs"), KV_U("session", c->id),
			  KV_S("why", "not scheduled"));
		return 0;
	}
	n->st.half_scheduled++;
	return 1;	/* held: the next call is the new node's */
}

/* Start on one call (a record's payload): a READ of a file of this export
 * is opened and its range read ahead.  1 if it was. */
static int prepare_call(struct nfs_server *s, const uint8_t *rec, size_t len)
{
	struct rpc_call call;
	struct nfs3_args a;
	struct nfs3_obj o;

	if (rpc_call_decode(rec, len, &call, NULL, 0) != RPC_DEC_OK || call.prog != NFS_PROG ||
	    call.vers != 3 || call.proc != NFS3_PROC_READ ||
	    nfs3_decode_args(call.proc, rec + call.args_off, len - call.args_off, s->cfg->max_io, &a,
			     NULL, 0) < 0 ||
	    nfs3_resolve(s, &a.u.read.fh, &o) != NFS3_OK)
		return 0;
	int ok = 0;
	if (S_ISREG(o.st.st_mode)) {
		int fd = nfs3_open_beneath(s->dirfd, o.rel, O_RDONLY | O_NOFOLLOW, 0);
		if (fd >= 0) {
			posix_fadvise(fd, (off_t)a.u.read.offset, (off_t)a.u.read.count, POSIX_FADV_WILLNEED);
			close(fd);
			ok = 1;
		}
	}
	nfs3_obj_close(&o);
	return ok;
}

int nfs_half_prepare(struct nasd *n, uint8_t *req, size_t len, unsigned *files)
{
	struct nfs_server *s = n->nfs;
	size_t off = 0;
	int seen = 0;

	*files = 0;
	if (!s)
		return 0;
	while (off < len && seen < (int)HALF_PREP_CALLS) {
		size_t raw, rl;
		if (rpc_record_scan(req + off, len - off, s->cfg->max_io + 4096, &raw, &rl) != RPC_REC_WHOLE)
			break;	/* cut at the copy's end, or not a record: the connection will say */
		rpc_record_gather(req + off, raw, req + off);
		seen++;
		*files += (unsigned)prepare_call(s, req + off, rl);
		off += raw;
	}
	return seen;
}
