/*
 * session_handoff.c - an HTTP session as the handoff engine moves it
 * (storage/handoff/handoff.h, struct ho_conn_ops): finding sessions, and
 * the handoff interface of session.c (session_pause ... session_restore)
 * behind the engine's table.  Built only on what http.h exports (its
 * functions and struct session).
 */
#include "http.h"
#include "storage/handoff/handoff.h"
#include "lib/err.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- lookups ---- */

/* A session by id (a JSON integer) or client endpoint ("a.b.c.d:port");
 * paused ones are not found. */
static void *http_find(struct nasd *n, const json_t *sel)
{
	char buf[TADDR_STRLEN + 10];

	if (json_is_integer(sel)) {
		struct session *s = session_find(n, (uint64_t)json_integer_value(sel));
		return s && !s->paused ? s : NULL;
	}
	const char *want = json_string_value(sel);
	if (!want)
		return NULL;
	for (struct session *s = n->sessions; s; s = s->next)
		if (!s->paused && !strcmp(handoff_endpoint(&s->peer, buf, sizeof(buf)), want))
			return s;
	return NULL;
}

/* A socket address as the data plane keys it: a v4-mapped IPv6 address as
 * IPv4 (port 0 if it is neither). */
static void plain_taddr(const struct sockaddr_storage *ss, struct taddr *a, uint16_t *port)
{
	if (taddr_from_sockaddr(ss, a, port) < 0)
		*port = 0;
	if (a->family == 6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a->a)) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = 4;
	}
}

/* The session of a flow-table key: client endpoint and local (VIP) endpoint
 * as the data plane keys it; else the client endpoint alone. */
static void *http_of_key(struct nasd *n, const struct lb_flow_key *k)
{
	struct session *by_peer = NULL;

	for (struct session *s = n->sessions; s; s = s->next) {
		struct taddr pa, la;
		uint16_t pp, lp;
		struct lb_flow_key sk;
		if (s->paused)
			continue;
		plain_taddr(&s->peer, &pa, &pp);
		plain_taddr(&s->local, &la, &lp);
		flowkey_make(&sk, &pa, pp, &la, lp, k->proto);
		if (!memcmp(&sk, k, sizeof(sk)))
			return s;
		if (!by_peer && sk.family == k->family && sk.sport == k->sport &&
		    !memcmp(sk.saddr, k->saddr, sizeof(sk.saddr)))
			by_peer = s;
	}
	return by_peer;
}

static void *http_by_id(struct nasd *n, uint64_t id)
{
	return session_find(n, id);
}

static uint64_t *http_list(struct nasd *n, size_t *count)
{
	size_t cnt = n->nsessions, k = 0;
	uint64_t *ids = calloc(cnt ? cnt : 1, sizeof(*ids));

	if (!ids)
		return NULL;
	for (struct session *s = n->sessions; s && k < cnt; s = s->next)
		ids[k++] = s->id;
	*count = k;
	return ids;
}

static unsigned http_live(struct nasd *n)
{
	unsigned live = 0;

	for (struct session *s = n->sessions; s; s = s->next)
		live += !s->paused;
	return live;
}

/* ---- the old node's side ---- */

static int http_fd(const void *conn)
{
	const struct session *s = conn;

	return s->io.fd;
}

static uint64_t http_id(const void *conn)
{
	const struct session *s = conn;

	return s->id;
}

static const char *http_unmovable(const void *conn)
{
	const struct session *s = conn;

	return s->paused ? "paused" : s->phase == PH_LINGER ? "lingering" : NULL;
}

static int http_pause(void *conn)
{
	return session_pause(conn);
}

static void http_resume(void *conn)
{
	session_resume(conn);
}

static ssize_t http_snapshot(const void *conn, uint8_t *buf, size_t cap)
{
	return session_snapshot(conn, buf, cap);
}

static int http_release(void *conn)
{
	return session_release(conn);
}

/* ---- the new node's side ---- */

/* A blob's path field as a C string; 0, or -1 if it does not fit. */
static int blob_str(struct sst_bytes b, char *buf, size_t cap)
{
	if (b.len >= cap)
		return -1;
	memcpy(buf, b.p, b.len);
	buf[b.len] = '\0';
	return 0;
}

/* The blob's file must be the same version here, an upload's temp file
 * reachable (session_restore would refuse them after the old node closed:
 * the engine checks before COMPLETE). */
static int http_precheck(struct nasd *n, const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	struct session_state ss;
	char derr[128], path[SST_MAX_NAME * 4 + 2];
	struct export_ref ref;

	if (session_state_decode(blob, len, &ss, derr, sizeof(derr)) < 0)
		return err_set(err, errlen, "bad session state: %s", derr);
	if (ss.has_file) {
		struct export_file f;
		if (blob_str(ss.file_path, path, sizeof(path)) < 0)
			return err_set(err, errlen, "file path too long");
		if (export_find(&n->cfg, path, &ref) < 0 || export_open_file(&ref, &f) != 0)
			return err_set(err, errlen, "file %.200s not served here", path);
		close(f.fd);
		if (f.size != ss.file_size || f.mtime_ns != ss.file_mtime_ns)
			return err_set(err, errlen, "file %.200s: another version here", path);
	}
	if (ss.has_upload) {	/* the temp file must be reachable here (shared storage) */
		char tmp[SST_MAX_NAME + 1];
		struct export_upload u;
		if (blob_str(ss.up_path, path, sizeof(path)) < 0 ||
		    blob_str(ss.up_tmp, tmp, sizeof(tmp)) < 0)
			return err_set(err, errlen, "upload path too long");
		if (export_find(&n->cfg, path, &ref) < 0 || !ref.ex->writable ||
		    export_upload_reopen(&ref, tmp, ss.up_received, &u) < 0)
			return err_set(err, errlen, "upload %.200s: temp file not here", path);
		export_upload_abort(&u, 0);	/* close, keep it: session_restore reopens it */
	}
	return 0;
}

static void *http_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len, char *err,
			  size_t errlen)
{
	return session_restore(n, fd, blob, len, err, errlen);
}

/* ---- a move scheduled by remote.c (data location) ---- */

static void http_hold(void *conn)
{
	struct session *s = conn;

	s->held = 1;
	session_watch(s);
}

static void http_unhold(void *conn)
{
	struct session *s = conn;

	s->held = 0;
	s->kick = 1;	/* once even without an event: its next request may be buffered */
	session_watch(s);
}

/* The handoff pauses it; a session that stays gets its I/O back in
 * http_move_end. */
static void http_move_begin(void *conn)
{
	struct session *s = conn;

	s->held = 0;
}

static void http_move_end(struct nasd *n, uint64_t id, int moved)
{
	struct session *s = session_find(n, id);

	if (moved)
		n->st.dl_home_ok++;
	else
		n->st.dl_home_failed++;
	if (s && !s->paused) {
		s->kick = 1;
		session_watch(s);
	}
}

static struct ho_pin *http_pin_of(void *conn)
{
	return &((struct session *)conn)->pin;
}

const struct ho_conn_ops session_handoff_ops = {
	.service = "http",
	.label = "HTTP",
	.noun = "session",
	.find = http_find,
	.of_key = http_of_key,
	.by_id = http_by_id,
	.list = http_list,
	.live = http_live,
	.fd = http_fd,
	.id = http_id,
	.unmovable = http_unmovable,
	.pause = http_pause,
	.resume = http_resume,
	.snapshot = http_snapshot,
	.release = http_release,
	.blob_max = SST_MAX_BLOB,
	.precheck = http_precheck,
	.restore = http_restore,
	.hold = http_hold,
	.unhold = http_unhold,
	.move_begin = http_move_begin,
	.move_end = http_move_end,
	.pin_of = http_pin_of,
};
