/*
 * half.c - the half handoff of an HTTP session (doc/tch.md "Half handoff"):
 * the client's next requests start on the new node while the old node is
 * still streaming a long reply, and the session moves once that reply is
 * out.
 *
 * The contract, and why it is this and no more:
 *
 *  - One TCP connection carries the replies in order, and only one node can
 *    own its send side.  So the new node N may *start* on the requests
 *    queued behind the long reply (parse them, resolve and open their files,
 *    read them into the page cache) but sends nothing until it owns the
 *    whole connection.  The old node O keeps the connection (both
 *    directions: the client's ACKs of the long reply must reach O's socket)
 *    until its reply is handed to the kernel, then the ordinary handoff
 *    (libtch, the blob) moves the session, with the queued requests in its
 *    input or in the socket's receive queue exactly as for any handoff.
 *  - O sends N a copy of those requests (PREPARE, storage/handoff/prepare.c):
 *    what the session has read but not parsed, and a MSG_PEEK of the receive
 *    queue (never consumed here: the handoff carries the real bytes).  A copy
 *    that is stale, cut or wrong costs N a wasted read-ahead, never a wrong
 *    byte: the replies are built from the requests the session itself
 *    parses once it is on N, with every access check of a normal request.
 *  - N's preparing is a read-ahead only (no client access check is needed
 *    for it: nothing leaves N, and the channel is authenticated), bounded
 *    to HALF_PREP_REQS requests and HALF_READAHEAD_MAX bytes each.
 *  - The move at the end of the reply is the operator's (it was asked for
 *    with the half handoff), so the node's own data-location policy does not
 *    veto it (handoff_schedule_op).  If it fails, the session stays on O and
 *    goes on serving its requests there; N's preparation expires.
 *  - A response that ends the connection (Connection: close), or a PUT
 *    whose body follows, cancels the half handoff (counted, logged).
 */
#include "http.h"
#include "storage/handoff/handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parse.h"
#include "lib/log.h"

#define HALF_REQ_MAX (64u * 1024)	/* request bytes one PREPARE carries */
#define HALF_PREP_REQS 64u		/* requests N starts on per PREPARE */
#define HALF_READAHEAD_MAX (64ull << 20)	/* read-ahead per file */

json_t *http_half_start(struct nasd *n, struct session *s, const char *to)
{
	uint8_t buf[HALF_REQ_MAX];
	size_t len = 0;
	struct lb_flow_key key;
	char client[TADDR_STRLEN + 10];

	if (s->phase != PH_SEND || s->file_fd < 0 || s->file_off >= s->file_end ||
	    s->after != SST_AFTER_NEXT || s->paused || s->held)
		return NULL;	/* no long reply to finish first: an ordinary handoff */
	if (handoff_flow_of(s->io.fd, &key, client, sizeof(client)) < 0)
		return NULL;
	len = s->in_len < sizeof(buf) ? s->in_len : sizeof(buf);
	memcpy(buf, s->in, len);
	ssize_t r = recv(s->io.fd, buf + len, sizeof(buf) - len, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0)
		len += (size_t)r;
	char err[160];
	int rc = handoff_prepare_send(n, to, &key, "http", buf, len, err, sizeof(err));
	if (rc < 0)
		return json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "outcome", "failed", "stage", "prepare",
				 "error", err);
	snprintf(s->half_to, sizeof(s->half_to), "%s", to);
	s->half_at_ns = loop_now_ns();
	n->st.half_started++;
	log_event(LOG_INFO, "half_handoff", KV_U("session", s->id), KV_S("client", client),
		  KV_S("peer", to), KV_U("request_bytes", len), KV_U("reply_left", s->file_end - s->file_off));
	return json_pack("{s:b, s:s, s:I, s:s, s:s, s:I, s:I}", "ok", 1, "outcome", "half",
			 "session", (json_int_t)s->id, "client", client, "to", to,
			 "request_bytes", (json_int_t)len, "reply_left",
			 (json_int_t)(s->file_end - s->file_off));
}

void http_half_response_done(struct session *s)
{
	struct nasd *n = s->nasd;

	if (!s->half_to[0])
		return;
	if (s->after != SST_AFTER_NEXT) {	/* closes, or a body follows: stays here */
		n->st.half_cancelled++;
		log_event(LOG_INFO, "half_handoff_cancelled", KV_U("session", s->id),
			  KV_S("peer", s->half_to), KV_S("why", s->after == SST_AFTER_BODY ?
							   "an upload body follows" : "the connection closes"));
	} else if (handoff_schedule_op(n, s, s->half_to) != HO_SCHED_OK) {
		n->st.half_cancelled++;
		log_event(LOG_WARNING, "half_handoff_cancelled", KV_U("session", s->id),
			  KV_S("peer", s->half_to), KV_S("why", "not scheduled"));
	} else {
		n->st.half_scheduled++;
	}
	s->half_to[0] = 0;
}

/* Start on one request head (N): a GET or HEAD of a file in an export is
 * opened and read ahead.  1 if it was, 0 if there was nothing to do. */
static int prepare_one(struct nasd *n, const struct http_req *r)
{
	char path[SST_MAX_PATH + 1];
	struct export_ref ref;
	struct export_file f;
	int st;

	if (r->method != HTTP_M_GET && r->method != HTTP_M_HEAD)
		return 0;
	if (http_path_clean(r->target.p, r->target.len, path, sizeof(path), &st) < 0 ||
	    export_find(&n->cfg, path, &ref) < 0 || export_open_file(&ref, &f) != 0)
		return 0;
	if (r->method == HTTP_M_GET && f.size)
		posix_fadvise(f.fd, 0, (off_t)(f.size < HALF_READAHEAD_MAX ? f.size : HALF_READAHEAD_MAX),
			      POSIX_FADV_WILLNEED);
	close(f.fd);
	return 1;
}

int http_half_prepare(struct nasd *n, const uint8_t *req, size_t len, unsigned *files)
{
	size_t off = 0;
	int seen = 0;

	*files = 0;
	while (off < len && seen < (int)HALF_PREP_REQS) {
		struct http_req r;
		http_req_init(&r);
		int hl = http_parse_request(&r, &n->lim, (const char *)req + off, len - off);
		if (hl <= 0)
			break;	/* cut at the copy's end, or not parseable: the session will say */
		seen++;
		*files += (unsigned)prepare_one(n, &r);
		off += (size_t)hl;
		if (r.has_length) {	/* a body we do not look at */
			if (r.content_length > len - off)
				break;
			off += (size_t)r.content_length;
		}
	}
	return seen;
}
