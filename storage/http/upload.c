/*
 * upload.c - PUT: the temp file beneath the export (export.c), the body
 * into it, disk reserved ahead of the body in bounded steps, the rename
 * that publishes it, and the answer (201/204, or the error).
 *
 * Disk is reserved (fallocate, export_upload_reserve) at most
 * upload_reserve bytes ahead of what was received, and at most
 * upload_reserve_total ahead for all uploads together: a full disk still
 * answers 507 before most of a body, and a client that announces a large
 * Content-Length and sends nothing holds no more than that step.
 */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/netio.h"

/* n more bytes of the body are in the temp file: they no longer count as
 * reserved ahead (up_ahead <= up_length - up_received holds). */
static void received(struct session *s, uint64_t n)
{
	uint64_t d = n < s->up_ahead ? n : s->up_ahead;

	s->up_received += n;
	s->up_ahead -= d;
	s->nasd->reserved -= d;
	s->nasd->st.body_bytes_in += n;
}

/* Top up the disk reserved ahead of the body once less than half of
 * upload_reserve is left: up to upload_reserve ahead, never past the
 * announced length, never past upload_reserve_total for all uploads.  0, or
 * 507 (the disk is full: answer before those bytes come). */
static int reserve_ahead(struct session *s)
{
	struct nasd *n = s->nasd;
	const struct nasd_config *c = &n->cfg;
	uint64_t left = s->up_length - s->up_received - s->up_ahead;
	uint64_t room = c->upload_reserve_total > n->reserved ? c->upload_reserve_total - n->reserved : 0;

	if (s->up_ahead > c->upload_reserve / 2)
		return 0;
	uint64_t add = c->upload_reserve - s->up_ahead;
	if (add > left)
		add = left;
	if (add > room)
		add = room;
	int st = export_upload_reserve(&s->up, s->up_received + s->up_ahead, add);
	if (st == 507)
		return 507;
	if (st == 0) {	/* -1: the filesystem cannot reserve; the writes will tell */
		s->up_ahead += add;
		n->reserved += add;
	}
	return 0;
}

void upload_end(struct session *s, int unlink_tmp)
{
	s->nasd->reserved -= s->up_ahead;
	s->up_ahead = 0;
	export_upload_abort(&s->up, unlink_tmp);
	s->has_upload = 0;
}

int upload_start(struct session *s, const char *path, const struct http_req *r)
{
	struct export_ref ref;
	int st;

	if (!r->has_length) {
		s->keepalive = 0;
		return http_respond_error(s, 411, 0, 0);
	}
	if (export_find(&s->nasd->cfg, path, &ref) < 0) {
		s->keepalive = 0;	/* the body is not read */
		return http_respond_error(s, 403, 0, 0);
	}
	if ((st = export_upload_begin(&ref, s->id, &s->up)) != 0) {
		s->keepalive = 0;
		return http_respond_error(s, st, 0, 0);
	}
	s->has_upload = 1;
	s->up_received = s->up_ahead = 0;
	s->up_length = r->content_length;
	/* the first step now, so a full disk answers 507 before the body */
	s->up_path = strdup(path);
	if (!s->up_path || (st = reserve_ahead(s)) != 0) {
		upload_end(s, 1);
		free(s->up_path);
		s->up_path = NULL;
		if (!st)
			return STEP_CLOSE;
		s->keepalive = 0;
		return http_respond_error(s, st, 0, 0);
	}
	s->phase_ms = loop_now_ms();
	if (r->expect_continue) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		memcpy(s->out, cont, sizeof(cont) - 1);
		s->out_off = 0;
		s->out_len = sizeof(cont) - 1;
		s->phase = PH_SEND;
		s->after = SST_AFTER_BODY;
		return STEP_AGAIN;
	}
	s->phase = PH_BODY;
	return STEP_AGAIN;
}

/* The whole body is in the temp file: rename it over the target, answer
 * 201 (new) or 204 (replaced), or the commit's error status and close. */
static int finish_upload(struct session *s)
{
	int st = export_upload_commit(&s->up, s->nasd->cfg.fsync_uploads);
	int existed = s->up.existed;

	s->nasd->reserved -= s->up_ahead;	/* 0 with the whole body in */
	s->up_ahead = 0;
	s->has_upload = 0;
	free(s->up_path);
	s->up_path = NULL;
	if (st) {
		s->keepalive = 0;
		return http_respond_error(s, st, 0, 0);
	}
	s->nasd->st.uploads++;
	if (existed)
		return http_respond_text(s, 204, "", 1, 1, NULL);
	return http_respond_text(s, 201, "201 Created\n", 1, 0, NULL);
}

/* The temp file could not be written (errno): answer and close (the rest of
 * the body is not read). */
static int upload_failed(struct session *s)
{
	int st = errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? 507 : 500;

	log_warn("session %llu: writing upload %s", (unsigned long long)s->id, s->up_path);
	upload_end(s, 1);
	free(s->up_path);
	s->up_path = NULL;
	s->keepalive = 0;
	return http_respond_error(s, st, 0, 0);
}

/* PH_BODY: the PUT body into the temp file, buffered input first, within the
 * step's byte budget; finish_upload once Content-Length bytes are in. */
int upload_body(struct session *s)
{
	struct nasd *n = s->nasd;
	uint64_t budget = STEP_BUDGET;

	if (s->in_len && s->up_received < s->up_length) {
		uint64_t take = s->up_length - s->up_received;
		if (take > s->in_len)
			take = s->in_len;
		if (write_all(s->up.fd, s->in, (size_t)take, NULL) < 0)
			return upload_failed(s);
		memmove(s->in, s->in + take, s->in_len - (size_t)take);
		s->in_len -= (size_t)take;
		received(s, take);
		if (reserve_ahead(s)) {
			errno = ENOSPC;
			return upload_failed(s);
		}
	}
	while (s->up_received < s->up_length) {
		uint64_t want = s->up_length - s->up_received;
		if (want > NASD_SCRATCH)
			want = NASD_SCRATCH;
		ssize_t r = recv(s->io.fd, n->scratch, (size_t)want, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? STEP_WAIT : STEP_CLOSE;
		}
		if (r == 0)
			return STEP_CLOSE;	/* client gone mid-upload: the temp file goes */
		s->bytes_in += (uint64_t)r;
		n->st.bytes_in += (uint64_t)r;
		s->last_io_ms = loop_now_ms();
		if (write_all(s->up.fd, n->scratch, (size_t)r, NULL) < 0)
			return upload_failed(s);
		received(s, (uint64_t)r);
		if (reserve_ahead(s)) {
			errno = ENOSPC;
			return upload_failed(s);
		}
		if ((uint64_t)r >= budget)
			return STEP_WAIT;	/* level-triggered: the rest comes next event */
		budget -= (uint64_t)r;
	}
	return finish_upload(s);
}

