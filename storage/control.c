/*
 * control.c - tandem-nasd's commands on its control socket (doc/nasd.md);
 * the socket itself is lib/ctl_server.
 */
#include "nasd.h"
#include "storage/handoff/handoff.h"
#include "storage/http/http.h"
#include "storage/nfs/nfs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/log.h"

static json_t *dispatch(void *arg, const json_t *req)
{
	return control_dispatch(arg, req);
}

int control_open(struct nasd *n)
{
	if (ctl_server_open(&n->ctl, &n->loop, n->cfg.control_socket, dispatch, n) < 0) {
		log_warn("control socket %s", n->cfg.control_socket);
		return -1;
	}
	return 0;
}

void control_close(struct nasd *n)
{
	ctl_server_close(&n->ctl);
}

/* "a.b.c.d:port" / "[v6]:port" */
static json_t *endpoint(const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 10];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, sizeof(buf), "?");
	}
	return json_string(buf);
}

static json_t *ju(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *cmd_status(struct nasd *n)
{
	const struct nasd_stats *st = &n->st;
	json_t *r = ctl_ok(), *resp = json_object(), *ls = json_array(), *ex = json_array();
	char a[TADDR_STRLEN], buf[TADDR_STRLEN + 10];

	json_object_set_new(r, "node", json_string(n->cfg.node_name));
	json_object_set_new(r, "pid", json_integer(getpid()));
	json_object_set_new(r, "uptime_s", ju((loop_now_ms() - n->started_ms) / 1000));
	json_object_set_new(r, "config", json_string(n->config_path));
	json_object_set_new(r, "sessions", ju(n->nsessions));
	json_object_set_new(r, "max_sessions", ju(n->cfg.max_sessions));
	json_object_set_new(r, "sessions_total", ju(st->sessions_total));
	json_object_set_new(r, "sessions_restored", ju(st->sessions_restored));
	json_object_set_new(r, "sessions_released", ju(st->sessions_released));
	json_object_set_new(r, "refused_busy", ju(st->refused_busy));
	json_object_set_new(r, "throttled", ju(n->nthrottled));
	json_object_set_new(r, "requests", ju(st->requests));
	json_object_set_new(r, "bad_requests", ju(st->bad_requests));
	json_object_set_new(r, "uploads", ju(st->uploads));
	json_object_set_new(r, "timeouts", ju(st->timeouts));
	json_object_set_new(r, "bytes_served", ju(st->bytes_out));
	json_object_set_new(r, "bytes_received", ju(st->bytes_in));
	json_object_set_new(r, "body_bytes_served", ju(st->body_bytes_out));
	json_object_set_new(r, "body_bytes_received", ju(st->body_bytes_in));
	for (int c = 1; c <= 5; c++) {
		char k[8];
		snprintf(k, sizeof(k), "%dxx", c);
		json_object_set_new(resp, k, ju(st->status_class[c]));
	}
	json_object_set_new(r, "responses", resp);
	for (unsigned i = 0; i < n->cfg.nlisten; i++) {
		const struct nasd_listen *l = &n->cfg.listen[i];
		taddr_fmt(&l->addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), l->addr.family == 6 ? "[%s]:%u" : "%s:%u", a, l->port);
		json_array_append_new(ls, json_string(buf));
	}
	json_object_set_new(r, "listen", ls);
	for (unsigned i = 0; i < n->cfg.nexports; i++) {
		const struct nasd_export *e = &n->cfg.exports[i];
		json_array_append_new(ex, json_pack("{s:s, s:s, s:b}", "url", e->url, "path", e->path,
						    "writable", e->writable));
	}
	json_object_set_new(r, "exports", ex);
	json_object_set_new(r, "handoff", handoff_status(n));
	json_object_set_new(r, "data_location", remote_status(n));
	json_object_set_new(r, "nfs", nfs_status(n));
	return r;
}

static json_t *session_json(const struct session *s, uint64_t now)
{
	json_t *o = json_object();
	const char *state = s->paused ? "paused" : s->throttled ? "throttled" : session_phase_name(s);

	json_object_set_new(o, "id", ju(s->id));
	json_object_set_new(o, "client", endpoint(&s->peer));
	json_object_set_new(o, "local", endpoint(&s->local));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "phase", json_string(session_phase_name(s)));
	json_object_set_new(o, "method", json_string(s->method));
	json_object_set_new(o, "path", json_string(s->target ? s->target : ""));
	json_object_set_new(o, "last_status", json_integer(s->last_status));
	json_object_set_new(o, "requests", ju(s->requests));
	json_object_set_new(o, "bytes_in", ju(s->bytes_in));
	json_object_set_new(o, "bytes_out", ju(s->bytes_out));
	json_object_set_new(o, "age_ms", ju(now - s->started_ms));
	json_object_set_new(o, "idle_ms", ju(now - s->last_io_ms));
	json_object_set_new(o, "keepalive", json_boolean(s->keepalive));
	json_object_set_new(o, "restored", json_boolean(s->restored));
	if (s->file_fd >= 0)
		json_object_set_new(o, "send", json_pack("{s:s, s:I, s:I, s:I, s:I}", "file",
			s->file_path, "offset", (json_int_t)s->file_off, "end", (json_int_t)s->file_end,
			"remaining", (json_int_t)(s->file_end - s->file_off), "rate", (json_int_t)s->rate));
	if (s->has_upload)
		json_object_set_new(o, "upload", json_pack("{s:s, s:s, s:I, s:I}", "path", s->up_path,
			"tmp", s->up.tmp, "received", (json_int_t)s->up_received,
			"length", (json_int_t)s->up_length));
	return o;
}

static json_t *cmd_sessions(struct nasd *n)
{
	json_t *r = ctl_ok(), *arr = json_array();
	uint64_t now = loop_now_ms();

	for (struct session *s = n->sessions; s; s = s->next)
		json_array_append_new(arr, session_json(s, now));
	json_object_set_new(r, "sessions", arr);
	json_object_set_new(r, "total", ju(n->nsessions));
	return r;
}

static int get_session(struct nasd *n, const json_t *req, struct session **out, json_t **err)
{
	json_t *id = json_object_get(req, "id");

	if (!json_is_integer(id)) {
		*err = ctl_error("\"id\": a session id (see \"sessions\") is required");
		return -1;
	}
	*out = session_find(n, (uint64_t)json_integer_value(id));
	if (!*out) {
		*err = ctl_error("no session %lld", (long long)json_integer_value(id));
		return -1;
	}
	return 0;
}

static json_t *hex(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 2 + 1);
	json_t *j;

	if (!s)
		return json_null();
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

/* The blob of a live session (the session is not touched). */
static json_t *cmd_session_state(struct nasd *n, const json_t *req)
{
	struct session *s;
	json_t *e;

	if (get_session(n, req, &s, &e) < 0)
		return e;
	uint8_t *blob = malloc(SST_MAX_BLOB);	/* up to a few hundred KiB: not on the stack */
	if (!blob)
		return ctl_error("out of memory");
	ssize_t len = session_snapshot(s, blob, SST_MAX_BLOB);
	if (len < 0) {
		e = ctl_error("session %llu: %s", (unsigned long long)s->id,
			      errno == EBUSY ? "lingering (not transferable)" : strerror(errno));
		free(blob);
		return e;
	}
	json_t *r = ctl_ok();
	json_object_set_new(r, "id", ju(s->id));
	json_object_set_new(r, "phase", json_string(session_phase_name(s)));
	json_object_set_new(r, "bytes", ju((uint64_t)len));
	json_object_set_new(r, "blob", hex(blob, (size_t)len));
	free(blob);
	return r;
}

/*
 * Freeze a session, encode it, forget it and rebuild it from the blob on
 * the same socket: the local half of a handoff, for tests and for checking
 * that the blob holds everything the session needs.
 */
static json_t *cmd_session_rebuild(struct nasd *n, const json_t *req)
{
	struct session *s;
	char err[256];
	json_t *e;

	if (get_session(n, req, &s, &e) < 0)
		return e;
	uint64_t old = s->id;
	uint8_t *blob = malloc(SST_MAX_BLOB);	/* up to a few hundred KiB: not on the stack */
	if (!blob)
		return ctl_error("out of memory");
	if (session_pause(s) < 0) {
		e = ctl_error("session %llu: %s", (unsigned long long)old,
			      errno == EBUSY ? "lingering (not transferable)" : strerror(errno));
		free(blob);
		return e;
	}
	ssize_t len = session_snapshot(s, blob, SST_MAX_BLOB);
	if (len < 0) {
		int e2 = errno;
		session_resume(s);
		free(blob);
		return ctl_error("session %llu: snapshot: %s", (unsigned long long)old, strerror(e2));
	}
	int fd = session_release(s);
	struct session *ns = session_restore(n, fd, blob, (size_t)len, err, sizeof(err));
	free(blob);
	if (!ns) {
		close(fd);
		return ctl_error("session %llu: restore: %s (session lost)", (unsigned long long)old, err);
	}
	json_t *r = ctl_ok();
	json_object_set_new(r, "old_id", ju(old));
	json_object_set_new(r, "id", ju(ns->id));
	json_object_set_new(r, "phase", json_string(session_phase_name(ns)));
	json_object_set_new(r, "bytes", ju((uint64_t)len));
	return r;
}

json_t *control_dispatch(struct nasd *n, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!strcmp(cmd, "status"))
		return cmd_status(n);
	if (!strcmp(cmd, "sessions"))
		return cmd_sessions(n);
	if (!strcmp(cmd, "session-state"))
		return cmd_session_state(n, req);
	if (!strcmp(cmd, "session-rebuild"))
		return cmd_session_rebuild(n, req);
	if (!strcmp(cmd, "handoff"))
		return handoff_cmd(n, req);
	if (!strcmp(cmd, "handoff_all"))
		return handoff_all_cmd(n, req);
	if (!strncmp(cmd, "nfs-", 4)) {	/* NFS connections (nfs_server.c) */
		json_t *r = nfs_ctl(n, cmd, req);
		if (r)
			return r;
	}
	return ctl_error("unknown command \"%s\" (status, sessions, session-state, session-rebuild, "
			 "handoff, handoff_all)", cmd);
}
