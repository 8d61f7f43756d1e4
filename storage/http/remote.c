/*
 * remote.c - data location: serving a file whose home is another node, and
 * the trigger that hands the session to that home.
 *
 * The "data_location" section maps URL prefixes to home nodes.  A request
 * here for a path under another node's prefix is answered from the home's
 * copy: a HEAD there gives the version (size and mtime, from the ETag that
 * every tandem-nasd makes the same way), and the body is fetched from the
 * home in pieces (GET with Range, the ETag checked on every piece) into a
 * memfd the session sends from with sendfile, exactly as from a local file.
 * The session counts the bytes fetched for it; once they reach `threshold`
 * it is handed to the home (handoff_schedule: libtch, the normal handoff):
 * in the middle of a response when the next piece is due, or between
 * requests.  The home then resumes the response from its own file (the
 * session blob names the path, offset and version).  Small reads therefore
 * stay where the client's connection is; a client that reads a lot of
 * another node's data ends up on that node.  If the handoff fails (no
 * channel, the home refused), the session stays and goes on fetching.
 *
 * Fetches are synchronous, with a deadline (timeout_ms): a piece is at most
 * `piece` bytes over the storage LAN (about a millisecond at 1 MiB), the
 * same order as the handoff's own synchronous steps; a non-blocking fetch
 * client would be the next step if pieces had to be large.  Why memfd: the
 * session's send path, pacing, freeze and blob stay exactly those of a
 * local file; only which bytes are present differs (fetch_end).
 */
#include "http.h"
#include "storage/handoff/handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parse.h"
#include "http_resp.h"
#include "lib/jsonconf.h"
#include "lib/log.h"

#define DEF_THRESHOLD (256u * 1024)
#define MAX_PIECE (4u << 20)

int remote_config_parse(struct jconf *p, json_t *o, struct nasd_data_location *dl)
{
	static const char *const keys[] = { "threshold", "piece", "timeout_ms", "homes", "clients",
					    NULL };
	static const char *const hkeys[] = { "prefix", "node", "address", NULL };
	json_t *homes = json_object_get(o, "homes"), *v;
	size_t i;

	memset(dl, 0, sizeof(*dl));
	snprintf(p->where, sizeof(p->where), "data_location");
	if (!json_is_object(o))
		return jconf_perr(p, "must be an object");
	if (jconf_check_keys(p, o, keys) < 0 ||
	    jconf_get_u64(p, o, "threshold", &dl->threshold, DEF_THRESHOLD, 1, 1ull << 40) < 0 ||
	    jconf_get_u64(p, o, "piece", &dl->piece, 0, 0, MAX_PIECE) < 0 ||
	    jconf_get_uint(p, o, "timeout_ms", &dl->timeout_ms, 2000, 10, 60000) < 0 ||
	    nasd_cidr_list_parse(p, o, "clients", dl->clients, NASD_HTTP_MAX_CLIENTS, &dl->nclients) < 0)
		return -1;
	if (!dl->piece)	/* default: one piece up to the threshold (then the handoff) */
		dl->piece = dl->threshold < MAX_PIECE ? dl->threshold : MAX_PIECE;
	if (!json_is_array(homes) || !json_array_size(homes))
		return jconf_perr(p, "\"homes\" must be a non-empty array");
	if (json_array_size(homes) > NASD_MAX_HOMES)
		return jconf_perr(p, "\"homes\": at most %d", NASD_MAX_HOMES);
	json_array_foreach(homes, i, v) {
		struct nasd_home *h = &dl->homes[dl->nhomes];
		char addr[80], clean[NASD_URL_MAX];
		int st;

		snprintf(p->where, sizeof(p->where), "data_location.homes[%zu]", i);
		if (!json_is_object(v))
			return jconf_perr(p, "must be an object");
		if (jconf_check_keys(p, v, hkeys) < 0 ||
		    jconf_get_str(p, v, "prefix", h->prefix, sizeof(h->prefix), NULL) < 0 ||
		    jconf_get_str(p, v, "node", h->node, sizeof(h->node), NULL) < 0 ||
		    jconf_get_str(p, v, "address", addr, sizeof(addr), NULL) < 0)
			return -1;
		h->prefix_len = strlen(h->prefix);
		if (h->prefix_len < 2 || h->prefix[0] != '/' || h->prefix[h->prefix_len - 1] != '/' ||
		    strpbrk(h->prefix, "%?#") ||
		    http_path_clean(h->prefix, h->prefix_len, clean, sizeof(clean), &st) != (int)h->prefix_len)
			return jconf_perr(p, "\"prefix\": want a clean \"/dir/\" (not \"/\")");
		if (taddr_parse_endpoint(addr, &h->addr, &h->port) < 0 || !h->port)
			return jconf_perr(p, "\"address\": want \"addr:port\" or \"[v6addr]:port\"");
		for (unsigned j = 0; j < dl->nhomes; j++)
			if (!strncmp(dl->homes[j].prefix, h->prefix, dl->homes[j].prefix_len) ||
			    !strncmp(dl->homes[j].prefix, h->prefix, h->prefix_len))
				return jconf_perr(p, "\"prefix\" overlaps homes[%u]", j);
		dl->nhomes++;
	}
	dl->enabled = 1;
	return 0;
}

int remote_home_for(const struct nasd *n, const char *path)
{
	const struct nasd_data_location *dl = &n->cfg.dl;

	if (!dl->enabled)
		return -1;
	for (unsigned i = 0; i < dl->nhomes; i++)
		if (!strncmp(path, dl->homes[i].prefix, dl->homes[i].prefix_len))
			return strcmp(dl->homes[i].node, n->cfg.node_name) ? (int)i : -1;
	return -1;
}

/* Wait for ev on fd until deadline (loop_now_ms() clock); 1 ready, 0 timed
 * out, -1 error. */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = loop_now_ms();
		struct pollfd pf = { .fd = fd, .events = ev };
		if (now >= deadline)
			return 0;
		int r = poll(&pf, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}

/* recv() on the non-blocking fd, waiting until deadline for bytes: their
 * count (> 0), 0 when the connection closed or failed, -1 when the
 * deadline passed (or poll failed) first.  Head and body read alike. */
static ssize_t recv_by(int fd, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		ssize_t r = recv(fd, buf, len, 0);
		if (r < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline) <= 0)
				return -1;
			continue;
		}
		return r < 0 ? 0 : r;
	}
}

/* Percent-encode a clean path for a request line: unreserved bytes and '/'
 * as they are, everything else %XX.  0, or -1 if it does not fit. */
static int encode_path(const char *path, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		int plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("/-._~", *c);
		if (o + 4 > cap)
			return -1;
		if (plain) {
			out[o++] = (char)*c;
		} else {
			out[o++] = '%';
			out[o++] = hex[*c >> 4];
			out[o++] = hex[*c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* The request to a home: method, path, optional range [first, last], one
 * request per connection.  Its length in req (cap bytes), or -1 with a
 * message. */
static int fetch_request(const char *method, const char *path, int ranged, uint64_t first,
			 uint64_t last, char *req, size_t cap, char *err, size_t errlen)
{
	char epath[HTTP_MAX_TARGET];
	int n;

	if (encode_path(path, epath, sizeof(epath)) < 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (ranged)
		n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: tandem-home\r\n"
			     "Range: bytes=%llu-%llu\r\nConnection: close\r\n\r\n", method, epath,
			     (unsigned long long)first, (unsigned long long)last);
	else
		n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: tandem-home\r\n"
			     "Connection: close\r\n\r\n", method, epath);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	return n;
}

/* A non-blocking connection to home h, established by deadline: the fd, or
 * -1 with a message (nothing left open). */
static int fetch_connect(const struct nasd_home *h, uint64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&h->addr, h->port, &ss);
	int fd, soe = 0;
	socklen_t sol = sizeof(soe);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soe, &sol) < 0 ||
	    soe) {
		snprintf(err, errlen, "connect: %s", soe ? strerror(soe) : "timed out");
		close(fd);
		return -1;
	}
	return fd;
}

/* Read the response head into head[0..cap) (perhaps with some body after
 * it: *hl bytes in all) and parse it into *rh.  The head's length, or -1
 * with a message. */
static int fetch_head(int fd, uint64_t deadline, uint32_t timeout_ms, char *head, size_t cap,
		      size_t *hl, struct http_resp_head *rh, char *err, size_t errlen)
{
	const char *why;
	int got;

	*hl = 0;
	do {
		if (*hl == cap) {
			snprintf(err, errlen, "response head too long");
			return -1;
		}
		ssize_t r = recv_by(fd, head + *hl, cap - *hl, deadline);
		if (r < 0) {
			snprintf(err, errlen, "no response in %u ms", timeout_ms);
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "connection closed before the response head");
			return -1;
		}
		*hl += (size_t)r;
		got = http_resp_parse(head, *hl, rh, &why);
		if (got < 0) {
			snprintf(err, errlen, "bad response: %s", why);
			return -1;
		}
	} while (got == 0);
	return got;
}

static int memfd_put(int memfd, const void *p, size_t n, uint64_t off, char *err, size_t errlen)
{
	if (pwrite(memfd, p, n, (off_t)off) != (ssize_t)n) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The body's `left` bytes into memfd from offset off: first the nhave bytes
 * that came with the head, then from fd.  0, or -1 with a message. */
static int fetch_body(int fd, uint64_t deadline, uint32_t timeout_ms, const char *have,
		      size_t nhave, uint64_t off, uint64_t left, int memfd, char *err, size_t errlen)
{
	if (nhave > left)
		nhave = (size_t)left;
	if (nhave && memfd_put(memfd, have, nhave, off, err, errlen) < 0)
		return -1;
	off += nhave;
	left -= nhave;
	while (left) {
		/* splice would avoid the copy; a piece is small, a read is simple */
		char buf[65536];
		ssize_t r = recv_by(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf), deadline);
		if (r < 0) {
			snprintf(err, errlen, "body not complete in %u ms", timeout_ms);
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "connection closed in the body");
			return -1;
		}
		if (memfd_put(memfd, buf, (size_t)r, off, err, errlen) < 0)
			return -1;
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	return 0;
}

/*
 * One request to home h: method, path, optional range [first, last].  The
 * head goes to *rh; for a GET the body (Content-Length bytes) is written to
 * memfd at `first`.  0, or -1 with a message.
 */
static int fetch(const struct nasd_home *h, const char *method, const char *path, int ranged,
		 uint64_t first, uint64_t last, uint32_t timeout_ms, int memfd,
		 struct http_resp_head *rh, char *err, size_t errlen)
{
	uint64_t deadline = loop_now_ms() + timeout_ms;
	char req[NASD_URL_MAX * 4 + 256], head[HTTP_RESP_MAX_HEAD];
	size_t hl;
	int fd, n, got, rc = -1;

	n = fetch_request(method, path, ranged, first, last, req, sizeof(req), err, errlen);
	if (n < 0)
		return -1;
	fd = fetch_connect(h, deadline, err, errlen);
	if (fd < 0)
		return -1;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {	/* fits any fresh socket buffer */
		snprintf(err, errlen, "send: %s", strerror(errno));
		goto out;
	}
	got = fetch_head(fd, deadline, timeout_ms, head, sizeof(head), &hl, rh, err, errlen);
	if (got < 0)
		goto out;
	if (strcmp(method, "GET") || rh->status / 100 != 2) {
		rc = 0;
		goto out;
	}
	if (!rh->has_length || (ranged && (!rh->has_range || rh->first != first || rh->last != last ||
					   rh->length != last - first + 1))) {
		snprintf(err, errlen, "the home answered another range than asked");
		goto out;
	}
	rc = fetch_body(fd, deadline, timeout_ms, head + got, hl - (size_t)got, ranged ? first : 0,
			rh->length, memfd, err, errlen);
out:
	close(fd);
	return rc;
}

int remote_open(struct session *s, int hi, const char *path, struct export_file *f)
{
	struct nasd *n = s->nasd;
	const struct nasd_home *h = &n->cfg.dl.homes[hi];
	struct http_resp_head rh;
	char err[200];

	if (fetch(h, "HEAD", path, 0, 0, 0, n->cfg.dl.timeout_ms, -1, &rh, err, sizeof(err)) < 0) {
		n->st.dl_fetch_errors++;
		log_warnx("data location: HEAD %s at %s: %s", path, h->node, err);
		return 502;
	}
	if (rh.status == 404 || rh.status == 403)
		return rh.status;
	if (rh.status != 200 || !rh.has_length ||
	    http_resp_etag_split(rh.etag, &f->size, &f->mtime_ns) < 0 || f->size != rh.length) {
		n->st.dl_fetch_errors++;
		log_warnx("data location: HEAD %s at %s: status %d, no usable ETag", path, h->node,
			  rh.status);
		return 502;
	}
	f->fd = memfd_create("tandem-remote", MFD_CLOEXEC);
	if (f->fd < 0 || ftruncate(f->fd, (off_t)f->size) < 0) {
		log_warn("data location: memfd");
		if (f->fd >= 0)
			close(f->fd);
		return 503;
	}
	snprintf(s->remote_etag, sizeof(s->remote_etag), "%s", rh.etag);
	return 0;
}

int remote_more(struct session *s)
{
	struct nasd *n = s->nasd;
	const struct nasd_data_location *dl = &n->cfg.dl;
	const struct nasd_home *h = &dl->homes[s->remote_home];
	struct http_resp_head rh;
	char err[200];

	if (s->fetched >= dl->threshold && !s->home_tried && n->ho) {
		s->home_tried = 1;
		if (handoff_schedule(n, s, h->node) == 0) {
			log_info("data location: session %llu fetched %llu bytes from %s: handing it there",
				 (unsigned long long)s->id, (unsigned long long)s->fetched, h->node);
			return 0;
		}
	}
	uint64_t first = s->fetch_end, last = s->file_end - 1;
	if (last - first + 1 > dl->piece)
		last = first + dl->piece - 1;
	if (fetch(h, "GET", s->file_path, 1, first, last, dl->timeout_ms, s->file_fd, &rh, err,
		  sizeof(err)) < 0 || rh.status != 206 || strcmp(rh.etag, s->remote_etag)) {
		n->st.dl_fetch_errors++;
		log_warnx("data location: session %llu: %s bytes %llu-%llu from %s: %s",
			  (unsigned long long)s->id, s->file_path, (unsigned long long)first,
			  (unsigned long long)last, h->node,
			  rh.status && rh.status != 206 ? "not a 206" :
			  strcmp(rh.etag, s->remote_etag) ? "the file changed" : err);
		return -1;	/* the response cannot go on with the right bytes */
	}
	s->fetch_end = last + 1;
	s->fetched += last - first + 1;
	n->st.dl_fetches++;
	n->st.dl_fetched_bytes += last - first + 1;
	return 1;
}

void remote_response_done(struct session *s)
{
	struct nasd *n = s->nasd;
	int hi = s->last_home;

	if (hi < 0 || s->home_tried || !n->ho || s->fetched < n->cfg.dl.threshold)
		return;
	s->home_tried = 1;
	if (handoff_schedule(n, s, n->cfg.dl.homes[hi].node) == 0)
		log_info("data location: session %llu fetched %llu bytes from %s: handing it there",
			 (unsigned long long)s->id, (unsigned long long)s->fetched, n->cfg.dl.homes[hi].node);
}

json_t *remote_status(const struct nasd *n)
{
	const struct nasd_stats *st = &n->st;

	if (!n->cfg.dl.enabled)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "threshold", (json_int_t)n->cfg.dl.threshold,
		"fetches", (json_int_t)st->dl_fetches, "fetched_bytes", (json_int_t)st->dl_fetched_bytes,
		"fetch_errors", (json_int_t)st->dl_fetch_errors, "handoffs_home_ok", (json_int_t)st->dl_home_ok,
		"handoffs_home_failed", (json_int_t)st->dl_home_failed);
}
