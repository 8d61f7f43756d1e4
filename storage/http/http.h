/*
 * http.h - tandem-nasd's HTTP file service:
 *
 *   http_server.c    listeners, accept, the per-session HTTP state machine,
 *                    who may do what (exports' "clients", the write token)
 *   upload.c         PUT: the body into a temp file, disk reserved ahead
 *   http_response.c  response heads: status line, Date, ETag, Content-Range
 *   export.c         exports: resolving request paths beneath them (openat2),
 *                    opening files, PUT temp files and their atomic rename
 *   session.c        the session table: ids, timeouts, pacing, freeze/thaw,
 *                    snapshot to / restore from a session_state blob
 *   session_state.c  the blob codec (pure, fuzzed)
 *   http_parse.c     the request parser (pure, fuzzed)
 *   remote.c         data location: serving a file whose home is another
 *                    node, fetched from it (http_resp.c parses its answers)
 *
 * Ownership: struct nasd owns every session; a session owns its socket,
 * open file, temp file (and its name on disk: an unfinished upload is
 * unlinked when the session ends, unless session_release() hands it on).
 */
#ifndef TANDEM_NASD_HTTP_H
#define TANDEM_NASD_HTTP_H

#include <stdio.h>

#include "storage/nasd.h"
#include "session_state.h"

/* ---- export.c ---- */

/* What a request path resolves to. */
struct export_ref {
	const struct nasd_export *ex;
	const char *rel;		/* path below the export root, no leading '/' ("" = root) */
};

/* Open every export's directory (O_PATH) and check openat2 works.  0 / -1 (logged). */
int export_open_all(struct nasd_config *cfg);
void export_close_all(struct nasd_config *cfg);
/* Longest export URL prefix matching a clean path; 0, or -1 (no export: 404). */
int export_find(const struct nasd_config *cfg, const char *path, struct export_ref *ref);

/* What the exports, uploads and data location will do, a line each, for -t. */
void export_describe(const struct nasd_config *cfg, FILE *f);
/* Whether the client at peer may use export ex ("clients"; none: anyone): 1 or 0. */
int export_client_ok(const struct nasd_export *ex, const struct sockaddr_storage *peer);
/* Whether a PUT on the writable export ex, with the request's Authorization
 * field authz (p NULL: absent), may write: 0, or the status to answer: 401
 * (no bearer credentials), 403 (a token that is not the export's). */
int export_write_auth(const struct nasd_export *ex, struct http_slice authz);

struct export_file {
	int fd;
	uint64_t size;
	uint64_t mtime_ns;
};

/*
 * Open a regular file beneath its export for reading.  Returns 0, or the
 * HTTP status to answer: 404 (missing, a temp file), 403 (escapes the
 * export, a directory or special file, permission), 414, 500.
 */
int export_open_file(const struct export_ref *ref, struct export_file *f);

struct export_upload {
	int dirfd;			/* O_PATH of the target's directory */
	int fd;				/* the temp file, write-only */
	char name[SST_MAX_NAME + 1];	/* target basename */
	char tmp[SST_MAX_NAME + 1];	/* temp file name in that directory */
	int existed;			/* target existed: 204, else 201 */
};

/*
 * Start a PUT: open the target's directory, check the target, create the
 * temp file (no space reserved: export_upload_reserve does that as the body
 * comes).  Returns 0, or the status: 403 (read-only export, escapes it, a
 * temp file name), 409 (no such directory, target is a directory), 414,
 * 507, 500.  On failure nothing is left open or on disk.
 */
int export_upload_begin(const struct export_ref *ref, uint64_t id, struct export_upload *u);
/* Reserve disk for [off, off + len) of the temp file (fallocate, the size
 * unchanged), so a full disk is known before those bytes come.  0, 507 (no
 * space), or -1 (the filesystem cannot reserve: go on without). */
int export_upload_reserve(struct export_upload *u, uint64_t off, uint64_t len);
/* Reopen an upload's temp file after a handoff (restore): checks it holds at
 * least `received` bytes (cut to exactly that).  0, or -1 with errno. */
int export_upload_reopen(const struct export_ref *ref, const char *tmp, uint64_t received,
			 struct export_upload *u);
/* Finish: optional fsync, rename over the target.  0, or the status (500, 507). */
int export_upload_commit(struct export_upload *u, int do_fsync);
/* Abandon: close and unlink the temp file (unlink = 0: leave it on disk). */
void export_upload_abort(struct export_upload *u, int unlink_tmp);

/* Content-Type for a file name (by extension). */
const char *export_content_type(const char *name);

/* ---- sessions ---- */

enum sess_phase {
	PH_HEAD = 1,	/* waiting for / reading a request head */
	PH_SEND,	/* writing out[], then the file span if any */
	PH_BODY,	/* receiving a PUT body into the temp file */
	PH_LINGER,	/* final response sent, write side shut: discard input until EOF */
};

#define NASD_OUTBUF 4096	/* == SST_MAX_OUT */
#define NASD_INBUF SST_MAX_IN

struct session {
	struct loop_io io;
	struct nasd *nasd;
	struct session *prev, *next;
	uint64_t id;
	int phase;		/* enum sess_phase */
	int after;		/* enum sst_after: what follows PH_SEND */
	int keepalive;		/* the current request keeps the connection */
	int http10;		/* the current request is HTTP/1.0 */
	int kick;		/* run the state machine once even without I/O (restore) */
	int paused;		/* frozen for a handoff: out of the loop */
	int throttled;		/* over its rate: waiting for the pacer */
	uint32_t events;	/* epoll events registered */
	struct sockaddr_storage peer, local;

	/* input */
	char *in;		/* NASD_INBUF bytes */
	size_t in_len;
	struct http_req req;

	/* output: out[out_off, out_len) still to write */
	char out[NASD_OUTBUF];
	size_t out_off, out_len;

	/* file body: [file_off, file_end) of file_fd still to send */
	int file_fd;
	uint64_t file_off, file_end, file_size, file_mtime_ns;
	char *file_path;	/* export path (canonical), for the blob and listings */

	/* upload */
	struct export_upload up;
	int has_upload;
	uint64_t up_received, up_length;
	uint64_t up_ahead;	/* disk reserved past up_received (counted in nasd.reserved) */
	char *up_path;

	/* pacing: token bucket (bytes) */
	uint32_t rate;
	uint64_t tokens, tokens_ns;

	/* listing and counters */
	char method[12];
	char *target;		/* last request's path, for listings */
	int last_status;
	uint64_t requests, bytes_in, bytes_out;
	uint64_t started_ms, last_io_ms;
	uint64_t phase_ms;	/* PH_HEAD: first byte of the head (or idle since); others: entered */
	uint64_t credit;	/* pacing remainder, byte-nanoseconds */
	uint64_t linger_bytes;
	int restored;		/* rebuilt from a blob */
	/* data location (remote.c): the body comes from another node's file */
	int remote_home;	/* index into cfg.dl.homes, -1: a local file */
	int last_home;		/* home of the last remote response, -1 none */
	uint64_t fetch_end;	/* file_fd (a memfd) holds [.., fetch_end) */
	uint64_t fetched;	/* bytes fetched for this session, all responses */
	char remote_etag[64];	/* the home's version, checked on every fetch */
	int home_tried;		/* a handoff home was attempted */
	int held;		/* waiting for a scheduled handoff: no I/O */
	struct ho_pin pin;	/* an operator's move brought it here (storage/nasd.h) */
	struct remote_fetch *fetch;	/* a request to the home in flight, or a HEAD's answer
					 * not yet taken (remote_fetch.c); owned */
	int fetch_wait;		/* waiting for the home's answer or bytes: no I/O */
	int fetch_failed;	/* the piece could not be fetched: the response ends there */
	uint64_t punched;	/* file_fd (memfd) holds nothing below this (sent and acked) */
	/* half handoff (half.c): the peer the session moves to once this
	 * reply is out ("" none), and when it was asked for */
	char half_to[NASD_NAME_MAX + 1];
	uint64_t half_at_ns;
};

/* ---- http_server.c ---- */
/* What a step of the state machine returns. */
enum {
	STEP_CLOSE = -1,
	STEP_WAIT = 0,	/* would block: wait for the next event */
	STEP_AGAIN = 1,	/* progress: step again */
	STEP_DONE = 2,	/* inside do_send only: this part is finished, go on to the next */
};
#define STEP_BUDGET (4u << 20)		/* bytes per session per event */
/*
 * Queue a response with a short text body (NULL: "<status> <reason>") and
 * go to PH_SEND.  keepalive is honoured only when the request allows it;
 * head_only: HEAD (no body, same length); allow: an Allow field (405/501).
 * Returns the step (STEP_AGAIN, or STEP_CLOSE when it does not fit).
 */
int http_respond_text(struct session *s, int status, const char *text, int keepalive,
		      int head_only, const char *allow);
int http_respond_error(struct session *s, int status, int keepalive, int head_only);
int http_server_open(struct nasd *n);	/* listeners; 0 / -1 (logged) */
void http_server_close(struct nasd *n);
void http_server_tick(struct nasd *n);	/* once a second: resume accepting */
/* The loop callback of a session socket (session.c registers it). */
void http_session_io(struct loop *l, struct loop_io *io, uint32_t events);
/* Run a session's state machine until it would block (after a thaw or a
 * restore).  May close and free s. */
void http_session_run(struct session *s);

/* ---- upload.c ---- */
/* A PUT of path (clean; access_status allowed it) whose head r was just
 * consumed: 411/403/409/... or the temp file and PH_BODY (after a "100
 * Continue" when asked).  Returns the step. */
int upload_start(struct session *s, const char *path, const struct http_req *r);
/* PH_BODY: the body into the temp file, then the rename and the answer.
 * Returns the step. */
int upload_body(struct session *s);
/* The upload of s ends without a commit (the session closes, or is handed
 * on: unlink_tmp 0 keeps the temp file): its reservation is given back. */
void upload_end(struct session *s, int unlink_tmp);

/* ---- http_response.c ---- */
struct resp_hdr {
	int status;
	uint64_t length;		/* Content-Length */
	const char *content_type;	/* NULL: none */
	int has_validators;
	uint64_t mtime_ns, size;	/* Last-Modified / ETag */
	int has_range;
	uint64_t first, last, total;	/* Content-Range: bytes first-last/total */
	int unsatisfied;		/* Content-Range: bytes * / total */
	int keepalive;
	int http10;			/* the request was HTTP/1.0 */
	const char *allow;		/* Allow: (405/501) */
	const char *authenticate;	/* WWW-Authenticate: (401) */
};
/* Format a response head into buf.  Returns its length, or -1 if it does not fit. */
int http_response_head(const struct nasd *n, const struct resp_hdr *h, char *buf, size_t cap);
/* The strong ETag of a file version ("size-mtime" in hex, quoted). */
int http_etag(uint64_t size, uint64_t mtime_ns, char *buf, size_t cap);
/* IMF-fixdate of a time in ns since the epoch (buf >= 30). */
void http_date(uint64_t t_ns, char *buf, size_t cap);

/* ---- session.c ---- */
/* A new session for an accepted (non-blocking) socket.  NULL on failure
 * (fd closed). */
struct session *session_new(struct nasd *n, int fd);
/* Close the socket, files; unlink an unfinished upload; free. */
void session_close(struct session *s, const char *why);
/* (Re)register the epoll events the phase needs. */
void session_watch(struct session *s);
struct session *session_find(struct nasd *n, uint64_t id);
/* Periodic: timeouts.  Pacing: refill the throttled sessions. */
void session_tick(struct nasd *n);
void session_pace(struct nasd *n);
/* Pace the current response at rate bytes/s (0: unlimited); full bucket. */
void session_set_rate(struct session *s, uint32_t rate);
/* Take tokens for up to `want` bytes; returns the bytes allowed (0: throttled). */
uint64_t session_tokens(struct session *s, uint64_t want);
void session_spend(struct session *s, uint64_t used);
void session_throttle(struct session *s);

/*
 * Handoff interface (the agent calls these; see doc/nasd.md):
 *   session_pause    stop all I/O on s (out of the loop, timers ignore it):
 *                    its state no longer changes.  0, or -1 (EBUSY: lingering).
 *   session_snapshot encode s's application state into buf.  Returns the
 *                    length or -1 (errno).  Does not change s.
 *   session_resume   thaw after a failed handoff: s continues where it was.
 *   session_release  after a committed handoff: forget s without touching
 *                    the peer (no FIN/RST: the socket fd is returned for the
 *                    agent to close in repair mode), keep the temp file.
 *   session_restore  build a live session from a blob and a connected socket
 *                    (restored by libtch, out of repair mode).  NULL with a
 *                    message in err on failure: the caller still owns fd.
 */
int session_pause(struct session *s);
ssize_t session_snapshot(const struct session *s, uint8_t *buf, size_t cap);
void session_resume(struct session *s);
int session_release(struct session *s);
struct session *session_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len,
				char *err, size_t errlen);
/* The session_state view of a live session (byte fields point into s). */
void session_to_state(const struct session *s, struct session_state *st);
const char *session_phase_name(const struct session *s);

/* ---- remote.c ---- */
/* The home serving path when that is another node: index, else -1. */
int remote_home_for(const struct nasd *n, const char *path);
/* Before a GET/HEAD of path is taken: 1 when the session must wait for the
 * home's HEAD (started now; the session is woken when it is in), 0 to go
 * on (a local file, or the answer is in: remote_open takes it). */
int remote_prepare(struct session *s, const char *path);
/* Start a response from the home's copy of path, from the HEAD remote_prepare
 * got.  *f: a memfd of the file's size (filled piece by piece later), its
 * size and mtime.  0, or the HTTP status to answer (404, 403, 502, 503). */
int remote_open(struct session *s, const char *path, struct export_file *f);
/* The body reached the end of what was fetched: 0 the session waits (the
 * next piece is on its way, or a handoff home is scheduled: held), -1 the
 * piece could not be fetched (close). */
int remote_more(struct session *s);
/* Bytes of the memfd were sent: give back the memory of what the client
 * has acknowledged (punched). */
void remote_sent(struct session *s);
/* A response ended and the session stays: go home if it fetched enough. */
void remote_response_done(struct session *s);
json_t *remote_status(const struct nasd *n);

/* ---- half.c: the half handoff (doc/tch.md "Half handoff") ---- */
/* Old node: s is streaming a file reply: send peer `to` a copy of the
 * requests queued behind it (PREPARE) and move s there once the reply is
 * out.  The control reply (outcome "half", or "failed" at stage "prepare"),
 * or NULL when s has no such reply to finish first (the caller then runs an
 * ordinary handoff). */
json_t *http_half_start(struct nasd *n, struct session *s, const char *to);
/* A reply of s ended: if a half handoff waits for it, schedule the move
 * (or cancel it: the connection closes, or an upload body follows). */
void http_half_response_done(struct session *s);
/* New node: start on the request heads in req[0..len) (a PREPARE's copy):
 * each is parsed, and GETs and HEADs of files in the exports are opened
 * and read ahead (*files: how many).  Returns the heads parsed.  Never
 * sends anything. */
int http_half_prepare(struct nasd *n, const uint8_t *req, size_t len, unsigned *files);

/* ---- remote_fetch.c: one request to a home, on nasd's loop ---- */
enum { FETCH_HEAD = 1, FETCH_GET };
/*
 * Start a request to home h for s (s->fetch, which must be NULL): a HEAD of
 * path, or a GET of bytes [first, last] of s->file_path into s->file_fd at
 * their offsets.  It runs on the loop: s->fetch_wait is set by the caller
 * when it waits, and the fetch wakes s (clears it, kick) as bytes arrive
 * (s->fetch_end grows) and when it ends (s->fetch freed for a GET, or the
 * HEAD's answer kept for remote_head_answer; s->fetch_failed on a GET's
 * failure).  0, or -1 (logged; nothing started).
 */
int remote_fetch_start(struct session *s, int h, int kind, const char *path, uint64_t first,
		       uint64_t last);
/* The answer of the HEAD of path, when it is in: 0 with *f's size and
 * mtime and the ETag in etag[cap], or the status to answer (404, 403, 502);
 * -2 while it is on its way, -1 when none was asked (or for another path). */
int remote_head_answer(const struct session *s, const char *path, struct export_file *f,
		       char *etag, size_t cap);
/* Stop and forget whatever s->fetch is (pause, release, close, a new request). */
void remote_cancel(struct session *s);

#endif
